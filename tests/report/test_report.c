/*
 * test_report.c — tests of driver/report.c. Each test writes small tuning
 * logs as JSON lines by hand, runs tune_report, and checks the markdown
 * table against hand-computed numbers and the SVG for balanced tags and the
 * expected numbers of panels and curves (and with `xmllint --noout` when it
 * is installed). Usage: test_report NAME SCRATCH_DIR.
 */
#include "chamcc/tune.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
static const char *scratch;
static int scratch_mode; /* report(): from_scratch */


/* ---- writing logs ---- */

static char *path_of(const char *name) {
  static char buf[32][1024]; /* a ring: the last 32 paths stay valid */
  static int k;
  char *p = buf[k++ % 32];
  snprintf(p, 1024, "%s/%s", scratch, name);
  return p;
}

static FILE *log_new(const char *name) {
  FILE *f = fopen(path_of(name), "w");
  if (!f) perror(name), exit(2);
  return f;
}

/* One measurement. times: "[0.01]" or "[]"; cpu NULL = "skx". */
static void rec(FILE *f, const char *task, double flops, const char *tuner, const char *times,
                const char *status, double compile_s, double run_s, const char *cpu) {
  static int stamp;
  fprintf(f,
          "{\"version\":1,\"target\":\"x86_64-linux-gnu\",\"cpu\":\"%s\",\"task\":\"%s\",\"flops\":%g,"
          "\"config\":[%d,0],\"tuner\":\"%s\",\"times\":%s,\"status\":\"%s\",\"message\":\"\","
          "\"timestamp\":%d,\"compile_s\":%g,\"run_s\":%g}\n",
          cpu ? cpu : "skx", task, flops, stamp % 50, tuner, times, status, 1700000000 + stamp, compile_s,
          run_s);
  stamp++;
}

/* Runs tune_report; returns its status, the table text in *table. */
static int report(const char **logs, int n, const char *svg, char **table, chm_err *e) {
  size_t size;
  FILE *t = open_memstream(table, &size);
  int rc = tune_report(logs, n, scratch_mode, svg, t, e);
  fclose(t);
  return rc;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *s = malloc((size_t)n + 1);
  s[fread(s, 1, (size_t)n, f)] = 0;
  fclose(f);
  return s;
}

static int count(const char *s, const char *needle) {
  int k = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) k++;
  return k;
}

/* ---- SVG well-formedness: every tag closed in order ---- */

static int balanced(const char *s) {
  char stack[64][32];
  int depth = 0;
  for (const char *p = s; (p = strchr(p, '<')); p++) {
    if (p[1] == '?' || p[1] == '!') continue;
    const char *end = strchr(p, '>');
    if (!end) return 0;
    int closing = p[1] == '/', self = end[-1] == '/';
    const char *name = p + 1 + closing;
    size_t len = strcspn(name, " />\n");
    if (len == 0 || len >= 32) return 0;
    if (closing) {
      if (!depth || strncmp(stack[depth - 1], name, len) || stack[depth - 1][len]) return 0;
      depth--;
    } else if (!self) {
      if (depth == 64) return 0;
      memcpy(stack[depth], name, len);
      stack[depth++][len] = 0;
    }
    if (memchr(p + 1, '<', (size_t)(end - p - 1))) return 0; /* '<' inside a tag */
  }
  return depth == 0;
}

static void check_xmllint(const char *svg) {
  if (system("command -v xmllint >/dev/null 2>&1") != 0) {
    fprintf(stderr, "xmllint not installed: skipping its check\n");
    return;
  }
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", svg);
  CHECK(system(cmd) == 0);
}

/* ---- tests ---- */

/* Two tasks, two tuners, one log, records interleaved. By hand:
 *  A (1e9 flops): sa 100, 0 (compile error), 200 (median of 3), 80 ->
 *    4 meas, best 200; rl 50, 250, 200 -> 3 meas, best 250.
 *    95% of 250 = 237.5: sa never; rl at 2, 1 + 1 = 2 s.
 *  B (2e9): sa 200, 250 -> best 250, 95% at 2 after 0.5 + 0.5 = 1 s;
 *    rl timeout (6 s), 238.095 (>= 237.5) at 2 after 6 + 1 = 7 s, 100.
 *  geomean sa: sqrt(4*2) = 2.8, sqrt(200*250) = 223.61, —, —.
 *  geomean rl: 3, sqrt(250*238.095) = 243.98, 2, sqrt(14) = 3.74.
 *  Spread of a best: its slowest and fastest repeat (sa's 200 on A: 166.67
 *  and 250), geomeans of those in the geomean rows. */
static void test_table(void) {
  FILE *f = log_new("table.log");
  rec(f, "conv2d tA", 1e9, "sa", "[0.01]", "ok", 1, 0.5, NULL);
  rec(f, "conv2d tA", 1e9, "rl", "[0.02]", "ok", 0.5, 0.5, NULL);
  rec(f, "dense tB", 2e9, "sa", "[0.01]", "ok", 0.2, 0.3, NULL);
  rec(f, "conv2d tA", 1e9, "sa", "[]", "compile_error", 2, 0, NULL);
  rec(f, "dense tB", 2e9, "rl", "[]", "timeout", 1, 5, NULL);
  rec(f, "conv2d tA", 1e9, "rl", "[0.004]", "ok", 0.5, 0.5, NULL);
  rec(f, "conv2d tA", 1e9, "sa", "[0.006,0.004,0.005]", "ok", 1, 1, NULL);
  rec(f, "dense tB", 2e9, "sa", "[0.008]", "ok", 0.2, 0.3, NULL);
  rec(f, "dense tB", 2e9, "rl", "[0.0084]", "ok", 0.5, 0.5, NULL);
  rec(f, "conv2d tA", 1e9, "sa", "[0.0125]", "ok", 1, 1, NULL);
  rec(f, "conv2d tA", 1e9, "rl", "[0.005]", "ok", 0.5, 0.5, NULL);
  rec(f, "dense tB", 2e9, "rl", "[0.02]", "ok", 0.5, 0.5, NULL);
  fclose(f);
  const char *logs[] = {path_of("table.log")};
  char *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 1, NULL, &table, &e) == 0);
  const char *want =
      "| task | tuner | runs | measurements | best GFLOP/s | spread | to 95% | seconds to 95% |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|\n"
      "| conv2d tA | sa | 1 | 4 | 200.00 | 166.67–250.00 | — | — |\n"
      "| conv2d tA | rl | 1 | 3 | 250.00 | 250.00–250.00 | 2 | 2.00 |\n"
      "| dense tB | sa | 1 | 2 | 250.00 | 250.00–250.00 | 2 | 1.00 |\n"
      "| dense tB | rl | 1 | 3 | 238.10 | 238.10–238.10 | 2 | 7.00 |\n"
      "| geomean (2 tasks) | sa |  | 2.8 | 223.61 | 204.12–250.00 | — | — |\n"
      "| geomean (2 tasks) | rl |  | 3 | 243.98 | 243.98–243.98 | 2 | 3.74 |\n";
  CHECK(!strncmp(table, want, strlen(want)));
  if (strncmp(table, want, strlen(want))) fprintf(stderr, "got:\n%s\nwant:\n%s", table, want);
  CHECK(!strstr(table, "malformed"));
  free(table);
}

/* Three tasks; "sa" from two logs (two seeds), "rl" from one: per panel two
 * thin sa runs, one sa median, one rl run. */
static void test_svg(void) {
  const char *tasks[] = {"conv2d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p1x1",
                         "dense m1 k512 n1000 ta0 l0", "t<&>\\\"3"};
  FILE *f1 = log_new("seed1.log"), *f2 = log_new("seed2.log");
  for (int t = 0; t < 3; t++)
    for (int i = 0; i < 30; i++) {
      char times[64];
      snprintf(times, sizeof times, "[%g]", 0.001 * (1 + (i * 7 + t) % 11));
      rec(f1, tasks[t], 1e9, "sa", times, i % 5 ? "ok" : "runtime_error", 0.1, 0.1, NULL);
      rec(f1, tasks[t], 1e9, "rl", times, "ok", 0.1, 0.1, NULL);
      snprintf(times, sizeof times, "[%g]", 0.001 * (1 + (i * 5 + t) % 13));
      if (i < 25) rec(f2, tasks[t], 1e9, "sa", times, "ok", 0.1, 0.1, NULL);
    }
  fclose(f1);
  fclose(f2);
  const char *logs[] = {path_of("seed1.log"), path_of("seed2.log")};
  char *svg = path_of("report.svg"), *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 2, svg, &table, &e) == 0);
  char *s = slurp(svg);
  CHECK(s != NULL);
  if (!s) return;
  CHECK(balanced(s));
  CHECK(count(s, "<g class=\"panel\">") == 3);
  CHECK(count(s, "<polyline") == 12);
  CHECK(count(s, "class=\"median\"") == 3);
  CHECK(count(s, "class=\"run\"") == 9);
  CHECK(strstr(s, "t&lt;&amp;&gt;&quot;3") != NULL);
  CHECK(strstr(s, ">conv2d n1 c64 h56 w56 k64 oh56 ow56 r3x3 s1x1 p1x1<") != NULL); /* shortened */
  CHECK(count(s, ">sa</text>") == 1 && count(s, ">rl</text>") == 1); /* one legend */
  check_xmllint(svg);
  /* two sa runs per task: the table shows medians and "2" runs */
  CHECK(count(table, "| sa | 2 |") == 3);
  CHECK(count(table, "| rl | 1 |") == 3);
  free(s);
  free(table);
}

/* Median over runs in the table: three seeds of sa with best 100, 200, 400
 * and 2, 4, 6 measurements. Task best 400, 95% = 380: only seed 3 reaches
 * it, so the median of (inf, inf, 1) is inf. */
static void test_median(void) {
  const char *times[] = {"[0.01]", "[0.005]", "[0.0025]"};
  const char *names[] = {"m1.log", "m2.log", "m3.log"}, *logs[3];
  for (int k = 0; k < 3; k++) {
    FILE *f = log_new(names[k]);
    rec(f, "task", 1e9, "sa", times[k], "ok", 1, 0, NULL);
    for (int i = 1; i < 2 * (k + 1); i++) rec(f, "task", 1e9, "sa", "[1]", "ok", 1, 0, NULL);
    fclose(f);
    logs[k] = path_of(names[k]);
  }
  char *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 3, NULL, &table, &e) == 0);
  CHECK(strstr(table, "| task | sa | 3 | 4 | 200.00 | 100.00–400.00 | — | — |\n") != NULL); /* spread: the runs' bests */
  free(table);
}

/* Two CPUs in one log: one panel per (task, cpu). */
static void test_machines(void) {
  FILE *f = log_new("machines.log");
  rec(f, "task", 1e9, "sa", "[0.01]", "ok", 1, 0, "skx");
  rec(f, "task", 1e9, "sa", "[0.02]", "ok", 1, 0, "zen4");
  fclose(f);
  const char *logs[] = {path_of("machines.log")};
  char *svg = path_of("machines.svg"), *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 1, svg, &table, &e) == 0);
  char *s = slurp(svg);
  CHECK(s && count(s, "<g class=\"panel\">") == 2 && balanced(s));
  CHECK(strstr(table, "| task @ skx | sa | 1 | 1 | 100.00 | 100.00–100.00 | 1 | 1.00 |") != NULL);
  CHECK(strstr(table, "| task @ zen4 | sa | 1 | 1 | 50.00 | 50.00–50.00 | 1 | 1.00 |") != NULL);
  free(s);
  free(table);
}

/* Records timed beside a reference are ranked by their ratio to it, on
 * the panel's reference time, each machine its own: on skx the second
 * config read 0.01 s beside a reference of 0.02 s (the machine was slow),
 * the first 0.008 s beside 0.008 s; the panel's reference time is 0.014 s,
 * so they are 0.007 s (142.86 GFLOP/s) and 0.014 s: the second is the best.
 * On zen4 (reference 0.002 s) the one record is its plain 0.004 s. */
static void test_reference(void) {
  FILE *f = log_new("reference.log");
  rec(f, "task", 1e9, "sa", "[0.008],\"ref_times\":[0.008]", "ok", 1, 0, "skx");
  rec(f, "task", 1e9, "sa", "[0.01,0.01,0.01],\"ref_times\":[0.02,0.02,0.01]", "ok", 1, 0, "skx");
  rec(f, "task", 1e9, "sa", "[0.004],\"ref_times\":[0.002]", "ok", 1, 0, "zen4");
  fclose(f);
  const char *logs[] = {path_of("reference.log")};
  char *table = NULL, *s = NULL;
  chm_err e = {0};
  CHECK(report(logs, 1, NULL, &table, &e) == 0, "%s", e.msg);
  if (!table) return;
  printf("%s", table);
  CHECK(strstr(table, "| task @ skx | sa | 1 | 2 | 142.86 | 71.43–142.86 | 2 | 2.00 |") != NULL);
  CHECK(strstr(table, "| task @ zen4 | sa | 1 | 1 | 250.00 | 250.00–250.00 | 1 | 1.00 |") != NULL);
  free(s);
  free(table);
}

/* A missing log, an empty log, malformed lines. */
static void test_errors(void) {
  const char *missing[] = {path_of("nope.log")};
  char *table = NULL;
  chm_err e = {0};
  CHECK(report(missing, 1, NULL, &table, &e) == -1);
  CHECK(strstr(e.msg, "nope.log") != NULL);
  free(table);
  FILE *f = log_new("empty.log");
  fclose(f);
  const char *empty[] = {path_of("empty.log")};
  chm_err e2 = {0};
  CHECK(report(empty, 1, NULL, &table, &e2) == -1 && strstr(e2.msg, "no measurements"));
  free(table);
  f = log_new("bad.log");
  fputs("not json\n", f);
  rec(f, "task", 1e9, "sa", "[0.01]", "ok", 1, 0, NULL);
  fputs("{\"version\":1}\n", f);
  fclose(f);
  const char *bad[] = {path_of("bad.log")};
  chm_err e3 = {0};
  CHECK(report(bad, 1, NULL, &table, &e3) == 0);
  CHECK(strstr(table, "2 malformed log lines skipped") != NULL);
  free(table);
  chm_err e4 = {0};
  CHECK(tune_report(bad, 0, 0, NULL, NULL, &e4) == -1);
  const char *svgdir[] = {path_of("bad.log")};
  chm_err e5 = {0};
  CHECK(tune_report(svgdir, 1, 0, path_of("no/such/dir.svg"), NULL, &e5) == -1 && strstr(e5.msg, "dir.svg"));
}

/* One measurement with the wall-clock parts (build_s, fit_s, opt_s). */
/* One record; each gets its own timestamp, since a log loads records
 * identical in every field once. */
static void rec_parts(FILE *f, const char *tuner, double time, double build, double run, double fit, double opt) {
  static int stamp;
  fprintf(f,
          "{\"version\":1,\"target\":\"x86_64-linux-gnu\",\"cpu\":\"skx\",\"task\":\"T\",\"flops\":1e9,"
          "\"config\":[0,0],\"tuner\":\"%s\",\"times\":[%g],\"status\":\"ok\",\"message\":\"\","
          "\"timestamp\":%d,\"compile_s\":9,\"run_s\":%g,\"build_s\":%g,\"fit_s\":%g,\"opt_s\":%g}\n",
          tuner, time, 1700000000 + stamp++, run, build, fit, opt);
}

/* The head to head against autotvm and the time breakdown.
 *  autotvm seed 1: 100, 200, 400, then 100 (200 records of 2 s: build 1 + run 1);
 *  autotvm seed 2: 100, 400, then 100 (200 records of 2 s).
 *  chameleon:      400, then 100 (200 records of 3 s: build 1, run 0.5, fit 1, opt 0.5).
 *  Target: median(400, 400) = 400. autotvm reaches it at 3 (6 s) and 2 (4 s):
 *  medians 2.5 measurements, 5 s. chameleon: 1, 3 s, speedup 5 / 3 = 1.67.
 *  best@200: 400 for both (ratio 1.000), best@400 and @800: runs too short.
 *  Breakdown: autotvm 400 measurements, 800 s, half build, half run;
 *  chameleon 200, 600 s: 200 build (33%), 100 run (17%), 200 fit (33%), 100 opt (17%). */
static void test_h2h(void) {
  static const double at1[] = {0.01, 0.005, 0.0025}, at2[] = {0.01, 0.0025};
  FILE *a1 = log_new("h2h-a1.log"), *a2 = log_new("h2h-a2.log"), *c = log_new("h2h-c.log");
  for (int i = 0; i < 200; i++) {
    rec_parts(a1, "autotvm", i < 3 ? at1[i] : 0.01, 1, 1, 0, 0);
    rec_parts(a2, "autotvm", i < 2 ? at2[i] : 0.01, 1, 1, 0, 0);
    rec_parts(c, "chameleon", i < 1 ? 0.0025 : 0.01, 1, 0.5, 1, 0.5);
  }
  fclose(a1), fclose(a2), fclose(c);
  const char *logs[] = {path_of("h2h-a1.log"), path_of("h2h-a2.log"), path_of("h2h-c.log")};
  char *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 3, NULL, &table, &e) == 0);
  static const char *const want[] = {
      "| T | autotvm | 2 | 400.00 | 2.5 | 5.00 | 1.00 | 400.00 | — | — |\n",
      "| T | chameleon | 1 | 400.00 | 1 | 3.00 | 1.67 | 400.00 | — | — |\n",
      "| chameleon | 1.67 (1) | 1.000 (1) | — (0) | — (0) |\n",
      "| autotvm | 400 | 800 | 400 s (50%) | 400 s (50%) | 0 s (0%) | 0 s (0%) |\n",
      "| chameleon | 200 | 600 | 200 s (33%) | 100 s (17%) | 200 s (33%) | 100 s (17%) |\n",
      /* the main table's seconds are the same wall-clock costs */
      "| T | chameleon | 1 | 200 | 400.00 | 400.00–400.00 | 1 | 3.00 |\n",
  };
  check_contains(table, want, sizeof want / sizeof want[0]);
  free(table);
  /* Two autotvm runs with different finals, 400 (b1: 100, 200, 400) and 200
   * (b2: 100, 200): the target is the lower median, 200, which both reach at
   * measurement 2 (4 s). The plain median, 300, is beyond b2, whose time
   * would count as never and make autotvm's own median time infinite. */
  static const double bt1[] = {0.01, 0.005, 0.0025}, bt2[] = {0.01, 0.005};
  FILE *b1 = log_new("h2h-b1.log"), *b2 = log_new("h2h-b2.log");
  for (int i = 0; i < 10; i++) {
    rec_parts(b1, "autotvm", i < 3 ? bt1[i] : 0.01, 1, 1, 0, 0);
    rec_parts(b2, "autotvm", i < 2 ? bt2[i] : 0.01, 1, 1, 0, 0);
  }
  fclose(b1), fclose(b2);
  const char *even[] = {path_of("h2h-b1.log"), path_of("h2h-b2.log"), path_of("h2h-c.log")};
  CHECK(report(even, 3, NULL, &table, &e) == 0);
  CHECK(table && strstr(table, "| T | autotvm | 2 | 200.00 | 2 | 4.00 | 1.00 |"), "%s", table ? table : "(null)");
  free(table);
  /* without a baseline there is no head to head */
  const char *only_c[] = {path_of("h2h-c.log")};
  CHECK(report(only_c, 1, NULL, &table, &e) == 0);
  CHECK(table && !strstr(table, "Against") && strstr(table, "Where the time goes"));
  free(table);
}

/* From scratch: each run's first record (the default config, 400 GFLOP/s in
 * both runs) is left out. autotvm: 400, then 100, 200, 300; chameleon: 400,
 * then 100, 300, 200; then 100 up to 200 records, every record 2 s. With
 * the default, both reach the target 400 at measurement 1 (2 s): speedup
 * 1.00, best@200 400. From scratch the target is autotvm's 300, reached at
 * 3 (6 s) by autotvm and at 2 (4 s) by chameleon: 1.50; best@200 is 300
 * (the left-out record counts towards the 200); 199 measurements per run,
 * 398 s each in the breakdown. */
static void test_scratch(void) {
  static const double at[] = {0.0025, 0.01, 0.005, 1 / 300.0}, ch[] = {0.0025, 0.01, 1 / 300.0, 0.005};
  FILE *a = log_new("scratch-a.log"), *c = log_new("scratch-c.log");
  for (int i = 0; i < 200; i++) {
    rec_parts(a, "autotvm", i < 4 ? at[i] : 0.01, 1, 1, 0, 0);
    rec_parts(c, "chameleon", i < 4 ? ch[i] : 0.01, 1, 1, 0, 0);
  }
  fclose(a), fclose(c);
  const char *logs[] = {path_of("scratch-a.log"), path_of("scratch-c.log")};
  char *table = NULL;
  chm_err e = {0};
  CHECK(report(logs, 2, NULL, &table, &e) == 0);
  CHECK(table && strstr(table, "| T | chameleon | 1 | 400.00 | 1 | 2.00 | 1.00 | 400.00 |") &&
            !strstr(table, "From scratch"),
        "%s", table ? table : "(null)");
  free(table);
  scratch_mode = 1;
  const char *svg = path_of("scratch.svg");
  CHECK(report(logs, 2, svg, &table, &e) == 0);
  static const char *const want[] = {
      "| T | autotvm | 1 | 199 | 300.00 |",
      "| T | autotvm | 1 | 300.00 | 3 | 6.00 | 1.00 | 300.00 | — |",
      "| T | chameleon | 1 | 300.00 | 2 | 4.00 | 1.50 | 300.00 | — |",
      "| chameleon | 199 | 398 | 199 s (50%) | 199 s (50%) |",
      "From scratch: each run's first measurement",
  };
  check_contains(table, want, sizeof want / sizeof want[0]);
  free(table);
  char *s = slurp(svg);
  CHECK(s && balanced(s) && count(s, "class=\"run\"") == 2);
  free(s);
  /* a run of one record has nothing left: no curve, no crash */
  FILE *one = log_new("scratch-one.log");
  rec_parts(one, "autotvm", 0.0025, 1, 1, 0, 0);
  fclose(one);
  const char *only[] = {path_of("scratch-one.log"), path_of("scratch-a.log")};
  CHECK(report(only, 2, svg, &table, &e) == 0);
  free(table);
  s = slurp(svg);
  CHECK(s && balanced(s) && count(s, "class=\"run\"") == 1 && !count(s, "class=\"median\""));
  free(s);
}

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
    {"h2h", test_h2h}, {"scratch", test_scratch},
    {"table", test_table}, {"svg", test_svg}, {"median", test_median},
    {"machines", test_machines}, {"errors", test_errors}, {"reference", test_reference},
};

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_report NAME SCRATCH_DIR\n");
    return 2;
  }
  scratch = argv[2];
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (!strcmp(argv[1], tests[i].name)) {
      tests[i].fn();
      if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
      return failures ? 1 : 0;
    }
  fprintf(stderr, "unknown test %s\n", argv[1]);
  return 2;
}
