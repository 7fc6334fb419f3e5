/*
 * test_defaults.c — the default register tiles (tpl_conv_default,
 * tpl_dense_default) on the three kinds of vector unit: AVX-512 (16 lanes,
 * 32 registers), AVX2 (8, 16) and NEON (4, 32).
 *
 * - Every default is a valid config, for every output width 1..230.
 * - With 16 registers, a 14-wide row (ResNet's 14x14 layers) gets a tile of
 *   at least 8 accumulators (two FMA pipes x 4 cycles of latency), not
 *   2 columns x 2 vectors, a 7-wide row no tail tile of one column, and a
 *   27-wide row (AlexNet's 5x5) 4 vectors x 3 columns, no tail, within the
 *   registers in tile_fmas's order; a 7x7 plane flat tiles across its rows
 *   when 16 channel tiles remain for the threads.
 * - AVX-512's tiles of ImageNet's widths stay the hand-measured ones
 *   (14 columns, a 7-wide row whole).
 * - A dense layer at batch 1 holds enough output vectors to hide the FMA
 *   latency while the weights stream (1000 outputs of 8 lanes: 125 blocks,
 *   5 per tile), within the register file.
 * - A 1x1 plane (a squeeze-and-excitation block's convolutions) gets a tile
 *   of 8 output vectors, not a latency-bound 2.
 * - The parallel order follows the L2: rows outermost where the input does
 *   not stay in half the L2 across channel tiles and the weights do across
 *   row tiles (a 56x56 plane of 64 channels, 3x3 or 1x1 stride 2, with
 *   512 KiB), channel tiles outermost where the weights do not (7x7 or
 *   56x56 of 256 channels), or where nothing says what the L2 is.
 */
#include "../check.h"
#include "../conv_layer.h"
#include "chamcc/tpl.h"

typedef struct unit {
  const char *name;
  int lanes, vregs;
} unit;

static const unit UNITS[] = {{"avx512", 16, 32}, {"avx2", 8, 16}, {"neon", 4, 32}};

/* A 3x3 stride-1 layer of 256 -> 256 channels with output width wd. */
static tpl_conv layer(int64_t wd, const unit *u) {
  tpl_conv w = conv_layer(256, wd, 256, 3, 1, 1, u->lanes);
  w.vregs = u->vregs;
  return w;
}

static void every_default_valid(void) {
  for (int i = 0; i < 3; i++)
    for (int64_t wd = 1; wd <= 230; wd++) {
      tpl_conv w = layer(wd, &UNITS[i]);
      tpl_conv_cfg c = tpl_conv_default(&w);
      const char *why = tpl_conv_check(&w, &c);
      CHECK(!why, "%s width %lld: %s", UNITS[i].name, (long long)wd, why);
    }
}

static void avx2_rows(void) {
  tpl_conv w14 = layer(14, &UNITS[1]), w7 = layer(7, &UNITS[1]);
  tpl_conv_cfg c14 = tpl_conv_default(&w14), c7 = tpl_conv_default(&w7);
  int acc = c14.oc_bn * c14.ow_bn * c14.oh_bn;
  CHECK(acc >= 8, "14-wide AVX2 row: %d accumulators (%dx%dx%d)", acc, c14.oc_bn, c14.ow_bn, c14.oh_bn);
  CHECK(acc <= tpl_acc_budget(8, 16, 0), "14-wide AVX2 row: %d accumulators", acc);
  CHECK(7 % c7.ow_bn != 1, "7-wide AVX2 row cut into %d-column tiles and a 1-column tail", c7.ow_bn);
  /* 27 columns: 2 vectors x 6 columns leave a 3-column tail; 4 x 3 do not */
  tpl_conv w27 = layer(27, &UNITS[1]);
  tpl_conv_cfg c27 = tpl_conv_default(&w27);
  CHECK(c27.oc_bn == 4 && c27.ow_bn == 3 && c27.oh_bn == 1, "27-wide AVX2 row: %dx%dx%d", c27.oc_bn, c27.ow_bn,
        c27.oh_bn);
  CHECK(tpl_conv_step_regs(c27.ow_bn * c27.oh_bn, c27.oc_bn) <= 16, "27-wide AVX2 row: %d registers a step",
        tpl_conv_step_regs(c27.ow_bn * c27.oh_bn, c27.oc_bn));
  /* a 7x7 plane of 256 channels: flat tiles over its 49 pixels, 16 channel
   * tiles left for the threads; of 64 channels (4 channel tiles) row tiles */
  CHECK(c7.flat == 1 && c7.grain >= 7 && c7.oh_bn == 1 && tpl_conv_check(&w7, &c7) == NULL,
        "7x7 AVX2 plane of 256 channels: flat %d grain %d", c7.flat, c7.grain);
  tpl_conv narrow = conv_layer(64, 7, 64, 3, 1, 1, 8);
  narrow.vregs = 16;
  CHECK(tpl_conv_default(&narrow).flat == 0, "7x7 AVX2 plane of 64 channels: flat");
}

static void avx512_widths(void) {
  const int64_t widths[] = {7, 14, 28, 56, 112, 224};
  const int cols[] = {7, 14, 14, 14, 14, 14};
  for (int i = 0; i < 6; i++) {
    tpl_conv w = layer(widths[i], &UNITS[0]);
    tpl_conv_cfg c = tpl_conv_default(&w);
    CHECK(c.oc_bn == 2 && c.ow_bn == cols[i] && c.oh_bn == 1, "AVX-512 width %lld: %dx%dx%d",
          (long long)widths[i], c.oc_bn, c.ow_bn, c.oh_bn);
  }
}

static void dense_batch1(void) {
  for (int i = 0; i < 3; i++) {
    const unit *u = &UNITS[i];
    tpl_dense d = {1, 512, 1000, 0, u->lanes, {0}, u->vregs};
    tpl_dense_cfg c = tpl_dense_default(&d);
    int64_t blocks = (1000 + u->lanes - 1) / u->lanes;
    CHECK(c.m_bn == 1 && blocks % c.nb_bn == 0, "%s: %dx%d", u->name, c.m_bn, c.nb_bn);
    CHECK(c.nb_bn >= 4 && c.nb_bn <= 8, "%s: dense at batch 1 holds %d output vectors (%lld blocks)", u->name,
          c.nb_bn, (long long)blocks);
  }
}

static void one_pixel_planes(void) {
  for (int i = 0; i < 3; i++) {
    tpl_conv w = conv_layer(96, 1, 384, 1, 1, 0, UNITS[i].lanes);
    w.vregs = UNITS[i].vregs;
    tpl_conv_cfg c = tpl_conv_default(&w);
    CHECK(!tpl_conv_check(&w, &c), "%s: invalid default for a 1x1 plane", UNITS[i].name);
    CHECK(c.oc_bn * c.ow_bn * c.oh_bn == 8, "%s: a 1x1 plane's tile holds %d vectors", UNITS[i].name,
          c.oc_bn * c.ow_bn * c.oh_bn);
  }
}

/* row_outer of the default of layer (C, H, K, k, s, p) on AVX2 with `l2`
 * bytes of L2 and 32 KiB of L1 */
static int rows_outer(int64_t C, int64_t H, int64_t K, int64_t k, int64_t s, int64_t p, int64_t l2) {
  tpl_conv w = conv_layer(C, H, K, k, s, p, 8);
  w.vregs = 16, w.l2 = l2, w.l1d = 32 << 10;
  tpl_conv_cfg c = tpl_conv_default(&w);
  CHECK(!tpl_conv_check(&w, &c), "C%lld H%lld: invalid default", (long long)C, (long long)H);
  return c.row_outer;
}

static void parallel_order(void) {
  const int64_t kib = 1024;
  CHECK(rows_outer(64, 56, 64, 3, 1, 1, 512 * kib) == 1, "56x56x64 3x3, 512 KiB L2: rows belong outermost");
  CHECK(rows_outer(64, 56, 128, 1, 2, 0, 512 * kib) == 1, "56x56x64 1x1 s2, 512 KiB L2: rows belong outermost");
  CHECK(rows_outer(64, 56, 64, 3, 1, 1, 4096 * kib) == 0,
        "56x56x64 3x3, 4 MiB L2: the input stays, channels belong outermost");
  CHECK(rows_outer(64, 56, 64, 3, 1, 1, 0) == 0, "unknown L2: channels belong outermost");
  CHECK(rows_outer(512, 7, 512, 3, 1, 1, 512 * kib) == 0, "7x7x512 3x3: rows outermost would re-read 9 MiB of weights");
  CHECK(rows_outer(256, 56, 256, 3, 1, 1, 512 * kib) == 0, "56x56x256 3x3: rows outermost would re-read the weights");
  /* both stay in L2: L1 decides */
  CHECK(rows_outer(128, 28, 256, 1, 2, 0, 512 * kib) == 1,
        "28x28x128 1x1 s2: the input re-read from L2 per channel tile is more than the weights per row");
  CHECK(rows_outer(128, 28, 128, 3, 1, 1, 4096 * kib) == 0,
        "28x28x128 3x3, 4 MiB L2: the weights re-read from L2 per row are more than the input per channel tile");
}

int main(void) {
  every_default_valid();
  avx2_rows();
  avx512_widths();
  dense_batch1();
  one_pixel_planes();
  parallel_order();
  return failures != 0;
}
