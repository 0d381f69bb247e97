/**
 * `npx tsx bench/merkle.ts`: tensor root speed (merkleRootOfBytes on random 1 KiB, 16 KiB and
 * 1 MiB tensors, plus a 1000-byte one that needs zero padding), the same hashed in place in another
 * module's memory (memoryRegionRoot, as the DNN runtime can), and the memory root after touching
 * 64 MiB as bench:vm measures it. Progress lines on stderr, ONE JSON object on the last line.
 */
import { randomBytes } from 'node:crypto';
import { memoryRegionRoot, SCRATCH_BYTES, type WasmMemory } from '../shared/vm/keccakWasm';
import { merkleRootOfBytes } from '../shared/vm/merkle';
import { PAGE_SIZE } from '../shared/vm/memory';
import { TOUCHED_BYTES, touched64MiB } from './touchedMemory';

const log = (line: string) => process.stderr.write(`bench:merkle ${line}\n`);

/** Best per-call time in microseconds over several batches of about 50 ms each. */
function perCallMicros(root: () => void): number {
  let n = 1;
  for (let start = performance.now(); performance.now() - start < 50; n *= 2) {
    for (let i = 0; i < n; i++) root();
  }
  let best = Infinity;
  for (let batch = 0; batch < 7; batch++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) root();
    best = Math.min(best, ((performance.now() - start) * 1000) / n);
  }
  return best;
}

/** This repo's lib settings do not declare WebAssembly; Node provides it. */
const { WebAssembly: Wasm } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasmMemory } };
const foreign = new Wasm.Memory({ initial: 17 });
const SCRATCH = 0;
const TENSOR = SCRATCH_BYTES;

function memoryRootSeconds(): number {
  const memory = touched64MiB();
  const start = performance.now();
  memory.root();
  return (performance.now() - start) / 1000;
}

const result: Record<string, number> = {};
for (const [label, size] of [
  ['1KiB', 1024],
  ['1000B', 1000],
  ['16KiB', 16 << 10],
  ['1MiB', 1 << 20],
] as const) {
  const bytes = randomBytes(size);
  const us = perCallMicros(() => merkleRootOfBytes(bytes));
  new Uint8Array(foreign.buffer).set(bytes, TENSOR);
  const inPlace = perCallMicros(() => memoryRegionRoot(foreign, TENSOR, size, SCRATCH));
  log(`${label}: ${us.toFixed(2)} us per root, ${inPlace.toFixed(2)} us in place in another module's memory`);
  result[`tensorRoot${label}Micros`] = Number(us.toFixed(3));
  result[`tensorRoot${label}InPlaceMicros`] = Number(inPlace.toFixed(3));
}
const seconds = memoryRootSeconds();
log(`memory root after touching 64 MiB (${TOUCHED_BYTES / PAGE_SIZE} pages): ${seconds.toFixed(3)} s`);
result.merkleRootAfterTouching64MiBSeconds = Number(seconds.toFixed(3));
console.log(JSON.stringify(result));
