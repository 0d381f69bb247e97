/*
 * Roots of byte regions in the memory Merkle tree of docs/vm-spec.md section 3 (32-byte leaves
 * taken raw, parent = keccak256(left ‖ right), Z[0] = 32 zero bytes, Z[i+1] = keccak256(Z[i] ‖
 * Z[i])), and of aligned sub-regions of them, in one pass.
 */
#ifndef OPML_MERKLE_H
#define OPML_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tallest region: 32·2^48 bytes = 2^53, where JavaScript numbers stop being exact integers. */
#define MERKLE_MAX_HEIGHT 48

/* An aligned sub-region of 32·2^level bytes at `offset` (a multiple of its size), whose root
 * merkle_region_roots writes to `root`. */
typedef struct {
  uint64_t offset;
  unsigned level;
  uint8_t *root;
} merkle_capture;

/* Levels above the leaves of the smallest tree holding `length` bytes (0 up to 32 bytes). */
unsigned merkle_tree_height(uint64_t length);

/*
 * root = the root of the `length` bytes at `data` zero-padded to 32·2^height, and each capture's
 * root, which must lie inside that padded region (the callers check; see merkle_capture_valid).
 * Reads only [data, data + length); padding is never hashed, and neither is any pair of zero
 * subtrees (its parent is the next zero hash). `captures` are reordered.
 */
void merkle_region_roots(const uint8_t *data, uint64_t length, unsigned height, merkle_capture *captures, size_t count, uint8_t root[32]);

/* Whether a sub-region of `size` bytes at `offset` is a capture of a region of height `height`;
 * sets *level when it is. */
bool merkle_capture_valid(uint64_t offset, uint64_t size, unsigned height, unsigned *level);

#endif
