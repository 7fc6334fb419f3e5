/*
 * check_ops.c — gr_check_ops: the table of operators chamcc accepts.
 *
 * Each op has an input and output count range and a kind: COMPUTE ops may
 * stay in the graph and run (on float32), FOLD ops (Shape, Gather, Slice,
 * ConstantOfShape, Cast, Range) exist only to be evaluated at compile time.
 * Checking counts here means the later passes can index in[] and out[]
 * without re-checking. Which attributes are valid is checked where they are
 * read (shapes.c), since that depends on the opset.
 */
#include <string.h>

#include "gr_internal.h"

enum { MANY = 1 << 30 };

typedef enum op_kind {
  COMPUTE, /* runs at run time (and may also fold) */
  FOLD,    /* compile-time only: shape computations */
} op_kind;

typedef struct op_info {
  const char *op;       /* ONNX op type */
  int min_in, max_in;   /* input count range; the first min_in must be present */
  int min_out, max_out; /* output count range */
  op_kind kind;         /* compute or fold-only */
} op_info;

static const op_info ops[] = {
    {"Conv", 2, 3, 1, 1, COMPUTE},
    {"Gemm", 2, 3, 1, 1, COMPUTE},
    {"MatMul", 2, 2, 1, 1, COMPUTE},
    {"Relu", 1, 1, 1, 1, COMPUTE},
    {"LeakyRelu", 1, 1, 1, 1, COMPUTE},
    {"Clip", 1, 3, 1, 1, COMPUTE},
    {"Sigmoid", 1, 1, 1, 1, COMPUTE},
    {"HardSigmoid", 1, 1, 1, 1, COMPUTE},
    {"HardSwish", 1, 1, 1, 1, COMPUTE},
    {"Tanh", 1, 1, 1, 1, COMPUTE},
    {"Add", 2, 2, 1, 1, COMPUTE},
    {"Sub", 2, 2, 1, 1, COMPUTE},
    {"Mul", 2, 2, 1, 1, COMPUTE},
    {"Div", 2, 2, 1, 1, COMPUTE},
    {"Max", 1, MANY, 1, 1, COMPUTE},
    {"Min", 1, MANY, 1, 1, COMPUTE},
    {"BatchNormalization", 5, 5, 1, 5, COMPUTE},
    {"MaxPool", 1, 1, 1, 2, COMPUTE},
    {"AveragePool", 1, 1, 1, 1, COMPUTE},
    {"GlobalAveragePool", 1, 1, 1, 1, COMPUTE},
    {"GlobalMaxPool", 1, 1, 1, 1, COMPUTE},
    {"Flatten", 1, 1, 1, 1, COMPUTE},
    {"Reshape", 1, 2, 1, 1, COMPUTE},
    {"Transpose", 1, 1, 1, 1, COMPUTE},
    {"Squeeze", 1, 2, 1, 1, COMPUTE},
    {"Unsqueeze", 1, 2, 1, 1, COMPUTE},
    {"Concat", 1, MANY, 1, 1, COMPUTE},
    {"Pad", 1, 3, 1, 1, COMPUTE},
    {"Softmax", 1, 1, 1, 1, COMPUTE},
    {"Identity", 1, 1, 1, 1, COMPUTE},
    {"Dropout", 1, 3, 1, 2, COMPUTE},
    {"Constant", 0, 0, 1, 1, FOLD},
    {"Shape", 1, 1, 1, 1, FOLD},
    {"Gather", 2, 2, 1, 1, FOLD},
    {"Slice", 1, 5, 1, 1, FOLD},
    {"ConstantOfShape", 1, 1, 1, 1, FOLD},
    {"Cast", 1, 1, 1, 1, FOLD},
    {"Range", 3, 3, 1, 1, FOLD},
};

static const op_info *find_op(const char *op) {
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(ops[i].op, op) == 0) return &ops[i];
  return NULL;
}

bool gr__is_fold_only(const char *op) {
  const op_info *info = find_op(op);
  return info && info->kind == FOLD;
}

static int check_node(const gr_graph *g, const gr_node *n, chm_err *e) {
  const op_info *info = find_op(n->op);
  if (!info) return gr_node_error(e, g, n, "unsupported operator");
  if (n->n_in < info->min_in || n->n_in > info->max_in) {
    if (info->min_in == info->max_in)
      return gr_node_error(e, g, n, "expects %d inputs, got %d", info->min_in, n->n_in);
    if (info->max_in == MANY)
      return gr_node_error(e, g, n, "expects at least %d inputs, got %d", info->min_in, n->n_in);
    return gr_node_error(e, g, n, "expects %d to %d inputs, got %d", info->min_in, info->max_in,
                         n->n_in);
  }
  for (int j = 0; j < info->min_in; j++)
    if (n->in[j] < 0) return gr_node_error(e, g, n, "required input %d is missing", j + 1);
  if (n->n_out < info->min_out || n->n_out > info->max_out)
    return gr_node_error(e, g, n, "expects %d to %d outputs, got %d", info->min_out,
                         info->max_out, n->n_out);
  return 0;
}

int gr_check_ops(gr_graph *g, chm_err *e) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op && check_node(g, &g->nodes[i], e)) return -1;
  return 0;
}
