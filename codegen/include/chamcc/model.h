/*
 * model.h — lowering a whole graph to one LLVM module or C tree (prefix `mdl_`):
 * layout planning, one kernel per node from its template, weight packing,
 * the static workspace plan, and the library's entry function.
 */
#ifndef CHAMCC_MODEL_H
#define CHAMCC_MODEL_H

#include "chamcc/archive.h"
#include "chamcc/cg.h"
#include "chamcc/graph.h"

#include "chamcc/tpl.h"

/* Chooses the configs of tunable kernels while a graph is lowered; also how
 * tasks are collected (a provider that records the workloads it is asked
 * about). Either callback may be NULL: the template default is used. */
typedef struct mdl_tuning {
  void *ctx;                                                            /* passed back */
  void (*conv)(void *ctx, const tpl_conv *w, tpl_conv_cfg *cfg);        /* cfg holds the default */
  void (*dense)(void *ctx, const tpl_dense *w, tpl_dense_cfg *cfg);     /* cfg holds the default */
} mdl_tuning;

typedef struct mdl_options {
  const char *prefix;       /* NAME: symbols are NAME_run, ... */
  const cg_target *target;  /* what to compile for */
  int nthreads;             /* threads of parallel loops (0 = all CPUs) */
  const char *emit_llvm;    /* if set, write the optimized LLVM IR there */
  const char *dump_ir;      /* if set, write the loop IR of every kernel there */
  int verbose;              /* print the plan to stderr */
  const mdl_tuning *tuning; /* config provider, or NULL for defaults */
  int plan_only;            /* lower (calling the provider) but emit nothing */
  const char *emit_c;       /* if set, the C back end writes a source tree in this folder
                               (emitc.h) instead of an object */
  int winograd;             /* 3x3 convolutions by Winograd (tpl_wino.c): MDL_WINO_AUTO where
                               it applies, MDL_WINO_OFF never, 2 or 4 that output tile only */
} mdl_options;

enum { MDL_WINO_AUTO = 0, MDL_WINO_OFF = -1 };

typedef struct mdl_stats {
  int n_kernels;        /* distinct kernels */
  int n_calls;          /* kernel calls per run */
  int64_t ws_bytes;     /* workspace */
  int64_t weight_bytes; /* embedded constants */
  double lower_s, opt_s, emit_s; /* seconds in each phase */
} mdl_stats;

/* What mdl_compile makes with the LLVM back end: the kernels' object, and
 * the weights as an archive member of their own (chm_ar_data_member; its
 * parts point into g's tensors and memory the result keeps, so g must
 * outlive it; name NULL when there are no weights). */
typedef struct mdl_result {
  unsigned char *obj;     /* the kernels' object (malloc'ed) */
  size_t size;            /* its bytes */
  chm_ar_member weights;  /* the symbols NAME_weights_I it refers to */
  chm_arena *keep;        /* owns the weights' memory */
} mdl_result;

/* Compiles g into objects (*r), or with o->emit_c into a C source tree
 * there (with NAME.h; *r stays empty). */
int mdl_compile(const gr_graph *g, const mdl_options *o, mdl_result *r, mdl_stats *st, chm_err *e);
void mdl_result_free(mdl_result *r);

/* Writes NAME.h for g: the API the README and docs/DESIGN.md describe. */
int mdl_write_header(const gr_graph *g, const char *prefix, const char *path, chm_err *e);

#endif
