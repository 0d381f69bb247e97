/**
 * Constants and arithmetic of docs/dispute-spec.md, mirrored by contracts/dispute/DisputeGame.sol
 * (the tests read the contract's constants and compare).
 */
export const DISPUTE_VERSION = 1n;
export const DISSECTION_ARITY = 16;
export const MAX_STEP_BOUND = 2 ** 40;
/** `_start` of guest/link.ld: every node's VM run starts here. */
export const GUEST_ENTRY = 0x00010000;
/** The guest image lives in [0, IMAGE_REGION_SIZE): a tree level-23 subtree the game folds up to the image root. */
export const IMAGE_REGION_SIZE = 2 ** 28;

/** Solidity enum IMultiPhaseDispute.Phase, by index. */
export const PHASES = ['None', 'Open', 'GraphBisect', 'GraphChoose', 'Link', 'VmBisect', 'VmChoose', 'Step', 'Resolved'] as const;
export type PhaseName = (typeof PHASES)[number];

/** Sub-segments of [lo, hi]: min(16, hi - lo). */
export function segmentCount(lo: bigint, hi: bigint): number {
  const span = hi - lo;
  return span < BigInt(DISSECTION_ARITY) ? Number(span) : DISSECTION_ARITY;
}

/** p_0 = lo, p_i = lo + floor((hi - lo) * i / count), p_count = hi. */
export function dissectionPoints(lo: bigint, hi: bigint): bigint[] {
  const count = BigInt(segmentCount(lo, hi));
  const points: bigint[] = [];
  for (let i = 0n; i <= count; i++) points.push(lo + ((hi - lo) * i) / count);
  return points;
}

/** Smallest power of two >= max(1, steps). */
export function stepBoundFor(steps: number): number {
  let bound = 1;
  while (bound < steps) bound *= 2;
  return bound;
}
