/** Reading and writing model packages as the two files of docs/dnn-spec.md section 1. */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadModel, type DnnModel } from './model';

/** Loads `<base>.dnn.json` and `<base>.dnn.bin`. */
export function readModelFiles(base: string): DnnModel {
  return loadModel(new Uint8Array(readFileSync(`${base}.dnn.json`)), new Uint8Array(readFileSync(`${base}.dnn.bin`)));
}

export function writeModelFiles(base: string, model: DnnModel): void {
  writeFileSync(`${base}.dnn.json`, model.specBytes);
  writeFileSync(`${base}.dnn.bin`, model.weights);
}
