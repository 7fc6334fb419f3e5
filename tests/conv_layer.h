/* conv_layer.h — the square convolution workloads of the C tests.
 *
 * conv_layer(C, H, K, k, s, p, lanes): batch 1, C -> K channels, H x H
 * input, k x k window, stride s, padding p on every side (held in the
 * input's halo), channel blocks of `lanes`, no groups, no dilation. */
#ifndef CHAMCC_TESTS_CONV_LAYER_H
#define CHAMCC_TESTS_CONV_LAYER_H

#include "chamcc/tpl.h"

__attribute__((unused)) static tpl_conv conv_layer(int64_t C, int64_t H, int64_t K, int64_t k, int64_t s,
                                                   int64_t p, int lanes) {
  tpl_conv w = {0};
  int64_t oh = (H + 2 * p - k) / s + 1;
  w.in = (tpl_view){1, C, H, H, lanes, p, p};
  w.out = (tpl_view){1, K, oh, oh, lanes, 0, 0};
  w.kh = w.kw = k;
  w.sh = w.sw = s;
  w.dh = w.dw = 1;
  w.pt = w.pl = p;
  return w;
}

#endif
