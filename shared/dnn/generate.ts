/**
 * Greedy text generation with a character-level model package (int32 token ids [1, T] in,
 * logits [1, T, V] out): each step runs the whole graph natively, so each generated character has
 * its own graph-state root, the unit a task commits to.
 */
import { runModel } from './executor';
import { argmaxRows } from './io';
import type { DnnModel } from './model';
import { allocTensor } from './tensor';

export interface GeneratedToken {
  id: number;
  graphStateRoot: Uint8Array;
}

/** Appends `count` greedy tokens to `prompt`; the window is left-padded with `padId`. */
export function generateGreedy(model: DnnModel, prompt: readonly number[], count: number, padId: number): GeneratedToken[] {
  const [, t] = model.tensorSpecs.get(model.spec.input)!.shape;
  const ids = [...prompt];
  const out: GeneratedToken[] = [];
  for (let i = 0; i < count; i++) {
    const window = ids.slice(-t);
    const input = allocTensor('int32', [1, t]);
    input.data.set([...Array(t - window.length).fill(padId), ...window]);
    const run = runModel(model, input);
    const next = argmaxRows(run.output)[t - 1];
    ids.push(next);
    out.push({ id: next, graphStateRoot: run.graphStateRoot });
  }
  return out;
}
