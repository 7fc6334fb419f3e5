/*
 * anneal.c — AutoTVM's simulated annealing over a cost model (tune.h's
 * tune_oracle), the model optimizer of the autotvm and sa-as tuners
 * (model_based.c); tests/ppo races Chameleon's PPO agent against it.
 *
 * As AutoTVM's SimulatedAnnealingOptimizer: TUNE_SA_CHAINS parallel chains
 * that persist between rounds (started from random valid configs), up to
 * SA_STEPS steps, the temperature falling linearly from 1 to 0, each step
 * changing one random knob of each chain (moves into invalid configs are
 * not taken), a move accepted with probability exp((new - old) / T). The
 * n best unvisited configs seen (by score) form the plan; the search stops
 * early after SA_EARLY_STOP steps without a change in that top set.
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SA_STEPS = 500, SA_EARLY_STOP = 50 };

/* The top set: the cap best unvisited configs by score, unsorted. */
typedef struct top_set {
  int (*cfg)[TUNE_MAX_KNOBS]; /* cap of them */
  float *score;               /* their scores */
  int n, cap;                 /* held, most held */
} top_set;

static int top_add(top_set *s, const tune_oracle *o, const int *x, float score) {
  size_t nk = (size_t)o->space->n_knobs * sizeof(int);
  int worst = 0;
  for (int i = 0; i < s->n; i++) {
    if (!memcmp(s->cfg[i], x, nk)) return 0;
    if (s->score[i] < s->score[worst]) worst = i;
  }
  if (s->n == s->cap && score <= s->score[worst]) return 0;
  if (o->visited(o->ctx, x)) return 0;
  int slot = s->n < s->cap ? s->n++ : worst;
  memcpy(s->cfg[slot], x, sizeof s->cfg[slot]);
  s->score[slot] = score;
  return 1;
}

/* One step of one chain: change one random knob; stays put if invalid. */
static void mutate(const tune_oracle *o, unsigned *rng, const int *from, int *to) {
  memcpy(to, from, TUNE_MAX_KNOBS * sizeof(int));
  for (int tries = 0; tries < 8; tries++) {
    int k = (int)(tune_rand(rng) % (unsigned)o->space->n_knobs);
    if (o->space->knobs[k].n < 2) continue;
    to[k] = (int)(tune_rand(rng) % (unsigned)o->space->knobs[k].n);
    if (o->valid(o->ctx, to)) return;
    to[k] = from[k];
  }
}

static void anneal(tune_sa *sa, const tune_oracle *o, unsigned *rng, top_set *top) {
  int (*next)[TUNE_MAX_KNOBS] = chm_malloc(TUNE_SA_CHAINS * sizeof *next);
  float *score = chm_malloc(TUNE_SA_CHAINS * sizeof(float)), *nscore = chm_malloc(TUNE_SA_CHAINS * sizeof(float));
  for (; sa->n_chains < TUNE_SA_CHAINS; sa->n_chains++)
    if (!o->random_valid(o->ctx, rng, sa->chain[sa->n_chains])) break;
  int n = sa->n_chains;
  o->score(o->ctx, (const int(*)[TUNE_MAX_KNOBS])sa->chain, n, score);
  for (int i = 0; i < n; i++) top_add(top, o, sa->chain[i], score[i]);
  int last_change = 0;
  for (int step = 0; step < SA_STEPS; step++) {
    double temp = 1.0 - (double)step / SA_STEPS;
    for (int i = 0; i < n; i++) mutate(o, rng, sa->chain[i], next[i]);
    o->score(o->ctx, (const int(*)[TUNE_MAX_KNOBS])next, n, nscore);
    int changed = 0;
    for (int i = 0; i < n; i++) {
      double p = exp(fmin((nscore[i] - score[i]) / (temp + 1e-5), 1.0));
      if (tune_randf(rng) < p) {
        memcpy(sa->chain[i], next[i], sizeof next[i]);
        score[i] = nscore[i];
      }
      changed |= top_add(top, o, next[i], nscore[i]);
    }
    if (changed) last_change = step;
    else if (step - last_change >= SA_EARLY_STOP) break;
  }
  free(next);
  free(score);
  free(nscore);
}

/* order[0..n) sorted by descending score (insertion sort: n is a plan). */
static void sort_desc(int *order, int n, const float *score) {
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
}

int tune_sa_plan(tune_sa *sa, const tune_oracle *o, unsigned *rng, int (*out)[TUNE_MAX_KNOBS], int n) {
  top_set top = {chm_calloc((size_t)n, sizeof *top.cfg), chm_calloc((size_t)n, sizeof(float)), 0, n};
  anneal(sa, o, rng, &top);
  int *order = chm_malloc((size_t)n * sizeof(int));
  sort_desc(order, top.n, top.score);
  for (int i = 0; i < top.n; i++) memcpy(out[i], top.cfg[order[i]], sizeof out[i]);
  free(order);
  free(top.cfg);
  free(top.score);
  return top.n;
}
