/*
 * test_log.c — the tuning log (tune/log.c). One program, one subcommand
 * per CTest test; each works in its own file under the scratch directory
 * given as the second argument:
 *
 *   roundtrip  every field of varied records survives append + re-open bit
 *              for bit (doubles at the edges, strings with quotes,
 *              backslashes, newlines, control bytes and UTF-8)
 *   escape     a message with newlines keeps one record per line
 *   filter     only records of the asked target and cpu are loaded
 *   malformed  garbage, missing keys, wrong types, an empty line, a bad
 *              version/status, an over-long config or times, a truncated
 *              last line: each warned with its line number and skipped;
 *              the next append starts on a fresh line; the file re-reads
 *   queries    best / has / count / median / status names / memory log
 *   appendbad  bad records are refused with an error, not written
 *   concurrent two forked processes append 1000 records each: 2000 lines
 *   scale      50 000 records, 100 000 has() probes in well under a second
 *   merge      logs of two machines merged: the same bytes in either order,
 *              merging again changes nothing, duplicates once, malformed
 *              lines reported with file and line, older kernels kept
 *   load       several logs loaded into one: duplicates once, the best
 *              config the same in any order
 *   reference  reference readings round-trip; a log without them loads;
 *              a config is ranked by its ratio to the reference read
 *              beside it, on the task's reference time (the median of its
 *              reference readings), confirmations too; figures with spread
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chamcc/tune.h"

#include "../check.h"


static const char *dir;

/* A fresh (removed) file DIR/NAME. */
static const char *scratch(const char *name) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  return path;
}

/* ---- warnings collected from the log ---- */

typedef struct warns {
  int n;          /* warnings received */
  int line[64];   /* their line numbers */
  char msg[64][512];
} warns;

static void on_warn(void *ctx, const char *msg) {
  warns *w = ctx;
  if (w->n >= 64) return;
  const char *p = strstr(msg, ".jsonl:"); /* "PATH:LINE: why", PATH ends in .jsonl */
  w->line[w->n] = p ? atoi(p + 7) : -1;
  snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
  w->n++;
}

static tune_log *open_log(const char *path, const char *target, const char *cpu, warns *w) {
  chm_err e = {0};
  memset(w, 0, sizeof *w);
  tune_log *l = tune_log_open(path, target, cpu, on_warn, w, &e);
  CHECK(l, "open %s: %s", path ? path : "(memory)", e.msg);
  return l;
}

static void append(tune_log *l, const tune_record *r) {
  chm_err e = {0};
  CHECK(tune_log_append(l, r, &e) == 0, "append: %s", e.msg);
}

static tune_record make(const char *task, int seed, meas_status st) {
  tune_record r = {0};
  snprintf(r.target, sizeof r.target, "x86_64-linux-gnu");
  snprintf(r.cpu, sizeof r.cpu, "skylake-avx512");
  snprintf(r.task, sizeof r.task, "%s", task);
  snprintf(r.tuner, sizeof r.tuner, "random");
  r.flops = 1.23456789e9 + seed;
  r.n_config = 1 + seed % TUNE_MAX_KNOBS;
  for (int i = 0; i < r.n_config; i++) r.config[i] = (seed * 7 + i * 3) % TUNE_MAX_VALUES;
  r.status = st;
  if (st == MEAS_OK) {
    r.n_times = 1 + seed % MEAS_MAX_REPEATS;
    for (int i = 0; i < r.n_times; i++) r.times[i] = 1e-3 * (1 + (seed * 13 + i * 5) % 17) / 3.0;
    r.n_ref = seed % 3 == 1 ? r.n_times : 0; /* timed beside a reference, or not */
    for (int i = 0; i < r.n_ref; i++) r.ref_times[i] = 1e-3 * (2 + (seed * 11 + i * 3) % 13) / 7.0;
  } else {
    snprintf(r.message, sizeof r.message, "failed %d", seed);
  }
  r.timestamp = 1700000000.0 + seed / 7.0;
  r.compile_s = 0.1 / (seed + 3);
  r.run_s = 0.2 / (seed + 7);
  r.build_s = 0.03 / (seed + 5), r.fit_s = 0.001 * seed, r.opt_s = 0.7 / (seed + 11);
  r.threads = seed % 5; /* 0: unknown, not written */
  return r;
}

static int same(const tune_record *a, const tune_record *b) {
  int ok = a->version == b->version && !strcmp(a->target, b->target) &&
           !strcmp(a->cpu, b->cpu) && !strcmp(a->task, b->task) && !strcmp(a->tuner, b->tuner) &&
           !memcmp(&a->flops, &b->flops, sizeof a->flops) && a->n_config == b->n_config &&
           !memcmp(a->config, b->config, (size_t)a->n_config * sizeof a->config[0]) &&
           a->n_times == b->n_times &&
           !memcmp(a->times, b->times, (size_t)a->n_times * sizeof a->times[0]) &&
           a->status == b->status && !strcmp(a->message, b->message) &&
           !memcmp(&a->timestamp, &b->timestamp, sizeof(double)) &&
           !memcmp(&a->compile_s, &b->compile_s, sizeof(double)) &&
           !memcmp(&a->run_s, &b->run_s, sizeof(double)) && !memcmp(&a->build_s, &b->build_s, sizeof(double)) &&
           !memcmp(&a->fit_s, &b->fit_s, sizeof(double)) && !memcmp(&a->opt_s, &b->opt_s, sizeof(double)) &&
           a->confirm == b->confirm && a->threads == b->threads && a->n_ref == b->n_ref &&
           !memcmp(a->ref_times, b->ref_times, (size_t)a->n_ref * sizeof a->ref_times[0]);
  return ok;
}

/* One record of task "T" with config {c} and the given times (none: failed). */
static tune_record conf_rec(int c, int confirm, int n, const double *times) {
  tune_record r = make("T", c, n ? MEAS_OK : MEAS_RUNTIME_ERROR);
  r.n_config = 1;
  r.config[0] = c;
  r.confirm = confirm;
  r.n_times = n;
  r.n_ref = 0;
  for (int i = 0; i < n; i++) r.times[i] = times[i];
  return r;
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* ---- roundtrip / escape ---- */

static void test_roundtrip(void) {
  const char *path = scratch("roundtrip.jsonl");
  warns w;
  tune_log *l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  static const double edge[] = {0.1, 1.0 / 3.0, 5e-324, 2.2250738585072014e-308,
                                1.7976931348623157e308, 123456789.123456789, 0.0, 1e-9};
  enum { N = 40 };
  tune_record in[N];
  for (int i = 0; i < N; i++) {
    in[i] = make(i % 3 ? "conv2d \"a\\b\"\n{x}" : "dense/1x512", i, (meas_status)(i % 5));
    in[i].flops = edge[i % 8] * (i % 2 ? 1 : -1);
    in[i].timestamp = 1.7e9 + edge[(i + 1) % 8];
    in[i].compile_s = edge[(i + 2) % 8];
    in[i].run_s = edge[(i + 3) % 8];
    in[i].opt_s = edge[(i + 4) % 8];
    in[i].confirm = i % 4 == 3;
    if (in[i].status == MEAS_OK)
      for (int k = 0; k < in[i].n_times; k++) in[i].times[k] = edge[(i + k) % 8];
    snprintf(in[i].message, sizeof in[i].message,
             "say \"hi\"\\ \n\ttab \r\x01\x1f\x7f caf\xc3\xa9 \xe2\x9c\x93 %d", i);
    snprintf(in[i].tuner, sizeof in[i].tuner, i % 2 ? "sa" : "chameleon-ppo");
    append(l, &in[i]);
    in[i].version = TUNE_LOG_VERSION;
  }
  CHECK(tune_log_size(l) == N, "size %d", tune_log_size(l));
  for (int i = 0; i < N && i < tune_log_size(l); i++)
    CHECK(same(tune_log_get(l, i), &in[i]), "in-memory record %d differs", i);
  tune_log_close(l);
  CHECK(count_lines(path) == N, "%d lines for %d records", count_lines(path), N);
  l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  CHECK(w.n == 0, "%d warnings, first: %s", w.n, w.msg[0]);
  CHECK(tune_log_size(l) == N, "re-read %d records", tune_log_size(l));
  for (int i = 0; i < N && i < tune_log_size(l); i++)
    CHECK(same(tune_log_get(l, i), &in[i]), "re-read record %d differs", i);
  tune_log_close(l);
}

static void test_escape(void) {
  const char *path = scratch("escape.jsonl");
  warns w;
  tune_log *l = open_log(path, "t", "c", &w);
  if (!l) return;
  tune_record r = make("task\nwith\nnewlines", 1, MEAS_COMPILE_ERROR);
  snprintf(r.target, sizeof r.target, "t");
  snprintf(r.cpu, sizeof r.cpu, "c");
  snprintf(r.message, sizeof r.message, "error: line 1\nline \"2\"\n\\line 3\n");
  append(l, &r);
  r.timestamp += 1; /* another measurement: identical records are one (a copy) */
  append(l, &r);
  tune_log_close(l);
  CHECK(count_lines(path) == 2, "%d lines for 2 records", count_lines(path));
  l = open_log(path, "t", "c", &w);
  if (!l) return;
  CHECK(w.n == 0 && tune_log_size(l) == 2, "%d warnings, %d records", w.n, tune_log_size(l));
  if (tune_log_size(l) == 2)
    CHECK(!strcmp(tune_log_get(l, 1)->message, r.message), "message '%s'",
          tune_log_get(l, 1)->message);
  tune_log_close(l);
}

/* ---- filter ---- */

static void test_filter(void) {
  const char *path = scratch("filter.jsonl");
  static const char *const tg[] = {"x86_64-linux-gnu", "aarch64-linux-gnu"};
  static const char *const cpus[] = {"skylake-avx512", "neoverse-n1"};
  warns w;
  for (int t = 0; t < 2; t++)
    for (int c = 0; c < 2; c++) {
      tune_log *l = open_log(path, tg[t], cpus[c], &w);
      if (!l) return;
      CHECK(tune_log_size(l) == 0, "fresh target/cpu pair has %d records", tune_log_size(l));
      for (int i = 0; i < 1 + 2 * t + c; i++) {
        tune_record r = make("task", i, MEAS_OK);
        r.target[0] = r.cpu[0] = 0; /* filled from the log */
        append(l, &r);
      }
      tune_log_close(l);
    }
  for (int t = 0; t < 2; t++)
    for (int c = 0; c < 2; c++) {
      tune_log *l = open_log(path, tg[t], cpus[c], &w);
      if (!l) return;
      int n = tune_log_size(l);
      CHECK(n == 1 + 2 * t + c, "%s/%s: %d records", tg[t], cpus[c], n);
      for (int i = 0; i < n; i++)
        CHECK(!strcmp(tune_log_get(l, i)->target, tg[t]) &&
                  !strcmp(tune_log_get(l, i)->cpu, cpus[c]),
              "record of the wrong target loaded");
      tune_log_close(l);
    }
  tune_log *l = open_log(path, NULL, NULL, &w);
  if (l) CHECK(tune_log_size(l) == 10, "unfiltered: %d records", tune_log_size(l));
  tune_log_close(l);
}

/* ---- malformed ---- */

#define GOOD(task)                                                                          \
  "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"" task "\",\"flops\":1e6,"     \
  "\"config\":[1,2,3],\"tuner\":\"ga\",\"times\":[0.5,0.25,0.75],\"status\":\"ok\","        \
  "\"message\":\"\",\"timestamp\":1.5,\"compile_s\":0.1,\"run_s\":0.2,\"kernels\":5}\n"
_Static_assert(TUNE_KERNELS == 5, "GOOD's records are of the current kernels");

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f, "cannot write %s", path);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static void expect_lines(const warns *w, const int *want, int n) {
  CHECK(w->n == n, "%d warnings, want %d", w->n, n);
  for (int i = 0; i < w->n && i < n; i++)
    CHECK(w->line[i] == want[i], "warning %d on line %d, want %d: %s", i, w->line[i], want[i],
          w->msg[i]);
}

static void test_malformed(void) {
  const char *path = scratch("malformed.jsonl");
  write_file(path,
             GOOD("a")                                                           /* 1 */
             "this is not json\n"                                                /* 2 */
             GOOD("b")                                                           /* 3 */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\"}\n"   /* 4 missing */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\",\"flops\":\"many\","
             "\"config\":[1],\"tuner\":\"ga\",\"times\":[1],\"status\":\"ok\",\"message\":\"\","
             "\"timestamp\":1,\"compile_s\":0,\"run_s\":0}\n"                    /* 5 type */
             "\n"                                                                /* 6 empty */
             GOOD("c")                                                           /* 7 */
             "{\"version\":99,\"target\":\"T\",\"cpu\":\"C\"}\n"                 /* 8 version */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\",\"flops\":1,"
             "\"config\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],\"tuner\":\"ga\",\"times\":[1],"
             "\"status\":\"ok\",\"message\":\"\",\"timestamp\":1,\"compile_s\":0,"
             "\"run_s\":0}\n"                                                    /* 9 knobs */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\",\"flops\":1,"
             "\"config\":[0],\"tuner\":\"ga\",\"times\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
             "\"status\":\"ok\",\"message\":\"\",\"timestamp\":1,\"compile_s\":0,"
             "\"run_s\":0}\n"                                                    /* 10 times */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\",\"flops\":1,"
             "\"config\":[0],\"tuner\":\"ga\",\"times\":[1],\"status\":\"great\","
             "\"message\":\"\",\"timestamp\":1,\"compile_s\":0,\"run_s\":0}\n"  /* 11 status */
             "[1,2,3]\n"                                                         /* 12 array */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"x\",\"flops\":1,"
             "\"config\":[0.5],\"tuner\":\"ga\",\"times\":[1],\"status\":\"ok\","
             "\"message\":\"\",\"timestamp\":1,\"compile_s\":0,\"run_s\":0}\n"  /* 13 index */
             GOOD("d")                                                           /* 14 */
             "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"e\",\"flo"); /* 15 cut */
  static const int bad_lines[] = {2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 15};
  enum { NB = sizeof bad_lines / sizeof bad_lines[0] };
  warns w;
  tune_log *l = open_log(path, "T", "C", &w);
  if (!l) return;
  expect_lines(&w, bad_lines, NB);
  CHECK(strstr(w.msg[NB - 1], "truncated"), "last warning: %s", w.msg[NB - 1]);
  CHECK(strstr(w.msg[0], path) == w.msg[0], "warning does not start with the path: %s", w.msg[0]);
  CHECK(tune_log_size(l) == 4, "%d good records, want 4", tune_log_size(l));
  static const char *const tasks[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4 && i < tune_log_size(l); i++)
    CHECK(!strcmp(tune_log_get(l, i)->task, tasks[i]), "record %d is '%s'", i,
          tune_log_get(l, i)->task);
  tune_record r = make("after", 3, MEAS_OK);
  snprintf(r.target, sizeof r.target, "T");
  snprintf(r.cpu, sizeof r.cpu, "C");
  append(l, &r);
  tune_log_close(l);
  CHECK(count_lines(path) == 16, "%d lines after the append, want 16", count_lines(path));
  l = open_log(path, "T", "C", &w);
  if (!l) return;
  expect_lines(&w, bad_lines, NB);
  CHECK(tune_log_size(l) == 5, "%d records after re-read, want 5", tune_log_size(l));
  if (tune_log_size(l) == 5) CHECK(!strcmp(tune_log_get(l, 4)->task, "after"), "last record");
  tune_log_close(l);
  /* A complete record missing only its '\n' is kept; the next append still
   * starts on its own line. */
  path = scratch("nonewline.jsonl");
  write_file(path, GOOD("a") GOOD("b"));
  CHECK(truncate(path, (off_t)(2 * strlen(GOOD("a")) - 1)) == 0, "truncate");
  l = open_log(path, "T", "C", &w);
  if (!l) return;
  CHECK(w.n == 0 && tune_log_size(l) == 2, "%d warnings, %d records", w.n, tune_log_size(l));
  append(l, &r);
  tune_log_close(l);
  l = open_log(path, "T", "C", &w);
  if (l) CHECK(w.n == 0 && tune_log_size(l) == 3, "%d warnings, %d records", w.n, tune_log_size(l));
  tune_log_close(l);
}

/* ---- read-only ---- */

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

/* A reader never creates, extends or ends a file, and refuses to append. */
static void test_readonly(void) {
  const char *missing = scratch("missing.jsonl");
  chm_err e = {0};
  tune_log *l = tune_log_read(missing, NULL, NULL, NULL, NULL, &e);
  CHECK(!l && e.set && strstr(e.msg, missing) && strstr(e.msg, "No such file"), "missing: %s", e.msg);
  CHECK(access(missing, F_OK) != 0, "reading %s created it", missing);
  tune_log_close(l);
  const char *path = scratch("cut.jsonl");
  write_file(path, GOOD("a") GOOD("b") "{\"version\":1,\"tar");
  long size = file_size(path);
  warns w = {0};
  e = (chm_err){0};
  l = tune_log_read(path, "T", "C", on_warn, &w, &e);
  CHECK(l, "read %s: %s", path, e.msg);
  if (!l) return;
  static const int cut[] = {3};
  expect_lines(&w, cut, 1);
  CHECK(tune_log_size(l) == 2, "%d records, want 2", tune_log_size(l));
  tune_record r = make("after", 3, MEAS_OK);
  e = (chm_err){0};
  CHECK(tune_log_append(l, &r, &e) == -1 && e.set && strstr(e.msg, path), "append to a reader: %s", e.msg);
  CHECK(tune_log_size(l) == 2, "append to a reader kept a record");
  tune_log_close(l);
  CHECK(file_size(path) == size, "file changed from %ld to %ld bytes", size, file_size(path));
}

/* ---- queries ---- */

static tune_record timed(const char *task, int c0, double t0, double t1, double t2) {
  tune_record r = make(task, 0, MEAS_OK);
  r.n_config = 2;
  r.config[0] = c0;
  r.config[1] = 5;
  r.n_times = 3;
  r.times[0] = t0, r.times[1] = t1, r.times[2] = t2;
  return r;
}

static void append_timed(tune_log *l, const char *task, int c0, double t0, double t1, double t2) {
  tune_record r = timed(task, c0, t0, t1, t2);
  append(l, &r);
}

static void test_queries(void) {
  CHECK(!strcmp(meas_status_name(MEAS_OK), "ok") &&
            !strcmp(meas_status_name(MEAS_COMPILE_ERROR), "compile_error") &&
            !strcmp(meas_status_name(MEAS_RUNTIME_ERROR), "runtime_error") &&
            !strcmp(meas_status_name(MEAS_WRONG_ANSWER), "wrong_answer") &&
            !strcmp(meas_status_name(MEAS_TIMEOUT), "timeout"),
        "status names");
  tune_record m = timed("k", 0, 3, 1, 2);
  CHECK(tune_record_median(&m) == 2, "odd median %g", tune_record_median(&m));
  m.n_times = 4, m.times[3] = 10;
  CHECK(tune_record_median(&m) == 2.5, "even median %g", tune_record_median(&m));
  m.n_times = 0;
  CHECK(isinf(tune_record_median(&m)), "median of no times");
  m = timed("k", 0, 1, 1, 1);
  m.status = MEAS_WRONG_ANSWER;
  CHECK(isinf(tune_record_median(&m)), "median of a failed record");

  for (int pass = 0; pass < 2; pass++) {
    const char *path = pass ? scratch("queries.jsonl") : NULL;
    warns w;
    tune_log *l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
    if (!l) return;
    CHECK(tune_log_best(l, "k") == NULL && tune_log_count(l, "k") == 0, "empty log");
    tune_record fail = timed("k", 9, 1e-9, 1e-9, 1e-9);
    fail.status = MEAS_TIMEOUT;
    append(l, &fail);
    CHECK(tune_log_best(l, "k") == NULL, "a failed record is never the best");
    append(l, &(tune_record){0}); /* empty task, no config: allowed */
    append_timed(l, "k", 1, 5, 4, 6);
    append_timed(l, "k", 2, 3, 9, 1);  /* median 3: best */
    append_timed(l, "k", 3, 3.5, 3.5, 3.5);
    append_timed(l, "k2", 2, 0.1, 0.1, 0.1);
    append_timed(l, "k", 4, 1, 3, 100); /* median 3: tie, earlier wins */
    const tune_record *b = tune_log_best(l, "k");
    CHECK(b && b->config[0] == 2, "best of k: config %d", b ? b->config[0] : -1);
    b = tune_log_best(l, "k2");
    CHECK(b && b->config[0] == 2 && !strcmp(b->task, "k2"), "best of k2");
    CHECK(tune_log_count(l, "k") == 5 && tune_log_count(l, "k2") == 1 &&
              tune_log_count(l, "") == 1 && tune_log_count(l, "nope") == 0,
          "counts %d %d", tune_log_count(l, "k"), tune_log_count(l, "k2"));
    int c[2] = {9, 5};
    CHECK(tune_log_has(l, "k", c, 2), "has the failed config");
    c[0] = 2;
    CHECK(tune_log_has(l, "k", c, 2) && tune_log_has(l, "k2", c, 2), "has config 2");
    CHECK(!tune_log_has(l, "k", c, 1) && !tune_log_has(l, "k3", c, 2), "prefix / other task");
    c[0] = 7;
    CHECK(!tune_log_has(l, "k", c, 2), "has a config never measured");
    CHECK(tune_log_has(l, "", c, 0), "empty config of the empty task");
    CHECK(tune_log_get(l, -1) == NULL && tune_log_get(l, 7) == NULL, "get out of range");
    CHECK(tune_log_get(l, 1)->timestamp > 1e9, "zero timestamp not filled");
    CHECK(!strcmp(tune_log_get(l, 1)->target, "x86_64-linux-gnu"), "target not filled");
    tune_log_close(l);
  }
}

/* ---- appendbad ---- */

static void test_appendbad(void) {
  const char *path = scratch("appendbad.jsonl");
  warns w;
  tune_log *l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  tune_record bads[7];
  for (int i = 0; i < 7; i++) bads[i] = make("t", 1, MEAS_OK);
  bads[0].n_config = TUNE_MAX_KNOBS + 1;
  bads[1].n_times = -1;
  bads[2].status = (meas_status)42;
  bads[3].times[0] = NAN;
  bads[4].flops = INFINITY;
  snprintf(bads[5].target, sizeof bads[5].target, "aarch64-linux-gnu");
  memset(bads[6].task, 'x', sizeof bads[6].task); /* unterminated */
  for (int i = 0; i < 7; i++) {
    chm_err e = {0};
    CHECK(tune_log_append(l, &bads[i], &e) == -1 && e.set, "bad record %d accepted", i);
  }
  CHECK(tune_log_size(l) == 0, "bad records kept");
  tune_log_close(l);
  CHECK(count_lines(path) == 0, "bad records written");
  chm_err e = {0};
  l = tune_log_open("/nonexistent-dir/x.jsonl", "t", "c", NULL, NULL, &e);
  CHECK(!l && e.set && strstr(e.msg, "/nonexistent-dir/x.jsonl"), "open error: %s", e.msg);
}

/* ---- concurrent ---- */

static int child(const char *path, int id) {
  chm_err e = {0};
  tune_log *l = tune_log_open(path, "x86_64-linux-gnu", "skylake-avx512", NULL, NULL, &e);
  if (!l) return 1;
  for (int i = 0; i < 1000; i++) {
    tune_record r = make(id ? "child one" : "child zero", i, MEAS_OK);
    snprintf(r.message, sizeof r.message, "%0200d", i); /* long lines */
    r.n_config = 2, r.config[0] = i % 64, r.config[1] = i / 64;
    if (tune_log_append(l, &r, &e)) return 1;
  }
  tune_log_close(l);
  return 0;
}

static void test_concurrent(void) {
  const char *path = scratch("concurrent.jsonl");
  pid_t pid[2];
  for (int i = 0; i < 2; i++) {
    pid[i] = fork();
    if (pid[i] == 0) _exit(child(path, i));
  }
  for (int i = 0; i < 2; i++) {
    int st = 0;
    waitpid(pid[i], &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed", i);
  }
  CHECK(count_lines(path) == 2000, "%d lines", count_lines(path));
  warns w;
  tune_log *l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  CHECK(w.n == 0, "%d warnings, first: %s", w.n, w.msg[0]);
  CHECK(tune_log_size(l) == 2000, "%d records", tune_log_size(l));
  CHECK(tune_log_count(l, "child zero") == 1000 && tune_log_count(l, "child one") == 1000,
        "per-child counts");
  for (int i = 0; i < 1000; i++) {
    int c[2] = {i % 64, i / 64};
    CHECK(tune_log_has(l, "child zero", c, 2) && tune_log_has(l, "child one", c, 2),
          "config %d missing", i);
  }
  tune_log_close(l);
}

/* ---- scale ---- */

static void test_scale(void) {
  warns w;
  tune_log *l = open_log(NULL, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  enum { N = 50000 };
  double t0 = (double)clock() / CLOCKS_PER_SEC;
  for (int i = 0; i < N; i++) {
    tune_record r = make(i % 5 ? "conv" : "dense", 0, MEAS_OK);
    r.n_config = 5;
    for (int k = 0; k < 5; k++) r.config[k] = (i >> (4 * k)) % 16;
    append(l, &r);
  }
  int hits = 0;
  for (int i = 0; i < 2 * N; i++) {
    int c[5];
    for (int k = 0; k < 5; k++) c[k] = (i >> (4 * k)) % 16;
    hits += tune_log_has(l, i % 5 ? "conv" : "dense", c, 5);
  }
  double dt = (double)clock() / CLOCKS_PER_SEC - t0;
  CHECK(hits == N, "%d hits, want %d", hits, N);
  CHECK(tune_log_count(l, "conv") == N / 5 * 4, "count %d", tune_log_count(l, "conv"));
  printf("scale: %d appends + %d probes in %.3f s\n", N, 2 * N, dt);
  CHECK(dt < 2.0, "too slow: %.3f s", dt);
  tune_log_close(l);
}

/* Confirmations: not counted in the budget, and the best config is chosen
 * among the confirmed ones by their pooled times; a finalist that failed a
 * confirmation is out. Config 2 has the luckiest single sample (0.5) but
 * confirms at 0.8-0.9; config 1 measured 1.0 once and confirms at 0.6. */
static void test_confirm(void) {
  const char *path = scratch("confirm.jsonl");
  warns w;
  tune_log *l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  chm_err e = {0};
  static const double one[] = {1.0}, half[] = {0.5}, six[] = {0.6, 0.6}, slow[] = {0.9, 0.8}, fast[] = {0.4};
  tune_record rs[] = {conf_rec(1, 0, 1, one), conf_rec(2, 0, 1, half), conf_rec(3, 0, 0, NULL),
                      conf_rec(1, 1, 2, six), conf_rec(2, 1, 2, slow), conf_rec(1, 1, 2, six),
                      conf_rec(2, 1, 2, slow)};
  for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
    rs[i].timestamp += (double)i; /* distinct measurements: identical records are one (a copy) */
    CHECK(tune_log_append(l, &rs[i], &e) == 0);
  }
  for (int pass = 0; pass < 2; pass++) { /* in memory, then read back from the file */
    CHECK(tune_log_count(l, "T") == 3);
    int c1 = 1, c2 = 2, c3 = 3;
    CHECK(tune_log_confirms(l, "T", &c1, 1) == 2 && tune_log_confirms(l, "T", &c2, 1) == 2);
    CHECK(tune_log_confirms(l, "T", &c3, 1) == 0 && tune_log_has(l, "T", &c2, 1));
    const tune_record *b = tune_log_best(l, "T");
    CHECK(b && b->config[0] == 1 && b->confirm == 1);
    tune_log_close(l);
    l = open_log(path, "x86_64-linux-gnu", "skylake-avx512", &w);
    if (!l) return;
    CHECK(w.n == 0);
  }
  /* a failed confirmation drops config 1; then config 2 is the best confirmed */
  tune_record bad = conf_rec(1, 1, 0, NULL);
  CHECK(tune_log_append(l, &bad, &e) == 0);
  const tune_record *b = tune_log_best(l, "T");
  CHECK(b && b->config[0] == 2);
  /* an unconfirmed faster single sample does not win over confirmed configs */
  tune_record lucky = conf_rec(4, 0, 1, fast);
  CHECK(tune_log_append(l, &lucky, &e) == 0);
  b = tune_log_best(l, "T");
  CHECK(b && b->config[0] == 2 && tune_log_count(l, "T") == 4);
  tune_log_close(l);
}

/* ---- kernel revisions ---- */

/* A record of older kernels (no "kernels" key, or a lower revision) is not
 * loaded by a log opened for a machine, and is counted as stale; the report's
 * unfiltered open loads it. A bad revision is a malformed line. */
static void test_kernels(void) {
  const char *path = scratch("kernels.jsonl");
#define REC(task, extra)                                                                      \
  "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"" task "\",\"flops\":1e6,"       \
  "\"config\":[1,2,3],\"tuner\":\"ga\",\"times\":[0.5],\"status\":\"ok\",\"message\":\"\","    \
  "\"timestamp\":1.5,\"compile_s\":0.1,\"run_s\":0.2" extra "}\n"
  char text[2048];
  snprintf(text, sizeof text, "%s%s" REC("cur", ",\"kernels\":%d") "%s%s", REC("old", ""),
           REC("old2", ",\"kernels\":1"), TUNE_KERNELS, REC("bad", ",\"kernels\":0"),
           REC("bad2", ",\"kernels\":\"2\""));
#undef REC
  write_file(path, text);
  warns w;
  tune_log *l = open_log(path, "T", "C", &w);
  if (!l) return;
  static const int want[] = {4, 5};
  expect_lines(&w, want, 2);
  CHECK(tune_log_size(l) == 1 && !strcmp(tune_log_get(l, 0)->task, "cur"),
        "loaded %d records, want only the current kernels' one", tune_log_size(l));
  CHECK(tune_log_stale(l) == 2, "%d stale records, want 2", tune_log_stale(l));
  CHECK(tune_log_count(l, "old") == 0 && !tune_log_best(l, "old"), "an old record is used");
  tune_record r = make("new", 3, MEAS_OK);
  r.kernels = 1; /* the writer stamps its own revision */
  snprintf(r.target, sizeof r.target, "T");
  snprintf(r.cpu, sizeof r.cpu, "C");
  append(l, &r);
  CHECK(tune_log_get(l, 1)->kernels == TUNE_KERNELS, "appended record has kernels %d",
        tune_log_get(l, 1)->kernels);
  tune_log_close(l);
  l = open_log(path, "T", "C", &w);
  if (!l) return;
  CHECK(tune_log_size(l) == 2 && tune_log_count(l, "new") == 1, "re-read: %d records", tune_log_size(l));
  tune_log_close(l);
  l = open_log(path, NULL, NULL, &w);
  if (!l) return;
  CHECK(tune_log_size(l) == 4 && tune_log_stale(l) == 0, "unfiltered: %d records, %d stale",
        tune_log_size(l), tune_log_stale(l));
  tune_log_close(l);
}

/* "threads" round-trips; a log opened for a thread count loads that one's
 * records and those that do not say, and counts the others. */
static void test_threads(void) {
  const char *path = scratch("threads.jsonl");
#define REC(task, extra)                                                                      \
  "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"" task "\",\"flops\":1e6,"       \
  "\"config\":[1,2,3],\"tuner\":\"ga\",\"times\":[0.5],\"status\":\"ok\",\"message\":\"\","    \
  "\"timestamp\":1.5,\"compile_s\":0.1,\"run_s\":0.2,\"kernels\":%d" extra "}\n"
  char text[2048];
  snprintf(text, sizeof text, REC("any", "") REC("two", ",\"threads\":2") REC("four", ",\"threads\":4")
           REC("zero", ",\"threads\":0") REC("many", ",\"threads\":5000") REC("half", ",\"threads\":1.5"),
           TUNE_KERNELS, TUNE_KERNELS, TUNE_KERNELS, TUNE_KERNELS, TUNE_KERNELS, TUNE_KERNELS);
#undef REC
  write_file(path, text);
  warns w;
  memset(&w, 0, sizeof w);
  chm_err e = {0};
  tune_log *l = tune_log_open_for(path, "T", "C", 2, on_warn, &w, &e);
  CHECK(l != NULL, "open: %s", e.msg);
  if (!l) return;
  static const int want[] = {4, 5, 6};
  expect_lines(&w, want, 3);
  CHECK(tune_log_size(l) == 2 && tune_log_count(l, "any") == 1 && tune_log_count(l, "two") == 1,
        "loaded %d records, want the unknown one and the 2-thread one", tune_log_size(l));
  CHECK(tune_log_other_threads(l) == 1, "%d on other thread counts, want 1", tune_log_other_threads(l));
  CHECK(tune_log_get(l, 1)->threads == 2 && tune_log_get(l, 0)->threads == 0);
  tune_record r = make("new", 3, MEAS_OK);
  r.threads = 2;
  snprintf(r.target, sizeof r.target, "T");
  snprintf(r.cpu, sizeof r.cpu, "C");
  append(l, &r);
  r.threads = -1;
  CHECK(tune_log_append(l, &r, &e) == -1 && strstr(e.msg, "threads"), "a negative thread count was written");
  tune_log_close(l);
  l = tune_log_open_for(path, "T", "C", 4, NULL, NULL, &e);
  if (!l) return;
  CHECK(tune_log_size(l) == 2 && tune_log_count(l, "four") == 1 && tune_log_other_threads(l) == 2,
        "for 4 threads: %d loaded, %d others", tune_log_size(l), tune_log_other_threads(l));
  tune_log_close(l);
  l = open_log(path, "T", "C", &w);
  if (!l) return;
  CHECK(tune_log_size(l) == 4 && tune_log_other_threads(l) == 0 && tune_log_count(l, "new") == 1,
        "any thread count: %d loaded", tune_log_size(l));
  tune_log_close(l);
}

/* A log opened for a thread count keeps each other count's records for
 * tune_log_hints: per count, the config a build on it would use. */
static void test_hints(void) {
  const char *path = scratch("hints.jsonl");
  static const struct {
    int config[3];
    double t;
    int threads;
  } rec[] = {
      {{0, 0, 0}, 0.4, 1}, {{1, 0, 0}, 0.5, 1}, {{2, 0, 0}, 0.2, 1}, /* 1 thread: 2,0,0 */
      {{0, 0, 0}, 0.3, 4}, {{3, 0, 0}, 0.1, 4},                      /* 4 threads: 3,0,0 */
      {{0, 0, 0}, 0.1, 8}, {{1, 1, 1}, 0.2, 8},                      /* 8 threads: the default */
      {{1, 1, 1}, 0.05, 2},                                          /* this count: not a hint */
      {{2, 0, 0}, 0.1, 6},                                           /* 6 threads: a hint already given */
  };
  remove(path);
  warns ws;
  tune_log *w = open_log(path, NULL, NULL, &ws);
  if (!w) return;
  for (int i = 0; i < (int)(sizeof rec / sizeof rec[0]); i++) {
    tune_record r = make("H", i, MEAS_OK);
    snprintf(r.target, sizeof r.target, "T");
    snprintf(r.cpu, sizeof r.cpu, "C");
    r.n_config = 3;
    memcpy(r.config, rec[i].config, sizeof rec[i].config);
    r.n_times = 1, r.times[0] = rec[i].t, r.n_ref = 0;
    r.kernels = TUNE_KERNELS, r.threads = rec[i].threads;
    append(w, &r);
  }
  tune_log_close(w);
  chm_err e = {0};
  tune_log *l = tune_log_open_for(path, "T", "C", 2, NULL, NULL, &e);
  CHECK(l != NULL, "open: %s", e.msg);
  if (!l) return;
  static const int dflt[3] = {0, 0, 0};
  int out[4][TUNE_MAX_KNOBS];
  int n = tune_log_hints(l, "H", dflt, 3, out, 4);
  CHECK(n == 2, "%d hints, want 2 (1 and 4 threads)", n);
  if (n == 2)
    CHECK(out[0][0] == 2 && out[0][1] == 0 && out[1][0] == 3 && out[1][2] == 0, "hints %d,%d,%d and %d,%d,%d",
          out[0][0], out[0][1], out[0][2], out[1][0], out[1][1], out[1][2]);
  CHECK(tune_log_hints(l, "H", dflt, 3, out, 1) == 1, "max 1 not kept");
  CHECK(tune_log_hints(l, "other", dflt, 3, out, 4) == 0, "hints for a task without records");
  CHECK(tune_log_size(l) == 1 && tune_log_other_threads(l) == 8, "%d loaded, %d others", tune_log_size(l),
        tune_log_other_threads(l));
  tune_log_close(l);
  l = tune_log_open(path, "T", "C", NULL, NULL, &e); /* any thread count: nothing is another's */
  if (!l) return;
  CHECK(tune_log_hints(l, "H", dflt, 3, out, 4) == 0, "hints from a log of every thread count");
  tune_log_close(l);
}

/* ---- reference readings ---- */

/* A record of task "R", config {c}, with times t[3] read beside the
 * reference's ref[3] (ref NULL: none). */
static tune_record ref_rec(int c, int confirm, const double *t, const double *ref) {
  tune_record r = conf_rec(c, confirm, 3, t);
  snprintf(r.task, sizeof r.task, "R");
  r.flops = 1e9;
  r.timestamp += c + 10 * confirm; /* distinct measurements */
  r.n_ref = ref ? 3 : 0;
  for (int i = 0; i < r.n_ref; i++) r.ref_times[i] = ref[i];
  return r;
}

static void test_reference(void) {
  const char *path = scratch("reference.jsonl");
  /* a log written before reference readings, and lines with bad ones */
#define REC(task, extra)                                                                      \
  "{\"version\":1,\"target\":\"T\",\"cpu\":\"C\",\"task\":\"" task "\",\"flops\":1e6,"       \
  "\"config\":[1,2,3],\"tuner\":\"ga\",\"times\":[0.5,0.6],\"status\":\"ok\",\"message\":\"\","\
  "\"timestamp\":1.5,\"compile_s\":0.1,\"run_s\":0.2,\"kernels\":%d" extra "}\n"
  char text[2048];
  snprintf(text, sizeof text, REC("old", "") REC("short", ",\"ref_times\":[0.5]") REC("neg", ",\"ref_times\":[0.5,-1]"),
           TUNE_KERNELS, TUNE_KERNELS, TUNE_KERNELS);
#undef REC
  write_file(path, text);
  warns w;
  tune_log *l = open_log(path, "T", "C", &w);
  if (!l) return;
  static const int want[] = {2, 3};
  expect_lines(&w, want, 2);
  CHECK(tune_log_size(l) == 1 && tune_log_get(l, 0)->n_ref == 0, "the old record: %d loaded", tune_log_size(l));
  CHECK(tune_log_ref_seconds(l, "old") == 0 && tune_log_seconds(l, tune_log_get(l, 0)) == 0.55,
        "a record without readings of a reference is ranked by its plain median");
  tune_log_close(l);

  char path2[4096];
  snprintf(path2, sizeof path2, "%s", scratch("reference2.jsonl"));
  l = open_log(path2, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  /* 1 ran on a steady machine; 2 read fast while the machine was fast;
   * 3 read slowest, but the machine was twice as slow: it is the best */
  static const double one[] = {1.0, 1.0, 1.0}, t2[] = {0.8, 0.8, 0.8}, r2[] = {0.5, 0.5, 0.5},
                      t3[] = {1.4, 1.5, 1.6}, r3[] = {2.0, 2.0, 2.0};
  tune_record a = ref_rec(1, 0, one, one), b = ref_rec(2, 0, t2, r2), c = ref_rec(3, 0, t3, r3);
  append(l, &a), append(l, &b), append(l, &c);
  for (int pass = 0; pass < 2 && l; pass++) { /* in memory, then read back */
    CHECK(tune_log_ref_seconds(l, "R") == 1.0, "reference time %g, want the median 1.0", tune_log_ref_seconds(l, "R"));
    const tune_record *best = tune_log_best(l, "R");
    CHECK(best && best->config[0] == 3, "best config %d, want 3 (the best ratio)", best ? best->config[0] : -1);
    CHECK(fabs(tune_log_seconds(l, tune_log_get(l, 1)) - 1.6) < 1e-12, "config 2: %g s on the reference scale",
          tune_log_seconds(l, tune_log_get(l, 1)));
    tune_figure f = tune_log_best_figure(l, "R");
    CHECK(f.n == 3 && fabs(f.gflops - 1 / 0.75) < 1e-9 && fabs(f.lo - 1 / 0.8) < 1e-9 && fabs(f.hi - 1 / 0.7) < 1e-9,
          "best figure %g (%g-%g) GFLOP/s over %d", f.gflops, f.lo, f.hi, f.n);
    tune_log_close(l);
    l = open_log(path2, "x86_64-linux-gnu", "skylake-avx512", &w);
  }
  if (!l) return;
  /* confirmations: 2 confirms at a ratio of 0.6 (0.6 s beside 1.0), 3 at 0.9: 2 is the best */
  static const double c2[] = {0.6, 0.6, 0.6}, c3[] = {1.8, 1.8, 1.8};
  tune_record k2 = ref_rec(2, 1, c2, one), k3 = ref_rec(3, 1, c3, r3);
  append(l, &k2), append(l, &k3);
  const tune_record *best = tune_log_best(l, "R");
  CHECK(best && best->confirm && best->config[0] == 2, "best after confirmations: config %d",
        best ? best->config[0] : -1);
  tune_figure f = tune_log_best_figure(l, "R");
  CHECK(f.n == 3 && fabs(f.gflops - 1 / 0.6) < 1e-9, "confirmed figure %g over %d", f.gflops, f.n);
  /* a record without readings of a reference is its plain median on the same scale */
  static const double plain[] = {0.5, 0.5, 0.5};
  tune_record d = ref_rec(4, 0, plain, NULL);
  append(l, &d);
  CHECK(tune_log_seconds(l, &d) == 0.5, "plain record: %g s", tune_log_seconds(l, &d));
  tune_log_close(l);
}

/* The pick (tune_log_pick): a finalist replaces the default only when its
 * lead is beyond the noise of their confirmations. */
static void test_pick(void) {
  warns w;
  tune_log *l = open_log(scratch("pick.jsonl"), "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  static const double one[] = {1.0, 1.0, 1.0};
  /* "noisy": the default's ratios spread by 20% and config 2 reads 3% ahead;
   * "quiet": they spread by 1% and config 3 reads 3% ahead */
  static const double noisy[3][3] = {{1.0, 0.8, 1.2}, {1.05, 0.9, 1.1}, {0.95, 1.15, 0.85}},
                      quiet[3][3] = {{1.0, 1.01, 0.99}, {1.005, 0.995, 1.0}, {1.01, 0.99, 1.0}};
  const char *names[2] = {"noisy", "quiet"};
  for (int k = 0; k < 2; k++) {
    for (int round = 0; round < 3; round++) {
      double t[3];
      for (int i = 0; i < 3; i++) t[i] = (k ? quiet : noisy)[round][i];
      tune_record d = ref_rec(1, 1, t, one);
      for (int i = 0; i < 3; i++) t[i] *= 0.97;
      tune_record c = ref_rec(2 + k, 1, t, one);
      snprintf(d.task, sizeof d.task, "%s", names[k]), snprintf(c.task, sizeof c.task, "%s", names[k]);
      d.timestamp += round, c.timestamp += round;
      append(l, &d), append(l, &c);
    }
    const int dflt = 1;
    const tune_record *best = tune_log_best(l, names[k]), *pick = tune_log_pick(l, names[k], &dflt, 1);
    CHECK(best && best->config[0] == 2 + k, "%s: best config %d, want %d", names[k], best ? best->config[0] : -1,
          2 + k);
    CHECK(pick && pick->config[0] == (k ? 3 : 1), "%s: pick config %d, want %d", names[k],
          pick ? pick->config[0] : -1, k ? 3 : 1);
    tune_figure f = pick ? tune_log_config_figure(l, pick) : (tune_figure){0, 0, 0, 0};
    CHECK(f.n == 9, "%s: the pick's figure pools %d repeats, want 9", names[k], f.n);
  }
  const int other = 7; /* a default that was never confirmed: the best stands */
  const tune_record *p = tune_log_pick(l, "noisy", &other, 1);
  CHECK(p && p->config[0] == 2, "unconfirmed default: pick config %d, want 2", p ? p->config[0] : -1);
  tune_log_close(l);
}

/* ---- merge / load ---- */

/* The whole of a file, NUL-terminated (malloc'ed), or NULL. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strdup(buf);
}

static int same_bytes(const char *a, const char *b) {
  char *x = slurp(a), *y = slurp(b);
  int same = x && y && !strcmp(x, y);
  free(x);
  free(y);
  return same;
}

static int merge(const char *out, const char *a, const char *b, const char *c, warns *w, tune_merge_stats *st) {
  const char *in[] = {a, b, c};
  chm_err e = {0};
  memset(w, 0, sizeof *w);
  int rc = tune_log_merge(out, in, c ? 3 : b ? 2 : 1, on_warn, w, st, &e);
  CHECK(rc == 0, "merge into %s: %s", out, e.msg);
  return rc;
}

/* Two machines' logs that share records (one appended to both, as a copy
 * would), with confirmations, another CPU, older kernels and a malformed
 * line: their merge is the same bytes in either order, merging it again
 * changes nothing, every distinct record is in it once, and the malformed
 * line is reported with its file and line. */
static void test_merge(void) {
  char pa[4096], pb[4096], o1[4096], o2[4096], o3[4096];
  snprintf(pa, sizeof pa, "%s", scratch("merge_a.jsonl"));
  snprintf(pb, sizeof pb, "%s", scratch("merge_b.jsonl"));
  snprintf(o1, sizeof o1, "%s", scratch("merge_ab.jsonl"));
  snprintf(o2, sizeof o2, "%s", scratch("merge_ba.jsonl"));
  snprintf(o3, sizeof o3, "%s", scratch("merge_again.jsonl"));
  warns w;
  tune_log *a = open_log(pa, NULL, NULL, &w), *b = open_log(pb, NULL, NULL, &w);
  if (!a || !b) return;
  for (int i = 0; i < 6; i++) {
    tune_record r = make(i % 2 ? "T1" : "T2", 100 - i, i == 3 ? MEAS_TIMEOUT : MEAS_OK);
    r.confirm = i == 5;
    append(i < 4 ? a : b, &r);
    if (i == 2) append(b, &r); /* the same measurement in both logs */
  }
  tune_record other = make("T1", 7, MEAS_OK);
  snprintf(other.cpu, sizeof other.cpu, "neoverse-n1");
  append(b, &other);
  tune_log_close(a);
  tune_log_close(b);
  FILE *f = fopen(pb, "a");
  if (f) {
    fputs("{\"version\":1,\"target\":\"x86_64-linux-gnu\",\"cpu\":\"skylake-avx512\",\"task\":\"old\","
          "\"flops\":1e6,\"config\":[1],\"tuner\":\"ga\",\"times\":[0.5],\"status\":\"ok\",\"message\":\"\","
          "\"timestamp\":1.5,\"compile_s\":0.1,\"run_s\":0.2,\"kernels\":1}\n"
          "{\"version\":1, cut\n",
          f);
    fclose(f);
  }
  tune_merge_stats st;
  if (merge(o1, pa, pb, NULL, &w, &st)) return;
  CHECK(st.files == 2 && st.records == 8 && st.duplicates == 1 && st.malformed == 1,
        "merged %d files: %d records, %d duplicates, %d malformed; want 2, 8, 1, 1", st.files, st.records,
        st.duplicates, st.malformed);
  CHECK(w.n == 1 && w.line[0] == 6 && strstr(w.msg[0], "merge_b.jsonl:6:"), "malformed line: %s",
        w.n ? w.msg[0] : "not reported");
  CHECK(count_lines(o1) == 8, "%d lines in the merge", count_lines(o1));
  if (merge(o2, pb, pa, NULL, &w, &st)) return;
  CHECK(same_bytes(o1, o2), "merge(a, b) and merge(b, a) differ");
  if (merge(o3, o1, NULL, NULL, &w, &st)) return;
  CHECK(same_bytes(o1, o3) && st.duplicates == 0, "merge(merge(a, b)) differs from merge(a, b)");
  if (merge(o3, o1, pa, pb, &w, &st)) return;
  CHECK(same_bytes(o1, o3) && st.duplicates == 9, "merge(merge(a, b), a, b) differs from merge(a, b)");
  /* the older kernels' record is kept, but a log for this machine skips it */
  char *text = slurp(o1);
  CHECK(text && strstr(text, "\"task\":\"old\"") && strstr(text, "\"kernels\":1}"), "older record not kept");
  free(text);
  tune_log *m = open_log(o1, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!m) return;
  CHECK(tune_log_size(m) == 6 && tune_log_stale(m) == 1 && tune_log_count(m, "T1") == 2,
        "merged log for this machine: %d records, %d stale, %d of T1", tune_log_size(m), tune_log_stale(m),
        tune_log_count(m, "T1"));
  /* merging into one of the inputs replaces it */
  if (merge(pa, pa, pb, NULL, &w, &st)) return;
  CHECK(same_bytes(o1, pa), "merge into an input differs");
  tune_log_close(m);
}

/* Logs loaded one after another: a record read twice is loaded once; the
 * best config does not depend on the order (equal medians included). */
static void test_load(void) {
  char pa[4096], pb[4096];
  snprintf(pa, sizeof pa, "%s", scratch("load_a.jsonl"));
  snprintf(pb, sizeof pb, "%s", scratch("load_b.jsonl"));
  warns w;
  tune_log *a = open_log(pa, NULL, NULL, &w), *b = open_log(pb, NULL, NULL, &w);
  if (!a || !b) return;
  static const double t1[] = {2.0, 1.0, 3.0}, t2[] = {2.0, 2.0, 2.0}, t3[] = {5.0};
  tune_record r1 = conf_rec(4, 0, 3, t1), r2 = conf_rec(2, 0, 3, t2), r3 = conf_rec(1, 0, 1, t3);
  r2.timestamp = r1.timestamp + 1; /* equal medians; r1 earlier */
  append(a, &r1);
  append(a, &r3);
  append(b, &r2);
  append(b, &r3);
  tune_log_close(a);
  tune_log_close(b);
  const char *orders[2][2] = {{pa, pb}, {pb, pa}};
  for (int o = 0; o < 2; o++) {
    chm_err e = {0};
    tune_log *l = open_log(NULL, "x86_64-linux-gnu", "skylake-avx512", &w);
    if (!l) return;
    for (int i = 0; i < 2; i++) CHECK(tune_log_load(l, orders[o][i], on_warn, &w, &e) == 0, "%s", e.msg);
    CHECK(tune_log_load(l, orders[o][0], on_warn, &w, &e) == 0, "%s", e.msg);
    CHECK(tune_log_size(l) == 3 && tune_log_duplicates(l) == 3 && tune_log_count(l, "T") == 3,
          "order %d: %d records, %d duplicates", o, tune_log_size(l), tune_log_duplicates(l));
    const tune_record *best = tune_log_best(l, "T");
    CHECK(best && best->config[0] == 4, "order %d: best config %d, want 4 (the earlier of equal medians)", o,
          best ? best->config[0] : -1);
    CHECK(tune_log_load(l, scratch("missing.jsonl"), on_warn, &w, &e) != 0 && strstr(e.msg, "missing.jsonl"),
          "a missing log: %s", e.msg);
    tune_log_close(l);
  }
  /* a line copied within one file (cat a b > c) is one record too */
  char *text = slurp(pa);
  FILE *f = fopen(pa, "a");
  if (text && f) fputs(text, f);
  if (f) fclose(f);
  free(text);
  tune_log *l = open_log(pa, "x86_64-linux-gnu", "skylake-avx512", &w);
  if (!l) return;
  CHECK(tune_log_size(l) == 2 && tune_log_duplicates(l) == 2 && count_lines(pa) == 4, "copied lines: %d records",
        tune_log_size(l));
  tune_log_close(l);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_log TEST SCRATCH_DIR\n");
    return 2;
  }
  dir = argv[2];
  static const struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {
      {"confirm", test_confirm},
      {"roundtrip", test_roundtrip}, {"escape", test_escape},       {"filter", test_filter},
      {"malformed", test_malformed}, {"queries", test_queries},     {"appendbad", test_appendbad},
      {"concurrent", test_concurrent}, {"scale", test_scale},       {"kernels", test_kernels},
      {"readonly", test_readonly},   {"threads", test_threads},     {"merge", test_merge},
      {"load", test_load},           {"reference", test_reference}, {"pick", test_pick},
      {"hints", test_hints},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (!strcmp(argv[1], tests[i].name)) {
      tests[i].fn();
      if (failures) fprintf(stderr, "%s: %d failures\n", argv[1], failures);
      return failures ? 1 : 0;
    }
  fprintf(stderr, "test_log: unknown test '%s'\n", argv[1]);
  return 2;
}
