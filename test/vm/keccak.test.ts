import fc from 'fast-check';
import { keccak256 as ethersKeccak } from 'ethers';
import { hashPairWords, keccak256 } from '../../shared/vm/keccak';
import { fromWords, toWords } from '../../shared/vm/merkle';

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

describe('keccak256', () => {
  it('matches ethers on every padding boundary', () => {
    for (const n of [0, 1, 31, 32, 63, 64, 135, 136, 137, 173, 271, 272, 273, 1000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 255);
      expect(hex(keccak256(data))).toBe(ethersKeccak(data));
    }
  });

  it('matches ethers on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => hex(keccak256(data)) === ethersKeccak(data)),
      { numRuns: 300 },
    );
  });

  it('hashes a pair of word-encoded nodes like keccak256(left ‖ right)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (data) => {
        const w = toWords(data);
        const out = new Uint32Array(8);
        hashPairWords(w, 0, w, 8, out, 0);
        return hex(fromWords(out)) === ethersKeccak(data);
      }),
      { numRuns: 200 },
    );
  });
});
