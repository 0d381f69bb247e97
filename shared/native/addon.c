/*
 * The Node binding (N-API) of merkle.h: region roots on the calling thread, on this addon's
 * worker threads with a completion callback (the streaming root's chunks), and in batches that
 * the main thread submits without waiting and drains once (a model run's activation roots).
 * shared/vm/nativeHasher.ts is the one caller and checks every argument first, so the checks
 * here only keep a wrong call from reading or writing outside its buffers.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"
#include "pool.h"

/* One region to hash: the bytes, the tree height, the captures, where the root goes. */
typedef struct {
  const uint8_t *data;
  uint64_t length;
  unsigned height;
  merkle_capture *captures;
  size_t capture_count;
  uint8_t *root;
} region;

static void hash_region(region *r) { merkle_region_roots(r->data, r->length, r->height, r->captures, r->capture_count, r->root); }

/* Per environment (the main thread, or a worker thread that loads the addon too). */
typedef struct {
  /* One thread per CPU for regions (the caller waits, or reads the next chunk meanwhile); one
   * fewer for batches, whose caller keeps its CPU busy running the model between adds. */
  pool *workers, *batch_workers;
  napi_threadsafe_function completions;
  unsigned in_flight;
} addon_state;

/* Throws the failed call's N-API error unless an exception is already pending; false if it failed. */
static bool ok(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "OPML_NATIVE", info && info->error_message ? info->error_message : "N-API call failed");
  }
  return false;
}

/* Throws a RangeError; false, for `return refuse(env, ...)` in the checks. */
static bool refuse(napi_env env, const char *message) {
  napi_throw_range_error(env, "OPML_NATIVE_RANGE", message);
  return false;
}

/* The bytes of a typed array, DataView or ArrayBuffer (a WebAssembly.Memory's buffer included). */
static napi_status view_bytes(napi_env env, napi_value value, uint8_t **data, size_t *size) {
  bool is;
  napi_status s = napi_is_typedarray(env, value, &is);
  if (s == napi_ok && is) {
    napi_typedarray_type type;
    size_t count;
    s = napi_get_typedarray_info(env, value, &type, &count, (void **)data, NULL, NULL);
    size_t element = type == napi_int8_array || type == napi_uint8_array || type == napi_uint8_clamped_array ? 1
                     : type == napi_int16_array || type == napi_uint16_array                                ? 2
                     : type == napi_int32_array || type == napi_uint32_array || type == napi_float32_array ? 4
                                                                                                               : 8;
    *size = count * element;
    return s;
  }
  if ((s = napi_is_dataview(env, value, &is)) == napi_ok && is) return napi_get_dataview_info(env, value, size, (void **)data, NULL, NULL);
  if ((s = napi_is_arraybuffer(env, value, &is)) == napi_ok && is) return napi_get_arraybuffer_info(env, value, (void **)data, size);
  return napi_invalid_arg;
}

/* A JavaScript number that counts bytes: a whole number from 0 to 2^53. */
static bool as_count(double d, uint64_t *out) {
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

static napi_status get_count(napi_env env, napi_value value, uint64_t *out) {
  double d;
  napi_status s = napi_get_value_double(env, value, &d);
  return s != napi_ok ? s : as_count(d, out) ? napi_ok : napi_invalid_arg;
}

/*
 * Reads (data, offset, length, height, captures, out) from args into r: `captures` a
 * Float64Array of (offset, size) pairs relative to the region, or undefined; `out` at least
 * 32·(1 + captures) bytes, root first. r->captures is malloc'd (free it).
 */
static bool read_region(napi_env env, napi_value *args, region *r) {
  uint8_t *data, *out;
  size_t size, out_size;
  uint64_t offset, height;
  if (view_bytes(env, args[0], &data, &size) != napi_ok) return refuse(env, "data must be a typed array, DataView or ArrayBuffer");
  if (get_count(env, args[1], &offset) != napi_ok || get_count(env, args[2], &r->length) != napi_ok || get_count(env, args[3], &height) != napi_ok) {
    return refuse(env, "offset, length and height must be non-negative integers");
  }
  if (offset > size || r->length > size - offset) return refuse(env, "region lies outside its buffer");
  if (height > MERKLE_MAX_HEIGHT || r->length > ((uint64_t)NODE_BYTES << height)) return refuse(env, "region longer than its tree");
  r->data = data + offset;
  r->height = (unsigned)height;

  napi_valuetype type;
  if (!ok(env, napi_typeof(env, args[4], &type))) return false;
  double *pairs = NULL;
  size_t pair_values = 0;
  if (type != napi_undefined) {
    bool is;
    napi_typedarray_type kind = napi_int8_array;
    void *base = NULL;
    if (!ok(env, napi_is_typedarray(env, args[4], &is))) return false;
    if (is && !ok(env, napi_get_typedarray_info(env, args[4], &kind, &pair_values, &base, NULL, NULL))) return false;
    if (!is || kind != napi_float64_array || pair_values % 2 != 0) return refuse(env, "captures must be a Float64Array of (offset, size) pairs");
    pairs = base;
  }
  r->capture_count = pair_values / 2;
  if (view_bytes(env, args[5], &out, &out_size) != napi_ok || out_size < NODE_BYTES * (1 + r->capture_count)) {
    return refuse(env, "out must be a typed array of 32 bytes per root");
  }
  r->root = out;
  r->captures = malloc((r->capture_count ? r->capture_count : 1) * sizeof *r->captures);
  if (r->captures == NULL) return refuse(env, "out of memory");
  for (size_t i = 0; i < r->capture_count; i++) {
    uint64_t offset_in_region, size_of_capture;
    merkle_capture *c = &r->captures[i];
    if (!as_count(pairs[2 * i], &offset_in_region) || !as_count(pairs[2 * i + 1], &size_of_capture) ||
        !merkle_capture_valid(offset_in_region, size_of_capture, r->height, &c->level)) {
      free(r->captures);
      return refuse(env, "a capture is not an aligned power-of-two sub-region of the region's tree");
    }
    c->offset = offset_in_region;
    c->root = out + NODE_BYTES * (1 + i);
  }
  return true;
}

/* regionRoots(data, offset, length, height, captures, out): on the calling thread. */
static napi_value region_roots(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  region r;
  if (!ok(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL))) return NULL;
  if (argc != 6) {
    refuse(env, "regionRoots takes 6 arguments");
    return NULL;
  }
  if (!read_region(env, args, &r)) return NULL;
  hash_region(&r);
  free(r.captures);
  return NULL;
}

/* The workers and the completion channel, made on first use: most processes never hash off-thread. */
static addon_state *started(napi_env env);

/* hashAsync: the region, out and the callback are held by references until the callback runs. */
typedef struct {
  pool_task task;
  region r;
  addon_state *state;
  napi_ref data, out, done;
} async_job;

static void run_async_job(pool_task *task) {
  async_job *job = (async_job *)task;
  hash_region(&job->r);
  napi_call_threadsafe_function(job->state->completions, job, napi_tsfn_nonblocking);
}

/* On the main thread: the job's callback, then its references go. env is NULL at teardown. */
static void complete_async_job(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused;
  (void)context;
  async_job *job = data;
  free(job->r.captures);
  if (env != NULL) {
    napi_value done, global;
    if (napi_get_reference_value(env, job->done, &done) == napi_ok && napi_get_global(env, &global) == napi_ok) {
      napi_call_function(env, global, done, 0, NULL, NULL);
    }
    napi_delete_reference(env, job->data);
    napi_delete_reference(env, job->out);
    napi_delete_reference(env, job->done);
    if (--job->state->in_flight == 0) napi_unref_threadsafe_function(env, job->state->completions);
  }
  free(job);
}

/* hashAsync(data, offset, length, height, captures, out, done): done() once out is written. */
static napi_value hash_async(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  napi_valuetype type = napi_undefined;
  if (!ok(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL)) || (argc == 7 && !ok(env, napi_typeof(env, args[6], &type)))) return NULL;
  if (type != napi_function) {
    refuse(env, "hashAsync takes 7 arguments, the last a callback");
    return NULL;
  }
  addon_state *state = started(env);
  if (state == NULL) return NULL;
  async_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    refuse(env, "out of memory");
    return NULL;
  }
  if (!read_region(env, args, &job->r)) {
    free(job);
    return NULL;
  }
  job->state = state;
  job->task.run = run_async_job;
  if (!ok(env, napi_create_reference(env, args[0], 1, &job->data)) || !ok(env, napi_create_reference(env, args[5], 1, &job->out)) ||
      !ok(env, napi_create_reference(env, args[6], 1, &job->done))) {
    free(job->r.captures);
    free(job);
    return NULL;
  }
  if (state->in_flight++ == 0) napi_ref_threadsafe_function(env, state->completions);
  pool_submit(state->workers, &job->task);
  return NULL;
}

/*
 * A batch: each add copies the bytes (the caller may reuse or grow its memory at once) and
 * queues them; drain runs on the calling thread whatever no worker has started (the workers may
 * be busy with other work, or with another thread's batch), waits for the rest, and hands out
 * the roots in order.
 */
typedef struct batch_job {
  pool_task task;
  region r;
  struct root_batch *batch;
  uint8_t root[NODE_BYTES];
  uint8_t bytes[];
} batch_job;

typedef struct root_batch {
  pthread_mutex_t lock;
  pthread_cond_t done;
  /* Jobs not yet hashed: changed under the lock, polled without it by drain. */
  size_t pending;
  size_t count, capacity;
  batch_job **jobs;
} root_batch;

static void finish_batch_job(root_batch *b) {
  pthread_mutex_lock(&b->lock);
  if (__atomic_sub_fetch(&b->pending, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&b->done);
  pthread_mutex_unlock(&b->lock);
}

static void run_batch_job(pool_task *task) {
  batch_job *job = (batch_job *)task;
  hash_region(&job->r);
  finish_batch_job(job->batch);
}

/* How long drain polls for the jobs the workers hold before it sleeps (a wake-up on a virtual
 * machine costs tens of microseconds, about as long as the last job takes). It polls by
 * yielding: a batch worker sharing this CPU runs only when this thread lets it. */
#define DRAIN_POLL_NANOSECONDS 200000

static void batch_wait(root_batch *b) {
  uint64_t until = 0;
  while (__atomic_load_n(&b->pending, __ATOMIC_ACQUIRE) > 0) {
    uint64_t now = pool_now_ns();
    if (until == 0) until = now + DRAIN_POLL_NANOSECONDS;
    else if (now >= until) break;
    sched_yield();
  }
  pthread_mutex_lock(&b->lock);
  while (b->pending > 0) pthread_cond_wait(&b->done, &b->lock);
  pthread_mutex_unlock(&b->lock);
}

/* The newest jobs first: the workers take the oldest, so the two ends rarely meet. */
static void batch_run_unstarted(root_batch *b, pool *workers) {
  for (size_t i = b->count; i-- > 0;) {
    batch_job *job = b->jobs[i];
    if (!pool_take(workers, &job->task)) continue;
    hash_region(&job->r);
    finish_batch_job(b);
  }
}

static void batch_clear(root_batch *b) {
  for (size_t i = 0; i < b->count; i++) free(b->jobs[i]);
  b->count = 0;
}

static void finalize_batch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  root_batch *b = data;
  batch_wait(b);
  batch_clear(b);
  free(b->jobs);
  pthread_cond_destroy(&b->done);
  pthread_mutex_destroy(&b->lock);
  free(b);
}

/* newBatch() → an external handle. */
static napi_value new_batch(napi_env env, napi_callback_info info) {
  (void)info;
  root_batch *b = calloc(1, sizeof *b);
  if (b == NULL) {
    refuse(env, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->done, NULL);
  napi_value handle;
  if (!ok(env, napi_create_external(env, b, finalize_batch, NULL, &handle))) {
    finalize_batch(env, b, NULL);
    return NULL;
  }
  return handle;
}

static bool get_batch(napi_env env, napi_value value, root_batch **b) {
  napi_valuetype type;
  if (!ok(env, napi_typeof(env, value, &type))) return false;
  if (type != napi_external) return refuse(env, "not a batch");
  return ok(env, napi_get_value_external(env, value, (void **)b));
}

/* batchAdd(batch, data, offset, length): the root of those bytes padded to their tree. */
static napi_value batch_add(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  root_batch *b;
  uint8_t *data;
  size_t size;
  uint64_t offset, length;
  if (!ok(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL))) return NULL;
  if (argc != 4) {
    refuse(env, "batchAdd takes 4 arguments");
    return NULL;
  }
  if (!get_batch(env, args[0], &b)) return NULL;
  if (view_bytes(env, args[1], &data, &size) != napi_ok || get_count(env, args[2], &offset) != napi_ok || get_count(env, args[3], &length) != napi_ok ||
      offset > size || length > size - offset) {
    refuse(env, "data must be a typed array, DataView or ArrayBuffer holding the region");
    return NULL;
  }
  addon_state *state = started(env);
  if (state == NULL) return NULL;
  if (b->count == b->capacity) {
    size_t capacity = b->capacity ? 2 * b->capacity : 64;
    batch_job **jobs = realloc(b->jobs, capacity * sizeof *jobs);
    if (jobs == NULL) {
      refuse(env, "out of memory");
      return NULL;
    }
    b->jobs = jobs;
    b->capacity = capacity;
  }
  batch_job *job = malloc(sizeof *job + length);
  if (job == NULL) {
    refuse(env, "out of memory");
    return NULL;
  }
  memcpy(job->bytes, data + offset, length);
  job->r = (region){.data = job->bytes, .length = length, .height = merkle_tree_height(length), .captures = NULL, .capture_count = 0, .root = job->root};
  job->batch = b;
  job->task.run = run_batch_job;
  b->jobs[b->count++] = job;
  pthread_mutex_lock(&b->lock);
  __atomic_add_fetch(&b->pending, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&b->lock);
  pool_submit(state->batch_workers, &job->task);
  pool_keep_off_caller_cpu(state->batch_workers);
  return NULL;
}

/* batchDrain(batch, out): waits, writes the 32-byte roots in add order, empties the batch. */
static napi_value batch_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  root_batch *b;
  uint8_t *out;
  size_t out_size;
  if (!ok(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL))) return NULL;
  if (argc != 2) {
    refuse(env, "batchDrain takes 2 arguments");
    return NULL;
  }
  if (!get_batch(env, args[0], &b)) return NULL;
  if (view_bytes(env, args[1], &out, &out_size) != napi_ok || out_size < NODE_BYTES * b->count) {
    refuse(env, "out must hold 32 bytes per root");
    return NULL;
  }
  addon_state *state = started(env);
  if (state == NULL) return NULL;
  batch_run_unstarted(b, state->batch_workers);
  batch_wait(b);
  for (size_t i = 0; i < b->count; i++) memcpy(out + NODE_BYTES * i, b->jobs[i]->root, NODE_BYTES);
  batch_clear(b);
  return NULL;
}

/* Before the completion channel goes (cleanup hooks run last-registered first): finish the
 * queued work and join the threads, so no thread calls into a torn-down environment. */
static void stop_workers(void *data) {
  addon_state *state = data;
  pool_stop(state->workers);
  pool_stop(state->batch_workers);
  state->workers = state->batch_workers = NULL;
}

static addon_state *started(napi_env env) {
  addon_state *state;
  napi_value name;
  if (!ok(env, napi_get_instance_data(env, (void **)&state))) return NULL;
  if (state->workers != NULL) return state;
  /* The channel is referenced (keeps the event loop alive) only while jobs are in flight. */
  if (!ok(env, napi_create_string_utf8(env, "opml-native hash completions", NAPI_AUTO_LENGTH, &name)) ||
      !ok(env, napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, complete_async_job, &state->completions)) ||
      !ok(env, napi_unref_threadsafe_function(env, state->completions))) {
    return NULL;
  }
  unsigned cpus = pool_cpu_count();
  state->workers = pool_start(cpus, false);
  state->batch_workers = pool_start(cpus > 1 ? cpus - 1 : 1, true);
  if (state->workers == NULL || state->batch_workers == NULL) {
    if (state->workers != NULL) pool_stop(state->workers);
    if (state->batch_workers != NULL) pool_stop(state->batch_workers);
    state->workers = state->batch_workers = NULL;
    refuse(env, "cannot start the hashing threads");
    return NULL;
  }
  return ok(env, napi_add_env_cleanup_hook(env, stop_workers, state)) ? state : NULL;
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_status export_function(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  return s == napi_ok ? napi_set_named_property(env, exports, name, f) : s;
}

NAPI_MODULE_INIT() {
  addon_state *state = calloc(1, sizeof *state);
  napi_value kernel, threads;
  if (state == NULL) {
    refuse(env, "out of memory");
    return NULL;
  }
  bool exported = ok(env, napi_set_instance_data(env, state, free_state, NULL)) &&
                  ok(env, napi_create_string_utf8(env, keccak_has_avx2() ? "avx2" : "portable", NAPI_AUTO_LENGTH, &kernel)) &&
                  ok(env, napi_set_named_property(env, exports, "kernel", kernel)) && ok(env, napi_create_uint32(env, pool_cpu_count(), &threads)) &&
                  ok(env, napi_set_named_property(env, exports, "threads", threads)) && ok(env, export_function(env, exports, "regionRoots", region_roots)) &&
                  ok(env, export_function(env, exports, "hashAsync", hash_async)) && ok(env, export_function(env, exports, "newBatch", new_batch)) &&
                  ok(env, export_function(env, exports, "batchAdd", batch_add)) && ok(env, export_function(env, exports, "batchDrain", batch_drain));
  return exported ? exports : NULL;
}
