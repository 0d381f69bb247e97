/**
 * The canonical VM start state of one node (docs/dnn-spec.md section 8): the node-parameter block
 * and where each tensor sits. The guest kernels read exactly this; the dispute contracts check
 * these regions' subtree roots against the graph phase.
 */
import { OPS, DTYPE_CODE, DTYPE_SIZE, type NodeSpec } from './spec';
import { elementCount, paddedSize } from './tensor';
import type { DnnModel } from './model';
import { DnnSpecError } from './errors';

export const NODE_PARAMS_ADDR = 0x10000000;
export const TENSOR_BASE = 0x10100000;
export const DESCRIPTOR_SIZE = 32;
export const PARAMS_HEADER_SIZE = 16;
const ADDRESS_LIMIT = 2 ** 32;

/** Where a tensor sits in the VM: its bytes at `address`, zero up to `paddedSize`. */
export interface MemoryRegion {
  tensor: string;
  address: number;
  paddedSize: number;
  /** the tensor's own byte length (dtype size × elements) */
  byteLength: number;
}

export interface NodeStartLayout {
  /** the node-parameter block, with its bytes */
  params: MemoryRegion & { bytes: Uint8Array };
  inputs: MemoryRegion[];
  output: MemoryRegion;
}

function descriptor(view: DataView, off: number, address: number, dtype: keyof typeof DTYPE_CODE, shape: readonly number[], zp: number): void {
  const words = [address, DTYPE_CODE[dtype], shape.length, zp, ...[0, 1, 2, 3].map((i) => shape[i] ?? 1)];
  words.forEach((w, i) => view.setInt32(off + 4 * i, w | 0, true));
}

/**
 * The layout of `node` (of a loaded model): it depends on the tensors' shapes and dtypes only, so
 * it is known before any value is, and the same for every task.
 */
export function nodeStartLayout(model: Pick<DnnModel, 'tensorSpecs'>, node: NodeSpec): NodeStartLayout {
  let cursor = TENSOR_BASE;
  const place = (name: string): MemoryRegion => {
    const t = model.tensorSpecs.get(name)!;
    const byteLength = elementCount(t.shape) * DTYPE_SIZE[t.dtype];
    const size = paddedSize(byteLength);
    const address = Math.ceil(cursor / size) * size;
    if (address + size > ADDRESS_LIMIT)
      throw new DnnSpecError(`tensors do not fit in the VM address space: ${name} would end at ${address + size}, past 2^32`, `node ${node.output} (${node.op})`);
    cursor = address + size;
    return { tensor: name, address, paddedSize: size, byteLength };
  };
  const inputs = node.inputs.map(place);
  const outSpec = model.tensorSpecs.get(node.output)!;
  const output = place(node.output);

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
  return { params: { tensor: '#params', address: NODE_PARAMS_ADDR, paddedSize: paddedSize(size), byteLength: size, bytes }, inputs, output };
}
