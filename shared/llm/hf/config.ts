/**
 * A Hugging Face `LlamaForCausalLM` config.json: what we read of it, its defaults (those of
 * transformers' LlamaConfig), and the refusals for what our integer graph does not implement.
 */
import { z } from 'zod';
import { LlamaConfigError } from '../errors';

/** Llama 3's 128,256 tokens fit; the bound keeps an embedding row index inside the graph's int32 ids. */
export const MAX_VOCAB = 131072;

const ropeScalingSchema = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().positive().optional(),
    high_freq_factor: z.number().positive().optional(),
    original_max_position_embeddings: z.number().int().positive().optional(),
  })
  .passthrough();

const positive = z.number().int().positive();

export const llamaConfigSchema = z
  .object({
    architectures: z.array(z.string()).optional(),
    model_type: z.string().optional(),
    hidden_size: positive,
    intermediate_size: positive,
    num_hidden_layers: positive,
    num_attention_heads: positive,
    num_key_value_heads: positive.optional(),
    head_dim: positive.optional(),
    hidden_act: z.string().default('silu'),
    max_position_embeddings: positive.default(2048),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: ropeScalingSchema.nullable().default(null),
    tie_word_embeddings: z.boolean().default(false),
    vocab_size: positive.max(MAX_VOCAB),
    attention_bias: z.boolean().default(false),
    mlp_bias: z.boolean().default(false),
    torch_dtype: z.string().optional(),
    bos_token_id: z.number().int().nullable().optional(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullable().optional(),
    pad_token_id: z.number().int().nullable().optional(),
  })
  .passthrough();

/** The config with every default filled and the derived sizes our code uses. */
export interface LlamaConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: z.infer<typeof ropeScalingSchema> | null;
  tiedEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** the parsed JSON, for writing a folder back out */
  raw: z.infer<typeof llamaConfigSchema>;
}

export function parseLlamaConfig(json: unknown, where = 'config.json'): LlamaConfig {
  const parsed = llamaConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new LlamaConfigError(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const c = parsed.data;
  const fail = (msg: string): never => {
    throw new LlamaConfigError(`${where}: ${msg}`);
  };
  if (c.architectures && !c.architectures.includes('LlamaForCausalLM')) {
    fail(`architectures ${JSON.stringify(c.architectures)} has no LlamaForCausalLM; only LLaMA-architecture checkpoints import`);
  }
  if (c.model_type !== undefined && c.model_type !== 'llama') fail(`model_type "${c.model_type}" is not "llama"`);
  if (c.hidden_act !== 'silu') fail(`hidden_act "${c.hidden_act}" is not supported (LLaMA's SwiGLU MLP uses "silu")`);
  if (c.attention_bias) fail('attention_bias: true is not supported (LLaMA projections have no bias)');
  if (c.mlp_bias) fail('mlp_bias: true is not supported (LLaMA projections have no bias)');
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0) fail(`num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim)) fail(`hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}, and no head_dim is given`);
  if (headDim % 2 !== 0) fail(`head_dim ${headDim} is odd; rotary embeddings rotate pairs`);
  if (c.rope_scaling) {
    const type = c.rope_scaling.rope_type ?? c.rope_scaling.type ?? 'default';
    if (!['default', 'linear', 'llama3'].includes(type)) fail(`rope_scaling type "${type}" is not supported (default, linear and llama3 are)`);
    if (type !== 'default' && c.rope_scaling.factor === undefined) fail(`rope_scaling "${type}" needs a factor`);
    if (type === 'llama3') {
      const s = c.rope_scaling;
      if (s.low_freq_factor === undefined || s.high_freq_factor === undefined || s.original_max_position_embeddings === undefined) {
        fail('rope_scaling "llama3" needs low_freq_factor, high_freq_factor and original_max_position_embeddings');
      }
      if (s.high_freq_factor! <= s.low_freq_factor!) fail('rope_scaling "llama3": high_freq_factor must exceed low_freq_factor');
    }
  }
  const eos = c.eos_token_id;
  return {
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads,
    headDim,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    ropeScaling: c.rope_scaling,
    tiedEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    raw: c,
  };
}

/**
 * RoPE's inverse frequencies, one per rotated pair (transformers' rope_init functions): the
 * importer turns them into the fixed-point cos/sin tables the package stores.
 */
export function ropeInverseFrequencies(c: LlamaConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
  const s = c.ropeScaling;
  const type = s ? s.rope_type ?? s.type ?? 'default' : 'default';
  if (type === 'linear') for (let i = 0; i < half; i++) inv[i] /= s!.factor!;
  if (type === 'llama3') {
    const factor = s!.factor!;
    const low = s!.low_freq_factor!;
    const high = s!.high_freq_factor!;
    const oldContext = s!.original_max_position_embeddings!;
    const lowWavelen = oldContext / low;
    const highWavelen = oldContext / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) {
        inv[i] /= factor;
        continue;
      }
      const smooth = (oldContext / wavelen - low) / (high - low);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** The sizes and constants of a LLaMA, in our names (config.json's, less what we leave at defaults). */
export interface LlamaShape {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  tiedEmbeddings: boolean;
}

/** config.json for a LLaMA of the given sizes, as transformers writes it. */
export function llamaConfigJson(
  s: LlamaShape & { torchDtype: 'float32' | 'float16' | 'bfloat16'; headDim?: number; bosTokenId?: number; eosTokenId?: number },
): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: s.hiddenSize,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: s.headDim ?? s.hiddenSize / s.heads,
    hidden_act: 'silu',
    max_position_embeddings: s.maxPositions,
    rms_norm_eps: s.rmsNormEps,
    rope_theta: s.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: s.tiedEmbeddings,
    vocab_size: s.vocabSize,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: s.torchDtype,
    bos_token_id: s.bosTokenId ?? 1,
    eos_token_id: s.eosTokenId ?? 2,
  };
}
