/*
 * model_based.c — the model-based tuners: an XGBoost cost model refit on
 * every measurement after each batch, a model optimizer that plans the next
 * batch over the model, and a sampler that chooses what of the plan is
 * measured. Four combinations, all in the same loop:
 *
 *   autotvm    simulated annealing, every planned config measured
 *              (the AutoTVM baseline, Chen et al., NeurIPS 2018)
 *   chameleon  the PPO agent + adaptive sampling with sample synthesis
 *              (Ahn et al., ICLR 2020)
 *   rl         the PPO agent, every planned config measured
 *   sa-as      simulated annealing + adaptive sampling with synthesis
 *
 * Simulated annealing is AutoTVM's SimulatedAnnealingOptimizer
 * (anneal.c) over the cost model: its 64 best unvisited configs by
 * predicted score form the plan, as the PPO agent's do. Of the plan, 5% are
 * replaced by random unvisited configs (also after adaptive sampling: the
 * exploration of the baseline is kept). The first batch is random.
 *
 * Warm start (tune_ctx.warm_start, off in the benchmarks): until the task
 * has PLAN measurements, the model is fitted on the log's records of other
 * tasks of the same template too, their tasks rebuilt from their keys for
 * the features, and each task's throughputs divided by that task's best
 * (so that slow and fast layers mix). The features are mostly relative to
 * the task (efficiency estimates, lane use, footprints against the caches),
 * which is what lets a model of other layers rank this one's configs better
 * than chance. Without WARM_MIN such rows the first batch stays random.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PLAN = 64 }; /* configs in a plan */
enum { WARM_MIN = 64, WARM_MAX = 4096 }; /* other tasks' rows: needed, used (latest) */
#define EPSILON 0.05

typedef struct mb_state {
  const tune_task *t;                /* the task */
  int use_ppo;                       /* optimizer: PPO agent (else annealing) */
  int adaptive;                      /* sampler: adaptive sampling (else all) */
  tune_cm *cm;                       /* cost model */
  tune_ppo *ppo;                     /* the agent, kept across rounds */
  int nf;                            /* features per config */
  CHM_VEC(float) x;                  /* features of every measured config */
  CHM_VEC(float) y;                  /* their GFLOP/s */
  int fitted;                        /* rows in the last fit */
  int warm_done;                     /* other tasks' rows collected (or found too few) */
  CHM_VEC(float) wx;                 /* their features */
  CHM_VEC(float) wy;                 /* their throughput / their task's best */
  tune_sa sa;                        /* the annealing's chains, kept between rounds */
} mb_state;

static mb_state *mb_new(const tune_task *t, unsigned seed, int use_ppo, int adaptive) {
  mb_state *m = chm_calloc(1, sizeof *m);
  m->t = t;
  m->use_ppo = use_ppo;
  m->adaptive = adaptive;
  m->cm = tune_cm_new("rank", seed, NULL);
  if (use_ppo) m->ppo = tune_ppo_new(&t->space, seed);
  int idx[TUNE_MAX_KNOBS] = {0};
  float f[TUNE_MAX_FEATURES];
  m->nf = tune_task_features(t, idx, f);
  return m;
}

static void *create_autotvm(const tune_task *t, unsigned seed) { return mb_new(t, seed, 0, 0); }
static void *create_chameleon(const tune_task *t, unsigned seed) { return mb_new(t, seed, 1, 1); }
static void *create_rl(const tune_task *t, unsigned seed) { return mb_new(t, seed, 1, 0); }
static void *create_sa_as(const tune_task *t, unsigned seed) { return mb_new(t, seed, 0, 1); }

static void mb_destroy(void *st) {
  mb_state *m = st;
  tune_cm_free(m->cm);
  tune_ppo_free(m->ppo);
  chm_vec_free(&m->x);
  chm_vec_free(&m->y);
  chm_vec_free(&m->wx);
  chm_vec_free(&m->wy);
  free(m);
}

static void mb_update(void *st, const tune_ctx *c, const tune_record *r, int n) {
  mb_state *m = st;
  float f[TUNE_MAX_FEATURES];
  for (int i = 0; i < n; i++) {
    tune_task_features(c->task, r[i].config, f);
    for (int j = 0; j < m->nf; j++) chm_vec_push(&m->x, f[j]);
    chm_vec_push(&m->y, (float)tune_log_throughput(c->log, &r[i]));
  }
}

/* ---- warm start from other tasks' records ---- */

typedef struct warm_task {
  char key[256];   /* the task's key */
  tune_task t;     /* rebuilt from it */
  int ok;          /* the key parsed, into a task of this method's template */
  double best;     /* best throughput in the log */
} warm_task;

typedef CHM_VEC(warm_task) warm_tasks;

/* The entry of `key`, added (and its task rebuilt) when new. */
static warm_task *warm_find(warm_tasks *ts, const char *key, const mb_state *m) {
  for (int i = 0; i < ts->len; i++)
    if (!strcmp(ts->data[i].key, key)) return &ts->data[i];
  warm_task n = {0};
  snprintf(n.key, sizeof n.key, "%s", key);
  /* same template, so the same features (their number depends on the kind only) */
  int dense = m->t->kind == TUNE_DENSE;
  /* the log's records are of this task's machine */
  n.ok = !tune_task_from_key(key, dense ? m->t->dense.vregs : m->t->conv.vregs, &m->t->mach, &n.t) &&
         n.t.kind == m->t->kind;
  chm_vec_push(ts, n);
  return &ts->data[ts->len - 1];
}

/* Collects the latest WARM_MAX records of other tasks whose features match. */
static void warm_collect(mb_state *m, const tune_ctx *c) {
  m->warm_done = 1;
  warm_tasks ts = {0};
  CHM_VEC(int) of = {0}; /* task of each row */
  float f[TUNE_MAX_FEATURES];
  for (int i = tune_log_size(c->log) - 1; i >= 0 && m->wy.len < WARM_MAX; i--) {
    const tune_record *r = tune_log_get(c->log, i);
    if (!strcmp(r->task, m->t->key)) continue;
    warm_task *w = warm_find(&ts, r->task, m);
    if (!w->ok || r->n_config != w->t.space.n_knobs || tune_task_check(&w->t, r->config)) continue;
    double g = tune_log_throughput(c->log, r);
    if (g > w->best) w->best = g;
    tune_task_features(&w->t, r->config, f);
    for (int j = 0; j < m->nf; j++) chm_vec_push(&m->wx, f[j]);
    chm_vec_push(&m->wy, (float)g);
    chm_vec_push(&of, (int)(w - ts.data));
  }
  for (int i = 0; i < m->wy.len; i++) { /* throughput / its task's best */
    double best = ts.data[of.data[i]].best;
    m->wy.data[i] = best > 0 ? (float)(m->wy.data[i] / best) : 0.0f;
  }
  if (m->wy.len < WARM_MIN) m->wx.len = m->wy.len = 0;
  chm_vec_free(&ts);
  chm_vec_free(&of);
}

/* Fits on the other tasks' rows plus this task's (normalized by its best). */
static int warm_fit(mb_state *m) {
  int rows = m->y.len, all = m->wy.len + rows;
  float *x = chm_malloc((size_t)all * m->nf * sizeof(float)), *y = chm_malloc((size_t)all * sizeof(float));
  memcpy(x, m->wx.data, (size_t)m->wy.len * m->nf * sizeof(float));
  if (rows) memcpy(x + (size_t)m->wy.len * m->nf, m->x.data, (size_t)rows * m->nf * sizeof(float));
  memcpy(y, m->wy.data, (size_t)m->wy.len * sizeof(float));
  float best = 0;
  for (int i = 0; i < rows; i++) best = m->y.data[i] > best ? m->y.data[i] : best;
  for (int i = 0; i < rows; i++) y[m->wy.len + i] = best > 0 ? m->y.data[i] / best : 0;
  int rc = tune_cm_fit(m->cm, x, all, m->nf, y, NULL);
  free(x);
  free(y);
  return rc;
}

static void predict(mb_state *m, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *score) {
  float *x = chm_malloc((size_t)n * m->nf * sizeof(float));
  for (int i = 0; i < n; i++) tune_task_features(m->t, cfg[i], x + i * m->nf);
  if (tune_cm_predict(m->cm, x, n, m->nf, score, NULL))
    for (int i = 0; i < n; i++) score[i] = 0;
  free(x);
}

/* ---- the oracle the optimizers and the sampler query ---- */

typedef struct oracle_ctx {
  mb_state *m;          /* model and task */
  const tune_ctx *c;    /* the log */
} oracle_ctx;

static void o_score(void *ctx, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *out) {
  predict(((oracle_ctx *)ctx)->m, cfg, n, out);
}
static int o_valid(void *ctx, const int *cfg) { return !tune_task_check(((oracle_ctx *)ctx)->m->t, cfg); }
static int o_visited(void *ctx, const int *cfg) { return tune_visited(((oracle_ctx *)ctx)->c, cfg); }
static int o_random(void *ctx, unsigned *rng, int *cfg) {
  return tune_random_valid(((oracle_ctx *)ctx)->m->t, rng, cfg);
}

/* The optimizer's plan: up to PLAN unvisited configs, best predicted first. */
static int make_plan(mb_state *m, const tune_ctx *c, const tune_oracle *o, int (*plan)[TUNE_MAX_KNOBS]) {
  return m->use_ppo ? tune_ppo_plan(m->ppo, o, plan, PLAN) : tune_sa_plan(&m->sa, o, c->rng, plan, PLAN);
}

static int mb_propose(void *st, const tune_ctx *c, int *out, int n) {
  mb_state *m = st;
  int got = 0, idx[TUNE_MAX_KNOBS], rows = m->y.len;
  if (rows < PLAN && c->warm_start && !m->warm_done) warm_collect(m, c);
  if (rows < PLAN && !m->wy.len) { /* not enough data for a model yet */
    tune_batch_fill_random(c, out, &got, n);
    return got;
  }
  if (rows != m->fitted || rows < PLAN) {
    double t0 = chm_now();
    if (!(rows < PLAN ? warm_fit(m) : tune_cm_fit(m->cm, m->x.data, rows, m->nf, m->y.data, NULL)))
      m->fitted = rows;
    if (c->fit_s) *c->fit_s += chm_now() - t0;
  }
  oracle_ctx oc = {m, c};
  tune_oracle o = {&oc, &c->task->space, o_score, o_valid, o_visited, o_random};
  int (*plan)[TUNE_MAX_KNOBS] = chm_malloc(2 * PLAN * sizeof *plan), (*pick)[TUNE_MAX_KNOBS] = plan;
  int np = make_plan(m, c, &o, plan), npick = np;
  if (m->adaptive && np > 0) { /* measure one synthesized representative per cluster */
    pick = plan + PLAN;
    npick = tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])plan, np, c->rng, pick, PLAN);
  }
  for (int i = 0; i < npick && got < n; i++) {
    const int *cfg = pick[i];
    if (tune_randf(c->rng) < EPSILON && tune_random_valid(c->task, c->rng, idx) && !tune_visited(c, idx))
      cfg = idx; /* epsilon-greedy exploration */
    tune_batch_add(c, out, &got, cfg);
  }
  free(plan);
  /* the baseline measures full batches; the samplers' batches are as large
   * as the clusters they found, unless nothing was left to propose */
  if (!m->adaptive || got == 0) tune_batch_fill_random(c, out, &got, n);
  return got;
}

const tune_method tune_method_autotvm = {"autotvm", create_autotvm, mb_propose, mb_update, mb_destroy};
const tune_method tune_method_chameleon = {"chameleon", create_chameleon, mb_propose, mb_update, mb_destroy};
const tune_method tune_method_rl = {"rl", create_rl, mb_propose, mb_update, mb_destroy};
const tune_method tune_method_sa_as = {"sa-as", create_sa_as, mb_propose, mb_update, mb_destroy};
