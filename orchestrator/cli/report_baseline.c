/* report_baseline: the popularity baseline that `vaesearch report` shows beside the
 * sweep's best trial, for scale: the sweep's dataset ranked by item popularity
 * (trainer/baseline.h, the numbers vaecf-train's start line reports for validation),
 * on the validation and the test users. results.db does not hold it, so the dataset is
 * read: the file the sweep recorded (study user attribute `dataset`; a generated
 * `synth:PRESET` lies beside the database, as `vaesearch run` made it), or --data. */
#include "report_baseline.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "results_cli.h"
#include "dataset/dataset.h"
#include "trainer/baseline.h"

/* The dataset file the sweep recorded, or "" when it recorded none. */
static void recorded_dataset(const report *r, char *out, size_t n) {
    const char *d = results_string(r->study_attrs, "dataset");
    out[0] = 0;
    if (!d) return;
    if (!strncmp(d, "synth:", 6)) {
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", r->db_path);
        snprintf(out, n, "%s/synth-%s.vsds", dirname(folder), d + 6);
    } else {
        snprintf(out, n, "%s", d);
    }
}

void report_baseline_compute(report *r, const char *dataset_path) {
    report_baseline *b = &r->baseline;
    char path[4200];
    if (dataset_path) snprintf(path, sizeof path, "%s", dataset_path);
    else recorded_dataset(r, path, sizeof path);
    b->known = 0;
    if (!path[0]) {
        snprintf(b->note, sizeof b->note, "the sweep recorded no dataset; name one with --data");
        return;
    }
    vs_dataset ds;
    vs_error err = {{0}};
    if (vs_dataset_open(&ds, path, &err)) {
        snprintf(b->note, sizeof b->note, "%s%s", err.msg, dataset_path ? "" : " (name the dataset with --data)");
        return;
    }
    vs_popularity_metrics(&ds, &ds.val_in, &ds.val_out, &b->val);
    vs_popularity_metrics(&ds, &ds.test_in, &ds.test_out, &b->test);
    vs_dataset_stats st;
    vs_dataset_stats_compute(&ds, &st);
    b->train_users = st.train_users;
    b->val_users = st.val_users;
    b->test_users = st.test_users;
    b->items = st.items;
    b->interactions = st.interactions;
    vs_dataset_close(&ds);
    b->known = 1;
    snprintf(b->note, sizeof b->note, "%s", path);
}
