/**
 * Calibration: runs the float model in onnxruntime with every intermediate tensor exposed as an
 * output, recording each tensor's value range and concrete shape (ONNX shape inference for free,
 * with the exact semantics of the exporter's operators).
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { RangeTracker } from '../quantize';

export interface Observed {
  ranges: RangeTracker;
  shapes: Map<string, number[]>;
}

export type CalibrationSample = Float32Array | BigInt64Array;

/**
 * An onnxruntime input tensor. The values go in as a plain array because onnxruntime checks typed
 * arrays with `instanceof`, which fails across realms (jest's sandbox, worker threads).
 */
export function ortTensor(sample: CalibrationSample, shape: number[]): ort.Tensor {
  return sample instanceof BigInt64Array ? new ort.Tensor('int64', Array.from(sample), shape) : new ort.Tensor('float32', Array.from(sample), shape);
}

export async function observeActivations(model: onnx.ModelProto, inputName: string, inputShape: number[], samples: readonly CalibrationSample[]): Promise<Observed> {
  const augmented = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = augmented.graph!;
  const outputs = graph.output ?? [];
  const declared = new Set(outputs.map((o) => o.name));
  for (const node of graph.node ?? []) for (const out of node.output ?? []) if (out && !declared.has(out)) outputs.push(onnx.ValueInfoProto.create({ name: out }));
  graph.output = outputs;
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(augmented).finish());
  const ranges = new RangeTracker();
  const shapes = new Map<string, number[]>([[inputName, inputShape]]);
  try {
    for (const sample of samples) {
      const input = ortTensor(sample, inputShape);
      if (!(sample instanceof BigInt64Array)) ranges.observe(inputName, sample);
      const results = await session.run({ [inputName]: input });
      for (const [name, t] of Object.entries(results)) {
        if (!shapes.has(name)) shapes.set(name, t.dims.map(Number));
        if (t.type === 'float32') ranges.observe(name, t.data as Float32Array);
      }
    }
  } finally {
    await session.release();
  }
  return { ranges, shapes };
}
