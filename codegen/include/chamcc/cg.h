/*
 * cg.h — the LLVM backend (prefix `cg_`): targets, modules, lowering of loop
 * IR kernels to LLVM IR, the model entry function, object files and JIT.
 *
 * One cg_module owns an LLVM context, module, builder and target machine:
 * create → add kernels / constants / entry → finish (verify + O3) → emit
 * object or JIT → free. Modules are independent, so builds can run in
 * parallel threads.
 */
#ifndef CHAMCC_CG_H
#define CHAMCC_CG_H

#include "chamcc/ir.h"

typedef struct cg_target {
  char triple[64];     /* normalized LLVM triple, e.g. x86_64-unknown-linux-gnu */
  char cpu[64];        /* chamcc's CPU name (the log's key), e.g. znver4, cortex-a76, zvl256b */
  char llvm_cpu[64];   /* the CPU LLVM is told: cpu, or generic-rv64 for RISC-V's names */
  char features[1024]; /* LLVM feature string (host features for the host) */
  int lanes;           /* float32 lanes of the widest profitable vector */
  int vregs;           /* vector registers: 32 (AVX-512, NEON) or 16 (AVX2, SSE) */
  int wide512;         /* AVX-512: keep 512-bit vectors (function attributes) */
  int is_aarch64;      /* the target is AArch64 */
  int64_t l1d, l2;     /* bytes of data L1 and L2 per core (this machine's, or the CPU's published sizes) */
  int is_riscv64;      /* the target is RISC-V 64 (RVV 1.0) */
} cg_target;

/* Fills t for TRIPLE (NULL: the host) and CPU (NULL: the host's, or the
 * triple's generic CPU). Unknown triples or CPUs are errors listing what
 * is supported. */
int cg_target_init(cg_target *t, const char *triple, const char *cpu, chm_err *e);
/* Sets t->l1d and t->l2: read from the machine when is_host, else the
 * sizes of t->cpu from a table (codegen/target_caches.c), else 32 KiB and
 * 256 KiB. */
void cg_target_caches(cg_target *t, int is_host);

typedef struct cg_module cg_module;

cg_module *cg_module_new(const cg_target *t, const char *name, int nthreads, chm_err *e);
void cg_module_free(cg_module *m); /* NULL is allowed */

/* Kernels added from now on are visible symbols (for JIT lookup). */
void cg_export_kernels(cg_module *m);
/* Lowers kernel k to an internal function named k->name(float *params...). */
int cg_add_kernel(cg_module *m, const ir_kernel *k, chm_err *e);
/* A constant array embedded in the module (LLVM may fold its values: a
 * small table, zeros); returns its id for CG_ARG_CONST. */
int cg_add_const(cg_module *m, const float *data, int64_t n);
/* A constant array of n floats defined elsewhere in the library as the
 * hidden, 64-byte aligned symbol `symbol` (chm_ar_data_member writes it);
 * returns its id for CG_ARG_CONST. */
int cg_add_extern_const(cg_module *m, const char *symbol, int64_t n);

typedef enum cg_arg_kind {
  CG_ARG_INPUT,  /* inputs[i] of NAME_run */
  CG_ARG_OUTPUT, /* outputs[i] of NAME_run */
  CG_ARG_WS,     /* workspace + i bytes */
  CG_ARG_CONST,  /* constant array i (cg_add_const) */
} cg_arg_kind;

typedef struct cg_arg {
  cg_arg_kind kind; /* where the pointer comes from */
  int64_t i;        /* index, byte offset or constant id */
} cg_arg;

typedef struct cg_call {
  const char *kernel; /* name of a kernel added with cg_add_kernel */
  int n_args;         /* its parameter count */
  cg_arg *args;       /* one per parameter */
} cg_call;

typedef struct cg_io {
  const char *name;     /* ONNX name */
  int rank;             /* dimensions */
  const int64_t *shape; /* rank values */
} cg_io;

typedef struct cg_entry {
  const char *prefix;   /* NAME: functions are NAME_run, NAME_num_inputs, ... */
  int n_inputs;         /* runtime inputs */
  const cg_io *inputs;  /* their names and shapes */
  int n_outputs;        /* outputs */
  const cg_io *outputs; /* their names and shapes */
  int64_t ws_bytes;     /* workspace size */
  int n_calls;          /* kernel calls, in order */
  const cg_call *calls; /* the calls */
} cg_entry;

/* Emits NAME_run and the metadata functions of the library API. */
int cg_add_entry(cg_module *m, const cg_entry *en, chm_err *e);

/* Verifies the module and runs the O3 pipeline. */
int cg_finish(cg_module *m, chm_err *e);
/* Textual LLVM IR to PATH. */
int cg_write_ir(cg_module *m, const char *path, chm_err *e);
/* Object code into a malloc'ed buffer. */
int cg_emit_object(cg_module *m, unsigned char **data, size_t *size, chm_err *e);
/* Assembly text into a malloc'ed, NUL-terminated string (for tests and inspection). */
char *cg_emit_assembly(cg_module *m, chm_err *e);

/* ---- JIT (host only): compiles a finished module and looks up symbols ---- */
typedef struct cg_jit cg_jit;
cg_jit *cg_jit_new(cg_module *m, chm_err *e); /* takes ownership of m's module */
void *cg_jit_lookup(cg_jit *j, const char *name, chm_err *e);
void cg_jit_free(cg_jit *j);

#endif
