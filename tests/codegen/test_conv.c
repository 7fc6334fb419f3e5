/*
 * test_conv.c — the conv template against a naive convolution, on random
 * shapes (prime sizes, 1x1, strides, dilations, depthwise, plain and blocked
 * inputs, residual and activations) and random valid configs.
 */
#include "jit_util.h"

#include <string.h>

typedef void (*conv_fn4)(float *, float *, float *, float *);
typedef void (*conv_fn5)(float *, float *, float *, float *, float *);

static float act(const tpl_epi *e, float v) {
  switch (e->act) {
  case CHM_ACT_RELU: return v > 0 ? v : 0;
  case CHM_ACT_CLIP: return v < e->a ? e->a : v > e->b ? e->b : v;
  case CHM_ACT_LEAKY_RELU: return v < 0 ? e->a * v : v;
  case CHM_ACT_SIGMOID: return 1 / (1 + expf(-v));
  default: return v;
  }
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
  w.epi.has_residual = test_rand(seed) % 2;
  w.epi.res = (tpl_view){N, K, OH, OW, lanes, 0, 1};

  tpl_conv_cfg c = tpl_conv_default(&w);
  if (id % 2) { /* a random valid config */
    for (int tries = 0; tries < 100; tries++) {
      tpl_conv_cfg r = {1 + test_rand(seed) % 4, 1 + test_rand(seed) % 14, 1 + test_rand(seed) % 3,
                        (int)(test_rand(seed) % 2), (int)(test_rand(seed) % 3), (int)(test_rand(seed) % 2),
                        (int)(test_rand(seed) % 2), 1 + (int)(test_rand(seed) % 4)};
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
    printf("%s case %2d: N%lld C%lld K%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld,%lld %s%s act%d res%d "
           "cfg oc%d ow%d oh%d u%d ic%d wo%d ro%d g%d err %.2e\n", fail ? "FAIL" : "ok  ", id, (long long)N, (long long)C,
           (long long)K, (long long)H, (long long)Wd, (long long)w.kh, (long long)w.kw, (long long)w.sh,
           (long long)w.sw, (long long)w.dh, (long long)w.dw, (long long)w.pt, (long long)w.pl,
           dw ? "dw" : "", plain_in ? "plain" : "", w.epi.act, w.epi.has_residual, c.oc_bn, c.ow_bn,
           c.oh_bn, c.unroll_kw, c.ic_bn, c.win_outer, c.row_outer, c.grain, err);
    cg_jit_free(jk.jit);
  }
  chm_arena_free(a);
  free(x); free(W); free(B); free(R); free(ref); free(got);
  free(xv); free(wp); free(bp); free(rv); free(yv);
  return fail;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 40;
  unsigned seed = 12345;
  cg_target t;
  chm_err e = {0};
  if (cg_target_init(&t, NULL, NULL, &e)) return 1;
  int failures = 0;
  for (int i = 0; i < n; i++) failures += run_case(i, &seed, i % 3 == 2 ? 4 : t.lanes);
  printf("%d passed, %d failed\n", n - failures, failures);
  return failures != 0;
}
