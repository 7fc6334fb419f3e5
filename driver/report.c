/*
 * report.c — the tuning report: how fast each tuner found good configs.
 *
 * Reads one or more tuning logs with the log API (all targets and CPUs),
 * splits the records into runs, and writes
 *  - an SVG (by hand, no library): one panel per task in a grid, x = the
 *    number of measurements, y = best-so-far GFLOP/s, one colour per tuner
 *    (same colour in every panel, legend on top), drawn as a step curve;
 *  - a markdown table on `table`: per task and tuner the measurements, the
 *    best GFLOP/s, the measurements and wall-clock seconds needed to reach
 *    95% of the best that any tuner reached on that task, and a geomean row
 *    per tuner;
 *  - when the logs hold `autotvm` and other tuners: the head to head of
 *    issue 4 (write_h2h: measurements and seconds until each tuner reaches
 *    AutoTVM's final best, and best GFLOP/s at 200, 400, 800 measurements);
 *  - where the time went per tuner: compile, run, model fit, optimizer.
 *
 * Choices:
 *  - A run is the records of one (log, task, tuner) in log order (the order
 *    they were appended, which is timestamp order for a single tuner; a
 *    resumed run continues the same run). Failed measurements count as
 *    measurements (they cost time) but not towards the best.
 *  - GFLOP/s = flops / median time / 1e9 over ok records; a record timed
 *    beside a reference kernel counts its repeats scaled onto the panel's
 *    reference time (tune_record_scaled with the median of the panel's
 *    reference readings), as the tuner ranks them; per panel rather than
 *    per task, so that a log of several machines does not mix their
 *    reference times.
 *  - Spread: the best GFLOP/s of the table is followed by the GFLOP/s of
 *    the slowest and fastest repeat of the record that set it (one run), or
 *    by the lowest and highest best over the runs (several).
 *  - Several runs of one tuner on one task (one log per seed): each run is a
 *    thin translucent line and the median across runs a thick line, drawn
 *    up to the shortest run's length (beyond it the median would be over a
 *    shrinking set). In the table such a row shows the median over runs of
 *    each column (a run that never reached 95% counts as infinite; "—" when
 *    the median is infinite).
 *  - Geomean row per tuner: over the tasks it has rows for; "—" in a column
 *    where any of those tasks is "—".
 *  - When the logs mix several (target, CPU) pairs, a task on each pair is a
 *    separate panel ("task @ cpu"): timings of different machines do not
 *    belong on one curve.
 *  - Panel titles drop the layout-block tokens (cbN, kbN) and a unit
 *    dilation (d1x1) and are cut to 58 characters; the full key is the
 *    panel's <title> (a tooltip in browsers) and is in the table.
 *  - From scratch (from_scratch != 0, `chamcc report --from-scratch`): each
 *    run's first record is left out. tune_task_run measures the template's
 *    default first, and where the default is within a few percent of the
 *    best (most layers here), "time to the target" then says which run's
 *    lucky reading came first, not how well the tuner searches. Left out,
 *    the curves show the search alone (the default's one measurement still
 *    entered the first model fit; the runs cannot be undone that far).
 *  - Malformed log lines are skipped and counted in a note under the table.
 *  - A missing log is an error (the log API would create it).
 *  - NULL svg_path or table: that output is skipped.
 */
#include "report.h"

#include "chamcc/tune.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  PANEL_W = 440, PANEL_H = 300,    /* one panel */
  PAD_L = 62, PAD_R = 16,          /* plot area inside a panel */
  PAD_T = 34, PAD_B = 44,
  MAX_COLS = 3,                    /* panels per row */
  LEGEND_ROW = 22, LEGEND_ITEM = 160, /* legend layout */
  TITLE_MAX = 58,                  /* characters of a panel title (~7 px each) */
};

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
                                      "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#7f7f7f"};
enum { N_COLORS = sizeof palette / sizeof palette[0] };

/* ---- the data ---- */

typedef struct rp_run {
  int log;               /* which log */
  int panel, tuner;      /* indices into rp_data's lists */
  CHM_VEC(double) best;  /* best-so-far GFLOP/s after each measurement */
  double best_lo, best_hi; /* the best record's slowest and fastest repeat, GFLOP/s */
  CHM_VEC(double) cost;  /* cumulative wall-clock cost after each measurement */
  double part[4];        /* seconds of build, run, fit, optimizer (tune_record_cost's parts) */
  int left_out;          /* records left out (from scratch: the first) */
} rp_run;

typedef CHM_VEC(char *) rp_names; /* owned strings */

typedef struct rp_data {
  rp_names panels;        /* panel keys (task, or "task @ cpu"), first-seen order */
  CHM_VEC(double) refs;   /* per panel: the median of its reference readings (0: none) */
  rp_names tuners;        /* tuner names, first-seen order */
  CHM_VEC(rp_run) runs;   /* every run */
  int multi_machine;      /* records of more than one (target, cpu) */
  int malformed;          /* log lines skipped */
  int from_scratch;       /* leave out each run's first record (the default config) */
} rp_data;

/* Per (panel, tuner) summary for the table. */
typedef struct rp_row {
  int runs;              /* runs of this tuner on this panel (0: no row) */
  double meas;           /* measurements */
  double best;           /* best GFLOP/s */
  double lo, hi;         /* its spread (see the header) */
  double reach;          /* measurements to 95% of the panel best (INFINITY: never) */
  double secs;           /* seconds to get there (INFINITY: never) */
} rp_row;

static int find_or_add(rp_names *v, const char *s) {
  for (int i = 0; i < v->len; i++)
    if (!strcmp(v->data[i], s)) return i;
  chm_vec_push(v, chm_strdup(s));
  return v->len - 1;
}

static void count_warning(void *ctx, const char *msg) {
  (void)msg;
  ++*(int *)ctx;
}

/* r's figure on the reference time ref_s of its panel. */
static tune_figure figure(const tune_record *r, double ref_s) {
  double v[MEAS_MAX_REPEATS];
  return tune_figure_of(r->flops, v, tune_record_scaled(r, ref_s, v));
}

static rp_run *run_of(rp_data *d, int log, int panel, int tuner) {
  for (int i = d->runs.len - 1; i >= 0; i--) {
    rp_run *r = &d->runs.data[i];
    if (r->log == log && r->panel == panel && r->tuner == tuner) return r;
  }
  rp_run r = {.log = log, .panel = panel, .tuner = tuner};
  chm_vec_push(&d->runs, r);
  return &d->runs.data[d->runs.len - 1];
}

/* The panel of record r (added when new). */
static int panel_of(rp_data *d, const tune_record *r) {
  char key[400];
  if (d->multi_machine) snprintf(key, sizeof key, "%s @ %s", r->task, r->cpu);
  else snprintf(key, sizeof key, "%s", r->task);
  int p = find_or_add(&d->panels, key);
  while (d->refs.len < d->panels.len) chm_vec_push(&d->refs, 0.0);
  return p;
}

/* Every panel's reference time: the median of the reference medians of
 * its ok records (0: none has any). */
static void panel_refs(rp_data *d, tune_log *const *logs, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < tune_log_size(logs[i]); j++) panel_of(d, tune_log_get(logs[i], j));
  int np = d->panels.len;
  CHM_VEC(double) *v = chm_calloc((size_t)np + 1, sizeof *v);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < tune_log_size(logs[i]); j++) {
      const tune_record *r = tune_log_get(logs[i], j);
      if (r->status != MEAS_OK || !r->n_ref) continue;
      double t[MEAS_MAX_REPEATS];
      memcpy(t, r->ref_times, (size_t)r->n_ref * sizeof t[0]);
      chm_vec_push(&v[panel_of(d, r)], tune_median(t, r->n_ref));
    }
  for (int p = 0; p < np; p++) {
    d->refs.data[p] = v[p].len ? tune_median(v[p].data, v[p].len) : 0;
    chm_vec_free(&v[p]);
  }
  free(v);
}

static void add_record(rp_data *d, int log, const tune_record *r) {
  if (r->confirm) return; /* re-measurements of finalists, not search steps */
  int p = panel_of(d, r);
  rp_run *run = run_of(d, log, p, find_or_add(&d->tuners, r->tuner));
  if (d->from_scratch && !run->left_out) {
    run->left_out = 1;
    return;
  }
  double prev = run->best.len ? run->best.data[run->best.len - 1] : 0;
  tune_figure f = figure(r, d->refs.data[p]);
  double g = f.gflops, spent = (run->cost.len ? run->cost.data[run->cost.len - 1] : 0);
  if (g > prev) run->best_lo = f.lo, run->best_hi = f.hi;
  chm_vec_push(&run->best, g > prev ? g : prev);
  chm_vec_push(&run->cost, spent + tune_record_cost(r));
  run->part[0] += r->build_s > 0 ? r->build_s : r->compile_s;
  run->part[1] += r->run_s, run->part[2] += r->fit_s, run->part[3] += r->opt_s;
}

/* Whether the logs hold more than one (target, cpu) pair. */
static int machines_differ(tune_log *const *logs, int n) {
  const tune_record *first = NULL;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < tune_log_size(logs[i]); j++) {
      const tune_record *r = tune_log_get(logs[i], j);
      if (!first) first = r;
      else if (strcmp(r->target, first->target) || strcmp(r->cpu, first->cpu)) return 1;
    }
  return 0;
}

static int load(rp_data *d, const char *const *paths, int n, chm_err *e) {
  tune_log **logs = chm_calloc((size_t)n, sizeof *logs);
  int rc = 0;
  for (int i = 0; i < n && !rc; i++)
    if (!(logs[i] = tune_log_read(paths[i], NULL, NULL, count_warning, &d->malformed, e))) rc = -1;
  if (!rc) {
    d->multi_machine = machines_differ(logs, n);
    panel_refs(d, logs, n);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < tune_log_size(logs[i]); j++) add_record(d, i, tune_log_get(logs[i], j));
    if (!d->runs.len) rc = chm_errorf(e, "%s: no measurements in the log%s", paths[0], n > 1 ? "s" : "");
  }
  for (int i = 0; i < n; i++) tune_log_close(logs[i]);
  free(logs);
  return rc;
}

static void data_free(rp_data *d) {
  for (int i = 0; i < d->panels.len; i++) free(d->panels.data[i]);
  for (int i = 0; i < d->tuners.len; i++) free(d->tuners.data[i]);
  for (int i = 0; i < d->runs.len; i++) {
    chm_vec_free(&d->runs.data[i].best);
    chm_vec_free(&d->runs.data[i].cost);
  }
  chm_vec_free(&d->panels);
  chm_vec_free(&d->refs);
  chm_vec_free(&d->tuners);
  chm_vec_free(&d->runs);
}

/* ---- numbers ---- */

static double run_best(const rp_run *r) { return r->best.len ? r->best.data[r->best.len - 1] : 0; }

/* Best GFLOP/s any run reached on panel p. */
static double panel_best(const rp_data *d, int p) {
  double b = 0;
  for (int i = 0; i < d->runs.len; i++)
    if (d->runs.data[i].panel == p && run_best(&d->runs.data[i]) > b) b = run_best(&d->runs.data[i]);
  return b;
}

/* Measurements until r reaches `target` GFLOP/s; 0 if never. */
static int run_reach(const rp_run *r, double target) {
  for (int i = 0; i < r->best.len; i++)
    if (target > 0 && r->best.data[i] >= target) return i + 1;
  return 0;
}

/* The table row of tuner t on panel p: medians over its runs. */
static rp_row make_row(const rp_data *d, int p, int t) {
  rp_row row = {0};
  int n = d->runs.len;
  double *col[4];
  for (int c = 0; c < 4; c++) col[c] = chm_malloc((size_t)n * sizeof(double));
  double target = 0.95 * panel_best(d, p), lo = INFINITY, hi = 0;
  for (int i = 0; i < n; i++) {
    const rp_run *r = &d->runs.data[i];
    if (r->panel != p || r->tuner != t) continue;
    int k = run_reach(r, target), j = row.runs++;
    if (run_best(r) < lo) lo = run_best(r);
    if (run_best(r) > hi) hi = run_best(r);
    if (row.runs == 1) row.lo = r->best_lo, row.hi = r->best_hi; /* one run: its best's repeats */
    col[0][j] = r->best.len;
    col[1][j] = run_best(r);
    col[2][j] = k ? k : INFINITY;
    col[3][j] = k ? r->cost.data[k - 1] : INFINITY;
  }
  if (row.runs > 1) row.lo = lo, row.hi = hi; /* several: their bests */
  if (row.runs) {
    row.meas = tune_median(col[0], row.runs), row.best = tune_median(col[1], row.runs);
    row.reach = tune_median(col[2], row.runs), row.secs = tune_median(col[3], row.runs);
  }
  for (int c = 0; c < 4; c++) free(col[c]);
  return row;
}

/* Geometric mean (INFINITY if any is, 0 if any is 0). */
static double geomean(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    if (isinf(v[i])) return INFINITY;
    if (v[i] <= 0) return 0;
    s += log(v[i]);
  }
  return n ? exp(s / n) : 0;
}

/* ---- the table ---- */

/* A count: whole numbers without decimals. */
static void put_count(FILE *f, double v) {
  if (isinf(v)) fputs(" — |", f);
  else if (fabs(v - round(v)) < 1e-9 * (1 + v)) fprintf(f, " %.0f |", v);
  else fprintf(f, " %.1f |", v);
}

static void put_real(FILE *f, double v) {
  if (isinf(v)) fputs(" — |", f);
  else fprintf(f, " %.2f |", v);
}

/* Markdown cell text: '|' escaped. */
static void put_cell(FILE *f, const char *s) {
  fputc(' ', f);
  for (; *s; s++) {
    if (*s == '|') fputc('\\', f);
    fputc(*s, f);
  }
  fputs(" |", f);
}

static void put_row(FILE *f, const char *task, const char *tuner, const char *runs, const rp_row *r) {
  fputc('|', f);
  put_cell(f, task);
  put_cell(f, tuner);
  put_cell(f, runs);
  put_count(f, r->meas);
  put_real(f, r->best);
  if (r->hi > 0) fprintf(f, " %.2f–%.2f |", r->lo, r->hi);
  else fputs(" — |", f);
  put_count(f, r->reach);
  put_real(f, r->secs);
  fputc('\n', f);
}

/* The geomean row of tuner t over the panels it has rows on. */
static void put_geomean(FILE *f, const rp_data *d, const rp_row *rows, int t) {
  int np = d->panels.len, n = 0, nt = d->tuners.len;
  double *v[6];
  for (int c = 0; c < 6; c++) v[c] = chm_malloc((size_t)np * sizeof(double));
  for (int p = 0; p < np; p++) {
    const rp_row *r = &rows[p * nt + t];
    if (!r->runs) continue;
    v[0][n] = r->meas, v[1][n] = r->best, v[2][n] = r->reach, v[3][n] = r->secs;
    v[4][n] = r->lo, v[5][n] = r->hi, n++;
  }
  rp_row g = {.meas = geomean(v[0], n), .best = geomean(v[1], n), .lo = geomean(v[4], n), .hi = geomean(v[5], n),
              .reach = geomean(v[2], n), .secs = geomean(v[3], n)};
  char label[64];
  snprintf(label, sizeof label, "geomean (%d task%s)", n, n == 1 ? "" : "s");
  put_row(f, label, d->tuners.data[t], "", &g);
  for (int c = 0; c < 6; c++) free(v[c]);
}

static void write_table(FILE *f, const rp_data *d) {
  int np = d->panels.len, nt = d->tuners.len;
  rp_row *rows = chm_calloc((size_t)np * nt, sizeof *rows);
  for (int p = 0; p < np; p++)
    for (int t = 0; t < nt; t++) rows[p * nt + t] = make_row(d, p, t);
  fputs("| task | tuner | runs | measurements | best GFLOP/s | spread | to 95% | seconds to 95% |\n", f);
  fputs("|---|---|---:|---:|---:|---:|---:|---:|\n", f);
  for (int p = 0; p < np; p++)
    for (int t = 0; t < nt; t++) {
      const rp_row *r = &rows[p * nt + t];
      char runs[16];
      snprintf(runs, sizeof runs, "%d", r->runs);
      if (r->runs) put_row(f, d->panels.data[p], d->tuners.data[t], runs, r);
    }
  for (int t = 0; t < nt; t++) put_geomean(f, d, rows, t);
  fputs("\n95% is of the best GFLOP/s any tuner reached on the task; seconds are wall-clock tuning time "
        "(compile, run, cost-model fit and optimizer; pauses excluded). Spread: GFLOP/s of the slowest and "
        "fastest repeat of the best measurement (one run), or the lowest and highest best (several runs; "
        "geomean rows: of the geomeans of those).\n", f);
  if (d->from_scratch) fputs("From scratch: each run's first measurement (the template's default) is left out.\n", f);
  if (d->malformed) fprintf(f, "%d malformed log line%s skipped.\n", d->malformed, d->malformed == 1 ? "" : "s");
  free(rows);
}

/* ---- head to head against a baseline tuner (issue 4) ---- */

enum { N_BUDGETS = 3 };
static const int budgets[N_BUDGETS] = {200, 400, 800};

/* Best GFLOP/s of run r after n measurements; INFINITY if it is shorter.
 * Records left out count (from scratch, a run of 800 is at 800 with 799). */
static double best_at(const rp_run *r, int n) {
  int k = n - r->left_out;
  return r->best.len >= k && k > 0 ? r->best.data[k - 1] : INFINITY;
}

/* Median over tuner t's runs on panel p of f(run) (with `lower`, the lower
 * median: the middle value, or the lower of the two); fills *runs. */
static double median_runs(const rp_data *d, int p, int t, double (*f)(const rp_run *, const void *),
                          const void *arg, int lower, int *runs) {
  double *v = chm_malloc((size_t)d->runs.len * sizeof *v + 1);
  int k = 0;
  for (int i = 0; i < d->runs.len; i++)
    if (d->runs.data[i].panel == p && d->runs.data[i].tuner == t) v[k++] = f(&d->runs.data[i], arg);
  double m = !k ? NAN : lower ? tune_lower_median(v, k) : tune_median(v, k);
  free(v);
  if (runs) *runs = k;
  return m;
}

static double f_final(const rp_run *r, const void *arg) { (void)arg; return run_best(r); }
static double f_meas(const rp_run *r, const void *arg) {
  int k = run_reach(r, *(const double *)arg);
  return k ? k : INFINITY;
}
static double f_secs(const rp_run *r, const void *arg) {
  int k = run_reach(r, *(const double *)arg);
  return k ? r->cost.data[k - 1] : INFINITY;
}
static double f_at(const rp_run *r, const void *arg) { return best_at(r, *(const int *)arg); }

/*
 * For each task the baseline tuned: the target is the lower median over
 * the baseline's runs of their final best GFLOP/s (the median for an odd
 * number of runs; for an even number the lower middle value, which at
 * least half of them reach: the mean of the two middle ones could be
 * beyond half of the baseline's own runs). Per tuner: the median over
 * runs of the measurements and wall-clock seconds until the best-so-far
 * first reaches the target (a run that never does counts as infinite), the
 * baseline's seconds over the tuner's (the optimization-time speedup), and
 * the median best after 200, 400 and 800 measurements ("—" when the runs
 * are shorter). Geomean rows per tuner over the tasks where the value is
 * finite for both, with how many tasks that is.
 */
static void write_h2h(FILE *f, const rp_data *d, int base) {
  int np = d->panels.len, nt = d->tuners.len;
  fprintf(f, "\n## Against %s: time to reach its final best\n\n", d->tuners.data[base]);
  fprintf(f, "| task | tuner | runs | target GFLOP/s | measurements to target | seconds to target | speedup |");
  for (int b = 0; b < N_BUDGETS; b++) fprintf(f, " best@%d |", budgets[b]);
  fputs("\n|---|---|---:|---:|---:|---:|---:|", f);
  for (int b = 0; b < N_BUDGETS; b++) fputs("---:|", f);
  fputc('\n', f);
  double *sp = chm_malloc((size_t)(np * nt + 1) * sizeof *sp);
  double *ratio = chm_malloc((size_t)(np * nt * N_BUDGETS + 1) * sizeof *ratio);
  int *nsp = chm_calloc((size_t)nt, sizeof *nsp), *nratio = chm_calloc((size_t)nt * N_BUDGETS, sizeof *nratio);
  for (int p = 0; p < np; p++) {
    int nb = 0;
    double target = median_runs(d, p, base, f_final, NULL, 1, &nb);
    if (!nb || !(target > 0)) continue;
    double base_secs = median_runs(d, p, base, f_secs, &target, 0, NULL), base_at[N_BUDGETS];
    for (int b = 0; b < N_BUDGETS; b++) base_at[b] = median_runs(d, p, base, f_at, &budgets[b], 0, NULL);
    for (int t = 0; t < nt; t++) {
      int runs = 0;
      double meas = median_runs(d, p, t, f_meas, &target, 0, &runs);
      if (!runs) continue;
      double secs = median_runs(d, p, t, f_secs, &target, 0, NULL);
      double speed = isfinite(secs) && isfinite(base_secs) && secs > 0 ? base_secs / secs : INFINITY;
      char nr[16];
      snprintf(nr, sizeof nr, "%d", runs);
      fputc('|', f);
      put_cell(f, d->panels.data[p]);
      put_cell(f, d->tuners.data[t]);
      put_cell(f, nr);
      put_real(f, target);
      put_count(f, meas);
      put_real(f, secs);
      put_real(f, speed);
      if (isfinite(speed)) sp[t * np + nsp[t]++] = speed;
      for (int b = 0; b < N_BUDGETS; b++) {
        double v = median_runs(d, p, t, f_at, &budgets[b], 0, NULL);
        put_real(f, v);
        if (isfinite(v) && isfinite(base_at[b]) && base_at[b] > 0)
          ratio[(t * N_BUDGETS + b) * np + nratio[t * N_BUDGETS + b]++] = v / base_at[b];
      }
      fputc('\n', f);
    }
  }
  fprintf(f, "\n| tuner | geomean speedup (tasks) |");
  for (int b = 0; b < N_BUDGETS; b++) fprintf(f, " best@%d / %s's (tasks) |", budgets[b], d->tuners.data[base]);
  fputs("\n|---|---:|", f);
  for (int b = 0; b < N_BUDGETS; b++) fputs("---:|", f);
  fputc('\n', f);
  for (int t = 0; t < nt; t++) {
    fprintf(f, "| %s |", d->tuners.data[t]);
    if (nsp[t]) fprintf(f, " %.2f (%d) |", geomean(sp + t * np, nsp[t]), nsp[t]);
    else fputs(" — (0) |", f);
    for (int b = 0; b < N_BUDGETS; b++) {
      int k = nratio[t * N_BUDGETS + b];
      if (k) fprintf(f, " %.3f (%d) |", geomean(ratio + (t * N_BUDGETS + b) * np, k), k);
      else fputs(" — (0) |", f);
    }
    fputc('\n', f);
  }
  fprintf(f, "\nTarget: the median over %s's runs of their final best (the lower median for an even number of "
             "runs). Speedup: %s's seconds to the target over the tuner's (medians over runs); tasks where a "
             "tuner never reaches the target are left out of its geomean, so compare the task counts.\n",
          d->tuners.data[base], d->tuners.data[base]);
  free(sp), free(ratio), free(nsp), free(nratio);
}

/* Where the time went, per tuner: sums over all its runs. */
static void write_breakdown(FILE *f, const rp_data *d) {
  static const char *const names[4] = {"compile", "run", "model fit", "optimizer"};
  fputs("\n## Where the time goes\n\n| tuner | measurements | seconds |", f);
  for (int k = 0; k < 4; k++) fprintf(f, " %s |", names[k]);
  fputs("\n|---|---:|---:|---:|---:|---:|---:|\n", f);
  for (int t = 0; t < d->tuners.len; t++) {
    double part[4] = {0}, total = 0;
    int meas = 0;
    for (int i = 0; i < d->runs.len; i++) {
      const rp_run *r = &d->runs.data[i];
      if (r->tuner != t) continue;
      meas += r->best.len;
      for (int k = 0; k < 4; k++) part[k] += r->part[k], total += r->part[k];
    }
    fprintf(f, "| %s | %d | %.0f |", d->tuners.data[t], meas, total);
    for (int k = 0; k < 4; k++) fprintf(f, " %.0f s (%.0f%%) |", part[k], total > 0 ? 100 * part[k] / total : 0);
    fputc('\n', f);
  }
  fputs("\nCompile is the wall-clock time of the parallel batch builds (per-candidate compile time for logs "
        "written before build_s was recorded).\n", f);
}

/* ---- SVG helpers ---- */

static void svg_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* A readable panel title: layout-block tokens and d1x1 dropped, cut short. */
static void short_title(const char *key, char *out, size_t cap) {
  size_t n = 0;
  const char *p = key;
  while (*p && n + 1 < cap) {
    size_t len = strcspn(p, " ");
    int drop = (len > 2 && (!strncmp(p, "cb", 2) || !strncmp(p, "kb", 2)) && p[2] >= '0' && p[2] <= '9') ||
               (len == 4 && !strncmp(p, "d1x1", 4));
    if (!drop) n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? " " : "", (int)len, p);
    if (n >= cap) n = cap - 1;
    p += len;
    while (*p == ' ') p++;
  }
  out[n] = 0;
  if (n > TITLE_MAX) strcpy(out + TITLE_MAX - 3, "...");
}

/* A round tick step (1, 2 or 5 times a power of ten) giving ~5 ticks. */
static double tick_step(double range) {
  double raw = range / 5, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Maps data to panel pixels. */
typedef struct rp_axes {
  double xmax, ymax;  /* data ranges (from 0) */
  double x0, y0;      /* pixel origin of the plot area (bottom left) */
  double w, h;        /* plot area size in pixels */
} rp_axes;

static double px(const rp_axes *a, double x) { return a->x0 + x / a->xmax * a->w; }
static double py(const rp_axes *a, double y) { return a->y0 - y / a->ymax * a->h; }

static void svg_axes(FILE *f, const rp_axes *a) {
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", a->x0, a->y0,
          a->x0 + a->w, a->y0);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", a->x0, a->y0,
          a->x0, a->y0 - a->h);
  double sx = tick_step(a->xmax) < 1 ? 1 : tick_step(a->xmax), sy = tick_step(a->ymax);
  for (double x = 0; x <= a->xmax * (1 + 1e-9); x += sx)
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            px(a, x), a->y0, px(a, x), a->y0 + 4, px(a, x), a->y0 + 16, x);
  for (double y = 0; y <= a->ymax * (1 + 1e-9); y += sy)
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            a->x0, py(a, y), a->x0 + a->w, py(a, y), a->x0 - 5, py(a, y) + 4, y);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">measurements</text>\n", a->x0 + a->w / 2,
          a->y0 + 34);
  fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">best GFLOP/s</text>\n",
          a->x0 - 44, a->y0 - a->h / 2);
}

static void svg_stroke(FILE *f, int tuner) {
  fprintf(f, " stroke=\"%s\"", palette[tuner % N_COLORS]);
  if (tuner >= N_COLORS) fputs(" stroke-dasharray=\"6,3\"", f); /* more tuners than colours */
}

/* A best-so-far curve v[0..n-1] as steps: class "run" or "median". */
static void svg_curve(FILE *f, const rp_axes *a, const double *v, int n, int tuner, const char *cls,
                      double width, double opacity) {
  fprintf(f, "<polyline class=\"%s\" fill=\"none\" stroke-width=\"%.1f\" stroke-opacity=\"%.2f\"", cls, width,
          opacity);
  svg_stroke(f, tuner);
  fprintf(f, " points=\"%.1f,%.1f", px(a, 1), py(a, v[0]));
  for (int i = 1; i < n; i++)
    if (v[i] != v[i - 1]) fprintf(f, " %.1f,%.1f %.1f,%.1f", px(a, i + 1), py(a, v[i - 1]), px(a, i + 1), py(a, v[i]));
  fprintf(f, " %.1f,%.1f\"/>\n", px(a, n), py(a, v[n - 1]));
}

/* ---- SVG panels ---- */

static rp_axes panel_axes(const rp_data *d, int p, double ox, double oy) {
  rp_axes a = {.xmax = 1, .ymax = 0, .x0 = ox + PAD_L, .y0 = oy + PANEL_H - PAD_B,
               .w = PANEL_W - PAD_L - PAD_R, .h = PANEL_H - PAD_T - PAD_B};
  for (int i = 0; i < d->runs.len; i++) {
    const rp_run *r = &d->runs.data[i];
    if (r->panel != p) continue;
    if (r->best.len > a.xmax) a.xmax = r->best.len;
    if (run_best(r) > a.ymax) a.ymax = run_best(r);
  }
  double s = a.ymax > 0 ? tick_step(a.ymax * 1.05) : 1;
  a.ymax = a.ymax > 0 ? ceil(a.ymax * 1.05 / s) * s : 1;
  double sx = tick_step(a.xmax) < 1 ? 1 : tick_step(a.xmax);
  a.xmax = ceil(a.xmax / sx) * sx;
  return a;
}

/* The median curve of tuner t's runs on panel p, if it has several. */
static void svg_median(FILE *f, const rp_data *d, const rp_axes *a, int p, int t) {
  int k = 0, len = 0;
  for (int i = 0; i < d->runs.len; i++) {
    const rp_run *r = &d->runs.data[i];
    if (r->panel == p && r->tuner == t) len = k++ ? (r->best.len < len ? r->best.len : len) : r->best.len;
  }
  if (k < 2 || !len) return;
  double *m = chm_malloc((size_t)len * sizeof *m), *col = chm_malloc((size_t)k * sizeof *col);
  for (int x = 0; x < len; x++) {
    int j = 0;
    for (int i = 0; i < d->runs.len; i++)
      if (d->runs.data[i].panel == p && d->runs.data[i].tuner == t) col[j++] = d->runs.data[i].best.data[x];
    m[x] = tune_median(col, k);
  }
  svg_curve(f, a, m, len, t, "median", 2.5, 1);
  free(m);
  free(col);
}

static int runs_of(const rp_data *d, int p, int t) {
  int k = 0;
  for (int i = 0; i < d->runs.len; i++) k += d->runs.data[i].panel == p && d->runs.data[i].tuner == t;
  return k;
}

static void svg_panel(FILE *f, const rp_data *d, int p, double ox, double oy) {
  char title[TITLE_MAX + 8];
  short_title(d->panels.data[p], title, sizeof title);
  fputs("<g class=\"panel\"><title>", f);
  svg_text(f, d->panels.data[p]);
  fprintf(f, "</title>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\">",
          ox + PANEL_W / 2.0, oy + 20);
  svg_text(f, title);
  fputs("</text>\n", f);
  rp_axes a = panel_axes(d, p, ox, oy);
  svg_axes(f, &a);
  for (int i = 0; i < d->runs.len; i++) {
    const rp_run *r = &d->runs.data[i];
    if (r->panel != p || !r->best.len) continue;
    int several = runs_of(d, p, r->tuner) > 1;
    svg_curve(f, &a, r->best.data, r->best.len, r->tuner, "run", several ? 1 : 1.8, several ? 0.45 : 1);
  }
  for (int t = 0; t < d->tuners.len; t++) svg_median(f, d, &a, p, t);
  fputs("</g>\n", f);
}

static void svg_legend(FILE *f, const rp_data *d, int width) {
  int per_row = width / LEGEND_ITEM > 0 ? width / LEGEND_ITEM : 1;
  fputs("<g class=\"legend\">\n", f);
  for (int t = 0; t < d->tuners.len; t++) {
    double x = 20 + (t % per_row) * LEGEND_ITEM, y = 18 + (t / per_row) * LEGEND_ROW;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"3\"", x, y - 4, x + 24,
            y - 4);
    svg_stroke(f, t);
    fprintf(f, "/><text x=\"%.1f\" y=\"%.1f\">", x + 30, y);
    svg_text(f, d->tuners.data[t]);
    fputs("</text>\n", f);
  }
  fputs("</g>\n", f);
}

static int write_svg(const char *path, const rp_data *d, chm_err *e) {
  FILE *f = fopen(path, "w");
  if (!f) return chm_errorf(e, "%s: %s", path, strerror(errno));
  int np = d->panels.len, cols = np < MAX_COLS ? np : MAX_COLS, rows = (np + cols - 1) / cols;
  int width = cols * PANEL_W, per_row = width / LEGEND_ITEM > 0 ? width / LEGEND_ITEM : 1;
  int legend_h = 12 + ((d->tuners.len + per_row - 1) / per_row) * LEGEND_ROW;
  int height = legend_h + rows * PANEL_H;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\" font-size=\"11\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
          width, height, width, height);
  svg_legend(f, d, width);
  for (int p = 0; p < np; p++) svg_panel(f, d, p, (p % cols) * PANEL_W, legend_h + (p / cols) * PANEL_H);
  fputs("</svg>\n", f);
  int bad = ferror(f);
  if (fclose(f) || bad) return chm_errorf(e, "%s: write error", path);
  return 0;
}

int tune_report(const char *const *logs, int n_logs, int from_scratch, const char *svg_path, void *table,
                chm_err *e) {
  if (n_logs <= 0) return chm_errorf(e, "report: no tuning logs given");
  rp_data d = {.from_scratch = from_scratch != 0};
  int rc = load(&d, logs, n_logs, e);
  if (!rc && svg_path) rc = write_svg(svg_path, &d, e);
  if (!rc && table) {
    write_table(table, &d);
    for (int t = 0; t < d.tuners.len; t++)
      if (!strcmp(d.tuners.data[t], "autotvm") && d.tuners.len > 1) write_h2h(table, &d, t);
    write_breakdown(table, &d);
  }
  data_free(&d);
  return rc;
}
