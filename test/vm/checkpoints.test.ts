import fc from 'fast-check';
import { CheckpointBudgetTooSmall, CheckpointedRun, CheckpointStepInvalid } from '../../shared/vm/checkpoints';
import { Machine } from '../../shared/vm/machine';
import { Memory } from '../../shared/vm/memory';
import { Status } from '../../shared/vm/spec';
import { step } from '../../shared/vm/step';
import { rv } from './rv';

const CODE = 0x10000;
const ITERATIONS = 0xa000; // low 12 bits below 0x800: lui + addi build it without carry

/** Writes a word every 256 bytes (a new page every 16 iterations), then exits: snapshots grow. */
function pageToucher(): Machine {
  const memory = new Memory();
  const program = [
    rv.lui(1, 0x100), // x1 = 0x100000
    rv.lui(4, ITERATIONS >>> 12),
    rv.addi(4, 4, ITERATIONS & 0xfff),
    rv.sw(2, 1, 0), // loop:
    rv.addi(1, 1, 256),
    rv.addi(2, 2, 1),
    rv.bne(2, 4, -12),
    rv.addi(17, 0, 93),
    rv.addi(10, 2, 0),
    rv.ecall(),
  ];
  program.forEach((w, i) => memory.writeWord(CODE + 4 * i, w));
  return new Machine(memory, { pc: CODE });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const TOTAL_STEPS = 3 + 4 * ITERATIONS + 3;

describe('checkpointed run', () => {
  it('keeps at most maxSnapshots snapshots even when the byte budget would allow many more, and still answers exactly', () => {
    const run = new CheckpointedRun(pageToucher(), { budgetBytes: 1 << 30, interval: 64, maxSnapshots: 16 });
    run.extendTo(Number.MAX_SAFE_INTEGER);
    expect(run.head.step).toBe(TOTAL_STEPS);
    expect(run.snapshotSteps.length).toBeLessThanOrEqual(16);
    // TOTAL_STEPS / 64 grid points would be ~2,500 snapshots: the spacing grew instead.
    expect(run.snapshotInterval).toBeGreaterThanOrEqual(TOTAL_STEPS / 16 / 2);
    for (const t of [0, 1, 12_345, TOTAL_STEPS >> 1, TOTAL_STEPS - 1, TOTAL_STEPS + 5]) {
      const fresh = pageToucher();
      fresh.runTo(t);
      expect(hex(run.stateAt(t))).toBe(hex(fresh.encodedState()));
    }
  });

  it('answers states and witnesses equal to a fresh run, within the snapshot budget', () => {
    const budgetBytes = 16 << 20;
    const run = new CheckpointedRun(pageToucher(), { budgetBytes, interval: 1000 });
    run.extendTo(Number.MAX_SAFE_INTEGER);
    expect(run.head.status).toBe(Status.EXITED);
    expect(run.head.step).toBe(TOTAL_STEPS);
    expect(run.snapshotBytes).toBeLessThanOrEqual(budgetBytes);
    expect(run.snapshotInterval).toBeGreaterThan(1000);
    expect(run.snapshotSteps.length).toBeGreaterThan(1);

    // A bisection-like walk: the answers must equal a fresh run stopped at the same step.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TOTAL_STEPS + 10 }), (t) => {
        const fresh = pageToucher();
        fresh.runTo(t);
        expect(hex(run.stateAt(t))).toBe(hex(fresh.encodedState()));
        if (t < TOTAL_STEPS) {
          const witness = run.witnessAt(t);
          fresh.run(1);
          expect(hex(step(witness.state, witness.proofs))).toBe(hex(fresh.encodedState()));
        }
      }),
      { numRuns: 12 },
    );
    expect(run.snapshotBytes).toBeLessThanOrEqual(budgetBytes);
  });

  it('keeps the budget while the run grows and answers from the nearest snapshot', () => {
    const budgetBytes = 512 * 1024;
    const run = new CheckpointedRun(pageToucher(), { budgetBytes, interval: 500 });
    for (let s = 10_000; s <= TOTAL_STEPS; s += 10_000) {
      run.extendTo(s);
      expect(run.snapshotBytes).toBeLessThanOrEqual(budgetBytes);
    }
    const last = run.snapshotSteps[run.snapshotSteps.length - 1];
    const machine = run.machineAt(last + 3);
    expect(machine.step).toBe(last + 3);
    // Walking backwards and forwards gives the same bytes.
    const a = hex(run.stateAt(123_457));
    run.stateAt(5);
    expect(hex(run.stateAt(123_457))).toBe(a);
  });

  it('rejects a budget too small for the first snapshot and invalid steps', () => {
    expect(() => new CheckpointedRun(pageToucher(), { budgetBytes: 100 })).toThrow(CheckpointBudgetTooSmall);
    const run = new CheckpointedRun(pageToucher(), { budgetBytes: 1 << 20 });
    expect(() => run.stateAt(-1)).toThrow(CheckpointStepInvalid);
    expect(() => run.stateAt(1.5)).toThrow(CheckpointStepInvalid);
  });
});
