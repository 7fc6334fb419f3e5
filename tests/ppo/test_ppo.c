/*
 * test_ppo.c — tests of the PPO agent (tune/ppo.c) and its networks
 * (tune/nn.c). One program, one sub-test per argument:
 *
 *   gradcheck   forward pass against an independent recomputation (with the
 *               temperature), and the PPO loss gradient (log-prob surrogate,
 *               entropy, value, and all together with clipping) against
 *               central finite differences, for random weights and inputs;
 *   adam        Adam reduces a quadratic loss and its first step is -lr*sign;
 *   acceptance  on synthetic knob spaces with a known optimum and an exact
 *               score, the PPO agent reaches the optimum with fewer score
 *               rows (cost-model queries) than AutoTVM's simulated annealing,
 *               over 10 seeds (medians compared; PPO's runs stop once their
 *               median is decided, SA's at twice that median: neither changes
 *               the comparison);
 *   plan        tune_ppo_plan returns valid, unvisited, distinct configs,
 *               best first; the agent keeps learning across calls; the same
 *               seed gives the same plan;
 *   timing      agent time of one planning round on 8 knobs (score time
 *               excluded).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chamcc/tune.h"
#include "nn.h"

#include "../check.h"

static double randn(unsigned *rng) {
  double u = tune_randf(rng) + 1e-12, v = tune_randf(rng);
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- gradcheck ---- */

enum { GC_K = 5, GC_M = 8 };

/* Independent forward of one head's log-probs from theta (checks the
 * temperature is applied to the input of the logits layer). */
static void manual_head(const nn_ac *n, const double *obs, int k, double *logp) {
  double a1[NN_HIDDEN], a2[NN_HIDDEN], g1[3], g2[3], z[3];
  const double *t = n->theta;
  for (int o = 0; o < NN_HIDDEN; o++) {
    double s = t[n->p1.b + o];
    for (int i = 0; i < n->n_in; i++) s += t[n->p1.w + o * n->n_in + i] * obs[i];
    a1[o] = tanh(s);
  }
  for (int o = 0; o < NN_HIDDEN; o++) {
    double s = t[n->p2.b + o];
    for (int i = 0; i < NN_HIDDEN; i++) s += t[n->p2.w + o * NN_HIDDEN + i] * a1[i];
    a2[o] = tanh(s);
  }
  for (int o = 0; o < 3; o++) {
    double s = t[n->h1[k].b + o];
    for (int i = 0; i < NN_HIDDEN; i++) s += t[n->h1[k].w + o * NN_HIDDEN + i] * a2[i];
    g1[o] = tanh(s);
  }
  for (int o = 0; o < 3; o++) {
    double s = t[n->h2[k].b + o];
    for (int i = 0; i < 3; i++) s += t[n->h2[k].w + o * 3 + i] * g1[i];
    g2[o] = tanh(s);
  }
  for (int o = 0; o < 3; o++) {
    double s = t[n->h3[k].b + o];
    for (int i = 0; i < 3; i++) s += t[n->h3[k].w + o * 3 + i] * (g2[i] / n->temp);
    z[o] = s;
  }
  double mx = fmax(z[0], fmax(z[1], z[2])), se = 0;
  for (int o = 0; o < 3; o++) se += exp(z[o] - mx);
  for (int o = 0; o < 3; o++) logp[o] = z[o] - mx - log(se);
}

typedef struct gc_data {
  double obs[GC_M * GC_K], old_logp[GC_M * GC_K], adv[GC_M], v_target[GC_M];
  int act[GC_M * GC_K], idx[GC_M];
} gc_data;

static void gc_fill(nn_ac *n, gc_data *d, unsigned *rng, double old_noise) {
  for (int i = 0; i < n->n_params; i++) n->theta[i] += 0.3 * randn(rng); /* biases non-zero too */
  for (int s = 0; s < GC_M; s++) {
    d->idx[s] = (GC_M - 1 - s + (s == 0)) % GC_M; /* a permutation with a repeat */
    d->adv[s] = randn(rng);
    d->v_target[s] = randn(rng);
    for (int k = 0; k < GC_K; k++) d->obs[s * GC_K + k] = tune_randf(rng);
  }
  nn_trace tr;
  for (int s = 0; s < GC_M; s++) {
    nn_ac_forward(n, d->obs + s * GC_K, &tr);
    for (int k = 0; k < GC_K; k++) {
      int a = (int)(tune_rand(rng) % 3);
      d->act[s * GC_K + k] = a;
      d->old_logp[s * GC_K + k] = tr.logp[k][a] + old_noise * randn(rng);
    }
  }
}

/* Max relative error of the analytic gradient against central differences. */
static double gc_compare(nn_ac *n, const nn_batch *b, const nn_ppo_coef *c, int *n_clipped) {
  double *g = calloc((size_t)n->n_params, sizeof(double)), worst = 0, gmax = 0;
  nn_ppo_loss(n, b, c, g);
  for (int i = 0; i < n->n_params; i++) gmax = fmax(gmax, fabs(g[i]));
  for (int i = 0; i < n->n_params; i++) {
    double t0 = n->theta[i], h = 1e-6;
    n->theta[i] = t0 + h;
    double lp = nn_ppo_loss(n, b, c, NULL);
    n->theta[i] = t0 - h;
    double lm = nn_ppo_loss(n, b, c, NULL);
    n->theta[i] = t0;
    double fd = (lp - lm) / (2 * h);
    /* relative error, with a floor of 1e-3 of the largest component so that
     * round-off on near-zero entries does not count */
    double rel = fabs(fd - g[i]) / fmax(fmax(fabs(fd), fabs(g[i])), 1e-3 * gmax);
    worst = fmax(worst, rel);
  }
  if (n_clipped) {
    *n_clipped = 0;
    nn_trace tr;
    for (int s = 0; s < b->m; s++) {
      int row = b->idx[s];
      nn_ac_forward(n, b->obs + row * GC_K, &tr);
      for (int k = 0; k < GC_K; k++) {
        double r = exp(tr.logp[k][b->act[row * GC_K + k]] - b->old_logp[row * GC_K + k]);
        *n_clipped += (b->adv[row] > 0 && r > 1 + c->clip) || (b->adv[row] < 0 && r < 1 - c->clip);
      }
    }
  }
  free(g);
  return worst;
}

static void test_gradcheck(void) {
  unsigned rng = 12345;
  for (int trial = 0; trial < 3; trial++) {
    nn_ac n;
    nn_ac_init(&n, GC_K, 0.1, &rng);
    gc_data d;
    gc_fill(&n, &d, &rng, 0.5);
    nn_batch b = {.m = GC_M, .idx = d.idx, .obs = d.obs, .act = d.act, .old_logp = d.old_logp,
                  .adv = d.adv, .v_target = d.v_target};
    /* forward: log-probs against the manual recomputation, sum to one */
    nn_trace tr;
    nn_ac_forward(&n, d.obs, &tr);
    for (int k = 0; k < GC_K; k++) {
      double lp[3], sum = 0;
      manual_head(&n, d.obs, k, lp);
      for (int j = 0; j < 3; j++) {
        CHECK(fabs(lp[j] - tr.logp[k][j]) < 1e-9, "head %d logp %d: %g vs %g", k, j, lp[j], tr.logp[k][j]);
        sum += exp(tr.logp[k][j]);
      }
      CHECK(fabs(sum - 1) < 1e-12, "probabilities sum to %g", sum);
    }
    struct { const char *what; nn_ppo_coef c; } cases[] = {
        {"log-prob surrogate", {.clip = 1e9, .c_value = 0, .c_entropy = 0}},
        {"entropy", {.clip = 1e9, .c_value = 0, .c_entropy = 1}},
        {"value", {.clip = 1e9, .c_value = 1, .c_entropy = 0}},
        {"full PPO loss", {.clip = 0.2, .c_value = 1, .c_entropy = 0.3}},
    };
    for (int i = 0; i < 4; i++) {
      if (i == 1) memset(d.adv, 0, sizeof d.adv); /* entropy alone */
      if (i == 2) memset(d.adv, 0, sizeof d.adv);
      if (i == 3)
        for (int s = 0; s < GC_M; s++) d.adv[s] = randn(&rng);
      int clipped = 0;
      double err = gc_compare(&n, &b, &cases[i].c, &clipped);
      printf("gradcheck trial %d %-20s max rel err %.2e%s\n", trial, cases[i].what, err,
             i == 3 ? "" : "");
      if (i == 3) printf("  (%d of %d ratios clipped)\n", clipped, GC_M * GC_K);
      CHECK(err < 1e-3, "%s: relative error %g", cases[i].what, err);
      if (i == 3 && trial == 0) CHECK(clipped > 0, "no ratio was clipped");
    }
    nn_ac_free(&n);
  }
}

/* ---- adam ---- */

static void test_adam(void) {
  enum { N = 10 };
  double theta[N], grad[N], target[N], a[N];
  unsigned rng = 7;
  for (int i = 0; i < N; i++) theta[i] = randn(&rng), target[i] = randn(&rng), a[i] = 0.1 + tune_randf(&rng);
  nn_adam opt;
  nn_adam_init(&opt, N, 1e-2, 1e-5);
  double first = 0, last = 0, prev = INFINITY;
  int increases = 0;
  for (int step = 0; step < 2000; step++) {
    double loss = 0, before[N];
    memcpy(before, theta, sizeof theta);
    for (int i = 0; i < N; i++) {
      loss += a[i] * (theta[i] - target[i]) * (theta[i] - target[i]);
      grad[i] = 2 * a[i] * (theta[i] - target[i]);
    }
    if (step == 0) first = loss;
    increases += loss > prev + 1e-12;
    prev = last = loss;
    nn_adam_step(&opt, theta, grad);
    if (step == 0)
      for (int i = 0; i < N; i++) {
        /* TensorFlow's Adam: step 1 is lr g / (|g| + eps / sqrt(1 - b2)) */
        double want = before[i] - 1e-2 * grad[i] / (fabs(grad[i]) + 1e-5 / sqrt(1 - 0.999));
        CHECK(fabs(theta[i] - want) < 1e-6, "first step %g vs %g", theta[i], want);
      }
  }
  printf("adam: loss %.3g -> %.3g after 2000 steps (%d increases)\n", first, last, increases);
  CHECK(last < 1e-4 * first, "loss %g -> %g", first, last);
  nn_adam_free(&opt);
}

/* ---- a synthetic knob space with a known optimum ---- */

enum { SY_K = 8, SY_MAX_VIS = 1 << 16 };
static const int SY_DIMS[SY_K] = {8, 12, 16, 24, 10, 20, 14, 18};

typedef struct synth {
  tune_space space;          /* the knobs */
  int opt[SY_K];             /* the optimum */
  double w[SY_K];            /* weight of each knob's distance */
  long rows;                 /* rows scored so far */
  long found_at;             /* rows scored when the optimum was first scored; -1 */
  int (*vis)[SY_K];          /* configs marked visited */
  int n_vis;
  double score_s;            /* seconds inside score */
  int64_t *seen;             /* per-round score cache of SA-cached (0 = empty slot) */
} synth;

enum { SEEN_CAP = 1 << 18 }; /* > rows of one SA round */

static int64_t sy_key(const int *x) {
  int64_t key = 0;
  for (int k = 0; k < SY_K; k++) key = key * SY_DIMS[k] + x[k];
  return key + 1;
}

/* 1 if x was scored this round already (then it is not scored again). */
static int sy_seen(synth *s, const int *x) {
  int64_t key = sy_key(x);
  unsigned h = (unsigned)((uint64_t)key * 0x9E3779B97F4A7C15ull >> 40) & (SEEN_CAP - 1);
  while (s->seen[h] && s->seen[h] != key) h = (h + 1) & (SEEN_CAP - 1);
  if (s->seen[h]) return 1;
  s->seen[h] = key;
  return 0;
}

static unsigned sy_hash(const int *x) {
  unsigned h = 2166136261u;
  for (int k = 0; k < SY_K; k++) h = (h ^ (unsigned)x[k]) * 16777619u;
  return h ^ (h >> 15);
}

static int sy_is_opt(const synth *s, const int *x) { return !memcmp(x, s->opt, sizeof s->opt); }

/* Invalid: knobs 2 and 3 both large (a tile too big for a cache), and a
 * scattered 5% (a divisibility rule); never the optimum. */
static int sy_valid(void *ctx, const int *x) {
  synth *s = ctx;
  if (sy_is_opt(s, x)) return 1;
  if (x[2] + x[3] >= SY_DIMS[2] + SY_DIMS[3] - 10) return 0;
  return sy_hash(x) % 20 != 0;
}

/* exp(-E), E = sum w_k d_k^2 + couplings, d_k = (x_k - opt_k)/(n_k - 1):
 * 1 at the optimum only. */
static double sy_exact(const synth *s, const int *x) {
  double d[SY_K], e = 0;
  for (int k = 0; k < SY_K; k++) {
    d[k] = (double)(x[k] - s->opt[k]) / (SY_DIMS[k] - 1);
    e += s->w[k] * d[k] * d[k];
  }
  e += 2 * (d[0] - d[1]) * (d[0] - d[1]) + 2 * (d[4] + d[5]) * (d[4] + d[5]);
  return exp(-e);
}

static void sy_score(void *ctx, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *out) {
  synth *s = ctx;
  double t0 = chm_now();
  for (int i = 0; i < n; i++) {
    out[i] = (float)sy_exact(s, cfg[i]);
    if (s->seen && sy_seen(s, cfg[i])) continue; /* a cached score: no query */
    s->rows++;
    if (s->found_at < 0 && sy_is_opt(s, cfg[i])) s->found_at = s->rows;
  }
  s->score_s += chm_now() - t0;
}

static int sy_visited(void *ctx, const int *x) {
  synth *s = ctx;
  for (int i = 0; i < s->n_vis; i++)
    if (!memcmp(s->vis[i], x, sizeof s->vis[i])) return 1;
  return 0;
}

static void sy_mark(synth *s, const int *x) {
  if (s->n_vis < SY_MAX_VIS && !sy_visited(s, x)) memcpy(s->vis[s->n_vis++], x, sizeof s->vis[0]);
}

static int sy_random_valid(void *ctx, unsigned *rng, int *x) {
  for (int tries = 0; tries < 10000; tries++) {
    for (int k = 0; k < SY_K; k++) x[k] = (int)(tune_rand(rng) % (unsigned)SY_DIMS[k]);
    if (sy_valid(ctx, x)) return 1;
  }
  return 0;
}

static void sy_init(synth *s, unsigned seed) {
  memset(s, 0, sizeof *s);
  unsigned rng = seed * 747796405u + 1;
  s->space.n_knobs = SY_K;
  for (int k = 0; k < SY_K; k++) {
    s->space.knobs[k].name = "k";
    s->space.knobs[k].n = SY_DIMS[k];
    for (int v = 0; v < SY_DIMS[k]; v++) s->space.knobs[k].v[v] = v;
    s->w[k] = 2 + 4 * tune_randf(&rng);
  }
  do
    for (int k = 0; k < SY_K; k++) s->opt[k] = (int)(tune_rand(&rng) % (unsigned)SY_DIMS[k]);
  while (s->opt[2] + s->opt[3] >= SY_DIMS[2] + SY_DIMS[3] - 10);
  s->found_at = -1;
  s->vis = malloc(SY_MAX_VIS * sizeof *s->vis);
}

static tune_oracle sy_oracle(synth *s) {
  return (tune_oracle){.ctx = s, .space = &s->space, .score = sy_score, .valid = sy_valid,
                       .visited = sy_visited, .random_valid = sy_random_valid};
}

enum { PLAN = 64 }; /* configs in a plan, as the tuners ask */

/* ---- acceptance: rows until the optimum is first scored ---- */

#define ROW_CAP 4000000L

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* The autotvm tuner's annealing (tune/anneal.c); with `cached`, a config
 * scored earlier in the same round is not counted again (the per-round
 * cache the PPO agent has). */
static long run_sa(unsigned seed, int cached, long cap) {
  synth s;
  sy_init(&s, seed);
  if (cached) s.seen = malloc(SEEN_CAP * sizeof *s.seen);
  tune_oracle o = sy_oracle(&s);
  tune_sa *sa = calloc(1, sizeof *sa);
  unsigned rng = seed * 2654435761u + 99;
  int out[PLAN][TUNE_MAX_KNOBS];
  while (s.found_at < 0 && s.rows < cap) {
    if (s.seen) memset(s.seen, 0, SEEN_CAP * sizeof *s.seen);
    int got = tune_sa_plan(sa, &o, &rng, out, PLAN);
    for (int i = 0; i < got; i++) sy_mark(&s, out[i]); /* "measured" */
  }
  free(sa);
  free(s.vis);
  free(s.seen);
  return s.found_at < 0 ? cap : s.found_at;
}

/* PPO over seeds 1000.. in lock step until the median of rows-to-optimum
 * is decided: the run with the fewest rows so far plans next, and the runs
 * stop once at least `need` have found the optimum and every other run has
 * scored at least as many rows as the need-th smallest of those. A run
 * still going can then only find it later, so the `need` smallest values,
 * and with need = n/2 + 1 the median, are those of runs to the end. A run
 * stopped early gets its rows so far, a lower bound, and open[i] = 1; one
 * that reaches ROW_CAP counts as ROW_CAP (not found). Saves the slowest
 * seeds' tails, most of this test's time. */
static void run_ppo_seeds(int n, int need, long *rows, int *rounds, int *open) {
  synth *s = calloc((size_t)n, sizeof *s);
  tune_ppo **p = calloc((size_t)n, sizeof *p);
  for (int i = 0; i < n; i++) {
    sy_init(&s[i], 1000 + (unsigned)i);
    p[i] = tune_ppo_new(&s[i].space, 1000 + (unsigned)i);
    rounds[i] = 0;
  }
  int out[PLAN][TUNE_MAX_KNOBS];
  for (;;) {
    long found[64];
    int n_found = 0, next = -1;
    for (int i = 0; i < n; i++) {
      if (s[i].found_at >= 0) found[n_found++] = s[i].found_at;
      else if (s[i].rows < ROW_CAP && (next < 0 || s[i].rows < s[next].rows)) next = i;
    }
    if (next < 0) break;
    if (n_found >= need) {
      qsort(found, (size_t)n_found, sizeof *found, cmp_long);
      if (s[next].rows >= found[need - 1]) break;
    }
    tune_oracle o = sy_oracle(&s[next]);
    int got = tune_ppo_plan(p[next], &o, out, PLAN);
    rounds[next]++;
    for (int i = 0; i < got; i++) sy_mark(&s[next], out[i]);
  }
  for (int i = 0; i < n; i++) {
    open[i] = s[i].found_at < 0 && s[i].rows < ROW_CAP;
    rows[i] = s[i].found_at >= 0 ? s[i].found_at : open[i] ? s[i].rows : ROW_CAP;
    tune_ppo_free(p[i]);
    free(s[i].vis);
  }
  free(p);
  free(s);
}

static double median(const long *v, int n) {
  long s[64];
  memcpy(s, v, (size_t)n * sizeof *v);
  qsort(s, (size_t)n, sizeof *s, cmp_long);
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* SA runs are capped at twice PPO's median: a capped run counts as the cap,
 * which is above PPO's median, so the comparison of medians is the same as
 * with uncapped runs, and SA's hopeless seeds stop early. */
static void test_acceptance(void) {
  enum { SEEDS = 10 };
  long sa[SEEDS], sac[SEEDS], ppo[SEEDS];
  int rounds[SEEDS], open[SEEDS], wins = 0;
  run_ppo_seeds(SEEDS, SEEDS / 2 + 1, ppo, rounds, open);
  double mp = median(ppo, SEEDS);
  long cap = 2 * (long)mp + 1;
  printf("rows scored until the optimum is first scored (%ld = not found; SA capped at %ld;\n"
         ">= : a PPO run stopped once the median was decided)\n", ROW_CAP, cap);
  printf("seed  ppo (rounds)          sa  sa-cached\n");
  for (int i = 0; i < SEEDS; i++) {
    unsigned seed = 1000 + (unsigned)i;
    sa[i] = run_sa(seed, 0, cap);
    sac[i] = run_sa(seed, 1, cap);
    wins += !open[i] && ppo[i] < sac[i];
    printf("%4u  %2s%8ld (%3d)  %8ld  %8ld\n", seed, open[i] ? ">=" : "", ppo[i], rounds[i], sa[i], sac[i]);
  }
  double ms = median(sa, SEEDS), msc = median(sac, SEEDS);
  printf("median  ppo %.1f  sa %.1f  sa-cached %.1f   (ppo fewer than sa-cached on %d/%d seeds, at least)\n", mp,
         ms, msc, wins, SEEDS);
  /* the stricter baseline: SA with the same per-round score cache */
  CHECK(mp < msc, "median rows: PPO %.1f, SA (cached) %.1f", mp, msc);
  CHECK(mp < ms, "median rows: PPO %.1f, SA %.1f", mp, ms);
}

/* ---- plan ---- */

static float exact_f(synth *s, const int *x) { return (float)sy_exact(s, x); }

static void check_plan(synth *s, int (*out)[TUNE_MAX_KNOBS], int got, int want) {
  CHECK(got == want, "got %d of %d", got, want);
  for (int i = 0; i < got; i++) {
    CHECK(sy_valid(s, out[i]), "plan[%d] invalid", i);
    CHECK(!sy_visited(s, out[i]), "plan[%d] visited", i);
    for (int k = SY_K; k < TUNE_MAX_KNOBS; k++) CHECK(out[i][k] == 0, "padding not zero");
    for (int j = 0; j < i; j++) CHECK(memcmp(out[i], out[j], sizeof out[i]), "plan[%d] == plan[%d]", i, j);
    if (i) CHECK(exact_f(s, out[i - 1]) >= exact_f(s, out[i]), "plan not best first at %d", i);
  }
}

/* Mean exact score of the rows an oracle call scored, via a wrapper. */
typedef struct mean_ctx {
  synth *s;
  double sum;
  long n;
} mean_ctx;
static mean_ctx *g_mean;
static void mean_score(void *ctx, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *out) {
  sy_score(ctx, cfg, n, out);
  if (g_mean)
    for (int i = 0; i < n; i++) g_mean->sum += out[i], g_mean->n++;
}

static void test_plan(void) {
  synth s;
  sy_init(&s, 77);
  tune_oracle o = sy_oracle(&s);
  o.score = mean_score;
  /* some of the best configs are visited already: the optimum and neighbours */
  sy_mark(&s, s.opt);
  for (int k = 0; k < SY_K; k++) {
    int x[SY_K];
    memcpy(x, s.opt, sizeof x);
    x[k] = x[k] > 0 ? x[k] - 1 : x[k] + 1;
    if (sy_valid(&s, x)) sy_mark(&s, x);
  }
  tune_ppo *p = tune_ppo_new(&s.space, 5);
  int out[PLAN][TUNE_MAX_KNOBS], got;
  long rows;
  double mean[3];
  for (int round = 0; round < 3; round++) {
    mean_ctx mc = {&s, 0, 0};
    g_mean = &mc;
    long r0 = s.rows;
    got = tune_ppo_plan(p, &o, out, PLAN);
    rows = s.rows - r0;
    g_mean = NULL;
    mean[round] = mc.sum / (mc.n ? mc.n : 1);
    printf("plan round %d: %d configs, %ld rows scored, mean score of scored rows %.4f, best %.4f\n", round,
           got, rows, mean[round], got ? exact_f(&s, out[0]) : 0.0);
    check_plan(&s, out, got, PLAN);
    for (int i = 0; i < got; i++) sy_mark(&s, out[i]);
  }
  /* learning persists: later rounds walk through better regions */
  CHECK(mean[2] > mean[0], "mean score did not improve: %g -> %g", mean[0], mean[2]);
  tune_ppo_free(p);

  /* determinism: same seed, same plan and rows; n larger than needed works */
  int out2[2][PLAN][TUNE_MAX_KNOBS], got2[2];
  long rows2[2];
  for (int rep = 0; rep < 2; rep++) {
    synth t;
    sy_init(&t, 78);
    tune_oracle ot = sy_oracle(&t);
    tune_ppo *q = tune_ppo_new(&t.space, 9);
    got2[rep] = tune_ppo_plan(q, &ot, out2[rep], PLAN);
    rows2[rep] = t.rows;
    tune_ppo_free(q);
    free(t.vis);
  }
  CHECK(got2[0] == got2[1] && rows2[0] == rows2[1] && !memcmp(out2[0], out2[1], sizeof out2[0]),
        "not deterministic");
  free(s.vis);
}

/* ---- timing (not a CTest test: run `test_ppo timing` by hand) ---- */

static void test_timing(void) {
  synth s;
  sy_init(&s, 4242);
  tune_oracle o = sy_oracle(&s);
  tune_ppo *p = tune_ppo_new(&s.space, 1);
  int out[PLAN][TUNE_MAX_KNOBS];
  double worst = 0;
  for (int round = 0; round < 3; round++) {
    double s0 = s.score_s, t0 = chm_now();
    long r0 = s.rows;
    tune_ppo_plan(p, &o, out, PLAN);
    double agent = chm_now() - t0 - (s.score_s - s0);
    worst = fmax(worst, agent);
    printf("timing round %d: agent %.3f s (score %.3f s, %ld rows)\n", round, agent, s.score_s - s0,
           s.rows - r0);
  }
  printf("timing: worst round %.3f s of agent time\n", worst); /* a measurement: no assertion */
  tune_ppo_free(p);
  free(s.vis);
}

int main(int argc, char **argv) {
  const char *t = argc > 1 ? argv[1] : "all";
  int all = !strcmp(t, "all"), ran = 0;
  if (all || !strcmp(t, "gradcheck")) test_gradcheck(), ran++;
  if (all || !strcmp(t, "adam")) test_adam(), ran++;
  if (all || !strcmp(t, "plan")) test_plan(), ran++;
  if (all || !strcmp(t, "timing")) test_timing(), ran++;
  if (all || !strcmp(t, "acceptance")) test_acceptance(), ran++;
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", t);
    return 2;
  }
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
