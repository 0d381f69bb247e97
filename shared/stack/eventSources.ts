/**
 * What AWS does around the event functions, done locally: the indexer's schedule (every second here,
 * since a local chain makes a block a second) and the SQS event source mappings (long-poll each function's
 * queue, invoke the function with a Lambda-shaped SQSEvent, delete the records it did not report in
 * batchItemFailures, leave the rest to the visibility timeout and, after 5 receives, the DLQ).
 * Functions are invoked in this process (fast mode) or through serverless-offline's Lambda endpoint.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { JsonRpcProvider } from 'ethers';
import { awsClients } from '../aws/config';
import type { BatchRecord } from '../aws/batch';
import { deleteMessage, receiveMessages, type ReceivedMessage } from '../aws/sqs';
import { dispatcherFromEnv } from '../dispatch/dispatcher';
import { handleSqsEvent } from '../dispatch/lambdaBatch';
import { logLine } from '../dispatch/log';
import { ViewStore, viewUpdater } from '../indexer/consumer';
import { indexerOf, runIndexer } from '../indexer/scheduled';
import { pinDepsFromEnv, pinJobHandler } from '../pinning/pinner';
import { awsConfigOf, parseServiceEnv } from '../service/config';
import type { QueueFunction } from './queues';

export type EventFunction = 'indexer' | QueueFunction;
export type Invoke = (fn: EventFunction, event: unknown) => Promise<unknown>;

export class InvokeError extends Error {
  override name = 'InvokeError';
}

/**
 * The event functions in this process, built for one stack from its service env with the same shared code
 * the handlers in functions/ wrap. Not the handler modules themselves: those cache their clients per module
 * (per Lambda container), so a second stack in the same process would reach the first one's servers.
 */
export function inProcessInvoker(serviceEnv: Record<string, string>): Invoke & { close(): void } {
  const env = parseServiceEnv(serviceEnv);
  const { s3, sqs } = awsClients(awsConfigOf(env));
  const provider = new JsonRpcProvider(env.OPML_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  // Each function is built on its first invocation, as a cold start would: a stack that runs only
  // some of them (the SDK tests' pinner) need not configure the others.
  let indexer: ReturnType<typeof indexerOf> | undefined;
  let views: ReturnType<typeof viewUpdater> | undefined;
  let dispatch: ReturnType<typeof dispatcherFromEnv> | undefined;
  let pin: Promise<(record: BatchRecord) => Promise<void>> | undefined;
  const invoke = async (fn: EventFunction, event: unknown): Promise<unknown> => {
    switch (fn) {
      case 'indexer': {
        const summary = await runIndexer((indexer ??= indexerOf(env, provider, s3, sqs)));
        logLine('indexer-run', { ...summary });
        return summary;
      }
      case 'views':
        return handleSqsEvent(event, (views ??= viewUpdater(new ViewStore(s3, env.OPML_VIEWS_BUCKET))), 'views');
      case 'dispatcher':
        return handleSqsEvent(event, (dispatch ??= dispatcherFromEnv(env)), 'dispatcher');
      case 'pinner':
        pin ??= pinDepsFromEnv(env).then(pinJobHandler);
        return handleSqsEvent(event, await pin, 'pinner');
    }
  };
  return Object.assign(invoke, { close: () => provider.destroy() });
}

const functionErrorSchema = z.object({ errorMessage: z.string(), errorType: z.string().optional() }).passthrough();

/** serverless-offline's Lambda API (what the AWS SDK's Invoke calls): POST /2015-03-31/functions/<name>/invocations. */
export function offlineInvoker(lambdaUrl: string, functionNamePrefix: string): Invoke {
  return async (fn, event) => {
    const res = await fetch(`${lambdaUrl}/2015-03-31/functions/${functionNamePrefix}${fn}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
      body: JSON.stringify(event),
    });
    const text = await res.text();
    let payload: unknown = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      throw new InvokeError(`${fn}: serverless-offline answered HTTP ${res.status} with something other than JSON: ${text.slice(0, 300)}`);
    }
    const failure = functionErrorSchema.safeParse(payload);
    if (!res.ok || res.headers.get('x-amz-function-error') || failure.success) {
      const detail = failure.success ? `${failure.data.errorType ?? 'Error'}: ${failure.data.errorMessage}` : text.slice(0, 500);
      throw new InvokeError(`${fn} failed (HTTP ${res.status}): ${detail}`);
    }
    return payload;
  };
}

export function sqsEventOf(queueArn: string, messages: ReceivedMessage[]): SQSEvent {
  const now = String(Date.now());
  return {
    Records: messages.map((m) => ({
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: now,
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: now,
        ...(m.groupId !== undefined ? { MessageGroupId: m.groupId } : {}),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

const batchResponseSchema = z.object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })) }).passthrough();

export interface EventSourceActivity {
  fn: EventFunction;
  /** Records delivered (SQS functions) or 1 per indexer run. */
  records: number;
  failed: number;
  error?: string;
}

export interface EventSourceOptions {
  invoke: Invoke;
  sqs: SQSClient;
  /** The queue of each function to run a mapping for. */
  queues: Partial<Record<QueueFunction, string>>;
  /** Runs the indexer's schedule (default true); a stack without an indexer (the SDK tests') turns it off. */
  indexer?: boolean;
  /** Milliseconds between indexer runs (after the previous one ends). */
  indexerIntervalMs?: number;
  /** Long-poll seconds per receive. */
  waitSeconds?: number;
  onActivity?: (a: EventSourceActivity) => void;
}

export interface EventSources {
  /** Stops polling and waits for the invocations in flight. Idempotent. */
  stop(): Promise<void>;
  /** Indexer runs so far (tests wait on it). */
  readonly indexerRuns: number;
}

export function startEventSources(options: EventSourceOptions): EventSources {
  let stopping = false;
  let indexerRuns = 0;
  const report = options.onActivity ?? (() => {});
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

  const schedule = (async () => {
    while (!stopping && options.indexer !== false) {
      try {
        await options.invoke('indexer', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
        indexerRuns++;
        report({ fn: 'indexer', records: 1, failed: 0 });
      } catch (e) {
        report({ fn: 'indexer', records: 1, failed: 1, error: describe(e) });
      }
      await pause(options.indexerIntervalMs ?? 1_000);
    }
  })();

  const mapping = async (fn: QueueFunction, queueUrl: string) => {
    const arn = `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`;
    while (!stopping) {
      let messages: ReceivedMessage[];
      try {
        messages = await receiveMessages(options.sqs, queueUrl, { max: 10, waitSeconds: options.waitSeconds ?? 1 });
      } catch (e) {
        // SQS restarting: the mapping keeps polling, as AWS's does.
        report({ fn, records: 0, failed: 0, error: describe(e) });
        await pause(500);
        continue;
      }
      if (messages.length === 0) continue;
      let failedIds: Set<string>;
      try {
        const parsed = batchResponseSchema.safeParse(await options.invoke(fn, sqsEventOf(arn, messages)));
        // A response that is not a batch response counts as success for every record, as on AWS.
        failedIds = new Set(parsed.success ? parsed.data.batchItemFailures.map((f) => f.itemIdentifier) : []);
      } catch (e) {
        // The whole invocation failed: every record goes back to the queue.
        report({ fn, records: messages.length, failed: messages.length, error: describe(e) });
        continue;
      }
      for (const m of messages) {
        if (failedIds.has(m.messageId)) continue;
        await deleteMessage(options.sqs, queueUrl, m.receiptHandle).catch((e) => report({ fn, records: 0, failed: 0, error: `delete: ${describe(e)}` }));
      }
      report({ fn, records: messages.length, failed: failedIds.size });
    }
  };
  const mappings = (Object.entries(options.queues) as Array<[QueueFunction, string]>).map(([fn, url]) => mapping(fn, url));

  let stopped: Promise<void> | undefined;
  return {
    get indexerRuns() {
      return indexerRuns;
    },
    stop() {
      stopping = true;
      stopped ??= Promise.all([schedule, ...mappings]).then(() => undefined);
      return stopped;
    },
  };
}

export type { SQSBatchResponse };
