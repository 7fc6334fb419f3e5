/*
 * emitc.h — the C back end (prefix `ec_`): loop IR kernels, a model's
 * constants and its entry plan written as a self-contained C99 source tree
 * that any C compiler builds into libNAME.a (`chamcc --emit-c DIR`).
 *
 * A second back end beside LLVM (cg.h), sharing nothing with it but the
 * loop IR and the plain descriptions of the entry function (cg_entry) and
 * the target (cg_target). codegen/emit_c.c writes kernels, codegen/
 * emit_c_tree.c the rest of the tree; docs/DESIGN.md ("The C back end")
 * describes what the tree holds.
 */
#ifndef CHAMCC_EMITC_H
#define CHAMCC_EMITC_H

#include <stdio.h>

#include "chamcc/cg.h"

/* ---- codegen/emit_c.c: one kernel as C ---- */

/* Writes kernel k as a C function (with its outlined parallel loops, as
 * static functions before it) to f. Vectors must have `lanes` lanes (or
 * 1); nthreads is what parallel loops ask the runtime for (1: they run
 * serially, no runtime call). */
int ec_write_kernel(FILE *f, const ir_kernel *k, int lanes, int nthreads, chm_err *e);
/* Its prototype (no semicolon), e.g. "void NAME(const float *restrict in, float *restrict out)". */
void ec_write_prototype(FILE *f, const ir_kernel *k);
/* Whether kernel parameter i is written by the kernel (else it is const). */
int ec_param_written(const ir_kernel *k, int i);

/* ---- codegen/emit_c_tree.c: the whole tree ---- */

typedef struct ec_program {
  const char *prefix;               /* NAME: NAME_run, libNAME.a, ... */
  const char *source;               /* the model file, named in comments */
  const cg_target *target;          /* lanes, and the triple for the Makefile's flags */
  int nthreads;                     /* threads of parallel loops (0 = all CPUs) */
  int n_kernels;                    /* distinct kernels */
  const ir_kernel *const *kernels;  /* each written to its own NAME_KERNEL.c */
  const char *const *notes;         /* per kernel: what it runs for (a comment), or NULL */
  int n_consts;                     /* constant arrays */
  const float *const *consts;       /* their data, in CG_ARG_CONST order */
  const int64_t *const_n;           /* their element counts */
  const cg_entry *entry;            /* NAME_run's calls and the I/O metadata */
  const char *const *call_notes;    /* per call: what it runs for (a comment), or NULL */
} ec_program;

/* Writes the tree into folder dir (made if missing; files of the same
 * names are replaced): kernels, NAME_model.c, NAME_kernels.h, the weights
 * (NAME_weights.bin, NAME_weights.S), the runtime (chamcc_rt.c,
 * chamcc/rt.h, chamcc_vec.h), Makefile and CMakeLists.txt. NAME.h, the
 * API header, is the caller's (mdl_write_header). */
int ec_write_tree(const ec_program *p, const char *dir, chm_err *e);

#endif
