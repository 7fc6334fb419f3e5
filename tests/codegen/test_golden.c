/*
 * test_golden.c — the loop IR of one small case of every template, printed
 * with ir_print_kernel and compared with tests/codegen/golden/NAME.ir, so
 * that a change of the generated loops shows in review as a diff of those
 * files. Cases use 4 lanes and 32 vector registers whatever the host, so
 * the files are the same on every machine.
 *
 *   test_golden GOLDEN_DIR            compare (exit 1 on a difference)
 *   test_golden GOLDEN_DIR --update   rewrite the files
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chamcc/tpl.h"

enum { L = 4 };

static tpl_conv conv_case(int64_t c, int64_t k, int64_t groups, int dw) {
  tpl_conv w = {0};
  w.in = (tpl_view){1, c, 6, 7, L, 1, 1};
  w.out = (tpl_view){1, k, 6, 7, L, 0, 0};
  w.kh = w.kw = 3, w.sh = w.sw = 1, w.dh = w.dw = 1, w.pt = w.pl = 1;
  w.depthwise = dw, w.groups = groups, w.vregs = 32;
  w.epi.act = CHM_ACT_RELU;
  return w;
}

static ir_kernel *conv(chm_arena *a, const char *name, tpl_conv w) {
  tpl_conv_cfg c = tpl_conv_default(&w);
  return tpl_conv_kernel(a, name, &w, &c);
}

/* Builds case i (NULL past the last) and names it. */
static ir_kernel *golden_case(chm_arena *a, int i) {
  tpl_view plain = {1, 6, 5, 5, 1, 0, 0}, blocked = {1, 6, 5, 5, L, 0, 0}, halo = {1, 6, 5, 5, L, 1, 1};
  int64_t shape[3] = {2, 3, 5}, perm[3] = {2, 0, 1}, pads[6] = {0, 1, 1, 0, 0, 2};
  int64_t sstart[3] = {1, 0, 4}, sstep[3] = {1, 2, -1}, sout[3] = {1, 2, 3};
  switch (i) {
  case 0: return conv(a, "conv", conv_case(8, 8, 1, 0));
  case 1: return conv(a, "dwconv", conv_case(8, 8, 1, 1));
  case 2: return conv(a, "grconv_blocks", conv_case(8, 16, 2, 0));
  case 3: return conv(a, "grconv_lanes", conv_case(12, 12, 6, 0));
  case 4: {
    tpl_dense d = {2, 9, 10, 0, L, {.act = CHM_ACT_SIGMOID}, 32};
    tpl_dense_cfg c = tpl_dense_default(&d);
    return tpl_dense_kernel(a, "dense", &d, &c);
  }
  case 5: return tpl_reorder(a, "reorder", &plain, &halo);
  case 6: return tpl_zero_halo(a, "zero_halo", &halo);
  case 7: {
    tpl_pool p = {.in = halo, .out = {1, 6, 3, 3, L, 0, 0}, .is_max = 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                  .dh = 1, .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    return tpl_pool_kernel(a, "maxpool", &p);
  }
  case 8: {
    tpl_pool p = {.in = blocked, .global = 1};
    return tpl_pool_kernel(a, "global_avgpool", &p);
  }
  case 9: {
    tpl_elt e = {.op = TPL_ADD, .rank = 3, .shape = {2, 3, 5}, .n_in = 2,
                 .strides = {{15, 5, 1}, {0, 1, 0}}, .epi = {.act = CHM_ACT_SILU}};
    return tpl_elt_kernel(a, "elt_broadcast", &e);
  }
  case 10: {
    tpl_elt e = {.op = TPL_MUL, .n_in = 2};
    tpl_view s = {1, 6, 1, 1, L, 0, 0};
    return tpl_elt_blocked(a, "elt_blocked_scale", &e, &blocked, &s, &blocked);
  }
  case 11: {
    tpl_gconv g = {1, 6, 5, 5, 4, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 2, {.act = CHM_ACT_NONE}};
    return tpl_gconv_kernel(a, "gconv", &g);
  }
  case 12: {
    tpl_gemm g = {2, 3, 4, 5, 12, 4, 1, 20, 5, 1, 0, 0, 0, 0, 1.0f, 0.0f, {.act = CHM_ACT_NONE}};
    return tpl_gemm_kernel(a, "gemm", &g);
  }
  case 13: return tpl_softmax_kernel(a, "softmax", 2, 5, 3);
  case 14: return tpl_layernorm_kernel(a, "layernorm", 3, 10, 1e-5f, 2, 4);
  case 15: return tpl_reduce_kernel(a, "reduce_mean", TPL_REDUCE_MEAN, 3, shape, 1u << 1);
  case 16: return tpl_slice_kernel(a, "slice", 3, shape, sout, sstart, sstep);
  case 17: return tpl_transpose_kernel(a, "transpose", 3, shape, perm);
  case 18: return tpl_resize_kernel(a, "resize_linear", 6, 5, 5, 10, 10, 1);
  case 19: return tpl_pad_kernel(a, "pad_reflect", TPL_PAD_REFLECT, 3, shape, pads, 0);
  case 20: return tpl_concat_part(a, "concat_part", 2, 6, 4, 10);
  case 21: return tpl_blocked_to_nhwc(a, "to_nhwc", &halo);
  case 22: {
    tpl_pool p = {.in = blocked, .out = {1, 6, 1, 1, L, 0, 0}, .global = 1};
    return tpl_pool_kernel(a, "global_avgpool_blocked", &p);
  }
  case 23: case 24: { /* F(2x2, 3x3) of 5x5 outputs (edge tiles), residual */
    tpl_wino w = {.in = {1, 6, 5, 5, L, 2, 2}, .out = {1, 5, 5, 5, L, 0, 0}, .m = 2, .pt = 1, .pl = 1,
                  .epi = {.act = CHM_ACT_RELU, .has_residual = 1, .res = {1, 5, 5, 5, L, 0, 0}}};
    return i == 23 ? tpl_wino_input(a, "wino_in", &w) : tpl_wino_output(a, "wino_out", &w);
  }
  case 25: { /* flat tiles of 5 pixels across the 7-wide rows, 4 vectors; the 2-pixel tail steps weight by weight */
    tpl_conv w = conv_case(8, 16, 1, 0);
    tpl_conv_cfg c = {.oc_bn = 4, .ow_bn = 5, .oh_bn = 1, .grain = 8, .flat = 1};
    return tpl_conv_kernel(a, "conv_flat", &w, &c);
  }
  default: return NULL;
  }
}

static char *print(const ir_kernel *k, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  ir_print_kernel(k, f);
  fclose(f);
  return buf;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  FILE *m = open_memstream(&buf, len);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, m);
  fclose(m);
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: test_golden GOLDEN_DIR [--update]\n"), 2;
  int update = argc > 2 && !strcmp(argv[2], "--update"), bad = 0, n = 0;
  chm_arena *a = chm_arena_new();
  for (ir_kernel *k; (k = golden_case(a, n)); n++) {
    char path[1024];
    size_t len, old_len = 0;
    snprintf(path, sizeof path, "%s/%s.ir", argv[1], k->name);
    char *text = print(k, &len), *old = slurp(path, &old_len);
    if (update) {
      FILE *f = fopen(path, "wb");
      if (!f || fwrite(text, 1, len, f) != len || fclose(f)) return fprintf(stderr, "cannot write %s\n", path), 2;
    } else if (!old || old_len != len || memcmp(old, text, len)) {
      fprintf(stderr, "golden: %s differs from the template's IR (rerun with --update and review the diff)\n", path);
      bad++;
    }
    free(text);
    free(old);
  }
  chm_arena_free(a);
  printf("golden: %d templates, %d differ%s\n", n, bad, update ? " (files rewritten)" : "");
  return bad ? 1 : 0;
}
