/** The tensor names and shapes of a transformers `LlamaForCausalLM` state dict. */
import type { LlamaConfig } from './config';

export const EMBED = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';

export function layerNames(i: number) {
  const p = `model.layers.${i}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    q: `${p}.self_attn.q_proj.weight`,
    k: `${p}.self_attn.k_proj.weight`,
    v: `${p}.self_attn.v_proj.weight`,
    o: `${p}.self_attn.o_proj.weight`,
    postNorm: `${p}.post_attention_layernorm.weight`,
    gate: `${p}.mlp.gate_proj.weight`,
    up: `${p}.mlp.up_proj.weight`,
    down: `${p}.mlp.down_proj.weight`,
  };
}
export type LayerNames = ReturnType<typeof layerNames>;

/** Older exports also save RoPE's inverse frequencies; we recompute them from the config. */
export const IGNORED_TENSOR = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** Every tensor the config implies, in the order transformers saves them, with its shape. */
export function expectedTensors(c: LlamaConfig): { name: string; shape: number[] }[] {
  const d = c.hiddenSize;
  const out = [{ name: EMBED, shape: [c.vocabSize, d] }];
  for (let i = 0; i < c.layers; i++) {
    const n = layerNames(i);
    out.push(
      { name: n.q, shape: [c.heads * c.headDim, d] },
      { name: n.k, shape: [c.kvHeads * c.headDim, d] },
      { name: n.v, shape: [c.kvHeads * c.headDim, d] },
      { name: n.o, shape: [d, c.heads * c.headDim] },
      { name: n.gate, shape: [c.intermediateSize, d] },
      { name: n.up, shape: [c.intermediateSize, d] },
      { name: n.down, shape: [d, c.intermediateSize] },
      { name: n.inputNorm, shape: [d] },
      { name: n.postNorm, shape: [d] },
    );
  }
  out.push({ name: FINAL_NORM, shape: [d] });
  if (!c.tiedEmbeddings) out.push({ name: LM_HEAD, shape: [c.vocabSize, d] });
  return out;
}

/** Parameters the config implies (tied embeddings counted once). */
export function parameterCount(c: LlamaConfig): number {
  return expectedTensors(c).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
}
