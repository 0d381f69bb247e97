import type { Attrs } from '../shapes';
import type { Tensor } from '../tensor';

/** What a kernel gets: resolved input tensors, their zero points, the output's zero point and shape. */
export interface KernelArgs {
  inputs: Tensor[];
  zeroPoints: number[];
  outZp: number;
  outShape: number[];
  attrs: Attrs;
}

export type Kernel = (args: KernelArgs) => Tensor;
