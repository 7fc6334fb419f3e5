/*
 * test_tuner_bounds.c — a tuning task always ends (issue 26), on a small
 * dense task with a budget of 10 (measured by the fake measurer, but for
 * the runner case):
 *
 *  - a method that proposes only a config measured already (a bug the
 *    tuner must survive) ends the task after TUNE_IDLE_ROUNDS such rounds,
 *    with one warning, instead of spinning;
 *  - a method with nothing to propose ends it at once, with one warning;
 *  - a runner that nobody listens to gives infra errors: the task fails
 *    after TUNE_INFRA_LIMIT of them, naming the runner, and the log stays
 *    empty (skipped without ld.lld, which remote candidates need).
 */
#include "chamcc/remote.h"
#include "chamcc/tune.h"

#include <stdlib.h>
#include <string.h>

#include "../check.h"

typedef struct fake {
  int proposals; /* propose calls */
} fake;

static void *fake_create(const tune_task *t, unsigned seed) {
  (void)t, (void)seed;
  return chm_calloc(1, sizeof(fake));
}

/* Proposes the template's default, measured in the first round, forever. */
static int stuck_propose(void *st, const tune_ctx *c, int *out, int n) {
  ((fake *)st)->proposals++;
  tune_task_default(c->task, out);
  return n > 0;
}

static int empty_propose(void *st, const tune_ctx *c, int *out, int n) {
  (void)c, (void)out, (void)n;
  ((fake *)st)->proposals++;
  return 0;
}

static int last_proposals; /* the last run's propose calls, read at destroy */

static void fake_destroy(void *st) {
  last_proposals = ((fake *)st)->proposals;
  free(st);
}

static void fake_update(void *st, const tune_ctx *c, const tune_record *r, int n) { (void)st, (void)c, (void)r, (void)n; }

static const tune_method stuck = {"stuck", fake_create, stuck_propose, fake_update, fake_destroy};
static const tune_method empty = {"empty", fake_create, empty_propose, fake_update, fake_destroy};

static int warnings;
static char last_warning[512];

static void on_warn(void *ctx, const char *msg) {
  (void)ctx;
  warnings++;
  snprintf(last_warning, sizeof last_warning, "%s", msg);
  printf("warning: %s\n", msg);
}

static int last_rc; /* the last run's tune_task_run result */

/* Runs method m on task t with a fresh in-memory log; returns the log's
 * size (last_rc and e say whether and why the run failed). */
static int run(const tune_method *m, const tune_task *t, const cg_target *tgt, const char *runner, chm_err *e) {
  tune_log *log = tune_log_open(NULL, tgt->triple, tgt->cpu, NULL, NULL, e);
  meas_opts o = meas_defaults();
  o.min_repeat_ms = 1;
  tune_meter *meter = runner ? tune_meter_remote(tgt, &o, runner) : tune_meter_fake(&(tune_fake_opts){0});
  tune_session s = {.log = log, .target = tgt, .meter = meter, .method = m, .seed = 1, .batch = 4, .warn = on_warn};
  warnings = 0;
  last_rc = tune_task_run(&s, t, 10, 0, 1, e);
  tune_meter_free(meter);
  int n = tune_log_size(log);
  tune_log_close(log);
  return n;
}

int main(void) {
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  tune_task t;
  tune_task_init_dense(&t, &(tpl_dense){1, 64, 32, 0, tgt.lanes, {0}, tgt.vregs});
  t.uses = 1;

  int n = run(&stuck, &t, &tgt, NULL, &e);
  CHECK(last_rc == 0 && n == 1, "a stuck method: %d records (%s)", n, e.msg);
  CHECK(last_proposals == 1 + TUNE_IDLE_ROUNDS, "%d proposal rounds", last_proposals);
  CHECK(warnings == 1 && strstr(last_warning, "only measured configs") && strstr(last_warning, "1 of 10"),
        "%d warnings, last '%s'", warnings, last_warning);

  n = run(&empty, &t, &tgt, NULL, &e);
  CHECK(last_rc == 0 && n == 1, "an empty method: %d records (the default only)", n);
  CHECK(last_proposals == 2, "%d proposal rounds", last_proposals);
  CHECK(warnings == 1 && strstr(last_warning, "no unmeasured valid config"), "last '%s'", last_warning);

  char linker[4096];
  chm_err no = {0};
  if (rmt_find_linker(linker, sizeof linker, &no)) {
    printf("skipped the runner case: %s\n", no.msg);
  } else {
    const tune_method *random = tune_method_find("random");
    n = run(random, &t, &tgt, "127.0.0.1:1", &e); /* nothing listens on port 1 */
    CHECK(last_rc == -1 && strstr(e.msg, "3 times in a row") && strstr(e.msg, "runner 127.0.0.1:1"), "'%s'", e.msg);
    CHECK(n == 0, "%d records of a runner that was never there", n);
    printf("lost runner: %s\n", e.msg);
  }

  if (failures) fprintf(stderr, "test_tuner_bounds: %d checks failed\n", failures);
  else printf("test_tuner_bounds: all checks passed\n");
  return failures != 0;
}
