/**
 * The model spec (docs/dnn-spec.md section 2): zod schema, operator codes and attribute order.
 */
import { z } from 'zod';

export const DNN_FORMAT_VERSION = 1;

export const DTYPE_CODE = { int8: 1, uint8: 2, int32: 3 } as const;
export type DType = keyof typeof DTYPE_CODE;
export const DTYPE_SIZE: Record<DType, number> = { int8: 1, uint8: 1, int32: 4 };

/** Operator codes and, per operator, its attributes in node-parameter order (section 8). */
export const OPS = {
  Dense: { code: 1, attrs: ['relu'] },
  Conv2d: {
    code: 2,
    attrs: ['strideH', 'strideW', 'padTop', 'padLeft', 'padBottom', 'padRight', 'dilationH', 'dilationW', 'group', 'relu'],
  },
  MatMul: { code: 3, attrs: [] },
  Add: { code: 4, attrs: ['relu'] },
  Mul: { code: 5, attrs: [] },
  Relu: { code: 6, attrs: [] },
  MaxPool: { code: 7, attrs: ['kernelH', 'kernelW', 'strideH', 'strideW', 'padTop', 'padLeft', 'padBottom', 'padRight'] },
  AvgPool: {
    code: 8,
    attrs: ['kernelH', 'kernelW', 'strideH', 'strideW', 'padTop', 'padLeft', 'padBottom', 'padRight', 'countIncludePad'],
  },
  Reshape: { code: 9, attrs: [] },
  Transpose: { code: 10, attrs: ['perm0', 'perm1', 'perm2', 'perm3'] },
  Gather: { code: 11, attrs: [] },
  Softmax: { code: 12, attrs: [] },
  LayerNorm: { code: 13, attrs: ['epsTerm'] },
  Lut: { code: 14, attrs: [] },
} as const satisfies Record<string, { code: number; attrs: readonly string[] }>;
export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'a 0x-prefixed 32-byte lowercase hex root');
const int = z.number().int();

export const tensorSpecSchema = z
  .object({
    name: z.string().min(1),
    dtype: z.enum(['int8', 'uint8', 'int32']),
    shape: z.array(int.min(1)).min(1).max(4),
    scale: z.number().positive(),
    zeroPoint: int.min(-128).max(255),
    root: hex32.optional(),
    offset: int.min(0).optional(),
    byteLength: int.min(1).optional(),
    channelScales: z.array(z.number().positive()).optional(),
  })
  .strict();

export const nodeSpecSchema = z
  .object({
    op: z.enum(OP_NAMES as [OpName, ...OpName[]]),
    inputs: z.array(z.string().min(1)).min(1).max(8),
    output: z.string().min(1),
    attrs: z.record(z.string(), int).default({}),
  })
  .strict();

export const modelSpecSchema = z
  .object({
    format: z.literal('opml-dnn'),
    version: z.literal(DNN_FORMAT_VERSION),
    name: z.string().min(1),
    input: z.string().min(1),
    output: z.string().min(1),
    tensors: z.array(tensorSpecSchema).min(1),
    nodes: z.array(nodeSpecSchema).min(1),
  })
  .strict();

export type TensorSpec = z.infer<typeof tensorSpecSchema>;
export type NodeSpec = z.infer<typeof nodeSpecSchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;
