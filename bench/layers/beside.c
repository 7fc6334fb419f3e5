/*
 * beside.c — chamcc's kernels and oneDNN's convolution timed side by side
 * in one process, in slices a few tens of milliseconds apart.
 *
 *   beside LAYERS.json [--layers a,b,c] [--log1 LOG] [--log2 LOG] [--rounds R]
 *                      [--slice-ms MS] [--gap-ms MS]
 *
 * For each layer of cnn_layers.json and each thread count (1, 2), three
 * subjects: oneDNN's primitive in the layout it prefers (reorders
 * excluded, weights packed once: peer_dnnl.c), chamcc's default config and
 * the config a build picks (tune_log_pick) from the log of that thread count (--log1,
 * --log2; none: "-"), both built as chamcc builds the layer inside a model
 * (layer_task.c) and checked against the OpenBLAS reference first. Each of
 * R rounds (default 15) times every subject once: a pause of --gap-ms
 * (default 50, spent spinning, so that the other library's idle threads
 * have gone to sleep: libgomp's workers spin 300,000 pause instructions,
 * some milliseconds, before they sleep, chamcc's pool 20 us), one
 * untimed call, then as many calls as last about --slice-ms (default 30),
 * counted once per subject beforehand. The order rotates every round, so
 * no subject always follows the same one.
 *
 * A machine whose speed changes over seconds (another tenant, a core taken
 * away for a moment) moves the readings of one round together, so the
 * per-round ratio chamcc / oneDNN is steadier than a ratio of readings
 * taken in separate processes seconds apart (vs_onednn.sh without
 * --beside): the tuner's interleaved measurement, extended to the
 * benchmark against oneDNN.
 *
 * Prints the rows of vs_onednn.sh (vs_onednn_table.py makes the table):
 *   dnnl ROUND name desc mflop - - dnnl1 dnnl2 - - impl
 *   cham ROUND name def1 def2 tuned1 tuned2
 * GFLOP/s of round ROUND; the 1- and 2-thread values of one row come from
 * rounds of the same number, not from the same moment.
 */
#include "../layer_task.h"
#include "peer_dnnl.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_ROUNDS = 201, NT = 2, NS = 3 }; /* subjects: oneDNN, default, tuned */

typedef struct opts {
  const char *path, *only, *log[NT];
  int rounds;
  double slice_s, gap_s;
} opts;

/* Waits s seconds spinning: a sleeping core may come back at a lower
 * clock, and the slice after the gap would pay for it. */
static void pause_for(double s) {
  double end = chm_now() + s;
  while (chm_now() < end) {}
}

/* One of chamcc's kernels, called in this process. */
typedef struct cham_run {
  const meas_measurer *m;
  const meas_built *b;
} cham_run;

static void cham_call(void *p) {
  const cham_run *r = p;
  if (meas_call(r->m, r->b)) peer_die("%s", "chamcc's kernel is not JIT code of its workload");
}

/* A subject: what it calls, and how many calls make one slice. */
typedef struct subject {
  void (*fn)(void *);
  void *ctx;
  long calls;
} subject;

/* Calls per slice: about slice_s seconds by the fastest of two timed calls
 * (after one warm-up). */
static long calls_per_slice(const subject *s, double slice_s) {
  s->fn(s->ctx);
  double best = INFINITY;
  for (int i = 0; i < 2; i++) {
    double t0 = chm_now();
    s->fn(s->ctx);
    best = fmin(best, chm_now() - t0);
  }
  long n = (long)ceil(slice_s / fmax(best, 1e-7));
  return n < 1 ? 1 : n;
}

/* Seconds per call of one slice of s, after the gap and an untimed call. */
static double slice(const subject *s, double gap_s) {
  pause_for(gap_s);
  s->fn(s->ctx);
  double t0 = chm_now();
  for (long i = 0; i < s->calls; i++) s->fn(s->ctx);
  return (chm_now() - t0) / (double)s->calls;
}

/* A chamcc kernel of config idx, built by m and checked (in a child, as the
 * tuner does) before it runs here. */
static meas_built *build_checked(meas_measurer *m, const tune_task *t, const int *idx, chm_arena *a,
                                 const char *layer) {
  meas_built *b = meas_build(m, tune_task_kernel(t, idx, a, "kernel"));
  meas_result r;
  meas_run(m, b, &r);
  if (r.status != MEAS_OK) {
    fprintf(stderr, "beside: %s: chamcc's kernel: %s %s\n", layer, meas_status_name(r.status), r.message);
    exit(1);
  }
  return b;
}

/* Fills g[subject][round] (GFLOP/s; 0: no such subject) for layer j at
 * `threads` threads; impl gets oneDNN's implementation name. */
static void time_layer(const cJSON *j, const peer_layer *pl, const cg_target *tgt, tune_log *log, int threads,
                       const opts *o, double g[NS][MAX_ROUNDS], char *impl, size_t impl_size) {
  omp_set_num_threads(threads); /* before the primitive: it plans for this many */
  peer_dnnl d;
  peer_dnnl_setup(pl, &d);
  snprintf(impl, impl_size, "%s", d.impl);
  tune_task t;
  layer_task(j, tgt, threads, &t);
  meas_opts mo = meas_defaults();
  mo.nthreads = threads, mo.reference = 0, mo.repeats = 1, mo.min_repeat_ms = 1;
  chm_err e = {0};
  meas_measurer *m = tune_measurer_new(&t, tgt, &mo, NULL, &e);
  if (!m) peer_die("%s", e.msg);
  chm_arena *a = chm_arena_new();
  int def[TUNE_MAX_KNOBS];
  tune_task_default(&t, def);
  const tune_record *best = log ? tune_log_pick(log, t.key, def, t.space.n_knobs) : NULL;
  meas_built *built[NS] = {NULL, build_checked(m, &t, def, a, pl->name),
                           best ? build_checked(m, &t, best->config, a, pl->name) : NULL};
  cham_run runs[NS] = {{m, built[0]}, {m, built[1]}, {m, built[2]}};
  subject s[NS] = {{peer_dnnl_call, &d, 0}, {cham_call, &runs[1], 0}, {cham_call, &runs[2], 0}};
  int n = best ? NS : NS - 1;
  for (int i = 0; i < n; i++) s[i].calls = calls_per_slice(&s[i], o->slice_s);
  for (int r = 0; r < o->rounds; r++)
    for (int k = 0; k < NS; k++) {
      int i = (k + r) % NS;
      g[i][r] = i < n ? pl->mflop * 1e-3 / slice(&s[i], o->gap_s) : 0;
    }
  for (int i = 0; i < NS; i++) meas_built_free(built[i]);
  meas_free(m);
  chm_arena_free(a);
  peer_dnnl_teardown(&d);
}

static void cell(double v) {
  if (v > 0) printf("\t%.1f", v);
  else printf("\t-");
}

static int usage(void) {
  fprintf(stderr, "usage: beside LAYERS.json [--layers a,b,c] [--log1 LOG] [--log2 LOG] [--rounds R] "
                  "[--slice-ms MS] [--gap-ms MS]\n");
  return 2;
}

int main(int argc, char **argv) {
  opts o = {.rounds = 15, .slice_s = 0.03, .gap_s = 0.05};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int v = i + 1 < argc, bad = 0;
    double ms = 0;
    if (!strcmp(a, "--layers") && v) o.only = argv[++i];
    else if (!strcmp(a, "--log1") && v) o.log[0] = argv[++i];
    else if (!strcmp(a, "--log2") && v) o.log[1] = argv[++i];
    else if (!strcmp(a, "--rounds") && v) bad = chm_parse_int(argv[++i], 1, MAX_ROUNDS, &o.rounds);
    else if (!strcmp(a, "--slice-ms") && v) bad = chm_parse_double(argv[++i], 0.1, 1e4, &ms), o.slice_s = ms / 1e3;
    else if (!strcmp(a, "--gap-ms") && v) bad = chm_parse_double(argv[++i], 0, 1e4, &ms), o.gap_s = ms / 1e3;
    else if (a[0] != '-' && !o.path) o.path = a;
    else bad = 1;
    if (bad) return usage();
  }
  if (!o.path) return usage();
  chm_err e = {0};
  size_t size;
  char *text = (char *)chm_read_file(o.path, &size, &e);
  if (!text) peer_die("%s", e.msg);
  text = chm_realloc(text, size + 1);
  text[size] = 0;
  cJSON *root = cJSON_Parse(text);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "layers"), *j;
  if (!cJSON_IsArray(list)) peer_die("%s: no \"layers\" array", o.path);
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) peer_die("%s", e.msg);
  tune_log *logs[NT] = {NULL, NULL};
  for (int t = 0; t < NT; t++)
    if (o.log[t] && !(logs[t] = tune_log_open_for(o.log[t], tgt.triple, tgt.cpu, t + 1, NULL, NULL, &e)))
      peer_die("%s", e.msg);
  peer_dnnl_start();
  static double g[NT][NS][MAX_ROUNDS];
  cJSON_ArrayForEach(j, list) {
    peer_layer pl;
    peer_layer_from_json(j, &pl);
    if (!peer_wanted(o.only, pl.name)) continue;
    char impl[64];
    for (int t = 0; t < NT; t++) time_layer(j, &pl, &tgt, logs[t], t + 1, &o, g[t], impl, sizeof impl);
    for (int r = 0; r < o.rounds; r++) {
      printf("dnnl\t%d\t%s\t%s\t%.3f\t-\t-", r, pl.name, pl.desc, pl.mflop);
      cell(g[0][0][r]), cell(g[1][0][r]);
      printf("\t-\t-\t%s\n", impl);
      printf("cham\t%d\t%s", r, pl.name);
      cell(g[0][1][r]), cell(g[1][1][r]), cell(g[0][2][r]), cell(g[1][2][r]);
      printf("\n");
    }
    fflush(stdout);
    fprintf(stderr, "beside: %s done\n", pl.name);
  }
  peer_dnnl_stop();
  for (int t = 0; t < NT; t++) tune_log_close(logs[t]);
  cJSON_Delete(root);
  free(text);
  return 0;
}
