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
  RmsNorm: { code: 15, attrs: ['epsTerm'] },
  Rope: { code: 16, attrs: [] },
  KvWrite: { code: 17, attrs: [] },
  Attention: { code: 18, attrs: ['heads', 'kvHeads'] },
  DenseWide: { code: 19, attrs: [] },
  Sample: { code: 20, attrs: [] },
  TokenEmbed: { code: 21, attrs: [] },
} as const satisfies Record<string, { code: number; attrs: readonly string[] }>;
export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];

/**
 * Every attribute's allowed range and default (docs/dnn-spec.md section 6, "Attribute bounds").
 * loadModel fills the defaults, so a loaded node carries every attribute of its operator and the
 * node-parameter block never holds an implied value. The ranges keep every index computation of
 * the guest kernels inside int32 (window sizes at most 2^16, like the guest's own checks).
 */
export interface AttrRule {
  min: number;
  max: number;
  /** absent: the attribute is required */
  default?: number;
}

export const INT32_MAX = 2 ** 31 - 1;
/** The largest spec file (.dnn.json) anything reads: it lists tensors and nodes, never their values. */
export const MAX_SPEC_BYTES = 16 << 20;
/** The guest's limit on one tensor (its descriptor check), so no size computation overflows. */
export const MAX_TENSOR_BYTES = 2 ** 28;
export const WINDOW_MAX = 2 ** 16;
const flag: AttrRule = { min: 0, max: 1, default: 0 };
const stride: AttrRule = { min: 1, max: WINDOW_MAX, default: 1 };
const pad: AttrRule = { min: 0, max: WINDOW_MAX, default: 0 };
const kernel: AttrRule = { min: 1, max: WINDOW_MAX };
const perm: AttrRule = { min: 0, max: 3, default: 0 };
const poolAttrs = { kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad };

export const ATTR_RULES: { [op in OpName]: Record<(typeof OPS)[op]['attrs'][number], AttrRule> } = {
  Dense: { relu: flag },
  Conv2d: {
    strideH: stride, strideW: stride, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad,
    dilationH: stride, dilationW: stride, group: { min: 1, max: INT32_MAX, default: 1 }, relu: flag,
  },
  MatMul: {},
  Add: { relu: flag },
  Mul: {},
  Relu: {},
  MaxPool: poolAttrs,
  AvgPool: { ...poolAttrs, countIncludePad: flag },
  Reshape: {},
  Transpose: { perm0: perm, perm1: perm, perm2: perm, perm3: perm },
  Gather: {},
  Softmax: {},
  LayerNorm: { epsTerm: { min: 0, max: INT32_MAX } },
  Lut: {},
  RmsNorm: { epsTerm: { min: 0, max: INT32_MAX } },
  Rope: {},
  KvWrite: {},
  Attention: { heads: { min: 1, max: WINDOW_MAX }, kvHeads: { min: 1, max: WINDOW_MAX } },
  DenseWide: {},
  Sample: {},
  TokenEmbed: {},
};

/**
 * Operand dtypes per operator, in input order, and which operands must be constants (their values
 * are checked at load: rq rows, tables, and the weights that bound an accumulator).
 */
export const OPERANDS: Record<OpName, { dtypes: readonly DType[]; constants: readonly number[] }> = {
  Dense: { dtypes: ['int8', 'int8', 'int32', 'int32'], constants: [1, 2, 3] },
  Conv2d: { dtypes: ['int8', 'int8', 'int32', 'int32'], constants: [1, 2, 3] },
  MatMul: { dtypes: ['int8', 'int8', 'int32'], constants: [2] },
  Add: { dtypes: ['int8', 'int8', 'int32'], constants: [2] },
  Mul: { dtypes: ['int8', 'int8', 'int32'], constants: [2] },
  Relu: { dtypes: ['int8'], constants: [] },
  MaxPool: { dtypes: ['int8'], constants: [] },
  AvgPool: { dtypes: ['int8'], constants: [] },
  Reshape: { dtypes: ['int8'], constants: [] },
  Transpose: { dtypes: ['int8'], constants: [] },
  Gather: { dtypes: ['int8', 'int32'], constants: [] },
  Softmax: { dtypes: ['int8', 'int32', 'uint8'], constants: [1, 2] },
  LayerNorm: { dtypes: ['int8', 'int8', 'int32', 'int32'], constants: [1, 2, 3] },
  Lut: { dtypes: ['int8', 'int8'], constants: [] },
  RmsNorm: { dtypes: ['int8', 'int8', 'int32'], constants: [1, 2] },
  Rope: { dtypes: ['int8', 'int32', 'int32', 'int32'], constants: [1, 3] },
  KvWrite: { dtypes: ['int8', 'int32', 'int8'], constants: [] },
  Attention: { dtypes: ['int8', 'int8', 'int8', 'int32', 'int32', 'int32'], constants: [4, 5] },
  DenseWide: { dtypes: ['int8', 'int8', 'int32'], constants: [1, 2] },
  Sample: { dtypes: ['int32', 'int32', 'int32', 'int32'], constants: [2, 3] },
  TokenEmbed: { dtypes: ['int8', 'int32'], constants: [] },
};

/** The operators whose output is int32 (logits, generation state); every other output is int8. */
export const INT32_OUTPUT_OPS: readonly OpName[] = ['DenseWide', 'Sample'];

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

/**
 * A generation package's step (docs/dnn-spec.md section 10): the nodes run once per generated
 * position; `state` (the model input) is the previous step's `next`, and each `carry.to` tensor
 * the previous step's `carry.from` (all zero bytes at the first step): the KV caches.
 */
export const generationSpecSchema = z
  .object({
    state: z.string().min(1),
    next: z.string().min(1),
    carry: z.array(z.object({ from: z.string().min(1), to: z.string().min(1) }).strict()).max(4096),
  })
  .strict();

/**
 * A text model's tokenizer (docs/dnn-spec.md section 10): the Hugging Face tokenizer.json (and
 * tokenizer_config.json) the model was trained with, committed by the spec hash with the graph, so
 * every client turns a prompt into the same token ids and the ids into the same text.
 */
export const textSpecSchema = z
  .object({
    tokenizer: z.record(z.string(), z.unknown()),
    tokenizerConfig: z.record(z.string(), z.unknown()).optional(),
    bos: z.number().int().min(0).optional(),
    eos: z.array(z.number().int().min(0)).max(16).optional(),
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
    generation: generationSpecSchema.optional(),
    text: textSpecSchema.optional(),
  })
  .strict();

export type GenerationSpec = z.infer<typeof generationSpecSchema>;
export type TextSpec = z.infer<typeof textSpecSchema>;

export type TensorSpec = z.infer<typeof tensorSpecSchema>;
export type NodeSpec = z.infer<typeof nodeSpecSchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;
