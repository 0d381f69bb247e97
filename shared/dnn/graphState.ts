/**
 * Graph-state roots (docs/dnn-spec.md section 7): slot 0 the input's root, slot j node j's output
 * root, zero until computed.
 */
import { merkleRootOfBytes } from '../vm/merkle';

export const SLOT_SIZE = 32;

/** Root of the slots after node `after` (0 = before any node); later slots count as zero. */
export function graphStateRoot(slots: readonly Uint8Array[], after = slots.length - 1): Uint8Array {
  const bytes = new Uint8Array(slots.length * SLOT_SIZE);
  for (let j = 0; j <= after; j++) bytes.set(slots[j], j * SLOT_SIZE);
  return merkleRootOfBytes(bytes);
}
