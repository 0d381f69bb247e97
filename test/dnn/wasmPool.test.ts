/**
 * The inference pool (worker threads across cores): a batch split over two threads gives, in input
 * order, the bytes and roots runModel gives in this thread; a worker-side failure is a typed error.
 */
import { join } from 'node:path';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { sampleInputs } from '../../shared/dnn/guest/sampleInputs';
import { allocTensor, tensorBytes, toHex } from '../../shared/dnn/tensor';
import { DnnPoolError, InferencePool } from '../../shared/dnn/wasm/inferencePool';

const base = join(__dirname, '..', '..', 'models', 'mnist-cnn');
const model = readModelFiles(base);
let pool: InferencePool;

beforeAll(() => {
  pool = new InferencePool(base, { threads: 2 });
});
afterAll(() => pool.close());

it('a batch of 7 over 2 threads: outputs and roots equal runModel here, in order', async () => {
  const inputs = sampleInputs(model, 7);
  const results = await pool.run(inputs);
  expect(results).toHaveLength(7);
  results.forEach((r, i) => {
    const here = runModel(model, inputs[i]);
    expect(Buffer.from(r.output).toString('hex')).toBe(Buffer.from(tensorBytes(here.output)).toString('hex'));
    expect(toHex(r.graphStateRoot)).toBe(toHex(here.graphStateRoot));
    expect(r.slots.map(toHex)).toEqual(here.slots.map(toHex));
  });
});

it('an input the worker rejects is a DnnPoolError naming the executor error', async () => {
  // 10 bytes where the model takes 784: must not become a zero-padded input.
  const bad = allocTensor('int8', [1, 10]);
  await expect(pool.run([bad])).rejects.toThrow(DnnPoolError);
  await expect(pool.run([bad])).rejects.toThrow(/DnnInputError: input must be 784 bytes, not 10/);
});
