/*
 * Region roots (merkle.h). A region is cut into blocks of 2^BLOCK_LEVELS leaves. Each block is
 * reduced level by level in a scratch on the stack: the pairs of one level are independent, so
 * they go through the 4-way kernel four at a time until fewer than four remain. Block roots then
 * merge in order through a binary counter (one pending node per level), and past the last block
 * the pending nodes pair with zero hashes up to the region's height.
 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"

/* 64 KiB blocks: the block and its 48 KiB scratch stay in L2, the scratch fits any thread's
 * stack, and the few pairs at the top of a block that cannot fill the 4-way kernel (plus about
 * one carry per block) cost under 1% of the block's hashing. */
#define BLOCK_LEVELS 11

static uint8_t zero_hashes[MERKLE_MAX_HEIGHT + 1][NODE_BYTES];

__attribute__((constructor)) static void compute_zero_hashes(void) {
  uint8_t pair[PAIR_BYTES] = {0};
  for (unsigned level = 0; level < MERKLE_MAX_HEIGHT; level++) {
    keccak_pair(pair, zero_hashes[level + 1]);
    memcpy(pair, zero_hashes[level + 1], NODE_BYTES);
    memcpy(pair + NODE_BYTES, zero_hashes[level + 1], NODE_BYTES);
  }
}

unsigned merkle_tree_height(uint64_t length) {
  unsigned height = 0;
  while (height < MERKLE_MAX_HEIGHT && ((uint64_t)NODE_BYTES << height) < length) height++;
  return height;
}

bool merkle_capture_valid(uint64_t offset, uint64_t size, unsigned height, unsigned *level) {
  if (size < NODE_BYTES || (size & (size - 1)) != 0 || offset % size != 0) return false;
  unsigned l = (unsigned)__builtin_ctzll(size) - 5;
  if (l > height || offset + size > ((uint64_t)NODE_BYTES << height)) return false;
  *level = l;
  return true;
}

static bool is_node(const uint8_t *a, const uint8_t *b) {
  /* The first word decides for almost every non-zero node; memcmp only confirms a match. */
  uint64_t x, y;
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  return x == y && memcmp(a, b, NODE_BYTES) == 0;
}

/* out = parent of two nodes at `level`; out may be either child. */
static void hash_nodes(const uint8_t *left, const uint8_t *right, unsigned level, uint8_t *out) {
  const uint8_t *zero = zero_hashes[level];
  if (is_node(left, zero) && is_node(right, zero)) {
    memcpy(out, zero_hashes[level + 1], NODE_BYTES);
    return;
  }
  uint8_t pair[PAIR_BYTES];
  memcpy(pair, left, NODE_BYTES);
  memcpy(pair + NODE_BYTES, right, NODE_BYTES);
  keccak_pair(pair, out);
}

/* Pairs waiting for the 4-way kernel, and where their parents go. */
typedef struct {
  const uint8_t *in[4];
  uint8_t *out[4];
  int count;
} batch;

static void batch_flush(batch *b) {
  if (b->count >= 2 && keccak_has_avx2()) {
    /* Two or three pairs cost less in one 4-way call than one by one; spare lanes repeat the
     * first pair into a dummy node. */
    uint8_t dummy[NODE_BYTES];
    for (int k = b->count; k < 4; k++) {
      b->in[k] = b->in[0];
      b->out[k] = dummy;
    }
    keccak_pair4(b->in, b->out);
  } else {
    for (int k = 0; k < b->count; k++) keccak_pair(b->in[k], b->out[k]);
  }
  b->count = 0;
}

/*
 * dst = the parents of the nodes at `level` in src, of which the first `bytes` are real (the
 * rest of the level is zero: a partial last leaf, a missing last node). src and dst must not
 * overlap: a batched pair is read only when its batch runs. Returns the bytes written.
 */
static uint64_t hash_level(const uint8_t *src, uint64_t bytes, unsigned level, uint8_t *dst) {
  const uint8_t *zero = zero_hashes[level];
  uint64_t full = bytes / PAIR_BYTES;
  uint64_t rest = bytes % PAIR_BYTES;
  uint8_t last[PAIR_BYTES];
  batch b = {.count = 0};
  for (uint64_t i = 0; i < full + (rest != 0); i++) {
    const uint8_t *pair = src + PAIR_BYTES * i;
    if (i == full) {
      memset(last, 0, PAIR_BYTES);
      memcpy(last, pair, rest);
      if (rest <= NODE_BYTES) memcpy(last + NODE_BYTES, zero, NODE_BYTES);
      pair = last;
    }
    uint8_t *out = dst + NODE_BYTES * i;
    if (is_node(pair, zero) && is_node(pair + NODE_BYTES, zero)) {
      memcpy(out, zero_hashes[level + 1], NODE_BYTES);
      continue;
    }
    b.in[b.count] = pair;
    b.out[b.count] = out;
    if (++b.count == 4) batch_flush(&b);
  }
  batch_flush(&b);
  return NODE_BYTES * (full + (rest != 0));
}

/* Captures sorted by offset, split at the block level: `small` ones lie inside one block. */
typedef struct {
  merkle_capture *small, *big;
  size_t small_count, big_count, next_small;
} capture_set;

static int by_offset(const void *a, const void *b) {
  const merkle_capture *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static capture_set sort_captures(merkle_capture *captures, size_t count, unsigned levels) {
  size_t small = 0;
  for (size_t i = 0; i < count; i++) {
    if (captures[i].level > levels) continue;
    merkle_capture c = captures[small];
    captures[small++] = captures[i];
    captures[i] = c;
  }
  qsort(captures, small, sizeof *captures, by_offset);
  qsort(captures + small, count - small, sizeof *captures, by_offset);
  return (capture_set){.small = captures, .small_count = small, .big = captures + small, .big_count = count - small, .next_small = 0};
}

/* Writes `node` (at `level`, `index`) to every big capture of that node. */
static void capture_node(capture_set *set, unsigned level, uint64_t index, const uint8_t *node) {
  uint64_t offset = index << (level + 5);
  size_t lo = 0, hi = set->big_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (set->big[mid].offset < offset) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = lo; i < set->big_count && set->big[i].offset == offset; i++) {
    if (set->big[i].level == level) memcpy(set->big[i].root, node, NODE_BYTES);
  }
}

/*
 * root = the root of block `k` (2^levels leaves, its first `bytes` real), writing the small
 * captures inside it on the way up.
 */
static void block_root(const uint8_t *block, uint64_t bytes, unsigned levels, uint64_t k, capture_set *set, uint8_t root[32]) {
  uint8_t scratch[(NODE_BYTES << BLOCK_LEVELS) / 2 + (NODE_BYTES << BLOCK_LEVELS) / 4];
  uint8_t *half = scratch, *quarter = scratch + (NODE_BYTES << levels) / 2;
  uint64_t start = k << (levels + 5), end = start + ((uint64_t)NODE_BYTES << levels);
  size_t first = set->next_small, past = first;
  while (past < set->small_count && set->small[past].offset < end) past++;
  set->next_small = past;

  for (size_t i = first; i < past; i++) {
    merkle_capture *c = &set->small[i];
    uint64_t o = c->offset - start;
    if (c->level == 0 && o < bytes) {
      uint64_t n = bytes - o < NODE_BYTES ? bytes - o : NODE_BYTES;
      memset(c->root, 0, NODE_BYTES);
      memcpy(c->root, block + o, n);
    }
  }
  const uint8_t *src = block;
  for (unsigned level = 0; level < levels; level++) {
    uint8_t *dst = level % 2 == 0 ? half : quarter;
    bytes = hash_level(src, bytes, level, dst);
    src = dst;
    for (size_t i = first; i < past; i++) {
      merkle_capture *c = &set->small[i];
      uint64_t o = (c->offset - start) >> (level + 1);
      if (c->level == level + 1 && o < bytes) memcpy(c->root, dst + o, NODE_BYTES);
    }
  }
  if (levels == 0) {
    memset(root, 0, NODE_BYTES);
    memcpy(root, block, bytes);
  } else {
    memcpy(root, src, NODE_BYTES);
  }
}

void merkle_region_roots(const uint8_t *data, uint64_t length, unsigned height, merkle_capture *captures, size_t count, uint8_t root[32]) {
  unsigned levels = height < BLOCK_LEVELS ? height : BLOCK_LEVELS;
  /* Every capture starts as its zero hash: only those holding data are overwritten. */
  for (size_t i = 0; i < count; i++) memcpy(captures[i].root, zero_hashes[captures[i].level], NODE_BYTES);
  capture_set set = sort_captures(captures, count, levels);

  uint64_t block_bytes = (uint64_t)NODE_BYTES << levels;
  uint64_t blocks = (length + block_bytes - 1) / block_bytes;
  if (blocks == 0) {
    memcpy(root, zero_hashes[height], NODE_BYTES);
    return;
  }
  uint8_t pending[MERKLE_MAX_HEIGHT + 1][NODE_BYTES];
  uint8_t node[NODE_BYTES];
  for (uint64_t k = 0; k < blocks; k++) {
    uint64_t offset = k * block_bytes;
    uint64_t bytes = length - offset < block_bytes ? length - offset : block_bytes;
    block_root(data + offset, bytes, levels, k, &set, node);
    unsigned level = levels;
    uint64_t index = k;
    /* Like a carry through a binary counter: an odd node completes its pending left sibling. */
    while (index & 1) {
      hash_nodes(pending[level], node, level, node);
      level++;
      index >>= 1;
      capture_node(&set, level, index, node);
    }
    memcpy(pending[level], node, NODE_BYTES);
  }
  /* Past the last block: each level's pending node pairs with what rises from below (the carry)
   * or with a zero hash; a carry with no pending node pairs with a zero hash. */
  bool carrying = false;
  uint64_t index = blocks;
  for (unsigned level = levels; level < height; level++) {
    if (index & 1) {
      hash_nodes(pending[level], carrying ? node : zero_hashes[level], level, node);
      carrying = true;
    } else if (carrying) {
      hash_nodes(node, zero_hashes[level], level, node);
    }
    index >>= 1;
    if (carrying) capture_node(&set, level + 1, index, node);
  }
  memcpy(root, carrying ? node : pending[height], NODE_BYTES);
}
