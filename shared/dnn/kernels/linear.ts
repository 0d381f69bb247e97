/** Dense, Conv2d and MatMul (docs/dnn-spec.md section 6), all through gemmRequant; and DenseWide. */
import { rq } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import { gemmRequant, lowerClamp, shifted } from './gemm';
import type { KernelArgs } from './types';

const shiftedWeights = new WeakMap<Tensor, Int32Array>();

/** Weights are constants: their int32 form is made once and reused across runs. */
function weightsOf(w: Tensor): Int32Array {
  let s = shiftedWeights.get(w);
  if (!s) {
    s = shifted(w.data, 0);
    shiftedWeights.set(w, s);
  }
  return s;
}

export function dense({ inputs: [x, w, b, r], zeroPoints, outZp, outShape, attrs }: KernelArgs): Tensor {
  const [n, k] = w.shape;
  const out = allocTensor('int8', outShape);
  gemmRequant({
    a: shifted(x.data, zeroPoints[0]),
    rows: x.data.length / k,
    k,
    w: weightsOf(w),
    n,
    bias: b.data as Int32Array,
    rqData: r.data as Int32Array,
    perChannel: true,
    out: out.data as Int8Array,
    outOff: 0,
    rowStride: n,
    colStride: 1,
    zo: outZp,
    lo: lowerClamp(attrs.relu, outZp),
  });
  return out;
}

export function conv2d({ inputs: [x, w, b, r], zeroPoints, outZp, outShape, attrs }: KernelArgs): Tensor {
  const [batch, c, h, wd] = x.shape;
  const [oc, cg, kh, kw] = w.shape;
  const [, , oh, ow] = outShape;
  // Attributes into locals: spec objects may be dictionary-mode, too slow for the im2col loop.
  const { strideH, strideW, padTop, padLeft, dilationH, dilationW } = attrs;
  const group = attrs.group ?? 1;
  const ocg = oc / group;
  const patch = cg * kh * kw;
  const positions = oh * ow;
  const zx = zeroPoints[0];
  const xd = x.data;
  const wAll = weightsOf(w);
  const out = allocTensor('int8', outShape);
  const cols = new Int32Array(positions * patch);
  for (let bi = 0; bi < batch; bi++) {
    for (let g = 0; g < group; g++) {
      // im2col: one row per output position; padded taps stay 0 (= x − zx at the padding).
      let p = 0;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          for (let ci = 0; ci < cg; ci++) {
            const plane = (bi * c + g * cg + ci) * h * wd;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * strideH - padTop + ky * dilationH;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * strideW - padLeft + kx * dilationW;
                cols[p++] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? xd[plane + iy * wd + ix] - zx : 0;
              }
            }
          }
        }
      }
      gemmRequant({
        a: cols,
        rows: positions,
        k: patch,
        w: wAll.subarray(g * ocg * patch, (g + 1) * ocg * patch),
        n: ocg,
        bias: (b.data as Int32Array).subarray(g * ocg),
        rqData: (r.data as Int32Array).subarray(2 * g * ocg),
        perChannel: true,
        out: out.data as Int8Array,
        outOff: (bi * oc + g * ocg) * positions,
        rowStride: 1,
        colStride: positions,
        zo: outZp,
        lo: lowerClamp(attrs.relu, outZp),
      });
    }
  }
  return out;
}

export function matMul({ inputs: [a, b, r], zeroPoints, outZp, outShape }: KernelArgs): Tensor {
  const rank = a.shape.length;
  const m = a.shape[rank - 2];
  const k = a.shape[rank - 1];
  const n = b.shape[rank - 1];
  const batches = a.data.length / (m * k);
  const out = allocTensor('int8', outShape);
  const as = shifted(a.data, zeroPoints[0]);
  const bt = new Int32Array(n * k);
  const zb = zeroPoints[1];
  for (let bi = 0; bi < batches; bi++) {
    const bo = bi * k * n;
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) bt[j * k + i] = b.data[bo + i * n + j] - zb;
    gemmRequant({
      a: as.subarray(bi * m * k, (bi + 1) * m * k),
      rows: m,
      k,
      w: bt,
      n,
      rqData: r.data as Int32Array,
      perChannel: false,
      out: out.data as Int8Array,
      outOff: bi * m * n,
      rowStride: n,
      colStride: 1,
      zo: outZp,
      lo: -128,
    });
  }
  return out;
}

/**
 * DenseWide: Dense without bias or int8 saturation, into int32 (zero point 0): the LM head, whose
 * 32,000 or more logits need finer steps than 8 bits to be ranked and sampled like float's.
 */
export function denseWide({ inputs: [x, w, r], zeroPoints: [zx], outShape }: KernelArgs): Tensor {
  const [n, k] = w.shape;
  const out = allocTensor('int32', outShape);
  const wd = weightsOf(w);
  const rows = x.data.length / k;
  for (let row = 0; row < rows; row++) {
    for (let c = 0; c < n; c++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += (x.data[row * k + i] - zx) * wd[c * k + i];
      out.data[row * n + c] = rq(acc, r.data[2 * c], r.data[2 * c + 1]);
    }
  }
  return out;
}
