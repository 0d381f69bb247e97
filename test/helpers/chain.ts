/**
 * A real local chain per test suite: anvil on 127.0.0.1, funded wallets from its default
 * mnemonic, and a provider that never serves stale nonces or balances.
 */
import { HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, type Signer } from 'ethers';
import { ANVIL_DEFAULT_MNEMONIC, startAnvil, type Anvil, type AnvilOptions } from '../../shared/chain/anvil';

export interface LocalChain {
  anvil: Anvil;
  provider: JsonRpcProvider;
  /** Wallets for anvil's funded accounts, in order, each behind a NonceManager. */
  signers: Signer[];
  wallets: HDNodeWallet[];
  stop(): Promise<void>;
}

export async function startLocalChain(opts: AnvilOptions = {}): Promise<LocalChain> {
  const anvil = await startAnvil(opts);
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20 });
  const mnemonic = Mnemonic.fromPhrase(ANVIL_DEFAULT_MNEMONIC);
  const wallets = Array.from({ length: opts.accounts ?? 10 }, (_, i) =>
    HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`).connect(provider),
  );
  return {
    anvil,
    provider,
    wallets,
    signers: wallets.map((w) => new NonceManager(w)),
    async stop() {
      provider.destroy();
      await anvil.stop();
    },
  };
}
