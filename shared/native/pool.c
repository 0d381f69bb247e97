#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long an idle worker polls for the next task before it sleeps. */
#define SPIN_NANOSECONDS 100000

struct pool {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pool_task *head, *tail;
  /* Tasks queued, read without the lock by the worker polling before it sleeps. */
  unsigned queued;
  /* Workers waiting on `wake` (under the lock), and whether one is polling (atomic). */
  unsigned sleeping;
  int polling;
  int stopping;
  bool spare_cpu_only;
#ifdef __linux__
  /* The CPU a worker last took a task on (atomic), and the CPU the workers are kept off (-1: none). */
  int last_cpu, avoided_cpu;
  cpu_set_t allowed;
#endif
  unsigned thread_count;
  pthread_t threads[];
};

uint64_t pool_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A model run submits a burst of small tasks: waking a sleeping thread costs tens of
 * microseconds on a virtual machine, more than hashing a small tensor, so an idle worker polls
 * briefly first. Only one polls at a time: on a machine with as many workers as cores, a second
 * poller would take its core's time from the thread submitting the work (the model's kernels). */
static void poll_briefly(pool *p) {
  int idle = 0;
  if (!__atomic_compare_exchange_n(&p->polling, &idle, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;
  uint64_t until = pool_now_ns() + SPIN_NANOSECONDS;
  /* Yielding, not pausing: a thread that needs this CPU (the garbage collector's, another
   * process's) gets it at once, and with none the call returns at once. */
  while (__atomic_load_n(&p->queued, __ATOMIC_ACQUIRE) == 0 && pool_now_ns() < until) sched_yield();
  /* Cleared before the lock is taken: a task submitted after the poller's last look then finds
   * `polling` clear and wakes a sleeper, or is found under the lock by the poller itself. */
  __atomic_store_n(&p->polling, 0, __ATOMIC_RELEASE);
}

/* Under the lock: takes a queued task out of the queue. */
static void unlink_task(pool *p, pool_task *task) {
  if (task->prev != NULL) task->prev->next = task->next;
  else p->head = task->next;
  if (task->next != NULL) task->next->prev = task->prev;
  else p->tail = task->prev;
  task->queued = false;
  __atomic_store_n(&p->queued, p->queued - 1, __ATOMIC_RELEASE);
}

static void *work(void *arg) {
  pool *p = arg;
#ifdef __linux__
  if (p->spare_cpu_only) {
    /* Best effort: without it the pool still works, only less politely. */
    struct sched_param none = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
  }
#endif
  for (;;) {
    poll_briefly(p);
    pthread_mutex_lock(&p->lock);
    while (p->head == NULL && !p->stopping) {
      p->sleeping++;
      pthread_cond_wait(&p->wake, &p->lock);
      p->sleeping--;
    }
    pool_task *task = p->head;
    if (task != NULL) unlink_task(p, task);
    pthread_mutex_unlock(&p->lock);
    if (task == NULL) return NULL;
#ifdef __linux__
    __atomic_store_n(&p->last_cpu, sched_getcpu(), __ATOMIC_RELAXED);
#endif
    task->run(task);
  }
}

pool *pool_start(unsigned threads, bool spare_cpu_only) {
  pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
  if (p == NULL) return NULL;
  p->spare_cpu_only = spare_cpu_only;
#ifdef __linux__
  p->last_cpu = p->avoided_cpu = -1;
  if (sched_getaffinity(0, sizeof p->allowed, &p->allowed) != 0) CPU_ZERO(&p->allowed);
#endif
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
  task->prev = p->tail;
  task->queued = true;
  if (p->tail != NULL) p->tail->next = task;
  else p->head = task;
  p->tail = task;
  unsigned queued = p->queued + 1;
  __atomic_store_n(&p->queued, queued, __ATOMIC_RELEASE);
  /* A polling worker takes one task without a wake-up (a futex call here, tens of microseconds
   * there); a sleeper is woken for any task beyond that. */
  if (p->sleeping > 0 && (queued > 1 || !__atomic_load_n(&p->polling, __ATOMIC_ACQUIRE))) pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
}

bool pool_take(pool *p, pool_task *task) {
  pthread_mutex_lock(&p->lock);
  const bool found = task->queued;
  if (found) unlink_task(p, task);
  pthread_mutex_unlock(&p->lock);
  return found;
}

void pool_keep_off_caller_cpu(pool *p) {
#ifdef __linux__
  const int cpu = sched_getcpu();
  if (cpu < 0 || cpu == p->avoided_cpu || cpu != __atomic_load_n(&p->last_cpu, __ATOMIC_RELAXED)) return;
  cpu_set_t others = p->allowed;
  CPU_CLR(cpu, &others);
  if (CPU_COUNT(&others) == 0) return;
  for (unsigned i = 0; i < p->thread_count; i++) pthread_setaffinity_np(p->threads[i], sizeof others, &others);
  p->avoided_cpu = cpu;
#else
  (void)p;
#endif
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
