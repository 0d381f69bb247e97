/**
 * Compares byte arrays at memcmp speed (jest's toEqual walks a typed array element by element, seconds
 * per MiB); on a difference, says where the arrays first differ.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  throw new Error(`bytes differ: ${actual.length} bytes against ${expected.length} expected, first difference at offset ${at}`);
}
