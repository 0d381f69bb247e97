/**
 * The balanced DAG layout of Kubo and ipfs-unixfs-importer: leaves are grouped `maxChildren` at a
 * time under parent nodes, those parents again, until one node is left, the root. A single leaf is
 * its own root (Kubo's CID of a one-chunk file is its raw block's).
 *
 * The importer reduces level by level over the whole list of leaves; this builds the same tree as
 * leaves arrive, holding one list of pending children per level: a full list becomes a parent at
 * once, and finish() closes the partial lists bottom up. Memory is O(depth × maxChildren).
 */
export class BalancedLayout<Node> {
  private readonly levels: Node[][] = [];

  /** `reduce` makes the parent of 1 to `maxChildren` children. */
  constructor(private readonly maxChildren: number, private readonly reduce: (children: Node[]) => Node) {
    if (!Number.isSafeInteger(maxChildren) || maxChildren < 2) throw new RangeError(`a balanced layout needs at least 2 children per node, not ${maxChildren}`);
  }

  add(leaf: Node): void {
    this.addAt(0, leaf);
  }

  /** The root over every leaf added; at least one must have been. */
  finish(): Node {
    for (let level = 0; level < this.levels.length - 1; level++) this.close(level);
    const top = this.levels[this.levels.length - 1];
    if (!top?.length) throw new RangeError('a balanced layout of no leaves has no root');
    // The top level has never been full (it would have a parent level): its one node is the root, or its nodes are the root's children.
    return top.length === 1 ? top[0]! : this.reduce(top);
  }

  private addAt(level: number, node: Node): void {
    const pending = (this.levels[level] ??= []);
    pending.push(node);
    if (pending.length === this.maxChildren) this.close(level);
  }

  private close(level: number): void {
    const children = this.levels[level]!;
    if (children.length === 0) return;
    this.levels[level] = [];
    this.addAt(level + 1, this.reduce(children));
  }
}
