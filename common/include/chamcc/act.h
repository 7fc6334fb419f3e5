/*
 * act.h — the activations chamcc fuses into a kernel's store (prefix
 * `chm_act`): one enum that the graph (a UNARY node's activation, a fused
 * epilogue), the templates (the loop IR of an epilogue) and the measurer's
 * OpenBLAS reference all read, and its meaning in double precision.
 *
 * Adding one: a value here, its name and its formula in common/act.c, its
 * loop IR in tpl_act (codegen/tpl_common.c), and the operator's ACT column
 * in graph/include/chamcc/ops.def.
 */
#ifndef CHAMCC_ACT_H
#define CHAMCC_ACT_H

#include <stdbool.h>

/* a, b are the parameters: Clip min/max, LeakyRelu alpha, HardSigmoid
 * alpha/beta; the others have none. */
typedef enum chm_act {
  CHM_ACT_NONE,        /* x */
  CHM_ACT_RELU,        /* max(x, 0) */
  CHM_ACT_CLIP,        /* min(max(x, a), b) */
  CHM_ACT_LEAKY_RELU,  /* x < 0 ? a * x : x */
  CHM_ACT_SIGMOID,     /* 1 / (1 + exp(-x)) */
  CHM_ACT_HARD_SIGMOID,/* max(0, min(1, a * x + b)) */
  CHM_ACT_HARD_SWISH,  /* x * max(0, min(1, a x + b)): HardSwish is a = 1/6, b = 0.5;
                        * x * HardSigmoid(x) takes the HardSigmoid's */
  CHM_ACT_TANH,        /* tanh(x) */
  CHM_ACT_EXP,         /* exp(x) */
  CHM_ACT_LOG,         /* log(x) */
  CHM_ACT_SQRT,        /* sqrt(x) */
  CHM_ACT_NEG,         /* -x */
  CHM_ACT_ABS,         /* |x| */
  CHM_ACT_RECIPROCAL,  /* 1 / x */
  CHM_ACT_ERF,         /* erf(x) */
  CHM_ACT_SILU,        /* x * sigmoid(x) (x * Sigmoid(x) fused) */
  CHM_ACT_GELU,        /* x / 2 * (1 + erf(x / sqrt 2)) */
  CHM_ACT_GELU_TANH,   /* x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) */
  CHM_N_ACTS
} chm_act;

/* The activation applied to x in double precision: what constant folding
 * computes and what the OpenBLAS reference's epilogue applies. */
double chm_act_eval(chm_act act, float a, float b, double x);
const char *chm_act_name(chm_act act); /* "relu", ...; "?" if unknown */
/* act(0) is finite: the activation may run on the zero padding lanes of a
 * blocked layout (log and reciprocal may not: their infinities would reach
 * real channels through a later convolution's zero weights, as NaN). */
bool chm_act_zero_safe(chm_act act, float a, float b);

#endif
