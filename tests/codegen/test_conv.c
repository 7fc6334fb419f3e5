/*
 * test_conv.c — the conv template against a naive convolution, on random
 * shapes (prime sizes, 1x1, strides, dilations, depthwise, plain and blocked
 * inputs, residual and activations) and random valid configs; with `wino`,
 * the Winograd 3x3 convolution (tpl_wino.c: input transform, the products
 * on the conv template, output transform) likewise, m = 2 and 4, with
 * asymmetric padding and sizes that m does not divide.
 *
 *   test_conv N [wino]
 */
#include "jit_util.h"

#include <string.h>

typedef void (*conv_fn4)(float *, float *, float *, float *);
typedef void (*conv_fn5)(float *, float *, float *, float *, float *);

static float clip(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static float act(const tpl_epi *e, float v) {
  switch (e->act) {
  case CHM_ACT_RELU: v = v > 0 ? v : 0; break;
  case CHM_ACT_CLIP: v = clip(v, e->a, e->b); break;
  case CHM_ACT_LEAKY_RELU: v = v < 0 ? e->a * v : v; break;
  case CHM_ACT_SIGMOID: v = 1 / (1 + expf(-v)); break;
  default: break;
  }
  return e->clamp ? clip(v, e->lo, e->hi) : v;
}

/* A clamp after the activation for one case in three (Clips that follow it). */
static void random_clamp(tpl_epi *e, unsigned *seed) {
  e->clamp = test_rand(seed) % 3 == 0;
  e->lo = -0.2f;
  e->hi = 0.4f;
}

static void naive(const tpl_conv *w, const float *x, const float *W, const float *B,
                  const float *R, float *y) {
  int64_t C = w->in.c, K = w->out.c, H = w->in.h, Wd = w->in.w;
  int64_t cpg = w->depthwise ? 1 : C;
  for (int64_t n = 0; n < w->out.n; n++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t oy = 0; oy < w->out.h; oy++)
        for (int64_t ox = 0; ox < w->out.w; ox++) {
          double s = B[k];
          for (int64_t c = 0; c < cpg; c++)
            for (int64_t ky = 0; ky < w->kh; ky++)
              for (int64_t kx = 0; kx < w->kw; kx++) {
                int64_t iy = oy * w->sh - w->pt + ky * w->dh, ix = ox * w->sw - w->pl + kx * w->dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= Wd) continue;
                int64_t ic = w->depthwise ? k : c;
                s += (double)x[((n * C + ic) * H + iy) * Wd + ix] *
                     W[((k * cpg + c) * w->kh + ky) * w->kw + kx];
              }
          int64_t o = ((n * K + k) * w->out.h + oy) * w->out.w + ox;
          if (R) s += R[o];
          y[o] = act(&w->epi, (float)s);
        }
}

static int run_case(int id, unsigned *seed, int lanes) {
  tpl_conv w = {0};
  int dw = test_rand(seed) % 4 == 0;
  int64_t C = 1 + test_rand(seed) % 37, K = dw ? C : 1 + test_rand(seed) % 45;
  w.kh = 1 + test_rand(seed) % 4;
  w.kw = 1 + test_rand(seed) % 4;
  w.sh = 1 + test_rand(seed) % 2;
  w.sw = 1 + test_rand(seed) % 2;
  w.dh = 1 + (test_rand(seed) % 4 == 0);
  w.dw = 1 + (test_rand(seed) % 4 == 0);
  w.pt = test_rand(seed) % (w.kh);
  w.pl = test_rand(seed) % (w.kw);
  int64_t pb = test_rand(seed) % w.kh, pr = test_rand(seed) % w.kw;
  int64_t H = w.kh * w.dh + test_rand(seed) % 13, Wd = w.kw * w.dw + test_rand(seed) % 17;
  int64_t OH = (H + w.pt + pb - (w.kh - 1) * w.dh - 1) / w.sh + 1;
  int64_t OW = (Wd + w.pl + pr - (w.kw - 1) * w.dw - 1) / w.sw + 1;
  int64_t N = 1 + (test_rand(seed) % 5 == 0);
  int plain_in = !dw && test_rand(seed) % 3 == 0;
  int64_t halo = w.pt > pb ? w.pt : pb, halow = w.pl > pr ? w.pl : pr;
  w.depthwise = dw;
  w.in = (tpl_view){N, C, H, Wd, plain_in ? 1 : lanes, halo, halow};
  w.out = (tpl_view){N, K, OH, OW, lanes, test_rand(seed) % 2, test_rand(seed) % 2};
  w.epi.act = (chm_act)(test_rand(seed) % 5);
  w.epi.a = -0.5f;
  w.epi.b = 0.7f;
  if (w.epi.act == CHM_ACT_LEAKY_RELU) w.epi.a = 0.1f;
  random_clamp(&w.epi, seed);
  w.epi.has_residual = test_rand(seed) % 2;
  w.epi.res = (tpl_view){N, K, OH, OW, lanes, 0, 1};

  tpl_conv_cfg c = tpl_conv_default(&w);
  if (id % 2) { /* a random valid config */
    for (int tries = 0; tries < 100; tries++) {
      tpl_conv_cfg r = {1 + test_rand(seed) % 4, 1 + test_rand(seed) % 14, 1 + test_rand(seed) % 3,
                        (int)(test_rand(seed) % 2), (int)(test_rand(seed) % 3), (int)(test_rand(seed) % 2),
                        (int)(test_rand(seed) % 2), 1 + (int)(test_rand(seed) % 4), (int)(test_rand(seed) % 2)};
      if (!tpl_conv_check(&w, &r)) {
        c = r;
        break;
      }
    }
  }
  const char *why = tpl_conv_check(&w, &c);
  if (why) {
    fprintf(stderr, "case %d: default config invalid: %s\n", id, why);
    return 1;
  }
  int64_t cpg = dw ? 1 : C;
  float *x = rand_array(N * C * H * Wd, seed), *W = rand_array(K * cpg * w.kh * w.kw, seed);
  float *B = rand_array(K, seed), *R = rand_array(N * K * OH * OW, seed);
  float *ref = calloc((size_t)(N * K * OH * OW), sizeof(float)), *got = calloc((size_t)(N * K * OH * OW), sizeof(float));
  naive(&w, x, W, B, w.epi.has_residual ? R : NULL, ref);

  float *xv = malloc((size_t)tpl_view_size(&w.in) * 4), *wp = malloc((size_t)tpl_conv_wsize(&w) * 4);
  float *bp = malloc((size_t)(tpl_view_cblocks(&w.out) * lanes) * 4);
  float *rv = malloc((size_t)tpl_view_size(&w.epi.res) * 4), *yv = calloc((size_t)tpl_view_size(&w.out), 4);
  tpl_view_pack(&w.in, x, xv);
  tpl_view_pack(&w.epi.res, R, rv);
  tpl_conv_pack(&w, W, wp);
  tpl_pack_bias(K, lanes, B, bp);

  chm_arena *a = chm_arena_new();
  ir_kernel *k = tpl_conv_kernel(a, "conv", &w, &c);
  jit_kernel jk;
  int fail = 1;
  if (jit_compile(k, 2, &jk) == 0) {
    if (w.epi.has_residual) ((conv_fn5)jk.fn)(xv, wp, bp, rv, yv);
    else ((conv_fn4)jk.fn)(xv, wp, bp, yv);
    tpl_view_unpack(&w.out, yv, got);
    double err = rel_err(got, ref, N * K * OH * OW);
    fail = !(err <= 1e-5);
    printf("%s case %2d: N%lld C%lld K%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld,%lld %s%s act%d%s res%d "
           "cfg oc%d ow%d oh%d u%d ic%d wo%d ro%d g%d f%d err %.2e\n", fail ? "FAIL" : "ok  ", id, (long long)N, (long long)C,
           (long long)K, (long long)H, (long long)Wd, (long long)w.kh, (long long)w.kw, (long long)w.sh,
           (long long)w.sw, (long long)w.dh, (long long)w.dw, (long long)w.pt, (long long)w.pl,
           dw ? "dw" : "", plain_in ? "plain" : "", w.epi.act, w.epi.clamp ? "+clamp" : "", w.epi.has_residual, c.oc_bn, c.ow_bn,
           c.oh_bn, c.unroll_kw, c.ic_bn, c.win_outer, c.row_outer, c.grain, c.flat, err);
    cg_jit_free(jk.jit);
  }
  chm_arena_free(a);
  free(x); free(W); free(B); free(R); free(ref); free(got);
  free(xv); free(wp); free(bp); free(rv); free(yv);
  return fail;
}

typedef void (*fn2)(float *, float *);

static double max_abs(const float *v, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
  return m;
}

/* Winograd F(m x m, 3 x 3): the three kernels in a row against naive(). */
static int run_wino_case(int id, unsigned *seed, int lanes) {
  tpl_conv w = {0}; /* the convolution, for naive() */
  int m = id % 2 ? 4 : 2;
  int64_t C = 1 + test_rand(seed) % 40, K = 1 + test_rand(seed) % 45;
  w.kh = w.kw = w.sh = w.sw = w.dh = w.dw = 1;
  w.kh = w.kw = 3;
  w.pt = test_rand(seed) % 3, w.pl = test_rand(seed) % 3;
  int64_t pb = test_rand(seed) % 3, pr = test_rand(seed) % 3;
  int64_t H = 3 + test_rand(seed) % 18, Wd = 3 + test_rand(seed) % 20, N = 1 + (test_rand(seed) % 4 == 0);
  int64_t OH = H + w.pt + pb - 2, OW = Wd + w.pl + pr - 2;
  w.in = (tpl_view){N, C, H, Wd, lanes, tpl_wino_halo(m, H, OH, w.pt, pb), tpl_wino_halo(m, Wd, OW, w.pl, pr)};
  w.out = (tpl_view){N, K, OH, OW, lanes, test_rand(seed) % 2, test_rand(seed) % 2};
  w.epi.act = (chm_act)(test_rand(seed) % 5);
  w.epi.a = w.epi.act == CHM_ACT_LEAKY_RELU ? 0.1f : -0.5f;
  w.epi.b = 0.7f;
  random_clamp(&w.epi, seed);
  w.epi.has_residual = test_rand(seed) % 2;
  w.epi.res = (tpl_view){N, K, OH, OW, lanes, 1, 0};
  tpl_wino wn = {.in = w.in, .out = w.out, .m = m, .pt = w.pt, .pl = w.pl, .epi = w.epi};
  tpl_conv pc = tpl_wino_product(&wn, 0);
  tpl_conv_cfg c = tpl_conv_default(&pc);
  for (int tries = 0; id % 4 >= 2 && tries < 100; tries++) { /* half the cases: a random valid config */
    tpl_conv_cfg r = {1 + test_rand(seed) % 4, 1 + test_rand(seed) % 14, 1 + test_rand(seed) % 3,
                      (int)(test_rand(seed) % 3), 0, 0, (int)(test_rand(seed) % 2), 1 + (int)(test_rand(seed) % 4),
                      (int)(test_rand(seed) % 2)};
    if (!tpl_conv_check(&pc, &r)) {
      c = r;
      break;
    }
  }
  const char *why = tpl_conv_check(&pc, &c);
  if (why) {
    fprintf(stderr, "wino case %d: config invalid: %s\n", id, why);
    return 1;
  }
  int64_t ny = N * K * OH * OW, a = tpl_wino_alpha(m);
  int64_t kp = tpl_view_cblocks(&w.out) * lanes, cp = tpl_view_cblocks(&w.in) * lanes;
  float *x = rand_array(N * C * H * Wd, seed), *W = rand_array(K * C * 9, seed);
  float *B = rand_array(K, seed), *R = rand_array(ny, seed);
  float *ref = calloc((size_t)ny, sizeof(float)), *got = calloc((size_t)ny, sizeof(float));
  naive(&w, x, W, B, w.epi.has_residual ? R : NULL, ref);
  /* the error's scale: the largest sum before the activation (a Clip's
   * small window would hide that the products are about 10x larger) */
  tpl_conv lin = w;
  lin.epi.act = CHM_ACT_NONE;
  lin.epi.clamp = 0;
  float *pre = calloc((size_t)ny, sizeof(float));
  naive(&lin, x, W, B, w.epi.has_residual ? R : NULL, pre);
  double scale = 1e-30;
  for (int64_t i = 0; i < ny; i++) scale = fmax(scale, fabs(pre[i]));

  float *xv = calloc((size_t)tpl_view_size(&w.in), 4), *vv = calloc((size_t)tpl_view_size(&pc.in), 4);
  float *mv = calloc((size_t)tpl_view_size(&pc.out), 4), *U = malloc((size_t)(a * a * kp * cp) * 4);
  float *wp = malloc((size_t)tpl_conv_wsize(&pc) * 4), *zb = calloc((size_t)(a * a * kp), 4);
  float *bp = malloc((size_t)kp * 4), *rv = malloc((size_t)tpl_view_size(&w.epi.res) * 4);
  float *yv = calloc((size_t)tpl_view_size(&w.out), 4);
  tpl_view_pack(&w.in, x, xv);
  tpl_view_pack(&w.epi.res, R, rv);
  tpl_wino_weights(m, W, K, C, lanes, U);
  tpl_conv_pack(&pc, U, wp);
  tpl_pack_bias(K, lanes, B, bp);

  chm_arena *ar = chm_arena_new();
  jit_kernel ji, jc, jo;
  int fail = 1;
  if (!jit_compile(tpl_wino_input(ar, "wi", &wn), 2, &ji) && !jit_compile(tpl_conv_kernel(ar, "wc", &pc, &c), 2, &jc) &&
      !jit_compile(tpl_wino_output(ar, "wo", &wn), 2, &jo)) {
    ((fn2)ji.fn)(xv, vv);
    ((conv_fn4)jc.fn)(vv, wp, zb, mv);
    if (w.epi.has_residual) ((conv_fn4)jo.fn)(mv, bp, rv, yv);
    else ((void (*)(float *, float *, float *))jo.fn)(mv, bp, yv);
    tpl_view_unpack(&w.out, yv, got);
    double err = rel_err(got, ref, ny) * fmax(1e-30, max_abs(ref, ny)) / scale;
    fail = !(err <= (m == 2 ? 1e-5 : 5e-5));
    printf("%s wino case %2d: F(%d,3) L%d N%lld C%lld K%lld %lldx%lld p%lld,%lld,%lld,%lld act%d%s res%d "
           "cfg oc%d ow%d oh%d ic%d ro%d g%d f%d err %.2e\n", fail ? "FAIL" : "ok  ", id, m, lanes, (long long)N,
           (long long)C, (long long)K, (long long)H, (long long)Wd, (long long)w.pt, (long long)w.pl,
           (long long)pb, (long long)pr, w.epi.act, w.epi.clamp ? "+clamp" : "", w.epi.has_residual, c.oc_bn, c.ow_bn, c.oh_bn, c.ic_bn,
           c.row_outer, c.grain, c.flat, err);
    cg_jit_free(ji.jit), cg_jit_free(jc.jit), cg_jit_free(jo.jit);
  }
  chm_arena_free(ar);
  free(x); free(W); free(B); free(R); free(ref); free(pre); free(got); free(xv); free(vv); free(mv); free(U);
  free(wp); free(zb); free(bp); free(rv); free(yv);
  return fail;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 40;
  if (argc > 2 && !strcmp(argv[2], "wino")) {
    unsigned seed = 777;
    cg_target t;
    chm_err e = {0};
    if (cg_target_init(&t, NULL, NULL, &e)) return 1;
    int failures = 0;
    for (int i = 0; i < n; i++) failures += run_wino_case(i, &seed, i % 3 == 2 ? 4 : i % 3 ? 8 : t.lanes);
    printf("%d passed, %d failed\n", n - failures, failures);
    return failures != 0;
  }
  unsigned seed = 12345;
  cg_target t;
  chm_err e = {0};
  if (cg_target_init(&t, NULL, NULL, &e)) return 1;
  int failures = 0;
  for (int i = 0; i < n; i++) failures += run_case(i, &seed, i % 3 == 2 ? 4 : t.lanes);
  printf("%d passed, %d failed\n", n - failures, failures);
  return failures != 0;
}
