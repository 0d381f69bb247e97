/**
 * The native executor: runs a model's nodes in order with the integer kernels and records every
 * node's output root (the graph state the dispute game bisects over).
 */
import { DnnInputError } from './errors';
import { graphStateRoot } from './graphState';
import { KERNELS } from './kernels';
import type { DnnModel } from './model';
import { tensorRoot, type Tensor } from './tensor';

export interface RunResult {
  output: Tensor;
  /** slots[0] = input root, slots[j] = node j's output root */
  slots: Uint8Array[];
  /** graphStateRoot(slots): what a provider commits */
  graphStateRoot: Uint8Array;
  /** every node's output, in node order (only when asked for) */
  nodeOutputs?: Tensor[];
}

export interface RunOptions {
  keepNodeOutputs?: boolean;
}

export function checkInput(model: DnnModel, input: Tensor): void {
  const spec = model.tensorSpecs.get(model.spec.input)!;
  if (input.dtype !== spec.dtype) throw new DnnInputError(`input dtype must be ${spec.dtype}, not ${input.dtype}`, spec.shape, input.shape);
  if (input.shape.join(',') !== spec.shape.join(',')) throw new DnnInputError('input shape mismatch', spec.shape, input.shape);
}

export function runModel(model: DnnModel, input: Tensor, options: RunOptions = {}): RunResult {
  checkInput(model, input);
  const values = new Map<string, Tensor>(model.constants);
  values.set(model.spec.input, input);
  const slots = [tensorRoot(input)];
  const nodeOutputs: Tensor[] = [];
  for (const node of model.spec.nodes) {
    const out = runNode(model, node, values);
    values.set(node.output, out);
    slots.push(tensorRoot(out));
    if (options.keepNodeOutputs) nodeOutputs.push(out);
  }
  return {
    output: values.get(model.spec.output)!,
    slots,
    graphStateRoot: graphStateRoot(slots),
    ...(options.keepNodeOutputs ? { nodeOutputs } : {}),
  };
}

/** One node from tensors by name: the unit both the executor and dispute tooling run. */
export function runNode(model: DnnModel, node: DnnModel['spec']['nodes'][number], values: ReadonlyMap<string, Tensor>): Tensor {
  const outSpec = model.tensorSpecs.get(node.output)!;
  return KERNELS[node.op]({
    inputs: node.inputs.map((n) => values.get(n)!),
    zeroPoints: node.inputs.map((n) => model.tensorSpecs.get(n)!.zeroPoint),
    outZp: outSpec.zeroPoint,
    outShape: [...outSpec.shape],
    attrs: node.attrs,
  });
}
