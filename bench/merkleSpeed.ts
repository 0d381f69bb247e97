/**
 * `npx tsx bench/merkleSpeed.ts [--gib 2] [--wasm]`: how fast a blob's Merkle root streams
 * (MerkleStream over `gib` GiB pushed in 4 MiB pieces, never held whole) against the raw keccak
 * limit of the same hasher on the same machine: its kernel hashing in-memory trees of the same
 * bytes on every core at once, no I/O and no streaming (rawKeccakSecondsPerGiB says how). Both as seconds per GiB of leaves (a GiB
 * is 2^25 - 1 pair hashes); their ratio is the streaming root's overhead. Also the kernel's pair
 * hashes per second on one core, small-tensor root latency, and how much of a model run's
 * activation hashing a batch leaves on the main thread. `--wasm` measures the WebAssembly
 * hasher (OPML_NATIVE_HASH=0 does the same). Progress on stderr, ONE JSON object on the last line.
 *
 * The blobs benchmark calls measureMerkleSpeed().
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { hasher as processHasher } from '../shared/vm/hasher';
import { treeHeight, type RegionHasher } from '../shared/vm/merkleRegion';
import { DEFAULT_CHUNK_SIZE, MerkleStream } from '../shared/vm/merkleStream';
import { wasmHasher } from '../shared/vm/wasmHasher';

const GIB = 2 ** 30;
const PIECE_BYTES = 4 << 20;
/** Per thread for the raw limit: well past the L3 cache, like a blob. */
export const RAW_BUFFER_BYTES = 64 << 20;
/** The raw limit's unit of work: the streaming root's chunk size. */
const RAW_SUBTREE_BYTES = DEFAULT_CHUNK_SIZE;
/** Pair hashes in a GiB of leaves: 2^25 leaves, one hash per internal node. */
const HASHES_PER_GIB = 2 ** 25 - 1;

const log = (line: string) => process.stderr.write(`bench:merkleSpeed ${line}\n`);

/**
 * Nonzero bytes (so no pair is skipped as a zero subtree) that differ from one leaf to the next.
 * The stream pushes views of one such buffer over and over: the bytes never change, as
 * MerkleStream asks, and producing them costs nothing, so what is measured is the root alone.
 */
export function patternBytes(length: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x | 1;
  }
  return new Uint8Array(words.buffer, 0, length);
}

export interface MerkleSpeed {
  hasher: string;
  threads: number;
  gib: number;
  /** MerkleStream over `gib` GiB in 4 MiB pieces. */
  rootSecondsPerGiB: number;
  /** The same hasher over in-memory 64 MiB trees on every thread at once. */
  rawKeccakSecondsPerGiB: number;
  /** rootSecondsPerGiB / rawKeccakSecondsPerGiB (goal <= 1.3). */
  ratio: number;
  peakRssBytes: number;
}

/** Seconds per GiB of MerkleStream over `gib` GiB pushed in 4 MiB views of a 64 MiB pattern. */
export async function streamRootSecondsPerGiB(hasher: RegionHasher, gib: number, pattern: Uint8Array = patternBytes(RAW_BUFFER_BYTES)): Promise<number> {
  const stream = new MerkleStream({ hasher, length: gib * GIB });
  const pieces = (gib * GIB) / PIECE_BYTES;
  const start = performance.now();
  for (let i = 0; i < pieces; i++) {
    const at = (i * PIECE_BYTES) % pattern.length;
    await stream.push(pattern.subarray(at, at + PIECE_BYTES));
  }
  await stream.finish();
  return (performance.now() - start) / 1000 / gib;
}

/** Benchmarks run under tsx: its require hook loads the TypeScript worker. */
const WORKER_CODE = `require('tsx/cjs/api').register(); require(${JSON.stringify(join(__dirname, 'merkleSpeedWorker.ts'))});`;

/** A thread hashing the pattern `rounds` times with the wasm hasher, which has no threads of its own. */
function wasmRawWorker(rounds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_CODE, { eval: true, workerData: { rounds } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/**
 * Seconds per GiB of `hasher` hashing in-memory trees on every thread at once, `gib` GiB in all:
 * one 64 MiB buffer per thread, hashed as 2 MiB subtrees drawn from one queue, two per thread in
 * flight. Drawn rather than dealt: the cores of a shared machine do not run at one speed (here one
 * often ran a quarter slower than the other), and a thread bound to one 64 MiB tree after another
 * would leave the faster core idle at the end, understating the limit.
 */
export async function rawKeccakSecondsPerGiB(hasher: RegionHasher, gib: number, pattern: Uint8Array = patternBytes(RAW_BUFFER_BYTES)): Promise<number> {
  const threads = hasher === wasmHasher ? Math.max(2, processHasher.threads) : hasher.threads;
  const rounds = Math.max(1, Math.round((gib * GIB) / pattern.length / threads));
  if (hasher === wasmHasher) {
    // Timed inside the workers, which start (and build their pattern) at their own pace: the
    // limit is the sum of their rates.
    const seconds = await Promise.all(Array.from({ length: threads }, () => wasmRawWorker(rounds)));
    const gibPerWorker = (rounds * pattern.length) / GIB;
    return 1 / seconds.reduce((rate, s) => rate + gibPerWorker / s, 0);
  }
  const buffers = Array.from({ length: threads }, (_, i) => (i === 0 ? pattern : pattern.slice()));
  const jobs = rounds * threads * (pattern.length / RAW_SUBTREE_BYTES);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 2 * threads }, async () => {
      for (let job = next++; job < jobs; job = next++) {
        const buffer = buffers[job % threads];
        const offset = (Math.floor(job / threads) * RAW_SUBTREE_BYTES) % buffer.length;
        await hasher.regionRoots(buffer, offset, RAW_SUBTREE_BYTES, treeHeight(RAW_SUBTREE_BYTES), []);
      }
    }),
  );
  return (performance.now() - start) / 1000 / ((jobs * RAW_SUBTREE_BYTES) / GIB);
}

/** Pair hashes per second of `hasher` on one thread (a 64 MiB tree, in place). */
export function hashesPerSecondPerCore(hasher: RegionHasher, pattern: Uint8Array = patternBytes(RAW_BUFFER_BYTES)): number {
  const start = performance.now();
  hasher.regionRoot(pattern, 0, pattern.length, treeHeight(pattern.length));
  return (pattern.length / 32 - 1) / ((performance.now() - start) / 1000);
}

/** Best microseconds per call over several batches of about 20 ms. */
function perCallMicros(f: () => void): number {
  let n = 1;
  for (let start = performance.now(); performance.now() - start < 20; n *= 2) for (let i = 0; i < n; i++) f();
  let best = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) f();
    best = Math.min(best, ((performance.now() - start) * 1000) / n);
  }
  return best;
}

/** Microseconds per root of one small tensor, hashed alone on the calling thread. */
export function smallTensorMicros(hasher: RegionHasher, sizes: readonly number[]): Record<string, number> {
  const pattern = patternBytes(Math.max(...sizes) + 4);
  return Object.fromEntries(sizes.map((n) => [`${n}B`, perCallMicros(() => hasher.regionRoot(pattern, 0, n, treeHeight(n)))]));
}

const spin = (micros: number) => {
  for (const end = performance.now() + micros / 1000; performance.now() < end; );
};

/**
 * A model run's activation roots as the main thread sees them: each tensor is added to a batch
 * after `nodeMicros` of (simulated, busy) node compute, and the batch is drained at the end. The
 * microseconds beyond the compute are what hashing still costs the run (the best of 50 runs); the
 * native hasher hides most of it on the other core.
 */
export function visibleActivationMicros(hasher: RegionHasher, sizes: readonly number[], nodeMicros: number): number {
  const pattern = patternBytes(Math.max(...sizes));
  const batch = hasher.newRootBatch();
  let best = Infinity;
  for (let run = 0; run < 50; run++) {
    const start = performance.now();
    for (const n of sizes) {
      spin(nodeMicros);
      batch.add(pattern.subarray(0, n));
    }
    batch.drain();
    best = Math.min(best, (performance.now() - start) * 1000 - nodeMicros * sizes.length);
  }
  return best;
}

export async function measureMerkleSpeed(hasher: RegionHasher = processHasher, gib = 2): Promise<MerkleSpeed> {
  const pattern = patternBytes(RAW_BUFFER_BYTES);
  // The limit is measured before and after the stream and the faster kept: on a shared machine
  // the other load varies, and the better limit can only make the ratio look worse.
  const rawGiB = Math.min(gib, 1) / 2;
  const rawBefore = await rawKeccakSecondsPerGiB(hasher, rawGiB, pattern);
  const root = await streamRootSecondsPerGiB(hasher, gib, pattern);
  log(`${hasher.name}: streaming root over ${gib} GiB ${root.toFixed(3)} s/GiB`);
  const raw = Math.min(rawBefore, await rawKeccakSecondsPerGiB(hasher, rawGiB, pattern));
  log(`${hasher.name}: raw keccak limit ${raw.toFixed(3)} s/GiB`);
  return {
    hasher: hasher.name,
    threads: hasher === wasmHasher ? 1 : hasher.threads,
    gib,
    rootSecondsPerGiB: Number(root.toFixed(3)),
    rawKeccakSecondsPerGiB: Number(raw.toFixed(3)),
    ratio: Number((root / raw).toFixed(3)),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Activation sizes like the CNN's (6 tensors, 16 KiB padded) and the char model's (36 of 1-3 KB), with their nodes' compute. */
const ACTIVATIONS = {
  cnn: { sizes: [6272, 3136, 3136, 1568, 1568, 40], nodeMicros: 20 },
  charModel: { sizes: Array.from({ length: 36 }, (_, i) => 1000 + ((i * 557) % 2000)), nodeMicros: 10 },
};
const SMALL_SIZES = [1024, 6144, 16384, 102400];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const gibAt = argv.indexOf('--gib');
  const gib = gibAt >= 0 ? Number(argv[gibAt + 1]) : 2;
  const hasher = argv.includes('--wasm') ? wasmHasher : processHasher;
  const perCore = hashesPerSecondPerCore(hasher);
  log(`${hasher.name}: ${(perCore / 1e6).toFixed(2)} M pair hashes/s on one core`);
  const speed = await measureMerkleSpeed(hasher, gib);
  const small = smallTensorMicros(hasher, SMALL_SIZES);
  const visible = Object.fromEntries(Object.entries(ACTIVATIONS).map(([model, a]) => [model, visibleActivationMicros(hasher, a.sizes, a.nodeMicros)]));
  log(`${hasher.name}: small tensors ${JSON.stringify(small)} us; activation hashing visible to a run ${JSON.stringify(visible)} us`);
  const rounded = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(1))]));
  console.log(
    JSON.stringify({
      ...speed,
      hashesPerSecondPerCore: Math.round(perCore),
      smallTensorMicros: rounded(small),
      visibleActivationMicros: rounded(visible),
    }),
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
