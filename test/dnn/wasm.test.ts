/**
 * The WebAssembly backend (guest C kernels compiled to wasm, shared/dnn/wasm/) against the
 * TypeScript reference kernels: for every node of every shipped model, on real sample inputs and on
 * random node inputs, the same output bytes and roots; and random one-node models per operator,
 * shapes and attributes the shipped models do not reach (strides, dilations, groups, odd sizes).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWasmKernels } from '../../scripts/build-wasm-kernels';
import { defaultBackend, runModel, runNode } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { sampleInputs } from '../../shared/dnn/guest/sampleInputs';
import { buildModel, type DnnModel } from '../../shared/dnn/model';
import { seededRandom } from '../../shared/dnn/random';
import { windowOut } from '../../shared/dnn/shapes';
import { INT32_OUTPUT_OPS, type OpName } from '../../shared/dnn/spec';
import { allocTensor, tensorBytes, tensorRoot, toHex, type Tensor } from '../../shared/dnn/tensor';
import { DnnWasmKernelError } from '../../shared/dnn/wasm/errors';
import { WASM_KERNELS_PATH, WasmModelRunner } from '../../shared/dnn/wasm/wasmBackend';

const MODELS = join(__dirname, '..', '..', 'models');
const shipped = readdirSync(MODELS)
  .filter((f) => f.endsWith('.dnn.json'))
  .map((f) => f.slice(0, -'.dnn.json'.length));
const rand = seededRandom(9090);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const hex = (t: Tensor) => Buffer.from(tensorBytes(t)).toString('hex');

function randomTensor(dtype: 'int8' | 'int32', shape: number[], lo: number, hi: number): Tensor {
  const t = allocTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = int(lo, hi);
  return t;
}

function expectSameRuns(model: DnnModel, input: Tensor): void {
  const ts = runModel(model, input, { backend: 'ts', keepNodeOutputs: true });
  const wasm = runModel(model, input, { backend: 'wasm', keepNodeOutputs: true });
  wasm.nodeOutputs!.forEach((out, j) => expect(`node ${j + 1} ${hex(out)}`).toBe(`node ${j + 1} ${hex(ts.nodeOutputs![j])}`));
  expect(wasm.slots.map(toHex)).toEqual(ts.slots.map(toHex));
  expect(toHex(wasm.graphStateRoot)).toBe(toHex(ts.graphStateRoot));
  expect(hex(wasm.output)).toBe(hex(ts.output));
}

it('the wasm module is built and is the default backend', () => {
  expect(defaultBackend()).toBe('wasm');
});

it('the wasm build is reproducible: a rebuild elsewhere gives the same bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnn-wasm-test-'));
  try {
    const again = buildWasmKernels(join(dir, 'k.wasm'));
    expect(Buffer.compare(readFileSync(again.path), readFileSync(WASM_KERNELS_PATH))).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.each(shipped)('shipped model %s: wasm backend = TypeScript kernels', (name) => {
  const model = readModelFiles(join(MODELS, name));

  it('every node, on sample inputs: same bytes, same roots, same graph-state root', () => {
    for (const input of sampleInputs(model, 3)) expectSameRuns(model, input);
  });

  it('every node on its own, random inputs (outside the calibrated ranges)', () => {
    for (const node of model.spec.nodes) {
      const values = new Map<string, Tensor>();
      for (const n of node.inputs) {
        if (model.constants.has(n) || values.has(n)) continue;
        const spec = model.tensorSpecs.get(n)!;
        const idTensor = spec.dtype === 'int32';
        values.set(n, randomTensor(idTensor ? 'int32' : 'int8', [...spec.shape], idTensor ? -2 : -128, idTensor ? 80 : 127));
      }
      const wasm = runNode(model, node, values, 'wasm');
      const ts = runNode(model, node, values, 'ts');
      expect(`${node.output} ${hex(wasm)}`).toBe(`${node.output} ${hex(ts)}`);
      expect(toHex(tensorRoot(wasm))).toBe(toHex(tensorRoot(ts)));
    }
  });
});

/** A one-node model whose operand 0 is the input and the rest constants. */
function oneNode(op: OpName, operands: Tensor[], outShape: number[], attrs: Record<string, number>): DnnModel {
  const zp0 = int(-128, 127);
  // KvWrite copies bytes: its cache and output share the rows' zero point.
  const zeroPoint = (i: number) => (operands[i].dtype === 'int32' ? 0 : i === 0 || (op === 'KvWrite' && i === 2) ? zp0 : (op === 'MatMul' || op === 'Add' || op === 'Mul' || op === 'Attention') && i <= 2 && operands[i].dtype === 'int8' ? int(-128, 127) : 0);
  const tensors = operands.map((t, i) => ({ name: `in${i}`, dtype: t.dtype, shape: t.shape, scale: 0.05, zeroPoint: zeroPoint(i), ...(i > 0 ? { data: t } : {}) }));
  const wide = INT32_OUTPUT_OPS.includes(op);
  tensors.push({ name: 'out', dtype: wide ? 'int32' : 'int8', shape: outShape, scale: 0.05, zeroPoint: wide ? 0 : op === 'KvWrite' ? zp0 : int(-128, 127) });
  return buildModel({ name: `one-${op}`, input: 'in0', output: 'out', tensors, nodes: [{ op, inputs: operands.map((_, i) => `in${i}`), output: 'out', attrs }] });
}

function randomRq(rows: number, sLo: number, sHi: number): Tensor {
  const t = allocTensor('int32', [rows, 2]);
  for (let c = 0; c < rows; c++) {
    t.data[2 * c] = int(2 ** 30, 2 ** 31 - 1);
    t.data[2 * c + 1] = int(sLo, sHi);
  }
  return t;
}

function pool(op: 'AvgPool' | 'MaxPool', pairs: boolean) {
  const [kh, kw] = pairs ? [2, 2] : [int(1, 3), int(1, 3)];
  const pads = pairs ? [0, 0, int(0, 1), int(0, 1)] : [int(0, kh - 1), int(0, kw - 1), int(0, kh - 1), int(0, kw - 1)];
  const a: Record<string, number> = { kernelH: kh, kernelW: kw, strideH: pairs ? 2 : int(1, 3), strideW: pairs ? 2 : int(1, 3), padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3] };
  if (op === 'AvgPool') a.countIncludePad = int(0, 1);
  const [b, c, h, w] = [int(1, 2), int(1, 3), int(1, pairs ? 12 : 9), int(1, pairs ? 40 : 9)];
  const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom);
  const ow = windowOut(w, kw, a.strideW, a.padLeft, a.padRight);
  if (oh < 1 || ow < 1) return undefined;
  return { op, operands: [randomTensor('int8', [b, c, h, w], -128, 127)], outShape: [b, c, oh, ow], attrs: a };
}

const CASES: Record<string, () => { op: OpName; operands: Tensor[]; outShape: number[]; attrs?: Record<string, number> } | undefined> = {
  Dense: () => {
    // Rows past four take the row-lane path (four rows per channel), and its one-by-one tail.
    const [rows, k, n] = [int(1, 11), int(1, 300), int(1, 37)];
    return { op: 'Dense', operands: [randomTensor('int8', [rows, k], -128, 127), randomTensor('int8', [n, k], -127, 127), randomTensor('int32', [n], -90000, 90000), randomRq(n, 36, 46)], outShape: [rows, n], attrs: { relu: int(0, 1) } };
  },
  Conv2d: () => {
    const group = int(1, 2);
    const [cg, ocg, h, wd, kh, kw] = [int(1, 3), int(1, 5), int(3, 12), int(3, 12), int(1, 3), int(1, 3)];
    const a = { strideH: int(1, 2), strideW: int(1, 2), padTop: int(0, 2), padLeft: int(0, 2), padBottom: int(0, 2), padRight: int(0, 2), dilationH: int(1, 2), dilationW: int(1, 2), group, relu: int(0, 1) };
    const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom, a.dilationH);
    const ow = windowOut(wd, kw, a.strideW, a.padLeft, a.padRight, a.dilationW);
    if (oh < 1 || ow < 1) return undefined;
    const [c, oc, b] = [cg * group, ocg * group, int(1, 2)];
    return { op: 'Conv2d', operands: [randomTensor('int8', [b, c, h, wd], -128, 127), randomTensor('int8', [oc, cg, kh, kw], -127, 127), randomTensor('int32', [oc], -50000, 50000), randomRq(oc, 36, 42)], outShape: [b, oc, oh, ow], attrs: a };
  },
  'Conv2d with wide rows (eight columns at a time), channels not a multiple of four': () => {
    const [cg, ocg, h, wd, kh, kw] = [int(1, 4), int(1, 11), int(2, 6), int(8, 40), int(1, 3), int(1, 5)];
    const a = { strideH: int(1, 2), strideW: 1, padTop: int(0, 2), padLeft: int(0, 2), padBottom: int(0, 2), padRight: int(0, 2), dilationH: 1, dilationW: int(1, 2), group: 1, relu: int(0, 1) };
    const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom, a.dilationH);
    const ow = windowOut(wd, kw, 1, a.padLeft, a.padRight, a.dilationW);
    if (oh < 1 || ow < 1) return undefined;
    return { op: 'Conv2d', operands: [randomTensor('int8', [1, cg, h, wd], -128, 127), randomTensor('int8', [ocg, cg, kh, kw], -127, 127), randomTensor('int32', [ocg], -50000, 50000), randomRq(ocg, 36, 42)], outShape: [1, ocg, oh, ow], attrs: a };
  },
  MatMul: () => {
    const [bt, m, k, n] = [int(1, 3), int(1, 9), int(1, 40), int(1, 9)];
    return { op: 'MatMul', operands: [randomTensor('int8', [bt, m, k], -128, 127), randomTensor('int8', [bt, k, n], -128, 127), randomRq(1, 30, 40)], outShape: [bt, m, n] };
  },
  AvgPool: () => pool('AvgPool', false),
  MaxPool: () => pool('MaxPool', false),
  'MaxPool 2x2 stride 2 (the SIMD path), widths to 40': () => pool('MaxPool', true),
  Add: () => {
    // Same element count (the table path) or NumPy broadcasting (the guest kernel) in equal measure.
    const shape = [int(1, 3), int(1, 5), int(1, 40)];
    const other = rand() < 0.5 ? [...shape] : [1, rand() < 0.5 ? 1 : shape[1], shape[2]];
    const q = randomRq(3, 30, 33);
    q.data[5] = int(40, 48);
    return { op: 'Add', operands: [randomTensor('int8', shape, -128, 127), randomTensor('int8', other, -128, 127), q], outShape: shape, attrs: { relu: int(0, 1) } };
  },
  Mul: () => {
    // Same element count or a single scale (the SIMD paths, sixteen at a time and the tail), or a
    // row broadcast (the guest kernel).
    const shape = [int(1, 3), int(1, 5), int(1, 40)];
    const kind = int(0, 2);
    const other = kind === 0 ? [...shape] : kind === 1 ? [1] : [1, 1, shape[2]];
    return { op: 'Mul', operands: [randomTensor('int8', shape, -128, 127), randomTensor('int8', other, -128, 127), randomRq(1, 36, 44)], outShape: shape };
  },
  LayerNorm: () => {
    const [rows, d] = [int(1, 6), int(1, 70)];
    return {
      op: 'LayerNorm',
      operands: [randomTensor('int8', [rows, d], -128, 127), randomTensor('int8', [d], -127, 127), randomTensor('int32', [d], -5e5, 5e5), randomRq(1, 40, 50)],
      outShape: [rows, d],
      attrs: { epsTerm: int(0, 5000) },
    };
  },
  RmsNorm: () => {
    const [rows, d] = [int(1, 6), int(1, 300)];
    return { op: 'RmsNorm', operands: [randomTensor('int8', [rows, d], -128, 127), randomTensor('int8', [d], -127, 127), randomRq(1, 38, 44)], outShape: [rows, d], attrs: { epsTerm: int(0, 5000) } };
  },
  Rope: () => {
    const [p, half, heads, rows] = [int(1, 20), int(1, 16), int(1, 4), int(1, 5)];
    return {
      op: 'Rope',
      operands: [randomTensor('int8', [rows, heads * 2 * half], -128, 127), randomTensor('int32', [p, half, 2], -(2 ** 14), 2 ** 14), randomTensor('int32', [1], -3, p + 2), randomRq(1, 42, 46)],
      outShape: [rows, heads * 2 * half],
    };
  },
  KvWrite: () => {
    const [p, w, rows] = [int(1, 30), int(1, 40), int(1, 5)];
    const operands = [randomTensor('int8', [rows, w], -128, 127), randomTensor('int32', [1], -3, p + 2)];
    if (rand() < 0.7) operands.push(randomTensor('int8', [p, w], -128, 127));
    return { op: 'KvWrite', operands, outShape: [p, w] };
  },
  Attention: () => {
    const [kvHeads, group, hd, p, rows] = [int(1, 3), int(1, 3), int(1, 40), int(1, 50), int(1, 4)];
    const heads = kvHeads * group;
    const exp2 = allocTensor('int32', [256]);
    for (let f = 0; f < 256; f++) exp2.data[f] = Math.round(2 ** 20 * 2 ** (-f / 256));
    const q = allocTensor('int32', [2, 2]);
    q.data.set([int(2 ** 30, 2 ** 31 - 1), int(34, 42), int(2 ** 30, 2 ** 31 - 1), int(38, 42)]);
    return {
      op: 'Attention',
      operands: [randomTensor('int8', [rows, heads * hd], -128, 127), randomTensor('int8', [p, kvHeads * hd], -128, 127), randomTensor('int8', [p, kvHeads * hd], -128, 127), randomTensor('int32', [1], -3, p + 2), exp2, q],
      outShape: [rows, heads * hd],
      attrs: { heads, kvHeads },
    };
  },
  DenseWide: () => {
    const [rows, k, n] = [int(1, 6), int(1, 300), int(1, 37)];
    return { op: 'DenseWide', operands: [randomTensor('int8', [rows, k], -128, 127), randomTensor('int8', [n, k], -127, 127), randomRq(n, 24, 30)], outShape: [rows, n] };
  },
  TokenEmbed: () => {
    const [v, d] = [int(1, 40), int(1, 64)];
    return { op: 'TokenEmbed', operands: [randomTensor('int8', [v, d], -128, 127), randomTensor('int32', [int(2, 9)], -3, v + 3)], outShape: [1, 1, d] };
  },
  Sample: () => {
    const v = int(2, 2000);
    const len = 8 + int(1, 30);
    const state = randomTensor('int32', [len], 0, v - 1);
    state.data.set([int(0, 10), 0, int(-(2 ** 31), 2 ** 31 - 1), int(0, 5), len, rand() < 0.2 ? 0 : int(1, 120000), rand() < 0.5 ? 0 : int(1, v), rand() < 0.5 ? 0 : int(1, 65535)]);
    const exp2 = allocTensor('int32', [256]);
    for (let f = 0; f < 256; f++) exp2.data[f] = Math.round(2 ** 20 * 2 ** (-f / 256));
    const r = allocTensor('int32', [1, 2]);
    r.data.set([int(2 ** 30, 2 ** 31 - 1), int(31, 40)]);
    return { op: 'Sample', operands: [randomTensor('int32', [1, v], -(2 ** 22), 2 ** 22), state, exp2, r], outShape: [len] };
  },
  Relu: () => {
    const shape = [int(1, 4), int(1, 30)];
    return { op: 'Relu', operands: [randomTensor('int8', shape, -128, 127)], outShape: shape };
  },
  Transpose: () => {
    const shape = [int(1, 4), int(1, 5), int(1, 5), int(1, 5)];
    const perm = [0, 1, 2, 3].sort(() => rand() - 0.5);
    return { op: 'Transpose', operands: [randomTensor('int8', shape, -128, 127)], outShape: perm.map((p) => shape[p]), attrs: { perm0: perm[0], perm1: perm[1], perm2: perm[2], perm3: perm[3] } };
  },
};

describe('random one-node models: wasm backend = TypeScript kernels', () => {
  it.each(Object.keys(CASES))('%s, 15 cases', (name) => {
    let ran = 0;
    for (let t = 0; t < 15; t++) {
      const c = CASES[name]();
      if (!c) continue;
      const model = oneNode(c.op, c.operands, c.outShape, c.attrs ?? {});
      expectSameRuns(model, c.operands[0]);
      ran++;
    }
    expect(ran).toBeGreaterThan(7);
  });
});

it('a parameter block with an unknown op code is a typed error, not a silent result', () => {
  const model = readModelFiles(join(MODELS, shipped[0]));
  const broken = { ...model, spec: { ...model.spec, nodes: model.spec.nodes.map((n) => ({ ...n })) } };
  const runner = new WasmModelRunner(broken);
  // Overwrite the op code word of node 1's block, as a corrupted block would arrive.
  const block = (runner as unknown as { paramAddresses: number[]; mem8: Uint8Array });
  new DataView(block.mem8.buffer).setInt32(block.paramAddresses[0], 99, true);
  expect(() => runner.runNode(0)).toThrow(DnnWasmKernelError);
});

it('operands beyond the SIMD scratch or the vector requantisation table: the guest fallbacks give the same bytes', () => {
  // Dense with rows × k over 2^20 i16 (guest gemmRequant), Dense with 4100 channels (scalar rq),
  // Conv2d with positions × patch over 2^20 (guest conv2d).
  const big = oneNode('Dense', [randomTensor('int8', [520, 2048], -128, 127), randomTensor('int8', [3, 2048], -127, 127), randomTensor('int32', [3], -9e5, 9e5), randomRq(3, 40, 46)], [520, 3], { relu: 0 });
  expectSameRuns(big, randomTensor('int8', [520, 2048], -128, 127));
  const wide = oneNode('Dense', [randomTensor('int8', [1, 8], -128, 127), randomTensor('int8', [4100, 8], -127, 127), randomTensor('int32', [4100], -9e4, 9e4), randomRq(4100, 36, 42)], [1, 4100], { relu: 1 });
  expectSameRuns(wide, randomTensor('int8', [1, 8], -128, 127));
  const a = { strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1, group: 1, relu: 0 };
  const conv = oneNode('Conv2d', [randomTensor('int8', [1, 1, 300, 300], -128, 127), randomTensor('int8', [2, 1, 3, 3], -127, 127), randomTensor('int32', [2], -5e4, 5e4), randomRq(2, 36, 42)], [1, 2, 300, 300], a);
  expectSameRuns(conv, randomTensor('int8', [1, 1, 300, 300], -128, 127));
});
