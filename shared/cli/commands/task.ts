/** `opml task submit | watch | show | list | finalize`. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { isAddress } from 'ethers';
import {
  createTask,
  DEFAULT_MAX_TOKENS,
  FINAL_STATUSES,
  finalizeTask,
  readModel,
  readOutput,
  readTask,
  waitForResult,
  type InputSource,
  type OpmlContext,
  type TaskSnapshot,
} from '../../sdk';
import { closeContext, contextOf, outputOf } from '../globals';
import { formatTokens, parseId, parseSeconds, parseTokens, UsageError, type Output } from '../output';
import { changeKey, changeLine, taskLines, type TaskExtras } from '../taskView';

/** What the committed output says, from the model's spec (through the API); nothing when it cannot be read. */
async function outputMeaning(ctx: OpmlContext, s: TaskSnapshot): Promise<TaskExtras & { reading?: ReturnType<typeof readOutput> }> {
  if (!s.output || !ctx.api) return {};
  try {
    const model = await readModel(ctx, s.modelId);
    const reading = readOutput(await ctx.api.getBlob(model.graphCid), s.output);
    const g = reading.generation;
    const meaning = g
      ? g.text !== undefined
        ? `generated ${JSON.stringify(g.text)}${g.stopped ? ' (end of text)' : ''}`
        : `generated tokens ${g.tokens.join(' ')}`
      : reading.nextChar !== undefined
        ? `next character ${JSON.stringify(reading.nextChar)}`
        : reading.predictedClass !== undefined
          ? `class ${reading.predictedClass}`
          : undefined;
    return { outputMeaning: meaning, reading };
  } catch {
    return {};
  }
}

interface InputFlags {
  image?: string;
  prompt?: string;
  maxTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
}

const GENERATION_FLAGS = ['maxTokens', 'temperature', 'topK', 'topP', 'seed'] as const;

function numberFlag(value: string | undefined, flag: string, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`${flag} "${value}" is not ${what}`);
  return n;
}

function inputOf(opts: InputFlags): InputSource {
  if (opts.image !== undefined && opts.prompt !== undefined) throw new UsageError('give either --image or --prompt, not both');
  const generating = GENERATION_FLAGS.some((f) => opts[f] !== undefined);
  if (opts.image !== undefined) {
    if (generating) throw new UsageError('--max-tokens, --temperature, --top-k, --top-p and --seed go with --prompt, for a text-generation model');
    if (!existsSync(opts.image) || !statSync(opts.image).isFile()) throw new UsageError(`image file ${opts.image} does not exist: pass the path of a PNG`);
    return { kind: 'image', png: readFileSync(opts.image) };
  }
  if (opts.prompt !== undefined) {
    if (!generating) return { kind: 'prompt', text: opts.prompt };
    const int = (n: number) => Number.isInteger(n) && n >= 0;
    const decoding = {
      maxTokens: numberFlag(opts.maxTokens, '--max-tokens', (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1') ?? DEFAULT_MAX_TOKENS,
      temperature: numberFlag(opts.temperature, '--temperature', (n) => n >= 0 && n <= 100, 'a temperature in [0, 100] (0: greedy)'),
      topK: numberFlag(opts.topK, '--top-k', int, 'a whole number >= 0 (0: off)'),
      topP: numberFlag(opts.topP, '--top-p', (n) => n >= 0 && n <= 1, 'a probability in [0, 1] (0 or 1: off)'),
      seed: numberFlag(opts.seed, '--seed', (n) => int(n) && n < 2 ** 32, 'a 32-bit seed'),
    };
    return { kind: 'generation', prompt: opts.prompt, decoding: Object.fromEntries(Object.entries(decoding).filter(([, v]) => v !== undefined)) as typeof decoding };
  }
  throw new UsageError('no input: pass --image <file.png> for the MNIST models, or --prompt "..." for the character model or a text-generation model');
}

interface WatchFlags {
  timeout?: string;
  poll: string;
}

/** Follows a task to its end: redrawn in place on a terminal, one line per change otherwise, one JSON object with --json. */
async function watch(ctx: OpmlContext, out: Output, taskId: bigint, flags: WatchFlags): Promise<TaskSnapshot> {
  const tty = !out.json && process.stdout.isTTY === true;
  let drawn = 0;
  let lastKey = '';
  let extras: TaskExtras = {};
  const final = await waitForResult(ctx, taskId, {
    pollMs: Number(flags.poll),
    timeoutMs: flags.timeout === undefined ? undefined : Number(parseSeconds(flags.timeout, '--timeout')) * 1000,
    onProgress: (s) => {
      if (out.json) return;
      if (tty) {
        // Lines cut to the terminal's width, so moving up by the line count lands on the first one.
        const width = process.stdout.columns ?? 120;
        const lines = taskLines(s, extras).map((l) => (l.length >= width ? l.slice(0, width - 2) + '…' : l));
        // Move up over the previous drawing and clear it, so the countdown ticks in place.
        process.stdout.write((drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '') + lines.join('\n') + '\n');
        drawn = lines.length;
      } else if (changeKey(s) !== lastKey && !FINAL_STATUSES.includes(s.status)) {
        // The final line is the command's result, printed with what the output means.
        process.stdout.write(changeLine(s, extras) + '\n');
      }
      if (changeKey(s) !== lastKey && s.output && !extras.outputMeaning) void outputMeaning(ctx, s).then((e) => (extras = e));
      lastKey = changeKey(s);
    },
  });
  return final;
}

export function taskCommands(program: Command): void {
  const task = program.command('task').description('submit, watch and read tasks');

  task
    .command('submit')
    .description('create a task: the input is stored through the API, the permit and transaction are signed here')
    .requiredOption('--model <id>', 'registered model id (see `opml model list`)')
    .option('--image <file.png>', 'a PNG digit, for the MNIST models')
    .option('--prompt <text>', 'text: for the character model (predicts the next character), or the prompt of a text-generation model')
    .option('--max-tokens <n>', `a text-generation model: tokens to generate (default ${DEFAULT_MAX_TOKENS})`)
    .option('--temperature <t>', 'a text-generation model: sampling temperature (0, the default: greedy)')
    .option('--top-k <k>', 'a text-generation model: sample among the k most likely tokens (0: off)')
    .option('--top-p <p>', 'a text-generation model: sample among the most likely tokens holding probability p (0 or 1: off)')
    .option('--seed <n>', 'a text-generation model: the 32-bit seed of the draws (default 0)')
    .option('--bounty <tokens>', 'paid to the provider on finalization', '10')
    .option('--collateral <tokens>', 'stake the provider locks while serving', '50')
    .option('--window <seconds>', 'challenge window after the commit', '600')
    .option('--deadline <seconds>', 'time the provider has to claim and commit', '3600')
    .option('--max-fee <tokens>', "the most model fee to pay (the model's current fee when omitted)")
    .option('--consumer <address>', 'an ITaskConsumer contract to receive the result on finalization')
    .addOption(new Option('--direct', 'send the transaction to the chain instead of POST /tasks'))
    .option('--watch', 'keep following the task until it is final')
    .option('--poll <ms>', 'with --watch: milliseconds between reads', '1000')
    .action(async (opts, cmd: Command) => {
      const modelId = parseId(opts.model, '--model');
      const input = inputOf(opts);
      const bounty = parseTokens(opts.bounty, '--bounty');
      const collateral = parseTokens(opts.collateral, '--collateral');
      const challengeWindow = parseSeconds(opts.window, '--window');
      const deadlineSeconds = parseSeconds(opts.deadline, '--deadline');
      const maxModelFee = opts.maxFee === undefined ? undefined : parseTokens(opts.maxFee, '--max-fee');
      if (opts.consumer !== undefined && !isAddress(opts.consumer)) throw new UsageError(`--consumer "${opts.consumer}" is not an address`);
      const out = outputOf(cmd);
      const ctx = await contextOf(cmd, { signer: true, api: !opts.direct });
      try {
        out.note(`submitting to model ${modelId} …`);
        const created = await createTask(ctx, { modelId, input, bounty, collateral, challengeWindow, deadlineSeconds, maxModelFee, consumer: opts.consumer, submit: opts.direct ? 'chain' : 'api' });
        const summary = {
          taskId: created.taskId,
          txHash: created.txHash,
          blockNumber: created.blockNumber,
          modelId,
          inputCid: created.input.inputCid,
          inputRoot: created.input.inputRoot,
          bounty,
          collateral,
          challengeWindow,
          deadline: created.request.deadline,
          steps: created.request.steps,
          ...(created.promptTokens ? { promptTokens: created.promptTokens } : {}),
        };
        if (!opts.watch) {
          out.result(summary, [`task ${created.taskId} created (tx ${created.txHash}), bounty ${formatTokens(bounty)}`, `follow it with \`opml task watch ${created.taskId}\``]);
          return;
        }
        out.note(`task ${created.taskId} created (tx ${created.txHash})`);
        const final = await watch(ctx, out, created.taskId, { poll: opts.poll });
        const extras = await outputMeaning(ctx, final);
        out.result({ ...summary, final, reading: extras.reading }, process.stdout.isTTY ? [] : changeLine(final, extras));
      } finally {
        closeContext(ctx);
      }
    });

  task
    .command('watch <taskId>')
    .description('follow a task through claim, commit, the challenge window and every dispute round to its end')
    .option('--timeout <seconds>', 'give up after this long (exit code 1)')
    .option('--poll <ms>', 'milliseconds between reads', '1000')
    .action(async (id: string, opts: WatchFlags, cmd: Command) => {
      const taskId = parseId(id, 'task id');
      const out = outputOf(cmd);
      const ctx = await contextOf(cmd);
      try {
        const final = await watch(ctx, out, taskId, opts);
        const extras = await outputMeaning(ctx, final);
        out.result({ ...final, reading: extras.reading }, out.json || process.stdout.isTTY ? [] : changeLine(final, extras));
      } finally {
        closeContext(ctx);
      }
    });

  task
    .command('show <taskId>')
    .description("a task's state now, with its output and challenges")
    .action(async (id: string, _opts, cmd: Command) => {
      const taskId = parseId(id, 'task id');
      const ctx = await contextOf(cmd);
      try {
        const s = await readTask(ctx, taskId);
        const extras = await outputMeaning(ctx, s);
        outputOf(cmd).result({ ...s, reading: extras.reading }, taskLines(s, extras));
      } finally {
        closeContext(ctx);
      }
    });

  task
    .command('list')
    .description('recent tasks from the API, newest first')
    .option('--status <status>', 'Open, Claimed, Committed, Finalized, Refuted or Expired')
    .option('--requester <address>')
    .option('--provider <address>')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (opts, cmd: Command) => {
      const ctx = await contextOf(cmd, { api: true });
      try {
        const { tasks } = await ctx.api!.listTasks({ status: opts.status, requester: opts.requester, provider: opts.provider, limit: Number(opts.limit) });
        outputOf(cmd).result(
          { tasks },
          tasks.length === 0 ? 'no tasks' : tasks.map((t) => `task ${t.taskId.padStart(5)}  ${t.status.padEnd(9)}  model ${t.modelId ?? '?'}  bounty ${t.bounty ? formatTokens(BigInt(t.bounty)) : '?'}  provider ${t.provider ?? '-'}`),
        );
      } finally {
        closeContext(ctx);
      }
    });

  task
    .command('finalize <taskId>')
    .description("close a Committed task after its window (the provider's worker normally does this)")
    .action(async (id: string, _opts, cmd: Command) => {
      const taskId = parseId(id, 'task id');
      const ctx = await contextOf(cmd, { signer: true });
      try {
        const tx = await finalizeTask(ctx, taskId);
        outputOf(cmd).result({ taskId, tx }, `task ${taskId} finalized (tx ${tx})`);
      } finally {
        closeContext(ctx);
      }
    });
}
