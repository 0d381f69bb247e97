/** Errors of the WebAssembly kernel backend. */
import { DnnError } from '../errors';

/** The module build/wasm/dnn-kernels.wasm is missing (run `npm run build:wasm`) or does not load. */
export class DnnWasmUnavailable extends DnnError {
  override name = 'DnnWasmUnavailable';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`WebAssembly kernels at ${path} unavailable (${reason}): run \`npm run build:wasm\` or use backend 'ts'`);
  }
}

/** The module's run_node refused a parameter block (an op code it does not know). */
export class DnnWasmKernelError extends DnnError {
  override name = 'DnnWasmKernelError';
  constructor(
    readonly nodeIndex: number,
    readonly op: string,
    readonly code: number,
  ) {
    super(`node ${nodeIndex} (${op}): WebAssembly run_node returned ${code}`);
  }
}
