import type { OpName } from '../spec';
import { add, lut, mul, relu } from './elementwise';
import { gather, reshape, transpose } from './layout';
import { conv2d, dense, denseWide, matMul } from './linear';
import { sample, tokenEmbed } from './sample';
import { attention, kvWrite, rope } from './attention';
import { layerNorm, rmsNorm, softmax } from './normalize';
import { avgPool, maxPool } from './pool';
import type { Kernel } from './types';

export type { Kernel, KernelArgs } from './types';

export const KERNELS: Record<OpName, Kernel> = {
  Dense: dense,
  Conv2d: conv2d,
  MatMul: matMul,
  Add: add,
  Mul: mul,
  Relu: relu,
  MaxPool: maxPool,
  AvgPool: avgPool,
  Reshape: reshape,
  Transpose: transpose,
  Gather: gather,
  Softmax: softmax,
  LayerNorm: layerNorm,
  Lut: lut,
  RmsNorm: rmsNorm,
  Rope: rope,
  KvWrite: kvWrite,
  Attention: attention,
  DenseWide: denseWide,
  Sample: sample,
  TokenEmbed: tokenEmbed,
};
