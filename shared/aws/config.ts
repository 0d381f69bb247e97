/** One validated configuration for the S3 and SQS clients; the clients are built once per configuration and reused. */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { AwsConfigError } from './errors';

const endpointSchema = z.string().url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL');

export const awsConfigSchema = z
  .object({
    region: z.string().min(1).default('us-east-1'),
    /** Static keys for local servers; the SDK's default chain (Lambda role, profile) when absent. */
    credentials: z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }).strict().optional(),
    /** A local S3 server; path-style addressing because it serves buckets under one host. */
    s3Endpoint: endpointSchema.optional(),
    sqsEndpoint: endpointSchema.optional(),
  })
  .strict();
export type AwsConfig = z.input<typeof awsConfigSchema>;

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
}

const cache = new Map<string, AwsClients>();

export function awsClients(config: AwsConfig): AwsClients {
  const parsed = awsConfigSchema.safeParse(config);
  if (!parsed.success) throw new AwsConfigError(parsed.error.issues);
  const c = parsed.data;
  const key = JSON.stringify(c);
  let clients = cache.get(key);
  if (!clients) {
    clients = {
      s3: new S3Client({ region: c.region, credentials: c.credentials, endpoint: c.s3Endpoint, forcePathStyle: c.s3Endpoint !== undefined }),
      sqs: new SQSClient({ region: c.region, credentials: c.credentials, endpoint: c.sqsEndpoint }),
    };
    cache.set(key, clients);
  }
  return clients;
}
