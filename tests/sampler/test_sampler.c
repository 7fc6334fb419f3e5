/*
 * test_sampler.c — tests of tune/sampler.c: k-means and the knee rule on
 * hand-made point sets, k-means++ determinism, the most-common-value rule,
 * and a property test that synthesis never returns an invalid, visited or
 * duplicate config. One test per command-line name (see CMakeLists.txt).
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"


/* The test's own generator (independent of the sampler's). */
static unsigned lcg(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 8) & 0xffffff;
}

/* ---- point sets ---- */

/* A roughly normal jitter of standard deviation ~1 (sum of 4 uniforms). */
static double jitter(unsigned *s) {
  double v = 0;
  for (int i = 0; i < 4; i++) v += lcg(s) / 16777216.0 - 0.5;
  return v * 1.73;
}

/* `blobs` tight blobs (normal, sd ~1) on a grid 100 apart, `per` points
 * each. Splitting such a blob in two lowers its loss by ~1.5x only. */
static int make_blobs(double *x, int blobs, int per, unsigned seed) {
  int n = 0;
  for (int b = 0; b < blobs; b++)
    for (int i = 0; i < per; i++, n++) {
      x[2 * n] = 100.0 * (b % 4) + jitter(&seed);
      x[2 * n + 1] = 100.0 * (b / 4) + jitter(&seed);
    }
  return n;
}

enum { PER = 20 }; /* points per blob */

static int count_clusters(const int *assign, int n) {
  int seen[64] = {0}, k = 0;
  for (int i = 0; i < n; i++)
    if (!seen[assign[i]]++) k++;
  return k;
}

static void test_blobs(int blobs) {
  double x[2 * 16 * PER], c[2 * 64];
  int a[16 * PER];
  for (unsigned seed = 1; seed <= 50; seed++) {
    int n = make_blobs(x, blobs, PER, seed);
    unsigned rng = seed;
    int k = tune_knee_k(x, n, 2, &rng, a, c);
    CHECK(k == blobs);
    CHECK(count_clusters(a, n) == k);
    for (int i = 0; i < n; i++) /* each blob is one cluster */
      CHECK(a[i] == a[(i / PER) * PER]);
  }
}

static void test_knee8(void) { test_blobs(8); }
static void test_knee16(void) { test_blobs(16); }

/* 64 distinct points on a line with geometrically growing gaps: every
 * 8 more clusters cut 8 more gaps, the loss falls far more than 2.5x each
 * time, and at 64 it is 0. */
static void test_never_knee(void) {
  double x[2 * 64], c[2 * 64];
  int a[64];
  for (unsigned seed = 1; seed <= 50; seed++) {
    double pos = 0;
    for (int j = 0; j < 64; j++) x[2 * j] = pos, x[2 * j + 1] = 0, pos += pow(1.5, j);
    unsigned rng = seed;
    CHECK(tune_knee_k(x, 64, 2, &rng, a, c) == 64);
    CHECK(count_clusters(a, 64) == 64);
  }
}

/* Uniform points in a square never fall 2.5x from 8 to 16 (~2x in 2-D). */
static void test_uniform(void) {
  double x[2 * 500], c[2 * 64];
  int a[500];
  unsigned s = 7;
  for (int i = 0; i < 1000; i++) x[i] = lcg(&s) % 1000;
  unsigned rng = 3;
  CHECK(tune_knee_k(x, 500, 2, &rng, a, c) == 8);
}

static void test_few_points(void) {
  double x[2 * 40], c[2 * 64];
  int a[40];
  /* 40 points on 5 distinct locations: k = 5, every location its own cluster */
  for (int i = 0; i < 40; i++) x[2 * i] = 10 * (i % 5), x[2 * i + 1] = i % 5;
  unsigned rng = 11;
  CHECK(tune_knee_k(x, 40, 2, &rng, a, c) == 5);
  for (int i = 5; i < 40; i++) CHECK(a[i] == a[i % 5]);
  CHECK(count_clusters(a, 40) == 5);
  /* n < 8 */
  rng = 1;
  CHECK(tune_knee_k(x, 3, 2, &rng, a, c) == 3);
  rng = 1;
  CHECK(tune_knee_k(x, 1, 2, &rng, a, c) == 1);
  /* all identical */
  for (int i = 0; i < 80; i++) x[i] = 4;
  rng = 1;
  CHECK(tune_knee_k(x, 40, 2, &rng, a, c) == 1);
  CHECK(c[0] == 4 && c[1] == 4);
  for (int i = 0; i < 40; i++) CHECK(a[i] == 0);
  /* 20 distinct: 8, 16, then capped at 20 (loss 0) */
  for (int i = 0; i < 40; i++) x[2 * i] = 1000.0 * (i % 20), x[2 * i + 1] = 0;
  rng = 1;
  CHECK(tune_knee_k(x, 40, 2, &rng, a, c) == 20);
  /* n == 0 */
  CHECK(tune_knee_k(x, 0, 2, &rng, a, c) == 0);
}

static void test_kmeans_loss(void) {
  double x[] = {0, 0, 0, 2, 10, 0, 10, 2}, c[4];
  int a[4];
  unsigned rng = 5;
  double loss = tune_kmeans(x, 4, 2, 2, &rng, a, c);
  CHECK(fabs(loss - 4) < 1e-12);
  CHECK(a[0] == a[1] && a[2] == a[3] && a[0] != a[2]);
  CHECK(c[2 * a[0]] == 0 && c[2 * a[0] + 1] == 1 && c[2 * a[2]] == 10 && c[2 * a[2] + 1] == 1);
}

/* k-means on many small random sets with few distinct values (so k often
 * exceeds them and clusters go empty): the loss matches the assignment,
 * every point sits with a nearest centroid, and each non-empty cluster's
 * centroid is its members' mean. */
static void test_kmeans_property(void) {
  unsigned s = 77;
  for (int trial = 0; trial < 20000 && !failures; trial++) {
    int n = 1 + lcg(&s) % 30, k = 1 + lcg(&s) % 12, span = 1 + lcg(&s) % 6;
    double x[2 * 30], c[2 * 12], sum[2 * 12] = {0}, loss = 0;
    int a[30], cnt[12] = {0};
    for (int i = 0; i < 2 * n; i++) x[i] = lcg(&s) % span;
    unsigned rng = lcg(&s);
    double got = tune_kmeans(x, n, 2, k, &rng, a, c);
    for (int i = 0; i < n; i++) {
      CHECK(a[i] >= 0 && a[i] < k);
      double di = pow(x[2 * i] - c[2 * a[i]], 2) + pow(x[2 * i + 1] - c[2 * a[i] + 1], 2);
      for (int j = 0; j < k; j++)
        CHECK(di <= pow(x[2 * i] - c[2 * j], 2) + pow(x[2 * i + 1] - c[2 * j + 1], 2) + 1e-9);
      loss += di, cnt[a[i]]++, sum[2 * a[i]] += x[2 * i], sum[2 * a[i] + 1] += x[2 * i + 1];
    }
    CHECK(fabs(loss - got) < 1e-9);
    for (int j = 0; j < k; j++)
      for (int t = 0; cnt[j] && t < 2; t++) CHECK(fabs(c[2 * j + t] - sum[2 * j + t] / cnt[j]) < 1e-9);
  }
}

/* Same seed, same everything; k = distinct points gives loss 0 (k-means++
 * never draws a point that is already a centre). */
static void test_seed_determinism(void) {
  double x[2 * 200], c1[2 * 64], c2[2 * 64];
  int a1[200], a2[200];
  unsigned s = 99;
  for (int i = 0; i < 400; i++) x[i] = lcg(&s) % 50;
  for (unsigned seed = 0; seed < 20; seed++) {
    unsigned r1 = seed, r2 = seed;
    double l1 = tune_kmeans(x, 200, 2, 24, &r1, a1, c1);
    double l2 = tune_kmeans(x, 200, 2, 24, &r2, a2, c2);
    CHECK(l1 == l2 && r1 == r2);
    CHECK(!memcmp(a1, a2, sizeof a1) && !memcmp(c1, c2, 24 * 2 * sizeof c1[0]));
    r1 = seed, r2 = seed;
    CHECK(tune_knee_k(x, 200, 2, &r1, a1, c1) == tune_knee_k(x, 200, 2, &r2, a2, c2));
    CHECK(!memcmp(a1, a2, sizeof a1) && r1 == r2);
  }
  double y[2 * 10];
  for (int i = 0; i < 20; i++) y[i] = (i * 7) % 13;
  for (unsigned seed = 0; seed < 50; seed++) {
    unsigned r = seed;
    CHECK(tune_kmeans(y, 10, 2, 10, &r, a1, c1) == 0);
  }
}

/* ---- oracles for synthesis ---- */

/* A random space with a random validity rule and random visited set. */
typedef struct toy {
  tune_space space;    /* the knobs */
  unsigned salt_valid; /* hash salt of the validity rule */
  int p_invalid;       /* percent of configs invalid by hash */
  int sum_limit;       /* cfg[0] + cfg[last] must not exceed this */
  unsigned salt_seen;  /* hash salt of the visited set */
  int p_seen;          /* percent of configs visited */
  int *visited_list;   /* explicit visited configs (as integers), or NULL */
  int n_visited_list;
} toy;

static unsigned hash_cfg(const toy *t, const int *cfg, unsigned salt) {
  unsigned h = 2166136261u ^ salt;
  for (int j = 0; j < t->space.n_knobs; j++) h = (h ^ (unsigned)cfg[j]) * 16777619u;
  return h ^ (h >> 15);
}

/* Mixed-radix integer of a config (the test's own, so that it needs only
 * sampler.c and util.c). */
static int toy_index(const tune_space *s, const int *cfg) {
  int id = 0;
  for (int j = s->n_knobs - 1; j >= 0; j--) id = id * s->knobs[j].n + cfg[j];
  return id;
}

static int in_range(const toy *t, const int *cfg) {
  for (int j = 0; j < t->space.n_knobs; j++)
    if (cfg[j] < 0 || cfg[j] >= t->space.knobs[j].n) return 0;
  for (int j = t->space.n_knobs; j < TUNE_MAX_KNOBS; j++)
    if (cfg[j] != 0) return 0;
  return 1;
}

static int toy_valid(void *ctx, const int *cfg) {
  const toy *t = ctx;
  if (!in_range(t, cfg)) return 0;
  if (cfg[0] + cfg[t->space.n_knobs - 1] > t->sum_limit) return 0;
  return (int)(hash_cfg(t, cfg, t->salt_valid) % 100) >= t->p_invalid;
}

static int toy_visited(void *ctx, const int *cfg) {
  const toy *t = ctx;
  int id = toy_index(&t->space, cfg);
  for (int i = 0; i < t->n_visited_list; i++)
    if (t->visited_list[i] == id) return 1;
  return (int)(hash_cfg(t, cfg, t->salt_seen) % 100) < t->p_seen;
}

static void toy_score(void *ctx, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *out) {
  for (int i = 0; i < n; i++) out[i] = 0;
}

static int toy_random_valid(void *ctx, unsigned *rng, int *cfg) { return 0; }

static tune_oracle toy_oracle(toy *t) {
  return (tune_oracle){.ctx = t, .space = &t->space, .score = toy_score, .valid = toy_valid,
                       .visited = toy_visited, .random_valid = toy_random_valid};
}

static void add_knob(tune_space *s, int n) {
  tune_knob *k = &s->knobs[s->n_knobs++];
  k->name = "k";
  k->n = n;
  for (int i = 0; i < n; i++) k->v[i] = i + 1;
}

static int acceptable(toy *t, const int *cfg) { return toy_valid(t, cfg) && !toy_visited(t, cfg); }

/* One random trial; returns 1 if something acceptable was proposed. */
static void property_trial(unsigned *s) {
  toy t = {0};
  int nk = 1 + lcg(s) % 6;
  for (int j = 0; j < nk; j++) add_knob(&t.space, 1 + lcg(s) % 16);
  t.salt_valid = lcg(s), t.p_invalid = lcg(s) % 91;
  t.sum_limit = lcg(s) % 4 ? 1000 : (int)(lcg(s) % 20);
  t.salt_seen = lcg(s), t.p_seen = lcg(s) % 61;
  int n = 1 + lcg(s) % 200, max_out = 1 + lcg(s) % 70;
  int (*prop)[TUNE_MAX_KNOBS] = calloc((size_t)n, sizeof *prop);
  int (*out)[TUNE_MAX_KNOBS] = calloc((size_t)max_out, sizeof *out);
  int any = 0;
  int hot = lcg(s) % 2; /* half the trials: proposals concentrated near a few points */
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < nk; j++) {
      int kn = t.space.knobs[j].n;
      prop[i][j] = hot ? (int)((lcg(s) % 3 + (i % 4) * kn / 4) % kn) : (int)(lcg(s) % kn);
    }
    if (lcg(s) % 10 == 0 && i > 0) memcpy(prop[i], prop[i - 1], sizeof prop[i]); /* duplicates */
    any |= acceptable(&t, prop[i]);
  }
  /* an explicit visited set: some of the proposals themselves */
  int vl[32], nvl = 0;
  for (int i = 0; i < n && nvl < 32; i++)
    if (lcg(s) % 5 == 0) vl[nvl++] = toy_index(&t.space, prop[i]);
  t.visited_list = vl, t.n_visited_list = nvl;
  any = 0;
  for (int i = 0; i < n; i++) any |= acceptable(&t, prop[i]);
  tune_oracle o = toy_oracle(&t);
  unsigned rng = lcg(s);
  int got = tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, n, &rng, out, max_out);
  CHECK(got >= 0 && got <= max_out);
  CHECK(!any || got >= 1);
  for (int i = 0; i < got; i++) {
    CHECK(in_range(&t, out[i]));
    CHECK(toy_valid(&t, out[i]));
    CHECK(!toy_visited(&t, out[i]));
    for (int j = 0; j < i; j++) CHECK(memcmp(out[i], out[j], sizeof out[i]) != 0);
  }
  free(prop);
  free(out);
}

static void test_property(void) {
  unsigned s = 12345;
  for (int trial = 0; trial < 3000 && !failures; trial++) property_trial(&s);
}

/* ---- the most-common-value rule ---- */

/* Knobs A(10) B(10) C(4) D(3) E(10): clustered on A and B (E ties with them
 * and loses to the lower indices). All proposals share (A, B) = (5, 5), so
 * there is one cluster. */
static void test_mode(void) {
  toy t = {0};
  add_knob(&t.space, 10), add_knob(&t.space, 10), add_knob(&t.space, 4), add_knob(&t.space, 3);
  add_knob(&t.space, 10);
  t.sum_limit = 1000;
  int prop[5][TUNE_MAX_KNOBS] = {
      {5, 5, 1, 0, 9}, {5, 5, 2, 1, 8}, {5, 5, 3, 1, 8}, {5, 5, 2, 1, 7}, {5, 5, 3, 2, 9},
  };
  tune_oracle o = toy_oracle(&t);
  int out[8][TUNE_MAX_KNOBS];
  unsigned rng = 1;
  /* C: 2 and 3 twice each, 2 met first; D: 1 thrice; E: 9 and 8 twice, 9 first */
  CHECK(tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 5, &rng, out, 8) == 1);
  int want[TUNE_MAX_KNOBS] = {5, 5, 2, 1, 9};
  CHECK(!memcmp(out[0], want, sizeof want));
  /* the synthesized config is visited: the nearest acceptable member (all at
   * distance 0 on A, B: the first in order, unless it is visited too) */
  int vl[2] = {(int)toy_index(&t.space, want), (int)toy_index(&t.space, prop[0])};
  t.visited_list = vl, t.n_visited_list = 2;
  CHECK(tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 5, &rng, out, 8) == 1);
  CHECK(!memcmp(out[0], prop[1], sizeof prop[1]));
  /* every member visited too: nothing */
  int all[6];
  for (int i = 0; i < 5; i++) all[i] = (int)toy_index(&t.space, prop[i]);
  all[5] = vl[0];
  t.visited_list = all, t.n_visited_list = 6;
  CHECK(tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 5, &rng, out, 8) == 0);
}

/* Centroids round to the nearest option: members at A = 2, 3, 3 (mean 2.67)
 * -> 3. Nine far-apart (A, B) groups so that k = 8 merges two of them; the
 * test only looks at a group that is alone in its cluster. */
static void test_centroid_rounding(void) {
  toy t = {0};
  add_knob(&t.space, 64), add_knob(&t.space, 64), add_knob(&t.space, 2);
  t.sum_limit = 1000;
  int prop[3][TUNE_MAX_KNOBS] = {{2, 40, 0}, {3, 40, 1}, {3, 41, 1}};
  tune_oracle o = toy_oracle(&t);
  int out[8][TUNE_MAX_KNOBS];
  unsigned rng = 1;
  /* 3 distinct points -> 3 clusters, each its own member */
  CHECK(tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 3, &rng, out, 8) == 3);
  /* max_out 1: one cluster of all three; centroid (2.67, 40.33) -> (3, 40); mode 1 */
  CHECK(tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 3, &rng, out, 1) == 1);
  int want[TUNE_MAX_KNOBS] = {3, 40, 1};
  CHECK(!memcmp(out[0], want, sizeof want));
}

/* Proposals in 8 tight blobs of a large (A, B) plane: 8 representatives, one
 * per blob. */
static void test_sample_blobs(void) {
  toy t = {0};
  add_knob(&t.space, 64), add_knob(&t.space, 3), add_knob(&t.space, 64);
  t.sum_limit = 1000;
  int prop[8 * 10][TUNE_MAX_KNOBS] = {{0}};
  unsigned s = 3;
  for (int i = 0; i < 80; i++) {
    int b = i / 10;
    prop[i][0] = 4 + 16 * (b % 4) + (int)(lcg(&s) % 3);
    prop[i][1] = (int)(lcg(&s) % 3);
    prop[i][2] = 10 + 30 * (b / 4) + (int)(lcg(&s) % 3);
  }
  tune_oracle o = toy_oracle(&t);
  int out[64][TUNE_MAX_KNOBS];
  unsigned rng = 9;
  int got = tune_adaptive_sample(&o, (const int(*)[TUNE_MAX_KNOBS])prop, 80, &rng, out, 64);
  CHECK(got == 8);
  int hit[8] = {0};
  for (int i = 0; i < got; i++) {
    int b = (out[i][0] - 4) / 16 + 4 * ((out[i][2] - 10) / 30);
    CHECK(b >= 0 && b < 8);
    if (b >= 0 && b < 8) hit[b]++;
  }
  for (int b = 0; b < 8; b++) CHECK(hit[b] == 1);
}

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
    {"knee8", test_knee8},
    {"knee16", test_knee16},
    {"never_knee", test_never_knee},
    {"uniform", test_uniform},
    {"few_points", test_few_points},
    {"kmeans_loss", test_kmeans_loss},
    {"kmeans_property", test_kmeans_property},
    {"seed", test_seed_determinism},
    {"property", test_property},
    {"mode", test_mode},
    {"rounding", test_centroid_rounding},
    {"blobs", test_sample_blobs},
};

int main(int argc, char **argv) {
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (argc < 2 || !strcmp(argv[1], tests[i].name)) tests[i].fn(), ran++;
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
  }
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
