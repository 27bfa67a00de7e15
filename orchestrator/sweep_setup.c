/* sweep_setup: what a run checks and prepares before it opens the results database,
 * so that a refused run records nothing: the trainer program (beside vaesearch, else on
 * PATH), the runs folder, and the dataset (a generated one made once beside the database). */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scheduler_internal.h"
#include "dataset/dataset.h"
#include "dataset/synth.h"

int sched_resolve_trainer(sweep *w) {
    if (w->o->trainer) {
        snprintf(w->trainer, sizeof w->trainer, "%s", w->o->trainer);
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        snprintf(w->trainer, sizeof w->trainer, "%s/vaecf-train", dirname(self));
        if (access(w->trainer, X_OK) == 0) return 0;
    }
    snprintf(w->trainer, sizeof w->trainer, "vaecf-train");   /* execvp finds it on PATH */
    return 0;
}

/* The trainer must be a program this process can run, found as execvp will find it. */
int sched_check_trainer(const sweep *w, vs_error *err) {
    struct stat st;
    if (strchr(w->trainer, '/')) {
        if (stat(w->trainer, &st) != 0) return vs_errorf(err, "trainer %s: %s", w->trainer, strerror(errno));
        if (!S_ISREG(st.st_mode) || access(w->trainer, X_OK) != 0)
            return vs_errorf(err, "trainer %s: not an executable file", w->trainer);
        return 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        char candidate[8192];
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)len, p, w->trainer);
        if (len && stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) return 0;
        p += len + (p[len] == ':');
    }
    return vs_errorf(err, "trainer %s: not found beside vaesearch nor on PATH; name it with --trainer", w->trainer);
}

static void folder_of(const char *path, char *out, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, n, "%s", dirname(tmp));
}

/* The trials' run folders go under --runs-dir, else "runs" beside the database. */
void sched_resolve_runs(sweep *w) {
    if (w->o->runs_dir) snprintf(w->runs, sizeof w->runs, "%s", w->o->runs_dir);
    else {
        char folder[2048];
        folder_of(w->o->db_path, folder, sizeof folder);
        snprintf(w->runs, sizeof w->runs, "%s/runs", folder);
    }
}

/* The dataset: a file named by the space, or a generated one made once beside the database. */
int sched_ensure_dataset(sweep *w, vs_error *err) {
    if (!w->space.dataset_synth) {
        snprintf(w->dataset, sizeof w->dataset, "%s", w->space.dataset);
    } else {
        char folder[2048];
        folder_of(w->o->db_path, folder, sizeof folder);
        snprintf(w->dataset, sizeof w->dataset, "%s/synth-%s.vsds", folder, w->space.dataset_synth);
        struct stat st;
        if (stat(w->dataset, &st) != 0) {
            vs_synth_opts so;
            vs_dataset ds = {0};
            if (vs_synth_preset(w->space.dataset_synth, &so, err)) return -1;
            char meta[128];
            snprintf(meta, sizeof meta, "{\"source\": \"synth\", \"preset\": \"%s\"}", w->space.dataset_synth);
            int rc = vs_synth_dataset(&so, meta, &ds, err);
            if (rc == 0) rc = vs_dataset_write(&ds, w->dataset, err);
            vs_dataset_close(&ds);
            if (rc) return -1;
            sched_say(w, "generated the '%s' synthetic dataset: %s", w->space.dataset_synth, w->dataset);
        }
    }
    vs_dataset ds;
    if (vs_dataset_open(&ds, w->dataset, err)) return -1;   /* refuse a bad dataset before any trial */
    w->dataset_fingerprint = ds.fingerprint;
    w->dataset_items = ds.n_items;
    w->dataset_train_users = ds.train.rows;
    int rc = 0;
    if (ds.train.rows < 1) rc = vs_errorf(err, "%s: the dataset has no training users", w->dataset);
    else if (ds.val_in.rows < 1)
        rc = vs_errorf(err, "%s: the dataset has no validation users, and the sweep's objective is validation %s",
                       w->dataset, w->space.metric);
    vs_dataset_close(&ds);
    return rc;
}
