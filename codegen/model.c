/*
 * model.c — lowers a normalized graph to one LLVM module (see model.h).
 *
 * 1. plan:   each node picks a template and the layout ("kind") it reads
 *            and writes: plain NCHW, blocked NCHW[L]c, or plain with a halo
 *            for a convolution over few channels. Convolutions record the
 *            halo (padding) they need on their input. A channel Concat of
 *            blocked convolutions and poolings is planned so that each
 *            writes into its slice of the Concat's output (plan_concat).
 * 2. lower:  nodes in order; an input needed in a kind its producer did not
 *            write gets a reorder step first; an output with a halo gets a
 *            zero-halo step; then the node's own kernel. Weights are packed
 *            into the template's layout and embedded.
 * 3. memory: every intermediate buffer gets a workspace offset, reusing
 *            space of buffers whose last reader already ran (a slice takes
 *            its parent's offset plus its own).
 * 4. emit:   distinct kernels (identical loop IR is emitted once), the
 *            constants, and NAME_run calling the steps in order: the same
 *            program goes to one of two back ends, LLVM (an object file,
 *            cg.h) or C (a source tree, emitc.h, with mdl_options.emit_c).
 */
#include "chamcc/emitc.h"
#include "chamcc/model.h"
#include "chamcc/tpl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_PLAIN, KIND_BLOCKED, KIND_PLAIN_HALO, N_KINDS };

/* One tensor stored in one layout. */
typedef struct vbuf {
  int tensor;        /* graph tensor */
  int kind;          /* KIND_* */
  tpl_view view;     /* 4-D view (plain tensors of other ranks: n = elements) */
  int64_t hh, hw;    /* halo requested by consumers */
  cg_arg loc;        /* input, output, constant or workspace offset */
  int first, last;   /* steps that write it first and read it last */
  int parent;        /* >= 0: a slice of that vbuf's storage (a concatenation's input, a reshape) */
  int64_t off;       /* the slice's first float in the parent */
} vbuf;

typedef struct step {
  ir_kernel *k;      /* the kernel */
  int n_args;        /* its params */
  int args[8];       /* vbuf index per param */
  int node;          /* the graph node it was lowered for, -1 for a graph output's copy */
  const char *config;/* the tuned template's config, for the C back end's comments (or NULL) */
} step;

typedef struct node_plan {
  int in_kind[8];    /* requested kind per input (-1: not read as a buffer) */
  int out_kind;      /* kind of the output */
} node_plan;

typedef struct lower {
  const gr_graph *g;
  const mdl_options *o;
  int L;                       /* vector lanes */
  chm_arena *a;                /* kernels, packed weights */
  node_plan *plan;             /* per node */
  int *primary;                /* per tensor: kind its producer writes */
  int *uses;                   /* per tensor: readers (inputs and residuals) */
  int *concat_of;              /* per tensor: the Concat output it is written into, -1 if none */
  int64_t *concat_cb;          /* ... at this channel block */
  int64_t *gapped_c;           /* per Concat output with gaps between its slices: its blocked
                                  channels, gaps included (0: none) */
  int64_t (*halo)[N_KINDS][2]; /* per tensor and kind: halo requested */
  int (*vb)[N_KINDS];          /* per tensor and kind: vbuf index or -1 */
  CHM_VEC(vbuf) bufs;
  CHM_VEC(step) steps;
  CHM_VEC(const float *) consts; /* constant data, by id */
  CHM_VEC(int64_t) const_n;      /* their element counts */
  int node;                      /* the node being lowered, -1 after the last */
  const char *config;            /* the next step's config text (lower_conv_blocked, lower_dense) */
  int wino;                      /* Winograd's output tile m for 3x3 convolutions, 0: none */
  float *scratch;                /* transformed weights before packing, reused by every layer */
  int64_t scratch_n;             /* its floats */
  chm_err *e;
} lower;

/* ---- small helpers ---- */

static const gr_tensor *T(lower *l, int t) { return &l->g->tensors[t]; }

static int is4d(lower *l, int t) { return T(l, t)->rank == 4; }

static int is_unary(gr_op op) { return gr_op_kind_of(op) == GR_OPK_UNARY; }

static int is_binary(gr_op op) { return gr_op_kind_of(op) == GR_OPK_BINARY; }

/* The template's operation for a binary elementwise op. */
static tpl_binop binary_op(gr_op op) {
  switch (op) {
  case GR_OP_ADD: return TPL_ADD;
  case GR_OP_SUB: return TPL_SUB;
  case GR_OP_MUL: return TPL_MUL;
  case GR_OP_DIV: return TPL_DIV;
  case GR_OP_MAX: return TPL_MAX;
  case GR_OP_POW: return TPL_POW;
  case GR_OP_PRELU: return TPL_PRELU;
  default: return TPL_MIN;
  }
}

static tpl_epi node_epi(const gr_node *n) {
  tpl_epi e = {n->act, n->act_a, n->act_b, n->residual >= 0, {0}, n->clamp, n->lo, n->hi};
  return e;
}

/* Conv attributes, for 2-D (rank 4) and 1-D (rank 3, as height 1). */
typedef struct conv_attrs {
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
} conv_attrs;

static conv_attrs get_conv(lower *l, const gr_node *n) {
  conv_attrs c = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1};
  const int64_t *k = NULL, *s = NULL, *d = NULL, *p = NULL;
  int nk = gr_attr_ints(n, "kernel_shape", &k), ns = gr_attr_ints(n, "strides", &s);
  int nd = gr_attr_ints(n, "dilations", &d), np = gr_attr_ints(n, "pads", &p);
  if (nk == 2) c.kh = k[0], c.kw = k[1];
  else if (nk == 1) c.kw = k[0];
  if (ns == 2) c.sh = s[0], c.sw = s[1];
  else if (ns == 1) c.sw = s[0];
  if (nd == 2) c.dh = d[0], c.dw = d[1];
  else if (nd == 1) c.dw = d[0];
  if (np == 4) c.pt = p[0], c.pl = p[1], c.pb = p[2], c.pr = p[3];
  else if (np == 2) c.pl = p[0], c.pr = p[1];
  c.group = gr_attr_int(n, "group", 1);
  (void)l;
  return c;
}

/* NCHW dims of a rank-3 or rank-4 tensor (rank 3 as height 1). */
static void nchw(const gr_tensor *t, int64_t d[4]) {
  if (t->rank == 4) {
    memcpy(d, t->shape, 4 * sizeof *d);
  } else {
    d[0] = t->shape[0];
    d[1] = t->shape[1];
    d[2] = 1;
    d[3] = t->rank >= 3 ? t->shape[2] : 1;
  }
}

static int conv_is_blocked(lower *l, const gr_node *n) {
  if (!is4d(l, n->in[0]) || !T(l, n->in[1])->data) return 0;
  conv_attrs c = get_conv(l, n);
  int64_t C = T(l, n->in[0])->shape[1], K = T(l, n->out[0])->shape[1];
  return c.group == 1 || (c.group == C && K == C) ||
         tpl_conv_groups_mode(C, K, c.group, l->L) != TPL_GROUPS_NONE;
}

/* The output tile m of Winograd's F(m x m, 3 x 3) for conv node n, or 0
 * to convolve directly: a 3x3, stride-1, undilated, ungrouped convolution
 * of a blocked input with at least WINO_MIN_CHANNELS input and output
 * channels, whose output is at least WINO_MIN_SIDE tiles on a side (below
 * that, the products reuse each transformed weight too few times). */
enum { WINO_MIN_CHANNELS = 16, WINO_MIN_SIDE = 4, WINO_AUTO = 1 };
static int wino_m(lower *l, const gr_node *n) {
  if (!l->wino || n->op != GR_OP_CONV || !conv_is_blocked(l, n)) return 0;
  conv_attrs c = get_conv(l, n);
  if (!is4d(l, n->in[0]) || c.group != 1 || c.kh != 3 || c.kw != 3 || c.sh != 1 || c.sw != 1 || c.dh != 1 ||
      c.dw != 1)
    return 0;
  const gr_tensor *x = T(l, n->in[0]), *y = T(l, n->out[0]);
  if (x->shape[1] < WINO_MIN_CHANNELS || y->shape[1] < WINO_MIN_CHANNELS) return 0;
  for (int m = 4; m >= 2; m -= 2) /* the larger tile saves more multiplications */
    if ((l->wino == m || l->wino == WINO_AUTO) && tpl_wino_tiles(m, y->shape[2]) >= WINO_MIN_SIDE &&
        tpl_wino_tiles(m, y->shape[3]) >= WINO_MIN_SIDE)
      return m;
  return 0;
}

/* The unary op may run on the zero padding lanes of a blocked layout. */
static int unary_zero_safe(const gr_node *n) {
  float a, b;
  chm_act act = gr_node_act(n, &a, &b);
  return chm_act_zero_safe(act, a, b);
}

/* ReduceMean / ReduceMax over H and W of a 4-D tensor: a global pooling. */
static int is_spatial_reduce(lower *l, const gr_node *n) {
  const int64_t *axes;
  if (n->op != GR_OP_REDUCE_MEAN && n->op != GR_OP_REDUCE_MAX) return 0;
  return is4d(l, n->in[0]) && gr_attr_ints(n, "axes", &axes) == 2 && axes[0] == 2 && axes[1] == 3;
}

/* Can 4-D x be read blocked by a binary op whose output is y: the same
 * shape, or one value per (image or all images, channel) broadcast over the
 * plane (the scale of a squeeze-and-excitation block)? Div and Pow stay
 * plain: the padding lanes (0 / 0, 0 ** -1) would turn into NaN. */
static int blocked_operand(const gr_tensor *x, const gr_tensor *y) {
  if (!memcmp(x->shape, y->shape, 4 * sizeof(int64_t))) return 1;
  return (x->shape[0] == y->shape[0] || x->shape[0] == 1) && x->shape[1] == y->shape[1] &&
         x->shape[2] == 1 && x->shape[3] == 1;
}

/* ---- 1. plan ---- */

/* Is tensor t, not a graph output, read only as the input of convolutions
 * in the blocked layout (as a squeeze-and-excitation block's pooled
 * channels are by its first 1x1 convolution)? */
static int only_blocked_convs_read(lower *l, int t) {
  if (T(l, t)->is_output || T(l, t)->rank != 4) return 0;
  for (int i = 0; i < l->g->n_nodes; i++) {
    const gr_node *r = &l->g->nodes[i];
    int reads = r->residual == t;
    for (int j = 0; j < r->n_in; j++) reads |= r->in[j] == t;
    if (reads && (r->op != GR_OP_CONV || r->in[0] != t || r->residual == t || !conv_is_blocked(l, r))) return 0;
  }
  return 1;
}

static void request(lower *l, node_plan *p, int i, int kind) { p->in_kind[i] = kind; }

static void plan_node(lower *l, int ni) {
  const gr_node *n = &l->g->nodes[ni];
  node_plan *p = &l->plan[ni];
  for (int i = 0; i < 8; i++) p->in_kind[i] = -1;
  for (int i = 0; i < n->n_in && i < 8; i++)
    if (n->in[i] >= 0) p->in_kind[i] = KIND_PLAIN;
  p->out_kind = KIND_PLAIN;
  int x = n->in[0];
  if (n->op == GR_OP_CONV && conv_is_blocked(l, n)) {
    conv_attrs c = get_conv(l, n);
    int64_t C = T(l, x)->shape[1];
    int kind = (c.group == 1 && C <= 4 && l->primary[x] != KIND_BLOCKED) ? KIND_PLAIN_HALO : KIND_BLOCKED;
    request(l, p, 0, kind);
    p->in_kind[1] = p->in_kind[2] = -1; /* packed weights, bias */
    int64_t hh = c.pt > c.pb ? c.pt : c.pb, hw = c.pl > c.pr ? c.pl : c.pr;
    int m = kind == KIND_BLOCKED ? wino_m(l, n) : 0;
    if (m) { /* the last tiles' patches overhang the image */
      const gr_tensor *y = T(l, n->out[0]);
      hh = tpl_wino_halo(m, T(l, x)->shape[2], y->shape[2], c.pt, c.pb);
      hw = tpl_wino_halo(m, T(l, x)->shape[3], y->shape[3], c.pl, c.pr);
    }
    if (l->halo[x][kind][0] < hh) l->halo[x][kind][0] = hh;
    if (l->halo[x][kind][1] < hw) l->halo[x][kind][1] = hw;
    p->out_kind = KIND_BLOCKED;
  } else if ((n->op == GR_OP_MAX_POOL || n->op == GR_OP_AVERAGE_POOL) && is4d(l, x) &&
             l->primary[x] == KIND_BLOCKED) {
    request(l, p, 0, KIND_BLOCKED);
    p->out_kind = KIND_BLOCKED;
  } else if ((n->op == GR_OP_GLOBAL_AVERAGE_POOL || n->op == GR_OP_GLOBAL_MAX_POOL ||
              is_spatial_reduce(l, n)) && is4d(l, x) && l->primary[x] == KIND_BLOCKED) {
    request(l, p, 0, KIND_BLOCKED);
    if (only_blocked_convs_read(l, n->out[0])) p->out_kind = KIND_BLOCKED; /* squeeze-and-excitation */
  } else if (is_unary(n->op) && is4d(l, x) && l->primary[x] == KIND_BLOCKED && unary_zero_safe(n)) {
    request(l, p, 0, KIND_BLOCKED);
    p->out_kind = KIND_BLOCKED;
  } else if (is_binary(n->op) && n->op != GR_OP_DIV && n->op != GR_OP_POW && is4d(l, x) &&
             is4d(l, n->in[1]) && l->primary[x] == KIND_BLOCKED && l->primary[n->in[1]] == KIND_BLOCKED &&
             blocked_operand(T(l, x), T(l, n->out[0])) && blocked_operand(T(l, n->in[1]), T(l, n->out[0]))) {
    request(l, p, 0, KIND_BLOCKED);
    request(l, p, 1, KIND_BLOCKED);
    p->out_kind = KIND_BLOCKED;
  }
  l->primary[n->out[0]] = p->out_kind;
}

/* Does node p write a blocked output through out_buf and its view, so that
 * the output may be a slice of a Concat's (a convolution, or a pooling of
 * a blocked input: an Inception module's pool branch)? */
static int writes_slice(lower *l, int p) {
  gr_op op = l->g->nodes[p].op;
  return (op == GR_OP_CONV || op == GR_OP_MAX_POOL || op == GR_OP_AVERAGE_POOL) &&
         l->plan[p].out_kind == KIND_BLOCKED;
}

/* Is tensor t read only as the input of ungrouped convolutions in the
 * blocked layout, so that gaps between Concat slices can be skipped by
 * zero weights? */
static int gaps_readable(lower *l, int t) {
  if (!only_blocked_convs_read(l, t)) return 0;
  for (int i = 0; i < l->g->n_nodes; i++) {
    const gr_node *r = &l->g->nodes[i];
    if (r->op == GR_OP_CONV && r->in[0] == t && get_conv(l, r).group != 1) return 0;
  }
  return 1;
}

/* A channel Concat of batch-1 blocked outputs (writes_slice) that nothing
 * else reads: the producers write straight into their slices of a blocked
 * output, and the Concat itself costs nothing. Each slice starts at a
 * channel block. If one that is not the last ends inside a block, the
 * rest of that block is a gap (what the producer writes in its padding
 * lanes); that is allowed when only ungrouped convolutions read the
 * Concat (gaps_readable): their weights get zeros at the gaps
 * (conv_weights). Otherwise such a Concat is a copy. */
static void plan_concat(lower *l, int ni) {
  const gr_node *n = &l->g->nodes[ni];
  const gr_tensor *y = T(l, n->out[0]);
  if (n->op != GR_OP_CONCAT || y->rank != 4 || y->shape[0] != 1 || gr_attr_int(n, "axis", 0) != 1) return;
  int ok = 1, whole = 1;
  for (int i = 0; i < n->n_in && ok; i++) {
    int t = n->in[i], p = T(l, t)->producer;
    ok = p >= 0 && writes_slice(l, p) && l->uses[t] == 1 && !T(l, t)->is_output && l->concat_of[t] < 0;
    whole &= i == n->n_in - 1 || T(l, t)->shape[1] % l->L == 0;
  }
  if (!ok || (!whole && !gaps_readable(l, n->out[0]))) return;
  int64_t cb = 0;
  for (int i = 0; i < n->n_in; i++) {
    l->concat_of[n->in[i]] = n->out[0];
    l->concat_cb[n->in[i]] = cb;
    if (!whole && i == n->n_in - 1) l->gapped_c[n->out[0]] = cb * l->L + T(l, n->in[i])->shape[1];
    cb += (T(l, n->in[i])->shape[1] + l->L - 1) / l->L;
  }
  l->plan[ni].out_kind = KIND_BLOCKED;
  l->primary[n->out[0]] = KIND_BLOCKED;
}

/* ---- 2. lower ---- */

static tpl_view view_of(lower *l, int t, int kind) {
  int64_t d[4];
  tpl_view v = {0};
  const gr_tensor *x = T(l, t);
  if (x->rank != 4 && kind == KIND_PLAIN) {
    v = (tpl_view){gr_numel(x), 1, 1, 1, 1, 0, 0};
    return v;
  }
  nchw(x, d);
  if (kind == KIND_BLOCKED && l->gapped_c[t]) d[1] = l->gapped_c[t];
  v = (tpl_view){d[0], d[1], d[2], d[3], kind == KIND_BLOCKED ? l->L : 1, 0, 0};
  if (kind != KIND_PLAIN) {
    v.hh = l->halo[t][kind][0];
    v.hw = l->halo[t][kind][1];
  }
  return v;
}

static int add_const(lower *l, const float *data, int64_t n) {
  chm_vec_push(&l->consts, data);
  chm_vec_push(&l->const_n, n);
  return l->consts.len - 1;
}

static int new_vbuf(lower *l, int t, int kind, cg_arg loc) {
  vbuf b = {.tensor = t, .kind = kind, .loc = loc, .first = l->steps.len, .last = -1, .parent = -1};
  b.view = view_of(l, t, kind);
  chm_vec_push(&l->bufs, b);
  if (t >= 0) l->vb[t][kind] = l->bufs.len - 1;
  return l->bufs.len - 1;
}

/* A vbuf holding constant data (not tied to a tensor view). */
static int const_vbuf(lower *l, const float *data, int64_t n) {
  int id = add_const(l, data, n);
  vbuf b = {.tensor = -1, .kind = KIND_PLAIN, .loc = {CG_ARG_CONST, id}, .first = -1, .last = -1, .parent = -1};
  chm_vec_push(&l->bufs, b);
  return l->bufs.len - 1;
}

static void add_step(lower *l, ir_kernel *k, const int *args, int n) {
  step s = {.k = k, .n_args = n, .node = l->node, .config = l->config};
  l->config = NULL;
  for (int i = 0; i < n; i++) {
    s.args[i] = args[i];
    vbuf *b = &l->bufs.data[args[i]];
    if (b->first < 0 && b->loc.kind == CG_ARG_WS) b->first = l->steps.len;
    b->last = l->steps.len;
    if (b->parent >= 0) l->bufs.data[b->parent].last = l->steps.len; /* a slice keeps its parent live */
  }
  CHM_ASSERT(k->n_params == n);
  chm_vec_push(&l->steps, s);
}

static char *kname(lower *l, const char *what) {
  return chm_arena_printf(l->a, "%s_%s_%d", l->o->prefix, what, l->steps.len);
}

static int out_buf(lower *l, int t, int kind);

/* The storage of tensor t in `kind`, creating it (by a reorder) if needed. */
static int get_buf(lower *l, int t, int kind) {
  if (l->vb[t][kind] >= 0) return l->vb[t][kind];
  const gr_tensor *x = T(l, t);
  if (x->data && kind == KIND_PLAIN)
    return l->vb[t][kind] = new_vbuf(l, t, kind, (cg_arg){CG_ARG_CONST, add_const(l, x->data, gr_numel(x))});
  int src = -1;
  for (int k = 0; k < N_KINDS && src < 0; k++)
    if (l->vb[t][k] >= 0) src = l->vb[t][k];
  if (src < 0) src = get_buf(l, t, KIND_PLAIN); /* constants */
  int dst = out_buf(l, t, kind);
  tpl_view vin = l->bufs.data[src].view, vout = l->bufs.data[dst].view;
  int args[2] = {src, dst};
  add_step(l, tpl_reorder(l->a, kname(l, "reorder"), &vin, &vout), args, 2);
  return dst;
}

/* Creates the output storage of node output t; zeroes its halo if any. A
 * tensor a Concat takes blocked is a slice of the Concat's output: that is
 * made (and its halo zeroed) by the first of its inputs. */
static int out_buf(lower *l, int t, int kind) {
  const gr_tensor *x = T(l, t);
  int whole = l->concat_of[t];
  if (whole >= 0 && kind == KIND_BLOCKED) {
    int p = l->vb[whole][KIND_BLOCKED] >= 0 ? l->vb[whole][KIND_BLOCKED] : out_buf(l, whole, KIND_BLOCKED);
    tpl_view pv = l->bufs.data[p].view;
    int b = new_vbuf(l, t, kind, (cg_arg){CG_ARG_WS, -1});
    vbuf *s = &l->bufs.data[b];
    s->view.hh = pv.hh, s->view.hw = pv.hw; /* the parent's planes */
    s->parent = p;
    s->off = l->concat_cb[t] * (pv.h + 2 * pv.hh) * (pv.w + 2 * pv.hw) * pv.cb;
    return b;
  }
  cg_arg loc = {CG_ARG_WS, -1};
  if (kind == KIND_PLAIN && x->is_output)
    for (int i = 0; i < l->g->n_outputs; i++)
      if (l->g->outputs[i] == t) loc = (cg_arg){CG_ARG_OUTPUT, i};
  int b = new_vbuf(l, t, kind, loc);
  tpl_view v = l->bufs.data[b].view;
  if (v.hh || v.hw) {
    int args[1] = {b};
    add_step(l, tpl_zero_halo(l->a, kname(l, "halo"), &v), args, 1);
  }
  return b;
}

static float *pack_floats(lower *l, int64_t n) { return chm_arena_alloc(l->a, (size_t)(n ? n : 1) * sizeof(float)); }

static const float *zeros(lower *l, int64_t n) { return pack_floats(l, n); }

/* Conv n's weights [K][C][KH][KW]; for an input with gaps (plan_concat),
 * spread over its blocked channels with zeros at the gaps. */
static const float *conv_weights(lower *l, const gr_node *n) {
  int x = n->in[0];
  const float *W = T(l, n->in[1])->data;
  if (!l->gapped_c[x]) return W;
  const gr_tensor *wt = T(l, n->in[1]);
  int64_t K = wt->shape[0], C = wt->shape[1], C2 = l->gapped_c[x], taps = wt->shape[2] * wt->shape[3];
  float *W2 = pack_floats(l, K * C2 * taps);
  memset(W2, 0, (size_t)(K * C2 * taps) * sizeof *W2);
  const gr_node *cat = &l->g->nodes[T(l, x)->producer];
  for (int i = 0, c = 0; i < cat->n_in; i++)
    for (int64_t j = 0; j < T(l, cat->in[i])->shape[1]; j++, c++) {
      int64_t c2 = l->concat_cb[cat->in[i]] * l->L + j;
      for (int64_t k = 0; k < K; k++)
        memcpy(W2 + (k * C2 + c2) * taps, W + (k * C + c) * taps, (size_t)taps * sizeof *W);
    }
  return W2;
}

static const float *conv_bias(lower *l, const gr_node *n, int64_t k);
static int conv_step(lower *l, const gr_node *n, const tpl_conv *w, const float *W, int *args, int na);
static int lower_conv_wino(lower *l, const gr_node *n, int m);

static int lower_conv_blocked(lower *l, const gr_node *n, const node_plan *p) {
  int m = p->in_kind[0] == KIND_BLOCKED ? wino_m(l, n) : 0;
  if (m) return lower_conv_wino(l, n, m);
  conv_attrs c = get_conv(l, n);
  int in = get_buf(l, n->in[0], p->in_kind[0]);
  int res = n->residual >= 0 ? get_buf(l, n->residual, KIND_BLOCKED) : -1;
  int out = out_buf(l, n->out[0], KIND_BLOCKED);
  tpl_conv w = {0};
  w.in = l->bufs.data[in].view;
  w.out = l->bufs.data[out].view;
  w.kh = c.kh, w.kw = c.kw, w.sh = c.sh, w.sw = c.sw, w.dh = c.dh, w.dw = c.dw, w.pt = c.pt, w.pl = c.pl;
  w.depthwise = c.group != 1 && c.group == w.in.c && w.out.c == w.in.c;
  w.groups = w.depthwise ? 1 : c.group;
  w.epi = node_epi(n);
  w.vregs = l->o->target->vregs;
  w.l2 = l->o->target->l2, w.l1d = l->o->target->l1d;
  if (res >= 0) w.epi.res = l->bufs.data[res].view;
  int args[5] = {in, -1, const_vbuf(l, conv_bias(l, n, w.out.c), tpl_view_cblocks(&w.out) * l->L)}, na = 3;
  if (res >= 0) args[na++] = res;
  args[na++] = out;
  return conv_step(l, n, &w, conv_weights(l, n), args, na);
}

/* The conv's bias packed for its blocked output (zeros without one). */
static const float *conv_bias(lower *l, const gr_node *n, int64_t k) {
  float *bp = pack_floats(l, (k + l->L - 1) / l->L * l->L);
  tpl_pack_bias(k, l->L, n->n_in > 2 && n->in[2] >= 0 ? T(l, n->in[2])->data : NULL, bp);
  return bp;
}

/* The step of convolution template workload w (for node n) with weights W
 * [K][C/g][KH][KW]: the config from the tuning provider, else the
 * default; args[1] is set to the packed weights. */
static int conv_step(lower *l, const gr_node *n, const tpl_conv *w, const float *W, int *args, int na) {
  tpl_conv_cfg cfg = tpl_conv_default(w);
  const mdl_tuning *tu = l->o->tuning;
  if (tu && tu->conv) {
    tpl_conv_cfg tuned = cfg;
    tu->conv(tu->ctx, w, &tuned);
    if (!tpl_conv_check(w, &tuned)) cfg = tuned; /* a stale log entry falls back */
  }
  const char *why = tpl_conv_check(w, &cfg);
  if (why) return gr_node_error(l->e, l->g, n, "internal: no valid conv schedule (%s)", why);
  float *wp = pack_floats(l, tpl_conv_wsize(w));
  tpl_conv_pack(w, W, wp);
  args[1] = const_vbuf(l, wp, tpl_conv_wsize(w));
  ir_kernel *k = tpl_conv_kernel(l->a, kname(l, w->depthwise ? "dwconv" : w->groups > 1 ? "grconv" : "conv"), w, &cfg);
  l->config = chm_arena_printf(l->a, "config: oc_bn %d ow_bn %d oh_bn %d ic_bn %d win_outer %d unroll_kw %d "
                               "row_outer %d grain %d", cfg.oc_bn, cfg.ow_bn, cfg.oh_bn, cfg.ic_bn, cfg.win_outer,
                               cfg.unroll_kw, cfg.row_outer, cfg.grain);
  add_step(l, k, args, na);
  return 0;
}

/* l->scratch with room for n floats: one buffer for every layer's
 * transformed weights, so that its pages are faulted in once. */
static float *scratch_floats(lower *l, int64_t n) {
  if (n > l->scratch_n) {
    free(l->scratch);
    l->scratch = chm_malloc((size_t)n * sizeof(float));
    l->scratch_n = n;
  }
  return l->scratch;
}

/* A workspace buffer of a node's own (not a tensor's): Winograd's V and M. */
static int scratch_vbuf(lower *l, tpl_view v) {
  vbuf b = {.tensor = -1, .kind = KIND_BLOCKED, .view = v, .loc = {CG_ARG_WS, -1}, .first = -1, .last = -1,
            .parent = -1};
  chm_vec_push(&l->bufs, b);
  return l->bufs.len - 1;
}

/* A 3x3 convolution by Winograd's F(m x m, 3 x 3) (tpl_wino.c): the input
 * transform, the products as a tuned grouped 1x1 convolution, the output
 * transform with the bias and the fused epilogue. */
static int lower_conv_wino(lower *l, const gr_node *n, int m) {
  conv_attrs c = get_conv(l, n);
  int in = get_buf(l, n->in[0], KIND_BLOCKED);
  int res = n->residual >= 0 ? get_buf(l, n->residual, KIND_BLOCKED) : -1;
  int out = out_buf(l, n->out[0], KIND_BLOCKED);
  tpl_wino w = {.in = l->bufs.data[in].view, .out = l->bufs.data[out].view, .m = m, .pt = c.pt, .pl = c.pl,
                .epi = node_epi(n)};
  if (res >= 0) w.epi.res = l->bufs.data[res].view;
  tpl_conv pc = tpl_wino_product(&w, l->o->target->vregs);
  int vb = scratch_vbuf(l, pc.in), mb = scratch_vbuf(l, pc.out);
  int a1[2] = {in, vb};
  add_step(l, tpl_wino_input(l->a, kname(l, "wino_in"), &w), a1, 2);
  int a = tpl_wino_alpha(m);
  int64_t K = w.out.c, C = w.in.c, kp = tpl_view_cblocks(&w.out) * l->L, cp = tpl_view_cblocks(&w.in) * l->L;
  float *U = scratch_floats(l, a * a * kp * cp);
  tpl_wino_weights(m, conv_weights(l, n), K, C, l->L, U);
  int a2[4] = {vb, -1, const_vbuf(l, zeros(l, a * a * kp), a * a * kp), mb};
  if (conv_step(l, n, &pc, U, a2, 4)) return -1;
  int a3[4] = {mb, const_vbuf(l, conv_bias(l, n, K), kp)}, na = 2;
  if (res >= 0) a3[na++] = res;
  a3[na++] = out;
  add_step(l, tpl_wino_output(l->a, kname(l, "wino_out"), &w), a3, na);
  return 0;
}

static int lower_conv_generic(lower *l, const gr_node *n) {
  conv_attrs c = get_conv(l, n);
  int64_t di[4], dout[4];
  nchw(T(l, n->in[0]), di);
  nchw(T(l, n->out[0]), dout);
  tpl_gconv g = {di[0], di[1], di[2], di[3], dout[1], dout[2], dout[3], c.kh, c.kw, c.sh, c.sw,
                 c.dh, c.dw, c.pt, c.pl, c.group, node_epi(n)};
  int args[5] = {get_buf(l, n->in[0], KIND_PLAIN), get_buf(l, n->in[1], KIND_PLAIN)}, na = 2;
  args[na++] = n->n_in > 2 && n->in[2] >= 0 ? get_buf(l, n->in[2], KIND_PLAIN) : const_vbuf(l, zeros(l, g.k), g.k);
  if (n->residual >= 0) args[na++] = get_buf(l, n->residual, KIND_PLAIN);
  args[na++] = out_buf(l, n->out[0], KIND_PLAIN);
  add_step(l, tpl_gconv_kernel(l->a, kname(l, "gconv"), &g), args, na);
  return 0;
}

/* out = A x B (+ bias) with constant B: the packed dense template. */
static int lower_dense(lower *l, const gr_node *n, int64_t m, int64_t k, int64_t nn, int trans_a,
                       int trans_b, float alpha, const float *B, const float *bias, float beta) {
  tpl_dense w = {m, k, nn, trans_a, l->L, node_epi(n), l->o->target->vregs};
  tpl_dense_cfg cfg = tpl_dense_default(&w);
  const mdl_tuning *tu = l->o->tuning;
  if (tu && tu->dense) {
    tpl_dense_cfg tuned = cfg;
    tu->dense(tu->ctx, &w, &tuned);
    int64_t nb = (nn + l->L - 1) / l->L;
    if (tuned.m_bn >= 1 && m % tuned.m_bn == 0 && tuned.nb_bn >= 1 && nb % tuned.nb_bn == 0) cfg = tuned;
  }
  float *wp = pack_floats(l, tpl_dense_wsize(&w));
  tpl_dense_pack(&w, B, trans_b, alpha, wp);
  int64_t np = (nn + l->L - 1) / l->L * l->L;
  float *bp = pack_floats(l, np);
  for (int64_t i = 0; i < nn && bias; i++) bp[i] = beta * bias[i];
  int args[5] = {get_buf(l, n->in[0], KIND_PLAIN), const_vbuf(l, wp, tpl_dense_wsize(&w)), const_vbuf(l, bp, np)};
  int na = 3;
  if (n->residual >= 0) args[na++] = get_buf(l, n->residual, KIND_PLAIN);
  args[na++] = out_buf(l, n->out[0], KIND_PLAIN);
  l->config = chm_arena_printf(l->a, "config: nb_bn %d m_bn %d", cfg.nb_bn, cfg.m_bn);
  add_step(l, tpl_dense_kernel(l->a, kname(l, "dense"), &w, &cfg), args, na);
  return 0;
}

/* Strides of a tensor of shape s (rank r) broadcast to rank `rank` dims. */
static void bcast_strides(const int64_t *s, int r, const int64_t *out, int rank, int64_t *st) {
  int64_t acc = 1;
  for (int d = rank - 1; d >= 0; d--) {
    int sd = d - (rank - r);
    int64_t dim = sd >= 0 ? s[sd] : 1;
    st[d] = (dim == 1 && out[d] != 1) || sd < 0 ? 0 : acc;
    if (sd >= 0) acc *= dim;
  }
}

static int lower_gemm(lower *l, const gr_node *n) {
  const gr_tensor *A = T(l, n->in[0]), *B = T(l, n->in[1]), *Y = T(l, n->out[0]);
  int ta = (int)gr_attr_int(n, "transA", 0), tb = (int)gr_attr_int(n, "transB", 0);
  float alpha = gr_attr_float(n, "alpha", 1), beta = gr_attr_float(n, "beta", 1);
  int64_t M = Y->shape[0], N = Y->shape[1], K = ta ? A->shape[0] : A->shape[1];
  const gr_tensor *C = n->n_in > 2 && n->in[2] >= 0 ? T(l, n->in[2]) : NULL;
  int c_is_bias = !C || (C->data && gr_numel(C) == N && (C->rank < 2 || C->shape[0] == 1)) ||
                  (C && C->data && gr_numel(C) == 1 && N == 1);
  if (B->data && c_is_bias) {
    const float *bias = C ? C->data : NULL;
    if (C && gr_numel(C) == 1 && N > 1) bias = NULL;
    return lower_dense(l, n, M, K, N, ta, tb, alpha, B->data, bias, beta);
  }
  tpl_gemm g = {1, M, K, N, 0, ta ? 1 : K, ta ? M : 1, 0, tb ? 1 : N, tb ? K : 1, C != NULL, 0, 0, 0,
                alpha, beta, node_epi(n)};
  if (C) {
    int64_t st[2];
    bcast_strides(C->shape, C->rank, Y->shape, 2, st);
    g.c_ms = st[0];
    g.c_ns = st[1];
  }
  int args[5] = {get_buf(l, n->in[0], KIND_PLAIN), get_buf(l, n->in[1], KIND_PLAIN)}, na = 2;
  if (C) args[na++] = get_buf(l, n->in[2], KIND_PLAIN);
  if (n->residual >= 0) args[na++] = get_buf(l, n->residual, KIND_PLAIN);
  args[na++] = out_buf(l, n->out[0], KIND_PLAIN);
  add_step(l, tpl_gemm_kernel(l->a, kname(l, "gemm"), &g), args, na);
  return 0;
}

static int lower_matmul(lower *l, const gr_node *n) {
  const gr_tensor *A = T(l, n->in[0]), *B = T(l, n->in[1]), *Y = T(l, n->out[0]);
  int64_t K = A->shape[A->rank - 1];
  int64_t N = B->rank == 1 ? 1 : B->shape[B->rank - 1];
  if (K == 0 || gr_numel(Y) == 0)
    return gr_node_error(l->e, l->g, n, "a MatMul with an empty dimension is not supported");
  if (B->data && B->rank <= 2) {
    int64_t M = gr_numel(A) / K;
    const float *bias = n->n_in > 2 ? T(l, n->in[2])->data : NULL; /* fused (graph/fuse.c) */
    return lower_dense(l, n, M, K, N, 0, 0, 1.0f, B->data, bias, 1.0f);
  }
  int64_t M = A->rank == 1 ? 1 : A->shape[A->rank - 2];
  int64_t batch = gr_numel(Y) / (M * N);
  int64_t a_batch = gr_numel(A) / (M * K), b_batch = gr_numel(B) / (K * N);
  if ((a_batch != batch && a_batch != 1) || (b_batch != batch && b_batch != 1))
    return gr_node_error(l->e, l->g, n, "MatMul with partial batch broadcasting is not supported");
  tpl_gemm g = {batch, M, K, N, a_batch == 1 ? 0 : M * K, K, 1, b_batch == 1 ? 0 : K * N, N, 1,
                0, 0, 0, 0, 1.0f, 0.0f, node_epi(n)};
  int args[4] = {get_buf(l, n->in[0], KIND_PLAIN), get_buf(l, n->in[1], KIND_PLAIN)}, na = 2;
  if (n->residual >= 0) args[na++] = get_buf(l, n->residual, KIND_PLAIN);
  args[na++] = out_buf(l, n->out[0], KIND_PLAIN);
  add_step(l, tpl_gemm_kernel(l->a, kname(l, "matmul"), &g), args, na);
  return 0;
}

static int lower_pool(lower *l, const gr_node *n, const node_plan *p) {
  int global = n->op == GR_OP_GLOBAL_AVERAGE_POOL || n->op == GR_OP_GLOBAL_MAX_POOL ||
               is_spatial_reduce(l, n);
  tpl_pool q = {0};
  int in = get_buf(l, n->in[0], p->in_kind[0]);
  q.in = l->bufs.data[in].view;
  q.is_max = n->op == GR_OP_MAX_POOL || n->op == GR_OP_GLOBAL_MAX_POOL || n->op == GR_OP_REDUCE_MAX;
  q.global = global;
  int out;
  if (global) {
    out = out_buf(l, n->out[0], p->out_kind);
    if (p->out_kind == KIND_BLOCKED) q.out = l->bufs.data[out].view;
  } else {
    conv_attrs c = get_conv(l, n);
    q.kh = c.kh, q.kw = c.kw, q.sh = c.sh, q.sw = c.sw, q.dh = c.dh, q.dw = c.dw;
    q.pt = c.pt, q.pl = c.pl, q.pb = c.pb, q.pr = c.pr;
    q.count_include_pad = (int)gr_attr_int(n, "count_include_pad", 0);
    out = out_buf(l, n->out[0], p->out_kind);
    q.out = l->bufs.data[out].view;
    if (p->out_kind == KIND_PLAIN && !is4d(l, n->out[0])) { /* 1-D pooling as height 1 */
      int64_t d[4];
      nchw(T(l, n->out[0]), d);
      q.out = (tpl_view){d[0], d[1], d[2], d[3], 1, 0, 0};
    }
  }
  if (!is4d(l, n->in[0]) && p->in_kind[0] == KIND_PLAIN) {
    int64_t d[4];
    nchw(T(l, n->in[0]), d);
    q.in = (tpl_view){d[0], d[1], d[2], d[3], 1, 0, 0};
  }
  int args[2] = {in, out};
  add_step(l, tpl_pool_kernel(l->a, kname(l, global ? "gpool" : "pool"), &q), args, 2);
  return 0;
}

static int lower_elementwise(lower *l, const gr_node *n, const node_plan *p) {
  tpl_elt e = {0};
  e.op = binary_op(n->op);
  e.n_in = is_binary(n->op) ? 2 : 1;
  if (e.n_in == 1) e.epi.act = gr_node_act(n, &e.epi.a, &e.epi.b);
  else e.epi = node_epi(n);
  e.epi.has_residual = 0;
  if (p->out_kind == KIND_BLOCKED) {
    int a = get_buf(l, n->in[0], KIND_BLOCKED), b = e.n_in > 1 ? get_buf(l, n->in[1], KIND_BLOCKED) : -1;
    int out = out_buf(l, n->out[0], KIND_BLOCKED);
    tpl_view va = l->bufs.data[a].view, vo = l->bufs.data[out].view, vb2 = b >= 0 ? l->bufs.data[b].view : va;
    int args[3] = {a, b >= 0 ? b : out, out};
    if (b < 0) args[1] = out;
    add_step(l, tpl_elt_blocked(l->a, kname(l, "elt"), &e, &va, b >= 0 ? &vb2 : NULL, &vo), args, b >= 0 ? 3 : 2);
    return 0;
  }
  const gr_tensor *y = T(l, n->out[0]);
  e.rank = y->rank ? y->rank : 1;
  for (int d = 0; d < e.rank; d++) e.shape[d] = y->rank ? y->shape[d] : 1;
  int args[3], na = 0;
  for (int i = 0; i < e.n_in; i++) {
    const gr_tensor *x = T(l, n->in[i]);
    bcast_strides(x->shape, x->rank, e.shape, e.rank, e.strides[i]);
    args[na++] = get_buf(l, n->in[i], KIND_PLAIN);
  }
  args[na++] = out_buf(l, n->out[0], KIND_PLAIN);
  add_step(l, tpl_elt_kernel(l->a, kname(l, "elt"), &e), args, na);
  return 0;
}

/* A step of kernel k reading the node's first input and writing its output, both plain. */
static int data_step(lower *l, const gr_node *n, ir_kernel *k) {
  int args[2] = {get_buf(l, n->in[0], KIND_PLAIN), out_buf(l, n->out[0], KIND_PLAIN)};
  add_step(l, k, args, 2);
  return 0;
}

static int lower_softmax(lower *l, const gr_node *n) {
  const gr_tensor *y = T(l, n->out[0]);
  int axis = (int)gr_attr_int(n, "axis", y->rank - 1);
  int64_t outer = chm_prod(y->shape, axis), len = y->shape[axis];
  int64_t inner = chm_prod(y->shape + axis + 1, y->rank - axis - 1);
  if (gr_attr_int(n, "coerce_2d", 0)) len *= inner, inner = 1;
  return data_step(l, n, tpl_softmax_kernel(l->a, kname(l, "softmax"), outer, len, inner));
}

static int lower_transpose(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]);
  const int64_t *perm;
  if (gr_attr_ints(n, "perm", &perm) != x->rank) return gr_node_error(l->e, l->g, n, "bad 'perm'");
  int t = n->in[0];
  if (x->rank == 4 && perm[0] == 0 && perm[1] == 2 && perm[2] == 3 && perm[3] == 1 && l->vb[t][KIND_PLAIN] < 0 &&
      l->vb[t][KIND_BLOCKED] >= 0) { /* NCHW to NHWC straight from the blocked layout: no reorder first */
    int args[2] = {l->vb[t][KIND_BLOCKED], out_buf(l, n->out[0], KIND_PLAIN)};
    add_step(l, tpl_blocked_to_nhwc(l->a, kname(l, "to_nhwc"), &l->bufs.data[args[0]].view), args, 2);
    return 0;
  }
  return data_step(l, n, tpl_transpose_kernel(l->a, kname(l, "transpose"), x->rank, x->shape, perm));
}

static int lower_pad(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]);
  const int64_t *pads;
  if (gr_attr_ints(n, "pads", &pads) != 2 * x->rank) return gr_node_error(l->e, l->g, n, "bad 'pads'");
  float value = gr_attr_float(n, "value", 0);
  const char *m = gr_attr_string(n, "mode", "constant");
  tpl_pad_mode mode = !strcmp(m, "reflect") ? TPL_PAD_REFLECT : !strcmp(m, "edge") ? TPL_PAD_EDGE : TPL_PAD_CONSTANT;
  return data_step(l, n, tpl_pad_kernel(l->a, kname(l, "pad"), mode, x->rank, x->shape, pads, value));
}

static int lower_concat(lower *l, const gr_node *n) {
  const gr_tensor *y = T(l, n->out[0]);
  if (l->concat_of[n->in[0]] == n->out[0]) return 0; /* written in place by its inputs (plan_concat) */
  int axis = (int)gr_attr_int(n, "axis", 0);
  int64_t outer = chm_prod(y->shape, axis), row = chm_prod(y->shape + axis, y->rank - axis), off = 0;
  int out = out_buf(l, n->out[0], KIND_PLAIN);
  for (int i = 0; i < n->n_in; i++) {
    const gr_tensor *xi = T(l, n->in[i]);
    int64_t len = chm_prod(xi->shape + axis, xi->rank - axis);
    int args[2] = {get_buf(l, n->in[i], KIND_PLAIN), out};
    if (len) add_step(l, tpl_concat_part(l->a, kname(l, "concat"), outer, len, off, row), args, 2);
    off += len;
  }
  return 0;
}

static int lower_reduce(lower *l, const gr_node *n, const node_plan *p) {
  if (is_spatial_reduce(l, n)) return lower_pool(l, n, p); /* [n,c,1,1] and [n,c] are stored alike */
  const gr_tensor *x = T(l, n->in[0]);
  const int64_t *axes;
  unsigned mask = 0;
  for (int i = 0, count = gr_attr_ints(n, "axes", &axes); i < count; i++) mask |= 1u << axes[i];
  tpl_reduce_op op = n->op == GR_OP_REDUCE_SUM ? TPL_REDUCE_SUM : n->op == GR_OP_REDUCE_MEAN ? TPL_REDUCE_MEAN
                     : n->op == GR_OP_REDUCE_MAX ? TPL_REDUCE_MAX : TPL_REDUCE_MIN;
  return data_step(l, n, tpl_reduce_kernel(l->a, kname(l, "reduce"), op, x->rank, x->shape, mask));
}

static int lower_slice(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]), *y = T(l, n->out[0]);
  int64_t start[GR_MAX_RANK], step[GR_MAX_RANK], count[GR_MAX_RANK];
  if (gr_slice_params(l->g, n, start, step, count, l->e)) return -1;
  if (gr_numel(y) == 0) return out_buf(l, n->out[0], KIND_PLAIN), 0;
  return data_step(l, n, tpl_slice_kernel(l->a, kname(l, "slice"), x->rank, x->shape, y->shape, start, step));
}

/* Each output of a Split is a slice of the input along the axis. */
static int lower_split(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]);
  int axis = (int)gr_attr_int(n, "axis", 0);
  int64_t start[GR_MAX_RANK] = {0}, step[GR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) step[d] = 1;
  for (int j = 0; j < n->n_out; j++) {
    const gr_tensor *y = T(l, n->out[j]);
    int args[2] = {get_buf(l, n->in[0], KIND_PLAIN), out_buf(l, n->out[j], KIND_PLAIN)};
    if (gr_numel(y))
      add_step(l, tpl_slice_kernel(l->a, kname(l, "split"), x->rank, x->shape, y->shape, start, step), args, 2);
    start[axis] += y->shape[axis];
  }
  return 0;
}

/* Resize: the source coordinate of output position xo on one axis (ONNX's
 * coordinate transformations; the resized length is in * scale, not
 * rounded, as the specification says), then per output row / column the
 * table the template reads: the nearest source index, or two indices and a
 * weight. */
static double resize_coord(const char *ctm, int64_t xo, double scale, int64_t in) {
  double out = (double)in * scale;
  if (!strcmp(ctm, "asymmetric")) return (double)xo / scale;
  if (!strcmp(ctm, "align_corners")) return out <= 1 ? 0 : (double)xo * (double)(in - 1) / (out - 1);
  if (!strcmp(ctm, "tf_half_pixel_for_nn")) return ((double)xo + 0.5) / scale;
  if (!strcmp(ctm, "pytorch_half_pixel") && out <= 1) return 0;
  return ((double)xo + 0.5) / scale - 0.5; /* half_pixel, pytorch_half_pixel */
}

static int64_t resize_nearest(const char *nm, double x, int64_t in) {
  double f = floor(x);
  int64_t i = !strcmp(nm, "floor") ? (int64_t)f
              : !strcmp(nm, "ceil") ? (int64_t)ceil(x)
              : x - f == 0.5 ? (int64_t)(!strcmp(nm, "round_prefer_ceil") ? f + 1 : f)
                             : (int64_t)floor(x + 0.5);
  return i < 0 ? 0 : i >= in ? in - 1 : i;
}

static float *resize_table(lower *l, const gr_node *n, int64_t in, int64_t out, double scale, int linear) {
  const char *ctm = gr_attr_string(n, "coordinate_transformation_mode", "half_pixel");
  const char *nm = gr_attr_string(n, "nearest_mode", "round_prefer_floor");
  float *t = pack_floats(l, out * (linear ? 3 : 1));
  for (int64_t o = 0; o < out; o++) {
    double x = resize_coord(ctm, o, scale, in);
    if (!linear) {
      t[o] = (float)resize_nearest(nm, x, in);
      continue;
    }
    x = x < 0 ? 0 : x > (double)(in - 1) ? (double)(in - 1) : x; /* edges repeat */
    int64_t x0 = (int64_t)floor(x), x1 = x0 + 1 < in ? x0 + 1 : in - 1;
    t[3 * o] = (float)x0, t[3 * o + 1] = (float)x1, t[3 * o + 2] = (float)(x - (double)x0);
  }
  return t;
}

static int lower_resize(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]), *y = T(l, n->out[0]);
  const float *scales;
  if (gr_attr_floats(n, "scales", &scales) != 4) return gr_node_error(l->e, l->g, n, "bad 'scales'");
  int linear = !strcmp(gr_attr_string(n, "mode", "nearest"), "linear"), per = linear ? 3 : 1;
  int64_t ih = x->shape[2], iw = x->shape[3], oh = y->shape[2], ow = y->shape[3];
  int in = get_buf(l, n->in[0], KIND_PLAIN), out = out_buf(l, n->out[0], KIND_PLAIN);
  if (!gr_numel(y)) return 0;
  int args[4] = {in, const_vbuf(l, resize_table(l, n, ih, oh, scales[2], linear), oh * per),
                 const_vbuf(l, resize_table(l, n, iw, ow, scales[3], linear), ow * per), out};
  add_step(l, tpl_resize_kernel(l->a, kname(l, "resize"), x->shape[0] * x->shape[1], ih, iw, oh, ow, linear),
           args, 4);
  return 0;
}

/* A constant of len values, or of one value repeated to len. */
static int const_len(lower *l, const gr_tensor *t, int64_t len) {
  if (gr_numel(t) == len) return const_vbuf(l, t->data, len);
  float *v = pack_floats(l, len);
  for (int64_t i = 0; i < len; i++) v[i] = ((const float *)t->data)[0];
  return const_vbuf(l, v, len);
}

static int lower_layernorm(lower *l, const gr_node *n) {
  const gr_tensor *x = T(l, n->in[0]);
  int axis = (int)gr_attr_int(n, "axis", x->rank - 1);
  int64_t rows = chm_prod(x->shape, axis), len = chm_prod(x->shape + axis, x->rank - axis);
  int stats = n->n_out - 1, args[6] = {get_buf(l, n->in[0], KIND_PLAIN), const_len(l, T(l, n->in[1]), len),
                                        const_len(l, T(l, n->in[2]), len), out_buf(l, n->out[0], KIND_PLAIN)};
  for (int j = 1; j <= stats; j++) args[3 + j] = out_buf(l, n->out[j], KIND_PLAIN); /* Mean, InvStdDev */
  float eps = gr_attr_float(n, "epsilon", 1e-5f);
  if (rows > 0 && len > 0)
    add_step(l, tpl_layernorm_kernel(l->a, kname(l, "layernorm"), rows, len, eps, stats, l->L), args, 4 + stats);
  return 0;
}

/* A Reshape of a plain workspace tensor is the same floats in the same
 * order: its output is a slice at offset 0 of the input's storage (of the
 * storage that one is a slice of), which keeps that storage alive while
 * the output is read. A graph input or output, or a constant, is copied. */
static int lower_reshape(lower *l, const gr_node *n) {
  int x = get_buf(l, n->in[0], KIND_PLAIN), y = n->out[0];
  const vbuf *src = &l->bufs.data[x];
  if (src->loc.kind != CG_ARG_WS || T(l, y)->is_output || l->concat_of[y] >= 0)
    return data_step(l, n, tpl_copy_kernel(l->a, kname(l, "copy"), gr_numel(T(l, y))));
  int root = src->parent >= 0 ? src->parent : x;
  int64_t off = src->parent >= 0 ? src->off : 0;
  int b = new_vbuf(l, y, KIND_PLAIN, (cg_arg){CG_ARG_WS, -1});
  l->bufs.data[b].parent = root;
  l->bufs.data[b].off = off;
  return 0;
}

/* One case per operator (no default: the compiler's -Wswitch names an op
 * added to ops.def and forgotten here). */
static int lower_node(lower *l, int ni) {
  const gr_node *n = &l->g->nodes[ni];
  const node_plan *p = &l->plan[ni];
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] >= 0 && !T(l, n->in[i])->data && T(l, n->in[i])->dtype != GR_F32)
      return gr_node_error(l->e, l->g, n, "input '%s' is not float32", T(l, n->in[i])->name);
  switch (n->op) {
  case GR_OP_CONV:
    return p->out_kind == KIND_BLOCKED ? lower_conv_blocked(l, n, p) : lower_conv_generic(l, n);
  case GR_OP_GEMM: return lower_gemm(l, n);
  case GR_OP_MATMUL: return lower_matmul(l, n);
  case GR_OP_MAX_POOL: case GR_OP_AVERAGE_POOL:
  case GR_OP_GLOBAL_AVERAGE_POOL: case GR_OP_GLOBAL_MAX_POOL: return lower_pool(l, n, p);
  case GR_OP_RELU: case GR_OP_LEAKY_RELU: case GR_OP_CLIP: case GR_OP_SIGMOID:
  case GR_OP_HARD_SIGMOID: case GR_OP_HARD_SWISH: case GR_OP_TANH: case GR_OP_EXP: case GR_OP_LOG:
  case GR_OP_SQRT: case GR_OP_NEG: case GR_OP_ABS: case GR_OP_RECIPROCAL: case GR_OP_ERF: case GR_OP_GELU:
  case GR_OP_ADD: case GR_OP_SUB: case GR_OP_MUL: case GR_OP_DIV: case GR_OP_MAX: case GR_OP_MIN:
  case GR_OP_POW: case GR_OP_PRELU:
    return lower_elementwise(l, n, p);
  case GR_OP_SOFTMAX: return lower_softmax(l, n);
  case GR_OP_REDUCE_MEAN: case GR_OP_REDUCE_SUM: case GR_OP_REDUCE_MAX: case GR_OP_REDUCE_MIN:
    return lower_reduce(l, n, p);
  case GR_OP_TRANSPOSE: return lower_transpose(l, n);
  case GR_OP_PAD: return lower_pad(l, n);
  case GR_OP_CONCAT: return lower_concat(l, n);
  case GR_OP_RESHAPE: return lower_reshape(l, n);
  case GR_OP_SLICE: return lower_slice(l, n);
  case GR_OP_SPLIT: return lower_split(l, n);
  case GR_OP_RESIZE: return lower_resize(l, n);
  case GR_OP_LAYER_NORMALIZATION: return lower_layernorm(l, n);
  /* rewritten or folded away by gr_load: never here */
  case GR_OP_NONE: case GR_N_OPS:
  case GR_OP_BATCH_NORMALIZATION: case GR_OP_FLATTEN: case GR_OP_SQUEEZE: case GR_OP_UNSQUEEZE:
  case GR_OP_IDENTITY: case GR_OP_DROPOUT: case GR_OP_CONSTANT: case GR_OP_SHAPE: case GR_OP_GATHER:
  case GR_OP_CONSTANT_OF_SHAPE: case GR_OP_CAST: case GR_OP_RANGE:
    break;
  }
  return gr_node_error(l->e, l->g, n, "internal: operator not supported by the code generator");
}

/* Graph outputs not written in place: blocked ones, inputs, constants. */
static void lower_outputs(lower *l) {
  for (int i = 0; i < l->g->n_outputs; i++) {
    int t = l->g->outputs[i];
    int have = l->vb[t][KIND_PLAIN];
    if (have >= 0 && l->bufs.data[have].loc.kind == CG_ARG_OUTPUT && l->bufs.data[have].loc.i == i) continue;
    int src = -1;
    for (int k = 0; k < N_KINDS && src < 0; k++)
      if (l->vb[t][k] >= 0) src = l->vb[t][k];
    if (src < 0) src = get_buf(l, t, KIND_PLAIN);
    vbuf ob = {.tensor = t, .kind = KIND_PLAIN, .loc = {CG_ARG_OUTPUT, i}, .first = -1, .last = -1, .parent = -1};
    ob.view = view_of(l, t, KIND_PLAIN);
    chm_vec_push(&l->bufs, ob);
    int dst = l->bufs.len - 1;
    tpl_view vin = l->bufs.data[src].view, vout = ob.view;
    int args[2] = {src, dst};
    ir_kernel *k = l->bufs.data[src].kind == KIND_PLAIN && T(l, t)->rank != 4
                       ? tpl_copy_kernel(l->a, kname(l, "copy"), gr_numel(T(l, t)))
                       : tpl_reorder(l->a, kname(l, "reorder"), &vin, &vout);
    add_step(l, k, args, 2);
  }
}

/* ---- 3. memory ---- */

/* A placed workspace buffer's bytes: [start, end). */
typedef struct span {
  int64_t start, end;
} span;

static int cmp_span(const void *a, const void *b) {
  const span *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

/* Bytes of buffer b in the workspace, rounded up to a cache line. */
static int64_t ws_bytes(const vbuf *b) { return (tpl_view_size(&b->view) * 4 + 63) & ~(int64_t)63; }

/* A workspace buffer by the step that first writes it, then its index. */
typedef struct birth {
  int first, i;
} birth;

static int cmp_birth(const void *a, const void *b) {
  const birth *x = a, *y = b;
  if (x->first != y->first) return (x->first > y->first) - (x->first < y->first);
  return (x->i > y->i) - (x->i < y->i);
}

/* Places the workspace buffers in the order they come alive, each at the
 * lowest offset where it overlaps none of the buffers still alive then
 * (first fit over their spans, sorted by start): a linear scan, so that
 * thousands of buffers take milliseconds. Slices of a Concat sit in their
 * parent. Returns the workspace's size. */
static int64_t plan_memory(lower *l) {
  int64_t total = 0;
  int n = 0, n_live = 0, *alive = chm_malloc((size_t)(l->bufs.len + 1) * sizeof *alive);
  birth *order = chm_malloc((size_t)(l->bufs.len + 1) * sizeof *order);
  span *spans = chm_malloc((size_t)(l->bufs.len + 1) * sizeof *spans);
  for (int i = 0; i < l->bufs.len; i++)
    if (l->bufs.data[i].loc.kind == CG_ARG_WS && l->bufs.data[i].parent < 0)
      order[n++] = (birth){l->bufs.data[i].first, i};
  qsort(order, (size_t)n, sizeof *order, cmp_birth);
  for (int i = 0; i < n; i++) {
    vbuf *b = &l->bufs.data[order[i].i];
    int k = 0; /* drop the buffers dead by now, keep the spans of the others */
    for (int j = 0; j < n_live; j++) {
      const vbuf *o = &l->bufs.data[alive[j]];
      if (o->last < b->first) continue;
      alive[k] = alive[j];
      spans[k++] = (span){o->loc.i, o->loc.i + ws_bytes(o)};
    }
    n_live = k;
    qsort(spans, (size_t)n_live, sizeof *spans, cmp_span);
    int64_t size = ws_bytes(b), off = 0;
    for (int j = 0; j < n_live && spans[j].start < off + size; j++)
      if (spans[j].end > off) off = spans[j].end;
    b->loc.i = off;
    if (off + size > total) total = off + size;
    alive[n_live++] = order[i].i;
  }
  free(order), free(alive), free(spans);
  for (int i = 0; i < l->bufs.len; i++) { /* slices: their parent's place plus their offset */
    vbuf *b = &l->bufs.data[i];
    CHM_ASSERT(b->parent < 0 || b->loc.kind == CG_ARG_WS);
    if (b->parent >= 0) b->loc.i = l->bufs.data[b->parent].loc.i + b->off * 4;
  }
  return total;
}

/* ---- 4. emit ---- */

static char *kernel_text(const ir_kernel *k) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  ir_kernel tmp = *k;
  tmp.name = "k";
  ir_print_kernel(&tmp, f);
  fclose(f);
  return buf;
}

/* What either back end receives: the distinct kernels, and NAME_run's
 * calls and I/O; the constants are l->consts. */
typedef struct program {
  cg_call *calls;           /* one per step */
  const char **call_notes;  /* per step: the node it runs for */
  const ir_kernel **kernels;/* distinct kernels, in the order of their first call */
  const char **notes;       /* per distinct kernel: its node and config */
  int n_kernels;
  cg_io *ins, *outs;        /* the graph's inputs and outputs */
  cg_entry en;              /* the entry function */
} program;

static const char *step_note(lower *l, const step *sp) {
  const gr_node *n = sp->node < 0 ? NULL : &l->g->nodes[sp->node];
  if (!n) return "a graph output";
  return chm_arena_printf(l->a, "%s '%s'%s%s", gr_op_name(n->op), n->name, sp->config ? "; " : "",
                          sp->config ? sp->config : "");
}

/* Builds the program from the steps: identical kernels (the same printed
 * IR) are kept once and called by the first one's name. */
static void collect(lower *l, int64_t ws, program *pg, mdl_stats *st) {
  int n = l->steps.len;
  char **texts = chm_calloc((size_t)n + 1, sizeof *texts);
  FILE *dump = l->o->dump_ir ? fopen(l->o->dump_ir, "w") : NULL;
  pg->calls = chm_arena_alloc(l->a, ((size_t)n + 1) * sizeof *pg->calls);
  pg->call_notes = chm_arena_alloc(l->a, ((size_t)n + 1) * sizeof *pg->call_notes);
  pg->kernels = chm_arena_alloc(l->a, ((size_t)n + 1) * sizeof *pg->kernels);
  pg->notes = chm_arena_alloc(l->a, ((size_t)n + 1) * sizeof *pg->notes);
  for (int s = 0; s < n; s++) {
    step *sp = &l->steps.data[s];
    texts[s] = kernel_text(sp->k);
    pg->calls[s].kernel = sp->k->name;
    pg->call_notes[s] = step_note(l, sp);
    for (int p = 0; p < s; p++)
      if (!strcmp(texts[p], texts[s])) {
        pg->calls[s].kernel = pg->calls[p].kernel; /* identical kernel: call the first */
        break;
      }
    if (pg->calls[s].kernel == sp->k->name) {
      if (dump) ir_print_kernel(sp->k, dump);
      pg->notes[pg->n_kernels] = pg->call_notes[s];
      pg->kernels[pg->n_kernels++] = sp->k;
    }
    if (l->o->verbose) { /* the plan: which kernel each call runs, for which node (bench/profile.sh reads it) */
      const gr_node *nd = sp->node < 0 ? NULL : &l->g->nodes[sp->node];
      fprintf(stderr, "call %d: %s for %s '%s' flops=%.0f\n", s, pg->calls[s].kernel,
              nd ? gr_op_name(nd->op) : "graph output", nd ? nd->name : "", sp->k->flops);
    }
    pg->calls[s].n_args = sp->n_args;
    pg->calls[s].args = chm_arena_alloc(l->a, (size_t)sp->n_args * sizeof(cg_arg));
    for (int i = 0; i < sp->n_args; i++) pg->calls[s].args[i] = l->bufs.data[sp->args[i]].loc;
  }
  if (dump) fclose(dump);
  for (int s = 0; s < n; s++) free(texts[s]);
  free(texts);
  const gr_graph *g = l->g;
  pg->ins = chm_arena_alloc(l->a, ((size_t)g->n_inputs + 1) * sizeof *pg->ins);
  pg->outs = chm_arena_alloc(l->a, ((size_t)g->n_outputs + 1) * sizeof *pg->outs);
  for (int i = 0; i < g->n_inputs; i++) {
    const gr_tensor *t = T(l, g->inputs[i]);
    pg->ins[i] = (cg_io){t->name, t->rank, t->shape};
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const gr_tensor *t = T(l, g->outputs[i]);
    pg->outs[i] = (cg_io){t->name, t->rank, t->shape};
  }
  pg->en = (cg_entry){l->o->prefix, g->n_inputs, pg->ins, g->n_outputs, pg->outs, ws, n, pg->calls};
  st->n_kernels = pg->n_kernels;
  st->n_calls = n;
}

/* Constants of at least this many bytes go into the weights' member
 * (chm_ar_data_member) instead of the LLVM module: below it they cost the
 * module little, and LLVM may fold their values (a Resize's index tables,
 * a zero bias). */
enum { EXTERN_CONST_BYTES = 1 << 16 };

static int is_extern_const(const lower *l, int i) {
  return l->const_n.data[i] * (int64_t)sizeof(float) >= EXTERN_CONST_BYTES;
}

/* The weights' archive member, its ELF header like the kernels' object's:
 * the constants that have a symbol (syms[i] set by emit_llvm). */
static int weights_member(lower *l, const char **syms, mdl_result *r) {
  int n = 0;
  const char **names = chm_arena_alloc(l->a, (size_t)l->consts.len * sizeof *names);
  const void **data = chm_arena_alloc(l->a, (size_t)l->consts.len * sizeof *data);
  size_t *bytes = chm_arena_alloc(l->a, (size_t)l->consts.len * sizeof *bytes);
  for (int i = 0; i < l->consts.len; i++)
    if (syms[i]) {
      names[n] = syms[i];
      data[n] = l->consts.data[i];
      bytes[n++] = (size_t)l->const_n.data[i] * sizeof(float);
    }
  if (!n) return 0;
  const char *name = chm_arena_printf(l->a, "%s_weights.o", l->o->prefix);
  return chm_ar_data_member(name, r->obj, r->size, n, names, data, bytes, &r->weights, l->e);
}

/* The LLVM back end: one module, O3, an object file; the weights beside it. */
static int emit_llvm(lower *l, const program *pg, mdl_result *r, mdl_stats *st) {
  cg_module *m = cg_module_new(l->o->target, l->o->prefix, l->o->nthreads, l->e);
  if (!m) return -1;
  const char **syms = chm_arena_alloc(l->a, ((size_t)l->consts.len + 1) * sizeof *syms);
  for (int i = 0; i < l->consts.len; i++) {
    syms[i] = is_extern_const(l, i) ? chm_arena_printf(l->a, "%s_weights_%d", l->o->prefix, i) : NULL;
    if (syms[i])
      cg_add_extern_const(m, syms[i], l->const_n.data[i]);
    else
      cg_add_const(m, l->consts.data[i], l->const_n.data[i]);
  }
  int rc = 0;
  for (int i = 0; i < pg->n_kernels && !rc; i++) rc = cg_add_kernel(m, pg->kernels[i], l->e);
  double t0 = chm_now();
  if (!rc) rc = cg_add_entry(m, &pg->en, l->e);
  if (!rc) rc = cg_finish(m, l->e);
  double t1 = chm_now();
  if (!rc && l->o->emit_llvm) rc = cg_write_ir(m, l->o->emit_llvm, l->e);
  if (!rc) rc = cg_emit_object(m, &r->obj, &r->size, l->e);
  if (!rc) rc = weights_member(l, syms, r);
  st->opt_s = t1 - t0;
  st->emit_s = chm_now() - t1;
  cg_module_free(m);
  return rc;
}

/* The C back end: a source tree in o->emit_c, with NAME.h. */
static int emit_c(lower *l, const program *pg, mdl_stats *st) {
  const mdl_options *o = l->o;
  const char *base = strrchr(l->g->path, '/');
  ec_program p = {o->prefix, base ? base + 1 : l->g->path, o->target, o->nthreads, pg->n_kernels, pg->kernels, pg->notes,
                  l->consts.len, l->consts.data, l->const_n.data, &pg->en, pg->call_notes};
  double t0 = chm_now();
  int rc = ec_write_tree(&p, o->emit_c, l->e);
  if (!rc) rc = mdl_write_header(l->g, o->prefix, chm_arena_printf(l->a, "%s/%s.h", o->emit_c, o->prefix), l->e);
  st->emit_s = chm_now() - t0;
  return rc;
}

static int emit(lower *l, int64_t ws, mdl_result *r, mdl_stats *st) {
  program pg = {0};
  collect(l, ws, &pg, st);
  return l->o->emit_c ? emit_c(l, &pg, st) : emit_llvm(l, &pg, r, st);
}

void mdl_result_free(mdl_result *r) {
  free(r->obj);
  chm_ar_data_free(&r->weights);
  chm_arena_free(r->keep);
  memset(r, 0, sizeof *r);
}

int mdl_compile(const gr_graph *g, const mdl_options *o, mdl_result *r, mdl_stats *st, chm_err *e) {
  memset(st, 0, sizeof *st);
  memset(r, 0, sizeof *r);
  double t0 = chm_now();
  lower l = {.g = g, .o = o, .L = o->target->lanes, .e = e};
  l.wino = o->winograd == MDL_WINO_AUTO ? WINO_AUTO : o->winograd == MDL_WINO_OFF ? 0 : o->winograd;
  l.a = chm_arena_new();
  l.plan = chm_calloc((size_t)g->n_nodes + 1, sizeof *l.plan);
  l.primary = chm_calloc((size_t)g->n_tensors + 1, sizeof *l.primary);
  l.concat_of = chm_malloc(((size_t)g->n_tensors + 1) * sizeof *l.concat_of);
  l.concat_cb = chm_calloc((size_t)g->n_tensors + 1, sizeof *l.concat_cb);
  l.gapped_c = chm_calloc((size_t)g->n_tensors + 1, sizeof *l.gapped_c);
  for (int t = 0; t < g->n_tensors; t++) l.concat_of[t] = -1;
  l.uses = chm_calloc((size_t)g->n_tensors + 1, sizeof *l.uses);
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *r = &g->nodes[i];
    for (int j = 0; j < r->n_in; j++)
      if (r->in[j] >= 0) l.uses[r->in[j]]++;
    if (r->residual >= 0) l.uses[r->residual]++;
  }
  l.halo = chm_calloc((size_t)g->n_tensors + 1, sizeof *l.halo);
  l.vb = chm_malloc(((size_t)g->n_tensors + 1) * sizeof *l.vb);
  for (int t = 0; t < g->n_tensors; t++)
    for (int k = 0; k < N_KINDS; k++) l.vb[t][k] = -1;
  for (int i = 0; i < g->n_inputs; i++)
    new_vbuf(&l, g->inputs[i], KIND_PLAIN, (cg_arg){CG_ARG_INPUT, i});
  int rc = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    plan_node(&l, i);
    plan_concat(&l, i);
  }
  for (int i = 0; i < g->n_nodes && !rc; i++) rc = lower_node(&l, l.node = i);
  l.node = -1;
  if (!rc) lower_outputs(&l);
  int64_t ws = rc ? 0 : plan_memory(&l);
  st->ws_bytes = ws;
  for (int i = 0; i < l.const_n.len; i++) st->weight_bytes += 4 * l.const_n.data[i];
  st->lower_s = chm_now() - t0;
  if (!rc && !o->plan_only) rc = emit(&l, ws, r, st);
  chm_vec_free(&l.bufs);
  chm_vec_free(&l.steps);
  chm_vec_free(&l.consts);
  chm_vec_free(&l.const_n);
  free(l.scratch);
  free(l.plan);
  free(l.primary);
  free(l.uses);
  free(l.concat_of);
  free(l.concat_cb);
  free(l.gapped_c);
  free(l.halo);
  free(l.vb);
  if (rc) mdl_result_free(r);
  if (r->weights.name)
    r->keep = l.a;
  else
    chm_arena_free(l.a);
  return rc;
}

/* ---- the header ---- */

int mdl_write_header(const gr_graph *g, const char *p, const char *path, chm_err *e) {
  FILE *f = fopen(path, "w");
  if (!f) return chm_errorf(e, "%s: cannot write", path);
  const char *base = strrchr(g->path, '/'); /* the model's file name: no path of this machine */
  fprintf(f, "/* %s.h — generated by chamcc from %s. Link with -lpthread -lm. */\n", p, base ? base + 1 : g->path);
  fprintf(f, "#ifndef %s_H_\n#define %s_H_\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", p, p);
  fprintf(f, "/* Inputs and outputs are dense float32 arrays in the model's own layout:\n");
  for (int i = 0; i < g->n_inputs; i++) {
    const gr_tensor *t = &g->tensors[g->inputs[i]];
    fprintf(f, " *   input  %d '%s': [", i, t->name);
    for (int d = 0; d < t->rank; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    fprintf(f, "]\n");
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const gr_tensor *t = &g->tensors[g->outputs[i]];
    fprintf(f, " *   output %d '%s': [", i, t->name);
    for (int d = 0; d < t->rank; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    fprintf(f, "]\n");
  }
  fprintf(f, " */\n");
  const char *decl[] = {
      "int %s_num_inputs(void);", "int %s_num_outputs(void);",
      "const char *%s_input_name(int i);", "const char *%s_output_name(int i);",
      "int %s_input_rank(int i);", "const int64_t *%s_input_shape(int i);",
      "int %s_output_rank(int i);", "const int64_t *%s_output_shape(int i);",
      "/* Runs the model; returns 0 on success. Safe to call from several threads at once. */\n"
      "int %s_run(const float *const *inputs, float *const *outputs);"};
  for (size_t i = 0; i < sizeof decl / sizeof decl[0]; i++) {
    fprintf(f, decl[i], p);
    fputc('\n', f);
  }
  fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
  if (fclose(f)) return chm_errorf(e, "%s: write error", path);
  return 0;
}
