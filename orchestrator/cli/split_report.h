/* split_report: the half that `vaesearch prepare` and `vaesearch synth` share once
 * they hold interaction pairs: the paper's split (dataset/protocol.c), the dataset
 * file (dataset/dataset.c), and the report of what that gave, as text lines or as
 * members of the command's --json object. Each command prints its own lines first
 * (the input read, or the model generated), then this report. */
#ifndef VS_SPLIT_REPORT_H
#define VS_SPLIT_REPORT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/vs_error.h"
#include "dataset/dataset.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"

typedef struct split_report {
    /* Set by the command before split_report_run. */
    vs_protocol_opts opts;       /* the split's options */
    const char *source_step;     /* what made the pairs, for the timings: "read", "generate" */
    double source_s;             /* its seconds */
    /* Filled by split_report_run. */
    vs_protocol_stats protocol;  /* filtering and split counts */
    vs_dataset_stats split;      /* the dataset's counts */
    int64_t heldout;             /* validation users, the same number as test users */
    double split_s, write_s;
} split_report;

enum { SPLIT_REPORT_SPLIT_FAILED = -1, SPLIT_REPORT_WRITE_FAILED = -2 };

/* Splits x with r->opts (meta_extra as for vs_protocol_split), frees x, writes the
 * dataset to path and fills r's counts and timings. Returns 0, or, with err set,
 * SPLIT_REPORT_SPLIT_FAILED when the split refuses the pairs and
 * SPLIT_REPORT_WRITE_FAILED when the file cannot be written. */
int split_report_run(vs_interactions *x, const char *meta_extra, const char *path, split_report *r,
                     vs_error *err);

/* Prints the counts from "users" on, the timings and "wrote PATH", a line each. */
void split_report_print_text(const split_report *r, const char *path);

/* Adds the counts (from "duplicates" to the "split" object) and "seconds" to o, the
 * command's JSON object, then prints o on one line and deletes it. */
void split_report_print_json(cJSON *o, const split_report *r);

#endif
