import fc from 'fast-check';
import { keccak256 } from 'ethers';
import { VMStateLengthInvalid, VMStatusInvalid } from '../../shared/vm/errors';
import { STATE_OFFSET, STATE_SIZE, Status } from '../../shared/vm/spec';
import { decodeState, encodeState, stateHash, type VmState } from '../../shared/vm/state';

const arbState: fc.Arbitrary<VmState> = fc.record({
  memRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  pc: fc.nat({ max: 0xffffffff }),
  step: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  status: fc.integer({ min: 0, max: 6 }),
  exitCode: fc.nat({ max: 0xffffffff }),
  regs: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 31, maxLength: 31 }).map((r) => Uint32Array.from([0, ...r])),
});

describe('state encoding', () => {
  it('lays fields out at the spec offsets, big-endian', () => {
    const regs = new Uint32Array(32);
    regs[1] = 0x01020304;
    regs[31] = 0xa0b0c0d0;
    const enc = encodeState({
      memRoot: new Uint8Array(32).fill(0xee),
      pc: 0x00010074,
      step: 0x0102030405060708n,
      status: Status.MISALIGNED_LOAD,
      exitCode: 0xdeadbeef,
      regs,
    });
    expect(enc.length).toBe(STATE_SIZE);
    expect(STATE_OFFSET.regs + 31 * 4).toBe(STATE_SIZE);
    const hx = Buffer.from(enc).toString('hex');
    expect(hx.slice(0, 64)).toBe('ee'.repeat(32));
    expect(hx.slice(64, 72)).toBe('00010074');
    expect(hx.slice(72, 88)).toBe('0102030405060708');
    expect(hx.slice(88, 90)).toBe('04');
    expect(hx.slice(90, 98)).toBe('deadbeef');
    expect(hx.slice(98, 106)).toBe('01020304');
    expect(hx.slice(-8)).toBe('a0b0c0d0');
  });

  it('round-trips and hashes the encoding with keccak256', () => {
    fc.assert(
      fc.property(arbState, (s) => {
        const enc = encodeState(s);
        const back = decodeState(enc);
        expect(back).toEqual({ ...s, memRoot: Uint8Array.from(s.memRoot) });
        expect('0x' + Buffer.from(stateHash(enc)).toString('hex')).toBe(keccak256(enc));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects wrong lengths and unknown statuses with typed errors', () => {
    expect(() => decodeState(new Uint8Array(172))).toThrow(VMStateLengthInvalid);
    expect(() => stateHash(new Uint8Array(174))).toThrow(VMStateLengthInvalid);
    const bad = new Uint8Array(STATE_SIZE);
    bad[STATE_OFFSET.status] = 7;
    try {
      decodeState(bad);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(VMStatusInvalid);
      expect((e as VMStatusInvalid).name).toBe('VMStatusInvalid');
      expect((e as VMStatusInvalid).status).toBe(7);
    }
  });
});
