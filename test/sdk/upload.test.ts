/**
 * The SDK's multipart uploader against the real API routes and s3rver: a part mangled on its way is
 * sent again (its ETag is not its MD5), an upload stopped between parts resumes from its journal
 * without resending what landed, a part that keeps failing stops the upload with the journal kept,
 * and a file the bucket already holds is not sent at all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClients } from '../../shared/aws/config';
import { getObject } from '../../shared/aws/s3';
import { fileCid } from '../../shared/ipfs/cid';
import { OpmlApiClient } from '../../shared/sdk/apiClient';
import { uploadFile, type UploadFileOptions } from '../../shared/sdk/upload';
import { startApiStack, type ApiStack } from './apiStack';

jest.setTimeout(120_000);

const PART = 5 << 20;
let stack: ApiStack;
let api: OpmlApiClient;
let dir: string;

beforeAll(async () => {
  stack = await startApiStack({ accounts: 2 });
  api = new OpmlApiClient(stack.api.url);
  dir = await mkdtemp(join(tmpdir(), 'sdk-upload-'));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh random file of three full parts and a short last one, with its CID. */
async function file(name: string): Promise<{ path: string; bytes: Buffer; cid: string }> {
  const bytes = randomBytes(3 * PART + 12_345);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes, cid: fileCid(bytes) };
}

/** fetch that records each part PUT (by part number) and may rewrite its body first. */
function recordingFetch(mangle: (partNumber: number, attempt: number) => boolean = () => false) {
  const puts: number[] = [];
  const attempts = new Map<number, number>();
  const wrapped: typeof fetch = async (input, init) => {
    const partNumber = Number(new URL(String(input)).searchParams.get('partNumber'));
    puts.push(partNumber);
    const attempt = (attempts.get(partNumber) ?? 0) + 1;
    attempts.set(partNumber, attempt);
    if (mangle(partNumber, attempt)) {
      const body = Buffer.from(init!.body as Buffer);
      body[body.length >> 1] ^= 0xff;
      return fetch(input, { ...init, body });
    }
    return fetch(input, init);
  };
  return { fetch: wrapped, puts };
}

const stored = async (cid: string) => (await getObject(awsClients(stack.aws.config).s3, 'sdk-data', `blobs/${cid}`, 64 << 20)).body;

function options(f: { path: string; bytes: Buffer; cid: string }, extra: Partial<UploadFileOptions> = {}): UploadFileOptions {
  return { api, file: f.path, cid: f.cid, size: f.bytes.length, journalDir: join(dir, 'journals'), partSize: PART, concurrency: 2, ...extra };
}

it('sends a part again when S3 stored other bytes than its MD5 says, and stores the file exactly', async () => {
  const f = await file('mangled.bin');
  const net = recordingFetch((part, attempt) => part === 2 && attempt === 1);
  const result = await uploadFile(options(f, { fetch: net.fetch }));
  expect(result).toMatchObject({ alreadyStored: false, partsSent: 4, partsResumed: 0 });
  expect(net.puts.filter((p) => p === 2)).toHaveLength(2);
  expect(Buffer.from(await stored(f.cid)).equals(f.bytes)).toBe(true);
  expect(existsSync(join(dir, 'journals', `${f.cid}.json`))).toBe(false);
});

it('resumes a stopped upload from its journal without resending the parts that landed', async () => {
  const f = await file('resumed.bin');
  const stop = new AbortController();
  const first = recordingFetch();
  const error = await uploadFile(
    options(f, {
      fetch: first.fetch,
      concurrency: 1,
      signal: stop.signal,
      onProgress: (p) => p.partsDone >= 2 && stop.abort(),
    }),
  ).catch((e: unknown) => e);
  expect(error).toMatchObject({ name: 'UploadInterruptedError', partsDone: 2, partsTotal: 4 });
  expect((error as Error).message).toMatch(/run the same command again to send the rest/);
  expect(existsSync(join(dir, 'journals', `${f.cid}.json`))).toBe(true);
  expect(first.puts).toEqual([1, 2]);

  const progress: number[] = [];
  const second = recordingFetch();
  const result = await uploadFile(options(f, { fetch: second.fetch, concurrency: 1, onProgress: (p) => progress.push(p.partsDone) }));
  expect(result).toMatchObject({ alreadyStored: false, partsSent: 2, partsResumed: 2 });
  expect(second.puts).toEqual([3, 4]);
  expect(progress).toEqual([2, 3, 4]);
  expect(Buffer.from(await stored(f.cid)).equals(f.bytes)).toBe(true);
});

it('stops with UploadPartFailedError when a part keeps arriving mangled, keeping the parts that landed', async () => {
  const f = await file('failing.bin');
  const net = recordingFetch((part) => part === 3);
  const error = await uploadFile(options(f, { fetch: net.fetch, concurrency: 1, attempts: 2 })).catch((e: unknown) => e);
  expect(error).toMatchObject({ name: 'UploadPartFailedError', partNumber: 3 });
  expect((error as Error).message).toMatch(/not the part's [0-9a-f]{32}/);
  expect(net.puts).toEqual([1, 2, 3, 3]);
  // The next run sends only what is missing.
  const retry = recordingFetch();
  expect(await uploadFile(options(f, { fetch: retry.fetch, concurrency: 1 }))).toMatchObject({ partsResumed: 2, partsSent: 2 });
  expect(retry.puts).toEqual([3, 4]);
});

it('does not send a file the bucket already holds', async () => {
  const f = await file('twice.bin');
  await uploadFile(options(f));
  const net = recordingFetch();
  expect(await uploadFile(options(f, { fetch: net.fetch }))).toMatchObject({ alreadyStored: true, partsSent: 0 });
  expect(net.puts).toEqual([]);
});
