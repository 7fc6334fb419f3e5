/*
 * tpl_conv.c — the 2-D convolution template on blocked views (regular and
 * depthwise), its knobs, and its weight packing.
 *
 * The output is cut into register tiles of oh_bn rows x ow_bn columns x
 * oc_bn vectors of output channels. A tile's accumulators live in a local
 * array indexed only by unrolled loop variables, so they become vector
 * registers. For each input-channel block, kernel row and column, and each
 * input channel of the block (unrolled), the tile does one broadcast load
 * of the input per (row, column) and one FMA per accumulator, column by
 * column, or weight vector by weight vector when the tile has fewer pixels
 * than vectors (fewer live registers either way). With `flat`, a tile is
 * ow_bn consecutive pixels of the line an iteration's rows make, and may
 * wrap from one row to the next. The tile
 * starts from the bias and its epilogue adds the residual, applies the
 * activation and stores. Padding is read from the input view's halo, so the
 * inner loops carry no bounds checks. Parallel work: images x output-channel
 * tiles x row tiles, output channels outermost so each thread streams a
 * disjoint part of the weights.
 *
 * Grouped convolutions (tpl_conv_groups_mode): when each group is whole
 * channel blocks, a tile reduces over its group's input blocks only; when
 * several groups share a block, a tile is one output block over the same
 * input block (as depthwise) and each of the C/G input channels of a group
 * reaches its output lanes by a lane shuffle of the input vector.
 *
 * Packed weights: [K/L][C/cbi][KH][KW][cbi][L] (depthwise: [C/L][KH][KW][L];
 * groups of whole blocks: [K/L][C/G/L][KH][KW][L][L]; groups sharing a
 * block: [K/L][KH][KW][C/G][L]), zero-filled past K and C.
 */
#include "chamcc/tpl.h"

#include <string.h>

static int lanes_of(const tpl_conv *w) { return w->out.cb; }

tpl_groups_mode tpl_conv_groups_mode(int64_t c, int64_t k, int64_t groups, int lanes) {
  if (groups <= 1 || c % groups || k % groups) return TPL_GROUPS_NONE;
  int64_t cpg = c / groups, kpg = k / groups;
  if (cpg % lanes == 0 && kpg % lanes == 0) return TPL_GROUPS_BLOCKS;
  if (cpg == kpg && lanes % cpg == 0) return TPL_GROUPS_LANES;
  return TPL_GROUPS_NONE;
}

static tpl_groups_mode mode_of(const tpl_conv *w) {
  return w->depthwise ? TPL_GROUPS_NONE : tpl_conv_groups_mode(w->in.c, w->out.c, w->groups, lanes_of(w));
}

int64_t tpl_conv_in_per_group(const tpl_conv *w) {
  return w->depthwise ? 1 : w->groups > 1 ? w->in.c / w->groups : w->in.c;
}

int64_t tpl_conv_reduce_blocks(const tpl_conv *w) {
  switch (mode_of(w)) {
  case TPL_GROUPS_BLOCKS: return tpl_conv_in_per_group(w) / w->in.cb;
  case TPL_GROUPS_LANES: return 1;
  default: return w->depthwise ? 1 : tpl_view_cblocks(&w->in);
  }
}

int64_t tpl_conv_group_out_blocks(const tpl_conv *w) {
  return mode_of(w) == TPL_GROUPS_BLOCKS ? w->out.c / w->groups / lanes_of(w) : tpl_view_cblocks(&w->out);
}

static int largest_divisor_le(int64_t n, int64_t cap) {
  for (int64_t d = cap < n ? cap : n; d > 1; d--)
    if (n % d == 0) return (int)d;
  return 1;
}

int tpl_vregs(int lanes, int vregs) { return vregs > 0 ? vregs : lanes == 8 ? 16 : 32; }

int tpl_acc_budget(int lanes, int vregs, int plain_input) {
  if (tpl_vregs(lanes, vregs) < 32) return lanes == 4 ? (plain_input ? 6 : 10) : 12; /* SSE, AVX2 */
  if (lanes >= 16) return plain_input ? 16 : 28;                                       /* AVX-512 */
  return plain_input ? 12 : 20;                                                        /* NEON */
}

int tpl_conv_step_regs(int px, int o) { return px * o + (px < o ? px : o) + 1; }

/* Cycles of one reduction step (one input channel at one tap) of a tile of
 * px output pixels by o vectors, on a core that issues two FMAs and two
 * loads a cycle with an FMA latency of 4 cycles (every x86-64 core with FMA
 * and the big AArch64 cores): the FMAs, the chain of each accumulator, or
 * the tile's px broadcasts and o weight vectors, whichever is longest. */
static double step_cycles(int64_t px, int o) {
  double fma = (double)(px * o) / 2, chain = 4, loads = (double)(px + o) / 2;
  double c = fma > chain ? fma : chain;
  return c > loads ? c : loads;
}

/* The FMA pipes' share of a row of width wd cut into tiles of c columns by
 * o vectors (the last tile narrower when c does not divide wd). */
static double tile_efficiency(int64_t wd, int c, int o) {
  int64_t full = wd / c, rest = wd % c;
  double cycles = (double)full * step_cycles(c, o) + (rest ? step_cycles(rest, o) : 0);
  return (double)(wd * o) / 2 / cycles;
}

/* SSE-only x86 (4 lanes, 16 registers) multiplies and adds apart, with
 * temporaries: step_cycles does not describe it. */
static int has_fma(const tpl_conv *w) { return !(lanes_of(w) == 4 && tpl_vregs(4, w->vregs) < 32); }

/* Bytes of input one image's convolution reads: every row a window touches
 * (a 1x1 window with stride s skips s - 1 rows of s), whole rows. */
static double input_bytes(const tpl_conv *w) {
  int64_t span = (w->kh - 1) * w->dh + 1, rows = w->out.h * (span < w->sh ? span : w->sh);
  if (rows > w->in.h + 2 * w->in.hh) rows = w->in.h + 2 * w->in.hh;
  return 4.0 * (double)(tpl_view_cblocks(&w->in) * w->in.cb * rows * (w->in.w + 2 * w->in.hw));
}

/* The parallel order for tile c: with channel tiles outermost (row_outer 0)
 * a thread runs every row of one channel tile before the next, so it reads
 * the input once per channel tile, from beyond a cache when the input does
 * not stay there; rows outermost reads all the weights once per row tile
 * instead. Half a cache is taken as what one of them keeps (the output and
 * the other share it). Rows go outermost when the bytes they re-read from
 * beyond L2 are fewer: large planes with few weights (early layers, 1x1
 * stride-2 shortcuts), not small planes with many. Where both stay in L2,
 * the same comparison for L1 decides (a 1x1 stride-2 shortcut's input
 * re-read from L2 once per channel tile, or its weights once per row).
 * Any thread count reads the same share of both, so the order does not
 * depend on it. */
static int row_outer_default(const tpl_conv *w, const tpl_conv_cfg *c) {
  if (!w->l2 || w->groups > 1) return 0;
  double in = input_bytes(w), wt = 4.0 * (double)tpl_conv_wsize(w);
  double n_oct = (double)(tpl_view_cblocks(&w->out) / c->oc_bn), n_rt = (double)(w->out.h / c->oh_bn);
  int64_t caches[2] = {w->l2, w->l1d};
  for (int i = 0; i < 2 && caches[i]; i++) {
    double half = (double)caches[i] / 2;
    double by_channels = in > half ? (n_oct - 1) * in : 0, by_rows = wt > half ? (n_rt - 1) * wt : 0;
    if (by_rows != by_channels) return by_rows < by_channels;
  }
  return 0;
}

/* The columns of a row tile of o vectors within the register file: its
 * accumulators within tpl_acc_budget, and one step's live values
 * (tpl_conv_step_regs) within the registers; at most 14. */
static int tile_cols(const tpl_conv *w, int o) {
  int cols = tpl_acc_budget(lanes_of(w), w->vregs, w->in.cb == 1) / o, regs = tpl_vregs(lanes_of(w), w->vregs);
  while (cols > 1 && tpl_conv_step_regs(cols, o) > regs) cols--;
  return cols > 14 ? 14 : cols;
}

/* The tile width for a row of wd pixels cut into o-vector tiles at most cols
 * wide (cols <= wd): a width that divides the row, if one is close, or a narrower one
 * that keeps the FMA pipes busier over the row: with 16 registers, a
 * divisor can leave too few accumulators to hide the FMA latency (2 columns
 * of a 14-wide row), or the full width a tail of one column (7 = 6 + 1).
 * *eff is the FMA pipes' share it reaches (tile_efficiency). */
static int row_width(const tpl_conv *w, int64_t wd, int o, int cols, double *eff) {
  int width = cols, d = largest_divisor_le(wd, cols);
  if (d >= cols - 4) width = d;
  double best = tile_efficiency(wd, width, o);
  for (int n = has_fma(w) ? cols : 0; n >= 1; n--) {
    double e = tile_efficiency(wd, n, o);
    if (e > best + 1e-3) best = e, width = n;
  }
  *eff = best;
  return width;
}

/* The default's vectors per tile before the 4-vector and flat choices: 2
 * (fewer if K is small, or 1 where groups share a block). */
static int base_vectors(const tpl_conv *w) {
  return tpl_conv_group_out_blocks(w) % 2 == 0 && mode_of(w) != TPL_GROUPS_LANES ? 2 : 1;
}

/* Flat tiles instead of row tiles of efficiency eff (tile_efficiency),
 * where a short row leaves a tail that idles the FMA pipes (7 = 4 + 3
 * columns) and a line of several rows does not (49 = 16 x 3 + 1): the
 * smallest grain the tuner offers (a power of two that divides the rows, or
 * the first to cover them) and the tile whose line the step model puts
 * higher, keeping 16 parallel iterations an image for the threads. */
static void flat_default(const tpl_conv *w, tpl_conv_cfg *c, double eff) {
  int64_t ocb = tpl_conv_group_out_blocks(w), blocks = tpl_view_cblocks(&w->out);
  int base = base_vectors(w);
  for (int g = 2; g / 2 < w->out.h && g <= 16; g *= 2) {
    int64_t rows = g < w->out.h ? g : w->out.h, line = rows * w->out.w;
    if (w->out.h % rows) continue;
    for (int o = base; o <= 4 && (o == base || base == 2); o *= 2) {
      int cols = tile_cols(w, o);
      if (cols > w->out.w) cols = (int)w->out.w; /* as the tuner's ow_bn */
      if (ocb % o || line < cols || blocks / o * (w->out.h / rows) < 16) continue;
      double e;
      int width = row_width(w, line, o, cols, &e);
      if (e > eff + 1e-3) eff = e, c->flat = 1, c->grain = g, c->oc_bn = o, c->ow_bn = width;
    }
  }
}

tpl_conv_cfg tpl_conv_default(const tpl_conv *w) {
  tpl_conv_cfg c = {1, 1, 1, 0, 0, 0, 0, 1, 0};
  int64_t ocb = tpl_conv_group_out_blocks(w);
  if (w->depthwise) {
    c.ow_bn = (int)(w->out.w < 8 ? w->out.w : 8);
    return c;
  }
  /* 2 vectors x up to 14 columns (fewer vectors if K is small), as many
   * accumulators as the register file holds beside the weights and
   * broadcasts of one step (tpl_acc_budget) */
  c.oc_bn = base_vectors(w);
  int cols = tile_cols(w, c.oc_bn);
  if (w->out.w >= cols) {
    double eff, eff4;
    c.ow_bn = row_width(w, w->out.w, c.oc_bn, cols, &eff);
    /* or 4 vectors x fewer columns, where the row's width leaves the 2-vector
     * tile a tail that idles the FMA pipes (27 = 4 x 6 + 3 columns) */
    int cols4 = tile_cols(w, 4);
    if (c.oc_bn == 2 && ocb % 4 == 0 && has_fma(w) && w->out.w >= cols4) {
      int width4 = row_width(w, w->out.w, 4, cols4, &eff4);
      if (eff4 > eff + 1e-3) c.oc_bn = 4, c.ow_bn = width4, eff = eff4;
    }
    if (has_fma(w)) flat_default(w, &c, eff);
  } else {
    c.ow_bn = (int)w->out.w;
    int rows = cols / c.ow_bn;
    c.oh_bn = largest_divisor_le(w->out.h, rows);
    /* a small plane (a squeeze-and-excitation block's 1x1) leaves a tile
     * few pixels: more output vectors hide the FMA latency instead, up to
     * 8 (as dense at batch 1) so that channel tiles remain for the threads */
    int px = c.ow_bn * c.oh_bn, budget = tpl_acc_budget(lanes_of(w), w->vregs, w->in.cb == 1);
    double best = tile_efficiency(px, px, c.oc_bn);
    for (int o = 1; has_fma(w) && mode_of(w) != TPL_GROUPS_LANES && o <= 8 && o * px <= budget; o++) {
      double e = tile_efficiency(px, px, o);
      if (ocb % o == 0 && e > best + 1e-3) best = e, c.oc_bn = o;
    }
  }
  c.row_outer = row_outer_default(w, &c);
  return c;
}

int64_t tpl_conv_line(const tpl_conv *w, const tpl_conv_cfg *c) {
  return c->flat ? (c->grain < w->out.h ? c->grain : w->out.h) * w->out.w : w->out.w;
}

const char *tpl_conv_check(const tpl_conv *w, const tpl_conv_cfg *c) {
  int64_t ocb = tpl_conv_group_out_blocks(w);
  if (w->groups > 1 && !w->depthwise && mode_of(w) == TPL_GROUPS_NONE) return "grouping not supported";
  if (w->groups > 1 && !w->depthwise && w->in.cb != w->out.cb) return "grouped input must be blocked";
  if (c->oc_bn < 1 || ocb % c->oc_bn) return "oc_bn must divide the output-channel blocks (of a group)";
  if (mode_of(w) == TPL_GROUPS_LANES && c->oc_bn != 1) return "groups within a block: tiles hold one block";
  if (c->oh_bn < 1 || w->out.h % c->oh_bn) return "oh_bn must divide the output rows";
  if (c->ow_bn < 1 || (!c->flat && c->ow_bn > w->out.w)) return "ow_bn must be in [1, output columns]";
  if (w->depthwise && c->oc_bn != 1) return "depthwise tiles hold one channel block";
  if ((int64_t)c->oc_bn * c->ow_bn * c->oh_bn > 64) return "register tile larger than 64 vectors";
  int64_t icb = tpl_conv_reduce_blocks(w);
  if (c->ic_bn < 0 || (c->ic_bn && icb % c->ic_bn)) return "ic_bn must divide the input-channel blocks";
  /* a grain beyond the row tiles takes them all; only the smallest such grain is valid */
  if (c->grain < 1 || (c->grain > 1 && c->grain / 2 >= w->out.h / c->oh_bn))
    return "grain must be 1 or less than twice the row tiles";
  if (c->flat < 0 || c->flat > 1) return "flat must be 0 or 1";
  if (c->flat && c->oh_bn != 1) return "flat tiles are one row high";
  if (c->flat && c->grain < w->out.h && w->out.h % c->grain) return "flat tiles need grain to divide the rows";
  if (c->flat && c->ow_bn > tpl_conv_line(w, c)) return "ow_bn must be in [1, an iteration's pixels]";
  if (w->pt > w->in.hh || w->pl > w->in.hw) return "input halo smaller than the padding";
  int64_t last_y = (w->out.h - 1) * w->sh - w->pt + (w->kh - 1) * w->dh;
  int64_t last_x = (w->out.w - 1) * w->sw - w->pl + (w->kw - 1) * w->dw;
  if (last_y >= w->in.h + w->in.hh || last_x >= w->in.w + w->in.hw)
    return "input halo smaller than the bottom/right padding";
  return NULL;
}

/* The loop variables and buffers one kernel shares between its tiles. */
typedef struct conv_ctx {
  ir_builder *b;
  const tpl_conv *w;
  const tpl_conv_cfg *c;
  ir_buf *in, *wt, *bias, *res, *out;
  ir_expr *n, *oc0, *oh0; /* image, first output-channel block, first row */
  ir_expr *ic0;           /* groups of whole blocks: the tile's group's first input block */
  tpl_groups_mode mode;   /* grouping */
  ir_expr *icc;           /* reduction chunk */
  int64_t n_icb;          /* input-channel blocks per chunk */
  int64_t n_chunks;       /* reduction chunks */
} conv_ctx;

/* The output row and column of the tile's pixel (r, col), the tile starting
 * at column ow0 of row oh0; flat tiles: pixel ow0 + col of the line that
 * the iteration's rows make from row oh0 on. */
static void pixel_at(conv_ctx *x, ir_expr *ow0, int r, int col, ir_expr **oy, ir_expr **ox) {
  ir_builder *b = x->b;
  if (!x->c->flat) {
    *oy = ir_addi(b, x->oh0, r);
    *ox = ir_addi(b, ow0, col);
    return;
  }
  ir_expr *q = ir_addi(b, ow0, col), *ow = ir_int(b, x->w->out.w);
  *oy = ir_add(b, x->oh0, ir_bin(b, IR_DIV, q, ow));
  *ox = ir_bin(b, IR_MOD, q, ow);
}

/* acc index of (row r, column col, vector j) in a tile of ncols columns */
static ir_expr *acc_index(conv_ctx *x, int r, int col, int j, int ncols) {
  return ir_int(x->b, (((int64_t)r * ncols + col) * x->c->oc_bn + j) * lanes_of(x->w));
}

/* Index of the first weight vector of the tile (output block oc0) for input
 * block icb at tap (ky, kx); the tile's other weights are at constant
 * offsets from it (output block major, see the header). */
static ir_expr *weight_base(conv_ctx *x, ir_expr *icb, ir_expr *ky, ir_expr *kx) {
  ir_builder *b = x->b;
  const tpl_conv *w = x->w;
  ir_expr *i = x->oc0;
  int per_block = !w->depthwise && x->mode != TPL_GROUPS_LANES; /* reduces over input blocks */
  if (per_block) i = ir_add(b, ir_muli(b, i, tpl_conv_reduce_blocks(w)), icb);
  i = ir_add(b, ir_muli(b, ir_add(b, ir_muli(b, i, w->kh), ky), w->kw), kx);
  int64_t step = w->depthwise ? 1 : x->mode == TPL_GROUPS_LANES ? tpl_conv_in_per_group(w) : w->in.cb;
  return ir_muli(b, i, step * lanes_of(w));
}

/* The input vector lane j of an output block needs for input channel ic of
 * its group, when groups share blocks: lane j - j % cpg + ic of the block. */
static ir_expr *group_lanes(conv_ctx *x, ir_expr *v, int64_t ic) {
  int L = lanes_of(x->w), mask[64];
  int64_t cpg = tpl_conv_in_per_group(x->w);
  for (int j = 0; j < L; j++) mask[j] = (int)(j - j % cpg + ic);
  return ir_shuffle(x->b, v, mask);
}

static ir_stmt *unrolled(ir_builder *b, int var, int64_t n, ir_stmt *body) {
  return ir_for(b, var, ir_int(b, 0), ir_int(b, n), IR_LOOP_UNROLLED, body);
}

/* The FMAs of one input channel at one tap, for the whole tile. Every
 * address is one base per tap plus a constant, so that LLVM folds the
 * tile's rows, columns, vectors and channels into displacements instead of
 * keeping a register per column. */
static ir_stmt *tile_fmas(conv_ctx *x, ir_buf *acc, ir_expr *ow0, int ncols, ir_expr *icb,
                          ir_expr *ky, ir_expr *kx, ir_expr *ic) {
  ir_builder *b = x->b;
  const tpl_conv *w = x->w;
  int L = lanes_of(w);
  ir_expr *in_block = w->depthwise || x->mode == TPL_GROUPS_LANES ? x->oc0
                     : x->mode == TPL_GROUPS_BLOCKS ? ir_add(b, x->ic0, icb) : icb;
  ir_expr *dy = ir_addi(b, ir_muli(b, ky, w->dh), -w->pt), *dx = ir_addi(b, ir_muli(b, kx, w->dw), -w->pl);
  ir_expr *in_base = tpl_view_index(b, &w->in, x->n, in_block, ir_add(b, ir_muli(b, x->oh0, w->sh), dy),
                                    ir_add(b, ir_muli(b, ow0, w->sw), dx));
  ir_expr *wt_base = weight_base(x, icb, ky, kx);
  int64_t row = (w->in.w + 2 * w->in.hw) * w->in.cb, col_step = w->sw * w->in.cb;
  int64_t wblock = tpl_conv_wsize(w) / tpl_view_cblocks(&w->out); /* weights per output block */
  /* the order of the step's FMAs: columns outside vectors keeps the tile's
   * oc_bn weight vectors live and one input at a time; vectors outside
   * columns (weight by weight) keeps its inputs live and one weight vector.
   * The order with fewer live values (tpl_conv_step_regs) leaves more
   * registers for accumulators: a 3-column x 4-vector tile needs 12 + 3 + 1
   * registers instead of 12 + 4 + 1. */
  int px = x->c->oh_bn * ncols, o = x->c->oc_bn, by_weight = px < o;
  /* a flat tile's pixels may wrap to the next row: each has its own input
   * index (px <= 64, tpl_conv_check) */
  ir_expr *flat_in[64];
  for (int p = 0; x->c->flat && p < px; p++) {
    ir_expr *oy, *ox;
    pixel_at(x, ow0, p / ncols, p % ncols, &oy, &ox);
    flat_in[p] = tpl_view_index(b, &w->in, x->n, in_block, ir_add(b, ir_muli(b, oy, w->sh), dy),
                                ir_add(b, ir_muli(b, ox, w->sw), dx));
  }
  ir_stmt *seq = ir_seq(b);
  for (int k = 0; k < px * o; k++) {
    int p = by_weight ? k % px : k / o, j = by_weight ? k / px : k % o, r = p / ncols, col = p % ncols;
    /* the pixel's input: its own index (flat), or a constant offset from the tile's first */
    ir_expr *base = x->c->flat ? flat_in[p] : in_base;
    int64_t off = x->c->flat ? 0 : r * w->sh * row + col * col_step;
    ir_expr *a = ir_load(b, acc, acc_index(x, r, col, j, ncols), L), *in;
    if (w->depthwise)
      in = ir_load(b, x->in, ir_addi(b, base, off), L);
    else if (x->mode == TPL_GROUPS_LANES)
      in = group_lanes(x, ir_load(b, x->in, ir_addi(b, base, off), L), ic->ival);
    else
      in = ir_broadcast(b, ir_load(b, x->in, ir_add(b, base, ir_addi(b, ic, off)), 1), L);
    ir_expr *wv = ir_load(b, x->wt, ir_add(b, wt_base, ir_addi(b, ir_muli(b, ic, L), j * wblock)), L);
    ir_seq_add(b, seq, ir_store(b, acc, acc_index(x, r, col, j, ncols), ir_fma(b, in, wv, a)));
  }
  return seq;
}

/* The reduction of one chunk of input channels over the whole window. */
static ir_stmt *tile_reduce(conv_ctx *x, ir_buf *acc, ir_expr *ow0, int ncols) {
  ir_builder *b = x->b;
  const tpl_conv *w = x->w;
  int vicb = ir_new_var(b), vky = ir_new_var(b), vkx = ir_new_var(b), vic = ir_new_var(b);
  ir_expr *icb = ir_var(b, vicb), *ky = ir_var(b, vky), *kx = ir_var(b, vkx), *ic = ir_var(b, vic);
  ir_stmt *s;
  if (w->depthwise) {
    s = tile_fmas(x, acc, ow0, ncols, icb, ky, kx, ir_int(b, 0));
  } else if (x->mode == TPL_GROUPS_LANES) { /* each channel of the group: its own shuffle */
    s = ir_seq(b);
    for (int64_t i = 0; i < tpl_conv_in_per_group(w); i++)
      ir_seq_add(b, s, tile_fmas(x, acc, ow0, ncols, icb, ky, kx, ir_int(b, i)));
  } else {
    s = unrolled(b, vic, w->in.cb, tile_fmas(x, acc, ow0, ncols, icb, ky, kx, ic));
  }
  ir_expr *lo = ir_muli(b, x->icc, x->n_icb);
  ir_loop_kind kxk = x->c->unroll_kw ? IR_LOOP_UNROLLED : IR_LOOP_SERIAL;
  if (x->c->win_outer) {
    s = ir_for(b, vicb, lo, ir_addi(b, lo, x->n_icb), IR_LOOP_SERIAL, s);
    s = ir_for(b, vkx, ir_int(b, 0), ir_int(b, w->kw), kxk, s);
    return ir_for(b, vky, ir_int(b, 0), ir_int(b, w->kh), IR_LOOP_SERIAL, s);
  }
  s = ir_for(b, vkx, ir_int(b, 0), ir_int(b, w->kw), kxk, s);
  s = ir_for(b, vky, ir_int(b, 0), ir_int(b, w->kh), IR_LOOP_SERIAL, s);
  return ir_for(b, vicb, lo, ir_addi(b, lo, x->n_icb), IR_LOOP_SERIAL, s);
}

/* One register tile of ncols columns starting at column ow0. A tile starts
 * from the bias (first chunk) or the partial sums in `out`, and stores
 * partial sums, or after the last chunk the finished epilogue. */
static ir_stmt *conv_tile(conv_ctx *x, ir_expr *ow0, int ncols) {
  ir_builder *b = x->b;
  const tpl_conv *w = x->w;
  int L = lanes_of(w);
  ir_buf *acc = ir_local(b, "acc", (int64_t)x->c->oh_bn * ncols * x->c->oc_bn * L);
  ir_stmt *body = ir_seq(b);
  ir_expr *first = ir_bin(b, IR_EQ, x->icc, ir_int(b, 0));
  ir_expr *last = ir_bin(b, IR_EQ, x->icc, ir_int(b, x->n_chunks - 1));
  for (int r = 0; r < x->c->oh_bn; r++)
    for (int col = 0; col < ncols; col++)
      for (int j = 0; j < x->c->oc_bn; j++) {
        ir_expr *ocb = ir_addi(b, x->oc0, j), *oy, *ox;
        pixel_at(x, ow0, r, col, &oy, &ox);
        ir_expr *init = ir_load(b, x->bias, ir_muli(b, ocb, L), L);
        if (x->n_chunks > 1)
          init = ir_select(b, first, init, ir_load(b, x->out, tpl_view_index(b, &w->out, x->n, ocb, oy, ox), L));
        ir_seq_add(b, body, ir_store(b, acc, acc_index(x, r, col, j, ncols), init));
      }
  ir_seq_add(b, body, tile_reduce(x, acc, ow0, ncols));
  for (int r = 0; r < x->c->oh_bn; r++)
    for (int col = 0; col < ncols; col++)
      for (int j = 0; j < x->c->oc_bn; j++) {
        ir_expr *ocb = ir_addi(b, x->oc0, j), *oy, *ox;
        pixel_at(x, ow0, r, col, &oy, &ox);
        ir_expr *v = ir_load(b, acc, acc_index(x, r, col, j, ncols), L), *f = v;
        if (w->epi.has_residual)
          f = ir_add(b, f, ir_load(b, x->res, tpl_view_index(b, &w->epi.res, x->n, ocb, oy, ox), L));
        f = tpl_act(b, &w->epi, f);
        if (x->n_chunks > 1) f = ir_select(b, last, f, v);
        ir_seq_add(b, body, ir_store(b, x->out, tpl_view_index(b, &w->out, x->n, ocb, oy, ox), f));
      }
  return ir_alloc(b, acc, body);
}

ir_kernel *tpl_conv_kernel(chm_arena *a, const char *name, const tpl_conv *w, const tpl_conv_cfg *c) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  conv_ctx x = {.b = &b, .w = w, .c = c, .mode = mode_of(w)};
  x.in = ir_param(&b, "in", tpl_view_size(&w->in));
  x.wt = ir_param(&b, "w", tpl_conv_wsize(w));
  x.bias = ir_param(&b, "bias", tpl_view_cblocks(&w->out) * w->out.cb);
  if (w->epi.has_residual) x.res = ir_param(&b, "res", tpl_view_size(&w->epi.res));
  x.out = ir_param(&b, "out", tpl_view_size(&w->out));
  int64_t icbs = tpl_conv_reduce_blocks(w);
  x.n_icb = c->ic_bn ? c->ic_bn : icbs;
  x.n_chunks = icbs / x.n_icb;

  /* parallel iterations: images x channel tiles x groups of `grain` row tiles */
  int64_t n_oct = tpl_view_cblocks(&w->out) / c->oc_bn, n_oht = w->out.h / c->oh_bn;
  int64_t n_g = (n_oht + c->grain - 1) / c->grain;
  int vt = ir_new_var(&b), vr = ir_new_var(&b), vc = ir_new_var(&b), vow = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt);
  ir_expr *inner = ir_bin(&b, IR_MOD, t, ir_int(&b, c->row_outer ? n_oct : n_g));
  ir_expr *outer = ir_bin(&b, IR_MOD, ir_bin(&b, IR_DIV, t, ir_int(&b, c->row_outer ? n_oct : n_g)),
                          ir_int(&b, c->row_outer ? n_g : n_oct));
  ir_expr *oct = c->row_outer ? inner : outer, *g = c->row_outer ? outer : inner;
  x.n = ir_bin(&b, IR_DIV, t, ir_int(&b, n_oct * n_g));
  x.oc0 = ir_muli(&b, oct, c->oc_bn);
  x.ic0 = ir_muli(&b, ir_bin(&b, IR_DIV, x.oc0, ir_int(&b, tpl_conv_group_out_blocks(w))), icbs);
  ir_expr *g0 = ir_muli(&b, g, c->grain);
  x.oh0 = ir_muli(&b, ir_add(&b, g0, ir_var(&b, vr)), c->oh_bn);
  x.icc = x.n_chunks > 1 ? ir_var(&b, vc) : ir_int(&b, 0);

  /* a row of tiles and its tail; flat: one line of the iteration's pixels */
  ir_stmt *row = ir_seq(&b);
  if (c->flat) x.oh0 = g0;
  int64_t line = tpl_conv_line(w, c), full = line / c->ow_bn, tail = line % c->ow_bn;
  ir_seq_add(&b, row, ir_for(&b, vow, ir_int(&b, 0), ir_int(&b, full), IR_LOOP_SERIAL,
                             conv_tile(&x, ir_muli(&b, ir_var(&b, vow), c->ow_bn), c->ow_bn)));
  if (tail) ir_seq_add(&b, row, conv_tile(&x, ir_int(&b, full * c->ow_bn), (int)tail));
  ir_expr *rows = ir_bin(&b, IR_MIN, ir_int(&b, c->grain), ir_bin(&b, IR_SUB, ir_int(&b, n_oht), g0));
  if (!c->flat) row = ir_for(&b, vr, ir_int(&b, 0), rows, IR_LOOP_SERIAL, row);
  /* The reduction chunks run outside the iteration's row tiles: a chunk's
   * weights (oc_bn x ic_bn blocks of the window) are reused over all of
   * them while they are in cache, instead of streaming the tile's whole
   * weights once per row tile (small planes with large weights, e.g. 7x7
   * with 512 channels, where those exceed L2). */
  if (x.n_chunks > 1) row = ir_for(&b, vc, ir_int(&b, 0), ir_int(&b, x.n_chunks), IR_LOOP_SERIAL, row);
  k->body = ir_for(&b, vt, ir_int(&b, 0), ir_int(&b, w->out.n * n_oct * n_g), IR_LOOP_PARALLEL, row);
  int64_t cin = tpl_conv_in_per_group(w);
  k->flops = 2.0 * (double)(w->out.n * w->out.c * w->out.h * w->out.w) * (double)(cin * w->kh * w->kw);
  return k;
}

int64_t tpl_conv_wsize(const tpl_conv *w) {
  int64_t L = w->out.cb, okb = tpl_view_cblocks(&w->out), kk = w->kh * w->kw;
  if (w->depthwise) return okb * kk * L;
  if (mode_of(w) == TPL_GROUPS_LANES) return okb * kk * tpl_conv_in_per_group(w) * L;
  return okb * tpl_conv_reduce_blocks(w) * kk * w->in.cb * L;
}

void tpl_conv_pack(const tpl_conv *w, const float *W, float *packed) {
  int64_t L = w->out.cb, K = w->out.c, C = tpl_conv_in_per_group(w), cbi = w->in.cb;
  int64_t icbs = tpl_conv_reduce_blocks(w), kk = w->kh * w->kw;
  int lanes = mode_of(w) == TPL_GROUPS_LANES;
  memset(packed, 0, (size_t)tpl_conv_wsize(w) * sizeof(float));
  for (int64_t o = 0; o < K; o++)
    for (int64_t c = 0; c < C; c++) /* c: the input channel within o's group */
      for (int64_t t = 0; t < kk; t++) {
        float v = W[(o * C + c) * kk + t];
        int64_t i = w->depthwise ? (o / L) * kk + t
                    : lanes      ? ((o / L) * kk + t) * C + c
                                 : (((o / L) * icbs + c / cbi) * kk + t) * cbi + c % cbi;
        packed[i * L + o % L] = v;
      }
}

void tpl_pack_bias(int64_t k, int lanes, const float *bias, float *packed) {
  int64_t kp = (k + lanes - 1) / lanes * lanes;
  for (int64_t i = 0; i < kp; i++) packed[i] = bias && i < k ? bias[i] : 0.0f;
}
