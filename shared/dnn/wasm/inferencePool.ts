/**
 * Worker threads across cores: a pool of threads, each holding the model (and its own WebAssembly
 * instance), that runs a batch of independent inferences split into one contiguous share per
 * thread. Results come back in input order with the same bytes and roots as runModel in this
 * thread (test/dnn/wasmPool.test.ts).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DnnError } from '../errors';
import type { Backend } from '../executor';
import { tensorBytes, type Tensor } from '../tensor';

export interface PoolWorkerData {
  modelPath: string;
  backend?: Backend;
}

export interface PoolRequest {
  id: number;
  inputs: Uint8Array[];
}

export interface PoolResult {
  /** the output tensor's canonical bytes */
  output: Uint8Array;
  graphStateRoot: Uint8Array;
  slots: Uint8Array[];
}

export type PoolResponse = { id: number; results: PoolResult[] } | { id: number; error: string };

/** A worker failed an inference (the message names the error it threw there) or died. */
export class DnnPoolError extends DnnError {
  override name = 'DnnPoolError';
  constructor(
    message: string,
    readonly worker: number,
  ) {
    super(`inference worker ${worker}: ${message}`);
  }
}

export interface InferencePoolOptions {
  /** default: the machine's available parallelism */
  threads?: number;
  backend?: Backend;
}

/** Under tsx or jest this module is TypeScript source, and so is the worker: tsx's require hook loads it. */
const FROM_SOURCE = __filename.endsWith('.ts');
const WORKER_FILE = join(__dirname, `inferenceWorker${FROM_SOURCE ? '.ts' : '.js'}`);
const WORKER_CODE = `${FROM_SOURCE ? "require('tsx/cjs/api').register();" : ''} require(${JSON.stringify(WORKER_FILE)});`;

export class InferencePool {
  private readonly workers: Worker[];
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: PoolResult[]) => void; reject: (e: Error) => void; worker: number }>();

  /** `modelPath`: a package base path as readModelFiles takes it. */
  constructor(modelPath: string, options: InferencePoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    const data: PoolWorkerData = { modelPath, backend: options.backend };
    this.workers = Array.from({ length: threads }, (_, w) => {
      const worker = new Worker(WORKER_CODE, { eval: true, workerData: data });
      worker.on('message', (m: PoolResponse) => this.settle(m, w));
      worker.on('error', (e) => this.failAll(w, e.message));
      worker.on('exit', (code) => code !== 0 && this.failAll(w, `exited with code ${code}`));
      return worker;
    });
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Runs every input, one contiguous share per thread; results in input order. */
  async run(inputs: readonly Tensor[]): Promise<PoolResult[]> {
    const share = Math.ceil(inputs.length / this.workers.length);
    const parts = this.workers
      .map((_, w) => inputs.slice(w * share, (w + 1) * share))
      .map((part, w) => (part.length ? this.send(w, part.map((t) => tensorBytes(t).slice())) : Promise.resolve([])));
    return (await Promise.all(parts)).flat();
  }

  private send(w: number, inputs: Uint8Array[]): Promise<PoolResult[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      this.workers[w].postMessage({ id, inputs } satisfies PoolRequest);
    });
  }

  private settle(m: PoolResponse, w: number): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(new DnnPoolError(m.error, w));
    else p.resolve(m.results);
  }

  private failAll(w: number, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.reject(new DnnPoolError(message, w));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
