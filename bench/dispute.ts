/**
 * Dispute game figures on the local chain (automine): a cheating provider against an honest
 * challenger, per scenario: on-chain moves per phase, gas per side, the largest transaction (and
 * the phase-link and final-step transactions), and wall time from the challenge to the slash.
 *
 *   npm run bench:dispute
 *
 * Synthetic graphs run by a real guest kernel (test/dispute/kernels/sum8.c); the MNIST models join
 * once the guest DNN kernels land. Prints one JSON object on its last line.
 */
import { performance } from 'node:perf_hooks';
import { TransactionReceipt } from 'ethers';
import { challenge, commitTask, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from '../test/dispute/fixture';
import { computeTensors, randomInt8, syntheticGraph, testGraph, type InputPick, type SyntheticGraph } from '../test/dispute/synthetic';

interface Scenario {
  name: string;
  graph: () => SyntheticGraph;
  cheat: { node: number; element: number; delta: number; propagate: boolean };
}

function chain(nodes: number, elements: number): SyntheticGraph {
  const picks: InputPick[][] = Array.from({ length: nodes }, (_, n) => [['s', n], ['w', n % 2]]);
  return syntheticGraph(elements, [randomInt8(elements, 1), randomInt8(elements, 2)], picks);
}

const SCENARIOS: Scenario[] = [
  { name: 'sum8 18 nodes x 40 elements', graph: testGraph, cheat: { node: 11, element: 37, delta: -1, propagate: false } },
  { name: 'sum8 300 nodes x 4096 elements', graph: () => chain(300, 4096), cheat: { node: 123, element: 4000, delta: 1, propagate: true } },
];

async function measure(f: DisputeFixture, sc: Scenario) {
  const s = sc.graph();
  const modelId = await registerModel(f, s);
  const [provider, challenger] = f.actors;
  const input = randomInt8(s.elements, 42);
  const honest = computeTensors(s, input);
  const claimed = computeTensors(s, input, sc.cheat);
  const taskId = await commitTask(f, modelId, provider, s, claimed);
  const t0 = performance.now();
  const first = (await f.provider.getBlockNumber()) + 1;
  const gameId = await challenge(f, challenger, taskId);
  await playOut(f, [player(f, 'provider', provider, gameId, s, claimed), player(f, 'challenger', challenger, gameId, s, honest)]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const last = await f.provider.getBlockNumber();

  const gameAddress = (await f.game.getAddress()).toLowerCase();
  const moves: Record<string, number> = {};
  const gasBySide: Record<string, bigint> = { provider: 0n, challenger: 0n };
  const gasByMove: Record<string, number[]> = {};
  let largest = { move: '', gas: 0n };
  for (let b = first; b <= last; b++) {
    const block = await f.provider.getBlock(b, true);
    for (const tx of block!.prefetchedTransactions) {
      if (tx.to?.toLowerCase() !== gameAddress && tx.to?.toLowerCase() !== (await f.m.market.getAddress()).toLowerCase()) continue;
      const receipt = (await f.provider.getTransactionReceipt(tx.hash)) as TransactionReceipt;
      const name = tx.to!.toLowerCase() === gameAddress ? f.game.interface.parseTransaction(tx)!.name : `market.${f.m.market.interface.parseTransaction(tx)!.name}`;
      const phaseName = name === 'bisect' || name === 'choose' ? `${name}` : name;
      moves[phaseName] = (moves[phaseName] ?? 0) + 1;
      (gasByMove[phaseName] ??= []).push(Number(receipt.gasUsed));
      const side = tx.from.toLowerCase() === provider.address.toLowerCase() ? 'provider' : 'challenger';
      gasBySide[side] += receipt.gasUsed;
      if (receipt.gasUsed > largest.gas) largest = { move: name, gas: receipt.gasUsed };
    }
  }
  const game = await f.game.getGame(gameId);
  const bisections = await f.game.queryFilter(f.game.filters.Bisected(gameId));
  return {
    scenario: sc.name,
    nodes: s.graph.nodes.length,
    outcome: Number(game.outcome) === 2 ? 'ChallengerWon' : 'ProviderWon',
    graphRounds: bisections.filter((e) => Number(e.args.phase) === 2).length,
    vmRounds: bisections.filter((e) => Number(e.args.phase) === 5).length,
    stepBound: Number(game.hi) > 0 ? undefined : undefined,
    moves,
    gasByMove: Object.fromEntries(Object.entries(gasByMove).map(([k, v]) => [k, Math.max(...v)])),
    gasBySide: Object.fromEntries(Object.entries(gasBySide).map(([k, v]) => [k, Number(v)])),
    largestTx: { move: largest.move, gas: Number(largest.gas) },
    wallSeconds: Number(wallSeconds.toFixed(2)),
  };
}

async function main(): Promise<void> {
  const f = await startDisputeFixture(2);
  try {
    const results = [];
    for (const sc of SCENARIOS) {
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
