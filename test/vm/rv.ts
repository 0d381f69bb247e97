/** RV32IM instruction encoders for tests: the inverse of the decode section of the spec. */
const r = (op: number, rd: number, f3: number, rs1: number, rs2: number, f7: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const i = (op: number, rd: number, f3: number, rs1: number, imm: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const s = (f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const b = (f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 12) & 1) << 31) |
    (((imm >> 5) & 0x3f) << 25) |
    (rs2 << 20) |
    (rs1 << 15) |
    (f3 << 12) |
    (((imm >> 1) & 0xf) << 8) |
    (((imm >> 11) & 1) << 7) |
    0x63) >>>
  0;

export const rv = {
  r,
  i,
  lui: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0,
  auipc: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0,
  jal: (rd: number, imm: number) =>
    ((((imm >> 20) & 1) << 31) |
      (((imm >> 1) & 0x3ff) << 21) |
      (((imm >> 11) & 1) << 20) |
      (((imm >> 12) & 0xff) << 12) |
      (rd << 7) |
      0x6f) >>>
    0,
  jalr: (rd: number, rs1: number, imm: number) => i(0x67, rd, 0, rs1, imm),
  addi: (rd: number, rs1: number, imm: number) => i(0x13, rd, 0, rs1, imm),
  slli: (rd: number, rs1: number, sh: number) => i(0x13, rd, 1, rs1, sh),
  srai: (rd: number, rs1: number, sh: number) => i(0x13, rd, 5, rs1, 0x400 | sh),
  add: (rd: number, rs1: number, rs2: number) => r(0x33, rd, 0, rs1, rs2, 0),
  sub: (rd: number, rs1: number, rs2: number) => r(0x33, rd, 0, rs1, rs2, 0x20),
  mul: (rd: number, rs1: number, rs2: number) => r(0x33, rd, 0, rs1, rs2, 1),
  muldiv: (f3: number, rd: number, rs1: number, rs2: number) => r(0x33, rd, f3, rs1, rs2, 1),
  load: (f3: number, rd: number, rs1: number, imm: number) => i(0x03, rd, f3, rs1, imm),
  store: s,
  lw: (rd: number, rs1: number, imm: number) => i(0x03, rd, 2, rs1, imm),
  sw: (rs2: number, rs1: number, imm: number) => s(2, rs1, rs2, imm),
  sb: (rs2: number, rs1: number, imm: number) => s(0, rs1, rs2, imm),
  branch: b,
  beq: (rs1: number, rs2: number, imm: number) => b(0, rs1, rs2, imm),
  bne: (rs1: number, rs2: number, imm: number) => b(1, rs1, rs2, imm),
  blt: (rs1: number, rs2: number, imm: number) => b(4, rs1, rs2, imm),
  ecall: () => 0x00000073,
  ebreak: () => 0x00100073,
};
