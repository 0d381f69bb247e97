/**
 * `npm run vm -- program.elf [--max-steps N] [--json]`: runs an RV32IM ELF in the VM and prints
 * the guest's write() output, the exit status and code, the step count and the final state hash.
 * Progress (steps, steps/s) goes to stderr about once a second on long runs.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ElfError, loadElf } from './elf';
import { Machine } from './machine';
import { Status } from './spec';

const USAGE = 'usage: npm run vm -- <program.elf> [--max-steps N] [--json]';

const ArgsSchema = z.object({
  file: z.string({ required_error: 'missing the ELF file to run' }).min(1),
  maxSteps: z.coerce
    .number({ invalid_type_error: '--max-steps must be a number' })
    .int('--max-steps must be an integer')
    .positive('--max-steps must be positive')
    .max(Number.MAX_SAFE_INTEGER)
    .default(Number.MAX_SAFE_INTEGER),
  json: z.boolean().default(false),
});
export type CliArgs = z.infer<typeof ArgsSchema>;

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

export function parseArgs(argv: string[]): CliArgs {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') raw.json = true;
    else if (arg === '--max-steps') {
      if (i + 1 >= argv.length) throw new CliUsageError('--max-steps needs a value');
      raw.maxSteps = argv[++i];
    } else if (arg.startsWith('--max-steps=')) raw.maxSteps = arg.slice('--max-steps='.length);
    else if (arg.startsWith('-')) throw new CliUsageError(`unknown option ${arg}`);
    else if (raw.file === undefined) raw.file = arg;
    else throw new CliUsageError(`unexpected argument ${arg}`);
  }
  const parsed = ArgsSchema.safeParse(raw);
  if (!parsed.success) throw new CliUsageError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

export interface RunReport {
  file: string;
  entry: string;
  imageRoot: string;
  status: string;
  exitCode: number;
  steps: number;
  stateHash: string;
  output: string;
  seconds: number;
  stepsPerSecond: number;
}

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
/** Steps between progress checks: large enough not to slow the run, small enough for ~1 s updates. */
const CHUNK = 20_000_000;

export function runElf(file: string, maxSteps: number, progress?: (steps: number, perSecond: number) => void): RunReport {
  const bytes = readFileSync(file);
  const image = loadElf(bytes);
  const imageRoot = hex(image.memory.root());
  const machine = new Machine(image.memory, { pc: image.entry });
  const start = performance.now();
  let lastReport = start;
  while (machine.status === Status.RUNNING && machine.step < maxSteps) {
    machine.run(Math.min(CHUNK, maxSteps - machine.step));
    const now = performance.now();
    if (progress && now - lastReport > 1000) {
      progress(machine.step, machine.step / ((now - start) / 1000));
      lastReport = now;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    file,
    entry: '0x' + image.entry.toString(16),
    imageRoot,
    status: Status[machine.status],
    exitCode: machine.exitCode,
    steps: machine.step,
    stateHash: hex(machine.stateHash()),
    output: Buffer.from(machine.output()).toString('utf8'),
    seconds,
    stepsPerSecond: seconds > 0 ? Math.round(machine.step / seconds) : 0,
  };
}

export function main(argv: string[]): number {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`vm: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let report: RunReport;
  try {
    report = runElf(args.file, args.maxSteps, (steps, perSecond) =>
      process.stderr.write(`vm: ${steps.toLocaleString('en-US')} steps, ${(perSecond / 1e6).toFixed(1)} M steps/s\n`),
    );
  } catch (e) {
    if (e instanceof ElfError) process.stderr.write(`vm: ${args.file}: ${e.name}: ${e.message}\n`);
    else if ((e as NodeJS.ErrnoException).code !== undefined) process.stderr.write(`vm: cannot read ${args.file}: ${(e as Error).message}\n`);
    else throw e;
    return 1;
  }
  if (args.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    process.stdout.write(report.output);
    if (report.output.length > 0 && !report.output.endsWith('\n')) process.stdout.write('\n');
    process.stdout.write(
      [
        `status      ${report.status}`,
        `exit code   ${report.exitCode}`,
        `steps       ${report.steps}`,
        `state hash  ${report.stateHash}`,
        `image root  ${report.imageRoot}`,
        `time        ${report.seconds.toFixed(3)} s (${(report.stepsPerSecond / 1e6).toFixed(1)} M steps/s)`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
