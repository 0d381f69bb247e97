/**
 * Witnesses for the one-step verifier and the runner that ties the two implementations together:
 * each witness goes through the TypeScript reference step (shared/vm/step.ts) and through the
 * Solidity verifier (contracts/vm/RiscvStep.sol, eth_call on a real local chain), and the two
 * outcomes are compared byte for byte: the post-state, or the error and every value it carries.
 *
 * Used by test/vm/onestep.test.ts (hand-built witnesses), test/vm/differential.test.ts (CI size),
 * scripts/differential-long.ts (long runs) and bench/onestep.ts (gas).
 */
import { Interface, isCallException, type JsonRpcProvider } from 'ethers';
import { RiscvStep__factory } from '../../build/types';
import { VmError } from '../../shared/vm/errors';
import { compressProof, hashPair, rootFromProof, ZERO_HASHES } from '../../shared/vm/merkle';
import { LEAF_SHIFT, LEAF_SIZE, MERKLE_PROOF_SIZE, PROOF_HEADER_SIZE, STATE_OFFSET, Status, TREE_DEPTH } from '../../shared/vm/spec';
import { decodeState, encodeState, type VmState } from '../../shared/vm/state';
import { dataProofLevels, step as referenceStep } from '../../shared/vm/step';

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** xoshiro128** seeded through splitmix32: fast, 32-bit native, reproducible from one number. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(readonly seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Witness building
// ---------------------------------------------------------------------------------------------

/** How the parts of memory a step does not read look in the tree. */
export type SiblingMode =
  /** Memory holds only the leaves the step reads: every other sibling is a zero hash. */
  | 'sparse'
  /** Every sibling the step does not constrain is an arbitrary 32-byte value (dense memory). */
  | 'random';

export interface LeafAt {
  address: number;
  leaf: Uint8Array;
}

export interface Witness {
  preState: Uint8Array;
  proofs: Uint8Array;
}

/** A state with every field explicit; memRoot is filled in by buildWitness. */
export function blankState(overrides: Partial<VmState> = {}): VmState {
  return {
    memRoot: new Uint8Array(32),
    pc: 0,
    step: 0n,
    status: Status.RUNNING,
    exitCode: 0,
    regs: new Uint32Array(32),
    ...overrides,
  };
}

/** Writes a little-endian value of `size` bytes at `address` into its leaf. */
export function leafWrite(leaf: Uint8Array, address: number, size: number, value: number): void {
  const o = address & (LEAF_SIZE - 1);
  for (let i = 0; i < size; i++) leaf[o + i] = (value >>> (8 * i)) & 0xff;
}

function pathNode(leaf: Uint8Array, index: number, siblings: Uint8Array[], levels: number): Uint8Array {
  let node = leaf;
  for (let i = 0; i < levels; i++) node = (index >>> i) & 1 ? hashPair(siblings[i], node) : hashPair(node, siblings[i]);
  return node;
}

function proofBytes(leaf: Uint8Array, siblings: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(MERKLE_PROOF_SIZE);
  out.set(leaf, 0);
  siblings.forEach((s, i) => out.set(s, LEAF_SIZE * (i + 1)));
  return out;
}

/**
 * The memory root and the proofs of a memory in which `fetch` (and `data`, if given) are the
 * leaves at their addresses. When both lie in the same leaf, `data.leaf` is ignored: the one leaf
 * is `fetch.leaf`. The two paths share their siblings above the level where they meet, and each
 * path's sibling at that level is the other path's node, so both proofs verify against one root.
 */
export function buildProofs(
  fetch: LeafAt,
  data: LeafAt | undefined,
  mode: SiblingMode,
  rng?: Rng,
): { memRoot: Uint8Array; fetchProof: Uint8Array; dataProof?: Uint8Array } {
  const free = (level: number): Uint8Array => (mode === 'sparse' || !rng ? ZERO_HASHES[level] : rng.bytes(32));
  const a = fetch.address >>> LEAF_SHIFT;
  const sibA = Array.from({ length: TREE_DEPTH }, (_, i) => free(i));
  if (!data) {
    return { memRoot: rootFromProof(proofBytes(fetch.leaf, sibA), fetch.address), fetchProof: proofBytes(fetch.leaf, sibA) };
  }
  const b = data.address >>> LEAF_SHIFT;
  if (a === b) {
    const proof = proofBytes(fetch.leaf, sibA);
    return { memRoot: rootFromProof(proof, fetch.address), fetchProof: proof, dataProof: proof.slice() };
  }
  const meet = 31 - Math.clz32(a ^ b); // highest level where the two leaf indexes differ
  const sibB = sibA.map((s, i) => (i < meet ? free(i) : s));
  sibA[meet] = pathNode(data.leaf, b, sibB, meet);
  sibB[meet] = pathNode(fetch.leaf, a, sibA, meet);
  const fetchProof = proofBytes(fetch.leaf, sibA);
  return { memRoot: rootFromProof(fetchProof, fetch.address), fetchProof, dataProof: proofBytes(data.leaf, sibB) };
}

/**
 * A witness for `state` whose instruction at pc is `word`, in a memory made of `fetchLeaf`
 * (the word is written into it) and, when `data` is given, the data leaf. Proofs hold exactly what
 * is given, in the compressed step-witness form: the fetch proof, then the data proof if any.
 */
export function buildWitness(opts: {
  state: VmState;
  word: number;
  fetchLeaf?: Uint8Array;
  data?: LeafAt;
  mode?: SiblingMode;
  rng?: Rng;
}): Witness {
  const fetchLeaf = (opts.fetchLeaf ?? new Uint8Array(LEAF_SIZE)).slice();
  leafWrite(fetchLeaf, opts.state.pc, 4, opts.word);
  const built = buildProofs({ address: opts.state.pc, leaf: fetchLeaf }, opts.data, opts.mode ?? 'sparse', opts.rng);
  const state = { ...opts.state, memRoot: built.memRoot };
  const fetchProof = compressProof(built.fetchProof);
  const proofs =
    built.dataProof && opts.data
      ? concat(fetchProof, compressProof(built.dataProof, dataProofLevels(opts.state.pc, opts.data.address)))
      : fetchProof;
  return { preState: encodeState(state), proofs };
}

/** Where the compressed proof at `offset` ends, from its zeroMask (bits above `levels` ignored). */
export function proofEnd(proofs: Uint8Array, offset: number, levels = TREE_DEPTH): number {
  const mask = Buffer.from(proofs.buffer, proofs.byteOffset, proofs.length).readUInt32BE(offset + LEAF_SIZE);
  let carried = 0;
  for (let i = 0; i < levels; i++) if (((mask >>> i) & 1) === 0) carried++;
  return offset + PROOF_HEADER_SIZE + LEAF_SIZE * carried;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Outcomes of both sides, and their comparison
// ---------------------------------------------------------------------------------------------

export type Outcome = { postState: Uint8Array } | { error: string; args: bigint[] };

/** The values each VM error carries, in the order of the Solidity custom error's parameters. */
function errorArgs(e: VmError): bigint[] {
  const fields: Record<string, readonly string[]> = {
    VMStateLengthInvalid: ['length'],
    VMStatusInvalid: ['status'],
    VMProofTooShort: ['needed', 'given'],
    VMProofMaskInvalid: ['mask'],
    VMProofZeroSiblingPresent: ['level'],
    VMFetchProofInvalid: ['pc'],
    VMDataProofInvalid: ['address'],
  };
  const names = fields[e.name];
  if (!names) throw e;
  return names.map((f) => BigInt((e as unknown as Record<string, number>)[f]));
}

export function referenceOutcome(w: Witness): Outcome {
  try {
    return { postState: referenceStep(w.preState, w.proofs) };
  } catch (e) {
    if (e instanceof VmError) return { error: e.name, args: errorArgs(e) };
    throw e;
  }
}

const VERIFIER = new Interface(RiscvStep__factory.abi);

/** The verifier's `stepState` through eth_call; a custom-error revert becomes an error outcome. */
export async function contractOutcome(provider: JsonRpcProvider, verifier: string, w: Witness): Promise<Outcome> {
  const data = VERIFIER.encodeFunctionData('stepState', [w.preState, w.proofs]);
  try {
    const ret = await provider.call({ to: verifier, data });
    const [postState] = VERIFIER.decodeFunctionResult('stepState', ret);
    return { postState: Uint8Array.from(Buffer.from((postState as string).slice(2), 'hex')) };
  } catch (e) {
    if (!isCallException(e) || !e.data) throw e;
    const parsed = VERIFIER.parseError(e.data);
    if (!parsed) throw e;
    return { error: parsed.name, args: parsed.args.map((a) => BigInt(a)) };
  }
}

/** Which fields of two state encodings differ, with both values, for a readable mismatch. */
export function stateDiff(a: Uint8Array, b: Uint8Array): string[] {
  if (a.length !== b.length) return [`length ${a.length} != ${b.length}`];
  const x = decodeState(a);
  const y = decodeState(b);
  const hex = (v: Uint8Array) => Buffer.from(v).toString('hex');
  const out: string[] = [];
  if (hex(x.memRoot) !== hex(y.memRoot)) out.push(`memRoot ${hex(x.memRoot)} != ${hex(y.memRoot)}`);
  if (x.pc !== y.pc) out.push(`pc 0x${x.pc.toString(16)} != 0x${y.pc.toString(16)}`);
  if (x.step !== y.step) out.push(`step ${x.step} != ${y.step}`);
  if (x.status !== y.status) out.push(`status ${Status[x.status]} != ${Status[y.status]}`);
  if (x.exitCode !== y.exitCode) out.push(`exitCode ${x.exitCode} != ${y.exitCode}`);
  for (let i = 1; i < 32; i++) {
    if (x.regs[i] !== y.regs[i]) out.push(`x${i} 0x${x.regs[i].toString(16)} != 0x${y.regs[i].toString(16)}`);
  }
  return out;
}

const describeOutcome = (o: Outcome): string =>
  'error' in o ? `${o.error}(${o.args.join(', ')})` : `post-state ${Buffer.from(o.postState).toString('hex')}`;

/** null when the outcomes are identical, else what differs (fields for two post-states). */
export function compareOutcomes(reference: Outcome, contract: Outcome): string | null {
  if ('postState' in reference && 'postState' in contract) {
    const diff = stateDiff(reference.postState, contract.postState);
    return diff.length === 0 ? null : `post-states differ (TypeScript != Solidity): ${diff.join('; ')}`;
  }
  if ('error' in reference && 'error' in contract) {
    if (reference.error === contract.error && reference.args.join() === contract.args.join()) return null;
  }
  return `TypeScript gave ${describeOutcome(reference)}, Solidity gave ${describeOutcome(contract)}`;
}

/** Offset of a register in the encoding, for tests that tamper with one field. */
export const regOffset = (i: number): number => STATE_OFFSET.regs + 4 * (i - 1);

// ---------------------------------------------------------------------------------------------
// Batch runner
// ---------------------------------------------------------------------------------------------

/** A witness with what it exercises, for reports and coverage counts. */
export interface LabeledWitness extends Witness {
  /** The instruction or situation, e.g. `DIV`, `LW`, `ILLEGAL:branch-f3`, `halted`. */
  kind: string;
  /** How the witness was damaged, if it was (both sides must then fail the same way). */
  tamper?: string;
  /** Post-state of the fast interpreter (shared/vm/machine.ts) for witnesses it produced. */
  fastPostState?: Uint8Array;
}

export interface Mismatch {
  index: number;
  kind: string;
  tamper?: string;
  message: string;
  preState: string;
  proofs: string;
}

/**
 * Runs every witness through both sides. The eth_calls are fired `concurrency` at a time so that
 * ethers' JsonRpcProvider packs them into JSON-RPC batches; the reference step runs meanwhile.
 */
export async function compareOnChain(
  provider: JsonRpcProvider,
  verifier: string,
  witnesses: readonly LabeledWitness[],
  concurrency = 400,
): Promise<{ reference: Outcome[]; mismatches: Mismatch[] }> {
  const reference: Outcome[] = [];
  const mismatches: Mismatch[] = [];
  for (let start = 0; start < witnesses.length; start += concurrency) {
    const chunk = witnesses.slice(start, start + concurrency);
    const pending = Promise.all(chunk.map((w) => contractOutcome(provider, verifier, w)));
    const expected = chunk.map(referenceOutcome);
    const actual = await pending;
    chunk.forEach((w, i) => {
      reference.push(expected[i]);
      const fast = w.fastPostState;
      const message =
        compareOutcomes(expected[i], actual[i]) ??
        (fast ? compareOutcomes(expected[i], { postState: fast })?.replace('Solidity', 'fast interpreter') ?? null : null);
      if (message === null) return;
      mismatches.push({
        index: start + i,
        kind: w.kind,
        tamper: w.tamper,
        message,
        preState: Buffer.from(w.preState).toString('hex'),
        proofs: Buffer.from(w.proofs).toString('hex'),
      });
    });
  }
  return { reference, mismatches };
}
