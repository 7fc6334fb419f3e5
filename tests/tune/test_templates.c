/*
 * test_templates.c — every tunable template, on odd workloads (prime sizes,
 * 1x1, stride 2, dilation, depthwise, grouped, plain input, residual, batch 2, dense
 * with a partial last vector, transposed A), built with its default and
 * with random valid configs and checked by the measurer against the
 * OpenBLAS reference: every one must be "ok".
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tpl_conv conv(int64_t n, int64_t c, int64_t h, int64_t w, int cbi, int64_t k, int64_t r,
                     int64_t s, int64_t d, int64_t p, int dw, int L) {
  tpl_conv x = {0};
  int64_t oh = (h + 2 * p - d * (r - 1) - 1) / s + 1, ow = (w + 2 * p - d * (r - 1) - 1) / s + 1;
  x.in = (tpl_view){n, c, h, w, cbi, p, p};
  x.out = (tpl_view){n, k, oh, ow, L, 0, 0};
  x.kh = x.kw = r;
  x.sh = x.sw = s;
  x.dh = x.dw = d;
  x.pt = x.pl = p;
  x.depthwise = dw;
  return x;
}

int main(int argc, char **argv) {
  int per = argc > 1 ? atoi(argv[1]) : 6;
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return 1;
  int L = tgt.lanes;
  tune_task tasks[16];
  int nt = 0;
  tpl_conv c;
  c = conv(1, 13, 17, 19, L, 29, 3, 1, 1, 1, 0, L); tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 7, 23, 11, L, 37, 1, 2, 1, 0, 0, L); tune_task_init_conv(&tasks[nt++], &c);
  c = conv(2, 3, 31, 29, 1, 17, 5, 2, 1, 2, 0, L); tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 19, 11, 13, L, 19, 3, 1, 2, 2, 0, L); c.epi.act = CHM_ACT_RELU; tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 41, 15, 15, L, 41, 3, 2, 1, 1, 1, L); c.epi.act = CHM_ACT_CLIP; c.epi.a = 0; c.epi.b = 6;
  tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 32, 9, 9, L, 48, 3, 1, 1, 1, 0, L);
  c.epi.has_residual = 1;
  c.epi.res = c.out;
  c.epi.res.hw = 1;
  tune_task_init_conv(&tasks[nt++], &c);
  /* grouped: several groups per channel block (two widths), and groups of whole blocks */
  int64_t cpg = L >= 8 ? L / 4 : 2;
  c = conv(1, 13 * cpg, 11, 9, L, 13 * cpg, 3, 2, 1, 1, 0, L); c.groups = 13; c.epi.act = CHM_ACT_RELU;
  tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 5 * 2 * cpg, 7, 12, L, 5 * 2 * cpg, 3, 1, 1, 1, 0, L); c.groups = 5; c.epi.act = CHM_ACT_SILU;
  tune_task_init_conv(&tasks[nt++], &c);
  c = conv(1, 3 * L, 9, 10, L, 6 * L, 3, 1, 1, 1, 0, L); c.groups = 3; c.epi.act = CHM_ACT_SIGMOID;
  tune_task_init_conv(&tasks[nt++], &c);
  tpl_dense d = {1, 97, 53, 0, L, {0}, 0};
  tune_task_init_dense(&tasks[nt++], &d);
  d = (tpl_dense){6, 64, 40, 1, L, {.act = CHM_ACT_RELU}, 0};
  tune_task_init_dense(&tasks[nt++], &d);
  d = (tpl_dense){4, 33, 48, 0, L, {.has_residual = 1}, 0};
  tune_task_init_dense(&tasks[nt++], &d);

  meas_opts o = meas_defaults();
  o.min_repeat_ms = 0.5;
  o.repeats = 1;
  unsigned rng = 2024;
  int failures = 0, total = 0;
  for (int i = 0; i < nt; i++) {
    meas_measurer *m = tune_measurer_new(&tasks[i], &tgt, &o, NULL, &e);
    int idx[TUNE_MAX_KNOBS];
    for (int j = 0; j <= per; j++) {
      if (j == 0) tune_task_default(&tasks[i], idx);
      else if (!tune_random_valid(&tasks[i], &rng, idx)) break;
      tune_record r = {0};
      tune_measure(m, &tasks[i], idx, &r);
      total++;
      if (r.status != MEAS_OK) {
        failures++;
        char cfg[128] = "";
        for (int k = 0; k < tasks[i].space.n_knobs; k++)
          snprintf(cfg + strlen(cfg), sizeof cfg - strlen(cfg), "%s=%lld ", tasks[i].space.knobs[k].name,
                   (long long)tasks[i].space.knobs[k].v[idx[k]]);
        printf("FAIL %s [%s]: %s %s\n", tasks[i].key, cfg, meas_status_name(r.status), r.message);
      }
    }
    meas_free(m);
  }
  printf("%d passed, %d failed\n", total - failures, failures);
  return failures != 0;
}
