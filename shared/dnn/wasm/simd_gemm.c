/*
 * SIMD gemmRequant (Dense, MatMul) and conv2d (im2col in tap pairs), replacing guest/dnn/gemm.c
 * and linear.c in the WebAssembly build. Bit-exact with them because the accumulators are the
 * same modular 32-bit sums, only added in another order (addition mod 2^32 is associative and
 * commutative), followed by the same requantisation: lanes that share a channel go through the
 * integer rqShared4 (simd.h); lanes of four channels (a GEMM of fewer than four rows) through the
 * exact split-double form of shared/dnn/intmath.ts rq (emit4), or one by one. The guest versions
 * run whenever an operand exceeds the scratch.
 *
 * Products are formed as i16 × i16 → i32 pairs (i32x4.dot_i16x8_s): every operand minus its zero
 * point lies in [-255, 255], so the pair sums stay far inside int32.
 */
#include "gemm.h"
#include "simd.h"

void guest_gemmRequant(const gemm_operands *g);
void guest_conv2d(const node *n);

/* Shifted rows (a − za as i16, zero-padded to a multiple of 8), and MatMul's transposed operand. */
#define SCRATCH_I16 (1u << 20)
static int16_t scratch[SCRATCH_I16] __attribute__((aligned(16)));

static inline uint32_t pad8(uint32_t k) { return (k + 7) & ~7u; }

static inline int32_t hsum(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3);
}

static inline void emit(int8_t *out, uint32_t c, int32_t acc, const int32_t *bias, const int32_t *rqData, int perChannel, int32_t zo, int32_t lo) {
  uint32_t ch = perChannel ? c : 0;
  int32_t total = (int32_t)((uint32_t)acc + (bias ? (uint32_t)bias[c] : 0u));
  int32_t v = sat8(zo + rq(total, rqData[2 * ch], rqData[2 * ch + 1]));
  *out = (int8_t)(v < lo ? lo : v);
}

/*
 * out[r * rowStride + c * colStride] for rows × n: a is rows × kp i16 (zero-padded), b has n rows
 * of kp elements at stride kb, int8 (b8) or i16 (b16). int8 rows may be read up to 7 bytes past
 * their last element; those lanes meet a's zero padding, so only the memory after the tensor must
 * exist (the backend leaves slack after every region).
 */
typedef struct {
  const int16_t *a;
  uint32_t rows, kp;
  const int8_t *b8;
  const int16_t *b16;
  uint32_t kb, n;
  const int32_t *bias, *rqData;
  int perChannel;
  int8_t *out;
  uint32_t rowStride, colStride;
  int32_t zo, lo;
} simd_gemm;

static inline v128_t loadB(const simd_gemm *s, uint32_t c, uint32_t i) {
  return s->b8 ? wasm_i16x8_load8x8(s->b8 + c * s->kb + i) : wasm_v128_load(s->b16 + c * s->kb + i);
}

/*
 * Per-channel constants of rq in the split form of shared/dnn/intmath.ts: for |acc| < 2^31,
 * rq = floor((|acc|·M_hi + floor(|acc|·M_lo / 2^16) + 2^(s−17)) / 2^(s−16)) with every partial
 * result an exact double below 2^48, and the divisions by powers of two exact multiplications.
 */
#define RQ_VEC_MAX 4096
static double rqHi[RQ_VEC_MAX], rqLo[RQ_VEC_MAX], rqHalf[RQ_VEC_MAX], rqInvUnit[RQ_VEC_MAX];

static double pow2(int32_t e) {
  double v = 1;
  for (; e > 0; e--) v *= 2;
  for (; e < 0; e++) v *= 0.5;
  return v;
}

static void prepareRq(const simd_gemm *s) {
  for (uint32_t c = 0; c < s->n; c++) {
    const uint32_t ch = s->perChannel ? c : 0;
    const uint32_t m = (uint32_t)s->rqData[2 * ch];
    const int32_t sh = s->rqData[2 * ch + 1];
    rqHi[c] = (double)(m >> 16);
    rqLo[c] = (double)(m & 0xffff) * (1.0 / 65536);
    rqHalf[c] = pow2(sh - 17);
    rqInvUnit[c] = pow2(16 - sh);
  }
}

/* rq of two int32 lanes (as doubles) for channels c, c+1, sign restored. */
static inline v128_t rq2(v128_t t, uint32_t c) {
  v128_t a = wasm_f64x2_abs(t);
  v128_t hi = wasm_f64x2_mul(a, wasm_v128_load(rqHi + c));
  v128_t lo = wasm_f64x2_floor(wasm_f64x2_mul(a, wasm_v128_load(rqLo + c)));
  v128_t q = wasm_f64x2_floor(wasm_f64x2_mul(wasm_f64x2_add(wasm_f64x2_add(hi, lo), wasm_v128_load(rqHalf + c)), wasm_v128_load(rqInvUnit + c)));
  return wasm_v128_bitselect(wasm_f64x2_neg(q), q, wasm_f64x2_lt(t, wasm_f64x2_splat(0)));
}

/*
 * emit for channels c..c+3 at once. The rq results of an accepted package fit int32 (loadModel's
 * worst-case bounds), where the saturating conversion below is exact and equals the scalar path.
 */
static inline void emit4(const simd_gemm *s, int8_t *orow, uint32_t c, v128_t sums) {
  v128_t total = s->bias ? wasm_i32x4_add(sums, wasm_v128_load(s->bias + c)) : sums;
  v128_t q01 = wasm_i32x4_trunc_sat_f64x2_zero(rq2(wasm_f64x2_convert_low_i32x4(total), c));
  v128_t q23 = wasm_i32x4_trunc_sat_f64x2_zero(rq2(wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(total, total, 2, 3, 0, 1)), c + 2));
  v128_t v = wasm_i32x4_add(wasm_i32x4_shuffle(q01, q23, 0, 1, 4, 5), wasm_i32x4_splat(s->zo));
  v = wasm_i32x4_min(wasm_i32x4_max(v, wasm_i32x4_splat(s->lo)), wasm_i32x4_splat(127));
  if (s->colStride == 1) {
    v128_t b = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v, v), wasm_i16x8_narrow_i32x4(v, v));
    wasm_v128_store32_lane(orow + c, b, 0);
  } else {
    orow[c * s->colStride] = (int8_t)wasm_i32x4_extract_lane(v, 0);
    orow[(c + 1) * s->colStride] = (int8_t)wasm_i32x4_extract_lane(v, 1);
    orow[(c + 2) * s->colStride] = (int8_t)wasm_i32x4_extract_lane(v, 2);
    orow[(c + 3) * s->colStride] = (int8_t)wasm_i32x4_extract_lane(v, 3);
  }
}

/*
 * simdGemm with its lanes along rows: four rows at a time against one channel, so the four
 * results share that channel's rq (the integer rqShared4, about a third of emit4's cost) and
 * the channel's weights are loaded once for four rows. Rows past the last four go one by one.
 */
static void simdGemmRowLanes(const simd_gemm *s) {
  const uint32_t kp = s->kp;
  for (uint32_t c = 0; c < s->n; c++) {
    const channel_rq q = channelRq(s->rqData, s->bias, c, s->perChannel);
    int8_t *ocol = s->out + c * s->colStride;
    uint32_t r = 0;
    for (; r + 4 <= s->rows; r += 4) {
      const int16_t *a0 = s->a + r * kp, *a1 = a0 + kp, *a2 = a1 + kp, *a3 = a2 + kp;
      v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
      for (uint32_t i = 0; i < kp; i += 8) {
        const v128_t bv = loadB(s, c, i);
        s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(wasm_v128_load(a0 + i), bv));
        s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(wasm_v128_load(a1 + i), bv));
        s2 = wasm_i32x4_add(s2, wasm_i32x4_dot_i16x8(wasm_v128_load(a2 + i), bv));
        s3 = wasm_i32x4_add(s3, wasm_i32x4_dot_i16x8(wasm_v128_load(a3 + i), bv));
      }
      v128_t t01 = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
      v128_t t23 = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
      v128_t sums = wasm_i32x4_add(wasm_i32x4_shuffle(t01, t23, 0, 1, 4, 5), wasm_i32x4_shuffle(t01, t23, 2, 3, 6, 7));
      const v128_t b = emitShared4(sums, &q, s->zo, s->lo);
      if (s->rowStride == 1) {
        wasm_v128_store32_lane(ocol + r, b, 0);
      } else {
        wasm_v128_store8_lane(ocol + r * s->rowStride, b, 0);
        wasm_v128_store8_lane(ocol + (r + 1) * s->rowStride, b, 1);
        wasm_v128_store8_lane(ocol + (r + 2) * s->rowStride, b, 2);
        wasm_v128_store8_lane(ocol + (r + 3) * s->rowStride, b, 3);
      }
    }
    for (; r < s->rows; r++) {
      const int16_t *ar = s->a + r * kp;
      v128_t s0 = wasm_i32x4_splat(0);
      for (uint32_t i = 0; i < kp; i += 8) s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(wasm_v128_load(ar + i), loadB(s, c, i)));
      emit(ocol + r * s->rowStride, c, hsum(s0), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
    }
  }
}

static void simdGemm(const simd_gemm *s) {
  if (s->rows >= 4) return simdGemmRowLanes(s);
  const int vectorRq = s->n <= RQ_VEC_MAX;
  if (vectorRq) prepareRq(s);
  for (uint32_t r = 0; r < s->rows; r++) {
    const int16_t *ar = s->a + r * s->kp;
    int8_t *orow = s->out + r * s->rowStride;
    uint32_t c = 0;
    for (; c + 4 <= s->n; c += 4) {
      v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
      for (uint32_t i = 0; i < s->kp; i += 8) {
        v128_t av = wasm_v128_load(ar + i);
        s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(av, loadB(s, c, i)));
        s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(av, loadB(s, c + 1, i)));
        s2 = wasm_i32x4_add(s2, wasm_i32x4_dot_i16x8(av, loadB(s, c + 2, i)));
        s3 = wasm_i32x4_add(s3, wasm_i32x4_dot_i16x8(av, loadB(s, c + 3, i)));
      }
      /* The four horizontal sums at once: lanes of sums = (Σs0, Σs1, Σs2, Σs3). */
      v128_t t01 = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
      v128_t t23 = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
      v128_t sums = wasm_i32x4_add(wasm_i32x4_shuffle(t01, t23, 0, 1, 4, 5), wasm_i32x4_shuffle(t01, t23, 2, 3, 6, 7));
      if (vectorRq) {
        emit4(s, orow, c, sums);
        continue;
      }
      emit(orow + c * s->colStride, c, wasm_i32x4_extract_lane(sums, 0), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
      emit(orow + (c + 1) * s->colStride, c + 1, wasm_i32x4_extract_lane(sums, 1), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
      emit(orow + (c + 2) * s->colStride, c + 2, wasm_i32x4_extract_lane(sums, 2), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
      emit(orow + (c + 3) * s->colStride, c + 3, wasm_i32x4_extract_lane(sums, 3), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
    }
    for (; c < s->n; c++) {
      v128_t s0 = wasm_i32x4_splat(0);
      for (uint32_t i = 0; i < s->kp; i += 8) s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(wasm_v128_load(ar + i), loadB(s, c, i)));
      emit(orow + c * s->colStride, c, hsum(s0), s->bias, s->rqData, s->perChannel, s->zo, s->lo);
    }
  }
}

void gemmRequant(const gemm_operands *g) {
  const uint32_t k = g->k, kp = pad8(k);
  /* a as i16 rows, plus b transposed to i16 rows unless it is the int8 zw = 0 row-major case. */
  const int direct = g->zw == 0 && g->wStrideK == 1;
  const uint64_t need = (uint64_t)g->rows * kp + (direct ? 0 : (uint64_t)g->n * kp);
  if (need > SCRATCH_I16) return guest_gemmRequant(g);
  int16_t *a = scratch;
  const v128_t za = wasm_i16x8_splat((int16_t)g->za);
  for (uint32_t r = 0; r < g->rows; r++) {
    const int8_t *src = g->a + r * k;
    int16_t *dst = a + r * kp;
    uint32_t i = 0;
    for (; i + 8 <= k; i += 8) wasm_v128_store(dst + i, wasm_i16x8_sub(wasm_i16x8_load8x8(src + i), za));
    for (; i < k; i++) dst[i] = (int16_t)(src[i] - g->za);
    for (; i < kp; i++) dst[i] = 0;
  }
  simd_gemm s = {
      .a = a, .rows = g->rows, .kp = kp, .b8 = 0, .b16 = 0, .kb = kp, .n = g->n,
      .bias = g->bias, .rqData = g->rqData, .perChannel = g->perChannel,
      .out = g->out, .rowStride = g->n, .colStride = 1, .zo = g->zo, .lo = g->lo,
  };
  if (direct) {
    s.b8 = g->w;
    s.kb = g->wStrideC;
  } else {
    int16_t *b = a + g->rows * kp;
    for (uint32_t c = 0; c < g->n; c++) {
      for (uint32_t i = 0; i < k; i++) b[c * kp + i] = (int16_t)(g->w[c * g->wStrideC + i * g->wStrideK] - g->zw);
      for (uint32_t i = k; i < kp; i++) b[c * kp + i] = 0;
    }
    s.b16 = b;
  }
  simdGemm(&s);
}

/*
 * Conv2d by im2col in tap pairs: for taps (2j, 2j+1) and output position p, the two values
 * x − zx sit side by side as one 32-bit lane, positions along the vector. One i32x4.dot_i16x8
 * against the pair of weights (w[c][2j], w[c][2j+1]) splat then adds both taps of four positions
 * at once, so the sums come out with positions along the lanes: no horizontal reduction, one
 * channel's rq for all four (rqShared4), four contiguous output bytes. The columns are written
 * a row segment at a time (contiguous input bytes when strideW is 1), not scattered tap by tap.
 */
/* Output bytes pb..pb+3 of one channel's row of `positions`; past its end, nothing. */
static inline void storePositions(int8_t *row, uint32_t pb, uint32_t positions, v128_t b) {
  if (pb + 4 <= positions) {
    wasm_v128_store32_lane(row + pb, b, 0);
    return;
  }
  if (pb < positions) wasm_v128_store8_lane(row + pb, b, 0);
  if (pb + 1 < positions) wasm_v128_store8_lane(row + pb + 1, b, 1);
  if (pb + 2 < positions) wasm_v128_store8_lane(row + pb + 2, b, 2);
}

/* Where one tap reads: its input plane and row offset, and the output columns [x0, x1) inside the input. */
typedef struct {
  int32_t ci, ky, dx, x0, x1, live;
} conv_tap;

typedef struct {
  int32_t h, wd, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, ow, zx;
  uint32_t patch;
} conv_geometry;

static conv_tap convTap(const conv_geometry *g, uint32_t t) {
  conv_tap tap = {.live = t < g->patch};
  if (!tap.live) return tap;
  const int32_t taps = g->kh * g->kw;
  tap.ci = (int32_t)t / taps;
  tap.ky = ((int32_t)t % taps) / g->kw;
  tap.dx = ((int32_t)t % g->kw) * g->dilationW - g->padLeft;
  tap.x0 = 0;
  tap.x1 = g->ow;
  while (tap.x0 < g->ow && tap.x0 * g->strideW + tap.dx < 0) tap.x0++;
  while (tap.x1 > tap.x0 && (tap.x1 - 1) * g->strideW + tap.dx >= g->wd) tap.x1--;
  return tap;
}

/* row[ox] = the tap's x − zx for output row oy (0 outside the input, and for a tap past the patch). */
static void tapRow(const conv_geometry *g, const conv_tap *tap, const int8_t *plane0, int32_t oy, int16_t *row) {
  const int32_t ow = g->ow, iy = oy * g->strideH - g->padTop + tap->ky * g->dilationH;
  if (!tap->live || iy < 0 || iy >= g->h || tap->x0 >= tap->x1) {
    for (int32_t ox = 0; ox < ow; ox++) row[ox] = 0;
    return;
  }
  const int8_t *src = plane0 + (tap->ci * g->h + iy) * g->wd + tap->dx;
  const int32_t x0 = tap->x0, x1 = tap->x1;
  for (int32_t ox = 0; ox < x0; ox++) row[ox] = 0;
  if (g->strideW == 1 && x1 - x0 >= 8) {
    /* Eight columns at a time, the last eight ending at x1 (overlapping, same values). */
    const v128_t zx = wasm_i16x8_splat((int16_t)g->zx);
    for (int32_t ox = x0; ox + 8 <= x1; ox += 8) wasm_v128_store(row + ox, wasm_i16x8_sub(wasm_i16x8_load8x8(src + ox), zx));
    wasm_v128_store(row + x1 - 8, wasm_i16x8_sub(wasm_i16x8_load8x8(src + x1 - 8), zx));
  } else {
    for (int32_t ox = x0; ox < x1; ox++) row[ox] = (int16_t)(src[ox * g->strideW] - g->zx);
  }
  for (int32_t ox = x1; ox < ow; ox++) row[ox] = 0;
}

/* Four channels' sums (lanes: four positions each) to their int8 outputs, as emit does each. */
static inline void emitChannels4(const v128_t sums[4], const channel_rq q[4], int32_t zo, int32_t lo, int8_t *const rows[4], uint32_t pb, uint32_t positions) {
  v128_t v[4];
  for (int i = 0; i < 4; i++) v[i] = wasm_i32x4_add(rqShared4(wasm_i32x4_add(sums[i], q[i].bias), q[i].m, q[i].half, q[i].shift), wasm_i32x4_splat(zo));
  /* Saturating narrows to i16 then i8 are sat8; the relu floor lo follows. */
  v128_t b = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v[0], v[1]), wasm_i16x8_narrow_i32x4(v[2], v[3]));
  b = wasm_i8x16_max(b, wasm_i8x16_splat((int8_t)lo));
  if (pb + 4 <= positions) {
    wasm_v128_store32_lane(rows[0] + pb, b, 0);
    wasm_v128_store32_lane(rows[1] + pb, b, 1);
    wasm_v128_store32_lane(rows[2] + pb, b, 2);
    wasm_v128_store32_lane(rows[3] + pb, b, 3);
    return;
  }
  int8_t bytes[16];
  wasm_v128_store(bytes, b);
  for (int i = 0; i < 4; i++)
    for (uint32_t p = pb; p < positions; p++) rows[i][p] = bytes[4 * i + (p - pb)];
}

void conv2d(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  const int32_t *at = n->attrs;
  const int32_t group = at[8];
  const int32_t batch = x->dims[0], c = x->dims[1], h = x->dims[2], wd = x->dims[3];
  const int32_t oc = w->dims[0], cg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
  const int32_t oh = n->p->output.dims[2], ow = n->p->output.dims[3];
  const int32_t ocg = oc / group;
  const uint32_t patch = (uint32_t)(cg * kh * kw), pairs = (patch + 1) / 2;
  const uint32_t positions = (uint32_t)(oh * ow), p4 = (positions + 3) & ~3u;
  /* Scratch: the pair columns, the weight pairs (as i32, four channels of slack), two tap rows. */
  const uint64_t need = 2ull * pairs * p4 + 2ull * (uint64_t)(ocg + 4) * pairs + 2ull * (uint64_t)ow;
  if (need > SCRATCH_I16) return guest_conv2d(n);
  int16_t *cols = scratch;
  int32_t *wPairs = (int32_t *)(void *)(cols + 2ull * pairs * p4);
  int16_t *row0 = (int16_t *)(void *)(wPairs + (uint64_t)(ocg + 4) * pairs), *row1 = row0 + ow;
  const int32_t zo = n->p->output.zeroPoint, lo = lowerClamp(at[9], zo);
  const int8_t *wAll = i8(w);
  const int32_t *bias = i32(in(n, 2)), *rqData = i32(in(n, 3));
  const conv_geometry geo = {
      .h = h, .wd = wd, .kh = kh, .kw = kw, .strideH = at[0], .strideW = at[1], .padTop = at[2], .padLeft = at[3],
      .dilationH = at[6], .dilationW = at[7], .ow = ow, .zx = x->zeroPoint, .patch = patch,
  };
  for (int32_t g = 0; g < group; g++) {
    /* Weights have zero point 0 (docs/dnn-spec.md), so a pair is the two int8 taps as i16; the
     * channels past ocg (up to a multiple of four) get zero weights and are never stored. */
    const int8_t *wg = wAll + (uint32_t)(g * ocg) * patch;
    for (int32_t k = 0; k < ((ocg + 3) & ~3); k++) {
      for (uint32_t j = 0; j < pairs; j++) {
        const int32_t w0 = k < ocg ? wg[k * patch + 2 * j] : 0, w1 = k < ocg && 2 * j + 1 < patch ? wg[k * patch + 2 * j + 1] : 0;
        wPairs[k * pairs + j] = (int32_t)(((uint32_t)(uint16_t)(int16_t)w1 << 16) | (uint16_t)(int16_t)w0);
      }
    }
    for (int32_t bi = 0; bi < batch; bi++) {
      const int8_t *plane0 = i8(x) + (uint32_t)((bi * c + g * cg) * h * wd);
      for (uint32_t j = 0; j < pairs; j++) {
        const conv_tap t0 = convTap(&geo, 2 * j), t1 = convTap(&geo, 2 * j + 1);
        int16_t *dst = cols + 2ull * j * p4;
        for (int32_t oy = 0; oy < oh; oy++, dst += 2 * ow) {
          tapRow(&geo, &t0, plane0, oy, row0);
          tapRow(&geo, &t1, plane0, oy, row1);
          int32_t ox = 0;
          for (; ox + 8 <= ow; ox += 8) {
            const v128_t a = wasm_v128_load(row0 + ox), b = wasm_v128_load(row1 + ox);
            wasm_v128_store(dst + 2 * ox, wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
            wasm_v128_store(dst + 2 * ox + 8, wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15));
          }
          for (; ox < ow; ox++) {
            dst[2 * ox] = row0[ox];
            dst[2 * ox + 1] = row1[ox];
          }
        }
        for (uint32_t p = positions; p < p4; p++) dst[2 * (p - positions)] = dst[2 * (p - positions) + 1] = 0;
      }
      int8_t *outg = out8(n) + (uint32_t)(bi * oc + g * ocg) * positions;
      for (int32_t k = 0; k < ocg; k += 4) {
        /* Four channels at once; in a last group of fewer, the spare lanes (zero weights) are not stored. */
        channel_rq q[4];
        int8_t *rows[4];
        const int live = ocg - k < 4 ? ocg - k : 4;
        for (int i = 0; i < 4; i++) {
          q[i] = channelRq(rqData, bias, (uint32_t)(g * ocg + (i < live ? k + i : k)), 1);
          rows[i] = i < live ? outg + (uint32_t)(k + i) * positions : 0;
        }
        const int32_t *wk = wPairs + k * pairs;
        for (uint32_t pb = 0; pb < p4; pb += 4) {
          const int16_t *colp = cols + 2 * pb;
          v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
          for (uint32_t j = 0; j < pairs; j++) {
            const v128_t a = wasm_v128_load(colp + 2ull * j * p4);
            s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(a, wasm_v128_load32_splat(wk + j)));
            s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(a, wasm_v128_load32_splat(wk + pairs + j)));
            s2 = wasm_i32x4_add(s2, wasm_i32x4_dot_i16x8(a, wasm_v128_load32_splat(wk + 2 * pairs + j)));
            s3 = wasm_i32x4_add(s3, wasm_i32x4_dot_i16x8(a, wasm_v128_load32_splat(wk + 3 * pairs + j)));
          }
          const v128_t sums[4] = {s0, s1, s2, s3};
          if (live == 4) emitChannels4(sums, q, zo, lo, rows, pb, positions);
          else
            for (int i = 0; i < live; i++) storePositions(rows[i], pb, positions, emitShared4(sums[i], &q[i], zo, lo));
        }
      }
    }
  }
}

