/**
 * Deploys the dispute game (and the one-step verifier unless one is given) for an existing market
 * and makes it the market's dispute factory. The signer must hold the market's governor role.
 */
import type { Signer } from 'ethers';
import { z } from 'zod';
import { DisputeGame__factory, RiscvStep__factory, type DisputeGame, type TaskMarket } from '../../build/types';
import { addressSchema } from '../market/schemas';

export const deployDisputeGameOptionsSchema = z
  .object({
    /** An existing RiscvStep verifier; a new one is deployed when absent. */
    verifier: addressSchema.optional(),
    /** Each party's chess clock for a whole game (docs/dispute-spec.md section 7). */
    clockSeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
    /** Make the game the market's dispute factory (needs the governor role). */
    setFactory: z.boolean().default(true),
  })
  .strict();

export type DeployDisputeGameOptions = z.input<typeof deployDisputeGameOptionsSchema>;

/** The deployment was refused before anything was sent. */
export class DeployDisputeGameOptionsError extends Error {
  override name = 'DeployDisputeGameOptionsError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`invalid deployDisputeGame options: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

export interface DeployedDisputeGame {
  game: DisputeGame;
  addresses: { game: string; verifier: string };
}

export async function deployDisputeGame(signer: Signer, market: TaskMarket, options: DeployDisputeGameOptions = {}): Promise<DeployedDisputeGame> {
  const parsed = deployDisputeGameOptionsSchema.safeParse(options);
  if (!parsed.success) throw new DeployDisputeGameOptionsError(parsed.error.issues);
  const o = parsed.data;
  let verifier = o.verifier;
  if (!verifier) {
    const deployed = await new RiscvStep__factory(signer).deploy();
    await deployed.waitForDeployment();
    verifier = await deployed.getAddress();
  }
  const game = await new DisputeGame__factory(signer).deploy(await market.getAddress(), verifier, o.clockSeconds);
  await game.waitForDeployment();
  const gameAddress = await game.getAddress();
  if (o.setFactory) await (await market.connect(signer).setDisputeFactory(gameAddress)).wait();
  return { game, addresses: { game: gameAddress, verifier } };
}
