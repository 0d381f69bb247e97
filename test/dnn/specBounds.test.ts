/**
 * loadModel's attribute rules and value bounds (docs/dnn-spec.md section 6): every package the
 * native and guest kernels could interpret differently is a DnnSpecError naming node, field and
 * bound; defaults are filled explicitly; the shipped models still load unchanged; and packages at
 * the edge of the bounds give the same bytes natively and in the VM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNode } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { runNodeInVm } from '../../shared/dnn/guest/runNode';
import { buildModel, type DnnModel, type TensorDraft } from '../../shared/dnn/model';
import { nodeStartLayout } from '../../shared/dnn/nodeLayout';
import { seededRandom } from '../../shared/dnn/random';
import { windowOut } from '../../shared/dnn/shapes';
import { ATTR_RULES, OPS, type DType, type OpName } from '../../shared/dnn/spec';
import { allocTensor, tensorBytes, type Tensor } from '../../shared/dnn/tensor';
import { keccak256 } from '../../shared/vm/keccak';

const rand = seededRandom(77);

function tensor(dtype: DType, shape: number[], values: number[] | ((i: number) => number)): Tensor {
  const t = allocTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = typeof values === 'function' ? values(i) : values[i];
  return t;
}

const rqRows = (...rows: [number, number][]) => tensor('int32', [rows.length, 2], rows.flat());
const typical = (n: number) => rqRows(...Array.from({ length: n }, (): [number, number] => [2 ** 30, 40]));

interface Operand {
  t: Tensor;
  zeroPoint?: number;
  /** declared without data: the model input (operand 0 by default) */
  input?: boolean;
}

/** One node; operand 0 (or the one marked `input`) is the model input, the others constants. */
function oneNode(op: OpName, operands: Operand[], outShape: number[], attrs: Record<string, number> = {}, outZp = 0): DnnModel {
  const inputIdx = Math.max(0, operands.findIndex((o) => o.input));
  const tensors: TensorDraft[] = operands.map((o, i) => ({
    name: `in${i}`,
    dtype: o.t.dtype,
    shape: o.t.shape,
    scale: 0.1,
    zeroPoint: o.zeroPoint ?? 0,
    ...(i === inputIdx ? {} : { data: o.t }),
  }));
  tensors.push({ name: 'out', dtype: 'int8', shape: outShape, scale: 0.1, zeroPoint: outZp });
  return buildModel({ name: op, input: `in${inputIdx}`, output: 'out', tensors, nodes: [{ op, inputs: operands.map((_, i) => `in${i}`), output: 'out', attrs }] });
}

function expectRejected(make: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toMatchObject({ name: 'DnnSpecError', where: expect.stringMatching(/^node 1 \(\w+\)$/) });
  expect((error as Error).message).toMatch(message);
}

const x8 = (shape: number[], zeroPoint = 0): Operand => ({ t: allocTensor('int8', shape), zeroPoint });
const w8 = (shape: number[], v = 127) => ({ t: tensor('int8', shape, () => v) });
const i32 = (shape: number[], v: number | number[] | ((i: number) => number)) => ({ t: tensor('int32', shape, typeof v === 'number' ? () => v : v) });
const dense = (bias: number, rq = typical(2), attrs = {}) => oneNode('Dense', [x8([1, 4]), w8([2, 4]), i32([2], bias), { t: rq }], [1, 2], attrs);
const conv = (attrs: Record<string, number>) => oneNode('Conv2d', [x8([1, 2, 5, 5]), w8([2, 2, 3, 3]), i32([2], 0), { t: typical(2) }], [1, 2, 3, 3], attrs);
const add = (rq: Tensor, za = 0) => oneNode('Add', [x8([1, 4], za), { t: allocTensor('int8', [1, 4]) }, { t: rq }], [1, 4]);
const pool = (op: 'MaxPool' | 'AvgPool', attrs: Record<string, number>, out: number[]) => oneNode(op, [x8([1, 1, 4, 4])], out, attrs);
const softmax = (table: number[]) => oneNode('Softmax', [x8([2, 3]), i32([256], table)], [2, 3]);
const expTable = Array.from({ length: 256 }, (_, d) => Math.round(2 ** 20 * Math.exp(-d * 0.1)));
const layerNorm = (beta: number, attrs: Record<string, number> = { epsTerm: 10 }) =>
  oneNode('LayerNorm', [x8([2, 8]), w8([8], 100), i32([8], beta), { t: typical(1) }], [2, 8], attrs);

describe('attributes: explicit defaults and ranges', () => {
  it('a Conv2d without group, strides, pads or dilations loads with the defaults written out, never 0', () => {
    const model = conv({});
    const attrs = model.spec.nodes[0].attrs;
    expect(attrs).toEqual({ strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1, group: 1, relu: 0 });
    const layout = nodeStartLayout(model, model.spec.nodes[0]);
    const view = new DataView(layout.params.bytes.buffer);
    const attrOff = 16 + 32 * 5;
    expect(OPS.Conv2d.attrs.map((_, k) => view.getInt32(attrOff + 4 * k, true))).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1, 0]);
  });

  it('every loaded node of the shipped models carries exactly its operator attributes; their spec bytes (and so their roots) are untouched', () => {
    for (const name of ['mnist-mlp', 'mnist-cnn', 'charlm']) {
      const base = join(__dirname, '..', '..', 'models', name);
      const model = readModelFiles(base);
      for (const node of model.spec.nodes) expect(Object.keys(node.attrs).sort()).toEqual([...OPS[node.op].attrs].sort());
      expect(Buffer.from(keccak256(model.specBytes))).toEqual(Buffer.from(keccak256(new Uint8Array(readFileSync(`${base}.dnn.json`)))));
    }
  });

  it('rejects group 0, a missing required attribute, an unknown attribute, out-of-range flags, strides and epsTerm', () => {
    expectRejected(() => conv({ group: 0 }), /attribute group = 0 is outside \[1, 2147483647\]/);
    expect(() => conv({ group: 0 })).toThrow(expect.objectContaining({ bound: { field: 'group', value: 0, limit: '[1, 2147483647]' } }));
    expectRejected(() => conv({ strideH: 2 ** 16 + 1 }), /attribute strideH = 65537 is outside \[1, 65536\]/);
    expectRejected(() => conv({ padTop: -1 }), /attribute padTop = -1 is outside \[0, 65536\]/);
    expectRejected(() => conv({ groups: 1 }), /unknown attribute groups/);
    expectRejected(() => dense(0, typical(2), { relu: 2 }), /attribute relu = 2 is outside \[0, 1\]/);
    expectRejected(() => pool('MaxPool', { kernelW: 2 }, [1, 1, 3, 3]), /attribute kernelH is required/);
    expectRejected(() => layerNorm(0, {}), /attribute epsTerm is required/);
    expectRejected(() => layerNorm(0, { epsTerm: 2 ** 31 }), /attribute epsTerm = 2147483648 is outside \[0, 2147483647\]/);
  });

  it('every rule has min <= default <= max', () => {
    for (const rules of Object.values(ATTR_RULES))
      for (const r of Object.values(rules) as { min: number; max: number; default?: number }[]) {
        expect(r.min).toBeLessThanOrEqual(r.max);
        if (r.default !== undefined) expect(r.default >= r.min && r.default <= r.max).toBe(true);
      }
  });
});

describe('value bounds: sums that could leave int32', () => {
  it('a Dense bias near 2^31 is rejected (the accumulator bound span(zx) × Σ|w| + |b|)', () => {
    expect(() => dense(2 ** 31 - 1 - 4 * 128 * 127)).not.toThrow();
    expect(() => dense(2 ** 31 - 4 * 128 * 127)).toThrow(expect.objectContaining({ bound: expect.objectContaining({ value: 2 ** 31, limit: '<= 2^31 - 1' }) }));
    expectRejected(() => dense(2 ** 31 - 4 * 128 * 127), /channel 0: \|Σ \(x - zx\) × w \+ bias\| .* can reach 2147483648, outside int32/);
  });

  it('an rq result that could leave int32 is rejected (zo + rq must stay in int32)', () => {
    expectRejected(() => dense(2 ** 20, rqRows([2 ** 30, 17], [2 ** 30, 17])), /channel 0: rq\(.*\) can reach \d+, above 2147483519/);
  });

  it('an Add multiplier near 2^14 (s = 17) is rejected: ta and ta + tb could leave int32', () => {
    expectRejected(() => add(rqRows([2 ** 31 - 1, 17], [2 ** 30, 40], [2 ** 30, 40])), /ta: rq\(134217728, 2147483647, 17\) can reach \d+, above/);
    expectRejected(() => add(rqRows([2 ** 31 - 1, 29], [3 * 2 ** 29, 27], [2 ** 30, 40]), -128), /\|ta \+ tb\| \(1069547520 \+ 1610612736\) can reach 2680160256, outside int32/);
  });

  it('a LayerNorm beta near 2^31 is rejected (n × gamma + beta, |n| <= isqrt(2^26 (D − 1)) + 1)', () => {
    expect(() => layerNorm(2 ** 31 - 1 - 100 * 21674)).not.toThrow();
    expectRejected(() => layerNorm(2 ** 31 - 100 * 21674), /\|n × gamma \+ beta\| \(\|n\| <= 21674\)/);
  });

  it('a MatMul whose dot product could leave int32 is rejected', () => {
    const k = Math.ceil(2 ** 31 / (255 * 255));
    expectRejected(() => oneNode('MatMul', [x8([1, k], -128), x8([k, 1], -128), { t: typical(1) }], [1, 1]), /K = 33026/);
  });
});

describe('pools, rq rows, tables and operand dtypes', () => {
  it('pool padding >= the kernel is rejected for MaxPool and AvgPool', () => {
    expectRejected(() => pool('MaxPool', { kernelH: 2, kernelW: 2, padTop: 2 }, [1, 1, 5, 3]), /attribute padTop = 2 must be < kernelH = 2/);
    expectRejected(() => pool('AvgPool', { kernelH: 2, kernelW: 2, padRight: 3, strideW: 2 }, [1, 1, 3, 3]), /attribute padRight = 3 must be < kernelW = 2/);
    expect(pool('AvgPool', { kernelH: 2, kernelW: 2, padTop: 1 }, [1, 1, 4, 3]).spec.nodes[0].attrs.countIncludePad).toBe(0);
  });

  it('rq rows with M < 0 or s outside [17, 62] are rejected', () => {
    expectRejected(() => dense(0, rqRows([2 ** 30, 40], [-1, 40])), /rq row 1 \(in3\): M = -1 is outside \[0, 2\^31\)/);
    expectRejected(() => dense(0, rqRows([2 ** 30, 16], [2 ** 30, 40])), /rq row 0 \(in3\): s = 16 is outside \[17, 62\]/);
    expectRejected(() => dense(0, rqRows([2 ** 30, 40], [2 ** 30, 63])), /rq row 1 \(in3\): s = 63 is outside \[17, 62\]/);
    expect(() => oneNode('Mul', [x8([1, 4]), x8([1, 4]), { t: typical(3) }], [1, 4])).toThrow(expect.objectContaining({ name: 'DnnShapeError', message: expect.stringMatching(/rq must be \[1, 2\]/) }));
  });

  it('Softmax tables outside [0, 2^20] or with exp[0] = 0 are rejected', () => {
    expect(() => softmax(expTable)).not.toThrow();
    expectRejected(() => softmax(expTable.map((v, i) => (i === 3 ? 2 ** 20 + 1 : v))), /exp\[3\] = 1048577 is outside \[0, 2\^20\]/);
    expectRejected(() => softmax(expTable.map((v, i) => (i === 9 ? -1 : v))), /exp\[9\] = -1/);
    expectRejected(() => softmax(expTable.map((v, i) => (i === 0 ? 0 : v))), /exp\[0\] = 0 must be >= 1/);
  });

  it('operands of the wrong dtype, non-constant rq tensors and weight zero points are rejected', () => {
    expectRejected(() => oneNode('Lut', [x8([4]), i32([256], 0)], [4]), /input 1 \(in1\) is int32, the operator takes int8/);
    expectRejected(() => oneNode('Dense', [x8([1, 4]), w8([2, 4]), w8([2]), { t: typical(2) }], [1, 2]), /input 2 \(in2\) is int8, the operator takes int32/);
    expectRejected(() => oneNode('Relu', [{ t: allocTensor('int32', [4]) }], [4]), /input 0 \(in0\) is int32/);
    expectRejected(() => oneNode('Mul', [x8([1, 4]), x8([1, 4]), { t: typical(1), input: true }], [1, 4]), /input 2 \(in2\) must be a constant/);
    expectRejected(() => oneNode('Dense', [x8([1, 4]), { ...w8([2, 4]), zeroPoint: 3 }, i32([2], 0), { t: typical(2) }], [1, 2]), /weight tensor: zeroPoint must be 0/);
  });

  it('zero points follow the dtype', () => {
    let error: unknown;
    try {
      oneNode('Relu', [x8([4], 200)], [4]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'DnnSpecError', where: 'tensor in0', message: expect.stringMatching(/zeroPoint 200 is outside \[-128, 127\]/) });
  });
});

describe('the decoder operators: shapes, tables and quantisation they need', () => {
  const p1 = i32([1], 0);
  const exp2 = Array.from({ length: 256 }, (_, f) => Math.round(2 ** 20 * 2 ** (-f / 256)));
  const attention = (over: { heads?: number; kvHeads?: number; kShape?: number[]; table?: number[]; zq?: number; rq?: Tensor } = {}) =>
    oneNode(
      'Attention',
      [x8([2, 8], over.zq ?? 0), { t: allocTensor('int8', over.kShape ?? [5, 4]) }, { t: allocTensor('int8', over.kShape ?? [5, 4]) }, p1, i32([256], over.table ?? exp2), { t: over.rq ?? typical(2) }],
      [2, 8],
      { heads: over.heads ?? 2, kvHeads: over.kvHeads ?? 1 },
    );

  it('RmsNorm: gamma zero point, gamma size, and |n × gamma| bounded', () => {
    expect(() => oneNode('RmsNorm', [x8([2, 8]), w8([8]), { t: typical(1) }], [2, 8], { epsTerm: 3 })).not.toThrow();
    expectRejected(() => oneNode('RmsNorm', [x8([2, 8]), { ...w8([8]), zeroPoint: 1 }, { t: typical(1) }], [2, 8], { epsTerm: 3 }), /weight tensor: zeroPoint must be 0/);
    expect(() => oneNode('RmsNorm', [x8([2, 8]), w8([7]), { t: typical(1) }], [2, 8], { epsTerm: 3 })).toThrow(/gamma \[D\]/);
    expectRejected(() => oneNode('RmsNorm', [x8([2, 8]), w8([8]), { t: rqRows([2 ** 30, 17]) }], [2, 8], { epsTerm: 3 }), /rq\(.*\) can reach/);
  });

  it('Rope: a table entry past 2^14, a width that is not whole heads, a position that is not a vector', () => {
    const table = (v: number) => i32([4, 2, 2], (i) => (i === 5 ? v : 100));
    expect(() => oneNode('Rope', [x8([1, 8]), table(2 ** 14), p1, { t: typical(1) }], [1, 8])).not.toThrow();
    expectRejected(() => oneNode('Rope', [x8([1, 8]), table(2 ** 14 + 1), p1, { t: typical(1) }], [1, 8]), /entry 5 = 16385 is outside \[-2\^14, 2\^14\]/);
    expect(() => oneNode('Rope', [x8([1, 6]), table(1), p1, { t: typical(1) }], [1, 6])).toThrow(/whole number of heads of 4/);
    expect(() => oneNode('Rope', [x8([1, 8]), table(1), i32([2], 0), { t: typical(1) }], [1, 8])).not.toThrow(); // a state vector: element 0 is read
    expect(() => oneNode('Rope', [x8([1, 8]), table(1), i32([1, 1], 0), { t: typical(1) }], [1, 8])).toThrow(/position must be an int32 vector/);
  });

  it('KvWrite: the cache and its rows must be quantised like the output', () => {
    expect(() => oneNode('KvWrite', [x8([2, 4], 3), p1, x8([6, 4], 3)], [6, 4], {}, 3)).not.toThrow();
    expectRejected(() => oneNode('KvWrite', [x8([2, 4], 3), p1, x8([6, 4], 2)], [6, 4], {}, 3), /must be quantised as the output/);
    expect(() => oneNode('KvWrite', [x8([2, 4]), p1], [6, 5])).toThrow(/cache must be \[P, W\]/);
    expect(() => oneNode('KvWrite', [x8([2, 4]), p1], [4097, 4])).toThrow(/at most 4096 positions/);
  });

  it('Attention: head counts, cache shapes, the exp2 table and the score gap bound', () => {
    expect(() => attention()).not.toThrow();
    expect(() => attention({ heads: 3 })).toThrow(/heads must divide the query width/);
    expect(() => attention({ kvHeads: 2 })).toThrow(/k and v caches must both be \[P, kvHeads × headDim\]/);
    expect(() => attention({ kShape: [4097, 4] })).toThrow(/at most 4096 positions/);
    expectRejected(() => attention({ table: exp2.map((v, i) => (i === 0 ? 0 : v)) }), /exp2\[0\] = 0 must be >= 1/);
    expectRejected(() => attention({ table: exp2.map((v, i) => (i === 9 ? 2 ** 20 + 1 : v)) }), /exp2\[9\] = 1048577 is outside \[0, 2\^20\]/);
    expectRejected(() => attention({ rq: rqRows([2 ** 31 - 1, 17], [2 ** 30, 40]) }), /score gap: rq/);
  });
});

describe('packages at the edge of the bounds: native = VM', () => {
  const elf = buildKernelImage().elf;
  const same = (model: DnnModel, input: Tensor) => {
    const native = runNode(model, model.spec.nodes[0], new Map([[model.spec.input, input]]));
    const vm = runNodeInVm(model, 1, new Map([[model.spec.input, input]]), { elf });
    expect(Buffer.from(tensorBytes(vm.output)).toString('hex')).toBe(Buffer.from(tensorBytes(native)).toString('hex'));
  };
  const extremes = (shape: number[]) => tensor('int8', shape, (i) => [-128, 127][(i + Math.floor(rand() * 2)) % 2]);

  it('Dense with the largest accepted bias, and Add with the largest accepted multipliers', () => {
    const bias = 2 ** 31 - 1 - 4 * 128 * 127;
    const d = oneNode('Dense', [x8([3, 4]), w8([2, 4]), i32([2], [bias, -bias]), { t: rqRows([2 ** 30, 31], [2 ** 30, 31]) }], [3, 2]);
    same(d, tensor('int8', [3, 4], (i) => [-128, 127, 0][i % 3]));
    const a = oneNode('Add', [x8([2, 8], -128), { t: extremes([2, 8]) }, { t: rqRows([2 ** 31 - 1, 29], [2 ** 31 - 1, 28], [2 ** 30, 46]) }], [2, 8], { relu: 1 });
    same(a, extremes([2, 8]));
  });

  it('random packages over the whole rq range: every one loadModel accepts runs the same natively and in the VM', () => {
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const randomRows = (n: number) => rqRows(...Array.from({ length: n }, (): [number, number] => [int(0, 2 ** 31 - 1), int(17, 62)]));
    const inputs = (shape: number[]) => tensor('int8', shape, () => (rand() < 0.6 ? [-128, 127][int(0, 1)] : int(-128, 127)));
    const makers: (() => DnnModel)[] = [
      () => oneNode('Add', [x8([2, 6], int(-128, 127)), { t: inputs([2, 6]), zeroPoint: int(-128, 127) }, { t: randomRows(3) }], [2, 6], { relu: int(0, 1) }, int(-128, 127)),
      () => oneNode('Mul', [x8([2, 6], int(-128, 127)), { t: inputs([1, 6]), zeroPoint: int(-128, 127) }, { t: randomRows(1) }], [2, 6], {}, int(-128, 127)),
      () => oneNode('Dense', [x8([2, 5], int(-128, 127)), { t: inputs([3, 5]) }, i32([3], () => int(-(2 ** 31), 2 ** 31 - 1) >> int(0, 31)), { t: randomRows(3) }], [2, 3], {}, int(-128, 127)),
      () => oneNode('MatMul', [x8([3, 7], int(-128, 127)), { t: inputs([7, 2]), zeroPoint: int(-128, 127) }, { t: randomRows(1) }], [3, 2], {}, int(-128, 127)),
      () => oneNode('LayerNorm', [x8([2, 9], int(-128, 127)), { t: inputs([9]) }, i32([9], () => int(-(2 ** 31), 2 ** 31 - 1) >> int(0, 31)), { t: randomRows(1) }], [2, 9], { epsTerm: int(0, 1000) }, int(-128, 127)),
      () => {
        // Attributes left out at random: loadModel fills the defaults the native kernel assumes.
        const all: Record<string, number> = { strideH: int(1, 2), strideW: int(1, 2), padTop: int(0, 1), padLeft: int(0, 1), padBottom: int(0, 1), padRight: int(0, 1), dilationH: 1, dilationW: int(1, 2) };
        const attrs = Object.fromEntries(Object.entries(all).filter(() => rand() < 0.5));
        const a = { ...{ strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1 }, ...attrs };
        const out = [1, 2, windowOut(5, 2, a.strideH, a.padTop, a.padBottom, a.dilationH), windowOut(5, 2, a.strideW, a.padLeft, a.padRight, a.dilationW)];
        return oneNode('Conv2d', [x8([1, 2, 5, 5], int(-128, 127)), { t: inputs([2, 2, 2, 2]) }, i32([2], () => int(-(2 ** 31), 2 ** 31 - 1) >> int(0, 31)), { t: randomRows(2) }], out, attrs, int(-128, 127));
      },
    ];
    let accepted = 0;
    let rejected = 0;
    for (let trial = 0; trial < 180 && accepted < 48; trial++) {
      let model: DnnModel;
      try {
        model = makers[trial % makers.length]();
      } catch (e) {
        expect((e as Error).name).toBe('DnnSpecError');
        rejected++;
        continue;
      }
      const input = model.tensorSpecs.get(model.spec.input)!;
      same(model, inputs(input.shape));
      accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(rejected).toBeGreaterThan(0);
  });

  it('LayerNorm with the largest accepted beta', () => {
    const beta = 2 ** 31 - 1 - 100 * 21674;
    same(oneNode('LayerNorm', [x8([2, 8]), w8([8], 100), i32([8], (i: number) => (i % 2 ? beta : -beta)), { t: rqRows([2 ** 30, 40]) }], [2, 8], { epsTerm: 0 }), extremes([2, 8]));
  });
});
