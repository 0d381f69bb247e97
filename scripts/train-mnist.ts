/**
 * Trains the shipped MNIST models in float (seeded, CPU, a couple of minutes), exports them to ONNX
 * the way the common exporters write them, and imports them back into int8 packages:
 *   models/mnist-mlp.onnx  784 -> 128 -> 10, TensorFlow style (MatMul + Add)
 *   models/mnist-cnn.onnx  conv 8 -> pool -> conv 16 -> pool -> dense 10, PyTorch style (Conv, Gemm transB)
 *   models/<name>.dnn.json + .dnn.bin  the quantised packages (calibrated on 200 training digits)
 * Usage: npx tsx scripts/train-mnist.ts [mlp|cnn ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mnistTrain, MNIST_CLASSES, MNIST_PIXELS, type Digits } from '../shared/dnn/datasets/mnist';
import { writeModelFiles } from '../shared/dnn/files';
import { buildOnnxModel, type OnnxModelDraft } from '../shared/dnn/onnx/build';
import { importOnnx } from '../shared/dnn/onnx/import';
import { gaussian, seededRandom } from '../shared/dnn/random';

const MODELS_DIR = join(__dirname, '..', 'models');
const SEED = 20240601;
const BATCH = 32;
const CALIBRATION_DIGITS = 200;

interface Param {
  w: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

function param(n: number, init: () => number): Param {
  return { w: Float32Array.from({ length: n }, init), g: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
}

interface Layer {
  forward(x: Float32Array): Float32Array;
  /** gradient w.r.t. the input; accumulates parameter gradients */
  backward(g: Float32Array): Float32Array;
  params: Param[];
}

class Dense implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  private x: Float32Array = new Float32Array(0);
  constructor(
    readonly nIn: number,
    readonly nOut: number,
    normal: () => number,
  ) {
    const std = Math.sqrt(2 / nIn);
    this.weight = param(nIn * nOut, () => normal() * std);
    this.bias = param(nOut, () => 0);
  }
  get params() {
    return [this.weight, this.bias];
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    const y = new Float32Array(this.nOut);
    const w = this.weight.w;
    for (let o = 0; o < this.nOut; o++) {
      let s = this.bias.w[o];
      const off = o * this.nIn;
      for (let i = 0; i < this.nIn; i++) s += w[off + i] * x[i];
      y[o] = s;
    }
    return y;
  }
  backward(g: Float32Array): Float32Array {
    const dx = new Float32Array(this.nIn);
    const { w, g: gw } = this.weight;
    for (let o = 0; o < this.nOut; o++) {
      const go = g[o];
      if (go === 0) continue;
      this.bias.g[o] += go;
      const off = o * this.nIn;
      for (let i = 0; i < this.nIn; i++) {
        gw[off + i] += go * this.x[i];
        dx[i] += go * w[off + i];
      }
    }
    return dx;
  }
}

/** 3×3 convolution, stride 1, padding 1, on [C, H, W]. */
class Conv3x3 implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  private x: Float32Array = new Float32Array(0);
  constructor(
    readonly cin: number,
    readonly cout: number,
    readonly h: number,
    readonly w: number,
    normal: () => number,
  ) {
    const std = Math.sqrt(2 / (cin * 9));
    this.weight = param(cout * cin * 9, () => normal() * std);
    this.bias = param(cout, () => 0);
  }
  get params() {
    return [this.weight, this.bias];
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    const { cin, cout, h, w } = this;
    const y = new Float32Array(cout * h * w);
    const k = this.weight.w;
    for (let o = 0; o < cout; o++) {
      y.fill(this.bias.w[o], o * h * w, (o + 1) * h * w);
      for (let c = 0; c < cin; c++) {
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const kv = k[((o * cin + c) * 3 + ky) * 3 + kx];
            for (let yy = Math.max(0, 1 - ky); yy < Math.min(h, h + 1 - ky); yy++) {
              const src = c * h * w + (yy + ky - 1) * w + kx - 1;
              const dst = o * h * w + yy * w;
              for (let xx = Math.max(0, 1 - kx); xx < Math.min(w, w + 1 - kx); xx++) y[dst + xx] += kv * x[src + xx];
            }
          }
        }
      }
    }
    return y;
  }
  backward(g: Float32Array): Float32Array {
    const { cin, cout, h, w } = this;
    const dx = new Float32Array(cin * h * w);
    const k = this.weight.w;
    const gk = this.weight.g;
    for (let o = 0; o < cout; o++) {
      let gb = 0;
      for (let i = 0; i < h * w; i++) gb += g[o * h * w + i];
      this.bias.g[o] += gb;
      for (let c = 0; c < cin; c++) {
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const ki = ((o * cin + c) * 3 + ky) * 3 + kx;
            const kv = k[ki];
            let acc = 0;
            for (let yy = Math.max(0, 1 - ky); yy < Math.min(h, h + 1 - ky); yy++) {
              const src = c * h * w + (yy + ky - 1) * w + kx - 1;
              const dst = o * h * w + yy * w;
              for (let xx = Math.max(0, 1 - kx); xx < Math.min(w, w + 1 - kx); xx++) {
                acc += g[dst + xx] * this.x[src + xx];
                dx[src + xx] += g[dst + xx] * kv;
              }
            }
            gk[ki] += acc;
          }
        }
      }
    }
    return dx;
  }
}

class Relu implements Layer {
  readonly params: Param[] = [];
  private y: Float32Array = new Float32Array(0);
  forward(x: Float32Array): Float32Array {
    this.y = x.map((v) => (v > 0 ? v : 0));
    return this.y;
  }
  backward(g: Float32Array): Float32Array {
    return g.map((v, i) => (this.y[i] > 0 ? v : 0));
  }
}

/** 2×2 max pooling, stride 2, on [C, H, W]. */
class MaxPool2 implements Layer {
  readonly params: Param[] = [];
  private argmax = new Int32Array(0);
  constructor(
    readonly c: number,
    readonly h: number,
    readonly w: number,
  ) {}
  forward(x: Float32Array): Float32Array {
    const oh = this.h / 2;
    const ow = this.w / 2;
    const y = new Float32Array(this.c * oh * ow);
    this.argmax = new Int32Array(y.length);
    for (let c = 0; c < this.c; c++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let best = -1;
          let bestV = -Infinity;
          for (let d = 0; d < 4; d++) {
            const i = c * this.h * this.w + (2 * oy + (d >> 1)) * this.w + 2 * ox + (d & 1);
            if (x[i] > bestV) [best, bestV] = [i, x[i]];
          }
          const o = (c * oh + oy) * ow + ox;
          y[o] = bestV;
          this.argmax[o] = best;
        }
    return y;
  }
  backward(g: Float32Array): Float32Array {
    const dx = new Float32Array(this.c * this.h * this.w);
    for (let o = 0; o < g.length; o++) dx[this.argmax[o]] += g[o];
    return dx;
  }
}

function softmaxCrossEntropyGrad(logits: Float32Array, label: number): { loss: number; grad: Float32Array } {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  const grad = e.map((v) => v / sum);
  const loss = -Math.log(grad[label]);
  grad[label] -= 1;
  return { loss, grad };
}

function adamStep(params: Param[], step: number, lr: number, batch: number): void {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const c1 = 1 - b1 ** step;
  const c2 = 1 - b2 ** step;
  for (const p of params) {
    for (let i = 0; i < p.w.length; i++) {
      const g = p.g[i] / batch;
      p.m[i] = b1 * p.m[i] + (1 - b1) * g;
      p.v[i] = b2 * p.v[i] + (1 - b2) * g * g;
      p.w[i] -= (lr * (p.m[i] / c1)) / (Math.sqrt(p.v[i] / c2) + eps);
    }
    p.g.fill(0);
  }
}

const MAX_SHIFT = 2;

/** A copy of a 28×28 digit moved by up to MAX_SHIFT pixels each way: the held-out digits are not centred alike. */
function shifted(img: Float32Array, rand: () => number): Float32Array {
  const dx = Math.floor(rand() * (2 * MAX_SHIFT + 1)) - MAX_SHIFT;
  const dy = Math.floor(rand() * (2 * MAX_SHIFT + 1)) - MAX_SHIFT;
  const out = new Float32Array(MNIST_PIXELS);
  for (let y = Math.max(0, dy); y < Math.min(28, 28 + dy); y++)
    for (let x = Math.max(0, dx); x < Math.min(28, 28 + dx); x++) out[y * 28 + x] = img[(y - dy) * 28 + x - dx];
  return out;
}

function train(layers: Layer[], data: Digits, epochs: number, lr: number, rand: () => number): void {
  const params = layers.flatMap((l) => l.params);
  const order = data.images.map((_, i) => i);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let loss = 0;
    let correct = 0;
    const rate = lr * (epoch >= epochs - 2 ? 0.25 : 1);
    for (let b = 0; b < order.length; b += BATCH) {
      const batch = order.slice(b, b + BATCH);
      for (const idx of batch) {
        let x = shifted(data.images[idx], rand);
        for (const l of layers) x = l.forward(x);
        const r = softmaxCrossEntropyGrad(x, data.labels[idx]);
        loss += r.loss;
        if (x.indexOf(Math.max(...x)) === data.labels[idx]) correct++;
        let g = r.grad;
        for (let li = layers.length - 1; li >= 0; li--) g = layers[li].backward(g);
      }
      adamStep(params, ++step, rate, batch.length);
    }
    console.log(`  epoch ${epoch + 1}/${epochs}: loss ${(loss / order.length).toFixed(4)}, train accuracy ${((100 * correct) / order.length).toFixed(2)}%`);
  }
}

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

function trainMlp(normal: () => number, rand: () => number, data: Digits): OnnxModelDraft {
  const fc1 = new Dense(MNIST_PIXELS, 128, normal);
  const fc2 = new Dense(128, MNIST_CLASSES, normal);
  train([fc1, new Relu(), fc2], data, 10, 1e-3, rand);
  return {
    producer: 'opml-market scripts/train-mnist.ts (TensorFlow-style export)',
    inputs: [{ name: 'input', shape: ['batch', MNIST_PIXELS] }],
    outputs: [{ name: 'logits', shape: ['batch', MNIST_CLASSES] }],
    nodes: [
      { name: 'dense/MatMul', op: 'MatMul', inputs: ['input', 'dense/kernel'], outputs: ['dense/MatMul:0'] },
      { name: 'dense/BiasAdd', op: 'Add', inputs: ['dense/MatMul:0', 'dense/bias'], outputs: ['dense/BiasAdd:0'] },
      { name: 'dense/Relu', op: 'Relu', inputs: ['dense/BiasAdd:0'], outputs: ['dense/Relu:0'] },
      { name: 'dense_1/MatMul', op: 'MatMul', inputs: ['dense/Relu:0', 'dense_1/kernel'], outputs: ['dense_1/MatMul:0'] },
      { name: 'dense_1/BiasAdd', op: 'Add', inputs: ['dense_1/MatMul:0', 'dense_1/bias'], outputs: ['logits'] },
    ],
    initializers: [
      { name: 'dense/kernel', dims: [MNIST_PIXELS, 128], values: transposed(fc1.weight.w, 128, MNIST_PIXELS) },
      { name: 'dense/bias', dims: [128], values: fc1.bias.w },
      { name: 'dense_1/kernel', dims: [128, MNIST_CLASSES], values: transposed(fc2.weight.w, MNIST_CLASSES, 128) },
      { name: 'dense_1/bias', dims: [MNIST_CLASSES], values: fc2.bias.w },
    ],
  };
}

function trainCnn(normal: () => number, rand: () => number, data: Digits): OnnxModelDraft {
  const conv1 = new Conv3x3(1, 8, 28, 28, normal);
  const conv2 = new Conv3x3(8, 16, 14, 14, normal);
  const fc = new Dense(16 * 7 * 7, MNIST_CLASSES, normal);
  train([conv1, new Relu(), new MaxPool2(8, 28, 28), conv2, new Relu(), new MaxPool2(16, 14, 14), fc], data, 8, 2e-3, rand);
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 };
  const pool = { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] };
  return {
    producer: 'opml-market scripts/train-mnist.ts (PyTorch-style export)',
    inputs: [{ name: 'input', shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'logits', shape: ['batch', MNIST_CLASSES] }],
    nodes: [
      { name: '/conv1/Conv', op: 'Conv', inputs: ['input', 'conv1.weight', 'conv1.bias'], outputs: ['/conv1/Conv_output_0'], attrs: conv },
      { name: '/relu1/Relu', op: 'Relu', inputs: ['/conv1/Conv_output_0'], outputs: ['/relu1/Relu_output_0'] },
      { name: '/pool1/MaxPool', op: 'MaxPool', inputs: ['/relu1/Relu_output_0'], outputs: ['/pool1/MaxPool_output_0'], attrs: pool },
      { name: '/conv2/Conv', op: 'Conv', inputs: ['/pool1/MaxPool_output_0', 'conv2.weight', 'conv2.bias'], outputs: ['/conv2/Conv_output_0'], attrs: conv },
      { name: '/relu2/Relu', op: 'Relu', inputs: ['/conv2/Conv_output_0'], outputs: ['/relu2/Relu_output_0'] },
      { name: '/pool2/MaxPool', op: 'MaxPool', inputs: ['/relu2/Relu_output_0'], outputs: ['/pool2/MaxPool_output_0'], attrs: pool },
      { name: '/Flatten', op: 'Flatten', inputs: ['/pool2/MaxPool_output_0'], outputs: ['/Flatten_output_0'], attrs: { axis: 1 } },
      { name: '/fc/Gemm', op: 'Gemm', inputs: ['/Flatten_output_0', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 } },
    ],
    initializers: [
      { name: 'conv1.weight', dims: [8, 1, 3, 3], values: conv1.weight.w },
      { name: 'conv1.bias', dims: [8], values: conv1.bias.w },
      { name: 'conv2.weight', dims: [16, 8, 3, 3], values: conv2.weight.w },
      { name: 'conv2.bias', dims: [16], values: conv2.bias.w },
      { name: 'fc.weight', dims: [MNIST_CLASSES, 16 * 7 * 7], values: fc.weight.w },
      { name: 'fc.bias', dims: [MNIST_CLASSES], values: fc.bias.w },
    ],
  };
}

export const MNIST_MODELS = {
  mlp: { file: 'mnist-mlp', inputShape: [1, MNIST_PIXELS], train: trainMlp },
  cnn: { file: 'mnist-cnn', inputShape: [1, 1, 28, 28], train: trainCnn },
} as const;

async function main(): Promise<void> {
  const which = (process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(MNIST_MODELS)) as (keyof typeof MNIST_MODELS)[];
  const data = mnistTrain();
  mkdirSync(MODELS_DIR, { recursive: true });
  for (const key of which) {
    const m = MNIST_MODELS[key];
    if (!m) throw new Error(`unknown model ${key}; choose from ${Object.keys(MNIST_MODELS).join(', ')}`);
    // One seed per model, so training one model alone reproduces the same weights.
    const rand = seededRandom(SEED + (key === 'mlp' ? 0 : 1));
    console.log(`training ${m.file} on ${data.images.length} digits`);
    const started = Date.now();
    const onnxBytes = buildOnnxModel(m.train(gaussian(rand), rand, data));
    console.log(`  trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(join(MODELS_DIR, `${m.file}.onnx`), onnxBytes);
    const calibration = data.images.filter((_, i) => i % Math.floor(data.images.length / CALIBRATION_DIGITS) === 0).slice(0, CALIBRATION_DIGITS);
    const model = await importOnnx(onnxBytes, { name: m.file, calibration, inputShape: [...m.inputShape] });
    writeModelFiles(join(MODELS_DIR, m.file), model);
    console.log(`  wrote models/${m.file}.onnx, .dnn.json, .dnn.bin (${model.spec.nodes.length} int8 nodes)`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
