/*
 * tune_layers.c — tunes the benchmark layers of ../shared/workloads/
 * cnn_layers.json one by one, as tasks of exactly the kind chamcc makes
 * when it lowers a model (blocked NCHW[L]c activations with the padding in
 * a halo; plain NCHW input for a first layer of 3 channels), and prints a
 * table: the default schedule's GFLOP/s and that of the config a build
 * picks, both from readings scaled to the task's reference (row_of), and
 * the seconds the layer's measurements cost (read from the log, so the
 * table of a resumed run counts the earlier runs' work too).
 *
 *   tune_layers LAYERS.json --log FILE [--tuner NAME] [--trials N] [--seed S]
 *               [--net NAME[,NAME...]|all] [--layer NAME] [--threads T] [--as-build] [-q]
 *   tune_layers LAYERS.json --log FILE --eval [--net NAME[,NAME...]|all] [--layer NAME] [--threads 1|2]
 *               [--min-time S] [--repeats N] [--cold] [--tuned-first]
 *   tune_layers LAYERS.json --log FILE --eval --layer NAME --config V,V,... [--config ...] [--rounds R] [--cold]
 *               [--emit-llvm PREFIX]
 *
 * --as-build tunes as `chamcc MODEL` does: warm start from the log's other
 * tasks, readings above the FMA peak re-measured, and each task's 4 best
 * configs confirmed (measured again, tune_log_pick then picks among
 * those); without it, the methods run as published (the tuner comparisons).
 * --threads T tunes for a library on T threads (the records say T); the
 * picks the log holds for the layer on other thread counts are measured
 * first (tune_log_hints).
 *
 * Every measurement goes to the log (resumable, as chamcc tune), so several
 * tuners and seeds can be compared afterwards with `chamcc report`.
 *
 * --eval tunes nothing and writes nothing to the log: it measures again,
 * at 1 and 2 threads, each layer's default config and the log's best one
 * (the best of hundreds of noisy measurements flatters itself; a fresh
 * measurement does not), with `repeats` repeats of at least `min-time`
 * seconds, and prints a tab-separated table for bench/layers/run.sh:
 * name, default 1T, default 2T, tuned 1T, tuned 2T (GFLOP/s; "-" where the
 * log has no ok record of the layer), measurements in the log. The
 * default is measured before the tuned config, or after it with
 * --tuned-first.
 *
 * With --threads T (1 or 2) it measures at T threads only, the log's
 * best among the records measured on T threads (or that do not say), and
 * prints "-" for the other thread count (bench/layers/vs_onednn.sh).
 *
 * --config (with --eval and --layer) compares hand-picked configs of one
 * layer instead: each is the knobs' values in the task's knob order (e.g.
 * for a conv: oc_bn, ow_bn, oh_bn, ic_bn, win_outer, unroll_kw, row_outer,
 * grain, flat; or, prefixed with "i:", the option indices a log's "config"
 * holds).
 * The default and every config are measured in alternation for R
 * rounds (default 5) at 1 and 2 threads, each round starting one config
 * later than the last; the table gives the medians.
 * --emit-llvm PREFIX also writes each one's optimized kernel, built for 1 and
 * 2 threads, to PREFIXi-1t.ll and PREFIXi-2t.ll (i = 0 for the default, then
 * the configs in order), for llc or llvm-mca;
 * with --rounds 0 it measures nothing and the table lists the configs alone.
 *
 * --cold (with --eval) times every run alone with the kernel's weights and
 * other arguments but the input flushed from the caches first, as they are
 * in a model too large for the cache (rmt_bench); tuning always measures
 * hot, so a log never mixes the two.
 */
#include "layer_task.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether layer l belongs to --net: "all", one net's name, or a
 * comma-separated list of names ("vgg16,alexnet"). */
static int in_nets(const char *nets, const cJSON *l) {
  if (!strcmp(nets, "all")) return 1;
  const char *name = layer_str(l, "net");
  size_t n = strlen(name);
  for (const char *p = nets;; p++) {
    size_t len = strcspn(p, ",");
    if (len == n && !strncmp(p, name, n)) return 1;
    p += len;
    if (!*p) return 0;
  }
}

/* One row of the tuning table, from the log's records of a task: the
 * default config's GFLOP/s (the median of its readings, confirmations
 * included) and the best config's (the one a build picks,
 * tune_log_pick), both scaled to the task's reference readings as
 * the tuner ranks them, so that a machine that drifts while a task is
 * tuned, or a task's slow first reading, moves neither; and the wall-clock
 * seconds the measurements cost over every run that wrote them (so a
 * resumed run's table still gives the whole cost). */
typedef struct {
  double def_gflops, seconds;
  tune_figure best; /* the pick: its GFLOP/s, and its slowest and fastest scaled repeat */
} layer_row;

static layer_row row_of(const tune_log *log, const tune_task *t) {
  int def[TUNE_MAX_KNOBS];
  tune_task_default(t, def);
  layer_row row = {0};
  double *g = malloc(((size_t)tune_log_size(log) + 1) * sizeof *g);
  int n = 0;
  for (int i = 0; i < tune_log_size(log); i++) {
    const tune_record *r = tune_log_get(log, i);
    if (strcmp(r->task, t->key)) continue;
    if (!r->confirm) row.seconds += tune_record_cost(r);
    double v = tune_log_throughput(log, r);
    if (v > 0 && !memcmp(r->config, def, (size_t)t->space.n_knobs * sizeof(int))) g[n++] = v;
  }
  if (n) row.def_gflops = tune_median(g, n);
  free(g);
  const tune_record *pick = tune_log_pick(log, t->key, def, t->space.n_knobs);
  if (pick) row.best = tune_log_config_figure(log, pick);
  return row;
}

/* GFLOP/s of config idx measured afresh by m; 0 if it fails. */
static double measure_with(meas_measurer *m, const tune_task *t, const int *idx) {
  tune_record r = {.flops = t->flops};
  tune_measure(m, t, idx, &r);
  if (r.status != MEAS_OK) fprintf(stderr, "tune_layers: %s: %s\n", meas_status_name(r.status), r.message);
  return tune_throughput(&r);
}

/* The measurer options of --eval: th threads, `repeats` repeats of at
 * least min_s seconds, hot or cold. */
static meas_opts eval_opts(int th, double min_s, int repeats, int cold) {
  meas_opts o = meas_defaults();
  o.nthreads = th, o.repeats = repeats, o.min_repeat_ms = min_s * 1e3, o.cold = cold;
  o.timeout_s = 60 + 4 * repeats * min_s;
  return o;
}

/* --eval: one line per layer, see the header. One measurer per thread
 * count (its inputs and OpenBLAS reference are made once) times both the
 * default and the log's best config, the default first unless
 * tuned_first (a caller alternating the two orders over its rounds keeps
 * either from always being measured first). */
static void eval_layer(const cJSON *l, const tune_task *t, const cg_target *tgt, const tune_log *log, double min_s,
                       int repeats, int cold, int only_th, int tuned_first) {
  int def[TUNE_MAX_KNOBS];
  tune_task_default(t, def);
  const tune_record *best = tune_log_pick(log, t->key, def, t->space.n_knobs);
  meas_measurer *m[2] = {NULL, NULL};
  for (int th = 1; th <= 2; th++) {
    if (only_th && th != only_th) continue;
    meas_opts o = eval_opts(th, min_s, repeats, cold);
    chm_err e = {0};
    m[th - 1] = tune_measurer_new(t, tgt, &o, NULL, &e);
  }
  double g[2][2] = {{0}}; /* [default, tuned][thread count - 1] */
  for (int k = 0; k < 2; k++) {
    int which = tuned_first ? 1 - k : k;
    for (int th = 0; th < 2; th++)
      if (m[th] && (which == 0 || best)) g[which][th] = measure_with(m[th], t, which ? best->config : def);
  }
  printf("%s", layer_str(l, "name"));
  for (int th = 0; th < 2; th++)
    if (m[th]) printf("\t%.1f", g[0][th]);
    else printf("\t%s", only_th ? "-" : "0.0");
  for (int th = 0; th < 2; th++)
    if (best && m[th]) printf("\t%.1f", g[1][th]);
    else printf("\t-");
  printf("\t%d\n", tune_log_count(log, t->key));
  fflush(stdout);
  for (int th = 0; th < 2; th++) meas_free(m[th]);
}

enum { MAX_CONFIGS = 16, MAX_ROUNDS = 31 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The optimized IR of config idx, built for nthreads, to path. */
static int write_kernel_ir(const tune_task *t, const cg_target *tgt, const int *idx, int nthreads,
                           const char *path) {
  chm_err e = {0};
  chm_arena *a = chm_arena_new();
  cg_module *mod = cg_module_new(tgt, "kernel", nthreads, &e);
  if (mod) cg_export_kernels(mod);
  int rc = !mod || cg_add_kernel(mod, tune_task_kernel(t, idx, a, "kernel"), &e) || cg_finish(mod, &e) ||
           cg_write_ir(mod, path, &e);
  if (rc) fprintf(stderr, "tune_layers: %s: %s\n", path, e.msg);
  cg_module_free(mod);
  chm_arena_free(a);
  return rc;
}

/* --config: the default and the hand-picked configs of one layer, in
 * alternation, medians over the rounds. */
static int eval_configs(const cJSON *l, const tune_task *t, const cg_target *tgt, char **cfgs, int n_cfgs,
                        int rounds, double min_s, int repeats, int cold, const char *emit) {
  int idx[MAX_CONFIGS + 1][TUNE_MAX_KNOBS];
  tune_task_default(t, idx[0]);
  for (int i = 0; i < n_cfgs; i++) {
    const char *why = tune_task_parse_config(t, cfgs[i], idx[i + 1]);
    if (why) return fprintf(stderr, "tune_layers: --config %s: %s\n", cfgs[i], why), 1;
  }
  for (int i = 0; emit && i <= n_cfgs; i++)
    for (int th = 1; th <= 2; th++) {
      char path[4096];
      snprintf(path, sizeof path, "%s%d-%dt.ll", emit, i, th);
      if (write_kernel_ir(t, tgt, idx[i], th, path)) return 1;
    }
  static double g[2][MAX_CONFIGS + 1][MAX_ROUNDS];
  for (int th = 1; rounds && th <= 2; th++) {
    meas_opts o = eval_opts(th, min_s, repeats, cold);
    chm_err e = {0};
    meas_measurer *m = tune_measurer_new(t, tgt, &o, NULL, &e);
    if (!m) return fprintf(stderr, "tune_layers: %s\n", e.msg), 1;
    for (int r = 0; r < rounds; r++)
      for (int j = 0; j <= n_cfgs; j++) { /* round r starts at config r: none is always first */
        int i = (j + r) % (n_cfgs + 1);
        g[th - 1][i][r] = measure_with(m, t, idx[i]);
      }
    meas_free(m);
  }
  printf("layer\tconfig\t1T\t2T\n");
  for (int i = 0; i <= n_cfgs; i++) {
    printf("%s\t%s", layer_str(l, "name"), i ? cfgs[i - 1] : "default ");
    for (int k = 0; !i && k < t->space.n_knobs; k++) /* the default's values */
      printf("%s%lld", k ? "," : "", (long long)t->space.knobs[k].v[idx[0][k]]);
    for (int th = 0; rounds && th < 2; th++) {
      qsort(g[th][i], (size_t)rounds, sizeof(double), cmp_double);
      printf("\t%.1f", g[th][i][rounds / 2]);
    }
    printf("\n");
  }
  return 0;
}

static void progress(void *ctx, const tune_progress *p) {
  if (*(int *)ctx || (p->done % 50 && p->done != p->budget)) return;
  char name[64];
  tune_task_name(p->task, name, sizeof name);
  fprintf(stderr, "  %-28s %4d/%-4d best %7.1f GFLOP/s (%.0f s)\n", name, p->done, p->budget, p->best_gflops,
          p->elapsed_s);
}

/* Exit status 2: a command-line error at option `at`. */
static int usage(const char *at) {
  fprintf(stderr, "tune_layers: %s: unknown option, missing or bad value\n"
                  "usage: tune_layers LAYERS.json --log FILE [--tuner NAME] [--trials N] [--seed S] "
                  "[--net NAME[,NAME...]|all] [--layer NAME] [--threads T] [--as-build] [-q]\n"
                  "       tune_layers LAYERS.json --log FILE --eval [--net NAME[,NAME...]|all] [--layer NAME] "
                  "[--threads 1|2] [--min-time S] [--repeats N] [--cold] [--tuned-first]\n"
                  "       tune_layers LAYERS.json --log FILE --eval --layer NAME --config V,V,... [--config ...] "
                  "[--rounds R] [--cold] [--emit-llvm PREFIX]\n",
          at);
  return 2;
}

int main(int argc, char **argv) {
  const char *layers = NULL, *logpath = NULL, *tuner = "chameleon", *net = "resnet18", *only = NULL, *emit = NULL;
  int trials = 200, threads = 0, quiet = 0, eval = 0, cold = 0, as_build = 0, repeats = 5, rounds = 5, n_cfgs = 0;
  int tuned_first = 0;
  int seed = 1, bad = 0;
  char *cfgs[MAX_CONFIGS];
  double min_s = 0.2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--log") && v) logpath = argv[++i];
    else if (!strcmp(a, "--tuner") && v) tuner = argv[++i];
    else if (!strcmp(a, "--trials") && v) bad = chm_parse_int(argv[++i], 1, INT_MAX, &trials);
    else if (!strcmp(a, "--seed") && v) bad = chm_parse_int(argv[++i], 0, INT_MAX, &seed);
    else if (!strcmp(a, "--net") && v) net = argv[++i];
    else if (!strcmp(a, "--layer") && v) only = argv[++i];
    else if (!strcmp(a, "--threads") && v) bad = chm_parse_int(argv[++i], 0, INT_MAX, &threads);
    else if (!strcmp(a, "-q")) quiet = 1;
    else if (!strcmp(a, "--eval")) eval = 1;
    else if (!strcmp(a, "--as-build")) as_build = 1;
    else if (!strcmp(a, "--cold")) cold = 1;
    else if (!strcmp(a, "--tuned-first")) tuned_first = 1;
    else if (!strcmp(a, "--min-time") && v) bad = chm_parse_double(argv[++i], DBL_MIN, DBL_MAX, &min_s);
    else if (!strcmp(a, "--repeats") && v) bad = chm_parse_int(argv[++i], 1, INT_MAX, &repeats);
    else if (!strcmp(a, "--rounds") && v) bad = chm_parse_int(argv[++i], 0, INT_MAX, &rounds);
    else if (!strcmp(a, "--emit-llvm") && v) emit = argv[++i];
    else if (!strcmp(a, "--config") && v && n_cfgs < MAX_CONFIGS) cfgs[n_cfgs++] = argv[++i];
    else if (a[0] != '-' && !layers) layers = a;
    else bad = 1;
    if (bad) return usage(a);
  }
  const tune_method *method = tune_method_find(tuner);
  if (!layers || !logpath || !method) {
    fprintf(stderr, "tune_layers: need LAYERS.json, --log and a known --tuner (%s)\n", tune_method_names());
    return 2;
  }
  if (cold && !eval) { /* a log holds hot readings only: cold ones would be compared with them */
    fprintf(stderr, "tune_layers: --cold needs --eval (tuning measures hot)\n");
    return 2;
  }
  chm_err e = {0};
  size_t size;
  char *text = (char *)chm_read_file(layers, &size, &e);
  if (!text) return fprintf(stderr, "tune_layers: %s\n", e.msg), 1;
  text = chm_realloc(text, size + 1);
  text[size] = 0;
  cJSON *root = cJSON_Parse(text);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "layers");
  cg_target tgt;
  if (!cJSON_IsArray(list) || cg_target_init(&tgt, NULL, NULL, &e))
    return fprintf(stderr, "tune_layers: %s: %s\n", layers, e.set ? e.msg : "no \"layers\" array"), 1;
  if (eval && !n_cfgs && threads > 2) {
    fprintf(stderr, "tune_layers: --eval measures at 1 or 2 threads (--threads 1 or 2)\n");
    return 2;
  }
  /* --eval --threads T picks among T's records; tuning on T threads counts T's records (and
   * measures the picks of the others first, tune_log_hints) */
  int log_threads = eval ? threads : tune_machine_of(&tgt, threads).threads;
  tune_log *tl = tune_log_open_for(logpath, tgt.triple, tgt.cpu, log_threads, NULL, NULL, &e);
  if (!tl) return fprintf(stderr, "tune_layers: %s\n", e.msg), 1;

  if (n_cfgs && (!eval || !only || rounds > MAX_ROUNDS)) {
    fprintf(stderr, "tune_layers: --config needs --eval, --layer and 0 <= --rounds <= %d\n", MAX_ROUNDS);
    return 2;
  }
  if (eval && n_cfgs) {
    const cJSON *l;
    int rc = -1;
    cJSON_ArrayForEach(l, list) {
      if (strcmp(layer_str(l, "name"), only)) continue;
      tune_task t;
      layer_task(l, &tgt, threads, &t);
      rc = eval_configs(l, &t, &tgt, cfgs, n_cfgs, rounds, min_s, repeats, cold, emit);
    }
    if (rc < 0) fprintf(stderr, "tune_layers: no layer %s in %s\n", only, layers), rc = 1;
    tune_log_close(tl);
    cJSON_Delete(root);
    free(text);
    return rc;
  }
  if (eval) {
    printf("name\tdef1\tdef2\ttuned1\ttuned2\tmeasurements\n");
    const cJSON *l;
    cJSON_ArrayForEach(l, list) {
      if (!in_nets(net, l)) continue;
      if (only && strcmp(layer_str(l, "name"), only)) continue;
      tune_task t;
      layer_task(l, &tgt, threads, &t);
      eval_layer(l, &t, &tgt, tl, min_s, repeats, cold, threads, tuned_first);
    }
    tune_log_close(tl);
    cJSON_Delete(root);
    free(text);
    return 0;
  }
  meas_opts mo = meas_defaults();
  mo.nthreads = threads;
  tune_session s = {.log = tl, .target = &tgt, .meter = tune_meter_local(&tgt, &mo), .method = method,
                    .seed = seed, .batch = 64, .progress = progress, .progress_ctx = &quiet};
  if (as_build) tune_session_as_build(&s, threads, 1);
  printf("| layer | workload | MFLOP | default GFLOP/s | %s best GFLOP/s (min-max) | speedup | measurements | seconds |\n",
         tuner);
  printf("|---|---|--:|--:|--:|--:|--:|--:|\n");
  double logsum = 0;
  int n = 0, seen = 0, idx = -1;
  const cJSON *l;
  cJSON_ArrayForEach(l, list) {
    if (!in_nets(net, l)) continue;
    idx++; /* the task's place in the net seeds its tuner, with or without --layer */
    if (only && strcmp(layer_str(l, "name"), only)) continue;
    tune_task t;
    layer_task(l, &tgt, threads, &t);
    t.uses = 1;
    seen++;
    if (tune_task_run(&s, &t, trials, idx, 0, &e)) return fprintf(stderr, "tune_layers: %s\n", e.msg), 1;
    layer_row row = row_of(tl, &t);
    double d = row.def_gflops, b = row.best.gflops;
    char name[64];
    tune_task_name(&t, name, sizeof name);
    printf("| %s | %s | %.1f | %.1f | %.1f (%.1f-%.1f) | %.2f | %d | %.0f |\n", layer_str(l, "name"), name, t.flops / 1e6,
           d, b, row.best.lo, row.best.hi, d > 0 ? b / d : 0, tune_log_count(tl, t.key), row.seconds);
    fflush(stdout);
    if (d > 0 && b > 0) logsum += log(b / d), n++;
  }
  if (n) printf("| geomean | | | | | %.2f | | |\n", exp(logsum / n));
  if (!seen)
    fprintf(stderr, "tune_layers: %s: no layer of net %s%s%s\n", layers, net, only ? " named " : "", only ? only : "");
  tune_meter_free(s.meter);
  tune_log_close(tl);
  cJSON_Delete(root);
  free(text);
  return seen ? 0 : 1;
}
