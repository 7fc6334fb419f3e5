/*
 * sampler.c — Chameleon's adaptive sampling and sample synthesis (Ahn et
 * al., ICLR 2020, §4.2; reference: anony-sub/chameleon,
 * tuner/adaptive_sampler.py). The optimizer proposes a batch of configs
 * that the cost model likes; many of them are near one another, so
 * measuring all of them is wasted hardware time. The sampler clusters the
 * batch and measures one synthesized representative per cluster.
 *
 * How:
 *  1. Points. Each proposal is projected onto the knobs with the most
 *     options (the two largest, as the reference; ties go to the lower knob
 *     index, as numpy's argsort(-dims) on short arrays); coordinates are the
 *     raw option indices (not normalized, as the reference).
 *  2. k-means with k-means++ seeding (D^2 sampling) and Lloyd iterations,
 *     driven by tune_rand on the caller's seed word. Centroids are
 *     real means. (The reference truncates centroids to integers inside the
 *     iterations and seeds uniformly; we round only when synthesizing.) A
 *     cluster left empty is re-seeded on the point farthest from its
 *     centroid (the reference picks a random point). tune_kmeans is one
 *     run; the knee rule keeps the lowest loss of 4 runs per k (the
 *     reference runs once): a single k-means++ run misses a blob about
 *     once in 150 on 8 clean blobs, and a bad run at one k skews the knee.
 *  3. The knee. k = 8, 16, ..., 64 (capped by the number of distinct points
 *     and by max_out); at each step the loss must fall by more than 2.5x
 *     from the previous k, else we stop and keep the PREVIOUS k and its
 *     clustering. (The reference keeps the clustering of the k that failed
 *     the test, i.e. one step past the knee: 8 clean blobs would give 16
 *     clusters. Keeping the previous k is what "the knee" means.) Fewer
 *     than 8 distinct points: k = their number, one cluster each. A cap
 *     that is not a multiple of 8 is tried as the last step (20 distinct
 *     points: 8, 16, 20). tune_knee_k's centroids must hold 64 x d.
 *  4. Synthesis, one config per non-empty cluster: the centroid rounded to
 *     the nearest option index (clamped) on the clustered knobs; on every
 *     other knob the value most common among the cluster's members, a tie
 *     going to the value met first in proposal order (proposals come best
 *     first by score). The reference computes these counts over all
 *     proposals, not the members, and by default draws a random value
 *     instead of the mode (its "mode" option is the rule used here).
 *  5. Repair. A synthesized config that is invalid, already measured or
 *     already in the batch is replaced by the valid, unvisited, not yet
 *     chosen member nearest the centroid (squared distance on the clustered
 *     knobs, ties to proposal order); if no member qualifies the cluster
 *     gives nothing (the caller tops the batch up, e.g. at random).
 *     (The reference redraws random samples until unique and never checks
 *     validity or visits.)
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  SAMP_STEP = 8,       /* k grows by this much (and starts at it) */
  SAMP_KMAX = 64,      /* largest k tried */
  SAMP_DIMS = 2,       /* knobs clustered on */
  SAMP_MAX_ITER = 100, /* Lloyd iterations */
  SAMP_RESTARTS = 4,   /* k-means runs per k in the knee rule (lowest loss wins) */
};
static const double SAMP_KNEE = 2.5; /* loss must fall by more than this per step */

/* ---- k-means ---- */

static double sqdist(const double *a, const double *b, int d) {
  double s = 0;
  for (int j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

/* Index of the point drawn with probability proportional to w (all w >= 0,
 * total > 0). */
static int draw_weighted(const double *w, int n, double total, unsigned *rng) {
  double r = tune_randf(rng) * total;
  int last = 0;
  for (int i = 0; i < n; i++) {
    if (w[i] <= 0) continue;
    last = i;
    if (r < w[i]) return i;
    r -= w[i];
  }
  return last; /* rounding left r a hair above the sum */
}

/* k-means++: the first centre uniformly, each next one with probability
 * proportional to the squared distance to the nearest centre so far. When
 * every point sits on a centre already (k above the distinct points) the
 * extra centres duplicate points in order. */
static void kmeans_seed(const double *x, int n, int d, int k, unsigned *rng, double *c) {
  double *dist = chm_malloc((size_t)n * sizeof *dist);
  int first = (int)(tune_rand(rng) % (unsigned)n);
  memcpy(c, x + (size_t)first * d, (size_t)d * sizeof *c);
  for (int i = 0; i < n; i++) dist[i] = sqdist(x + (size_t)i * d, c, d);
  for (int j = 1; j < k; j++) {
    double total = 0;
    for (int i = 0; i < n; i++) total += dist[i];
    int p = total > 0 ? draw_weighted(dist, n, total, rng) : j % n;
    memcpy(c + (size_t)j * d, x + (size_t)p * d, (size_t)d * sizeof *c);
    for (int i = 0; i < n; i++) {
      double dd = sqdist(x + (size_t)i * d, c + (size_t)j * d, d);
      if (dd < dist[i]) dist[i] = dd;
    }
  }
  free(dist);
}

/* Assigns every point to its nearest centre (ties: lowest cluster).
 * Returns whether any assignment changed. */
static int kmeans_assign(const double *x, int n, int d, int k, const double *c, int *assign) {
  int changed = 0;
  for (int i = 0; i < n; i++) {
    int best = 0;
    double bd = sqdist(x + (size_t)i * d, c, d);
    for (int j = 1; j < k; j++) {
      double dd = sqdist(x + (size_t)i * d, c + (size_t)j * d, d);
      if (dd < bd) bd = dd, best = j;
    }
    changed |= assign[i] != best;
    assign[i] = best;
  }
  return changed;
}

/* Gives empty cluster `e` the point farthest from its centre among clusters
 * with more than one member; nothing if every such point sits on its
 * centre. Returns whether a point moved. */
static int kmeans_reseed(const double *x, int n, int d, int e, double *c, int *assign, int *count) {
  int far = -1;
  double fd = 0;
  for (int i = 0; i < n; i++) {
    double dd = sqdist(x + (size_t)i * d, c + (size_t)assign[i] * d, d);
    if (count[assign[i]] > 1 && dd > fd) fd = dd, far = i;
  }
  if (far < 0) return 0;
  count[assign[far]]--;
  assign[far] = e;
  count[e] = 1;
  memcpy(c + (size_t)e * d, x + (size_t)far * d, (size_t)d * sizeof *c);
  return 1;
}

/* Moves each centre to its members' mean, re-seeding empty clusters first.
 * Returns whether a re-seed changed an assignment. */
static int kmeans_update(const double *x, int n, int d, int k, double *c, int *assign) {
  int *count = chm_calloc((size_t)k, sizeof *count);
  int moved = 0;
  for (int i = 0; i < n; i++) count[assign[i]]++;
  for (int j = 0; j < k; j++)
    if (!count[j]) moved |= kmeans_reseed(x, n, d, j, c, assign, count);
  for (int j = 0; j < k; j++)
    if (count[j]) memset(c + (size_t)j * d, 0, (size_t)d * sizeof *c);
  for (int i = 0; i < n; i++)
    for (int t = 0; t < d; t++) c[(size_t)assign[i] * d + t] += x[(size_t)i * d + t];
  for (int j = 0; j < k; j++)
    for (int t = 0; count[j] && t < d; t++) c[(size_t)j * d + t] /= count[j];
  free(count);
  return moved;
}

double tune_kmeans(const double *x, int n, int d, int k, unsigned *rng, int *assign, double *centroids) {
  if (n <= 0 || k <= 0) return 0;
  kmeans_seed(x, n, d, k, rng, centroids);
  for (int i = 0; i < n; i++) assign[i] = -1;
  for (int it = 0; it < SAMP_MAX_ITER; it++) {
    int changed = kmeans_assign(x, n, d, k, centroids, assign);
    changed |= kmeans_update(x, n, d, k, centroids, assign);
    if (!changed) break;
  }
  kmeans_assign(x, n, d, k, centroids, assign); /* consistent if the cap stopped us */
  double loss = 0;
  for (int i = 0; i < n; i++) loss += sqdist(x + (size_t)i * d, centroids + (size_t)assign[i] * d, d);
  return loss;
}

/* ---- the knee rule ---- */

/* Distinct points among x, counting no further than `limit`. */
static int count_distinct(const double *x, int n, int d, int limit) {
  int *rep = chm_malloc((size_t)limit * sizeof *rep), m = 0;
  for (int i = 0; i < n && m < limit; i++) {
    int seen = 0;
    for (int j = 0; j < m && !seen; j++)
      seen = !memcmp(x + (size_t)i * d, x + (size_t)rep[j] * d, (size_t)d * sizeof *x);
    if (!seen) rep[m++] = i;
  }
  free(rep);
  return m;
}

/* The best (lowest loss) of SAMP_RESTARTS k-means runs. */
static double kmeans_best(const double *x, int n, int d, int k, unsigned *rng, int *assign, double *cent) {
  int *ta = chm_malloc((size_t)n * sizeof *ta);
  double *tc = chm_malloc((size_t)k * d * sizeof *tc);
  double best = tune_kmeans(x, n, d, k, rng, assign, cent);
  for (int r = 1; r < SAMP_RESTARTS && best > 0; r++) {
    double l = tune_kmeans(x, n, d, k, rng, ta, tc);
    if (l >= best) continue;
    best = l;
    memcpy(assign, ta, (size_t)n * sizeof *ta);
    memcpy(cent, tc, (size_t)k * d * sizeof *tc);
  }
  free(ta);
  free(tc);
  return best;
}

/* The knee rule with k at most kmax (>= 1); centroids holds kmax*d. */
static int knee(const double *x, int n, int d, int kmax, unsigned *rng, int *assign, double *centroids) {
  if (n <= 0) return 0;
  int cap = count_distinct(x, n, d, kmax);
  int k = cap < SAMP_STEP ? cap : SAMP_STEP;
  double loss = kmeans_best(x, n, d, k, rng, assign, centroids);
  int *ta = chm_malloc((size_t)n * sizeof *ta);
  double *tc = chm_malloc((size_t)cap * d * sizeof *tc);
  while (k < cap) {
    int nk = k + SAMP_STEP < cap ? k + SAMP_STEP : cap;
    double nl = kmeans_best(x, n, d, nk, rng, ta, tc);
    if (!(nl < loss / SAMP_KNEE)) break; /* not a big enough fall: k is the knee */
    memcpy(assign, ta, (size_t)n * sizeof *ta);
    memcpy(centroids, tc, (size_t)nk * d * sizeof *tc);
    k = nk, loss = nl;
  }
  free(ta);
  free(tc);
  return k;
}

int tune_knee_k(const double *x, int n, int d, unsigned *rng, int *assign, double *centroids) {
  return knee(x, n, d, SAMP_KMAX, rng, assign, centroids);
}

/* ---- sample synthesis ---- */

/* Everything the synthesis of one batch needs. */
typedef struct samp {
  const tune_oracle *o;                      /* validity and visits */
  const int (*prop)[TUNE_MAX_KNOBS];         /* the proposals */
  int n;                                     /* how many */
  int dims[SAMP_DIMS];                       /* clustered knobs */
  int nd;                                    /* how many of them */
  const double *x;                           /* projected points, n x nd */
  const int *assign;                         /* cluster of each proposal */
  const double *cent;                        /* centroids, k x nd */
  int (*out)[TUNE_MAX_KNOBS];                /* the batch */
  int n_out;                                 /* its size */
} samp;

/* The (up to) SAMP_DIMS knobs with the most options; ties: lower index. */
static int largest_knobs(const tune_space *s, int *dims) {
  int nd = 0;
  for (int j = 0; j < s->n_knobs; j++) {
    if (nd < SAMP_DIMS) dims[nd++] = j;
    else if (s->knobs[j].n > s->knobs[dims[nd - 1]].n) dims[nd - 1] = j;
    else continue;
    for (int p = nd - 1; p > 0 && s->knobs[dims[p]].n > s->knobs[dims[p - 1]].n; p--) {
      int t = dims[p];
      dims[p] = dims[p - 1], dims[p - 1] = t;
    }
  }
  return nd;
}

static int in_batch(const samp *S, const int *cfg) {
  for (int i = 0; i < S->n_out; i++)
    if (!memcmp(S->out[i], cfg, sizeof S->out[i])) return 1;
  return 0;
}

static int acceptable(const samp *S, const int *cfg) {
  return S->o->valid(S->o->ctx, cfg) && !S->o->visited(S->o->ctx, cfg) && !in_batch(S, cfg);
}

static int clamp(long v, int n) { return v < 0 ? 0 : v >= n ? n - 1 : (int)v; }

/* The most common value of knob j among the members of cluster c; a tie
 * goes to the value met first in proposal order. */
static int cluster_mode(const samp *S, int c, int j) {
  int count[TUNE_MAX_VALUES] = {0}, best = -1;
  for (int i = 0; i < S->n; i++) {
    if (S->assign[i] != c) continue;
    CHM_ASSERT(S->prop[i][j] >= 0 && S->prop[i][j] < TUNE_MAX_VALUES);
    count[S->prop[i][j]]++;
  }
  for (int i = 0; i < S->n; i++) /* members in order: the first of the most common */
    if (S->assign[i] == c && (best < 0 || count[S->prop[i][j]] > count[best])) best = S->prop[i][j];
  return best;
}

/* Whether knob j is one of the clustered ones; its position or -1. */
static int dim_pos(const samp *S, int j) {
  for (int t = 0; t < S->nd; t++)
    if (S->dims[t] == j) return t;
  return -1;
}

/* The synthesized representative of cluster c (which has members). */
static void synthesize(const samp *S, int c, int *cfg) {
  const tune_space *s = S->o->space;
  memset(cfg, 0, TUNE_MAX_KNOBS * sizeof *cfg);
  for (int j = 0; j < s->n_knobs; j++) {
    int t = dim_pos(S, j);
    cfg[j] = t >= 0 ? clamp(lround(S->cent[(size_t)c * S->nd + t]), s->knobs[j].n) : cluster_mode(S, c, j);
  }
}

/* The acceptable member of cluster c nearest its centroid; -1 if none. */
static int nearest_member(const samp *S, int c) {
  int best = -1;
  double bd = INFINITY;
  for (int i = 0; i < S->n; i++) {
    if (S->assign[i] != c) continue;
    double dd = sqdist(S->x + (size_t)i * S->nd, S->cent + (size_t)c * S->nd, S->nd);
    if (dd < bd && acceptable(S, S->prop[i])) bd = dd, best = i;
  }
  return best;
}

/* Adds cluster c's representative (or its repair) to the batch. */
static void represent(samp *S, int c) {
  int cfg[TUNE_MAX_KNOBS];
  synthesize(S, c, cfg);
  if (!acceptable(S, cfg)) {
    int m = nearest_member(S, c);
    if (m < 0) return;
    memset(cfg, 0, sizeof cfg);
    memcpy(cfg, S->prop[m], (size_t)S->o->space->n_knobs * sizeof cfg[0]);
  }
  memcpy(S->out[S->n_out++], cfg, sizeof cfg);
}

int tune_adaptive_sample(const tune_oracle *o, const int (*proposals)[TUNE_MAX_KNOBS], int n,
                         unsigned *rng, int (*out)[TUNE_MAX_KNOBS], int max_out) {
  if (n <= 0 || max_out <= 0 || o->space->n_knobs <= 0) return 0;
  samp S = {.o = o, .prop = proposals, .n = n, .out = out};
  S.nd = largest_knobs(o->space, S.dims);
  double *x = chm_malloc((size_t)n * S.nd * sizeof *x);
  for (int i = 0; i < n; i++)
    for (int t = 0; t < S.nd; t++) x[(size_t)i * S.nd + t] = proposals[i][S.dims[t]];
  int kmax = max_out < SAMP_KMAX ? max_out : SAMP_KMAX;
  int *assign = chm_malloc((size_t)n * sizeof *assign);
  double *cent = chm_malloc((size_t)kmax * S.nd * sizeof *cent);
  int k = knee(x, n, S.nd, kmax, rng, assign, cent);
  S.x = x, S.assign = assign, S.cent = cent;
  int *members = chm_calloc((size_t)k, sizeof *members);
  for (int i = 0; i < n; i++) members[assign[i]]++;
  for (int c = 0; c < k; c++)
    if (members[c]) represent(&S, c);
  free(members);
  free(cent);
  free(assign);
  free(x);
  return S.n_out;
}
