/**
 * A whole model run in the VM, node after node, each from its canonical start state with its
 * inputs taken from the previous VM outputs: the figure the dispute VM costs for a full inference
 * (`npx tsx shared/dnn/guest/wholeModel.ts models/mnist-mlp [inputs]` prints one JSON object).
 */
import { checkInput } from '../executor';
import { readModelFiles } from '../files';
import type { DnnModel } from '../model';
import { allocTensor, tensorRoot, type Tensor } from '../tensor';
import { buildKernelImage } from './kernelImage';
import { runNodeInVm } from './runNode';
import { sampleInputs } from './sampleInputs';

export interface VmNodeFigure {
  node: number;
  op: string;
  steps: number;
  seconds: number;
}

export interface VmModelRun {
  output: Tensor;
  /** slots[0] = input root, slots[j] = node j's output subtree root in VM memory */
  slots: Uint8Array[];
  nodes: VmNodeFigure[];
  totalSteps: number;
  /** VM execution time only (start-state construction excluded) */
  vmSeconds: number;
  /** wall time including building each node's start memory and reading the output back */
  wallSeconds: number;
}

export function runModelInVm(model: DnnModel, input: Tensor, elf: Uint8Array = buildKernelImage().elf): VmModelRun {
  checkInput(model, input);
  const t0 = process.hrtime.bigint();
  const values = new Map<string, Tensor>([[model.spec.input, input]]);
  const slots = [tensorRoot(input)];
  const nodes: VmNodeFigure[] = [];
  model.spec.nodes.forEach((node, i) => {
    const run = runNodeInVm(model, i + 1, values, { elf });
    values.set(node.output, run.output);
    slots.push(run.outputRoot);
    nodes.push({ node: i + 1, op: node.op, steps: run.steps, seconds: run.seconds });
  });
  return {
    output: values.get(model.spec.output)!,
    slots,
    nodes,
    totalSteps: nodes.reduce((s, n) => s + n.steps, 0),
    vmSeconds: nodes.reduce((s, n) => s + n.seconds, 0),
    wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9,
  };
}

function main(): void {
  const [base, countArg] = process.argv.slice(2);
  if (!base) throw new Error('usage: npx tsx shared/dnn/guest/wholeModel.ts models/<name> [inputs]');
  const model = readModelFiles(base);
  const elf = buildKernelImage().elf;
  // One node alone first, on a blank input (before any dataset is loaded), so the peak is the VM run's own.
  const inputSpec = model.tensorSpecs.get(model.spec.input)!;
  const blank = allocTensor(inputSpec.dtype, [...inputSpec.shape]);
  blank.data.fill(inputSpec.dtype === 'int8' ? inputSpec.zeroPoint : 0);
  const oneNode = runNodeInVm(model, 1, new Map([[model.spec.input, blank]]), { elf });
  const oneNodeMemory = { node: 1, op: model.spec.nodes[0].op, steps: oneNode.steps, maxRssBytes: process.resourceUsage().maxRSS * 1024, heapUsedBytes: process.memoryUsage().heapUsed };
  const runs = sampleInputs(model, Number(countArg ?? 3)).map((input) => runModelInVm(model, input, elf));
  const last = runs[runs.length - 1];
  console.log(
    JSON.stringify({
      model: model.spec.name,
      runs: runs.length,
      totalSteps: last.totalSteps,
      coldVmSeconds: runs[0].vmSeconds,
      vmSeconds: Math.min(...runs.map((r) => r.vmSeconds)),
      wallSeconds: Math.min(...runs.map((r) => r.wallSeconds)),
      nodes: last.nodes,
      oneNodeRun: oneNodeMemory,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }),
  );
}

if (require.main === module) main();
