/**
 * A package of chained int8 Dense layers with random weights from a seed, of any size, written to
 * disk one tensor at a time: the large models of the size tests and the blobs benchmark (a
 * 64 MiB model is one 8192 × 8192 layer; 2 GiB, eight 16384 × 16384 ones). Same seed, same bytes,
 * same CIDs. Requantisation keeps typical outputs inside int8, so every layer passes the loader's
 * value bounds.
 *
 *   npx tsx scripts/randomDenseModel.ts <base> <width> [<width> …] [--seed N]
 */
import { writePackage, type ConstantDraft, type PackageDraft } from '../shared/dnn/packageWriter';
import type { TensorDraft } from '../shared/dnn/model';
import type { Tensor } from '../shared/dnn/tensor';

/** xorshift32 words into the tensor's bytes, -128 folded to 127 so weights are symmetric int8. */
function randomInt8(seed: number): (t: Tensor) => void {
  return (t) => {
    let x = seed >>> 0 || 1;
    const words = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength >>> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    const bytes = t.data as Int8Array;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === -128) bytes[i] = 127;
  };
}

/**
 * `widths[0]` is the input width, every next one a Dense layer's. The shift makes the typical
 * accumulator (about √K × 128 × 73 for random operands) land near ±64.
 */
export function randomDenseDraft(name: string, widths: readonly number[], seed = 1): PackageDraft {
  const tensors: (TensorDraft | ConstantDraft)[] = [{ name: 'input', dtype: 'int8', shape: [1, widths[0]], scale: 1 / 64, zeroPoint: 0 }];
  const nodes: PackageDraft['nodes'] = [];
  let previous = 'input';
  for (let l = 1; l < widths.length; l++) {
    const [k, n] = [widths[l - 1], widths[l]];
    const shift = 30 + Math.round(Math.log2((Math.sqrt(k) * 128 * 73) / 64));
    const out = l === widths.length - 1 ? 'output' : `h${l}`;
    tensors.push(
      { name: `fc${l}.weight`, dtype: 'int8', shape: [n, k], scale: 1 / 127, zeroPoint: 0, fill: randomInt8(seed * 1000 + l) },
      { name: `fc${l}.bias`, dtype: 'int32', shape: [n], scale: 1, zeroPoint: 0, fill: () => {} },
      {
        name: `fc${l}.rq`,
        dtype: 'int32',
        shape: [n, 2],
        scale: 1,
        zeroPoint: 0,
        fill: (t) => {
          for (let c = 0; c < n; c++) t.data.set([2 ** 30, shift], 2 * c);
        },
      },
      { name: out, dtype: 'int8', shape: [1, n], scale: 1 / 64, zeroPoint: 0 },
    );
    nodes.push({ op: 'Dense', inputs: [previous, `fc${l}.weight`, `fc${l}.bias`, `fc${l}.rq`], output: out, attrs: { relu: l < widths.length - 1 ? 1 : 0 } });
    previous = out;
  }
  return { name, input: 'input', output: 'output', tensors, nodes };
}

export function writeRandomDenseModel(base: string, widths: readonly number[], seed = 1, onTensor?: (name: string, done: number, total: number) => void) {
  return writePackage(base, randomDenseDraft(base.split('/').pop()!, widths, seed), onTensor);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 1;
  const [base, ...widthText] = args;
  const widths = widthText.map(Number);
  if (!base || widths.length < 2 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    console.error('usage: npx tsx scripts/randomDenseModel.ts <base> <input width> <layer width> [<layer width> …] [--seed N]');
    process.exit(2);
  }
  const { weightsBytes } = writeRandomDenseModel(base, widths, seed, (name, done, total) => process.stderr.write(`\r${name}: ${((100 * done) / total).toFixed(0)}%`));
  process.stderr.write('\n');
  console.log(JSON.stringify({ base, widths, seed, weightsBytes }));
}
