/**
 * The blocked kernels (im2col + 4-channel GEMM) against docs/dnn-spec.md section 6 written as the
 * plainest possible loops: bit-exact equality on random integer operands.
 */
import { KERNELS } from '../../shared/dnn/kernels';
import { roundDivAway, rq, sat8 } from '../../shared/dnn/intmath';
import { windowOut } from '../../shared/dnn/shapes';
import { allocTensor, type Tensor } from '../../shared/dnn/tensor';
import { seededRandom } from '../../shared/dnn/random';

const rand = seededRandom(99);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

function randomTensor(dtype: 'int8' | 'int32', shape: number[], lo: number, hi: number): Tensor {
  const t = allocTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = int(lo, hi);
  return t;
}

function randomRq(channels: number): Tensor {
  const t = allocTensor('int32', [channels, 2]);
  for (let c = 0; c < channels; c++) {
    t.data[2 * c] = int(2 ** 30, 2 ** 31 - 1);
    t.data[2 * c + 1] = int(36, 44);
  }
  return t;
}

describe('blocked kernels equal the spec formulas', () => {
  it('Dense', () => {
    for (let trial = 0; trial < 20; trial++) {
      const [rows, k, n] = [int(1, 5), int(1, 40), int(1, 11)];
      const x = randomTensor('int8', [rows, k], -128, 127);
      const w = randomTensor('int8', [n, k], -127, 127);
      const b = randomTensor('int32', [n], -50000, 50000);
      const r = randomRq(n);
      const [zx, zo, relu] = [int(-128, 127), int(-128, 127), int(0, 1)];
      const out = KERNELS.Dense({ inputs: [x, w, b, r], zeroPoints: [zx, 0, 0, 0], outZp: zo, outShape: [rows, n], attrs: { relu } });
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < n; j++) {
          let acc = b.data[j];
          for (let q = 0; q < k; q++) acc += (x.data[i * k + q] - zx) * w.data[j * k + q];
          let v = sat8(zo + rq(acc, r.data[2 * j], r.data[2 * j + 1]));
          if (relu) v = Math.max(v, zo);
          expect(out.data[i * n + j]).toBe(v);
        }
    }
  });

  it('Conv2d with groups, padding, strides and dilation', () => {
    for (let trial = 0; trial < 12; trial++) {
      const group = int(1, 2);
      const [cg, ocg] = [int(1, 3), int(1, 5)];
      const [h, wd, kh, kw] = [int(3, 9), int(3, 9), int(1, 3), int(1, 3)];
      const a = { strideH: int(1, 2), strideW: int(1, 2), padTop: int(0, 2), padLeft: int(0, 2), padBottom: int(0, 2), padRight: int(0, 2), dilationH: int(1, 2), dilationW: int(1, 2), group, relu: int(0, 1) };
      const oh = windowOut(h, kh, a.strideH, a.padTop, a.padBottom, a.dilationH);
      const ow = windowOut(wd, kw, a.strideW, a.padLeft, a.padRight, a.dilationW);
      if (oh < 1 || ow < 1) continue;
      const [c, oc] = [cg * group, ocg * group];
      const x = randomTensor('int8', [2, c, h, wd], -128, 127);
      const w = randomTensor('int8', [oc, cg, kh, kw], -127, 127);
      const b = randomTensor('int32', [oc], -50000, 50000);
      const r = randomRq(oc);
      const [zx, zo] = [int(-128, 127), int(-128, 127)];
      const out = KERNELS.Conv2d({ inputs: [x, w, b, r], zeroPoints: [zx, 0, 0, 0], outZp: zo, outShape: [2, oc, oh, ow], attrs: a });
      let o = 0;
      for (let bi = 0; bi < 2; bi++)
        for (let f = 0; f < oc; f++)
          for (let oy = 0; oy < oh; oy++)
            for (let ox = 0; ox < ow; ox++) {
              const g = Math.floor(f / ocg);
              let acc = b.data[f];
              for (let ci = 0; ci < cg; ci++)
                for (let ky = 0; ky < kh; ky++)
                  for (let kx = 0; kx < kw; kx++) {
                    const iy = oy * a.strideH - a.padTop + ky * a.dilationH;
                    const ix = ox * a.strideW - a.padLeft + kx * a.dilationW;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                    acc += (x.data[((bi * c + g * cg + ci) * h + iy) * wd + ix] - zx) * w.data[((f * cg + ci) * kh + ky) * kw + kx];
                  }
              let v = sat8(zo + rq(acc, r.data[2 * f], r.data[2 * f + 1]));
              if (a.relu) v = Math.max(v, zo);
              expect(out.data[o++]).toBe(v);
            }
    }
  });

  it('MatMul of two activations with zero points', () => {
    const [bt, m, k, n] = [3, 4, 9, 5];
    const a = randomTensor('int8', [bt, m, k], -128, 127);
    const b = randomTensor('int8', [bt, k, n], -128, 127);
    const r = randomRq(1);
    const [za, zb, zo] = [5, -7, 3];
    const out = KERNELS.MatMul({ inputs: [a, b, r], zeroPoints: [za, zb, 0], outZp: zo, outShape: [bt, m, n], attrs: {} });
    for (let q = 0; q < bt; q++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let t = 0; t < k; t++) acc += (a.data[(q * m + i) * k + t] - za) * (b.data[(q * k + t) * n + j] - zb);
          expect(out.data[(q * m + i) * n + j]).toBe(sat8(zo + rq(acc, r.data[0], r.data[1])));
        }
  });

  it('Softmax with a causal mask, including a fully masked row', () => {
    const [t, d] = [4, 5];
    const x = randomTensor('int8', [2, t, d], -128, 127);
    const table = allocTensor('int32', [256]);
    for (let i = 0; i < 256; i++) table.data[i] = Math.round(2 ** 20 * Math.exp(-i * 0.05));
    const mask = allocTensor('uint8', [t, d]);
    for (let r = 1; r < t; r++) for (let i = 0; i < d; i++) mask.data[r * d + i] = i <= r ? 1 : 0;
    const out = KERNELS.Softmax({ inputs: [x, table, mask], zeroPoints: [0, 0, 0], outZp: -128, outShape: [2, t, d], attrs: {} });
    for (let row = 0; row < 2 * t; row++) {
      const kept = [...Array(d).keys()].filter((i) => mask.data[(row % t) * d + i] === 1);
      const vals = kept.map((i) => x.data[row * d + i]);
      const max = Math.max(-128, ...vals);
      const sum = vals.reduce((a, v) => a + table.data[max - v], 0);
      for (let i = 0; i < d; i++) {
        const expected = kept.includes(i) ? sat8(roundDivAway(table.data[max - x.data[row * d + i]] * 256, sum) - 128) : -128;
        expect(out.data[row * d + i]).toBe(expected);
      }
    }
  });
});
