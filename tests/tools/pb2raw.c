/* pb2raw: converts one ONNX TensorProto file (input_0.pb, output_0.pb of the
 * ONNX backend test data) to raw little-endian float32, for run_model.
 *
 *   pb2raw TENSOR.pb OUT.bin     writes OUT.bin, prints "float32 [d0,d1,...] N"
 *   pb2raw TENSOR.pb             prints the shape only
 *
 * The tensor is parsed with the protobuf-c parser generated from Debian's
 * onnx.proto. Values come from raw_data (little-endian bytes) or float_data.
 * Exit status: 0 ok, 1 I/O or parse error, 2 the tensor is not float32 (or
 * keeps its data outside the file). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "pb2raw: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap)
      buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Returns the element count, or -1 when a dimension is negative. */
static int64_t numel(const Onnx__TensorProto *t) {
  int64_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0)
      return -1;
    n *= t->dims[i];
  }
  return n;
}

static void print_shape(FILE *f, const Onnx__TensorProto *t) {
  fprintf(f, "[");
  for (size_t i = 0; i < t->n_dims; i++)
    fprintf(f, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  fprintf(f, "]");
}

/* Writes the values as little-endian float32 (this tool assumes a
 * little-endian host, as every target chamcc runs its tests on). */
static int write_floats(const char *path, const Onnx__TensorProto *t, int64_t n) {
  const void *src;
  if (t->has_raw_data && t->raw_data.len > 0) {
    if (t->raw_data.len != (size_t)n * 4) {
      fprintf(stderr, "pb2raw: raw_data has %zu bytes, shape needs %lld\n",
              t->raw_data.len, (long long)n * 4);
      return 1;
    }
    src = t->raw_data.data;
  } else {
    if (t->n_float_data != (size_t)n) {
      fprintf(stderr, "pb2raw: float_data has %zu values, shape needs %lld\n",
              t->n_float_data, (long long)n);
      return 1;
    }
    src = t->float_data;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "pb2raw: %s: %s\n", path, strerror(errno));
    return 1;
  }
  size_t ok = n ? fwrite(src, 4, (size_t)n, f) : 0;
  if (fclose(f) != 0 || ok != (size_t)n) {
    fprintf(stderr, "pb2raw: %s: write failed\n", path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: pb2raw TENSOR.pb [OUT.bin]\n");
    return 1;
  }
  size_t len;
  uint8_t *buf = read_file(argv[1], &len);
  if (!buf)
    return 1;
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  if (!t) {
    fprintf(stderr, "pb2raw: %s: not a TensorProto\n", argv[1]);
    return 1;
  }
  if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    fprintf(stderr, "pb2raw: %s: tensor '%s' has data type %d, only float32 (1) is supported\n",
            argv[1], t->name ? t->name : "", t->data_type);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return 2;
  }
  if (t->n_external_data > 0) {
    fprintf(stderr, "pb2raw: %s: external data is not supported\n", argv[1]);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return 2;
  }
  int64_t n = numel(t);
  if (n < 0) {
    fprintf(stderr, "pb2raw: %s: negative dimension\n", argv[1]);
    return 1;
  }
  int rc = argc == 3 ? write_floats(argv[2], t, n) : 0;
  if (rc == 0) {
    printf("float32 ");
    print_shape(stdout, t);
    printf(" %lld\n", (long long)n);
  }
  onnx__tensor_proto__free_unpacked(t, NULL);
  return rc;
}
