import { awsClients, type AwsClients } from '../../shared/aws/config';
import { AwsConfigError, S3ContentMismatchError, S3ObjectNotFoundError, S3ObjectTooLargeError, S3PreconditionFailedError, SqsRequestError } from '../../shared/aws/errors';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ContentAddressedStore, ensureBucket, getObject, putObject } from '../../shared/aws/s3';
import { changeVisibility, createQueueWithDlq, deleteMessage, receiveMessages, sendMessages } from '../../shared/aws/sqs';
import { rawCid } from '../../shared/dnn/cid';
import { fileCid } from '../../shared/ipfs/cid';
import { openIpfsStore } from '../../shared/ipfs/store';
import { startLocalAws, type LocalAws } from '../helpers/servers';

let aws: LocalAws;
let clients: AwsClients;
beforeAll(async () => {
  aws = await startLocalAws();
  clients = awsClients(aws.config);
});
afterAll(() => aws.stop());

describe('configuration', () => {
  it('names the bad field and reuses clients', () => {
    expect(() => awsClients({ s3Endpoint: 'not a url' })).toThrow(AwsConfigError);
    expect(() => awsClients({ s3Endpoint: 'not a url' })).toThrow(/s3Endpoint/);
    expect(awsClients(aws.config)).toBe(clients);
  });
});

describe('the local S3 server', () => {
  it('serves each GET from one whole version while the object is rewritten at other sizes, and lists no staging keys', async () => {
    // What the views consumer does to a view while the API reads it (CI once read a view cut at
    // the previous version's length: "Unterminated string in JSON").
    const bucket = 'rewrites';
    await ensureBucket(clients.s3, bucket);
    const version = (v: number) => new TextEncoder().encode(JSON.stringify({ v, pad: 'x'.repeat(((v * 7919) % 40) * 1000 + 3000) }));
    await putObject(clients.s3, bucket, 'views/stats.json', version(0));
    let writing = true;
    const writes = (async () => {
      for (let v = 1; v <= 150; v++) await putObject(clients.s3, bucket, 'views/stats.json', version(v));
      writing = false;
    })();
    const seen = new Set<number>();
    const torn: string[] = [];
    const reader = async () => {
      while (writing) {
        const { body } = await getObject(clients.s3, bucket, 'views/stats.json', 1 << 20);
        const text = new TextDecoder().decode(body);
        try {
          const doc = JSON.parse(text) as { v: number; pad: string };
          if (text !== new TextDecoder().decode(version(doc.v))) torn.push(`version ${doc.v} with other bytes`);
          seen.add(doc.v);
        } catch {
          torn.push(`${body.length} bytes that are no JSON`);
        }
      }
    };
    await Promise.all([writes, reader(), reader(), reader()]);
    expect(torn).toEqual([]);
    expect(seen.size).toBeGreaterThan(5);
    const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['views/stats.json']);
  });
});

describe('content-addressed S3 store', () => {
  const bucket = 'blobs';
  beforeAll(() => ensureBucket(clients.s3, bucket));

  it('round-trips bytes under their CID and survives a server restart', async () => {
    const store = new ContentAddressedStore(clients.s3, { bucket, prefix: 'b/', maxBytes: 1024 });
    const bytes = new TextEncoder().encode('hello world\n');
    const cid = await store.put(bytes);
    expect(cid).toBe(rawCid(bytes));
    expect(await store.put(bytes)).toBe(cid);
    await aws.restartS3();
    expect(await store.get(cid)).toEqual(bytes);
  });

  it('keys by the IPFS CID of any size when given fileCid', async () => {
    const store = new ContentAddressedStore(clients.s3, { bucket, prefix: 'ipfs/', maxBytes: 1 << 20, cidOf: fileCid });
    const bytes = Uint8Array.from({ length: 600_000 }, (_, i) => (i * 7) & 0xff);
    const cid = await store.put(bytes);
    const ipfs = await openIpfsStore({ kind: 'embedded' });
    expect(await ipfs.add(bytes)).toBe(cid);
    expect(cid).not.toBe(rawCid(bytes));
    expect(await store.get(cid)).toEqual(bytes);
  });

  it('refuses tampered, missing and oversized content, naming bucket and key', async () => {
    const store = new ContentAddressedStore(clients.s3, { bucket, prefix: 'b/', maxBytes: 16 });
    const cid = await store.put(new TextEncoder().encode('original'));
    await putObject(clients.s3, bucket, store.key(cid), new TextEncoder().encode('tampered'));
    const mismatch = await store.get(cid).catch((e) => e);
    expect(mismatch).toBeInstanceOf(S3ContentMismatchError);
    expect(mismatch).toMatchObject({ bucket, key: `b/${cid}`, expectedCid: cid });
    await expect(store.get(rawCid(new Uint8Array([9])))).rejects.toBeInstanceOf(S3ObjectNotFoundError);
    await expect(store.put(new Uint8Array(17))).rejects.toMatchObject({ name: 'S3ObjectTooLargeError', size: 17, limit: 16 });
    const big = new ContentAddressedStore(clients.s3, { bucket, prefix: 'b/', maxBytes: 100 });
    const bigCid = await big.put(new Uint8Array(50));
    await expect(store.get(bigCid)).rejects.toBeInstanceOf(S3ObjectTooLargeError);
  });
});

describe('conditional writes', () => {
  it('let only one of two writers that read the same version win', async () => {
    await ensureBucket(clients.s3, 'docs');
    const first = await putObject(clients.s3, 'docs', 'a/doc.json', '{"v":1}', { ifMatch: null });
    await expect(putObject(clients.s3, 'docs', 'a/doc.json', '{"v":1}', { ifMatch: null })).rejects.toBeInstanceOf(S3PreconditionFailedError);
    const results = await Promise.allSettled([
      putObject(clients.s3, 'docs', 'a/doc.json', '{"v":2}', { ifMatch: first }),
      putObject(clients.s3, 'docs', 'a/doc.json', '{"v":3}', { ifMatch: first }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ name: 'S3PreconditionFailedError', bucket: 'docs', key: 'a/doc.json', expectedEtag: first });
  });
});

describe('SQS', () => {
  it('drops a FIFO duplicate and delivers each group in order', async () => {
    const q = await createQueueWithDlq(clients.sqs, { name: 'dedup', fifo: true, visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    await sendMessages(clients.sqs, q.url, [
      { body: 'a1', groupId: 'a', deduplicationId: 'tx:0' },
      { body: 'a2', groupId: 'a', deduplicationId: 'tx:1' },
    ]);
    await sendMessages(clients.sqs, q.url, [{ body: 'a1-again', groupId: 'a', deduplicationId: 'tx:0' }]);
    const got = await receiveMessages(clients.sqs, q.url, { waitSeconds: 1 });
    expect(got.map((m) => m.body)).toEqual(['a1', 'a2']);
    for (const m of got) await deleteMessage(clients.sqs, q.url, m.receiptHandle);
    expect(await receiveMessages(clients.sqs, q.url, { waitSeconds: 1 })).toEqual([]);
  });

  it('redelivers after a visibility change and moves a message to the DLQ after maxReceiveCount', async () => {
    const q = await createQueueWithDlq(clients.sqs, { name: 'poison', fifo: false, visibilityTimeoutSeconds: 30, maxReceiveCount: 2 });
    await sendMessages(clients.sqs, q.url, [{ body: 'poison' }]);
    // A consumer that always fails hands the message back at once; it must stop coming back within
    // maxReceiveCount deliveries (local-aws-sqs redrives on the last allowed one, AWS on the next).
    let deliveries = 0;
    for (;;) {
      const [m] = await receiveMessages(clients.sqs, q.url, { waitSeconds: 1 });
      if (!m) break;
      deliveries++;
      expect(m).toMatchObject({ body: 'poison', receiveCount: deliveries });
      expect(await receiveMessages(clients.sqs, q.url, { waitSeconds: 0 })).toEqual([]);
      await changeVisibility(clients.sqs, q.url, m.receiptHandle, 0);
    }
    expect(deliveries).toBeGreaterThanOrEqual(1);
    expect(deliveries).toBeLessThanOrEqual(2);
    const dead = await receiveMessages(clients.sqs, q.dlqUrl, { waitSeconds: 1 });
    expect(dead.map((m) => m.body)).toEqual(['poison']);
  });

  it('keeps queues and messages across an SQS outage, refusing calls only while it is down', async () => {
    const q = await createQueueWithDlq(clients.sqs, { name: 'outage', fifo: true, visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    await sendMessages(clients.sqs, q.url, [{ body: 'before', groupId: 'g', deduplicationId: 'b' }]);
    const restarted = aws.restartSqs(1_500);
    await new Promise((r) => setTimeout(r, 300));
    await expect(sendMessages(clients.sqs, q.url, [{ body: 'during', groupId: 'g', deduplicationId: 'd' }])).rejects.toThrow(SqsRequestError);
    await restarted;
    await sendMessages(clients.sqs, q.url, [{ body: 'after', groupId: 'g', deduplicationId: 'a' }]);
    const got = await receiveMessages(clients.sqs, q.url, { waitSeconds: 1 });
    expect(got.map((m) => m.body)).toEqual(['before', 'after']);
  });
});
