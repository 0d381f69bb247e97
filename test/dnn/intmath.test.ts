import fc from 'fast-check';
import { encodeMultiplier, isqrt, roundDivAway, rq, sat8 } from '../../shared/dnn/intmath';
import { DnnQuantizationError } from '../../shared/dnn/errors';

/** docs/dnn-spec.md section 5 written literally with BigInt: the oracle for the double-based code. */
function rqRef(acc: number, m: number, s: number): number {
  const a = BigInt(Math.abs(acc));
  const q = (a * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s);
  return acc < 0 ? 0 - Number(q) : Number(q);
}

function roundDivAwayRef(n: bigint, d: bigint): bigint {
  const a = n < 0n ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return n < 0n ? -q : q;
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

describe('intmath', () => {
  it('rq equals the 64-bit definition on random operands', () => {
    fc.assert(
      fc.property(int32, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 17, max: 62 }), (acc, m, s) => {
        expect(rq(acc, m, s)).toBe(rqRef(acc, m, s));
      }),
      { numRuns: 20000 },
    );
  });

  it('rq golden vectors (shared with the guest kernels)', () => {
    // Halves go away from zero: 3 × 2^30 / 2^31 = 1.5 -> 2, and -1.5 -> -2.
    expect(rq(3, 2 ** 30, 31)).toBe(2);
    expect(rq(-3, 2 ** 30, 31)).toBe(-2);
    expect(rq(1, 2 ** 30, 31)).toBe(1);
    expect(rq(-1, 2 ** 30, 31)).toBe(-1);
    expect(rq(-(2 ** 31), 2 ** 31 - 1, 62)).toBe(-1);
    expect(rq(2 ** 31 - 1, 2 ** 31 - 1, 17)).toBe(rqRef(2 ** 31 - 1, 2 ** 31 - 1, 17));
    expect(rq(1000, 0, 31)).toBe(0);
    expect(rq(12345, 1518500250, 33)).toBe(rqRef(12345, 1518500250, 33));
  });

  it('roundDivAway equals the exact definition', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 31 }), (n, d) => {
        expect(roundDivAway(n, d)).toBe(Number(roundDivAwayRef(BigInt(n), BigInt(d))));
      }),
      { numRuns: 20000 },
    );
    expect(roundDivAway(5, 2)).toBe(3);
    expect(roundDivAway(-5, 2)).toBe(-3);
    expect(roundDivAway(-4, 3)).toBe(-1);
  });

  it('isqrt is the floor square root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (v) => {
        const r = isqrt(v);
        expect(BigInt(r) * BigInt(r) <= BigInt(v)).toBe(true);
        expect(BigInt(r + 1) * BigInt(r + 1) > BigInt(v)).toBe(true);
      }),
      { numRuns: 20000 },
    );
    for (const v of [0, 1, 2, 3, 4, 15, 16, 17, 2 ** 52, 2 ** 52 - 1]) expect(isqrt(v) ** 2 <= v && (isqrt(v) + 1) ** 2 > v).toBe(true);
  });

  it('sat8 clamps to int8', () => {
    expect([sat8(-129), sat8(-128), sat8(0), sat8(127), sat8(128)]).toEqual([-128, -128, 0, 127, 127]);
  });

  it('encodeMultiplier keeps M normalised and r within 2^-30 relative error', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -31, max: 2 ** 12, noNaN: true }), (r) => {
        const { m, s } = encodeMultiplier(r);
        expect(m).toBeGreaterThanOrEqual(2 ** 30);
        expect(m).toBeLessThan(2 ** 31);
        expect(s).toBeGreaterThanOrEqual(17);
        expect(s).toBeLessThanOrEqual(62);
        expect(Math.abs(m / 2 ** s - r) / r).toBeLessThan(2 ** -30);
      }),
      { numRuns: 5000 },
    );
    expect(encodeMultiplier(0.5)).toEqual({ m: 2 ** 30, s: 31 });
    expect(encodeMultiplier(2 ** -40)).toEqual({ m: 0, s: 31 });
    expect(encodeMultiplier(2 ** 13)).toEqual({ m: 2 ** 30, s: 17 });
    expect(() => encodeMultiplier(2 ** 14)).toThrow(DnnQuantizationError);
    expect(() => encodeMultiplier(-1)).toThrow(DnnQuantizationError);
  });
});
