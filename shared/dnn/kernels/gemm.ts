/**
 * The one blocked integer GEMM behind Dense, Conv2d and MatMul: out[r][n] =
 * sat8(zo + rq(Σk a[r][k] × w[n][k] + bias[n], M, s)), four output channels per pass so each
 * loaded `a` value feeds four accumulators.
 */

export interface GemmOperands {
  /** rows × k, already shifted by its zero point */
  a: Int32Array;
  rows: number;
  k: number;
  /** n × k, already shifted by its zero point */
  w: Int32Array;
  n: number;
  /** n biases, or undefined for none */
  bias?: Int32Array;
  /** rq tensor data, (M, s) per row */
  rqData: Int32Array;
  /** true: row n of rqData for channel n; false: row 0 for all */
  perChannel: boolean;
  out: Int8Array;
  outOff: number;
  rowStride: number;
  colStride: number;
  zo: number;
  /** lower clamp (−128, or zo for a fused Relu) */
  lo: number;
}

export function gemmRequant(g: GemmOperands): void {
  const { a, rows, k, w, n, bias, rqData, perChannel, out, outOff, rowStride, colStride, zo, lo } = g;
  // Per-channel constants of rq (intmath.ts) hoisted out of the loops; the arithmetic is rq's,
  // step for step, checked equal to it by test/dnn/kernels.test.ts.
  const mHi = new Float64Array(n);
  const mLo = new Float64Array(n);
  const half = new Float64Array(n);
  const unit = new Float64Array(n);
  const b = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const ch = perChannel ? c : 0;
    const m = rqData[2 * ch];
    const s = rqData[2 * ch + 1];
    mHi[c] = m >>> 16;
    mLo[c] = m & 0xffff;
    half[c] = 2 ** (s - 17);
    unit[c] = 2 ** (s - 16);
    b[c] = bias ? bias[c] : 0;
  }
  const emit = (r: number, c: number, sum: number) => {
    const acc = sum + b[c];
    const abs = acc < 0 ? -acc : acc;
    const q = Math.floor((abs * mHi[c] + Math.floor((abs * mLo[c]) / 65536) + half[c]) / unit[c]);
    let v = zo + (acc < 0 ? -q : q);
    v = v > 127 ? 127 : v < lo ? lo : v;
    out[outOff + r * rowStride + c * colStride] = v;
  };
  for (let r = 0; r < rows; r++) {
    const ao = r * k;
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const w0 = c * k;
      const w1 = w0 + k;
      const w2 = w1 + k;
      const w3 = w2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < k; i++) {
        const av = a[ao + i];
        s0 += av * w[w0 + i];
        s1 += av * w[w1 + i];
        s2 += av * w[w2 + i];
        s3 += av * w[w3 + i];
      }
      emit(r, c, s0);
      emit(r, c + 1, s1);
      emit(r, c + 2, s2);
      emit(r, c + 3, s3);
    }
    for (; c < n; c++) {
      const wo = c * k;
      let s = 0;
      for (let i = 0; i < k; i++) s += a[ao + i] * w[wo + i];
      emit(r, c, s);
    }
  }
}

/** Int32 copy of int8 data minus a zero point (weights are converted once per executor). */
export function shifted(data: ArrayLike<number>, zp: number): Int32Array {
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] - zp;
  return out;
}

export function lowerClamp(relu: number | undefined, zo: number): number {
  return relu ? Math.max(zo, -128) : -128;
}
