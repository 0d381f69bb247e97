/** The pinner's record handler (pin and verify-package jobs from the pin queue) and the dependencies of a function's environment. */
import { JsonRpcProvider } from 'ethers';
import { ModelRegistry__factory } from '../../build/types';
import type { BatchRecord } from '../aws/batch';
import { awsClients } from '../aws/config';
import { formatIssues } from '../aws/errors';
import { BlobStore } from '../blobs/blobStore';
import { logLine } from '../dispatch/log';
import { openIpfsStore } from '../ipfs/store';
import { jobSchema } from '../schemas/jobs';
import { awsConfigOf, ipfsConfigOf, type ServiceEnv } from '../service/config';
import { kernelService } from '../dnn/guest/kernelFile';
import { PackageRecordStore } from './packageRecords';
import { pinModel, verifyPackage, type PinDeps } from './pinModel';
import { PinStatusStore } from './status';

export class PinJobInvalidError extends Error {
  override name = 'PinJobInvalidError';
  constructor(readonly messageId: string, reason: string) {
    super(`message ${messageId} on the pin queue is not a pin job: ${reason}`);
  }
}

export function pinJobHandler(deps: PinDeps): (record: BatchRecord) => Promise<void> {
  return async (record) => {
    let json: unknown;
    try {
      json = JSON.parse(record.body);
    } catch (e) {
      throw new PinJobInvalidError(record.messageId, `not JSON (${(e as Error).message})`);
    }
    const parsed = jobSchema.safeParse(json);
    if (!parsed.success) throw new PinJobInvalidError(record.messageId, formatIssues(parsed.error.issues));
    const job = parsed.data;
    if (job.kind === 'verify-package') {
      const verdict = await verifyPackage(deps, job, job.requestId);
      logLine('package', { graphCid: job.graphCid, weightsCid: job.weightsCid, status: verdict.status, ...(verdict.error ? { error: verdict.error.message } : {}) });
      return;
    }
    if (job.kind !== 'pin') throw new PinJobInvalidError(record.messageId, `kind is ${job.kind}`);
    const status = await pinModel(deps, BigInt(job.modelId));
    logLine('pinned', { modelId: status.modelId, eventId: job.eventId, files: status.files });
  };
}

/** Registry on OPML_RPC_URL, blobs in OPML_DATA_BUCKET and the configured IPFS, statuses in OPML_VIEWS_BUCKET. */
export async function pinDepsFromEnv(env: ServiceEnv): Promise<PinDeps> {
  const provider = new JsonRpcProvider(env.OPML_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  const { s3 } = awsClients(awsConfigOf(env));
  const ipfs = await openIpfsStore(ipfsConfigOf(env));
  return {
    registry: ModelRegistry__factory.connect(env.OPML_REGISTRY, provider),
    blobs: new BlobStore(s3, ipfs, { bucket: env.OPML_DATA_BUCKET, maxBytes: env.OPML_MAX_MODEL_BYTES }),
    statuses: new PinStatusStore(s3, env.OPML_VIEWS_BUCKET),
    packages: new PackageRecordStore(s3, env.OPML_VIEWS_BUCKET),
    kernel: kernelService(env.OPML_KERNEL_ELF),
  };
}
