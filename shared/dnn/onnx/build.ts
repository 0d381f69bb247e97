/**
 * Writing ONNX models (ModelProto bytes) from plain descriptions: how the training script exports
 * its models and how tests build one-operator graphs for onnxruntime.
 */
import { onnx } from 'onnx-proto';

export type AttrValue = number | number[] | string | { floats: number[] } | { float: number };

export interface OnnxNodeDraft {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface OnnxValueDraft {
  name: string;
  /** onnx.TensorProto.DataType; FLOAT unless said */
  elemType?: number;
  /** a string is a symbolic dimension (e.g. 'batch') */
  shape?: (number | string)[];
}

export interface OnnxInitializerDraft {
  name: string;
  dims: number[];
  /** FLOAT values, or INT64 values when int64 is set */
  values: ArrayLike<number>;
  int64?: boolean;
}

export interface OnnxModelDraft {
  inputs: OnnxValueDraft[];
  outputs: OnnxValueDraft[];
  nodes: OnnxNodeDraft[];
  initializers?: OnnxInitializerDraft[];
  opset?: number;
  producer?: string;
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(v: OnnxValueDraft): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType ?? onnx.TensorProto.DataType.FLOAT,
        ...(v.shape ? { shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}),
      },
    },
  };
}

export function initializer(t: OnnxInitializerDraft): onnx.ITensorProto {
  const raw = t.int64 ? new Uint8Array(BigInt64Array.from(Array.from(t.values, (x) => BigInt(x))).buffer) : new Uint8Array(Float32Array.from(t.values).buffer);
  return {
    name: t.name,
    dims: t.dims,
    dataType: t.int64 ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
    rawData: raw,
  };
}

export function buildOnnxModel(d: OnnxModelDraft): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: d.producer ?? 'opml-market',
    opsetImport: [{ domain: '', version: d.opset ?? 17 }],
    graph: {
      name: 'main',
      node: d.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: (d.initializers ?? []).map(initializer),
      input: d.inputs.map(valueInfo),
      output: d.outputs.map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
