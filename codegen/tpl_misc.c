/*
 * tpl_misc.c — templates for the operators that are not convolutions or
 * dense layers: layout reorders and halos, pooling, elementwise ops with
 * broadcasting, a generic grouped convolution and batched matmul, softmax,
 * transpose, pad, concat and copy.
 *
 * These are simple scalar loop nests (LLVM vectorizes the innermost loops)
 * except pooling and blocked elementwise ops, which work a channel block
 * (one vector) at a time. The outermost loop is parallel when there is
 * enough work to share.
 */
#include "chamcc/tpl.h"

#include <math.h>
#include <string.h>

enum { PAR_MIN_ELEMS = 1 << 15 }; /* below this, a loop nest stays serial */

static ir_stmt *loop(ir_builder *b, int v, int64_t n, ir_loop_kind k, ir_stmt *body) {
  return ir_for(b, v, ir_int(b, 0), ir_int(b, n), k, body);
}

static ir_expr *clampi(ir_builder *b, ir_expr *x, int64_t lo, int64_t hi) {
  return ir_bin(b, IR_MIN, ir_bin(b, IR_MAX, x, ir_int(b, lo)), ir_int(b, hi));
}

static ir_expr *in_range(ir_builder *b, ir_expr *x, int64_t lo, int64_t hi) { /* lo <= x < hi */
  return ir_bin(b, IR_AND, ir_bin(b, IR_LE, ir_int(b, lo), x), ir_bin(b, IR_LT, x, ir_int(b, hi)));
}

/* A new loop variable per axis of a rank-`rank` nest. */
static void new_vars(ir_builder *b, int rank, int *vars) {
  for (int d = 0; d < rank; d++) vars[d] = ir_new_var(b);
}

/* The row-major offset of the index vars in a tensor of `shape`, leaving
 * out the axes in the mask `skip`. */
static ir_expr *row_major(ir_builder *b, int rank, const int *vars, const int64_t *shape, unsigned skip) {
  ir_expr *o = ir_int(b, 0);
  for (int d = 0; d < rank; d++)
    if (!(skip >> d & 1)) o = ir_add(b, ir_muli(b, o, shape[d]), ir_var(b, vars[d]));
  return o;
}

/* The axis of a loop nest over shape to split over the threads: the
 * outermost one longer than 1 (a batch of 1 has nothing to share), unless
 * that is the innermost (left whole to the vectorizer) or the nest has
 * fewer than PAR_MIN_ELEMS iterations; -1 for none. */
static int par_axis(int rank, const int64_t *shape) {
  if (chm_prod(shape, rank) < PAR_MIN_ELEMS) return -1;
  for (int d = 0; d < rank - 1; d++)
    if (shape[d] > 1) return d;
  return -1;
}

/* The loops of vars over shape around body, par_axis's one parallel. */
static ir_stmt *nest(ir_builder *b, int rank, const int *vars, const int64_t *shape, ir_stmt *body) {
  int par = par_axis(rank, shape);
  for (int d = rank - 1; d >= 0; d--) body = loop(b, vars[d], shape[d], d == par ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL, body);
  return body;
}

/* ---- layout ---- */

ir_kernel *tpl_reorder(chm_arena *a, const char *name, const tpl_view *in, const tpl_view *out) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *src = ir_param(&b, "in", tpl_view_size(in)), *dst = ir_param(&b, "out", tpl_view_size(out));
  int vn = ir_new_var(&b), vc = ir_new_var(&b), vy = ir_new_var(&b), vx = ir_new_var(&b);
  ir_expr *n = ir_var(&b, vn), *c = ir_var(&b, vc), *y = ir_var(&b, vy), *x = ir_var(&b, vx);
  int64_t cpad = tpl_view_cblocks(out) * out->cb;
  ir_expr *cc = clampi(&b, c, 0, in->c - 1);
  ir_expr *si = ir_add(&b, tpl_view_index(&b, in, n, ir_bin(&b, IR_DIV, cc, ir_int(&b, in->cb)), y, x),
                       ir_bin(&b, IR_MOD, cc, ir_int(&b, in->cb)));
  ir_expr *di = ir_add(&b, tpl_view_index(&b, out, n, ir_bin(&b, IR_DIV, c, ir_int(&b, out->cb)), y, x),
                       ir_bin(&b, IR_MOD, c, ir_int(&b, out->cb)));
  ir_expr *v = ir_select(&b, ir_bin(&b, IR_LT, c, ir_int(&b, in->c)), ir_load(&b, src, si, 1), ir_float(&b, 0, 1));
  ir_stmt *s = loop(&b, vx, out->w, IR_LOOP_SERIAL, ir_store(&b, dst, di, v));
  s = loop(&b, vy, out->h, IR_LOOP_SERIAL, s);
  s = loop(&b, vc, cpad, IR_LOOP_PARALLEL, s);
  k->body = loop(&b, vn, out->n, IR_LOOP_SERIAL, s);
  return k;
}

ir_kernel *tpl_blocked_to_nhwc(chm_arena *a, const char *name, const tpl_view *in) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int L = in->cb;
  int64_t cbs = tpl_view_cblocks(in), rem = in->c % L;
  ir_buf *src = ir_param(&b, "in", tpl_view_size(in)), *dst = ir_param(&b, "out", in->n * in->h * in->w * in->c);
  int vt = ir_new_var(&b), vx = ir_new_var(&b), vc = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *n = ir_bin(&b, IR_DIV, t, ir_int(&b, in->h)), *y = ir_bin(&b, IR_MOD, t, ir_int(&b, in->h));
  ir_expr *x = ir_var(&b, vx);
  ir_expr *pixel = ir_muli(&b, ir_add(&b, ir_muli(&b, t, in->w), x), in->c);
  /* whole blocks: one vector each; a last partial block: its c % L lanes */
  ir_expr *c = ir_var(&b, vc);
  ir_stmt *whole = ir_store(&b, dst, ir_add(&b, pixel, ir_muli(&b, c, L)),
                            ir_load(&b, src, tpl_view_index(&b, in, n, c, y, x), L));
  ir_stmt *px = ir_seq(&b);
  if (in->c / L > 0) ir_seq_add(&b, px, loop(&b, vc, in->c / L, IR_LOOP_SERIAL, whole));
  if (rem) {
    ir_expr *last = ir_int(&b, cbs - 1);
    ir_seq_add(&b, px, ir_store_masked(&b, dst, ir_addi(&b, pixel, (cbs - 1) * L),
                                       ir_load(&b, src, tpl_view_index(&b, in, n, last, y, x), L), (int)rem));
  }
  ir_loop_kind par = in->n * in->h * in->w * in->c >= PAR_MIN_ELEMS ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL;
  k->body = loop(&b, vt, in->n * in->h, par, loop(&b, vx, in->w, IR_LOOP_SERIAL, px));
  return k;
}

ir_kernel *tpl_zero_halo(chm_arena *a, const char *name, const tpl_view *v) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *buf = ir_param(&b, "buf", tpl_view_size(v));
  int vp = ir_new_var(&b), vy = ir_new_var(&b), vx = ir_new_var(&b);
  ir_expr *p = ir_var(&b, vp), *y = ir_var(&b, vy), *x = ir_var(&b, vx);
  ir_expr *zero = ir_float(&b, 0, v->cb);
  /* p runs over image x channel block planes; index with n = 0, cblk = p */
  ir_stmt *s = ir_seq(&b);
  ir_expr *row = tpl_view_index(&b, v, ir_int(&b, 0), p, y, x);
  ir_stmt *st = ir_store(&b, buf, row, zero);
  /* top and bottom halo rows */
  ir_seq_add(&b, s, ir_for(&b, vy, ir_int(&b, -v->hh), ir_int(&b, 0), IR_LOOP_SERIAL,
                           ir_for(&b, vx, ir_int(&b, -v->hw), ir_int(&b, v->w + v->hw), IR_LOOP_SERIAL, st)));
  ir_seq_add(&b, s, ir_for(&b, vy, ir_int(&b, v->h), ir_int(&b, v->h + v->hh), IR_LOOP_SERIAL,
                           ir_for(&b, vx, ir_int(&b, -v->hw), ir_int(&b, v->w + v->hw), IR_LOOP_SERIAL, st)));
  /* left and right halo columns */
  ir_stmt *cols = ir_seq(&b);
  ir_seq_add(&b, cols, ir_for(&b, vx, ir_int(&b, -v->hw), ir_int(&b, 0), IR_LOOP_SERIAL, st));
  ir_seq_add(&b, cols, ir_for(&b, vx, ir_int(&b, v->w), ir_int(&b, v->w + v->hw), IR_LOOP_SERIAL, st));
  ir_seq_add(&b, s, ir_for(&b, vy, ir_int(&b, 0), ir_int(&b, v->h), IR_LOOP_SERIAL, cols));
  k->body = loop(&b, vp, v->n * tpl_view_cblocks(v), IR_LOOP_SERIAL, s);
  return k;
}

/* ---- pooling ---- */

static ir_kernel *global_pool(chm_arena *a, const char *name, const tpl_pool *p) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  const tpl_view *in = &p->in;
  int L = in->cb;
  int blocked_out = p->out.cb > 1;
  ir_buf *src = ir_param(&b, "in", tpl_view_size(in));
  ir_buf *dst = ir_param(&b, "out", blocked_out ? tpl_view_size(&p->out) : in->n * in->c);
  int64_t cbs = tpl_view_cblocks(in);
  int vt = ir_new_var(&b), vy = ir_new_var(&b), vx = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *n = ir_bin(&b, IR_DIV, t, ir_int(&b, cbs));
  ir_expr *cb = ir_bin(&b, IR_MOD, t, ir_int(&b, cbs));
  ir_buf *acc = ir_local(&b, "acc", L);
  ir_stmt *body = ir_seq(&b);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_float(&b, p->is_max ? -INFINITY : 0, L)));
  ir_expr *v = ir_load(&b, src, tpl_view_index(&b, in, n, cb, ir_var(&b, vy), ir_var(&b, vx)), L);
  ir_expr *old = ir_load(&b, acc, ir_int(&b, 0), L);
  ir_stmt *upd = ir_store(&b, acc, ir_int(&b, 0), p->is_max ? ir_bin(&b, IR_MAX, old, v) : ir_add(&b, old, v));
  ir_seq_add(&b, body, loop(&b, vy, in->h, IR_LOOP_SERIAL, loop(&b, vx, in->w, IR_LOOP_SERIAL, upd)));
  ir_expr *r = ir_load(&b, acc, ir_int(&b, 0), L);
  if (!p->is_max) r = ir_mul(&b, r, ir_float(&b, 1.0f / (float)(in->h * in->w), L));
  ir_expr *oi = ir_add(&b, ir_muli(&b, n, in->c), ir_muli(&b, cb, L));
  if (blocked_out) { /* the input's padding lanes are zeros, and so are their means and maxima */
    ir_seq_add(&b, body, ir_store(&b, dst, tpl_view_index(&b, &p->out, n, cb, ir_int(&b, 0), ir_int(&b, 0)), r));
  } else if (in->c % L == 0) {
    ir_seq_add(&b, body, ir_store(&b, dst, oi, r));
  } else { /* the last block of each image holds c % L channels */
    ir_expr *last = ir_bin(&b, IR_EQ, cb, ir_int(&b, cbs - 1));
    ir_seq_add(&b, body, ir_if(&b, last, ir_store_masked(&b, dst, oi, r, (int)(in->c % L))));
    ir_seq_add(&b, body, ir_if(&b, ir_bin(&b, IR_LT, cb, ir_int(&b, cbs - 1)), ir_store(&b, dst, oi, r)));
  }
  k->body = loop(&b, vt, in->n * cbs, IR_LOOP_PARALLEL, ir_alloc(&b, acc, body));
  return k;
}

/* The outputs [lo, hi) along one axis whose window lies wholly inside the
 * input (n inputs, window k taps of dilation d, stride st, padding pad):
 * these need no bounds check and divide by the window's size. */
static void inside_range(int64_t outs, int64_t n, int64_t k, int64_t st, int64_t d, int64_t pad,
                         int64_t *lo, int64_t *hi) {
  *lo = (pad + st - 1) / st;
  int64_t last = n - 1 - (k - 1) * d + pad; /* the largest window start, plus pad */
  *hi = last < 0 ? 0 : last / st + 1;
  if (*hi > outs) *hi = outs;
  if (*lo > *hi) *lo = *hi;
}

typedef struct pool_ctx {
  const tpl_pool *p;
  ir_buf *src, *dst, *acc;
  ir_expr *n, *cb, *oy;
  int vx, vky, vkx;
} pool_ctx;

/* One output vector at column vx; `checked`: taps outside the input are
 * skipped (and counted as the padding rule says), else all are inside. */
static ir_stmt *pool_output(ir_builder *b, const pool_ctx *c, int checked) {
  const tpl_pool *p = c->p;
  const tpl_view *in = &p->in, *out = &p->out;
  int L = in->cb;
  ir_expr *ox = ir_var(b, c->vx);
  ir_expr *iy = ir_add(b, ir_muli(b, c->oy, p->sh), ir_addi(b, ir_muli(b, ir_var(b, c->vky), p->dh), -p->pt));
  ir_expr *ix = ir_add(b, ir_muli(b, ox, p->sw), ir_addi(b, ir_muli(b, ir_var(b, c->vkx), p->dw), -p->pl));
  ir_expr *ok = checked ? ir_bin(b, IR_AND, in_range(b, iy, 0, in->h), in_range(b, ix, 0, in->w)) : NULL;
  ir_expr *ry = checked ? clampi(b, iy, 0, in->h - 1) : iy, *rx = checked ? clampi(b, ix, 0, in->w - 1) : ix;
  ir_expr *v = ir_load(b, c->src, tpl_view_index(b, in, c->n, c->cb, ry, rx), L);
  ir_expr *old = ir_load(b, c->acc, ir_int(b, 0), L);
  ir_expr *upd_v = p->is_max ? ir_bin(b, IR_MAX, old, v) : ir_add(b, old, v);
  ir_stmt *upd = ir_seq(b);
  ir_seq_add(b, upd, ir_store(b, c->acc, ir_int(b, 0), checked ? ir_select(b, ok, upd_v, old) : upd_v));
  if (checked && !p->is_max) { /* the divisor: valid taps, or taps inside the padded input */
    ir_expr *counted = p->count_include_pad ? ir_bin(b, IR_AND, in_range(b, iy, -p->pt, in->h + p->pb),
                                                     in_range(b, ix, -p->pl, in->w + p->pr))
                                            : ok;
    ir_expr *cnt = ir_load(b, c->acc, ir_int(b, L), 1);
    ir_seq_add(b, upd, ir_store(b, c->acc, ir_int(b, L), ir_select(b, counted, ir_add(b, cnt, ir_float(b, 1, 1)), cnt)));
  }
  ir_stmt *body = ir_seq(b);
  ir_seq_add(b, body, ir_store(b, c->acc, ir_int(b, 0), ir_float(b, p->is_max ? -INFINITY : 0, L)));
  if (checked && !p->is_max) ir_seq_add(b, body, ir_store(b, c->acc, ir_int(b, L), ir_float(b, 0, 1)));
  ir_seq_add(b, body, loop(b, c->vky, p->kh, IR_LOOP_SERIAL, loop(b, c->vkx, p->kw, IR_LOOP_SERIAL, upd)));
  ir_expr *r = ir_load(b, c->acc, ir_int(b, 0), L);
  if (!p->is_max) {
    ir_expr *cnt = checked ? ir_bin(b, IR_MAX, ir_load(b, c->acc, ir_int(b, L), 1), ir_float(b, 1, 1))
                           : ir_float(b, (float)(p->kh * p->kw), 1);
    r = ir_bin(b, IR_DIV, r, ir_broadcast(b, cnt, L));
  }
  ir_seq_add(b, body, ir_store(b, c->dst, tpl_view_index(b, out, c->n, c->cb, c->oy, ox), r));
  return body;
}

static ir_stmt *checked_cols(ir_builder *b, const pool_ctx *c, int64_t lo, int64_t hi) {
  return ir_for(b, c->vx, ir_int(b, lo), ir_int(b, hi), IR_LOOP_SERIAL, pool_output(b, c, 1));
}

/* Pooling in the blocked layout, a channel block (one vector) at a time.
 * Rows and columns whose windows lie inside the input take a body without
 * bounds checks (all of them when there is no padding and the last window
 * fits, as in VGG's 2x2 max pools); the border ones check every tap. */
ir_kernel *tpl_pool_kernel(chm_arena *a, const char *name, const tpl_pool *p) {
  if (p->global) return global_pool(a, name, p);
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  const tpl_view *in = &p->in, *out = &p->out;
  int L = in->cb;
  int64_t cbs = tpl_view_cblocks(in);
  int vt = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt);
  pool_ctx c = {.p = p, .src = ir_param(&b, "in", tpl_view_size(in)), .dst = ir_param(&b, "out", tpl_view_size(out)),
                .acc = ir_local(&b, "acc", p->is_max ? L : 2L * L), /* [0, L): value; lane L: count */
                .n = ir_bin(&b, IR_DIV, t, ir_int(&b, out->h * cbs)),
                .cb = ir_bin(&b, IR_MOD, ir_bin(&b, IR_DIV, t, ir_int(&b, out->h)), ir_int(&b, cbs)),
                .oy = ir_bin(&b, IR_MOD, t, ir_int(&b, out->h)),
                .vx = ir_new_var(&b), .vky = ir_new_var(&b), .vkx = ir_new_var(&b)};
  int64_t ylo, yhi, xlo, xhi;
  inside_range(out->h, in->h, p->kh, p->sh, p->dh, p->pt, &ylo, &yhi);
  inside_range(out->w, in->w, p->kw, p->sw, p->dw, p->pl, &xlo, &xhi);
  ir_stmt *body;
  if (xhi == xlo || yhi == ylo) { /* no window lies inside */
    body = checked_cols(&b, &c, 0, out->w);
  } else {
    ir_stmt *row = ir_seq(&b); /* the inside columns between checked border ones */
    if (xlo > 0) ir_seq_add(&b, row, checked_cols(&b, &c, 0, xlo));
    ir_seq_add(&b, row, ir_for(&b, c.vx, ir_int(&b, xlo), ir_int(&b, xhi), IR_LOOP_SERIAL, pool_output(&b, &c, 0)));
    if (out->w > xhi) ir_seq_add(&b, row, checked_cols(&b, &c, xhi, out->w));
    body = ir_seq(&b);
    if (ylo > 0) ir_seq_add(&b, body, ir_if(&b, ir_bin(&b, IR_LT, c.oy, ir_int(&b, ylo)), checked_cols(&b, &c, 0, out->w)));
    ir_seq_add(&b, body, ylo == 0 && yhi == out->h ? row : ir_if(&b, in_range(&b, c.oy, ylo, yhi), row));
    if (yhi < out->h) ir_seq_add(&b, body, ir_if(&b, ir_bin(&b, IR_LE, ir_int(&b, yhi), c.oy), checked_cols(&b, &c, 0, out->w)));
  }
  k->body = loop(&b, vt, out->n * cbs * out->h, IR_LOOP_PARALLEL, ir_alloc(&b, c.acc, body));
  return k;
}

/* ---- elementwise ---- */

static ir_expr *binop(ir_builder *b, tpl_binop op, ir_expr *x, ir_expr *y) {
  switch (op) {
  case TPL_ADD: return ir_bin(b, IR_ADD, x, y);
  case TPL_SUB: return ir_bin(b, IR_SUB, x, y);
  case TPL_MUL: return ir_bin(b, IR_MUL, x, y);
  case TPL_DIV: return ir_bin(b, IR_DIV, x, y);
  case TPL_MAX: return ir_bin(b, IR_MAX, x, y);
  case TPL_MIN: return ir_bin(b, IR_MIN, x, y);
  case TPL_POW: return ir_bin(b, IR_POW, x, y);
  case TPL_PRELU:
    return ir_select(b, ir_bin(b, IR_LT, x, ir_float(b, 0, x->type.lanes)), ir_mul(b, x, y), x);
  }
  CHM_ASSERT(0 && "unknown binary op");
  return NULL;
}

static ir_expr *elt_apply(ir_builder *b, const tpl_elt *e, ir_expr *x, ir_expr *y) {
  return tpl_act(b, &e->epi, y ? binop(b, e->op, x, y) : x);
}

ir_kernel *tpl_elt_kernel(chm_arena *a, const char *name, const tpl_elt *e) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t total = chm_prod(e->shape, e->rank);
  ir_buf *in[2] = {NULL, NULL};
  for (int i = 0; i < e->n_in; i++) in[i] = ir_param(&b, i ? "b" : "a", 0);
  ir_buf *out = ir_param(&b, "out", total);
  int vars[TPL_MAX_RANK] = {0};
  new_vars(&b, e->rank, vars);
  ir_expr *idx[2] = {ir_int(&b, 0), ir_int(&b, 0)}, *oidx = row_major(&b, e->rank, vars, e->shape, 0);
  for (int d = 0; d < e->rank; d++)
    for (int i = 0; i < e->n_in; i++) idx[i] = ir_add(&b, idx[i], ir_muli(&b, ir_var(&b, vars[d]), e->strides[i][d]));
  ir_expr *x = ir_load(&b, in[0], idx[0], 1), *y = e->n_in > 1 ? ir_load(&b, in[1], idx[1], 1) : NULL;
  k->body = nest(&b, e->rank, vars, e->shape, ir_store(&b, out, oidx, elt_apply(&b, e, x, y)));
  return k;
}

/* Index into view v, of the output's shape or broadcast over the plane
 * (v is 1x1) and the images (v has one), of the output element (n, cb, y, x). */
static ir_expr *bcast_index(ir_builder *b, const tpl_view *v, const tpl_view *out, ir_expr *n,
                            ir_expr *cb, ir_expr *y, ir_expr *x) {
  int plane = v->h == 1 && v->w == 1 && (out->h > 1 || out->w > 1);
  ir_expr *zero = ir_int(b, 0);
  return tpl_view_index(b, v, v->n == 1 ? zero : n, cb, plane ? zero : y, plane ? zero : x);
}

ir_kernel *tpl_elt_blocked(chm_arena *a, const char *name, const tpl_elt *e, const tpl_view *in0,
                           const tpl_view *in1, const tpl_view *out) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int L = out->cb;
  ir_buf *x0 = ir_param(&b, "a", tpl_view_size(in0));
  ir_buf *x1 = in1 ? ir_param(&b, "b", tpl_view_size(in1)) : NULL;
  ir_buf *dst = ir_param(&b, "out", tpl_view_size(out));
  int64_t cbs = tpl_view_cblocks(out);
  int vt = ir_new_var(&b), vy = ir_new_var(&b), vx = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *y = ir_var(&b, vy), *x = ir_var(&b, vx);
  ir_expr *n = ir_bin(&b, IR_DIV, t, ir_int(&b, cbs)), *cb = ir_bin(&b, IR_MOD, t, ir_int(&b, cbs));
  ir_expr *va = ir_load(&b, x0, bcast_index(&b, in0, out, n, cb, y, x), L);
  ir_expr *vb = x1 ? ir_load(&b, x1, bcast_index(&b, in1, out, n, cb, y, x), L) : NULL;
  ir_stmt *s = ir_store(&b, dst, tpl_view_index(&b, out, n, cb, y, x), elt_apply(&b, e, va, vb));
  s = loop(&b, vy, out->h, IR_LOOP_SERIAL, loop(&b, vx, out->w, IR_LOOP_SERIAL, s));
  k->body = loop(&b, vt, out->n * cbs, IR_LOOP_PARALLEL, s);
  return k;
}

/* ---- generic convolution and matmul ---- */

ir_kernel *tpl_gconv_kernel(chm_arena *a, const char *name, const tpl_gconv *g) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t cpg = g->c / g->groups, kpg = g->k / g->groups;
  ir_buf *in = ir_param(&b, "in", g->n * g->c * g->h * g->w), *W = ir_param(&b, "w", g->k * cpg * g->kh * g->kw);
  ir_buf *bias = ir_param(&b, "bias", g->k);
  ir_buf *res = g->epi.has_residual ? ir_param(&b, "res", g->n * g->k * g->oh * g->ow) : NULL;
  ir_buf *out = ir_param(&b, "out", g->n * g->k * g->oh * g->ow);
  int vt = ir_new_var(&b), vy = ir_new_var(&b), vx = ir_new_var(&b);
  int vc = ir_new_var(&b), vky = ir_new_var(&b), vkx = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *oy = ir_var(&b, vy), *ox = ir_var(&b, vx);
  ir_expr *n = ir_bin(&b, IR_DIV, t, ir_int(&b, g->k)), *ko = ir_bin(&b, IR_MOD, t, ir_int(&b, g->k));
  ir_expr *c = ir_add(&b, ir_muli(&b, ir_bin(&b, IR_DIV, ko, ir_int(&b, kpg)), cpg), ir_var(&b, vc));
  ir_expr *iy = ir_add(&b, ir_muli(&b, oy, g->sh), ir_addi(&b, ir_muli(&b, ir_var(&b, vky), g->dh), -g->pt));
  ir_expr *ix = ir_add(&b, ir_muli(&b, ox, g->sw), ir_addi(&b, ir_muli(&b, ir_var(&b, vkx), g->dw), -g->pl));
  ir_expr *ok = ir_bin(&b, IR_AND, in_range(&b, iy, 0, g->h), in_range(&b, ix, 0, g->w));
  ir_expr *ii = ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, n, g->c), c), g->h),
                                              clampi(&b, iy, 0, g->h - 1)), g->w), clampi(&b, ix, 0, g->w - 1));
  ir_expr *wi = ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, ko, cpg), ir_var(&b, vc)), g->kh),
                                              ir_var(&b, vky)), g->kw), ir_var(&b, vkx));
  ir_buf *acc = ir_local(&b, "acc", 1);
  ir_expr *old = ir_load(&b, acc, ir_int(&b, 0), 1);
  ir_stmt *upd = ir_store(&b, acc, ir_int(&b, 0),
                          ir_select(&b, ok, ir_fma(&b, ir_load(&b, in, ii, 1), ir_load(&b, W, wi, 1), old), old));
  ir_stmt *body = ir_seq(&b);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_load(&b, bias, ko, 1)));
  ir_seq_add(&b, body, loop(&b, vc, cpg, IR_LOOP_SERIAL, loop(&b, vky, g->kh, IR_LOOP_SERIAL,
                                                              loop(&b, vkx, g->kw, IR_LOOP_SERIAL, upd))));
  ir_expr *oi = ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, t, g->oh), oy), g->ow), ox);
  ir_expr *v = ir_load(&b, acc, ir_int(&b, 0), 1);
  if (res) v = ir_add(&b, v, ir_load(&b, res, oi, 1));
  ir_seq_add(&b, body, ir_store(&b, out, oi, tpl_act(&b, &g->epi, v)));
  ir_stmt *s = loop(&b, vy, g->oh, IR_LOOP_SERIAL, loop(&b, vx, g->ow, IR_LOOP_SERIAL, ir_alloc(&b, acc, body)));
  k->body = loop(&b, vt, g->n * g->k, IR_LOOP_PARALLEL, s);
  return k;
}

ir_kernel *tpl_gemm_kernel(chm_arena *a, const char *name, const tpl_gemm *g) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *A = ir_param(&b, "a", 0), *B = ir_param(&b, "b", 0);
  ir_buf *C = g->has_c ? ir_param(&b, "c", 0) : NULL;
  ir_buf *res = g->epi.has_residual ? ir_param(&b, "res", g->batch * g->m * g->n) : NULL;
  ir_buf *out = ir_param(&b, "out", g->batch * g->m * g->n);
  int vt = ir_new_var(&b), vn = ir_new_var(&b), vk = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *nn = ir_var(&b, vn), *kk = ir_var(&b, vk);
  ir_expr *bt = ir_bin(&b, IR_DIV, t, ir_int(&b, g->m)), *m = ir_bin(&b, IR_MOD, t, ir_int(&b, g->m));
  ir_expr *ai = ir_add(&b, ir_add(&b, ir_muli(&b, bt, g->a_bs), ir_muli(&b, m, g->a_ms)), ir_muli(&b, kk, g->a_ks));
  ir_expr *bi = ir_add(&b, ir_add(&b, ir_muli(&b, bt, g->b_bs), ir_muli(&b, kk, g->b_ks)), ir_muli(&b, nn, g->b_ns));
  ir_buf *acc = ir_local(&b, "acc", 1);
  ir_stmt *body = ir_seq(&b);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_float(&b, 0, 1)));
  ir_seq_add(&b, body, loop(&b, vk, g->k, IR_LOOP_SERIAL,
                            ir_store(&b, acc, ir_int(&b, 0), ir_fma(&b, ir_load(&b, A, ai, 1), ir_load(&b, B, bi, 1),
                                                                    ir_load(&b, acc, ir_int(&b, 0), 1)))));
  ir_expr *v = ir_mul(&b, ir_load(&b, acc, ir_int(&b, 0), 1), ir_float(&b, g->alpha, 1));
  if (C) {
    ir_expr *ci = ir_add(&b, ir_add(&b, ir_muli(&b, bt, g->c_bs), ir_muli(&b, m, g->c_ms)), ir_muli(&b, nn, g->c_ns));
    v = ir_fma(&b, ir_load(&b, C, ci, 1), ir_float(&b, g->beta, 1), v);
  }
  ir_expr *oi = ir_add(&b, ir_muli(&b, t, g->n), nn);
  if (res) v = ir_add(&b, v, ir_load(&b, res, oi, 1));
  ir_seq_add(&b, body, ir_store(&b, out, oi, tpl_act(&b, &g->epi, v)));
  ir_loop_kind par = g->batch * g->m * g->n * g->k >= PAR_MIN_ELEMS ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL;
  k->body = loop(&b, vt, g->batch * g->m, par, loop(&b, vn, g->n, IR_LOOP_SERIAL, ir_alloc(&b, acc, body)));
  k->flops = 2.0 * (double)(g->batch * g->m * g->n) * (double)g->k;
  return k;
}

/* ---- data movement and softmax ---- */

ir_kernel *tpl_softmax_kernel(chm_arena *a, const char *name, int64_t outer, int64_t axis, int64_t inner) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *in = ir_param(&b, "in", outer * axis * inner), *out = ir_param(&b, "out", outer * axis * inner);
  int vo = ir_new_var(&b), vi = ir_new_var(&b), va = ir_new_var(&b);
  ir_expr *idx = ir_add(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, ir_var(&b, vo), axis), ir_var(&b, va)), inner),
                        ir_var(&b, vi));
  ir_buf *acc = ir_local(&b, "acc", 2); /* max, sum */
  ir_expr *mx = ir_load(&b, acc, ir_int(&b, 0), 1), *sum = ir_load(&b, acc, ir_int(&b, 1), 1);
  ir_expr *x = ir_load(&b, in, idx, 1);
  ir_stmt *body = ir_seq(&b);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_float(&b, -INFINITY, 1)));
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 1), ir_float(&b, 0, 1)));
  ir_seq_add(&b, body, loop(&b, va, axis, IR_LOOP_SERIAL, ir_store(&b, acc, ir_int(&b, 0), ir_bin(&b, IR_MAX, mx, x))));
  ir_expr *ex = ir_unary(&b, IR_EXP, ir_bin(&b, IR_SUB, x, mx));
  ir_stmt *pass2 = ir_seq(&b);
  ir_seq_add(&b, pass2, ir_store(&b, out, idx, ex));
  ir_seq_add(&b, pass2, ir_store(&b, acc, ir_int(&b, 1), ir_add(&b, sum, ir_load(&b, out, idx, 1))));
  ir_seq_add(&b, body, loop(&b, va, axis, IR_LOOP_SERIAL, pass2));
  ir_seq_add(&b, body, loop(&b, va, axis, IR_LOOP_SERIAL,
                            ir_store(&b, out, idx, ir_bin(&b, IR_DIV, ir_load(&b, out, idx, 1), sum))));
  k->body = loop(&b, vo, outer, IR_LOOP_SERIAL, loop(&b, vi, inner, IR_LOOP_SERIAL, ir_alloc(&b, acc, body)));
  return k;
}

/* Sum over i in [0, len) of term(i) into acc[slot]: whole vectors of `lanes`
 * into a vector accumulator `vacc`, added across at the end, then the scalar
 * tail. term(b, i, lanes, ctx) builds the value at index expression i. */
typedef ir_expr *row_term(ir_builder *b, ir_expr *i, int lanes, void *ctx);

static void row_sum(ir_builder *b, ir_stmt *body, ir_buf *acc, int slot, ir_buf *vacc, int64_t len, int lanes,
                    row_term *term, void *ctx) {
  int64_t nv = vacc ? len / lanes : 0;
  if (nv > 0) {
    int vj = ir_new_var(b);
    ir_expr *va = ir_load(b, vacc, ir_int(b, 0), lanes);
    ir_stmt *s = ir_seq(b);
    ir_seq_add(b, s, ir_store(b, vacc, ir_int(b, 0), ir_float(b, 0, lanes)));
    ir_seq_add(b, s, loop(b, vj, nv, IR_LOOP_SERIAL,
                          ir_store(b, vacc, ir_int(b, 0), ir_add(b, va, term(b, ir_muli(b, ir_var(b, vj), lanes), lanes, ctx)))));
    ir_seq_add(b, s, ir_store(b, acc, ir_int(b, slot), ir_unary(b, IR_HSUM, va)));
    ir_seq_add(b, body, ir_alloc(b, vacc, s));
  } else {
    ir_seq_add(b, body, ir_store(b, acc, ir_int(b, slot), ir_float(b, 0, 1)));
  }
  if (nv * lanes < len) {
    int vt = ir_new_var(b);
    ir_expr *old = ir_load(b, acc, ir_int(b, slot), 1);
    ir_seq_add(b, body, ir_for(b, vt, ir_int(b, nv * lanes), ir_int(b, len), IR_LOOP_SERIAL,
                               ir_store(b, acc, ir_int(b, slot), ir_add(b, old, term(b, ir_var(b, vt), 1, ctx)))));
  }
}

typedef struct ln_ctx {
  ir_buf *in, *scale, *bias, *acc;
  ir_expr *row; /* the row's first index */
} ln_ctx;

static ir_expr *ln_x(ir_builder *b, ir_expr *i, int lanes, void *ctx) {
  ln_ctx *c = ctx;
  return ir_load(b, c->in, ir_add(b, c->row, i), lanes);
}

static ir_expr *ln_stat(ir_builder *b, ln_ctx *c, int slot, int lanes) {
  ir_expr *s = ir_load(b, c->acc, ir_int(b, slot), 1);
  return lanes > 1 ? ir_broadcast(b, s, lanes) : s;
}

static ir_expr *ln_sq(ir_builder *b, ir_expr *i, int lanes, void *ctx) { /* (x - mean)^2 */
  ir_expr *d = ir_bin(b, IR_SUB, ln_x(b, i, lanes, ctx), ln_stat(b, ctx, 0, lanes));
  return ir_mul(b, d, d);
}

static ir_expr *ln_y(ir_builder *b, ir_expr *i, int lanes, void *ctx) { /* (x - mean) inv scale + bias */
  ln_ctx *c = ctx;
  ir_expr *d = ir_bin(b, IR_SUB, ln_x(b, i, lanes, ctx), ln_stat(b, c, 0, lanes));
  return ir_fma(b, ir_mul(b, d, ln_stat(b, c, 1, lanes)), ir_load(b, c->scale, i, lanes), ir_load(b, c->bias, i, lanes));
}

ir_kernel *tpl_layernorm_kernel(chm_arena *a, const char *name, int64_t rows, int64_t len, float eps,
                                int stats, int lanes) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *in = ir_param(&b, "in", rows * len), *scale = ir_param(&b, "scale", len);
  ir_buf *bias = ir_param(&b, "bias", len), *out = ir_param(&b, "out", rows * len);
  ir_buf *smean = stats > 0 ? ir_param(&b, "mean", rows) : NULL, *sinv = stats > 1 ? ir_param(&b, "invstd", rows) : NULL;
  ir_buf *acc = ir_local(&b, "acc", 2); /* mean, then 1 / std */
  ir_buf *vacc = lanes > 1 && len >= lanes ? ir_local(&b, "vacc", lanes) : NULL;
  int vr = ir_new_var(&b);
  ln_ctx c = {in, scale, bias, acc, ir_muli(&b, ir_var(&b, vr), len)};
  ir_expr *mean = ir_load(&b, acc, ir_int(&b, 0), 1), *inv = ir_load(&b, acc, ir_int(&b, 1), 1);
  ir_stmt *body = ir_seq(&b);
  row_sum(&b, body, acc, 0, vacc, len, lanes, ln_x, &c);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_mul(&b, mean, ir_float(&b, 1.0f / (float)len, 1))));
  row_sum(&b, body, acc, 1, vacc, len, lanes, ln_sq, &c);
  ir_expr *var = ir_fma(&b, inv, ir_float(&b, 1.0f / (float)len, 1), ir_float(&b, eps, 1));
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 1), ir_bin(&b, IR_DIV, ir_float(&b, 1, 1), ir_unary(&b, IR_SQRT, var))));
  int64_t nv = vacc ? len / lanes : 0;
  if (nv > 0) {
    int vj = ir_new_var(&b);
    ir_expr *i = ir_muli(&b, ir_var(&b, vj), lanes);
    ir_seq_add(&b, body, loop(&b, vj, nv, IR_LOOP_SERIAL, ir_store(&b, out, ir_add(&b, c.row, i), ln_y(&b, i, lanes, &c))));
  }
  if (nv * lanes < len) {
    int vt = ir_new_var(&b);
    ir_expr *i = ir_var(&b, vt);
    ir_seq_add(&b, body, ir_for(&b, vt, ir_int(&b, nv * lanes), ir_int(&b, len), IR_LOOP_SERIAL,
                                ir_store(&b, out, ir_add(&b, c.row, i), ln_y(&b, i, 1, &c))));
  }
  if (smean) ir_seq_add(&b, body, ir_store(&b, smean, ir_var(&b, vr), mean));
  if (sinv) ir_seq_add(&b, body, ir_store(&b, sinv, ir_var(&b, vr), inv));
  k->body = loop(&b, vr, rows, rows * len >= PAR_MIN_ELEMS ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL,
                 ir_alloc(&b, acc, body));
  return k;
}

ir_kernel *tpl_reduce_kernel(chm_arena *a, const char *name, tpl_reduce_op op, int rank,
                             const int64_t *in_shape, unsigned axes) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t total = chm_prod(in_shape, rank), kept = 1, count = 1;
  for (int d = 0; d < rank; d++) *(axes >> d & 1 ? &count : &kept) *= in_shape[d];
  ir_buf *in = ir_param(&b, "in", total), *out = ir_param(&b, "out", kept);
  int vars[TPL_MAX_RANK] = {0};
  new_vars(&b, rank, vars);
  ir_expr *ii = row_major(&b, rank, vars, in_shape, 0), *oi = row_major(&b, rank, vars, in_shape, axes);
  ir_buf *acc = ir_local(&b, "acc", 1);
  ir_expr *old = ir_load(&b, acc, ir_int(&b, 0), 1), *x = ir_load(&b, in, ii, 1);
  ir_expr *upd = op == TPL_REDUCE_MAX ? ir_bin(&b, IR_MAX, old, x)
                 : op == TPL_REDUCE_MIN ? ir_bin(&b, IR_MIN, old, x) : ir_add(&b, old, x);
  ir_stmt *inner = ir_store(&b, acc, ir_int(&b, 0), upd);
  for (int d = rank - 1; d >= 0; d--)
    if (axes >> d & 1) inner = loop(&b, vars[d], in_shape[d], IR_LOOP_SERIAL, inner);
  float init = op == TPL_REDUCE_MAX ? -INFINITY : op == TPL_REDUCE_MIN ? INFINITY : 0;
  ir_expr *r = ir_load(&b, acc, ir_int(&b, 0), 1);
  if (op == TPL_REDUCE_MEAN) r = ir_mul(&b, r, ir_float(&b, 1.0f / (float)count, 1));
  ir_stmt *body = ir_seq(&b);
  ir_seq_add(&b, body, ir_store(&b, acc, ir_int(&b, 0), ir_float(&b, init, 1)));
  ir_seq_add(&b, body, inner);
  ir_seq_add(&b, body, ir_store(&b, out, oi, r));
  ir_stmt *s = ir_alloc(&b, acc, body);
  int outermost = -1;
  for (int d = 0; d < rank && outermost < 0; d++)
    if (!(axes >> d & 1) && in_shape[d] > 1) outermost = d;
  for (int d = rank - 1; d >= 0; d--)
    if (!(axes >> d & 1))
      s = loop(&b, vars[d], in_shape[d],
               d == outermost && total >= PAR_MIN_ELEMS ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL, s);
  k->body = s;
  return k;
}

ir_kernel *tpl_slice_kernel(chm_arena *a, const char *name, int rank, const int64_t *in_shape,
                            const int64_t *out_shape, const int64_t *start, const int64_t *step) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t total = chm_prod(out_shape, rank);
  ir_buf *in = ir_param(&b, "in", chm_prod(in_shape, rank)), *out = ir_param(&b, "out", total);
  int vars[TPL_MAX_RANK] = {0};
  new_vars(&b, rank, vars);
  ir_expr *ii = ir_int(&b, 0), *oi = row_major(&b, rank, vars, out_shape, 0);
  for (int d = 0; d < rank; d++)
    ii = ir_add(&b, ir_muli(&b, ii, in_shape[d]), ir_addi(&b, ir_muli(&b, ir_var(&b, vars[d]), step[d]), start[d]));
  k->body = nest(&b, rank, vars, out_shape, ir_store(&b, out, oi, ir_load(&b, in, ii, 1)));
  return k;
}

ir_kernel *tpl_resize_kernel(chm_arena *a, const char *name, int64_t nc, int64_t ih, int64_t iw,
                             int64_t oh, int64_t ow, int linear) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int per = linear ? 3 : 1;
  ir_buf *in = ir_param(&b, "in", nc * ih * iw), *ty = ir_param(&b, "ty", oh * per);
  ir_buf *tx = ir_param(&b, "tx", ow * per), *out = ir_param(&b, "out", nc * oh * ow);
  int vt = ir_new_var(&b), vx = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *x = ir_var(&b, vx);
  ir_expr *plane = ir_muli(&b, ir_bin(&b, IR_DIV, t, ir_int(&b, oh)), ih * iw);
  ir_expr *y = ir_bin(&b, IR_MOD, t, ir_int(&b, oh));
  ir_expr *yi = ir_muli(&b, y, per), *xi = ir_muli(&b, x, per);
  /* table entry -> the element index of that row (times iw) or column */
  ir_expr *row0 = ir_muli(&b, ir_unary(&b, IR_TO_I64, ir_load(&b, ty, yi, 1)), iw);
  ir_expr *col0 = ir_unary(&b, IR_TO_I64, ir_load(&b, tx, xi, 1));
  ir_expr *v;
  if (!linear) {
    v = ir_load(&b, in, ir_add(&b, plane, ir_add(&b, row0, col0)), 1);
  } else {
    ir_expr *row1 = ir_muli(&b, ir_unary(&b, IR_TO_I64, ir_load(&b, ty, ir_addi(&b, yi, 1), 1)), iw);
    ir_expr *col1 = ir_unary(&b, IR_TO_I64, ir_load(&b, tx, ir_addi(&b, xi, 1), 1));
    ir_expr *wy = ir_load(&b, ty, ir_addi(&b, yi, 2), 1), *wx = ir_load(&b, tx, ir_addi(&b, xi, 2), 1);
    ir_expr *r0 = ir_add(&b, plane, row0), *r1 = ir_add(&b, plane, row1);
    ir_expr *a0 = ir_load(&b, in, ir_add(&b, r0, col0), 1), *a1 = ir_load(&b, in, ir_add(&b, r0, col1), 1);
    ir_expr *b0 = ir_load(&b, in, ir_add(&b, r1, col0), 1), *b1 = ir_load(&b, in, ir_add(&b, r1, col1), 1);
    ir_expr *top = ir_fma(&b, wx, ir_bin(&b, IR_SUB, a1, a0), a0);
    ir_expr *bot = ir_fma(&b, wx, ir_bin(&b, IR_SUB, b1, b0), b0);
    v = ir_fma(&b, wy, ir_bin(&b, IR_SUB, bot, top), top);
  }
  ir_stmt *s = ir_store(&b, out, ir_add(&b, ir_muli(&b, t, ow), x), v);
  int64_t total = nc * oh * ow;
  k->body = loop(&b, vt, nc * oh, total >= PAR_MIN_ELEMS ? IR_LOOP_PARALLEL : IR_LOOP_SERIAL,
                 loop(&b, vx, ow, IR_LOOP_SERIAL, s));
  return k;
}

ir_kernel *tpl_transpose_kernel(chm_arena *a, const char *name, int rank, const int64_t *in_shape,
                                const int64_t *perm) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t total = chm_prod(in_shape, rank), stride[TPL_MAX_RANK], out_shape[TPL_MAX_RANK];
  ir_buf *in = ir_param(&b, "in", total), *out = ir_param(&b, "out", total);
  for (int64_t d = rank - 1, s = 1; d >= 0; d--) {
    stride[d] = s;
    s *= in_shape[d];
  }
  int vars[TPL_MAX_RANK];
  ir_expr *ii = ir_int(&b, 0), *oi = ir_int(&b, 0);
  for (int d = 0; d < rank; d++) {
    vars[d] = ir_new_var(&b);
    ir_expr *v = ir_var(&b, vars[d]);
    out_shape[d] = in_shape[perm[d]];
    oi = ir_add(&b, ir_muli(&b, oi, out_shape[d]), v);
    ii = ir_add(&b, ii, ir_muli(&b, v, stride[perm[d]]));
  }
  k->body = nest(&b, rank, vars, out_shape, ir_store(&b, out, oi, ir_load(&b, in, ii, 1)));
  return k;
}

/* The source index of padded position v (src = v - pad) on an axis of n:
 * mirrored at the ends (reflect) or clamped (edge). */
static ir_expr *pad_source(ir_builder *b, tpl_pad_mode mode, ir_expr *src, int64_t n) {
  if (mode == TPL_PAD_EDGE) return clampi(b, src, 0, n - 1);
  ir_expr *m = ir_select(b, ir_bin(b, IR_LT, src, ir_int(b, 0)), ir_bin(b, IR_SUB, ir_int(b, 0), src), src);
  return ir_select(b, ir_bin(b, IR_LT, m, ir_int(b, n)), m, ir_bin(b, IR_SUB, ir_int(b, 2 * (n - 1)), m));
}

ir_kernel *tpl_pad_kernel(chm_arena *a, const char *name, tpl_pad_mode mode, int rank, const int64_t *in_shape,
                          const int64_t *pads, float value) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int64_t out_shape[TPL_MAX_RANK];
  for (int d = 0; d < rank; d++) out_shape[d] = in_shape[d] + pads[d] + pads[rank + d];
  ir_buf *in = ir_param(&b, "in", chm_prod(in_shape, rank)), *out = ir_param(&b, "out", chm_prod(out_shape, rank));
  int vars[TPL_MAX_RANK];
  ir_expr *ii = ir_int(&b, 0), *oi = ir_int(&b, 0), *ok = NULL;
  for (int d = 0; d < rank; d++) {
    vars[d] = ir_new_var(&b);
    ir_expr *v = ir_var(&b, vars[d]), *src = ir_addi(&b, v, -pads[d]);
    oi = ir_add(&b, ir_muli(&b, oi, out_shape[d]), v);
    if (mode != TPL_PAD_CONSTANT) {
      if (pads[d] || pads[rank + d]) src = pad_source(&b, mode, src, in_shape[d]);
      ii = ir_add(&b, ir_muli(&b, ii, in_shape[d]), src);
      continue;
    }
    ii = ir_add(&b, ir_muli(&b, ii, in_shape[d]), clampi(&b, src, 0, in_shape[d] - 1));
    ir_expr *r = in_range(&b, src, 0, in_shape[d]);
    ok = ok ? ir_bin(&b, IR_AND, ok, r) : r;
  }
  ir_expr *v = ok ? ir_select(&b, ok, ir_load(&b, in, ii, 1), ir_float(&b, value, 1)) : ir_load(&b, in, ii, 1);
  k->body = nest(&b, rank, vars, out_shape, ir_store(&b, out, oi, v));
  return k;
}

ir_kernel *tpl_concat_part(chm_arena *a, const char *name, int64_t outer, int64_t len,
                           int64_t off, int64_t out_row) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  ir_buf *in = ir_param(&b, "in", outer * len), *out = ir_param(&b, "out", outer * out_row);
  /* each outer row as rows of a power of two dividing len, so that a single
   * outer row (a batch of 1) can still be shared by the threads */
  int64_t row = 4096;
  while (row > 16 && len % row) row /= 2;
  if (len % row) row = len;
  int vars[3] = {ir_new_var(&b), ir_new_var(&b), ir_new_var(&b)};
  int64_t shape[3] = {outer, len / row, row};
  ir_expr *o = ir_var(&b, vars[0]), *i = ir_add(&b, ir_muli(&b, ir_var(&b, vars[1]), row), ir_var(&b, vars[2]));
  ir_stmt *s = ir_store(&b, out, ir_add(&b, ir_addi(&b, ir_muli(&b, o, out_row), off), i),
                        ir_load(&b, in, ir_add(&b, ir_muli(&b, o, len), i), 1));
  k->body = nest(&b, 3, vars, shape, s);
  return k;
}

ir_kernel *tpl_copy_kernel(chm_arena *a, const char *name, int64_t n) {
  return tpl_concat_part(a, name, 1, n, 0, n);
}
