/**
 * Opening Hugging Face LlamaForCausalLM folders: single-file and sharded checkpoints in each float
 * dtype, written the way save_pretrained lays them out, and every broken download refused with the
 * file and tensor named.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, LlamaConfigError } from '../../shared/llm/errors';
import { INDEX_FILE, LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson, parseLlamaConfig, ropeInverseFrequencies } from '../../shared/llm/hf/config';
import { halfToFloatTable, floatToHalfBits } from '../../shared/llm/hf/float16';
import { EMBED, expectedTensors, layerNames, LM_HEAD, parameterCount } from '../../shared/llm/hf/names';
import { SafetensorsWriter } from '../../shared/llm/hf/safetensors';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { LLAMA_SHAPES, randomLlamaWeights, shapeConfigJson } from '../../shared/llm/shapes';

const small = { hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, kvHeads: 2, vocabSize: 50, maxPositions: 64, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false };

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-ckpt-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const folder = (name: string, over: Partial<typeof small> = {}, opts: { dtype?: 'F32' | 'F16' | 'BF16'; maxShardBytes?: number } = {}) => {
  const dir = join(root, name);
  writeLlamaCheckpoint(dir, llamaConfigJson({ ...small, ...over, torchDtype: 'float32' }), randomLlamaWeights(7), { dtype: opts.dtype ?? 'F32', maxShardBytes: opts.maxShardBytes, chunkElements: 100 });
  return dir;
};

const openError = (dir: string): Error => {
  try {
    LlamaCheckpoint.open(dir).close();
  } catch (e) {
    return e as Error;
  }
  throw new Error('opened');
};

describe('config.json', () => {
  test('fills transformers defaults and derives head_dim and KV heads', () => {
    const c = parseLlamaConfig({ hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 8, vocab_size: 100, eos_token_id: [2, 9] });
    expect(c).toMatchObject({ headDim: 8, kvHeads: 8, rmsNormEps: 1e-6, ropeTheta: 10000, tiedEmbeddings: false, eosTokenIds: [2, 9] });
  });

  test.each([
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ attention_bias: true }, /attention_bias/],
    [{ architectures: ['MistralForCausalLM'] }, /no LlamaForCausalLM/],
    [{ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling type "yarn" is not supported/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /needs low_freq_factor/],
    [{ vocab_size: 200000 }, /vocab_size/],
    [{ hidden_size: 'big' }, /hidden_size/],
  ])('refuses %j', (over, message) => {
    expect(() => parseLlamaConfig({ hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 8, vocab_size: 100, ...over })).toThrow(LlamaConfigError);
    expect(() => parseLlamaConfig({ hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 8, vocab_size: 100, ...over })).toThrow(message);
  });

  test('RoPE frequencies follow transformers, including Llama 3 scaling', () => {
    const base = parseLlamaConfig({ hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 100, rope_theta: 500000 });
    const inv = ropeInverseFrequencies(base);
    expect(inv.length).toBe(16);
    expect(inv[0]).toBe(1);
    expect(inv[5]).toBeCloseTo(500000 ** (-10 / 32), 15);
    const scaled = ropeInverseFrequencies(parseLlamaConfig({ ...base.raw, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }));
    for (let i = 0; i < 16; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen < 8192 / 4) expect(scaled[i]).toBe(inv[i]);
      else if (wavelen > 8192) expect(scaled[i]).toBeCloseTo(inv[i] / 8, 15);
      else {
        const smooth = (8192 / wavelen - 1) / 3;
        expect(scaled[i]).toBeCloseTo((1 - smooth) * (inv[i] / 8) + smooth * inv[i], 15);
      }
    }
    expect(new Set(scaled).size).toBe(16);
    const linear = ropeInverseFrequencies(parseLlamaConfig({ ...base.raw, rope_scaling: { type: 'linear', factor: 2 } }));
    expect(linear[3]).toBeCloseTo(inv[3] / 2, 15);
  });

  test('the benchmark shapes are TinyLlama-1.1B and LLaMA-2-7B', () => {
    expect(parameterCount(parseLlamaConfig(shapeConfigJson(LLAMA_SHAPES['1b'])))).toBe(1_100_048_384);
    expect(parameterCount(parseLlamaConfig(shapeConfigJson(LLAMA_SHAPES['7b'])))).toBe(6_738_415_616);
  });
});

describe('LlamaCheckpoint', () => {
  test('opens a single-file checkpoint and reads every tensor as written', () => {
    const dir = folder('single');
    const ckpt = LlamaCheckpoint.open(dir);
    try {
      const source = randomLlamaWeights(7);
      for (const t of expectedTensors(ckpt.config)) expect(ckpt.read(t.name)).toEqual(source(t.name, t.shape, 0, t.shape[0]));
      expect(ckpt.lmHeadName).toBe(LM_HEAD);
      expect(ckpt.tokenizerPath).toBeUndefined();
      expect(ckpt.weightBytes).toBe(parameterCount(ckpt.config) * 4);
    } finally {
      ckpt.close();
    }
  });

  test('opens a sharded fp16 checkpoint through its index; rows read from any shard', () => {
    const dir = folder('sharded', {}, { dtype: 'F16', maxShardBytes: 8000 });
    const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8'));
    const shards = new Set(Object.values(index.weight_map));
    expect(shards.size).toBeGreaterThan(3);
    expect([...shards][0]).toMatch(/^model-00001-of-\d{5}\.safetensors$/);
    const ckpt = LlamaCheckpoint.open(dir);
    try {
      const down = layerNames(1).down;
      const want = randomLlamaWeights(7)(down, [32, 48], 5, 3);
      const table = halfToFloatTable();
      expect([...ckpt.readRows(down, 5, 3)]).toEqual([...want].map((v) => table[floatToHalfBits(v)]));
    } finally {
      ckpt.close();
    }
  });

  test('tied embeddings need no lm_head and use the embedding', () => {
    const ckpt = LlamaCheckpoint.open(folder('tied', { tiedEmbeddings: true }, { dtype: 'BF16' }));
    try {
      expect(ckpt.lmHeadName).toBe(EMBED);
    } finally {
      ckpt.close();
    }
  });

  test('refuses a config the weights do not match, naming the tensor', () => {
    const dir = folder('mismatch');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 40 }));
    const err = openError(dir);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toMatch(/model\.layers\.0\.mlp\.gate_proj\.weight has shape \[48,32\], but config\.json implies \[40,32\]/);
  });

  test('refuses a missing shard, a wrong index and a pickle-only folder', () => {
    const dir = folder('broken', {}, { maxShardBytes: 8000 });
    const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8'));
    const last = Object.values(index.weight_map).at(-1) as string;
    const moved = { ...index, weight_map: { ...index.weight_map, [EMBED]: last } };
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify(moved));
    expect(openError(dir).message).toMatch(/puts model\.embed_tokens\.weight in model-\d+-of-\d+\.safetensors, which does not hold it/);
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify(index));
    unlinkSync(join(dir, last));
    expect(openError(dir).message).toMatch(/is listed in model\.safetensors\.index\.json but missing: the download is incomplete/);

    const pickle = join(root, 'pickle');
    folder('pickle');
    unlinkSync(join(pickle, 'model.safetensors'));
    writeFileSync(join(pickle, 'pytorch_model.bin'), 'PK');
    expect(openError(pickle).message).toMatch(/only pickle weights.*safe_serialization=True/);
    expect(openError(join(root, 'nowhere')).message).toMatch(/no config\.json/);
  });

  test('refuses missing and foreign tensors, and integer weights', () => {
    const cfg = llamaConfigJson({ ...small, layers: 1, torchDtype: 'float32' });
    const c = parseLlamaConfig(cfg);
    const write = (name: string, drafts: { name: string; shape: number[]; dtype?: 'F32' }[]) => {
      const dir = join(root, name);
      folder(name, { layers: 1 });
      const w = new SafetensorsWriter(join(dir, 'model.safetensors'), drafts.map((d) => ({ dtype: 'F32' as const, ...d })));
      for (const d of drafts) w.write(new Float32Array(d.shape.reduce((a, b) => a * b, 1)));
      w.close();
      return dir;
    };
    const all = expectedTensors(c);
    expect(openError(write('missing', all.slice(1))).message).toMatch(/missing 1 tensor\(s\) the config implies: model\.embed_tokens\.weight/);
    expect(openError(write('foreign', [...all, { name: 'model.layers.0.self_attn.q_norm.weight', shape: [8] }])).message).toMatch(/does not have: model\.layers\.0\.self_attn\.q_norm\.weight/);
    expect(() => LlamaCheckpoint.open(write('invfreq', [...all, { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', shape: [4] }])).close()).not.toThrow();
  });
});
