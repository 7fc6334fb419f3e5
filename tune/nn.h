/*
 * nn.h — small dense networks in double precision for the PPO agent
 * (tune/ppo.c): dense layers over one flat parameter vector, Adam, and
 * the agent's actor-critic network with the PPO loss and its gradient
 * (prefix `nn_`). Internal to tune/; the tests in tests/ppo/ use it.
 *
 * All parameters of a network live in one vector `theta` (a layer keeps
 * offsets into it), so the optimizer, the gradient and the finite-difference
 * tests see one array. Layers are tiny (20 units), so everything is plain
 * loops, one sample at a time.
 */
#ifndef CHAMCC_SEARCH_NN_H
#define CHAMCC_SEARCH_NN_H

enum {
  NN_MAX_IN = 16,   /* observation size (= knobs) at most */
  NN_MAX_HEADS = 16, /* policy heads (= knobs) at most */
  NN_HIDDEN = 20,   /* units of the trunk and value layers */
  NN_ACTIONS = 3,   /* decrement / stay / increment */
};

/* ---- dense layers ---- */

typedef struct nn_layer {
  int in, out; /* sizes */
  int w, b;    /* offsets of W [out][in] and b [out] in the parameter vector */
} nn_layer;

/* Reserves the layer's parameters at the end of a vector of *n_params. */
nn_layer nn_layer_add(int *n_params, int in, int out);
/* Glorot-uniform weights, zero biases (TensorFlow's dense-layer defaults). */
void nn_layer_init(const nn_layer *l, double *theta, unsigned *rng);
/* y = act(W (scale x) + b), act = tanh or identity. */
void nn_layer_fwd(const nn_layer *l, const double *theta, const double *x, double scale, int use_tanh,
                  double *y);
/* Backward of nn_layer_fwd given its x and y: dy (gradient at y, clobbered)
 * becomes the gradient at the pre-activation; adds dW, db to grad; writes
 * dx (the gradient at x) unless dx is NULL. */
void nn_layer_bwd(const nn_layer *l, const double *theta, const double *x, double scale, int use_tanh,
                  const double *y, double *dy, double *grad, double *dx);

/* ---- Adam (TensorFlow's form: bias correction folded into the step) ---- */

typedef struct nn_adam {
  int n;              /* parameters */
  int t;              /* steps taken */
  double lr;          /* learning rate */
  double b1, b2, eps; /* moment decays and epsilon */
  double *m, *v;      /* first and second moments */
} nn_adam;

void nn_adam_init(nn_adam *a, int n, double lr, double eps);
void nn_adam_step(nn_adam *a, double *theta, const double *grad);
void nn_adam_free(nn_adam *a);

/* ---- the actor-critic network of the PPO agent ---- */

/* Policy: obs -> dense 20 tanh -> dense 20 tanh (shared trunk); per knob
 * a head dense 3 tanh -> dense 3 tanh -> divide by the temperature ->
 * dense 3 -> softmax. Value: obs -> 3 x dense 20 tanh -> dense 1. */
typedef struct nn_ac {
  int n_in;                     /* observation size = knobs = heads */
  double temp;                  /* softmax temperature of the heads (0.1) */
  int n_params;                 /* length of theta */
  double *theta;                /* all parameters, policy and value */
  nn_layer p1, p2;              /* policy trunk */
  nn_layer h1[NN_MAX_HEADS];    /* per-head layers */
  nn_layer h2[NN_MAX_HEADS];
  nn_layer h3[NN_MAX_HEADS];    /* the logits layer */
  nn_layer v1, v2, v3, v4;      /* value network */
} nn_ac;

/* Activations of one forward pass (what the backward pass needs). */
typedef struct nn_trace {
  double obs[NN_MAX_IN];                           /* input */
  double a1[NN_HIDDEN], a2[NN_HIDDEN];             /* trunk */
  double g1[NN_MAX_HEADS][NN_ACTIONS];             /* head layer 1 */
  double g2[NN_MAX_HEADS][NN_ACTIONS];             /* head layer 2 */
  double logp[NN_MAX_HEADS][NN_ACTIONS];           /* log-softmax of the logits */
  double u1[NN_HIDDEN], u2[NN_HIDDEN], u3[NN_HIDDEN]; /* value layers */
  double value;                                    /* value estimate */
} nn_trace;

void nn_ac_init(nn_ac *n, int n_in, double temp, unsigned *rng);
void nn_ac_free(nn_ac *n);
void nn_ac_forward(const nn_ac *n, const double *obs, nn_trace *tr);

/* The coefficients of the PPO loss. */
typedef struct nn_ppo_coef {
  double clip;      /* ratio clip epsilon (0.2) */
  double c_value;   /* value-loss coefficient (1.0) */
  double c_entropy; /* entropy-bonus coefficient (0.3) */
} nn_ppo_coef;

/* A minibatch: m rows picked by idx from per-step arrays of one walk. */
typedef struct nn_batch {
  int m;                  /* rows */
  const int *idx;         /* row numbers */
  const double *obs;      /* [step][n_in] observations */
  const int *act;         /* [step][n_in] action per knob */
  const double *old_logp; /* [step][n_in] log-prob of that action under the old policy */
  const double *adv;      /* [step] normalized advantage */
  const double *v_target; /* [step] target of the value network */
} nn_batch;

/* The PPO loss to minimize,
 *   sum_k mean(-min(A r_k, A clip(r_k, 1-e, 1+e)) - c_entropy H_k)
 *   + c_value mean((v_target - V)^2),   r_k = pi(a_k)/pi_old(a_k),
 * (one ratio and one entropy per knob's head, as the reference); adds its
 * gradient to grad (n_params, may be NULL) and returns it. */
double nn_ppo_loss(const nn_ac *n, const nn_batch *b, const nn_ppo_coef *c, double *grad);

#endif
