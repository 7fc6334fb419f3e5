/*
 * methods.c — the model-free search methods: random, grid and genetic
 * (as AutoTVM's RandomTuner, GridSearchTuner and GATuner), and the table
 * of all methods by name.
 */
#include "chamcc/tune.h"

#include <stdlib.h>
#include <string.h>

/* ---- random ---- */

static void *random_create(const tune_task *t, unsigned seed) {
  (void)t;
  (void)seed;
  return chm_calloc(1, 1);
}

static int random_propose(void *st, const tune_ctx *c, int *out, int n) {
  int got = 0;
  tune_batch_fill_random(c, out, &got, n);
  (void)st;
  return got;
}

static void nothing_update(void *st, const tune_ctx *c, const tune_record *r, int n) {
  (void)st, (void)c, (void)r, (void)n;
}

static void plain_destroy(void *st) { free(st); }

/* ---- grid: every config in index order ---- */

typedef struct grid_state {
  int64_t next; /* next index to look at */
} grid_state;

static void *grid_create(const tune_task *t, unsigned seed) {
  (void)t, (void)seed;
  return chm_calloc(1, sizeof(grid_state));
}

static int grid_propose(void *st, const tune_ctx *c, int *out, int n) {
  grid_state *g = st;
  int got = 0, idx[TUNE_MAX_KNOBS];
  int64_t size = tune_space_size(&c->task->space);
  while (got < n && g->next < size) {
    tune_space_config(&c->task->space, g->next++, idx);
    tune_batch_add(c, out, &got, idx);
  }
  return got;
}

/* ---- genetic: elitism, fitness-proportional selection, uniform
 * crossover, per-knob mutation (AutoTVM's GATuner parameters) ---- */

enum { GA_POP = 64, GA_ELITE = 3 };
#define GA_MUTATION 0.1

typedef struct ga_state {
  int genes[GA_POP][TUNE_MAX_KNOBS]; /* the population */
  double score[GA_POP];              /* GFLOP/s of each (0 if unmeasured or failed) */
  int n;                             /* members */
} ga_state;

static void *ga_create(const tune_task *t, unsigned seed) {
  (void)t, (void)seed;
  return chm_calloc(1, sizeof(ga_state));
}

static int pick_parent(const ga_state *g, unsigned *rng) {
  double sum = 0;
  for (int i = 0; i < g->n; i++) sum += g->score[i] + 1e-3;
  double x = tune_randf(rng) * sum;
  for (int i = 0; i < g->n; i++)
    if ((x -= g->score[i] + 1e-3) <= 0) return i;
  return g->n - 1;
}

static int ga_propose(void *st, const tune_ctx *c, int *out, int n) {
  ga_state *g = st;
  const tune_space *sp = &c->task->space;
  int got = 0, idx[TUNE_MAX_KNOBS];
  for (int tries = 0; got < n && tries < 100 * n + 1000; tries++) {
    if (g->n < 2) { /* no population yet: random */
      if (tune_random_valid(c->task, c->rng, idx)) tune_batch_add(c, out, &got, idx);
      continue;
    }
    int a = pick_parent(g, c->rng), b = pick_parent(g, c->rng);
    for (int k = 0; k < sp->n_knobs; k++) {
      idx[k] = tune_rand(c->rng) % 2 ? g->genes[a][k] : g->genes[b][k];
      if (tune_randf(c->rng) < GA_MUTATION) idx[k] = (int)(tune_rand(c->rng) % (unsigned)sp->knobs[k].n);
    }
    tune_batch_add(c, out, &got, idx);
  }
  return got;
}

/* New members replace the weakest, keeping the elite. */
static void ga_update(void *st, const tune_ctx *c, const tune_record *r, int n) {
  ga_state *g = st;
  for (int i = 0; i < n; i++) {
    double s = tune_log_throughput(c->log, &r[i]);
    int slot = g->n < GA_POP ? g->n++ : -1;
    if (slot < 0) {
      slot = 0;
      for (int j = 1; j < g->n; j++)
        if (g->score[j] < g->score[slot]) slot = j;
      int better = 0; /* the elite survive: replace only if not among the best GA_ELITE */
      for (int j = 0; j < g->n; j++) better += g->score[j] > g->score[slot];
      if (better < GA_ELITE || s < g->score[slot]) continue;
    }
    memcpy(g->genes[slot], r[i].config, sizeof g->genes[slot]);
    g->score[slot] = s;
  }
  (void)c;
}

/* ---- the table ---- */

extern const tune_method tune_method_autotvm, tune_method_chameleon, tune_method_rl, tune_method_sa_as;

static const tune_method *model_based[] = {&tune_method_chameleon, &tune_method_autotvm, &tune_method_rl,
                                           &tune_method_sa_as};

static const tune_method methods[] = {
    {"random", random_create, random_propose, nothing_update, plain_destroy},
    {"grid", grid_create, grid_propose, nothing_update, plain_destroy},
    {"ga", ga_create, ga_propose, ga_update, plain_destroy},
};

const tune_method *tune_method_find(const char *name) {
  for (size_t i = 0; i < sizeof model_based / sizeof model_based[0]; i++)
    if (!strcmp(model_based[i]->name, name)) return model_based[i];
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (!strcmp(methods[i].name, name)) return &methods[i];
  return NULL;
}

const char *tune_method_names(void) { return "chameleon, autotvm, rl, sa-as, random, grid, ga"; }
