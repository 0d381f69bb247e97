/**
 * Slot tensors (slot 0 the task input, slot j node j's output, over every step of a generation): what a party computes natively,
 * commits to (outputRoot, graphStateRoot) and later defends in a dispute, move by move. The worker
 * keeps the tensors it committed or challenged with on disk by task, so a restarted worker plays
 * the same claim it made.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { graphStateAt } from '../../shared/dispute/graph';
import { runModel, runNode, type Backend } from '../../shared/dnn/executor';
import { runGeneration } from '../../shared/dnn/generation';
import { STATE } from '../../shared/dnn/kernels/sample';
import { argmaxRows } from '../../shared/dnn/io';
import { allocTensor, tensorBytes, tensorFromBytes, type Tensor } from '../../shared/dnn/tensor';
import type { PreparedModel } from '../../shared/models/registration';
import { merkleRootOfBytes } from '../../shared/vm/merkle';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

export class InputMismatchError extends Error {
  override name = 'InputMismatchError';
  constructor(readonly taskId: bigint, reason: string) {
    super(`task ${taskId}: the input fetched by CID is not the task's input (${reason}); the task cannot be served honestly, so it is not claimed`);
  }
}

/** The task input from its bytes, checked against the model's input shape and the task's inputRoot. */
export function taskInput(prepared: PreparedModel, taskId: bigint, bytes: Uint8Array, inputRoot: string): Tensor {
  const spec = prepared.model.tensorSpecs.get(prepared.model.spec.input)!;
  const input = tensorFromBytes(spec.dtype, [...spec.shape], bytes);
  if (tensorBytes(input).length !== bytes.length) throw new InputMismatchError(taskId, `${bytes.length} bytes for a ${spec.dtype}[${spec.shape.join(',')}] input`);
  const root = hex(merkleRootOfBytes(bytes));
  if (root !== inputRoot.toLowerCase()) throw new InputMismatchError(taskId, `Merkle root ${root}, task says ${inputRoot}`);
  return input;
}

/** Slot tensors and their Merkle roots (the executor hashes each node's output as it runs). */
export interface SlotRun {
  tensors: Uint8Array[];
  roots: Uint8Array[];
}

/** A task whose steps its model cannot run: a plain model runs once, only a generation package runs steps. */
export class StepsMismatchError extends Error {
  override name = 'StepsMismatchError';
  constructor(readonly taskId: bigint, readonly steps: number, model: string) {
    super(`task ${taskId} asks ${steps} steps of model ${model}, which is not a generation package (it runs 1 step): the task cannot be served, so it is not claimed`);
  }
}

/**
 * dnnSlotTensors (shared/dispute/dnnGraph.ts) with the configured backend, keeping the roots the
 * run computed: one step for a plain model, the task's `steps` for a generation package.
 */
export function slotTensors(prepared: PreparedModel, input: Tensor, backend?: Backend, steps = 1, taskId = 0n): SlotRun {
  const model = prepared.model;
  if (model.spec.generation) {
    const tensors: Uint8Array[] = [Uint8Array.from(tensorBytes(input))];
    const run = runGeneration(model, input, steps, { backend, onNode: (_t, _j, out) => tensors.push(Uint8Array.from(tensorBytes(out))) });
    return { tensors, roots: run.slots };
  }
  if (steps !== 1) throw new StepsMismatchError(taskId, steps, model.spec.name);
  const run = runModel(model, input, { keepNodeOutputs: true, backend });
  return { tensors: [tensorBytes(input), ...run.nodeOutputs!.map((t) => tensorBytes(t))].map((b) => Uint8Array.from(b)), roots: run.slots };
}

/** The output's slot: the last step's output node. */
export function outputSlotOf(prepared: PreparedModel, run: SlotRun): number {
  return run.roots.length - 1 - prepared.graph.nodes.length + prepared.graph.outputSlot;
}

/**
 * A wrong answer that changes the predicted class (as the protocol demo's cheating provider gives):
 * the true class's logit to the minimum, the next one to the maximum. Only the output slot changes,
 * so the dispute narrows to the last node and the VM step proves the lie.
 */
export function forgeSlots(prepared: PreparedModel, honest: SlotRun): SlotRun {
  if (prepared.model.spec.generation) return forgeGeneration(prepared, honest);
  const out = outputSlotOf(prepared, honest);
  const spec = prepared.model.tensorSpecs.get(prepared.model.spec.output)!;
  const t = tensorFromBytes(spec.dtype, [...spec.shape], Uint8Array.from(honest.tensors[out]));
  const truth = argmaxRows(t)[0];
  t.data[truth] = -128;
  t.data[(truth + 1) % t.data.length] = 127;
  const tensors = [...honest.tensors];
  tensors[out] = Uint8Array.from(tensorBytes(t));
  const roots = [...honest.roots];
  roots[out] = merkleRootOfBytes(tensors[out]);
  return { tensors, roots };
}

/**
 * A generation's wrong answer, as a cheater that wants it to look plausible gives it: the middle
 * generated token replaced by the next token id, and every later step computed honestly from the
 * forged state, so the continuation after it is the model's own. The dispute narrows to that
 * step's Sample node, in the middle of the unrolled graph.
 */
function forgeGeneration(prepared: PreparedModel, honest: SlotRun): SlotRun {
  const model = prepared.model;
  const g = model.spec.generation!;
  const n = model.spec.nodes.length;
  const steps = (honest.tensors.length - 1) / n;
  const specOf = (name: string) => model.tensorSpecs.get(name)!;
  const at = (slot: number, name: string) => tensorFromBytes(specOf(name).dtype, [...specOf(name).shape], Uint8Array.from(honest.tensors[slot]));
  const first = at(0, g.state);
  const generatedFrom = first.data[STATE.promptLength] - 1; // the step that writes the first generated token
  const step = Math.min(steps - 1, Math.max(0, generatedFrom + Math.floor((steps - generatedFrom) / 2)));
  const slotOf = (t: number, j: number) => 1 + t * n + j;
  const producer = new Map(model.spec.nodes.map((node, j) => [node.output, j]));
  const tensors = honest.tensors.slice(0, slotOf(step, 0)).map((b) => Uint8Array.from(b));
  let state = step === 0 ? first : at(slotOf(step - 1, producer.get(g.next)!), g.next);
  let carried = new Map(g.carry.map((c) => [c.to, step === 0 ? allocTensor(specOf(c.to).dtype, [...specOf(c.to).shape]) : at(slotOf(step - 1, producer.get(c.from)!), c.from)]));
  for (let t = step; t < steps; t++) {
    const values = new Map<string, Tensor>([[g.state, state], ...carried]);
    for (const node of model.spec.nodes) {
      const out = runNode(model, node, values);
      if (t === step && node.output === g.next) {
        const position = out.data[STATE.position];
        out.data[STATE.token] = out.data[STATE.token] + 1;
        out.data[STATE.tokens + position] = out.data[STATE.token];
      }
      values.set(node.output, out);
      tensors.push(Uint8Array.from(tensorBytes(out)));
    }
    state = values.get(g.next)!;
    carried = new Map(g.carry.map((c) => [c.to, values.get(c.from)!]));
  }
  return { tensors, roots: tensors.map((b) => merkleRootOfBytes(b)) };
}

export interface Commitment {
  outputRoot: string;
  graphStateRoot: string;
  output: Uint8Array;
}

/** What `commit` sends for these slot tensors. */
export function commitmentOf(prepared: PreparedModel, run: SlotRun): Commitment {
  const out = outputSlotOf(prepared, run);
  return { outputRoot: hex(run.roots[out]), graphStateRoot: graphStateAt(run.roots, run.roots.length - 1), output: run.tensors[out] };
}

export function sameCommitment(a: Pick<Commitment, 'outputRoot' | 'graphStateRoot'>, b: Pick<Commitment, 'outputRoot' | 'graphStateRoot'>): boolean {
  return a.outputRoot.toLowerCase() === b.outputRoot.toLowerCase() && a.graphStateRoot.toLowerCase() === b.graphStateRoot.toLowerCase();
}

const storedSlotsSchema = z.object({ market: z.string(), taskId: z.string(), slots: z.array(z.string()) }).strict();

/** Slot tensors by (market, task) in the cache folder; a cache folder may outlive a deployment. */
export class SlotStore {
  constructor(private readonly dir: string, private readonly market: string) {}

  private file(taskId: bigint): string {
    return join(this.dir, `${this.market.toLowerCase()}-${taskId}.json`);
  }

  async save(taskId: bigint, slots: readonly Uint8Array[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const body = JSON.stringify({ market: this.market, taskId: taskId.toString(), slots: slots.map((s) => Buffer.from(s).toString('base64')) });
    const file = this.file(taskId);
    await writeFile(`${file}.${process.pid}.tmp`, body);
    await rename(`${file}.${process.pid}.tmp`, file);
  }

  /** The stored tensors, or undefined when none (or unreadable: the caller recomputes). */
  async load(taskId: bigint): Promise<Uint8Array[] | undefined> {
    try {
      const parsed = storedSlotsSchema.safeParse(JSON.parse(await readFile(this.file(taskId), 'utf8')));
      return parsed.success ? parsed.data.slots.map((s) => new Uint8Array(Buffer.from(s, 'base64'))) : undefined;
    } catch {
      return undefined;
    }
  }
}
