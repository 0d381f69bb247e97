/** EIP-2612 permits for the market currency, so a requester funds and creates a task in one transaction. */
import { Signature, type Signer } from 'ethers';
import type { MarketToken } from '../../build/types';

export interface Permit {
  value: bigint;
  deadline: bigint;
  v: number;
  r: string;
  s: string;
}

/** Signs a permit letting `spender` pull `value` of `owner`'s tokens until `deadline` (unix seconds). */
export async function signPermit(token: MarketToken, owner: Signer, spender: string, value: bigint, deadline: bigint): Promise<Permit> {
  const ownerAddress = await owner.getAddress();
  // The token's own ERC-5267 domain, so any OpenZeppelin-style permit token signs correctly.
  const [[, name, version, chainId, verifyingContract], nonce] = await Promise.all([token.eip712Domain(), token.nonces(ownerAddress)]);
  const domain = { name, version, chainId, verifyingContract };
  const types = {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  };
  const sig = Signature.from(await owner.signTypedData(domain, types, { owner: ownerAddress, spender, value, nonce, deadline }));
  return { value, deadline, v: sig.v, r: sig.r, s: sig.s };
}
