/**
 * Tensors as typed arrays, their canonical bytes and their Merkle roots (docs/dnn-spec.md section 3).
 */
import { merkleRootOfBytes, paddedSize } from '../vm/merkle';
import { DTYPE_SIZE, type DType } from './spec';

export type TensorData = Int8Array | Uint8Array | Int32Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function allocTensor(dtype: DType, shape: number[]): Tensor {
  const n = elementCount(shape);
  const data = dtype === 'int8' ? new Int8Array(n) : dtype === 'uint8' ? new Uint8Array(n) : new Int32Array(n);
  return { dtype, shape, data };
}

/** A typed array over existing little-endian bytes (copied, so alignment never matters). */
export function tensorFromBytes(dtype: DType, shape: number[], bytes: Uint8Array): Tensor {
  const t = allocTensor(dtype, shape);
  new Uint8Array(t.data.buffer).set(bytes.subarray(0, elementCount(shape) * DTYPE_SIZE[dtype]));
  return t;
}

/** The tensor's canonical bytes: row-major, little-endian (the host is checked little-endian by shared/vm). */
export function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export { paddedSize };

export function tensorRoot(t: Tensor): Uint8Array {
  return merkleRootOfBytes(tensorBytes(t));
}

export function toHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes).toString('hex');
}
