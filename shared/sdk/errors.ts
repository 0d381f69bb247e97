/**
 * Errors of the SDK. Callers (the CLI among them) branch on `name`; every message says what to do
 * next, because it is shown to a person as it is.
 */
import type { z } from 'zod';
import type { apiErrorCodeSchema } from '../api/schemas';

export class SdkError extends Error {
  override name = 'SdkError';
}

/** The HTTP API answered with an error body (or something that was not the promised response). */
export class ApiError extends SdkError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: z.infer<typeof apiErrorCodeSchema> | 'BadResponse' | 'Unreachable',
    message: string,
    readonly field?: string,
    readonly revert?: { name: string; args: string[] },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No model with this id is registered. */
export class ModelNotFoundError extends SdkError {
  override name = 'ModelNotFoundError';
  constructor(readonly modelId: bigint) {
    super(`model ${modelId} does not exist: list models with \`opml model list\``);
  }
}

/** The model exists but takes no new tasks. */
export class ModelInactiveError extends SdkError {
  override name = 'ModelInactiveError';
  constructor(readonly modelId: bigint) {
    super(`model ${modelId} is deactivated and takes no tasks: pick another with \`opml model list\``);
  }
}

/** No task with this id exists. */
export class TaskNotFoundError extends SdkError {
  override name = 'TaskNotFoundError';
  constructor(readonly taskId: bigint) {
    super(`task ${taskId} does not exist: list tasks with \`opml task list\``);
  }
}

/** The input given cannot become the model's input tensor. */
export class InputPreparationError extends SdkError {
  override name = 'InputPreparationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The API stored an input under a CID or root other than the bytes the SDK computed. */
export class InputMismatchError extends SdkError {
  override name = 'InputMismatchError';
  constructor(
    readonly field: 'inputCid' | 'inputRoot',
    readonly expected: string,
    readonly received: string,
  ) {
    super(`the API answered ${field} ${received}, but the input's own ${field} is ${expected}: the API is not trustworthy, use another --api`);
  }
}

/** The signer's wallet cannot pay for what it asked. */
export class InsufficientBalanceError extends SdkError {
  override name = 'InsufficientBalanceError';
  constructor(
    readonly address: string,
    readonly needed: bigint,
    readonly balance: bigint,
  ) {
    super(`${address} holds ${balance} token base units but needs ${needed}: fund the account with market tokens first`);
  }
}

/** waitForResult gave up before the task reached a final status. */
export class WaitTimeoutError extends SdkError {
  override name = 'WaitTimeoutError';
  constructor(
    readonly taskId: bigint,
    readonly lastStatus: string,
    readonly waitedMs: number,
  ) {
    super(`task ${taskId} is still ${lastStatus} after ${Math.round(waitedMs / 1000)} s: watch it longer with \`opml task watch ${taskId}\``);
  }
}

/** An operation needs something the client was built without (a signer, an API, an RPC). */
export class SdkConfigError extends SdkError {
  override name = 'SdkConfigError';
}

/** Task terms the market would refuse, caught before anything is stored or signed. */
export class TaskTermsError extends SdkError {
  override name = 'TaskTermsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
