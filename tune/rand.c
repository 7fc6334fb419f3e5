/*
 * rand.c — the one random number generator of the tuner: xorshift32 on a
 * word the caller owns (a method's state, the sampler's, the PPO agent's),
 * so that every run is reproduced from its seed and nothing is shared
 * between threads.
 */
#include "chamcc/tune.h"

unsigned tune_rand(unsigned *rng) {
  unsigned x = *rng ? *rng : 0x9e3779b9u; /* 0 is xorshift's fixed point */
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *rng = x;
  return x >> 1;
}

double tune_randf(unsigned *rng) { return tune_rand(rng) / 2147483648.0; }
