/* The header chamcc writes for --name model (hand-written copy for the fake). */
#ifndef MODEL_H
#define MODEL_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#ifdef __cplusplus
}
#endif
#endif
int model_num_inputs(void);
int model_num_outputs(void);
const char *model_input_name(int i);
const char *model_output_name(int i);
int model_input_rank(int i);
const int64_t *model_input_shape(int i);
int model_output_rank(int i);
const int64_t *model_output_shape(int i);
int model_run(const float *const *inputs, float *const *outputs);
#ifdef __cplusplus
}
#endif
#endif
