/*
 * test_shard.c — splitting a model zoo's tasks over machines (tune/shard.c):
 * tasks of several "models" joined by key (shared ones once, their uses
 * summed); for N = 1..8 shards every task is in exactly one shard, no shard
 * has more work than another plus the largest task, and the split is the
 * same whatever order the tasks come in.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

enum { N_MODELS = 4, PER_MODEL = 12, KEYS = 30 };

/* Task number `id` of the zoo: a key, FLOPs; a dense workload is enough
 * (the split reads keys, FLOPs and work only). */
static tune_task zoo_task(int id) {
  tune_task t;
  memset(&t, 0, sizeof t);
  snprintf(t.key, sizeof t.key, "dense m1 k%d n64 ta0 l16", 64 * (id + 1));
  t.flops = 1e6 * (id % 7 + 1); /* FLOPs tie often, keys never */
  t.uses = 1;
  return t;
}

/* Models of PER_MODEL tasks drawn from KEYS keys, so they share tasks. */
static tune_task *zoo(int *n, int *draws) {
  tune_task *all = NULL;
  unsigned rng = 12345;
  *n = 0;
  *draws = 0;
  for (int m = 0; m < N_MODELS; m++) {
    tune_task model[PER_MODEL];
    int k = 0;
    while (k < PER_MODEL) {
      tune_task t = zoo_task((int)(tune_rand(&rng) % KEYS));
      int dup = 0;
      for (int j = 0; j < k; j++) dup |= !strcmp(model[j].key, t.key);
      if (!dup) model[k++] = t;
    }
    tune_tasks_union(&all, n, model, PER_MODEL);
    *draws += PER_MODEL;
  }
  return all;
}

static void test_union(void) {
  int n, draws;
  tune_task *all = zoo(&n, &draws);
  CHECK(n < draws, "the models share no task (%d of %d): the test shows nothing", n, draws);
  int uses = 0;
  for (int i = 0; i < n; i++) {
    uses += all[i].uses;
    for (int j = 0; j < i; j++) CHECK(strcmp(all[i].key, all[j].key), "task %d twice", i);
  }
  CHECK(uses == draws, "uses %d, want %d (one per model using the task)", uses, draws);
  free(all);
}

/* Each task in exactly one shard 0..N-1; the greedy bound on the loads. */
static void check_partition(const tune_task *t, const int *work, int n, int nshards, const int *shard) {
  long long load[8] = {0};
  int count[8] = {0}, max_work = 0;
  for (int i = 0; i < n; i++) {
    CHECK(shard[i] >= 0 && shard[i] < nshards, "task %d in shard %d of %d", i, shard[i], nshards);
    if (shard[i] < 0 || shard[i] >= nshards) continue;
    load[shard[i]] += work[i];
    count[shard[i]]++;
    if (work[i] > max_work) max_work = work[i];
  }
  int total = 0;
  for (int k = 0; k < nshards; k++) total += count[k];
  CHECK(total == n, "%d of %d tasks assigned", total, n);
  for (int a = 0; a < nshards; a++)
    for (int b = 0; b < nshards; b++)
      CHECK(load[a] <= load[b] + max_work, "N=%d: shard %d has %lld, shard %d %lld (largest task %d)", nshards,
            a, load[a], b, load[b], max_work);
  (void)t;
}

static void test_partition(void) {
  int n, draws;
  tune_task *all = zoo(&n, &draws);
  int *work = malloc((size_t)n * sizeof *work), *budget = malloc((size_t)n * sizeof *budget);
  tune_budgets(all, n, 24 * n, 0, 8, budget);
  for (int i = 0; i < n; i++) work[i] = budget[i] + 12;
  int *shard = malloc((size_t)n * sizeof *shard), *again = malloc((size_t)n * sizeof *again);
  for (int nshards = 1; nshards <= 8; nshards++) {
    tune_shard_partition(all, work, n, nshards, shard);
    check_partition(all, work, n, nshards, shard);
    /* the same tasks reversed: each task lands in the same shard */
    tune_task *rev = malloc((size_t)n * sizeof *rev);
    int *rwork = malloc((size_t)n * sizeof *rwork);
    for (int i = 0; i < n; i++) rev[i] = all[n - 1 - i], rwork[i] = work[n - 1 - i];
    tune_shard_partition(rev, rwork, n, nshards, again);
    for (int i = 0; i < n; i++)
      CHECK(again[n - 1 - i] == shard[i], "N=%d: task %s moved with the input order", nshards, all[i].key);
    free(rev);
    free(rwork);
  }
  /* more shards than tasks: some shards are empty, none has two tasks */
  tune_shard_partition(all, work, 3, 8, shard);
  CHECK(shard[0] != shard[1] && shard[1] != shard[2] && shard[0] != shard[2]);
  free(all);
  free(work);
  free(budget);
  free(shard);
  free(again);
}

int main(void) {
  test_union();
  test_partition();
  if (!failures) printf("ok\n");
  return failures != 0;
}
