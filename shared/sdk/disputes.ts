/** Reading a task's challenges and the state of each dispute game from the chain. */
import { ZeroAddress, zeroPadValue, toBeHex } from 'ethers';
import { DisputeGame__factory } from '../../build/types';
import { moverOf } from '../dispute/player';
import { PHASES, type PhaseName } from '../dispute/spec';
import { CHALLENGE_STATUS } from '../market/tasks';
import type { OpmlContext } from './context';

export const GAME_OUTCOMES = ['Undecided', 'ProviderWon', 'ChallengerWon'] as const;
export type GameOutcomeName = (typeof GAME_OUTCOMES)[number];

export interface GameState {
  game: string;
  gameId: bigint;
  phase: PhaseName;
  outcome: GameOutcomeName;
  /** Whose move it is while the game runs. */
  mover: 'provider' | 'challenger' | null;
  providerClock: bigint;
  challengerClock: bigint;
  lastMoveAt: bigint;
  nodeCount: number;
  /** The node the graph phase narrowed to, and the current [lo, hi] of the running dissection. */
  node: number;
  lo: bigint;
  hi: bigint;
  /** Game events after creation: opening, every bisection and choice, the link, the step, the end. */
  moves: Array<{ name: string; blockNumber: number }>;
}

export interface ChallengeState {
  index: number;
  challenger: string;
  bond: bigint;
  status: (typeof CHALLENGE_STATUS)[number];
  game: GameState | null;
}

/** Every challenge of `taskId`, with its game's state when a game was created. */
export async function readChallenges(ctx: OpmlContext, taskId: bigint, challengeCount: number): Promise<ChallengeState[]> {
  const out: ChallengeState[] = [];
  for (let i = 0; i < challengeCount; i++) {
    const c = await ctx.contracts.market.getChallenge(taskId, i);
    out.push({
      index: i,
      challenger: c.challenger,
      bond: c.bond,
      status: CHALLENGE_STATUS[Number(c.status)],
      game: c.game === ZeroAddress ? null : await readGame(ctx, c.game, taskId, i),
    });
  }
  return out;
}

export async function readGame(ctx: OpmlContext, address: string, taskId: bigint, challengeIndex: number): Promise<GameState | null> {
  const game = DisputeGame__factory.connect(address, ctx.provider);
  const gameId = await game.gameIdOf(taskId, challengeIndex);
  if (gameId === 0n) return null;
  const [g, logs] = await Promise.all([
    game.getGame(gameId),
    ctx.provider.getLogs({ address, fromBlock: 0, toBlock: 'latest', topics: [null, zeroPadValue(toBeHex(gameId), 32)] }),
  ]);
  const phase = PHASES[Number(g.phase)];
  const outcome = GAME_OUTCOMES[Number(g.outcome)];
  const moves = logs
    .map((log) => ({ name: game.interface.parseLog(log)?.name ?? 'unknown', blockNumber: log.blockNumber }))
    .filter((m) => m.name !== 'GameCreated');
  return {
    game: address,
    gameId,
    phase,
    outcome,
    mover: outcome === 'Undecided' && phase !== 'Resolved' && phase !== 'None' ? moverOf(phase) : null,
    providerClock: g.providerClock,
    challengerClock: g.challengerClock,
    lastMoveAt: g.lastMoveAt,
    nodeCount: Number(g.nodeCount),
    node: Number(g.node),
    lo: g.lo,
    hi: g.hi,
    moves,
  };
}
