/**
 * Real local AWS servers for tests: s3rver (files in a temporary folder) and local-aws-sqs, both on
 * 127.0.0.1 at free ports, plus the AwsConfig pointing at them. Stop them in afterAll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqsServer } from 'local-aws-sqs';
import S3rver from 's3rver';
import type { AwsConfig } from '../../shared/aws/config';
import { freePort } from '../../shared/chain/anvil';

export interface LocalAws {
  config: AwsConfig;
  /** Restarts S3 on the same port and folder (its objects survive), as a server restart would. */
  restartS3(): Promise<void>;
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startLocalAws(): Promise<LocalAws> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3Port = await freePort();
  const startS3 = async (): Promise<S3rver> => {
    const s3 = new S3rver({ address: '127.0.0.1', port: s3Port, directory, silent: true });
    await s3.run();
    return s3;
  };
  let s3 = await startS3();
  const sqs: Server = await createSqsServer({ port: await freePort(), hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  const sqsPort = (sqs.address() as AddressInfo).port;
  return {
    config: {
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      s3Endpoint: `http://127.0.0.1:${s3Port}`,
      sqsEndpoint: `http://127.0.0.1:${sqsPort}`,
    },
    async restartS3() {
      await s3.close();
      s3 = await startS3();
    },
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => {
        sqs.closeAllConnections?.();
        sqs.close(() => resolve());
      });
      await rm(directory, { recursive: true, force: true });
    },
  };
}
