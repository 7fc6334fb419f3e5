/*
 * dead.c — gr_remove_dead: drops nodes whose outputs nobody reads and
 * tensors nothing refers to, then renumbers the tensors compactly.
 *
 * How: walk the (topologically ordered) nodes backwards marking live
 * tensors, starting from the graph outputs; a node is live when one of its
 * outputs is. Runtime inputs stay even when unused (they are part of the
 * generated library's signature). Every tensor index in nodes (inputs,
 * outputs, residual, tensor attributes) and in the graph's input / output
 * lists is remapped afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

static void mark_live(const gr_graph *g, bool *live, bool *node_live) {
  for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = true;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    const gr_node *n = &g->nodes[i];
    node_live[i] = false;
    for (int j = 0; j < n->n_out; j++) node_live[i] |= n->out[j] >= 0 && live[n->out[j]];
    if (!node_live[i]) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) live[n->in[j]] = true;
    if (n->residual >= 0) live[n->residual] = true;
    for (int j = 0; j < n->n_attr; j++)
      if (n->attr[j].kind == GR_ATTR_TENSOR) live[n->attr[j].t] = true;
    for (int j = 0; j < n->n_out; j++) live[n->out[j]] = true; /* unused extra outputs stay */
  }
  for (int i = 0; i < g->n_inputs; i++) live[g->inputs[i]] = true;
}

static void remap_node(gr_node *n, const int *map) {
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0) n->in[j] = map[n->in[j]];
  for (int j = 0; j < n->n_out; j++) n->out[j] = map[n->out[j]];
  if (n->residual >= 0) n->residual = map[n->residual];
  for (int j = 0; j < n->n_attr; j++)
    if (n->attr[j].kind == GR_ATTR_TENSOR) n->attr[j].t = map[n->attr[j].t];
}

int gr_remove_dead(gr_graph *g, chm_err *e) {
  bool *live = chm_calloc((size_t)g->n_tensors + 1, sizeof *live);
  bool *node_live = chm_calloc((size_t)g->n_nodes + 1, sizeof *node_live);
  mark_live(g, live, node_live);
  for (int i = 0; i < g->n_nodes; i++)
    if (!node_live[i]) g->nodes[i].op = GR_OP_NONE;
  gr__compact(g);
  int *map = chm_malloc(((size_t)g->n_tensors + 1) * sizeof *map);
  int k = 0;
  for (int t = 0; t < g->n_tensors; t++) {
    map[t] = live[t] ? k : -1;
    if (live[t]) g->tensors[k++] = g->tensors[t];
  }
  g->n_tensors = k;
  for (int i = 0; i < g->n_nodes; i++) remap_node(&g->nodes[i], map);
  for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = map[g->inputs[i]];
  for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = map[g->outputs[i]];
  gr__compact(g);
  free(map);
  free(live);
  free(node_live);
  return 0;
}
