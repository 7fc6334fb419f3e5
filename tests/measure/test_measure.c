/*
 * test_measure.c — the measurer classifies results: a good kernel is ok and
 * timed, a wrong one is a wrong answer, one that crashes is a runtime
 * error, one that hangs is a timeout; the tuner process survives them all.
 * A cold measurer (weights flushed before each run) checks and times too.
 * With a reference kernel, every repeat is read beside the reference's.
 */
#include "chamcc/measure.h"
#include "chamcc/tune.h"

#include <stdio.h>
#include <string.h>

#include "../check.h"

/* A kernel with the conv task's four parameters that runs `body` only. */
static ir_kernel *custom(chm_arena *a, int kind) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, "custom");
  ir_param(&b, "in", 0);
  ir_param(&b, "w", 0);
  ir_param(&b, "bias", 0);
  ir_buf *out = ir_param(&b, "out", 0);
  int v = ir_new_var(&b);
  if (kind == 0) { /* crash: write far outside any buffer */
    k->body = ir_store(&b, out, ir_int(&b, (int64_t)1 << 40), ir_float(&b, 1, 1));
  } else { /* hang: a loop that would run for days */
    ir_expr *i = ir_bin(&b, IR_MOD, ir_var(&b, v), ir_int(&b, 16));
    k->body = ir_for(&b, v, ir_int(&b, 0), ir_int(&b, (int64_t)1 << 50), IR_LOOP_SERIAL,
                     ir_store(&b, out, i, ir_add(&b, ir_load(&b, out, i, 1), ir_float(&b, 1, 1))));
  }
  return k;
}

/* meas_kernel into a record, as the tuner records it. */
static void measure_kernel(meas_measurer *m, const ir_kernel *k, tune_record *r) {
  meas_result res;
  meas_kernel(m, k, &res);
  tune_record_result(r, &res);
}

int main(void) {
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return 1;
  tpl_conv w = {0};
  w.in = (tpl_view){1, 19, 13, 11, tgt.lanes, 1, 1};
  w.out = (tpl_view){1, 23, 13, 11, tgt.lanes, 0, 0};
  w.kh = w.kw = 3;
  w.sh = w.sw = w.dh = w.dw = 1;
  w.pt = w.pl = 1;
  w.epi.act = CHM_ACT_RELU;
  tune_task t;
  tune_task_init_conv(&t, &w);
  meas_opts o = meas_defaults();
  o.timeout_s = 2;
  o.min_repeat_ms = 2;
  meas_measurer *m = tune_measurer_new(&t, &tgt, &o, NULL, &e);
  CHECK(m != NULL);
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(&t, idx);
  tune_record r = {0};
  tune_measure(m, &t, idx, &r);
  printf("default: %s %s, %d times, median %.3g s, compile %.3f s\n", meas_status_name(r.status), r.message,
         r.n_times, tune_record_median(&r), r.compile_s);
  CHECK(r.status == MEAS_OK && r.n_times == o.repeats && tune_record_median(&r) > 0);

  chm_arena *a = chm_arena_new();
  tune_task wrong = t; /* same kernel shape, other activation: other numbers */
  wrong.conv.epi.act = CHM_ACT_SIGMOID;
  measure_kernel(m, tune_task_kernel(&wrong, idx, a, "wrong"), &r);
  printf("wrong: %s %s\n", meas_status_name(r.status), r.message);
  CHECK(r.status == MEAS_WRONG_ANSWER);

  measure_kernel(m, custom(a, 0), &r);
  printf("crash: %s %s\n", meas_status_name(r.status), r.message);
  CHECK(r.status == MEAS_RUNTIME_ERROR && strstr(r.message, "signal"));

  double t0 = chm_now();
  measure_kernel(m, custom(a, 1), &r);
  printf("hang: %s %s (%.1f s)\n", meas_status_name(r.status), r.message, chm_now() - t0);
  CHECK(r.status == MEAS_TIMEOUT && chm_now() - t0 < 10);

  /* an invalid config is refused without building anything */
  idx[0] = t.space.knobs[0].n;
  tune_measure(m, &t, idx, &r);
  CHECK(r.status == MEAS_COMPILE_ERROR && strstr(r.message, "invalid"));

  /* and the measurer still works after all that */
  tune_task_default(&t, idx);
  tune_measure(m, &t, idx, &r);
  CHECK(r.status == MEAS_OK && r.n_ref == 0);

  /* beside a reference kernel (the default itself): every repeat has the
   * reference's reading too (how well the ratio ranks: test_interleave) */
  CHECK(meas_set_reference(m, tune_task_kernel(&t, idx, a, "candidate"), &e) == 0, "%s", e.msg);
  tune_measure(m, &t, idx, &r);
  printf("beside itself: %s, %d times, %d reference readings\n", meas_status_name(r.status), r.n_times, r.n_ref);
  for (int i = 0; i < r.n_ref; i++) printf("  %.3g s beside %.3g s\n", r.times[i], r.ref_times[i]);
  CHECK(r.status == MEAS_OK && r.n_times == o.repeats && r.n_ref == r.n_times);
  for (int i = 0; i < r.n_ref; i++) CHECK(r.times[i] > 0 && r.ref_times[i] > 0, "repeat %d", i);
  measure_kernel(m, tune_task_kernel(&wrong, idx, a, "wrong"), &r); /* still checked */
  CHECK(r.status == MEAS_WRONG_ANSWER);
  e.set = 0;
  CHECK(meas_set_reference(m, NULL, &e) == -1 && strstr(e.msg, "reference"), "no reference kernel: '%s'", e.msg);
  chm_arena_free(a);
  meas_free(m);

  /* cold: each run alone, the weights flushed first; checked and timed the same way */
  o.cold = 1;
  m = tune_measurer_new(&t, &tgt, &o, NULL, &e);
  CHECK(m != NULL);
  if (m) {
    tune_measure(m, &t, idx, &r);
    printf("cold default: %s %s, %d times, median %.3g s\n", meas_status_name(r.status), r.message, r.n_times,
           tune_record_median(&r));
    CHECK(r.status == MEAS_OK && r.n_times == o.repeats && tune_record_median(&r) > 0);
    a = chm_arena_new();
    measure_kernel(m, tune_task_kernel(&wrong, idx, a, "wrong"), &r);
    CHECK(r.status == MEAS_WRONG_ANSWER, "cold wrong: %s", meas_status_name(r.status));
    chm_arena_free(a);
    meas_free(m);
  }
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
