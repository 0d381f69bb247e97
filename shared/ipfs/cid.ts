import { CID } from 'multiformats/cid';
import { IpfsInvalidCidError } from './store';

export function parseCid(cid: string): CID {
  try {
    return CID.parse(cid);
  } catch (e) {
    throw new IpfsInvalidCidError(cid, e instanceof Error ? e.message : String(e));
  }
}
