/**
 * Packages of any size: written one tensor at a time, read by offset from their file, the blob's
 * tree from its tensors' roots (root and proofs equal to hashing the blob), constants decoded
 * lazily under a byte budget, a node's constants streamed into the wasm arena when the model is too
 * big to keep them, and nodes the VM could not run in a dispute refused at load.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { buildModel, constantRegions, loadModel, specText, type DnnModel, type ModelDraft } from '../../shared/dnn/model';
import { MAX_TENSOR_BYTES, type ModelSpec } from '../../shared/dnn/spec';
import { MAX_NODE_STEPS, nodeStepBound } from '../../shared/dnn/stepBound';
import { allocTensor, tensorBytes, toHex, type Tensor } from '../../shared/dnn/tensor';
import { WasmModelRunner } from '../../shared/dnn/wasm/wasmBackend';
import { FileWeights, type WeightsSource } from '../../shared/dnn/weights';
import { hashPair, merkleRootOfBytes } from '../../shared/vm/merkle';
import { writeRandomDenseModel } from '../../scripts/randomDenseModel';

let dir: string;
let base: string;
const WIDTHS = [300, 1000, 700, 64];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'big-package-'));
  base = join(dir, 'dense');
  writeRandomDenseModel(base, WIDTHS, 5);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function inputOf(model: DnnModel, seed: number): Tensor {
  const spec = model.tensorSpecs.get(model.spec.input)!;
  const t = allocTensor(spec.dtype, [...spec.shape]);
  for (let i = 0; i < t.data.length; i++) t.data[i] = ((i * 31 + seed * 17) % 255) - 127;
  return t;
}

describe('the package writer', () => {
  it('writes a blob whose every tensor sits at its offset with its root, and the same seed gives the same files', async () => {
    const model = readModelFiles(base);
    const blob = readFileSync(`${base}.dnn.bin`);
    expect(model.weights.byteLength).toBe(blob.length);
    for (const t of model.spec.tensors.filter((t) => t.offset !== undefined)) {
      expect(toHex(merkleRootOfBytes(blob.subarray(t.offset!, t.offset! + t.byteLength!)))).toBe(t.root);
    }
    // Same name (the file's), same seed: byte for byte the same package.
    await mkdir(join(dir, 'copy'));
    const again = join(dir, 'copy', 'dense');
    writeRandomDenseModel(again, WIDTHS, 5);
    expect(readFileSync(`${again}.dnn.json`).equals(readFileSync(`${base}.dnn.json`))).toBe(true);
    expect(readFileSync(`${again}.dnn.bin`).equals(blob)).toBe(true);
    writeRandomDenseModel(again, WIDTHS, 6);
    expect(readFileSync(`${again}.dnn.bin`).equals(blob)).toBe(false);
  });

  it('a package read by offset from its file runs exactly as one held in memory', () => {
    const fromFile = readModelFiles(base);
    const inMemory = loadModel(fromFile.specBytes, new Uint8Array(readFileSync(`${base}.dnn.bin`)));
    expect(fromFile.weights).toBeInstanceOf(FileWeights);
    for (const seed of [1, 2]) {
      const x = inputOf(fromFile, seed);
      const a = runModel(fromFile, x);
      expect(a.slots.map(toHex)).toEqual(runModel(inMemory, x).slots.map(toHex));
      expect(a.slots.map(toHex)).toEqual(runModel(fromFile, x, { backend: 'ts' }).slots.map(toHex));
    }
  });
});

describe('the weights tree from tensor roots', () => {
  it('has the root of the whole blob, and every region’s siblings prove it inside that root', () => {
    const model = readModelFiles(base);
    const blob = new Uint8Array(readFileSync(`${base}.dnn.bin`));
    const root = merkleRootOfBytes(blob);
    expect(toHex(model.weightsTree.root())).toBe(toHex(root));
    expect(model.weightsTree.size).toBe(2 ** Math.ceil(Math.log2(blob.length)));
    for (const region of constantRegions(model.spec)) {
      const siblings = model.weightsTree.siblings(region.offset, region.size);
      expect(siblings.length).toBe(Math.log2(model.weightsTree.size / region.size));
      let node = merkleRootOfBytes(blob.subarray(region.offset, region.offset + region.size));
      let offset = region.offset;
      for (const [i, sibling] of siblings.entries()) {
        const size = region.size * 2 ** i;
        node = (offset / size) % 2 === 0 ? hashPair(node, sibling) : hashPair(sibling, node);
        offset -= offset % (2 * size);
      }
      expect(toHex(node)).toBe(toHex(root));
    }
  });

  it('refuses a node inside one tensor (its root needs the bytes) and a tiling with a gap', () => {
    const model = readModelFiles(base);
    const [largest] = constantRegions(model.spec).sort((a, b) => a.offset - b.offset);
    expect(() => model.weightsTree.node(largest.offset, largest.size / 2)).toThrow(/lies inside one tensor/);
    const spec = JSON.parse(new TextDecoder().decode(model.specBytes)) as ModelSpec;
    const moved = spec.tensors.find((t) => t.offset === largest.size)!;
    moved.offset! += 64;
    expect(() => loadModel(specText(spec), model.weights)).toThrow(/not the canonical/);
  });
});

describe('lazy constants and streamed nodes', () => {
  it('decodes constants on demand under a byte budget and gives the same values after eviction', () => {
    const full = readModelFiles(base);
    const tight = loadModel(full.specBytes, new FileWeights(`${base}.dnn.bin`), { constantCacheBytes: 4096 });
    const names = [...full.constants.names()];
    const hex = (t: Tensor) => Buffer.from(tensorBytes(t)).toString('hex');
    const first = names.map((n) => hex(tight.constants.get(n)!));
    expect(names.map((n) => hex(tight.constants.get(n)!))).toEqual(first);
    expect(first).toEqual(names.map((n) => hex(full.constants.get(n)!)));
  });

  it('a model too big to keep its constants in linear memory reads each node’s into the arena and gives the same bytes', () => {
    const model = readModelFiles(base);
    const streamed = new WasmModelRunner(model, { residentConstantBytes: 0 });
    const resident = new WasmModelRunner(model);
    expect([streamed.resident, resident.resident]).toEqual([false, true]);
    const x = inputOf(model, 3);
    for (const r of [streamed, resident]) {
      r.write(model.spec.input, x);
      model.spec.nodes.forEach((_, j) => r.runNode(j));
    }
    const hex = (t: Tensor) => Buffer.from(tensorBytes(t)).toString('hex');
    expect(hex(streamed.tensor(model.spec.output))).toBe(hex(resident.tensor(model.spec.output)));
    expect(hex(streamed.tensor(model.spec.output))).toBe(hex(runModel(model, x, { backend: 'ts' }).output));
  });
});

/** A blob of zeros of any length that is never allocated: what a loader sees of a huge package it trusts. */
class ZeroWeights implements WeightsSource {
  constructor(readonly byteLength: number) {}
  readInto(_offset: number, target: Uint8Array): void {
    target.fill(0);
  }
  close(): void {}
}

describe('nodes the VM could not run in a dispute are refused at load', () => {
  const rq = (n: number): Tensor => {
    const t = allocTensor('int32', [n, 2]);
    for (let i = 0; i < n; i++) t.data.set([2 ** 30, 40], 2 * i);
    return t;
  };

  it('a MatMul of two 4096 × 4096 activations needs more than 2^40 steps: refused, naming node and bound', () => {
    const n = 4096;
    const draft: ModelDraft = {
      name: 'too-many-steps',
      input: 'x',
      output: 'y',
      tensors: [
        { name: 'x', dtype: 'int8', shape: [n, n], scale: 1 / 64, zeroPoint: 0 },
        { name: 'rq', dtype: 'int32', shape: [1, 2], scale: 1, zeroPoint: 0, data: rq(1) },
        { name: 'y', dtype: 'int8', shape: [n, n], scale: 1 / 64, zeroPoint: 0 },
      ],
      nodes: [{ op: 'MatMul', inputs: ['x', 'x', 'rq'], output: 'y', attrs: {} }],
    };
    let error: unknown;
    try {
      buildModel(draft);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'DnnSpecError', where: 'node 1 (MatMul)', bound: { field: 'steps', limit: '<= 2^40' } });
    expect((error as Error).message).toMatch(/past the dispute step bound 2\^40: split it into smaller nodes/);

    // Half the size is accepted: the bound is on steps, not on shapes.
    const half = n / 2;
    const ok = buildModel({ ...draft, tensors: draft.tensors.map((t) => (t.data ? t : { ...t, shape: [half, half] })) });
    expect(nodeStepBound(ok.spec.nodes[0], ok.tensorSpecs)).toBeLessThan(MAX_NODE_STEPS);
  });

  it('a weight tensor past the guest’s tensor limit is refused before a byte of it is read', () => {
    const [k, n] = [16384, 16385]; // 16384 × 16385 int8 > 2^28 bytes
    expect(k * n).toBeGreaterThan(MAX_TENSOR_BYTES);
    const size = 2 ** Math.ceil(Math.log2(k * n));
    const spec: ModelSpec = {
      format: 'opml-dnn',
      version: readModelFiles(base).spec.version,
      name: 'too-big-tensor',
      input: 'x',
      output: 'y',
      tensors: [
        { name: 'x', dtype: 'int8', shape: [1, k], scale: 1 / 64, zeroPoint: 0 },
        { name: 'w', dtype: 'int8', shape: [n, k], scale: 1 / 127, zeroPoint: 0, offset: 0, byteLength: k * n, root: `0x${'11'.repeat(32)}` },
        // Largest first (section 4): the rq rows, then the bias.
        { name: 'b', dtype: 'int32', shape: [n], scale: 1, zeroPoint: 0, offset: size + 2 ** Math.ceil(Math.log2(8 * n)), byteLength: 4 * n, root: `0x${'22'.repeat(32)}` },
        { name: 'rq', dtype: 'int32', shape: [n, 2], scale: 1, zeroPoint: 0, offset: size, byteLength: 8 * n, root: `0x${'33'.repeat(32)}` },
        { name: 'y', dtype: 'int8', shape: [1, n], scale: 1 / 64, zeroPoint: 0 },
      ],
      nodes: [{ op: 'Dense', inputs: ['x', 'w', 'b', 'rq'], output: 'y', attrs: { relu: 0 } }],
    };
    const blobLength = size + 2 ** Math.ceil(Math.log2(4 * n)) + 2 ** Math.ceil(Math.log2(8 * n));
    expect(() => loadModel(specText(spec), new ZeroWeights(blobLength), { trusted: true })).toThrow(/exceeds the 268435456-byte tensor limit/);
  });
});
