/**
 * Registered models as the worker needs them: files fetched by CID (local disk first, then the
 * BlobStore: S3, then IPFS, each content-checked), loaded, turned into the dispute graph, and
 * checked against the registry's roots before any work is done for the model. A model whose
 * registered commitment differs from what its files give could not be defended in a dispute.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../../shared/blobs/blobStore';
import { fileCid } from '../../shared/ipfs/cid';
import { kernelImageFromElf } from '../../shared/dnn/guest/kernelImage';
import { loadModel } from '../../shared/dnn/model';
import { assertModelDefensible } from '../../shared/models/defensible';
import { prepareModelRegistration, type PreparedModel } from '../../shared/models/registration';
import type { ModelRegistry } from '../../build/types';

/** Blobs by CID in a local folder; a file whose bytes no longer hash to its name is refetched. */
export class DiskBlobCache {
  constructor(private readonly dir: string, private readonly blobs: BlobStore) {}

  async get(cid: string): Promise<Uint8Array> {
    const file = join(this.dir, cid);
    try {
      const bytes = new Uint8Array(await readFile(file));
      if (fileCid(bytes) === cid) return bytes;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const bytes = await this.blobs.get(cid);
    await mkdir(this.dir, { recursive: true });
    // Write then rename: a crash never leaves a truncated file under a valid CID.
    await writeFile(`${file}.${process.pid}.tmp`, bytes);
    await rename(`${file}.${process.pid}.tmp`, file);
    return bytes;
  }
}

export class ModelCache {
  private readonly entries = new Map<string, Promise<PreparedModel>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly files: DiskBlobCache,
    private readonly capacity: number,
    /** Runs once on every model as it enters the cache, so the first job on it does not pay cold code and caches. */
    private readonly warm: (prepared: PreparedModel) => void = () => {},
  ) {}

  /** The prepared model, checked against the registry; the least recently used one is dropped past capacity. */
  async get(modelId: bigint): Promise<PreparedModel> {
    const key = modelId.toString();
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = this.load(modelId);
      // A failed load is not cached: the next job retries it (S3 or IPFS may be back).
      entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  private async load(modelId: bigint): Promise<PreparedModel> {
    const [graphCid, weightsCid, vmImageCid] = await this.registry.modelCids(modelId);
    const [spec, weights, elf] = await Promise.all([this.files.get(graphCid), this.files.get(weightsCid), this.files.get(vmImageCid)]);
    const prepared = prepareModelRegistration(loadModel(spec, weights), kernelImageFromElf(elf));
    await assertModelDefensible(this.registry, modelId, prepared);
    this.warm(prepared);
    return prepared;
  }
}
