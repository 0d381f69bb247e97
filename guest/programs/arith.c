/*
 * Integer arithmetic of RV32IM: every ALU and M-extension operation over edge operands and a
 * pseudo-random sweep. On RISC-V the division/remainder and high-multiply operations run as the
 * raw instructions (inline asm), so the edge cases C leaves undefined (x / 0, INT_MIN / -1) reach
 * the hardware semantics; natively the same results come from a C model of the RISC-V
 * specification. Output lines are compared byte for byte across gcc, qemu and the opml VM.
 */
#include "opml.h"

#if defined(__riscv)
#define RV_OP(name)                                                  \
  static uint32_t rv_##name(uint32_t a, uint32_t b) {                \
    uint32_t r;                                                      \
    __asm__(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));         \
    return r;                                                        \
  }
RV_OP(div)
RV_OP(divu)
RV_OP(rem)
RV_OP(remu)
RV_OP(mulh)
RV_OP(mulhsu)
RV_OP(mulhu)
#else
/* The RISC-V specification's results, including division by zero and signed overflow. */
static uint32_t rv_div(uint32_t a, uint32_t b) {
  if (b == 0) return 0xffffffffu;
  if (a == 0x80000000u && b == 0xffffffffu) return a;
  return (uint32_t)((int32_t)a / (int32_t)b);
}
static uint32_t rv_divu(uint32_t a, uint32_t b) { return b == 0 ? 0xffffffffu : a / b; }
static uint32_t rv_rem(uint32_t a, uint32_t b) {
  if (b == 0) return a;
  if (a == 0x80000000u && b == 0xffffffffu) return 0;
  return (uint32_t)((int32_t)a % (int32_t)b);
}
static uint32_t rv_remu(uint32_t a, uint32_t b) { return b == 0 ? a : a % b; }
static uint32_t rv_mulh(uint32_t a, uint32_t b) {
  return (uint32_t)((uint64_t)((int64_t)(int32_t)a * (int64_t)(int32_t)b) >> 32);
}
static uint32_t rv_mulhsu(uint32_t a, uint32_t b) {
  return (uint32_t)((uint64_t)((int64_t)(int32_t)a * (int64_t)(uint64_t)b) >> 32);
}
static uint32_t rv_mulhu(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
#endif

static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * b; }
/* Shift amounts use the low 5 bits, as the instructions do; C leaves >= 32 undefined. */
static uint32_t op_sll(uint32_t a, uint32_t b) { return a << (b & 31); }
static uint32_t op_srl(uint32_t a, uint32_t b) { return a >> (b & 31); }
static uint32_t op_sra(uint32_t a, uint32_t b) { return (uint32_t)((int32_t)a >> (b & 31)); }
static uint32_t op_slt(uint32_t a, uint32_t b) { return (int32_t)a < (int32_t)b; }
static uint32_t op_sltu(uint32_t a, uint32_t b) { return a < b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_or(uint32_t a, uint32_t b) { return a | b; }
static uint32_t op_and(uint32_t a, uint32_t b) { return a & b; }

typedef uint32_t (*binop)(uint32_t, uint32_t);
static const struct {
  const char *name;
  binop fn;
} OPS[] = {
    {"add", op_add},   {"sub", op_sub},       {"sll", op_sll},     {"slt", op_slt},
    {"sltu", op_sltu}, {"xor", op_xor},       {"srl", op_srl},     {"sra", op_sra},
    {"or", op_or},     {"and", op_and},       {"mul", op_mul},     {"mulh", rv_mulh},
    {"mulhsu", rv_mulhsu}, {"mulhu", rv_mulhu}, {"div", rv_div},   {"divu", rv_divu},
    {"rem", rv_rem},   {"remu", rv_remu},
};
#define NOPS (sizeof OPS / sizeof OPS[0])

static const uint32_t EDGES[] = {
    0x00000000u, 0x00000001u, 0x00000002u, 0x0000001fu, 0x00000020u, 0x7fffffffu,
    0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu, 0x0000ffffu, 0x12345678u,
};
#define NEDGES (sizeof EDGES / sizeof EDGES[0])

/* One line per edge case the specification names explicitly: the first thing to read on a mismatch. */
static void print_named_cases(void) {
  opml_put_kv_hex("div(7,0)", rv_div(7, 0));
  opml_put_kv_hex("divu(7,0)", rv_divu(7, 0));
  opml_put_kv_hex("rem(7,0)", rv_rem(7, 0));
  opml_put_kv_hex("remu(7,0)", rv_remu(7, 0));
  opml_put_kv_hex("div(INT_MIN,-1)", rv_div(0x80000000u, 0xffffffffu));
  opml_put_kv_hex("rem(INT_MIN,-1)", rv_rem(0x80000000u, 0xffffffffu));
  opml_put_kv_hex("div(-7,2)", rv_div((uint32_t)-7, 2));
  opml_put_kv_hex("rem(-7,2)", rv_rem((uint32_t)-7, 2));
  opml_put_kv_hex("rem(7,-2)", rv_rem(7, (uint32_t)-2));
  opml_put_kv_hex("mulh(INT_MIN,INT_MIN)", rv_mulh(0x80000000u, 0x80000000u));
  opml_put_kv_hex("mulh(-1,-1)", rv_mulh(0xffffffffu, 0xffffffffu));
  opml_put_kv_hex("mulhsu(-1,0xffffffff)", rv_mulhsu(0xffffffffu, 0xffffffffu));
  opml_put_kv_hex("mulhsu(INT_MIN,0xffffffff)", rv_mulhsu(0x80000000u, 0xffffffffu));
  opml_put_kv_hex("mulhu(0xffffffff,0xffffffff)", rv_mulhu(0xffffffffu, 0xffffffffu));
  opml_put_kv_hex("sra(INT_MIN,31)", op_sra(0x80000000u, 31));
  opml_put_kv_hex("sra(INT_MIN,32)", op_sra(0x80000000u, 32));
  opml_put_kv_hex("sll(1,33)", op_sll(1, 33));
  opml_put_kv_hex("srl(INT_MIN,63)", op_srl(0x80000000u, 63));
}

/* Order-sensitive fold, so a wrong value anywhere changes the digest. */
static uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u + (h >> 15); }

int main(void) {
  print_named_cases();

  uint32_t total = 0x811c9dc5u;
  for (unsigned k = 0; k < NOPS; k++) {
    uint32_t h = 0x811c9dc5u;
    for (unsigned i = 0; i < NEDGES; i++)
      for (unsigned j = 0; j < NEDGES; j++) h = mix(h, OPS[k].fn(EDGES[i], EDGES[j]));
    opml_rng rng = {0x9e3779b9u + k};
    for (unsigned i = 0; i < 2000; i++) {
      uint32_t a = opml_rng_next(&rng), b = opml_rng_next(&rng);
      /* Small divisors and shift counts are where the interesting results are. */
      if (i & 1) b &= 0x3f;
      if (i % 7 == 0) b = (uint32_t)-(int32_t)(b & 7);
      h = mix(h, OPS[k].fn(a, b));
    }
    opml_puts(OPS[k].name);
    opml_puts(" ");
    opml_put_kv_hex("digest", h);
    total = mix(total, h);
  }
  opml_put_kv_hex("arith", total);
  return (int)(total & 0xff);
}
