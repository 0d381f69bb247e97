/** Reading and writing model packages as the two files of docs/dnn-spec.md section 1. */
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { loadModel, type DnnModel, type LoadOptions } from './model';
import { FileWeights, weightsChunks } from './weights';

/** Loads `<base>.dnn.json` and reads `<base>.dnn.bin` by offset (never whole). */
export function readModelFiles(base: string, options: LoadOptions = {}): DnnModel {
  return loadModel(new Uint8Array(readFileSync(`${base}.dnn.json`)), new FileWeights(`${base}.dnn.bin`), options);
}

/** Writes both files, the blob streamed from the model's weights; each file appears whole or not at all. */
export function writeModelFiles(base: string, model: DnnModel): void {
  const tmp = `${base}.dnn.bin.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const piece of weightsChunks(model.weights)) writeSync(fd, piece);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, `${base}.dnn.bin`);
  writeFileSync(`${base}.dnn.json.${process.pid}.tmp`, model.specBytes);
  renameSync(`${base}.dnn.json.${process.pid}.tmp`, `${base}.dnn.json`);
}
