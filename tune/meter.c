/*
 * meter.c — the tune_meters that measure real kernels: the local one (JIT
 * and a child process here) and the remote one (a chamcc-runner), both
 * over the kernel measurer of measure/ (measure.h).
 *
 * Per task the meter makes a meas_measurer (random inputs, reference
 * output). Per batch it turns the configs into kernels and has measure/
 * compile them in parallel (meas_build_batch), as AutoTVM's
 * builder does, then runs them one at a time, so that candidates never
 * share the cores while timed. Each record carries its share of the
 * batch's compile wall time (build_s). Once the tuner says stop, nothing
 * more is built or run.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A meter of real kernels: where they run and how they are timed. */
typedef struct kernel_meter {
  tune_meter base;        /* the interface (first, so a tune_meter * is one) */
  cg_target target;       /* what candidates are built for */
  meas_opts o;    /* timing and build threads */
  const char *addr;       /* HOST:PORT of the runner, or NULL: measured here */
} kernel_meter;

/* ---- tasks through measure/ ---- */

meas_measurer *tune_measurer_new(const tune_task *t, const cg_target *tgt, const meas_opts *o, const char *addr,
                                 chm_err *e) {
  return t->kind == TUNE_CONV ? meas_new(&t->conv, NULL, tgt, o, addr, e) : meas_new(NULL, &t->dense, tgt, o, addr, e);
}

void tune_record_result(tune_record *r, const meas_result *res) {
  r->status = res->status;
  snprintf(r->message, sizeof r->message, "%s", res->message);
  r->n_times = res->n_times;
  memcpy(r->times, res->times, sizeof r->times);
  r->compile_s = res->compile_s;
  r->run_s = res->run_s;
}

/* A config the tuner should never have proposed: a compile error, not built. */
static void invalid_config(tune_record *r, const char *why) {
  meas_result res = {.status = MEAS_COMPILE_ERROR};
  snprintf(res.message, sizeof res.message, "invalid config: %s", why);
  tune_record_result(r, &res);
}

void tune_measure(meas_measurer *m, const tune_task *t, const int *idx, tune_record *r) {
  const char *why = tune_task_check(t, idx);
  if (why) {
    invalid_config(r, why);
    return;
  }
  chm_arena *a = chm_arena_new();
  meas_result res;
  meas_kernel(m, tune_task_kernel(t, idx, a, "candidate"), &res);
  chm_arena_free(a);
  tune_record_result(r, &res);
}

/* ---- the meter ---- */

/* One prepared task: its measurer and the meter's build threads. */
typedef struct kernel_task {
  tune_task task;     /* what is measured */
  meas_measurer *m;   /* inputs, reference, runner client */
  int build_threads;  /* candidates compiled at once (0: all cores) */
} kernel_task;

static void *kernel_prepare(tune_meter *base, const tune_task *t, chm_err *e) {
  kernel_meter *k = (kernel_meter *)base;
  meas_measurer *m = tune_measurer_new(t, &k->target, &k->o, k->addr, e);
  if (!m) return NULL;
  kernel_task *kt = chm_calloc(1, sizeof *kt);
  *kt = (kernel_task){*t, m, k->o.build_threads};
  return kt;
}

/* The kernels of a batch's configs (NULL for an invalid config), in a. */
static const ir_kernel **batch_kernels(const tune_task *t, const tune_batch *b, chm_arena *a) {
  const ir_kernel **k = chm_calloc((size_t)b->n + 1, sizeof *k);
  for (int i = 0; i < b->n; i++) {
    const int *idx = b->cfgs + i * TUNE_MAX_KNOBS;
    if (!tune_task_check(t, idx)) k[i] = tune_task_kernel(t, idx, a, "candidate");
  }
  return k;
}

static int kernel_measure(void *task, const tune_batch *b) {
  kernel_task *kt = task;
  chm_arena *a = chm_arena_new();
  const ir_kernel **k = batch_kernels(&kt->task, b, a);
  double t_build = chm_now();
  meas_built **built = meas_build_batch(kt->m, k, b->n, kt->build_threads, b->stop);
  t_build = chm_now() - t_build;
  int done = 0, more = 1;
  for (int i = 0; i < b->n; i++) {
    tune_record *r = &b->recs[i];
    if (more && built[i]) {
      if (k[i]) {
        meas_result res;
        meas_run(kt->m, built[i], &res);
        tune_record_result(r, &res);
      } else {
        invalid_config(r, tune_task_check(&kt->task, b->cfgs + i * TUNE_MAX_KNOBS));
      }
      r->build_s = t_build / b->n;
      done++;
      more = !b->done(b->ctx, r);
    }
    meas_built_free(built[i]);
  }
  free(built);
  free(k);
  chm_arena_free(a);
  return done;
}

static void kernel_close(void *task) {
  kernel_task *kt = task;
  meas_free(kt->m);
  free(kt);
}

static void kernel_free(tune_meter *m) { free(m); }

static tune_meter *kernel_meter_new(const char *name, const cg_target *tgt, const meas_opts *o,
                                    const char *addr) {
  kernel_meter *k = chm_calloc(1, sizeof *k);
  k->base = (tune_meter){name, kernel_prepare, kernel_measure, kernel_close, kernel_free};
  k->target = *tgt;
  k->o = *o;
  k->addr = addr;
  return &k->base;
}

tune_meter *tune_meter_local(const cg_target *tgt, const meas_opts *o) {
  return kernel_meter_new("local", tgt, o, NULL);
}

tune_meter *tune_meter_remote(const cg_target *tgt, const meas_opts *o, const char *addr) {
  return kernel_meter_new("remote", tgt, o, addr);
}

void tune_meter_free(tune_meter *m) {
  if (m) m->free(m);
}
