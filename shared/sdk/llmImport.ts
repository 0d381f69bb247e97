/**
 * `opml model import <hf-folder>`: a Hugging Face LlamaForCausalLM checkpoint folder (config.json,
 * safetensors, tokenizer.json) imported into an int8 generation package, calibrated on text through
 * the checkpoint's own tokenizer: the Brown corpus (held-out part), or a text file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readModelFiles } from '../dnn/files';
import type { DnnModel } from '../dnn/model';
import { brownSplit, paragraphText } from '../llm/datasets/brown';
import { LlamaCheckpoint } from '../llm/hf/checkpoint';
import { checkpointText, importLlamaGeneration, type LlamaLowerOptions } from '../llm/lower';
import { textTokenizer } from '../llm/tokenizer/json';
import { ModelPackageError } from './models';

export interface ImportCheckpointOptions {
  name?: string;
  /** KV cache rows: the longest prompt + generation a task may ask (default min(max positions, 256)) */
  context?: number;
  /** brown[:N] (N sequences of held-out Brown text, default 8) or a text file */
  calibration?: string;
  out?: string;
  onProgress?: LlamaLowerOptions['onProgress'];
}

/** Whether a path is a Hugging Face checkpoint folder (it holds config.json). */
export function isCheckpointFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'config.json'));
}

function calibrationTexts(source: string): string[] {
  const brown = /^brown(?::(\d+))?$/.exec(source);
  if (brown) {
    const count = Number(brown[1] ?? 8);
    if (!Number.isInteger(count) || count < 1) throw new ModelPackageError(`--calibration ${source}: the count must be a positive integer`);
    return brownSplit()
      .heldOut.flatMap((d) => d.paragraphs.map(paragraphText))
      .filter((p) => p.length > 200)
      .slice(0, count);
  }
  if (!existsSync(source)) throw new ModelPackageError(`--calibration ${source}: not brown[:N] and not a file`);
  return readFileSync(source, 'utf8').split(/\n\s*\n/).filter((p) => p.trim().length > 0).slice(0, 64);
}

export function importCheckpointFolder(dir: string, options: ImportCheckpointOptions = {}): { model: DnnModel; base: string } {
  const ckpt = LlamaCheckpoint.open(dir);
  try {
    const text = checkpointText(ckpt);
    if (!text) throw new ModelPackageError(`${dir} has no tokenizer.json: the package could only take token ids, and calibration needs text`);
    const tokenizer = textTokenizer(text, join(dir, 'tokenizer.json'));
    const context = options.context ?? Math.min(ckpt.config.maxPositions, 256);
    const sequences = calibrationTexts(options.calibration ?? 'brown')
      .map((t) => tokenizer.encode(t).slice(0, context))
      .filter((s) => s.length > 1);
    if (sequences.length === 0) throw new ModelPackageError('the calibration text gave no token sequences');
    const name = options.name ?? basename(resolve(dir));
    const base = options.out ?? join(resolve(dir, '..'), name);
    importLlamaGeneration(ckpt, base, { name, context, calibration: sequences, onProgress: options.onProgress });
    return { model: readModelFiles(base), base };
  } finally {
    ckpt.close();
  }
}
