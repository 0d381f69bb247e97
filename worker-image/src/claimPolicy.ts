/**
 * Which open tasks a provider claims (docs/security.md, finding 3). A claim locks collateral that a
 * missed commit forfeits, so a task is claimed only when what it risks is in proportion to what it
 * pays and its deadline leaves time to compute and commit with room to spare. The contract keeps a
 * one-minute floor (MIN_COMMIT_PERIOD); this is the worker's own, stricter and configurable, line.
 */
export interface ClaimPolicy {
  /** The most collateral a task may ask per unit of bounty. */
  maxCollateralPerBounty: number;
  /** Seconds from claim to commit mined that the worker expects (fetch, compute, two transactions). */
  expectedComputeSeconds: number;
  /** Seconds of slack kept on top of that before the deadline (slow blocks, a busy machine). */
  deadlineMarginSeconds: number;
}

export const DEFAULT_CLAIM_POLICY: ClaimPolicy = { maxCollateralPerBounty: 20, expectedComputeSeconds: 30, deadlineMarginSeconds: 60 };

/** Why the task is not claimed, or undefined when it may be. */
export function claimRefusal(policy: ClaimPolicy, task: { bounty: bigint; collateral: bigint; deadline: bigint }, now: bigint): string | undefined {
  // Compared in integers: ratio × bounty against collateral, with the ratio in millionths.
  const ratioMillionths = BigInt(Math.round(policy.maxCollateralPerBounty * 1e6));
  if (task.collateral * 1_000_000n > ratioMillionths * task.bounty) {
    return `collateral ${task.collateral} is over ${policy.maxCollateralPerBounty}× the bounty ${task.bounty} (OPML_WORKER_MAX_COLLATERAL_PER_BOUNTY)`;
  }
  const needed = BigInt(Math.ceil(policy.expectedComputeSeconds + policy.deadlineMarginSeconds));
  if (task.deadline - now < needed) {
    return `the deadline leaves ${task.deadline - now} s, under the ${needed} s this worker needs to commit safely (OPML_WORKER_EXPECTED_COMPUTE_SECONDS + OPML_WORKER_DEADLINE_MARGIN_SECONDS)`;
  }
  return undefined;
}
