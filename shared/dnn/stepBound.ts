/**
 * An upper bound on the VM steps one node's guest kernel takes (guest/dnn/), from shapes alone, so
 * that a package whose node could not finish inside a dispute's step bound is refused at import
 * rather than discovered in a dispute (docs/dnn-spec.md section 6, "Step bound").
 *
 * Each operator's cost is a sum of its loop trip counts times a per-iteration cost. The costs below
 * are the measured steps per iteration of the kernels' loops (RV32IM as clang -O2 emits them, the
 * 64-bit helpers of intmath.h included) rounded up by a margin of about two; test/dnn/guest-ops
 * checks every operator at every shape class it runs against this bound.
 */
import type { NodeSpec, TensorSpec } from './spec';
import { elementCount } from './tensor';

/** dispute-spec section 5: a node's VM run must halt within 2^40 steps (the game's largest stepBound). */
export const MAX_NODE_STEPS = 2 ** 40;

/** Dispatch, parameter-block checks and the start-up code, whatever the operator. */
const FIXED_STEPS = 8192;

/** Per-iteration step costs of the kernels' loops (see the file comment). */
const COST = {
  mac: 16,
  gemmOutput: 400,
  gemmRow: 64,
  gemmCall: 256,
  convTap: 24,
  convRow: 80,
  convOutput: 400,
  addElement: 200,
  mulElement: 120,
  moveElement: 24,
  outerRow: 64,
  softmaxElement: 160,
  softmaxRow: 256,
  layerNormElement: 200,
  layerNormRow: 2048,
  gatherIndex: 128,
  poolTap: 32,
  poolOutput: 300,
  ropeElement: 160,
  attentionKey: 160,
  attentionValueMac: 32,
  attentionOutput: 1200,
  attentionHead: 256,
  sampleLogit: 600,
  stateWord: 16,
} as const;

/** The most steps node `node` can take, given every tensor's spec by name. */
export function nodeStepBound(node: NodeSpec, specs: ReadonlyMap<string, TensorSpec>): number {
  const shape = (name: string): number[] => specs.get(name)!.shape;
  const out = shape(node.output);
  const outputs = elementCount(out);
  const lastAxis = (s: number[]) => s[s.length - 1];
  let loops: number;
  switch (node.op) {
    case 'DenseWide':
    case 'Dense': {
      const k = lastAxis(shape(node.inputs[0]));
      const rows = outputs / lastAxis(out);
      loops = COST.mac * outputs * k + COST.gemmOutput * outputs + COST.gemmRow * rows + COST.gemmCall;
      break;
    }
    case 'MatMul': {
      const a = shape(node.inputs[0]);
      const [m, k] = a.slice(-2);
      const batches = elementCount(a) / (m * k);
      loops = COST.mac * outputs * k + COST.gemmOutput * outputs + COST.gemmRow * batches * m + COST.gemmCall * batches;
      break;
    }
    case 'Conv2d': {
      const [, cg, kh, kw] = shape(node.inputs[1]);
      loops = COST.convTap * outputs * cg * kh * kw + COST.convRow * outputs * cg * kh + COST.convOutput * outputs;
      break;
    }
    case 'Add':
    case 'Mul':
      loops = (node.op === 'Add' ? COST.addElement : COST.mulElement) * outputs + COST.outerRow * (outputs / lastAxis(out));
      break;
    case 'Relu':
    case 'Reshape':
    case 'Lut':
    case 'Transpose':
      loops = COST.moveElement * outputs + COST.outerRow * (outputs / lastAxis(out));
      break;
    case 'Sample':
      loops = COST.sampleLogit * elementCount(shape(node.inputs[0])) + COST.stateWord * outputs;
      break;
    case 'TokenEmbed':
    case 'Gather':
      loops = COST.moveElement * outputs + COST.gatherIndex * elementCount(shape(node.inputs[1]));
      break;
    case 'Softmax':
      loops = COST.softmaxElement * outputs + COST.softmaxRow * (outputs / lastAxis(out));
      break;
    case 'RmsNorm':
    case 'LayerNorm':
      loops = COST.layerNormElement * outputs + COST.layerNormRow * (outputs / lastAxis(out));
      break;
    case 'Rope':
      loops = COST.ropeElement * outputs + COST.outerRow * (outputs / lastAxis(out));
      break;
    case 'KvWrite':
      loops = COST.moveElement * outputs + COST.outerRow * (outputs / lastAxis(out) + elementCount(shape(node.inputs[0])) / lastAxis(out));
      break;
    case 'Attention': {
      // Every query row may see the whole cache; per key a dot product (MACs) and a weighted add per element.
      const positions = shape(node.inputs[1])[0];
      const rowHeads = (outputs / lastAxis(out)) * node.attrs.heads;
      const hd = lastAxis(out) / node.attrs.heads;
      loops = rowHeads * positions * (hd * (COST.mac + COST.attentionValueMac) + COST.attentionKey) + COST.attentionOutput * outputs + COST.attentionHead * rowHeads;
      break;
    }
    case 'MaxPool':
    case 'AvgPool':
      loops = COST.poolTap * outputs * node.attrs.kernelH * node.attrs.kernelW + COST.poolOutput * outputs;
      break;
  }
  return FIXED_STEPS + loops;
}
