/**
 * The CID `ipfs add --cid-version 1` gives a file, computed as its bytes stream by: chunker
 * (./chunker.ts) → raw leaves and dag-pb nodes (./fileNodes.ts) → balanced layout
 * (./balancedLayout.ts) → root CID. Memory is one partial chunk and the layout's pending links,
 * whatever the file's size.
 */
import { BalancedLayout } from './balancedLayout';
import { FixedSizeChunker } from './chunker';
import { FileCidBuilderFinishedError } from './errors';
import { fileNode, rawLeaf, type FileBlock, type FileLink } from './fileNodes';
import { CHUNK_SIZE, MAX_LINKS_PER_NODE } from './kuboDefaults';

export interface FileCidBuilderOptions {
  /**
   * Receives every block as it is made, leaves first and the root last. The bytes are valid only
   * during the call: a leaf may be a view of the array given to update(), or of the builder's
   * partial-chunk buffer, which the same update() may refill. Copy them to keep them.
   */
  onBlock?: (cid: string, bytes: Uint8Array) => void;
  /** Kubo's 256 KiB unless given; other values exist to test the layout on small inputs. */
  chunkSize?: number;
  /** Kubo's 174 unless given. */
  maxChildren?: number;
}

export class FileCidBuilder {
  private readonly chunker: FixedSizeChunker;
  private readonly layout: BalancedLayout<FileLink>;
  private readonly onBlock: FileCidBuilderOptions['onBlock'];
  private bytesSoFar = 0;
  private root: string | undefined;

  constructor(options: FileCidBuilderOptions = {}) {
    this.onBlock = options.onBlock;
    this.layout = new BalancedLayout(options.maxChildren ?? MAX_LINKS_PER_NODE, (children) => this.made(fileNode(children)));
    this.chunker = new FixedSizeChunker(options.chunkSize ?? CHUNK_SIZE, (chunk) => this.layout.add(this.made(rawLeaf(chunk))));
  }

  /** Bytes given so far. */
  get size(): number {
    return this.bytesSoFar;
  }

  /** Adds the next bytes of the file; any boundaries give the same CID. */
  update(bytes: Uint8Array): this {
    if (this.root !== undefined) throw new FileCidBuilderFinishedError(this.root);
    this.chunker.push(bytes);
    this.bytesSoFar += bytes.length;
    return this;
  }

  /** Ends the file and gives its CID (the same one on every later call). */
  digest(): string {
    if (this.root === undefined) {
      this.chunker.end();
      this.root = this.layout.finish().cid.toString();
    }
    return this.root;
  }

  private made(block: FileBlock): FileLink {
    this.onBlock?.(block.link.cid.toString(), block.bytes);
    return block.link;
  }
}

/** The CID `ipfs add --cid-version 1` (or `--only-hash`) gives these bytes. */
export function fileCid(bytes: Uint8Array): string {
  return new FileCidBuilder().update(bytes).digest();
}

export async function fileCidOfStream(source: AsyncIterable<Uint8Array>): Promise<{ cid: string; size: number }> {
  const builder = new FileCidBuilder();
  for await (const bytes of source) builder.update(bytes);
  return { cid: builder.digest(), size: builder.size };
}
