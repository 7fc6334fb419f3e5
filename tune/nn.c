/*
 * nn.c — small dense networks for the PPO agent: dense layers over a flat
 * parameter vector, Adam, and the actor-critic network with the PPO loss.
 *
 * Forward passes keep every activation in an nn_trace; the backward pass of
 * the loss walks the same layers in reverse, one sample at a time, adding
 * into one gradient vector. Log-probabilities come from a max-shifted
 * log-softmax, so the temperature's large logits never overflow.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chamcc/tune.h"

/* ---- dense layers ---- */

nn_layer nn_layer_add(int *n_params, int in, int out) {
  nn_layer l = {.in = in, .out = out, .w = *n_params, .b = *n_params + in * out};
  *n_params += in * out + out;
  return l;
}

void nn_layer_init(const nn_layer *l, double *theta, unsigned *rng) {
  double lim = sqrt(6.0 / (l->in + l->out));
  for (int i = 0; i < l->in * l->out; i++) theta[l->w + i] = (2 * tune_randf(rng) - 1) * lim;
  for (int i = 0; i < l->out; i++) theta[l->b + i] = 0;
}

/* tanh through one exp(): about twice as fast as libm's tanh, which goes
 * through expm1 for full relative accuracy near 0; here an absolute error of
 * 1e-16 is plenty (the gradient uses 1 - y^2 of the same y). */
static double tanh_fast(double x) {
  if (x > 20) return 1;
  if (x < -20) return -1;
  double e = exp(2 * x);
  return (e - 1) / (e + 1);
}

/* Four outputs at a time: four independent sums instead of one chain of
 * dependent adds, each summed in the same order as one at a time. */
void nn_layer_fwd(const nn_layer *l, const double *theta, const double *x, double scale, int use_tanh,
                  double *y) {
  const double *w = theta + l->w, *b = theta + l->b;
  int n = l->in, o = 0;
  for (; o + 4 <= l->out; o += 4) {
    const double *w0 = w + o * n, *w1 = w0 + n, *w2 = w1 + n, *w3 = w2 + n;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int i = 0; i < n; i++) {
      s0 += w0[i] * x[i];
      s1 += w1[i] * x[i];
      s2 += w2[i] * x[i];
      s3 += w3[i] * x[i];
    }
    y[o] = s0, y[o + 1] = s1, y[o + 2] = s2, y[o + 3] = s3;
  }
  for (; o < l->out; o++) {
    double s = 0;
    for (int i = 0; i < n; i++) s += w[o * n + i] * x[i];
    y[o] = s;
  }
  for (o = 0; o < l->out; o++) {
    double s = y[o] * scale + b[o];
    y[o] = use_tanh ? tanh_fast(s) : s;
  }
}

void nn_layer_bwd(const nn_layer *l, const double *theta, const double *x, double scale, int use_tanh,
                  const double *y, double *dy, double *grad, double *dx) {
  const double *w = theta + l->w;
  double *gw = grad + l->w, *gb = grad + l->b;
  if (use_tanh)
    for (int o = 0; o < l->out; o++) dy[o] *= 1 - y[o] * y[o];
  for (int o = 0; o < l->out; o++) {
    gb[o] += dy[o];
    double d = dy[o] * scale;
    for (int i = 0; i < l->in; i++) gw[o * l->in + i] += d * x[i];
  }
  if (!dx) return;
  for (int i = 0; i < l->in; i++) dx[i] = 0;
  for (int o = 0; o < l->out; o++) {
    double d = dy[o] * scale;
    for (int i = 0; i < l->in; i++) dx[i] += d * w[o * l->in + i];
  }
}

/* ---- Adam ---- */

void nn_adam_init(nn_adam *a, int n, double lr, double eps) {
  *a = (nn_adam){.n = n, .lr = lr, .b1 = 0.9, .b2 = 0.999, .eps = eps};
  a->m = chm_calloc((size_t)n, sizeof(double));
  a->v = chm_calloc((size_t)n, sizeof(double));
}

void nn_adam_step(nn_adam *a, double *theta, const double *grad) {
  a->t++;
  double lr_t = a->lr * sqrt(1 - pow(a->b2, a->t)) / (1 - pow(a->b1, a->t));
  for (int i = 0; i < a->n; i++) {
    a->m[i] = a->b1 * a->m[i] + (1 - a->b1) * grad[i];
    a->v[i] = a->b2 * a->v[i] + (1 - a->b2) * grad[i] * grad[i];
    theta[i] -= lr_t * a->m[i] / (sqrt(a->v[i]) + a->eps);
  }
}

void nn_adam_free(nn_adam *a) {
  free(a->m);
  free(a->v);
  a->m = a->v = NULL;
}

/* ---- the actor-critic network ---- */

void nn_ac_init(nn_ac *n, int n_in, double temp, unsigned *rng) {
  CHM_ASSERT(n_in >= 1 && n_in <= NN_MAX_IN);
  memset(n, 0, sizeof *n);
  n->n_in = n_in;
  n->temp = temp;
  int np = 0;
  n->p1 = nn_layer_add(&np, n_in, NN_HIDDEN);
  n->p2 = nn_layer_add(&np, NN_HIDDEN, NN_HIDDEN);
  for (int k = 0; k < n_in; k++) {
    n->h1[k] = nn_layer_add(&np, NN_HIDDEN, NN_ACTIONS);
    n->h2[k] = nn_layer_add(&np, NN_ACTIONS, NN_ACTIONS);
    n->h3[k] = nn_layer_add(&np, NN_ACTIONS, NN_ACTIONS);
  }
  n->v1 = nn_layer_add(&np, n_in, NN_HIDDEN);
  n->v2 = nn_layer_add(&np, NN_HIDDEN, NN_HIDDEN);
  n->v3 = nn_layer_add(&np, NN_HIDDEN, NN_HIDDEN);
  n->v4 = nn_layer_add(&np, NN_HIDDEN, 1);
  n->n_params = np;
  n->theta = chm_calloc((size_t)np, sizeof(double));
  const nn_layer *all[] = {&n->p1, &n->p2, &n->v1, &n->v2, &n->v3, &n->v4};
  for (int i = 0; i < 6; i++) nn_layer_init(all[i], n->theta, rng);
  for (int k = 0; k < n_in; k++) {
    nn_layer_init(&n->h1[k], n->theta, rng);
    nn_layer_init(&n->h2[k], n->theta, rng);
    nn_layer_init(&n->h3[k], n->theta, rng);
  }
}

void nn_ac_free(nn_ac *n) {
  free(n->theta);
  n->theta = NULL;
}

static void log_softmax(const double *z, double *logp) {
  double mx = z[0];
  for (int j = 1; j < NN_ACTIONS; j++) mx = fmax(mx, z[j]);
  double s = 0;
  for (int j = 0; j < NN_ACTIONS; j++) s += exp(z[j] - mx);
  double lse = mx + log(s);
  for (int j = 0; j < NN_ACTIONS; j++) logp[j] = z[j] - lse;
}

void nn_ac_forward(const nn_ac *n, const double *obs, nn_trace *tr) {
  const double *th = n->theta;
  memcpy(tr->obs, obs, (size_t)n->n_in * sizeof(double));
  nn_layer_fwd(&n->p1, th, tr->obs, 1, 1, tr->a1);
  nn_layer_fwd(&n->p2, th, tr->a1, 1, 1, tr->a2);
  for (int k = 0; k < n->n_in; k++) {
    double z[NN_ACTIONS];
    nn_layer_fwd(&n->h1[k], th, tr->a2, 1, 1, tr->g1[k]);
    nn_layer_fwd(&n->h2[k], th, tr->g1[k], 1, 1, tr->g2[k]);
    nn_layer_fwd(&n->h3[k], th, tr->g2[k], 1 / n->temp, 0, z);
    log_softmax(z, tr->logp[k]);
  }
  nn_layer_fwd(&n->v1, th, tr->obs, 1, 1, tr->u1);
  nn_layer_fwd(&n->v2, th, tr->u1, 1, 1, tr->u2);
  nn_layer_fwd(&n->v3, th, tr->u2, 1, 1, tr->u3);
  nn_layer_fwd(&n->v4, th, tr->u3, 1, 0, &tr->value);
}

/* Loss terms of one head for one sample (weighted by 1/m); the gradient at
 * its logits goes to dz. */
static double head_loss(const double *logp, int a, double old_logp, double adv, const nn_ppo_coef *c,
                        double inv_m, double *dz) {
  double p[NN_ACTIONS], h = 0;
  for (int j = 0; j < NN_ACTIONS; j++) {
    p[j] = exp(logp[j]);
    h -= p[j] * logp[j];
  }
  double r = exp(logp[a] - old_logp);
  double rc = fmin(fmax(r, 1 - c->clip), 1 + c->clip);
  double surr = fmin(adv * r, adv * rc);
  /* the clipped branch has no gradient once it is the smaller one */
  int active = !((adv > 0 && r > 1 + c->clip) || (adv < 0 && r < 1 - c->clip));
  for (int j = 0; j < NN_ACTIONS; j++) {
    double d = c->c_entropy * p[j] * (logp[j] + h); /* d(-c H)/dz_j */
    if (active) d -= adv * r * ((j == a) - p[j]);   /* d(-A r)/dz_j */
    dz[j] = d * inv_m;
  }
  return (-surr - c->c_entropy * h) * inv_m;
}

/* Backward of the policy network for one sample, given dz per head. */
static void policy_bwd(const nn_ac *n, const nn_trace *tr, double dz[][NN_ACTIONS], double *grad) {
  const double *th = n->theta;
  double da2[NN_HIDDEN] = {0}, dx[NN_HIDDEN], da1[NN_HIDDEN];
  for (int k = 0; k < n->n_in; k++) {
    double dg2[NN_ACTIONS], dg1[NN_ACTIONS];
    nn_layer_bwd(&n->h3[k], th, tr->g2[k], 1 / n->temp, 0, NULL, dz[k], grad, dg2);
    nn_layer_bwd(&n->h2[k], th, tr->g1[k], 1, 1, tr->g2[k], dg2, grad, dg1);
    nn_layer_bwd(&n->h1[k], th, tr->a2, 1, 1, tr->g1[k], dg1, grad, dx);
    for (int i = 0; i < NN_HIDDEN; i++) da2[i] += dx[i];
  }
  nn_layer_bwd(&n->p2, th, tr->a1, 1, 1, tr->a2, da2, grad, da1);
  nn_layer_bwd(&n->p1, th, tr->obs, 1, 1, tr->a1, da1, grad, NULL);
}

static void value_bwd(const nn_ac *n, const nn_trace *tr, double dv, double *grad) {
  const double *th = n->theta;
  double d3[NN_HIDDEN], d2[NN_HIDDEN], d1[NN_HIDDEN];
  nn_layer_bwd(&n->v4, th, tr->u3, 1, 0, NULL, &dv, grad, d3);
  nn_layer_bwd(&n->v3, th, tr->u2, 1, 1, tr->u3, d3, grad, d2);
  nn_layer_bwd(&n->v2, th, tr->u1, 1, 1, tr->u2, d2, grad, d1);
  nn_layer_bwd(&n->v1, th, tr->obs, 1, 1, tr->u1, d1, grad, NULL);
}

double nn_ppo_loss(const nn_ac *n, const nn_batch *b, const nn_ppo_coef *c, double *grad) {
  int K = n->n_in;
  double inv_m = 1.0 / b->m, loss = 0;
  nn_trace tr;
  for (int s = 0; s < b->m; s++) {
    int row = b->idx[s];
    nn_ac_forward(n, b->obs + (size_t)row * K, &tr);
    double dz[NN_MAX_HEADS][NN_ACTIONS];
    for (int k = 0; k < K; k++)
      loss += head_loss(tr.logp[k], b->act[row * K + k], b->old_logp[row * K + k], b->adv[row], c, inv_m,
                        dz[k]);
    double err = tr.value - b->v_target[row];
    loss += c->c_value * err * err * inv_m;
    if (!grad) continue;
    policy_bwd(n, &tr, dz, grad);
    value_bwd(n, &tr, 2 * c->c_value * err * inv_m, grad);
  }
  return loss;
}
