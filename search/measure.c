/*
 * measure.c — the local measurer: build a candidate, run it in a child
 * process with a timeout, check it against the OpenBLAS reference, time it.
 *
 * The parent prepares everything once per task: random inputs, packed
 * weights, and the reference output. Per candidate it JIT-compiles the
 * kernel (a compile error is a result), then forks. The child runs the
 * kernel once and compares its output with the reference (wrong answer),
 * then times it: after a warm-up, `number` runs per repeat, doubled until a
 * repeat lasts min_repeat_ms, and `repeats` repeats. It writes a fixed-size
 * report to a pipe. A child killed by a signal is a runtime error; one that
 * outlives the timeout is killed and reported as a timeout.
 */
#include "chamcc/search.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct tune_measurer {
  tune_task task;          /* what is measured */
  cg_target target;        /* host target */
  tune_measure_opts o;     /* timing options */
  float *bufs[5];          /* kernel arguments in parameter order */
  int n_bufs;              /* how many */
  int out;                 /* which argument is the output */
  float *ref;              /* expected output, plain */
  float *got;              /* scratch for the unpacked output */
  int64_t n_out;           /* elements of ref */
};

/* What the child reports. */
typedef struct report {
  int status;                       /* tune_status */
  int n_times;                      /* repeats done */
  double times[TUNE_MAX_REPEATS];   /* seconds per run */
  char message[200];                /* why it failed */
} report;

tune_measure_opts tune_measure_defaults(void) {
  tune_measure_opts o = {3, 20.0, 10.0, 0};
  return o;
}

static float *rand_buf(int64_t n, unsigned *seed, float scale) {
  float *v = chm_malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    v[i] = scale * ((float)((*seed >> 8) & 0xffffff) / 0x800000 - 1.0f);
  }
  return v;
}

static float *view_buf(const tpl_view *v, const float *plain) {
  float *b = chm_malloc((size_t)tpl_view_size(v) * sizeof(float));
  tpl_view_pack(v, plain, b);
  return b;
}

static void prepare_conv(tune_measurer *m, unsigned *seed) {
  const tpl_conv *w = &m->task.conv;
  int64_t cpg = w->depthwise ? 1 : w->in.c;
  int64_t nx = w->in.n * w->in.c * w->in.h * w->in.w, nw = w->out.c * cpg * w->kh * w->kw;
  m->n_out = w->out.n * w->out.c * w->out.h * w->out.w;
  float *x = rand_buf(nx, seed, 1), *W = rand_buf(nw, seed, 1), *B = rand_buf(w->out.c, seed, 1);
  float *R = w->epi.has_residual ? rand_buf(m->n_out, seed, 1) : NULL;
  tpl_gconv g = {w->in.n, w->in.c, w->in.h, w->in.w, w->out.c, w->out.h, w->out.w, w->kh, w->kw,
                 w->sh, w->sw, w->dh, w->dw, w->pt, w->pl, w->depthwise ? w->in.c : 1, w->epi};
  m->ref = chm_malloc((size_t)m->n_out * sizeof(float));
  tune_ref_conv(&g, x, W, B, R, m->ref);
  m->bufs[m->n_bufs++] = view_buf(&w->in, x);
  m->bufs[m->n_bufs] = chm_malloc((size_t)tpl_conv_wsize(w) * sizeof(float));
  tpl_conv_pack(w, W, m->bufs[m->n_bufs++]);
  m->bufs[m->n_bufs] = chm_malloc((size_t)(tpl_view_cblocks(&w->out) * w->out.cb) * sizeof(float));
  tpl_pack_bias(w->out.c, w->out.cb, B, m->bufs[m->n_bufs++]);
  if (R) m->bufs[m->n_bufs++] = view_buf(&w->epi.res, R);
  m->out = m->n_bufs;
  m->bufs[m->n_bufs++] = chm_calloc((size_t)tpl_view_size(&w->out), sizeof(float));
  free(x), free(W), free(B), free(R);
}

static void prepare_dense(tune_measurer *m, unsigned *seed) {
  const tpl_dense *w = &m->task.dense;
  m->n_out = w->m * w->n;
  float *A = rand_buf(w->m * w->k, seed, 1), *B = rand_buf(w->k * w->n, seed, 1), *bias = rand_buf(w->n, seed, 1);
  float *R = w->epi.has_residual ? rand_buf(m->n_out, seed, 1) : NULL;
  m->ref = chm_malloc((size_t)m->n_out * sizeof(float));
  tune_ref_dense(w->m, w->k, w->n, w->trans_a, A, B, bias, R, &w->epi, m->ref);
  int64_t np = (w->n + w->lanes - 1) / w->lanes * w->lanes;
  m->bufs[m->n_bufs++] = A;
  m->bufs[m->n_bufs] = chm_malloc((size_t)tpl_dense_wsize(w) * sizeof(float));
  tpl_dense_pack(w, B, 0, 1.0f, m->bufs[m->n_bufs++]);
  m->bufs[m->n_bufs] = chm_calloc((size_t)np, sizeof(float));
  memcpy(m->bufs[m->n_bufs++], bias, (size_t)w->n * sizeof(float));
  if (R) m->bufs[m->n_bufs++] = R;
  m->out = m->n_bufs;
  m->bufs[m->n_bufs++] = chm_calloc((size_t)m->n_out, sizeof(float));
  free(B), free(bias);
}

tune_measurer *tune_measurer_new(const tune_task *t, const cg_target *tgt,
                                 const tune_measure_opts *o, chm_err *e) {
  tune_measurer *m = chm_calloc(1, sizeof *m);
  m->task = *t;
  m->target = *tgt;
  m->o = *o;
  if (m->o.repeats < 1) m->o.repeats = 1;
  if (m->o.repeats > TUNE_MAX_REPEATS) m->o.repeats = TUNE_MAX_REPEATS;
  unsigned seed = 42;
  if (t->kind == TUNE_CONV) prepare_conv(m, &seed);
  else prepare_dense(m, &seed);
  m->got = chm_malloc((size_t)m->n_out * sizeof(float));
  (void)e;
  return m;
}

void tune_measurer_free(tune_measurer *m) {
  if (!m) return;
  for (int i = 0; i < m->n_bufs; i++) free(m->bufs[i]);
  free(m->ref);
  free(m->got);
  free(m);
}

typedef void (*fn3)(float *, float *, float *);
typedef void (*fn4)(float *, float *, float *, float *);
typedef void (*fn5)(float *, float *, float *, float *, float *);

static void call(void *fn, float **b, int n) {
  switch (n) {
  case 3: ((fn3)fn)(b[0], b[1], b[2]); break;
  case 4: ((fn4)fn)(b[0], b[1], b[2], b[3]); break;
  case 5: ((fn5)fn)(b[0], b[1], b[2], b[3], b[4]); break;
  default: abort();
  }
}

static double output_error(tune_measurer *m) {
  const float *out = m->bufs[m->out];
  if (m->task.kind == TUNE_CONV) {
    tpl_view_unpack(&m->task.conv.out, out, m->got);
    out = m->got;
  }
  double d = 0, mx = 1e-30;
  for (int64_t i = 0; i < m->n_out; i++) {
    double x = fabs((double)out[i] - m->ref[i]);
    if (!(x <= d)) d = x; /* NaN wins */
    if (fabs(m->ref[i]) > mx) mx = fabs(m->ref[i]);
  }
  return d / mx;
}

/* In the child: check, then time. */
static void child_run(tune_measurer *m, void *fn, report *rep) {
  float *out = m->bufs[m->out];
  memset(out, 0xff, (size_t)(m->task.kind == TUNE_CONV ? tpl_view_size(&m->task.conv.out) : m->n_out) * 4);
  call(fn, m->bufs, m->n_bufs);
  double err = output_error(m);
  if (!(err <= 1e-4)) {
    rep->status = TUNE_WRONG_ANSWER;
    snprintf(rep->message, sizeof rep->message, "relative error %.3g against the OpenBLAS reference", err);
    return;
  }
  int number = 1;
  for (;;) { /* raise `number` until one repeat lasts min_repeat_ms */
    double t0 = chm_now();
    for (int i = 0; i < number; i++) call(fn, m->bufs, m->n_bufs);
    double dt = chm_now() - t0;
    if (dt * 1e3 >= m->o.min_repeat_ms || number >= (1 << 20)) break;
    int want = dt > 0 ? (int)(number * m->o.min_repeat_ms / (dt * 1e3) * 1.2) + 1 : number * 10;
    number = want > 2 * number ? want : 2 * number;
  }
  for (int r = 0; r < m->o.repeats; r++) {
    double t0 = chm_now();
    for (int i = 0; i < number; i++) call(fn, m->bufs, m->n_bufs);
    rep->times[rep->n_times++] = (chm_now() - t0) / number;
  }
  rep->status = TUNE_OK;
}

/* Waits for the child's report, up to the timeout. */
static void parent_wait(tune_measurer *m, pid_t pid, int fd, report *rep) {
  struct pollfd p = {fd, POLLIN, 0};
  size_t got = 0;
  double deadline = chm_now() + m->o.timeout_s;
  while (got < sizeof *rep) {
    int left = (int)((deadline - chm_now()) * 1000);
    if (left <= 0) break;
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = read(fd, (char *)rep + got, sizeof *rep - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  int st = 0;
  if (got == sizeof *rep) {
    waitpid(pid, &st, 0);
    return;
  }
  if (waitpid(pid, &st, WNOHANG) == 0) { /* still running: out of time */
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    rep->status = TUNE_TIMEOUT;
    snprintf(rep->message, sizeof rep->message, "no result within %.1f s", m->o.timeout_s);
    return;
  }
  rep->status = TUNE_RUNTIME_ERROR;
  if (WIFSIGNALED(st))
    snprintf(rep->message, sizeof rep->message, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(rep->message, sizeof rep->message, "exited with status %d", WEXITSTATUS(st));
}

static void run_isolated(tune_measurer *m, void *fn, report *rep) {
  int fds[2];
  if (pipe(fds)) {
    rep->status = TUNE_RUNTIME_ERROR;
    snprintf(rep->message, sizeof rep->message, "pipe: %s", strerror(errno));
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    rep->status = TUNE_RUNTIME_ERROR;
    snprintf(rep->message, sizeof rep->message, "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    /* a crash must kill the child, whatever handlers the parent installed
     * (sanitizers, the host program): the parent reads the signal */
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
    report r = {0};
    child_run(m, fn, &r);
    ssize_t n = write(fds[1], &r, sizeof r);
    _exit(n == (ssize_t)sizeof r ? 0 : 1);
  }
  close(fds[1]);
  parent_wait(m, pid, fds[0], rep);
  close(fds[0]);
}

static void fill(tune_record *r, const report *rep) {
  r->status = (tune_status)rep->status;
  r->n_times = rep->n_times;
  memcpy(r->times, rep->times, sizeof r->times);
  snprintf(r->message, sizeof r->message, "%s", rep->message);
}

struct tune_built {
  cg_jit *jit;         /* owns the code */
  void *fn;            /* the kernel, NULL if the build failed */
  int n_params;        /* its parameter count */
  double compile_s;    /* build time */
  char message[200];   /* why the build failed */
};

tune_built *tune_build_kernel(const tune_measurer *m, const ir_kernel *k) {
  chm_err e = {0};
  tune_built *b = chm_calloc(1, sizeof *b);
  double t0 = chm_now();
  cg_module *mod = cg_module_new(&m->target, "candidate", m->o.nthreads, &e);
  if (mod) {
    cg_export_kernels(mod);
    if (!cg_add_kernel(mod, k, &e) && !cg_finish(mod, &e)) b->jit = cg_jit_new(mod, &e);
    if (b->jit) b->fn = cg_jit_lookup(b->jit, k->name, &e);
  }
  cg_module_free(mod);
  b->n_params = k->n_params;
  b->compile_s = chm_now() - t0;
  if (!b->fn) snprintf(b->message, sizeof b->message, "%.199s", e.set ? e.msg : "no code");
  return b;
}

tune_built *tune_build(const tune_measurer *m, const int *idx) {
  const char *why = tune_task_check(&m->task, idx);
  if (why) { /* never built: the caller should not have asked */
    tune_built *b = chm_calloc(1, sizeof *b);
    snprintf(b->message, sizeof b->message, "invalid config: %s", why);
    return b;
  }
  chm_arena *a = chm_arena_new();
  tune_built *b = tune_build_kernel(m, tune_task_kernel(&m->task, idx, a, "candidate"));
  chm_arena_free(a);
  return b;
}

void tune_run_built(tune_measurer *m, const tune_built *b, tune_record *r) {
  report rep = {0};
  r->compile_s = b->compile_s;
  r->run_s = 0;
  if (!b->fn || b->n_params != m->n_bufs) {
    rep.status = TUNE_COMPILE_ERROR;
    snprintf(rep.message, sizeof rep.message, "%.199s", b->fn ? "kernel signature mismatch" : b->message);
  } else {
    double t1 = chm_now();
    run_isolated(m, b->fn, &rep);
    r->run_s = chm_now() - t1;
  }
  fill(r, &rep);
}

void tune_built_free(tune_built *b) {
  if (!b) return;
  cg_jit_free(b->jit);
  free(b);
}

void tune_measure_kernel(tune_measurer *m, const ir_kernel *k, tune_record *r) {
  tune_built *b = tune_build_kernel(m, k);
  tune_run_built(m, b, r);
  tune_built_free(b);
}

void tune_measure(tune_measurer *m, const int *idx, tune_record *r) {
  tune_built *b = tune_build(m, idx);
  tune_run_built(m, b, r);
  tune_built_free(b);
}
