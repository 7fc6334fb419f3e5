/* A hand-written stand-in for a chamcc-generated library, to test the test
 * harness (run_model, the compare logic, the scripts) without the compiler.
 * Model: inputs x [1,3,4,4] and b [1,3,1,1]; outputs y = 2*x + b (broadcast)
 * and s [1,3] = sum of x over H and W. FAKE_BUG=1 at compile time makes
 * model_run use a static "workspace" without a lock, as a library that is not
 * reentrant would: overlapping calls give wrong answers (for the
 * threads-check self-test). */
#include <stddef.h>
#include <string.h>

#include "model.h"

static const int64_t x_shape[] = {1, 3, 4, 4}, b_shape[] = {1, 3, 1, 1};
static const int64_t y_shape[] = {1, 3, 4, 4}, s_shape[] = {1, 3};

int model_num_inputs(void) { return 2; }
int model_num_outputs(void) { return 2; }
const char *model_input_name(int i) { return i == 0 ? "x" : i == 1 ? "b" : NULL; }
const char *model_output_name(int i) { return i == 0 ? "y" : i == 1 ? "s" : NULL; }
int model_input_rank(int i) { return i == 0 ? 4 : i == 1 ? 4 : -1; }
const int64_t *model_input_shape(int i) { return i == 0 ? x_shape : i == 1 ? b_shape : NULL; }
int model_output_rank(int i) { return i == 0 ? 4 : i == 1 ? 2 : -1; }
const int64_t *model_output_shape(int i) { return i == 0 ? y_shape : i == 1 ? s_shape : NULL; }

#if FAKE_BUG
static volatile int busy; /* callers inside model_run (racy on purpose) */
#endif

int model_run(const float *const *in, float *const *out) {
  if (!in || !out || !in[0] || !in[1] || !out[0] || !out[1])
    return 1;
#if FAKE_BUG
  int others = busy++;
  for (volatile int spin = 0; spin < 2000000; spin++)
    ;
  busy--;
#endif
  for (int c = 0; c < 3; c++) {
    float acc = 0;
    for (int k = 0; k < 16; k++) {
      int j = c * 16 + k;
      out[0][j] = 2 * in[0][j] + in[1][c];
      acc += in[0][j];
    }
    out[1][c] = acc;
  }
#if FAKE_BUG
  if (others)
    out[0][0] += 1; /* the shared workspace got clobbered */
#endif
  return 0;
}
