/*
 * onnx_build.h — builds small ONNX models in memory with protobuf-c and
 * writes them to disk, for the graph tests. Everything lives in one arena
 * freed by mb_free (so tests stay leak-free under ASan).
 *
 *   mb *m = mb_new(13);
 *   mb_input(m, "x", 4, (int64_t[]){1, 3, 8, 8});
 *   mb_init_f(m, "W", 4, (int64_t[]){8, 3, 3, 3}, w, MB_RAW);
 *   Onnx__NodeProto *c = mb_node(m, "Conv", "conv", "x W", "y");
 *   mb_attr_ints(c, m, "pads", 4, (int64_t[]){1, 1, 1, 1});
 *   mb_output(m, "y");
 *   mb_write(m, path);
 *
 * Names in node input / output lists are separated by spaces; "_" is an
 * empty (omitted) name.
 */
#ifndef ONNX_BUILD_H
#define ONNX_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "chamcc/util.h"
#include "onnx.pb-c.h"

typedef struct mb mb;

enum mb_storage {
  MB_RAW,   /* raw_data, little-endian bytes */
  MB_TYPED, /* float_data / int64_data / int32_data */
};

mb *mb_new(int opset);
void mb_free(mb *m);
Onnx__ModelProto *mb_model(mb *m);
chm_arena *mb_arena(mb *m);

void mb_input(mb *m, const char *name, int rank, const int64_t *shape);  /* float32 */
void mb_input_typed(mb *m, const char *name, int elem_type, int rank, const int64_t *shape,
                    const char *dim0_param); /* dim0_param: symbolic first dim or NULL */
/* float32 input whose dim i is symbolic (named params[i]) where params[i] is not NULL */
void mb_input_sym(mb *m, const char *name, int rank, const int64_t *shape, const char *const *params);
void mb_output(mb *m, const char *name);
Onnx__TensorProto *mb_tensor_f(mb *m, const char *name, int rank, const int64_t *shape,
                               const float *data, enum mb_storage how);
Onnx__TensorProto *mb_tensor_i64(mb *m, const char *name, int rank, const int64_t *shape,
                                 const int64_t *data, enum mb_storage how);
void mb_add_init(mb *m, Onnx__TensorProto *t);
void mb_init_f(mb *m, const char *name, int rank, const int64_t *shape, const float *data,
               enum mb_storage how);
void mb_init_i64(mb *m, const char *name, int rank, const int64_t *shape, const int64_t *data,
                 enum mb_storage how);
void mb_init_external(mb *m, const char *name, int rank, const int64_t *shape,
                      const char *location, long offset, long length); /* float32 */

Onnx__NodeProto *mb_node(mb *m, const char *op, const char *name, const char *inputs,
                         const char *outputs);
void mb_attr_i(Onnx__NodeProto *n, mb *m, const char *name, int64_t v);
void mb_attr_f(Onnx__NodeProto *n, mb *m, const char *name, float v);
void mb_attr_s(Onnx__NodeProto *n, mb *m, const char *name, const char *s);
void mb_attr_ints(Onnx__NodeProto *n, mb *m, const char *name, int count, const int64_t *v);
void mb_attr_floats(Onnx__NodeProto *n, mb *m, const char *name, int count, const float *v);
void mb_attr_t(Onnx__NodeProto *n, mb *m, const char *name, Onnx__TensorProto *t);
void mb_reverse_nodes(mb *m);

int mb_write(mb *m, const char *path); /* 0 on success */

#endif
