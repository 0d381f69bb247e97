/**
 * deployMarket with the real dispute game, and the players' refusal (STYLE.md item 6) to play
 * against a verifier or game whose code this build does not know.
 */
import { concat, keccak256, type HDNodeWallet } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { checkDisputeContracts } from '../../shared/dispute/trust';
import { Player } from '../../shared/dispute/player';
import { DISPUTE_VERSION } from '../../shared/dispute/spec';
import { VM_VERSION } from '../../shared/vm/spec';
import { BytesWeights } from '../../shared/dnn/weights';
import { WeightsTree } from '../../shared/dnn/weightsTree';

jest.setTimeout(120_000);

let chain: LocalChain;
let admin: HDNodeWallet;
let m: DeployedMarket;

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 2 });
  admin = chain.wallets[0];
  m = await deployMarket(admin, { disputeGame: true, disputeClockSeconds: 600 });
});
afterAll(async () => chain?.stop());

it('deploys the real game with its verifier as the market dispute factory and reports versions and code hashes', async () => {
  const d = m.dispute!;
  expect(m.testGame).toBeUndefined();
  expect(m.addresses.disputeFactory).toBe(d.game);
  expect(await m.market.disputeFactory()).toBe(d.game);
  expect(await d.contract.verifier()).toBe(d.verifier);
  expect(await d.contract.clockSeconds()).toBe(600n);
  expect([d.disputeVersion, d.vmVersion]).toEqual([DISPUTE_VERSION, BigInt(VM_VERSION)]);
  expect(d.verifierCodeHash).toBe(keccak256(await chain.provider.getCode(d.verifier)));
  expect(d.gameCodeHash).toBe(keccak256(await chain.provider.getCode(d.game)));
});

it('reuses a given verifier', async () => {
  const again = await deployMarket(admin, { disputeGame: true, verifier: m.dispute!.verifier });
  expect(again.dispute!.verifier).toBe(m.dispute!.verifier);
  expect(again.dispute!.game).not.toBe(m.dispute!.game);
});

it('refuses conflicting dispute options before sending anything', async () => {
  const nonce = await chain.provider.getTransactionCount(admin.address);
  await expect(deployMarket(admin, { disputeGame: true, testDisputeGame: true })).rejects.toMatchObject({ name: 'DeployMarketOptionsError' });
  await expect(deployMarket(admin, { disputeGame: true, disputeFactory: m.dispute!.game })).rejects.toMatchObject({ name: 'DeployMarketOptionsError' });
  await expect(deployMarket(admin, { verifier: m.dispute!.verifier })).rejects.toThrow(/verifier needs disputeGame/);
  expect(await chain.provider.getTransactionCount(admin.address)).toBe(nonce);
});

describe('players refuse unknown contracts', () => {
  const tamper = async (address: string, run: () => Promise<void>) => {
    const code = await chain.provider.getCode(address);
    // One extra byte past the code's end changes its hash, not its behaviour.
    await chain.provider.send('anvil_setCode', [address, concat([code, '0x00'])]);
    try {
      await run();
    } finally {
      await chain.provider.send('anvil_setCode', [address, code]);
    }
  };
  const act = () => new Player('challenger', m.dispute!.contract, chain.wallets[1], 1n, { specHash: new Uint8Array(32), outputSlot: 1, weights: new BytesWeights(new Uint8Array(32)), weightsTree: new WeightsTree([{ offset: 0, size: 32, root: new Uint8Array(32) }], 32), image: new Uint8Array(), nodes: [] }, []).act();

  it('accepts the deployed pair', async () => {
    await expect(checkDisputeContracts(m.dispute!.contract, chain.provider)).resolves.toMatchObject({ verifierCodeHash: m.dispute!.verifierCodeHash });
  });

  it('refuses a verifier whose code hash it does not know', async () => {
    await tamper(m.dispute!.verifier, async () => {
      const changed = keccak256(await chain.provider.getCode(m.dispute!.verifier));
      await expect(act()).rejects.toMatchObject({ name: 'DisputeVerifierUnknown', verifier: m.dispute!.verifier, codeHash: changed, knownCodeHash: m.dispute!.verifierCodeHash });
    });
  });

  it('refuses a game whose code hash it does not know', async () => {
    await tamper(m.dispute!.game, async () => {
      const changed = keccak256(await chain.provider.getCode(m.dispute!.game));
      await expect(act()).rejects.toMatchObject({ name: 'DisputeGameCodeUnknown', game: m.dispute!.game, codeHash: changed, knownCodeHash: m.dispute!.gameCodeHash });
    });
  });
});
