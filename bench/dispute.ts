/**
 * Dispute game figures on the local chain (automine): a cheating provider against an honest
 * challenger, per scenario: on-chain moves per phase, gas per side, the largest transaction (and
 * the phase-link and final-step transactions), and wall time from the challenge to the slash.
 *
 *   npm run bench:dispute
 *
 * Synthetic graphs run by a small guest kernel (test/dispute/kernels/sum8.c), and the shipped model
 * packages (models/*.dnn.*, the ones present) run by the guest DNN kernels. Prints one JSON object
 * on its last line.
 */
import { performance } from 'node:perf_hooks';
import { id, TransactionReceipt } from 'ethers';
import type { Strategy } from '../shared/dispute/player';
import { dissectionPoints } from '../shared/dispute/spec';
import { challenge, commitTask, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from '../test/dispute/fixture';
import { computeTensors, randomInt8, syntheticGraph, testGraph, type InputPick, type SyntheticGraph } from '../test/dispute/synthetic';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readModelFiles } from '../shared/dnn/files';
import { buildKernelImage } from '../shared/dnn/guest/kernelImage';
import { allocTensor } from '../shared/dnn/tensor';
import { dnnDisputeGraph, dnnSlotTensors } from '../shared/dispute/dnnGraph';
import type { DisputeGraph } from '../shared/dispute/graph';

interface Scenario {
  name: string;
  graph: DisputeGraph;
  honest: Uint8Array[];
  claimed: Uint8Array[];
  /** How the cheating provider plays (default: consistently from its own wrong tensors). */
  providerStrategy?: Strategy;
}

/**
 * Wrong claims at every VM point past the middle of the run, right ones before: the game ends on an
 * instruction inside the kernel's loop (with its data proof), not on the halted state.
 */
const LYING_VM_STATES: Strategy = {
  move: (turn, honest) => {
    if (turn.phase !== 'VmBisect' || honest.kind !== 'bisect') return honest;
    const points = dissectionPoints(turn.game.lo, turn.game.hi).slice(1, -1);
    return { kind: 'bisect', values: honest.values.map((v, i) => (points[i] > LIE_FROM_STEP ? id(`lie ${points[i]}`) : v)) };
  },
};
const LIE_FROM_STEP = 777n;

/** A provider whose node `node` output has one byte off, not propagated. */
function cheatAt(honest: Uint8Array[], node: number, byte: number): Uint8Array[] {
  const claimed = honest.map((t) => Uint8Array.from(t));
  claimed[node][byte % claimed[node].length] ^= 1;
  return claimed;
}

function synthetic(name: string, s: SyntheticGraph, node: number): Scenario {
  const honest = computeTensors(s, randomInt8(s.elements, 42));
  return { name, graph: s.graph, honest, claimed: cheatAt(honest, node, s.elements - 3) };
}

function chain(nodes: number, elements: number): SyntheticGraph {
  const picks: InputPick[][] = Array.from({ length: nodes }, (_, n) => [['s', n], ['w', n % 2]]);
  return syntheticGraph(elements, [randomInt8(elements, 1), randomInt8(elements, 2)], picks);
}

/** A shipped model package, a deterministic input, and a provider wrong by one byte in the middle node's output. */
function packaged(name: string, elf: Uint8Array): Scenario | undefined {
  const base = join(__dirname, '..', 'models', name);
  if (!existsSync(`${base}.dnn.json`)) return undefined;
  const model = readModelFiles(base);
  const spec = model.tensorSpecs.get(model.spec.input)!;
  const input = allocTensor(spec.dtype, [...spec.shape]);
  for (let i = 0; i < input.data.length; i++) input.data[i] = spec.dtype === 'int32' ? i % 16 : ((i * 37) % 255) - 128;
  const graph = dnnDisputeGraph(model, elf);
  const honest = dnnSlotTensors(model, input);
  return { name, graph, honest, claimed: cheatAt(honest, Math.ceil(graph.nodes.length / 2), 5) };
}

function scenarios(): Scenario[] {
  const elf = buildKernelImage().elf;
  return [
    synthetic('sum8 18 nodes x 40 elements', testGraph(), 11),
    synthetic('sum8 300 nodes x 4096 elements', chain(300, 4096), 123),
    { ...synthetic('sum8 18 nodes, provider lying about VM states from step 778', testGraph(), 11), providerStrategy: LYING_VM_STATES },
    ...['mnist-mlp', 'mnist-cnn', 'charlm'].map((m) => packaged(m, elf)).filter((x): x is Scenario => x !== undefined),
  ];
}

async function measure(f: DisputeFixture, sc: Scenario) {
  const graph = sc.graph;
  const modelId = await registerModel(f, { graph });
  const [provider, challenger] = f.actors;
  const taskId = await commitTask(f, modelId, provider, { graph }, sc.claimed);
  const t0 = performance.now();
  const first = (await f.provider.getBlockNumber()) + 1;
  const gameId = await challenge(f, challenger, taskId);
  await playOut(f, [player(f, 'provider', provider, gameId, { graph }, sc.claimed, sc.providerStrategy), player(f, 'challenger', challenger, gameId, { graph }, sc.honest)]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const last = await f.provider.getBlockNumber();

  const gameAddress = (await f.game.getAddress()).toLowerCase();
  const marketAddress = (await f.m.market.getAddress()).toLowerCase();
  const moves: Record<string, number> = {};
  const gasBySide: Record<string, bigint> = { provider: 0n, challenger: 0n };
  const gasByMove: Record<string, number[]> = {};
  let largest = { move: '', gas: 0n };
  for (let b = first; b <= last; b++) {
    const block = await f.provider.getBlock(b, true);
    for (const tx of block!.prefetchedTransactions) {
      const to = tx.to?.toLowerCase();
      if (to !== gameAddress && to !== marketAddress) continue;
      const receipt = (await f.provider.getTransactionReceipt(tx.hash)) as TransactionReceipt;
      const name = to === gameAddress ? f.game.interface.parseTransaction(tx)!.name : `market.${f.m.market.interface.parseTransaction(tx)!.name}`;
      moves[name] = (moves[name] ?? 0) + 1;
      (gasByMove[name] ??= []).push(Number(receipt.gasUsed));
      const side = tx.from.toLowerCase() === provider.address.toLowerCase() ? 'provider' : 'challenger';
      gasBySide[side] += receipt.gasUsed;
      if (receipt.gasUsed > largest.gas) largest = { move: name, gas: receipt.gasUsed };
    }
  }
  const game = await f.game.getGame(gameId);
  const linked = await f.game.queryFilter(f.game.filters.NodeLinked(gameId));
  const bisections = await f.game.queryFilter(f.game.filters.Bisected(gameId));
  return {
    scenario: sc.name,
    nodes: graph.nodes.length,
    outcome: Number(game.outcome) === 2 ? 'ChallengerWon' : 'ProviderWon',
    disputedNode: Number(game.node),
    stepBound: Number(linked[0]?.args.stepBound ?? 0),
    graphRounds: bisections.filter((e) => Number(e.args.phase) === 2).length,
    vmRounds: bisections.filter((e) => Number(e.args.phase) === 5).length,
    moves,
    maxGasByMove: Object.fromEntries(Object.entries(gasByMove).map(([k, v]) => [k, Math.max(...v)])),
    gasBySide: Object.fromEntries(Object.entries(gasBySide).map(([k, v]) => [k, Number(v)])),
    largestTx: { move: largest.move, gas: Number(largest.gas) },
    wallSeconds: Number(wallSeconds.toFixed(2)),
  };
}

async function main(): Promise<void> {
  const f = await startDisputeFixture(2);
  try {
    const results = [];
    for (const sc of scenarios()) {
      const r = await measure(f, sc);
      console.log(`${r.scenario}: ${r.outcome}, ${r.graphRounds} graph + ${r.vmRounds} VM rounds, largest tx ${r.largestTx.move} ${r.largestTx.gas} gas, ${r.wallSeconds} s`);
      results.push(r);
    }
    console.log(JSON.stringify({ bench: 'dispute', scenarios: results }));
  } finally {
    await f.stop();
  }
}

void main();
