/*
 * cg_stubs.c — the LLVM back end's entry points, as stubs, for the fuzz
 * target's standalone build: codegen/model.c refers to them from its emit
 * step, which plan-only mode never reaches, so the fuzzer links neither
 * LLVM nor the runtime. Only the names matter to the linker, so cg.h is not
 * included (its signatures may change without touching this file). A call
 * is a bug in the fuzz setup: it aborts loudly.
 */
#include <stdio.h>
#include <stdlib.h>

static void stub(const char *name) {
  fprintf(stderr, "cg_stubs: %s called in plan-only mode\n", name);
  abort();
}

#define STUB(name) \
  void name(void); \
  void name(void) { stub(#name); }

STUB(cg_module_new)
STUB(cg_module_free)
STUB(cg_add_const)
STUB(cg_add_extern_const)
STUB(cg_add_kernel)
STUB(cg_add_entry)
STUB(cg_finish)
STUB(cg_write_ir)
STUB(cg_emit_object)
STUB(cg_export_kernels)
STUB(cg_target_init)
STUB(chm_rt_source) /* the C back end's runtime sources (emit_c_tree.c) */
