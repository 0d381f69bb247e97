/** SQS (pin.fifo): verifies a registered model's files against the registry and pins them to S3 and IPFS. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleSqsEvent } from '../shared/dispatch/lambdaBatch';
import type { PinDeps } from '../shared/pinning/pinModel';
import { pinDepsFromEnv, pinJobHandler } from '../shared/pinning/pinner';
import { parseServiceEnv } from '../shared/service/config';

let deps: Promise<PinDeps> | undefined;

function depsOfThisContainer(): Promise<PinDeps> {
  deps ??= pinDepsFromEnv(parseServiceEnv(process.env));
  deps.catch(() => (deps = undefined));
  return deps;
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => handleSqsEvent(event, pinJobHandler(await depsOfThisContainer()), 'pinner');
