/**
 * The WebAssembly backend of the native executor: the guest kernels (guest/dnn/*.c) compiled to
 * build/wasm/dnn-kernels.wasm by scripts/build-wasm-kernels.ts, run on tensors that live in the
 * module's linear memory. Each model gets its own instance whose memory holds, at fixed addresses
 * chosen once, every constant (copied once), every activation and every node's parameter block
 * (docs/dnn-spec.md section 8 layout, with these addresses). A run then only copies the input in
 * and calls run_node per node: no per-node allocation, and the bytes are those of the VM's kernels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DnnModel } from '../model';
import { DESCRIPTOR_SIZE, PARAMS_HEADER_SIZE } from '../nodeLayout';
import { DTYPE_CODE, DTYPE_SIZE, OPS, type DType } from '../spec';
import { elementCount, tensorBytes, tensorFromBytes, type Tensor } from '../tensor';
import { DnnWasmKernelError, DnnWasmUnavailable } from './errors';

export const WASM_KERNELS_PATH = resolve(__dirname, '..', '..', '..', 'build', 'wasm', 'dnn-kernels.wasm');

/** This repo's lib settings (ES2022, no DOM) do not declare WebAssembly; Node provides it. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

const PAGE = 65536;
/** int32 tensors need 4-byte alignment; 16 keeps SIMD loads within one cache line more often. */
const ALIGN = 16;
/**
 * The SIMD GEMM (shared/dnn/wasm/simd_gemm.c) may read up to 7 bytes past an int8 weight row; after the
 * last region this slack keeps such reads inside linear memory.
 */
const TAIL_SLACK = 16;

let compiled: object | undefined;

function kernelModule(): object {
  if (!compiled) {
    if (!existsSync(WASM_KERNELS_PATH)) throw new DnnWasmUnavailable(WASM_KERNELS_PATH, 'not built');
    try {
      compiled = new WebAssembly.Module(readFileSync(WASM_KERNELS_PATH));
    } catch (e) {
      throw new DnnWasmUnavailable(WASM_KERNELS_PATH, (e as Error).message);
    }
  }
  return compiled;
}

/** Whether the module is built and loads (the executor's default backend depends on it). */
export function wasmKernelsAvailable(): boolean {
  try {
    kernelModule();
    return true;
  } catch (e) {
    if (e instanceof DnnWasmUnavailable) return false;
    throw e;
  }
}

interface Placed {
  address: number;
  byteLength: number;
  dtype: DType;
  shape: number[];
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Constants up to this many bytes live in linear memory for the runner's life; a larger model's
 * constants are read into one arena node by node (a wasm32 memory stops at 4 GiB, and a worker
 * must not hold every large model it serves in memory).
 */
export const RESIDENT_CONSTANT_BYTES = 256 << 20;

/** Whether the model's constants stay in linear memory (else each run reads a node's constants as it goes). */
export function constantsResident(model: DnnModel, limitBytes = RESIDENT_CONSTANT_BYTES): boolean {
  let bytes = 0;
  for (const name of model.constants.names()) bytes += model.tensorSpecs.get(name)!.byteLength!;
  return bytes <= limitBytes;
}

/** One model in one instance of the kernel module. */
export class WasmModelRunner {
  private readonly runNodeAt: (params: number) => number;
  private readonly memory: WasmMemory;
  private mem8: Uint8Array;
  /** Activations (and, for a resident model, every constant) at fixed addresses. */
  private readonly placed = new Map<string, Placed>();
  /** Per node, where its constants go when they are read for it (streamed models only). */
  private readonly arenaPlaces: Map<string, Placed>[] = [];
  private readonly paramAddresses: number[] = [];
  readonly resident: boolean;

  /** `residentConstantBytes`: the most constant bytes kept in linear memory (RESIDENT_CONSTANT_BYTES; tests lower it). */
  constructor(
    private readonly model: DnnModel,
    options: { residentConstantBytes?: number } = {},
  ) {
    const { exports } = new WebAssembly.Instance(kernelModule());
    this.runNodeAt = exports.run_node as (params: number) => number;
    this.memory = exports.memory as WasmMemory;
    let cursor = alignUp((exports.__heap_base as { value: number }).value, ALIGN);
    const place = (target: Map<string, Placed>, name: string, at: number): number => {
      const spec = model.tensorSpecs.get(name)!;
      const byteLength = elementCount(spec.shape) * DTYPE_SIZE[spec.dtype];
      target.set(name, { address: at, byteLength, dtype: spec.dtype, shape: [...spec.shape] });
      return alignUp(at + byteLength, ALIGN);
    };
    this.resident = constantsResident(model, options.residentConstantBytes);
    for (const name of model.tensorSpecs.keys()) if (this.resident || !model.constants.has(name)) cursor = place(this.placed, name, cursor);
    if (!this.resident) {
      const arena = cursor;
      for (const node of model.spec.nodes) {
        const places = new Map<string, Placed>();
        let end = arena;
        for (const name of new Set(node.inputs)) if (model.constants.has(name)) end = place(places, name, end);
        this.arenaPlaces.push(places);
        cursor = Math.max(cursor, end);
      }
    }
    const blocks = model.spec.nodes.map((node, j) => {
      const block = this.paramBlock(node, this.arenaPlaces[j]);
      this.paramAddresses.push(cursor);
      cursor = alignUp(cursor + block.length, ALIGN);
      return block;
    });
    const pages = Math.ceil((cursor + TAIL_SLACK) / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) {
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new DnnWasmUnavailable(WASM_KERNELS_PATH, `model ${model.spec.name} needs ${cursor} bytes of linear memory (${(e as Error).message})`);
      }
    }
    this.mem8 = new Uint8Array(this.memory.buffer);
    if (this.resident) for (const name of model.constants.names()) this.readConstant(this.placed.get(name)!, name);
    blocks.forEach((b, j) => this.mem8.set(b, this.paramAddresses[j]));
  }

  /** A constant's bytes straight from the weights into linear memory (no copy in between). */
  private readConstant(p: Placed, name: string): void {
    this.model.weights.readInto(this.model.tensorSpecs.get(name)!.offset!, this.mem8.subarray(p.address, p.address + p.byteLength));
  }

  /** The node-parameter block of docs/dnn-spec.md section 8, pointing at this instance's addresses. */
  private paramBlock(node: DnnModel['spec']['nodes'][number], arena: ReadonlyMap<string, Placed> | undefined): Uint8Array {
    const attrNames: readonly string[] = OPS[node.op].attrs;
    const bytes = new Uint8Array(PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + node.inputs.length) + 4 * attrNames.length);
    const view = new DataView(bytes.buffer);
    const words = (off: number, ws: number[]) => ws.forEach((w, i) => view.setInt32(off + 4 * i, w | 0, true));
    const descriptor = (off: number, name: string) => {
      const p = arena?.get(name) ?? this.placed.get(name)!;
      const zp = this.model.tensorSpecs.get(name)!.zeroPoint;
      words(off, [p.address, DTYPE_CODE[p.dtype], p.shape.length, zp, ...[0, 1, 2, 3].map((i) => p.shape[i] ?? 1)]);
    };
    words(0, [OPS[node.op].code, node.inputs.length, attrNames.length, 0]);
    descriptor(PARAMS_HEADER_SIZE, node.output);
    node.inputs.forEach((name, i) => descriptor(PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + i), name));
    words(PARAMS_HEADER_SIZE + DESCRIPTOR_SIZE * (1 + node.inputs.length), attrNames.map((a) => node.attrs[a] ?? 0));
    return bytes;
  }

  /** Copies a tensor's bytes to its place in linear memory (the model input, or a node input by name). */
  write(name: string, t: Tensor): void {
    this.mem8.set(tensorBytes(t), this.placed.get(name)!.address);
  }

  /** Runs node `index` (0-based) on whatever its input regions hold (a streamed model's constants read first). */
  runNode(index: number): void {
    if (!this.resident) for (const [name, p] of this.arenaPlaces[index]) this.readConstant(p, name);
    const code = this.runNodeAt(this.paramAddresses[index]);
    if (code !== 0) throw new DnnWasmKernelError(index + 1, this.model.spec.nodes[index].op, code);
  }

  /** A tensor's bytes in linear memory: a view, valid until the next run writes over it. */
  view(name: string): Uint8Array {
    const p = this.placed.get(name)!;
    return this.mem8.subarray(p.address, p.address + p.byteLength);
  }

  /** A copy of a tensor out of linear memory. */
  tensor(name: string): Tensor {
    const p = this.placed.get(name)!;
    return tensorFromBytes(p.dtype, [...p.shape], this.view(name));
  }
}

const runners = new WeakMap<DnnModel, WasmModelRunner>();

/** The model's resident runner, made on first use. */
export function wasmRunner(model: DnnModel): WasmModelRunner {
  let r = runners.get(model);
  if (!r) {
    r = new WasmModelRunner(model);
    runners.set(model, r);
  }
  return r;
}
