/** Anvil's default funded accounts, for local deployments, the demo and benchmarks. */
import { HDNodeWallet, Mnemonic, type Provider } from 'ethers';
import { ANVIL_DEFAULT_MNEMONIC } from '../chain/anvil';

/** The first `count` accounts of anvil's default mnemonic, connected to `provider`. */
export function devAccounts(provider: Provider, count: number): HDNodeWallet[] {
  const mnemonic = Mnemonic.fromPhrase(ANVIL_DEFAULT_MNEMONIC);
  return Array.from({ length: count }, (_, i) => HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`).connect(provider));
}
