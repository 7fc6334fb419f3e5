/*
 * reference.c — the OpenBLAS references the measurer checks candidates
 * against, also the "OpenBLAS" column of bench/layers.
 *
 * Convolution is im2col + cblas_sgemm on plain NCHW, one sgemm per image,
 * group and chunk of output rows: the column matrix of a chunk is
 * [C/g * KH * KW][rows * OW] and is bounded to REF_COL_MAX floats, so a big
 * layer (VGG's first layers need 100+ MB in one piece) stays in cache and
 * costs no fresh page faults per call. A 1x1, stride-1, unpadded conv uses
 * the input itself as the column matrix. The epilogue (bias, residual,
 * activation) is one pass over the output afterwards.
 *
 * Threads: these functions never set OpenBLAS's thread count. sgemm uses
 * however many threads the process gave OpenBLAS (openblas_set_num_threads
 * or OPENBLAS_NUM_THREADS; default: all cores). A measurer that wants a
 * quiet reference next to its own timed children should set 1 itself.
 */
#include "chamcc/measure.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { REF_COL_MAX = 2 << 20 }; /* floats per im2col chunk (8 MiB) */

/* The epilogue's activation, computed as constant folding does (act.h), then its clamp. */
static float ref_act(const tpl_epi *e, float v) {
  if (!e) return v;
  v = (float)chm_act_eval(e->act, e->a, e->b, v);
  return e->clamp ? fminf(fmaxf(v, e->lo), e->hi) : v;
}

/* y[i] = act(y[i] + b + res[i]) for a run of len elements sharing bias b. */
static void ref_epilogue(float *y, int64_t len, float b, const float *res, const tpl_epi *e) {
  for (int64_t i = 0; i < len; i++) {
    float v = y[i] + b;
    if (res) v += res[i];
    y[i] = ref_act(e, v);
  }
}

/* First output column whose input column ox * sw + off is >= lim, in [0, ow]. */
static int64_t ref_first_col(int64_t lim, int64_t off, int64_t sw, int64_t ow) {
  int64_t d = lim - off, ox = d <= 0 ? 0 : (d + sw - 1) / sw;
  return ox < ow ? ox : ow;
}

/* One row of the column matrix: dst[ox] = row[ox * sw + off], zero outside [0, w). */
static void ref_im2col_row(const float *row, int64_t w, int64_t off, int64_t sw, int64_t ow,
                           float *dst) {
  int64_t lo = ref_first_col(0, off, sw, ow), hi = ref_first_col(w, off, sw, ow);
  if (hi < lo) hi = lo;
  memset(dst, 0, (size_t)lo * sizeof(float));
  if (sw == 1)
    memcpy(dst + lo, row + lo + off, (size_t)(hi - lo) * sizeof(float));
  else
    for (int64_t ox = lo; ox < hi; ox++) dst[ox] = row[ox * sw + off];
  memset(dst + hi, 0, (size_t)(ow - hi) * sizeof(float));
}

/* Column matrix of output rows [oy0, oy0 + rows) of one group of one image:
 * col[(c * KH + ky) * KW + kx][(oy - oy0) * OW + ox], zeros in the padding. */
static void ref_im2col(const tpl_gconv *g, const float *x, int64_t cg, int64_t oy0,
                       int64_t rows, float *col) {
  int64_t ncol = rows * g->ow;
  for (int64_t c = 0; c < cg; c++)
    for (int64_t ky = 0; ky < g->kh; ky++)
      for (int64_t kx = 0; kx < g->kw; kx++) {
        float *dst = col + ((c * g->kh + ky) * g->kw + kx) * ncol;
        const float *plane = x + c * g->h * g->w;
        for (int64_t r = 0; r < rows; r++, dst += g->ow) {
          int64_t iy = (oy0 + r) * g->sh - g->pt + ky * g->dh;
          if (iy < 0 || iy >= g->h)
            memset(dst, 0, (size_t)g->ow * sizeof(float));
          else
            ref_im2col_row(plane + iy * g->w, g->w, kx * g->dw - g->pl, g->sw, g->ow, dst);
        }
      }
}

static int ref_is_pointwise(const tpl_gconv *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
         g->oh == g->h && g->ow == g->w;
}

/* One image, one group: y[kg][OH*OW] = W[kg][cg*KH*KW] x col, chunk by chunk. */
static void ref_conv_group(const tpl_gconv *g, const float *x, const float *w, float *y,
                           float *col) {
  int64_t cg = g->c / g->groups, kg = g->k / g->groups, kdim = cg * g->kh * g->kw;
  int64_t plane = g->oh * g->ow;
  if (ref_is_pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)plane, (int)kdim, 1.0f,
                w, (int)kdim, x, (int)plane, 0.0f, y, (int)plane);
    return;
  }
  int64_t rows = REF_COL_MAX / (kdim * g->ow);
  if (rows < 1) rows = 1;
  for (int64_t oy = 0; oy < g->oh; oy += rows) {
    int64_t r = g->oh - oy < rows ? g->oh - oy : rows;
    ref_im2col(g, x, cg, oy, r, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)kg, (int)(r * g->ow), (int)kdim,
                1.0f, w, (int)kdim, col, (int)(r * g->ow), 0.0f, y + oy * g->ow, (int)plane);
  }
}

/* Floats of im2col workspace ref_conv_group needs (0 for pointwise). */
static int64_t ref_col_size(const tpl_gconv *g) {
  if (ref_is_pointwise(g)) return 0;
  int64_t kdim = g->c / g->groups * g->kh * g->kw;
  int64_t rows = REF_COL_MAX / (kdim * g->ow);
  if (rows < 1) rows = 1;
  if (rows > g->oh) rows = g->oh;
  return kdim * rows * g->ow;
}

void meas_ref_conv(const tpl_gconv *g, const float *x, const float *w, const float *bias,
                   const float *res, float *y) {
  int64_t cg = g->c / g->groups, kg = g->k / g->groups;
  int64_t in_plane = g->h * g->w, plane = g->oh * g->ow;
  int64_t wg = kg * cg * g->kh * g->kw;
  float *col = chm_malloc((size_t)(ref_col_size(g) + 1) * sizeof(float));
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t gi = 0; gi < g->groups; gi++)
      ref_conv_group(g, x + (n * g->c + gi * cg) * in_plane, w + gi * wg,
                     y + (n * g->k + gi * kg) * plane, col);
  free(col);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t k = 0; k < g->k; k++) {
      int64_t off = (n * g->k + k) * plane;
      ref_epilogue(y + off, plane, bias ? bias[k] : 0, res ? res + off : NULL, &g->epi);
    }
}

void meas_ref_dense(int64_t m, int64_t k, int64_t n, int trans_a, const float *a, const float *b,
                    const float *bias, const float *res, const tpl_epi *epi, float *out) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, (int)m, (int)n,
              (int)k, 1.0f, a, trans_a ? (int)m : (int)k, b, (int)n, 0.0f, out, (int)n);
  for (int64_t i = 0; i < m; i++) {
    float *row = out + i * n;
    const float *rrow = res ? res + i * n : NULL;
    for (int64_t j = 0; j < n; j++) {
      float v = row[j] + (bias ? bias[j] : 0);
      if (rrow) v += rrow[j];
      row[j] = ref_act(epi, v);
    }
  }
}
