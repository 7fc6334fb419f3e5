/*
 * tpl.h — operator templates (prefix `tpl_`): a workload plus a config in,
 * a loop-IR kernel out; and the weight packing each template expects.
 *
 * Activations are 4-D views: NCHW split into channel blocks of `cb` lanes
 * (cb = 1 is plain NCHW, cb = vector lanes is NCHW[x]c), optionally with a
 * halo of zeros around each plane so that convolutions read padding without
 * branches. Other tensors are plain row-major arrays.
 */
#ifndef CHAMCC_TPL_H
#define CHAMCC_TPL_H

#include "chamcc/act.h"
#include "chamcc/ir.h"

enum { TPL_MAX_RANK = 8 }; /* dims of the plain tensors the templates take */

typedef struct tpl_view {
  int64_t n, c, h, w; /* logical NCHW dimensions */
  int cb;             /* channels per block: 1 = plain */
  int64_t hh, hw;     /* halo rows / columns of zeros on each side */
} tpl_view;

int64_t tpl_view_cblocks(const tpl_view *v); /* ceil(c / cb) */
int64_t tpl_view_size(const tpl_view *v);    /* elements of storage */
/* Element index of lane 0 of block cblk at logical (y, x) of image n. */
ir_expr *tpl_view_index(ir_builder *b, const tpl_view *v, ir_expr *n, ir_expr *cblk,
                        ir_expr *y, ir_expr *x);

/* Plain NCHW (n, c, h, w of v) <-> the view's storage (zero halo and lanes). */
void tpl_view_pack(const tpl_view *v, const float *plain, float *stored);
void tpl_view_unpack(const tpl_view *v, const float *stored, float *plain);

/* Epilogue fused into the store: y = clamp(act(acc + residual)). */
typedef struct tpl_epi {
  chm_act act;         /* activation (act.h) */
  float a, b;          /* its parameters */
  int has_residual;    /* add a tensor of the output's shape */
  tpl_view res;        /* its view (conv) */
  int clamp;           /* then min(max(y, lo), hi) */
  float lo, hi;
} tpl_epi;
ir_expr *tpl_act(ir_builder *b, const tpl_epi *ep, ir_expr *x);

/* ---- codegen/tpl_conv.c: 2-D convolution on blocked views ---- */

typedef struct tpl_conv {
  tpl_view in, out;       /* activations (out.cb = vector lanes) */
  int64_t kh, kw;         /* window */
  int64_t sh, sw;         /* strides */
  int64_t dh, dw;         /* dilations */
  int64_t pt, pl;         /* top / left padding (the halo must cover all pads) */
  int depthwise;          /* group == C == K: per-channel windows */
  tpl_epi epi;            /* fused epilogue */
  int vregs;              /* the target's vector registers (0: tpl_vregs's guess) */
  int64_t groups;         /* > 1: a grouped convolution other than depthwise (0, 1: none) */
  int64_t l2;             /* the target's L2 bytes per core (0: unknown; the default's parallel
                             order then keeps channel tiles outermost) */
  int64_t l1d;            /* the target's L1 data bytes per core (0: unknown) */
} tpl_conv;

/* How a grouped convolution (1 < groups, not depthwise) maps onto blocked
 * views of `lanes` channels:
 *   BLOCKS: each group is whole channel blocks (C/G and K/G multiples of
 *           lanes): a regular convolution per group;
 *   LANES:  several groups share a block (C/G == K/G, dividing lanes): lane j
 *           of an output block reads input channel j - j % (C/G) + i of the
 *           same block through a lane shuffle, for i < C/G.
 * NONE: not grouped, or a grouping the template does not cover. */
typedef enum tpl_groups_mode { TPL_GROUPS_NONE, TPL_GROUPS_BLOCKS, TPL_GROUPS_LANES } tpl_groups_mode;
tpl_groups_mode tpl_conv_groups_mode(int64_t c, int64_t k, int64_t groups, int lanes);
int64_t tpl_conv_in_per_group(const tpl_conv *w);     /* input channels per output channel */
int64_t tpl_conv_reduce_blocks(const tpl_conv *w);    /* input blocks an output block reduces over */
int64_t tpl_conv_group_out_blocks(const tpl_conv *w); /* output blocks a register tile may span */

typedef struct tpl_conv_cfg {
  int oc_bn;     /* output-channel vectors per register tile (divides out blocks) */
  int ow_bn;     /* output columns per register tile (a tail tile covers the rest) */
  int oh_bn;     /* output rows per register tile (divides out.h) */
  int unroll_kw; /* fully unroll the kernel-column loop */
  int ic_bn;     /* input-channel blocks per reduction chunk (divides in blocks; 0 = all);
                    the chunk loop runs outside the row tiles of a parallel iteration */
  int win_outer; /* loop order: kernel window outside (1) or inside (0) the ic blocks */
  int row_outer; /* parallel order: row tiles outside (1) or inside (0) channel tiles */
  int grain;     /* row tiles per parallel iteration (>= 1; beyond the row tiles = all) */
  int flat;      /* tiles of ow_bn pixels run along the iteration's rows as one line,
                    across row ends (oh_bn 1; grain divides out.h or covers it) */
} tpl_conv_cfg;

/* Vector registers of a target with `lanes`-float vectors: `vregs` if it is
 * set, else the guess for a workload made without a target (from a task key):
 * 16 for 8 lanes (AVX2), 32 otherwise (AVX-512, NEON). cg_target.vregs is the
 * exact count: SSE-only x86 has 4 lanes and 16 registers. */
int tpl_vregs(int lanes, int vregs);
/* Accumulator vectors a default register tile may hold on a target whose
 * vectors have `lanes` floats: 28 of AVX-512's 32 registers, 12 of AVX2's
 * 16, 20 of NEON's 32 (its kernels keep a whole channel block's weights and
 * scalars live), 10 of SSE's 16 (no FMA: each multiply needs a temporary).
 * On a plain NCHW input (a network's first conv, a few channels), LLVM
 * unrolls the channel loop and keeps every channel's weights live, and with
 * stride 2 reuses broadcasts across window columns: 16 on AVX-512, 6 on
 * SSE, 12 elsewhere. Beyond these, LLVM spills in the inner loop (the
 * counts of stack operands that set them are in bench/RESULTS.md). */
int tpl_acc_budget(int lanes, int vregs, int plain_input);
/* Vector registers one reduction step of a conv tile of px pixels x o
 * vectors keeps live: its accumulators, the o weight vectors or (when the
 * pixels are fewer, stepping weight by weight) the px broadcast inputs, and
 * the value being loaded. */
int tpl_conv_step_regs(int px, int o);
/* Pixels of one line of register tiles, which ow_bn cuts (the last tile the
 * rest): a row, or with flat the pixels of a parallel iteration's rows. */
int64_t tpl_conv_line(const tpl_conv *w, const tpl_conv_cfg *c);
tpl_conv_cfg tpl_conv_default(const tpl_conv *w); /* for out.cb lanes */
const char *tpl_conv_check(const tpl_conv *w, const tpl_conv_cfg *c); /* NULL = valid */
/* params: in, weights, bias, [residual], out */
ir_kernel *tpl_conv_kernel(chm_arena *a, const char *name, const tpl_conv *w, const tpl_conv_cfg *c);
int64_t tpl_conv_wsize(const tpl_conv *w); /* packed weight elements */
void tpl_conv_pack(const tpl_conv *w, const float *W, float *packed); /* W: [K][C/g][KH][KW] */
void tpl_pack_bias(int64_t k, int lanes, const float *bias, float *packed); /* bias may be NULL */

/* ---- codegen/tpl_dense.c: matrix products ---- */

typedef struct tpl_dense {
  int64_t m, k, n;  /* out[m][n] = sum_k A[m][k] * B[k][n] */
  int trans_a;      /* A stored as [k][m] */
  int lanes;        /* vector width */
  tpl_epi epi;      /* fused epilogue (residual plain [m][n]) */
  int vregs;        /* the target's vector registers (0: tpl_vregs's guess) */
} tpl_dense;

typedef struct tpl_dense_cfg {
  int nb_bn;   /* output vectors per tile */
  int m_bn;    /* rows per tile (divides m) */
} tpl_dense_cfg;

tpl_dense_cfg tpl_dense_default(const tpl_dense *w);
/* params: A, packed B, bias, [residual], out */
ir_kernel *tpl_dense_kernel(chm_arena *a, const char *name, const tpl_dense *w, const tpl_dense_cfg *c);
int64_t tpl_dense_wsize(const tpl_dense *w);
/* B given as [k][n] (trans_b = 0) or [n][k] (trans_b = 1), scaled by alpha. */
void tpl_dense_pack(const tpl_dense *w, const float *B, int trans_b, float alpha, float *packed);

/* ---- codegen/tpl_wino.c: 3x3 convolutions by Winograd's F(m x m, 3 x 3) ---- */

typedef struct tpl_wino {
  tpl_view in, out;  /* blocked, same cb; in's halo at least tpl_wino_halo */
  int m;             /* output tile: 2 or 4 */
  int64_t pt, pl;    /* top / left padding */
  tpl_epi epi;       /* bias is a param; residual (view res), activation */
} tpl_wino;

int tpl_wino_alpha(int m);                  /* m + 2: the patch side */
int64_t tpl_wino_tiles(int m, int64_t out); /* tiles along an axis of `out` pixels */
/* The halo the input needs along an axis (in pixels, out outputs, padding). */
int64_t tpl_wino_halo(int m, int64_t in, int64_t out, int64_t pad_lo, int64_t pad_hi);
/* The transformed input V and products M: blocked, a*a*Cp and a*a*Kp channels over the tiles. */
void tpl_wino_views(const tpl_wino *w, tpl_view *v, tpl_view *mv);
/* The products as a grouped 1x1 convolution from V to M (no bias, no epilogue). */
tpl_conv tpl_wino_product(const tpl_wino *w, int vregs);
/* U = G g G^T of W [K][C][3][3] as that convolution's weights [a*a*Kp][Cp] (zero past K, C). */
void tpl_wino_weights(int m, const float *W, int64_t K, int64_t C, int lanes, float *U);
ir_kernel *tpl_wino_input(chm_arena *a, const char *name, const tpl_wino *w);  /* in, v */
ir_kernel *tpl_wino_output(chm_arena *a, const char *name, const tpl_wino *w); /* m, bias, [res], out */

/* ---- codegen/tpl_misc.c: the other operators, on plain or blocked views ---- */

/* out = in in another view (plain <-> blocked, adding or dropping halo);
 * channel lanes past c are written as zeros. params: in, out */
ir_kernel *tpl_reorder(chm_arena *a, const char *name, const tpl_view *in, const tpl_view *out);
/* Zeroes the halo of a view. params: buf */
ir_kernel *tpl_zero_halo(chm_arena *a, const char *name, const tpl_view *v);

typedef struct tpl_pool {
  tpl_view in, out;       /* same cb */
  int is_max;             /* max (else average) */
  int64_t kh, kw, sh, sw, dh, dw, pt, pl;  /* window, top / left padding */
  int64_t pb, pr;         /* bottom / right padding (count_include_pad) */
  int count_include_pad;  /* average: divide by the full window */
  int global;             /* whole plane; out is plain [n][c], or with out.cb > 1
                           * blocked n x c x 1 x 1 (its padding lanes get zeros) */
} tpl_pool;
ir_kernel *tpl_pool_kernel(chm_arena *a, const char *name, const tpl_pool *p); /* in, out */

/* Binary elementwise operations (a op b). */
typedef enum tpl_binop {
  TPL_ADD, TPL_SUB, TPL_MUL, TPL_DIV, TPL_MAX, TPL_MIN,
  TPL_POW,   /* a ** b */
  TPL_PRELU, /* a < 0 ? a * b : a */
} tpl_binop;

/* Elementwise ops on plain tensors with numpy broadcasting (rank <= 8). */
typedef struct tpl_elt {
  tpl_binop op;                   /* n_in == 2: the operation */
  int rank;                       /* of the output */
  int64_t shape[TPL_MAX_RANK];     /* output shape */
  int n_in;                       /* 1 or 2 */
  int64_t strides[2][TPL_MAX_RANK];/* per input, 0 on broadcast dimensions */
  tpl_epi epi;                    /* activation after a binary op; unary params */
} tpl_elt;
ir_kernel *tpl_elt_kernel(chm_arena *a, const char *name, const tpl_elt *e); /* ins..., out */
/* Same op on blocked views; an input may be 1x1 per channel (broadcast over the plane) and
 * have one image for all. */
ir_kernel *tpl_elt_blocked(chm_arena *a, const char *name, const tpl_elt *e, const tpl_view *in0,
                           const tpl_view *in1, const tpl_view *out);

/* Generic (scalar) 2-D convolution on plain NCHW, any groups. params: in, W, bias, [res], out */
typedef struct tpl_gconv {
  int64_t n, c, h, w, k, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, groups;
  tpl_epi epi;
} tpl_gconv;
ir_kernel *tpl_gconv_kernel(chm_arena *a, const char *name, const tpl_gconv *g);

/* Generic batched matmul on plain tensors: out[b][m][n] = alpha * A x B + beta * C.
 * Batch strides of 0 broadcast; C (optional) is addressed by its own strides. */
typedef struct tpl_gemm {
  int64_t batch, m, k, n;
  int64_t a_bs, a_ms, a_ks;  /* strides of A over batch, m, k */
  int64_t b_bs, b_ks, b_ns;  /* strides of B over batch, k, n */
  int has_c;                 /* add beta * C */
  int64_t c_bs, c_ms, c_ns;  /* strides of C */
  float alpha, beta;
  tpl_epi epi;               /* residual plain [batch][m][n] */
} tpl_gemm;
ir_kernel *tpl_gemm_kernel(chm_arena *a, const char *name, const tpl_gemm *g); /* A, B, [C], [res], out */

/* Softmax over `axis_len` contiguous... out[o][a][i] over a. params: in, out */
ir_kernel *tpl_softmax_kernel(chm_arena *a, const char *name, int64_t outer, int64_t axis, int64_t inner);
/* Layer normalization of `rows` rows of `len` contiguous values:
 * (x - mean) / sqrt(var + eps) * scale[i] + bias[i]; `stats` (0 to 2) of
 * each row's mean and 1 / sqrt(var + eps) too. A row's whole vectors of
 * `lanes` floats are summed in a vector register, the tail by scalars.
 * params: in, scale, bias, out[, mean[, invstd]] */
ir_kernel *tpl_layernorm_kernel(chm_arena *a, const char *name, int64_t rows, int64_t len, float eps,
                                int stats, int lanes);
/* Reduction of a plain tensor over the dims whose bit is set in `axes`
 * (output: the kept dims, row-major). params: in, out */
typedef enum tpl_reduce_op { TPL_REDUCE_SUM, TPL_REDUCE_MEAN, TPL_REDUCE_MAX, TPL_REDUCE_MIN } tpl_reduce_op;
ir_kernel *tpl_reduce_kernel(chm_arena *a, const char *name, tpl_reduce_op op, int rank,
                             const int64_t *in_shape, unsigned axes);
/* A blocked view's logical NCHW as plain NHWC (Transpose perm 0,2,3,1 of
 * a blocked tensor, as ConvNeXt's blocks do): a vector copy per channel
 * block of each pixel. params: in, out */
ir_kernel *tpl_blocked_to_nhwc(chm_arena *a, const char *name, const tpl_view *in);
/* out = transpose(in, perm). params: in, out */
/* out[i] = in[start + i * step] per dim (out_shape elements). params: in, out */
ir_kernel *tpl_slice_kernel(chm_arena *a, const char *name, int rank, const int64_t *in_shape,
                            const int64_t *out_shape, const int64_t *start, const int64_t *step);
ir_kernel *tpl_transpose_kernel(chm_arena *a, const char *name, int rank, const int64_t *in_shape,
                                const int64_t *perm);
/* Constant padding. params: in, out */
/* 2-D resize of plain NCHW [n][c][ih][iw] to [n][c][oh][ow] by tables the
 * caller computes (any coordinate transformation): nearest reads
 * in[ty[y]][tx[x]]; linear blends rows ty[3y], ty[3y+1] with weight
 * ty[3y+2] (the second row's) and columns likewise. Table entries are
 * integers stored as floats. params: in, ty, tx, out */
ir_kernel *tpl_resize_kernel(chm_arena *a, const char *name, int64_t nc, int64_t ih, int64_t iw,
                             int64_t oh, int64_t ow, int linear);

typedef enum tpl_pad_mode { TPL_PAD_CONSTANT, TPL_PAD_REFLECT, TPL_PAD_EDGE } tpl_pad_mode;
/* Pad: reflect needs pads < the axis, edge a non-empty axis. params: in, out */
ir_kernel *tpl_pad_kernel(chm_arena *a, const char *name, tpl_pad_mode mode, int rank, const int64_t *in_shape,
                          const int64_t *pads, float value);
/* out[o][off .. off + len) = in[o][0 .. len) for each of `outer` rows: one Concat input.
 * params: in, out */
ir_kernel *tpl_concat_part(chm_arena *a, const char *name, int64_t outer, int64_t len,
                           int64_t off, int64_t out_row);
/* out[0 .. n) = in[0 .. n). params: in, out */
ir_kernel *tpl_copy_kernel(chm_arena *a, const char *name, int64_t n);

#endif
