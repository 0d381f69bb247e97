/** CIDs as Kubo computes them, without storing anything; the encoding itself is in ./unixfs. */
import { Cid } from './unixfs/cid';

export { fileCid, fileCidOfStream } from './unixfs/fileCidBuilder';

/** The CID `cid` spells; IpfsInvalidCidError unless it is a CIDv1 in base32, the form every store here uses. */
export function parseCid(cid: string): Cid {
  return Cid.parse(cid);
}
