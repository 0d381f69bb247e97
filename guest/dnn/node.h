/*
 * The node-parameter block (docs/dnn-spec.md section 8), as the kernels see it after main.c has
 * validated it, and the exit codes of an invalid block.
 */
#ifndef DNN_NODE_H
#define DNN_NODE_H

#include <stdint.h>

#define NODE_PARAMS_ADDR 0x10000000u
#define TENSOR_BASE 0x10100000u
#define MAX_INPUTS 8

enum dtype_code { DTYPE_INT8 = 1, DTYPE_UINT8 = 2, DTYPE_INT32 = 3 };

/* Exit codes: which check an invalid parameter block (or constant tensor) failed. */
enum node_error {
  ERR_OP = 1,          /* unknown op code */
  ERR_INPUT_COUNT = 2, /* wrong number of inputs for the op */
  ERR_ATTR_COUNT = 3,  /* wrong number of attribute words for the op */
  ERR_RESERVED = 4,    /* reserved header word not 0 */
  ERR_DESCRIPTOR = 5,  /* dtype, rank, dims, zero point or address out of range */
  ERR_OVERLAP = 6,     /* two tensor regions overlap */
  ERR_DTYPE = 7,       /* a tensor of the wrong dtype for its operand */
  ERR_SHAPE = 8,       /* shapes that do not fit the op (the rules of shared/dnn/shapes.ts) */
  ERR_ATTR = 9,        /* an attribute value out of range */
  ERR_RQ = 10,         /* an rq row with M outside [0, 2^31) or s outside [17, 62] */
  ERR_TABLE = 11,      /* a Softmax or Attention exp table outside [0, 2^20] or with exp[0] = 0, a Rope entry outside [-2^14, 2^14] */
  ERR_ZERO_POINT = 12, /* KvWrite operands that do not share the output's zero point */
};

typedef struct {
  uint32_t address;
  uint32_t dtype;
  uint32_t rank;
  int32_t zeroPoint;
  int32_t dims[4];
} tensor_desc;

typedef struct {
  uint32_t op;
  uint32_t inputCount;
  uint32_t attrCount;
  uint32_t reserved;
  tensor_desc output;
  tensor_desc inputs[MAX_INPUTS]; /* then the attribute words */
} node_params;

/* What every kernel gets: the validated block and its attribute words. */
typedef struct {
  const node_params *p;
  const int32_t *attrs;
} node;

static inline uint32_t elementCount(const tensor_desc *t) {
  uint32_t n = 1;
  for (uint32_t i = 0; i < t->rank; i++) n *= (uint32_t)t->dims[i];
  return n;
}

/* The shape right-aligned to 4 dimensions (leading 1s), as broadcasting and Transpose read it. */
static inline void dims4(const tensor_desc *t, int32_t out[4]) {
  uint32_t pad = 4 - t->rank;
  for (uint32_t i = 0; i < 4; i++) out[i] = i < pad ? 1 : t->dims[i - pad];
}

static inline const int8_t *i8(const tensor_desc *t) { return (const int8_t *)(uintptr_t)t->address; }
static inline const int32_t *i32(const tensor_desc *t) { return (const int32_t *)(uintptr_t)t->address; }
static inline int8_t *out8(const node *n) { return (int8_t *)(uintptr_t)n->p->output.address; }
static inline const tensor_desc *in(const node *n, int i) { return &n->p->inputs[i]; }

/* Kernels, one family per file as in shared/dnn/kernels/ (validation in main.c). */
void dense(const node *n);
void conv2d(const node *n);
void matMul(const node *n);
void add(const node *n);
void mul(const node *n);
void relu(const node *n);
void lut(const node *n);
void maxPool(const node *n);
void avgPool(const node *n);
void reshape(const node *n);
void transpose(const node *n);
void gather(const node *n);
void softmax(const node *n);
void layerNorm(const node *n);
void rmsNorm(const node *n);
void rope(const node *n);
void kvWrite(const node *n);
void attention(const node *n);
void denseWide(const node *n);
void sample(const node *n);
void tokenEmbed(const node *n);

#endif
