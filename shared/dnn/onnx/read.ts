/** Decoding ONNX: the model, its constant tensors and node attributes as plain values. */
import { onnx } from 'onnx-proto';
import { OnnxDecodeError, OnnxOpsetError } from './errors';

export const MIN_OPSET = 13;

type LongLike = number | { toNumber(): number };
export function num(v: LongLike | null | undefined): number {
  return v == null ? 0 : typeof v === 'number' ? v : v.toNumber();
}

/** A constant as float64 values (int64 shape tensors included: they are small and exact). */
export interface ConstTensor {
  dims: number[];
  values: Float64Array;
}

export interface DecodedModel {
  graph: onnx.IGraphProto;
  opset: number;
  constants: Map<string, ConstTensor>;
}

const DT = onnx.TensorProto.DataType;

export function constTensor(t: onnx.ITensorProto): ConstTensor {
  const dims = (t.dims ?? []).map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const values = new Float64Array(count);
  const fail = (why: string) => new OnnxDecodeError(`tensor ${t.name}: ${why}`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw fail('external data is not supported');
  if (view && view.byteLength < count * (t.dataType === DT.FLOAT || t.dataType === DT.INT32 ? 4 : 8)) throw fail(`raw data shorter than its dims ${JSON.stringify(dims)}`);
  for (let i = 0; i < count; i++) {
    switch (t.dataType) {
      case DT.FLOAT:
        values[i] = view ? view.getFloat32(4 * i, true) : (t.floatData ?? [])[i];
        break;
      case DT.DOUBLE:
        values[i] = view ? view.getFloat64(8 * i, true) : (t.doubleData ?? [])[i];
        break;
      case DT.INT64:
        values[i] = view ? Number(view.getBigInt64(8 * i, true)) : num((t.int64Data ?? [])[i]);
        break;
      case DT.INT32:
        values[i] = view ? view.getInt32(4 * i, true) : (t.int32Data ?? [])[i];
        break;
      default:
        throw fail(`data type ${t.dataType} is not supported for constants`);
    }
    if (values[i] === undefined || Number.isNaN(values[i])) throw fail(`holds ${count} elements by its dims but its data is shorter or not a number`);
  }
  return { dims, values };
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxDecodeError((e as Error).message);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length) throw new OnnxDecodeError('no graph or no nodes');
  const imp = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!imp) throw new OnnxDecodeError('no ai.onnx opset import');
  const opset = num(imp.version);
  if (opset < MIN_OPSET) throw new OnnxOpsetError(opset);
  const constants = new Map<string, ConstTensor>();
  for (const t of graph.initializer ?? []) constants.set(t.name ?? '', constTensor(t));
  return { graph, opset, constants };
}

export type AttrMap = Map<string, onnx.IAttributeProto>;

export function attrsOf(node: onnx.INodeProto): AttrMap {
  return new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
}

export function attrInt(a: AttrMap, name: string, dflt: number): number {
  const v = a.get(name);
  return v ? num(v.i) : dflt;
}

export function attrFloat(a: AttrMap, name: string, dflt: number): number {
  const v = a.get(name);
  return v ? (v.f ?? dflt) : dflt;
}

export function attrInts(a: AttrMap, name: string): number[] | undefined {
  const v = a.get(name);
  return v ? (v.ints ?? []).map(num) : undefined;
}

export function attrString(a: AttrMap, name: string, dflt: string): string {
  const v = a.get(name);
  return v?.s ? new TextDecoder().decode(v.s) : dflt;
}
