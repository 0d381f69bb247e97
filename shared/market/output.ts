/**
 * A committed output's bytes are shown only when they are the bytes its outputRoot speaks for (the
 * tensor root of docs/dnn-spec.md section 3), since the dispute game checks the root and users read
 * the bytes. TaskMarket.commit refuses any other pair (docs/security.md, finding 2); clients check
 * again because they may read an older deployment, or a node that lies about logs.
 */
import { getBytes, hexlify } from 'ethers';
import { merkleRootOfBytes } from '../vm/merkle';

export function boundOutput(output: string | null | undefined, outputRoot: string | null | undefined): string | null {
  if (!output || !outputRoot) return null;
  return hexlify(merkleRootOfBytes(getBytes(output))).toLowerCase() === outputRoot.toLowerCase() ? output : null;
}
