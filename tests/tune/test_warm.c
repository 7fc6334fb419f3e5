/*
 * test_warm.c — the warm start of the model-based methods: with a log that
 * holds only another task's records, the first batch of a new task is
 * proposed by a cost model fitted on them, not drawn at random, and it is
 * better than random.
 *
 * No kernel is run. The "measured" throughput of a config is a score that
 * means the same on every conv task: the FMAs of the register tile per
 * vector it loads (weights plus broadcasts), zero when the tile needs more
 * registers than there are. Task B's log holds 300 random configs of B
 * with that score; task A (another shape) is proposed 32 configs by each
 * method with and without warm start. Without it the batch is random; with
 * it, the batch's mean score must beat the random batch's by 15%.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "../conv_layer.h"

static tpl_conv conv(int64_t c, int64_t hw, int64_t k) { return conv_layer(c, hw, k, 3, 1, 1, 16); }

/* GFLOP/s-like score, the same function on every task. */
static double score(const tune_task *t, const int *idx) {
  tpl_conv_cfg c;
  tune_task_conv_cfg(t, idx, &c);
  double acc = (double)c.oc_bn * c.ow_bn * c.oh_bn;
  if (acc + c.oc_bn + 1 > 32) return 0;
  return 100 * acc / (c.oc_bn + (double)c.ow_bn * c.oh_bn);
}

static tune_record fake(const tune_task *t, const int *idx) {
  tune_record r = {.version = TUNE_LOG_VERSION, .flops = t->flops, .n_config = t->space.n_knobs};
  snprintf(r.task, sizeof r.task, "%s", t->key);
  snprintf(r.target, sizeof r.target, "x86_64-linux-gnu");
  snprintf(r.cpu, sizeof r.cpu, "test");
  memcpy(r.config, idx, sizeof r.config);
  double s = score(t, idx);
  r.status = s > 0 ? MEAS_OK : MEAS_RUNTIME_ERROR;
  r.n_times = s > 0;
  r.times[0] = s > 0 ? t->flops / (s * 1e9) : 0;
  return r;
}

/* Mean score of the first batch `method` proposes for task a. */
static double first_batch(const char *method, const tune_task *a, tune_log *log, int warm, int *n_out) {
  const tune_method *m = tune_method_find(method);
  unsigned rng = 7;
  double fit_s = 0;
  tune_ctx c = {a, log, &rng, &fit_s, warm};
  void *st = m->create(a, 11);
  int cfgs[32 * TUNE_MAX_KNOBS];
  int n = m->propose(st, &c, cfgs, 32);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += score(a, cfgs + i * TUNE_MAX_KNOBS);
  m->destroy(st);
  *n_out = n;
  return n ? sum / n : 0;
}

int main(void) {
  chm_err e = {0};
  tune_log *log = tune_log_open(NULL, "x86_64-linux-gnu", "test", NULL, NULL, &e);
  CHECK(log != NULL);
  tpl_conv wb = conv(64, 56, 64), wa = conv(128, 28, 256);
  tune_task b, a;
  tune_task_init_conv(&b, &wb);
  tune_task_init_conv(&a, &wa);
  unsigned rng = 3;
  int idx[TUNE_MAX_KNOBS];
  for (int i = 0; i < 300; i++) {
    if (!tune_random_valid(&b, &rng, idx) || tune_log_has(log, b.key, idx, b.space.n_knobs)) continue;
    tune_record r = fake(&b, idx);
    CHECK(tune_log_append(log, &r, &e) == 0);
  }
  static const char *const methods[] = {"autotvm", "chameleon"};
  for (int i = 0; i < 2; i++) {
    int n_cold = 0, n_warm = 0;
    double cold = first_batch(methods[i], &a, log, 0, &n_cold);
    double warm = first_batch(methods[i], &a, log, 1, &n_warm);
    printf("%s: first batch mean score %.1f cold (%d configs), %.1f warm (%d)\n", methods[i], cold, n_cold, warm,
           n_warm);
    CHECK(n_cold > 0 && n_warm > 0);
    CHECK(warm > 1.15 * cold);
  }
  /* a log of too few rows leaves the first batch random */
  tune_log *small = tune_log_open(NULL, "x86_64-linux-gnu", "test", NULL, NULL, &e);
  for (int i = 0; i < 10 && tune_random_valid(&b, &rng, idx); i++) {
    tune_record r = fake(&b, idx);
    tune_log_append(small, &r, &e);
  }
  int n1 = 0, n2 = 0;
  double s1 = first_batch("autotvm", &a, small, 1, &n1), s2 = first_batch("autotvm", &a, small, 0, &n2);
  CHECK(n1 == n2 && s1 == s2); /* same random draws */
  tune_log_close(small);
  tune_log_close(log);
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
