/*
 * ppo.c — Chameleon's adaptive exploration (Ahn et al., ICLR 2020): a PPO
 * agent walks the knob space over the cost model, and the best unvisited
 * points it passes become the plan.
 *
 * How, following the reference (anony-sub/chameleon, rl_model_optimizer.py
 * and reinforcement_learning/ppo_core.py):
 *  - observation: each knob's option index divided by its option count;
 *  - action: per knob decrement / stay / increment, clamped at the ends;
 *  - networks (nn.c): policy trunk 2 x 20 tanh, per knob a head of two 3-unit
 *    tanh layers, their output divided by the temperature 0.1, a 3-unit
 *    linear layer and a softmax; value 3 x 20 tanh and one linear output;
 *  - a planning round runs 128 walks one after another from random valid
 *    starts, each up to 500 steps, ending after the step in which at least
 *    75% of the knobs are saturated (chose stay, or the move is blocked by a
 *    boundary: decrement at 0, increment at the last option);
 *  - after each walk, PPO: GAE (gamma 0.9, lambda 0.99) over the walk with
 *    the value after the last step taken as 0, advantages normalized, value
 *    target r + gamma V(next); 3 epochs, each one minibatch of 32 steps drawn
 *    with replacement from the walk (the reference's horizon = -1 path);
 *    loss = sum over knobs of (clipped surrogate with clip 0.2, one ratio per
 *    knob, + 0.3 entropy) - 1.0 value loss, maximized by Adam (lr 1e-3,
 *    epsilon 1e-5 as the reference); weights and Adam moments persist
 *    across rounds.
 *
 * Choices where the reference is silent (it has no invalid configs and
 * scores each walk's trajectory in one batch after the walk):
 *  - scoring: a walk's actions depend only on positions, never on rewards,
 *    so each walk runs to its end first and then its points are scored in
 *    one oracle call (the reference does the same). Walks stay sequential so
 *    that every walk uses the policy updated by the previous one, exactly as
 *    the reference. Scores are cached per round (the model does not change
 *    within a round), so a point is scored at most once per round: the rows
 *    sent to the oracle are the distinct points visited, and the cache is
 *    also the pool the plan is taken from (the reference re-scores repeats);
 *  - an invalid target is not entered: the agent stays where it was and the
 *    step's reward is the score of that point (the point actually reached),
 *    so a blocked move earns nothing over staying and costs no extra query;
 *    saturation counts the actions as chosen, so a blocked move does not by
 *    itself end the walk;
 *  - rewards are the raw scores, as the reference (a non-finite score
 *    counts as 0). Normalizing them per round was tried on the synthetic
 *    test of tests/ppo (dividing by the round's largest start score;
 *    z-scoring with the start scores' mean and deviation): no gain (median
 *    rows to the optimum over 10 seeds 581k and 450k against 398k raw), so
 *    not done; the advantages are normalized anyway, which makes the policy
 *    gradient scale-free;
 *  - the 128 start points are drawn with oracle->random_valid and scored
 *    first, in one call (the reference scores its start points too);
 *  - entropy is computed exactly from the log-softmax (the reference clips
 *    p at 1e-10 inside the log, which only changes underflowed terms).
 *
 * Where this differs from the reference or from the wording:
 *  - saturation: the reference counts a knob as saturated when it chose stay
 *    or ended on a boundary (so a move onto the boundary counts too); here,
 *    as our spec, only when the action does not move it;
 *  - the temperature divides the input of each head's last (linear) layer,
 *    exactly where the reference divides it, i.e. not the logits themselves.
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

enum {
  PPO_WALKS = 128, /* walks per planning round */
  PPO_STEPS = 500, /* steps per walk at most */
  PPO_EPOCHS = 3,  /* minibatches per walk */
  PPO_BATCH = 32,  /* steps per minibatch */
};
#define PPO_TEMP 0.1        /* softmax temperature of the heads */
#ifndef PPO_SATURATED        /* (overridable to time full-length walks) */
#define PPO_SATURATED 0.75  /* fraction of saturated knobs that ends a walk */
#endif
#define PPO_GAMMA 0.9
#define PPO_LAMBDA 0.99
#define PPO_LR 1e-3
#define PPO_ADAM_EPS 1e-5

/* The points of one round with their scores: open addressing on the index
 * vector (stored as bytes: options < 64). */
typedef struct pt_table {
  int n, cap;             /* entries, slots */
  int *slot;              /* entry + 1 per slot, 0 = empty */
  uint8_t (*cfg)[TUNE_MAX_KNOBS]; /* entry -> config */
  float *score;           /* entry -> score */
  int ecap;               /* capacity of cfg / score */
} pt_table;

struct tune_ppo {
  int n_knobs;                      /* knobs */
  int dims[TUNE_MAX_KNOBS];         /* options per knob */
  unsigned rng;                     /* random state */
  nn_ac net;                        /* policy and value networks */
  nn_adam adam;                     /* their optimizer (persists) */
  nn_ppo_coef coef;                 /* loss coefficients */
  double *grad;                     /* gradient buffer (n_params) */
  double obs[PPO_STEPS * TUNE_MAX_KNOBS];   /* per step: observation */
  int act[PPO_STEPS * TUNE_MAX_KNOBS];      /* per step: action per knob */
  double logp[PPO_STEPS * TUNE_MAX_KNOBS];  /* per step: its log-prob */
  double value[PPO_STEPS];          /* per step: value estimate */
  double reward[PPO_STEPS];         /* per step: reward */
  double adv[PPO_STEPS];            /* per step: normalized advantage */
  double v_target[PPO_STEPS];       /* per step: value target */
  uint8_t pts[PPO_STEPS + 1][TUNE_MAX_KNOBS]; /* start, then point after each step */
  uint8_t starts[PPO_WALKS][TUNE_MAX_KNOBS];  /* this round's start points */
  int rows[PPO_STEPS + 1][TUNE_MAX_KNOBS];    /* configs sent to the oracle */
  int which[PPO_STEPS + 1];         /* their table entries */
  float out[PPO_STEPS + 1];         /* their scores */
};

/* ---- the point table ---- */

static uint32_t pt_hash(const uint8_t *c, int nk) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < nk; i++) h = (h ^ c[i]) * 16777619u;
  return h;
}

/* Entry of config c, or -1; *where gets the slot where it is or would go. */
static int pt_find(const pt_table *t, const uint8_t *c, int nk, int *where) {
  int s = (int)(pt_hash(c, nk) & (uint32_t)(t->cap - 1));
  while (t->slot[s]) {
    int e = t->slot[s] - 1;
    if (!memcmp(t->cfg[e], c, (size_t)nk)) return *where = s, e;
    s = (s + 1) & (t->cap - 1);
  }
  *where = s;
  return -1;
}

static void pt_grow(pt_table *t, int nk) {
  free(t->slot);
  t->cap = t->cap ? 2 * t->cap : 1024;
  t->slot = chm_calloc((size_t)t->cap, sizeof(int));
  for (int e = 0, s; e < t->n; e++) {
    pt_find(t, t->cfg[e], nk, &s);
    t->slot[s] = e + 1;
  }
}

/* Adds config c (unscored, NaN) unless present; returns its entry. */
static int pt_add(pt_table *t, const uint8_t *c, int nk) {
  if (2 * (t->n + 1) > t->cap) pt_grow(t, nk);
  int s, e = pt_find(t, c, nk, &s);
  if (e >= 0) return e;
  if (t->n == t->ecap) {
    t->ecap = t->ecap ? 2 * t->ecap : 1024;
    t->cfg = chm_realloc(t->cfg, (size_t)t->ecap * sizeof *t->cfg);
    t->score = chm_realloc(t->score, (size_t)t->ecap * sizeof *t->score);
  }
  memset(t->cfg[t->n], 0, sizeof t->cfg[t->n]);
  memcpy(t->cfg[t->n], c, (size_t)nk);
  t->score[t->n] = NAN;
  t->slot[s] = t->n + 1;
  return t->n++;
}

static void pt_free(pt_table *t) {
  free(t->slot);
  free(t->cfg);
  free(t->score);
}

/* ---- the agent ---- */

tune_ppo *tune_ppo_new(const tune_space *s, unsigned seed) {
  CHM_ASSERT(s->n_knobs >= 1 && s->n_knobs <= NN_MAX_HEADS);
  tune_ppo *p = chm_calloc(1, sizeof *p);
  p->n_knobs = s->n_knobs;
  for (int k = 0; k < s->n_knobs; k++) {
    CHM_ASSERT(s->knobs[k].n >= 1 && s->knobs[k].n <= TUNE_MAX_VALUES);
    p->dims[k] = s->knobs[k].n;
  }
  p->rng = seed * 2654435761u + 0x6a09e667u;
  if (!p->rng) p->rng = 1;
  nn_ac_init(&p->net, p->n_knobs, PPO_TEMP, &p->rng);
  nn_adam_init(&p->adam, p->net.n_params, PPO_LR, PPO_ADAM_EPS);
  p->coef = (nn_ppo_coef){.clip = 0.2, .c_value = 1.0, .c_entropy = 0.3};
  p->grad = chm_calloc((size_t)p->net.n_params, sizeof(double));
  return p;
}

void tune_ppo_free(tune_ppo *p) {
  if (!p) return;
  nn_ac_free(&p->net);
  nn_adam_free(&p->adam);
  free(p->grad);
  free(p);
}

/* Samples an index from log-probabilities. */
static int sample_action(const double *logp, unsigned *rng) {
  double u = tune_randf(rng), acc = 0;
  for (int j = 0; j < NN_ACTIONS - 1; j++)
    if (u < (acc += exp(logp[j]))) return j;
  return NN_ACTIONS - 1;
}

/* One step from cur (modified in place); returns the saturated knobs. */
static int walk_step(tune_ppo *p, const tune_oracle *o, int t, int *cur) {
  int K = p->n_knobs, next[TUNE_MAX_KNOBS], sat = 0, moved = 0;
  double *obs = p->obs + t * K;
  for (int k = 0; k < K; k++) obs[k] = (double)cur[k] / p->dims[k];
  nn_trace tr;
  nn_ac_forward(&p->net, obs, &tr);
  p->value[t] = tr.value;
  memcpy(next, cur, sizeof next);
  for (int k = 0; k < K; k++) {
    int a = sample_action(tr.logp[k], &p->rng); /* 0 dec, 1 stay, 2 inc */
    p->act[t * K + k] = a;
    p->logp[t * K + k] = tr.logp[k][a];
    int v = cur[k] + a - 1;
    if (v < 0 || v >= p->dims[k]) v = cur[k];
    if (v == cur[k]) sat++;
    else moved = 1, next[k] = v;
  }
  if (moved && o->valid(o->ctx, next)) memcpy(cur, next, (size_t)K * sizeof(int));
  return sat;
}

/* Scores the points of pts[0..n) that the table has not scored yet, in one
 * oracle call; their table entries go to ent. */
static void score_points(tune_ppo *p, const tune_oracle *o, pt_table *tab,
                         const uint8_t (*pts)[TUNE_MAX_KNOBS], int n, int *ent) {
  int K = p->n_knobs, m = 0;
  for (int t = 0; t < n; t++) {
    ent[t] = pt_add(tab, pts[t], K);
    if (!isnan(tab->score[ent[t]])) continue;
    tab->score[ent[t]] = 0; /* claimed: a repeat later in pts is not sent again */
    for (int k = 0; k < TUNE_MAX_KNOBS; k++) p->rows[m][k] = k < K ? pts[t][k] : 0;
    p->which[m++] = ent[t];
  }
  if (!m) return;
  o->score(o->ctx, (const int(*)[TUNE_MAX_KNOBS])p->rows, m, p->out);
  for (int i = 0; i < m; i++) tab->score[p->which[i]] = isfinite(p->out[i]) ? p->out[i] : 0;
}

/* GAE over a walk of len steps, normalized; value targets r + gamma V'. */
static void advantages(tune_ppo *p, int len) {
  double gae = 0, mean = 0, var = 0;
  for (int t = len - 1; t >= 0; t--) {
    double v_next = t + 1 < len ? p->value[t + 1] : 0;
    p->v_target[t] = p->reward[t] + PPO_GAMMA * v_next;
    gae = p->v_target[t] - p->value[t] + PPO_GAMMA * PPO_LAMBDA * gae;
    p->adv[t] = gae;
    mean += gae;
  }
  mean /= len;
  for (int t = 0; t < len; t++) var += (p->adv[t] - mean) * (p->adv[t] - mean);
  double sd = sqrt(var / len) + 1e-8;
  for (int t = 0; t < len; t++) p->adv[t] = (p->adv[t] - mean) / sd;
}

static void learn(tune_ppo *p, int len) {
  advantages(p, len);
  int idx[PPO_BATCH];
  nn_batch b = {.m = PPO_BATCH, .idx = idx, .obs = p->obs, .act = p->act, .old_logp = p->logp,
                .adv = p->adv, .v_target = p->v_target};
  for (int e = 0; e < PPO_EPOCHS; e++) {
    for (int i = 0; i < PPO_BATCH; i++) idx[i] = (int)(tune_rand(&p->rng) % (unsigned)len);
    memset(p->grad, 0, (size_t)p->net.n_params * sizeof(double));
    nn_ppo_loss(&p->net, &b, &p->coef, p->grad);
    nn_adam_step(&p->adam, p->net.theta, p->grad);
  }
}

/* One walk from start, its scoring and the PPO update. */
static void walk(tune_ppo *p, const tune_oracle *o, pt_table *tab, const uint8_t *start) {
  int K = p->n_knobs, cur[TUNE_MAX_KNOBS] = {0}, len = 0, ent[PPO_STEPS + 1];
  for (int k = 0; k < K; k++) cur[k] = start[k];
  memcpy(p->pts[0], start, TUNE_MAX_KNOBS);
  while (len < PPO_STEPS) {
    int sat = walk_step(p, o, len, cur);
    len++;
    for (int k = 0; k < K; k++) p->pts[len][k] = (uint8_t)cur[k];
    if (sat >= PPO_SATURATED * K) break;
  }
  score_points(p, o, tab, (const uint8_t(*)[TUNE_MAX_KNOBS])p->pts, len + 1, ent);
  for (int t = 0; t < len; t++) p->reward[t] = tab->score[ent[t + 1]];
  learn(p, len);
}

/* Random valid start points, scored in one call (they are candidates of
 * the plan too); returns how many were found. */
static int start_points(tune_ppo *p, const tune_oracle *o, pt_table *tab) {
  int K = p->n_knobs, cfg[TUNE_MAX_KNOBS], n = 0, ent[PPO_WALKS];
  memset(p->starts, 0, sizeof p->starts);
  for (; n < PPO_WALKS; n++) {
    memset(cfg, 0, sizeof cfg);
    if (!o->random_valid(o->ctx, &p->rng, cfg)) break;
    for (int k = 0; k < K; k++) p->starts[n][k] = (uint8_t)cfg[k];
  }
  score_points(p, o, tab, (const uint8_t(*)[TUNE_MAX_KNOBS])p->starts, n, ent);
  return n;
}

/* A candidate of the plan: score and config, ordered by descending score
 * (ties: smaller config first, so the order never depends on qsort). */
typedef struct pt_rank {
  float score;                  /* predicted score */
  uint8_t cfg[TUNE_MAX_KNOBS];  /* config, zero-padded */
} pt_rank;

static int by_score(const void *a, const void *b) {
  const pt_rank *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return memcmp(x->cfg, y->cfg, TUNE_MAX_KNOBS);
}

/* The n best unvisited table entries into out; returns how many. */
static int best_unvisited(const tune_ppo *p, const tune_oracle *o, const pt_table *tab,
                          int (*out)[TUNE_MAX_KNOBS], int n) {
  pt_rank *r = chm_malloc((size_t)(tab->n ? tab->n : 1) * sizeof *r);
  for (int i = 0; i < tab->n; i++) {
    r[i].score = tab->score[i];
    memcpy(r[i].cfg, tab->cfg[i], TUNE_MAX_KNOBS);
  }
  qsort(r, (size_t)tab->n, sizeof *r, by_score);
  int got = 0;
  for (int i = 0; i < tab->n && got < n; i++) {
    int cfg[TUNE_MAX_KNOBS] = {0};
    for (int k = 0; k < p->n_knobs; k++) cfg[k] = r[i].cfg[k];
    if (o->visited(o->ctx, cfg)) continue;
    memcpy(out[got++], cfg, sizeof cfg);
  }
  free(r);
  return got;
}

int tune_ppo_plan(tune_ppo *p, const tune_oracle *o, int (*out)[TUNE_MAX_KNOBS], int n) {
  CHM_ASSERT(o->space->n_knobs == p->n_knobs);
  pt_table tab = {0};
  int starts = start_points(p, o, &tab);
  for (int i = 0; i < starts; i++) walk(p, o, &tab, p->starts[i]);
  int got = best_unvisited(p, o, &tab, out, n);
  pt_free(&tab);
  return got;
}
