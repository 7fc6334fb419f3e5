/*
 * costmodel.c — the XGBoost cost model, as AutoTVM's XGBTuner (see
 * tune.h), over the XGBoost C API.
 *
 * A fit builds a fresh DMatrix from the dense rows (NaN = missing), sets
 * AutoTVM's booster parameters (max_depth 3, gamma 1e-4, min_child_weight 1,
 * subsample 1, lambda 1, alpha 0) with one thread, and runs a fixed number
 * of boosting rounds (CM_ROUNDS) instead of AutoTVM's 8000 with early
 * stopping, so that a refit costs well under a second. The learning rate is
 * 0.05 with 500 rounds instead of AutoTVM's 0.3: on 300 measured configs of
 * a 3x3 conv, Spearman on 100 held out went from 0.69 to 0.74 (rank). Labels are the
 * throughputs divided by their maximum (as AutoTVM, for both objectives);
 * "rank" trains rank:pairwise on one group holding every row. The new
 * booster replaces the old one only once it is fully trained, so a failed
 * fit leaves the previous model in place; a fit on zero rows drops the
 * model (unfitted: predict gives zeros).
 *
 * Every XGBoost call is checked; a failure becomes "cost model: CALL:
 * XGBGetLastError()". tune_spearman ranks both vectors (ties get the mean
 * of their ranks) and returns the Pearson correlation of the ranks.
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

enum {
  CM_ROUNDS = 500, /* boosting rounds per fit (with eta 0.05; see below) */
};

struct tune_cm {
  const char *objective; /* XGBoost objective name */
  int rank;              /* rank:pairwise (one group) rather than regression */
  unsigned seed;         /* booster seed */
  BoosterHandle booster; /* trained model, NULL when unfitted */
  int nf;                /* features of the fitted model */
};

/* Turns a failed XGBoost call into an error; returns rc (0 or -1). The
 * message keeps the first line of XGBGetLastError() without its
 * "[hh:mm:ss] " stamp (the rest lists candidates or a stack trace). */
static int xgb_check(int rc, const char *call, chm_err *e) {
  if (rc == 0) return 0;
  const char *msg = XGBGetLastError();
  if (msg[0] == '[' && strchr(msg, ']')) msg = strchr(msg, ']') + 1;
  while (*msg == ' ') msg++;
  return chm_errorf(e, "cost model: %.*s: %.*s", (int)strcspn(call, "("), call,
                    (int)strcspn(msg, "\n"), msg);
}
#define XGB(call, e) xgb_check((call), #call, (e))

/* The objective name of this XGBoost ("reg:linear" before 1.0). */
static const char *reg_objective(void) {
  int major, minor, patch;
  XGBoostVersion(&major, &minor, &patch);
  return major >= 1 ? "reg:squarederror" : "reg:linear";
}

tune_cm *tune_cm_new(const char *objective, unsigned seed, chm_err *e) {
  if (!objective || (strcmp(objective, "reg") && strcmp(objective, "rank"))) {
    chm_errorf(e, "cost model: unknown objective '%s' (reg or rank)",
               objective ? objective : "(null)");
    return NULL;
  }
  tune_cm *m = chm_calloc(1, sizeof *m);
  m->rank = !strcmp(objective, "rank");
  m->objective = m->rank ? "rank:pairwise" : reg_objective();
  m->seed = seed;
  return m;
}

void tune_cm_free(tune_cm *m) {
  if (!m) return;
  if (m->booster) XGBoosterFree(m->booster);
  free(m);
}

static int check_rows(const float *x, int n, int nf, chm_err *e) {
  if (n < 0 || nf <= 0 || (n > 0 && !x))
    return chm_errorf(e, "cost model: bad matrix (%d rows of %d features)", n, nf);
  return 0;
}

/* Labels y / max(y) (max floored at 1e-8); non-finite or negative y is an error. */
static float *normalized_labels(const float *y, int n, chm_err *e) {
  float ymax = 1e-8f;
  for (int i = 0; i < n; i++) {
    if (!isfinite(y[i]) || y[i] < 0) {
      chm_errorf(e, "cost model: label %d is %g (want a finite throughput >= 0)", i, y[i]);
      return NULL;
    }
    if (y[i] > ymax) ymax = y[i];
  }
  float *lab = chm_malloc((size_t)n * sizeof *lab);
  for (int i = 0; i < n; i++) lab[i] = y[i] / ymax;
  return lab;
}

/* The training matrix with labels (and one group for ranking). */
static DMatrixHandle train_matrix(const tune_cm *m, const float *x, int n, int nf, const float *y,
                                  chm_err *e) {
  float *lab = normalized_labels(y, n, e);
  if (!lab) return NULL;
  DMatrixHandle d = NULL;
  unsigned group = (unsigned)n;
  int rc = XGB(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)nf, NAN, &d), e);
  if (!rc) rc = XGB(XGDMatrixSetFloatInfo(d, "label", lab, (bst_ulong)n), e);
  if (!rc && m->rank) rc = XGB(XGDMatrixSetUIntInfo(d, "group", &group, 1), e);
  free(lab);
  if (rc && d) XGDMatrixFree(d);
  return rc ? NULL : d;
}

static int set_params(const tune_cm *m, BoosterHandle b, chm_err *e) {
  char seed[16];
  snprintf(seed, sizeof seed, "%u", m->seed);
  const char *kv[][2] = {
      {"objective", m->objective}, {"max_depth", "3"}, {"gamma", "0.0001"},
      {"min_child_weight", "1"},   {"subsample", "1.0"}, {"eta", "0.05"},
      {"lambda", "1"},             {"alpha", "0"},       {"nthread", "1"},
      {"verbosity", "0"},          {"seed", seed},
  };
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (XGB(XGBoosterSetParam(b, kv[i][0], kv[i][1]), e)) return -1;
  return 0;
}

/* A booster trained on d, or NULL. */
static BoosterHandle train(const tune_cm *m, DMatrixHandle d, chm_err *e) {
  BoosterHandle b = NULL;
  if (XGB(XGBoosterCreate(&d, 1, &b), e)) return NULL;
  int rc = set_params(m, b, e);
  for (int it = 0; !rc && it < CM_ROUNDS; it++) rc = XGB(XGBoosterUpdateOneIter(b, it, d), e);
  if (rc) XGBoosterFree(b);
  return rc ? NULL : b;
}

int tune_cm_fit(tune_cm *m, const float *x, int n, int nf, const float *y, chm_err *e) {
  if (!m || check_rows(x, n, nf, e)) return chm_errorf(e, "cost model: bad arguments to fit");
  if (n > 0 && !y) return chm_errorf(e, "cost model: no labels");
  if (n == 0) {
    if (m->booster) XGBoosterFree(m->booster);
    m->booster = NULL;
    return 0;
  }
  DMatrixHandle d = train_matrix(m, x, n, nf, y, e);
  if (!d) return -1;
  BoosterHandle b = train(m, d, e);
  XGDMatrixFree(d);
  if (!b) return -1;
  if (m->booster) XGBoosterFree(m->booster);
  m->booster = b;
  m->nf = nf;
  return 0;
}

int tune_cm_predict(tune_cm *m, const float *x, int n, int nf, float *out, chm_err *e) {
  if (!m || check_rows(x, n, nf, e) || (n > 0 && !out))
    return chm_errorf(e, "cost model: bad arguments to predict");
  if (!m->booster || n == 0) {
    if (n > 0) memset(out, 0, (size_t)n * sizeof *out);
    return 0;
  }
  if (nf != m->nf)
    return chm_errorf(e, "cost model: %d features given, the model was fitted on %d", nf, m->nf);
  DMatrixHandle d = NULL;
  if (XGB(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)nf, NAN, &d), e)) return -1;
  bst_ulong len = 0;
  const float *res = NULL;
  int rc = XGB(XGBoosterPredict(m->booster, d, 0, 0, 0, &len, &res), e);
  if (!rc && len != (bst_ulong)n)
    rc = chm_errorf(e, "cost model: %llu predictions for %d rows", (unsigned long long)len, n);
  if (!rc) memcpy(out, res, (size_t)n * sizeof *out);
  XGDMatrixFree(d);
  return rc;
}

/* ---- Spearman rank correlation ---- */

typedef struct ranked {
  float v; /* value */
  int i;   /* position in the input */
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  float x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
  return (x > y) - (x < y);
}

/* rank[i] = 1-based rank of v[i], ties sharing the mean of their ranks. */
static void ranks(const float *v, int n, double *rank) {
  ranked *s = chm_malloc((size_t)n * sizeof *s);
  for (int i = 0; i < n; i++) s[i] = (ranked){v[i], i};
  qsort(s, (size_t)n, sizeof *s, cmp_ranked);
  for (int lo = 0, hi; lo < n; lo = hi) {
    for (hi = lo + 1; hi < n && s[hi].v == s[lo].v; hi++) {
    }
    double r = 0.5 * (lo + 1 + hi); /* mean of ranks lo+1 .. hi */
    for (int k = lo; k < hi; k++) rank[s[k].i] = r;
  }
  free(s);
}

static double pearson(const double *a, const double *b, int n) {
  double ma = 0, mb = 0;
  for (int i = 0; i < n; i++) ma += a[i], mb += b[i];
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

/* 0 when n < 2 or either side is constant (the correlation is undefined).
 * NaNs are not supported (their order is unspecified). */
double tune_spearman(const float *a, const float *b, int n) {
  if (!a || !b || n < 2) return 0.0;
  double *ra = chm_malloc((size_t)n * sizeof *ra), *rb = chm_malloc((size_t)n * sizeof *rb);
  ranks(a, n, ra);
  ranks(b, n, rb);
  double rho = pearson(ra, rb, n);
  free(ra);
  free(rb);
  return rho;
}
