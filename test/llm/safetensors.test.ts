/**
 * Safetensors reading and writing: fp16/bf16 rounding exactly as torch stores values, files built
 * byte by byte (independently of our writer) read back, row-range reads, and every malformed file
 * refused with a message naming the problem.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError } from '../../shared/llm/errors';
import { bfloat16ToFloat, floatToBfloat16Bits, floatToHalfBits, halfToFloatTable } from '../../shared/llm/hf/float16';
import { SafetensorsFile, SafetensorsWriter } from '../../shared/llm/hf/safetensors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'opml-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file from a header object and data bytes, laid out by hand. */
function handMade(name: string, header: unknown, data: Buffer, opts: { lengthOverride?: bigint } = {}): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.lengthOverride ?? BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, json, data]));
  return path;
}

describe('fp16 and bf16', () => {
  test('every finite half value round-trips through float32', () => {
    const table = halfToFloatTable();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) if (!Number.isNaN(table[h]) && floatToHalfBits(table[h]) !== h) wrong.push(h);
    expect(wrong).toEqual([]);
  });

  test('rounds to nearest even, overflows to infinity, keeps subnormals', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(65519)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00);
    expect(floatToHalfBits(-1e9)).toBe(0xfc00);
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
    expect(floatToHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24: even is 0
    expect(floatToHalfBits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(floatToHalfBits(-0)).toBe(0x8000);
    expect(halfToFloatTable()[floatToHalfBits(NaN)]).toBeNaN();
  });

  test('every finite bfloat16 round-trips, and float32 rounds to nearest even', () => {
    const wrong: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const f = bfloat16ToFloat(b);
      if (!Number.isNaN(f) && floatToBfloat16Bits(f) !== b) wrong.push(b);
    }
    expect(wrong).toEqual([]);
    expect(floatToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie: even
    expect(floatToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16Bits(NaN)))).toBe(true);
  });
});

describe('SafetensorsFile', () => {
  test('reads a hand-made file of F32, F16 and BF16 tensors, whole and by rows', () => {
    const f32 = Buffer.from(Float32Array.from([1, -2, 3.5, 4, 5, 6]).buffer); // [2, 3]
    const f16 = Buffer.from(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff]).buffer); // [4]
    const bf16 = Buffer.from(Uint16Array.from([0x3f80, 0x4040]).buffer); // [1, 2]
    const path = handMade('three.safetensors', {
      __metadata__: { format: 'pt' },
      b: { dtype: 'F16', shape: [4], data_offsets: [24, 32] },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      c: { dtype: 'BF16', shape: [1, 2], data_offsets: [32, 36] },
    }, Buffer.concat([f32, f16, bf16]));
    const f = SafetensorsFile.open(path);
    try {
      expect(f.metadata).toEqual({ format: 'pt' });
      expect([...f.read('a')]).toEqual([1, -2, 3.5, 4, 5, 6]);
      expect([...f.readRows('a', 1, 1)]).toEqual([4, 5, 6]);
      expect([...f.read('b')]).toEqual([1, -2, 0.5, 65504]);
      expect([...f.readRows('b', 2, 2)]).toEqual([0.5, 65504]);
      expect([...f.read('c')]).toEqual([1, 3]);
      expect(() => f.readRows('a', 1, 2)).toThrow(/rows \[1, 3\) are outside its 2 rows/);
      expect(() => f.read('nope')).toThrow(/tensor nope.*no such tensor/);
    } finally {
      f.close();
    }
  });

  test('our writer, in uneven chunks, produces what the reader (and torch rounding) expects', () => {
    const path = join(dir, 'written.safetensors');
    const values = Float32Array.from({ length: 5 * 7 }, (_, i) => Math.sin(i) * 10);
    const w = new SafetensorsWriter(path, [
      { name: 'x32', dtype: 'F32', shape: [5, 7] },
      { name: 'empty', dtype: 'F16', shape: [0, 3] },
      { name: 'x16', dtype: 'F16', shape: [5, 7] },
      { name: 'xbf', dtype: 'BF16', shape: [35] },
    ]);
    w.write(values.subarray(0, 14));
    w.write(values.subarray(14));
    w.write(values.subarray(0, 35));
    expect(() => w.write(new Float32Array(36))).toThrow(/36 values written, but its shape holds 35/);
    w.write(values.subarray(0, 20));
    w.write(values.subarray(20));
    w.close();
    const f = SafetensorsFile.open(path);
    try {
      expect(f.read('x32')).toEqual(values);
      const table = halfToFloatTable();
      expect([...f.read('x16')]).toEqual([...values].map((v) => table[floatToHalfBits(v)]));
      expect([...f.read('xbf')]).toEqual([...values].map((v) => bfloat16ToFloat(floatToBfloat16Bits(v))));
      expect(f.info('empty').shape).toEqual([0, 3]);
      expect(f.readRows('x16', 3, 2).length).toBe(14);
    } finally {
      f.close();
    }
  });

  test('a writer closed early says which tensor is unwritten', () => {
    const w = new SafetensorsWriter(join(dir, 'early.safetensors'), [{ name: 'w', dtype: 'F32', shape: [4] }]);
    w.write(new Float32Array(2));
    expect(() => w.close()).toThrow(/tensor w.*closed before all its data was written/);
  });

  const entry = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  test.each([
    ['too short', () => { const p = join(dir, 'short.safetensors'); writeFileSync(p, Buffer.alloc(5)); return p; }, /too short/],
    ['huge header length', () => handMade('huge.safetensors', { a: entry }, Buffer.alloc(8), { lengthOverride: 10n ** 12n }), /over the 100000000-byte limit/],
    ['header past the end', () => handMade('past.safetensors', { a: entry }, Buffer.alloc(0), { lengthOverride: 4000n }), /runs past the end of the file.*truncated/],
    ['header not JSON', () => { const p = join(dir, 'nojson.safetensors'); const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{{{{', 8); writeFileSync(p, b); return p; }, /header is not JSON/],
    ['unknown dtype', () => handMade('dtype.safetensors', { a: { ...entry, dtype: 'F12' } }, Buffer.alloc(8)), /tensor a.*dtype/],
    ['bytes that do not fit the shape', () => handMade('size.safetensors', { a: { ...entry, shape: [3] } }, Buffer.alloc(8)), /8 data bytes, but shape \[3\] of F32 needs 12/],
    ['overlapping tensors', () => handMade('overlap.safetensors', { a: entry, b: { ...entry, data_offsets: [4, 12] } }, Buffer.alloc(12)), /overlaps/],
    ['a hole', () => handMade('hole.safetensors', { a: entry, b: { ...entry, data_offsets: [12, 20] } }, Buffer.alloc(20)), /4-byte hole/],
    ['truncated data', () => handMade('trunc.safetensors', { a: entry }, Buffer.alloc(6)), /runs 2 bytes past the end.*truncated/],
    ['trailing bytes', () => handMade('trail.safetensors', { a: entry }, Buffer.alloc(10)), /2 bytes follow the last tensor/],
    ['bad metadata', () => handMade('meta.safetensors', { __metadata__: { n: 3 }, a: entry }, Buffer.alloc(8)), /__metadata__ must map strings to strings/],
  ])('refuses %s', (_what, make, message) => {
    const path = make();
    let err: unknown;
    try {
      SafetensorsFile.open(path).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toMatch(message);
  });

  test('refuses to decode an integer tensor as weights', () => {
    const path = handMade('ints.safetensors', { ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8));
    const f = SafetensorsFile.open(path);
    try {
      expect(() => f.read('ids')).toThrow(/dtype I64 is not a float dtype/);
    } finally {
      f.close();
    }
  });
});
