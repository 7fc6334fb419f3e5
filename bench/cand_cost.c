/*
 * cand_cost.c — where a tuning candidate's time goes: lowering, LLVM IR
 * emission, the optimization pipeline, the JIT's code generation, and the
 * check and timing in the measuring child, each in CPU seconds (a loaded
 * machine disturbs CPU time less than wall time).
 *
 *   cand_cost [--n N] [--seed S] [--threads T] [--build-only | --distinct-only] [--asm PREFIX] KEY...
 *
 * KEY is a task key as `chamcc tune MODEL --list-tasks` prints it (e.g.
 * "conv2d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p1x1").
 * For each, N random valid configs (seeded) go through the stages one
 * after the other on one thread, as meas_build does them, with the thread's
 * CPU clock read between stages; then each is measured as the tuner does
 * (meas_build, meas_run with the default timing), with the measuring
 * child's CPU time from getrusage. It prints one row per stage: CPU
 * milliseconds per candidate and the share of the total.
 * CHAMCC_LLVM_ARGS=-time-passes adds LLVM's own per-pass report.
 *
 * It also says how many of the configs lower to distinct kernels (equal
 * ir_kernel_text), which is what a cache of built kernels could save;
 * --distinct-only stops there. --build-only skips the measuring. --asm PREFIX also writes each config's
 * assembly to PREFIXk-i.s (key k, config i) and its unoptimized LLVM IR to
 * PREFIXk-i.s.ll: two chamcc builds' files, compared after dropping
 * comments, tell whether a change to the back end changed any code.
 */
#include "chamcc/tune.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { ST_LOWER, ST_EMIT, ST_OPT, ST_JIT, ST_CODEGEN, ST_RUN_PARENT, ST_RUN_CHILD, N_STAGES };

static const char *const stage_names[N_STAGES] = {
    "lower (tune_task_kernel)",      "emit IR (cg_module_new, cg_add_kernel)", "verify + passes (cg_finish)",
    "JIT setup (cg_jit_new)",        "codegen + link (cg_jit_lookup)",         "measure, parent (fork, wait)",
    "measure, child (check, time)"};

static const char *asm_prefix; /* --asm: where the assembly goes */
static int key_no;             /* the key being profiled */
static int build_only;         /* --build-only: no measuring */
static int distinct_only;      /* --distinct-only: count distinct kernels, build nothing */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double children_cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_CHILDREN, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* One candidate through the build stages, adding each stage's CPU seconds. */
static void build_stages(const tune_task *t, const cg_target *tgt, int nthreads, const int *idx, double *sum) {
  chm_err e = {0};
  chm_arena *a = chm_arena_new();
  double c0 = cpu_now();
  ir_kernel *k = tune_task_kernel(t, idx, a, "candidate");
  double c1 = cpu_now();
  cg_module *mod = cg_module_new(tgt, "candidate", nthreads, &e);
  cg_export_kernels(mod);
  int bad = cg_add_kernel(mod, k, &e);
  double c2 = cpu_now();
  bad = bad || cg_finish(mod, &e);
  double c3 = cpu_now();
  cg_jit *j = bad ? NULL : cg_jit_new(mod, &e);
  double c4 = cpu_now();
  if (j && !cg_jit_lookup(j, "candidate", &e)) bad = 1;
  double c5 = cpu_now();
  if (bad || !j) fprintf(stderr, "cand_cost: build failed: %s\n", e.msg);
  cg_jit_free(j);
  cg_module_free(mod);
  chm_arena_free(a);
  sum[ST_LOWER] += c1 - c0, sum[ST_EMIT] += c2 - c1, sum[ST_OPT] += c3 - c2;
  sum[ST_JIT] += c4 - c3, sum[ST_CODEGEN] += c5 - c4;
}

/* One candidate measured as the tuner does; returns its status. */
static int measure_stage(meas_measurer *m, const tune_task *t, const int *idx, double *sum) {
  chm_arena *a = chm_arena_new();
  meas_built *b = meas_build(m, tune_task_kernel(t, idx, a, "candidate"));
  meas_result r;
  double c0 = cpu_now(), k0 = children_cpu();
  meas_run(m, b, &r);
  sum[ST_RUN_PARENT] += cpu_now() - c0;
  sum[ST_RUN_CHILD] += children_cpu() - k0;
  meas_built_free(b);
  chm_arena_free(a);
  return r.status;
}

/* The assembly of config idx (as an object would hold it) to PATH, and the
 * LLVM IR before optimization to PATH.ll. */
static void write_asm(const tune_task *t, const cg_target *tgt, int nthreads, const int *idx, const char *path) {
  chm_err e = {0};
  chm_arena *a = chm_arena_new();
  cg_module *mod = cg_module_new(tgt, "candidate", nthreads, &e);
  cg_export_kernels(mod);
  char *text = NULL, ll[4200];
  snprintf(ll, sizeof ll, "%.4000s.ll", path);
  if (!cg_add_kernel(mod, tune_task_kernel(t, idx, a, "candidate"), &e) && !cg_write_ir(mod, ll, &e) &&
      !cg_finish(mod, &e))
    text = cg_emit_assembly(mod, &e);
  FILE *f = fopen(path, "w");
  if (f) fputs(text ? text : e.msg, f), fclose(f);
  free(text);
  cg_module_free(mod);
  chm_arena_free(a);
}

/* How many of the n configs lower to distinct kernels (by their IR text). */
static int distinct_kernels(const tune_task *t, int (*cfg)[TUNE_MAX_KNOBS], int n) {
  char **text = chm_calloc((size_t)n, sizeof *text);
  int distinct = 0;
  for (int i = 0; i < n; i++) {
    chm_arena *a = chm_arena_new();
    text[i] = ir_kernel_text(tune_task_kernel(t, cfg[i], a, "candidate"));
    chm_arena_free(a);
    int dup = 0;
    for (int j = 0; j < i && !dup; j++) dup = !strcmp(text[i], text[j]);
    distinct += !dup;
  }
  for (int i = 0; i < n; i++) free(text[i]);
  free(text);
  return distinct;
}

static int profile(const char *key, const cg_target *tgt, int n, unsigned seed, int threads, double *sum) {
  tune_task t;
  tune_machine mach = tune_machine_of(tgt, threads);
  if (tune_task_from_key(key, tgt->vregs, &mach, &t))
    return fprintf(stderr, "cand_cost: bad task key '%s'\n", key), -1;
  int(*cfg)[TUNE_MAX_KNOBS] = chm_calloc((size_t)n, sizeof *cfg);
  int got = 0; /* distinct configs, as a tuner proposes them */
  for (int tries = 0; got < n && tries < 100 * n; tries++) {
    if (!tune_random_valid(&t, &seed, cfg[got])) break;
    int dup = 0;
    for (int j = 0; j < got && !dup; j++) dup = !memcmp(cfg[j], cfg[got], sizeof cfg[j]);
    got += !dup;
  }
  if (!got) return fprintf(stderr, "cand_cost: no valid config\n"), -1;
  n = got;
  printf("%s: %d random configs, %d distinct kernels\n", key, n, distinct_kernels(&t, cfg, n));
  if (distinct_only) return free(cfg), 0;
  for (int i = 0; i < n; i++) build_stages(&t, tgt, threads, cfg[i], sum);
  for (int i = 0; asm_prefix && i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s%d-%d.s", asm_prefix, key_no, i);
    write_asm(&t, tgt, threads, cfg[i], path);
  }
  key_no++;
  if (build_only) return free(cfg), 0;
  meas_opts o = meas_defaults();
  o.nthreads = threads;
  chm_err e = {0};
  meas_measurer *m = tune_measurer_new(&t, tgt, &o, NULL, &e);
  if (!m) return fprintf(stderr, "cand_cost: %s\n", e.msg), -1;
  int ok = 0;
  for (int i = 0; i < n; i++) ok += measure_stage(m, &t, cfg[i], sum) == MEAS_OK;
  printf("%s: %d configs, %d ok\n", key, n, ok);
  meas_free(m);
  free(cfg);
  return 0;
}

int main(int argc, char **argv) {
  int n = 20, seed = 1, threads = 0, n_keys = 0, bad = 0;
  const char *keys[256];
  for (int i = 1; i < argc && !bad; i++) {
    int v = i + 1 < argc;
    if (!strcmp(argv[i], "--n") && v) bad = chm_parse_int(argv[++i], 1, 100000, &n);
    else if (!strcmp(argv[i], "--seed") && v) bad = chm_parse_int(argv[++i], 0, INT_MAX, &seed);
    else if (!strcmp(argv[i], "--threads") && v) bad = chm_parse_int(argv[++i], 0, 1024, &threads);
    else if (!strcmp(argv[i], "--asm") && v) asm_prefix = argv[++i];
    else if (!strcmp(argv[i], "--build-only")) build_only = 1;
    else if (!strcmp(argv[i], "--distinct-only")) distinct_only = 1;
    else if (argv[i][0] != '-' && n_keys < 256) keys[n_keys++] = argv[i];
    else bad = 1;
  }
  if (bad || !n_keys)
    return fprintf(stderr, "usage: cand_cost [--n N] [--seed S] [--threads T] [--build-only | --distinct-only] [--asm PREFIX] KEY...\n"), 2;
  cg_target tgt;
  chm_err e = {0};
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "cand_cost: %s\n", e.msg), 1;
  double sum[N_STAGES] = {0}, total = 0;
  for (int k = 0; k < n_keys; k++)
    if (profile(keys[k], &tgt, n, (unsigned)seed + (unsigned)k, threads, sum)) return 1;
  for (int s = 0; s < N_STAGES; s++) total += sum[s];
  int cands = n * n_keys; /* at most: a small space may have fewer configs */
  printf("| stage | CPU ms per candidate | share |\n|---|--:|--:|\n");
  for (int s = 0; s < N_STAGES; s++)
    printf("| %s | %.1f | %.0f%% |\n", stage_names[s], 1e3 * sum[s] / cands, 100 * sum[s] / total);
  printf("| total | %.1f | |\n", 1e3 * total / cands);
  return 0;
}
