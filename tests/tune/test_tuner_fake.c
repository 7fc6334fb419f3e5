/*
 * test_tuner_fake.c — the tuning loop, exactly, with the fake measurer
 * (tune_meter_fake: a known smooth time per config plus seeded noise, no
 * compiling), so each case takes milliseconds on any machine.
 *
 *   test_tuner_fake budget METHOD   the budget is spent exactly, no config
 *                                   twice, the 4 best confirmed
 *                                   TUNE_CONFIRM_ROUNDS times each, the best
 *                                   is a confirmed config
 *   test_tuner_fake optimum METHOD  on a small conv task the best found is
 *                                   the true optimum, within twice the
 *                                   noise (a model-based METHOD)
 *   test_tuner_fake resume          a second run continues the log: it
 *                                   measures only the rest, nothing twice;
 *                                   a third measures nothing
 *   test_tuner_fake infra           infra errors are neither written nor
 *                                   charged, nor do they cost a
 *                                   confirmation; TUNE_INFRA_LIMIT in a
 *                                   row fail the task
 *   test_tuner_fake stop            the stop flag ends the task after the
 *                                   measurement in flight
 *   test_tuner_fake default         as chamcc's builds tune (confirm_default):
 *                                   the default config, not among the
 *                                   finalists, is confirmed too, and a
 *                                   session without the flag does not
 *   test_tuner_fake drift METHOD    on a machine whose speed drifts by up
 *                                   to 2x between measurements, readings
 *                                   taken beside a reference let the tuner
 *                                   find the true optimum as a steady
 *                                   machine would; with `grid` (every
 *                                   config measured) the plain readings
 *                                   are shown to pick a worse one
 *   test_tuner_fake hints FILE      a task tuned on 2 threads, with the
 *                                   log FILE holding it tuned on 1,
 *                                   measures the 1-thread pick right
 *                                   after the default
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../conv_layer.h"

enum { CONFIRM = 4, NOISE_PERCENT = 2, OPT_BUDGET = 128 };

static cg_target tgt;

/* A small conv task: 4096 configs, 1760 of them valid (with 8 lanes). Its
 * "flat" knob keeps one option: these tests are of the tuners, on the space
 * they were written for, not of the template's knobs. */
static tune_task small_task(void) {
  tune_task t;
  tpl_conv w = conv_layer(16, 8, 16, 3, 1, 1, tgt.lanes);
  tune_task_init_conv(&t, &w);
  for (int k = 0; k < t.space.n_knobs; k++)
    if (!strcmp(t.space.knobs[k].name, "flat")) t.space.knobs[k].n = 1;
  t.uses = 1;
  return t;
}

static void on_warn(void *ctx, const char *msg) { printf("warning: %s\n", msg); }

static tune_session session(tune_log *log, tune_meter *m, const char *method) {
  tune_session s = {.log = log, .target = &tgt, .meter = m, .method = tune_method_find(method), .seed = 3,
                    .batch = 16, .confirm = CONFIRM, .warn = on_warn};
  CHECK(s.method, "unknown method %s", method);
  return s;
}

static tune_meter *fake(int infra_every) {
  return tune_meter_fake(&(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .infra_every = infra_every});
}

static tune_log *empty_log(void) {
  chm_err e = {0};
  return tune_log_open(NULL, tgt.triple, tgt.cpu, NULL, NULL, &e);
}

/* Records of the log: single measurements (checking that no config comes
 * twice among them) and confirmations. */
static void count(const tune_log *log, const tune_task *t, int *singles, int *confirms) {
  *singles = *confirms = 0;
  for (int i = 0; i < tune_log_size(log); i++) {
    const tune_record *r = tune_log_get(log, i);
    CHECK(r->status == MEAS_OK, "record %d: %s", i, meas_status_name(r->status));
    if (r->confirm) {
      ++*confirms;
      continue;
    }
    ++*singles;
    for (int j = 0; j < i; j++) {
      const tune_record *q = tune_log_get(log, j);
      CHECK(q->confirm || memcmp(q->config, r->config, sizeof(int) * t->space.n_knobs),
            "records %d and %d measure the same config", j, i);
    }
  }
}

/* Runs one task; 0 or the tuner's error. */
static int run(tune_session *s, const tune_task *t, int budget) {
  chm_err e = {0};
  int rc = tune_task_run(s, t, budget, 0, 1, &e);
  if (rc) printf("tune_task_run: %s\n", e.msg);
  return rc;
}

static void test_budget(const char *method) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = fake(0);
  tune_session s = session(log, m, method);
  int budget = 40, singles, confirms;
  CHECK(run(&s, &t, budget) == 0);
  count(log, &t, &singles, &confirms);
  CHECK(singles == budget, "%d measurements, budget %d", singles, budget);
  CHECK(confirms == CONFIRM * TUNE_CONFIRM_ROUNDS, "%d confirmations", confirms);
  CHECK(tune_fake_count(m) == tune_log_size(log), "%d measured, %d recorded", tune_fake_count(m),
        tune_log_size(log));
  const tune_record *best = tune_log_best(log, t.key);
  CHECK(best && best->confirm, "the best is not a confirmed config");
  tune_meter_free(m);
  tune_log_close(log);
}

/* The smallest noise-free time over every valid config of t. */
static double true_optimum(const tune_task *t) {
  double best = INFINITY;
  int idx[TUNE_MAX_KNOBS];
  for (int64_t i = 0; i < tune_space_size(&t->space); i++) {
    tune_space_config(&t->space, i, idx);
    if (!tune_task_check(t, idx) && tune_fake_seconds(t, idx) < best) best = tune_fake_seconds(t, idx);
  }
  return best;
}

static void test_optimum(const char *method) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = fake(0);
  tune_session s = session(log, m, method);
  s.batch = 64;
  /* a search is a sample: with session seeds 1-6, rl ends within 4% of the
   * optimum in 5 (seed 3: 8% off), chameleon and autotvm in all 6 */
  s.seed = 1;
  CHECK(run(&s, &t, OPT_BUDGET) == 0);
  const tune_record *best = tune_log_best(log, t.key);
  double opt = true_optimum(&t), got = best ? tune_fake_seconds(&t, best->config) : INFINITY;
  printf("%s: space of %lld, best found %.4f ms, optimum %.4f ms\n", method, (long long)tune_space_size(&t.space),
         got * 1e3, opt * 1e3);
  CHECK(got <= opt * (1 + 2 * NOISE_PERCENT / 100.0), "best %.4f ms, optimum %.4f ms", got * 1e3, opt * 1e3);
  tune_meter_free(m);
  tune_log_close(log);
}

static void test_resume(void) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = fake(0);
  tune_session s = session(log, m, "chameleon");
  s.confirm = 0;
  int singles, confirms;
  CHECK(run(&s, &t, 20) == 0 && tune_fake_count(m) == 20, "first run: %d measured", tune_fake_count(m));
  s.confirm = CONFIRM;
  CHECK(run(&s, &t, 50) == 0);
  int second = tune_fake_count(m) - 20;
  CHECK(second == 30 + CONFIRM * TUNE_CONFIRM_ROUNDS, "the second run measured %d", second);
  count(log, &t, &singles, &confirms);
  CHECK(singles == 50 && confirms == CONFIRM * TUNE_CONFIRM_ROUNDS, "%d measurements, %d confirmations", singles,
        confirms);
  int before = tune_fake_count(m);
  CHECK(run(&s, &t, 50) == 0 && tune_fake_count(m) == before, "a third run measured %d",
        tune_fake_count(m) - before);
  tune_meter_free(m);
  tune_log_close(log);
}

static void test_infra(void) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = fake(4); /* every 4th fails: never 3 in a row */
  tune_session s = session(log, m, "random");
  int singles, confirms;
  CHECK(run(&s, &t, 30) == 0);
  count(log, &t, &singles, &confirms);
  int made = tune_fake_count(m);
  CHECK(singles == 30 && confirms == CONFIRM * TUNE_CONFIRM_ROUNDS, "%d measurements, %d confirmations", singles,
        confirms);
  CHECK(made - tune_log_size(log) == made / 4, "%d made, %d recorded", made, tune_log_size(log));
  tune_meter_free(m);
  tune_log_close(log);

  log = empty_log();
  m = fake(1); /* the measuring is broken */
  s = session(log, m, "random");
  chm_err e = {0};
  CHECK(tune_task_run(&s, &t, 30, 0, 1, &e) == -1 && strstr(e.msg, "3 times in a row"), "'%s'", e.msg);
  CHECK(tune_log_size(log) == 0 && tune_fake_count(m) == TUNE_INFRA_LIMIT, "%d records, %d measured",
        tune_log_size(log), tune_fake_count(m));
  tune_meter_free(m);
  tune_log_close(log);
}

/* Readings above the peak are measured again and never recorded; a
 * machine whose every reading is impossible ends the task, recording
 * nothing. */
static void test_suspect(void) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = tune_meter_fake(&(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .spike_every = 5});
  tune_session s = session(log, m, "random");
  s.peak_gflops = t.flops / true_optimum(&t) / 1e9 * 1.5; /* no true reading comes near it, every spike is above */
  int singles, confirms;
  CHECK(run(&s, &t, 30) == 0);
  count(log, &t, &singles, &confirms);
  int made = tune_fake_count(m);
  CHECK(singles == 30 && confirms == CONFIRM * TUNE_CONFIRM_ROUNDS, "%d measurements, %d confirmations", singles,
        confirms);
  CHECK(made - tune_log_size(log) == made / 5, "%d made, %d recorded, %d spikes", made, tune_log_size(log), made / 5);
  for (int i = 0; i < tune_log_size(log); i++)
    CHECK(tune_throughput(tune_log_get(log, i)) <= s.peak_gflops, "record %d is above the peak", i);
  /* every spiked config of the search was measured again and recorded: no single is missing */
  tune_meter_free(m);
  tune_log_close(log);

  /* A reference that read 10x too slow flatters the ratio the tuner ranks
   * by, while the candidate's own reading is true: caught all the same. */
  log = empty_log();
  m = tune_meter_fake(&(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .reference = 1,
                                        .ref_spike_every = 5});
  s = session(log, m, "random");
  s.peak_gflops = t.flops / true_optimum(&t) / 1e9 * 1.5;
  CHECK(run(&s, &t, 30) == 0);
  made = tune_fake_count(m);
  int kept = 0;
  for (int i = 0; i < tune_log_size(log); i++) {
    const tune_record *r = tune_log_get(log, i);
    kept += r->ref_times[0] > 5 * tune_log_ref_seconds(log, r->task);
    CHECK(tune_log_throughput(log, r) <= s.peak_gflops, "record %d ranks above the peak", i);
  }
  CHECK(kept == 0 && made - tune_log_size(log) == made / 5, "%d made, %d recorded, %d with a stalled reference",
        made, tune_log_size(log), kept);
  tune_meter_free(m);
  tune_log_close(log);

  log = empty_log();
  m = fake(0);
  s = session(log, m, "random");
  s.peak_gflops = 1e-6; /* every reading is above it */
  CHECK(run(&s, &t, 30) == 0);
  CHECK(tune_log_size(log) == 0, "%d records of impossible readings", tune_log_size(log));
  CHECK(tune_fake_count(m) <= TUNE_IDLE_ROUNDS * s.batch * (1 + TUNE_SUSPECT_RETRIES),
        "%d measurements before giving up", tune_fake_count(m));
  tune_meter_free(m);
  tune_log_close(log);
}

/* The config tune_log_best picks after tuning t for `budget` on a machine
 * drifting by up to 2x, with or without reference readings: its true
 * (noise-free) time. */
static double drifting_pick(const tune_task *t, const char *method, int budget, int reference) {
  tune_log *log = empty_log();
  tune_meter *m = tune_meter_fake(
      &(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .drift = 1.0, .reference = reference});
  tune_session s = session(log, m, method);
  s.batch = 64;
  CHECK(run(&s, t, budget) == 0);
  const tune_record *best = tune_log_best(log, t->key);
  double got = best ? tune_fake_seconds(t, best->config) : INFINITY;
  if (reference) { /* every record carries its reference reading; the scale is the default's time, slowed */
    int idx[TUNE_MAX_KNOBS];
    tune_task_default(t, idx);
    double ref = tune_log_ref_seconds(log, t->key), def = tune_fake_seconds(t, idx);
    CHECK(ref >= def * 0.95 && ref <= def * 2.05, "reference time %g s, default %g s", ref, def);
    for (int i = 0; i < tune_log_size(log); i++) CHECK(tune_log_get(log, i)->n_ref == 1, "record %d", i);
  }
  tune_meter_free(m);
  tune_log_close(log);
  return got;
}

/* Ranking by the ratio to the reference sees through a drifting machine. */
static void test_drift(const char *method) {
  tune_task t = small_task();
  double opt = true_optimum(&t);
  int valid = 0, idx[TUNE_MAX_KNOBS];
  for (int64_t i = 0; i < tune_space_size(&t.space); i++) {
    tune_space_config(&t.space, i, idx);
    valid += !tune_task_check(&t, idx);
  }
  int budget = strcmp(method, "grid") ? OPT_BUDGET : valid; /* grid: every config, the ranking alone decides */
  double with = drifting_pick(&t, method, budget, 1);
  printf("%s, %d measurements on a machine drifting by up to 2x: optimum %.4f ms; picked %.4f ms with a "
         "reference\n", method, budget, opt * 1e3, with * 1e3);
  CHECK(with <= opt * (1 + 2 * NOISE_PERCENT / 100.0), "with a reference: picked %.4f ms, optimum %.4f ms",
        with * 1e3, opt * 1e3);
  if (!strcmp(method, "grid")) { /* the premise: the drift does fool plain readings */
    double without = drifting_pick(&t, method, budget, 0);
    printf("grid without a reference: picked %.4f ms\n", without * 1e3);
    CHECK(without > opt * (1 + 2 * NOISE_PERCENT / 100.0), "without a reference the drift did not matter");
  }
}

static volatile int stop_flag;

static void stop_at_10(void *ctx, const tune_progress *p) {
  if (p->done == 10) stop_flag = 1;
}

static void test_stop(void) {
  tune_task t = small_task();
  tune_log *log = empty_log();
  tune_meter *m = fake(0);
  tune_session s = session(log, m, "autotvm");
  s.stop = &stop_flag, s.progress = stop_at_10;
  CHECK(run(&s, &t, 40) == 0);
  CHECK(tune_log_size(log) == 10 && tune_fake_count(m) == 10, "%d records, %d measured", tune_log_size(log),
        tune_fake_count(m));
  tune_meter_free(m);
  tune_log_close(log);
}

/* Confirmations of config idx of t in the log. */
static int confirms_of(const tune_log *log, const tune_task *t, const int *idx) {
  return tune_log_confirms(log, t->key, idx, t->space.n_knobs);
}

static void test_default(void) {
  tune_task t = small_task();
  int def[TUNE_MAX_KNOBS] = {0};
  tune_task_default(&t, def);
  for (int with = 0; with <= 1; with++) {
    tune_log *log = empty_log();
    tune_meter *m = tune_meter_fake(&(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .reference = 1});
    tune_session s = session(log, m, "random");
    s.confirm_default = with;
    int singles, confirms;
    CHECK(run(&s, &t, 40) == 0);
    count(log, &t, &singles, &confirms);
    printf("confirm_default %d: %d measurements, %d confirmations, %d of the default\n", with, singles, confirms,
           confirms_of(log, &t, def));
    CHECK(singles == 40, "%d measurements", singles);
    /* here the default is not one of the 4 best single readings */
    CHECK(confirms == (CONFIRM + with) * TUNE_CONFIRM_ROUNDS, "%d confirmations", confirms);
    CHECK(confirms_of(log, &t, def) == with * TUNE_CONFIRM_ROUNDS, "the default has %d confirmations",
          confirms_of(log, &t, def));
    tune_meter_free(m);
    tune_log_close(log);
  }
}

/* The task tuned on 1 thread into path, then on 2 with a budget of 2:
 * the default and the 1-thread pick are what the 2-thread run measures. */
static void test_hints(const char *path) {
  remove(path);
  tune_task t = small_task();
  int def[TUNE_MAX_KNOBS] = {0}, pick[TUNE_MAX_KNOBS] = {0}, nk = t.space.n_knobs;
  tune_task_default(&t, def);
  chm_err e = {0};
  for (int threads = 1; threads <= 2; threads++) {
    tune_log *log = tune_log_open_for(path, tgt.triple, tgt.cpu, threads, NULL, NULL, &e);
    CHECK(log != NULL, "%s: %s", path, e.msg);
    if (!log) return;
    tune_meter *m = tune_meter_fake(&(tune_fake_opts){.seed = 7, .noise = NOISE_PERCENT / 100.0, .reference = 1});
    tune_session s = session(log, m, "random");
    s.confirm_default = 1;
    t.mach.threads = threads;
    CHECK(run(&s, &t, threads == 1 ? 40 : 2) == 0);
    if (threads == 1) {
      const tune_record *p = tune_log_pick(log, t.key, def, nk);
      CHECK(p && memcmp(p->config, def, sizeof(int) * nk), "the 1-thread pick is the default");
      if (p) memcpy(pick, p->config, sizeof(int) * nk);
    } else {
      int singles, confirms;
      count(log, &t, &singles, &confirms);
      CHECK(singles == 2 && tune_log_has(log, t.key, def, nk) && tune_log_has(log, t.key, pick, nk),
            "%d measurements on 2 threads: want the default and the 1-thread pick", singles);
      CHECK(tune_log_get(log, 0)->threads == 2, "a 2-thread record says %d", tune_log_get(log, 0)->threads);
    }
    tune_meter_free(m);
    tune_log_close(log);
  }
}

int main(int argc, char **argv) {
  chm_err e = {0};
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  const char *what = argc > 1 ? argv[1] : "", *method = argc > 2 ? argv[2] : "chameleon";
  double t0 = chm_now();
  if (!strcmp(what, "budget")) test_budget(method);
  else if (!strcmp(what, "optimum")) test_optimum(method);
  else if (!strcmp(what, "resume")) test_resume();
  else if (!strcmp(what, "infra")) test_infra();
  else if (!strcmp(what, "stop")) test_stop();
  else if (!strcmp(what, "suspect")) test_suspect();
  else if (!strcmp(what, "drift")) test_drift(method);
  else if (!strcmp(what, "default")) test_default();
  else if (!strcmp(what, "hints") && argc > 2) test_hints(argv[2]);
  else return fprintf(stderr, "usage: test_tuner_fake budget|optimum|drift METHOD | resume | infra | suspect | stop | default | hints FILE\n"), 2;
  printf("%s %s: %.3f s\n", what, method, chm_now() - t0);
  if (failures) fprintf(stderr, "test_tuner_fake: %d checks failed\n", failures);
  return failures != 0;
}
