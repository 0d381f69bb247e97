/** `opml model import | register | list`. */
import type { Command } from 'commander';
import { importModelFile, readModel, registerModelPackage, resolveModelPackage } from '../../sdk';
import { closeContext, contextOf, outputOf } from '../globals';
import { formatTokens, parseTokens, UsageError } from '../output';

function parseShape(text: string): number[] {
  const dims = text.split(',').map((d) => Number(d.trim()));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new UsageError(`--input-shape "${text}" is not a list of positive integers: e.g. 1,784`);
  return dims;
}

export function modelCommands(program: Command): void {
  const model = program.command('model').description('import, register and list models');

  model
    .command('import <onnx>')
    .description('quantize an ONNX model into an int8 package (<name>.dnn.json + .dnn.bin)')
    .requiredOption('--calibration <source>', 'mnist[:N], charlm[:N], a directory of PNGs, or a JSON file of input arrays')
    .option('--name <name>', 'package name (the ONNX file name when omitted)')
    .option('--input-shape <dims>', 'fix symbolic input dimensions, e.g. 1,784')
    .option('--out <base>', 'output path without extension (next to the ONNX file when omitted)')
    .action(async (onnx: string, opts, cmd: Command) => {
      const out = outputOf(cmd);
      out.note(`importing ${onnx} (calibrating on ${opts.calibration}) …`);
      const { model: m, base } = await importModelFile(onnx, {
        name: opts.name,
        calibration: opts.calibration,
        inputShape: opts.inputShape === undefined ? undefined : parseShape(opts.inputShape),
        out: opts.out,
      });
      const input = m.tensorSpecs.get(m.spec.input)!;
      out.result(
        { name: m.spec.name, base, files: [`${base}.dnn.json`, `${base}.dnn.bin`], nodes: m.spec.nodes.length, input: { dtype: input.dtype, shape: input.shape }, weightsBytes: m.weights.length },
        [`wrote ${base}.dnn.json and ${base}.dnn.bin: ${m.spec.nodes.length} int8 nodes, input ${input.dtype} [${input.shape}]`, `register it with \`opml model register ${base}\``],
      );
    });

  model
    .command('register <dirOrName>')
    .description('upload a package through the API (pinned to S3 and IPFS) and register it with your signed transaction')
    .option('--fee <tokens>', 'fee per task paid to you', '0')
    .action(async (dirOrName: string, opts, cmd: Command) => {
      const fee = parseTokens(opts.fee, '--fee');
      const base = resolveModelPackage(dirOrName);
      const ctx = await contextOf(cmd, { signer: true, api: true });
      try {
        const r = await registerModelPackage(ctx, base, fee);
        outputOf(cmd).result(r, [`model ${r.modelId} registered (tx ${r.txHash}): ${r.nodes} nodes, fee ${formatTokens(fee)}`, `graph ${r.spec.graphCid}`, `weights ${r.spec.weightsCid}`]);
      } finally {
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
