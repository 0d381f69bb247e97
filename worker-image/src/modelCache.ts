/**
 * Registered models as the worker needs them, for models of any size:
 *
 * - On disk (`PackageFileCache`): each package's files under their CIDs, downloaded in one streaming
 *   pass that resumes a cut-off download and checks the CIDs and every tensor root on the way
 *   (shared/models/fetchPackage.ts). A manifest records what was verified with each file's size and
 *   modification time, so a restarted worker trusts its files after a stat, not a rehash of
 *   gigabytes, and a cached CID is never downloaded again. Packages are evicted least recently used
 *   first to stay under the configured byte cap; a full disk evicts the rest and tries once more.
 * - In memory (`ModelCache`): a few prepared models (their dispute graph; weights stay in their file
 *   and are read by offset), each checked against the registry's roots before any work is done for
 *   it: a model whose registered commitment differs from its files could not be defended.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelRegistry } from '../../build/types';
import { BlobDiskFullError, type BlobStore } from '../../shared/blobs/blobStore';
import { kernelImageFromElf, type KernelImage } from '../../shared/dnn/guest/kernelImage';
import { blobLayout, parseSpec } from '../../shared/dnn/model';
import { fileCid } from '../../shared/ipfs/cid';
import { assertModelDefensible } from '../../shared/models/defensible';
import { fetchPackage, loadPackageFile, weightsFileOf } from '../../shared/models/fetchPackage';
import type { PreparedModel } from '../../shared/models/registration';

const manifestSchema = z
  .object({
    packages: z.record(
      z.string(),
      z
        .object({
          graphCid: z.string(),
          weightsCid: z.string(),
          size: z.number().int().nonnegative(),
          mtimeMs: z.number(),
          weightsRoot: z.string(),
          verifiedAt: z.string(),
          lastUsed: z.number(),
        })
        .strict(),
    ),
  })
  .strict();
type Manifest = z.infer<typeof manifestSchema>;
type ManifestEntry = Manifest['packages'][string];

export class CacheTooSmallError extends Error {
  override name = 'CacheTooSmallError';
  constructor(readonly weightsCid: string, readonly size: number, readonly capBytes: number) {
    super(`model weights ${weightsCid} are ${size} bytes, more than the whole cache (OPML_WORKER_CACHE_BYTES = ${capBytes}): raise it`);
  }
}

export interface PackageLoad {
  prepared: PreparedModel;
  /** 'disk': trusted from the manifest; 'download': fetched (or resumed) and verified now. */
  from: 'disk' | 'download';
  seconds: number;
}

const packageKey = (graphCid: string, weightsCid: string): string => `${graphCid}.${weightsCid}`;

/** Package files by CID in one folder, with the manifest of what was verified. */
export class PackageFileCache {
  private manifest: Manifest | undefined;
  private writes = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly blobs: BlobStore,
    /** Bytes of weights the folder may hold (least recently used packages are evicted past it). */
    private readonly capBytes: number,
  ) {}

  private get manifestFile(): string {
    return join(this.dir, 'manifest.json');
  }

  private async loadManifest(): Promise<Manifest> {
    if (this.manifest) return this.manifest;
    await mkdir(this.dir, { recursive: true });
    try {
      const parsed = manifestSchema.safeParse(JSON.parse(await readFile(this.manifestFile, 'utf8')));
      this.manifest = parsed.success ? parsed.data : { packages: {} };
    } catch {
      this.manifest = { packages: {} };
    }
    return this.manifest;
  }

  private saveManifest(): Promise<void> {
    // One write at a time, each with the latest state; written whole, then renamed into place.
    this.writes = this.writes.then(async () => {
      const tmp = `${this.manifestFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(this.manifest));
      await rename(tmp, this.manifestFile);
    });
    return this.writes;
  }

  /** A small file (spec, kernel image) by CID, from this folder when it holds it unchanged. */
  private async smallFile(cid: string): Promise<Uint8Array> {
    const file = join(this.dir, cid);
    try {
      const bytes = new Uint8Array(await readFile(file));
      if (fileCid(bytes) === cid) return bytes;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const bytes = await this.blobs.get(cid);
    await mkdir(this.dir, { recursive: true });
    await writeFile(`${file}.${process.pid}.tmp`, bytes);
    await rename(`${file}.${process.pid}.tmp`, file);
    return bytes;
  }

  async kernel(vmImageCid: string): Promise<KernelImage> {
    return kernelImageFromElf(await this.smallFile(vmImageCid));
  }

  /** The package, from disk when the manifest's record of it still matches the file, else downloaded and verified. */
  async load(graphCid: string, weightsCid: string, kernel: KernelImage, onProgress?: (done: number, total: number | undefined) => void): Promise<PackageLoad> {
    const t0 = performance.now();
    const manifest = await this.loadManifest();
    const key = packageKey(graphCid, weightsCid);
    const weightsFile = weightsFileOf(this.dir, weightsCid);
    const entry = manifest.packages[key];
    const files = { graphCid, weightsCid };
    if (entry) {
      const st = await stat(weightsFile).catch(() => undefined);
      if (st && st.size === entry.size && st.mtimeMs === entry.mtimeMs) {
        const prepared = loadPackageFile(await this.smallFile(graphCid), files, weightsFile, kernel, 'trusted');
        entry.lastUsed = Date.now();
        await this.saveManifest();
        return { prepared, from: 'disk', seconds: (performance.now() - t0) / 1000 };
      }
      delete manifest.packages[key];
    }
    const size = blobLayout(parseSpec(await this.smallFile(graphCid)).tensors.filter((t) => t.byteLength !== undefined).map((t) => ({ name: t.name, byteLength: t.byteLength! }))).length;
    if (size > this.capBytes) throw new CacheTooSmallError(weightsCid, size, this.capBytes);
    await this.evict(this.capBytes - size, key);
    let fetched;
    try {
      fetched = await fetchPackage(this.blobs, files, kernel, this.dir, { onProgress });
    } catch (e) {
      if (!(e instanceof BlobDiskFullError)) throw e;
      // The cap was optimistic for this disk: make room with every other package, then resume.
      await this.evict(0, key);
      fetched = await fetchPackage(this.blobs, files, kernel, this.dir, { onProgress });
    }
    const st = await stat(weightsFile);
    manifest.packages[key] = { graphCid, weightsCid, size: st.size, mtimeMs: st.mtimeMs, weightsRoot: fetched.roots.root, verifiedAt: new Date().toISOString(), lastUsed: Date.now() };
    await this.saveManifest();
    return { prepared: fetched.prepared, from: 'download', seconds: (performance.now() - t0) / 1000 };
  }

  /** Deletes least recently used packages (never `keep`) until their weights total at most `budget` bytes. */
  private async evict(budget: number, keep: string): Promise<void> {
    const manifest = await this.loadManifest();
    const entries = Object.entries(manifest.packages).filter(([k]) => k !== keep);
    let total = entries.reduce((n, [, e]) => n + e.size, 0);
    for (const [k, e] of entries.sort((a, b) => a[1].lastUsed - b[1].lastUsed)) {
      if (total <= budget) break;
      delete manifest.packages[k];
      total -= e.size;
      // A model still in use keeps reading its open file: Linux frees the bytes once it is closed.
      if (!Object.values(manifest.packages).some((other: ManifestEntry) => other.weightsCid === e.weightsCid)) await rm(weightsFileOf(this.dir, e.weightsCid), { force: true });
    }
    await this.saveManifest();
  }
}

export class ModelCache {
  private readonly entries = new Map<string, Promise<PreparedModel>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly files: PackageFileCache,
    private readonly capacity: number,
    /** Runs once on every model as it enters the cache, so the first job on it does not pay cold code and caches. */
    private readonly warm: (prepared: PreparedModel) => void = () => {},
    private readonly onLoad: (modelId: bigint, load: PackageLoad) => void = () => {},
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
    const kernel = await this.files.kernel(vmImageCid);
    const load = await this.files.load(graphCid, weightsCid, kernel);
    const { prepared } = load;
    await assertModelDefensible(this.registry, modelId, prepared);
    this.onLoad(modelId, load);
    this.warm(prepared);
    return prepared;
  }
}
