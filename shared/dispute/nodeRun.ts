/**
 * One node's VM run as a party sees it: the canonical start memory (docs/dispute-spec.md section 5)
 * built from the party's own tensors, a checkpointed run answering "state at step t", and the
 * halted end state it claims (with the output region proof the phase link needs).
 */
import { keccak256 } from 'ethers';
import { CheckpointedRun } from '../vm/checkpoints';
import { loadElf } from '../vm/elf';
import { merkleRootOfBytes } from '../vm/merkle';
import { Machine } from '../vm/machine';
import type { Memory } from '../vm/memory';
import { LEAF_SIZE, STATE_OFFSET, Status, TREE_DEPTH } from '../vm/spec';
import { NODE_PARAMS_ADDR } from '../dnn/nodeLayout';
import { readWeights } from '../dnn/weights';
import type { DisputeGraph } from './graph';
import { nodeOf, resolveInput, WEIGHT_SOURCE } from './graph';
import { DisputeNodeRunFailed } from './errors';
import { GUEST_ENTRY, IMAGE_REGION_SIZE, MAX_STEP_BOUND, stepBoundFor } from './spec';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

/** Snapshot memory per node run: enough for kernels of 10^8 steps at the grid the budget allows. */
const CHECKPOINT_BUDGET = 64 * 1024 * 1024;

export interface EndClaim {
  state: Uint8Array;
  outputSiblings: string[];
}

/**
 * Bytes of input `i` of the game's node `node` (1-based over every step) under a party's tensors
 * (slot tensors), the public weights blob, or zero bytes (a carried tensor at step 0).
 */
export function nodeInputBytes(graph: DisputeGraph, tensors: readonly Uint8Array[], node: number, i: number): Uint8Array {
  const ref = nodeOf(graph, node).inputs[i];
  const from = resolveInput(graph, node, ref);
  if (from.kind === 'weight') return readWeights(graph.weights, ref.index, ref.size);
  if (from.kind === 'zero') return new Uint8Array(ref.size);
  return tensors[from.slot];
}

export function imageRoot28(image: Uint8Array): string {
  return hex(loadElf(image).memory.subtreeRoot(0, IMAGE_REGION_SIZE));
}

export class NodeRun {
  readonly run: CheckpointedRun;
  private end: EndClaim | undefined;

  constructor(
    readonly graph: DisputeGraph,
    /** slot 0: the task input's bytes; slot j: node j's output bytes (over every step), as this party holds them. */
    readonly tensors: readonly Uint8Array[],
    readonly node: number,
  ) {
    const memory = loadElf(graph.image).memory;
    const spec = nodeOf(graph, node);
    memory.writeBytes(NODE_PARAMS_ADDR, spec.params);
    // Weights enter by their registered roots (already checked against the blob): tens of MB are
    // neither copied into pages nor hashed unless the final step's proof reaches into them.
    spec.inputs.forEach((ref, i) => {
      const bytes = nodeInputBytes(graph, tensors, node, i);
      memory.mapRegion(ref.addr, bytes, ref.source === WEIGHT_SOURCE ? graph.weightsTree.node(ref.index, ref.size) : merkleRootOfBytes(bytes));
    });
    // The start state's own pages sit in the first snapshot: the budget is for what the run adds.
    const inputBytes = spec.inputs.reduce((n, ref) => n + ref.size, 0);
    this.run = new CheckpointedRun(new Machine(memory, { pc: GUEST_ENTRY }), { budgetBytes: CHECKPOINT_BUDGET + inputBytes, interval: 1 << 12 });
  }

  /** The halting step, running the node to the end the first time. */
  haltStep(): number {
    this.run.extendTo(MAX_STEP_BOUND);
    const head = this.run.head;
    if (head.status !== Status.EXITED || head.exitCode !== 0) throw new DisputeNodeRunFailed(this.node, head.status, head.exitCode, head.step);
    return head.step;
  }

  stepBound(): number {
    return stepBoundFor(this.haltStep());
  }

  /**
   * The halted end state with `claimedOutput` in the output region (the VM's own output when they
   * are equal; a party claiming other bytes gets a state no run reaches).
   */
  endClaim(claimedOutput: Uint8Array): EndClaim {
    if (this.end) return this.end;
    const machine = this.run.machineAt(this.haltStep());
    const spec = nodeOf(this.graph, this.node);
    const memory: Memory = machine.memory.clone();
    memory.writeBytes(spec.outputAddress, padTo(claimedOutput, spec.outputSize));
    const state = machine.encodedState();
    state.set(memory.root(), STATE_OFFSET.memRoot);
    const proof = memory.proof(spec.outputAddress);
    const level = Math.log2(spec.outputSize / LEAF_SIZE);
    const outputSiblings: string[] = [];
    for (let l = level; l < TREE_DEPTH; l++) outputSiblings.push(hex(proof.subarray(LEAF_SIZE * (l + 1), LEAF_SIZE * (l + 2))));
    this.end = { state, outputSiblings };
    return this.end;
  }

  /** The VM state hash at step t (the halted state from the halting step on). */
  stateHashAt(t: bigint): string {
    return keccak256(this.run.stateAt(Number(t)));
  }

  /** The output region of the run's halted state: what the VM actually computed. */
  output(): Uint8Array {
    const spec = nodeOf(this.graph, this.node);
    return this.run.machineAt(this.haltStep()).memory.readBytes(spec.outputAddress, spec.outputSize);
  }
}

function padTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, size));
  return out;
}
