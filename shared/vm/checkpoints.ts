/**
 * "The state (and witness) at step t" for bisection, without re-running from step 0: the run
 * keeps copy-on-write snapshots every `interval` steps and, when their memory exceeds the budget or
 * their number passes `maxSnapshots`, doubles the interval and drops every snapshot that is not on
 * the new grid. The count cap matters for long runs over much mapped memory (a node with tens of
 * MB of weights): a snapshot costs time in proportion to the pages it lists, so 10^5 of them would
 * dominate a run of 10^9 steps, while 256 leave at most steps/128 to replay per question. A
 * question costs a restore of the nearest snapshot at or before t plus the steps from it (or from
 * the cursor, when the previous question left it closer).
 *
 * Accounting: a page or tree node shared by several snapshots is counted once; the live machine's
 * own working pages are not counted.
 */
import { VmError } from './errors';
import { Machine, type MachineSnapshot } from './machine';
import { PAGE_SIZE } from './memory';
import { stepWitness, type StepWitness } from './witness';

export class CheckpointBudgetTooSmall extends VmError {
  override name = 'CheckpointBudgetTooSmall';
  constructor(
    readonly budgetBytes: number,
    readonly neededBytes: number,
  ) {
    super(`checkpoint budget of ${budgetBytes} bytes cannot hold even the initial snapshot (${neededBytes} bytes)`);
  }
}

export class CheckpointStepInvalid extends VmError {
  override name = 'CheckpointStepInvalid';
  constructor(readonly step: number) {
    super(`step ${step} is not a non-negative safe integer`);
  }
}

export interface CheckpointOptions {
  /** Upper bound on the bytes held by snapshots. */
  budgetBytes: number;
  /** Initial snapshot spacing in steps (doubles as the budget requires). Default 1,000,000. */
  interval?: number;
  /** Most snapshots kept at once (default 256). */
  maxSnapshots?: number;
}

/** Estimated bytes of one cached tree node (32-byte words plus the typed array and map entry). */
const NODE_BYTES = 160;
/** Estimated fixed bytes of one snapshot (registers, page and level lists). */
const SNAPSHOT_BYTES = 1024;

export class CheckpointedRun {
  private interval: number;
  private readonly budget: number;
  private readonly maxSnapshots: number;
  private readonly snapshots: MachineSnapshot[] = [];
  private readonly refs = new Map<object, number>();
  private bytes = 0;
  private cursor: Machine | undefined;

  /** `machine` is the live run; it is advanced by this object and should not be used elsewhere. */
  constructor(
    private readonly live: Machine,
    options: CheckpointOptions,
  ) {
    this.budget = options.budgetBytes;
    this.maxSnapshots = Math.max(2, Math.floor(options.maxSnapshots ?? 256));
    this.interval = Math.max(1, Math.floor(options.interval ?? 1_000_000));
    this.keep(live.snapshot());
    if (this.bytes > this.budget) throw new CheckpointBudgetTooSmall(this.budget, this.bytes);
  }

  /** Bytes currently held by snapshots (see the accounting note above). */
  get snapshotBytes(): number {
    return this.bytes;
  }

  get snapshotSteps(): number[] {
    return this.snapshots.map((s) => s.step);
  }

  get snapshotInterval(): number {
    return this.interval;
  }

  /** The live run's step count and status so far. */
  get head(): Machine {
    return this.live;
  }

  /** Runs the live machine until it halts or reaches `step`, snapshotting on the grid. */
  extendTo(step: number, onProgress?: (machine: Machine) => void): void {
    while (this.live.status === 0 && this.live.step < step) {
      const nextGrid = (Math.floor(this.live.step / this.interval) + 1) * this.interval;
      this.live.runTo(Math.min(step, nextGrid));
      if (this.live.step === nextGrid && this.live.status === 0) {
        this.keep(this.live.snapshot());
        this.thin();
      }
      onProgress?.(this.live);
    }
  }

  /**
   * A machine at step `step` (or at the halting step, if the run halts earlier: a halted state is
   * its own successor). The returned machine is reused by the next question: copy what you need.
   */
  machineAt(step: number): Machine {
    if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointStepInvalid(step);
    this.extendTo(step);
    const target = Math.min(step, this.live.step);
    const base = this.nearestSnapshot(target);
    const cursor = this.cursor;
    if (cursor === undefined) {
      this.cursor = Machine.fromSnapshot(base);
    } else if (!(cursor.step <= target && cursor.step >= base.step)) {
      cursor.restore(base);
    }
    const machine = this.cursor!;
    machine.runTo(target);
    return machine;
  }

  stateAt(step: number): Uint8Array {
    return this.machineAt(step).encodedState();
  }

  witnessAt(step: number): StepWitness {
    return stepWitness(this.machineAt(step));
  }

  private nearestSnapshot(step: number): MachineSnapshot {
    let lo = 0;
    let hi = this.snapshots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.snapshots[mid].step <= step) lo = mid;
      else hi = mid - 1;
    }
    return this.snapshots[lo];
  }

  private keep(snapshot: MachineSnapshot): void {
    this.snapshots.push(snapshot);
    this.account(snapshot, +1);
  }

  /** Doubles the spacing until the kept snapshots fit, in bytes and in number; the initial one always stays. */
  private thin(): void {
    while ((this.bytes > this.budget || this.snapshots.length > this.maxSnapshots) && this.snapshots.length > 1) {
      this.interval *= 2;
      const kept = new Set(this.snapshots.filter((s, i) => i === 0 || s.step % this.interval === 0));
      for (const s of this.snapshots) if (!kept.has(s)) this.account(s, -1);
      this.snapshots.splice(0, this.snapshots.length, ...kept);
    }
  }

  private account(snapshot: MachineSnapshot, delta: 1 | -1): void {
    this.bytes += delta * SNAPSHOT_BYTES;
    for (const page of snapshot.memory.pages) this.count(page, PAGE_SIZE, delta);
    for (const level of snapshot.memory.levels) {
      this.bytes += delta * level.size * 16;
      for (const node of level.values()) this.count(node, NODE_BYTES, delta);
    }
  }

  private count(item: object, size: number, delta: 1 | -1): void {
    const n = (this.refs.get(item) ?? 0) + delta;
    if (n === 0) {
      this.refs.delete(item);
      this.bytes -= size;
    } else {
      if (n === 1 && delta === 1) this.bytes += size;
      this.refs.set(item, n);
    }
  }
}
