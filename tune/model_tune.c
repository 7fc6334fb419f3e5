/*
 * model_tune.c — the bridge between whole models and tuning: collecting a
 * model's tasks by lowering it with a recording config provider, and
 * building it with the best configs of a tuning log.
 */
#include "chamcc/tune.h"

#include <stdlib.h>
#include <string.h>

typedef struct collector {
  CHM_VEC(tune_task) tasks; /* distinct so far */
  tune_machine mach;        /* the target's, for every task */
} collector;

static void add_task(collector *c, tune_task *t) {
  t->mach = c->mach;
  for (int i = 0; i < c->tasks.len; i++)
    if (!strcmp(c->tasks.data[i].key, t->key)) {
      c->tasks.data[i].uses++;
      return;
    }
  chm_vec_push(&c->tasks, *t);
  c->tasks.data[c->tasks.len - 1].uses = 1;
}

static void collect_conv(void *ctx, const tpl_conv *w, tpl_conv_cfg *cfg) {
  tune_task t;
  tune_task_init_conv(&t, w);
  add_task(ctx, &t);
  (void)cfg;
}

static void collect_dense(void *ctx, const tpl_dense *w, tpl_dense_cfg *cfg) {
  tune_task t;
  tune_task_init_dense(&t, w);
  add_task(ctx, &t);
  (void)cfg;
}

int tune_collect_tasks(const gr_graph *g, const cg_target *t, int nthreads, int winograd, tune_task **tasks,
                       int *n, chm_err *e) {
  collector c = {.mach = tune_machine_of(t, nthreads)};
  mdl_tuning tu = {&c, collect_conv, collect_dense};
  mdl_options o = {.prefix = "collect", .target = t, .nthreads = nthreads, .tuning = &tu, .plan_only = 1,
                   .winograd = winograd};
  mdl_stats st;
  mdl_result r;
  int rc = mdl_compile(g, &o, &r, &st, e);
  mdl_result_free(&r);
  *tasks = c.tasks.data;
  *n = c.tasks.len;
  return rc;
}

/* Counts a tunable layer of task t and returns the config of t a build
 * uses (tune_log_pick), if the log has a valid one (counted as served). */
static const tune_record *best_for(tune_log_use *u, const tune_task *t) {
  int def[TUNE_MAX_KNOBS];
  tune_task_default(t, def);
  const tune_record *r = tune_log_pick(u->log, t->key, def, t->space.n_knobs);
  if (r && (r->n_config != t->space.n_knobs || tune_task_check(t, r->config))) r = NULL;
  u->layers++;
  u->from_log += r != NULL;
  if (u->chosen) u->chosen(u->ctx, t, r);
  return r;
}

static void best_conv(void *ctx, const tpl_conv *w, tpl_conv_cfg *cfg) {
  tune_task t;
  tune_task_init_conv(&t, w);
  const tune_record *r = best_for(ctx, &t);
  if (r) tune_task_conv_cfg(&t, r->config, cfg);
}

static void best_dense(void *ctx, const tpl_dense *w, tpl_dense_cfg *cfg) {
  tune_task t;
  tune_task_init_dense(&t, w);
  const tune_record *r = best_for(ctx, &t);
  if (r) tune_task_dense_cfg(&t, r->config, cfg);
}

mdl_tuning tune_log_provider(tune_log_use *u) {
  mdl_tuning tu = {u, best_conv, best_dense};
  return tu;
}
