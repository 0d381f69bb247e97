/**
 * `npm run bench:vm`: speed figures of the off-chain VM, progress lines first, then ONE JSON object
 * on the last line.
 *  (a) steps/s on the int8 256x256 matrix product guest, no per-step hashing (best of 3 runs);
 *  (b) slowdown against the same C compiled natively with gcc -O2 (through guest/include/opml.h);
 *  (c) Merkle root time after touching 64 MiB, and after re-touching one word per page;
 *  (d) witness (pre-state with its root, plus proofs) generation time per step, mid-run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Machine } from '../shared/vm/machine';
import { PAGE_SIZE } from '../shared/vm/memory';
import { TOUCHED_BASE, TOUCHED_BYTES, touched64MiB } from './touchedMemory';
import { stepWitness } from '../shared/vm/witness';

const ROOT = resolve(__dirname, '..');
const SOURCE = join(ROOT, 'guest/programs/matmul.c');
const ELF = join(ROOT, 'build/guest/matmul.elf');
const log = (line: string) => process.stderr.write(`bench:vm ${line}\n`);

function vmSpeed() {
  if (!existsSync(ELF)) {
    log('build/guest/matmul.elf missing: running npm run build:guest');
    execFileSync('npm', ['run', '-s', 'build:guest'], { cwd: ROOT, stdio: 'inherit' });
  }
  const file = readFileSync(ELF);
  const runs: number[] = [];
  let steps = 0;
  let output = '';
  let exitCode = 0;
  for (let i = 0; i < 3; i++) {
    const machine = Machine.fromElf(file);
    const start = performance.now();
    machine.run();
    const seconds = (performance.now() - start) / 1000;
    runs.push(seconds);
    steps = machine.step;
    output = Buffer.from(machine.output()).toString();
    exitCode = machine.exitCode;
    log(`(a) run ${i + 1}: ${steps} steps in ${seconds.toFixed(3)} s = ${(steps / seconds / 1e6).toFixed(1)} M steps/s`);
  }
  const best = Math.min(...runs);
  return { steps, best, output, exitCode, stepsPerSecond: Math.round(steps / best) };
}

/** Best wall time of `runs` runs of `exe`, and its stdout. */
function timeExe(exe: string, runs: number): { best: number; stdout: string } {
  let best = Infinity;
  let stdout = '';
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(exe, { encoding: 'utf8' });
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
    stdout = result.stdout;
  }
  return { best, stdout };
}

/**
 * Native gcc -O2 build of the same source. One product takes a few milliseconds natively, close
 * to process start-up, so the kernel is also timed as the difference between MATMUL_REPEAT=41
 * and MATMUL_REPEAT=1 builds, divided by 40.
 */
function nativeSpeed(vmOutput: string) {
  const dir = mkdtempSync(join(tmpdir(), 'opml-bench-vm-'));
  try {
    const build = (repeat: number) => {
      const exe = join(dir, `matmul-${repeat}`);
      execFileSync('gcc', ['-O2', `-DMATMUL_REPEAT=${repeat}`, '-I', join(ROOT, 'guest/include'), '-o', exe, SOURCE]);
      return exe;
    };
    const once = timeExe(build(1), 9);
    const many = timeExe(build(41), 5);
    const perProduct = Math.max((many.best - once.best) / 40, 1e-9);
    log(`(b) native gcc -O2: whole program ${(once.best * 1e3).toFixed(2)} ms (with process start-up), one 256x256 product ${(perProduct * 1e3).toFixed(3)} ms`);
    return { program: once.best, perProduct, sameOutput: once.stdout === vmOutput };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function merkleRootTimes() {
  const memory = touched64MiB();
  let start = performance.now();
  memory.root();
  const full = (performance.now() - start) / 1000;
  log(`(c) root after touching 64 MiB (${TOUCHED_BYTES / PAGE_SIZE} pages): ${full.toFixed(2)} s`);
  for (let o = 0; o < TOUCHED_BYTES; o += PAGE_SIZE) memory.writeWord(TOUCHED_BASE + o, o);
  start = performance.now();
  memory.root();
  const retouch = (performance.now() - start) / 1000;
  log(`(c) root after re-touching one word in each of those pages: ${retouch.toFixed(2)} s`);
  const one = performance.now();
  memory.writeWord(TOUCHED_BASE, 7);
  memory.root();
  const single = (performance.now() - one) / 1000;
  return { full, retouch, single };
}

function witnessTime() {
  const machine = Machine.fromElf(readFileSync(ELF));
  machine.run(10_000_000);
  const n = 300;
  let proofBytes = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    proofBytes += stepWitness(machine).proofs.length;
    machine.run(1);
  }
  const perStep = (performance.now() - start) / 1000 / n;
  log(`(d) witness per step (state root + proofs), mid-run of matmul: ${(perStep * 1e3).toFixed(3)} ms, ${proofBytes / n} proof bytes on average`);
  return { perStep, avgProofBytes: proofBytes / n };
}

const vm = vmSpeed();
const native = nativeSpeed(vm.output);
const merkle = merkleRootTimes();
const witness = witnessTime();
const result = {
  guest: 'guest/programs/matmul.c (int8 256x256, int32 accumulation)',
  vmSteps: vm.steps,
  vmSeconds: Number(vm.best.toFixed(4)),
  vmStepsPerSecond: vm.stepsPerSecond,
  vmGoalStepsPerSecond: 50_000_000,
  nativeGccO2ProgramSeconds: Number(native.program.toFixed(5)),
  nativeGccO2ProductSeconds: Number(native.perProduct.toFixed(6)),
  // The VM run is one whole program, ~99% of whose steps are the product: the second ratio is
  // the kernel-to-kernel slowdown, the first includes the native process start-up.
  slowdownVsNativeProgram: Number((vm.best / native.program).toFixed(1)),
  slowdownVsNativeProduct: Number((vm.best / native.perProduct).toFixed(1)),
  nativeOutputMatchesVm: native.sameOutput,
  merkleRootAfterTouching64MiBSeconds: Number(merkle.full.toFixed(3)),
  merkleRootAfterRetouching64MiBSeconds: Number(merkle.retouch.toFixed(3)),
  merkleRootAfterOneWordSeconds: Number(merkle.single.toFixed(6)),
  witnessPerStepMs: Number((witness.perStep * 1e3).toFixed(3)),
  witnessAvgProofBytes: witness.avgProofBytes,
};
console.log(JSON.stringify(result));
