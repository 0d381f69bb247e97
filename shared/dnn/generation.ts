/**
 * Runs a generation package (docs/dnn-spec.md section 10): its nodes once per step, the state and
 * the carried tensors (KV caches) handed from each step to the next, every node output of every
 * step a graph-state slot. Slot 0 is the initial state (the task input); step t's node i
 * (0-based) is slot 1 + t × nodes + i, which is the order a dispute bisects over.
 */
import { DnnInputError } from './errors';
import { checkInput, defaultBackend, runNode, type Backend } from './executor';
import { graphStateRoot } from './graphState';
import type { DnnModel } from './model';
import { allocTensor, tensorBytes, tensorRoot, type Tensor } from './tensor';
import { hasher } from '../vm/hasher';
import { wasmRunner } from './wasm/wasmBackend';

export interface GenerationRun {
  /** the state after the last step */
  output: Tensor;
  slots: Uint8Array[];
  graphStateRoot: Uint8Array;
  steps: number;
}

export interface GenerationOptions {
  backend?: Backend;
  /** after each step, with the state it produced */
  onStep?: (step: number, state: Tensor) => void;
  /** after each node, with (a copy of) its output: what a dispute party keeps */
  onNode?: (step: number, node: number, output: Tensor) => void;
  /**
   * false: skip the graph-state roots (slots come back empty). Only for measuring what the roots
   * cost a provider; a commitment needs them.
   */
  roots?: boolean;
}

/** The slot of step `step`'s node `node` (both 0-based). */
export function generationSlot(model: DnnModel, step: number, node: number): number {
  return 1 + step * model.spec.nodes.length + node;
}

export function runGeneration(model: DnnModel, initial: Tensor, steps: number, options: GenerationOptions = {}): GenerationRun {
  const g = model.spec.generation;
  if (!g) throw new DnnInputError(`model ${model.spec.name} is not a generation package (its spec has no generation section)`, [], []);
  if (!Number.isInteger(steps) || steps < 1) throw new DnnInputError(`steps must be a positive integer, not ${steps}`, [], []);
  checkInput(model, initial);
  const zero = (name: string) => {
    const spec = model.tensorSpecs.get(name)!;
    return allocTensor(spec.dtype, [...spec.shape]);
  };
  const backend = options.backend ?? defaultBackend();
  const slots: Uint8Array[] = [];
  let state = initial;
  if (backend === 'wasm') {
    const runner = wasmRunner(model);
    const hashing = options.roots !== false;
    const roots = hasher.newRootBatch();
    if (hashing) roots.add(tensorBytes(initial));
    runner.write(g.state, initial);
    for (const c of g.carry) runner.write(c.to, zero(c.to));
    for (let t = 0; t < steps; t++) {
      if (t > 0) {
        runner.write(g.state, runner.tensor(g.next));
        for (const c of g.carry) runner.write(c.to, runner.tensor(c.from));
      }
      model.spec.nodes.forEach((node, j) => {
        runner.runNode(j);
        if (hashing) roots.add(runner.view(node.output));
        options.onNode?.(t, j, runner.tensor(node.output));
      });
      if (hashing) slots.push(...roots.drain());
      state = runner.tensor(g.next);
      options.onStep?.(t, state);
    }
  } else {
    slots.push(tensorRoot(initial));
    let carried = new Map(g.carry.map((c) => [c.to, zero(c.to)]));
    for (let t = 0; t < steps; t++) {
      const values = new Map<string, Tensor>([[g.state, state], ...carried]);
      model.spec.nodes.forEach((node, j) => {
        const out = runNode(model, node, values, 'ts');
        values.set(node.output, out);
        slots.push(tensorRoot(out));
        options.onNode?.(t, j, out);
      });
      state = values.get(g.next)!;
      carried = new Map(g.carry.map((c) => [c.to, values.get(c.from)!]));
      options.onStep?.(t, state);
    }
  }
  return { output: state, slots, graphStateRoot: slots.length ? graphStateRoot(slots) : new Uint8Array(32), steps };
}
