/**
 * Runs one node of a model in the VM from its canonical start state (docs/dnn-spec.md section 8):
 * kernel image loaded, node-parameter block at NODE_PARAMS_ADDR, input tensors at their canonical
 * addresses, output region zero. Returns the output read back from VM memory and the root of the
 * output region's subtree, which the dispute contract compares with the disputed graph slot.
 */
import { loadElf } from '../../vm/elf';
import { Machine } from '../../vm/machine';
import type { Memory } from '../../vm/memory';
import { Status } from '../../vm/spec';
import type { DnnModel } from '../model';
import { nodeStartLayout, type NodeStartLayout } from '../nodeLayout';
import type { NodeSpec } from '../spec';
import { tensorBytes, tensorFromBytes, tensorRoot, type Tensor } from '../tensor';
import { DnnVmKernelError, DnnVmNodeError } from './errors';
import { buildKernelImage } from './kernelImage';

export interface NodeStartState {
  memory: Memory;
  entry: number;
  layout: NodeStartLayout;
}

export interface VmNodeRun {
  /** the node's output as read from the output region */
  output: Tensor;
  /** memory.subtreeRoot(output address, paddedSize): what the dispute contract checks */
  outputRoot: Uint8Array;
  steps: number;
  seconds: number;
  layout: NodeStartLayout;
  /** the halted VM's memory (for subtree proofs of the start and end regions) */
  memory: Memory;
}

export interface RunNodeOptions {
  /** the kernel ELF; default: buildKernelImage().elf */
  elf?: Uint8Array;
  /** give up (DnnVmKernelError with status RUNNING) after this many steps */
  maxSteps?: number;
}

function nodeAt(model: DnnModel, nodeIndex: number): NodeSpec {
  if (!Number.isInteger(nodeIndex) || nodeIndex < 1 || nodeIndex > model.spec.nodes.length)
    throw new DnnVmNodeError(`no such node (the model has nodes 1..${model.spec.nodes.length})`, nodeIndex);
  return model.spec.nodes[nodeIndex - 1];
}

/** The canonical start memory of node `nodeIndex` (1-based), ready for a Machine at `entry`: constants from the model, activations from `nodeInputs` (the task input and earlier outputs by name). */
export function nodeStartState(model: DnnModel, nodeIndex: number, nodeInputs: ReadonlyMap<string, Tensor>, elf: Uint8Array = buildKernelImage().elf): NodeStartState {
  const node = nodeAt(model, nodeIndex);
  const layout = nodeStartLayout(model, node);
  const image = loadElf(elf);
  image.memory.writeBytes(layout.params.address, layout.params.bytes);
  for (const region of layout.inputs) {
    const t = model.constants.get(region.tensor) ?? nodeInputs.get(region.tensor);
    if (!t) throw new DnnVmNodeError(`input ${region.tensor} was not supplied`, nodeIndex);
    const root = model.constants.has(region.tensor) ? model.weightsTree.node(model.tensorSpecs.get(region.tensor)!.offset!, region.paddedSize) : tensorRoot(t);
    image.memory.mapRegion(region.address, tensorBytes(t), root);
  }
  return { memory: image.memory, entry: image.entry, layout };
}

/** Runs node `nodeIndex` (1-based, docs/dnn-spec.md section 2) in the VM; throws DnnVmKernelError unless it exits 0. */
export function runNodeInVm(model: DnnModel, nodeIndex: number, nodeInputs: ReadonlyMap<string, Tensor>, options: RunNodeOptions = {}): VmNodeRun {
  const node = nodeAt(model, nodeIndex);
  const start = nodeStartState(model, nodeIndex, nodeInputs, options.elf);
  const machine = new Machine(start.memory, { pc: start.entry });
  const t0 = process.hrtime.bigint();
  machine.run(options.maxSteps);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (machine.status !== Status.EXITED || machine.exitCode !== 0) throw new DnnVmKernelError(nodeIndex, node.op, machine.status, machine.exitCode, machine.step);
  const { address, paddedSize, byteLength } = start.layout.output;
  const outSpec = model.tensorSpecs.get(node.output)!;
  return {
    output: tensorFromBytes(outSpec.dtype, [...outSpec.shape], start.memory.readBytes(address, byteLength)),
    outputRoot: start.memory.subtreeRoot(address, paddedSize),
    steps: machine.step,
    seconds,
    layout: start.layout,
    memory: start.memory,
  };
}
