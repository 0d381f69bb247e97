/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * The shipped MNIST models on the 2,004 held-out digits: float accuracy through onnxruntime, int8
 * accuracy through the native executor (the committed packages, and a fresh import of the
 * committed ONNX files with the training script's calibration set), within 1 percentage point.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { mnistTest, mnistTrain, MNIST_CLASSES, MNIST_PIXELS } from '../../shared/dnn/datasets/mnist';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { argmaxRows, quantizeInput } from '../../shared/dnn/io';
import type { DnnModel } from '../../shared/dnn/model';
import { importOnnx } from '../../shared/dnn/onnx/import';
import { weightsBytes } from '../../shared/dnn/weights';

const MODELS = join(__dirname, '..', '..', 'models');
const test = mnistTest();

async function floatAccuracy(onnxBytes: Uint8Array, shape: (batch: number) => number[]): Promise<number> {
  const session = await ort.InferenceSession.create(onnxBytes);
  const flat = new Array<number>(test.images.length * MNIST_PIXELS);
  test.images.forEach((img, i) => img.forEach((v, j) => (flat[i * MNIST_PIXELS + j] = v)));
  const out = await session.run({ input: new ort.Tensor('float32', flat, shape(test.images.length)) });
  await session.release();
  const logits = out.logits.data as Float32Array;
  let correct = 0;
  test.labels.forEach((label, i) => {
    const row = Array.from(logits.subarray(i * MNIST_CLASSES, (i + 1) * MNIST_CLASSES));
    if (row.indexOf(Math.max(...row)) === label) correct++;
  });
  return (100 * correct) / test.labels.length;
}

function int8Accuracy(model: DnnModel): number {
  let correct = 0;
  test.images.forEach((img, i) => {
    if (argmaxRows(runModel(model, quantizeInput(model, img)).output)[0] === test.labels[i]) correct++;
  });
  return (100 * correct) / test.labels.length;
}

/** The calibration set scripts/train-mnist.ts uses: 200 evenly spaced training digits. */
function calibrationSet(): Float32Array[] {
  const train = mnistTrain().images;
  return train.filter((_, i) => i % Math.floor(train.length / 200) === 0).slice(0, 200);
}

const cases = [
  { file: 'mnist-mlp', shape: (b: number) => [b, MNIST_PIXELS], minFloat: 95, ops: ['Dense', 'Dense'] },
  { file: 'mnist-cnn', shape: (b: number) => [b, 1, 28, 28], minFloat: 97, ops: ['Conv2d', 'MaxPool', 'Conv2d', 'MaxPool', 'Reshape', 'Dense'] },
];

describe('MNIST accuracy, float (onnxruntime) vs int8 (native executor)', () => {
  for (const c of cases) {
    it(`${c.file}: float >= ${c.minFloat}%, int8 within 1 point`, async () => {
      const onnxBytes = new Uint8Array(readFileSync(join(MODELS, `${c.file}.onnx`)));
      const float = await floatAccuracy(onnxBytes, c.shape);
      const shipped = readModelFiles(join(MODELS, c.file));
      expect(shipped.spec.nodes.map((n) => n.op)).toEqual(c.ops);
      const int8 = int8Accuracy(shipped);
      const fresh = await importOnnx(onnxBytes, { name: c.file, calibration: calibrationSet(), inputShape: c.shape(1) });
      const freshInt8 = int8Accuracy(fresh);
      console.log(JSON.stringify({ model: c.file, digits: test.labels.length, floatAccuracy: float, int8Accuracy: int8, freshImportInt8Accuracy: freshInt8 }));
      expect(float).toBeGreaterThanOrEqual(c.minFloat);
      expect(Math.abs(int8 - float)).toBeLessThanOrEqual(1);
      expect(Math.abs(freshInt8 - float)).toBeLessThanOrEqual(1);
    });
  }

  it('import is deterministic: the same ONNX bytes and calibration give the same package bytes', async () => {
    const onnxBytes = new Uint8Array(readFileSync(join(MODELS, 'mnist-cnn.onnx')));
    const options = { name: 'mnist-cnn', calibration: calibrationSet().slice(0, 50), inputShape: [1, 1, 28, 28] };
    const [a, b] = [await importOnnx(onnxBytes, options), await importOnnx(onnxBytes, options)];
    expect(Buffer.from(a.specBytes).equals(Buffer.from(b.specBytes))).toBe(true);
    expect(Buffer.from(weightsBytes(a.weights)).equals(Buffer.from(weightsBytes(b.weights)))).toBe(true);
  });
});
