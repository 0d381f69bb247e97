/**
 * The native executor: runs a model's nodes in order with the integer kernels and records every
 * node's output root (the graph state the dispute game bisects over).
 *
 * Two backends give the same bytes: 'wasm' runs the guest C kernels compiled to WebAssembly
 * (shared/dnn/wasm/, the fast path and the default once `npm run build:wasm` has built it), 'ts'
 * the TypeScript kernels in ./kernels (the reference the differential tests compare against).
 */
import { DnnInputError } from './errors';
import { graphStateRoot } from './graphState';
import { KERNELS } from './kernels';
import type { DnnModel } from './model';
import { tensorBytes, tensorRoot, type Tensor } from './tensor';
import { hasher } from '../vm/hasher';
import { wasmKernelsAvailable, wasmRunner } from './wasm/wasmBackend';

export type Backend = 'wasm' | 'ts';

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
  /** default: 'wasm' when build/wasm/dnn-kernels.wasm is built, else 'ts' */
  backend?: Backend;
}

let defaultBackendCache: Backend | undefined;

export function defaultBackend(): Backend {
  return (defaultBackendCache ??= wasmKernelsAvailable() ? 'wasm' : 'ts');
}

export function checkInput(model: DnnModel, input: Tensor): void {
  const spec = model.tensorSpecs.get(model.spec.input)!;
  if (input.dtype !== spec.dtype) throw new DnnInputError(`input dtype must be ${spec.dtype}, not ${input.dtype}`, spec.shape, input.shape);
  if (input.shape.join(',') !== spec.shape.join(',')) throw new DnnInputError('input shape mismatch', spec.shape, input.shape);
}

export function runModel(model: DnnModel, input: Tensor, options: RunOptions = {}): RunResult {
  checkInput(model, input);
  const backend = options.backend ?? defaultBackend();
  const slots: Uint8Array[] = [];
  const nodeOutputs: Tensor[] = [];
  let output: Tensor;
  if (backend === 'wasm') {
    const runner = wasmRunner(model);
    runner.write(model.spec.input, input);
    // The native hasher roots the input and each output on its own threads while the next node's
    // kernel runs, so the graph state costs about one copy of the activations on this thread.
    const roots = hasher.newRootBatch();
    roots.add(tensorBytes(input));
    model.spec.nodes.forEach((node, j) => {
      runner.runNode(j);
      roots.add(runner.view(node.output));
      if (options.keepNodeOutputs) nodeOutputs.push(runner.tensor(node.output));
    });
    slots.push(...roots.drain());
    output = runner.tensor(model.spec.output);
  } else {
    slots.push(tensorRoot(input));
    const values = new Map<string, Tensor>([[model.spec.input, input]]);
    for (const node of model.spec.nodes) {
      const out = runNode(model, node, values, 'ts');
      values.set(node.output, out);
      slots.push(tensorRoot(out));
      if (options.keepNodeOutputs) nodeOutputs.push(out);
    }
    output = values.get(model.spec.output)!;
  }
  return {
    output,
    slots,
    graphStateRoot: graphStateRoot(slots),
    ...(options.keepNodeOutputs ? { nodeOutputs } : {}),
  };
}

/**
 * One node from activations by name (constants come from the model): the unit both the executor and dispute tooling run. Its default
 * backend is the TypeScript reference, so one-node checks against the VM (test/dnn/guest-*.test.ts)
 * compare two independent implementations; `node` must be one of model.spec.nodes.
 */
export function runNode(model: DnnModel, node: DnnModel['spec']['nodes'][number], values: ReadonlyMap<string, Tensor>, backend: Backend = 'ts'): Tensor {
  const index = model.spec.nodes.indexOf(node);
  if (backend === 'wasm' && index >= 0) {
    const runner = wasmRunner(model);
    for (const name of node.inputs) if (!model.constants.has(name)) runner.write(name, values.get(name)!);
    runner.runNode(index);
    return runner.tensor(node.output);
  }
  const outSpec = model.tensorSpecs.get(node.output)!;
  return KERNELS[node.op]({
    inputs: node.inputs.map((n) => values.get(n) ?? model.constants.get(n)!),
    zeroPoints: node.inputs.map((n) => model.tensorSpecs.get(n)!.zeroPoint),
    outZp: outSpec.zeroPoint,
    outShape: [...outSpec.shape],
    attrs: node.attrs,
  });
}
