/**
 * The IPFS store backed by a Kubo node's RPC API (production). Adds stream the file to the node while
 * our builder computes its CID from the same bytes, so a node whose import settings differ is caught
 * at once; reads fetch raw blocks and check each one (./unixfs/catVerified.ts), trusting the node for
 * nothing but availability.
 */
import { create } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';
import { parseCid } from './cid';
import { collect, IpfsAddCidMismatchError, KUBO_ADD_PARAMS, type IpfsStore } from './store';
import { catVerified, type CatOptions } from './unixfs/catVerified';
import { FileCidBuilder } from './unixfs/fileCidBuilder';

export function openKuboIpfs(url: string, timeoutMs: number): IpfsStore {
  const client = create({ url, timeout: timeoutMs });
  const kuboCid = (cid: string): CID => CID.decode(parseCid(cid).bytes);
  const getBlock = (cid: string) => client.block.get(kuboCid(cid));
  const cat = (cid: string, options?: CatOptions) => catVerified(cid, getBlock, options);
  return {
    async add(source) {
      const local = new FileCidBuilder();
      async function* hashed(): AsyncGenerator<Uint8Array> {
        for await (const piece of source instanceof Uint8Array ? [source] : source) {
          local.update(piece);
          yield piece;
        }
      }
      const added = await client.add({ content: hashed() }, { ...KUBO_ADD_PARAMS, pin: true });
      const cid = added.cid.toV1().toString();
      if (cid !== local.digest()) throw new IpfsAddCidMismatchError(url, local.digest(), cid);
      return cid;
    },
    cat,
    async get(cid, maxBytes = Number.MAX_SAFE_INTEGER) {
      return collect(cid, cat(cid), maxBytes);
    },
    /** Everything this store adds is pinned recursively; a pin is what "held here" means on Kubo. */
    async has(cid) {
      try {
        for await (const _ of client.pin.ls({ paths: [kuboCid(cid)], type: 'recursive' })) return true;
        return false;
      } catch (e) {
        if (e instanceof Error && /not pinned/.test(e.message)) return false;
        throw e;
      }
    },
    async close() {},
  };
}
