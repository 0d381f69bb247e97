/**
 * Task inputs for measuring and testing shipped models in the VM: held-out MNIST digits for the
 * image models (784 int8 features), seeded token ids below the vocabulary of the Gather that reads
 * them (token models), seeded int8 features otherwise.
 */
import { mnistTest, MNIST_PIXELS } from '../datasets/mnist';
import { quantizeInput } from '../io';
import type { DnnModel } from '../model';
import { seededRandom } from '../random';
import { allocTensor, elementCount, type Tensor } from '../tensor';

export function sampleInputs(model: DnnModel, count: number, seed = 7): Tensor[] {
  const spec = model.tensorSpecs.get(model.spec.input)!;
  if (spec.dtype === 'int8' && elementCount(spec.shape) === MNIST_PIXELS) return mnistTest().images.slice(0, count).map((img) => quantizeInput(model, img));
  const rand = seededRandom(seed);
  const gather = model.spec.nodes.find((n) => n.op === 'Gather' && n.inputs[1] === model.spec.input);
  const vocab = gather ? model.tensorSpecs.get(gather.inputs[0])!.shape[0] : 256;
  return Array.from({ length: count }, () => {
    const t = allocTensor(spec.dtype, [...spec.shape]);
    for (let i = 0; i < t.data.length; i++) t.data[i] = spec.dtype === 'int32' ? Math.floor(rand() * vocab) : Math.floor(rand() * 256) - 128;
    return t;
  });
}
