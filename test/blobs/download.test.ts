/**
 * BlobStore.download on a real S3 server (s3rver) and the embedded IPFS store: a multi-chunk blob is
 * streamed to disk with its CID checked, every byte handed to the caller's hasher; a download cut off
 * mid-way (a proxy in front of S3 drops the connection) resumes from the bytes already written, as
 * does one interrupted between runs; bytes that are not the CID are refused and deleted; IPFS serves
 * what S3 lacks; a full disk stops with a typed error and keeps what landed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { awsClients } from '../../shared/aws/config';
import { ensureBucket, putObject } from '../../shared/aws/s3';
import { BlobStore } from '../../shared/blobs/blobStore';
import { fileCid } from '../../shared/ipfs/cid';
import { openEmbeddedIpfs } from '../../shared/ipfs/embedded';
import type { IpfsStore } from '../../shared/ipfs/store';
import { deterministicBytes } from '../helpers/deterministicBytes';
import { startLocalAws, type LocalAws } from '../helpers/servers';

jest.setTimeout(60_000);

const BUCKET = 'download-data';
let aws: LocalAws;
let ipfs: IpfsStore;
let blobs: BlobStore;
let dir: string;
const blob = deterministicBytes(3 * (1 << 20) + 12345, 11);
const cid = fileCid(blob);

/** An HTTP proxy to S3 that, while `cutAfter` is set, ends each response after that many body bytes. */
let proxy: Server;
let cutAfter: number | undefined;
let cuts = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  const { s3 } = awsClients(aws.config);
  await ensureBucket(s3, BUCKET);
  await putObject(s3, BUCKET, `blobs/${cid}`, blob);
  const target = new URL(aws.config.s3Endpoint!);
  proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (cutAfter !== undefined && sent + chunk.length > cutAfter) {
          res.write(chunk.subarray(0, cutAfter - sent));
          cuts++;
          res.destroy();
          up.destroy();
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      up.on('end', () => res.end());
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const viaProxy = new S3Client({ region: 'us-east-1', credentials: aws.config.credentials, endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, forcePathStyle: true });
  dir = await mkdtemp(join(tmpdir(), 'download-'));
  ipfs = await openEmbeddedIpfs(join(dir, 'ipfs'));
  blobs = new BlobStore(viaProxy, ipfs, { bucket: BUCKET, maxBytes: 64 << 20 });
});
afterAll(async () => {
  await ipfs?.close();
  await new Promise((r) => proxy?.close(r));
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function collectDownload(file: string, options: Parameters<BlobStore['download']>[2] = {}) {
  const seen: Uint8Array[] = [];
  const result = await blobs.download(cid, file, { ...options, onBytes: (c) => void seen.push(Uint8Array.from(c)) });
  return { result, seen: Buffer.concat(seen) };
}

it('streams a multi-chunk blob to disk, checking its CID and handing every byte to the caller', async () => {
  const file = join(dir, 'whole');
  const progress: number[] = [];
  const { result, seen } = await collectDownload(file, { onProgress: (done) => progress.push(done) });
  expect(result).toEqual({ size: blob.length, resumedFrom: 0, source: 'S3' });
  expect(Buffer.from(await readFile(file)).equals(Buffer.from(blob))).toBe(true);
  expect(seen.equals(Buffer.from(blob))).toBe(true);
  expect(progress.at(-1)).toBe(blob.length);
});

it('resumes a stream cut off mid-way from the bytes already written', async () => {
  cuts = 0;
  cutAfter = 1 << 20;
  try {
    const { result, seen } = await collectDownload(join(dir, 'cut'), { attempts: 5 });
    expect(result.size).toBe(blob.length);
    expect(cuts).toBeGreaterThanOrEqual(2);
    expect(seen.equals(Buffer.from(blob))).toBe(true);
    expect(Buffer.from(await readFile(join(dir, 'cut'))).equals(Buffer.from(blob))).toBe(true);
  } finally {
    cutAfter = undefined;
  }
});

it('a download interrupted in an earlier run resumes from its partial file, reading the prefix back for the hashers', async () => {
  const file = join(dir, 'resumed');
  await writeFile(`${file}.partial`, blob.subarray(0, 1_000_000));
  const { result, seen } = await collectDownload(file);
  expect(result).toEqual({ size: blob.length, resumedFrom: 1_000_000, source: 'S3' });
  expect(seen.equals(Buffer.from(blob))).toBe(true);
  await expect(stat(`${file}.partial`)).rejects.toThrow();
});

it('refuses bytes that are not the CID, naming both CIDs, and deletes them', async () => {
  const file = join(dir, 'corrupt');
  const wrong = Uint8Array.from(blob.subarray(0, 500_000));
  wrong[10] ^= 1;
  await writeFile(`${file}.partial`, wrong);
  await expect(blobs.download(cid, file)).rejects.toMatchObject({ name: 'BlobCidMismatchError', expected: cid, source: 'S3' });
  await expect(stat(`${file}.partial`)).rejects.toThrow();
  await expect(stat(file)).rejects.toThrow();
  // The next attempt starts over and succeeds.
  expect((await blobs.download(cid, file)).resumedFrom).toBe(0);
});

it('fetches from IPFS what S3 does not hold, resuming there too', async () => {
  const other = deterministicBytes(700_000, 12);
  const otherCid = await ipfs.add(other);
  const file = join(dir, 'from-ipfs');
  await writeFile(`${file}.partial`, other.subarray(0, 300_000));
  const result = await blobs.download(otherCid, file);
  expect(result).toEqual({ size: other.length, resumedFrom: 300_000, source: 'IPFS' });
  expect(Buffer.from(await readFile(file)).equals(Buffer.from(other))).toBe(true);
  await expect(blobs.download(fileCid(new Uint8Array([1, 2, 3])), join(dir, 'nowhere'))).rejects.toMatchObject({ name: 'BlobNotFoundError' });
});

it('stops on a full disk with BlobDiskFullError, keeping what landed for a resume', async () => {
  // A 1 MiB tmpfs is a disk that fills up for real (the tests run as root, as CI does).
  const small = join(dir, 'small-disk');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  try {
    const file = join(small, 'blob');
    const error = await blobs.download(cid, file).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BlobDiskFullError', cid, file });
    expect((error as { bytesWritten: number }).bytesWritten).toBeGreaterThan(0);
    expect((await stat(`${file}.partial`)).size).toBeGreaterThan(0);
  } finally {
    execFileSync('umount', [small]);
  }
});
