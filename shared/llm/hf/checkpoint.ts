/**
 * A Hugging Face LlamaForCausalLM folder, opened for streaming import: config.json, one
 * model.safetensors or shards listed by model.safetensors.index.json, and tokenizer.json.
 * Opening checks every tensor the config implies (name, shape, float dtype) before any weight
 * is read, so a wrong or partial download fails at once, naming the file and tensor.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CheckpointError, LlamaConfigError, SafetensorsError } from '../errors';
import { parseLlamaConfig, type LlamaConfig } from './config';
import { EMBED, expectedTensors, IGNORED_TENSOR, LM_HEAD } from './names';
import { FLOAT_DTYPES, SafetensorsFile, type SafetensorInfo } from './safetensors';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';
export const TOKENIZER_FILE = 'tokenizer.json';

const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string().regex(/^[^/\\]+\.safetensors$/, 'a .safetensors file name in the same folder')),
});

export class LlamaCheckpoint {
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly where = new Map<string, SafetensorsFile>();

  private constructor(
    readonly dir: string,
    readonly config: LlamaConfig,
  ) {}

  static open(dir: string): LlamaCheckpoint {
    const fail = (msg: string): never => {
      throw new CheckpointError(msg, dir);
    };
    const configPath = join(dir, 'config.json');
    if (!existsSync(configPath)) fail('no config.json: point at the folder a Hugging Face download made (it holds config.json and *.safetensors)');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch (e) {
      fail(`config.json is not JSON (${(e as Error).message})`);
    }
    let config: LlamaConfig;
    try {
      config = parseLlamaConfig(json, join(dir, 'config.json'));
    } catch (e) {
      if (e instanceof LlamaConfigError) throw new CheckpointError(e.message, dir);
      throw e;
    }
    const ckpt = new LlamaCheckpoint(dir, config);
    try {
      ckpt.openWeights();
      ckpt.checkTensors();
    } catch (e) {
      ckpt.close();
      if (e instanceof SafetensorsError) throw new CheckpointError(e.message, dir);
      throw e;
    }
    return ckpt;
  }

  private fail(msg: string): never {
    throw new CheckpointError(msg, this.dir);
  }

  private file(name: string): SafetensorsFile {
    let f = this.files.get(name);
    if (!f) {
      const path = join(this.dir, name);
      if (!existsSync(path)) this.fail(`${name} is listed in ${INDEX_FILE} but missing: the download is incomplete`);
      f = SafetensorsFile.open(path);
      this.files.set(name, f);
    }
    return f;
  }

  private openWeights(): void {
    const indexPath = join(this.dir, INDEX_FILE);
    if (existsSync(indexPath)) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(indexPath, 'utf8'));
      } catch (e) {
        this.fail(`${INDEX_FILE} is not JSON (${(e as Error).message})`);
      }
      const index = indexSchema.safeParse(raw);
      if (!index.success) this.fail(`${INDEX_FILE}: ${index.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      for (const [tensor, fileName] of Object.entries(index.data.weight_map)) {
        const f = this.file(fileName);
        if (!f.tensors.has(tensor)) this.fail(`${INDEX_FILE} puts ${tensor} in ${fileName}, which does not hold it`);
        this.where.set(tensor, f);
      }
      for (const f of this.files.values()) {
        for (const t of f.tensors.keys()) {
          if (this.where.get(t) !== f) this.fail(`${t} is in ${f.path} but ${INDEX_FILE} does not map it there`);
        }
      }
      return;
    }
    if (existsSync(join(this.dir, SINGLE_FILE))) {
      const f = this.file(SINGLE_FILE);
      for (const t of f.tensors.keys()) this.where.set(t, f);
      return;
    }
    if (existsSync(join(this.dir, 'pytorch_model.bin')) || existsSync(join(this.dir, 'pytorch_model.bin.index.json'))) {
      this.fail('only pickle weights (pytorch_model.bin) are here; we read safetensors only, since a pickle can run code. Download the safetensors files, or convert with transformers: model.save_pretrained(dir, safe_serialization=True)');
    }
    this.fail(`no ${SINGLE_FILE} and no ${INDEX_FILE}`);
  }

  private checkTensors(): void {
    const expected = expectedTensors(this.config);
    const want = new Set(expected.map((t) => t.name));
    const missing: string[] = [];
    for (const { name, shape } of expected) {
      const info = this.where.get(name)?.tensors.get(name);
      if (!info) {
        missing.push(name);
        continue;
      }
      if (!(FLOAT_DTYPES as readonly string[]).includes(info.dtype)) this.fail(`${name} is ${info.dtype}; weights must be F32, F16 or BF16 (quantized checkpoints such as GPTQ or AWQ are not imported)`);
      if (info.shape.join(',') !== shape.join(',')) this.fail(`${name} has shape [${info.shape}], but config.json implies [${shape}]`);
    }
    if (missing.length) this.fail(`missing ${missing.length} tensor(s) the config implies: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
    const extra = [...this.where.keys()].filter((n) => !want.has(n) && !IGNORED_TENSOR.test(n) && !(n === LM_HEAD && this.config.tiedEmbeddings));
    if (extra.length) this.fail(`${extra.length} tensor(s) a LlamaForCausalLM with this config does not have: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  }

  /** tokenizer.json's path, or undefined when the folder has none. */
  get tokenizerPath(): string | undefined {
    const p = join(this.dir, TOKENIZER_FILE);
    return existsSync(p) ? p : undefined;
  }

  /** The tensor the output projection reads: lm_head, or the embedding when they are tied. */
  get lmHeadName(): string {
    return this.config.tiedEmbeddings ? EMBED : LM_HEAD;
  }

  info(name: string): SafetensorInfo {
    const f = this.where.get(name);
    if (!f) this.fail(`no tensor ${name}`);
    return f.info(name);
  }

  /** Rows [start, start + count) of a tensor, as float32 (a weight matrix row is one output channel). */
  readRows(name: string, start: number, count: number): Float32Array {
    const f = this.where.get(name);
    if (!f) this.fail(`no tensor ${name}`);
    return f.readRows(name, start, count);
  }

  read(name: string): Float32Array {
    const f = this.where.get(name);
    if (!f) this.fail(`no tensor ${name}`);
    return f.read(name);
  }

  /** Bytes of weights on disk (what an import reads). */
  get weightBytes(): number {
    let n = 0;
    for (const f of this.files.values()) for (const t of f.tensors.values()) n += t.end - t.begin;
    return n;
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }
}
