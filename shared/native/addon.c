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
  pool *workers;
  napi_threadsafe_function completions;
  unsigned in_flight;
} addon_state;

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) return throw_last(env);  \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "OPML_NATIVE", info && info->error_message ? info->error_message : "N-API call failed");
  return NULL;
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "OPML_NATIVE_RANGE", message);
  return NULL;
}

/* The bytes of a typed array, DataView or ArrayBuffer (a WebAssembly.Memory's buffer included). */
static napi_status view_bytes(napi_env env, napi_value value, uint8_t **data, size_t *size) {
  bool is;
  napi_status s = napi_is_typedarray(env, value, &is);
  if (s == napi_ok && is) {
    napi_typedarray_type type;
    size_t count, offset;
    napi_value buffer;
    void *base;
    s = napi_get_typedarray_info(env, value, &type, &count, &base, &buffer, &offset);
    if (s != napi_ok) return s;
    size_t element = type == napi_int8_array || type == napi_uint8_array || type == napi_uint8_clamped_array ? 1
                     : type == napi_int16_array || type == napi_uint16_array                                ? 2
                     : type == napi_int32_array || type == napi_uint32_array || type == napi_float32_array ? 4
                                                                                                               : 8;
    *data = base;
    *size = count * element;
    return napi_ok;
  }
  if ((s = napi_is_dataview(env, value, &is)) == napi_ok && is) {
    napi_value buffer;
    size_t offset;
    return napi_get_dataview_info(env, value, size, (void **)data, &buffer, &offset);
  }
  if ((s = napi_is_arraybuffer(env, value, &is)) == napi_ok && is) return napi_get_arraybuffer_info(env, value, (void **)data, size);
  return napi_invalid_arg;
}

static napi_status get_u64(napi_env env, napi_value value, uint64_t *out) {
  double d;
  napi_status s = napi_get_value_double(env, value, &d);
  if (s != napi_ok) return s;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return napi_invalid_arg;
  *out = (uint64_t)d;
  return napi_ok;
}

/*
 * Reads (data, offset, length, height, captures, out) from args into r: `captures` a
 * Float64Array of (offset, size) pairs relative to the region, or undefined; `out` at least
 * 32·(1 + captures) bytes, root first. r->captures is malloc'd (free it).
 */
static napi_value read_region(napi_env env, napi_value *args, region *r) {
  uint8_t *data, *out;
  size_t size, out_size;
  uint64_t offset, height;
  if (view_bytes(env, args[0], &data, &size) != napi_ok) return throw_range(env, "data must be a typed array, DataView or ArrayBuffer");
  if (get_u64(env, args[1], &offset) != napi_ok || get_u64(env, args[2], &r->length) != napi_ok || get_u64(env, args[3], &height) != napi_ok) {
    return throw_range(env, "offset, length and height must be non-negative integers");
  }
  if (offset > size || r->length > size - offset) return throw_range(env, "region lies outside its buffer");
  if (height > MERKLE_MAX_HEIGHT || r->length > ((uint64_t)NODE_BYTES << height)) return throw_range(env, "region longer than its tree");
  r->data = data + offset;
  r->height = (unsigned)height;

  napi_valuetype type;
  CHECK(napi_typeof(env, args[4], &type));
  double *pairs = NULL;
  size_t pair_values = 0;
  if (type != napi_undefined) {
    bool is;
    napi_typedarray_type kind = napi_int8_array;
    void *base = NULL;
    CHECK(napi_is_typedarray(env, args[4], &is));
    if (is) CHECK(napi_get_typedarray_info(env, args[4], &kind, &pair_values, &base, NULL, NULL));
    if (!is || kind != napi_float64_array || pair_values % 2 != 0) return throw_range(env, "captures must be a Float64Array of (offset, size) pairs");
    pairs = base;
  }
  r->capture_count = pair_values / 2;
  if (view_bytes(env, args[5], &out, &out_size) != napi_ok || out_size < NODE_BYTES * (1 + r->capture_count)) {
    return throw_range(env, "out must be a typed array of 32 bytes per root");
  }
  r->root = out;
  r->captures = malloc((r->capture_count ? r->capture_count : 1) * sizeof *r->captures);
  if (r->captures == NULL) return throw_range(env, "out of memory");
  for (size_t i = 0; i < r->capture_count; i++) {
    double o = pairs[2 * i], s = pairs[2 * i + 1];
    merkle_capture *c = &r->captures[i];
    if (!(o >= 0 && s >= 0 && o <= 9007199254740992.0 && s <= 9007199254740992.0) || !merkle_capture_valid((uint64_t)o, (uint64_t)s, r->height, &c->level) ||
        o != (double)(uint64_t)o) {
      free(r->captures);
      return throw_range(env, "a capture is not an aligned power-of-two sub-region of the region's tree");
    }
    c->offset = (uint64_t)o;
    c->root = out + NODE_BYTES * (1 + i);
  }
  return (napi_value)1;
}

/* regionRoots(data, offset, length, height, captures, out): on the calling thread. */
static napi_value region_roots(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 6) return throw_range(env, "regionRoots takes 6 arguments");
  region r;
  if (read_region(env, args, &r) == NULL) return NULL;
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
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc == 7) CHECK(napi_typeof(env, args[6], &type));
  if (type != napi_function) return throw_range(env, "hashAsync takes 7 arguments, the last a callback");
  addon_state *state = started(env);
  if (state == NULL) return NULL;
  async_job *job = calloc(1, sizeof *job);
  if (job == NULL) return throw_range(env, "out of memory");
  if (read_region(env, args, &job->r) == NULL) {
    free(job);
    return NULL;
  }
  job->state = state;
  job->task.run = run_async_job;
  if (napi_create_reference(env, args[0], 1, &job->data) != napi_ok || napi_create_reference(env, args[5], 1, &job->out) != napi_ok ||
      napi_create_reference(env, args[6], 1, &job->done) != napi_ok) {
    free(job->r.captures);
    free(job);
    return throw_last(env);
  }
  if (state->in_flight++ == 0) napi_ref_threadsafe_function(env, state->completions);
  pool_submit(state->workers, &job->task);
  return NULL;
}

/*
 * A batch: each add copies the bytes (the caller may reuse or grow its memory at once) and
 * queues them; drain waits for all of them and hands out the roots in order.
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
  size_t pending, count, capacity;
  batch_job **jobs;
} root_batch;

static void run_batch_job(pool_task *task) {
  batch_job *job = (batch_job *)task;
  hash_region(&job->r);
  root_batch *b = job->batch;
  pthread_mutex_lock(&b->lock);
  if (--b->pending == 0) pthread_cond_signal(&b->done);
  pthread_mutex_unlock(&b->lock);
}

static void batch_wait(root_batch *b) {
  pthread_mutex_lock(&b->lock);
  while (b->pending > 0) pthread_cond_wait(&b->done, &b->lock);
  pthread_mutex_unlock(&b->lock);
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
  if (b == NULL) return throw_range(env, "out of memory");
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->done, NULL);
  napi_value handle;
  if (napi_create_external(env, b, finalize_batch, NULL, &handle) != napi_ok) {
    finalize_batch(env, b, NULL);
    return throw_last(env);
  }
  return handle;
}

static napi_value get_batch(napi_env env, napi_value value, root_batch **b) {
  napi_valuetype type;
  CHECK(napi_typeof(env, value, &type));
  if (type != napi_external) return throw_range(env, "not a batch");
  CHECK(napi_get_value_external(env, value, (void **)b));
  return (napi_value)1;
}

/* batchAdd(batch, data, offset, length): the root of those bytes padded to their tree. */
static napi_value batch_add(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  root_batch *b;
  if (argc != 4) return throw_range(env, "batchAdd takes 4 arguments");
  if (get_batch(env, args[0], &b) == NULL) return NULL;
  uint8_t *data;
  size_t size;
  uint64_t offset, length;
  if (view_bytes(env, args[1], &data, &size) != napi_ok) return throw_range(env, "data must be a typed array, DataView or ArrayBuffer");
  if (get_u64(env, args[2], &offset) != napi_ok || get_u64(env, args[3], &length) != napi_ok || offset > size || length > size - offset) {
    return throw_range(env, "region lies outside its buffer");
  }
  addon_state *state = started(env);
  if (state == NULL) return NULL;
  if (b->count == b->capacity) {
    size_t capacity = b->capacity ? 2 * b->capacity : 64;
    batch_job **jobs = realloc(b->jobs, capacity * sizeof *jobs);
    if (jobs == NULL) return throw_range(env, "out of memory");
    b->jobs = jobs;
    b->capacity = capacity;
  }
  batch_job *job = malloc(sizeof *job + length);
  if (job == NULL) return throw_range(env, "out of memory");
  memcpy(job->bytes, data + offset, length);
  job->r = (region){.data = job->bytes, .length = length, .height = merkle_tree_height(length), .captures = NULL, .capture_count = 0, .root = job->root};
  job->batch = b;
  job->task.run = run_batch_job;
  b->jobs[b->count++] = job;
  pthread_mutex_lock(&b->lock);
  b->pending++;
  pthread_mutex_unlock(&b->lock);
  pool_submit(state->workers, &job->task);
  return NULL;
}

/* batchDrain(batch, out): waits, writes the 32-byte roots in add order, empties the batch. */
static napi_value batch_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  root_batch *b;
  if (argc != 2) return throw_range(env, "batchDrain takes 2 arguments");
  if (get_batch(env, args[0], &b) == NULL) return NULL;
  uint8_t *out;
  size_t out_size;
  if (view_bytes(env, args[1], &out, &out_size) != napi_ok || out_size < NODE_BYTES * b->count) return throw_range(env, "out must hold 32 bytes per root");
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
  state->workers = NULL;
}

static addon_state *started(napi_env env) {
  addon_state *state;
  if (napi_get_instance_data(env, (void **)&state) != napi_ok) return throw_last(env), NULL;
  if (state->workers != NULL) return state;
  napi_value name;
  if (napi_create_string_utf8(env, "opml-native hash completions", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, complete_async_job, &state->completions) != napi_ok ||
      napi_unref_threadsafe_function(env, state->completions) != napi_ok) {
    return throw_last(env), NULL;
  }
  state->workers = pool_start(pool_cpu_count());
  if (state->workers == NULL) return throw_range(env, "cannot start the hashing threads"), NULL;
  if (napi_add_env_cleanup_hook(env, stop_workers, state) != napi_ok) return throw_last(env), NULL;
  return state;
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
  if (state == NULL || napi_set_instance_data(env, state, free_state, NULL) != napi_ok ||
      napi_create_string_utf8(env, keccak_has_avx2() ? "avx2" : "portable", NAPI_AUTO_LENGTH, &kernel) != napi_ok ||
      napi_set_named_property(env, exports, "kernel", kernel) != napi_ok || napi_create_uint32(env, pool_cpu_count(), &threads) != napi_ok ||
      napi_set_named_property(env, exports, "threads", threads) != napi_ok || export_function(env, exports, "regionRoots", region_roots) != napi_ok ||
      export_function(env, exports, "hashAsync", hash_async) != napi_ok || export_function(env, exports, "newBatch", new_batch) != napi_ok ||
      export_function(env, exports, "batchAdd", batch_add) != napi_ok || export_function(env, exports, "batchDrain", batch_drain) != napi_ok) {
    return throw_last(env);
  }
  return exports;
}
