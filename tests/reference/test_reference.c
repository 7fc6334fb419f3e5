/*
 * test_reference.c — meas_ref_conv and meas_ref_dense against naive loops
 * accumulating in double.
 *
 *   test_reference conv N    N random convs: groups (1, 2-3, depthwise),
 *                            strides, dilations, asymmetric pads, batch 1-2,
 *                            every activation, residual on / off, bias or NULL
 *   test_reference large     convs whose im2col is cut into row chunks
 *                            (including one row per chunk) and 1x1 ones
 *   test_reference dense N   N random matrix products, trans_a on / off
 *
 * Error: the largest |got - want| over the output divided by its largest
 * |want| (at least 1), since sgemm sums in float and a single element near 0
 * has no meaningful relative error; it must stay below 1e-5. Inputs are
 * uniform in [-1, 1), seeded, so a failure repeats.
 */
#include "chamcc/measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}
static int64_t rnd_in(int64_t lo, int64_t hi) { return lo + rnd() % (uint32_t)(hi - lo + 1); }
static float rnd_f(void) { return (float)(rnd() % 2000000) / 1e6f - 1; }

static float *rnd_buf(int64_t n) {
  float *p = chm_malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) p[i] = rnd_f();
  return p;
}

static double act_only(const tpl_epi *e, double v) {
  switch (e->act) {
  case CHM_ACT_NONE: return v;
  case CHM_ACT_RELU: return v > 0 ? v : 0;
  case CHM_ACT_CLIP: return v < e->a ? e->a : v > e->b ? e->b : v;
  case CHM_ACT_LEAKY_RELU: return v < 0 ? e->a * v : v;
  case CHM_ACT_SIGMOID: return 1 / (1 + exp(-v));
  case CHM_ACT_HARD_SIGMOID: return fmin(fmax(e->a * v + e->b, 0), 1);
  case CHM_ACT_HARD_SWISH: return v * fmin(fmax(e->a * v + e->b, 0), 1);
  case CHM_ACT_TANH: return tanh(v);
  default: return v; /* the others are not fused into the kernels tested here */
  }
  return v;
}

static double act(const tpl_epi *e, double v) {
  if (!e) return v;
  v = act_only(e, v);
  return e->clamp ? fmin(fmax(v, e->lo), e->hi) : v;
}

/* Activation i of all eight, with typical parameters. */
static tpl_epi epi_of(int i) {
  tpl_epi e = {.act = (chm_act)i};
  if (i == CHM_ACT_CLIP) e.a = -0.5f, e.b = 0.7f;
  if (i == CHM_ACT_LEAKY_RELU) e.a = 0.1f, e.clamp = 1, e.lo = -0.05f, e.hi = 0.6f; /* a clamp after it */
  if (i == CHM_ACT_HARD_SIGMOID) e.a = 0.2f, e.b = 0.5f;
  if (i == CHM_ACT_HARD_SWISH) e.a = 1.0f / 6, e.b = 0.5f;
  return e;
}

/* max |got - want| / max |want| (1 if all of want is smaller). */
static double max_err(const float *got, const float *want, int64_t n) {
  double worst = 0, scale = 1;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    scale = fmax(scale, fabs(want[i]));
  }
  return worst / scale;
}

static void naive_conv(const tpl_gconv *g, const float *x, const float *w, const float *bias,
                       const float *res, float *y) {
  int64_t cg = g->c / g->groups, kg = g->k / g->groups;
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t k = 0; k < g->k; k++)
      for (int64_t oy = 0; oy < g->oh; oy++)
        for (int64_t ox = 0; ox < g->ow; ox++) {
          double s = bias ? bias[k] : 0;
          for (int64_t c = 0; c < cg; c++)
            for (int64_t ky = 0; ky < g->kh; ky++)
              for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t iy = oy * g->sh - g->pt + ky * g->dh, ix = ox * g->sw - g->pl + kx * g->dw;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                int64_t ci = k / kg * cg + c;
                s += (double)x[((n * g->c + ci) * g->h + iy) * g->w + ix] *
                     w[((k * cg + c) * g->kh + ky) * g->kw + kx];
              }
          int64_t o = ((n * g->k + k) * g->oh + oy) * g->ow + ox;
          if (res) s += res[o];
          y[o] = (float)act(&g->epi, s);
        }
}

/* Runs one conv both ways; returns 0 when they agree. pb, pr: bottom / right pads. */
static int check_conv(tpl_gconv g, int64_t pb, int64_t pr, int use_bias, int use_res) {
  g.oh = (g.h + g.pt + pb - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + g.pl + pr - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  int64_t nx = g.n * g.c * g.h * g.w, nw = g.k * (g.c / g.groups) * g.kh * g.kw;
  int64_t ny = g.n * g.k * g.oh * g.ow;
  float *x = rnd_buf(nx), *w = rnd_buf(nw), *b = use_bias ? rnd_buf(g.k) : NULL;
  float *res = use_res ? rnd_buf(ny) : NULL, *got = rnd_buf(ny), *want = rnd_buf(ny);
  meas_ref_conv(&g, x, w, b, res, got);
  naive_conv(&g, x, w, b, res, want);
  double e = max_err(got, want, ny);
  int bad = !(e <= 1e-5);
  if (bad)
    printf("FAIL conv n%ld c%ld %ldx%ld k%ld g%ld k%ldx%ld s%ld,%ld d%ld,%ld pad t%ld l%ld b%ld r%ld "
           "act %d bias %d res %d: error %g\n",
           (long)g.n, (long)g.c, (long)g.h, (long)g.w, (long)g.k, (long)g.groups, (long)g.kh,
           (long)g.kw, (long)g.sh, (long)g.sw, (long)g.dh, (long)g.dw, (long)g.pt, (long)g.pl,
           (long)pb, (long)pr, g.epi.act, use_bias, use_res, e);
  free(x), free(w), free(b), free(res), free(got), free(want);
  return bad;
}

/* A random conv whose window fits its padded input. */
static int random_conv(int i) {
  tpl_gconv g = {.n = rnd_in(1, 2), .kh = rnd_in(1, 5), .kw = rnd_in(1, 5), .sh = rnd_in(1, 3),
                 .sw = rnd_in(1, 3), .dh = rnd_in(1, 2), .dw = rnd_in(1, 2), .pt = rnd_in(0, 2),
                 .pl = rnd_in(0, 2)};
  int kind = i % 3; /* 0: dense channels, 1: a few groups, 2: depthwise */
  int64_t cg = kind == 2 ? 1 : rnd_in(1, 9), kg = kind == 2 ? 1 : rnd_in(1, 9);
  g.groups = kind == 0 ? 1 : kind == 1 ? rnd_in(2, 3) : rnd_in(1, 12);
  g.c = cg * g.groups, g.k = kg * g.groups;
  int64_t pb = rnd_in(0, 2), pr = rnd_in(0, 2);
  int64_t min_h = g.dh * (g.kh - 1) + 1 - g.pt - pb, min_w = g.dw * (g.kw - 1) + 1 - g.pl - pr;
  g.h = rnd_in(min_h > 1 ? min_h : 1, 13), g.w = rnd_in(min_w > 1 ? min_w : 1, 13);
  if (g.h < min_h) g.h = min_h;
  if (g.w < min_w) g.w = min_w;
  g.epi = epi_of(i % 8);
  return check_conv(g, pb, pr, rnd() % 4 != 0, rnd() % 2);
}

static int test_conv(int count) {
  int fails = 0;
  for (int i = 0; i < count; i++) fails += random_conv(i);
  printf("conv: %d of %d cases failed\n", fails, count);
  return fails != 0;
}

static int test_large(void) {
  int fails = 0;
  /* im2col of 576 x 6400 floats: two chunks of rows. */
  tpl_gconv a = {.n = 1, .c = 64, .h = 80, .w = 80, .k = 8, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                 .dh = 1, .dw = 1, .pt = 1, .pl = 1, .groups = 1, .epi = epi_of(CHM_ACT_RELU)};
  fails += check_conv(a, 1, 1, 1, 1);
  /* 12800 x 200 floats per output row: one row per chunk. */
  tpl_gconv b = {.n = 2, .c = 512, .h = 6, .w = 204, .k = 2, .kh = 5, .kw = 5, .sh = 1, .sw = 1,
                 .dh = 1, .dw = 1, .groups = 1, .epi = epi_of(CHM_ACT_NONE)};
  fails += check_conv(b, 0, 0, 1, 0);
  /* 1x1 stride 1 without padding: no im2col; with groups and batch 2. */
  tpl_gconv c = {.n = 2, .c = 48, .h = 9, .w = 11, .k = 36, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                 .dh = 1, .dw = 1, .groups = 3, .epi = epi_of(CHM_ACT_HARD_SWISH)};
  fails += check_conv(c, 0, 0, 1, 1);
  c.groups = 1;
  fails += check_conv(c, 0, 0, 0, 0);
  printf("large: %d of 4 cases failed\n", fails);
  return fails != 0;
}

static int check_dense(int i) {
  int64_t m = rnd_in(1, 40), k = rnd_in(1, 300), n = rnd_in(1, 70);
  int trans_a = rnd() % 2, use_bias = rnd() % 4 != 0, use_res = rnd() % 2;
  tpl_epi e = epi_of(i % 8);
  const tpl_epi *ep = i % 9 == 8 ? NULL : &e;
  float *a = rnd_buf(m * k), *b = rnd_buf(k * n), *bias = use_bias ? rnd_buf(n) : NULL;
  float *res = use_res ? rnd_buf(m * n) : NULL, *got = rnd_buf(m * n), *want = rnd_buf(m * n);
  meas_ref_dense(m, k, n, trans_a, a, b, bias, res, ep, got);
  for (int64_t r = 0; r < m; r++)
    for (int64_t j = 0; j < n; j++) {
      double s = (bias ? bias[j] : 0) + (res ? res[r * n + j] : 0);
      for (int64_t t = 0; t < k; t++) s += (double)(trans_a ? a[t * m + r] : a[r * k + t]) * b[t * n + j];
      want[r * n + j] = (float)act(ep, s);
    }
  double err = max_err(got, want, m * n);
  int bad = !(err <= 1e-5);
  if (bad)
    printf("FAIL dense m%ld k%ld n%ld trans_a %d act %d bias %d res %d: error %g\n", (long)m,
           (long)k, (long)n, trans_a, ep ? ep->act : -1, use_bias, use_res, err);
  free(a), free(b), free(bias), free(res), free(got), free(want);
  return bad;
}

static int test_dense(int count) {
  int fails = 0;
  for (int i = 0; i < count; i++) fails += check_dense(i);
  printf("dense: %d of %d cases failed\n", fails, count);
  return fails != 0;
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "conv";
  int count = argc > 2 ? atoi(argv[2]) : 100;
  if (!strcmp(what, "conv")) return test_conv(count);
  if (!strcmp(what, "large")) return test_large();
  if (!strcmp(what, "dense")) return test_dense(count);
  fprintf(stderr, "usage: test_reference conv|large|dense [COUNT]\n");
  return 2;
}
