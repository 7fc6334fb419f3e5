/*
 * test_tuner_run.c — the real path end to end: a tuning run of one method
 * on a small conv task with the local JIT measurer (test_tuner_fake checks
 * the loop itself, exactly and fast) completes within its budget, measures
 * nothing twice, and its best kernel passes the numeric check against the
 * OpenBLAS reference when measured again. After the budget, the 3 best are confirmed (TUNE_CONFIRM_ROUNDS
 * measurements each, not counted in the budget), the best is one of them,
 * and running again measures nothing more.   test_tuner_run METHOD BUDGET
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../conv_layer.h"

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "chameleon";
  int budget = argc > 2 ? atoi(argv[2]) : 16;
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return 1;
  tpl_conv w = conv_layer(32, 14, 48, 3, 1, 1, tgt.lanes);
  w.epi.act = CHM_ACT_RELU;
  tune_task t;
  tune_task_init_conv(&t, &w);
  t.uses = 1;
  tune_log *log = tune_log_open(NULL, tgt.triple, tgt.cpu, NULL, NULL, &e);
  meas_opts o = meas_defaults();
  o.min_repeat_ms = 2;
  tune_session s = {.log = log, .target = &tgt, .meter = tune_meter_local(&tgt, &o),
                    .method = tune_method_find(name), .seed = 3, .batch = 64, .confirm = 3};
  if (!s.method) return fprintf(stderr, "unknown method %s\n", name), 1;
  double t0 = chm_now();
  if (tune_task_run(&s, &t, budget, 0, 1, &e)) return fprintf(stderr, "tuning failed: %s\n", e.msg), 1;
  int n = tune_log_count(log, t.key), fails = 0;
  const tune_record *best = tune_log_best(log, t.key);
  printf("%s: %d measurements in %.1f s, best %.1f GFLOP/s\n", name, n, chm_now() - t0,
         best ? tune_throughput(best) : 0.0);
  if (n != budget) printf("FAIL: %d measurements, budget %d\n", n, budget), fails++;
  int confirms = 0;
  for (int i = 0; i < tune_log_size(log); i++) {
    confirms += tune_log_get(log, i)->confirm;
    for (int j = 0; j < i && !tune_log_get(log, i)->confirm; j++)
      if (!tune_log_get(log, j)->confirm &&
          !memcmp(tune_log_get(log, i)->config, tune_log_get(log, j)->config, sizeof(int) * t.space.n_knobs))
        printf("FAIL: measurements %d and %d have the same config\n", j, i), fails++;
  }
  printf("%d confirmations\n", confirms);
  if (confirms != 3 * TUNE_CONFIRM_ROUNDS) printf("FAIL: %d confirmations, want 9\n", confirms), fails++;
  if (best && !best->confirm) printf("FAIL: the best is not a confirmed config\n"), fails++;
  int size = tune_log_size(log);
  if (tune_task_run(&s, &t, budget, 0, 1, &e) || tune_log_size(log) != size)
    printf("FAIL: a second run measured %d more\n", tune_log_size(log) - size), fails++;
  if (!best) {
    printf("FAIL: no successful measurement\n");
    return 1;
  }
  meas_measurer *m = tune_measurer_new(&t, &tgt, &o, NULL, &e);
  tune_record r = {0};
  tune_measure(m, &t, best->config, &r);
  printf("best config again: %s %s\n", meas_status_name(r.status), r.message);
  if (r.status != MEAS_OK) fails++;
  meas_free(m);
  tune_meter_free(s.meter);
  tune_log_close(log);
  printf("%s\n", fails ? "FAILED" : "ok");
  return fails != 0;
}
