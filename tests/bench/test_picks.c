/*
 * test_picks.c — tests of bench/tune_picks's arithmetic. Writes three runs
 * of one dense task as tuning logs, with readings and costs chosen so that
 * every column of tune_picks's table can be worked out by hand, runs
 * `tune_picks --rounds 0` on them (nothing timed: a config's value is its
 * readings' median, so the output follows from the logs) and checks the
 * rows and the summary. Usage: test_picks NAME TUNE_PICKS SCRATCH_DIR, NAME
 * one of: default (every measurement counts), scratch (--from-scratch).
 *
 * The runs (measurement m: config, GFLOP/s; every other measurement is a
 * config of its own at the run's filler GFLOP/s, below the default's 100):
 *   log 1, autotvm,   800 measurements of 1 s:   m1 c0 100, m150 c1 150, m300 c3 200 (filler 50)
 *   log 2, chameleon, 400 measurements of 0.5 s: m1 c0 100, m20 c4 197,  m100 c3 200 (filler 40)
 *   log 3, chameleon, 800 measurements of 1 s:   m1 c0 100, m200 c3 200 (filler 45)
 * Target: autotvm's final pick, c3 = 200; 98% of it is 196, which c4 reaches.
 */
#include "chamcc/cg.h"
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

static const char *scratch;
static cg_target tgt;
static tune_task task;

typedef struct hit {
  int at, cfg;   /* measurement m (1-based), named config c<cfg> */
  double gflops; /* its reading */
} hit;

static char *path_of(const char *name) {
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ % 4];
  snprintf(p, 1024, "%s/%s", scratch, name);
  return p;
}

/* Writes one run as the log `name` (replacing it). Named config c is
 * {c, 0}; the filler of measurement m is {m % 50, 1 + m / 50 + 17 * run},
 * a config of its own in every run. */
static void write_run(const char *name, int run, const char *tuner, int n, double cost, double filler,
                      const hit *hits, int n_hits) {
  chm_err e = {0};
  remove(path_of(name));
  tune_log *l = tune_log_open(path_of(name), tgt.triple, tgt.cpu, NULL, NULL, &e);
  if (!l) fprintf(stderr, "%s\n", e.msg), exit(2);
  for (int m = 1; m <= n; m++) {
    tune_record r = {.flops = task.flops, .n_config = task.space.n_knobs, .n_times = 1, .status = MEAS_OK,
                     .compile_s = cost};
    snprintf(r.task, sizeof r.task, "%s", task.key);
    snprintf(r.tuner, sizeof r.tuner, "%s", tuner);
    double g = filler;
    r.config[0] = m % 50, r.config[1] = 1 + m / 50 + 17 * run;
    for (int h = 0; h < n_hits; h++)
      if (hits[h].at == m) r.config[0] = hits[h].cfg, r.config[1] = 0, g = hits[h].gflops;
    r.times[0] = task.flops / (g * 1e9);
    CHECK(tune_log_append(l, &r, &e) == 0, "%s: %s", name, e.msg);
  }
  tune_log_close(l);
}

/* Runs the shell command cmd; returns its stdout, its exit status in *status. */
static char *capture(const char *cmd, int *status) {
  FILE *p = popen(cmd, "r");
  if (!p) perror("popen"), exit(2);
  char *out = NULL;
  size_t size = 0;
  FILE *m = open_memstream(&out, &size);
  char buf[4096];
  for (size_t k; (k = fread(buf, 1, sizeof buf, p)) > 0;) fwrite(buf, 1, k, m);
  fclose(m);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

/* Runs tune_picks with `opts` on the three logs; returns its stdout, its
 * exit status in *status. */
static char *run_picks(const char *tune_picks, const char *opts, int *status) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s '%s' '%s' '%s'", tune_picks, opts, path_of("autotvm-s1.jsonl"),
           path_of("chameleon-s1.jsonl"), path_of("chameleon-s2.jsonl"));
  return capture(cmd, status);
}

/* The row of one run: "| KEY | " then the rest. */
static char *row(const char *rest) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "| %s | %s", task.key, rest);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: test_picks NAME TUNE_PICKS SCRATCH_DIR\n"), 2;
  const char *name = argv[1], *tune_picks = argv[2];
  scratch = argv[3];
  chm_err e = {0};
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "%s\n", e.msg), 2;
  tune_task_init_dense(&task, &(tpl_dense){1, 512, 1000, 0, tgt.lanes, {0}, tgt.vregs});
  CHECK(task.space.n_knobs >= 2, "the fillers' configs need two knobs");

  const hit autotvm[] = {{1, 0, 100}, {150, 1, 150}, {300, 3, 200}};
  const hit cham1[] = {{1, 0, 100}, {20, 4, 197}, {100, 3, 200}};
  const hit cham2[] = {{1, 0, 100}, {200, 3, 200}};
  write_run("autotvm-s1.jsonl", 0, "autotvm", 800, 1.0, 50, autotvm, 3);
  write_run("chameleon-s1.jsonl", 1, "chameleon", 400, 0.5, 40, cham1, 3);
  write_run("chameleon-s2.jsonl", 2, "chameleon", 800, 1.0, 45, cham2, 2);

  if (!strcmp(name, "default")) {
    /* Seconds to the target: autotvm 300, chameleon's median (50 + 200) / 2
     * = 125, so 2.40x; to 98%: 300 and (10 + 200) / 2 = 105, 2.86x. At 200
     * measurements autotvm's pick is c1 (150), chameleon's c3 (200): 1.333;
     * at 800 chameleon's median is over log 3 alone (log 2 is shorter). */
    int status;
    char *out = run_picks(tune_picks, "--rounds 0", &status);
    CHECK(status == 0, "tune_picks --rounds 0: status %d", status);
    const char *want[] = {
        row("autotvm | 1 | 800 | 3 | 200.0 | 200.0 | 300 | 300.0 | 300 | 300.0 | 150.0 | 200.0 | 200.0 |\n"),
        row("chameleon | 2 | 400 | 3 | 200.0 | 200.0 | 100 | 50.0 | 20 | 10.0 | 200.0 | 200.0 | — |\n"),
        row("chameleon | 3 | 800 | 2 | 200.0 | 200.0 | 200 | 200.0 | 200 | 200.0 | 200.0 | 200.0 | 200.0 |\n"),
        "| autotvm | 1.00 (1) | 1.00 (1) | 1.00 (1) | 1.000 (1) | 1.000 (1) | 1.000 (1) |\n",
        "| chameleon | 2.40 (1) | 2.86 (1) | 2.40 (1) | 1.333 (1) | 1.000 (1) | 1.000 (1) |\n",
        "Nothing timed (--rounds 0)",
    };
    check_contains(out, want, sizeof want / sizeof want[0]);
    CHECK(!strstr(out, "From scratch"));
    free(out);
    /* A round count or tolerance that is not a number is a usage error, not 0. */
    free(run_picks(tune_picks, "--rounds x", &status));
    CHECK(status == 2, "tune_picks --rounds x: status %d", status);
    free(run_picks(tune_picks, "--rounds 0 --tolerance x", &status));
    CHECK(status == 2, "tune_picks --tolerance x: status %d", status);
    /* A log that does not exist is an error that names it, and is not created. */
    const char *missing = path_of("missing.jsonl");
    remove(missing);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --rounds 0 '%s' 2>&1", tune_picks, missing);
    out = capture(cmd, &status);
    CHECK(status == 1 && strstr(out, missing) && strstr(out, "No such file"), "missing log: status %d: %s", status,
          out);
    CHECK(access(missing, F_OK) != 0, "tune_picks created %s", missing);
    free(out);
  } else if (!strcmp(name, "scratch")) {
    /* Each run's m1 is left out: its first pick is its filler at m2, and
     * its seconds start at m2 (autotvm reaches c3 after 299 s, chameleon's
     * runs after 49.5 and 199: median 124.25, 2.41x; to 98%: 9.5 and 199,
     * median 104.25, 2.87x). Measurements keep their place in the log. */
    int status;
    char *out = run_picks(tune_picks, "--rounds 0 --from-scratch", &status);
    CHECK(status == 0, "tune_picks --rounds 0 --from-scratch: status %d", status);
    const char *want[] = {
        row("autotvm | 1 | 800 | 3 | 200.0 | 200.0 | 300 | 299.0 | 300 | 299.0 | 150.0 | 200.0 | 200.0 |\n"),
        row("chameleon | 2 | 400 | 3 | 200.0 | 200.0 | 100 | 49.5 | 20 | 9.5 | 200.0 | 200.0 | — |\n"),
        row("chameleon | 3 | 800 | 2 | 200.0 | 200.0 | 200 | 199.0 | 200 | 199.0 | 200.0 | 200.0 | 200.0 |\n"),
        "| autotvm | 1.00 (1) | 1.00 (1) | 1.00 (1) | 1.000 (1) | 1.000 (1) | 1.000 (1) |\n",
        "| chameleon | 2.41 (1) | 2.87 (1) | 2.41 (1) | 1.333 (1) | 1.000 (1) | 1.000 (1) |\n",
        "From scratch: each run's first measurement (the default config) is left out.",
    };
    check_contains(out, want, sizeof want / sizeof want[0]);
    free(out);
  } else {
    return fprintf(stderr, "test_picks: unknown test '%s'\n", name), 2;
  }
  return failures != 0;
}
