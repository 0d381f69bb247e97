/*
 * A fixed set of worker threads running tasks in submission order. Our own threads rather than
 * libuv's pool: hashing a chunk takes milliseconds, and holding libuv's four threads that long
 * would stall the file reads that feed the hashing (they queue on the same pool).
 */
#ifndef OPML_POOL_H
#define OPML_POOL_H

typedef struct pool_task {
  void (*run)(struct pool_task *task);
  struct pool_task *next;
} pool_task;

typedef struct pool pool;

/* NULL when the threads cannot be created. */
pool *pool_start(unsigned threads);

void pool_submit(pool *p, pool_task *task);

/* Runs the tasks already queued, then joins the threads and frees the pool. */
void pool_stop(pool *p);

/* The CPUs this process may run on. */
unsigned pool_cpu_count(void);

#endif
