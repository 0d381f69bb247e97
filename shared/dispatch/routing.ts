/**
 * Which jobs an indexed event becomes, and on which queue (docs/service-spec.md section 3). The routing
 * is a function of the event, the configured worker routes and a few chain reads behind ChainReader, so
 * it can be checked without queues; dispatcher.ts sends what it returns.
 */
import type { OutgoingMessage } from '../aws/sqs';
import type { ChainEvent, EventMessage } from '../schemas/events';
import { formatIssues } from '../aws/errors';
import { jobDeduplicationIdOf, jobGroupOf, jobSchema, type Job } from '../schemas/jobs';
import type { WorkerRoute } from '../service/config';

/** What routing needs from the chain beyond the event itself. */
export interface ChainReader {
  /** The task's provider (zero address before a claim) and model. */
  task(taskId: bigint): Promise<{ provider: string; modelId: bigint }>;
  /** The id a dispute game contract gave the game of one challenge. */
  gameIdOf(game: string, taskId: bigint, challengeIndex: bigint): Promise<bigint>;
  /** The task and the two players of a game. */
  game(game: string, gameId: bigint): Promise<{ taskId: bigint; provider: string; challenger: string }>;
  /** The latest block's timestamp: windows are measured in chain time, which a test chain can warp. */
  now(): Promise<number>;
}

export interface DispatchTargets {
  workers: readonly WorkerRoute[];
  /** The pinner's queue; pin jobs are skipped without it. */
  pinQueueUrl?: string;
}

export interface Dispatch {
  queueUrl: string;
  job: Job;
  /** finalize: seconds until the challenge window ends, at most MAX_DELAY_SECONDS. */
  delaySeconds?: number;
}

export interface Routing {
  jobs: Dispatch[];
  /** Why an event led to fewer jobs than the table names (no route for an address, an orphaned event). */
  skipped: string[];
}

/** SQS's largest message delay. */
export const MAX_DELAY_SECONDS = 900;

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const big = (e: ChainEvent, name: string): bigint => BigInt(e.args[name] as string);

/** Events of the dispute game; each one may hand the turn to the other player. */
const isGameEvent = (e: ChainEvent): boolean => e.contract === 'game' && typeof e.args.gameId === 'string';

export async function jobsFor(message: EventMessage, targets: DispatchTargets, chain: ChainReader): Promise<Routing> {
  const e = message.event;
  const eventId = e.id;
  const jobs: Dispatch[] = [];
  const skipped: string[] = [];
  if (message.kind === 'orphaned') {
    // A job already sent for it finds the chain state changed and acknowledges without a transaction.
    return { jobs, skipped: [`${e.name} ${eventId} was orphaned by a reorg: no job`] };
  }
  const providers = targets.workers.filter((r) => r.role === 'provider');
  const challengers = targets.workers.filter((r) => r.role === 'challenger');
  const routeOf = (role: WorkerRoute['role'], address: string, job: Job): void => {
    const route = targets.workers.find((r) => r.role === role && same(r.address, address));
    if (route) jobs.push({ queueUrl: route.queueUrl, job });
    else skipped.push(`no ${role} route for ${address}: ${job.kind} job of ${e.name} ${eventId} not sent`);
  };
  const dispute = (taskId: bigint, gameId: bigint, provider: string, challenger: string): void => {
    const job: Job = { kind: 'dispute', taskId: taskId.toString(), gameId: gameId.toString(), eventId };
    routeOf('provider', provider, job);
    routeOf('challenger', challenger, job);
  };

  if (e.contract === 'market' && e.name === 'TaskCreated') {
    if (providers.length === 0) return { jobs, skipped: [`no provider routes: infer job of task ${e.args.taskId} not sent`] };
    const taskId = big(e, 'taskId');
    const route = providers[Number(taskId % BigInt(providers.length))]!;
    jobs.push({ queueUrl: route.queueUrl, job: { kind: 'infer', taskId: taskId.toString(), modelId: e.args.modelId as string, inputCid: e.args.inputCid as string, eventId } });
  } else if (e.contract === 'market' && (e.name === 'TaskCommitted' || e.name === 'ChallengeWindowExtended')) {
    // Extended: a game ended while every game slot was taken, so whoever was shut out may challenge
    // again, and the provider's finalize job (skipped while games were pending) is due at the new end.
    const taskId = big(e, 'taskId');
    const task = await chain.task(taskId);
    const verify: Job = { kind: 'verify', taskId: taskId.toString(), modelId: task.modelId.toString(), provider: task.provider, eventId };
    for (const route of challengers) jobs.push({ queueUrl: route.queueUrl, job: verify });
    if (challengers.length === 0) skipped.push(`no challenger routes: task ${taskId} is committed unverified`);
    const windowEnd = big(e, 'windowEnd');
    const sent = jobs.length;
    routeOf('provider', task.provider, { kind: 'finalize', taskId: taskId.toString(), windowEnd: windowEnd.toString(), eventId });
    if (jobs.length > sent) {
      const remaining = Number(windowEnd) - (await chain.now());
      jobs[sent]!.delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, remaining));
    }
  } else if (e.contract === 'market' && e.name === 'TaskChallenged') {
    const taskId = big(e, 'taskId');
    const [task, gameId] = await Promise.all([chain.task(taskId), chain.gameIdOf(e.args.game as string, taskId, big(e, 'challengeIndex'))]);
    dispute(taskId, gameId, task.provider, e.args.challenger as string);
  } else if (isGameEvent(e)) {
    const gameId = big(e, 'gameId');
    // GameCreated names everything; later moves carry only the game id.
    const players =
      e.name === 'GameCreated' && typeof e.args.provider === 'string' && typeof e.args.challenger === 'string'
        ? { taskId: big(e, 'taskId'), provider: e.args.provider, challenger: e.args.challenger }
        : await chain.game(e.address, gameId);
    dispute(players.taskId, gameId, players.provider, players.challenger);
  } else if (e.contract === 'registry' && e.name === 'ModelRegistered') {
    const job: Job = { kind: 'pin', modelId: e.args.modelId as string, eventId };
    if (targets.pinQueueUrl) jobs.push({ queueUrl: targets.pinQueueUrl, job });
    else skipped.push(`no pin queue (OPML_PIN_QUEUE_URL): model ${e.args.modelId} not pinned`);
  }
  for (const d of jobs) {
    const parsed = jobSchema.safeParse(d.job);
    if (!parsed.success) throw new DispatchJobInvalidError(e, formatIssues(parsed.error.issues));
  }
  return { jobs: uniqueJobs(jobs), skipped };
}

/** An event whose arguments make no valid job: the events schema and the jobs schema disagree. */
export class DispatchJobInvalidError extends Error {
  override name = 'DispatchJobInvalidError';
  constructor(readonly event: ChainEvent, reason: string) {
    super(`${event.name} ${event.id} gives an invalid job (${reason}): shared/schemas/events.ts and jobs.ts must agree on its arguments`);
  }
}

/** One address serving both roles from one queue would get the same dispute job twice: SQS would drop it, so do we. */
function uniqueJobs(jobs: Dispatch[]): Dispatch[] {
  const seen = new Set<string>();
  return jobs.filter((d) => {
    const key = `${d.queueUrl} ${jobDeduplicationIdOf(d.job)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const isFifo = (queueUrl: string): boolean => queueUrl.endsWith('.fifo');

/**
 * The SQS message of a job. FIFO queues refuse per-message delays, so there a finalize job travels
 * undelayed in a group of its own: the worker holds it invisible until `windowEnd` without blocking the
 * task's dispute jobs, which a message in flight in the task's group would. A standard queue takes the
 * delay but no group or deduplication id.
 */
export function outgoingOf(d: Dispatch): OutgoingMessage {
  const body = JSON.stringify(d.job);
  if (!isFifo(d.queueUrl)) return { body, delaySeconds: d.delaySeconds };
  return { body, groupId: jobGroupOf(d.job), deduplicationId: jobDeduplicationIdOf(d.job) };
}
