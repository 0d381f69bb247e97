/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * One-operator (and small-pattern) ONNX graphs, built here, imported with calibration and run by
 * the int8 executor; the dequantised outputs must match onnxruntime's float outputs within a few
 * quantisation steps.
 */
import * as ort from 'onnxruntime-node';
import { runModel } from '../../shared/dnn/executor';
import { dequantizeOutput, quantizeInput } from '../../shared/dnn/io';
import { buildOnnxModel, type OnnxModelDraft } from '../../shared/dnn/onnx/build';
import { ortTensor } from '../../shared/dnn/onnx/calibrate';
import { importOnnx } from '../../shared/dnn/onnx/import';
import { gaussian, seededRandom } from '../../shared/dnn/random';

const rand = seededRandom(1234);
const normal = gaussian(rand);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => normal() * scale);

interface Case {
  name: string;
  draft: OnnxModelDraft;
  inputShape: number[];
  /** int64 token ids in [0, vocab) instead of float inputs */
  vocab?: number;
  /** allowed max error, in units of the output's quantisation step */
  steps: number;
  ops: string[];
}

function init(name: string, dims: number[], scale = 0.5) {
  return { name, dims, values: randn(dims.reduce((a, b) => a * b, 1), scale) };
}

const SCALAR_ONE = { name: 'one', dims: [], values: [1] };
const SCALAR_HALF = { name: 'half', dims: [], values: [0.5] };
const SCALAR_SQRT2 = { name: 'sqrt2', dims: [], values: [Math.SQRT2] };

const cases: Case[] = [
  {
    name: 'Gemm transB + bias + Relu (fused)',
    inputShape: [1, 16],
    steps: 3,
    ops: ['Dense'],
    draft: {
      inputs: [{ name: 'x', shape: ['N', 16] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['h'], attrs: { transB: 1 } },
        { op: 'Relu', inputs: ['h'], outputs: ['y'] },
      ],
      initializers: [init('w', [10, 16]), init('b', [10])],
    },
  },
  {
    name: 'Gemm without transB, alpha and beta',
    inputShape: [2, 12],
    steps: 3,
    ops: ['Dense'],
    draft: {
      inputs: [{ name: 'x', shape: [2, 12] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['y'], attrs: { alpha: { float: 0.5 }, beta: { float: 2 } } }],
      initializers: [init('w', [12, 7]), init('c', [7])],
    },
  },
  {
    name: 'MatMul + Add bias (fused to Dense) on a 3-D input',
    inputShape: [2, 3, 8],
    steps: 3,
    ops: ['Dense'],
    draft: {
      inputs: [{ name: 'x', shape: [2, 3, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
        { op: 'Add', inputs: ['h', 'b'], outputs: ['y'] },
      ],
      initializers: [init('w', [8, 5]), init('b', [5])],
    },
  },
  {
    name: 'Transpose and MatMul of two activations',
    inputShape: [1, 4, 8],
    steps: 3,
    ops: ['Transpose', 'MatMul'],
    draft: {
      inputs: [{ name: 'x', shape: [1, 4, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 1] } },
        { op: 'MatMul', inputs: ['x', 't'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Conv with pads and strides + Relu, MaxPool, Flatten',
    inputShape: [1, 2, 9, 9],
    steps: 3,
    ops: ['Conv2d', 'MaxPool', 'Reshape'],
    draft: {
      inputs: [{ name: 'x', shape: [1, 2, 9, 9] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Flatten', inputs: ['p'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      initializers: [init('w', [4, 2, 3, 3]), init('b', [4])],
    },
  },
  {
    name: 'grouped, dilated Conv without bias, AveragePool with and without padding counted',
    inputShape: [1, 4, 10, 10],
    steps: 3,
    ops: ['Conv2d', 'AvgPool', 'AvgPool', 'Add'],
    draft: {
      inputs: [{ name: 'x', shape: [1, 4, 10, 10] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { group: 2, dilations: [2, 2], pads: [2, 1, 2, 1] } },
        { op: 'AveragePool', inputs: ['c'], outputs: ['p1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'AveragePool', inputs: ['c'], outputs: ['p2'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], count_include_pad: 1 } },
        { op: 'Add', inputs: ['p1', 'p2'], outputs: ['y'] },
      ],
      initializers: [init('w', [6, 2, 3, 3])],
    },
  },
  {
    name: 'GlobalAveragePool, Reshape with an initializer shape',
    inputShape: [1, 3, 5, 5],
    steps: 2,
    ops: ['AvgPool', 'Reshape'],
    draft: {
      inputs: [{ name: 'x', shape: [1, 3, 5, 5] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['g'] },
        { op: 'Reshape', inputs: ['g', 's'], outputs: ['y'] },
      ],
      initializers: [{ name: 's', dims: [2], values: [1, -1], int64: true }],
    },
  },
  {
    name: 'Mul by a broadcast constant, Add of two activations with broadcasting',
    inputShape: [1, 2, 3, 4],
    steps: 3,
    ops: ['Mul', 'Add'],
    draft: {
      inputs: [{ name: 'x', shape: [1, 2, 3, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Mul', inputs: ['x', 'c'], outputs: ['m'] },
        { op: 'Add', inputs: ['x', 'm'], outputs: ['y'] },
      ],
      initializers: [init('c', [4], 1)],
    },
  },
  {
    name: 'Softmax over the last axis',
    inputShape: [2, 10],
    steps: 2,
    ops: ['Softmax'],
    draft: { inputs: [{ name: 'x', shape: [2, 10] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }] },
  },
  {
    name: 'LayerNormalization',
    inputShape: [3, 16],
    steps: 3,
    ops: ['LayerNorm'],
    draft: {
      opset: 17,
      inputs: [{ name: 'x', shape: [3, 16] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['y'], attrs: { axis: -1, epsilon: { float: 1e-5 } } }],
      initializers: [init('g', [16], 1), init('b', [16], 0.3)],
    },
  },
  {
    name: 'Gelu, Sigmoid and Tanh as lookup tables',
    inputShape: [1, 32],
    steps: 2,
    ops: ['Lut', 'Lut', 'Lut'],
    draft: {
      opset: 20,
      inputs: [{ name: 'x', shape: [1, 32] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Gelu', inputs: ['x'], outputs: ['g'] },
        { op: 'Sigmoid', inputs: ['g'], outputs: ['s'] },
        { op: 'Tanh', inputs: ['s'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'GELU as PyTorch writes it before opset 20: x * 0.5 * (1 + Erf(x / sqrt(2))) after a Gemm',
    inputShape: [2, 12],
    steps: 3,
    ops: ['Dense', 'Lut'],
    draft: {
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 12] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['h'], attrs: { transB: 1 } },
        { op: 'Div', inputs: ['h', 'sqrt2'], outputs: ['d'] },
        { op: 'Erf', inputs: ['d'], outputs: ['e'] },
        { op: 'Add', inputs: ['e', 'one'], outputs: ['a'] },
        { op: 'Mul', inputs: ['h', 'a'], outputs: ['m'] },
        { op: 'Mul', inputs: ['m', 'half'], outputs: ['y'] },
      ],
      initializers: [init('w', [10, 12]), init('b', [10]), SCALAR_SQRT2, SCALAR_ONE, SCALAR_HALF],
    },
  },
  {
    name: 'GELU tanh approximation as an exporter spells it (Pow, Tanh; the 0.5 multiplied first)',
    inputShape: [1, 24],
    steps: 2,
    ops: ['Lut'],
    draft: {
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 24] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Mul', inputs: ['x', 'half'], outputs: ['xh'] },
        { op: 'Pow', inputs: ['x', 'three'], outputs: ['x3'] },
        { op: 'Mul', inputs: ['x3', 'c'], outputs: ['cx3'] },
        { op: 'Add', inputs: ['x', 'cx3'], outputs: ['inner'] },
        { op: 'Mul', inputs: ['inner', 'k'], outputs: ['scaled'] },
        { op: 'Tanh', inputs: ['scaled'], outputs: ['t'] },
        { op: 'Add', inputs: ['one', 't'], outputs: ['t1'] },
        { op: 'Mul', inputs: ['xh', 't1'], outputs: ['y'] },
      ],
      initializers: [SCALAR_HALF, SCALAR_ONE, { name: 'three', dims: [], values: [3] }, { name: 'c', dims: [], values: [0.044715] }, { name: 'k', dims: [], values: [Math.sqrt(2 / Math.PI)] }],
    },
  },
  {
    name: 'Gelu (opset 20) with approximate = tanh',
    inputShape: [1, 32],
    steps: 2,
    ops: ['Lut'],
    draft: { opset: 20, inputs: [{ name: 'x', shape: [1, 32] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Gelu', inputs: ['x'], outputs: ['y'], attrs: { approximate: 'tanh' } }] },
  },
  {
    name: 'Conv + BatchNormalization + Relu: the BatchNormalization folded into the Conv',
    inputShape: [1, 3, 8, 8],
    steps: 3,
    ops: ['Conv2d', 'Reshape'],
    draft: {
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
        { op: 'BatchNormalization', inputs: ['c', 'gamma', 'beta', 'mean', 'var'], outputs: ['n'], attrs: { epsilon: { float: 1e-3 } } },
        { op: 'Relu', inputs: ['n'], outputs: ['r'] },
        { op: 'Flatten', inputs: ['r'], outputs: ['y'] },
      ],
      initializers: [
        init('w', [4, 3, 3, 3]),
        init('b', [4]),
        { name: 'gamma', dims: [4], values: [1.5, 0.5, -0.8, 2] },
        { name: 'beta', dims: [4], values: [0.1, -0.3, 0.2, 0] },
        { name: 'mean', dims: [4], values: [0.2, -0.1, 0, 0.4] },
        { name: 'var', dims: [4], values: [0.5, 2, 1, 0.25] },
      ],
    },
  },
  {
    name: 'Sub of a constant (Add of its negation) and a scalar minus an activation (a Lut)',
    inputShape: [2, 6],
    steps: 2,
    ops: ['Add', 'Lut'],
    draft: {
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 6] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Sub', inputs: ['x', 'c'], outputs: ['s'] },
        { op: 'Sub', inputs: ['one', 's'], outputs: ['y'] },
      ],
      initializers: [init('c', [6]), SCALAR_ONE],
    },
  },
  {
    name: 'LayerNorm as PyTorch writes it before opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)',
    inputShape: [3, 16],
    steps: 3,
    ops: ['LayerNorm'],
    draft: {
      opset: 13,
      inputs: [{ name: 'x', shape: [3, 16] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [-1] } },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Pow', inputs: ['d', 'two'], outputs: ['d2'] },
        { op: 'ReduceMean', inputs: ['d2'], outputs: ['var'], attrs: { axes: [-1] } },
        { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
        { op: 'Div', inputs: ['d', 'sd'], outputs: ['n'] },
        { op: 'Mul', inputs: ['n', 'g'], outputs: ['ng'] },
        { op: 'Add', inputs: ['ng', 'b'], outputs: ['y'] },
      ],
      initializers: [{ name: 'two', dims: [], values: [2] }, { name: 'eps', dims: [], values: [1e-5] }, { name: 'g', dims: [16], values: randn(16, 0.5).map((v) => v + 1) }, init('b', [16], 0.2)],
    },
  },
  {
    name: 'the LayerNorm pattern at opset 18 (axes as an input), squared as Mul(d, d), without affine',
    inputShape: [2, 3, 12],
    steps: 3,
    ops: ['LayerNorm'],
    draft: {
      opset: 18,
      inputs: [{ name: 'x', shape: [2, 3, 12] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['mean'] },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Mul', inputs: ['d', 'd'], outputs: ['d2'] },
        { op: 'ReduceMean', inputs: ['d2', 'axes'], outputs: ['var'] },
        { op: 'Add', inputs: ['eps', 'var'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
        { op: 'Div', inputs: ['d', 'sd'], outputs: ['y'] },
      ],
      initializers: [{ name: 'axes', dims: [1], values: [2], int64: true }, { name: 'eps', dims: [], values: [1e-6] }],
    },
  },
  {
    name: 'Gather (embedding) of int64 token ids',
    inputShape: [1, 5],
    vocab: 10,
    steps: 1,
    ops: ['Gather'],
    draft: {
      inputs: [{ name: 'ids', elemType: 7, shape: [1, 5] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Gather', inputs: ['emb', 'ids'], outputs: ['y'], attrs: { axis: 0 } }],
      initializers: [init('emb', [10, 6])],
    },
  },
];

function sample(c: Case): Float32Array | BigInt64Array {
  const n = c.inputShape.reduce((a, b) => a * b, 1);
  if (c.vocab) return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * c.vocab!)));
  return randn(n);
}

describe('ONNX import per operator, against onnxruntime', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = buildOnnxModel(c.draft);
      // The test inputs are part of the calibration set: this checks the kernels inside the
      // calibrated range, not how well 40 samples predict the range of 10 others.
      const tests = Array.from({ length: 10 }, () => sample(c));
      const calibration = [...Array.from({ length: 40 }, () => sample(c)), ...tests];
      const model = await importOnnx(bytes, { name: 'case', calibration, inputShape: c.inputShape });
      expect(model.spec.nodes.map((n) => n.op)).toEqual(c.ops);
      const session = await ort.InferenceSession.create(bytes);
      const inputName = c.draft.inputs[0].name;
      const outScale = model.tensorSpecs.get(model.spec.output)!.scale;
      let worst = 0;
      for (const x of tests) {
        const expected = (await session.run({ [inputName]: ortTensor(x, c.inputShape) }))[c.draft.outputs[0].name].data as Float32Array;
        const got = dequantizeOutput(model, runModel(model, quantizeInput(model, Array.from(x, Number))).output);
        expect(got.length).toBe(expected.length);
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]) / outScale);
      }
      await session.release();
      expect(worst).toBeLessThanOrEqual(c.steps);
    });
  }
});
