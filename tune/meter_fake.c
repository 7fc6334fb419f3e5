/*
 * meter_fake.c — a tune_meter for the tuner's tests: it compiles and runs
 * nothing, and times a config by a known smooth function of its knob
 * indices (tune_fake_seconds) times seeded noise.
 *
 * Since the function and the noise are known, a test can say exactly what
 * the tuner should have found, and a run of hundreds of measurements takes
 * milliseconds on any machine. Every measurement draws new noise from one
 * seeded stream (so confirmations differ from the first measurement), and
 * every infra_every-th measurement fails as an infra error would, to check
 * that the tuner neither records nor charges those; every spike_every-th
 * reads ten times too fast, to check that the tuner measures such a
 * reading again instead of believing it (ref_spike_every: the reference
 * beside it reads ten times too slow, which flatters the ratio alike).
 *
 * A drifting machine (drift > 0) runs each measurement at a speed of its
 * own: its times are multiplied by 1 + drift x a uniform draw in [0, 1)
 * from a stream of their own. With `reference`, each measurement also
 * reads the task's default config beside the candidate, slowed by the same
 * factor (and noised by its own draw), as the real meters' interleaved
 * timing does: the tuner's ranking by the ratio should see through the
 * drift, its ranking by plain times cannot.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fake_meter {
  tune_meter base;      /* the interface (first, so a tune_meter * is one) */
  tune_fake_opts o;     /* noise and failures */
  unsigned rng;         /* the noise stream */
  unsigned drift_rng;   /* the machine's speed stream */
  int count;            /* measurements made */
} fake_meter;

/* A prepared task: the task (for its knobs) and the meter. */
typedef struct fake_task {
  tune_task t;          /* the task */
  fake_meter *f;        /* its meter */
  double ref_s;         /* the noise-free time of its default config, the reference */
} fake_task;

double tune_fake_seconds(const tune_task *t, const int *idx) {
  double sum = 0;
  for (int k = 0; k < t->space.n_knobs; k++) {
    int n = t->space.knobs[k].n;
    double d = (idx[k] - 2.0 * (n - 1) / 3) / n;
    sum += d * d;
  }
  return 1e-3 * (1 + 8 * sum);
}

static void *fake_prepare(tune_meter *m, const tune_task *t, chm_err *e) {
  fake_task *ft = chm_calloc(1, sizeof *ft);
  ft->t = *t;
  ft->f = (fake_meter *)m;
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(t, idx);
  ft->ref_s = tune_fake_seconds(t, idx);
  return ft;
}

/* One measurement of config idx into r. */
static void fake_one(fake_meter *f, const fake_task *ft, const int *idx, tune_record *r) {
  const tune_task *t = &ft->t;
  f->count++;
  if (f->o.infra_every > 0 && f->count % f->o.infra_every == 0) {
    r->status = MEAS_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "fake infra error %d", f->count);
    return;
  }
  double u = 2 * tune_randf(&f->rng) - 1, speed = 1;
  if (f->o.drift > 0) speed = 1 + f->o.drift * tune_randf(&f->drift_rng);
  r->status = MEAS_OK;
  r->n_times = 1;
  r->times[0] = tune_fake_seconds(t, idx) * speed * (1 + f->o.noise * u);
  if (f->o.spike_every > 0 && f->count % f->o.spike_every == 0) r->times[0] /= 10;
  r->n_ref = 0;
  if (f->o.reference) {
    r->n_ref = 1;
    r->ref_times[0] = ft->ref_s * speed * (1 + f->o.noise * (2 * tune_randf(&f->rng) - 1));
    if (f->o.ref_spike_every > 0 && f->count % f->o.ref_spike_every == 0) r->ref_times[0] *= 10;
  }
}

static int fake_measure(void *task, const tune_batch *b) {
  fake_task *ft = task;
  for (int i = 0; i < b->n; i++) {
    fake_one(ft->f, ft, b->cfgs + i * TUNE_MAX_KNOBS, &b->recs[i]);
    if (b->done(b->ctx, &b->recs[i])) return i + 1;
  }
  return b->n;
}

static void fake_close(void *task) { free(task); }

static void fake_free(tune_meter *m) { free(m); }

tune_meter *tune_meter_fake(const tune_fake_opts *o) {
  fake_meter *f = chm_calloc(1, sizeof *f);
  f->base = (tune_meter){"fake", fake_prepare, fake_measure, fake_close, fake_free, NULL};
  f->o = *o;
  f->rng = o->seed;
  f->drift_rng = o->seed * 2654435761u + 1;
  return &f->base;
}

int tune_fake_count(const tune_meter *m) { return ((const fake_meter *)m)->count; }
