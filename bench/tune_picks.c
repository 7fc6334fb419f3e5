/*
 * tune_picks.c — what each tuning run would have deployed, timed afresh.
 *
 *   tune_picks [--rounds R] [--tolerance F] [--from-scratch] LOG...
 *
 * After each measurement a tuner would deploy its pick: the config with
 * the best measured time so far. One measurement is noisy (runs of one
 * config minutes apart differ by 5-15% on this shared machine), and the
 * best of 800 is the luckiest of them, so "the first measurement that
 * reaches AutoTVM's final best" (chamcc report) is largely decided by
 * noise. Here every config that was ever a run's pick (the records that
 * raised its best-so-far curve) is built once and timed again, R rounds
 * in alternation, all configs of a task once per round, so that drift of
 * the machine hits all of them alike; a config's value is the median of
 * its rounds. Then, per task:
 *  - target: AutoTVM's final pick's value (the lower median over autotvm's
 *    runs, so at least half of them reach it);
 *  - per run: the measurements and wall-clock seconds (tune_record_cost,
 *    summed) until its pick's value reaches the target, and (1 - F) x the
 *    target (F = 0.02 unless given), and its pick's value after 200, 400
 *    and 800 measurements;
 *  - per tuner: geomeans over tasks of the speedup in seconds against
 *    autotvm (medians over runs; a run that never reaches counts as never,
 *    and the task is left out of a tuner's geomean where its median never
 *    does; the task counts say how many), again over only the tasks where
 *    search was needed (autotvm's runs' median measurements to the target
 *    is more than 1: the first measurement, the default config, falls
 *    short), and of the values at 200/400/800 (medians over the runs that
 *    reach the budget).
 * --from-scratch leaves each run's first measurement (the template's
 * default, which every run measures first) out of its picks and its
 * seconds, as `chamcc report --from-scratch`: the picks are then the
 * search's alone. Measurements keep their place in the log (the search's
 * first is measurement 2), so the values at 200/400/800 are comparable;
 * "where the default falls short" then holds every task.
 * --rounds 0 times nothing: a config's value is then the median of its
 * ok readings in the logs (the single measurements the runs saw, pooled
 * over runs), so the output follows from the logs alone (the tests use it).
 * Only records of this machine's target and CPU and of this chamcc's
 * kernels are read (tune_log_read). Prints markdown on stdout.
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LOGS = 64, MAX_ROUNDS = 31 };
static const int budgets[] = {200, 400, 800};
enum { N_BUDGETS = sizeof budgets / sizeof budgets[0] };

typedef struct pick {
  int cfg;     /* index into the task's configs */
  int at;      /* the measurement (1-based) after which it is the pick */
  double secs; /* the run's wall-clock cost up to and including it */
} pick;

typedef struct run {
  const char *tuner; /* of the log's first record of the task */
  int log;           /* which log */
  int n;             /* measurements */
  CHM_VEC(pick) picks;
} run;

typedef CHM_VEC(run) runs_t;

typedef struct cfg {
  int idx[TUNE_MAX_KNOBS];
  double value; /* GFLOP/s, median over rounds (0: failed) */
} cfg;
typedef CHM_VEC(cfg) cfgs_t;
typedef CHM_VEC(double) doubles_t;

/* Per run and threshold: where its pick first reaches it. */
typedef struct reach {
  int at;      /* measurements (0: never) */
  double secs; /* INFINITY: never */
} reach;

static int find_or_add(cfgs_t *v, const int *idx, int nk) {
  for (int i = 0; i < v->len; i++)
    if (!memcmp(v->data[i].idx, idx, (size_t)nk * sizeof(int))) return i;
  cfg c = {{0}, 0};
  memcpy(c.idx, idx, (size_t)nk * sizeof(int));
  chm_vec_push(v, c);
  return v->len - 1;
}

/* The runs of one task: one per log that has records of it. */
static void collect_runs(tune_log **logs, int n_logs, const char *task, int nk, int from_scratch, runs_t *runs,
                         cfgs_t *cfgs) {
  for (int l = 0; l < n_logs; l++) {
    run r = {.log = l};
    double best = 0, secs = 0;
    for (int i = 0; i < tune_log_size(logs[l]); i++) {
      const tune_record *rec = tune_log_get(logs[l], i);
      if (strcmp(rec->task, task) || rec->confirm) continue;
      if (!r.tuner) r.tuner = rec->tuner;
      if (r.n++ == 0 && from_scratch) continue; /* the default config */
      secs += tune_record_cost(rec);
      double g = tune_throughput(rec);
      if (g > best) {
        best = g;
        pick p = {find_or_add(cfgs, rec->config, nk), r.n, secs};
        chm_vec_push(&r.picks, p);
      }
    }
    if (r.picks.len) chm_vec_push(runs, r);
    else chm_vec_free(&r.picks);
  }
}

/* Times every config `rounds` times in alternation; returns the median
 * relative spread (max - min over rounds, of the median) over configs. */
static double time_configs(const tune_task *t, const cg_target *tgt, cfgs_t *cfgs, int rounds) {
  chm_err e = {0};
  meas_opts o = meas_defaults();
  meas_measurer *m = tune_measurer_new(t, tgt, &o, NULL, &e);
  if (!m) {
    fprintf(stderr, "tune_picks: %s: %s\n", t->key, e.msg);
    return 0;
  }
  int n = cfgs->len;
  chm_arena *a = chm_arena_new();
  const ir_kernel **k = chm_calloc((size_t)n + 1, sizeof *k);
  for (int c = 0; c < n; c++) /* an invalid config: NULL, a failed build */
    k[c] = tune_task_check(t, cfgs->data[c].idx) ? NULL : tune_task_kernel(t, cfgs->data[c].idx, a, "candidate");
  meas_built **b = meas_build_batch(m, k, n, 0, NULL);
  free(k);
  chm_arena_free(a);
  double *g = chm_calloc((size_t)n * rounds, sizeof *g);
  for (int k = 0; k < rounds; k++)
    for (int c = 0; c < n; c++) {
      tune_record r = {.flops = t->flops};
      meas_result res;
      meas_run(m, b[c], &res);
      tune_record_result(&r, &res);
      if (r.status != MEAS_OK) fprintf(stderr, "tune_picks: %s: %s\n", meas_status_name(r.status), r.message);
      g[c * rounds + k] = tune_throughput(&r);
    }
  double *spread = chm_calloc((size_t)n, sizeof *spread);
  for (int c = 0; c < n; c++) {
    double *v = &g[c * rounds];
    cfgs->data[c].value = tune_median(v, rounds); /* sorts v */
    spread[c] = v[rounds - 1] > 0 && v[0] > 0 ? (v[rounds - 1] - v[0]) / cfgs->data[c].value : 0;
    meas_built_free(b[c]);
  }
  double s = tune_median(spread, n);
  free(spread);
  free(g);
  free(b);
  meas_free(m);
  return s;
}

/* --rounds 0: each config's value is the median of its ok readings of the
 * task in the logs (confirmations left out, as in collect_runs). */
static void values_from_logs(tune_log **logs, int n_logs, const char *task, int nk, cfgs_t *cfgs) {
  doubles_t v = {0};
  for (int c = 0; c < cfgs->len; c++) {
    v.len = 0;
    for (int l = 0; l < n_logs; l++)
      for (int i = 0; i < tune_log_size(logs[l]); i++) {
        const tune_record *rec = tune_log_get(logs[l], i);
        if (!strcmp(rec->task, task) && !rec->confirm && rec->status == MEAS_OK &&
            !memcmp(rec->config, cfgs->data[c].idx, (size_t)nk * sizeof(int)))
          chm_vec_push(&v, tune_throughput(rec));
      }
    cfgs->data[c].value = v.len ? tune_median(v.data, v.len) : 0;
  }
  chm_vec_free(&v);
}

/* The run's pick's value after m measurements (its last pick if m > n). */
static double value_at(const run *r, const cfgs_t *cfgs, int m) {
  double v = 0;
  for (int i = 0; i < r->picks.len && r->picks.data[i].at <= m; i++) v = cfgs->data[r->picks.data[i].cfg].value;
  return v;
}

static reach reach_of(const run *r, const cfgs_t *cfgs, double target) {
  for (int i = 0; i < r->picks.len; i++)
    if (cfgs->data[r->picks.data[i].cfg].value >= target) return (reach){r->picks.data[i].at, r->picks.data[i].secs};
  return (reach){0, INFINITY};
}

/* ---- per-tuner summary over tasks ---- */

typedef struct tally {
  const char *tuner;
  /* sums of log(autotvm's seconds / this tuner's): to the target, to the
   * tolerant target, and to the target on the tasks where autotvm's first
   * measurement (the default config) falls short of it */
  double log_speed[3];
  int n_speed[3]; /* tasks in them */
  double log_at[N_BUDGETS];
  int n_at[N_BUDGETS];
} tally;

typedef CHM_VEC(tally) tallies_t;

static tally *tally_of(tallies_t *v, const char *tuner) {
  for (int i = 0; i < v->len; i++)
    if (!strcmp(v->data[i].tuner, tuner)) return &v->data[i];
  tally t = {.tuner = tuner};
  chm_vec_push(v, t);
  return &v->data[v->len - 1];
}

/* Median over the runs of one tuner of x(run); with skip_zero, over the
 * runs where x is not 0 (those that reach a budget), and 0 if none does. */
static double median_over(const runs_t *runs, const char *tuner, double *x, int skip_zero) {
  double v[MAX_LOGS];
  int k = 0;
  for (int i = 0; i < runs->len; i++)
    if (!strcmp(runs->data[i].tuner, tuner) && !(skip_zero && x[i] == 0)) v[k++] = x[i];
  return skip_zero && !k ? 0 : tune_median(v, k);
}

static void one_task(const char *key, tune_log **logs, int n_logs, const cg_target *tgt, int rounds, double tol,
                     int from_scratch, tallies_t *tallies, doubles_t *spreads) {
  tune_task t;
  tune_machine mach = tune_machine_of(tgt, 0);
  if (tune_task_from_key(key, tgt->vregs, &mach, &t)) {
    fprintf(stderr, "tune_picks: skipping task '%s': not a key this chamcc makes\n", key);
    return;
  }
  runs_t runs = {0};
  cfgs_t cfgs = {0};
  collect_runs(logs, n_logs, key, t.space.n_knobs, from_scratch, &runs, &cfgs);
  fprintf(stderr, "tune_picks: %s: %d runs, %d configs, %d rounds\n", key, runs.len, cfgs.len, rounds);
  if (rounds) chm_vec_push(spreads, time_configs(&t, tgt, &cfgs, rounds));
  else values_from_logs(logs, n_logs, key, t.space.n_knobs, &cfgs);

  double finals[MAX_LOGS];
  int n_auto = 0;
  for (int i = 0; i < runs.len; i++)
    if (!strcmp(runs.data[i].tuner, "autotvm")) finals[n_auto++] = value_at(&runs.data[i], &cfgs, INT32_MAX);
  double target = n_auto ? tune_lower_median(finals, n_auto) : 0;
  double secs[2][MAX_LOGS], meas[MAX_LOGS], at[N_BUDGETS][MAX_LOGS];
  for (int i = 0; i < runs.len; i++) {
    const run *r = &runs.data[i];
    reach s = reach_of(r, &cfgs, target), s2 = reach_of(r, &cfgs, (1 - tol) * target);
    secs[0][i] = n_auto ? s.secs : INFINITY;
    secs[1][i] = n_auto ? s2.secs : INFINITY;
    meas[i] = n_auto && s.at ? s.at : INFINITY;
    printf("| %s | %s | %d | %d | %d | %.1f | %.1f |", key, r->tuner, r->log + 1, r->n, r->picks.len,
           value_at(r, &cfgs, INT32_MAX), target);
    if (!n_auto) printf(" | | | |");
    else
      for (int k = 0; k < 2; k++) {
        reach x = k ? s2 : s;
        if (x.at) printf(" %d | %.1f |", x.at, x.secs);
        else printf(" — | — |");
      }
    for (int b = 0; b < N_BUDGETS; b++) {
      at[b][i] = r->n >= budgets[b] ? value_at(r, &cfgs, budgets[b]) : 0; /* 0: the run is shorter */
      if (!at[b][i]) printf(" — |");
      else printf(" %.1f |", at[b][i]);
    }
    printf("\n");
  }
  /* per tuner: medians over its runs, against autotvm's */
  double *speed_of[3] = {secs[0], secs[1], secs[0]}, base_speed[3], base_at[N_BUDGETS];
  for (int k = 0; k < 3; k++) base_speed[k] = median_over(&runs, "autotvm", speed_of[k], 0);
  for (int b = 0; b < N_BUDGETS; b++) base_at[b] = median_over(&runs, "autotvm", at[b], 1);
  int search = n_auto && median_over(&runs, "autotvm", meas, 0) > 1; /* the default falls short */
  for (int i = 0; i < runs.len; i++) tally_of(tallies, runs.data[i].tuner);
  for (int i = 0; i < tallies->len && n_auto; i++) {
    tally *y = &tallies->data[i];
    int n = 0;
    for (int j = 0; j < runs.len; j++) n += !strcmp(runs.data[j].tuner, y->tuner);
    if (!n) continue; /* no run of this tuner on this task */
    for (int k = 0; k < 3; k++) {
      double mine = median_over(&runs, y->tuner, speed_of[k], 0);
      if ((k < 2 || search) && isfinite(mine) && isfinite(base_speed[k]) && mine > 0 && base_speed[k] > 0)
        y->log_speed[k] += log(base_speed[k] / mine), y->n_speed[k]++;
    }
    for (int b = 0; b < N_BUDGETS; b++) {
      double mine = median_over(&runs, y->tuner, at[b], 1);
      if (mine > 0 && base_at[b] > 0) y->log_at[b] += log(mine / base_at[b]), y->n_at[b]++;
    }
  }
  for (int i = 0; i < runs.len; i++) chm_vec_free(&runs.data[i].picks);
  chm_vec_free(&runs);
  chm_vec_free(&cfgs);
}

int main(int argc, char **argv) {
  int rounds = 7;
  double tol = 0.02;
  const char *paths[MAX_LOGS];
  int n_logs = 0, bad = 0, from_scratch = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
      bad |= chm_parse_int(argv[++i], 0, MAX_ROUNDS, &rounds);
    } else if (!strcmp(argv[i], "--tolerance") && i + 1 < argc) {
      bad |= chm_parse_double(argv[++i], 0, nextafter(1.0, 0.0), &tol); /* [0, 1) */
    } else if (!strcmp(argv[i], "--from-scratch")) {
      from_scratch = 1;
    } else if (argv[i][0] != '-' && n_logs < MAX_LOGS) {
      paths[n_logs++] = argv[i];
    } else {
      bad = 1;
    }
  }
  if (bad || n_logs < 1) {
    fprintf(stderr, "usage: tune_picks [--rounds R (0-%d)] [--tolerance F (0-1)] [--from-scratch] LOG... "
            "(at most %d)\n", MAX_ROUNDS, MAX_LOGS);
    return 2;
  }
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "tune_picks: %s\n", e.msg), 1;
  tune_log *logs[MAX_LOGS];
  for (int l = 0; l < n_logs; l++)
    if (!(logs[l] = tune_log_read(paths[l], tgt.triple, tgt.cpu, NULL, NULL, &e)))
      return fprintf(stderr, "tune_picks: %s\n", e.msg), 1;

  for (int l = 0; l < n_logs; l++) printf("Log %d: %s\n", l + 1, paths[l]);
  if (from_scratch) printf("\nFrom scratch: each run's first measurement (the default config) is left out.\n");
  printf("\n| task | tuner | log | measurements | picks | final pick GFLOP/s | target | to target | seconds "
         "| to %.0f%% | seconds | @%d | @%d | @%d |\n",
         100 * (1 - tol), budgets[0], budgets[1], budgets[2]);
  printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  tallies_t tallies = {0};
  doubles_t spreads = {0};
  CHM_VEC(const char *) keys = {0};
  for (int l = 0; l < n_logs; l++)
    for (int i = 0; i < tune_log_size(logs[l]); i++) {
      const char *k = tune_log_get(logs[l], i)->task;
      int seen = 0;
      for (int j = 0; j < keys.len && !seen; j++) seen = !strcmp(keys.data[j], k);
      if (!seen) {
        chm_vec_push(&keys, k);
        one_task(k, logs, n_logs, &tgt, rounds, tol, from_scratch, &tallies, &spreads);
        fflush(stdout);
      }
    }

  printf("\n| tuner | speedup to target (tasks) | to %.0f%% (tasks) | to target where the default falls short "
         "(tasks) | @%d / autotvm's (tasks) | @%d | @%d |\n",
         100 * (1 - tol), budgets[0], budgets[1], budgets[2]);
  printf("|---|--:|--:|--:|--:|--:|--:|\n");
  for (int i = 0; i < tallies.len; i++) {
    const tally *y = &tallies.data[i];
    printf("| %s |", y->tuner);
    for (int k = 0; k < 3; k++)
      if (y->n_speed[k]) printf(" %.2f (%d) |", exp(y->log_speed[k] / y->n_speed[k]), y->n_speed[k]);
      else printf(" — (0) |");
    for (int b = 0; b < N_BUDGETS; b++)
      if (y->n_at[b]) printf(" %.3f (%d) |", exp(y->log_at[b] / y->n_at[b]), y->n_at[b]);
      else printf(" — (0) |");
    printf("\n");
  }
  if (!rounds) printf("\nNothing timed (--rounds 0): a pick's value is the median of its readings in the logs.\n");
  else
    printf("\nEach pick timed %d times in alternation; the median over tasks of the median relative spread "
           "(max - min over rounds, of the median) is %.1f%%.\n",
           rounds, 100 * tune_median(spreads.data, spreads.len));
  chm_vec_free(&tallies);
  chm_vec_free(&spreads);
  chm_vec_free(&keys);
  for (int l = 0; l < n_logs; l++) tune_log_close(logs[l]);
  return 0;
}
