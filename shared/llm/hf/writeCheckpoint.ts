/**
 * Writes a LlamaForCausalLM folder the way transformers' save_pretrained does (config.json,
 * safetensors shards named model-0000i-of-0000n with model.safetensors.index.json above one
 * shard, tokenizer.json when given), streaming every tensor in row chunks: the trained tiny model
 * and the random-weight 1b/7b benchmark shapes are written with it and then imported like any download.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLlamaConfig } from './config';
import { INDEX_FILE, SINGLE_FILE, TOKENIZER_FILE } from './checkpoint';
import { expectedTensors } from './names';
import { SAFETENSORS_DTYPE_SIZE, SafetensorsWriter, type FloatDtype } from './safetensors';

/** Rows [rowStart, rowStart + rowCount) of a tensor, row-major float32. */
export type TensorSource = (name: string, shape: readonly number[], rowStart: number, rowCount: number) => Float32Array;

export interface WriteCheckpointOptions {
  dtype: FloatDtype;
  /** transformers' default max_shard_size is 5 GB */
  maxShardBytes?: number;
  /** elements per write; bounds the writer's memory */
  chunkElements?: number;
  tokenizerJson?: string;
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

export function writeLlamaCheckpoint(dir: string, configJson: Record<string, unknown>, source: TensorSource, opts: WriteCheckpointOptions): { files: string[]; totalBytes: number } {
  const config = parseLlamaConfig(configJson, 'the config to write');
  const maxShard = opts.maxShardBytes ?? 5e9;
  const chunkElements = opts.chunkElements ?? 1 << 24;
  const elemSize = SAFETENSORS_DTYPE_SIZE[opts.dtype];
  const tensors = expectedTensors(config).map((t) => ({ ...t, bytes: t.shape.reduce((a, b) => a * b, 1) * elemSize }));
  const shards: (typeof tensors)[] = [[]];
  let shardBytes = 0;
  for (const t of tensors) {
    if (shardBytes > 0 && shardBytes + t.bytes > maxShard) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1].push(t);
    shardBytes += t.bytes;
  }
  const totalBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const pad = (n: number) => String(n).padStart(5, '0');
  const names = shards.length === 1 ? [SINGLE_FILE] : shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  let written = 0;
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const w = new SafetensorsWriter(join(dir, names[i]), shard.map((t) => ({ name: t.name, dtype: opts.dtype, shape: t.shape })));
    for (const t of shard) {
      weightMap[t.name] = names[i];
      const rows = t.shape[0];
      const rowElems = t.shape.length > 1 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const step = Math.max(1, Math.floor(chunkElements / rowElems));
      for (let r = 0; r < rows; r += step) {
        const count = Math.min(step, rows - r);
        const values = source(t.name, t.shape, r, count);
        if (values.length !== count * rowElems) throw new Error(`tensor source gave ${values.length} values for ${count} rows of ${t.name} (want ${count * rowElems})`);
        w.write(values);
        written += values.length * elemSize;
        opts.onProgress?.(written, totalBytes);
      }
    }
    w.close();
  });
  if (shards.length > 1) {
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2) + '\n');
  }
  if (opts.tokenizerJson !== undefined) writeFileSync(join(dir, TOKENIZER_FILE), opts.tokenizerJson);
  return { files: names, totalBytes };
}
