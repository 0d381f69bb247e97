/**
 * The guest kernels (guest/dnn/) against the native TypeScript kernels, per operator on random
 * small tensors: the VM's output bytes equal the native output bytes, and the VM memory subtree
 * root of the output region equals the native tensor root, with every other region unchanged. Also: an invalid parameter block exits
 * non-zero, runNodeInVm's typed errors, and the kernel image build is reproducible.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '../../shared/dnn/executor';
import { DnnVmKernelError, DnnVmNodeError } from '../../shared/dnn/guest/errors';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { nodeStartState, runNodeInVm } from '../../shared/dnn/guest/runNode';
import { buildModel, type DnnModel, type TensorDraft } from '../../shared/dnn/model';
import { NODE_PARAMS_ADDR } from '../../shared/dnn/nodeLayout';
import { seededRandom } from '../../shared/dnn/random';
import { nodeStepBound } from '../../shared/dnn/stepBound';
import { broadcastShape, windowOut } from '../../shared/dnn/shapes';
import { INT32_OUTPUT_OPS, type OpName } from '../../shared/dnn/spec';
import { allocTensor, tensorBytes, tensorRoot, toHex, type Tensor } from '../../shared/dnn/tensor';
import { Machine } from '../../shared/vm/machine';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { Status } from '../../shared/vm/spec';

const rand = seededRandom(4242);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const elf = buildKernelImage().elf;

function randomTensor(dtype: 'int8' | 'int32', shape: number[], lo: number, hi: number): Tensor {
  const t = allocTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = int(lo, hi);
  return t;
}

function randomRq(rows: number, sLo = 36, sHi = 46): Tensor {
  const t = allocTensor('int32', [rows, 2]);
  for (let c = 0; c < rows; c++) {
    t.data[2 * c] = int(2 ** 30, 2 ** 31 - 1);
    t.data[2 * c + 1] = int(sLo, sHi);
  }
  return t;
}

/** What the importer writes for Softmax: exp[d] = round(2^20 e^(−d × scale)). */
function expTable(scale: number): Tensor {
  const t = allocTensor('int32', [256]);
  for (let d = 0; d < 256; d++) t.data[d] = Math.round(2 ** 20 * Math.exp(-d * scale));
  return t;
}

/** What the importer writes for Attention: exp2[f] = round(2^20 × 2^(−f/256)). */
function exp2Table(): Tensor {
  const t = allocTensor('int32', [256]);
  for (let f = 0; f < 256; f++) t.data[f] = Math.round(2 ** 20 * 2 ** (-f / 256));
  return t;
}

/** Sample's operands: random logits and a random state header (positions, prompt, temperature, top-k, top-p, seed). */
function sampleCase(v: number) {
  const logits = randomTensor('int32', [1, v], -(2 ** 20), 2 ** 20);
  const len = 8 + int(1, 20);
  const state = randomTensor('int32', [len], 0, v - 1);
  const kind = int(0, 3);
  state.data[0] = int(-1, len - 8); // position, past the end included
  state.data[2] = int(-(2 ** 31), 2 ** 31 - 1); // rng, 0 included sometimes
  if (rand() < 0.1) state.data[2] = 0;
  state.data[3] = int(0, len - 8); // prompt length
  state.data[4] = int(0, len - 6); // total length, past the capacity included
  state.data[5] = kind === 0 ? int(-5, 0) : kind === 1 ? int(1, 3000) : int(50_000, 200_000); // greedy, sampled, clamped
  state.data[6] = rand() < 0.5 ? 0 : int(-1, v + 1);
  state.data[7] = rand() < 0.5 ? 0 : int(-1, 70_000);
  const r = allocTensor('int32', [1, 2]);
  r.data.set([int(2 ** 30, 2 ** 31 - 1), int(31, 42)]);
  return { operands: [{ tensor: logits }, { tensor: state }, { tensor: exp2Table() }, { tensor: r }], outShape: [len] };
}

interface Operand {
  tensor: Tensor;
  zeroPoint?: number;
  /** the model input (default: operand 0); the other operands are constants */
  input?: boolean;
}

const inputIndex = (operands: Operand[]) => Math.max(0, operands.findIndex((o) => o.input));

/** A one-node model: one operand is the model input, the others are constants. */
function oneNodeModel(op: OpName, operands: Operand[], outShape: number[], attrs: Record<string, number> = {}, outZp = int(-128, 127)): DnnModel {
  const inIdx = inputIndex(operands);
  const tensors: TensorDraft[] = operands.map((o, i) => ({
    name: `in${i}`,
    dtype: o.tensor.dtype,
    shape: o.tensor.shape,
    scale: 0.05,
    zeroPoint: o.zeroPoint ?? 0,
    ...(i !== inIdx ? { data: o.tensor } : {}),
  }));
  const wide = INT32_OUTPUT_OPS.includes(op);
  tensors.push({ name: 'out', dtype: wide ? 'int32' : 'int8', shape: outShape, scale: 0.05, zeroPoint: wide ? 0 : outZp });
  return buildModel({ name: `one-${op}`, input: `in${inIdx}`, output: 'out', tensors, nodes: [{ op, inputs: operands.map((_, i) => `in${i}`), output: 'out', attrs }] });
}

/** Native and VM run of the model's only node: same bytes, same root. Returns the VM steps. */
function expectSameInVm(model: DnnModel, input: Tensor): number {
  const native = runNode(model, model.spec.nodes[0], new Map([[model.spec.input, input]]));
  const vm = runNodeInVm(model, 1, new Map([[model.spec.input, input]]), { elf });
  expect(Buffer.from(tensorBytes(vm.output)).toString('hex')).toBe(Buffer.from(tensorBytes(native)).toString('hex'));
  expect(toHex(vm.outputRoot)).toBe(toHex(tensorRoot(native)));
  // The import-time bound holds at every shape class this file runs (docs/dnn-spec.md, "Step bound").
  expect(vm.steps).toBeLessThanOrEqual(nodeStepBound(model.spec.nodes[0], model.tensorSpecs));
  // Nothing but the output region is written: the parameter block and inputs keep their roots.
  expect(toHex(vm.memory.subtreeRoot(vm.layout.params.address, vm.layout.params.paddedSize))).toBe(toHex(merkleRootOfBytes(vm.layout.params.bytes)));
  for (const region of vm.layout.inputs) {
    const t = model.constants.get(region.tensor) ?? input;
    expect(toHex(vm.memory.subtreeRoot(region.address, region.paddedSize))).toBe(toHex(tensorRoot(t)));
  }
  return vm.steps;
}

function checkOp(op: OpName, trials: number, make: () => { operands: Operand[]; outShape: number[]; attrs?: Record<string, number>; outZp?: number } | undefined, variant = ''): void {
  it(`${op}${variant}: ${trials} random cases, native bytes and root = VM output region`, () => {
    let ran = 0;
    for (let t = 0; t < trials; t++) {
      const c = make();
      if (!c) continue;
      const model = oneNodeModel(op, c.operands, c.outShape, c.attrs, c.outZp);
      expectSameInVm(model, c.operands[inputIndex(c.operands)].tensor);
      ran++;
    }
    expect(ran).toBeGreaterThan(trials / 2);
  });
}

const i8 = (shape: number[], zeroPoint = int(-128, 127)): Operand => ({ tensor: randomTensor('int8', shape, -128, 127), zeroPoint });
const weights = (shape: number[]): Operand => ({ tensor: randomTensor('int8', shape, -127, 127) });
const i32 = (t: Tensor): Operand => ({ tensor: t });
const randomShape = (rank: number, hi: number) => Array.from({ length: rank }, () => int(1, hi));

/** b's shape: a's with some axes set to 1 and some leading axes dropped (NumPy broadcasting). */
function broadcastPartner(shape: number[]): number[] {
  const s = shape.map((d) => (rand() < 0.3 ? 1 : d));
  return s.slice(int(0, s.length - 1));
}

describe('guest kernels equal the native kernels, per operator', () => {
  checkOp('Dense', 12, () => {
    const [rows, k, n] = [int(1, 4), int(1, 70), int(1, 13)];
    const x = i8(rand() < 0.5 ? [rows, k] : [1, rows, k]);
    return { operands: [x, weights([n, k]), i32(randomTensor('int32', [n], -50000, 50000)), i32(randomRq(n))], outShape: [...x.tensor.shape.slice(0, -1), n], attrs: { relu: int(0, 1) } };
  });

  checkOp('Conv2d', 12, () => {
    const group = int(1, 2);
    const [cg, ocg, h, wd, kh, kw] = [int(1, 3), int(1, 5), int(3, 9), int(3, 9), int(1, 3), int(1, 3)];
    const a = { strideH: int(1, 2), strideW: int(1, 2), padTop: int(0, 2), padLeft: int(0, 2), padBottom: int(0, 2), padRight: int(0, 2), dilationH: int(1, 2), dilationW: int(1, 2), group, relu: int(0, 1) };
    const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom, a.dilationH);
    const ow = windowOut(wd, kw, a.strideW, a.padLeft, a.padRight, a.dilationW);
    if (oh < 1 || ow < 1) return undefined;
    const [c, oc, b] = [cg * group, ocg * group, int(1, 2)];
    return { operands: [i8([b, c, h, wd]), weights([oc, cg, kh, kw]), i32(randomTensor('int32', [oc], -50000, 50000)), i32(randomRq(oc))], outShape: [b, oc, oh, ow], attrs: a };
  });

  checkOp('MatMul', 10, () => {
    const lead = randomShape(int(0, 2), 3);
    const [m, k, n] = [int(1, 6), int(1, 20), int(1, 7)];
    return { operands: [i8([...lead, m, k]), i8([...lead, k, n]), i32(randomRq(1, 30, 40))], outShape: [...lead, m, n] };
  });

  for (const op of ['Add', 'Mul'] as const) {
    checkOp(op, 12, () => {
      const shape = randomShape(int(1, 4), 4);
      const other = broadcastPartner(shape);
      const [a, b] = rand() < 0.5 ? [shape, other] : [other, shape];
      const rqt = op === 'Add' ? randomRq(3, 28, 32) : randomRq(1, 30, 40);
      if (op === 'Add') for (let r = 0; r < 2; r++) rqt.data[2 * r + 1] = int(28, 31);
      if (op === 'Add') rqt.data[5] = int(40, 48);
      const attrs: Record<string, number> = op === 'Add' ? { relu: int(0, 1) } : {};
      return { operands: [i8(a), i8(b), i32(rqt)], outShape: broadcastShape(a, b)!, attrs };
    });
  }

  checkOp('Relu', 6, () => {
    const x = i8(randomShape(int(1, 4), 6));
    return { operands: [x], outShape: x.tensor.shape };
  });

  for (const op of ['MaxPool', 'AvgPool'] as const) {
    checkOp(op, 12, () => {
      const [kh, kw] = [int(1, 3), int(1, 3)];
      const a: Record<string, number> = { kernelH: kh, kernelW: kw, strideH: int(1, 3), strideW: int(1, 3), padTop: int(0, kh - 1), padLeft: int(0, kw - 1), padBottom: int(0, kh - 1), padRight: int(0, kw - 1) };
      if (op === 'AvgPool') a.countIncludePad = int(0, 1);
      const [b, c, h, w] = [int(1, 2), int(1, 3), int(1, 9), int(1, 9)];
      const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom);
      const ow = windowOut(w, kw, a.strideW, a.padLeft, a.padRight);
      if (oh < 1 || ow < 1) return undefined;
      return { operands: [i8([b, c, h, w])], outShape: [b, c, oh, ow], attrs: a };
    });
  }

  checkOp('Reshape', 4, () => {
    const x = i8(randomShape(int(1, 4), 5));
    const n = x.tensor.data.length;
    return { operands: [x], outShape: rand() < 0.5 ? [n] : [1, n] };
  });

  checkOp('Transpose', 10, () => {
    const shape = randomShape(int(1, 4), 5);
    const perm = shape.map((_, i) => i).sort(() => rand() - 0.5);
    const attrs: Record<string, number> = { perm0: 0, perm1: 0, perm2: 0, perm3: 0 };
    perm.forEach((p, i) => (attrs[`perm${i}`] = p));
    return { operands: [i8(shape)], outShape: perm.map((p) => shape[p]), attrs };
  });

  checkOp('Gather', 6, () => {
    const [v, d] = [int(1, 12), int(1, 9)];
    const idxShape = randomShape(int(1, 3), 4);
    // Out-of-range indices exercise the clamping both sides define.
    const idx = randomTensor('int32', idxShape, -3, v + 3);
    return { operands: [weights([v, d]), { tensor: idx, input: true }], outShape: [...idxShape, d] };
  });

  checkOp('Softmax', 8, () => {
    const x = i8(randomShape(int(1, 3), 9));
    x.tensor.shape[x.tensor.shape.length - 1] = int(1, 40);
    x.tensor = randomTensor('int8', x.tensor.shape, -128, 127);
    return { operands: [x, i32(expTable(0.01 + rand() * 0.2))], outShape: x.tensor.shape };
  });

  checkOp('Softmax', 8, () => {
    // With the optional uint8 mask [T, D]: a causal mask with random extra drops, rows fully masked included.
    const [t, d] = [int(1, 6), int(1, 12)];
    const shape = [...randomShape(int(0, 2), 3), t, d];
    const mask = allocTensor('uint8', [t, d]);
    for (let r = 0; r < t; r++) for (let i = 0; i < d; i++) mask.data[r * d + i] = i <= r && rand() < 0.8 ? 1 : 0;
    return { operands: [i8(shape), i32(expTable(0.01 + rand() * 0.2)), { tensor: mask }], outShape: shape };
  }, ' with a mask');

  checkOp('LayerNorm', 8, () => {
    const shape = [...randomShape(int(0, 2), 3), int(1, 48)];
    const d = shape[shape.length - 1];
    return {
      operands: [i8(shape), weights([d]), i32(randomTensor('int32', [d], -200000, 200000)), i32(randomRq(1, 36, 42))],
      outShape: shape,
      attrs: { epsTerm: int(0, 5000) },
    };
  });

  checkOp('Lut', 4, () => {
    const x = i8(randomShape(int(1, 4), 6));
    return { operands: [x, weights([256])], outShape: x.tensor.shape };
  });

  checkOp('RmsNorm', 8, () => {
    const shape = [...randomShape(int(0, 2), 3), int(1, 64)];
    const d = shape[shape.length - 1];
    return { operands: [i8(shape), weights([d]), i32(randomRq(1, 36, 42))], outShape: shape, attrs: { epsTerm: int(0, 5000) } };
  });

  checkOp('Rope', 8, () => {
    const [p, half, heads, rows] = [int(1, 9), int(1, 4), int(1, 3), int(1, 4)];
    const table = randomTensor('int32', [p, half, 2], -(2 ** 14), 2 ** 14);
    // Positions before 0 and past the table exercise the clamping both sides define.
    const pos = randomTensor('int32', [1], -3, p + 2);
    const shape = rand() < 0.5 ? [rows, heads * 2 * half] : [1, rows, heads * 2 * half];
    return { operands: [i8(shape), i32(table), i32(pos), i32(randomRq(1, 42, 46))], outShape: shape };
  });

  checkOp('KvWrite', 8, () => {
    const [p, w, rows] = [int(1, 9), int(1, 12), int(1, 4)];
    const zp = int(-128, 127);
    const withCache = rand() < 0.7;
    const operands: Operand[] = [i8([rows, w], zp), i32(randomTensor('int32', [1], -2, p + 1))];
    if (withCache) operands.push(i8([p, w], zp));
    return { operands, outShape: [p, w], outZp: zp };
  });

  checkOp('Attention', 10, () => {
    const [kvHeads, group, hd, p, rows] = [int(1, 2), int(1, 3), int(1, 8), int(1, 12), int(1, 3)];
    const heads = kvHeads * group;
    const rqt = allocTensor('int32', [2, 2]);
    rqt.data.set([int(2 ** 30, 2 ** 31 - 1), int(34, 40), int(2 ** 30, 2 ** 31 - 1), int(38, 42)]);
    return {
      operands: [i8([rows, heads * hd]), i8([p, kvHeads * hd]), i8([p, kvHeads * hd]), i32(randomTensor('int32', [1], -2, p + 1)), i32(exp2Table()), i32(rqt)],
      outShape: [rows, heads * hd],
      attrs: { heads, kvHeads },
    };
  });

  checkOp('DenseWide', 8, () => {
    const [rows, k, n] = [int(1, 4), int(1, 70), int(1, 13)];
    const x = i8(rand() < 0.5 ? [rows, k] : [1, rows, k]);
    return { operands: [x, weights([n, k]), i32(randomRq(n, 20, 30))], outShape: [...x.tensor.shape.slice(0, -1), n] };
  });

  checkOp('TokenEmbed', 6, () => {
    const [v, d] = [int(1, 12), int(1, 9)];
    const state = randomTensor('int32', [int(2, 12)], -3, v + 3);
    return { operands: [weights([v, d]), i32(state)], outShape: [1, 1, d] };
  });

  checkOp('Sample', 24, () => sampleCase(int(1, 300)));

  checkOp('Sample', 16, () => {
    // Every case draws: the position is past the prompt and the total leaves room.
    const c = sampleCase(int(2, 300));
    const state = c.operands[1].tensor.data;
    state[0] = int(0, 5);
    state[3] = int(0, state[0]);
    state[4] = state.length;
    state[5] = int(1, 5000);
    return c;
  }, ' (drawing)');

  it('Sample over a 32,000-token vocabulary with top-k and top-p: native = VM, inside its step bound', () => {
    const c = sampleCase(32000);
    const state = c.operands[1].tensor.data;
    state.set([3, 0, 12345, 2, state.length, 800, 40, 58000]);
    const model = oneNodeModel('Sample', c.operands, c.outShape);
    expectSameInVm(model, c.operands[0].tensor);
  });

  it('a larger Dense and Conv2d once each (the blocked and remainder paths at MNIST-like sizes)', () => {
    const dense = oneNodeModel('Dense', [i8([1, 300]), weights([34, 300]), i32(randomTensor('int32', [34], -300000, 300000)), i32(randomRq(34, 40, 46))], [1, 34], { relu: 1 });
    expectSameInVm(dense, randomTensor('int8', [1, 300], -128, 127));
    const a = { strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1, group: 1, relu: 1 };
    const conv = oneNodeModel('Conv2d', [i8([1, 3, 16, 16]), weights([6, 3, 3, 3]), i32(randomTensor('int32', [6], -50000, 50000)), i32(randomRq(6, 36, 42))], [1, 6, 16, 16], a);
    expectSameInVm(conv, randomTensor('int8', [1, 3, 16, 16], -128, 127));
  });
});

describe('invalid parameter blocks and kernel failures', () => {
  const model = oneNodeModel('Dense', [i8([2, 8]), weights([4, 8]), i32(randomTensor('int32', [4], -1000, 1000)), i32(randomRq(4))], [2, 4], { relu: 0 });
  const input = new Map([['in0', randomTensor('int8', [2, 8], -128, 127)]]);

  /** Runs the node with one 32-bit word of its start memory replaced; checks the output region stayed zero. */
  function runWith(address: number, word: number): Machine {
    const start = nodeStartState(model, 1, input, elf);
    start.memory.writeWord(address, word >>> 0);
    const machine = new Machine(start.memory, { pc: start.entry });
    machine.run(1e7);
    const out = start.layout.output;
    expect(start.memory.readBytes(out.address, out.paddedSize).every((b) => b === 0)).toBe(true);
    return machine;
  }

  const P = NODE_PARAMS_ADDR;
  const cases: [string, number, number, number][] = [
    ['unknown op code', P, 99, 1],
    ['op code 0', P, 0, 1],
    ['wrong input count', P + 4, 3, 2],
    ['more inputs than the op takes', P + 4, 5, 2],
    ['wrong attribute count', P + 8, 2, 3],
    ['reserved word set', P + 12, 1, 4],
    ['misaligned output address', P + 16, 0x10100001, 5],
    ['output below the tensor base', P + 16, 0x00010000, 5],
    ['bad dtype code', P + 16 + 4, 7, 5],
    ['rank 0', P + 48 + 8, 0, 5],
    ['input region overlapping another', P + 48 + 32, 0x10100000, 6],
    ['int32 output', P + 16 + 4, 3, 7],
    ['weight shape not matching K', P + 48 + 32 + 20, 4, 8],
    ['output shape wrong', P + 16 + 20, 5, 8],
  ];
  for (const [what, address, word, code] of cases) {
    it(`${what}: exits with code ${code} before writing the output`, () => {
      const machine = runWith(address, word);
      expect(machine.status).toBe(Status.EXITED);
      expect(machine.exitCode).toBe(code);
    });
  }

  it('an rq shift outside [17, 62] (constant tensor) exits with code 10', () => {
    const start = nodeStartState(model, 1, input, elf);
    const rqRegion = start.layout.inputs[3];
    start.memory.writeWord(rqRegion.address + 4, 63);
    const machine = new Machine(start.memory, { pc: start.entry });
    machine.run(1e7);
    expect([machine.status, machine.exitCode]).toEqual([Status.EXITED, 10]);
  });

  it('runNodeInVm: a kernel exiting non-zero is a DnnVmKernelError naming node, op, status and step', () => {
    // loadModel refuses a Softmax table entry above 2^20, so corrupt a loaded model's table in place:
    // the guest's own check must still catch it (exit 11) and runNodeInVm must say which node failed.
    const bad = oneNodeModel('Softmax', [i8([2, 5]), i32(expTable(0.1))], [2, 5]);
    bad.constants.get('in1')!.data[3] = 2 ** 21;
    let error: unknown;
    try {
      runNodeInVm(bad, 1, new Map([['in0', randomTensor('int8', [2, 5], -128, 127)]]), { elf });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DnnVmKernelError);
    expect(error).toMatchObject({ name: 'DnnVmKernelError', node: 1, op: 'Softmax', status: Status.EXITED, exitCode: 11 });
    expect((error as DnnVmKernelError).step).toBeGreaterThan(0);
  });

  it('the decoder operators check what their arithmetic relies on: a Rope entry past 2^14 (11), a KvWrite zero point (12), Attention heads (9)', () => {
    const exit = (m: DnnModel, patch: (start: ReturnType<typeof nodeStartState>) => void) => {
      const start = nodeStartState(m, 1, new Map([['in0', randomTensor('int8', m.tensorSpecs.get('in0')!.shape, -128, 127)]]), elf);
      patch(start);
      const machine = new Machine(start.memory, { pc: start.entry });
      machine.run(1e7);
      return [machine.status, machine.exitCode];
    };
    const table = randomTensor('int32', [4, 2, 2], -100, 100);
    const pos2 = allocTensor('int32', [1]);
    pos2.data[0] = 2;
    const rope = oneNodeModel('Rope', [i8([1, 8]), i32(table), i32(pos2), i32(randomRq(1, 42, 46))], [1, 8]);
    // Row 2 of the table is the one position 2 reads; a bad entry in an unread row is not the kernel's concern.
    expect(exit(rope, (st) => st.memory.writeWord(st.layout.inputs[1].address + 4 * 4 * 3, 2 ** 14 + 1))).toEqual([Status.EXITED, 0]);
    expect(exit(rope, (st) => st.memory.writeWord(st.layout.inputs[1].address + 4 * 4 * 2 + 4, -(2 ** 14) - 1))).toEqual([Status.EXITED, 11]);
    const kv = oneNodeModel('KvWrite', [i8([2, 4], 5), i32(pos2), i8([6, 4], 5)], [6, 4], {}, 5);
    const zpWord = (st: ReturnType<typeof nodeStartState>, input: number) => st.layout.params.address + 16 + 32 * (1 + input) + 12;
    expect(exit(kv, () => undefined)).toEqual([Status.EXITED, 0]);
    expect(exit(kv, (st) => st.memory.writeWord(zpWord(st, 2), 4))).toEqual([Status.EXITED, 12]);
    const rqt = allocTensor('int32', [2, 2]);
    rqt.data.set([2 ** 30, 40, 2 ** 30, 40]);
    const attn = oneNodeModel('Attention', [i8([1, 8]), i8([3, 4]), i8([3, 4]), i32(pos2), i32(exp2Table()), i32(rqt)], [1, 8], { heads: 2, kvHeads: 1 });
    const attrWord = (st: ReturnType<typeof nodeStartState>) => st.layout.params.address + 16 + 32 * 7;
    expect(exit(attn, (st) => st.memory.writeWord(attrWord(st), 0))).toEqual([Status.EXITED, 9]);
    expect(exit(attn, (st) => st.memory.writeWord(attrWord(st), 3))).toEqual([Status.EXITED, 8]);
  });

  it('runNodeInVm: running out of steps is a DnnVmKernelError with status RUNNING', () => {
    expect(() => runNodeInVm(model, 1, input, { elf, maxSteps: 100 })).toThrow(expect.objectContaining({ name: 'DnnVmKernelError', status: Status.RUNNING, step: 100 }));
  });

  it('runNodeInVm: a missing node or input is a DnnVmNodeError', () => {
    expect(() => runNodeInVm(model, 2, input, { elf })).toThrow(DnnVmNodeError);
    expect(() => runNodeInVm(model, 0, input, { elf })).toThrow(expect.objectContaining({ name: 'DnnVmNodeError', node: 0 }));
    expect(() => runNodeInVm(model, 1, new Map(), { elf })).toThrow(/input in0 was not supplied/);
  });
});

describe('kernel image', () => {
  it('builds reproducibly: same bytes, image root and CID in another directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opml-dnn-kernels-'));
    try {
      const again = buildKernelImage(dir);
      const first = buildKernelImage();
      expect(Buffer.from(again.elf).equals(Buffer.from(first.elf))).toBe(true);
      expect(again.imageRoot).toBe(first.imageRoot);
      expect(again.cid).toBe(first.cid);
      expect(first.imageRoot).toMatch(/^0x[0-9a-f]{64}$/);
      expect(first.cid).toMatch(/^b[a-z2-7]+$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
