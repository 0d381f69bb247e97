/**
 * The canonical VM start state of one node (docs/dnn-spec.md section 8): the node-parameter block
 * and where each tensor sits. The guest kernels read exactly this; the dispute contracts check
 * these regions' subtree roots against the graph phase.
 */
import { OPS, DTYPE_CODE, type NodeSpec } from './spec';
import { paddedSize, tensorBytes, type Tensor } from './tensor';
import type { DnnModel } from './model';
import { DnnSpecError } from './errors';

export const NODE_PARAMS_ADDR = 0x10000000;
export const TENSOR_BASE = 0x10100000;
export const DESCRIPTOR_SIZE = 32;
export const PARAMS_HEADER_SIZE = 16;
const ADDRESS_LIMIT = 2 ** 32;

export interface MemoryRegion {
  tensor: string;
  address: number;
  paddedSize: number;
  /** the bytes written at `address` (all zero for the output) */
  bytes: Uint8Array;
}

export interface NodeStartLayout {
  params: MemoryRegion;
  inputs: MemoryRegion[];
  output: MemoryRegion;
}

function descriptor(view: DataView, off: number, address: number, dtype: keyof typeof DTYPE_CODE, shape: readonly number[], zp: number): void {
  const words = [address, DTYPE_CODE[dtype], shape.length, zp, ...[0, 1, 2, 3].map((i) => shape[i] ?? 1)];
  words.forEach((w, i) => view.setInt32(off + 4 * i, w | 0, true));
}

/** Layout for running `node` with its inputs taken from `values` (constants and earlier outputs). */
export function nodeStartLayout(model: DnnModel, node: NodeSpec, values: ReadonlyMap<string, Tensor>): NodeStartLayout {
  let cursor = TENSOR_BASE;
  const place = (name: string, bytes: Uint8Array, byteLength: number): MemoryRegion => {
    const size = paddedSize(byteLength);
    const address = Math.ceil(cursor / size) * size;
    if (address + size > ADDRESS_LIMIT) throw new DnnSpecError('tensors do not fit in the VM address space', `tensor ${name}`);
    cursor = address + size;
    return { tensor: name, address, paddedSize: size, bytes };
  };
  const inputs = node.inputs.map((name) => {
    const bytes = tensorBytes(values.get(name)!);
    return place(name, bytes, bytes.length);
  });
  const outSpec = model.tensorSpecs.get(node.output)!;
  const outLength = outSpec.shape.reduce((a, b) => a * b, 1);
  const output = place(node.output, new Uint8Array(0), outLength);

  const attrNames: readonly string[] = OPS[node.op].attrs;
  const size = PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + inputs.length) + 4 * attrNames.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  [OPS[node.op].code, inputs.length, attrNames.length, 0].forEach((w, i) => view.setInt32(4 * i, w, true));
  descriptor(view, PARAMS_HEADER_SIZE, output.address, outSpec.dtype, outSpec.shape, outSpec.zeroPoint);
  node.inputs.forEach((name, i) => {
    const t = model.tensorSpecs.get(name)!;
    descriptor(view, PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + i), inputs[i].address, t.dtype, t.shape, t.zeroPoint);
  });
  const attrOff = PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + inputs.length);
  attrNames.forEach((a, k) => {
    // loadModel filled every attribute and bounded it to int32; nothing here is implied.
    const v = node.attrs[a];
    if (v === undefined || v !== (v | 0)) throw new DnnSpecError(`attribute ${a} is ${v}: not a node of a loaded model`, `node ${node.output} (${node.op})`);
    view.setInt32(attrOff + 4 * k, v, true);
  });
  return { params: { tensor: '#params', address: NODE_PARAMS_ADDR, paddedSize: paddedSize(size), bytes }, inputs, output };
}
