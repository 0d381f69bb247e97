/**
 * Materialized views as pure folds over the events that concern them. Each view document keeps the
 * events it was built from (sorted by chain position) next to the folded state, so applying an event
 * twice changes nothing, events may arrive in any order across FIFO groups, and a retracted (orphaned)
 * event is simply removed and the state folded again.
 */
import type { ChainEvent } from '../schemas/events';
import { TASK_STATUS, CHALLENGE_STATUS } from '../market/tasks';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ViewDefinition {
  kind: string;
  /** The ids of the documents of this kind an event changes. */
  idsOf(event: ChainEvent): string[];
  fold(id: string, events: ChainEvent[]): Json;
}

const str = (e: ChainEvent, name: string): string => e.args[name] as string;
const sum = (values: string[]): string => values.reduce((a, v) => a + BigInt(v), 0n).toString();
const named = (events: ChainEvent[], ...names: string[]): ChainEvent[] => events.filter((e) => names.includes(e.name));
const lastOf = (events: ChainEvent[], ...names: string[]): ChainEvent | undefined => named(events, ...names).at(-1);
/** The block timestamp of the latest event of that name, null when there is none. */
const timeOf = (events: ChainEvent[], name: string): number | null => lastOf(events, name)?.timestamp ?? null;

const TASK_STATUS_AFTER: Record<string, (typeof TASK_STATUS)[number]> = {
  TaskCreated: 'Open',
  TaskClaimed: 'Claimed',
  TaskCommitted: 'Committed',
  TaskFinalized: 'Finalized',
  TaskRefuted: 'Refuted',
  TaskExpired: 'Expired',
};

const tasks: ViewDefinition = {
  kind: 'tasks',
  idsOf: (e) => (e.contract === 'market' && typeof e.args.taskId === 'string' ? [e.args.taskId] : []),
  fold(id, events) {
    const created = lastOf(events, 'TaskCreated');
    const committed = lastOf(events, 'TaskCommitted');
    // A game that ends while every slot is taken restarts the window (ChallengeWindowExtended).
    const windowSet = lastOf(events, 'TaskCommitted', 'ChallengeWindowExtended');
    const statusEvent = lastOf(events, ...Object.keys(TASK_STATUS_AFTER));
    const challenges = named(events, 'TaskChallenged').map((c) => {
      const index = str(c, 'challengeIndex');
      const resolved = named(events, 'ChallengeResolved').find((r) => str(r, 'challengeIndex') === index);
      const rewarded = named(events, 'ChallengeRewarded').find((r) => str(r, 'challengeIndex') === index);
      return {
        index,
        challenger: str(c, 'challenger'),
        game: str(c, 'game'),
        bond: str(c, 'bond'),
        status: resolved ? CHALLENGE_STATUS[Number(str(resolved, 'status'))] ?? str(resolved, 'status') : 'Pending',
        reward: rewarded ? str(rewarded, 'reward') : null,
      };
    });
    return {
      taskId: id,
      status: statusEvent ? TASK_STATUS_AFTER[statusEvent.name]! : 'Unknown',
      requester: created ? str(created, 'requester') : null,
      modelId: created ? str(created, 'modelId') : null,
      bounty: created ? str(created, 'bounty') : null,
      inputCid: created ? (created.args.inputCid as string) : null,
      provider: lastOf(events, 'TaskClaimed') ? str(lastOf(events, 'TaskClaimed')!, 'provider') : null,
      outputRoot: committed ? str(committed, 'outputRoot') : null,
      windowEnd: windowSet ? str(windowSet, 'windowEnd') : null,
      challengeWindow: created ? str(created, 'challengeWindow') : null,
      challenges,
      /** What the task's settlement credited, to whom (pull payments: each party withdraws). */
      credits: named(events, 'Credited').map((c) => ({ account: str(c, 'account'), amount: str(c, 'amount') })),
      createdAt: created?.timestamp ?? null,
      claimedAt: timeOf(events, 'TaskClaimed'),
      committedAt: timeOf(events, 'TaskCommitted'),
      finalizedAt: timeOf(events, 'TaskFinalized'),
      refutedAt: timeOf(events, 'TaskRefuted'),
      expiredAt: timeOf(events, 'TaskExpired'),
      updatedAt: events.at(-1)?.timestamp ?? null,
    };
  },
};

const models: ViewDefinition = {
  kind: 'models',
  idsOf: (e) => (typeof e.args.modelId === 'string' && (e.contract === 'registry' || e.name === 'TaskCreated') ? [e.args.modelId] : []),
  fold(id, events) {
    const registered = lastOf(events, 'ModelRegistered');
    const fee = lastOf(events, 'ModelRegistered', 'ModelFeeSet');
    return {
      modelId: id,
      owner: registered ? str(registered, 'owner') : null,
      graphCid: (registered?.args.graphCid as string | undefined) ?? null,
      weightsCid: (registered?.args.weightsCid as string | undefined) ?? null,
      vmImageCid: (registered?.args.vmImageCid as string | undefined) ?? null,
      fee: fee ? str(fee, 'fee') : null,
      active: registered !== undefined && named(events, 'ModelDeactivated').length === 0,
      tasks: named(events, 'TaskCreated').length,
    };
  },
};

const PROVIDER_ROLES: Record<string, string> = { TaskClaimed: 'provider', TaskFinalized: 'provider', TaskExpired: 'provider' };

const providers: ViewDefinition = {
  kind: 'providers',
  idsOf(e) {
    if (e.contract === 'staking' && typeof e.args.staker === 'string') return [e.args.staker.toLowerCase()];
    const role = PROVIDER_ROLES[e.name];
    return role && typeof e.args[role] === 'string' ? [(e.args[role] as string).toLowerCase()] : [];
  },
  fold(id, events) {
    // Staked and CollateralLocked/Unlocked carry the new totals; unbonding and slashing lower them by an
    // amount, so the balances are replayed in chain order as Staking.sol changes them.
    let staked = 0n;
    let locked = 0n;
    let unbonding = 0n;
    for (const e of events) {
      if (e.name === 'Staked') staked = BigInt(str(e, 'staked'));
      else if (e.name === 'UnbondingRequested') {
        staked -= BigInt(str(e, 'amount'));
        unbonding = typeof e.args.unbonding === 'string' ? BigInt(e.args.unbonding) : unbonding + BigInt(str(e, 'amount'));
      } else if (e.name === 'Withdrawn') unbonding = 0n;
      else if (e.name === 'CollateralLocked' || e.name === 'CollateralUnlocked') locked = BigInt(str(e, 'locked'));
      else if (e.name === 'Slashed') {
        staked -= BigInt(str(e, 'amount'));
        locked -= BigInt(str(e, 'amount'));
      }
    }
    return {
      address: id,
      staked: staked.toString(),
      locked: locked.toString(),
      unbonding: unbonding.toString(),
      withdrawn: sum(named(events, 'Withdrawn').map((e) => str(e, 'amount'))),
      slashed: sum(named(events, 'Slashed').map((e) => str(e, 'amount'))),
      tasksClaimed: named(events, 'TaskClaimed').length,
      tasksFinalized: named(events, 'TaskFinalized').length,
      earned: sum(named(events, 'TaskFinalized').map((e) => str(e, 'bounty'))),
      tasksExpired: named(events, 'TaskExpired').length,
    };
  },
};

/** One challenge of one task, from the market's events and the game's creation (which links the game id). */
const disputes: ViewDefinition = {
  kind: 'disputes',
  idsOf: (e) =>
    ['TaskChallenged', 'ChallengeResolved', 'ChallengeRewarded', 'TaskRefuted', 'GameCreated'].includes(e.name) && typeof e.args.challengeIndex === 'string'
      ? [`${str(e, 'taskId')}-${str(e, 'challengeIndex')}`]
      : [],
  fold(id, events) {
    const challenged = lastOf(events, 'TaskChallenged');
    const resolved = lastOf(events, 'ChallengeResolved');
    const game = lastOf(events, 'GameCreated');
    return {
      dispute: id,
      challenger: challenged ? str(challenged, 'challenger') : null,
      game: challenged ? str(challenged, 'game') : null,
      gameId: game ? str(game, 'gameId') : null,
      bond: challenged ? str(challenged, 'bond') : null,
      status: resolved ? CHALLENGE_STATUS[Number(str(resolved, 'status'))] ?? str(resolved, 'status') : 'Pending',
      reward: lastOf(events, 'ChallengeRewarded') ? str(lastOf(events, 'ChallengeRewarded')!, 'reward') : null,
      slashed: sum(named(events, 'TaskRefuted').map((e) => str(e, 'slashed'))),
    };
  },
};

/** The moves of one dispute game (its events carry only the game id). */
const games: ViewDefinition = {
  kind: 'games',
  idsOf: (e) => (e.contract === 'game' && typeof e.args.gameId === 'string' ? [e.args.gameId] : []),
  fold(id, events) {
    const resolved = lastOf(events, 'GameResolved', 'GameTimedOut');
    return {
      gameId: id,
      moves: events.filter((e) => e.name !== 'GameCreated').map((e) => ({ name: e.name, block: e.blockNumber, timestamp: e.timestamp })),
      outcome: resolved?.name === 'GameResolved' ? str(resolved, 'outcome') : null,
      timedOutLoser: resolved?.name === 'GameTimedOut' ? (resolved.args.loser as string) : null,
    };
  },
};

const DAILY_EVENTS = ['TaskCreated', 'TaskFinalized', 'TaskChallenged', 'TaskRefuted', 'TaskExpired'];

const daily: ViewDefinition = {
  kind: 'daily',
  idsOf: (e) => (e.contract === 'market' && DAILY_EVENTS.includes(e.name) ? [new Date(e.timestamp * 1000).toISOString().slice(0, 10)] : []),
  fold(id, events) {
    return {
      day: id,
      tasksCreated: named(events, 'TaskCreated').length,
      tasksFinalized: named(events, 'TaskFinalized').length,
      challenges: named(events, 'TaskChallenged').length,
      refuted: named(events, 'TaskRefuted').length,
      expired: named(events, 'TaskExpired').length,
      bountyVolume: sum(named(events, 'TaskCreated').map((e) => str(e, 'bounty'))),
      paidOut: sum(named(events, 'TaskFinalized').map((e) => str(e, 'bounty'))),
    };
  },
};

export const VIEWS: readonly ViewDefinition[] = [tasks, models, providers, disputes, games, daily];
