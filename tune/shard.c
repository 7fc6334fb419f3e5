/*
 * shard.c — splitting the tasks of a model zoo over N machines (see tune.h).
 *
 * Every machine of a job array runs the same command and must pick a
 * disjoint share of the work without talking to the others, so the split
 * depends only on the tasks and their budgets, never on the machine or its
 * log. The tasks of all models are joined by key first (a convolution that
 * several models share is tuned once, for all of them). Then the greedy
 * longest-processing-time rule: tasks in decreasing order of work (ties by
 * FLOPs, then by key, which is unique: a total order, so the input order of
 * the tasks does not matter), each into the shard with the least work so
 * far (ties to the lowest shard). No shard then exceeds another by more
 * than the largest single task.
 */
#include "chamcc/tune.h"

#include <stdlib.h>
#include <string.h>

void tune_tasks_union(tune_task **all, int *n, const tune_task *more, int m) {
  for (int j = 0; j < m; j++) {
    int i = 0;
    while (i < *n && strcmp((*all)[i].key, more[j].key)) i++;
    if (i < *n) {
      (*all)[i].uses += more[j].uses;
      continue;
    }
    *all = chm_realloc(*all, (size_t)(*n + 1) * sizeof **all);
    (*all)[(*n)++] = more[j];
  }
}

typedef struct shard_item {
  const tune_task *t; /* the task */
  int work;           /* its measurements */
  int i;              /* its index in the caller's array */
} shard_item;

/* More work first; then more FLOPs; then by key. */
static int item_cmp(const void *pa, const void *pb) {
  const shard_item *a = pa, *b = pb;
  if (a->work != b->work) return a->work > b->work ? -1 : 1;
  if (a->t->flops != b->t->flops) return a->t->flops > b->t->flops ? -1 : 1;
  return strcmp(a->t->key, b->t->key);
}

void tune_shard_partition(const tune_task *tasks, const int *work, int n, int nshards, int *shard) {
  shard_item *items = chm_malloc((size_t)(n ? n : 1) * sizeof *items);
  long long *load = chm_calloc((size_t)nshards, sizeof *load);
  for (int i = 0; i < n; i++) items[i] = (shard_item){&tasks[i], work[i], i};
  qsort(items, (size_t)n, sizeof *items, item_cmp);
  for (int j = 0; j < n; j++) {
    int best = 0;
    for (int k = 1; k < nshards; k++)
      if (load[k] < load[best]) best = k;
    shard[items[j].i] = best;
    load[best] += items[j].work;
  }
  free(load);
  free(items);
}
