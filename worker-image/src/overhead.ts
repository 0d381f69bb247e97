/**
 * The worker's overhead over bare native inference, for `npm run bench:api`: an infer job's wall
 * time, its inference (slot tensors) and its compute phase (inference plus the Merkle roots of the
 * commitment), each against dnnSlotTensors alone on the same model and input.
 */
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import type { Tensor } from '../../shared/dnn/tensor';
import type { PreparedModel } from '../../shared/models/registration';

/** What an infer job's final log line reports (fields `ms`, `inferMs`, `computeMs`). */
export interface InferJobTimes {
  /** The job from receive to commit mined (fetches, chain reads, claim and commit transactions). */
  jobMs: number;
  /** The worker's slot-tensor run. */
  inferMs: number;
  /** inferMs plus the roots and graph state the commit needs. */
  computeMs: number;
}

export interface InferOverhead extends InferJobTimes {
  /** dnnSlotTensors alone, median of the repeats after one warm-up run. */
  nativeMs: number;
  /**
   * The first of those runs, before the warm-up: like the job's single run, it pays cold caches, so on
   * models that run in microseconds it is the fairer baseline for inferMs.
   */
  nativeFirstMs: number;
  /** inferMs / nativeMs - 1: what the worker adds to inference itself (the goal: under 10%). */
  inferOverhead: number;
  /** computeMs / nativeMs - 1: with the commitment's hashing, which bare inference does not do. */
  computeOverhead: number;
  /** jobMs / nativeMs - 1: everything a job costs beyond inference (on small models, the two transactions). */
  jobOverhead: number;
}

export function measureInferOverhead(prepared: PreparedModel, input: Tensor, job: InferJobTimes, repeats = 9): InferOverhead {
  const firstStarted = performance.now();
  dnnSlotTensors(prepared.model, input);
  const nativeFirstMs = performance.now() - firstStarted;
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    dnnSlotTensors(prepared.model, input);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const nativeMs = times[Math.floor(times.length / 2)];
  return {
    ...job,
    nativeMs,
    nativeFirstMs,
    inferOverhead: job.inferMs / nativeMs - 1,
    computeOverhead: job.computeMs / nativeMs - 1,
    jobOverhead: job.jobMs / nativeMs - 1,
  };
}
