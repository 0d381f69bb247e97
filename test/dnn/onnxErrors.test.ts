/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
import { onnx } from 'onnx-proto';
import { buildOnnxModel, type OnnxModelDraft } from '../../shared/dnn/onnx/build';
import { importOnnx } from '../../shared/dnn/onnx/import';
import { OnnxDecodeError, OnnxOpsetError, OnnxUnsupportedOperatorError, OnnxUnsupportedShapeError } from '../../shared/dnn/onnx/errors';

const calibration = [Float32Array.from({ length: 8 }, (_, i) => i / 8 - 0.5)];
const gemm = (extra: Partial<OnnxModelDraft> = {}): OnnxModelDraft => ({
  inputs: [{ name: 'x', shape: [1, 8] }],
  outputs: [{ name: 'y' }],
  nodes: [{ name: 'fc', op: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], attrs: { transB: 1 } }],
  initializers: [{ name: 'w', dims: [3, 8], values: Array.from({ length: 24 }, (_, i) => (i % 5) - 2) }],
  ...extra,
});

async function importError(bytes: Uint8Array): Promise<Error> {
  try {
    await importOnnx(bytes, { name: 'bad', calibration });
  } catch (e) {
    return e as Error;
  }
  throw new Error('import succeeded');
}

describe('ONNX import errors', () => {
  it('bytes that are not a ModelProto', async () => {
    const e = await importError(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    expect(e).toBeInstanceOf(OnnxDecodeError);
    expect(e.name).toBe('OnnxDecodeError');
  });

  it('a truncated model', async () => {
    const bytes = buildOnnxModel(gemm());
    const e = await importError(bytes.subarray(0, bytes.length - 7));
    expect(e.name).toBe('OnnxDecodeError');
  });

  it('a model without nodes', async () => {
    const e = await importError(onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'g' } }).finish());
    expect(e).toBeInstanceOf(OnnxDecodeError);
  });

  it('an opset older than 13', async () => {
    const e = await importError(buildOnnxModel(gemm({ opset: 11 })));
    expect(e).toBeInstanceOf(OnnxOpsetError);
    expect((e as OnnxOpsetError).opset).toBe(11);
  });

  it('an unsupported operator names the node and the operator', async () => {
    const draft = gemm();
    draft.nodes = [{ name: 'weird', op: 'Sin', inputs: ['x'], outputs: ['y'] }];
    const e = await importError(buildOnnxModel(draft));
    expect(e).toBeInstanceOf(OnnxUnsupportedOperatorError);
    expect(e).toMatchObject({ node: 'weird', op: 'Sin' });
    expect(e.message).toContain('weird');
  });

  it('a supported operator with an unsupported attribute or operand', async () => {
    const transA = gemm();
    transA.nodes[0].attrs = { transA: 1, transB: 1 };
    transA.inputs[0].shape = [8, 1];
    const e1 = await importError(buildOnnxModel(transA));
    expect(e1).toBeInstanceOf(OnnxUnsupportedShapeError);
    expect(e1).toMatchObject({ node: 'fc', op: 'Gemm' });

    const sameUpper: OnnxModelDraft = {
      inputs: [{ name: 'x', shape: [1, 1, 2, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [{ name: 'conv', op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { auto_pad: 'SAME_UPPER' } }],
      initializers: [{ name: 'w', dims: [1, 1, 3, 3], values: Array(9).fill(0.1) }],
    };
    const e2 = await importError(buildOnnxModel(sameUpper));
    expect(e2).toMatchObject({ name: 'OnnxUnsupportedShapeError', node: 'conv', op: 'Conv' });
  });

  it('patterns the runtime cannot express name the node and operator', async () => {
    const withNodes = (nodes: OnnxModelDraft['nodes']) => gemm({ nodes: [{ name: 'fc', op: 'Gemm', inputs: ['x', 'w'], outputs: ['h'], attrs: { transB: 1 } }, ...nodes] });
    const sub = await importError(buildOnnxModel(withNodes([
      { name: 'act', op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 'diff', op: 'Sub', inputs: ['h', 'r'], outputs: ['y'] },
    ])));
    expect(sub).toMatchObject({ name: 'OnnxUnsupportedShapeError', node: 'diff', op: 'Sub', message: expect.stringContaining('no negative multiplier') });

    const bnDraft = withNodes([{ name: 'bn', op: 'BatchNormalization', inputs: ['h', 's', 's', 'z', 's'], outputs: ['y'] }]);
    bnDraft.initializers!.push({ name: 's', dims: [3], values: [1, 1, 1] }, { name: 'z', dims: [3], values: [0, 0, 0] });
    const bn = await importError(buildOnnxModel(bnDraft));
    expect(bn).toMatchObject({ name: 'OnnxUnsupportedShapeError', node: 'bn', op: 'BatchNormalization', message: expect.stringContaining('only directly after a Conv') });

    const mean = await importError(buildOnnxModel(withNodes([{ name: 'avg', op: 'ReduceMean', inputs: ['h'], outputs: ['y'], attrs: { axes: [-1] } }])));
    expect(mean).toMatchObject({ name: 'OnnxUnsupportedShapeError', node: 'avg', op: 'ReduceMean', message: expect.stringContaining('LayerNorm pattern') });

    const sqrt = await importError(buildOnnxModel(withNodes([{ name: 'root', op: 'Sqrt', inputs: ['h'], outputs: ['y'] }])));
    expect(sqrt).toMatchObject({ name: 'OnnxUnsupportedShapeError', node: 'root', op: 'Sqrt' });
  });

  it('an initializer whose data is shorter than its dims', async () => {
    const draft = gemm();
    const bytes = buildOnnxModel(draft);
    const model = onnx.ModelProto.decode(bytes);
    model.graph!.initializer![0].rawData = model.graph!.initializer![0].rawData!.subarray(0, 40);
    const e = await importError(onnx.ModelProto.encode(model).finish());
    expect(e.name).toBe('OnnxDecodeError');
    expect(e.message).toContain('w');
  });
});
