/**
 * Unsigned LEB128 varints (multiformats and protobuf alike), for values up to 2^53 − 1: file sizes
 * and offsets are JavaScript numbers throughout, which is exact for any file a disk can hold.
 */
import { UnixfsDecodeError } from './errors';

/** Appends the varint of `n` (a non-negative safe integer) to `out`. */
export function pushVarint(out: number[], n: number): void {
  // Division, not >>>, keeps values above 2^32 exact.
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
}

/** The varint at `offset` and the offset after it; UnixfsDecodeError when truncated or above 2^53 − 1. */
export function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  for (let i = offset, scale = 1; i < bytes.length; i++, scale *= 0x80) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if (!Number.isSafeInteger(value)) throw new UnixfsDecodeError('varint above 2^53 − 1', offset);
    if (b < 0x80) return [value, i + 1];
  }
  throw new UnixfsDecodeError('truncated varint', offset);
}
