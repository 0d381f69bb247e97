/** Errors of running DNN nodes in the VM. */
import { DnnError } from '../errors';
import { Status } from '../../vm/spec';

/** The kernel did not halt with exit(0): an invalid block (exit code), a fault status, or out of steps. */
export class DnnVmKernelError extends DnnError {
  override name = 'DnnVmKernelError';
  constructor(
    /** 1-based node index (docs/dnn-spec.md section 2) */
    readonly node: number,
    readonly op: string,
    readonly status: Status,
    readonly exitCode: number,
    readonly step: number,
  ) {
    super(`node ${node} (${op}): the VM kernel halted with status ${Status[status]}, exit code ${exitCode}, at step ${step}`);
  }
}

/** A node index outside 1..N or a node input that was not supplied. */
export class DnnVmNodeError extends DnnError {
  override name = 'DnnVmNodeError';
  constructor(
    message: string,
    readonly node: number,
  ) {
    super(`node ${node}: ${message}`);
  }
}
