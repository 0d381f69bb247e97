/**
 * `importOnnx(model.onnx bytes, calibration samples)` -> quantised model package: decode, run the
 * float model on the samples to learn ranges and shapes, lower every node, lay out the package.
 */
import { onnx } from 'onnx-proto';
import { buildModel, type DnnModel } from '../model';
import { observeActivations, type CalibrationSample } from './calibrate';
import { OnnxDecodeError, OnnxUnsupportedOperatorError, OnnxUnsupportedShapeError } from './errors';
import { Lowering, SUPPORTED_ONNX_OPS } from './lower';
import { attrsOf, constTensor, decodeModel, num } from './read';

export interface ImportOnnxOptions {
  /** the package's name */
  name: string;
  /** representative inputs, each one whole input tensor (row-major) */
  calibration: readonly CalibrationSample[];
  /** the input shape to fix symbolic dimensions (default: declared, symbolic ones 1) */
  inputShape?: number[];
}

export async function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions): Promise<DnnModel> {
  const { graph, constants } = decodeModel(bytes);
  graph.node!.forEach((node, i) => {
    if (node.domain || !SUPPORTED_ONNX_OPS.has(node.opType ?? '')) throw new OnnxUnsupportedOperatorError(node.name || `${node.opType}#${i}`, `${node.domain ? node.domain + '.' : ''}${node.opType}`);
  });
  for (const node of graph.node!) {
    if (node.opType !== 'Constant') continue;
    const value = attrsOf(node).get('value')?.t;
    if (!value) throw new OnnxUnsupportedShapeError(node.name ?? '', 'Constant', 'only tensor-valued constants (value attribute)');
    constants.set(node.output![0], constTensor(value));
  }
  const inputs = (graph.input ?? []).filter((i) => !constants.has(i.name ?? ''));
  if (inputs.length !== 1) throw new OnnxDecodeError(`expected exactly one graph input, found ${inputs.length}`);
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new OnnxDecodeError(`expected exactly one graph output, found ${outputs.length}`);
  const input = inputs[0];
  const inputName = input.name!;
  const tensorType = input.type?.tensorType;
  const DT = onnx.TensorProto.DataType;
  if (!tensorType || (tensorType.elemType !== DT.FLOAT && tensorType.elemType !== DT.INT64))
    throw new OnnxDecodeError(`input ${inputName} must be a float32 or int64 tensor`);
  const declaredShape = (tensorType.shape?.dim ?? []).map((d) => (d.dimParam || !num(d.dimValue) ? 1 : num(d.dimValue)));
  const inputShape = options.inputShape ?? declaredShape;
  if (options.calibration.length === 0) throw new OnnxDecodeError('calibration needs at least one sample');
  const size = inputShape.reduce((a, b) => a * b, 1);
  for (const s of options.calibration) if (s.length !== size) throw new OnnxDecodeError(`calibration sample has ${s.length} values, input ${JSON.stringify(inputShape)} needs ${size}`);

  const model = onnx.ModelProto.decode(bytes);
  const observed = await observeActivations(model, inputName, inputShape, options.calibration);
  const lowering = new Lowering(graph, constants, observed);
  if (inputShape.length < 1 || inputShape.length > 4) throw new OnnxUnsupportedShapeError('(input)', 'Input', `rank ${inputShape.length}`);
  if (tensorType.elemType === DT.INT64) lowering.declare(inputName, { dtype: 'int32', shape: inputShape, scale: 1, zeroPoint: 0 });
  else lowering.declare(inputName, { dtype: 'int8', shape: inputShape, ...observed.ranges.quantFor(inputName) });
  lowering.lowerAll();
  return buildModel({
    name: options.name,
    input: inputName,
    output: lowering.resolve(outputs[0].name!),
    tensors: [...lowering.tensors.values()],
    nodes: lowering.nodes,
  });
}
