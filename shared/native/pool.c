#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long an idle worker polls for the next task before it sleeps. */
#define SPIN_NANOSECONDS 50000

struct pool {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pool_task *head, *tail;
  /* Tasks queued, read without the lock by workers polling before they sleep. */
  unsigned queued;
  int stopping;
  unsigned thread_count;
  pthread_t threads[];
};

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A model run submits a burst of small tasks: waking a sleeping thread costs tens of
 * microseconds on a virtual machine, more than hashing a small tensor, so an idle worker polls
 * briefly first. */
static void poll_briefly(pool *p) {
  uint64_t until = now_ns() + SPIN_NANOSECONDS;
  while (__atomic_load_n(&p->queued, __ATOMIC_ACQUIRE) == 0 && now_ns() < until) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

static void *work(void *arg) {
  pool *p = arg;
  for (;;) {
    poll_briefly(p);
    pthread_mutex_lock(&p->lock);
    while (p->head == NULL && !p->stopping) pthread_cond_wait(&p->wake, &p->lock);
    pool_task *task = p->head;
    if (task != NULL) {
      p->head = task->next;
      if (p->head == NULL) p->tail = NULL;
      __atomic_store_n(&p->queued, p->queued - 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&p->lock);
    if (task == NULL) return NULL;
    task->run(task);
  }
}

pool *pool_start(unsigned threads) {
  pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
  if (p == NULL) return NULL;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  for (; p->thread_count < threads; p->thread_count++) {
    if (pthread_create(&p->threads[p->thread_count], NULL, work, p) != 0) {
      pool_stop(p);
      return NULL;
    }
  }
  return p;
}

void pool_submit(pool *p, pool_task *task) {
  task->next = NULL;
  pthread_mutex_lock(&p->lock);
  if (p->tail != NULL) p->tail->next = task;
  else p->head = task;
  p->tail = task;
  __atomic_store_n(&p->queued, p->queued + 1, __ATOMIC_RELEASE);
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
}

void pool_stop(pool *p) {
  pthread_mutex_lock(&p->lock);
  p->stopping = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (unsigned i = 0; i < p->thread_count; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

unsigned pool_cpu_count(void) {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return (unsigned)CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}
