/**
 * The `npm start` flow in-process on a real local chain: the real dispute game refutes the cheating
 * provider through every phase, the honest tasks finalize, and every party's wallet and stake move
 * exactly as the market's economics say.
 */
import { keccak256 } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { DEMO_PLAN, DEMO_ROLES, DEMO_TERMS, demoParties, runProtocolDemo, type DemoProgress, type DemoResult } from '../../shared/market/protocolDemo';

jest.setTimeout(300_000);

const PROTOCOL_SHARE_BPS = 2_000n; // deployMarket's default, which the demo keeps

let chain: LocalChain;
let result: DemoResult;
const progress: DemoProgress[] = [];

beforeAll(async () => {
  chain = await startLocalChain({ accounts: DEMO_ROLES.length });
  result = await runProtocolDemo(chain.provider, demoParties(chain.wallets), (p) => progress.push(p));
});
afterAll(async () => chain?.stop());

const party = (role: string) => result.parties.find((p) => p.role === role)!;

it('finalizes the honest tasks and refutes exactly the cheating one', () => {
  expect(result.tasks.map((t) => [t.provider, t.challenged, t.status])).toEqual(
    DEMO_PLAN.map((e) => (e.provider === 'honest' ? ['honest', false, 'Finalized'] : ['cheater', true, 'Refuted'])),
  );
  for (const t of result.tasks) {
    expect(t.computedClass).toBe(t.digit);
    if (t.provider === 'honest') expect(t.claimedClass).toBe(t.computedClass);
    else expect(t.claimedClass).not.toBe(t.computedClass);
  }
});

it('plays the full game: graph phase, link, VM phase and one step, won by the challenger', () => {
  expect(result.disputes).toHaveLength(1);
  const [d] = result.disputes;
  expect(d.outcome).toBe('ChallengerWon');
  expect(d.moves.map((m) => m.phase)).toEqual(['Open', 'GraphBisect', 'GraphChoose', 'Link', 'VmBisect', 'VmChoose', 'Step']);
  expect(d.moves.find((m) => m.phase === 'Step')!.count).toBe(1);
  expect(d.gas.provider).toBeGreaterThan(0n);
  expect(d.gas.challenger).toBeGreaterThan(0n);
  expect(progress.filter((p) => p.stage === 'dispute').length).toBeGreaterThanOrEqual(d.moves.reduce((n, m) => n + m.count, 0));
});

it('moves balances and stakes as the economics say', () => {
  const honestTasks = BigInt(DEMO_PLAN.filter((e) => e.provider === 'honest').length);
  const slashed = DEMO_TERMS.collateral;
  const protocolShare = (slashed * PROTOCOL_SHARE_BPS) / 10_000n;
  // Every task escrows bounty and fee; the refuted one is refunded in full.
  expect(party('requester').walletDelta).toBe(-honestTasks * (DEMO_TERMS.bounty + DEMO_TERMS.modelFee));
  expect(party('honest').walletDelta).toBe(honestTasks * DEMO_TERMS.bounty);
  expect(party('honest').stakeDelta).toBe(0n);
  expect(party('modelOwner').walletDelta).toBe(honestTasks * DEMO_TERMS.modelFee);
  expect(party('cheater').stakeDelta).toBe(-slashed);
  expect(party('cheater').walletDelta).toBe(0n);
  // A lone winner earns one of the four rewards the challengers' share is sized for; the treasury the rest.
  const reward = (slashed - protocolShare) / 4n;
  expect(party('challenger').walletDelta).toBe(reward);
  expect(party('challenger').stakeDelta).toBe(0n);
  expect(party('treasury').walletDelta).toBe(slashed - reward);
  expect(result.parties.reduce((sum, p) => sum + p.walletDelta + p.stakeDelta, 0n)).toBe(0n);
});

it('records the dispute contracts it played against', async () => {
  expect(result.addresses.disputeFactory).toBe(result.dispute.game);
  expect(result.dispute.disputeVersion).toBe(1n);
  expect(result.dispute.verifierCodeHash).toBe(keccak256(await chain.provider.getCode(result.dispute.verifier)));
});
