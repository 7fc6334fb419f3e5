/*
 * task.c — tuning tasks: the knob space of each template declared as data,
 * the validity check, configs <-> template configs, and the features the
 * cost model learns from.
 *
 * Conv knobs (in this order): oc_bn, ow_bn, oh_bn, ic_bn, win_outer,
 * unroll_kw, row_outer, grain, flat. Dense knobs: nb_bn, m_bn. A knob with
 * one option is kept, so every config of a template has the same length.
 * A new knob or option changes what a config means: it comes with a new
 * kernel revision (TUNE_KERNELS), which leaves older records out of builds.
 */
#include "chamcc/tune.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

enum { K_OC, K_OW, K_OH, K_IC, K_WIN, K_UNROLL, K_ROW, K_GRAIN, K_FLAT, N_CONV_KNOBS };
enum { K_NB, K_M, N_DENSE_KNOBS };

static void knob(tune_space *s, const char *name) {
  CHM_ASSERT(s->n_knobs < TUNE_MAX_KNOBS);
  tune_knob *k = &s->knobs[s->n_knobs++];
  memset(k, 0, sizeof *k);
  k->name = name;
}

static void option(tune_space *s, int64_t v) {
  tune_knob *k = &s->knobs[s->n_knobs - 1];
  if (k->n < TUNE_MAX_VALUES) k->v[k->n++] = v;
}

static void divisors(tune_space *s, int64_t n, int64_t cap) {
  for (int64_t d = 1; d <= n && d <= cap; d++)
    if (n % d == 0) option(s, d);
}

static void range(tune_space *s, int64_t lo, int64_t hi) {
  for (int64_t v = lo; v <= hi; v++) option(s, v);
}

int64_t tune_space_size(const tune_space *s) {
  int64_t n = 1;
  for (int i = 0; i < s->n_knobs; i++) n *= s->knobs[i].n;
  return n;
}

int64_t tune_space_index(const tune_space *s, const int *idx) {
  int64_t i = 0;
  for (int k = 0; k < s->n_knobs; k++) i = i * s->knobs[k].n + idx[k];
  return i;
}

void tune_space_config(const tune_space *s, int64_t i, int *idx) {
  for (int k = s->n_knobs - 1; k >= 0; k--) {
    idx[k] = (int)(i % s->knobs[k].n);
    i /= s->knobs[k].n;
  }
}

tune_machine tune_machine_of(const cg_target *tgt, int threads) {
  tune_machine m = {threads > 0 ? threads : chm_num_cpus(), tgt->l1d, tgt->l2};
  return m;
}

/* Until the caller says otherwise: all cores of this machine, small caches. */
static tune_machine default_machine(void) {
  tune_machine m = {chm_num_cpus(), 32 << 10, 256 << 10};
  return m;
}

void tune_task_init_conv(tune_task *t, const tpl_conv *w) {
  memset(t, 0, sizeof *t);
  t->kind = TUNE_CONV;
  t->mach = default_machine();
  t->conv = *w;
  int64_t cin = tpl_conv_in_per_group(w);
  t->flops = 2.0 * (double)(w->out.n * w->out.c * w->out.h * w->out.w) * (double)(cin * w->kh * w->kw);
  int len = snprintf(t->key, sizeof t->key,
           "%s n%lld c%lld h%lld w%lld cb%d k%lld oh%lld ow%lld kb%d r%lldx%lld s%lldx%lld d%lldx%lld p%lldx%lld",
           w->depthwise ? "dwconv2d" : "conv2d", (long long)w->in.n, (long long)w->in.c, (long long)w->in.h,
           (long long)w->in.w, w->in.cb, (long long)w->out.c, (long long)w->out.h, (long long)w->out.w,
           w->out.cb, (long long)w->kh, (long long)w->kw, (long long)w->sh, (long long)w->sw,
           (long long)w->dh, (long long)w->dw, (long long)w->pt, (long long)w->pl);
  if (w->groups > 1 && !w->depthwise && len > 0 && (size_t)len < sizeof t->key)
    snprintf(t->key + len, sizeof t->key - (size_t)len, " g%lld", (long long)w->groups);
  tune_space *s = &t->space;
  int64_t ocb = tpl_conv_group_out_blocks(w), icb = tpl_conv_reduce_blocks(w);
  int one_block = w->depthwise || tpl_conv_groups_mode(w->in.c, w->out.c, w->groups, w->out.cb) == TPL_GROUPS_LANES;
  knob(s, "oc_bn");
  if (one_block) option(s, 1);
  else divisors(s, ocb, 8);
  knob(s, "ow_bn"); /* columns, or a flat tile's pixels (no more than a row's) */
  range(s, 1, w->out.w < 24 ? w->out.w : 24);
  knob(s, "oh_bn");
  divisors(s, w->out.h, 8);
  knob(s, "ic_bn");
  divisors(s, icb, icb);
  knob(s, "win_outer");
  range(s, 0, w->depthwise ? 0 : 1);
  knob(s, "unroll_kw");
  range(s, 0, w->kw > 1 ? 1 : 0);
  knob(s, "row_outer");
  range(s, 0, 1);
  knob(s, "grain"); /* powers of two up to the first that covers every row (at most 16) */
  for (int g = 1; g <= 16; g *= 2) {
    option(s, g);
    if (g >= w->out.h) break;
  }
  knob(s, "flat");
  range(s, 0, w->out.h > 1 ? 1 : 0);
}

void tune_task_init_dense(tune_task *t, const tpl_dense *w) {
  memset(t, 0, sizeof *t);
  t->kind = TUNE_DENSE;
  t->mach = default_machine();
  t->dense = *w;
  t->flops = 2.0 * (double)w->m * (double)w->k * (double)w->n;
  snprintf(t->key, sizeof t->key, "dense m%lld k%lld n%lld ta%d l%d", (long long)w->m, (long long)w->k,
           (long long)w->n, w->trans_a, w->lanes);
  tune_space *s = &t->space;
  int64_t nb = (w->n + w->lanes - 1) / w->lanes;
  knob(s, "nb_bn");
  divisors(s, nb, 16);
  knob(s, "m_bn");
  divisors(s, w->m, 8);
}

int tune_task_from_key(const char *key, int vregs, const tune_machine *m, tune_task *t) {
  long long v[17], groups = 1;
  char kind[16];
  int L = 0, lo = 0, ta = 0, used = 0;
  if (sscanf(key, "dense m%lld k%lld n%lld ta%d l%d", &v[0], &v[1], &v[2], &ta, &L) == 5) {
    if (v[0] < 1 || v[1] < 1 || v[2] < 1 || L < 1 || L > 64) return -1;
    tpl_dense d = {v[0], v[1], v[2], ta, L, {0}, vregs};
    tune_task_init_dense(t, &d);
  } else if (sscanf(key,
                    "%15s n%lld c%lld h%lld w%lld cb%d k%lld oh%lld ow%lld kb%d r%lldx%lld s%lldx%lld d%lldx%lld "
                    "p%lldx%lld%n",
                    kind, &v[0], &v[1], &v[2], &v[3], &L, &v[4], &v[5], &v[6], &lo, &v[7], &v[8], &v[9], &v[10],
                    &v[11], &v[12], &v[13], &v[14], &used) == 18 &&
             (!strcmp(kind, "conv2d") || !strcmp(kind, "dwconv2d"))) {
    for (int i = 0; i <= 14; i++)
      if (v[i] < (i >= 13 ? 0 : 1) || v[i] > (1 << 20)) return -1;
    if (L < 1 || L > 64 || lo < 1 || lo > 64) return -1;
    tpl_conv w = {0};
    /* the key leaves out the halo and the epilogue, which the features do not use */
    w.in = (tpl_view){v[0], v[1], v[2], v[3], L, v[13], v[14]};
    w.out = (tpl_view){v[0], v[4], v[5], v[6], lo, 0, 0};
    w.kh = v[7], w.kw = v[8], w.sh = v[9], w.sw = v[10], w.dh = v[11], w.dw = v[12];
    w.pt = v[13], w.pl = v[14];
    w.depthwise = !strcmp(kind, "dwconv2d");
    if (key[used] && (sscanf(key + used, " g%lld", &groups) != 1 || groups < 2 || groups > v[1]))
      return -1;
    w.groups = groups;
    w.vregs = vregs;
    if (m) w.l2 = m->l2, w.l1d = m->l1d;
    tune_task_init_conv(t, &w);
  } else {
    return -1;
  }
  if (m) t->mach = *m;
  return strcmp(t->key, key) ? -1 : 0; /* anything the format does not say exactly */
}

const char *tune_task_parse_config(const tune_task *t, const char *text, int *idx) {
  int indices = !strncmp(text, "i:", 2); /* the log's "config": option indices, not values */
  const char *p = text + 2 * indices;
  for (int k = 0; k < t->space.n_knobs; k++) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) return "expected one value per knob, separated by commas";
    idx[k] = -1;
    for (int o = 0; o < t->space.knobs[k].n; o++)
      if (indices ? o == v : t->space.knobs[k].v[o] == v) idx[k] = o;
    if (idx[k] < 0) return t->space.knobs[k].name; /* not one of its options */
    p = end + (*end == ',');
  }
  if (*p) return "more values than knobs";
  return tune_task_check(t, idx);
}

void tune_task_conv_cfg(const tune_task *t, const int *idx, tpl_conv_cfg *c) {
  const tune_knob *k = t->space.knobs;
  c->oc_bn = (int)k[K_OC].v[idx[K_OC]];
  c->ow_bn = (int)k[K_OW].v[idx[K_OW]];
  c->oh_bn = (int)k[K_OH].v[idx[K_OH]];
  c->ic_bn = (int)k[K_IC].v[idx[K_IC]];
  c->win_outer = (int)k[K_WIN].v[idx[K_WIN]];
  c->unroll_kw = (int)k[K_UNROLL].v[idx[K_UNROLL]];
  c->row_outer = (int)k[K_ROW].v[idx[K_ROW]];
  c->grain = (int)k[K_GRAIN].v[idx[K_GRAIN]];
  c->flat = (int)k[K_FLAT].v[idx[K_FLAT]];
}

void tune_task_dense_cfg(const tune_task *t, const int *idx, tpl_dense_cfg *c) {
  c->nb_bn = (int)t->space.knobs[K_NB].v[idx[K_NB]];
  c->m_bn = (int)t->space.knobs[K_M].v[idx[K_M]];
}

const char *tune_task_check(const tune_task *t, const int *idx) {
  for (int k = 0; k < t->space.n_knobs; k++)
    if (idx[k] < 0 || idx[k] >= t->space.knobs[k].n) return "knob index out of range";
  if (t->kind == TUNE_DENSE) {
    tpl_dense_cfg c;
    tune_task_dense_cfg(t, idx, &c);
    return c.nb_bn * c.m_bn > 32 ? "register tile larger than 32 vectors" : NULL;
  }
  tpl_conv_cfg c;
  tune_task_conv_cfg(t, idx, &c);
  return tpl_conv_check(&t->conv, &c);
}

/* Index of the option nearest to v (first on ties). */
static int nearest(const tune_knob *k, int64_t v) {
  int best = 0;
  for (int i = 1; i < k->n; i++)
    if (llabs(k->v[i] - v) < llabs(k->v[best] - v)) best = i;
  return best;
}

void tune_task_default(const tune_task *t, int *idx) {
  const tune_knob *k = t->space.knobs;
  if (t->kind == TUNE_DENSE) {
    tpl_dense_cfg c = tpl_dense_default(&t->dense);
    idx[K_NB] = nearest(&k[K_NB], c.nb_bn);
    idx[K_M] = nearest(&k[K_M], c.m_bn);
    return;
  }
  tpl_conv_cfg c = tpl_conv_default(&t->conv);
  int64_t icb = tpl_conv_reduce_blocks(&t->conv);
  int64_t v[N_CONV_KNOBS] = {c.oc_bn, c.ow_bn, c.oh_bn, c.ic_bn ? c.ic_bn : icb, c.win_outer,
                             c.unroll_kw, c.row_outer, c.grain, c.flat};
  for (int i = 0; i < N_CONV_KNOBS; i++) idx[i] = nearest(&k[i], v[i]);
}

ir_kernel *tune_task_kernel(const tune_task *t, const int *idx, chm_arena *a, const char *name) {
  if (t->kind == TUNE_DENSE) {
    tpl_dense_cfg c;
    tune_task_dense_cfg(t, idx, &c);
    return tpl_dense_kernel(a, name, &t->dense, &c);
  }
  tpl_conv_cfg c;
  tune_task_conv_cfg(t, idx, &c);
  return tpl_conv_kernel(a, name, &t->conv, &c);
}

static int dense_features(const tune_task *t, const int *idx, float *f) {
  tpl_dense_cfg c;
  tune_task_dense_cfg(t, idx, &c);
  const tpl_dense *w = &t->dense;
  int64_t nb = (w->n + w->lanes - 1) / w->lanes;
  int n = 0;
  f[n++] = (float)c.nb_bn;
  f[n++] = (float)c.m_bn;
  f[n++] = (float)(c.nb_bn * c.m_bn);
  int64_t iters = (w->m / c.m_bn) * (nb / c.nb_bn), th = t->mach.threads;
  double wbytes = (double)c.nb_bn * w->lanes * w->k * 4;
  f[n++] = (float)iters;                                   /* parallel iterations */
  f[n++] = (float)(iters % th) / (float)iters;             /* imbalance on the threads */
  f[n++] = (float)wbytes;                                  /* weight bytes per tile */
  f[n++] = (float)(wbytes / (double)t->mach.l2);           /* weights per tile vs L2 */
  return n;
}

int tune_task_features(const tune_task *t, const int *idx, float *f) {
  if (t->kind == TUNE_DENSE) return dense_features(t, idx, f);
  const tpl_conv *w = &t->conv;
  tpl_conv_cfg c;
  tune_task_conv_cfg(t, idx, &c);
  int L = w->out.cb, cbi = w->depthwise ? L : w->in.cb, n = 0;
  int64_t icb = tpl_conv_reduce_blocks(w);
  int64_t acc = (int64_t)c.oc_bn * c.ow_bn * c.oh_bn, regs = tpl_conv_step_regs(c.ow_bn * c.oh_bn, c.oc_bn);
  int64_t nregs = tpl_vregs(L, w->vregs);
  int64_t n_oht = w->out.h / c.oh_bn, n_g = (n_oht + c.grain - 1) / c.grain;
  int64_t iters = w->out.n * (tpl_view_cblocks(&w->out) / c.oc_bn) * n_g;
  int64_t in_rows = (c.oh_bn - 1) * w->sh + (w->kh - 1) * w->dh + 1;
  int64_t in_cols = (c.ow_bn - 1) * w->sw + (w->kw - 1) * w->dw + 1, th = t->mach.threads;
  /* a line of tiles: a row, or a flat iteration's pixels; lines per plane */
  int64_t line = tpl_conv_line(w, &c), lines = c.flat ? w->out.h * w->out.w / line : w->out.h / c.oh_bn;
  for (int k = 0; k < N_CONV_KNOBS; k++) f[n++] = (float)t->space.knobs[k].v[idx[k]];
  f[n++] = (float)acc;
  f[n++] = (float)regs;
  f[n++] = (float)(regs > nregs ? regs - nregs : 0);                      /* spilled vectors */
  f[n++] = (float)(c.oc_bn * L * c.ic_bn * cbi * w->kh * w->kw * 4);     /* weight bytes per chunk */
  f[n++] = (float)(in_rows * in_cols * cbi * c.ic_bn * 4);               /* input bytes per tile */
  f[n++] = (float)(line / c.ow_bn);                                       /* full tiles per row */
  f[n++] = (float)(line % c.ow_bn);                                       /* tail columns */
  f[n++] = (float)iters;                                                  /* parallel iterations */
  f[n++] = (float)(iters % th) / (float)iters;                           /* imbalance on the threads */
  f[n++] = (float)(icb / c.ic_bn);                                        /* reduction chunks */
  f[n++] = (float)(acc * (w->depthwise ? 1 : cbi) * (c.unroll_kw ? w->kw : 1)); /* unrolled FMAs */
  f[n++] = (float)w->out.c / (float)(tpl_view_cblocks(&w->out) * L);     /* output lane use */
  f[n++] = (float)w->in.c / (float)(icb * cbi);                          /* input lane use */
  f[n++] = (float)log2(t->flops);
  /* register-tile arithmetic intensity: FMAs per vector loaded (weights + broadcasts) */
  f[n++] = (float)acc / (float)(c.oc_bn + (int64_t)c.ow_bn * c.oh_bn);
  f[n++] = (float)(c.ic_bn * cbi);                                        /* reduction chunk length */
  double wbytes = (double)c.oc_bn * L * c.ic_bn * cbi * w->kh * w->kw * 4;
  f[n++] = (float)(wbytes / (double)t->mach.l1d);                        /* weights vs L1 */
  f[n++] = (float)(wbytes * (double)(tpl_view_cblocks(&w->out) / c.oc_bn) / (double)t->mach.l2); /* all weights vs L2 */
  f[n++] = (float)((c.ow_bn - line % c.ow_bn) % c.ow_bn) / (float)line; /* wasted tail share */
  f[n++] = (float)((double)t->flops / (double)iters / 1e6);               /* MFLOP per parallel iteration */
  /* A rough analytical model of the inner loop: per input channel a tile
   * does `acc` FMAs and loads oc_bn weight vectors plus one broadcast per
   * output pixel; with two FMA and two load ports the better of the two
   * bounds the rate; spilled accumulators cost a load and a store each. */
  double loads = c.oc_bn + (double)c.ow_bn * c.oh_bn, eff = acc / fmax((double)acc, loads);
  if (regs > nregs) eff *= (double)acc / (acc + 2.0 * (regs - nregs));
  int64_t tail = line % c.ow_bn, full = line - tail;
  if (tail) { /* the tail tile runs at its own, lower efficiency */
    double ta = (double)c.oc_bn * tail * c.oh_bn, te = ta / fmax(ta, c.oc_bn + (double)tail * c.oh_bn);
    eff = (eff * full + te * tail) / line;
  }
  double balance = (double)iters / ((double)th * (double)((iters + th - 1) / th));
  double chunk = 1.0 - (icb / c.ic_bn - 1) * 2.0 / ((double)c.ic_bn * cbi * w->kh * w->kw + 2.0);
  f[n++] = (float)eff;
  f[n++] = (float)(eff * balance * chunk);
  f[n++] = (float)(c.ow_bn * c.oh_bn);                                    /* pixels per tile */
  f[n++] = (float)(tpl_view_cblocks(&w->out) / c.oc_bn);                  /* channel tiles */
  f[n++] = (float)(lines * ((line + c.ow_bn - 1) / c.ow_bn));            /* tiles per plane */
  f[n++] = (float)((double)iters / th / fmax(1.0, (double)(tpl_view_cblocks(&w->out) / c.oc_bn))); /* rows of tiles per thread and channel tile */
  return n;
}

void tune_task_name(const tune_task *t, char *buf, size_t size) {
  if (t->kind == TUNE_DENSE) {
    snprintf(buf, size, "dense %lldx%lld->%lld", (long long)t->dense.m, (long long)t->dense.k,
             (long long)t->dense.n);
    return;
  }
  const tpl_conv *w = &t->conv;
  snprintf(buf, size, "%s %lldx%lldx%lld->%lld k%lld s%lld",
           w->depthwise ? "dwconv" : w->groups > 1 ? "grconv" : "conv",
           (long long)w->in.c, (long long)w->in.h, (long long)w->in.w, (long long)w->out.c,
           (long long)w->kh, (long long)w->sh);
}
