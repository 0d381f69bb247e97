/*
 * Guest entry point (docs/vm-spec.md section 7). Memory starts zeroed in the VM and in every ELF
 * loader, so .bss needs no clearing; registers start at 0, so only sp has to be set.
 */
  .section .text.start, "ax", @progbits
  .globl _start
  .type _start, @function
_start:
  la    sp, __stack_top          /* link.ld aligns the stack top to 16 bytes (psABI) */
  call  main
  li    a7, 93                   /* exit(a0 = main's return value) */
  ecall
  /* Unreachable: exit halts. Spinning keeps a broken loader from running into garbage. */
1:
  j     1b
  .size _start, . - _start
