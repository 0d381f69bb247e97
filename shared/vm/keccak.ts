/**
 * Keccak-256 (the Ethereum variant: pad 0x01 ... 0x80), allocation-free.
 *
 * Why not @noble/hashes: v2 ships ES modules only, which jest's CommonJS runtime in this repo
 * cannot load, and the Merkle tree hashes millions of 64-byte pairs, where speed matters: the
 * pair hash runs in WebAssembly with native 64-bit lanes (keccakWasm.ts); this file keeps a
 * JavaScript permutation for arbitrary-length input (state hashes). Tests check both against
 * ethers' keccak256 (itself @noble v1) on random inputs of every length class.
 */

const RATE_BYTES = 136;
const RATE_WORDS = RATE_BYTES / 4;

import { PI_DEST, RC, ROT } from './keccakTables';

/**
 * keccak-f[1600] on 25 lanes stored as 50 little-endian 32-bit halves (lo, hi). The round body
 * is generated once, fully unrolled over locals from the ROT/PI tables above: a loop over typed
 * arrays is several times slower in V8, and generating it keeps the tables the single source.
 */
const keccakF: (s: Uint32Array) => void = buildPermutation();

function buildPermutation(): (s: Uint32Array) => void {
  const lines: string[] = [];
  const sv = (i: number) => `s${i}`;
  for (let i = 0; i < 50; i++) lines.push(`let ${sv(i)} = s[${i}];`);
  lines.push('let ' + Array.from({ length: 10 }, (_, i) => `c${i}`).join(', ') + ';');
  lines.push('let ' + Array.from({ length: 10 }, (_, i) => `d${i}`).join(', ') + ';');
  lines.push('let ' + Array.from({ length: 50 }, (_, i) => `b${i}`).join(', ') + ';');
  lines.push('for (let r = 0; r < 48; r += 2) {');
  for (let x = 0; x < 10; x++) lines.push(`c${x} = s${x} ^ s${x + 10} ^ s${x + 20} ^ s${x + 30} ^ s${x + 40};`);
  for (let x = 0; x < 5; x++) {
    const p = ((x + 4) % 5) * 2;
    const n = ((x + 1) % 5) * 2;
    lines.push(`d${2 * x} = c${p} ^ ((c${n} << 1) | (c${n + 1} >>> 31));`);
    lines.push(`d${2 * x + 1} = c${p + 1} ^ ((c${n + 1} << 1) | (c${n} >>> 31));`);
  }
  for (let i = 0; i < 25; i++) {
    const x = i % 5;
    const lo = `(s${2 * i} ^ d${2 * x})`;
    const hi = `(s${2 * i + 1} ^ d${2 * x + 1})`;
    const r = ROT[i];
    const d = PI_DEST[i] * 2;
    if (r === 0) {
      lines.push(`b${d} = ${lo}; b${d + 1} = ${hi};`);
    } else {
      lines.push(`{ const lo = ${lo}; const hi = ${hi};`);
      if (r < 32) lines.push(`b${d} = (lo << ${r}) | (hi >>> ${32 - r}); b${d + 1} = (hi << ${r}) | (lo >>> ${32 - r}); }`);
      else if (r === 32) lines.push(`b${d} = hi; b${d + 1} = lo; }`);
      else lines.push(`b${d} = (hi << ${r - 32}) | (lo >>> ${64 - r}); b${d + 1} = (lo << ${r - 32}) | (hi >>> ${64 - r}); }`);
    }
  }
  for (let y = 0; y < 50; y += 10) {
    for (let x = 0; x < 10; x++) {
      const x1 = y + ((x + 2) % 10);
      const x2 = y + ((x + 4) % 10);
      lines.push(`s${y + x} = b${y + x} ^ (~b${x1} & b${x2});`);
    }
  }
  lines.push('s0 ^= RC[r]; s1 ^= RC[r + 1];');
  lines.push('}');
  for (let i = 0; i < 50; i++) lines.push(`s[${i}] = ${sv(i)};`);
  return new Function('RC', `return function keccakF(s) {\n${lines.join('\n')}\n};`)(RC) as (s: Uint32Array) => void;
}

export { hashPairWords } from './keccakWasm';

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  // Leaves and nodes are viewed as little-endian 32-bit words throughout the VM.
  throw new Error('opml VM requires a little-endian host');
}

const S = new Uint32Array(50);

const BLOCK = new Uint8Array(RATE_BYTES);
const BLOCK_WORDS = new Uint32Array(BLOCK.buffer);

/** keccak256 of arbitrary bytes. */
export function keccak256(data: Uint8Array): Uint8Array {
  S.fill(0);
  let off = 0;
  for (;;) {
    const n = Math.min(RATE_BYTES, data.length - off);
    BLOCK.fill(0);
    BLOCK.set(data.subarray(off, off + n));
    off += n;
    const last = n < RATE_BYTES;
    if (last) {
      BLOCK[n] ^= 0x01;
      BLOCK[RATE_BYTES - 1] ^= 0x80;
    }
    for (let i = 0; i < RATE_WORDS; i++) S[i] ^= BLOCK_WORDS[i];
    keccakF(S);
    if (last) break;
  }
  return new Uint8Array(S.buffer.slice(0, 32));
}
