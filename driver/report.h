/*
 * report.h — the tuning report (driver/report.c, library chamcc_report):
 * what `chamcc report` prints from tuning logs.
 */
#ifndef CHAMCC_REPORT_H
#define CHAMCC_REPORT_H

#include "chamcc/util.h"

/* Best-so-far GFLOP/s against measurements, one curve per tuner, one panel
 * per task, from one or more logs (all targets), as an SVG; and a summary
 * table (markdown) on `table` (a FILE *). from_scratch: leave out each
 * run's first measurement (the template's default, which every run takes
 * first), so that the curves show the search alone. */
int tune_report(const char *const *logs, int n_logs, int from_scratch, const char *svg_path, void *table,
                chm_err *e);

#endif
