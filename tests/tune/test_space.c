/*
 * test_space.c — knob spaces: config <-> index round trips, the validity
 * check (every reason exercised), and the size of the ResNet-18 3x3 space.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "../conv_layer.h"

static tpl_conv resnet_conv(int64_t c, int64_t hw, int64_t k, int64_t r, int64_t s, int64_t p) {
  return conv_layer(c, hw, k, r, s, p, 16);
}

static int64_t count_valid(const tune_task *t) {
  int idx[TUNE_MAX_KNOBS];
  int64_t n = 0, size = tune_space_size(&t->space);
  for (int64_t i = 0; i < size; i++) {
    tune_space_config(&t->space, i, idx);
    if (!tune_task_check(t, idx)) n++;
  }
  return n;
}

static void test_round_trip(void) {
  tpl_conv w = resnet_conv(64, 56, 64, 3, 1, 1);
  tune_task t;
  tune_task_init_conv(&t, &w);
  int idx[TUNE_MAX_KNOBS];
  int64_t size = tune_space_size(&t.space);
  for (int64_t i = 0; i < size; i += 7) {
    tune_space_config(&t.space, i, idx);
    CHECK(tune_space_index(&t.space, idx) == i);
  }
  tune_space_config(&t.space, size - 1, idx);
  for (int k = 0; k < t.space.n_knobs; k++) CHECK(idx[k] == t.space.knobs[k].n - 1);
}

static void test_reasons(void) {
  tpl_conv w = resnet_conv(64, 56, 64, 3, 1, 1);
  tune_task t;
  tune_task_init_conv(&t, &w);
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(&t, idx);
  CHECK(tune_task_check(&t, idx) == NULL);
  int bad[TUNE_MAX_KNOBS];
  memcpy(bad, idx, sizeof bad);
  bad[0] = t.space.knobs[0].n; /* out of range */
  CHECK(tune_task_check(&t, bad) && strstr(tune_task_check(&t, bad), "out of range"));
  /* too many accumulators: largest oc_bn, ow_bn and oh_bn together */
  memcpy(bad, idx, sizeof bad);
  bad[0] = t.space.knobs[0].n - 1;
  bad[1] = t.space.knobs[1].n - 1;
  bad[2] = t.space.knobs[2].n - 1;
  CHECK(tune_task_check(&t, bad) && strstr(tune_task_check(&t, bad), "register tile"));
  /* grain of twice the row tiles or more: oh_bn = 8 leaves 7 row tiles, grain 16
   * (grain 8 takes all 7 and is valid) */
  memcpy(bad, idx, sizeof bad);
  bad[1] = 0;
  bad[2] = t.space.knobs[2].n - 1;
  bad[7] = t.space.knobs[7].n - 1;
  CHECK(t.space.knobs[2].v[bad[2]] == 8 && t.space.knobs[7].v[bad[7]] == 16);
  CHECK(tune_task_check(&t, bad) && strstr(tune_task_check(&t, bad), "grain"));
  bad[7]--;
  CHECK(t.space.knobs[7].v[bad[7]] == 8 && tune_task_check(&t, bad) == NULL);
  /* the template's own checks */
  tpl_conv_cfg c = {3, 4, 1, 0, 0, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&w, &c), "oc_bn"));
  c = (tpl_conv_cfg){1, 4, 5, 0, 0, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&w, &c), "oh_bn"));
  c = (tpl_conv_cfg){1, 57, 1, 0, 0, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&w, &c), "ow_bn"));
  c = (tpl_conv_cfg){1, 4, 1, 0, 3, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&w, &c), "ic_bn"));
  tpl_conv nohalo = w;
  nohalo.in.hh = 0;
  c = (tpl_conv_cfg){1, 4, 1, 0, 0, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&nohalo, &c), "halo"));
  tpl_conv dw = w;
  dw.depthwise = 1;
  c = (tpl_conv_cfg){2, 4, 1, 0, 0, 0, 0, 1, 0};
  CHECK(strstr(tpl_conv_check(&dw, &c), "depthwise"));
  /* flat tiles: one row high, whole row groups, no wider than a group's pixels */
  c = (tpl_conv_cfg){1, 4, 2, 0, 0, 0, 0, 1, 1};
  CHECK(strstr(tpl_conv_check(&w, &c), "one row high"));
  c = (tpl_conv_cfg){1, 4, 1, 0, 0, 0, 0, 3, 1};
  CHECK(w.out.h % 3 && strstr(tpl_conv_check(&w, &c), "grain to divide"));
  c = (tpl_conv_cfg){1, 60, 1, 0, 0, 0, 0, 1, 1};
  CHECK(strstr(tpl_conv_check(&w, &c), "iteration's pixels"));
  c = (tpl_conv_cfg){1, 60, 1, 0, 0, 0, 0, 2, 1};
  CHECK(tpl_conv_check(&w, &c) == NULL, "a 60-pixel flat tile over 2 rows of 56: %s", tpl_conv_check(&w, &c));
  c.flat = 2;
  CHECK(strstr(tpl_conv_check(&w, &c), "flat"));
}

static void test_sizes(void) {
  tpl_conv w = resnet_conv(64, 56, 64, 3, 1, 1);
  tune_task t;
  tune_task_init_conv(&t, &w);
  int64_t valid = count_valid(&t);
  printf("resnet18 64->64 56x56 3x3: %lld configs, %lld valid\n", (long long)tune_space_size(&t.space),
         (long long)valid);
  CHECK(valid >= 10000);
  tpl_dense d = {1, 512, 1000, 0, 16, {0}, 0};
  tune_task_init_dense(&t, &d);
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(&t, idx);
  CHECK(tune_task_check(&t, idx) == NULL);
  CHECK(count_valid(&t) > 1);
}

/* Task keys parse back into the same task (space, features), for the warm
 * start; anything else is refused. */
static void test_keys(void) {
  tpl_conv ws[4] = {resnet_conv(64, 56, 64, 3, 1, 1), resnet_conv(3, 224, 64, 7, 2, 3),
                    resnet_conv(128, 28, 256, 1, 2, 0), resnet_conv(32, 13, 32, 3, 1, 2)};
  ws[3].depthwise = 1, ws[3].dh = ws[3].dw = 2, ws[3].out.h = ws[3].out.w = 13;
  ws[1].in.cb = 1;
  tune_task t, u;
  for (int i = 0; i < 5; i++) {
    if (i < 4) tune_task_init_conv(&t, &ws[i]);
    else tune_task_init_dense(&t, &(tpl_dense){3, 512, 1000, 1, 8, {0}, 0});
    CHECK(tune_task_from_key(t.key, 0, NULL, &u) == 0);
    CHECK(!strcmp(u.key, t.key) && u.kind == t.kind && u.flops == t.flops);
    CHECK(u.space.n_knobs == t.space.n_knobs);
    for (int k = 0; k < t.space.n_knobs; k++) CHECK(u.space.knobs[k].n == t.space.knobs[k].n);
    int idx[TUNE_MAX_KNOBS];
    float a[TUNE_MAX_FEATURES], b[TUNE_MAX_FEATURES];
    tune_task_default(&t, idx);
    int na = tune_task_features(&t, idx, a), nb = tune_task_features(&u, idx, b);
    CHECK(na == nb && !memcmp(a, b, (size_t)na * sizeof(float)));
  }
  /* The key leaves out the register count: SSE-only x86 (4 lanes, 16
   * registers) shares NEON's keys (4 lanes, 32), not its default tile. */
  tpl_conv sse = conv_layer(64, 56, 64, 3, 1, 1, 4);
  sse.vregs = 16;
  tune_task_init_conv(&t, &sse);
  int dt[TUNE_MAX_KNOBS], du[TUNE_MAX_KNOBS];
  tune_task_default(&t, dt);
  CHECK(tune_task_from_key(t.key, 16, NULL, &u) == 0);
  tune_task_default(&u, du);
  CHECK(!memcmp(dt, du, (size_t)t.space.n_knobs * sizeof(int)));
  CHECK(tune_task_from_key(t.key, 0, NULL, &u) == 0);
  tune_task_default(&u, du);
  CHECK(memcmp(dt, du, (size_t)t.space.n_knobs * sizeof(int)) != 0);
  /* A machine given: its caches go to the template, the machine to the
   * features (which then differ from the init default's). */
  tune_machine m = {2, 48 << 10, 2 << 20};
  tune_task v;
  CHECK(tune_task_from_key(t.key, 16, &m, &v) == 0);
  CHECK(v.conv.l2 == m.l2 && v.conv.l1d == m.l1d && u.conv.l2 == 0 && u.conv.l1d == 0);
  CHECK(v.mach.threads == 2 && v.mach.l2 == m.l2 && v.mach.l1d == m.l1d);
  {
    float fu[TUNE_MAX_FEATURES], fv[TUNE_MAX_FEATURES];
    int nu = tune_task_features(&u, du, fu), nv = tune_task_features(&v, du, fv);
    CHECK(nu == nv && memcmp(fu, fv, (size_t)nu * sizeof(float)) != 0);
  }
  static const char *const bad[] = {
      "", "conv2d", "dense m1 k512 n1000 ta0", "dense m0 k512 n1000 ta0 l16", "dense m1 k512 n1000 ta0 l16 x",
      "conv3d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p1x1",
      "conv2d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s0x1 d1x1 p1x1",
      "conv2d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p-1x1",
      "conv2d n1 c64 h56 w56 cb16 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p1x1 extra",
      "conv2d n1 c64 h56 w56 cb99 k64 oh56 ow56 kb16 r3x3 s1x1 d1x1 p1x1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = tune_task_from_key(bad[i], 0, NULL, &u);
    CHECK(rc == -1);
    if (rc != -1) fprintf(stderr, "accepted: '%s'\n", bad[i]);
  }
}

/* The features read the machine: another thread count or other cache
 * sizes change them (and the same machine gives the same ones). */
static void test_machine_features(void) {
  tune_task t;
  int idx[TUNE_MAX_KNOBS];
  float a[TUNE_MAX_FEATURES], b[TUNE_MAX_FEATURES];
  for (int dense = 0; dense < 2; dense++) {
    tpl_conv w = resnet_conv(64, 28, 64, 3, 1, 1);
    if (dense) tune_task_init_dense(&t, &(tpl_dense){3, 512, 1000, 0, 16, {0}, 32});
    else tune_task_init_conv(&t, &w);
    tune_task_default(&t, idx);
    tune_machine base = {2, 48 << 10, 2 << 20};
    t.mach = base;
    int n = tune_task_features(&t, idx, a);
    tune_task u = t;
    CHECK(tune_task_features(&u, idx, b) == n && !memcmp(a, b, (size_t)n * sizeof(float)));
    u.mach.threads = 3;
    tune_task_features(&u, idx, b);
    CHECK(memcmp(a, b, (size_t)n * sizeof(float)) != 0, "%s: threads do not change the features",
          dense ? "dense" : "conv");
    u.mach = base, u.mach.l2 = 1 << 20;
    tune_task_features(&u, idx, b);
    CHECK(memcmp(a, b, (size_t)n * sizeof(float)) != 0, "%s: L2 does not change the features", dense ? "dense" : "conv");
    if (!dense) {
      u.mach = base, u.mach.l1d = 32 << 10;
      tune_task_features(&u, idx, b);
      CHECK(memcmp(a, b, (size_t)n * sizeof(float)) != 0, "conv: L1 does not change the features");
    }
  }
  /* and a target's machine carries its caches and the threads asked for */
  chm_err e = {0};
  cg_target tgt;
  CHECK(cg_target_init(&tgt, "x86_64-linux-gnu", "sapphirerapids", &e) == 0);
  tune_machine m = tune_machine_of(&tgt, 3);
  CHECK(m.threads == 3 && m.l1d == 48 << 10 && m.l2 == 2 << 20);
  CHECK(cg_target_init(&tgt, "aarch64-linux-gnu", "neoverse-n1", &e) == 0);
  m = tune_machine_of(&tgt, 0);
  CHECK(m.threads == chm_num_cpus() && m.l1d == 64 << 10 && m.l2 == 1 << 20);
}

int main(void) {
  test_machine_features();
  test_keys();
  test_round_trip();
  test_reasons();
  test_sizes();
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
