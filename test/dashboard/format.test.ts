/** The dashboard's number formatting and latency binning (pure functions the page draws with). */
import { durationHistogram, formatDuration, formatRate, formatTokens, shortAddress, tokensAsNumber } from '../../functions/dashboard/format';

const T = 10n ** 18n;

describe('formatTokens', () => {
  it.each([
    [0n, '0'],
    [100n * T, '100'],
    [1_234_567n * T, '1,234,567'],
    [T / 2n, '0.5'],
    [(60n * T) + 123_456_789_000_000_000n, '60.1235'],
    [7n * T + 99_994n * 10n ** 13n, '7.9999'],
    [7n * T + 99_995n * 10n ** 13n, '8'],
    [T - 1n, '1'],
    [1n, '<0.0001'],
  ])('%s base units are %s OPML', (value, text) => {
    expect(formatTokens(value)).toBe(text);
    expect(formatTokens(value.toString())).toBe(text);
  });

  it('keeps exact totals beyond float precision', () => {
    expect(formatTokens(123_456_789_012_345_678_901_234_567n, 2)).toBe('123,456,789.01');
    expect(tokensAsNumber(1_500n * T)).toBe(1500);
  });
});

describe('durations and rates', () => {
  it.each([
    [0, '0 s', '0s'],
    [45, '45 s', '45s'],
    [601, '10 min 1 s', '10m1s'],
    [3_600, '1 h', '1h'],
    [7_530, '2 h 5 min', '2h5m'],
    [90_000, '1 d 1 h', '1d1h'],
  ])('%s s is "%s"', (seconds, long, compact) => {
    expect(formatDuration(seconds)).toBe(long);
    expect(formatDuration(seconds, true)).toBe(compact);
  });

  it('rates finalized over claimed, with a dash before the first claim', () => {
    expect(formatRate(3, 3)).toBe('100%');
    expect(formatRate(0, 1)).toBe('0%');
    expect(formatRate(2, 3)).toBe('67%');
    expect(formatRate(0, 0)).toBe('–');
  });

  it('shortens addresses', () => {
    expect(shortAddress('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')).toBe('0x7099…79C8');
  });
});

describe('durationHistogram', () => {
  it('puts every value in exactly one readable bin', () => {
    const values = [601, 603, 640, 655, 1_200];
    const h = durationHistogram(values);
    expect(h.counts.reduce((a, n) => a + n, 0)).toBe(values.length);
    expect(h.edges).toHaveLength(h.counts.length + 1);
    const step = h.edges[1]! - h.edges[0]!;
    expect([1, 2, 5, 10, 15, 30, 60, 120, 300, 600]).toContain(step);
    for (const v of values) {
      const bin = h.edges.findIndex((e, i) => i < h.counts.length && v >= e && v < h.edges[i + 1]!);
      expect(bin).toBeGreaterThanOrEqual(0);
    }
    expect(h.counts.length).toBeLessThanOrEqual(10);
  });

  it('handles one value, equal values and none', () => {
    expect(durationHistogram([]).counts).toEqual([]);
    expect(durationHistogram([605]).counts).toEqual([1]);
    expect(durationHistogram([605, 605, 605]).counts).toEqual([3]);
  });
});
