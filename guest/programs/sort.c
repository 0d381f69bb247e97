/*
 * Sorting: quicksort and heap sort of the same pseudo-random array (signed values, many
 * duplicates), checked against each other and for order; prints a digest of the sorted array.
 * Exercises loads/stores, signed compares and branches, recursion and the stack.
 */
#include "opml.h"

#ifndef SORT_N
#define SORT_N 4096
#endif

static int32_t input[SORT_N];
static int32_t by_quick[SORT_N];
static int32_t by_heap[SORT_N];

static void swap(int32_t *a, int32_t *b) {
  int32_t t = *a;
  *a = *b;
  *b = t;
}

/* Hoare partition around the median of three; recurse on the smaller side to bound the stack. */
static void quicksort(int32_t *v, int32_t lo, int32_t hi) {
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap(&v[mid], &v[lo]);
    if (v[hi] < v[lo]) swap(&v[hi], &v[lo]);
    if (v[hi] < v[mid]) swap(&v[hi], &v[mid]);
    int32_t pivot = v[mid];
    int32_t i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (v[i] < pivot);
      do j--; while (v[j] > pivot);
      if (i >= j) break;
      swap(&v[i], &v[j]);
    }
    if (j - lo < hi - j) {
      quicksort(v, lo, j);
      lo = j + 1;
    } else {
      quicksort(v, j + 1, hi);
      hi = j;
    }
  }
}

static void sift_down(int32_t *v, uint32_t root, uint32_t n) {
  for (;;) {
    uint32_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && v[child] < v[child + 1]) child++;
    if (v[root] >= v[child]) return;
    swap(&v[root], &v[child]);
    root = child;
  }
}

static void heapsort(int32_t *v, uint32_t n) {
  for (uint32_t i = n / 2; i-- > 0;) sift_down(v, i, n);
  for (uint32_t end = n; end-- > 1;) {
    swap(&v[0], &v[end]);
    sift_down(v, 0, end);
  }
}

int main(void) {
  opml_rng rng = {0x2545f491u};
  uint32_t input_sum = 0;
  for (uint32_t i = 0; i < SORT_N; i++) {
    /* Values in [-50000, 50000): negatives and duplicates on purpose. */
    input[i] = (int32_t)(opml_rng_next(&rng) % 100000u) - 50000;
    by_quick[i] = by_heap[i] = input[i];
    input_sum += (uint32_t)input[i];
  }
  quicksort(by_quick, 0, SORT_N - 1);
  heapsort(by_heap, SORT_N);

  uint32_t ordered = 1, equal = 1, sorted_sum = 0, digest = 0x811c9dc5u;
  for (uint32_t i = 0; i < SORT_N; i++) {
    if (i > 0 && by_quick[i - 1] > by_quick[i]) ordered = 0;
    if (by_quick[i] != by_heap[i]) equal = 0;
    sorted_sum += (uint32_t)by_quick[i];
    digest = (digest ^ (uint32_t)by_quick[i]) * 0x01000193u;
  }

  opml_put_kv_i32("n", SORT_N);
  opml_put_kv_i32("min", by_quick[0]);
  opml_put_kv_i32("median", by_quick[SORT_N / 2]);
  opml_put_kv_i32("max", by_quick[SORT_N - 1]);
  opml_put_kv_hex("sum", sorted_sum);
  opml_puts(ordered ? "ordered=yes\n" : "ordered=NO\n");
  opml_puts(equal ? "quick_equals_heap=yes\n" : "quick_equals_heap=NO\n");
  opml_puts(sorted_sum == input_sum ? "sum_preserved=yes\n" : "sum_preserved=NO\n");
  opml_put_kv_hex("sort", digest);
  if (!ordered || !equal || sorted_sum != input_sum) return 1;
  return (int)(digest & 0xfe) | 2; /* never 1: that is reserved for a failed self-check */
}
