/**
 * Content ids for pinned blobs (weights blob, spec file, VM image): CIDv1, raw codec (0x55),
 * sha2-256 multihash, base32 multibase ('b'), the form IPFS gives a single-block raw file.
 */
import { createHash } from 'node:crypto';

const CID_V1 = 0x01;
const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function rawCid(bytes: Uint8Array): string {
  const digest = createHash('sha256').update(bytes).digest();
  return 'b' + base32(new Uint8Array([CID_V1, RAW_CODEC, SHA2_256, digest.length, ...digest]));
}
