/*
 * A fixed set of worker threads running tasks in submission order. Our own threads rather than
 * libuv's pool: hashing a chunk takes milliseconds, and holding libuv's four threads that long
 * would stall the file reads that feed the hashing (they queue on the same pool).
 */
#ifndef OPML_POOL_H
#define OPML_POOL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pool_task {
  void (*run)(struct pool_task *task);
  /* The queue's links, and whether the task is in it (under the pool's lock). */
  struct pool_task *next, *prev;
  bool queued;
} pool_task;

typedef struct pool pool;

/* NULL when the threads cannot be created. With spare_cpu_only the threads run only on CPU time
 * nothing else in the system wants (Linux's SCHED_IDLE): work that the submitting thread can do
 * itself if the pool falls behind, and must never slow down. */
pool *pool_start(unsigned threads, bool spare_cpu_only);

void pool_submit(pool *p, pool_task *task);

/* Removes `task` if no worker has started it yet, so the caller can run it itself: true if it did.
 * Constant time, wherever the task is in the queue. */
bool pool_take(pool *p, pool_task *task);

/*
 * Moves the workers off the caller's CPU when the last task ran there (else does nothing, at
 * the cost of one sched_getcpu). For a pool of spare_cpu_only threads whose submitter keeps its
 * CPU busy: the scheduler weighs such threads at almost nothing, so it can leave one queued
 * behind the submitter for seconds while another CPU idles. One thread calls it per pool.
 */
void pool_keep_off_caller_cpu(pool *p);

/* Runs the tasks already queued, then joins the threads and frees the pool. */
void pool_stop(pool *p);

/* CLOCK_MONOTONIC in nanoseconds: what the pollers here and in addon.c time themselves by. */
uint64_t pool_now_ns(void);

/* The CPUs this process may run on. */
unsigned pool_cpu_count(void);

#endif
