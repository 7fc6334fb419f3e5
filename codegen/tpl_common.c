/*
 * tpl_common.c — what every template shares: indexing into (blocked, haloed)
 * views and the fused activation functions.
 */
#include "chamcc/tpl.h"

#include <math.h>
#include <string.h>

int64_t tpl_view_cblocks(const tpl_view *v) { return (v->c + v->cb - 1) / v->cb; }

int64_t tpl_view_size(const tpl_view *v) {
  return v->n * tpl_view_cblocks(v) * (v->h + 2 * v->hh) * (v->w + 2 * v->hw) * v->cb;
}

ir_expr *tpl_view_index(ir_builder *b, const tpl_view *v, ir_expr *n, ir_expr *cblk,
                        ir_expr *y, ir_expr *x) {
  ir_expr *i = ir_add(b, ir_muli(b, n, tpl_view_cblocks(v)), cblk);
  i = ir_add(b, ir_muli(b, i, v->h + 2 * v->hh), ir_addi(b, y, v->hh));
  i = ir_add(b, ir_muli(b, i, v->w + 2 * v->hw), ir_addi(b, x, v->hw));
  return ir_muli(b, i, v->cb);
}

static ir_expr *clamp01(ir_builder *b, ir_expr *x) {
  int l = x->type.lanes;
  return ir_bin(b, IR_MIN, ir_bin(b, IR_MAX, x, ir_float(b, 0, l)), ir_float(b, 1, l));
}

/* erf(x) = x P(x^2) / Q(x^2) on |x| <= 3.925, to 1.7e-9 in double and about
 * 4e-7 (6 ulp of 1) in float: for GELU's 1 + erf, where only the absolute
 * error counts. One range and no exp, so it costs about a third of IR_ERF
 * (codegen/llvm_math.c, within 2 ulp everywhere), and GELU is the epilogue
 * of large MatMuls. Fitted by scripts/fit_math.py (gelu_erf). */
static const double gelu_erf_p[] = {1.1283791842269133, 0.19228711453033481, 0.055690002310339541,
                                    0.0042043488446640333, 0.00041158889576592428, 6.8211849847311044e-06};
static const double gelu_erf_q[] = {1, 0.50374359325246432, 0.11726739979692206, 0.016252656414090193,
                                    0.0014170175000324827, 7.2793472704891105e-05, 2.6165301662206486e-07};

static ir_expr *horner(ir_builder *b, ir_expr *t, const double *c, int n) {
  int l = t->type.lanes;
  ir_expr *p = ir_float(b, (float)c[n - 1], l);
  for (int i = n - 2; i >= 0; i--) p = ir_fma(b, p, t, ir_float(b, (float)c[i], l));
  return p;
}

/* x / 2 (1 + erf(x / sqrt 2)); NaN stays NaN through the factor x. */
static ir_expr *gelu(ir_builder *b, ir_expr *x) {
  int l = x->type.lanes;
  ir_expr *z = ir_mul(b, x, ir_float(b, (float)M_SQRT1_2, l));
  z = ir_bin(b, IR_MIN, ir_bin(b, IR_MAX, z, ir_float(b, -3.925f, l)), ir_float(b, 3.925f, l));
  ir_expr *t = ir_mul(b, z, z);
  ir_expr *erf = ir_bin(b, IR_DIV, ir_mul(b, z, horner(b, t, gelu_erf_p, 6)), horner(b, t, gelu_erf_q, 7));
  ir_expr *h = ir_mul(b, x, ir_float(b, 0.5f, l));
  return ir_fma(b, h, erf, h);
}

static ir_expr *act(ir_builder *b, const tpl_epi *ep, ir_expr *x) {
  int l = x->type.lanes;
  switch (ep->act) {
  case CHM_ACT_NONE: return x;
  case CHM_ACT_RELU: return ir_bin(b, IR_MAX, x, ir_float(b, 0, l));
  case CHM_ACT_CLIP:
    return ir_bin(b, IR_MIN, ir_bin(b, IR_MAX, x, ir_float(b, ep->a, l)), ir_float(b, ep->b, l));
  case CHM_ACT_LEAKY_RELU:
    return ir_select(b, ir_bin(b, IR_LT, x, ir_float(b, 0, l)), ir_mul(b, x, ir_float(b, ep->a, l)), x);
  case CHM_ACT_SIGMOID: {
    ir_expr *e = ir_unary(b, IR_EXP, ir_unary(b, IR_NEG, x));
    return ir_bin(b, IR_DIV, ir_float(b, 1, l), ir_add(b, ir_float(b, 1, l), e));
  }
  case CHM_ACT_GELU: return gelu(b, x);
  case CHM_ACT_GELU_TANH: {
    ir_expr *x3 = ir_mul(b, ir_mul(b, x, x), x);
    ir_expr *in = ir_mul(b, ir_fma(b, x3, ir_float(b, 0.044715f, l), x), ir_float(b, 0.7978845608f, l));
    return ir_mul(b, ir_mul(b, x, ir_float(b, 0.5f, l)), ir_add(b, ir_float(b, 1, l), ir_unary(b, IR_TANH, in)));
  }
  case CHM_ACT_SILU: {
    ir_expr *e = ir_unary(b, IR_EXP, ir_unary(b, IR_NEG, x));
    return ir_bin(b, IR_DIV, x, ir_add(b, ir_float(b, 1, l), e));
  }
  case CHM_ACT_HARD_SIGMOID:
    return clamp01(b, ir_fma(b, x, ir_float(b, ep->a, l), ir_float(b, ep->b, l)));
  case CHM_ACT_HARD_SWISH:
    return ir_mul(b, x, clamp01(b, ir_fma(b, x, ir_float(b, ep->a, l), ir_float(b, ep->b, l))));
  case CHM_ACT_TANH: return ir_unary(b, IR_TANH, x);
  case CHM_ACT_EXP: return ir_unary(b, IR_EXP, x);
  case CHM_ACT_LOG: return ir_unary(b, IR_LOG, x);
  case CHM_ACT_SQRT: return ir_unary(b, IR_SQRT, x);
  case CHM_ACT_NEG: return ir_unary(b, IR_NEG, x);
  case CHM_ACT_ABS: return ir_unary(b, IR_ABS, x);
  case CHM_ACT_RECIPROCAL: return ir_bin(b, IR_DIV, ir_float(b, 1, l), x);
  case CHM_ACT_ERF: return ir_unary(b, IR_ERF, x);
  case CHM_N_ACTS: break;
  }
  return x;
}

ir_expr *tpl_act(ir_builder *b, const tpl_epi *ep, ir_expr *x) {
  x = act(b, ep, x);
  if (!ep->clamp) return x;
  int l = x->type.lanes;
  return ir_bin(b, IR_MIN, ir_bin(b, IR_MAX, x, ir_float(b, ep->lo, l)), ir_float(b, ep->hi, l));
}

static int64_t stored_index(const tpl_view *v, int64_t n, int64_t c, int64_t y, int64_t x) {
  return (((n * tpl_view_cblocks(v) + c / v->cb) * (v->h + 2 * v->hh) + y + v->hh) * (v->w + 2 * v->hw) +
          x + v->hw) * v->cb + c % v->cb;
}

void tpl_view_pack(const tpl_view *v, const float *plain, float *stored) {
  memset(stored, 0, (size_t)tpl_view_size(v) * sizeof(float));
  for (int64_t n = 0, i = 0; n < v->n; n++)
    for (int64_t c = 0; c < v->c; c++)
      for (int64_t y = 0; y < v->h; y++)
        for (int64_t x = 0; x < v->w; x++) stored[stored_index(v, n, c, y, x)] = plain[i++];
}

void tpl_view_unpack(const tpl_view *v, const float *stored, float *plain) {
  for (int64_t n = 0, i = 0; n < v->n; n++)
    for (int64_t c = 0; c < v->c; c++)
      for (int64_t y = 0; y < v->h; y++)
        for (int64_t x = 0; x < v->w; x++) plain[i++] = stored[stored_index(v, n, c, y, x)];
}
