/**
 * Writing a model package of any size to disk one constant at a time (docs/dnn-spec.md sections 1
 * and 4): the blob's layout follows from the constants' sizes alone, so each tensor is produced,
 * hashed and written at its offset, then dropped, and the spec (with every root) is written last.
 * Memory holds one tensor, never the blob: what an importer of a multi-GB checkpoint, or a generator
 * of benchmark models, needs.
 */
import { closeSync, ftruncateSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { blobLayout, draftSpec, specText, type ModelDraft, type TensorDraft } from './model';
import { DTYPE_SIZE } from './spec';
import { allocTensor, elementCount, tensorBytes, tensorRoot, toHex, type Tensor } from './tensor';

/** A constant whose values are produced on demand, into a zeroed tensor of its dtype and shape. */
export interface ConstantDraft extends Omit<TensorDraft, 'data'> {
  fill: (t: Tensor) => void;
}

export interface PackageDraft extends Omit<ModelDraft, 'tensors'> {
  /** Activations as TensorDraft without data; constants as ConstantDraft. */
  tensors: (TensorDraft | ConstantDraft)[];
}

const isConstant = (t: TensorDraft | ConstantDraft): t is ConstantDraft => 'fill' in t;

/**
 * Writes `<base>.dnn.bin` then `<base>.dnn.json` (each whole or not at all). `onTensor` reports
 * progress after each constant. Load the result with readModelFiles (which checks it).
 */
export function writePackage(base: string, draft: PackageDraft, onTensor?: (name: string, bytesWritten: number, bytesTotal: number) => void): { specBytes: Uint8Array; weightsBytes: number } {
  const constants = draft.tensors.filter(isConstant);
  const { offsets, length } = blobLayout(constants.map((c) => ({ name: c.name, byteLength: elementCount(c.shape) * DTYPE_SIZE[c.dtype] })));
  const roots = new Map<string, string>();
  const tmp = `${base}.dnn.bin.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let written = 0;
  try {
    // Zero-filled to its length first: the padding between tensors is part of the blob.
    ftruncateSync(fd, length);
    for (const c of constants) {
      const t = allocTensor(c.dtype, [...c.shape]);
      c.fill(t);
      const bytes = tensorBytes(t);
      writeSync(fd, bytes, 0, bytes.length, offsets.get(c.name)!);
      roots.set(c.name, toHex(tensorRoot(t)));
      written += bytes.length;
      onTensor?.(c.name, written, length);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, `${base}.dnn.bin`);
  const tensors: TensorDraft[] = draft.tensors.map((t) => {
    if (!isConstant(t)) return t;
    const { fill: _, ...rest } = t;
    return rest;
  });
  const specBytes = specText(draftSpec({ ...draft, tensors }, offsets, roots));
  writeFileSync(`${base}.dnn.json.${process.pid}.tmp`, specBytes);
  renameSync(`${base}.dnn.json.${process.pid}.tmp`, `${base}.dnn.json`);
  return { specBytes, weightsBytes: length };
}
