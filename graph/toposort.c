/*
 * toposort.c — gr_toposort: puts nodes in topological order.
 *
 * How: first every node input must name a tensor that exists — produced by
 * a node, a runtime input, or a constant — else the node is reported
 * ("input 'X' is not produced by any node"); graph outputs likewise. Then
 * Kahn's algorithm over a compact consumer list, seeded in file order so a
 * graph already in order keeps it. Nodes left over sit on a cycle.
 * Residual inputs of fused nodes count as inputs, so passes that fuse or
 * append nodes can call this again to repair the order.
 */
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

static bool is_source(const gr_tensor *t) { return t->is_input || t->data; }

/* Number of dependencies of node i on other nodes; -1 with *e set on a dangling input. */
static int count_deps(const gr_graph *g, int i, chm_err *e) {
  const gr_node *n = &g->nodes[i];
  int deps = 0;
  for (int j = 0; j <= n->n_in; j++) {
    int t = j < n->n_in ? n->in[j] : n->residual;
    if (t < 0) continue;
    const gr_tensor *x = &g->tensors[t];
    if (x->producer >= 0) deps++;
    else if (!is_source(x))
      return gr_node_error(e, g, n, "input '%s' is not produced by any node", x->name);
  }
  return deps;
}

static int check_outputs(const gr_graph *g, chm_err *e) {
  for (int i = 0; i < g->n_outputs; i++) {
    const gr_tensor *x = &g->tensors[g->outputs[i]];
    if (x->producer < 0 && !is_source(x))
      return chm_errorf(e, "%s: graph output '%s' is not produced by any node", g->path, x->name);
  }
  return 0;
}

/* Consumers of each tensor as a CSR list: first[t] .. first[t+1] in users[]. */
static void build_users(const gr_graph *g, int *first, int *users) {
  memset(first, 0, (size_t)(g->n_tensors + 1) * sizeof *first);
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j <= g->nodes[i].n_in; j++) {
      int t = j < g->nodes[i].n_in ? g->nodes[i].in[j] : g->nodes[i].residual;
      if (t >= 0) first[t + 1]++;
    }
  for (int t = 0; t < g->n_tensors; t++) first[t + 1] += first[t];
  int *fill = chm_malloc((size_t)(g->n_tensors + 1) * sizeof *fill);
  memcpy(fill, first, (size_t)(g->n_tensors + 1) * sizeof *fill);
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j <= g->nodes[i].n_in; j++) {
      int t = j < g->nodes[i].n_in ? g->nodes[i].in[j] : g->nodes[i].residual;
      if (t >= 0) users[fill[t]++] = i;
    }
  free(fill);
}

/* Kahn's algorithm; order[] receives node indices, returns how many were placed. */
static int kahn(const gr_graph *g, int *deps, int *order) {
  int *first = chm_malloc((size_t)(g->n_tensors + 1) * sizeof *first);
  int edges = 0;
  for (int i = 0; i < g->n_nodes; i++) edges += g->nodes[i].n_in + 1;
  int *users = chm_malloc((size_t)(edges + 1) * sizeof *users);
  build_users(g, first, users);
  int head = 0, tail = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (deps[i] == 0) order[tail++] = i;
  while (head < tail) {
    const gr_node *n = &g->nodes[order[head++]];
    for (int j = 0; j < n->n_out; j++)
      for (int u = first[n->out[j]]; u < first[n->out[j] + 1]; u++)
        if (--deps[users[u]] == 0) order[tail++] = users[u];
  }
  free(first);
  free(users);
  return tail;
}

int gr_toposort(gr_graph *g, chm_err *e) {
  gr__compact(g); /* also sets producers */
  if (check_outputs(g, e)) return -1;
  int *deps = chm_malloc((size_t)(g->n_nodes + 1) * sizeof *deps);
  int *order = chm_malloc((size_t)(g->n_nodes + 1) * sizeof *order);
  int rc = 0;
  for (int i = 0; i < g->n_nodes && !rc; i++)
    if ((deps[i] = count_deps(g, i, e)) < 0) rc = -1;
  if (!rc) {
    int placed = kahn(g, deps, order);
    if (placed < g->n_nodes) {
      for (int i = 0; i < g->n_nodes; i++)
        if (deps[i] > 0) {
          rc = gr_node_error(e, g, &g->nodes[i], "is part of a cycle");
          break;
        }
    } else {
      gr_node *sorted = chm_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *sorted);
      for (int i = 0; i < g->n_nodes; i++) sorted[i] = g->nodes[order[i]];
      memcpy(g->nodes, sorted, (size_t)g->n_nodes * sizeof *sorted);
      free(sorted);
      gr__compact(g);
    }
  }
  free(deps);
  free(order);
  return rc;
}
