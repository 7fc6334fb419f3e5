/*
 * tpl_dense.c — the dense (matrix product with constant weights) template.
 *
 * B is pre-packed as [N/L][K][L] so that each k step reads one contiguous
 * vector per output block. A tile holds m_bn rows x nb_bn vectors of
 * accumulators; for each k it broadcasts one element of A per row. At batch
 * 1 the kernel streams the packed weights once, split over the threads by
 * output blocks. A last partial vector is stored with a mask, and its
 * residual and activation are applied lane by lane.
 */
#include "chamcc/tpl.h"

#include <string.h>

static int divisor_le(int64_t n, int cap) {
  for (int d = cap; d > 1; d--)
    if (n % d == 0) return d;
  return 1;
}

static int64_t nblocks(const tpl_dense *w) { return (w->n + w->lanes - 1) / w->lanes; }

/* The register tile with the most FMAs per load: m_bn broadcasts of A and
 * nb_bn vectors of B feed m_bn * nb_bn FMAs, so the tile maximizes
 * m*n / (m+n) among those that fit the accumulator budget and, with the
 * B vectors, the register file (on ties, the larger). At batch 1 the kernel
 * streams the weights, one vector load per FMA, and each accumulator is a
 * chain of FMAs over k: up to 8 vectors (two FMA pipes x 4 cycles of
 * latency), a divisor of the output blocks. */
tpl_dense_cfg tpl_dense_default(const tpl_dense *w) {
  tpl_dense_cfg c = {.nb_bn = divisor_le(nblocks(w), 8), .m_bn = 1};
  if (w->m == 1) return c;
  int budget = tpl_acc_budget(w->lanes, w->vregs, 0), regs = tpl_vregs(w->lanes, w->vregs);
  double best = 0;
  for (int mb = 1; mb <= 8; mb++)
    for (int nb = 1; nb <= 4; nb++) {
      /* the accumulators, the k step's B vectors and one broadcast */
      if (w->m % mb || nblocks(w) % nb || mb * nb > budget || mb * nb + nb + 1 > regs) continue;
      double per_load = (double)(mb * nb) / (mb + nb) + 1e-3 * mb * nb;
      if (per_load > best) best = per_load, c.m_bn = mb, c.nb_bn = nb;
    }
  return c;
}

int64_t tpl_dense_wsize(const tpl_dense *w) { return nblocks(w) * w->k * w->lanes; }

void tpl_dense_pack(const tpl_dense *w, const float *B, int trans_b, float alpha, float *packed) {
  int64_t L = w->lanes;
  memset(packed, 0, (size_t)tpl_dense_wsize(w) * sizeof(float));
  for (int64_t k = 0; k < w->k; k++)
    for (int64_t n = 0; n < w->n; n++) {
      float v = trans_b ? B[n * w->k + k] : B[k * w->n + n];
      packed[((n / L) * w->k + k) * L + n % L] = alpha * v;
    }
}

ir_kernel *tpl_dense_kernel(chm_arena *a, const char *name, const tpl_dense *w, const tpl_dense_cfg *c) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, name);
  int L = w->lanes;
  ir_buf *A = ir_param(&b, "a", w->m * w->k), *B = ir_param(&b, "w", tpl_dense_wsize(w));
  ir_buf *bias = ir_param(&b, "bias", nblocks(w) * L);
  ir_buf *res = w->epi.has_residual ? ir_param(&b, "res", w->m * w->n) : NULL;
  ir_buf *out = ir_param(&b, "out", w->m * w->n);
  int64_t n_mt = w->m / c->m_bn, n_nt = nblocks(w) / c->nb_bn;
  int vt = ir_new_var(&b), vk = ir_new_var(&b);
  ir_expr *t = ir_var(&b, vt), *kk = ir_var(&b, vk);
  ir_expr *nb0 = ir_muli(&b, ir_bin(&b, IR_DIV, t, ir_int(&b, n_mt)), c->nb_bn);
  ir_expr *m0 = ir_muli(&b, ir_bin(&b, IR_MOD, t, ir_int(&b, n_mt)), c->m_bn);
  ir_buf *acc = ir_local(&b, "acc", (int64_t)c->m_bn * c->nb_bn * L);
  ir_stmt *body = ir_seq(&b), *fmas = ir_seq(&b);
  for (int r = 0; r < c->m_bn; r++)
    for (int j = 0; j < c->nb_bn; j++) {
      ir_expr *ai = ir_int(&b, ((int64_t)r * c->nb_bn + j) * L);
      ir_seq_add(&b, body, ir_store(&b, acc, ai, ir_load(&b, bias, ir_muli(&b, ir_addi(&b, nb0, j), L), L)));
      /* one base per k step plus constants, so that the tile's rows and
       * vectors become address displacements (as in tpl_conv.c) */
      ir_expr *aidx = w->trans_a ? ir_addi(&b, ir_add(&b, ir_muli(&b, kk, w->m), m0), r)
                                 : ir_addi(&b, ir_add(&b, ir_muli(&b, m0, w->k), kk), r * w->k);
      ir_expr *bidx = ir_addi(&b, ir_muli(&b, ir_add(&b, ir_muli(&b, nb0, w->k), kk), L), j * w->k * L);
      ir_seq_add(&b, fmas, ir_store(&b, acc, ai, ir_fma(&b, ir_load(&b, A, aidx, 1), ir_load(&b, B, bidx, L),
                                                        ir_load(&b, acc, ai, L))));
    }
  ir_seq_add(&b, body, ir_for(&b, vk, ir_int(&b, 0), ir_int(&b, w->k), IR_LOOP_SERIAL, fmas));
  for (int r = 0; r < c->m_bn; r++)
    for (int j = 0; j < c->nb_bn; j++) {
      ir_expr *n0 = ir_muli(&b, ir_addi(&b, nb0, j), L);
      ir_expr *oidx = ir_add(&b, ir_muli(&b, ir_addi(&b, m0, r), w->n), n0);
      ir_expr *v = ir_load(&b, acc, ir_int(&b, ((int64_t)r * c->nb_bn + j) * L), L);
      if (w->n % L == 0) {
        if (res) v = ir_add(&b, v, ir_load(&b, res, oidx, L));
        ir_seq_add(&b, body, ir_store(&b, out, oidx, tpl_act(&b, &w->epi, v)));
        continue;
      }
      /* N is not a multiple of L: full vectors as usual, the last one masked */
      int vl = ir_new_var(&b);
      ir_expr *last = ir_bin(&b, IR_EQ, n0, ir_int(&b, (nblocks(w) - 1) * L));
      ir_expr *i = ir_add(&b, oidx, ir_var(&b, vl));
      ir_expr *s = ir_load(&b, out, i, 1);
      if (res) s = ir_add(&b, s, ir_load(&b, res, i, 1));
      ir_stmt *tail = ir_seq(&b);
      ir_seq_add(&b, tail, ir_store_masked(&b, out, oidx, v, (int)(w->n % L)));
      ir_seq_add(&b, tail, ir_for(&b, vl, ir_int(&b, 0), ir_int(&b, w->n % L), IR_LOOP_SERIAL,
                                  ir_store(&b, out, i, tpl_act(&b, &w->epi, s))));
      ir_expr *vf = res ? ir_add(&b, v, ir_load(&b, res, oidx, L)) : v;
      ir_stmt *full = ir_store(&b, out, oidx, tpl_act(&b, &w->epi, vf));
      ir_seq_add(&b, body, ir_if(&b, last, tail));
      ir_seq_add(&b, body, ir_if(&b, ir_bin(&b, IR_LT, n0, ir_int(&b, (nblocks(w) - 1) * L)), full));
    }
  k->body = ir_for(&b, vt, ir_int(&b, 0), ir_int(&b, n_mt * n_nt), IR_LOOP_PARALLEL, ir_alloc(&b, acc, body));
  k->flops = 2.0 * (double)w->m * (double)w->n * (double)w->k;
  return k;
}
