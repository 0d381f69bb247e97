/**
 * Small synthetic graphs for dispute tests, run by a real guest kernel (kernels/sum8.c): every node
 * sums its inputs (earlier slots and weight tensors) element-wise with int8 saturation. The node
 * parameter blocks and tensor placement follow docs/dnn-spec.md section 8, so the phase link is
 * checked exactly as for a real model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak256 } from '../../shared/vm/keccak';
import { merkleRootOfBytes, paddedSize } from '../../shared/vm/merkle';
import { NODE_PARAMS_ADDR, TENSOR_BASE } from '../../shared/dnn/nodeLayout';
import { buildGuest } from '../../scripts/build-guest';
import { SLOT_SOURCE, WEIGHT_SOURCE, type DisputeGraph, type DisputeNode, type InputRef } from '../../shared/dispute/graph';
import { BytesWeights } from '../../shared/dnn/weights';
import { WeightsTree } from '../../shared/dnn/weightsTree';

const SUM8_OP = 900;
const INT8 = 1;

/** Node j's inputs: ['s', k] slot k (< j), ['w', m] weight tensor m. */
export type InputPick = ['s', number] | ['w', number];

export interface SyntheticGraph {
  graph: DisputeGraph;
  elements: number;
  weights: Int8Array[];
  picks: InputPick[][];
}

let image: Uint8Array | undefined;

/** The sum8 kernel ELF, built once per process with the project's guest toolchain. */
export function sum8Image(): Uint8Array {
  if (!image) {
    const outDir = join(__dirname, '..', '..', 'build', 'dispute-test');
    const [artifact] = buildGuest({ programs: [{ name: 'sum8', sources: ['test/dispute/kernels/sum8.c'] }], outDir });
    image = readFileSync(artifact.path);
  }
  return image;
}

function descriptor(view: DataView, offset: number, address: number, elements: number): void {
  [address, INT8, 1, 0, elements, 1, 1, 1].forEach((w, i) => view.setInt32(offset + 4 * i, w, true));
}

export function syntheticGraph(elements: number, weights: Int8Array[], picks: InputPick[][]): SyntheticGraph {
  const size = paddedSize(elements);
  const blob = new Uint8Array(size * weights.length);
  weights.forEach((w, m) => blob.set(new Uint8Array(w.buffer, w.byteOffset, w.length), m * size));
  const nodes: DisputeNode[] = picks.map((inputs) => {
    let cursor = TENSOR_BASE;
    const place = (): number => {
      const address = Math.ceil(cursor / size) * size;
      cursor = address + size;
      return address;
    };
    const refs: InputRef[] = inputs.map(([kind, k]) =>
      kind === 's' ? { source: SLOT_SOURCE, index: k, addr: place(), size } : { source: WEIGHT_SOURCE, index: k * size, addr: place(), size },
    );
    const outputAddress = place();
    const params = new Uint8Array(48 + 32 * refs.length);
    const view = new DataView(params.buffer);
    [SUM8_OP, refs.length, 0, 0].forEach((w, i) => view.setInt32(4 * i, w, true));
    descriptor(view, 16, outputAddress, elements);
    refs.forEach((r, i) => descriptor(view, 48 + 32 * i, r.addr, elements));
    return { params, outputAddress, outputSize: size, inputs: refs };
  });
  const spec = new TextEncoder().encode(JSON.stringify({ format: 'sum8-test', elements, picks, params: NODE_PARAMS_ADDR }));
  const regions = weights.map((_, m) => ({ offset: m * size, size, root: merkleRootOfBytes(blob.subarray(m * size, (m + 1) * size)) }));
  const graph = { specHash: keccak256(spec), outputSlot: nodes.length, weights: new BytesWeights(blob), weightsTree: new WeightsTree(regions, blob.length), image: sum8Image(), nodes };
  return { graph, elements, weights, picks };
}

function sum8(inputs: Int8Array[]): Int8Array {
  const out = new Int8Array(inputs[0].length);
  for (let i = 0; i < out.length; i++) {
    const s = inputs.reduce((acc, t) => acc + t[i], 0);
    out[i] = Math.max(-128, Math.min(127, s));
  }
  return out;
}

/**
 * Every slot's bytes for `input`: the honest computation, or a cheat that adds `delta` to element
 * `element` of node `node`'s output, propagated to later nodes or not.
 */
export function computeTensors(
  s: SyntheticGraph,
  input: Int8Array,
  cheat?: { node: number; element: number; delta: number; propagate: boolean },
): Uint8Array[] {
  const honest: Int8Array[] = [input];
  const claimed: Int8Array[] = [input];
  s.picks.forEach((inputs, n) => {
    const j = n + 1;
    const from = (table: Int8Array[]): Int8Array => sum8(inputs.map(([kind, k]) => (kind === 's' ? table[k] : s.weights[k])));
    honest.push(from(honest));
    const out = cheat?.propagate ? from(claimed) : Int8Array.from(honest[j]);
    if (cheat?.node === j) out[cheat.element] = (out[cheat.element] + cheat.delta) << 24 >> 24;
    claimed.push(cheat ? out : honest[j]);
  });
  return claimed.map((t) => new Uint8Array(t.buffer, t.byteOffset, t.length));
}

export function randomInt8(length: number, seed: number): Int8Array {
  const out = new Int8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % 256;
  }
  return out;
}

export const ELEMENTS = 40;
export const NODES = 18;

/** The graph most tests use: 18 nodes (two graph rounds), 40-element tensors, three weight tensors. */
export function testGraph(): SyntheticGraph {
  const weights = [1, 2, 3].map((seed) => randomInt8(ELEMENTS, seed));
  const picks: InputPick[][] = Array.from({ length: NODES }, (_, n) => {
    const j = n + 1;
    const inputs: InputPick[] = [['s', j - 1], ['w', j % 3]];
    if (j % 3 === 0) inputs.push(['s', j - 2]);
    return inputs;
  });
  return syntheticGraph(ELEMENTS, weights, picks);
}
