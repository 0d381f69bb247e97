/**
 * The public side of a disputed model (docs/dispute-spec.md section 3): the node records that fix
 * every node's canonical VM start layout, the graph commitment the registry stores, and the Merkle
 * siblings both parties send (graph-state slots, node leaves, weight tensors).
 */
import { AbiCoder, concat, keccak256, toBeHex, zeroPadValue } from 'ethers';
import { hashPair, paddedSize } from '../vm/merkle';
import { LEAF_SIZE } from '../vm/spec';
import type { WeightsSource } from '../dnn/weights';
import type { WeightsTree } from '../dnn/weightsTree';
import { DisputeGraphInvalid } from './errors';

export const SLOT_SOURCE = 0;
export const WEIGHT_SOURCE = 1;
/** The state the previous step wrote (the task input at step 0): a generation package's state input. */
export const STATE_SOURCE = 2;
/** A tensor carried from the previous step (zero bytes at step 0): a generation package's KV caches. */
export const CARRY_SOURCE = 3;

export interface InputRef {
  /**
   * SLOT_SOURCE: slot 0 (the task input) or node `index` of this step; WEIGHT_SOURCE: a constant
   * in the weights blob; STATE_SOURCE / CARRY_SOURCE: node `index` of the previous step (docs/dispute-spec.md section 3).
   */
  source: 0 | 1 | 2 | 3;
  /** The node (1-based within a step) or slot 0, or the byte offset in the weights blob. */
  index: number;
  addr: number;
  size: number;
}

export interface DisputeNode {
  /** The node-parameter block's bytes (written at NODE_PARAMS_ADDR). */
  params: Uint8Array;
  outputAddress: number;
  outputSize: number;
  inputs: InputRef[];
}

/** Everything public about a model that a game needs: what registration commits to. */
export interface DisputeGraph {
  specHash: Uint8Array;
  /** The graph-state slot holding the model's output (1-based node index). */
  outputSlot: number;
  /** The weights blob, read by offset (a node's weight inputs only). */
  weights: WeightsSource;
  /** Its tree, from the regions' roots: its root and weight proofs without rehashing the blob. */
  weightsTree: WeightsTree;
  /** The guest ELF holding every kernel. */
  image: Uint8Array;
  nodes: DisputeNode[];
}

export interface NodeRecord {
  paramsRoot: string;
  paramsSize: number;
  outputAddress: number;
  outputSize: number;
  inputs: InputRef[];
}

export interface GraphFacts {
  specHash: string;
  nodeCount: number;
  outputSlot: number;
  weightsSize: bigint;
  nodesRoot: string;
}

const NODE_RECORD_TYPE = 'tuple(bytes32,uint32,uint32,uint32,tuple(uint8,uint32,uint32,uint32)[])';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

export function nodeRecord(node: DisputeNode): NodeRecord {
  return {
    paramsRoot: hex(rootOfLeaves(padToLeaves(node.params))),
    paramsSize: paddedSize(node.params.length),
    outputAddress: node.outputAddress,
    outputSize: node.outputSize,
    inputs: node.inputs,
  };
}

/** keccak256(abi.encode(NodeRecord)): the node's leaf in `nodesRoot`. */
export function nodeLeaf(record: NodeRecord): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      [NODE_RECORD_TYPE],
      [[record.paramsRoot, record.paramsSize, record.outputAddress, record.outputSize, record.inputs.map((i) => [i.source, i.index, i.addr, i.size])]],
    ),
  );
}

export function graphFacts(graph: DisputeGraph): GraphFacts {
  if (graph.nodes.length === 0) throw new DisputeGraphInvalid('a graph needs at least one node');
  if (graph.outputSlot < 1 || graph.outputSlot > graph.nodes.length) {
    throw new DisputeGraphInvalid(`output slot ${graph.outputSlot} is not a node index in 1..${graph.nodes.length}`);
  }
  const leaves = concat(graph.nodes.map((n) => nodeLeaf(nodeRecord(n))));
  return {
    specHash: hex(graph.specHash),
    nodeCount: graph.nodes.length,
    outputSlot: graph.outputSlot,
    weightsSize: BigInt(graph.weightsTree.size),
    nodesRoot: hex(rootOfLeaves(padToLeaves(Buffer.from(leaves.slice(2), 'hex')))),
  };
}

/** keccak256(specHash ‖ uint32 N ‖ uint32 outputSlot ‖ uint64 weightsSize ‖ nodesRoot): the registry's graphSpecHash. */
export function graphCommitment(graph: DisputeGraph): string {
  const f = graphFacts(graph);
  return keccak256(
    concat([f.specHash, zeroPadValue(toBeHex(f.nodeCount), 4), zeroPadValue(toBeHex(f.outputSlot), 4), zeroPadValue(toBeHex(f.weightsSize), 8), f.nodesRoot]),
  );
}

/** Where an input of the game's node `node` (1-based over every step) comes from. */
export type ResolvedInput = { kind: 'slot'; slot: number } | { kind: 'weight' } | { kind: 'zero' };

/** Node `node` of a game of `graph.nodes.length`-node steps: its step (0-based) and its index in the step (1-based). */
export function stepOf(graph: Pick<DisputeGraph, 'nodes'>, node: number): { step: number; index: number } {
  const n = graph.nodes.length;
  return { step: Math.floor((node - 1) / n), index: ((node - 1) % n) + 1 };
}

/** The template node the game's node `node` runs. */
export function nodeOf(graph: DisputeGraph, node: number): DisputeNode {
  return graph.nodes[stepOf(graph, node).index - 1];
}

export function resolveInput(graph: DisputeGraph, node: number, ref: InputRef): ResolvedInput {
  const n = graph.nodes.length;
  const base = stepOf(graph, node).step * n;
  switch (ref.source) {
    case WEIGHT_SOURCE:
      return { kind: 'weight' };
    case SLOT_SOURCE:
      return { kind: 'slot', slot: ref.index === 0 ? 0 : base + ref.index };
    default:
      if (base === 0) return ref.source === CARRY_SOURCE ? { kind: 'zero' } : { kind: 'slot', slot: 0 };
      return { kind: 'slot', slot: base - n + ref.index };
  }
}

/** Depth of the graph-state tree of N nodes: ceil(log2(N + 1)). */
export function slotDepth(nodeCount: number): number {
  return Math.ceil(Math.log2(nodeCount + 1) - 1e-9);
}

/** Bytes padded with zeros to a power of two >= 32 (the tree's leaf row). */
export function padToLeaves(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedSize(bytes.length));
  out.set(bytes);
  return out;
}

function levelsOf(leafRow: Uint8Array): Uint8Array[][] {
  const levels: Uint8Array[][] = [[]];
  for (let o = 0; o < leafRow.length; o += LEAF_SIZE) levels[0].push(leafRow.subarray(o, o + LEAF_SIZE));
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const above: Uint8Array[] = [];
    for (let k = 0; k < below.length; k += 2) above.push(hashPair(below[k], below[k + 1]));
    levels.push(above);
  }
  return levels;
}

function rootOfLeaves(leafRow: Uint8Array): Uint8Array {
  const levels = levelsOf(leafRow);
  return levels[levels.length - 1][0];
}

/**
 * Siblings, from `level` up to the root, of the node at `index` of that level, in the tree over
 * `leafRow` (a power-of-two number of 32-byte leaves).
 */
export function siblingsOf(leafRow: Uint8Array, level: number, index: number): string[] {
  const levels = levelsOf(leafRow);
  const out: string[] = [];
  for (let l = level, k = index; l < levels.length - 1; l++, k >>= 1) out.push(hex(levels[l][k ^ 1]));
  return out;
}

/** The slot array of a graph state: slots beyond `after` are zero, the row padded to 2^slotDepth leaves. */
export function slotRow(slots: readonly Uint8Array[], after: number): Uint8Array {
  const row = new Uint8Array(LEAF_SIZE * 2 ** slotDepth(slots.length - 1));
  for (let j = 0; j <= after; j++) row.set(slots[j], j * LEAF_SIZE);
  return row;
}

export function graphStateAt(slots: readonly Uint8Array[], after: number): string {
  return hex(rootOfLeaves(slotRow(slots, after)));
}

/** Siblings of slot `slot` in graphState(after). */
export function slotSiblings(slots: readonly Uint8Array[], after: number, slot: number): string[] {
  return siblingsOf(slotRow(slots, after), 0, slot);
}

/** Siblings of the weight tensor at `offset` (its padded size `size`) up to the weights root. */
export function weightSiblings(graph: DisputeGraph, offset: number, size: number): string[] {
  return graph.weightsTree.siblings(offset, size).map(hex);
}

export function nodeSiblings(graph: DisputeGraph, node: number): string[] {
  const leaves = Buffer.from(concat(graph.nodes.map((n) => nodeLeaf(nodeRecord(n)))).slice(2), 'hex');
  return siblingsOf(padToLeaves(leaves), 0, node - 1);
}
