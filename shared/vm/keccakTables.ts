/** Keccak-f[1600] constants shared by the JavaScript and WebAssembly permutations. */

// Round constants as (lo, hi) 32-bit halves.
export const RC = new Uint32Array([
  0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
  0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
  0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
  0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
  0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
  0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
]);

// rho rotation amount and pi destination for lane x + 5y, derived from the spec's recurrences.
export const ROT = new Uint8Array(25);
export const PI_DEST = new Uint8Array(25);
{
  let x = 1;
  let y = 0;
  for (let t = 0; t < 24; t++) {
    ROT[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    const nx = y;
    const ny = (2 * x + 3 * y) % 5;
    x = nx;
    y = ny;
  }
  for (let lx = 0; lx < 5; lx++) {
    for (let ly = 0; ly < 5; ly++) PI_DEST[lx + 5 * ly] = ly + 5 * ((2 * lx + 3 * ly) % 5);
  }
}

