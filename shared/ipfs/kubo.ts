/** The IPFS store backed by a Kubo node's RPC API (production), adding with the embedded store's settings. */
import { create } from 'kubo-rpc-client';
import { parseCid } from './cid';
import { collect, KUBO_ADD_PARAMS, type IpfsStore } from './store';

export function openKuboIpfs(url: string, timeoutMs: number): IpfsStore {
  const client = create({ url, timeout: timeoutMs });
  return {
    async add(bytes) {
      const added = await client.add(bytes, { ...KUBO_ADD_PARAMS, pin: true });
      return added.cid.toV1().toString();
    },
    async get(cid, maxBytes = Number.MAX_SAFE_INTEGER) {
      const parsed = parseCid(cid);
      return collect(cid, client.cat(parsed), maxBytes);
    },
    async has(cid) {
      // Everything this store adds is pinned recursively; a pin is what "held here" means on Kubo.
      try {
        for await (const _ of client.pin.ls({ paths: [parseCid(cid)], type: 'recursive' })) return true;
        return false;
      } catch (e) {
        if (e instanceof Error && /not pinned/.test(e.message)) return false;
        throw e;
      }
    },
    async close() {},
  };
}
