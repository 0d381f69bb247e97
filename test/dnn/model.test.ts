/**
 * Model packages, tensor roots and graph state: the shipped MNIST MLP package loads and verifies;
 * any tampering is a DnnSpecError; node outputs' roots equal the VM memory subtree roots of the
 * regions the canonical node layout puts them in.
 */
import { join } from 'node:path';
import { runModel } from '../../shared/dnn/executor';
import { DnnInputError, DnnSpecError } from '../../shared/dnn/errors';
import { readModelFiles } from '../../shared/dnn/files';
import { graphStateRoot } from '../../shared/dnn/graphState';
import { quantizeInput } from '../../shared/dnn/io';
import { rawCid } from '../../shared/dnn/cid';
import { loadModel, modelRoot, specHash, weightsRoot, type DnnModel } from '../../shared/dnn/model';
import { weightsBytes } from '../../shared/dnn/weights';
import { nodeStartLayout, NODE_PARAMS_ADDR, TENSOR_BASE } from '../../shared/dnn/nodeLayout';
import { OPS } from '../../shared/dnn/spec';
import { allocTensor, paddedSize, tensorBytes, tensorRoot, toHex, type Tensor } from '../../shared/dnn/tensor';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { keccak256 } from '../../shared/vm/keccak';
import { Memory } from '../../shared/vm/memory';
import { packageCids } from '../../shared/models/registration';

const MODELS = join(__dirname, '..', '..', 'models');
const mlp = readModelFiles(join(MODELS, 'mnist-mlp'));
const mlpBlob = weightsBytes(mlp.weights);
const digits = mnistTest();

function expectSpecError(f: () => unknown, where: string): void {
  try {
    f();
  } catch (e) {
    expect((e as Error).name).toBe('DnnSpecError');
    expect((e as DnnSpecError).where).toContain(where);
    return;
  }
  throw new Error('no DnnSpecError');
}

function editedSpec(model: DnnModel, edit: (spec: any) => void): Uint8Array {
  const spec = JSON.parse(new TextDecoder().decode(model.specBytes));
  edit(spec);
  return new TextEncoder().encode(JSON.stringify(spec));
}

describe('model package', () => {
  it('constants sit in the blob at aligned offsets, largest first, with their roots', () => {
    const constants = mlp.spec.tensors.filter((t) => t.offset !== undefined);
    expect(constants.length).toBeGreaterThan(0);
    let end = 0;
    for (const t of [...constants].sort((a, b) => a.offset! - b.offset!)) {
      const size = paddedSize(t.byteLength!);
      expect(t.offset! % size).toBe(0);
      expect(t.offset).toBe(end);
      end += size;
      expect(toHex(merkleRootOfBytes(mlpBlob.subarray(t.offset!, t.offset! + t.byteLength!)))).toBe(t.root);
    }
    expect(end).toBe(mlpBlob.length);
  });

  it('model root commits to spec hash and weights root', () => {
    const both = new Uint8Array([...specHash(mlp), ...weightsRoot(mlp)]);
    expect(toHex(modelRoot(mlp))).toBe(toHex(keccak256(both)));
    const other = loadModel(editedSpec(mlp, (s) => (s.name = 'renamed')), mlpBlob);
    expect(toHex(modelRoot(other))).not.toBe(toHex(modelRoot(mlp)));
  });

  it('content ids are the ones IPFS gives the files: raw single blocks up to 256 KiB', () => {
    // The well-known CID of the empty raw block.
    expect(rawCid(new Uint8Array(0))).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    const cids = packageCids(mlp);
    expect(cids.weights).toBe(rawCid(mlpBlob));
    expect(cids.spec).toBe(rawCid(mlp.specBytes));
  });

  it('rejects tampered weights, layouts, graphs and schemas with DnnSpecError', () => {
    const flipped = mlpBlob.slice();
    flipped[100] ^= 1;
    expectSpecError(() => loadModel(mlp.specBytes, flipped), 'tensor');
    expectSpecError(() => loadModel(mlp.specBytes, mlpBlob.subarray(0, mlpBlob.length - 32)), 'weights');
    expectSpecError(() => loadModel(new TextEncoder().encode('{"format":'), mlpBlob), 'spec');
    expectSpecError(() => loadModel(editedSpec(mlp, (s) => (s.tensors[0].dtype = 'float32')), mlpBlob), 'spec.tensors.0.dtype');
    expectSpecError(() => loadModel(editedSpec(mlp, (s) => (s.nodes[0].inputs[0] = 'nowhere')), mlpBlob), 'node 1');
    expectSpecError(() => loadModel(editedSpec(mlp, (s) => s.nodes.reverse()), mlpBlob), 'node 1');
    expectSpecError(() => loadModel(editedSpec(mlp, (s) => (s.tensors.find((t: any) => t.name === s.output).shape = [1, 11])), mlpBlob), 'node 2');
    const swapped = editedSpec(mlp, (s) => {
      const consts = s.tensors.filter((t: any) => t.offset !== undefined);
      [consts[0].offset, consts[1].offset] = [consts[1].offset, consts[0].offset];
    });
    expectSpecError(() => loadModel(swapped, mlpBlob), 'tensor');
  });
});

describe('executor and graph state', () => {
  const input = quantizeInput(mlp, digits.images[0]);
  const run = runModel(mlp, input, { keepNodeOutputs: true });

  it('records slot 0 = input root and slot j = node j output root', () => {
    expect(run.slots).toHaveLength(mlp.spec.nodes.length + 1);
    expect(toHex(run.slots[0])).toBe(toHex(tensorRoot(input)));
    run.nodeOutputs!.forEach((t, j) => expect(toHex(run.slots[j + 1])).toBe(toHex(merkleRootOfBytes(tensorBytes(t)))));
    const concatenated = new Uint8Array(32 * run.slots.length);
    run.slots.forEach((s, j) => concatenated.set(s, 32 * j));
    expect(toHex(run.graphStateRoot)).toBe(toHex(merkleRootOfBytes(concatenated)));
  });

  it('graph state after node i leaves later slots zero', () => {
    const partial = new Uint8Array(32 * run.slots.length);
    partial.set(run.slots[0], 0);
    partial.set(run.slots[1], 32);
    expect(toHex(graphStateRoot(run.slots, 1))).toBe(toHex(merkleRootOfBytes(partial)));
    expect(toHex(graphStateRoot(run.slots, 1))).not.toBe(toHex(run.graphStateRoot));
  });

  it('is deterministic and input-sensitive', () => {
    expect(toHex(runModel(mlp, quantizeInput(mlp, digits.images[0])).graphStateRoot)).toBe(toHex(run.graphStateRoot));
    expect(toHex(runModel(mlp, quantizeInput(mlp, digits.images[1])).graphStateRoot)).not.toBe(toHex(run.graphStateRoot));
  });

  it('rejects an input of the wrong shape or dtype', () => {
    expect(() => runModel(mlp, allocTensor('int8', [1, 783]))).toThrow(DnnInputError);
    expect(() => runModel(mlp, allocTensor('int32', [1, 784]))).toThrow(DnnInputError);
    expect(() => quantizeInput(mlp, new Float32Array(3))).toThrow(DnnInputError);
  });
});

describe('canonical node layout in VM memory', () => {
  it('every node: tensor roots equal the subtree roots of their regions', () => {
    const input = quantizeInput(mlp, digits.images[3]);
    const run = runModel(mlp, input, { keepNodeOutputs: true });
    const values = new Map<string, Tensor>([[mlp.spec.input, input]]);
    mlp.spec.nodes.forEach((node, j) => {
      const layout = nodeStartLayout(mlp, node);
      const memory = new Memory();
      memory.writeBytes(layout.params.address, layout.params.bytes);
      const regions = [...layout.inputs, layout.output];
      let end = TENSOR_BASE;
      for (const r of regions) {
        expect(r.address % r.paddedSize).toBe(0);
        expect(r.address).toBeGreaterThanOrEqual(end);
        end = r.address + r.paddedSize;
      }
      for (const r of layout.inputs) {
        const t = mlp.constants.get(r.tensor) ?? values.get(r.tensor)!;
        memory.writeBytes(r.address, tensorBytes(t));
        expect(toHex(memory.subtreeRoot(r.address, r.paddedSize))).toBe(toHex(tensorRoot(t)));
      }
      expect(toHex(memory.subtreeRoot(layout.params.address, layout.params.paddedSize))).toBe(toHex(merkleRootOfBytes(layout.params.bytes)));
      // What the guest kernel must leave behind: the native output bytes in the output region.
      const out = run.nodeOutputs![j];
      memory.writeBytes(layout.output.address, tensorBytes(out));
      expect(toHex(memory.subtreeRoot(layout.output.address, layout.output.paddedSize))).toBe(toHex(run.slots[j + 1]));
      // The parameter block's header and output descriptor.
      expect(layout.params.address).toBe(NODE_PARAMS_ADDR);
      expect(memory.readWord(NODE_PARAMS_ADDR)).toBe(OPS[node.op].code);
      expect(memory.readWord(NODE_PARAMS_ADDR + 4)).toBe(node.inputs.length);
      expect(memory.readWord(NODE_PARAMS_ADDR + 16)).toBe(layout.output.address);
      expect(memory.readWord(NODE_PARAMS_ADDR + 48)).toBe(layout.inputs[0].address);
      values.set(node.output, out);
    });
  });
});
