/**
 * A model package as the dispute game sees it (docs/dispute-spec.md section 3): every node's
 * canonical start layout (docs/dnn-spec.md section 8) as a node record, its inputs' sources (a
 * graph-state slot or a weights-blob offset), and the slot tensors a party computes natively.
 * `graphCommitment(dnnDisputeGraph(model, elf))` is what registration stores as graphSpecHash.
 */
import { runModel, type Backend } from '../dnn/executor';
import { runGeneration } from '../dnn/generation';
import type { DnnModel } from '../dnn/model';
import { nodeStartLayout } from '../dnn/nodeLayout';
import { tensorBytes, type Tensor } from '../dnn/tensor';
import { keccak256 } from '../vm/keccak';
import { DisputeGraphInvalid } from './errors';
import { CARRY_SOURCE, SLOT_SOURCE, STATE_SOURCE, WEIGHT_SOURCE, type DisputeGraph, type DisputeNode, type InputRef } from './graph';

export function dnnDisputeGraph(model: DnnModel, elf: Uint8Array): DisputeGraph {
  const spec = model.spec;
  const slotOf = new Map<string, number>([[spec.input, 0]]);
  spec.nodes.forEach((node, n) => slotOf.set(node.output, n + 1));
  // A generation package's state and carried tensors come from the previous step (section 10 of dnn-spec).
  const fromPrevious = new Map<string, InputRef['source'] & (2 | 3)>();
  const producerOf = new Map<string, number>();
  if (spec.generation) {
    fromPrevious.set(spec.generation.state, STATE_SOURCE);
    producerOf.set(spec.generation.state, slotOf.get(spec.generation.next)!);
    for (const c of spec.generation.carry) {
      fromPrevious.set(c.to, CARRY_SOURCE);
      producerOf.set(c.to, slotOf.get(c.from)!);
    }
  }
  const nodes: DisputeNode[] = spec.nodes.map((node, n) => {
    const layout = nodeStartLayout(model, node);
    const inputs: InputRef[] = node.inputs.map((name, i) => {
      const region = layout.inputs[i];
      const t = model.tensorSpecs.get(name)!;
      if (t.offset !== undefined) return { source: WEIGHT_SOURCE, index: t.offset, addr: region.address, size: region.paddedSize };
      const previous = fromPrevious.get(name);
      if (previous !== undefined) return { source: previous, index: producerOf.get(name)!, addr: region.address, size: region.paddedSize };
      const slot = slotOf.get(name);
      if (slot === undefined || slot > n) throw new DisputeGraphInvalid(`node ${n + 1} reads ${name}, which no earlier node produces`);
      return { source: SLOT_SOURCE, index: slot, addr: region.address, size: region.paddedSize };
    });
    return { params: layout.params.bytes, outputAddress: layout.output.address, outputSize: layout.output.paddedSize, inputs };
  });
  return { specHash: keccak256(model.specBytes), outputSlot: slotOf.get(spec.output)!, weights: model.weights, weightsTree: model.weightsTree, image: elf, nodes };
}

/**
 * The slot tensors' bytes of an honest native run: slot 0 the input, then every node's output
 * (of every step, for a generation package run `steps` times).
 */
export function dnnSlotTensors(model: DnnModel, input: Tensor, steps = 1, backend: Backend = 'ts'): Uint8Array[] {
  if (!model.spec.generation) {
    if (steps !== 1) throw new DisputeGraphInvalid(`model ${model.spec.name} is not a generation package: it runs 1 step, not ${steps}`);
    const run = runModel(model, input, { keepNodeOutputs: true });
    return [tensorBytes(input), ...run.nodeOutputs!.map((t) => tensorBytes(t))].map((b) => Uint8Array.from(b));
  }
  const out: Uint8Array[] = [Uint8Array.from(tensorBytes(input))];
  runGeneration(model, input, steps, { backend, roots: false, onNode: (_step, _node, t) => out.push(Uint8Array.from(tensorBytes(t))) });
  return out;
}
