/**
 * The protocol end to end on one chain, as `npm start` shows it and the integration test checks it:
 * the market with the real dispute game, the MNIST MLP and CNN registered from their packages,
 * tasks on real digits created with permits, an honest provider and a cheating one, a challenger
 * that recomputes every committed task and refutes the wrong one through the full game (graph
 * phase, link, VM phase, one-step proof), and the honest tasks finalized after the window.
 *
 * Inputs travel by CID; until the IPFS layer is wired in, the parties share them in memory.
 */
import { join, resolve } from 'node:path';
import { ZeroAddress, type JsonRpcProvider, type Signer } from 'ethers';
import type { DisputeGame } from '../../build/types';
import { deployMarket } from './deploy';
import { createTaskWithPermit, mine, TASK_STATUS, type TaskStatusName } from './tasks';
import { dnnSlotTensors } from '../dispute/dnnGraph';
import { graphStateAt } from '../dispute/graph';
import { moverOf, Player } from '../dispute/player';
import { PHASES, type PhaseName } from '../dispute/spec';
import { rawCid } from '../dnn/cid';
import { mnistTest } from '../dnn/datasets/mnist';
import { readModelFiles } from '../dnn/files';
import { buildKernelImage } from '../dnn/guest/kernelImage';
import { argmaxRows, quantizeInput } from '../dnn/io';
import { tensorBytes, tensorFromBytes, type Tensor } from '../dnn/tensor';
import { merkleRootOfBytes } from '../vm/merkle';
import { assertTaskDefensible } from '../models/defensible';
import { prepareModelRegistration, registerModel, type PreparedModel } from '../models/registration';

export const DEMO_TOKEN = 10n ** 18n;
export const DEMO_TERMS = {
  mint: 1_000n * DEMO_TOKEN,
  providerStake: 500n * DEMO_TOKEN,
  challengerStake: 200n * DEMO_TOKEN,
  bounty: 20n * DEMO_TOKEN,
  modelFee: DEMO_TOKEN,
  collateral: 100n * DEMO_TOKEN,
  challengeBond: 10n * DEMO_TOKEN,
  challengeWindow: 600n,
  clockSeconds: 3_600,
} as const;

const MODELS_DIR = resolve(__dirname, '..', '..', 'models');

export type DemoModelName = 'mnist-mlp' | 'mnist-cnn';
export type DemoRole = 'admin' | 'treasury' | 'modelOwner' | 'requester' | 'honest' | 'cheater' | 'challenger';
export type DemoParties = Record<DemoRole, Signer & { address: string }>;
export const DEMO_ROLES: readonly DemoRole[] = ['admin', 'treasury', 'modelOwner', 'requester', 'honest', 'cheater', 'challenger'];

/** The parties in DEMO_ROLES order from a list of funded accounts (at least DEMO_ROLES.length). */
export function demoParties(accounts: ReadonlyArray<Signer & { address: string }>): DemoParties {
  if (accounts.length < DEMO_ROLES.length) throw new RangeError(`the demo needs ${DEMO_ROLES.length} accounts, got ${accounts.length}`);
  const [admin, treasury, modelOwner, requester, honest, cheater, challenger] = accounts;
  return { admin, treasury, modelOwner, requester, honest, cheater, challenger };
}

/** Which digits are asked of which model, and who serves them: the cheater takes exactly one. */
export const DEMO_PLAN: ReadonlyArray<{ model: DemoModelName; digit: number; provider: 'honest' | 'cheater' }> = [
  { model: 'mnist-mlp', digit: 7, provider: 'honest' },
  { model: 'mnist-mlp', digit: 4, provider: 'cheater' },
  { model: 'mnist-cnn', digit: 2, provider: 'honest' },
  { model: 'mnist-cnn', digit: 1, provider: 'honest' },
];

export type DemoStage = 'deploy' | 'register' | 'stake' | 'task' | 'provider' | 'challenger' | 'dispute' | 'finalize';

export interface DemoProgress {
  elapsedMs: number;
  stage: DemoStage;
  message: string;
}

export interface DemoTask {
  taskId: bigint;
  model: DemoModelName;
  /** The digit's label in the data set. */
  digit: number;
  provider: 'honest' | 'cheater';
  /** argmax of the committed output bytes. */
  claimedClass: number;
  /** argmax of the honest computation. */
  computedClass: number;
  challenged: boolean;
  status: TaskStatusName;
}

export interface DemoPartyResult {
  role: DemoRole;
  address: string;
  walletDelta: bigint;
  stakeDelta: bigint;
  /** Gas of every transaction the party sent after the deployment. */
  gas: bigint;
}

export interface DemoDispute {
  taskId: bigint;
  gameId: bigint;
  /** Moves per phase, phases in the order first played. */
  moves: Array<{ phase: PhaseName; count: number }>;
  /** The node the graph phase narrowed to, and the VM step proven on-chain. */
  node: bigint;
  step: bigint;
  outcome: 'ProviderWon' | 'ChallengerWon';
  wallMs: number;
  gas: { provider: bigint; challenger: bigint };
}

export interface DemoResult {
  addresses: Record<string, string | null>;
  dispute: { game: string; verifier: string; disputeVersion: bigint; vmVersion: bigint; verifierCodeHash: string };
  models: Array<{ name: DemoModelName; modelId: bigint; graphSpecHash: string }>;
  tasks: DemoTask[];
  disputes: DemoDispute[];
  parties: DemoPartyResult[];
  totalMs: number;
}

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');
const tokens = (v: bigint): string => `${v / DEMO_TOKEN}${v % DEMO_TOKEN === 0n ? '' : '.' + (v % DEMO_TOKEN).toString().padStart(18, '0').replace(/0+$/, '')}`;

interface Committed {
  taskId: bigint;
  input: Tensor;
  prepared: PreparedModel;
  /** The provider's slot tensors: what it committed and would defend. */
  claimed: Uint8Array[];
  entry: (typeof DEMO_PLAN)[number];
}

/** The digits asked for: the first held-out sample of each planned label. */
function pickDigits(): Map<number, Float32Array> {
  const test = mnistTest();
  return new Map(DEMO_PLAN.map(({ digit }) => [digit, test.images[test.labels.indexOf(digit)]]));
}

/** A wrong answer that changes the predicted class: the true class's logit to the minimum, another to the maximum. */
function forgeOutput(prepared: PreparedModel, honest: Uint8Array): Uint8Array {
  const spec = prepared.model.tensorSpecs.get(prepared.model.spec.output)!;
  const t = tensorFromBytes(spec.dtype, [...spec.shape], honest);
  const truth = argmaxRows(t)[0];
  t.data[truth] = -128;
  t.data[(truth + 1) % t.data.length] = 127;
  return Uint8Array.from(tensorBytes(t));
}

async function gasBySender(provider: JsonRpcProvider, fromBlock: number, toBlock: number): Promise<Map<string, bigint>> {
  const gas = new Map<string, bigint>();
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      const receipt = await provider.getTransactionReceipt(tx.hash);
      const from = tx.from.toLowerCase();
      gas.set(from, (gas.get(from) ?? 0n) + (receipt?.gasUsed ?? 0n));
    }
  }
  return gas;
}

export async function runProtocolDemo(provider: JsonRpcProvider, parties: DemoParties, onProgress: (p: DemoProgress) => void = () => {}): Promise<DemoResult> {
  const started = Date.now();
  const say = (stage: DemoStage, message: string) => onProgress({ elapsedMs: Date.now() - started, stage, message });
  const { admin, treasury, modelOwner, requester, honest, cheater, challenger } = parties;

  const m = await deployMarket(admin, {
    treasury: treasury.address,
    disputeGame: true,
    disputeClockSeconds: DEMO_TERMS.clockSeconds,
    minStake: 100n * DEMO_TOKEN,
    challengeBond: DEMO_TERMS.challengeBond,
  });
  const { market, token, staking, registry } = m;
  const d = m.dispute!;
  const game: DisputeGame = d.contract;
  say('deploy', `market ${m.addresses.market}, dispute game ${d.game} (DISPUTE_VERSION ${d.disputeVersion}, VM_VERSION ${d.vmVersion})`);
  say('deploy', `one-step verifier ${d.verifier}, code hash ${d.verifierCodeHash}`);

  const kernel = buildKernelImage();
  say('register', `guest kernel image ${kernel.cid} (VM image root ${kernel.imageRoot})`);
  const prepared = new Map<DemoModelName, PreparedModel>();
  const modelIds = new Map<DemoModelName, bigint>();
  for (const name of ['mnist-mlp', 'mnist-cnn'] as const) {
    const p = prepareModelRegistration(readModelFiles(join(MODELS_DIR, name)), kernel, DEMO_TERMS.modelFee);
    const { modelId } = await registerModel(registry, modelOwner, p.spec);
    prepared.set(name, p);
    modelIds.set(name, modelId);
    say('register', `${name} registered as model ${modelId}: ${p.graph.nodes.length} nodes, graph commitment ${p.spec.graphSpecHash}`);
  }

  const marketAddress = await market.getAddress();
  const stakingAddress = await staking.getAddress();
  for (const who of [requester, honest, cheater, challenger]) await mine(token.connect(admin).mint(who.address, DEMO_TERMS.mint));
  for (const [who, amount] of [
    [honest, DEMO_TERMS.providerStake],
    [cheater, DEMO_TERMS.providerStake],
    [challenger, DEMO_TERMS.challengerStake],
  ] as const) {
    await mine(token.connect(who).approve(stakingAddress, amount));
    await mine(staking.connect(who).stake(amount));
  }
  await mine(token.connect(challenger).approve(marketAddress, DEMO_TERMS.challengeBond * 10n));
  say('stake', `honest and cheating providers stake ${tokens(DEMO_TERMS.providerStake)} OPML each, the challenger ${tokens(DEMO_TERMS.challengerStake)} OPML`);

  const roles = DEMO_ROLES.map((role) => ({ role, address: parties[role].address }));
  const walletsBefore = await Promise.all(roles.map((r) => token.balanceOf(r.address)));
  const stakesBefore = await Promise.all(roles.map((r) => staking.stakeOf(r.address)));
  const firstBlock = (await provider.getBlockNumber()) + 1;

  // The requester's inputs, reachable by CID for every party (in memory until IPFS is wired in).
  const inputsByCid = new Map<string, Tensor>();
  const committed: Committed[] = [];
  const digits = pickDigits();
  for (const entry of DEMO_PLAN) {
    const p = prepared.get(entry.model)!;
    const modelId = modelIds.get(entry.model)!;
    const input = quantizeInput(p.model, digits.get(entry.digit)!);
    const inputCid = rawCid(tensorBytes(input));
    inputsByCid.set(inputCid, input);
    const now = BigInt((await provider.getBlock('latest'))!.timestamp);
    const { taskId } = await createTaskWithPermit(
      market,
      token,
      requester,
      {
        modelId,
        inputRoot: hex(merkleRootOfBytes(tensorBytes(input))),
        inputCid,
        bounty: DEMO_TERMS.bounty,
        deadline: now + 3_600n,
        collateral: DEMO_TERMS.collateral,
        challengeWindow: DEMO_TERMS.challengeWindow,
        maxModelFee: DEMO_TERMS.modelFee,
        consumer: ZeroAddress,
        callbackGasLimit: 0n,
        steps: 1n,
      },
      now + 600n,
    );
    say('task', `task ${taskId}: requester asks ${entry.model} about a handwritten ${entry.digit} (bounty ${tokens(DEMO_TERMS.bounty)} OPML, one permit transaction)`);

    const serving = entry.provider === 'honest' ? honest : cheater;
    // A provider only takes work it could defend in a dispute.
    await assertTaskDefensible(market, registry, taskId, p);
    await mine(market.connect(serving).claim(taskId));
    const honestSlots = dnnSlotTensors(p.model, input);
    const claimed: Uint8Array[] = honestSlots.map((t) => Uint8Array.from(t));
    const out = p.graph.outputSlot;
    if (entry.provider === 'cheater') claimed[out] = forgeOutput(p, honestSlots[out]);
    const roots = claimed.map((t) => merkleRootOfBytes(t));
    await mine(market.connect(serving).commit(taskId, hex(roots[out]), graphStateAt(roots, roots.length - 1), claimed[out]));
    const claimedClass = argmaxOf(p, claimed[out]);
    say('provider', `task ${taskId}: ${entry.provider} provider claims, runs ${p.graph.nodes.length} nodes natively and commits class ${claimedClass}`);
    committed.push({ taskId, input, prepared: p, claimed, entry });
  }

  // The challenger sees only the chain and the CIDs: it recomputes every committed task.
  const disputes: DemoDispute[] = [];
  const tasks: DemoTask[] = [];
  for (const c of committed) {
    const task = await market.getTask(c.taskId);
    const [modelName, p] = [...prepared].find(([name]) => modelIds.get(name) === task.modelId)!;
    const created = (await market.queryFilter(market.filters.TaskCreated(c.taskId)))[0];
    const input = inputsByCid.get(created.args.inputCid as string)!;
    const recomputed = dnnSlotTensors(p.model, input);
    const myRoots = recomputed.map((t) => merkleRootOfBytes(t));
    const agrees = hex(myRoots[p.graph.outputSlot]) === task.outputRoot && graphStateAt(myRoots, myRoots.length - 1) === task.graphStateRoot;
    const computedClass = argmaxOf(p, recomputed[p.graph.outputSlot]);
    say('challenger', `task ${c.taskId} (${modelName}): recomputed class ${computedClass}, ${agrees ? 'agrees with the commitment' : 'DISAGREES: challenging'}`);
    if (!agrees) disputes.push(await playDispute(provider, game, market, c, recomputed, parties, say));
    tasks.push({
      taskId: c.taskId,
      model: modelName,
      digit: c.entry.digit,
      provider: c.entry.provider,
      claimedClass: argmaxOf(p, c.claimed[p.graph.outputSlot]),
      computedClass,
      challenged: !agrees,
      status: 'Committed',
    });
  }

  await provider.send('evm_increaseTime', [Number(DEMO_TERMS.challengeWindow) + 1]);
  await provider.send('evm_mine', []);
  say('finalize', `chain time +${DEMO_TERMS.challengeWindow + 1n} s: the challenge window is over`);
  for (const t of tasks) {
    if (TASK_STATUS[Number((await market.getTask(t.taskId)).status)] === 'Committed') {
      await mine(market.finalize(t.taskId));
      say('finalize', `task ${t.taskId} finalized: bounty to the provider, fee to the model owner, collateral unlocked`);
    }
    t.status = TASK_STATUS[Number((await market.getTask(t.taskId)).status)];
  }

  // The market pays by credit (docs/security.md finding 6): each party pulls what it was paid.
  for (const r of roles) {
    const credit = await market.creditOf(r.address);
    if (credit === 0n) continue;
    await mine(market.connect(parties[r.role]).withdraw(r.address));
    say('finalize', `${r.role} withdraws its credit: ${tokens(credit)} OPML`);
  }
  const owed = await staking.protocolShareOwed();
  if (owed > 0n) {
    await mine(staking.connect(parties.treasury).collectProtocolShare());
    say('finalize', `the treasury collects the protocol share of the slash: ${tokens(owed)} OPML`);
  }

  const gas = await gasBySender(provider, firstBlock, await provider.getBlockNumber());
  const walletsAfter = await Promise.all(roles.map((r) => token.balanceOf(r.address)));
  const stakesAfter = await Promise.all(roles.map((r) => staking.stakeOf(r.address)));
  return {
    addresses: { ...m.addresses, verifier: d.verifier },
    dispute: { game: d.game, verifier: d.verifier, disputeVersion: d.disputeVersion, vmVersion: d.vmVersion, verifierCodeHash: d.verifierCodeHash },
    models: [...modelIds].map(([name, modelId]) => ({ name, modelId, graphSpecHash: prepared.get(name)!.spec.graphSpecHash })),
    tasks,
    disputes,
    parties: roles.map((r, i) => ({
      ...r,
      walletDelta: walletsAfter[i] - walletsBefore[i],
      stakeDelta: stakesAfter[i] - stakesBefore[i],
      gas: gas.get(r.address.toLowerCase()) ?? 0n,
    })),
    totalMs: Date.now() - started,
  };
}

function argmaxOf(p: PreparedModel, bytes: Uint8Array): number {
  const spec = p.model.tensorSpecs.get(p.model.spec.output)!;
  return argmaxRows(tensorFromBytes(spec.dtype, [...spec.shape], bytes))[0];
}

const MOVE_TEXT: Partial<Record<PhaseName, (g: Awaited<ReturnType<DisputeGame['getGame']>>) => string>> = {
  Open: () => 'provider opens: graph facts checked against the registered commitment',
  GraphBisect: (g) => `provider posts graph-state roots inside nodes [${g.lo}, ${g.hi}]`,
  GraphChoose: (g) => `challenger picks the first disputed segment of nodes [${g.lo}, ${g.hi}]`,
  Link: (g) => `provider links node ${g.hi}: VM start state built from the agreed input, weight, image and parameter roots`,
  VmBisect: (g) => `provider posts VM state hashes inside steps [${g.lo}, ${g.hi}] of node ${g.node}`,
  VmChoose: (g) => `challenger picks the first disputed segment of steps [${g.lo}, ${g.hi}]`,
  Step: (g) => `challenger proves step ${g.lo} of node ${g.node} through the one-step verifier`,
};

async function playDispute(
  provider: JsonRpcProvider,
  game: DisputeGame,
  market: Awaited<ReturnType<typeof deployMarket>>['market'],
  c: Committed,
  honestSlots: Uint8Array[],
  parties: DemoParties,
  say: (stage: DemoStage, message: string) => void,
): Promise<DemoDispute> {
  const started = Date.now();
  const firstBlock = (await provider.getBlockNumber()) + 1;
  const receipt = await mine(market.connect(parties.challenger).challenge(c.taskId));
  const created = receipt.logs.map((l) => game.interface.parseLog(l)).find((e) => e?.name === 'GameCreated');
  const gameId = created!.args.gameId as bigint;
  const bond = (await market.getChallenge(c.taskId, created!.args.challengeIndex as bigint)).bond;
  say('dispute', `task ${c.taskId}: challenger posts a ${tokens(bond)} OPML bond (the floor plus 5% of bounty and collateral), game ${gameId} created`);
  const players = {
    provider: new Player('provider', game, parties.cheater, gameId, c.prepared.graph, c.claimed),
    challenger: new Player('challenger', game, parties.challenger, gameId, c.prepared.graph, honestSlots),
  };
  const moves: DemoDispute['moves'] = [];
  let node = 0n;
  let step = 0n;
  for (let round = 1; ; round++) {
    const g = await game.getGame(gameId);
    const phase = PHASES[Number(g.phase)];
    if (phase === 'Resolved') break;
    if (round > 500) throw new Error(`game ${gameId} not resolved after 500 moves`);
    if (phase === 'Step') [node, step] = [g.node, g.lo];
    await players[moverOf(phase)].act();
    const seen = moves.find((m) => m.phase === phase);
    if (seen) seen.count++;
    else moves.push({ phase, count: 1 });
    say('dispute', `round ${round} ${phase}: ${MOVE_TEXT[phase]?.(g) ?? moverOf(phase)}`);
  }
  const outcome = (await game.getGame(gameId)).outcome === 2n ? 'ChallengerWon' : 'ProviderWon';
  const wallMs = Date.now() - started;
  const gas = await gasBySender(provider, firstBlock, await provider.getBlockNumber());
  const status = TASK_STATUS[Number((await market.getTask(c.taskId)).status)];
  const consequence = outcome === 'ChallengerWon' ? "the provider's collateral slashed, the bond returned with a reward" : "the challenger's bond forfeited";
  say('dispute', `game ${gameId}: ${outcome} in ${(wallMs / 1000).toFixed(1)} s; task ${c.taskId} ${status}, ${consequence}`);
  return {
    taskId: c.taskId,
    gameId,
    moves,
    node,
    step,
    outcome,
    wallMs,
    gas: { provider: gas.get(parties.cheater.address.toLowerCase()) ?? 0n, challenger: gas.get(parties.challenger.address.toLowerCase()) ?? 0n },
  };
}
