/**
 * Sparse paged memory over the whole 2^32-byte space, with the incremental binary keccak Merkle
 * tree of docs/vm-spec.md section 3.
 *
 * - 4 KiB pages. Unallocated pages all point at one shared zero page, so reads never check; a
 *   write goes through `writable` (one byte per page) and takes the slow path the first time a
 *   page is touched after a root, a snapshot or a code fetch: that path allocates or copies the
 *   page (copy-on-write), marks it dirty, and tells the interpreter when code was overwritten.
 * - The tree is cached from the page roots (tree level 7) up to the root (level 27); `root()`
 *   rehashes only dirty pages and their ancestors. Node arrays are never mutated once stored, so
 *   snapshots share them with the live tree.
 * - `mapRegion` places a large aligned region (a tensor of tens of MB) whose root is already known:
 *   its pages are views of the caller's bytes (shared, copied on write) and only its root enters the
 *   tree. The region's inner tree is built the first time something needs it (a proof or a write
 *   inside it), which a node's weights never do during a VM run; so building a start state costs
 *   neither a copy nor a hash of them, and neither do its snapshots.
 */
import { hashPairWords } from './keccak';
import { VMMerkleRegionInvalid, VMRegionRootMismatch } from './errors';
import { fromWords, merkleRootOfBytes, ZERO_WORDS } from './merkle';
import { LEAF_SHIFT, LEAF_SIZE, MERKLE_PROOF_SIZE, TREE_DEPTH } from './spec';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_COUNT = 1 << (32 - PAGE_SHIFT);
/** Tree level of a page root: a page holds 2^7 leaves. */
const PAGE_LEVEL = PAGE_SHIFT - LEAF_SHIFT;
/** Levels above the page roots, up to the memory root. */
const UPPER_LEVELS = TREE_DEPTH - PAGE_LEVEL;

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
const ZERO_PAGE_I32 = new Int32Array(ZERO_PAGE.buffer);

/**
 * Pages are found through a two-level table (1024 directories of 1024 pages): a flat table of
 * 2^20 entries costs tens of milliseconds per Memory, and checkpoints and tests create many.
 * Untouched directories share one all-zero directory.
 */
export const DIR_SHIFT = 22;
const DIR_PAGES = 1 << (DIR_SHIFT - PAGE_SHIFT);
const ZERO_DIR_U8: Uint8Array[] = new Array<Uint8Array>(DIR_PAGES).fill(ZERO_PAGE);
const ZERO_DIR_I32: Int32Array[] = new Array<Int32Array>(DIR_PAGES).fill(ZERO_PAGE_I32);

/** A page's root as the tree caches it: 8 little-endian words. */
const pageRoot = (page: Uint8Array): Uint32Array => {
  const root = merkleRootOfBytes(page);
  return new Uint32Array(root.buffer, root.byteOffset, 8);
};

/** Z[level] as a word array (never mutated). */
const zeroNode = (level: number): Uint32Array => ZERO_WORDS.subarray(8 * level, 8 * level + 8);

/** A mapped region whose root is in the tree but whose pages' and inner nodes' hashes are not yet. */
interface LazyRegion {
  readonly firstPage: number;
  readonly pageCount: number;
  /** its root's place in `levels` */
  readonly level: number;
  readonly index: number;
}

/** An immutable capture of a memory: shares pages and tree nodes with whoever it came from. */
export interface MemorySnapshot {
  readonly pageIndices: Int32Array;
  readonly pages: Uint8Array[];
  /** levels[l]: tree nodes at tree level PAGE_LEVEL + l, by index. */
  readonly levels: Map<number, Uint32Array>[];
  readonly lazy: readonly LazyRegion[];
}

export type CodeWriteListener = (pageIndex: number) => void;

export class Memory {
  /** Byte view of page p at dirsU8[p >>> 10][p & 1023] (the shared zero page where unallocated). Read-only for callers. */
  readonly dirsU8: Uint8Array[][] = new Array<Uint8Array[]>(PAGE_COUNT / DIR_PAGES).fill(ZERO_DIR_U8);
  /** Little-endian word view of the same pages. */
  readonly dirsI32: Int32Array[][] = new Array<Int32Array[]>(PAGE_COUNT / DIR_PAGES).fill(ZERO_DIR_I32);
  /** 1 where a store may write the page directly: owned, already dirty, and holding no compiled code. */
  readonly writable = new Uint8Array(PAGE_COUNT);

  private readonly owned = new Uint8Array(PAGE_COUNT);
  private readonly dirty = new Uint8Array(PAGE_COUNT);
  private readonly code = new Uint8Array(PAGE_COUNT);
  private dirtyPages: number[] = [];
  private allocated: number[] = [];
  private levels: Map<number, Uint32Array>[] = Array.from({ length: UPPER_LEVELS + 1 }, () => new Map());
  private lazy: LazyRegion[] = [];
  /** Mapped region roots whose ancestors the next flush recomputes, as [level, index]. */
  private changedNodes: [number, number][] = [];
  private codeWriteListener: CodeWriteListener | undefined;

  static fromSnapshot(snapshot: MemorySnapshot): Memory {
    const memory = new Memory();
    memory.restore(snapshot);
    return memory;
  }

  /**
   * Called (once per page until it is fetched from again) when a store hits a page marked as code.
   * One listener: a Memory drives one Machine at a time (Machine's constructor registers itself).
   */
  onCodeWrite(listener: CodeWriteListener | undefined): void {
    this.codeWriteListener = listener;
  }

  /** Marks a page as holding compiled code: stores to it take the slow path and notify the listener. */
  markCode(pageIndex: number): void {
    this.code[pageIndex] = 1;
    this.writable[pageIndex] = 0;
  }

  get pageCount(): number {
    return this.allocated.length;
  }

  // Reads

  /** The bytes of page `pageIndex` (shared zero page when untouched); never write through it. */
  page(pageIndex: number): Uint8Array {
    return this.dirsU8[pageIndex >>> (DIR_SHIFT - PAGE_SHIFT)][pageIndex & (DIR_PAGES - 1)];
  }

  private setPage(pageIndex: number, bytes: Uint8Array): void {
    const d = pageIndex >>> (DIR_SHIFT - PAGE_SHIFT);
    if (this.dirsU8[d] === ZERO_DIR_U8) {
      this.dirsU8[d] = ZERO_DIR_U8.slice();
      this.dirsI32[d] = ZERO_DIR_I32.slice();
    }
    this.dirsU8[d][pageIndex & (DIR_PAGES - 1)] = bytes;
    this.dirsI32[d][pageIndex & (DIR_PAGES - 1)] =
      bytes === ZERO_PAGE ? ZERO_PAGE_I32 : new Int32Array(bytes.buffer, bytes.byteOffset, PAGE_SIZE / 4);
  }

  readByte(address: number): number {
    return this.page(address >>> PAGE_SHIFT)[address & (PAGE_SIZE - 1)];
  }

  /** Little-endian 32-bit read; `address` must be 4-aligned. */
  readWord(address: number): number {
    return this.dirsI32[address >>> DIR_SHIFT][(address >>> PAGE_SHIFT) & (DIR_PAGES - 1)][(address & (PAGE_SIZE - 1)) >> 2] >>> 0;
  }

  /** `length` bytes from `address`, wrapping around the 2^32 space. */
  readBytes(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = (address + done) >>> 0;
      const o = a & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - o, length - done);
      out.set(this.page(a >>> PAGE_SHIFT).subarray(o, o + n), done);
      done += n;
    }
    return out;
  }

  // Writes

  /**
   * Makes a page privately owned and dirty so it can be written in place, after notifying the
   * code listener when the page held compiled code.
   */
  prepareWrite(pageIndex: number): void {
    if (this.lazy.length > 0) this.materializeAt(pageIndex);
    this.dropCode(pageIndex);
    if (!this.owned[pageIndex]) {
      const current = this.page(pageIndex);
      if (current === ZERO_PAGE) this.allocated.push(pageIndex);
      this.setPage(pageIndex, current === ZERO_PAGE ? new Uint8Array(PAGE_SIZE) : current.slice());
      this.owned[pageIndex] = 1;
    }
    if (!this.dirty[pageIndex]) {
      this.dirty[pageIndex] = 1;
      this.dirtyPages.push(pageIndex);
    }
    this.writable[pageIndex] = 1;
  }

  writeByte(address: number, value: number): void {
    const p = address >>> PAGE_SHIFT;
    if (!this.writable[p]) this.prepareWrite(p);
    this.page(p)[address & (PAGE_SIZE - 1)] = value;
  }

  /** Little-endian 32-bit write; `address` must be 4-aligned. */
  writeWord(address: number, value: number): void {
    const p = address >>> PAGE_SHIFT;
    if (!this.writable[p]) this.prepareWrite(p);
    this.dirsI32[p >>> (DIR_SHIFT - PAGE_SHIFT)][p & (DIR_PAGES - 1)][(address & (PAGE_SIZE - 1)) >> 2] = value;
  }

  /** Copies `bytes` to `address`, wrapping around the 2^32 space. */
  writeBytes(address: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const a = (address + done) >>> 0;
      const p = a >>> PAGE_SHIFT;
      const o = a & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - o, bytes.length - done);
      if (!this.writable[p]) this.prepareWrite(p);
      this.page(p).set(bytes.subarray(done, done + n), o);
      done += n;
    }
  }

  /**
   * Places `bytes` at `address`, zero-padded to the aligned region of paddedSize(bytes.length), whose
   * Merkle root is `root` (as merkleRootOfBytes gives it). The region must be untouched. From a page
   * up, its pages are views of `bytes` (which must not change afterwards) and its tree is built only
   * when needed, then checked against `root` (VMRegionRootMismatch); smaller regions are written.
   */
  mapRegion(address: number, bytes: Uint8Array, root: Uint8Array): void {
    let size = LEAF_SIZE;
    while (size < bytes.length) size *= 2;
    const a = address >>> 0;
    if (size > 2 ** 32 || a % size !== 0 || a + size > 2 ** 32) throw new VMMerkleRegionInvalid(address, size);
    if (size < PAGE_SIZE) return this.writeBytes(a, bytes);
    const firstPage = a >>> PAGE_SHIFT;
    const pageCount = size / PAGE_SIZE;
    for (let p = firstPage; p < firstPage + pageCount; p++)
      if (this.page(p) !== ZERO_PAGE) throw new VMMerkleRegionInvalid(address, size);
    for (let i = 0; i * PAGE_SIZE < bytes.length; i++) {
      const start = i * PAGE_SIZE;
      const whole = start + PAGE_SIZE <= bytes.length && (bytes.byteOffset + start) % 4 === 0;
      const page = whole ? bytes.subarray(start, start + PAGE_SIZE) : new Uint8Array(PAGE_SIZE);
      if (!whole) page.set(bytes.subarray(start, Math.min(bytes.length, start + PAGE_SIZE)));
      this.setPage(firstPage + i, page);
      this.allocated.push(firstPage + i);
    }
    const level = Math.log2(size) - PAGE_SHIFT;
    const index = a / size;
    this.levels[level].set(index, new Uint32Array(root.buffer.slice(root.byteOffset, root.byteOffset + LEAF_SIZE)));
    this.lazy.push({ firstPage, pageCount, level, index });
    this.changedNodes.push([level, index]);
  }

  /** Builds the inner tree of the lazy region holding `pageIndex`, if any. */
  private materializeAt(pageIndex: number): void {
    const i = this.lazy.findIndex((r) => pageIndex >= r.firstPage && pageIndex < r.firstPage + r.pageCount);
    if (i < 0) return;
    const region = this.lazy[i];
    this.lazy = this.lazy.filter((_, k) => k !== i);
    let changed: number[] = [];
    for (let p = region.firstPage; p < region.firstPage + region.pageCount; p++) {
      const page = this.page(p);
      if (page === ZERO_PAGE) continue;
      this.levels[0].set(p, pageRoot(page));
      changed.push(p);
    }
    const given = this.levels[region.level].get(region.index)!;
    for (let l = 1; l <= region.level; l++) changed = this.rehashParents(l, changed);
    const built = this.levels[region.level].get(region.index) ?? zeroNode(PAGE_LEVEL + region.level);
    for (let w = 0; w < 8; w++)
      if (built[w] !== given[w]) throw new VMRegionRootMismatch(region.firstPage * PAGE_SIZE, region.pageCount * PAGE_SIZE, fromWords(given), fromWords(built));
  }

  /** Any lazy region overlapping [address, address + size): built, so every node inside it exists. */
  private materializeRange(address: number, size: number): void {
    const first = address >>> PAGE_SHIFT;
    const last = (address + Math.max(size, 1) - 1) >>> PAGE_SHIFT;
    for (const r of [...this.lazy]) if (r.firstPage <= last && first < r.firstPage + r.pageCount) this.materializeAt(r.firstPage);
  }

  // Merkle tree

  /** The memory root (32 bytes), rehashing only what changed since the last call. */
  root(): Uint8Array {
    this.flush();
    return fromWords(this.node(UPPER_LEVELS, 0));
  }

  /** The 896-byte proof for the leaf holding `address`: leaf, then 27 siblings leaf level first. */
  proof(address: number): Uint8Array {
    const a = address >>> 0;
    if (this.lazy.length > 0) this.materializeAt(a >>> PAGE_SHIFT);
    this.flush();
    const out = new Uint8Array(MERKLE_PROOF_SIZE);
    const pageIndex = a >>> PAGE_SHIFT;
    const page = this.page(pageIndex);
    const leafOffset = a & (PAGE_SIZE - LEAF_SIZE);
    out.set(page.subarray(leafOffset, leafOffset + LEAF_SIZE), 0);
    // Inside the page: rebuild its levels (cheap next to a step's proof) and pick the siblings.
    const levels = pageLevels(page);
    let k = leafOffset >>> LEAF_SHIFT;
    for (let level = 0; level < PAGE_LEVEL; level++) {
      const sibling = levels[level].subarray(8 * (k ^ 1), 8 * (k ^ 1) + 8);
      out.set(new Uint8Array(sibling.buffer, sibling.byteOffset, LEAF_SIZE), LEAF_SIZE * (level + 1));
      k >>>= 1;
    }
    let index = pageIndex;
    for (let l = 0; l < UPPER_LEVELS; l++) {
      const sibling = this.node(l, index ^ 1);
      out.set(new Uint8Array(sibling.buffer, sibling.byteOffset, LEAF_SIZE), LEAF_SIZE * (PAGE_LEVEL + l + 1));
      index >>>= 1;
    }
    return out;
  }

  /** Root of the aligned region [address, address + size), size a power of two >= 32. */
  subtreeRoot(address: number, size: number): Uint8Array {
    const a = address >>> 0;
    const valid = Number.isInteger(size) && size >= LEAF_SIZE && size <= 2 ** 32 && (size & (size - 1)) === 0;
    if (!valid || a % size !== 0) throw new VMMerkleRegionInvalid(address, size);
    const lazyRoot = this.lazy.find((r) => r.firstPage * PAGE_SIZE === a && r.pageCount * PAGE_SIZE === size);
    if (lazyRoot) return fromWords(this.levels[lazyRoot.level].get(lazyRoot.index)!);
    // A page's own subtrees come from its bytes; a larger one needs the inner tree of any lazy region under it.
    if (size > PAGE_SIZE && this.lazy.length > 0) this.materializeRange(a, size);
    if (size <= PAGE_SIZE) {
      const page = this.page(a >>> PAGE_SHIFT);
      const level = Math.log2(size) - LEAF_SHIFT;
      const o = a & (PAGE_SIZE - 1);
      if (level === 0) return page.slice(o, o + LEAF_SIZE);
      const words = pageLevels(page)[level];
      const k = o / size;
      return fromWords(words, 8 * k, 8);
    }
    this.flush();
    const l = Math.log2(size) - PAGE_SHIFT;
    return fromWords(this.node(l, Math.floor(a / size)));
  }

  // Snapshots

  /**
   * Captures the memory (and its tree) without copying pages: from now on both sides copy a page
   * before writing it.
   */
  snapshot(): MemorySnapshot {
    this.flush();
    const pageIndices = Int32Array.from(this.allocated);
    const pages = this.allocated.map((p) => this.page(p));
    for (const p of this.allocated) {
      this.owned[p] = 0;
      this.writable[p] = 0;
    }
    return { pageIndices, pages, levels: this.levels.map((m) => new Map(m)), lazy: [...this.lazy] };
  }

  /** Replaces this memory's contents by a snapshot's (pages shared, copied on write). */
  restore(snapshot: MemorySnapshot): void {
    for (const p of this.allocated) {
      this.setPage(p, ZERO_PAGE);
      this.owned[p] = 0;
      this.writable[p] = 0;
      this.dirty[p] = 0;
      this.dropCode(p);
    }
    for (const p of this.dirtyPages) {
      this.dirty[p] = 0;
      this.writable[p] = 0;
    }
    this.dirtyPages = [];
    this.allocated = Array.from(snapshot.pageIndices);
    snapshot.pageIndices.forEach((p, i) => {
      this.setPage(p, snapshot.pages[i]);
      this.dropCode(p);
    });
    this.levels = snapshot.levels.map((m) => new Map(m));
    this.lazy = [...snapshot.lazy];
    this.changedNodes = [];
  }

  /** An independent copy (copy-on-write: cheap until either side writes). */
  clone(): Memory {
    return Memory.fromSnapshot(this.snapshot());
  }

  private dropCode(pageIndex: number): void {
    if (!this.code[pageIndex]) return;
    this.code[pageIndex] = 0;
    this.codeWriteListener?.(pageIndex);
  }

  private node(l: number, index: number): Uint32Array {
    return this.levels[l].get(index) ?? zeroNode(PAGE_LEVEL + l);
  }

  private flush(): void {
    if (this.dirtyPages.length === 0 && this.changedNodes.length === 0) return;
    let changed: number[] = [];
    const pageRoots = this.levels[0];
    for (const p of this.dirtyPages) {
      this.dirty[p] = 0;
      this.writable[p] = 0;
      pageRoots.set(p, pageRoot(this.page(p)));
      changed.push(p);
    }
    this.dirtyPages = [];
    const mapped = this.changedNodes;
    this.changedNodes = [];
    for (let l = 1; l <= UPPER_LEVELS; l++) {
      for (const [level, index] of mapped) if (level === l - 1) changed.push(index);
      changed = this.rehashParents(l, changed);
    }
  }

  /** Recomputes the level-`l` parents of the changed level-(l − 1) nodes; returns the parents. */
  private rehashParents(l: number, changed: number[]): number[] {
    const below = this.levels[l - 1];
    const here = this.levels[l];
    const zero = zeroNode(PAGE_LEVEL + l - 1);
    const parents: number[] = [];
    let last = -1;
    changed.sort((x, y) => x - y);
    for (const child of changed) {
      const parent = child >>> 1;
      if (parent === last) continue;
      last = parent;
      parents.push(parent);
      const node = new Uint32Array(8);
      hashPairWords(below.get(2 * parent) ?? zero, 0, below.get(2 * parent + 1) ?? zero, 0, node, 0);
      here.set(parent, node);
    }
    return parents;
  }
}

/**
 * Every level of a page's subtree: levels[0] the 128 leaves (as words), levels[7] its root.
 * Pairs of zero children hash to the known zero node without running keccak.
 */
function pageLevels(page: Uint8Array): Uint32Array[] {
  const levels: Uint32Array[] = [new Uint32Array(page.buffer.slice(page.byteOffset, page.byteOffset + PAGE_SIZE))];
  for (let level = 1; level <= PAGE_LEVEL; level++) {
    const below = levels[level - 1];
    const n = below.length / 16;
    const here = new Uint32Array(n * 8);
    for (let j = 0; j < n; j++) hashChildren(below, 16 * j, here, 8 * j, level - 1);
    levels.push(here);
  }
  return levels;
}

function isZeroNode(words: Uint32Array, off: number, level: number): boolean {
  const zOff = 8 * level;
  for (let i = 0; i < 8; i++) if (words[off + i] !== ZERO_WORDS[zOff + i]) return false;
  return true;
}

function hashChildren(below: Uint32Array, off: number, out: Uint32Array, outOff: number, childLevel: number): void {
  if (isZeroNode(below, off, childLevel) && isZeroNode(below, off + 8, childLevel)) {
    out.set(ZERO_WORDS.subarray(8 * (childLevel + 1), 8 * (childLevel + 2)), outOff);
  } else {
    hashPairWords(below, off, below, off + 8, out, outOff);
  }
}

