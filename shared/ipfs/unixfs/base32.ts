/** RFC 4648 base32, lowercase, unpadded: the multibase 'b' that CIDv1 strings use. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const VALUE_OF = new Map([...ALPHABET].map((c, i) => [c, i]));

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xfff; // at most 12 live bits: 4 left over plus the new byte
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The bytes of `text`, or undefined when it holds a character outside the alphabet. Trailing pad bits are dropped, not checked. */
export function base32Decode(text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const c of text) {
    const v = VALUE_OF.get(c);
    if (v === undefined) return undefined;
    value = ((value << 5) | v) & 0xfff; // at most 12 live bits: 7 left over plus the new 5
    bits += 5;
    if (bits >= 8) {
      out[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
