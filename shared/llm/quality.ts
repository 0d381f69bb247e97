/**
 * How close an int8 generation package is to its float checkpoint (issue 12's quality gate):
 * perplexity on held-out text, the int8 side read from the package's own int32 logits (DenseWide)
 * while the text is forced through it as a prompt, and greedy continuations token by token.
 */
import { runGeneration } from '../dnn/generation';
import type { DnnModel } from '../dnn/model';
import type { FloatLlama } from './float/forward';
import { meanNll } from './float/forward';
import { generate, generationSteps, initialState } from './generate';

function nll(logits: ArrayLike<number>, scale: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] * scale);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] * scale - max);
  return Math.log(sum) + max - logits[target] * scale;
}

/** Mean NLL (nats per token) of each token after the first, by the int8 package. */
export function int8MeanNll(model: DnnModel, tokens: readonly number[]): number {
  const head = model.spec.nodes.findIndex((n) => n.op === 'DenseWide');
  const scale = model.tensorSpecs.get(model.spec.nodes[head].output)!.scale;
  // The whole text as the prompt, one token generated: step t reads token t and its logits predict t + 1.
  const start = initialState(model, tokens, { maxTokens: 1 });
  let total = 0;
  runGeneration(model, start, generationSteps(tokens.length, 1) - 1 || 1, {
    roots: false,
    onNode: (t, j, out) => {
      if (j === head && t + 1 < tokens.length) total += nll(out.data, scale, tokens[t + 1]);
    },
  });
  return total / (tokens.length - 1);
}

export interface QualityReport {
  tokens: number;
  floatPerplexity: number;
  int8Perplexity: number;
  /** int8 over float perplexity, minus 1 */
  perplexityIncrease: number;
  greedyTokens: number;
  /** free-running greedy continuations: tokens equal to float's at the same position */
  greedyAgreement: number;
  /** each position's int8 greedy token given float's own prefix: agreement without a divergence carrying over */
  teacherForcedAgreement: number;
}

/** Both measures over held-out sequences (perplexity) and prompts (greedy continuations of `maxTokens`). */
export function qualityReport(model: DnnModel, float: FloatLlama, sequences: readonly (readonly number[])[], prompts: readonly (readonly number[])[], maxTokens: number): QualityReport {
  let f = 0;
  let q = 0;
  let count = 0;
  for (const seq of sequences) {
    const n = seq.length - 1;
    f += meanNll(float, seq) * n;
    q += int8MeanNll(model, seq) * n;
    count += n;
  }
  let same = 0;
  let forced = 0;
  let total = 0;
  for (const prompt of prompts) {
    const ours = generate(model, prompt, { maxTokens }, { roots: false }).tokens;
    float.reset();
    const theirs = float.generateGreedy(prompt, maxTokens);
    for (let i = 0; i < maxTokens; i++) {
      if (ours[i] === theirs[i]) same++;
      const next = generate(model, [...prompt, ...theirs.slice(0, i)], { maxTokens: 1 }, { roots: false }).tokens[0];
      if (next === theirs[i]) forced++;
      total++;
    }
  }
  const floatPerplexity = Math.exp(f / count);
  const int8Perplexity = Math.exp(q / count);
  return {
    tokens: count,
    floatPerplexity,
    int8Perplexity,
    perplexityIncrease: int8Perplexity / floatPerplexity - 1,
    greedyTokens: total,
    greedyAgreement: same / total,
    teacherForcedAgreement: forced / total,
  };
}
