/** `opml model import | register | list`. */
import type { Command } from 'commander';
import { importModelFile, readModel, registerModelPackage, resolveModelPackage } from '../../sdk';
import { importCheckpointFolder, isCheckpointFolder } from '../../sdk/llmImport';
import { closeContext, contextOf, outputOf } from '../globals';
import { formatTokens, parseTokens, UsageError } from '../output';
import { ProgressBar } from '../progressBar';

function parseShape(text: string): number[] {
  const dims = text.split(',').map((d) => Number(d.trim()));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new UsageError(`--input-shape "${text}" is not a list of positive integers: e.g. 1,784`);
  return dims;
}

export function modelCommands(program: Command): void {
  const model = program.command('model').description('import, register and list models');

  model
    .command('import <onnxOrFolder>')
    .description('quantize an ONNX model, or a Hugging Face LlamaForCausalLM folder (a text-generation package), into an int8 package (<name>.dnn.json + .dnn.bin)')
    .option('--calibration <source>', 'ONNX: mnist[:N], charlm[:N], a directory of PNGs, or a JSON file of input arrays; a checkpoint folder: brown[:N] (default) or a text file')
    .option('--name <name>', 'package name (the file or folder name when omitted)')
    .option('--input-shape <dims>', 'ONNX: fix symbolic input dimensions, e.g. 1,784')
    .option('--context <tokens>', 'a checkpoint folder: the longest prompt plus generation a task may ask (default min(max_position_embeddings, 256))')
    .option('--out <base>', 'output path without extension (next to the input when omitted)')
    .action(async (onnx: string, opts, cmd: Command) => {
      const out = outputOf(cmd);
      if (isCheckpointFolder(onnx)) {
        const context = opts.context === undefined ? undefined : Number(opts.context);
        if (context !== undefined && !(Number.isInteger(context) && context >= 2)) throw new UsageError(`--context "${opts.context}" is not a whole number >= 2`);
        out.note(`importing the checkpoint ${onnx} (calibrating on ${opts.calibration ?? 'brown'}) …`);
        const { model: m, base } = importCheckpointFolder(onnx, { name: opts.name, context, calibration: opts.calibration, out: opts.out, onProgress: (stage, done, total) => out.note(`  ${stage} ${done}/${total}`) });
        const state = m.tensorSpecs.get(m.spec.input)!;
        out.result(
          { name: m.spec.name, base, files: [`${base}.dnn.json`, `${base}.dnn.bin`], nodes: m.spec.nodes.length, generation: true, context: state.shape[0] - 8, weightsBytes: m.weights.byteLength },
          [`wrote ${base}.dnn.json and ${base}.dnn.bin: a generation package of ${m.spec.nodes.length} nodes per token, context ${state.shape[0] - 8}`, `register it with \`opml model register ${base}\``],
        );
        return;
      }
      if (opts.calibration === undefined) throw new UsageError('--calibration is required for an ONNX model: mnist[:N], charlm[:N], a directory of PNGs, or a JSON file of input arrays');
      out.note(`importing ${onnx} (calibrating on ${opts.calibration}) …`);
      const { model: m, base } = await importModelFile(onnx, {
        name: opts.name,
        calibration: opts.calibration,
        inputShape: opts.inputShape === undefined ? undefined : parseShape(opts.inputShape),
        out: opts.out,
      });
      const input = m.tensorSpecs.get(m.spec.input)!;
      out.result(
        { name: m.spec.name, base, files: [`${base}.dnn.json`, `${base}.dnn.bin`], nodes: m.spec.nodes.length, input: { dtype: input.dtype, shape: input.shape }, weightsBytes: m.weights.byteLength },
        [`wrote ${base}.dnn.json and ${base}.dnn.bin: ${m.spec.nodes.length} int8 nodes, input ${input.dtype} [${input.shape}]`, `register it with \`opml model register ${base}\``],
      );
    });

  model
    .command('register <dirOrName>')
    .description('upload a package of any size to S3 through the API (resumable), wait until the service verified and pinned it, and register it with your signed transaction')
    .option('--fee <tokens>', 'fee per task paid to you', '0')
    .option('--concurrency <n>', 'parts uploaded at once', '4')
    .option('--part-size <MiB>', 'upload part size in MiB (at least 5)')
    .action(async (dirOrName: string, opts, cmd: Command) => {
      const fee = parseTokens(opts.fee, '--fee');
      const concurrency = parsePositive(opts.concurrency, '--concurrency');
      const partSize = opts.partSize === undefined ? undefined : parsePositive(opts.partSize, '--part-size') * 2 ** 20;
      const base = resolveModelPackage(dirOrName);
      const ctx = await contextOf(cmd, { signer: true, api: true });
      const out = outputOf(cmd);
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      process.once('SIGINT', interrupt);
      let bar: ProgressBar | undefined;
      let stage = '';
      try {
        const r = await registerModelPackage(ctx, base, {
          fee,
          concurrency,
          partSize,
          signal: stop.signal,
          onProgress(p) {
            const label = p.stage === 'uploading' ? `uploading ${p.file}` : p.stage;
            if (label !== stage) {
              bar?.done();
              stage = label;
              bar = new ProgressBar(label.padEnd(17), process.stderr, !out.json);
              if (p.stage === 'registering') out.note('registering: signing registerModel and sending it through the API');
            }
            if (p.stage === 'hashing') bar!.update(p.bytesDone, p.bytesTotal);
            if (p.stage === 'uploading') bar!.update(p.bytesDone, p.bytesTotal, `parts ${p.partsDone}/${p.partsTotal}${p.partsResumed > 0 ? ` (${p.partsResumed} resumed)` : ''}`);
            if (p.stage === 'verifying') bar!.update(p.bytesVerified, p.bytesTotal);
          },
        });
        bar?.done();
        const sent = (u: typeof r.uploads.graph) => (u.alreadyStored ? 'already stored' : `${u.partsSent} parts sent${u.partsResumed > 0 ? `, ${u.partsResumed} resumed` : ''}`);
        out.result(r, [
          `model ${r.modelId} registered (tx ${r.txHash}): ${r.nodes} nodes, fee ${formatTokens(fee)}`,
          `graph ${r.spec.graphCid} (${sent(r.uploads.graph)})`,
          `weights ${r.spec.weightsCid} (${sent(r.uploads.weights)})`,
        ]);
      } finally {
        bar?.done();
        process.off('SIGINT', interrupt);
        closeContext(ctx);
      }
    });

  model
    .command('list')
    .description('registered models, read from the registry contract')
    .action(async (_opts, cmd: Command) => {
      const ctx = await contextOf(cmd);
      try {
        // The registry itself, not the API's views: a model registered a block ago is listed too.
        const models = await Promise.all(Array.from({ length: Number(await ctx.contracts.registry.modelCount()) }, (_, i) => readModel(ctx, BigInt(i + 1))));
        outputOf(cmd).result(
          { models },
          models.length === 0 ? 'no models registered: add one with `opml model register <package>`' : models.map((m) => `model ${m.modelId}  ${m.active ? 'active  ' : 'inactive'}  fee ${formatTokens(m.fee)}  owner ${m.owner}  graph ${m.graphCid}`),
        );
      } finally {
        closeContext(ctx);
      }
    });
}

function parsePositive(text: string, what: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${what} "${text}" is not a positive whole number`);
  return Number(text);
}
