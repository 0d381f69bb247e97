/**
 * The Merkle tree's hashing in WebAssembly: keccak256(left ‖ right) of 32-byte nodes, and whole
 * regions' roots (docs/vm-spec.md section 3) in one call.
 *
 * JavaScript has no 64-bit integers, so a JS permutation works on 32-bit halves and needs about
 * three times the operations; WebAssembly has i64 xor/and/rotl. The module is emitted here, byte
 * by byte, from the same ROT/PI_DEST/RC tables as the JS permutation (no toolchain, no binary
 * blob). Its memory is imported, so the same code runs over this file's own memory and over a
 * caller's (the DNN kernels' linear memory), hashing tensors where they lie.
 *
 * - `pair(a, b, dst)`: keccak256 of the 32 bytes at `a` then the 32 at `b`, to `dst`, in i64
 *   lanes held in locals; every input is read before the output is written, so `dst` may overlap
 *   either input.
 * - `regionRoot(src, len, scratch, height)`: the root of `len` bytes zero-padded to 32·2^height.
 *   4 KiB blocks are reduced level by level two pairs at a time (one permutation per i64x2 lane
 *   half: 1.6-1.8x the throughput of single hashes, as WebAssembly SIMD has and-not for chi), and
 *   the block roots merge with one pending node per level (a binary counter), so it needs only
 *   SCRATCH_BYTES of scratch whatever the size and never writes the source. Padding subtrees take
 *   the zero hashes, and so does any pair of zero subtrees inside the data.
 */
import { PI_DEST, RC, ROT } from './keccakTables';
import { VmError } from './errors';

const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  localGet: 0x20,
  globalGet: 0x23,
  globalSet: 0x24,
  localSet: 0x21,
  select: 0x1b,
  i64Load: 0x29,
  i64Store: 0x37,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i64Ne: 0x52,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32ShrU: 0x76,
  i32Shl: 0x74,
  i32Or: 0x72,
  i64And: 0x83,
  i64Xor: 0x85,
  i64Rotl: 0x89,
  bulk: 0xfc,
  simd: 0xfd,
} as const;
const MEMORY_COPY = [OP.bulk, 10, 0, 0];
const MEMORY_FILL = [OP.bulk, 11, 0];
const VOID = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;
const V128_TYPE = 0x7b;

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

/** A function body under construction: instructions with their immediates. */
class Code {
  readonly bytes: number[] = [];
  op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }
  get(local: number): this {
    return this.op(OP.localGet, ...uleb(local));
  }
  set(local: number): this {
    return this.op(OP.localSet, ...uleb(local));
  }
  i32(n: number): this {
    return this.op(OP.i32Const, ...sleb(BigInt(n)));
  }
  i64(n: bigint): this {
    return this.op(OP.i64Const, ...sleb(BigInt.asIntN(64, n)));
  }
  load64(offset: number): this {
    return this.op(OP.i64Load, 3, ...uleb(offset));
  }
  store64(offset: number): this {
    return this.op(OP.i64Store, 3, ...uleb(offset));
  }
  call(index: number): this {
    return this.op(OP.call, ...uleb(index));
  }
  /** The encoded body: local declarations (runs of [count, type]) then the code. */
  body(locals: [number, number][]): number[] {
    const body = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...this.bytes, OP.end];
    return [...uleb(body.length), ...body];
  }
}

/** The round constants as 64-bit values (RC holds them as lo, hi halves). */
const ROUND_CONSTANTS: bigint[] = Array.from({ length: 24 }, (_, r) => (BigInt(RC[2 * r + 1]) << 32n) | BigInt(RC[2 * r]));

/**
 * Scratch layout (offsets from the scratch address, kept in global 0): zero hashes Z[0..27], the
 * round constants, one pending node per level, the carry, the result, and a block being reduced.
 */
const ZERO_LEVELS = 28;
const Z_OFF = 0;
const RC_OFF = Z_OFF + 32 * ZERO_LEVELS;
const STACK_OFF = RC_OFF + 8 * 24;
const CURRENT_OFF = STACK_OFF + 32 * ZERO_LEVELS;
const RESULT_OFF = CURRENT_OFF + 32;
const BLOCK_OFF = RESULT_OFF + 32;
/** Levels reduced inside a block: 4 KiB blocks, the VM's page size. */
const BLOCK_LEVELS = 7;
const BLOCK_BYTES = 32 << BLOCK_LEVELS;
/** Bytes of scratch regionRoot needs at its `scratch` address. */
export const SCRATCH_BYTES = BLOCK_OFF + BLOCK_BYTES;

const FN = { pair: 0, regionRoot: 1, isNode: 2, copy32: 3, pairOrZero: 4, pair2: 5, blockRoot: 6, twoPairsOrZero: 7 } as const;

/** How one permutation's lanes are combined: scalar i64 lanes, or i64x2 lanes holding two states. */
interface LaneOps {
  xor(code: Code): void;
  /** Pushes rotl(lane, n); `lane` pushes the lane (SIMD needs it twice). */
  rotl(code: Code, n: number, lane: () => void): void;
  /** Pushes x ^ (~x1 & x2). */
  chi(code: Code, x: number, x1: number, x2: number): void;
  /** Pushes the round constant at the address in local `at`. */
  roundConstant(code: Code, at: number): void;
}

const SCALAR: LaneOps = {
  xor: (code) => code.op(OP.i64Xor),
  rotl: (code, n, lane) => {
    lane();
    code.i64(BigInt(n)).op(OP.i64Rotl);
  },
  chi: (code, x, x1, x2) => code.get(x).get(x1).i64(-1n).op(OP.i64Xor).get(x2).op(OP.i64And, OP.i64Xor),
  roundConstant: (code, at) => code.get(at).load64(0),
};

const SIMD = (op: number): number[] => [OP.simd, ...uleb(op)];
const V128 = {
  load64Splat: SIMD(0x0a),
  splatI64: SIMD(0x12),
  andNot: SIMD(0x4f),
  or: SIMD(0x50),
  xor: SIMD(0x51),
  load64Lane: SIMD(0x57),
  store64Lane: SIMD(0x5b),
  load64Zero: SIMD(0x5d),
  shl: SIMD(0xcb),
  shrU: SIMD(0xcd),
};

const SIMD2: LaneOps = {
  xor: (code) => code.op(...V128.xor),
  // No i64x2 rotate in WebAssembly: two shifts and an or.
  rotl: (code, n, lane) => {
    lane();
    code.i32(n).op(...V128.shl);
    lane();
    code.i32(64 - n).op(...V128.shrU, ...V128.or);
  },
  chi: (code, x, x1, x2) => code.get(x).get(x2).get(x1).op(...V128.andNot, ...V128.xor),
  roundConstant: (code, at) => code.get(at).op(...V128.load64Splat, 3, 0),
};

/**
 * keccak-f[1600] on lanes a0..a24 in locals A..A+24, with temporaries B (25), C (5), D (5) and
 * i32 locals R (the round constant's address) and R + 1 (past the last one). One round per loop
 * iteration: unrolling 24 (or 2, or 3) rounds measured 1.3-1.6x slower in V8 (more spills).
 */
function emitPermutation(code: Code, ops: LaneOps, A: number, R: number): void {
  const B = A + 25;
  const C = B + 25;
  const D = C + 5;
  code.op(OP.globalGet, 0).i32(RC_OFF).op(OP.i32Add).set(R);
  code.get(R).i32(8 * 24).op(OP.i32Add).set(R + 1);
  code.op(OP.loop, VOID);
  for (let x = 0; x < 5; x++) {
    code.get(A + x);
    for (let y = 1; y < 5; y++) {
      code.get(A + x + 5 * y);
      ops.xor(code);
    }
    code.set(C + x);
  }
  for (let x = 0; x < 5; x++) {
    code.get(C + ((x + 4) % 5));
    ops.rotl(code, 1, () => code.get(C + ((x + 1) % 5)));
    ops.xor(code);
    code.set(D + x);
  }
  for (let i = 0; i < 25; i++) {
    const b = B + PI_DEST[i];
    code.get(A + i).get(D + (i % 5));
    ops.xor(code);
    code.set(b);
    if (ROT[i] !== 0) {
      ops.rotl(code, ROT[i], () => code.get(b));
      code.set(b);
    }
  }
  for (let y = 0; y < 25; y += 5) {
    for (let x = 0; x < 5; x++) {
      ops.chi(code, B + y + x, B + y + ((x + 1) % 5), B + y + ((x + 2) % 5));
      if (y === 0 && x === 0) {
        ops.roundConstant(code, R);
        ops.xor(code);
      }
      code.set(A + y + x);
    }
  }
  code.get(R).i32(8).op(OP.i32Add).set(R);
  code.get(R).get(R + 1).op(OP.i32LtU, OP.brIf, 0, OP.end);
}

/** pair(a, b, dst): one hash in i64 lanes. */
function pairBody(): number[] {
  const [a, b, dst, R, A] = [0, 1, 2, 3, 5];
  const code = new Code();
  for (let i = 0; i < 4; i++) code.get(a).load64(8 * i).set(A + i);
  for (let i = 0; i < 4; i++) code.get(b).load64(8 * i).set(A + 4 + i);
  // Padding of a 64-byte message: 0x01 right after it, 0x80 in the last byte of the 136-byte rate.
  // Every other lane starts at zero (locals are zero-initialised).
  code.i64(1n).set(A + 8);
  code.i64(1n << 63n).set(A + 16);
  emitPermutation(code, SCALAR, A, R);
  for (let i = 0; i < 4; i++) code.get(dst).get(A + i).store64(8 * i);
  return code.body([
    [2, I32],
    [60, I64],
  ]);
}

/**
 * pair2(src, dst): the two pairs at src (128 bytes) to the two nodes at dst, both permutations at
 * once in the two halves of i64x2 lanes. Reads everything before writing.
 */
function pair2Body(): number[] {
  const [src, dst, R, A] = [0, 1, 2, 4];
  const code = new Code();
  for (let i = 0; i < 8; i++) {
    code.get(src).get(src).op(...V128.load64Zero, 3, ...uleb(8 * i), ...V128.load64Lane, 3, ...uleb(64 + 8 * i), 1).set(A + i);
  }
  code.i64(1n).op(...V128.splatI64).set(A + 8);
  code.i64(1n << 63n).op(...V128.splatI64).set(A + 16);
  emitPermutation(code, SIMD2, A, R);
  for (let i = 0; i < 4; i++) {
    code.get(dst).get(A + i).op(...V128.store64Lane, 3, ...uleb(8 * i), 0);
    code.get(dst).get(A + i).op(...V128.store64Lane, 3, ...uleb(32 + 8 * i), 1);
  }
  return code.body([
    [2, I32],
    [60, V128_TYPE],
  ]);
}

/** isNode(a, b) -> i32: whether the 32 bytes at a equal those at b. */
function isNodeBody(): number[] {
  const code = new Code();
  for (let i = 0; i < 4; i++) {
    code.get(0).load64(8 * i).get(1).load64(8 * i).op(OP.i64Ne, OP.if, VOID).i32(0).op(OP.return, OP.end);
  }
  code.i32(1);
  return code.body([]);
}

/** copy32(src, dst) */
function copy32Body(): number[] {
  const code = new Code();
  code.get(1).get(0).i32(32).op(...MEMORY_COPY);
  return code.body([]);
}

/** Pushes whether both nodes at `pair` and `pair` + 32 equal the node at `z`. */
function pushZeroPair(code: Code, pair: () => void, z: number): void {
  pair();
  code.get(z).call(FN.isNode);
  code.op(OP.if, I32);
  pair();
  code.i32(32).op(OP.i32Add).get(z).call(FN.isNode).op(OP.else).i32(0).op(OP.end);
}

/**
 * pairOrZero(a, b, dst, z): z is the address of Z[level] for the children's level; two zero
 * children give Z[level + 1] without hashing.
 */
function pairOrZeroBody(): number[] {
  const [a, b, dst, z] = [0, 1, 2, 3];
  const code = new Code();
  code.get(a).get(z).call(FN.isNode);
  code.op(OP.if, VOID).get(b).get(z).call(FN.isNode).op(OP.if, VOID);
  code.get(z).i32(32).op(OP.i32Add).get(dst).call(FN.copy32).op(OP.return, OP.end, OP.end);
  code.get(a).get(b).get(dst).call(FN.pair);
  return code.body([]);
}

/** twoPairsOrZero(src, dst, z): pair2 unless either pair is two zero nodes (then one at a time). */
function twoPairsOrZeroBody(): number[] {
  const [src, dst, z] = [0, 1, 2];
  const code = new Code();
  pushZeroPair(code, () => code.get(src), z);
  pushZeroPair(code, () => code.get(src).i32(64).op(OP.i32Add), z);
  code.op(OP.i32Or, OP.if, VOID);
  // The first pair first: with dst == src its output lands on its own inputs, already read.
  code.get(src).get(src).i32(32).op(OP.i32Add).get(dst).get(z).call(FN.pairOrZero);
  code.get(src).i32(64).op(OP.i32Add).get(src).i32(96).op(OP.i32Add).get(dst).i32(32).op(OP.i32Add).get(z).call(FN.pairOrZero);
  code.op(OP.else).get(src).get(dst).call(FN.pair2).op(OP.end);
  return code.body([]);
}

/**
 * blockRoot(block, levels): reduces the 32·2^levels bytes at `block` in place, level by level,
 * two pairs at a time; the root ends at `block`.
 */
function blockRootBody(): number[] {
  const [block, levels, level, end, off, z] = [0, 1, 2, 3, 4, 5];
  const code = new Code();
  code.op(OP.globalGet, 0).i32(Z_OFF).op(OP.i32Add).set(z);
  code.op(OP.block, VOID, OP.loop, VOID);
  code.get(level).get(levels).op(OP.i32GeU, OP.brIf, 1);
  // Bytes of this level's input: 32 · 2^(levels - level).
  code.i32(32).get(levels).get(level).op(OP.i32Sub, OP.i32Shl).set(end);
  code.get(end).i32(64).op(OP.i32Eq, OP.if, VOID);
  code.get(block).get(block).i32(32).op(OP.i32Add).get(block).get(z).call(FN.pairOrZero);
  code.op(OP.else).i32(0).set(off).op(OP.loop, VOID);
  code.get(block).get(off).op(OP.i32Add).get(block).get(off).i32(1).op(OP.i32ShrU, OP.i32Add).get(z).call(FN.twoPairsOrZero);
  code.get(off).i32(128).op(OP.i32Add).set(off).get(off).get(end).op(OP.i32LtU, OP.brIf, 0, OP.end, OP.end);
  code.get(level).i32(1).op(OP.i32Add).set(level).get(z).i32(32).op(OP.i32Add).set(z).op(OP.br, 0, OP.end, OP.end);
  return code.body([[4, I32]]);
}

/**
 * regionRoot(src, len, scratch, height), result at scratch + RESULT_OFF. The caller writes
 * Z[0..27] and the round constants into the scratch and checks that len <= 32 · 2^height.
 * Blocks of 2^min(height, 7) leaves are copied to the scratch (zero-padded past the region) and
 * reduced there; each block root then merges with the pending roots to its left while its index
 * is odd, like a carry through a binary counter, and waits at the level it reached.
 */
function regionRootBody(): number[] {
  const [src, len, scratch, height] = [0, 1, 2, 3];
  const [levels, blocks, k, level, index, n, have, off] = [4, 5, 6, 7, 8, 9, 10, 11];
  const code = new Code();
  const at = (offset: number) => code.get(scratch).i32(offset).op(OP.i32Add);
  const levelAt = (base: number, l: number) => code.get(scratch).get(l).i32(5).op(OP.i32Shl, OP.i32Add).i32(base).op(OP.i32Add);
  code.get(scratch).op(OP.globalSet, 0);

  // height 0: the root is the single leaf, zero-padded.
  code.get(height).op(OP.i32Eqz, OP.if, VOID);
  at(RESULT_OFF).i32(0).i32(32).op(...MEMORY_FILL);
  at(RESULT_OFF).get(src).get(len).op(...MEMORY_COPY, OP.return, OP.end);

  code.get(height).i32(BLOCK_LEVELS).get(height).i32(BLOCK_LEVELS).op(OP.i32LtU, OP.select).set(levels);
  code.get(len).i32(32).get(levels).op(OP.i32Shl, OP.i32Add).i32(1).op(OP.i32Sub).get(levels).i32(5).op(OP.i32Add, OP.i32ShrU).set(blocks);

  code.op(OP.block, VOID, OP.loop, VOID);
  code.get(k).get(blocks).op(OP.i32GeU, OP.brIf, 1);
  code.get(k).get(levels).i32(5).op(OP.i32Add, OP.i32Shl).set(off);
  code.i32(32).get(levels).op(OP.i32Shl).get(len).get(off).op(OP.i32Sub).set(n);
  code.get(n).i32(32).get(levels).op(OP.i32Shl).get(n).op(OP.i32LtU, OP.select).set(n);
  at(BLOCK_OFF).get(src).get(off).op(OP.i32Add).get(n).op(...MEMORY_COPY);
  at(BLOCK_OFF).get(n).op(OP.i32Add).i32(0).i32(32).get(levels).op(OP.i32Shl).get(n).op(OP.i32Sub, ...MEMORY_FILL);
  at(BLOCK_OFF).get(levels).call(FN.blockRoot);
  code.get(levels).set(level).get(k).set(index);
  code.op(OP.block, VOID, OP.loop, VOID);
  code.get(index).i32(1).op(OP.i32And, OP.i32Eqz, OP.brIf, 1);
  levelAt(STACK_OFF, level);
  at(BLOCK_OFF);
  at(BLOCK_OFF);
  levelAt(Z_OFF, level).call(FN.pairOrZero);
  code.get(index).i32(1).op(OP.i32ShrU).set(index).get(level).i32(1).op(OP.i32Add).set(level).op(OP.br, 0, OP.end, OP.end);
  at(BLOCK_OFF);
  levelAt(STACK_OFF, level).call(FN.copy32);
  code.get(k).i32(1).op(OP.i32Add).set(k).op(OP.br, 0, OP.end, OP.end);

  // Then up to the root: a pending root at a level pairs with what came from below (the carry)
  // or with a zero hash; a carry with no pending root pairs with a zero hash.
  code.get(blocks).set(index).get(levels).set(level);
  code.op(OP.block, VOID, OP.loop, VOID);
  code.get(level).get(height).op(OP.i32GeU, OP.brIf, 1);
  code.get(index).i32(1).op(OP.i32And, OP.if, VOID);
  levelAt(STACK_OFF, level);
  code.get(have).op(OP.if, I32);
  at(CURRENT_OFF);
  code.op(OP.else);
  levelAt(Z_OFF, level);
  code.op(OP.end);
  at(CURRENT_OFF);
  levelAt(Z_OFF, level).call(FN.pairOrZero);
  code.i32(1).set(have);
  code.op(OP.else).get(have).op(OP.if, VOID);
  at(CURRENT_OFF);
  levelAt(Z_OFF, level);
  at(CURRENT_OFF);
  levelAt(Z_OFF, level).call(FN.pairOrZero);
  code.op(OP.end, OP.end);
  code.get(index).i32(1).op(OP.i32ShrU).set(index).get(level).i32(1).op(OP.i32Add).set(level).op(OP.br, 0, OP.end, OP.end);
  code.get(have).op(OP.if, I32);
  at(CURRENT_OFF);
  code.op(OP.else);
  levelAt(STACK_OFF, height);
  code.op(OP.end);
  at(RESULT_OFF).call(FN.copy32);
  return code.body([[8, I32]]);
}

function buildModule(): Uint8Array {
  const types = [
    [0x60, ...vec([[I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])],
    [0x60, ...vec([[I32], [I32]]), 0],
  ];
  // Function i has type FUNCTION_TYPES[i] (indices as in FN).
  const FUNCTION_TYPES = [0, 1, 2, 3, 1, 3, 3, 0];
  const bodies = [pairBody(), regionRootBody(), isNodeBody(), copy32Body(), pairOrZeroBody(), pair2Body(), blockRootBody(), twoPairsOrZeroBody()];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 2, 0, 1]])),
    ...section(3, vec(FUNCTION_TYPES.map((t) => [t]))),
    // global 0: the scratch address (mutable i32, initially 0).
    ...section(6, vec([[I32, 1, OP.i32Const, 0, OP.end]])),
    ...section(7, vec([[...name('pair'), 0, FN.pair], [...name('regionRoot'), 0, FN.regionRoot]])),
    ...section(10, vec(bodies)),
  ];
  return Uint8Array.from(bytes);
}

/** This repo's lib settings (ES2022, no DOM) do not declare WebAssembly; Node provides it. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
};

/** A WebAssembly.Memory, as far as this file uses one (the DNN runtime's exported memory is one). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface Hasher {
  pair(a: number, b: number, dst: number): void;
  regionRoot(src: number, len: number, scratch: number, height: number): void;
}

const MODULE = new WebAssembly.Module(buildModule());

function instantiate(memory: WasmMemory): Hasher {
  const { exports } = new WebAssembly.Instance(MODULE, { env: { memory } });
  return { pair: exports.pair as Hasher['pair'], regionRoot: exports.regionRoot as Hasher['regionRoot'] };
}

/** Levels above the leaves in the tree of `length` bytes padded to a power of two >= 32. */
function treeHeight(length: number): number {
  return length <= 32 ? 0 : 32 - Math.clz32((length - 1) >>> 5);
}

// This file's own memory: its scratch at 0, a pair's input and output at PAIR, regions copied to DATA.
const WASM_PAGE = 65536;
const PAIR = SCRATCH_BYTES;
const DATA = PAIR + 2048;
const OWN_MEMORY = new WebAssembly.Memory({ initial: 1 });
const own = instantiate(OWN_MEMORY);
let MEM = new Uint32Array(OWN_MEMORY.buffer);
let MEM8 = new Uint8Array(OWN_MEMORY.buffer);

MEM.set(RC, RC_OFF / 4);
// Z[0] is the zeroed memory; Z[i+1] = keccak256(Z[i] ‖ Z[i]).
for (let level = 0; level + 1 < ZERO_LEVELS; level++) own.pair(Z_OFF + 32 * level, Z_OFF + 32 * level, Z_OFF + 32 * (level + 1));
/** The constant part of a scratch: the zero hashes, then the round constants. */
const SCRATCH_CONSTANTS = MEM8.slice(Z_OFF, STACK_OFF);

/**
 * Merkle root (8 words) of `bytes` zero-padded to a power of two >= 32 (a 4 KiB page, a tensor),
 * in one call into WebAssembly.
 */
export function chunkRoot(bytes: Uint8Array): Uint32Array {
  const needed = DATA + bytes.length;
  if (needed > MEM8.length) {
    OWN_MEMORY.grow(Math.ceil((needed - MEM8.length) / WASM_PAGE));
    MEM = new Uint32Array(OWN_MEMORY.buffer);
    MEM8 = new Uint8Array(OWN_MEMORY.buffer);
  }
  MEM8.set(bytes, DATA);
  own.regionRoot(DATA, bytes.length, 0, treeHeight(bytes.length));
  return MEM.slice(RESULT_OFF / 4, RESULT_OFF / 4 + 8);
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
  const p = PAIR / 4;
  for (let i = 0; i < 8; i++) {
    MEM[p + i] = left[leftOff + i];
    MEM[p + 8 + i] = right[rightOff + i];
  }
  own.pair(PAIR, PAIR + 32, PAIR);
  for (let i = 0; i < 8; i++) out[outOff + i] = MEM[p + i];
}

export class VMHashRegionInvalid extends VmError {
  override name = 'VMHashRegionInvalid';
  constructor(
    readonly address: number,
    readonly length: number,
    readonly scratch: number,
    readonly memoryBytes: number,
  ) {
    super(
      `cannot hash ${length} bytes at ${address} with ${SCRATCH_BYTES} bytes of scratch at ${scratch} in a ${memoryBytes}-byte memory: ` +
        'both must lie inside it without overlapping',
    );
  }
}

const hashers = new WeakMap<WasmMemory, Hasher>();

/**
 * Root (32 bytes) of the `length` bytes at `address` of another module's memory, zero-padded to a
 * power of two >= 32, hashed where they lie (no copy out). The caller lends SCRATCH_BYTES at
 * `scratch`, outside the region; they are overwritten, nothing else is written.
 */
export function memoryRegionRoot(memory: WasmMemory, address: number, length: number, scratch: number): Uint8Array {
  const size = memory.buffer.byteLength;
  const inside = (start: number, n: number) => Number.isInteger(start) && Number.isInteger(n) && start >= 0 && n >= 0 && start + n <= size;
  const apart = address + length <= scratch || scratch + SCRATCH_BYTES <= address;
  if (!inside(address, length) || !inside(scratch, SCRATCH_BYTES) || !apart) {
    throw new VMHashRegionInvalid(address, length, scratch, size);
  }
  let hasher = hashers.get(memory);
  if (hasher === undefined) {
    hasher = instantiate(memory);
    hashers.set(memory, hasher);
  }
  const bytes = new Uint8Array(memory.buffer);
  // Written on every call: the lender may have used the scratch for something else in between.
  bytes.set(SCRATCH_CONSTANTS, scratch + Z_OFF);
  hasher.regionRoot(address, length, scratch, treeHeight(length));
  return bytes.slice(scratch + RESULT_OFF, scratch + RESULT_OFF + 32);
}
