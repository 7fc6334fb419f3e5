/*
 * meter.c — the tune_meters that measure real kernels: the local one (JIT
 * and a child process here) and the remote one (a chamcc-runner), both
 * over the kernel measurer of measure/ (measure.h).
 *
 * Per task the meter makes a meas_measurer (random inputs, reference
 * output). Per batch it turns the configs into kernels and has measure/
 * compile them in parallel (meas_build_batch), as AutoTVM's
 * builder does, then runs them one at a time, so that candidates never
 * share the cores while timed. Unless meas_opts.reference is off, the
 * task's default config is built once as the reference kernel and every
 * candidate is timed interleaved with it (meas_set_reference). Each record carries its share of the
 * batch's compile wall time (build_s). Once the tuner says stop, nothing
 * more is built or run.
 *
 * With several runners, one thread per runner takes the batch's next
 * candidate, measures it there and takes another; results go to the tuner
 * in the batch's order. A runner whose measurement fails (an infra error:
 * lost, killed, unreachable) puts its candidate back for the others and
 * stops for this batch; only when no runner is left is the failure the
 * record's (and the tuner's limit of infra errors applies).
 */
#include "chamcc/tune.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A meter of real kernels: where they run and how they are timed. */
typedef struct kernel_meter {
  tune_meter base;        /* the interface (first, so a tune_meter * is one) */
  cg_target target;       /* what candidates are built for */
  meas_opts o;            /* timing and build threads */
  const char *addr;       /* HOST:PORT[,HOST:PORT...] of the runners, or NULL: measured here */
  tune_runner_stats runners[MEAS_MAX_RUNNERS]; /* what each runner did */
  int n_runners;          /* how many (0: measured here) */
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
  r->n_ref = res->n_ref;
  memcpy(r->ref_times, res->ref_times, sizeof r->ref_times);
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
  meas_measurer *m;   /* inputs, reference, runner clients */
  int build_threads;  /* candidates compiled at once (0: all cores) */
  kernel_meter *km;   /* the meter (its runners' statistics) */
} kernel_task;

/* The task's default config becomes the reference every candidate is
 * timed beside: built once here, kept loaded until the task closes. */
static int set_reference(meas_measurer *m, const tune_task *t, chm_err *e) {
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(t, idx);
  chm_arena *a = chm_arena_new();
  int rc = meas_set_reference(m, tune_task_kernel(t, idx, a, "candidate"), e);
  chm_arena_free(a);
  return rc;
}

static void *kernel_prepare(tune_meter *base, const tune_task *t, chm_err *e) {
  kernel_meter *k = (kernel_meter *)base;
  meas_opts o = k->o;
  /* here, the candidates run on the threads the task says, which its
   * records then say too (a runner's "all cores" are its own) */
  if (!k->addr) o.nthreads = t->mach.threads;
  meas_measurer *m = tune_measurer_new(t, &k->target, &o, k->addr, e);
  if (!m) return NULL;
  if (k->o.reference && set_reference(m, t, e)) {
    meas_free(m);
    return NULL;
  }
  kernel_task *kt = chm_calloc(1, sizeof *kt);
  *kt = (kernel_task){*t, m, k->o.build_threads, k};
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

/* Candidate i of a batch on runner `runner` (0 also when measured here):
 * its result fields into r. */
static void measure_one(kernel_task *kt, const tune_batch *b, const ir_kernel *k, const meas_built *built, int i,
                        int runner, tune_record *r) {
  if (!k) {
    invalid_config(r, tune_task_check(&kt->task, b->cfgs + i * TUNE_MAX_KNOBS));
    return;
  }
  meas_result res;
  meas_run_on(kt->m, runner, built, &res);
  tune_record_result(r, &res);
}

/* A batch spread over several runners: what their threads share. */
typedef struct spread {
  kernel_task *kt;           /* the task */
  const tune_batch *b;       /* the batch; recs[i] is written once candidate i is done */
  const ir_kernel **k;       /* its kernels (NULL: invalid config) */
  meas_built **built;        /* built candidates (NULL: not built, the tuner said stop) */
  pthread_mutex_t mu;        /* guards everything below and the runners' statistics */
  pthread_cond_t cv;         /* a candidate is done, given back, or stop */
  int next;                  /* the next candidate no runner took yet */
  int *state;                /* per candidate: 0 not taken, 1 being measured, 2 done */
  int *back, n_back;         /* candidates a lost runner gave back */
  int alive;                 /* runners still measuring this batch */
  int stop;                  /* the tuner said stop: take nothing new */
} spread;

typedef struct runner_arg {
  spread *sp;   /* the batch */
  int runner;   /* which runner this thread measures on */
} runner_arg;

/* The next candidate to measure (a given-back one first), or -1 when
 * there is none now; *wait is set when one may still be given back. */
static int take(spread *sp, int *wait) {
  *wait = 0;
  if (sp->stop) return -1;
  if (sp->n_back) return sp->back[--sp->n_back];
  if (sp->next < sp->b->n && sp->built[sp->next]) return sp->next++;
  for (int i = 0; i < sp->b->n; i++) *wait |= sp->state[i] == 1;
  return -1;
}

static void *runner_thread(void *arg) {
  runner_arg *ra = arg;
  spread *sp = ra->sp;
  tune_runner_stats *st = &sp->kt->km->runners[ra->runner];
  pthread_mutex_lock(&sp->mu);
  for (;;) {
    int wait, i = take(sp, &wait);
    if (i < 0 && wait) {
      pthread_cond_wait(&sp->cv, &sp->mu);
      continue;
    }
    if (i < 0) break;
    sp->state[i] = 1;
    pthread_mutex_unlock(&sp->mu);
    tune_record r = sp->b->recs[i];
    measure_one(sp->kt, sp->b, sp->k[i], sp->built[i], i, ra->runner, &r);
    pthread_mutex_lock(&sp->mu);
    if (r.status == MEAS_INFRA_ERROR && sp->alive > 1) { /* lost: the others measure it */
      sp->state[i] = 0;
      sp->back[sp->n_back++] = i;
      sp->alive--;
      st->lost++;
      pthread_cond_broadcast(&sp->cv);
      break;
    }
    sp->b->recs[i] = r;
    sp->state[i] = 2;
    st->measured++;
    st->busy_s += r.run_s;
    pthread_cond_broadcast(&sp->cv);
  }
  pthread_mutex_unlock(&sp->mu);
  return NULL;
}

/* Measures the built candidates on every runner at once and hands the
 * results to the tuner in order; returns how many it handed. */
static int measure_spread(kernel_task *kt, const tune_batch *b, const ir_kernel **k, meas_built **built,
                          double build_share) {
  int nr = meas_runners(kt->m), done = 0;
  spread sp = {kt, b, k, built, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
               chm_calloc((size_t)b->n + 1, sizeof(int)), chm_calloc((size_t)b->n + 1, sizeof(int)), 0, nr, 0};
  runner_arg args[MEAS_MAX_RUNNERS];
  pthread_t th[MEAS_MAX_RUNNERS];
  int started = 0;
  for (; started < nr; started++) {
    args[started] = (runner_arg){&sp, started};
    if (pthread_create(&th[started], NULL, runner_thread, &args[started])) break;
  }
  pthread_mutex_lock(&sp.mu);
  sp.alive -= nr - started; /* runners without a thread (pthread_create failed) */
  if (!started) { /* none at all: measure on the first runner here */
    sp.alive = 1;
    pthread_mutex_unlock(&sp.mu);
    runner_thread(&(runner_arg){&sp, 0});
    pthread_mutex_lock(&sp.mu);
  }
  for (int i = 0; i < b->n && built[i]; i++) { /* in order, a contiguous prefix */
    while (sp.state[i] != 2 && !(sp.stop && sp.state[i] == 0)) pthread_cond_wait(&sp.cv, &sp.mu);
    if (sp.state[i] != 2) break;
    pthread_mutex_unlock(&sp.mu);
    b->recs[i].build_s = build_share;
    done++;
    int more = !b->done(b->ctx, &b->recs[i]);
    pthread_mutex_lock(&sp.mu);
    if (!more) {
      sp.stop = 1;
      pthread_cond_broadcast(&sp.cv);
      break;
    }
  }
  sp.stop = 1; /* the rest is not wanted: the runners finish what they measure and end */
  pthread_cond_broadcast(&sp.cv);
  pthread_mutex_unlock(&sp.mu);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  free(sp.state);
  free(sp.back);
  return done;
}

/* Measures the built candidates one at a time, here or on the one runner. */
static int measure_serial(kernel_task *kt, const tune_batch *b, const ir_kernel **k, meas_built **built,
                          double build_share) {
  int done = 0;
  for (int i = 0; i < b->n && built[i]; i++) {
    tune_record *r = &b->recs[i];
    measure_one(kt, b, k[i], built[i], i, 0, r);
    r->build_s = build_share;
    done++;
    if (kt->km->n_runners) {
      kt->km->runners[0].measured++;
      kt->km->runners[0].busy_s += r->run_s;
    }
    if (b->done(b->ctx, r)) break;
  }
  return done;
}

static int kernel_measure(void *task, const tune_batch *b) {
  kernel_task *kt = task;
  chm_arena *a = chm_arena_new();
  const ir_kernel **k = batch_kernels(&kt->task, b, a);
  double t_build = chm_now();
  meas_built **built = meas_build_batch(kt->m, k, b->n, kt->build_threads, b->stop);
  t_build = chm_now() - t_build;
  int done = meas_runners(kt->m) > 1 ? measure_spread(kt, b, k, built, t_build / b->n)
                                     : measure_serial(kt, b, k, built, t_build / b->n);
  for (int i = 0; i < b->n; i++) meas_built_free(built[i]);
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

static int kernel_runners(const tune_meter *m, const tune_runner_stats **stats) {
  const kernel_meter *k = (const kernel_meter *)m;
  *stats = k->runners;
  return k->n_runners;
}

static tune_meter *kernel_meter_new(const char *name, const cg_target *tgt, const meas_opts *o,
                                    const char *addr) {
  kernel_meter *k = chm_calloc(1, sizeof *k);
  k->base = (tune_meter){name, kernel_prepare, kernel_measure, kernel_close, kernel_free, kernel_runners};
  k->target = *tgt;
  k->o = *o;
  k->addr = addr;
  char list[MEAS_MAX_RUNNERS][MEAS_ADDR_MAX];
  int n = addr ? meas_split_runners(addr, list, &(chm_err){0}) : 0; /* a bad list fails at prepare */
  for (int i = 0; i < n; i++) memcpy(k->runners[i].addr, list[i], sizeof list[i]);
  k->n_runners = n > 0 ? n : 0;
  return &k->base;
}

int tune_meter_runners(const tune_meter *m, const tune_runner_stats **stats) {
  return m->runners ? m->runners(m, stats) : 0;
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
