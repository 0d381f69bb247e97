/** POST /inputs: a task's input tensor, checked against the model's input size, stored by CID in S3 and IPFS. */
import { hexlify } from 'ethers';
import { merkleRootOfBytes } from '../../vm/merkle';
import { modelInput, registeredModel } from '../chainReads';
import { InvalidRequestError, PayloadTooLargeError } from '../errors';
import { created, parseJsonBody, route, type Route } from '../router';
import { postInputRequestSchema, type PostInputResponse } from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { bodyLimitOf } from './limits';

export async function storeInput(s: ApiServices, modelId: bigint, input: Uint8Array): Promise<PostInputResponse> {
  if (input.length > s.env.OPML_MAX_INPUT_BYTES) throw new PayloadTooLargeError(input.length, s.env.OPML_MAX_INPUT_BYTES, 'inputBase64');
  const model = await registeredModel(s, modelId);
  const { tensor, bytes: expected } = await modelInput(s, model);
  if (input.length !== expected)
    throw new InvalidRequestError(
      `model ${modelId} takes ${tensor.dtype} ${JSON.stringify(tensor.shape)} (${expected} bytes) as input ${tensor.name}; got ${input.length} bytes`,
      'inputBase64',
    );
  const inputCid = await s.blobs.put(input);
  return { inputCid, inputRoot: hexlify(merkleRootOfBytes(input)), bytes: input.length };
}

export const inputRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/inputs',
    maxBodyBytes: bodyLimitOf('OPML_MAX_INPUT_BYTES'),
    async handle(req) {
      const body = parseJsonBody(req, postInputRequestSchema);
      const s = await apiServices();
      return created(await storeInput(s, BigInt(body.modelId), Buffer.from(body.inputBase64, 'base64')));
    },
  }),
];
