/*
 * measure.h — measuring kernels (prefix `meas_`): build a candidate kernel
 * for a target, run it in a child process with a timeout (here) or send it
 * to a chamcc-runner (on a board), check its output against an OpenBLAS
 * reference and time it.
 *
 * This part knows kernels (loop IR), templates' workloads and targets, not
 * tuning: no configs, tasks, logs or cost models. The tuner (tune.h) turns
 * its configs into kernels and its records from meas_results; measure/ may
 * not include tune.h (its CMake library does not see it).
 *
 * A measurer is made once per workload (random inputs, packed weights, the
 * reference output), then measures any number of candidate kernels of that
 * workload: meas_build (thread-safe, so that a batch compiles in parallel)
 * and meas_run (one at a time, so candidates never share the cores while
 * timed).
 */
#ifndef CHAMCC_MEASURE_H
#define CHAMCC_MEASURE_H

#include "chamcc/cg.h"
#include "chamcc/remote.h"
#include "chamcc/tpl.h"

enum {
  MEAS_MAX_REPEATS = 16, /* timed repeats kept per measurement */
  MEAS_MAX_RUNNERS = 16, /* runners one measurer spreads candidates over */
  MEAS_ADDR_MAX = 256,   /* bytes of a runner's HOST:PORT */
};

typedef enum meas_status {
  MEAS_OK,            /* "ok" */
  MEAS_COMPILE_ERROR, /* "compile_error" */
  MEAS_RUNTIME_ERROR, /* "runtime_error" */
  MEAS_WRONG_ANSWER,  /* "wrong_answer" */
  MEAS_TIMEOUT,       /* "timeout" */
  /* "infra_error": the measuring failed, not the kernel (a fork or pipe
   * failure, the child killed from outside, a lost runner). It says
   * nothing about the kernel: measure it again. */
  MEAS_INFRA_ERROR,
} meas_status;

const char *meas_status_name(meas_status s); /* "ok", "compile_error", ... */

/* What one measurement found. */
typedef struct meas_result {
  meas_status status;              /* outcome */
  char message[256];               /* error text, "" when ok */
  int n_times;                     /* repeats done */
  double times[MEAS_MAX_REPEATS];  /* seconds per run, one per repeat */
  int n_ref;                       /* the reference kernel's repeats: 0 (none) or n_times */
  double ref_times[MEAS_MAX_REPEATS]; /* its seconds per run, ref_times[i] timed beside times[i] */
  double compile_s, run_s;         /* seconds spent building and running */
} meas_result;

typedef struct meas_opts {
  int repeats;          /* timed repeats (median is the result) */
  double min_repeat_ms; /* runs per repeat are raised until a repeat lasts this long */
  double timeout_s;     /* one candidate's run, compile excluded */
  int nthreads;         /* threads of parallel loops (0 = all cores) */
  int cold;             /* time each run alone with the weights flushed from the caches (rmt_bench) */
  int build_threads;    /* candidates meas_build_batch compiles at once (0: all cores) */
  const rmt_key *key;   /* proved to a runner that asks for a key (NULL: none; not copied) */
  int reference;        /* tune/'s meters time candidates beside the task's default config (on by default) */
} meas_opts;

meas_opts meas_defaults(void);

/* ---- measure/measure.c: the measurer ---- */

typedef struct meas_measurer meas_measurer;

/* The measurer of one workload: exactly one of conv and dense is given.
 * With addr NULL, candidates are JIT-compiled for tgt, which must be this
 * machine, and run here; with addr (HOST:PORT, or several separated by
 * commas: runners of the same CPU), they are linked into shared objects
 * and measured by the chamcc-runner there (measure/remote.c). */
meas_measurer *meas_new(const tpl_conv *conv, const tpl_dense *dense, const cg_target *tgt,
                        const meas_opts *o, const char *addr, chm_err *e);
void meas_free(meas_measurer *m); /* NULL is fine */

/* A built candidate: JIT code or a shared object, or why the build failed. */
typedef struct meas_built meas_built;
/* Builds kernel k (its parameters must be the workload's; NULL is a failed
 * build). Safe to call from several threads at once (each candidate has
 * its own LLVM context). */
meas_built *meas_build(const meas_measurer *m, const ir_kernel *k);
/* Builds n kernels on `threads` threads (0: one per core); returns n
 * results, malloc'ed. Once *stop is set (stop may be NULL) it builds no
 * more: the rest are NULL. */
meas_built **meas_build_batch(const meas_measurer *m, const ir_kernel *const *k, int n, int threads,
                              volatile int *stop);
/* Runs b in a child process (or on the runner) with the timeout, checks its
 * output against the reference (relative error 1e-4), then times it. A
 * failed build is a compile error. */
void meas_run(meas_measurer *m, const meas_built *b, meas_result *r);
/* The same on runner i of the address list (0 <= i < meas_runners(m));
 * different runners may be used from different threads at once. */
void meas_run_on(meas_measurer *m, int runner, const meas_built *b, meas_result *r);
int meas_runners(const meas_measurer *m); /* runners of the address list; 0 when measured here */
/* Splits a comma-separated runner list into out (MEAS_MAX_RUNNERS entries,
 * may be NULL); returns how many, or -1 with e set (an empty or long
 * address, too many). */
int meas_split_runners(const char *addrs, char (*out)[MEAS_ADDR_MAX], chm_err *e);
void meas_built_free(meas_built *b); /* NULL is fine */
/* Runs b once in this process on the measurer's arguments: no child, no
 * check, no timing. For a benchmark that times b beside another library's
 * code in a loop of its own, once meas_run has found b correct. -1 if b is
 * not JIT code of this workload (a failed build, a runner's object). */
int meas_call(const meas_measurer *m, const meas_built *b);
/* meas_build, then meas_run. */
void meas_kernel(meas_measurer *m, const ir_kernel *k, meas_result *r);
/* Builds kernel k (a known-good kernel of the workload: the tuner gives
 * its default config) once and keeps it loaded: from now on every
 * candidate is timed interleaved with it, in the same short window
 * (rmt_bench), and results carry its readings too (n_ref, ref_times).
 * Locally the candidates' children inherit it; each runner gets it once
 * per connection. -1 with e set if it does not build. */
int meas_set_reference(meas_measurer *m, const ir_kernel *k, chm_err *e);

/* ---- measure/peak.c: the machine's FMA peak ---- */

/* GFLOP/s of `threads` threads running `iters` iterations of independent
 * vector FMA chains at once (wall time of the slowest): what this machine's
 * cores can do at all. The vector FMA used goes to isa_name ("AVX-512 x16";
 * may be NULL). 0 when this CPU has no vector FMA chamcc knows (AVX2+FMA,
 * AVX-512, NEON). About 10^7 iterations take 50 ms at 4 GHz. */
double meas_peak_gflops(int threads, long iters, char *isa_name, size_t name_size);

/* ---- measure/reference.c: OpenBLAS references ---- */

/* Convolution on plain NCHW (im2col + sgemm, any groups) with bias, the
 * residual (plain, may be NULL) and activation of g->epi. */
void meas_ref_conv(const tpl_gconv *g, const float *x, const float *w, const float *bias,
                   const float *res, float *y);
/* out[m][n] = act(A x B + bias + res): A [m][k] (or [k][m] if trans_a),
 * B [k][n]; bias [n] may be NULL, res [m][n] may be NULL. */
void meas_ref_dense(int64_t m, int64_t k, int64_t n, int trans_a, const float *a, const float *b,
                    const float *bias, const float *res, const tpl_epi *epi, float *out);

#endif
