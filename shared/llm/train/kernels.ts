/**
 * The dense kernels training spends its time in. Every matrix product of the forward and backward
 * pass is written as C = A·Bᵀ with both operands row-major, so the inner loop runs down two
 * contiguous rows: Y = X·Wᵀ directly, dX = dY·W as dY·(Wᵀ)ᵀ, dW = dYᵀ·X as (dYᵀ)·(Xᵀ)ᵀ. The
 * transposes cost one pass over memory against a pass per output column for the product.
 *
 * Arrays are Float32Array in training and Float64Array in the gradient check (finite differences
 * need the precision); sums run in doubles either way.
 */
export type Floats = Float32Array | Float64Array;
export type FloatsConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

/**
 * C[m×n] = A[m×k]·B[n×k]ᵀ, or C += that when `accumulate`. Four rows of A against two rows of B at
 * a time: eight sums in registers for six loads, about three times a plain dot-product loop in V8.
 */
export function matmulABt(a: Floats, b: Floats, c: Floats, m: number, n: number, k: number, accumulate = false): void {
  let r = 0;
  for (; r + 3 < m; r += 4) {
    const a0 = r * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    const c0 = r * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let i = 0; i < k; i++) {
        const w0 = b[b0 + i];
        const w1 = b[b1 + i];
        const x0 = a[a0 + i];
        const x1 = a[a1 + i];
        const x2 = a[a2 + i];
        const x3 = a[a3 + i];
        s00 += x0 * w0; s01 += x0 * w1;
        s10 += x1 * w0; s11 += x1 * w1;
        s20 += x2 * w0; s21 += x2 * w1;
        s30 += x3 * w0; s31 += x3 * w1;
      }
      if (accumulate) {
        c[c0 + j] += s00; c[c0 + j + 1] += s01;
        c[c1 + j] += s10; c[c1 + j + 1] += s11;
        c[c2 + j] += s20; c[c2 + j + 1] += s21;
        c[c3 + j] += s30; c[c3 + j + 1] += s31;
      } else {
        c[c0 + j] = s00; c[c0 + j + 1] = s01;
        c[c1 + j] = s10; c[c1 + j + 1] = s11;
        c[c2 + j] = s20; c[c2 + j + 1] = s21;
        c[c3 + j] = s30; c[c3 + j + 1] = s31;
      }
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < k; i++) {
        const w = b[b0 + i];
        s0 += a[a0 + i] * w;
        s1 += a[a1 + i] * w;
        s2 += a[a2 + i] * w;
        s3 += a[a3 + i] * w;
      }
      if (accumulate) {
        c[c0 + j] += s0; c[c1 + j] += s1; c[c2 + j] += s2; c[c3 + j] += s3;
      } else {
        c[c0 + j] = s0; c[c1 + j] = s1; c[c2 + j] = s2; c[c3 + j] = s3;
      }
    }
  }
  for (; r < m; r++) {
    const a0 = r * k;
    for (let j = 0; j < n; j++) {
      const b0 = j * k;
      let s = 0;
      for (let i = 0; i < k; i++) s += a[a0 + i] * b[b0 + i];
      if (accumulate) c[r * n + j] += s;
      else c[r * n + j] = s;
    }
  }
}

/** dst[cols×rows] = src[rows×cols]ᵀ. */
export function transpose(src: Floats, rows: number, cols: number, dst: Floats): Floats {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[o + c];
  }
  return dst;
}
