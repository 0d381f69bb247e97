import { startLocalChain } from '../helpers/chain';
import { startAnvil } from '../../shared/chain/anvil';

describe('local chain', () => {
  it('starts anvil on 127.0.0.1 with funded accounts and stops it by PID', async () => {
    const chain = await startLocalChain({ accounts: 3 });
    try {
      expect(chain.anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const balance = await chain.provider.getBalance(chain.wallets[2]!.address);
      expect(balance).toBeGreaterThan(0n);
      const tx = await chain.signers[0]!.sendTransaction({ to: chain.wallets[1]!.address, value: 1n });
      expect((await tx.wait())?.status).toBe(1);
    } finally {
      await chain.stop();
    }
    expect(() => process.kill(chain.anvil.pid, 0)).toThrow();
  });

  it('refuses a port that is already taken with a clear error', async () => {
    const first = await startAnvil();
    try {
      await expect(startAnvil({ port: first.port })).rejects.toThrow(/anvil/);
    } finally {
      await first.stop();
    }
  });
});
