/**
 * A package on local disk (`<base>.dnn.json` + `<base>.dnn.bin`) read once from end to end: the
 * files' CIDs and every constant's region root computed in the same pass over the weights, then the
 * package loaded by offset with those roots. What an owner holds before uploading it: the CIDs to
 * upload under and a package checked exactly as the pinner will check it.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { loadModel, parseSpec, type DnnModel } from '../dnn/model';
import { FileWeights } from '../dnn/weights';
import { fileCid } from '../ipfs/cid';
import { FileCidBuilder } from '../ipfs/unixfs/fileCidBuilder';
import { WeightsHasher } from './weightsHasher';

export interface ScannedPackage {
  model: DnnModel;
  specFile: string;
  weightsFile: string;
  graphCid: string;
  weightsCid: string;
  specBytes: number;
  weightsBytes: number;
}

/** Read size per step: large enough for the disk, small enough that memory stays flat. */
const READ_BYTES = 4 << 20;

export async function scanPackage(base: string, onProgress?: (bytesDone: number, bytesTotal: number) => void): Promise<ScannedPackage> {
  const specFile = `${base}.dnn.json`;
  const weightsFile = `${base}.dnn.bin`;
  const specBytes = new Uint8Array(await readFile(specFile));
  const spec = parseSpec(specBytes);
  const { size } = await stat(weightsFile);
  const cid = new FileCidBuilder();
  const roots = new WeightsHasher(spec);
  let done = 0;
  for await (const chunk of createReadStream(weightsFile, { highWaterMark: READ_BYTES })) {
    // The roots hash on the native threads while the CID's sha256 runs here.
    const pushed = roots.push(chunk as Buffer);
    cid.update(chunk as Buffer);
    await pushed;
    done += (chunk as Buffer).length;
    onProgress?.(done, size);
  }
  const { regionRoots } = await roots.finish();
  const model = loadModel(specBytes, new FileWeights(weightsFile), { regionRoots });
  return { model, specFile, weightsFile, graphCid: fileCid(specBytes), weightsCid: cid.digest(), specBytes: specBytes.length, weightsBytes: size };
}
