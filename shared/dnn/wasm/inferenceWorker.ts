/**
 * One thread of the inference pool (./inferencePool.ts): loads the model package once, then runs
 * each batch of inputs it is sent through the native executor and posts back outputs and roots.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DnnInputError } from '../errors';
import { runModel } from '../executor';
import { readModelFiles } from '../files';
import { DTYPE_SIZE } from '../spec';
import { elementCount, tensorBytes, tensorFromBytes } from '../tensor';
import type { PoolRequest, PoolResponse, PoolWorkerData } from './inferencePool';

const { modelPath, backend } = workerData as PoolWorkerData;
const model = readModelFiles(modelPath);
const spec = model.tensorSpecs.get(model.spec.input)!;
const inputBytes = elementCount(spec.shape) * DTYPE_SIZE[spec.dtype];

parentPort!.on('message', ({ id, inputs }: PoolRequest) => {
  try {
    const results = inputs.map((bytes) => {
      // Inputs arrive as bytes: a short or long buffer must not become a zero-padded tensor.
      if (bytes.length !== inputBytes) throw new DnnInputError(`input must be ${inputBytes} bytes, not ${bytes.length}`, spec.shape, [bytes.length]);
      const r = runModel(model, tensorFromBytes(spec.dtype, [...spec.shape], bytes), { backend });
      return { output: tensorBytes(r.output).slice(), graphStateRoot: r.graphStateRoot, slots: r.slots };
    });
    parentPort!.postMessage({ id, results } satisfies PoolResponse);
  } catch (e) {
    parentPort!.postMessage({ id, error: `${(e as Error).name}: ${(e as Error).message}` } satisfies PoolResponse);
  }
});
