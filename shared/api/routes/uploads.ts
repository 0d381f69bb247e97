/**
 * Uploads of files of any size (docs/service-spec.md section 4, "Uploads"): the API starts an S3
 * multipart upload under the file's content key `blobs/<cid>`, signs one URL per part for the MD5 the
 * uploader computed, and completes the upload once every part landed. The bytes go from the uploader
 * to S3 directly; what they are is checked later, when the pinner verifies a package made of them
 * (an object under a CID is never trusted before its bytes are hashed back to it).
 */
import { S3PreconditionFailedError, S3UploadNotFoundError } from '../../aws/errors';
import { completeMultipartUpload, createMultipartUpload, partPlan, presignUploadPart } from '../../aws/multipart';
import { deleteObject, objectSize } from '../../aws/s3';
import { BLOB_PREFIX } from '../../blobs/blobStore';
import { parseCid } from '../../ipfs/cid';
import { ConflictError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../errors';
import { created, ok, parseJsonBody, route, type Route } from '../router';
import {
  postUploadCompleteRequestSchema,
  postUploadPartsRequestSchema,
  postUploadRequestSchema,
  uploadParamsSchema,
  type PostUploadResponse,
  type UploadSession,
} from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { UPLOAD_EXPIRY_DAYS, UploadSessionStore } from '../uploadSessions';

/** Seconds a part URL stays valid: long enough for a slow link to send one part, short enough to leak little. */
export const PART_URL_SECONDS = 3600;

const JSON_BODY_BYTES = (): number => 1 << 20;

const sessions = (s: ApiServices): UploadSessionStore => new UploadSessionStore(s.s3, s.env.OPML_VIEWS_BUCKET);
const blobKey = (cid: string): string => `${BLOB_PREFIX}${cid}`;

function checkCid(cid: string): void {
  try {
    parseCid(cid);
  } catch (e) {
    throw new InvalidRequestError((e as Error).message, 'cid');
  }
}

export async function startUpload(s: ApiServices, cid: string, size: number, partSize?: number): Promise<PostUploadResponse> {
  checkCid(cid);
  if (size > s.env.OPML_MAX_MODEL_BYTES) throw new PayloadTooLargeError(size, s.env.OPML_MAX_MODEL_BYTES, `the file ${cid}`);
  const existing = await objectSize(s.s3, s.env.OPML_DATA_BUCKET, blobKey(cid));
  if (existing !== undefined) {
    if (existing !== size)
      throw new ConflictError(`the store holds ${existing} bytes under ${cid}, not ${size}: those bytes are not this file and are removed when a package naming them fails verification; upload again after that`);
    return { stored: true, cid, size };
  }
  const plan = partPlan(size, partSize);
  const uploadId = await createMultipartUpload(s.s3, s.env.OPML_DATA_BUCKET, blobKey(cid));
  const now = Date.now();
  const upload: UploadSession = {
    uploadId,
    cid,
    size,
    ...plan,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + UPLOAD_EXPIRY_DAYS * 86_400_000).toISOString(),
  };
  await sessions(s).write(upload);
  return { stored: false, upload };
}

async function openSession(s: ApiServices, uploadId: string): Promise<UploadSession> {
  const session = await sessions(s).read(uploadId);
  if (!session) throw new NotFoundError(`no open upload ${uploadId}: it completed or expired; POST /uploads to start again`);
  return session;
}

export async function partUrls(s: ApiServices, uploadId: string, parts: readonly { partNumber: number; md5Base64: string }[]) {
  const session = await openSession(s, uploadId);
  const expiresAt = new Date(Date.now() + PART_URL_SECONDS * 1000).toISOString();
  return {
    parts: await Promise.all(
      parts.map(async (p, i) => {
        if (p.partNumber > session.partCount) throw new InvalidRequestError(`part ${p.partNumber} is past the upload's ${session.partCount} parts`, `parts.${i}.partNumber`);
        const url = await presignUploadPart(s.s3, s.env.OPML_DATA_BUCKET, blobKey(session.cid), uploadId, p.partNumber, p.md5Base64, PART_URL_SECONDS);
        return { partNumber: p.partNumber, url, expiresAt };
      }),
    ),
  };
}

export async function completeUpload(s: ApiServices, uploadId: string, parts: readonly { partNumber: number; etag: string }[]) {
  const session = await openSession(s, uploadId);
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  if (byNumber.size !== parts.length) throw new InvalidRequestError('a part number is listed twice', 'parts');
  for (let n = 1; n <= session.partCount; n++) if (!byNumber.has(n)) throw new InvalidRequestError(`part ${n} of ${session.partCount} is missing`, 'parts');
  if (parts.length !== session.partCount) throw new InvalidRequestError(`the upload has ${session.partCount} parts, ${parts.length} were given`, 'parts');
  const bucket = s.env.OPML_DATA_BUCKET;
  const key = blobKey(session.cid);
  const ordered = [...byNumber.values()].sort((a, b) => a.partNumber - b.partNumber);
  try {
    await completeMultipartUpload(s.s3, bucket, key, uploadId, ordered, true);
  } catch (e) {
    // Someone else completed the same content first: this upload's parts are not needed.
    if (e instanceof S3PreconditionFailedError) {
      await sessions(s).remove(uploadId);
      return { cid: session.cid, size: session.size };
    }
    if (e instanceof S3UploadNotFoundError) throw new NotFoundError(`${e.message}`);
    throw e;
  }
  const size = await objectSize(s.s3, bucket, key);
  if (size !== session.size) {
    await deleteObject(s.s3, bucket, key);
    await sessions(s).remove(uploadId);
    throw new InvalidRequestError(`the parts hold ${size} bytes but the upload declared ${session.size} for ${session.cid}: the object was discarded; upload the file again`, 'parts');
  }
  await sessions(s).remove(uploadId);
  return { cid: session.cid, size };
}

export const uploadRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/uploads',
    maxBodyBytes: JSON_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postUploadRequestSchema);
      const result = await startUpload(await apiServices(), body.cid, body.size, body.partSize);
      return result.stored ? ok(result) : created(result);
    },
  }),
  route({
    method: 'GET',
    path: '/uploads/{uploadId}',
    params: uploadParamsSchema,
    async handle(req) {
      return ok(await openSession(await apiServices(), req.params.uploadId));
    },
  }),
  route({
    method: 'POST',
    path: '/uploads/{uploadId}/parts',
    params: uploadParamsSchema,
    maxBodyBytes: JSON_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postUploadPartsRequestSchema);
      return ok(await partUrls(await apiServices(), req.params.uploadId, body.parts));
    },
  }),
  route({
    method: 'POST',
    path: '/uploads/{uploadId}/complete',
    params: uploadParamsSchema,
    maxBodyBytes: JSON_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postUploadCompleteRequestSchema);
      return created(await completeUpload(await apiServices(), req.params.uploadId, body.parts));
    },
  }),
];
