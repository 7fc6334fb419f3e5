/*
 * tuner.c — the tuning loop every method runs in, and the scheduler that
 * shares a budget over a model's tasks.
 *
 * One round: the method proposes a batch of unvisited configs, each is
 * measured and appended to the log at once (so a kill loses nothing
 * finished), then the method sees the results. On start the method is fed
 * the log's earlier records of the task, and the budget counts them: a
 * rerun after an interruption continues where it stopped and measures
 * nothing twice. When the caller's stop flag is set (Ctrl-C), the
 * measurement in flight finishes and is written, the rest of the round is
 * dropped. A failure of the measuring itself (an infra error: a lost
 * runner, a child killed from outside) is not the config's: it is neither
 * written nor counted, and the config may be proposed again. A task ends
 * early, with a note, when its method has nothing new to propose.
 *
 * Each record also carries its share of the round's wall-clock costs
 * (batch compile, cost-model fit, optimizer search): summed over a run they
 * give where the time went and, unlike timestamps, they exclude the pauses
 * of a run resumed across sessions.
 *
 * Confirmation (tune_session.confirm): once the budget is spent, the best
 * few configs are measured again in alternating rounds and marked
 * "confirm"; builds choose among them (tune_log_best). The log's single
 * best measurement is the luckiest of hundreds of noisy samples: on
 * ResNet-18's L2 the six best measured 392-403 GFLOP/s while tuning and
 * 305-368 when measured again.
 *
 * Ranking: a meter that times candidates beside a reference kernel (the
 * real ones do: meas_set_reference) gives each record the reference's
 * readings too; the tuner then ranks by the ratio of the two, scaled by the
 * task's stable reference time (tune_log_seconds), so that a slow spell of
 * the machine, which slows both, does not decide which config wins. The
 * suspect rule looks at both figures: the plain readings (a clock that
 * stalled) and the ratio (a reference slice that stalled).
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared by methods ---- */

int tune_random_valid(const tune_task *t, unsigned *rng, int *idx) {
  for (int tries = 0; tries < 10000; tries++) {
    for (int k = 0; k < t->space.n_knobs; k++) idx[k] = (int)(tune_rand(rng) % (unsigned)t->space.knobs[k].n);
    if (!tune_task_check(t, idx)) return 1;
  }
  return 0;
}

int tune_visited(const tune_ctx *c, const int *idx) {
  return tune_log_has(c->log, c->task->key, idx, c->task->space.n_knobs);
}

double tune_throughput(const tune_record *r) {
  double t = tune_record_median(r);
  return r->status == MEAS_OK && t > 0 && isfinite(t) ? r->flops / t / 1e9 : 0.0;
}

int tune_batch_add(const tune_ctx *c, int *out, int *n, const int *idx) {
  int nk = c->task->space.n_knobs;
  if (tune_task_check(c->task, idx) || tune_visited(c, idx)) return 0;
  for (int i = 0; i < *n; i++)
    if (!memcmp(out + i * TUNE_MAX_KNOBS, idx, (size_t)nk * sizeof(int))) return 0;
  memcpy(out + (*n)++ * TUNE_MAX_KNOBS, idx, (size_t)nk * sizeof(int));
  return 1;
}

void tune_batch_fill_random(const tune_ctx *c, int *out, int *n, int want) {
  int idx[TUNE_MAX_KNOBS];
  for (int tries = 0; *n < want && tries < 200 * want + 1000; tries++)
    if (tune_random_valid(c->task, c->rng, idx)) tune_batch_add(c, out, n, idx);
}

/* ---- the loop ---- */

static void fill_record(tune_session *s, const tune_task *t, const int *idx, tune_record *r) {
  memset(r, 0, sizeof *r);
  r->version = TUNE_LOG_VERSION;
  snprintf(r->target, sizeof r->target, "%s", s->target->triple);
  snprintf(r->cpu, sizeof r->cpu, "%s", s->target->cpu);
  snprintf(r->task, sizeof r->task, "%s", t->key);
  snprintf(r->tuner, sizeof r->tuner, "%s", s->method->name);
  r->flops = t->flops;
  r->threads = t->mach.threads;
  r->n_config = t->space.n_knobs;
  memcpy(r->config, idx, (size_t)t->space.n_knobs * sizeof(int));
}

/* Feeds the method the log's earlier records of this task. */
static void replay(tune_session *s, void *st, const tune_ctx *c, const tune_task *t) {
  for (int i = 0; i < tune_log_size(s->log); i++) {
    const tune_record *r = tune_log_get(s->log, i);
    if (strcmp(r->task, t->key) || r->n_config != t->space.n_knobs) continue;
    s->method->update(st, c, r, 1);
  }
}

/* The task's best so far and its spread, into the progress. */
static void best_so_far(const tune_log *log, tune_progress *p) {
  tune_figure f = tune_log_best_figure(log, p->task->key);
  p->best_gflops = f.gflops, p->best_lo = f.lo, p->best_hi = f.hi;
}

/* Removes configs the log already has (duplicates within the batch are
 * the methods' job, but the default config may be proposed again). */
static int drop_visited(const tune_ctx *c, int *cfgs, int n) {
  int k = 0, nk = c->task->space.n_knobs;
  for (int i = 0; i < n; i++) {
    int dup = tune_visited(c, cfgs + i * TUNE_MAX_KNOBS);
    for (int j = 0; j < k && !dup; j++)
      dup = !memcmp(cfgs + j * TUNE_MAX_KNOBS, cfgs + i * TUNE_MAX_KNOBS, (size_t)nk * sizeof(int));
    if (!dup) memmove(cfgs + k++ * TUNE_MAX_KNOBS, cfgs + i * TUNE_MAX_KNOBS, TUNE_MAX_KNOBS * sizeof(int));
  }
  return k;
}

/* ---- confirmation of the finalists ---- */

enum { MAX_FINALISTS = 16 };

/* The k best distinct configs by their single measurements (not
 * confirmations; ranked by tune_log_seconds: their ratio to the reference
 * read beside them), fastest first; returns how many. */
static int finalists(const tune_log *log, const tune_task *t, int k, int (*out)[TUNE_MAX_KNOBS]) {
  double med[MAX_FINALISTS];
  int n = 0, nk = t->space.n_knobs;
  if (k > MAX_FINALISTS) k = MAX_FINALISTS;
  for (int i = 0; i < tune_log_size(log); i++) {
    const tune_record *r = tune_log_get(log, i);
    double m = tune_log_seconds(log, r);
    if (r->confirm || !isfinite(m) || r->n_config != nk || strcmp(r->task, t->key)) continue;
    int dup = 0;
    for (int j = 0; j < n && !dup; j++) dup = !memcmp(out[j], r->config, (size_t)nk * sizeof(int));
    if (dup || (n == k && m >= med[n - 1])) continue;
    int j = n < k ? n++ : n - 1; /* insert, dropping the slowest when full */
    for (; j > 0 && med[j - 1] > m; j--) med[j] = med[j - 1], memcpy(out[j], out[j - 1], sizeof out[j]);
    med[j] = m;
    memcpy(out[j], r->config, sizeof out[j]);
  }
  return n;
}

/* The configs a session confirms: the `confirm` finalists, and the task's
 * default config after them when s->confirm_default asks and it is not one
 * of them (so that a config the single readings flattered cannot beat the
 * default without being measured beside it again). */
static int session_finalists(const tune_session *s, const tune_task *t, int (*out)[TUNE_MAX_KNOBS]) {
  int nk = t->space.n_knobs, def[TUNE_MAX_KNOBS] = {0};
  int room = MAX_FINALISTS - (s->confirm_default != 0);
  int n = finalists(s->log, t, s->confirm < room ? s->confirm : room, out);
  if (!s->confirm_default || n == 0) return n;
  tune_task_default(t, def);
  for (int i = 0; i < n; i++)
    if (!memcmp(out[i], def, (size_t)nk * sizeof(int))) return n;
  memcpy(out[n], def, sizeof out[n]);
  return n + 1;
}

/* Whether some finalist still lacks its confirmations. */
static int confirm_pending(const tune_session *s, const tune_task *t) {
  if (s->confirm <= 0) return 0;
  int fin[MAX_FINALISTS][TUNE_MAX_KNOBS];
  int n = session_finalists(s, t, fin);
  for (int i = 0; i < n; i++)
    if (tune_log_confirms(s->log, t->key, fin[i], t->space.n_knobs) < TUNE_CONFIRM_ROUNDS) return 1;
  return 0;
}

/* Whether the user asked to stop (the caller's flag, set by a signal). */
static int stopped(const tune_session *s) { return s->stop && *s->stop; }

/* Tells the user why a task ends early, through s->warn. */
static void note(const tune_session *s, const tune_progress *p, const char *why) {
  if (!s->warn) return;
  char name[64], msg[512];
  tune_task_name(p->task, name, sizeof name);
  snprintf(msg, sizeof msg, "task %d/%d %s: %s; it ends with %d of %d measurements", p->task_i + 1, p->n_tasks,
           name, why, p->done, p->budget);
  s->warn(s->progress_ctx, msg);
}

/* Appends a measurement to the log. An infra error is none: nothing is
 * written, and TUNE_INFRA_LIMIT of them in a row (*infra counts) fail the
 * task, since the measuring itself is broken. 1 if written, 0 if not, -1
 * on error. */
static int record(tune_session *s, const tune_record *r, int *infra, chm_err *e) {
  if (r->status != MEAS_INFRA_ERROR) {
    *infra = 0;
    return tune_log_append(s->log, r, e) ? -1 : 1;
  }
  if (++*infra < TUNE_INFRA_LIMIT) return 0;
  chm_errorf(e, "measuring failed %d times in a row, not because of the configs (last: %s); "
                "nothing was recorded for them",
             *infra, r->message);
  return -1;
}

/* One task's tuning: what its rounds share. */
typedef struct task_run {
  tune_session *s;     /* the session */
  const tune_task *t;  /* the task */
  void *mt;            /* the meter's state for it */
  void *st;            /* the method's state */
  tune_ctx c;          /* what the method may ask */
  tune_progress p;     /* progress so far (p.done: the task's measurements) */
  double fit_s;        /* the method's cost-model fitting in this round */
  int start;           /* measurements in the log when the run began */
  double t0;           /* when it began */
  int infra;           /* infra errors in a row */
} task_run;

/* Counts a written record in the progress and reports it. */
static void progress(task_run *k, const tune_record *r) {
  tune_progress *p = &k->p;
  p->done++;
  best_so_far(k->s->log, p);
  p->last = r;
  p->elapsed_s = chm_now() - k->t0;
  p->eta_s = p->elapsed_s / (p->done - k->start) * (p->budget - p->done);
  if (k->s->progress) k->s->progress(k->s->progress_ctx, p);
}

/* What a batch's done callback needs: where records go. */
typedef struct sink {
  tune_session *s;       /* the session (log, stop flag) */
  int *infra;            /* infra errors in a row */
  chm_err *e;            /* a log error */
  int rc;                /* -1 once recording failed */
  task_run *k;           /* progress to report, or NULL (confirmations) */
  int (*redo)[TUNE_MAX_KNOBS]; /* configs whose reading was suspect, to measure again (or NULL) */
  int n_redo;            /* how many */
} sink;

double tune_peak(int threads) {
  double best = 0;
  for (int i = 0; i < 3; i++) {
    double p = meas_peak_gflops(threads, 4000000, NULL, 0);
    if (p > best) best = p;
  }
  return 1.1 * best;
}

void tune_session_as_build(tune_session *s, int threads, int here) {
  s->warm_start = 1;
  s->confirm = TUNE_CONFIRM_FINALISTS;
  s->confirm_default = 1;
  if (here) {
    s->peak_threads = threads ? threads : chm_num_cpus();
    s->peak_gflops = tune_peak(s->peak_threads);
  }
}

/* GFLOP/s of the faster of r's plain readings: the candidate's median and
 * the reference's beside it (either could be the one a hiccup flattered). */
static double raw_gflops(const tune_record *r) {
  tune_record ref = *r;
  ref.n_times = r->n_ref;
  memcpy(ref.times, r->ref_times, sizeof ref.times);
  double a = tune_throughput(r), b = r->n_ref ? tune_throughput(&ref) : 0;
  return a > b ? a : b;
}

/* The higher of r's plain GFLOP/s and the one the tuner would rank it by
 * (its ratio to the reference, scaled by the task's reference time): a
 * reference slice that stalled flatters the ratio as a stalled clock
 * flatters a plain reading. */
static double reading_gflops(const tune_session *s, const tune_record *r) {
  double raw = raw_gflops(r), ranked = r->n_ref ? tune_log_throughput(s->log, r) : 0;
  return raw > ranked ? raw : ranked;
}

/* A reading above the machine's peak: something stalled the clock. The
 * peak is measured again first when the session says so. */
static int suspect(tune_session *s, const tune_record *r) {
  if (!(s->peak_gflops > 0) || reading_gflops(s, r) <= s->peak_gflops) return 0;
  if (s->peak_threads > 0) {
    double p = tune_peak(s->peak_threads);
    if (p > s->peak_gflops) s->peak_gflops = p;
  }
  return reading_gflops(s, r) > s->peak_gflops;
}

/* Turns a suspect reading into no measurement (like an infra error, but
 * not one in a row: the measuring works), and keeps its config to redo. */
static void reject(sink *k, tune_record *r) {
  char msg[sizeof r->message];
  snprintf(msg, sizeof msg, "suspect reading: %.1f GFLOP/s, above the machine's peak of %.1f",
           reading_gflops(k->s, r), k->s->peak_gflops);
  r->status = MEAS_INFRA_ERROR;
  snprintf(r->message, sizeof r->message, "%s", msg);
  if (k->redo) memcpy(k->redo[k->n_redo++], r->config, sizeof k->redo[0]);
}

/* A batch's done callback: records r; non-zero to measure no more. */
static int on_measured(void *ctx, tune_record *r) {
  sink *k = ctx;
  if (suspect(k->s, r)) {
    reject(k, r);
    return k->rc || stopped(k->s);
  }
  int w = record(k->s, r, k->infra, k->e);
  if (w < 0) k->rc = -1;
  if (w > 0 && k->k) progress(k->k, r);
  return k->rc || stopped(k->s);
}

/* The finalists (fin[n]) with fewer than `want` confirmations, into cfgs
 * and recs; returns how many. */
static int lacking(tune_session *s, const tune_task *t, int (*fin)[TUNE_MAX_KNOBS], int n, int want,
                   int (*cfgs)[TUNE_MAX_KNOBS], tune_record *recs) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (tune_log_confirms(s->log, t->key, fin[i], t->space.n_knobs) >= want) continue;
    memcpy(cfgs[m], fin[i], sizeof cfgs[m]);
    fill_record(s, t, fin[i], &recs[m]);
    recs[m++].confirm = 1;
  }
  return m;
}

/* Measures the finalists again, round after round (so that a slow spell of
 * the machine hits them all alike), until each has TUNE_CONFIRM_ROUNDS
 * confirmations; a resumed run makes only the missing ones, and a round
 * is repeated for those an infra error left out. */
static int confirm(tune_session *s, const tune_task *t, void *mt, int *infra, chm_err *e) {
  int fin[MAX_FINALISTS][TUNE_MAX_KNOBS], cfgs[MAX_FINALISTS][TUNE_MAX_KNOBS];
  tune_record recs[MAX_FINALISTS];
  int n = session_finalists(s, t, fin);
  sink k = {s, infra, e, 0, NULL, NULL, 0};
  /* rounds that recorded nothing (all infra errors or suspect readings) end it after a few */
  for (int want = 1, empty = 0; want <= TUNE_CONFIRM_ROUNDS && !k.rc && !stopped(s);) {
    int m = lacking(s, t, fin, n, want, cfgs, recs);
    if (!m) {
      want++;
      continue;
    }
    int before = tune_log_size(s->log);
    s->meter->measure(mt, &(tune_batch){&cfgs[0][0], m, recs, on_measured, &k, s->stop});
    if (tune_log_size(s->log) > before) empty = 0;
    else if (++empty > TUNE_SUSPECT_RETRIES) break;
  }
  return k.rc;
}

/* Tells the user that n configs kept reading above the peak. */
static void suspect_note(const task_run *k, int n, int times) {
  if (!k->s->warn) return;
  char name[64], msg[256];
  tune_task_name(k->t, name, sizeof name);
  snprintf(msg, sizeof msg, "task %s: %d configs read above the machine's peak of %.1f GFLOP/s %d times in a "
           "row; they are not recorded (is the machine's clock or load changing?)", name, n, k->s->peak_gflops, times);
  k->s->warn(k->s->progress_ctx, msg);
}

/* Measures the n configs one by one until the user stops, appending each
 * to the log as it comes; the method learns from those written. Configs
 * that read above the peak are measured again. The round's cost-model fit
 * and optimizer time are shared equally by its records. */
static int measure_round(task_run *k, const int *cfgs, int n, double t_prop, tune_record *recs, chm_err *e) {
  double share_fit = k->fit_s / n, share_opt = (t_prop > k->fit_s ? t_prop - k->fit_s : 0) / n;
  int(*redo)[TUNE_MAX_KNOBS] = chm_malloc((size_t)n * sizeof *redo), *again = chm_malloc((size_t)n * sizeof *redo);
  sink out = {k->s, &k->infra, e, 0, k, redo, 0};
  /* the batch, then its suspect readings again, up to TUNE_SUSPECT_RETRIES times */
  for (int round = 0; n > 0 && !out.rc && !stopped(k->s); round++) {
    for (int i = 0; i < n; i++) {
      fill_record(k->s, k->t, cfgs + i * TUNE_MAX_KNOBS, &recs[i]);
      recs[i].fit_s = round ? 0 : share_fit, recs[i].opt_s = round ? 0 : share_opt; /* the log stamps the time */
    }
    out.n_redo = 0;
    int measured = k->s->meter->measure(k->mt, &(tune_batch){cfgs, n, recs, on_measured, &out, k->s->stop});
    int got = 0; /* the written ones, in order */
    for (int i = 0; i < measured; i++)
      if (recs[i].status != MEAS_INFRA_ERROR) recs[got++] = recs[i];
    if (got && !out.rc) k->s->method->update(k->st, &k->c, recs, got);
    if (out.n_redo && round == TUNE_SUSPECT_RETRIES) {
      suspect_note(k, out.n_redo, round + 1);
      break;
    }
    n = out.n_redo;
    memcpy(again, redo, (size_t)n * sizeof *redo);
    cfgs = again;
  }
  free(redo);
  free(again);
  return out.rc;
}

/* Proposes up to `want` new configs into cfgs: the template's default
 * first, then the picks of the task on other thread counts
 * (tune_log_hints), then the method's, less those the log has. Returns how
 * many; *none is set when the method had nothing at all to propose. */
static int propose(task_run *k, int *cfgs, int want, int *none) {
  int n = 0;
  if (k->p.done == k->start) { /* the default first: tuning never ends worse than it */
    int idx[TUNE_MAX_KNOBS], hint[TUNE_HINTS][TUNE_MAX_KNOBS];
    tune_task_default(k->t, idx);
    tune_batch_add(&k->c, cfgs, &n, idx);
    int h = tune_log_hints(k->s->log, k->t->key, idx, k->t->space.n_knobs, hint, TUNE_HINTS);
    for (int i = 0; i < h && n < want; i++) tune_batch_add(&k->c, cfgs, &n, hint[i]);
  }
  k->fit_s = 0;
  int got = k->s->method->propose(k->st, &k->c, cfgs + n * TUNE_MAX_KNOBS, want - n);
  *none = n + got <= 0;
  return *none ? 0 : drop_visited(&k->c, cfgs, n + got);
}

/* The rounds: until the budget is spent, the user stops, or the method has
 * nothing new (nothing at all, or only measured configs TUNE_IDLE_ROUNDS
 * rounds in a row: a method must not spin). */
static int search(task_run *k, int batch, chm_err *e) {
  int *cfgs = chm_malloc((size_t)batch * TUNE_MAX_KNOBS * sizeof(int));
  tune_record *recs = chm_malloc((size_t)batch * sizeof *recs);
  int rc = 0, idle = 0, budget = k->p.budget;
  while (k->p.done < budget && !rc && !stopped(k->s)) {
    int want = budget - k->p.done < batch ? budget - k->p.done : batch, none;
    double t_prop = chm_now();
    int n = propose(k, cfgs, want, &none);
    t_prop = chm_now() - t_prop;
    if (none) {
      note(k->s, &k->p, "the method found no unmeasured valid config");
      break;
    }
    if (n == 0 && ++idle >= TUNE_IDLE_ROUNDS) {
      char why[128];
      snprintf(why, sizeof why, "the method proposed only measured configs, %d rounds in a row", idle);
      note(k->s, &k->p, why);
      break;
    }
    if (n == 0) continue;
    int before = k->p.done;
    rc = measure_round(k, cfgs, n, t_prop, recs, e);
    idle = k->p.done > before ? 0 : idle + 1;
    if (!rc && idle >= TUNE_IDLE_ROUNDS && !stopped(k->s)) {
      note(k->s, &k->p, "no reading was recorded for several rounds in a row");
      break;
    }
  }
  free(cfgs);
  free(recs);
  return rc;
}

int tune_task_run(tune_session *s, const tune_task *t, int budget, int task_i, int n_tasks, chm_err *e) {
  int done = tune_log_count(s->log, t->key);
  if (done >= budget && !confirm_pending(s, t)) return 0;
  void *mt = s->meter->prepare(s->meter, t, e);
  if (!mt) return -1;
  unsigned rng = s->seed * 2654435761u + (unsigned)task_i + 1;
  task_run k = {.s = s, .t = t, .mt = mt, .st = s->method->create(t, rng)};
  k.c = (tune_ctx){t, s->log, &rng, &k.fit_s, s->warm_start};
  k.p = (tune_progress){.task_i = task_i, .n_tasks = n_tasks, .task = t, .done = done, .budget = budget};
  replay(s, k.st, &k.c, t);
  best_so_far(s->log, &k.p);
  k.start = done;
  k.t0 = chm_now();
  int rc = search(&k, s->batch > 0 ? s->batch : 64, e);
  if (!rc && k.p.done >= budget && !stopped(s) && s->confirm > 0) rc = confirm(s, t, mt, &k.infra, e);
  s->method->destroy(k.st);
  s->meter->close(mt);
  return rc;
}

void tune_budgets(const tune_task *tasks, int n, int total, int per_task, int min_each, int *budget) {
  double sum = 0;
  for (int i = 0; i < n; i++) sum += tasks[i].flops * tasks[i].uses;
  for (int i = 0; i < n; i++) {
    if (per_task > 0) {
      budget[i] = per_task;
      continue;
    }
    double share = sum > 0 ? tasks[i].flops * tasks[i].uses / sum : 1.0 / n;
    budget[i] = (int)ceil(share * total);
    if (budget[i] < min_each) budget[i] = min_each;
  }
}
