/** Errors of the ONNX importer; each names the node and operator it is about where there is one. */
import { DnnError } from '../errors';

export class OnnxImportError extends DnnError {
  override name = 'OnnxImportError';
}

/** Bytes that are not a decodable ONNX ModelProto, or a model without the parts import needs. */
export class OnnxDecodeError extends OnnxImportError {
  override name = 'OnnxDecodeError';
  constructor(readonly detail: string) {
    super(`malformed ONNX model: ${detail}`);
  }
}

export class OnnxOpsetError extends OnnxImportError {
  override name = 'OnnxOpsetError';
  constructor(readonly opset: number) {
    super(`ONNX opset ${opset} is not supported (13 or later required)`);
  }
}

export class OnnxUnsupportedOperatorError extends OnnxImportError {
  override name = 'OnnxUnsupportedOperatorError';
  constructor(
    readonly node: string,
    readonly op: string,
  ) {
    super(`node ${node}: operator ${op} is not supported`);
  }
}

/** A supported operator used with a shape, attribute or input kind the runtime cannot run exactly. */
export class OnnxUnsupportedShapeError extends OnnxImportError {
  override name = 'OnnxUnsupportedShapeError';
  constructor(
    readonly node: string,
    readonly op: string,
    readonly detail: string,
  ) {
    super(`node ${node} (${op}): ${detail}`);
  }
}
