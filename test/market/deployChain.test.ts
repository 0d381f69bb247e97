/**
 * Deployment traps (docs/security.md, finding 7): the test game, whose games anyone can decide,
 * never reaches a chain that is not local, and no chain without Cancun's opcodes takes the contracts.
 */
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { startAnvil, type Anvil } from '../../shared/chain/anvil';
import { ANVIL_FIRST_KEY } from '../../shared/market/deployConfig';
import { DeployChainError, deployMarket } from '../../shared/market/deploy';

const started: Anvil[] = [];
afterAll(async () => {
  for (const a of started) await a.stop();
});

async function chain(options: Parameters<typeof startAnvil>[0]): Promise<NonceManager> {
  const anvil = await startAnvil(options);
  started.push(anvil);
  return new NonceManager(new Wallet(ANVIL_FIRST_KEY, new JsonRpcProvider(anvil.rpcUrl, undefined, { staticNetwork: true })));
}

it('refuses the test dispute game on a chain id that is not a local one, before deploying anything', async () => {
  const signer = await chain({ chainId: 1 });
  await expect(deployMarket(signer, { testDisputeGame: true })).rejects.toMatchObject({ name: 'DeployChainError', chainId: 1n, message: expect.stringMatching(/only to local chains/) });
  expect(await signer.provider!.getTransactionCount(await signer.getAddress())).toBe(0);
});

it('refuses a chain that has not reached Cancun', async () => {
  const signer = await chain({ hardfork: 'shanghai' });
  const refused = deployMarket(signer, { testDisputeGame: true });
  await expect(refused).rejects.toBeInstanceOf(DeployChainError);
  await expect(refused).rejects.toThrow(/does not run Cancun code/);
  expect(await signer.provider!.getTransactionCount(await signer.getAddress())).toBe(0);
});

it('deploys the test game on a local chain that runs Cancun', async () => {
  const signer = await chain({});
  const m = await deployMarket(signer, { testDisputeGame: true });
  expect(m.addresses.disputeFactory).toBe(await m.testGame!.getAddress());
});
