/*
 * measure.c — the measurer: build a candidate, run it in a child process
 * with a timeout, check it against the OpenBLAS reference, time it.
 *
 * The parent prepares everything once per workload: random inputs, packed
 * weights, and the reference output, packed into the output's layout with
 * NaN where any value is right. Per candidate it JIT-compiles the kernel
 * (a compile error is a result), then forks. The child runs the kernel
 * once and compares its output with the reference (wrong answer), then
 * times it: after a warm-up, `number` runs per repeat, doubled until a
 * repeat lasts min_repeat_ms, and `repeats` repeats. It writes a fixed-size
 * report to a pipe. A child that crashed is a runtime error; one that
 * outlives the timeout is killed and reported as a timeout; one that failed
 * for reasons of its own (killed from outside) is an infra error. The
 * check, the timing and the child are measure/remote_bench.c, shared with
 * the runner.
 *
 * A remote measurer (meas_new with an address) measures candidates on
 * another machine (a board): each is built for the session's target,
 * emitted as an object, linked into a shared object with ld.lld, and sent
 * to chamcc-runner at HOST:PORT (measure/remote.c) with the same inputs and
 * expected output; the runner answers with the same result fields. The
 * tuner reaches both through a tune_meter (tune/meter.c).
 *
 * A measurer may hold a reference kernel (meas_set_reference: the tuner
 * gives the task's default config), built once and kept loaded: here the
 * forked child calls the JIT'ed code it inherits, a runner gets it once per
 * connection. Every candidate is then timed interleaved with it (rmt_bench)
 * and the result carries both readings.
 */
#include "chamcc/measure.h"
#include "chamcc/remote.h"

#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)RMT_MAX_TIMES == (int)MEAS_MAX_REPEATS, "a RESULT carries a meas_result's times");
_Static_assert(RMT_OK == (int)MEAS_OK && RMT_COMPILE_ERROR == (int)MEAS_COMPILE_ERROR &&
                   RMT_RUNTIME_ERROR == (int)MEAS_RUNTIME_ERROR && RMT_WRONG_ANSWER == (int)MEAS_WRONG_ANSWER &&
                   RMT_TIMEOUT == (int)MEAS_TIMEOUT && RMT_INFRA_ERROR == (int)MEAS_INFRA_ERROR,
               "a RESULT's status is a meas_status");

static const char *const status_names[] = {"ok",           "compile_error", "runtime_error",
                                           "wrong_answer", "timeout",       "infra_error"};

const char *meas_status_name(meas_status s) {
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

struct meas_measurer {
  int is_dense;            /* which of the workloads */
  tpl_conv conv;           /* the convolution measured */
  tpl_dense dense;         /* or the dense layer */
  cg_target target;        /* what candidates are built for */
  meas_opts o;     /* timing options */
  rmt_task rt;             /* arguments, expected output (packed, NaN = any) and timing */
  rmt_client *remote[MEAS_MAX_RUNNERS]; /* the runners measuring for us (none: measured here) */
  int n_remote;            /* how many */
  meas_built *ref;         /* the reference kernel candidates are timed beside, or NULL */
  char linker[4096];       /* ld.lld, when remote */
};

meas_opts meas_defaults(void) {
  meas_opts o = {.repeats = 3, .min_repeat_ms = 20.0, .timeout_s = 10.0, .reference = 1};
  return o;
}

/* n floats, RMT_ALIGN-byte aligned, as a built library's workspace and
 * weights are: every buffer that becomes a kernel argument comes from here
 * (add_buf checks it). */
static float *floats(int64_t n) { return chm_malloc_aligned(RMT_ALIGN, (size_t)(n ? n : 1) * sizeof(float)); }

static float *rand_buf(int64_t n, unsigned *seed, float scale) {
  float *v = floats(n);
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    v[i] = scale * ((float)((*seed >> 8) & 0xffffff) / 0x800000 - 1.0f);
  }
  return v;
}

static float *view_buf(const tpl_view *v, const float *plain) {
  float *b = floats(tpl_view_size(v));
  tpl_view_pack(v, plain, b);
  return b;
}

/* Appends a kernel argument of n floats (taking ownership of v, which
 * floats() allocated). */
static void add_buf(meas_measurer *m, float *v, int64_t n) {
  CHM_ASSERT(m->rt.n_bufs < RMT_MAX_BUFS && (uintptr_t)v % RMT_ALIGN == 0);
  m->rt.len[m->rt.n_bufs] = n;
  m->rt.bufs[m->rt.n_bufs++] = v;
}

/* The output argument, zeroed, of n floats. */
static void add_output(meas_measurer *m, int64_t n) {
  m->rt.out = m->rt.n_bufs;
  add_buf(m, memset(floats(n), 0, (size_t)n * sizeof(float)), n);
}

/* The reference in the output's packed layout, NaN where unpacking never
 * looks (halo, channel padding): packing all ones marks the positions that
 * hold a value, since tpl_view_pack zeroes the rest. */
static float *packed_expect(const tpl_view *v, const float *ref, int64_t n) {
  float *ones = chm_malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) ones[i] = 1;
  float *mask = view_buf(v, ones), *want = view_buf(v, ref);
  for (int64_t i = 0; i < tpl_view_size(v); i++)
    if (mask[i] == 0) want[i] = NAN;
  free(ones), free(mask);
  return want;
}

static void prepare_conv(meas_measurer *m, unsigned *seed) {
  const tpl_conv *w = &m->conv;
  int64_t cpg = tpl_conv_in_per_group(w);
  int64_t nx = w->in.n * w->in.c * w->in.h * w->in.w, nw = w->out.c * cpg * w->kh * w->kw;
  int64_t n_out = w->out.n * w->out.c * w->out.h * w->out.w, nb = tpl_view_cblocks(&w->out) * w->out.cb;
  float *x = rand_buf(nx, seed, 1), *W = rand_buf(nw, seed, 1), *B = rand_buf(w->out.c, seed, 1);
  float *R = w->epi.has_residual ? rand_buf(n_out, seed, 1) : NULL;
  tpl_gconv g = {w->in.n, w->in.c, w->in.h, w->in.w, w->out.c, w->out.h, w->out.w, w->kh, w->kw,
                 w->sh, w->sw, w->dh, w->dw, w->pt, w->pl, w->in.c / cpg, w->epi};
  float *ref = chm_malloc((size_t)n_out * sizeof(float));
  meas_ref_conv(&g, x, W, B, R, ref);
  add_buf(m, view_buf(&w->in, x), tpl_view_size(&w->in));
  float *pw = floats(tpl_conv_wsize(w)), *pb = floats(nb);
  tpl_conv_pack(w, W, pw);
  add_buf(m, pw, tpl_conv_wsize(w));
  tpl_pack_bias(w->out.c, w->out.cb, B, pb);
  add_buf(m, pb, nb);
  if (R) add_buf(m, view_buf(&w->epi.res, R), tpl_view_size(&w->epi.res));
  add_output(m, tpl_view_size(&w->out));
  m->rt.expect = packed_expect(&w->out, ref, n_out);
  free(x), free(W), free(B), free(R), free(ref);
}

static void prepare_dense(meas_measurer *m, unsigned *seed) {
  const tpl_dense *w = &m->dense;
  int64_t n_out = w->m * w->n, np = (w->n + w->lanes - 1) / w->lanes * w->lanes;
  float *A = rand_buf(w->m * w->k, seed, 1), *B = rand_buf(w->k * w->n, seed, 1), *bias = rand_buf(w->n, seed, 1);
  float *R = w->epi.has_residual ? rand_buf(n_out, seed, 1) : NULL;
  m->rt.expect = chm_malloc((size_t)n_out * sizeof(float));
  meas_ref_dense(w->m, w->k, w->n, w->trans_a, A, B, bias, R, &w->epi, m->rt.expect);
  add_buf(m, A, w->m * w->k);
  float *pw = floats(tpl_dense_wsize(w)), *pb = memset(floats(np), 0, (size_t)np * sizeof(float));
  tpl_dense_pack(w, B, 0, 1.0f, pw);
  add_buf(m, pw, tpl_dense_wsize(w));
  memcpy(pb, bias, (size_t)w->n * sizeof(float));
  add_buf(m, pb, np);
  if (R) add_buf(m, R, n_out);
  add_output(m, n_out);
  free(B), free(bias);
}

/* The timing options and kernel name every candidate shares. */
static void set_timing(meas_measurer *m) {
  m->rt.repeats = m->o.repeats;
  m->rt.min_repeat_ms = m->o.min_repeat_ms;
  m->rt.cold = m->o.cold;
  m->rt.timeout_s = m->o.timeout_s;
  m->rt.nthreads = m->o.nthreads;
  snprintf(m->rt.symbol, sizeof m->rt.symbol, "candidate");
}

/* Without a runner, candidates run here: the target must be this machine. */
static int check_local(const cg_target *tgt, chm_err *e) {
  cg_target host;
  if (cg_target_init(&host, NULL, NULL, e)) return -1;
  if (!strcmp(host.triple, tgt->triple)) return 0;
  return chm_errorf(e, "cannot run %s kernels on this %s machine: measure them on the target with "
                       "--runner HOST:PORT (chamcc-runner), or tune on the target and use its log",
                    tgt->triple, host.triple);
}

/* One client per runner of the comma-separated list ADDRS. */
static int add_runners(meas_measurer *m, const char *addrs, chm_err *e) {
  char list[MEAS_MAX_RUNNERS][MEAS_ADDR_MAX];
  int n = meas_split_runners(addrs, list, e);
  for (int i = 0; i < n; i++)
    if (!(m->remote[m->n_remote++] = rmt_client_new(list[i], &m->rt, m->o.key, e))) return -1;
  return n < 0 ? -1 : 0;
}

int meas_split_runners(const char *addrs, char (*out)[MEAS_ADDR_MAX], chm_err *e) {
  int n = 0;
  const char *p = addrs;
  for (;;) {
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= MEAS_ADDR_MAX)
      return chm_errorf(e, "--runner '%s': %s", addrs, len ? "an address is too long" : "an empty address"), -1;
    if (n == MEAS_MAX_RUNNERS) return chm_errorf(e, "--runner '%s': more than %d runners", addrs, MEAS_MAX_RUNNERS), -1;
    if (out) memcpy(out[n], p, len), out[n][len] = 0;
    n++;
    if (!p[len]) return n;
    p += len + 1;
  }
}

int meas_runners(const meas_measurer *m) { return m->n_remote; }

meas_measurer *meas_new(const tpl_conv *conv, const tpl_dense *dense, const cg_target *tgt, const meas_opts *o,
                        const char *addr, chm_err *e) {
  CHM_ASSERT(!conv != !dense);
  if (!addr && check_local(tgt, e)) return NULL;
  meas_measurer *m = chm_calloc(1, sizeof *m);
  m->is_dense = dense != NULL;
  if (conv) m->conv = *conv;
  else m->dense = *dense;
  m->target = *tgt;
  m->o = *o;
  if (m->o.repeats < 1) m->o.repeats = 1;
  if (m->o.repeats > MEAS_MAX_REPEATS) m->o.repeats = MEAS_MAX_REPEATS;
  if (!(m->o.timeout_s > 0)) m->o.timeout_s = meas_defaults().timeout_s;
  unsigned seed = 42;
  if (m->is_dense) prepare_dense(m, &seed);
  else prepare_conv(m, &seed);
  set_timing(m);
  if (addr && (rmt_find_linker(m->linker, sizeof m->linker, e) || add_runners(m, addr, e))) {
    meas_free(m);
    return NULL;
  }
  return m;
}

void meas_free(meas_measurer *m) {
  if (!m) return;
  for (int i = 0; i < m->n_remote; i++) rmt_client_free(m->remote[i]);
  meas_built_free(m->ref);
  rmt_task_free(&m->rt);
  free(m);
}

typedef struct local_run {
  void *fn;               /* the JIT'ed kernel */
  const rmt_task *rt;     /* its arguments */
} local_run;

/* In the child: check, then time. */
static void child_run(void *ctx, rmt_result *r) {
  const local_run *l = ctx;
  rmt_bench(l->fn, l->rt, r);
}

static void fill(meas_result *r, const rmt_result *rep) {
  r->status = (meas_status)rep->status;
  r->n_times = rep->n_times;
  memcpy(r->times, rep->times, sizeof r->times);
  r->n_ref = rep->n_ref;
  memcpy(r->ref_times, rep->ref_times, sizeof r->ref_times);
  snprintf(r->message, sizeof r->message, "%s", rep->message);
}

struct meas_built {
  cg_jit *jit;           /* owns the code (measured here) */
  void *fn;              /* the kernel (measured here), NULL if the build failed */
  unsigned char *so;     /* the shared object (for a runner), NULL if the build failed */
  size_t so_size;        /* its size */
  int n_params;          /* the kernel's parameter count */
  double compile_s;      /* build time */
  char message[200];     /* why the build failed */
};

/* JIT-compiles the module for a measurement here. */
static void build_jit(cg_module *mod, const char *name, meas_built *b, chm_err *e) {
  b->jit = cg_jit_new(mod, e);
  if (b->jit) b->fn = cg_jit_lookup(b->jit, name, e);
}

/* Object code for the target, linked into a shared object for the runner. */
static void build_shared(const meas_measurer *m, cg_module *mod, meas_built *b, chm_err *e) {
  unsigned char *obj = NULL;
  size_t n = 0;
  char why[200];
  if (cg_emit_object(mod, &obj, &n, e)) return;
  if (rmt_link_shared(m->linker, obj, n, &b->so, &b->so_size, why, sizeof why)) chm_errorf(e, "linking: %s", why);
  free(obj);
}

meas_built *meas_build(const meas_measurer *m, const ir_kernel *k) {
  chm_err e = {0};
  meas_built *b = chm_calloc(1, sizeof *b);
  if (!k) {
    snprintf(b->message, sizeof b->message, "no kernel");
    return b;
  }
  double t0 = chm_now();
  ir_kernel named = *k;
  named.name = m->rt.symbol; /* the name a runner looks up */
  cg_module *mod = cg_module_new(&m->target, "candidate", m->o.nthreads, &e);
  if (mod) {
    cg_export_kernels(mod);
    if (!cg_add_kernel(mod, &named, &e) && !cg_finish(mod, &e)) {
      if (m->n_remote) build_shared(m, mod, b, &e);
      else build_jit(mod, named.name, b, &e);
    }
  }
  cg_module_free(mod);
  b->n_params = k->n_params;
  b->compile_s = chm_now() - t0;
  if (!b->fn && !b->so) snprintf(b->message, sizeof b->message, "%.199s", e.set ? e.msg : "no code");
  return b;
}

void meas_run(meas_measurer *m, const meas_built *b, meas_result *r) { meas_run_on(m, 0, b, r); }

void meas_run_on(meas_measurer *m, int runner, const meas_built *b, meas_result *r) {
  rmt_result rep = {0};
  r->compile_s = b->compile_s;
  r->run_s = 0;
  if ((!b->fn && !b->so) || b->n_params != m->rt.n_bufs) {
    rep.status = RMT_COMPILE_ERROR;
    snprintf(rep.message, sizeof rep.message, "%.199s",
             b->fn || b->so ? "kernel signature mismatch" : b->message);
  } else {
    double t1 = chm_now();
    if (m->n_remote) {
      CHM_ASSERT(runner >= 0 && runner < m->n_remote);
      rmt_client_measure(m->remote[runner], b->so, b->so_size, &rep);
    } else {
      local_run l = {b->fn, &m->rt};
      rmt_run_isolated(child_run, &l, m->rt.timeout_s, &rep);
    }
    r->run_s = chm_now() - t1;
  }
  fill(r, &rep);
}

void meas_built_free(meas_built *b) {
  if (!b) return;
  cg_jit_free(b->jit);
  free(b->so);
  free(b);
}

int meas_call(const meas_measurer *m, const meas_built *b) {
  if (!b->fn || b->n_params != m->rt.n_bufs) return -1;
  rmt_call(b->fn, m->rt.bufs, m->rt.n_bufs);
  return 0;
}

void meas_kernel(meas_measurer *m, const ir_kernel *k, meas_result *r) {
  meas_built *b = meas_build(m, k);
  meas_run(m, b, r);
  meas_built_free(b);
}

/* ---- the reference kernel ---- */

int meas_set_reference(meas_measurer *m, const ir_kernel *k, chm_err *e) {
  meas_built *b = meas_build(m, k);
  if ((!b->fn && !b->so) || b->n_params != m->rt.n_bufs) {
    chm_errorf(e, "the reference kernel: %s", b->fn || b->so ? "kernel signature mismatch" : b->message);
    meas_built_free(b);
    return -1;
  }
  meas_built_free(m->ref);
  m->ref = b;
  m->rt.ref = b->fn; /* the children of meas_run inherit the JIT'ed code */
  for (int i = 0; i < m->n_remote; i++) rmt_client_set_reference(m->remote[i], b->so, b->so_size);
  return 0;
}

/* ---- the parallel builder ---- */

typedef struct build_job {
  const meas_measurer *m;      /* shared, read only */
  const ir_kernel *const *k;   /* the batch */
  meas_built **out;            /* one result per kernel */
  int n;                       /* batch size */
  volatile int *stop;          /* set: build no more */
  int next;                    /* next kernel to take (atomic) */
} build_job;

static void *build_worker(void *arg) {
  build_job *j = arg;
  for (int i; (i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n && !(j->stop && *j->stop);)
    j->out[i] = meas_build(j->m, j->k[i]);
  return NULL;
}

meas_built **meas_build_batch(const meas_measurer *m, const ir_kernel *const *k, int n, int threads,
                              volatile int *stop) {
  build_job j = {m, k, chm_calloc((size_t)n + 1, sizeof(meas_built *)), n, stop, 0};
  int nt = threads > 0 ? threads : chm_num_cpus();
  if (nt > n) nt = n;
  pthread_t th[64];
  int started = 0;
  for (; started < nt - 1 && started < 64; started++)
    if (pthread_create(&th[started], NULL, build_worker, &j)) break;
  build_worker(&j);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  return j.out;
}
