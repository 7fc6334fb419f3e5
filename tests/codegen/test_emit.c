/*
 * test_emit.c — the LLVM IR chamcc hands to the pass pipeline is small: an
 * index computation an unrolled register tile repeats is built once per
 * block, and a loop around a large unrolled tile carries
 * llvm.loop.unroll.disable, while a loop around a small one does not (LLVM
 * may still unroll it).
 *
 * The default config of a ResNet-18 3x3 layer (a tile of 28 accumulators,
 * 16 input channels unrolled) and a 1-accumulator config, emitted for
 * x86-64 znver5 and read back before optimization. Whether the kernels
 * still compute the right thing is test_conv's job (random configs
 * against a naive convolution).
 */
#include "../check.h"
#include "../conv_layer.h"
#include "chamcc/cg.h"
#include "chamcc/tpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines of text that contain what. */
static int count(const char *text, const char *what) {
  int n = 0;
  for (const char *l = text; l && *l;) {
    const char *end = strchr(l, '\n');
    size_t len = end ? (size_t)(end - l) : strlen(l);
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), l);
    n += strstr(line, what) != NULL;
    l = end ? end + 1 : NULL;
  }
  return n;
}

/* The unoptimized LLVM IR of conv config c at 2 threads (malloc'ed). */
static char *emitted_ir(const cg_target *t, const tpl_conv *w, tpl_conv_cfg c) {
  chm_err e = {0};
  char path[] = "/tmp/chamcc_test_emit_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  close(fd);
  chm_arena *a = chm_arena_new();
  cg_module *m = cg_module_new(t, "emit", 2, &e);
  int bad = !m || cg_add_kernel(m, tpl_conv_kernel(a, "conv", w, &c), &e) || cg_write_ir(m, path, &e);
  CHECK(!bad, "emitting: %s", e.msg);
  cg_module_free(m);
  chm_arena_free(a);
  FILE *f = fopen(path, "rb");
  char *text = calloc(1, 1 << 24);
  size_t n = f ? fread(text, 1, (1 << 24) - 1, f) : 0;
  CHECK(n > 0 && n < (1 << 24) - 1, "reading back %s (%zu bytes)", path, n);
  if (f) fclose(f);
  unlink(path);
  return text;
}

int main(void) {
  cg_target t;
  chm_err e = {0};
  if (cg_target_init(&t, "x86_64-linux-gnu", "znver5", &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  tpl_conv w = conv_layer(256, 14, 256, 3, 1, 1, t.lanes);
  w.vregs = t.vregs;
  tpl_conv_cfg big = tpl_conv_default(&w), small = {1, 1, 1, 0, 0, 0, 0, 1, 0};
  CHECK(big.oc_bn * big.ow_bn * big.oh_bn >= 16, "the default tile has %d accumulators",
        big.oc_bn * big.ow_bn * big.oh_bn);

  char *ir = emitted_ir(&t, &w, big);
  int fma = count(ir, "@llvm.fmuladd"), gep = count(ir, "getelementptr"), div = count(ir, "sdiv");
  printf("default tile: %d FMAs, %d getelementptr, %d sdiv, %d loops marked\n", fma, gep, div,
         count(ir, "!llvm.loop !"));
  CHECK(fma >= 300, "%d FMA lines", fma);
  /* one load address per input pixel and weight vector, built once: before
   * reuse there were about 4 addresses and 4 divisions per FMA */
  CHECK(gep <= fma, "%d getelementptr for %d FMAs", gep, fma);
  CHECK(div * 10 <= fma, "%d sdiv for %d FMAs", div, fma);
  CHECK(count(ir, "llvm.loop.unroll.disable") == 1, "the unroll-disable option node is missing or repeated");
  CHECK(count(ir, "!llvm.loop !") >= 1, "no loop around the large tile is marked");
  CHECK(count(ir, "distinct !{") >= 1, "a loop ID must be a distinct, self-referencing node");
  free(ir);

  ir = emitted_ir(&t, &w, small);
  CHECK(count(ir, "@llvm.fmuladd") < 300, "the 1-accumulator tile has %d FMA lines", count(ir, "@llvm.fmuladd"));
  CHECK(count(ir, "llvm.loop") == 0, "a loop around a 1-accumulator tile is marked");
  free(ir);
  return failures != 0;
}
