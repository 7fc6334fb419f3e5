/*
 * meter.c — the tune_meters that measure real kernels: the local one (JIT
 * and a child process here) and the remote one (a chamcc-runner), both
 * over the kernel measurer of measure.c.
 *
 * Per task the meter makes a tune_measurer (random inputs, reference
 * output). Per batch it compiles every config in parallel, as AutoTVM's
 * builder does, then runs them one at a time, so that candidates never
 * share the cores while timed. Each record carries its share of the
 * batch's compile wall time (build_s). Once the tuner says stop, nothing
 * more is built or run.
 */
#include "chamcc/search.h"

#include <pthread.h>
#include <stdlib.h>

/* A meter of real kernels: where they run and how they are timed. */
typedef struct kernel_meter {
  tune_meter base;        /* the interface (first, so a tune_meter * is one) */
  cg_target target;       /* what candidates are built for */
  tune_measure_opts o;    /* timing and build threads */
  const char *addr;       /* HOST:PORT of the runner, or NULL: measured here */
} kernel_meter;

/* ---- the parallel builder ---- */

typedef struct build_job {
  const tune_measurer *m;   /* shared, read only */
  const int *cfgs;          /* the batch */
  tune_built **out;         /* one result per config */
  int n;                    /* batch size */
  volatile int *stop;       /* set: build no more */
  int next;                 /* next config to take (atomic) */
} build_job;

static void *build_worker(void *arg) {
  build_job *j = arg;
  for (int i; (i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n && !(j->stop && *j->stop);)
    j->out[i] = tune_build(j->m, j->cfgs + i * TUNE_MAX_KNOBS);
  return NULL;
}

tune_built **tune_build_batch(const tune_measurer *m, const int *cfgs, int n, int threads, volatile int *stop) {
  build_job j = {m, cfgs, chm_calloc((size_t)n + 1, sizeof(tune_built *)), n, stop, 0};
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

/* ---- the meter ---- */

/* One prepared task: its measurer and the meter's build threads. */
typedef struct kernel_task {
  tune_measurer *m;   /* inputs, reference, runner client */
  int build_threads;  /* candidates compiled at once (0: all cores) */
} kernel_task;

static void *kernel_prepare(tune_meter *base, const tune_task *t, chm_err *e) {
  kernel_meter *k = (kernel_meter *)base;
  tune_measurer *m = k->addr ? tune_measurer_new_remote(t, &k->target, &k->o, k->addr, e)
                             : tune_measurer_new(t, &k->target, &k->o, e);
  if (!m) return NULL;
  kernel_task *kt = chm_calloc(1, sizeof *kt);
  *kt = (kernel_task){m, k->o.build_threads};
  return kt;
}

static int kernel_measure(void *task, const tune_batch *b) {
  kernel_task *kt = task;
  double t_build = chm_now();
  tune_built **built = tune_build_batch(kt->m, b->cfgs, b->n, kt->build_threads, b->stop);
  t_build = chm_now() - t_build;
  int done = 0, more = 1;
  for (int i = 0; i < b->n; i++) {
    if (more && built[i]) {
      tune_run_built(kt->m, built[i], &b->recs[i]);
      b->recs[i].build_s = t_build / b->n;
      done++;
      more = !b->done(b->ctx, &b->recs[i]);
    }
    tune_built_free(built[i]);
  }
  free(built);
  return done;
}

static void kernel_close(void *task) {
  kernel_task *kt = task;
  tune_measurer_free(kt->m);
  free(kt);
}

static void kernel_free(tune_meter *m) { free(m); }

static tune_meter *kernel_meter_new(const char *name, const cg_target *tgt, const tune_measure_opts *o,
                                    const char *addr) {
  kernel_meter *k = chm_calloc(1, sizeof *k);
  k->base = (tune_meter){name, kernel_prepare, kernel_measure, kernel_close, kernel_free};
  k->target = *tgt;
  k->o = *o;
  k->addr = addr;
  return &k->base;
}

tune_meter *tune_meter_local(const cg_target *tgt, const tune_measure_opts *o) {
  return kernel_meter_new("local", tgt, o, NULL);
}

tune_meter *tune_meter_remote(const cg_target *tgt, const tune_measure_opts *o, const char *addr) {
  return kernel_meter_new("remote", tgt, o, addr);
}

void tune_meter_free(tune_meter *m) {
  if (m) m->free(m);
}
