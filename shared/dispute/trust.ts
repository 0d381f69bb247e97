/**
 * STYLE.md item 6: before playing, a party checks that the game and its one-step verifier are the
 * versions and the exact code it was built against. The known code is what this build's factories
 * deploy: the runtime code a creation call returns (for the game, with the deployed game's own
 * market, verifier and clock as constructor arguments, since those immutables are part of its code).
 */
import { keccak256, type Provider } from 'ethers';
import { DisputeGame__factory, IRiscvStep__factory, RiscvStep__factory, type DisputeGame } from '../../build/types';
import { DisputeGameCodeUnknown, DisputeVerifierUnknown, DisputeVersionUnknown } from './errors';
import { DISPUTE_VERSION } from './spec';
import { VM_VERSION } from '../vm/spec';

export interface DisputeContractsInfo {
  game: string;
  verifier: string;
  disputeVersion: bigint;
  vmVersion: bigint;
  gameCodeHash: string;
  verifierCodeHash: string;
}

/** keccak256 of the runtime code a creation transaction with `data` would leave, simulated by eth_call. */
async function createdCodeHash(provider: Provider, data: string): Promise<string> {
  return keccak256(await provider.call({ data }));
}

/** Throws a typed DisputeError unless `game` and its verifier are the versions and code this build knows. */
export async function checkDisputeContracts(game: DisputeGame, provider: Provider): Promise<DisputeContractsInfo> {
  const gameAddress = await game.getAddress();
  const disputeVersion = await game.DISPUTE_VERSION();
  if (disputeVersion !== DISPUTE_VERSION) throw new DisputeVersionUnknown('DISPUTE_VERSION', disputeVersion, DISPUTE_VERSION);
  const vmVersion = await game.VM_VERSION();
  if (vmVersion !== BigInt(VM_VERSION)) throw new DisputeVersionUnknown('VM_VERSION', vmVersion, BigInt(VM_VERSION));

  const verifier = await game.verifier();
  const verifierCodeHash = keccak256(await provider.getCode(verifier));
  const knownVerifier = await createdCodeHash(provider, RiscvStep__factory.bytecode);
  if (verifierCodeHash !== knownVerifier) throw new DisputeVerifierUnknown(verifier, verifierCodeHash, knownVerifier);
  const verifierVersion = await IRiscvStep__factory.connect(verifier, provider).VM_VERSION();
  if (verifierVersion !== BigInt(VM_VERSION)) throw new DisputeVersionUnknown('verifier VM_VERSION', verifierVersion, BigInt(VM_VERSION));

  const [market, clock] = await Promise.all([game.market(), game.clockSeconds()]);
  const deploy = await new DisputeGame__factory().getDeployTransaction(market, verifier, clock);
  const knownGame = await createdCodeHash(provider, deploy.data);
  const gameCodeHash = keccak256(await provider.getCode(gameAddress));
  if (gameCodeHash !== knownGame) throw new DisputeGameCodeUnknown(gameAddress, gameCodeHash, knownGame);
  return { game: gameAddress, verifier, disputeVersion, vmVersion, gameCodeHash, verifierCodeHash };
}
