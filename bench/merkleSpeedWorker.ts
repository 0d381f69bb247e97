/** A worker thread of bench/merkleSpeed.ts's raw limit for the wasm hasher: hashes the pattern `rounds` times, posts the seconds. */
import { parentPort, workerData } from 'node:worker_threads';
import { treeHeight } from '../shared/vm/merkleRegion';
import { wasmHasher } from '../shared/vm/wasmHasher';
import { patternBytes, RAW_BUFFER_BYTES } from './merkleSpeed';

const pattern = patternBytes(RAW_BUFFER_BYTES);
const start = performance.now();
for (let r = 0; r < (workerData as { rounds: number }).rounds; r++) wasmHasher.regionRoot(pattern, 0, pattern.length, treeHeight(pattern.length));
parentPort!.postMessage((performance.now() - start) / 1000);
