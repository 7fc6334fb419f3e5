/*
 * tpl_wino.c — 3x3 convolutions (stride 1, no dilation) by Winograd's
 * minimal filtering F(m x m, 3 x 3) on blocked views, m = 2 or 4.
 *
 * The output is cut into tiles of m x m pixels; tile (ty, tx) reads the
 * a x a input patch at rows ty*m - pt .. + a, columns tx*m - pl .. + a
 * (a = m + 2). In the transformed domain the convolution is a * a
 * independent matrix products over the channels, one per frequency f:
 *
 *   V[f][c][tile] = (B^T d B)[f]                     input transform
 *   M[f][k][tile] = sum_c U[f][k][c] V[f][c][tile]   U = G g G^T, at compile time
 *   y[tile]       = A^T M A                          output transform
 *
 * Three kernels, so that the products run on the tuned convolution
 * template: V and M are blocked views with a * a * Cp (and a * a * Kp)
 * channels over a TH x TW plane of tiles (Cp, Kp: C and K rounded up to
 * whole blocks, frequency f's channels are blocks f*Cp/L ..), and the
 * products are a grouped 1x1 convolution of a * a groups of whole blocks,
 * with U packed as its weights. The transforms work one channel block (one
 * vector) at a time: a patch's a * a vectors are loaded into a local array
 * (registers), combined with the constant matrices' non-zero entries, and
 * stored. The output transform adds the bias, the residual and the
 * activation (the convolution's fused epilogue) before its store, and
 * skips the rows and columns of edge tiles that lie past the output.
 *
 * The input transform reads past the image only into the input's halo:
 * tpl_wino_halo says how large that must be (the last tiles' patches
 * overhang the bottom and right edges when m does not divide the output).
 *
 * Matrices from A. Lavin and S. Gray, "Fast Algorithms for Convolutional
 * Neural Networks" (CVPR 2016), with points 0, +-1 (m = 2) and 0, +-1,
 * +-2 and infinity (m = 4).
 */
#include "chamcc/tpl.h"

#include <string.h>

enum { MAX_A = 6 };

/* B^T (a x a), G (a x 3) and A^T (m x a), row-major. */
static const double BT2[] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double G2[] = {1, 0, 0, .5, .5, .5, .5, -.5, .5, 0, 0, 1};
static const double AT2[] = {1, 1, 1, 0, 0, 1, -1, -1};
static const double BT4[] = {4, 0, -5, 0, 1, 0,  0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,
                             0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1};
static const double G4[] = {1 / 4.,  0,       0,      -1 / 6., -1 / 6., -1 / 6., -1 / 6., 1 / 6., -1 / 6.,
                            1 / 24., 1 / 12., 1 / 6., 1 / 24., -1 / 12., 1 / 6., 0,       0,      1};
static const double AT4[] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};

static const double *bt_of(int m) { return m == 2 ? BT2 : BT4; }
static const double *g_of(int m) { return m == 2 ? G2 : G4; }
static const double *at_of(int m) { return m == 2 ? AT2 : AT4; }

int tpl_wino_alpha(int m) { return m + 2; }

int64_t tpl_wino_tiles(int m, int64_t out) { return (out + m - 1) / m; }

int64_t tpl_wino_halo(int m, int64_t in, int64_t out, int64_t pad_lo, int64_t pad_hi) {
  /* patches start at -pad_lo; the last one ends at tiles*m - pad_lo + 1 */
  int64_t h = pad_lo > pad_hi ? pad_lo : pad_hi;
  int64_t over = tpl_wino_tiles(m, out) * m - pad_lo + 2 - in;
  return over > h ? over : h;
}

void tpl_wino_views(const tpl_wino *w, tpl_view *v, tpl_view *mv) {
  int a = tpl_wino_alpha(w->m), L = w->out.cb;
  int64_t th = tpl_wino_tiles(w->m, w->out.h), tw = tpl_wino_tiles(w->m, w->out.w);
  *v = (tpl_view){w->in.n, a * a * tpl_view_cblocks(&w->in) * L, th, tw, L, 0, 0};
  *mv = (tpl_view){w->out.n, a * a * tpl_view_cblocks(&w->out) * L, th, tw, L, 0, 0};
}

tpl_conv tpl_wino_product(const tpl_wino *w, int vregs) {
  int a = tpl_wino_alpha(w->m);
  tpl_conv c = {0};
  tpl_wino_views(w, &c.in, &c.out);
  c.kh = c.kw = c.sh = c.sw = c.dh = c.dw = 1;
  c.groups = a * a;
  c.epi.act = CHM_ACT_NONE;
  c.vregs = vregs;
  return c;
}

void tpl_wino_weights(int m, const float *W, int64_t K, int64_t C, int L, float *U) {
  int a = tpl_wino_alpha(m);
  const double *G = g_of(m);
  int64_t Kp = (K + L - 1) / L * L, Cp = (C + L - 1) / L * L;
  memset(U, 0, (size_t)(a * a * Kp * Cp) * sizeof *U);
  for (int64_t k = 0; k < K; k++)
    for (int64_t c = 0; c < C; c++) {
      const float *g = W + (k * C + c) * 9;
      double t[MAX_A][3]; /* G g */
      for (int i = 0; i < a; i++)
        for (int j = 0; j < 3; j++)
          t[i][j] = G[i * 3] * g[j] + G[i * 3 + 1] * g[3 + j] + G[i * 3 + 2] * g[6 + j];
      for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) { /* (G g G^T)[i][j] */
          double u = t[i][0] * G[j * 3] + t[i][1] * G[j * 3 + 1] + t[i][2] * G[j * 3 + 2];
          U[((int64_t)(i * a + j) * Kp + k) * Cp + c] = (float)u;
        }
    }
}

/* out[i] = sum_j mat[i][j] * in[j * stride] over a row-major rows x cols
 * matrix with small integer or simple entries: adds and subtracts for
 * +-1, an FMA otherwise, zeros skipped. */
static ir_expr *combine(ir_builder *b, const double *row, int cols, ir_expr *const *in, int lanes) {
  ir_expr *s = NULL;
  for (int j = 0; j < cols; j++) {
    double c = row[j];
    if (c == 0) continue;
    if (!s)
      s = c == 1 ? in[j] : ir_mul(b, in[j], ir_float(b, (float)c, lanes));
    else if (c == 1)
      s = ir_add(b, s, in[j]);
    else if (c == -1)
      s = ir_bin(b, IR_SUB, s, in[j]);
    else
      s = ir_fma(b, in[j], ir_float(b, (float)c, lanes), s);
  }
  return s ? s : ir_float(b, 0, lanes);
}

/* X^T-sandwich of a patch held in local `p` (rows x rows vectors):
 * q[i][j] = sum_r,c X[i][r] p[r][c] X[j][c] for the n x rows matrix X,
 * through a local `t` of n x rows vectors. Returns q[i][j] expressions
 * in `q` (n * n), valid inside the statements appended to `seq`. */
static void sandwich(ir_builder *b, ir_stmt *seq, const double *X, int n, int rows, ir_buf *p, ir_buf *t,
                     ir_expr **q, int L) {
  ir_expr *col[MAX_A];
  for (int c = 0; c < rows; c++) { /* t = X p, column by column */
    for (int r = 0; r < rows; r++) col[r] = ir_load(b, p, ir_int(b, (int64_t)(r * rows + c) * L), L);
    for (int i = 0; i < n; i++)
      ir_seq_add(b, seq, ir_store(b, t, ir_int(b, (int64_t)(i * rows + c) * L), combine(b, X + i * rows, rows, col, L)));
  }
  for (int i = 0; i < n; i++) { /* q = t X^T, row by row */
    ir_expr *row[MAX_A];
    for (int c = 0; c < rows; c++) row[c] = ir_load(b, t, ir_int(b, (int64_t)(i * rows + c) * L), L);
    for (int j = 0; j < n; j++) q[i * n + j] = combine(b, X + j * rows, rows, row, L);
  }
}

static ir_stmt *loop(ir_builder *b, int v, int64_t n, ir_loop_kind k, ir_stmt *body) {
  return ir_for(b, v, ir_int(b, 0), ir_int(b, n), k, body);
}

/* The loops both transforms run: a parallel loop over images x channel
 * blocks x tile rows, a serial one over the tiles of a row, and the
 * (image, block, tile row, tile column) of an iteration. */
typedef struct tile_loops {
  int vt, vx;              /* the loop variables */
  int64_t iters, cols;     /* their trip counts */
  ir_expr *n, *blk, *ty, *tx;
} tile_loops;

static tile_loops tile_loops_new(ir_builder *b, int64_t images, int64_t blocks, int64_t th, int64_t tw) {
  tile_loops tl = {ir_new_var(b), ir_new_var(b), images * blocks * th, tw, NULL, NULL, NULL, NULL};
  ir_expr *t = ir_var(b, tl.vt);
  tl.ty = ir_bin(b, IR_MOD, t, ir_int(b, th));
  tl.blk = ir_bin(b, IR_MOD, ir_bin(b, IR_DIV, t, ir_int(b, th)), ir_int(b, blocks));
  tl.n = ir_bin(b, IR_DIV, t, ir_int(b, th * blocks));
  tl.tx = ir_var(b, tl.vx);
  return tl;
}

/* body, with the patch's local arrays p and t, inside the loops. */
static ir_stmt *tile_loops_around(ir_builder *b, const tile_loops *tl, ir_buf *p, ir_buf *t, ir_stmt *body) {
  ir_stmt *s = ir_alloc(b, p, ir_alloc(b, t, body));
  return loop(b, tl->vt, tl->iters, IR_LOOP_PARALLEL, loop(b, tl->vx, tl->cols, IR_LOOP_SERIAL, s));
}

/* What both transforms begin with: their kernel and its builder, the
 * patch size and the views of V and M (tpl_wino_views). */
typedef struct transform {
  ir_builder b;
  ir_kernel *k;
  int a;
  tpl_view vv, mv;
} transform;

static ir_builder *transform_begin(transform *x, chm_arena *ar, const char *name, const tpl_wino *w) {
  x->k = ir_kernel_new(&x->b, ar, name);
  x->a = tpl_wino_alpha(w->m);
  tpl_wino_views(w, &x->vv, &x->mv);
  return &x->b;
}

ir_kernel *tpl_wino_input(chm_arena *ar, const char *name, const tpl_wino *w) {
  transform x;
  ir_builder *b = transform_begin(&x, ar, name, w);
  int m = w->m, a = x.a, L = w->in.cb;
  int64_t cbs = tpl_view_cblocks(&w->in);
  ir_buf *in = ir_param(b, "in", tpl_view_size(&w->in)), *v = ir_param(b, "v", tpl_view_size(&x.vv));
  ir_buf *p = ir_local(b, "patch", (int64_t)a * a * L), *t = ir_local(b, "t", (int64_t)a * a * L);
  tile_loops tl = tile_loops_new(b, w->in.n, cbs, x.vv.h, x.vv.w);
  ir_expr *n = tl.n, *cb = tl.blk, *ty = tl.ty, *tx = tl.tx;
  ir_expr *y0 = ir_addi(b, ir_muli(b, ty, m), -w->pt), *x0 = ir_addi(b, ir_muli(b, tx, m), -w->pl);
  ir_stmt *body = ir_seq(b);
  for (int r = 0; r < a; r++)
    for (int c = 0; c < a; c++)
      ir_seq_add(b, body, ir_store(b, p, ir_int(b, (int64_t)(r * a + c) * L),
                                   ir_load(b, in, tpl_view_index(b, &w->in, n, cb, ir_addi(b, y0, r),
                                                                 ir_addi(b, x0, c)), L)));
  ir_expr *q[MAX_A * MAX_A];
  sandwich(b, body, bt_of(m), a, a, p, t, q, L);
  for (int f = 0; f < a * a; f++)
    ir_seq_add(b, body, ir_store(b, v, tpl_view_index(b, &x.vv, n, ir_addi(b, cb, f * cbs), ty, tx), q[f]));
  x.k->body = tile_loops_around(b, &tl, p, t, body);
  return x.k;
}

/* Stores output pixel (oy, ox) of block kb: bias, residual, activation. */
static ir_stmt *store_pixel(ir_builder *b, const tpl_wino *w, ir_buf *out, ir_buf *res, ir_expr *bias,
                            ir_expr *n, ir_expr *kb, ir_expr *oy, ir_expr *ox, ir_expr *val) {
  int L = w->out.cb;
  ir_expr *f = ir_add(b, val, bias);
  if (w->epi.has_residual) f = ir_add(b, f, ir_load(b, res, tpl_view_index(b, &w->epi.res, n, kb, oy, ox), L));
  return ir_store(b, out, tpl_view_index(b, &w->out, n, kb, oy, ox), tpl_act(b, &w->epi, f));
}

ir_kernel *tpl_wino_output(chm_arena *ar, const char *name, const tpl_wino *w) {
  transform x;
  ir_builder *b = transform_begin(&x, ar, name, w);
  int m = w->m, a = x.a, L = w->out.cb;
  int64_t kbs = tpl_view_cblocks(&w->out);
  ir_buf *mb = ir_param(b, "m", tpl_view_size(&x.mv)), *bias = ir_param(b, "bias", kbs * L), *res = NULL;
  if (w->epi.has_residual) res = ir_param(b, "res", tpl_view_size(&w->epi.res));
  ir_buf *out = ir_param(b, "out", tpl_view_size(&w->out));
  ir_buf *p = ir_local(b, "patch", (int64_t)a * a * L), *t = ir_local(b, "t", (int64_t)m * a * L);
  tile_loops tl = tile_loops_new(b, w->out.n, kbs, x.mv.h, x.mv.w);
  ir_expr *n = tl.n, *kb = tl.blk, *ty = tl.ty, *tx = tl.tx;
  ir_stmt *body = ir_seq(b);
  for (int f = 0; f < a * a; f++)
    ir_seq_add(b, body, ir_store(b, p, ir_int(b, (int64_t)f * L),
                                 ir_load(b, mb, tpl_view_index(b, &x.mv, n, ir_addi(b, kb, f * kbs), ty, tx), L)));
  ir_expr *y[4 * 4];
  sandwich(b, body, at_of(m), m, a, p, t, y, L);
  ir_expr *bv = ir_load(b, bias, ir_muli(b, kb, L), L);
  /* rows and columns of the last tiles past the output are skipped */
  int64_t rows_left = w->out.h % m, cols_left = w->out.w % m;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < m; j++) {
      ir_expr *oy = ir_addi(b, ir_muli(b, ty, m), i), *ox = ir_addi(b, ir_muli(b, tx, m), j);
      ir_stmt *st = store_pixel(b, w, out, res, bv, n, kb, oy, ox, y[i * m + j]);
      ir_expr *inside = NULL;
      if (rows_left && i >= rows_left) inside = ir_bin(b, IR_LT, oy, ir_int(b, w->out.h));
      if (cols_left && j >= cols_left) {
        ir_expr *cx = ir_bin(b, IR_LT, ox, ir_int(b, w->out.w));
        inside = inside ? ir_bin(b, IR_AND, inside, cx) : cx;
      }
      ir_seq_add(b, body, inside ? ir_if(b, inside, st) : st);
    }
  x.k->body = tile_loops_around(b, &tl, p, t, body);
  return x.k;
}
