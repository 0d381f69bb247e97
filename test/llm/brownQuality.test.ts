/**
 * The quality gate of the shipped text model (issue 12): models/llama-brown imported into its int8
 * generation package loses at most 3% of perplexity on held-out Brown text against the float
 * checkpoint, and its greedy continuations agree with float's. The figures are printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { brownSplit, paragraphText } from '../../shared/llm/datasets/brown';
import { FloatLlama, loadFloatWeights } from '../../shared/llm/float/forward';
import { promptIds } from '../../shared/llm/generate';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { qualityReport } from '../../shared/llm/quality';
import { importCheckpointFolder } from '../../shared/sdk/llmImport';

jest.setTimeout(300_000);

const FOLDER = resolve(__dirname, '..', '..', 'models', 'llama-brown');

it('int8 perplexity within 3% of float on held-out text; greedy continuations agree with float', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opml-quality-'));
  try {
    const { model } = importCheckpointFolder(FOLDER, { context: 128, calibration: 'brown:16', out: join(dir, 'pkg') });
    const ckpt = LlamaCheckpoint.open(FOLDER);
    const float = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
    ckpt.close();
    // Held-out paragraphs the calibration (the first 16) did not see.
    const paragraphs = brownSplit()
      .heldOut.flatMap((d) => d.paragraphs.map(paragraphText))
      .filter((p) => p.length > 300);
    const sequences = paragraphs.slice(20, 32).map((p) => promptIds(model, p).slice(0, 100));
    const prompts = paragraphs.slice(40, 50).map((p) => promptIds(model, p).slice(0, 12));
    const report = qualityReport(model, float, sequences, prompts, 16);
    process.stdout.write(`llama-brown quality: ${JSON.stringify(report)}\n`);
    expect(report.tokens).toBeGreaterThan(1000);
    expect(report.perplexityIncrease).toBeLessThanOrEqual(0.03);
    expect(report.teacherForcedAgreement).toBeGreaterThanOrEqual(0.9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
