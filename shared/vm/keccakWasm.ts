/**
 * keccak256(left ‖ right) of two 32-byte nodes in WebAssembly, the Merkle tree's hot loop.
 * JavaScript has no 64-bit integers, so a JS permutation works on 32-bit halves and needs about
 * three times the operations; WebAssembly has i64 xor/and/rotl. The module is emitted here, byte
 * by byte, from the same ROT/PI_DEST/RC tables as the JS permutation (no toolchain, no binary
 * blob): one exported function `hash64(src, dst)` keeping all 25 lanes in locals.
 */
import { PI_DEST, RC, ROT } from './keccakTables';

const OP = {
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i64Load: 0x29,
  i64Store: 0x37,
  i32Const: 0x41,
  i64Const: 0x42,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i64And: 0x83,
  i64Xor: 0x85,
  i64Rotl: 0x89,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'ascii')];

/** Where the round constants live in linear memory (24 little-endian i64). */
const RC_ADDRESS = 0;
/** First free byte after the constants, for callers' buffers. */
const WASM_SCRATCH = 256;

function hash64Body(): number[] {
  // locals: 0 src, 1 dst, 2 round offset (i32), then a0..a24, c0..c4, d0..d4, b0..b24 (i64).
  const A = 3;
  const C = A + 25;
  const D = C + 5;
  const B = D + 5;
  const code: number[] = [];
  const get = (i: number) => code.push(OP.localGet, ...uleb(i));
  const set = (i: number) => code.push(OP.localSet, ...uleb(i));
  const memarg = (offset: number) => [3, ...uleb(offset)];

  for (let i = 0; i < 8; i++) {
    get(0);
    code.push(OP.i64Load, ...memarg(8 * i));
    set(A + i);
  }
  // Padding of a 64-byte message: 0x01 right after it, 0x80 in the last byte of the 136-byte rate.
  code.push(OP.i64Const, ...sleb(1n));
  set(A + 8);
  code.push(OP.i64Const, ...sleb(-(1n << 63n)));
  set(A + 16);

  code.push(OP.loop, 0x40);
  for (let x = 0; x < 5; x++) {
    get(A + x);
    for (let y = 1; y < 5; y++) {
      get(A + x + 5 * y);
      code.push(OP.i64Xor);
    }
    set(C + x);
  }
  for (let x = 0; x < 5; x++) {
    get(C + ((x + 4) % 5));
    get(C + ((x + 1) % 5));
    code.push(OP.i64Const, ...sleb(1n), OP.i64Rotl, OP.i64Xor);
    set(D + x);
  }
  for (let i = 0; i < 25; i++) {
    get(A + i);
    get(D + (i % 5));
    code.push(OP.i64Xor);
    if (ROT[i] !== 0) code.push(OP.i64Const, ...sleb(BigInt(ROT[i])), OP.i64Rotl);
    set(B + PI_DEST[i]);
  }
  for (let y = 0; y < 25; y += 5) {
    for (let x = 0; x < 5; x++) {
      get(B + y + x);
      get(B + y + ((x + 1) % 5));
      code.push(OP.i64Const, ...sleb(-1n), OP.i64Xor);
      get(B + y + ((x + 2) % 5));
      code.push(OP.i64And, OP.i64Xor);
      set(A + y + x);
    }
  }
  get(A);
  get(2);
  code.push(OP.i64Load, ...memarg(RC_ADDRESS), OP.i64Xor);
  set(A);
  get(2);
  code.push(OP.i32Const, ...sleb(8n), OP.i32Add);
  set(2);
  get(2);
  code.push(OP.i32Const, ...sleb(BigInt(8 * 24)), OP.i32LtU, OP.brIf, 0, OP.end);

  for (let i = 0; i < 4; i++) {
    get(1);
    get(A + i);
    code.push(OP.i64Store, ...memarg(8 * i));
  }
  code.push(OP.end);
  const locals = vec([
    [1, 0x7f],
    [60, 0x7e],
  ]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function buildModule(): Uint8Array {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[0x7f], [0x7f]]), 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0, 1]])),
    ...section(7, vec([[...name('hash64'), 0, 0], [...name('memory'), 2, 0]])),
    ...section(10, vec([hash64Body()])),
  ];
  return Uint8Array.from(bytes);
}

/** This repo's lib settings (ES2022, no DOM) do not declare WebAssembly; Node provides it. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

const instance = new WebAssembly.Instance(new WebAssembly.Module(buildModule()));
const hash64 = instance.exports.hash64 as (src: number, dst: number) => void;
const memory = instance.exports.memory as { buffer: ArrayBuffer };
const MEM = new Uint32Array(memory.buffer);
MEM.set(RC, RC_ADDRESS / 4);

const IN = WASM_SCRATCH / 4;
/** A 4 KiB region hashed in place by chunkRoot, then the zero hashes Z[0..7] it compares with. */
const CHUNK_ADDRESS = 1024;
export const CHUNK_MAX = 4096;
const ZERO_ADDRESS = CHUNK_ADDRESS + CHUNK_MAX;
const CHUNK_LEVELS = 7;
const MEM8 = new Uint8Array(memory.buffer);
for (let level = 0; level < CHUNK_LEVELS; level++) {
  const z = ZERO_ADDRESS + 32 * level;
  MEM8.copyWithin(WASM_SCRATCH, z, z + 32);
  MEM8.copyWithin(WASM_SCRATCH + 32, z, z + 32);
  hash64(WASM_SCRATCH, z + 32);
}

function isZeroNode(address: number, level: number): boolean {
  const w = address >>> 2;
  const z = (ZERO_ADDRESS + 32 * level) >>> 2;
  for (let i = 0; i < 8; i++) if (MEM[w + i] !== MEM[z + i]) return false;
  return true;
}

/**
 * Merkle root (8 words) of a power-of-two region of 32 to 4096 bytes, hashed in place inside the
 * module's memory; pairs of zero subtrees take the known zero hash without running keccak.
 */
export function chunkRoot(bytes: Uint8Array): Uint32Array {
  MEM8.set(bytes, CHUNK_ADDRESS);
  for (let level = 0, nodes = bytes.length >>> 5; nodes > 1; level++, nodes >>>= 1) {
    for (let j = 0; j < nodes >>> 1; j++) {
      const src = CHUNK_ADDRESS + 64 * j;
      const dst = CHUNK_ADDRESS + 32 * j;
      if (isZeroNode(src, level) && isZeroNode(src + 32, level)) {
        const z = ZERO_ADDRESS + 32 * (level + 1);
        MEM8.copyWithin(dst, z, z + 32);
      } else {
        // hash64 reads both children into locals before writing, so dst may overlap src.
        hash64(src, dst);
      }
    }
  }
  return MEM.slice(CHUNK_ADDRESS >>> 2, (CHUNK_ADDRESS >>> 2) + 8);
}

/**
 * keccak256(left ‖ right) of two 32-byte nodes given as 8 little-endian words each, written as
 * 8 words to out[outOff..]. Allocation-free.
 */
export function hashPairWords(
  left: Uint32Array,
  leftOff: number,
  right: Uint32Array,
  rightOff: number,
  out: Uint32Array,
  outOff: number,
): void {
  for (let i = 0; i < 8; i++) {
    MEM[IN + i] = left[leftOff + i];
    MEM[IN + 8 + i] = right[rightOff + i];
  }
  hash64(WASM_SCRATCH, WASM_SCRATCH);
  for (let i = 0; i < 8; i++) out[outOff + i] = MEM[IN + i];
}
