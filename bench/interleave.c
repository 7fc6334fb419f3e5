/*
 * interleave.c — how much the interleaved reference timing steadies the
 * readings of one config, and what it costs.
 *
 *   interleave [--rounds N] [--threads T] [--load] [--layer C,H,K,k,s,p] [--config I,I,...]
 *
 * One convolution layer (ResNet-18's L8 by default: 256 -> 256 channels,
 * 14 x 14, 3 x 3; a plain NCHW input when C is not a multiple of the
 * vector lanes, as a first layer is lowered), one config (a fixed valid
 * non-default config, or --config: option indices, as a log's records
 * hold them), measured
 * N times (30) by two measurers in alternation: one times it alone, as
 * before; the other beside the reference kernel (the task's default
 * config), as the tuner now does. With --load a burner process (one
 * thread, not pinned) spins and sleeps in turns of 0.5 to 2 s (seeded), so
 * that the machine's speed changes between and during measurements.
 * Prints, as GFLOP/s: the median, min-max and interquartile range of the
 * plain readings (alone), of the candidate's plain readings beside the
 * reference, and of the ratio scaled by the median reference time (what
 * the tuner ranks by); then the measuring time per candidate with and
 * without the reference, against the candidate's build time.
 */
#include "layer_task.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ROUNDS = 1000 };

typedef struct series {
  const char *name; /* what was read */
  double v[MAX_ROUNDS]; /* seconds per run, one per round */
  int n;
} series;

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of sorted v[n] (linear between neighbours). */
static double quantile(const double *v, int n, double q) {
  double k = q * (n - 1);
  int i = (int)k;
  return i + 1 < n ? v[i] + (k - i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* One line: median, min-max and IQR of s, as GFLOP/s of flops. */
static void print_series(const series *s, double flops) {
  double v[MAX_ROUNDS];
  memcpy(v, s->v, (size_t)s->n * sizeof v[0]);
  qsort(v, (size_t)s->n, sizeof v[0], cmp);
  double g = flops / 1e9, med = quantile(v, s->n, 0.5);
  double q1 = quantile(v, s->n, 0.25), q3 = quantile(v, s->n, 0.75);
  printf("| %s | %d | %.1f | %.1f-%.1f | %.1f-%.1f | %.1f%% | %.1f%% |\n", s->name, s->n, g / med, g / v[s->n - 1],
         g / v[0], g / q3, g / q1, 100 * (v[s->n - 1] - v[0]) / med, 100 * (q3 - q1) / med);
}

static void sleep_ms(int ms) { nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL); }

/* Spins and sleeps in turns of 0.5 to 2 s until its parent dies. */
static _Noreturn void burner(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  unsigned seed = 4242;
  volatile double sink = 0;
  for (;;) {
    seed = seed * 1103515245u + 12345u;
    double end = chm_now() + 0.5 + (seed >> 16) % 1500 / 1000.0;
    while (chm_now() < end)
      for (int i = 0; i < 100000; i++) sink += i;
    seed = seed * 1103515245u + 12345u;
    sleep_ms(500 + (int)(seed >> 16) % 1500);
  }
}

static double median(double *v, int n) { return tune_median(v, n); }

int main(int argc, char **argv) {
  int rounds = 30, threads = 1, load = 0;
  int shape[6] = {256, 14, 256, 3, 1, 1}; /* C, H, K, k, s, p */
  const char *config = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--load")) load = 1;
    else if (!strcmp(argv[i], "--layer") && i + 1 < argc) layer_square_parse(argv[++i], shape);
    else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
    else
      return fprintf(stderr, "usage: interleave [--rounds N] [--threads T] [--load] [--layer C,H,K,k,s,p] "
                             "[--config I,I,...]\n"), 2;
  }
  if (rounds < 3 || rounds > MAX_ROUNDS) return fprintf(stderr, "interleave: --rounds 3 to %d\n", MAX_ROUNDS), 2;
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  tune_task t;
  layer_square_task(&tgt, shape, threads, &t);
  meas_opts o = meas_defaults();
  o.nthreads = threads;
  meas_measurer *alone = tune_measurer_new(&t, &tgt, &o, NULL, &e), *beside = tune_measurer_new(&t, &tgt, &o, NULL, &e);
  if (!alone || !beside) return fprintf(stderr, "%s\n", e.msg), 1;
  int def[TUNE_MAX_KNOBS], idx[TUNE_MAX_KNOBS];
  tune_task_default(&t, def);
  unsigned rng = 99;
  if (config) {
    const char *why = layer_config_indices(&t, config, idx);
    if (why) return fprintf(stderr, "interleave: --config %s: %s\n", config, why), 2;
  } else {
    do tune_random_valid(&t, &rng, idx);
    while (!memcmp(idx, def, sizeof def));
  }
  chm_arena *a = chm_arena_new();
  if (meas_set_reference(beside, tune_task_kernel(&t, def, a, "candidate"), &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  meas_built *cand = meas_build(alone, tune_task_kernel(&t, idx, a, "candidate"));
  meas_built *cand2 = meas_build(beside, tune_task_kernel(&t, idx, a, "candidate"));
  double compile_s = 0;
  pid_t pid = load ? fork() : 0;
  if (load && pid == 0) burner();
  static series plain = {.name = "alone: plain readings"},
                cand_beside = {.name = "beside the reference: the candidate's plain readings"},
                ratio = {.name = "beside the reference: ratio x median reference time"};
  double refs[MAX_ROUNDS], ratios[MAX_ROUNDS], run_alone = 0, run_beside = 0;
  for (int r = 0; r < rounds; r++) {
    meas_result ra, rb;
    for (int j = 0; j < 2; j++) /* in alternation: half the rounds alone first */
      if ((r + j) % 2) meas_run(alone, cand, &ra);
      else meas_run(beside, cand2, &rb);
    if (ra.status != MEAS_OK || rb.status != MEAS_OK || rb.n_ref != rb.n_times)
      return fprintf(stderr, "interleave: %s %s / %s %s\n", meas_status_name(ra.status), ra.message,
                     meas_status_name(rb.status), rb.message), 1;
    compile_s = ra.compile_s;
    run_alone += ra.run_s, run_beside += rb.run_s;
    plain.v[plain.n++] = median(ra.times, ra.n_times);
    cand_beside.v[cand_beside.n++] = median(rb.times, rb.n_times);
    double q[MEAS_MAX_REPEATS];
    for (int i = 0; i < rb.n_times; i++) q[i] = rb.times[i] / rb.ref_times[i];
    ratios[r] = median(q, rb.n_times);
    refs[r] = median(rb.ref_times, rb.n_ref);
    fprintf(stderr, "round %d: alone %.3f ms, beside %.3f ms, reference %.3f ms, ratio %.3f\n", r,
            plain.v[r] * 1e3, cand_beside.v[r] * 1e3, refs[r] * 1e3, ratios[r]);
  }
  if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
  double tref = median(memcpy((double[MAX_ROUNDS]){0}, refs, sizeof refs), rounds);
  for (int r = 0; r < rounds; r++) ratio.v[ratio.n++] = ratios[r] * tref;
  char name[64];
  tune_task_name(&t, name, sizeof name);
  printf("%s, %d thread%s, %d rounds%s, config %lld (default %lld), %d repeats of %.0f ms\n\n", name, threads,
         threads == 1 ? "" : "s", rounds, load ? ", a burner spinning and sleeping in turns of 0.5-2 s" : "",
         (long long)tune_space_index(&t.space, idx), (long long)tune_space_index(&t.space, def), o.repeats,
         o.min_repeat_ms);
  printf("| readings | n | median GFLOP/s | min-max | IQR | (max-min)/median | IQR/median |\n");
  printf("|---|--:|--:|--:|--:|--:|--:|\n");
  print_series(&plain, t.flops);
  print_series(&cand_beside, t.flops);
  print_series(&ratio, t.flops);
  printf("\nmeasuring per candidate (fork, check, warm-up, timing): %.3f s alone, %.3f s beside the reference "
         "(+%.0f%%); its build: %.3f s (compile on one core)\n", run_alone / rounds, run_beside / rounds,
         100 * (run_beside / run_alone - 1), compile_s);
  meas_built_free(cand), meas_built_free(cand2);
  chm_arena_free(a);
  meas_free(alone), meas_free(beside);
  return 0;
}
