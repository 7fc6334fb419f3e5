/*
 * act.c — what each activation of act.h computes, in double precision, and
 * its name. The graph folds constants through chm_act_eval and the
 * measurer's reference applies it after sgemm; the kernels compute the
 * same formulas in float through the loop IR (codegen/tpl_common.c).
 */
#include "chamcc/act.h"

#include <math.h>

double chm_act_eval(chm_act act, float a, float b, double x) {
  switch (act) {
  case CHM_ACT_NONE: case CHM_N_ACTS: return x;
  case CHM_ACT_RELU: return x > 0 ? x : 0;
  case CHM_ACT_LEAKY_RELU: return x < 0 ? a * x : x;
  case CHM_ACT_SIGMOID: return 1 / (1 + exp(-x));
  case CHM_ACT_TANH: return tanh(x);
  case CHM_ACT_CLIP: return fmin(fmax(x, a), b);
  case CHM_ACT_HARD_SIGMOID: return fmax(0, fmin(1, a * x + b));
  case CHM_ACT_HARD_SWISH: return x * fmax(0, fmin(1, a * x + b));
  case CHM_ACT_EXP: return exp(x);
  case CHM_ACT_LOG: return log(x);
  case CHM_ACT_SQRT: return sqrt(x);
  case CHM_ACT_NEG: return -x;
  case CHM_ACT_ABS: return fabs(x);
  case CHM_ACT_RECIPROCAL: return 1 / x;
  case CHM_ACT_ERF: return erf(x);
  case CHM_ACT_SILU: return x / (1 + exp(-x));
  case CHM_ACT_GELU: return 0.5 * x * (1 + erf(x * M_SQRT1_2));
  case CHM_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }
  return x;
}

bool chm_act_zero_safe(chm_act act, float a, float b) { return isfinite(chm_act_eval(act, a, b, 0.0)); }

const char *chm_act_name(chm_act act) {
  static const char *const names[CHM_N_ACTS] = {
      "none", "relu", "clip", "leaky_relu", "sigmoid", "hard_sigmoid", "hard_swish", "tanh",
      "exp",  "log",  "sqrt", "neg",        "abs",     "reciprocal",   "erf",        "silu",
      "gelu", "gelu_tanh"};
  return act >= 0 && act < CHM_N_ACTS ? names[act] : "?";
}
