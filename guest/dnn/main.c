/*
 * The kernel image: runs one node from its canonical start state (docs/dnn-spec.md section 8).
 * Reads the parameter block at NODE_PARAMS_ADDR, validates all of it before writing anything
 * (an invalid block exits with a node_error code, so a kernel never reads or writes outside the
 * regions the block names), dispatches on the op code and exits 0 with the output in place.
 * The shape rules are those of shared/dnn/shapes.ts, plus the value ranges the kernels rely on.
 */
#include <opml.h>

#include "intmath.h"
#include "node.h"

#define MAX_TENSOR_BYTES (1u << 28)
#define SOFTMAX_MAX_D 2048
#define SOFTMAX_EXP_ONE (1 << 20)
#define LAYERNORM_MAX_D 4096
#define RMSNORM_MAX_D 8192
#define ATTENTION_MAX_POSITIONS 4096
#define ATTENTION_MAX_HEAD_DIM 512
#define ATTENTION_EXP_ONE (1 << 20)
#define ROPE_ONE (1 << 14)
#define MAX_VOCAB_LOGITS 131072
#define STATE_MIN_LENGTH 9

int32_t clampPosition(int32_t pos, uint32_t r, int32_t limit);

typedef struct {
  uint32_t minInputs, maxInputs, attrs;
  void (*run)(const node *);
} op_info;

/* Indexed by op code; input and attribute counts as in shared/dnn/spec.ts OPS and shapes.ts. */
static const op_info OPS[] = {
    [1] = {4, 4, 1, dense},      [2] = {4, 4, 10, conv2d},    [3] = {3, 3, 0, matMul},  [4] = {3, 3, 1, add},
    [5] = {3, 3, 0, mul},        [6] = {1, 1, 0, relu},       [7] = {1, 1, 8, maxPool}, [8] = {1, 1, 9, avgPool},
    [9] = {1, 1, 0, reshape},    [10] = {1, 1, 4, transpose}, [11] = {2, 2, 0, gather}, [12] = {2, 3, 0, softmax},
    [13] = {4, 4, 1, layerNorm}, [14] = {2, 2, 0, lut},       [15] = {3, 3, 1, rmsNorm}, [16] = {4, 4, 0, rope},
    [17] = {2, 3, 0, kvWrite},   [18] = {6, 6, 2, attention}, [19] = {3, 3, 0, denseWide}, [20] = {4, 4, 0, sample},
    [21] = {2, 2, 0, tokenEmbed},
};
#define OP_COUNT (sizeof OPS / sizeof OPS[0])

static void check(int ok, enum node_error e) {
  if (!ok) opml_exit(e);
}

static uint32_t dtypeSize(uint32_t dtype) { return dtype == DTYPE_INT32 ? 4 : 1; }

static uint32_t paddedSize(uint32_t n) {
  uint32_t p = 32;
  while (p < n) p <<= 1;
  return p;
}

static uint32_t regionSize(const tensor_desc *t) { return paddedSize(elementCount(t) * dtypeSize(t->dtype)); }

/* Field ranges, the element count bound (so no size below overflows) and an aligned, in-range region. */
static void checkDescriptor(const tensor_desc *t) {
  check(t->dtype >= DTYPE_INT8 && t->dtype <= DTYPE_INT32, ERR_DESCRIPTOR);
  check(t->rank >= 1 && t->rank <= 4, ERR_DESCRIPTOR);
  check(t->zeroPoint >= -128 && t->zeroPoint <= 255, ERR_DESCRIPTOR);
  uint64_t count = 1;
  for (uint32_t i = 0; i < 4; i++) {
    check(i < t->rank ? t->dims[i] >= 1 : t->dims[i] == 1, ERR_DESCRIPTOR);
    count *= (uint32_t)t->dims[i];
    check(count * dtypeSize(t->dtype) <= MAX_TENSOR_BYTES, ERR_DESCRIPTOR);
  }
  uint32_t size = regionSize(t);
  check(t->address >= TENSOR_BASE && t->address % size == 0 && t->address <= 0u - size, ERR_DESCRIPTOR);
}

static int overlaps(const tensor_desc *a, const tensor_desc *b) {
  return a->address < b->address + regionSize(b) && b->address < a->address + regionSize(a);
}

static int sameShape(const tensor_desc *t, uint32_t rank, const int32_t *dims) {
  if (t->rank != rank) return 0;
  for (uint32_t i = 0; i < rank; i++)
    if (t->dims[i] != dims[i]) return 0;
  return 1;
}

static int isMatrix(const tensor_desc *t, uint32_t dtype, int32_t rows, int32_t cols) {
  return t->dtype == dtype && t->rank == 2 && t->dims[0] == rows && t->dims[1] == cols;
}

static int isVector(const tensor_desc *t, uint32_t dtype, int32_t len) { return t->dtype == dtype && t->rank == 1 && t->dims[0] == len; }

/* Rows [0, rows) of an rq tensor: M in [0, 2^31), s in [RQ_SHIFT_MIN, RQ_SHIFT_MAX]. */
static void checkRq(const tensor_desc *t, uint32_t rows) {
  check(t->dtype == DTYPE_INT32 && elementCount(t) >= 2 * rows, ERR_SHAPE);
  const int32_t *q = i32(t);
  for (uint32_t r = 0; r < rows; r++) check(q[2 * r] >= 0 && q[2 * r + 1] >= RQ_SHIFT_MIN && q[2 * r + 1] <= RQ_SHIFT_MAX, ERR_RQ);
}

/*
 * Window output size (shapes.ts windowOut), in 64 bits so no attribute value can overflow it;
 * 0 where the window does not fit even once.
 */
static int32_t windowOut(int32_t size, int32_t kernel, int32_t stride, int32_t padA, int32_t padB, int32_t dilation) {
  int64_t span = (int64_t)size + padA + padB - (int64_t)dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  uint64_t q = udiv64((uint64_t)span, (uint32_t)stride) + 1; /* callers checked stride >= 1 */
  return q > 0x7fffffff ? 0x7fffffff : (int32_t)q;
}

static void checkDense(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  check(w->dtype == DTYPE_INT8 && w->rank == 2 && x->dims[x->rank - 1] == w->dims[1], ERR_SHAPE);
  int32_t ch = w->dims[0];
  check(isVector(in(n, 2), DTYPE_INT32, ch) && isMatrix(in(n, 3), DTYPE_INT32, ch, 2), ERR_SHAPE);
  checkRq(in(n, 3), (uint32_t)ch);
  int32_t dims[4];
  for (uint32_t i = 0; i + 1 < x->rank; i++) dims[i] = x->dims[i];
  dims[x->rank - 1] = ch;
  check(sameShape(&n->p->output, x->rank, dims), ERR_SHAPE);
}

static void checkConv2d(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  const int32_t *at = n->attrs;
  /* Strides and dilations >= 1; pads in [0, 2^16] keep every tap index inside int32. */
  for (int i = 0; i < 2; i++) check(at[i] >= 1 && at[6 + i] >= 1, ERR_ATTR);
  for (int i = 2; i < 6; i++) check(at[i] >= 0 && at[i] <= 1 << 16, ERR_ATTR);
  int32_t g = at[8];
  check(g >= 1, ERR_ATTR);
  check(x->rank == 4 && w->rank == 4 && w->dtype == DTYPE_INT8, ERR_SHAPE);
  check(x->dims[1] % g == 0 && w->dims[0] % g == 0 && w->dims[1] == x->dims[1] / g, ERR_SHAPE);
  int32_t oc = w->dims[0];
  check(isVector(in(n, 2), DTYPE_INT32, oc) && isMatrix(in(n, 3), DTYPE_INT32, oc, 2), ERR_SHAPE);
  checkRq(in(n, 3), (uint32_t)oc);
  int32_t oh = windowOut(x->dims[2], w->dims[2], at[0], at[2], at[4], at[6]);
  int32_t ow = windowOut(x->dims[3], w->dims[3], at[1], at[3], at[5], at[7]);
  int32_t dims[4] = {x->dims[0], oc, oh, ow};
  check(oh >= 1 && ow >= 1 && sameShape(&n->p->output, 4, dims), ERR_SHAPE);
}

static void checkMatMul(const node *n) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  uint32_t r = a->rank;
  check(b->dtype == DTYPE_INT8 && r >= 2 && b->rank == r && a->dims[r - 1] == b->dims[r - 2], ERR_SHAPE);
  for (uint32_t i = 0; i + 2 < r; i++) check(a->dims[i] == b->dims[i], ERR_SHAPE);
  checkRq(in(n, 2), 1);
  int32_t dims[4];
  for (uint32_t i = 0; i + 1 < r; i++) dims[i] = a->dims[i];
  dims[r - 1] = b->dims[r - 1];
  check(sameShape(&n->p->output, r, dims), ERR_SHAPE);
}

/* NumPy broadcasting (shapes.ts broadcastShape); the output must be exactly the broadcast shape. */
static void checkBroadcast(const node *n, uint32_t rqRows) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  check(b->dtype == DTYPE_INT8, ERR_DTYPE);
  uint32_t r = a->rank > b->rank ? a->rank : b->rank;
  int32_t dims[4];
  for (uint32_t i = 0; i < r; i++) {
    int32_t da = i + a->rank >= r ? a->dims[i + a->rank - r] : 1;
    int32_t db = i + b->rank >= r ? b->dims[i + b->rank - r] : 1;
    check(da == db || da == 1 || db == 1, ERR_SHAPE);
    dims[i] = da > db ? da : db;
  }
  checkRq(in(n, 2), rqRows);
  check(sameShape(&n->p->output, r, dims), ERR_SHAPE);
}

static void checkPool(const node *n) {
  const tensor_desc *x = in(n, 0);
  const int32_t *at = n->attrs;
  for (int i = 0; i < 4; i++) check(at[i] >= 1 && at[i] <= 1 << 16, ERR_ATTR); /* kernel, stride */
  /* A pad as large as the kernel would allow windows with no element to reduce. */
  check(at[4] >= 0 && at[4] < at[0] && at[6] >= 0 && at[6] < at[0], ERR_ATTR);
  check(at[5] >= 0 && at[5] < at[1] && at[7] >= 0 && at[7] < at[1], ERR_ATTR);
  check(x->rank == 4, ERR_SHAPE);
  int32_t oh = windowOut(x->dims[2], at[0], at[2], at[4], at[6], 1);
  int32_t ow = windowOut(x->dims[3], at[1], at[3], at[5], at[7], 1);
  int32_t dims[4] = {x->dims[0], x->dims[1], oh, ow};
  check(oh >= 1 && ow >= 1 && sameShape(&n->p->output, 4, dims), ERR_SHAPE);
}

static void checkTranspose(const node *n) {
  const tensor_desc *x = in(n, 0);
  uint32_t seen = 0;
  int32_t dims[4];
  for (uint32_t i = 0; i < x->rank; i++) {
    int32_t p = n->attrs[i];
    check(p >= 0 && (uint32_t)p < x->rank && !(seen & (1u << p)), ERR_ATTR);
    seen |= 1u << p;
    dims[i] = x->dims[p];
  }
  check(sameShape(&n->p->output, x->rank, dims), ERR_SHAPE);
}

static void checkGather(const node *n) {
  const tensor_desc *table = in(n, 0), *idx = in(n, 1);
  check(table->rank == 2 && idx->dtype == DTYPE_INT32 && idx->rank <= 3, ERR_SHAPE);
  int32_t dims[4];
  for (uint32_t i = 0; i < idx->rank; i++) dims[i] = idx->dims[i];
  dims[idx->rank] = table->dims[1];
  check(sameShape(&n->p->output, idx->rank + 1, dims), ERR_SHAPE);
}

static void checkSoftmax(const node *n) {
  const tensor_desc *x = in(n, 0), *t = in(n, 1);
  check(x->dims[x->rank - 1] <= SOFTMAX_MAX_D && t->dtype == DTYPE_INT32 && elementCount(t) == 256, ERR_SHAPE);
  check(sameShape(&n->p->output, x->rank, x->dims), ERR_SHAPE);
  if (n->p->inputCount == 3) {
    /* The optional mask: uint8 [T, D] for an input [..., T, D]. */
    const tensor_desc *m = in(n, 2);
    check(x->rank >= 2 && isMatrix(m, DTYPE_UINT8, x->dims[x->rank - 2], x->dims[x->rank - 1]), ERR_SHAPE);
  }
  /* Bounds that keep every row's sum in (0, 2^31] (dnn-spec section 6: exp[0] = 2^20). */
  const int32_t *e = i32(t);
  check(e[0] >= 1, ERR_TABLE);
  for (int i = 0; i < 256; i++) check(e[i] >= 0 && e[i] <= SOFTMAX_EXP_ONE, ERR_TABLE);
}

static void checkLayerNorm(const node *n) {
  const tensor_desc *x = in(n, 0);
  int32_t d = x->dims[x->rank - 1];
  check(d <= LAYERNORM_MAX_D && isVector(in(n, 1), DTYPE_INT8, d) && isVector(in(n, 2), DTYPE_INT32, d), ERR_SHAPE);
  check(n->attrs[0] >= 0, ERR_ATTR);
  checkRq(in(n, 3), 1);
  check(sameShape(&n->p->output, x->rank, x->dims), ERR_SHAPE);
}

static void checkLut(const node *n) {
  const tensor_desc *x = in(n, 0), *t = in(n, 1);
  check(t->dtype == DTYPE_INT8 && elementCount(t) == 256, ERR_SHAPE);
  check(sameShape(&n->p->output, x->rank, x->dims), ERR_SHAPE);
}

static void checkRmsNorm(const node *n) {
  const tensor_desc *x = in(n, 0);
  int32_t d = x->dims[x->rank - 1];
  check(d <= RMSNORM_MAX_D && isVector(in(n, 1), DTYPE_INT8, d), ERR_SHAPE);
  check(n->attrs[0] >= 0, ERR_ATTR);
  checkRq(in(n, 2), 1);
  check(sameShape(&n->p->output, x->rank, x->dims), ERR_SHAPE);
}

/* A position operand: an int32 vector whose element 0 is the position (a generation state is one). */
static int isPosition(const tensor_desc *t) { return t->dtype == DTYPE_INT32 && t->rank == 1; }

static uint32_t rowsOf(const tensor_desc *t) { return elementCount(t) / (uint32_t)t->dims[t->rank - 1]; }

/* Rope: the table rows the input's positions use hold cos and sin in [-2^14, 2^14]. */
static void checkRope(const node *n) {
  const tensor_desc *x = in(n, 0), *t = in(n, 1);
  check(t->dtype == DTYPE_INT32 && t->rank == 3 && t->dims[2] == 2, ERR_SHAPE);
  const uint32_t half = (uint32_t)t->dims[1];
  check((uint32_t)x->dims[x->rank - 1] % (2 * half) == 0 && isPosition(in(n, 2)), ERR_SHAPE);
  checkRq(in(n, 3), 1);
  check(sameShape(&n->p->output, x->rank, x->dims), ERR_SHAPE);
  const int32_t pos = i32(in(n, 2))[0];
  const uint32_t rows = rowsOf(x);
  for (uint32_t r = 0; r < rows; r++) {
    const int32_t *e = i32(t) + (uint32_t)clampPosition(pos, r, t->dims[0]) * 2 * half;
    for (uint32_t i = 0; i < 2 * half; i++) check(e[i] >= -ROPE_ONE && e[i] <= ROPE_ONE, ERR_TABLE);
  }
}

static void checkKvWrite(const node *n) {
  const tensor_desc *rows = in(n, 0), *out = &n->p->output;
  check(isPosition(in(n, 1)) && out->rank == 2 && out->dims[1] == rows->dims[rows->rank - 1] && out->dims[0] <= ATTENTION_MAX_POSITIONS, ERR_SHAPE);
  check(rows->zeroPoint == out->zeroPoint, ERR_ZERO_POINT);
  if (n->p->inputCount == 3) {
    const tensor_desc *cache = in(n, 2);
    check(cache->dtype == DTYPE_INT8 && sameShape(cache, 2, out->dims), ERR_SHAPE);
    check(cache->zeroPoint == out->zeroPoint, ERR_ZERO_POINT);
  }
}

static void checkAttention(const node *n) {
  const tensor_desc *q = in(n, 0), *k = in(n, 1), *v = in(n, 2), *t = in(n, 4);
  const int32_t heads = n->attrs[0], kvHeads = n->attrs[1];
  check(heads >= 1 && kvHeads >= 1 && heads <= 1 << 16 && kvHeads <= 1 << 16, ERR_ATTR);
  const int32_t wq = q->dims[q->rank - 1];
  check(wq % heads == 0 && heads % kvHeads == 0 && wq / heads <= ATTENTION_MAX_HEAD_DIM, ERR_SHAPE);
  check(k->dtype == DTYPE_INT8 && k->rank == 2 && k->dims[1] == kvHeads * (wq / heads) && k->dims[0] <= ATTENTION_MAX_POSITIONS, ERR_SHAPE);
  check(v->dtype == DTYPE_INT8 && sameShape(v, 2, k->dims), ERR_SHAPE);
  check(isPosition(in(n, 3)) && t->dtype == DTYPE_INT32 && elementCount(t) == 256, ERR_SHAPE);
  checkRq(in(n, 5), 2);
  check(sameShape(&n->p->output, q->rank, q->dims), ERR_SHAPE);
  const int32_t *e = i32(t);
  check(e[0] >= 1, ERR_TABLE);
  for (int i = 0; i < 256; i++) check(e[i] >= 0 && e[i] <= ATTENTION_EXP_ONE, ERR_TABLE);
}

static void checkDenseWide(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  check(w->dtype == DTYPE_INT8 && w->rank == 2 && x->dims[x->rank - 1] == w->dims[1], ERR_SHAPE);
  checkRq(in(n, 2), (uint32_t)w->dims[0]);
  check(isMatrix(in(n, 2), DTYPE_INT32, w->dims[0], 2), ERR_SHAPE);
  int32_t dims[4];
  for (uint32_t i = 0; i + 1 < x->rank; i++) dims[i] = x->dims[i];
  dims[x->rank - 1] = w->dims[0];
  check(sameShape(&n->p->output, x->rank, dims), ERR_SHAPE);
}

static void checkSample(const node *n) {
  const tensor_desc *l = in(n, 0), *s = in(n, 1), *t = in(n, 2);
  check(l->rank <= 2 && (l->rank == 1 || l->dims[0] == 1) && l->dims[l->rank - 1] <= MAX_VOCAB_LOGITS, ERR_SHAPE);
  check(s->dtype == DTYPE_INT32 && s->rank == 1 && s->dims[0] >= STATE_MIN_LENGTH, ERR_SHAPE);
  check(t->dtype == DTYPE_INT32 && elementCount(t) == 256, ERR_SHAPE);
  checkRq(in(n, 3), 1);
  check(i32(in(n, 3))[1] >= 31, ERR_RQ); /* a gap multiplier below 1 */
  check(sameShape(&n->p->output, 1, s->dims), ERR_SHAPE);
  const int32_t *e = i32(t);
  check(e[0] >= 1, ERR_TABLE);
  for (int i = 0; i < 256; i++) check(e[i] >= 0 && e[i] <= ATTENTION_EXP_ONE, ERR_TABLE);
}

static void checkTokenEmbed(const node *n) {
  const tensor_desc *table = in(n, 0), *s = in(n, 1);
  check(table->rank == 2 && s->dtype == DTYPE_INT32 && s->rank == 1 && s->dims[0] >= 2, ERR_SHAPE);
  int32_t dims[3] = {1, 1, table->dims[1]};
  check(sameShape(&n->p->output, 3, dims), ERR_SHAPE);
}

static void checkOperands(const node *n) {
  const tensor_desc *x = in(n, 0), *out = &n->p->output;
  switch (n->p->op) {
    case 1: return checkDense(n);
    case 2: return checkConv2d(n);
    case 3: return checkMatMul(n);
    case 4: return checkBroadcast(n, 3);
    case 5: return checkBroadcast(n, 1);
    case 6: return check(sameShape(out, x->rank, x->dims), ERR_SHAPE);
    case 7:
    case 8: return checkPool(n);
    case 9: return check(elementCount(out) == elementCount(x), ERR_SHAPE);
    case 10: return checkTranspose(n);
    case 11: return checkGather(n);
    case 12: return checkSoftmax(n);
    case 13: return checkLayerNorm(n);
    case 14: return checkLut(n);
    case 15: return checkRmsNorm(n);
    case 16: return checkRope(n);
    case 17: return checkKvWrite(n);
    case 18: return checkAttention(n);
    case 19: return checkDenseWide(n);
    case 20: return checkSample(n);
    default: return checkTokenEmbed(n);
  }
}

int main(void) {
  const node_params *p = (const node_params *)(uintptr_t)NODE_PARAMS_ADDR;
  check(p->op >= 1 && p->op < OP_COUNT, ERR_OP);
  const op_info *op = &OPS[p->op];
  check(p->inputCount >= op->minInputs && p->inputCount <= op->maxInputs, ERR_INPUT_COUNT);
  check(p->attrCount == op->attrs, ERR_ATTR_COUNT);
  check(p->reserved == 0, ERR_RESERVED);
  const node n = {p, (const int32_t *)&p->inputs[p->inputCount]};

  checkDescriptor(&p->output);
  /* DenseWide and Sample write int32 (logits, the generation state); every other op int8. */
  const int wide = p->op == 19 || p->op == 20;
  check(p->output.dtype == (wide ? DTYPE_INT32 : DTYPE_INT8), ERR_DTYPE);
  for (uint32_t i = 0; i < p->inputCount; i++) {
    checkDescriptor(&p->inputs[i]);
    check(!overlaps(&p->inputs[i], &p->output), ERR_OVERLAP);
    for (uint32_t j = 0; j < i; j++) check(!overlaps(&p->inputs[i], &p->inputs[j]), ERR_OVERLAP);
  }
  /* Every op's first operand is int8 (Gather's is its table), except Sample's int32 logits; the others are checked per op. */
  check(p->inputs[0].dtype == (p->op == 20 ? DTYPE_INT32 : DTYPE_INT8), ERR_DTYPE);
  checkOperands(&n);
  op->run(&n);
  return 0;
}
