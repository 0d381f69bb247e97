/** Routes a parsed job to its handler; a job for the other role (a misrouted message) is acknowledged without a transaction. */
import type { Job } from '../../../shared/schemas/jobs';
import type { JobResult, Progress, WorkerContext } from '../context';
import { runDispute } from './dispute';
import { runFinalize } from './finalize';
import { runInfer } from './infer';
import { runVerify } from './verify';

const ROLE_OF: Record<Job['kind'], 'provider' | 'challenger' | 'either' | 'none'> = {
  infer: 'provider',
  finalize: 'provider',
  verify: 'challenger',
  dispute: 'either',
  pin: 'none',
  'verify-package': 'none',
};

export async function handleJob(ctx: WorkerContext, job: Job, progress: Progress): Promise<JobResult> {
  const role = ROLE_OF[job.kind];
  if (role !== 'either' && role !== ctx.role) return { state: 'skipped', reason: `a ${job.kind} job is not for a ${ctx.role} worker` };
  switch (job.kind) {
    case 'infer':
      return runInfer(ctx, job, progress);
    case 'verify':
      return runVerify(ctx, job, progress);
    case 'dispute':
      return runDispute(ctx, job, progress);
    case 'finalize':
      return runFinalize(ctx, job);
    case 'pin':
    case 'verify-package':
      return { state: 'skipped', reason: `${job.kind} jobs belong to the pinner function` };
  }
}
