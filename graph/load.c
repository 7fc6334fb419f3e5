/*
 * load.c — gr_load: the whole graph pipeline as one short function.
 *
 * import → toposort → check_ops → fold_constants → infer_shapes (which
 * keeps folding as shapes become known) → fold_batchnorm →
 * match_patterns → fuse_epilogues → remove_dead. Setting CHAMCC_DUMP_GRAPH=1 in the
 * environment prints the graph after each pass to stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gr_internal.h"

typedef int (*gr_pass)(gr_graph *, chm_err *);

gr_graph *gr_load(const char *path, chm_err *e) { return gr_load_shapes(path, NULL, 0, e); }

gr_graph *gr_load_shapes(const char *path, const gr_input_shape *shapes, int n_shapes, chm_err *e) {
  static const struct {
    const char *name; /* for the dump */
    gr_pass run;      /* the pass */
  } passes[] = {
      {"toposort", gr_toposort},           {"check_ops", gr_check_ops},
      {"fold_constants", gr_fold_constants}, {"infer_shapes", gr_infer_shapes},
      {"fold_batchnorm", gr_fold_batchnorm}, {"match_patterns", gr_match_patterns},
      {"fold_pads", gr_fold_pads},           {"fuse_epilogues", gr_fuse_epilogues},
      {"remove_dead", gr_remove_dead},
  };
  gr_graph *g = gr_import_shapes(path, shapes, n_shapes, e);
  if (!g) return NULL;
  const char *dump = getenv("CHAMCC_DUMP_GRAPH");
  for (size_t i = 0; i < sizeof passes / sizeof *passes; i++) {
    if (passes[i].run(g, e)) {
      gr_free(g);
      return NULL;
    }
    if (dump && *dump && *dump != '0') {
      fprintf(stderr, "---- after %s\n", passes[i].name);
      gr_dump(g, stderr);
    }
  }
  return g;
}
