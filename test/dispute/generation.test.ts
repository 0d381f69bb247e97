/**
 * Generation in the game: a LLaMA generation package (one step per position, KV caches carried
 * between steps) disputed over its unrolled graph. A provider that forges one generated token at a
 * middle position, and carries on consistently from it, is refuted down to one RV32IM step of that
 * step's Sample node; a forged KV cache is refuted at its KvWrite; an honest provider beats a
 * challenger who claims another continuation. Every input reference kind is exercised: this
 * step's slots, the previous step's state, carried caches (zero at step 0) and weights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFiles } from '../../shared/dnn/files';
import { runNode } from '../../shared/dnn/executor';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { STATE } from '../../shared/dnn/kernels/sample';
import type { DnnModel } from '../../shared/dnn/model';
import { allocTensor, tensorBytes, tensorFromBytes, type Tensor } from '../../shared/dnn/tensor';
import { dnnDisputeGraph, dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { CARRY_SOURCE, STATE_SOURCE, type DisputeGraph } from '../../shared/dispute/graph';
import { generationSteps, initialState } from '../../shared/llm/generate';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { importLlamaGeneration } from '../../shared/llm/lower';
import { randomLlamaWeights } from '../../shared/llm/shapes';
import type { Strategy } from '../../shared/dispute/player';
import { challenge, commitTask, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from './fixture';

jest.setTimeout(900_000);

const shape = { hiddenSize: 32, intermediateSize: 48, layers: 1, heads: 2, kvHeads: 1, vocabSize: 40, maxPositions: 16, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false };
const CONTEXT = 8;
const PROMPT = [3, 17];
const MAX_TOKENS = 3;

let f: DisputeFixture;
let root: string;
let model: DnnModel;
let graph: DisputeGraph;
let start: Tensor;
let steps: number;
let honest: Uint8Array[];
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'opml-gen-dispute-'));
  writeLlamaCheckpoint(join(root, 'ckpt'), llamaConfigJson({ ...shape, torchDtype: 'float32' }), randomLlamaWeights(21, 0.2), { dtype: 'F32' });
  const ckpt = LlamaCheckpoint.open(join(root, 'ckpt'));
  importLlamaGeneration(ckpt, join(root, 'gen'), { name: 'tiny-gen', context: CONTEXT, calibration: [[1, 5, 9, 13, 17, 21, 25, 29]] });
  ckpt.close();
  model = readModelFiles(join(root, 'gen'));
  graph = dnnDisputeGraph(model, buildKernelImage().elf);
  start = initialState(model, PROMPT, { maxTokens: MAX_TOKENS, temperature: 0.9, seed: 4242 });
  steps = generationSteps(PROMPT.length, MAX_TOKENS);
  honest = dnnSlotTensors(model, start, steps);
  f = await startDisputeFixture(2);
});
afterAll(async () => {
  await f?.stop();
  rmSync(root, { recursive: true, force: true });
});

const n = () => model.spec.nodes.length;
const slotOf = (step: number, node: number) => 1 + step * n() + node;

/**
 * A provider that forges node `node`'s output at step `step` (0-based) with `forge`, then computes
 * every later node and step honestly from there, as a consistent liar would.
 */
function lieFrom(step: number, node: number, forge: (t: Tensor) => void): Uint8Array[] {
  const out = honest.slice(0, slotOf(step, node)).map((b) => Uint8Array.from(b));
  const g = model.spec.generation!;
  const tensorAt = (slot: number, name: string) => {
    const spec = model.tensorSpecs.get(name)!;
    return tensorFromBytes(spec.dtype, [...spec.shape], out[slot]);
  };
  for (let t = step; t < steps; t++) {
    const values = new Map<string, Tensor>();
    values.set(g.state, t === 0 ? start : tensorAt(slotOf(t - 1, n() - 1), g.next));
    for (const c of g.carry) {
      const from = model.spec.nodes.findIndex((x) => x.output === c.from);
      values.set(c.to, t === 0 ? allocTensor('int8', [...model.tensorSpecs.get(c.to)!.shape]) : tensorAt(slotOf(t - 1, from), c.from));
    }
    model.spec.nodes.forEach((nd, j) => {
      let v: Tensor;
      if (t === step && j < node) v = tensorAt(slotOf(t, j), nd.output);
      else {
        v = runNode(model, nd, values);
        if (t === step && j === node) forge(v);
      }
      values.set(nd.output, v);
      if (!(t === step && j < node)) out[slotOf(t, j)] = Uint8Array.from(tensorBytes(v));
    });
  }
  return out;
}

async function play(claimed: Uint8Array[], challengerTensors: Uint8Array[], providerStrategy?: Strategy): Promise<{ outcome: bigint; node: bigint }> {
  const modelId = await registerModel(f, { graph });
  const [provider, challenger] = f.actors;
  const taskId = await commitTask(f, modelId, provider, { graph }, claimed);
  const gameId = await challenge(f, challenger, taskId);
  const log = await playOut(f, [player(f, 'provider', provider, gameId, { graph }, claimed, providerStrategy), player(f, 'challenger', challenger, gameId, { graph }, challengerTensors)]);
  expect(log).not.toContain('timeout-claimed');
  const game = await f.game.getGame(gameId);
  expect(game.steps).toBe(BigInt(steps));
  expect(game.nodeCount).toBe(BigInt(steps * n()));
  return { outcome: game.outcome, node: game.node };
}

it('the unrolled graph reads the previous step: state and caches by reference, caches zero at step 0', () => {
  expect(honest).toHaveLength(1 + steps * n());
  const sources = graph.nodes.flatMap((node) => node.inputs.map((i) => i.source));
  expect(sources.filter((s) => s === STATE_SOURCE).length).toBeGreaterThan(0);
  expect(sources.filter((s) => s === CARRY_SOURCE)).toHaveLength(2 * shape.layers);
});

it('refutes a forged token at a middle generated position, down to one step of that Sample', async () => {
  const sampleNode = n() - 1;
  const forgedStep = PROMPT.length; // the second generated token
  const claimed = lieFrom(forgedStep, sampleNode, (t) => {
    const next = t.data[STATE.position];
    t.data[STATE.token] = (t.data[STATE.token] + 1) % shape.vocabSize;
    t.data[STATE.tokens + next] = t.data[STATE.token];
  });
  expect(Buffer.from(claimed.at(-1)!).equals(Buffer.from(honest.at(-1)!))).toBe(false);
  const { outcome, node } = await play(claimed, honest);
  expect(outcome).toBe(2n); // ChallengerWon
  expect(node).toBe(BigInt(slotOf(forgedStep, sampleNode)));
});

it('refutes a forged KV cache at its KvWrite (a carried tensor read by the next step)', async () => {
  const kvNode = model.spec.nodes.findIndex((x) => x.op === 'KvWrite');
  const claimed = lieFrom(1, kvNode, (t) => {
    t.data[0] = t.data[0] === 127 ? -128 : t.data[0] + 1;
  });
  const { outcome, node } = await play(claimed, honest);
  expect(outcome).toBe(2n);
  expect(node).toBe(BigInt(slotOf(1, kvNode)));
});

it('an honest provider beats a challenger claiming another continuation', async () => {
  const liar = lieFrom(0, 0, (t) => {
    t.data[0] = t.data[0] === 127 ? -128 : t.data[0] + 1;
  });
  const { outcome } = await play(honest, liar);
  expect(outcome).toBe(1n); // ProviderWon
});

it('the link refuses a carried tensor at step 0 whose root is not zero bytes, and an input reference the registered record does not hold', async () => {
  const kvNode = model.spec.nodes.findIndex((x) => x.op === 'KvWrite' && x.inputs.length === 3);
  const carried = 2; // KvWrite's third input: the carried cache
  expect(graph.nodes[kvNode].inputs[carried].source).toBe(CARRY_SOURCE);
  const claimed = lieFrom(0, kvNode, (t) => {
    t.data[1] = t.data[1] === 127 ? -128 : t.data[1] + 1;
  });
  const reverts: string[] = [];
  const checking: Strategy = {
    move: (turn, honest) => {
      if (honest.kind !== 'link') return honest;
      const proof = honest.proof;
      const tamper = async (edit: (p: typeof proof) => typeof proof) => {
        try {
          await f.game.connect(f.actors[0]).link.staticCall(turn.gameId, edit(proof));
          reverts.push('accepted');
        } catch (e) {
          const err = f.game.interface.parseError((e as { data: string }).data);
          reverts.push(`${err?.name}(${err?.args[0]})`);
        }
      };
      const roots = [...(proof.inputRoots as string[])];
      roots[carried] = '0x' + '11'.repeat(32);
      void tamper((p) => ({ ...p, inputRoots: roots }));
      const inputs = (proof.node as { inputs: { source: number; index: number; addr: number; size: number }[] }).inputs.map((i) => ({ ...i }));
      inputs[carried] = { ...inputs[carried], source: STATE_SOURCE, index: 0 };
      void tamper((p) => ({ ...p, node: { ...(p.node as object), inputs } as typeof p.node }));
      return honest;
    },
  };
  const { outcome, node } = await play(claimed, honest, checking);
  expect(outcome).toBe(2n);
  expect(node).toBe(BigInt(slotOf(0, kvNode)));
  await new Promise((r) => setTimeout(r, 500));
  // A wrong carried root fails its zero-bytes check; a record edited to read node 0's "state" is no longer the registered record.
  expect(reverts.sort()).toEqual(['DisputeProofInvalid(carried input)', 'DisputeProofInvalid(node record)']);
});
