/** GET /blobs/{cid}: a stored blob (model file, VM image, task input), S3 first, IPFS second, content checked. */
import { BlobNotFoundError } from '../../blobs/blobStore';
import { IpfsInvalidCidError } from '../../ipfs/store';
import { InvalidRequestError, NotFoundError } from '../errors';
import { route, type Route } from '../router';
import { blobParamsSchema } from '../schemas';
import { apiServices } from '../services';

export const blobRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/blobs/{cid}',
    params: blobParamsSchema,
    async handle(req) {
      const s = await apiServices();
      try {
        const bytes = await s.blobs.get(req.params.cid);
        // Content under a CID never changes.
        return { status: 200, bytes, headers: { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' } };
      } catch (e) {
        if (e instanceof BlobNotFoundError) throw new NotFoundError(e.message);
        if (e instanceof IpfsInvalidCidError) throw new InvalidRequestError(e.message, 'path.cid');
        throw e;
      }
    },
  }),
];
