/**
 * Uploading a file of any size to the market's S3 bucket by presigned multipart upload
 * (docs/service-spec.md section 4, "Uploads"): the API hands out one URL per part, the parts go
 * straight to S3 several at a time, the API completes the upload.
 *
 * Resumable: every part that lands is written to a journal (one small JSON file per file CID under
 * the journal folder), so an upload cut off by a crash, a network loss or Ctrl-C continues with the
 * parts that are missing when it is started again; a part sent twice is harmless. Each part carries
 * its MD5, which the signed URL makes S3 check, and the returned ETag must be that MD5 too: a part
 * mangled on the way is sent again, not stored.
 */
import { createHash } from 'node:crypto';
import { open, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { partRange } from '../aws/multipart';
import type { UploadSession } from '../api/schemas';
import type { OpmlApiClient } from './apiClient';
import { ApiError, SdkError } from './errors';

export class UploadInterruptedError extends SdkError {
  override name = 'UploadInterruptedError';
  constructor(readonly cid: string, readonly partsDone: number, readonly partsTotal: number, options?: { cause?: unknown }) {
    super(`the upload of ${cid} stopped with ${partsDone} of ${partsTotal} parts stored: run the same command again to send the rest`, options);
  }
}

export class UploadPartFailedError extends SdkError {
  override name = 'UploadPartFailedError';
  constructor(readonly cid: string, readonly partNumber: number, reason: string, options?: { cause?: unknown }) {
    super(`part ${partNumber} of ${cid} could not be stored (${reason}); the parts already stored are kept: run the command again to resume`, options);
  }
}

export interface UploadProgress {
  cid: string;
  bytesDone: number;
  bytesTotal: number;
  partsDone: number;
  partsTotal: number;
  /** Parts an earlier run had already stored. */
  partsResumed: number;
}

export interface UploadFileOptions {
  api: OpmlApiClient;
  file: string;
  cid: string;
  size: number;
  /** Where resume journals live (shared by every upload of this user). */
  journalDir: string;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  partSize?: number;
  onProgress?: (p: UploadProgress) => void;
  /** Stops the upload between parts (the journal keeps what landed). */
  signal?: AbortSignal;
  /** Attempts per part before giving up (default 3). */
  attempts?: number;
  /** The HTTP client for the part PUTs (the global fetch by default). */
  fetch?: typeof fetch;
}

export interface UploadResult {
  cid: string;
  size: number;
  /** The API already had the file: nothing was sent. */
  alreadyStored: boolean;
  partsSent: number;
  partsResumed: number;
}

const journalSchema = z
  .object({ api: z.string(), cid: z.string(), size: z.number().int().nonnegative(), upload: z.any(), parts: z.record(z.string(), z.string()) })
  .strict();
type Journal = Omit<z.infer<typeof journalSchema>, 'upload'> & { upload: UploadSession };

const journalFile = (dir: string, cid: string): string => join(dir, `${cid}.json`);

async function readJournal(dir: string, cid: string): Promise<Journal | undefined> {
  try {
    const parsed = journalSchema.safeParse(JSON.parse(await readFile(journalFile(dir, cid), 'utf8')));
    return parsed.success ? (parsed.data as Journal) : undefined;
  } catch {
    return undefined;
  }
}

async function writeJournal(dir: string, journal: Journal): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = journalFile(dir, journal.cid);
  await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(journal));
  await rename(`${file}.${process.pid}.tmp`, file);
}

/** The open upload this file's journal names, if the API still has it; a fresh one otherwise (or none if stored). */
async function resumeOrStart(o: UploadFileOptions): Promise<Journal | 'stored'> {
  const journal = await readJournal(o.journalDir, o.cid);
  if (journal && journal.api === o.api.baseUrl && journal.size === o.size) {
    try {
      const upload = await o.api.getUpload(journal.upload.uploadId);
      return { ...journal, upload };
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  const started = await o.api.postUpload({ cid: o.cid, size: o.size, partSize: o.partSize });
  if (started.stored) {
    await rm(journalFile(o.journalDir, o.cid), { force: true });
    return 'stored';
  }
  const fresh: Journal = { api: o.api.baseUrl, cid: o.cid, size: o.size, upload: started.upload, parts: {} };
  await writeJournal(o.journalDir, fresh);
  return fresh;
}

export async function uploadFile(o: UploadFileOptions): Promise<UploadResult> {
  const state = await resumeOrStart(o);
  if (state === 'stored') return { cid: o.cid, size: o.size, alreadyStored: true, partsSent: 0, partsResumed: 0 };
  const journal = state;
  const { upload } = journal;
  const fetchPart = o.fetch ?? fetch;
  const partsResumed = Object.keys(journal.parts).length;
  const missing = Array.from({ length: upload.partCount }, (_, i) => i + 1).filter((n) => !(String(n) in journal.parts));
  let bytesDone = Object.keys(journal.parts).reduce((n, k) => n + (partRange(upload, o.size, Number(k)).end - partRange(upload, o.size, Number(k)).start), 0);
  let partsSent = 0;
  const report = () => o.onProgress?.({ cid: o.cid, bytesDone, bytesTotal: o.size, partsDone: Object.keys(journal.parts).length, partsTotal: upload.partCount, partsResumed });
  report();
  const handle = await open(o.file, 'r');
  let journalWrites = Promise.resolve();
  try {
    const sendPart = async (partNumber: number): Promise<void> => {
      const { start, end } = partRange(upload, o.size, partNumber);
      const body = Buffer.allocUnsafe(end - start);
      const { bytesRead } = await handle.read(body, 0, body.length, start);
      if (bytesRead !== body.length) throw new UploadPartFailedError(o.cid, partNumber, `${o.file} is shorter than the ${o.size} bytes it had: did it change?`);
      const md5 = createHash('md5').update(body);
      const md5Hex = md5.copy().digest('hex');
      const md5Base64 = md5.digest('base64');
      let lastError = '';
      for (let attempt = 1; attempt <= (o.attempts ?? 3); attempt++) {
        if (o.signal?.aborted) throw new UploadInterruptedError(o.cid, Object.keys(journal.parts).length, upload.partCount);
        const [{ url }] = (await o.api.postUploadParts(upload.uploadId, { parts: [{ partNumber, md5Base64 }] })).parts;
        let res: Response;
        try {
          res = await fetchPart(url, { method: 'PUT', body, headers: { 'content-md5': md5Base64, 'content-length': String(body.length) }, signal: o.signal });
        } catch (e) {
          if (o.signal?.aborted) throw new UploadInterruptedError(o.cid, Object.keys(journal.parts).length, upload.partCount, { cause: e });
          lastError = (e as Error).message;
          continue;
        }
        const etag = (res.headers.get('etag') ?? '').replace(/"/g, '');
        await res.arrayBuffer();
        if (!res.ok) {
          lastError = `S3 answered ${res.status}`;
          continue;
        }
        if (etag !== md5Hex) {
          lastError = `S3 stored bytes with MD5 ${etag || '(none)'}, not the part's ${md5Hex}`;
          continue;
        }
        journal.parts[String(partNumber)] = etag;
        bytesDone += body.length;
        partsSent++;
        // One journal write at a time, each with every part landed so far.
        journalWrites = journalWrites.then(() => writeJournal(o.journalDir, journal));
        await journalWrites;
        report();
        return;
      }
      throw new UploadPartFailedError(o.cid, partNumber, lastError);
    };
    const queue = [...missing];
    const workers = Array.from({ length: Math.min(o.concurrency ?? 4, queue.length) }, async () => {
      try {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendPart(n);
      } catch (e) {
        // The others finish the part in hand and stop: what landed stays in the journal.
        queue.length = 0;
        throw e;
      }
    });
    const results = await Promise.allSettled(workers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await handle.close();
    await journalWrites;
  }
  const parts = Object.entries(journal.parts).map(([n, etag]) => ({ partNumber: Number(n), etag }));
  await o.api.completeUpload(upload.uploadId, { parts });
  await rm(journalFile(o.journalDir, o.cid), { force: true });
  return { cid: o.cid, size: o.size, alreadyStored: false, partsSent, partsResumed };
}
