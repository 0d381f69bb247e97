/**
 * This machine's memory read bandwidth, measured the way decoding reads weights: a buffer far
 * larger than the caches, scanned by memchr (Buffer.indexOf of a byte it does not hold) on every
 * core at once, each core its own slice. Reported as the best of a few passes, in GB/s.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const view = Buffer.from(workerData.buffer, workerData.offset, workerData.length);
parentPort.on('message', (passes) => {
  const times = [];
  for (let p = 0; p < passes; p++) {
    const t0 = process.hrtime.bigint();
    if (view.indexOf(0xab) !== -1) throw new Error('unexpected byte');
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  parentPort.postMessage(times);
});
`;

export async function readBandwidthGBps(bytes = 2 ** 31, passes = 5, threads = availableParallelism()): Promise<{ gbps: number; singleThreadGBps: number; threads: number; bytes: number }> {
  const shared = new SharedArrayBuffer(bytes);
  // Touch every page first so the scan measures reads, not page faults.
  new Uint8Array(shared).fill(1);
  const single = Buffer.from(shared);
  let best1 = Infinity;
  for (let p = 0; p < passes; p++) {
    const t0 = process.hrtime.bigint();
    single.indexOf(0xab);
    best1 = Math.min(best1, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const slice = Math.floor(bytes / threads);
  const workers = Array.from({ length: threads }, (_, i) => new Worker(WORKER, { eval: true, workerData: { buffer: shared, offset: i * slice, length: slice } }));
  try {
    const results = await Promise.all(workers.map((w) => new Promise<number[]>((done, fail) => {
      w.once('message', done);
      w.once('error', fail);
      w.postMessage(passes);
    })));
    // All threads run their passes together; the slowest thread's best pass bounds the aggregate.
    const best = Math.max(...results.map((r) => Math.min(...r)));
    return { gbps: (slice * threads) / best / 1e9, singleThreadGBps: bytes / best1 / 1e9, threads, bytes };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
