/**
 * Trains the shipped character-level decoder-only transformer (seeded, CPU, about a minute) on
 * models/charlm-corpus.txt (the project's own VM and DNN specs, ASCII), exports it to ONNX the way
 * PyTorch writes such a model (Gather embeddings, LayerNormalization, MatMul, Div by sqrt(d), an
 * additive -inf causal mask, Softmax, Gelu) and imports it into an int8 package:
 *   models/charlm.onnx, models/charlm.dnn.json, models/charlm.dnn.bin
 * The last 10% of the corpus is held out (test/dnn/charlm.test.ts).
 * Usage: npx tsx scripts/train-char-model.ts
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { gelu } from '../shared/dnn/erf';
import { writeModelFiles } from '../shared/dnn/files';
import { buildOnnxModel, type OnnxInitializerDraft, type OnnxNodeDraft } from '../shared/dnn/onnx/build';
import { importOnnx } from '../shared/dnn/onnx/import';
import { gaussian, seededRandom } from '../shared/dnn/random';
import { CHARLM, charlmCorpus } from '../shared/dnn/datasets/charlm';

const MODELS_DIR = join(__dirname, '..', 'models');
const SEED = 7;
const STEPS = 1200;
const BATCH = 8;
const LR = 1e-2;

// ---- a minimal reverse-mode autodiff over row-major 2-D float arrays ----

class Mat {
  readonly grad: Float32Array;
  backward: () => void = () => undefined;
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data: Float32Array = new Float32Array(rows * cols),
  ) {
    this.grad = new Float32Array(rows * cols);
  }
}

let tape: Mat[] = [];
function op(rows: number, cols: number, data?: Float32Array): Mat {
  const m = new Mat(rows, cols, data);
  tape.push(m);
  return m;
}

interface Param extends Mat {
  m1: Float32Array;
  m2: Float32Array;
}
function param(rows: number, cols: number, init: () => number): Param {
  const p = new Mat(rows, cols, Float32Array.from({ length: rows * cols }, init)) as Param;
  p.m1 = new Float32Array(rows * cols);
  p.m2 = new Float32Array(rows * cols);
  return p;
}

function matmul(a: Mat, b: Mat, transB = false): Mat {
  const [n, k, m] = [a.rows, a.cols, transB ? b.rows : b.cols];
  const y = op(n, m);
  const bAt = (i: number, j: number) => (transB ? j * k + i : i * m + j);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a.data[r * k + i] * b.data[bAt(i, c)];
      y.data[r * m + c] = s;
    }
  y.backward = () => {
    for (let r = 0; r < n; r++)
      for (let c = 0; c < m; c++) {
        const g = y.grad[r * m + c];
        if (g === 0) continue;
        for (let i = 0; i < k; i++) {
          a.grad[r * k + i] += g * b.data[bAt(i, c)];
          b.grad[bAt(i, c)] += g * a.data[r * k + i];
        }
      }
  };
  return y;
}

/** a + b, b either the same shape or one row broadcast over a's rows. */
function add(a: Mat, b: Mat): Mat {
  const y = op(a.rows, a.cols);
  const bi = (i: number) => (b.rows === 1 ? i % a.cols : i);
  for (let i = 0; i < y.data.length; i++) y.data[i] = a.data[i] + b.data[bi(i)];
  y.backward = () => {
    for (let i = 0; i < y.data.length; i++) {
      a.grad[i] += y.grad[i];
      b.grad[bi(i)] += y.grad[i];
    }
  };
  return y;
}

function scale(a: Mat, s: number): Mat {
  const y = op(a.rows, a.cols, a.data.map((v) => v * s));
  y.backward = () => a.grad.forEach((_, i) => (a.grad[i] += y.grad[i] * s));
  return y;
}

function gatherRows(table: Mat, ids: number[]): Mat {
  const d = table.cols;
  const y = op(ids.length, d);
  ids.forEach((id, r) => y.data.set(table.data.subarray(id * d, (id + 1) * d), r * d));
  y.backward = () => ids.forEach((id, r) => {
    for (let i = 0; i < d; i++) table.grad[id * d + i] += y.grad[r * d + i];
  });
  return y;
}

function layerNorm(x: Mat, g: Mat, b: Mat, eps = 1e-5): Mat {
  const [n, d] = [x.rows, x.cols];
  const y = op(n, d);
  const xhat = new Float32Array(n * d);
  const inv = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x.data[r * d + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x.data[r * d + i] - mean) ** 2;
    inv[r] = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) {
      xhat[r * d + i] = (x.data[r * d + i] - mean) * inv[r];
      y.data[r * d + i] = xhat[r * d + i] * g.data[i] + b.data[i];
    }
  }
  y.backward = () => {
    for (let r = 0; r < n; r++) {
      let sg = 0;
      let sgx = 0;
      for (let i = 0; i < d; i++) {
        const gy = y.grad[r * d + i];
        g.grad[i] += gy * xhat[r * d + i];
        b.grad[i] += gy;
        const gx = gy * g.data[i];
        sg += gx;
        sgx += gx * xhat[r * d + i];
      }
      for (let i = 0; i < d; i++) {
        const gx = y.grad[r * d + i] * g.data[i];
        x.grad[r * d + i] += (inv[r] / d) * (d * gx - sg - xhat[r * d + i] * sgx);
      }
    }
  };
  return y;
}

function geluOp(x: Mat): Mat {
  const y = op(x.rows, x.cols, x.data.map(gelu));
  y.backward = () => {
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i];
      const cdf = gelu(v) / v || 0.5;
      const pdf = Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
      x.grad[i] += y.grad[i] * (cdf + v * pdf);
    }
  };
  return y;
}

/** Row softmax where row r only sees columns <= r (causal attention). */
function causalSoftmax(x: Mat): Mat {
  const [n, d] = [x.rows, x.cols];
  const y = op(n, d);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let i = 0; i <= r; i++) max = Math.max(max, x.data[r * d + i]);
    let s = 0;
    for (let i = 0; i <= r; i++) s += y.data[r * d + i] = Math.exp(x.data[r * d + i] - max);
    for (let i = 0; i <= r; i++) y.data[r * d + i] /= s;
  }
  y.backward = () => {
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let i = 0; i <= r; i++) dot += y.grad[r * d + i] * y.data[r * d + i];
      for (let i = 0; i <= r; i++) x.grad[r * d + i] += y.data[r * d + i] * (y.grad[r * d + i] - dot);
    }
  };
  return y;
}

/** Mean cross-entropy of each row's logits against its target; seeds the backward pass. */
function crossEntropy(logits: Mat, targets: number[]): number {
  const [n, v] = [logits.rows, logits.cols];
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const row = logits.data.subarray(r * v, (r + 1) * v);
    const max = Math.max(...row);
    const e = row.map((x) => Math.exp(x - max));
    const s = e.reduce((a, b) => a + b, 0);
    loss -= Math.log(e[targets[r]] / s);
    for (let i = 0; i < v; i++) logits.grad[r * v + i] += (e[i] / s - (i === targets[r] ? 1 : 0)) / n;
  }
  return loss / n;
}

// ---- the model ----

const { vocab: V, context: T, dim: D, hidden: H, layers: L } = CHARLM;

function buildParams(normal: () => number) {
  const w = (r: number, c: number, std: number) => param(r, c, () => normal() * std);
  const ones = (c: number) => param(1, c, () => 1);
  const zeros = (c: number) => param(1, c, () => 0);
  return {
    tok: w(V, D, 0.3),
    pos: w(T, D, 0.1),
    layers: Array.from({ length: L }, () => ({
      ln1g: ones(D), ln1b: zeros(D),
      wq: w(D, D, 1 / Math.sqrt(D)), wk: w(D, D, 1 / Math.sqrt(D)), wv: w(D, D, 1 / Math.sqrt(D)), wo: w(D, D, 0.5 / Math.sqrt(D)), bo: zeros(D),
      ln2g: ones(D), ln2b: zeros(D),
      w1: w(D, H, 1 / Math.sqrt(D)), b1: zeros(H), w2: w(H, D, 0.5 / Math.sqrt(H)), b2: zeros(D),
    })),
    lnfg: ones(D), lnfb: zeros(D),
    head: w(D, V, 1 / Math.sqrt(D)),
  };
}
type Params = ReturnType<typeof buildParams>;

function forward(p: Params, ids: number[]): Mat {
  let h = add(gatherRows(p.tok, ids), p.pos);
  for (const l of p.layers) {
    const x = layerNorm(h, l.ln1g, l.ln1b);
    const q = matmul(x, l.wq);
    const k = matmul(x, l.wk);
    const v = matmul(x, l.wv);
    const attn = matmul(causalSoftmax(scale(matmul(q, k, true), 1 / Math.sqrt(D))), v);
    h = add(h, add(matmul(attn, l.wo), l.bo));
    const f = matmul(geluOp(add(matmul(layerNorm(h, l.ln2g, l.ln2b), l.w1), l.b1)), l.w2);
    h = add(h, add(f, l.b2));
  }
  return matmul(layerNorm(h, p.lnfg, p.lnfb), p.head);
}

function allParams(p: Params): Param[] {
  return [p.tok, p.pos, ...p.layers.flatMap((l) => Object.values(l)), p.lnfg, p.lnfb, p.head];
}

function train(p: Params, text: number[], rand: () => number): void {
  const params = allParams(p);
  const [b1, b2] = [0.9, 0.99];
  let avg = 0;
  for (let step = 1; step <= STEPS; step++) {
    let loss = 0;
    for (let b = 0; b < BATCH; b++) {
      const start = Math.floor(rand() * (text.length - T - 1));
      tape = [];
      const logits = forward(p, text.slice(start, start + T));
      loss += crossEntropy(logits, text.slice(start + 1, start + T + 1));
      for (let i = tape.length - 1; i >= 0; i--) tape[i].backward();
    }
    const lr = LR * Math.min(1, step / 100) * (step > STEPS * 0.75 ? 0.3 : 1);
    for (const q of params) {
      for (let i = 0; i < q.data.length; i++) {
        const g = q.grad[i] / BATCH;
        q.m1[i] = b1 * q.m1[i] + (1 - b1) * g;
        q.m2[i] = b2 * q.m2[i] + (1 - b2) * g * g;
        q.data[i] -= (lr * q.m1[i]) / (1 - b1 ** step) / (Math.sqrt(q.m2[i] / (1 - b2 ** step)) + 1e-8);
      }
      q.grad.fill(0);
    }
    avg = step === 1 ? loss / BATCH : 0.98 * avg + 0.02 * (loss / BATCH);
    if (step % 100 === 0) console.log(`  step ${step}/${STEPS}: loss ${avg.toFixed(3)}`);
  }
}

// ---- ONNX export, as PyTorch writes this module ----

function exportOnnx(p: Params): Uint8Array {
  const inits: OnnxInitializerDraft[] = [];
  const init = (name: string, m: Mat, dims = m.rows === 1 ? [m.cols] : [m.rows, m.cols]) => {
    inits.push({ name, dims, values: m.data });
    return name;
  };
  const nodes: OnnxNodeDraft[] = [];
  const n = (op: string, inputs: string[], output: string, attrs?: OnnxNodeDraft['attrs']) => {
    nodes.push({ name: `/${output}`, op, inputs, outputs: [output], attrs });
    return output;
  };
  const ln = { axis: -1, epsilon: { float: 1e-5 } };
  inits.push({ name: 'causal_mask', dims: [T, T], values: Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -Infinity : 0)) });
  inits.push({ name: 'sqrt_dim', dims: [], values: [Math.sqrt(D)] });
  let h = n('Add', [n('Gather', [init('tok_emb.weight', p.tok), 'ids'], 'tok_emb'), init('pos_emb.weight', p.pos)], 'embed');
  p.layers.forEach((l, i) => {
    const b = `blocks.${i}`;
    const x = n('LayerNormalization', [h, init(`${b}.ln1.weight`, l.ln1g), init(`${b}.ln1.bias`, l.ln1b)], `${b}/ln1`, ln);
    const q = n('MatMul', [x, init(`${b}.attn.q`, l.wq)], `${b}/q`);
    const k = n('MatMul', [x, init(`${b}.attn.k`, l.wk)], `${b}/k`);
    const v = n('MatMul', [x, init(`${b}.attn.v`, l.wv)], `${b}/v`);
    const scores = n('MatMul', [q, n('Transpose', [k], `${b}/kT`, { perm: [0, 2, 1] })], `${b}/scores`);
    const masked = n('Add', [n('Div', [scores, 'sqrt_dim'], `${b}/scaled`), 'causal_mask'], `${b}/masked`);
    const attn = n('MatMul', [n('Softmax', [masked], `${b}/probs`, { axis: -1 }), v], `${b}/attn`);
    const proj = n('Add', [n('MatMul', [attn, init(`${b}.attn.proj.weight`, l.wo)], `${b}/proj`), init(`${b}.attn.proj.bias`, l.bo)], `${b}/proj_b`);
    h = n('Add', [h, proj], `${b}/res1`);
    const y = n('LayerNormalization', [h, init(`${b}.ln2.weight`, l.ln2g), init(`${b}.ln2.bias`, l.ln2b)], `${b}/ln2`, ln);
    const f1 = n('Add', [n('MatMul', [y, init(`${b}.mlp.fc1.weight`, l.w1)], `${b}/fc1`), init(`${b}.mlp.fc1.bias`, l.b1)], `${b}/fc1_b`);
    const f2 = n('Add', [n('MatMul', [n('Gelu', [f1], `${b}/gelu`), init(`${b}.mlp.fc2.weight`, l.w2)], `${b}/fc2`), init(`${b}.mlp.fc2.bias`, l.b2)], `${b}/fc2_b`);
    h = n('Add', [h, f2], `${b}/res2`);
  });
  const lnf = n('LayerNormalization', [h, init('ln_f.weight', p.lnfg), init('ln_f.bias', p.lnfb)], 'ln_f', ln);
  nodes.push({ name: '/lm_head/MatMul', op: 'MatMul', inputs: [lnf, init('lm_head.weight', p.head)], outputs: ['logits'] });
  return buildOnnxModel({
    opset: 20,
    producer: 'opml-market scripts/train-char-model.ts (PyTorch-style export)',
    inputs: [{ name: 'ids', elemType: 7, shape: [1, T] }],
    outputs: [{ name: 'logits', shape: [1, T, V] }],
    nodes,
    initializers: inits,
  });
}

async function main(): Promise<void> {
  const corpus = charlmCorpus();
  const rand = seededRandom(SEED);
  const p = buildParams(gaussian(rand));
  console.log(`training ${L}-layer char transformer (d ${D}, context ${T}, vocab ${V}) on ${corpus.train.length} characters`);
  const started = Date.now();
  train(p, corpus.train, rand);
  console.log(`  trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const onnxBytes = exportOnnx(p);
  writeFileSync(join(MODELS_DIR, 'charlm.onnx'), onnxBytes);
  const calibration = Array.from({ length: 100 }, (_, i) => {
    const s = Math.floor((i * (corpus.train.length - T)) / 100);
    return BigInt64Array.from(corpus.train.slice(s, s + T), BigInt);
  });
  const model = await importOnnx(onnxBytes, { name: 'charlm', calibration, inputShape: [1, T] });
  writeModelFiles(join(MODELS_DIR, 'charlm'), model);
  console.log(`  wrote models/charlm.onnx, .dnn.json, .dnn.bin (${model.spec.nodes.length} int8 nodes)`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

