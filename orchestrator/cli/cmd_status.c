/* cmd_status: `vaesearch status`: where a sweep stands: trials per state against the
 * budget (trials it did not run, seeds and those Optuna added, apart), the best so far,
 * the running trials (epoch, GPUs, time), whether the run that owns the sweep is alive,
 * a rough time left while one is, and the disk its run folder takes. Reads results.db
 * (and the run folder's sizes) only. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "results_cli.h"
#include "orchestrator/run_folders.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch status [--db PATH] [--sweep NAME] [--format text|json]\n"
            "\n"
            "A sweep's progress: trials per state and the trials done (COMPLETE or PRUNED) of\n"
            "the budget, counting the trials it ran (warm-start seeds and trials added with\n"
            "Optuna's add_trial are listed apart), the best trial so far, the running trials\n"
            "with their latest epoch, GPUs, time and (under `--launcher slurm`) Slurm job and\n"
            "step ids, whether the `vaesearch run` that owns the sweep is alive, the time left\n"
            "while it is, estimated as the mean duration of the finished trials x the trials\n"
            "left / the trials running at once (1 when none runs), and the disk its run\n"
            "folder takes.\n"
            "\n"
            RESULTS_CLI_HELP
            "missing database or sweep.\n");
}

static const char *const states[] = {"COMPLETE", "PRUNED", "RUNNING", "WAITING", "FAIL"};
#define N_STATES (int)(sizeof states / sizeof states[0])

static int is_state(const cJSON *trial, const char *state) {
    const char *s = results_string(trial, "state");
    return s && !strcmp(s, state);
}

/* ---- the report, built as JSON; text is printed from it ---- */

static cJSON *running_json(const cJSON *t, const char *metric) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "number", cJSON_GetObjectItem(t, "number")->valuedouble);
    const cJSON *latest = cJSON_GetObjectItem(t, "latest_epoch");
    double epoch = results_number(cJSON_GetObjectItem(latest, "epoch"));
    if (isnan(epoch)) cJSON_AddNullToObject(r, "epoch");
    else cJSON_AddNumberToObject(r, "epoch", epoch);
    char key[64];
    snprintf(key, sizeof key, "val_%s", metric);
    double v = results_number(cJSON_GetObjectItem(latest, key));
    if (isfinite(v)) cJSON_AddNumberToObject(r, "value", v);
    else cJSON_AddNullToObject(r, "value");
    const cJSON *attrs = cJSON_GetObjectItem(t, "user_attrs");
    const char *gpus = results_string(attrs, "gpus");
    cJSON_AddStringToObject(r, "gpus", gpus ? gpus : "");
    /* A job step under `--launcher slurm`: its ids as the step reported them (null until then). */
    const char *job = results_string(attrs, "slurm_job_id");
    if (job) {
        cJSON *slurm = cJSON_AddObjectToObject(r, "slurm");
        static const char *const keys[][2] = {
            {"slurm_job_id", "job_id"}, {"slurm_step_id", "step_id"}, {"slurm_node", "node"}};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const char *v = results_string(attrs, keys[i][0]);
            if (v) cJSON_AddStringToObject(slurm, keys[i][1], v);
            else cJSON_AddNullToObject(slurm, keys[i][1]);
        }
    } else cJSON_AddNullToObject(r, "slurm");
    double seconds = results_number(cJSON_GetObjectItem(t, "seconds"));
    if (isfinite(seconds)) cJSON_AddNumberToObject(r, "seconds", seconds);
    else cJSON_AddNullToObject(r, "seconds");
    return r;
}

/* The best COMPLETE trial in the sweep's direction, or NULL. */
static const cJSON *best_trial(const cJSON *trials, int maximize) {
    const cJSON *best = NULL, *t;
    double best_value = NAN;
    cJSON_ArrayForEach(t, trials) {
        double v = results_number(cJSON_GetObjectItem(t, "value"));
        if (!is_state(t, "COMPLETE") || isnan(v)) continue;
        if (!best || (maximize ? v > best_value : v < best_value)) best = t, best_value = v;
    }
    return best;
}

static void add_number_or_null(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* A trial that ended without the sweep running it: a warm-start seed, or one Optuna's
 * add_trial wrote (no attempt recorded). */
static int is_history(const cJSON *t) {
    return results_number(cJSON_GetObjectItem(t, "attempts")) == 0 &&
           (is_state(t, "COMPLETE") || is_state(t, "PRUNED") || is_state(t, "FAIL"));
}

/* The run folder and the disk it takes: {path, bytes}, or null when none is recorded. */
static cJSON *runs_json(const cJSON *sweep, const char *db_path) {
    const char *stored = results_string(sweep, "runs_dir");
    char folder[4096], path[8192];
    vs_error err = {{0}};
    if (!stored || vs_runs_db_folder(db_path, folder, sizeof folder, &err)) return cJSON_CreateNull();
    vs_runs_resolve(folder, stored, path, sizeof path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", path);
    int64_t bytes;
    if (vs_runs_disk_use(path, &bytes, &err) == 0) cli_json_add_int(o, "bytes", bytes);
    else cJSON_AddNullToObject(o, "bytes");   /* gone, or unreadable */
    return o;
}

static cJSON *build_report(const cJSON *sweep, const cJSON *trials, const char *db_path) {
    cJSON *r = cJSON_CreateObject();
    const char *metric = results_string(sweep, "metric");
    const char *direction = results_string(sweep, "direction");
    cJSON_AddStringToObject(r, "sweep", results_string(sweep, "name") ? results_string(sweep, "name") : "");
    cJSON_AddStringToObject(r, "metric", metric ? metric : "");
    cJSON_AddStringToObject(r, "direction", direction ? direction : "maximize");
    const cJSON *counts = cJSON_GetObjectItem(sweep, "counts");
    cJSON_AddItemToObject(r, "counts", cJSON_Duplicate(counts, 1));
    /* proposals: the trials the budget counts (no retry, not history); unfinished: those
     * waiting or running */
    int done = 0, seeds = 0, added = 0, proposals = 0, unfinished = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        if (is_history(t)) {
            if (results_string(cJSON_GetObjectItem(t, "user_attrs"), "warm_start")) seeds++;
            else added++;
            continue;
        }
        done += is_state(t, "COMPLETE") || is_state(t, "PRUNED");
        proposals += !cJSON_GetObjectItem(cJSON_GetObjectItem(t, "user_attrs"), "retry_of");
        unfinished += is_state(t, "WAITING") || is_state(t, "RUNNING");
    }
    int budget = (int)results_number(cJSON_GetObjectItem(sweep, "n_trials"));
    cJSON_AddNumberToObject(r, "done", done);
    cJSON_AddNumberToObject(r, "budget", budget);
    cJSON *history = cJSON_AddObjectToObject(r, "not_run");
    cJSON_AddNumberToObject(history, "seeds", seeds);
    cJSON_AddNumberToObject(history, "added", added);

    const cJSON *best = best_trial(trials, !direction || strcmp(direction, "minimize"));
    if (best) {
        cJSON *b = cJSON_AddObjectToObject(r, "best");
        cJSON_AddNumberToObject(b, "number", cJSON_GetObjectItem(best, "number")->valuedouble);
        cJSON_AddItemToObject(b, "value", cJSON_Duplicate(cJSON_GetObjectItem(best, "value"), 1));
    } else cJSON_AddNullToObject(r, "best");

    cJSON *running = cJSON_AddArrayToObject(r, "running");
    double finished_seconds = 0;
    int finished = 0;
    cJSON_ArrayForEach(t, trials) {
        if (is_state(t, "RUNNING")) cJSON_AddItemToArray(running, running_json(t, metric ? metric : "ndcg@100"));
        double s = results_number(cJSON_GetObjectItem(t, "seconds"));
        if ((is_state(t, "COMPLETE") || is_state(t, "PRUNED")) && isfinite(s)) finished_seconds += s, finished++;
    }
    const cJSON *owner = cJSON_GetObjectItem(sweep, "owner");
    cJSON_AddItemToObject(r, "owner", cJSON_Duplicate(owner, 1));

    /* Time left: finished trials' mean duration x trials left (not proposed yet, or
     * unfinished) / trials at once, while a run goes on (alive here, or on another host:
     * unknown, so taken as alive). */
    int remaining = (budget > proposals ? budget - proposals : 0) + unfinished;
    int slots = cJSON_GetArraySize(running) > 0 ? cJSON_GetArraySize(running) : 1;
    double mean = finished ? finished_seconds / finished : NAN;
    int running_now = cJSON_IsObject(owner) && !cJSON_IsFalse(cJSON_GetObjectItem(owner, "alive"));
    cJSON_AddNumberToObject(r, "remaining", remaining);
    cJSON_AddNumberToObject(r, "slots", slots);
    add_number_or_null(r, "mean_trial_seconds", mean);
    add_number_or_null(r, "eta_seconds", remaining == 0 ? 0 : running_now ? mean * remaining / slots : NAN);
    cJSON_AddItemToObject(r, "runs", runs_json(sweep, db_path));
    return r;
}

static void print_owner(const cJSON *owner) {
    if (!cJSON_IsObject(owner)) {
        printf("owner     none: no `vaesearch run` owns the sweep\n");
        return;
    }
    const cJSON *alive = cJSON_GetObjectItem(owner, "alive");
    char age[32];
    results_duration(results_number(cJSON_GetObjectItem(owner, "heartbeat_age_s")), age);
    printf("owner     pid %.0f on %s, %s (heartbeat %s ago)\n", results_number(cJSON_GetObjectItem(owner, "pid")),
           results_string(owner, "host") ? results_string(owner, "host") : "?",
           cJSON_IsTrue(alive) ? "alive" : cJSON_IsFalse(alive) ? "gone (the process has exited)" : "on another host",
           age);
}

static void print_text(const cJSON *r) {
    const char *metric = results_string(r, "metric");
    /* Trials RUNNING under a run that has exited are orphans: the next run resumes them. */
    int orphaned = cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "owner"), "alive")) ||
                   cJSON_IsNull(cJSON_GetObjectItem(r, "owner"));
    printf("sweep     %s (%s %s)\n", results_string(r, "sweep"), results_string(r, "direction"), metric);
    const cJSON *counts = cJSON_GetObjectItem(r, "counts");
    printf("trials    %.0f of %.0f done;", results_number(cJSON_GetObjectItem(r, "done")),
           results_number(cJSON_GetObjectItem(r, "budget")));
    for (int i = 0; i < N_STATES; i++)
        printf("%s %.0f %s", i ? "," : "", results_number(cJSON_GetObjectItem(counts, states[i])), states[i]);
    const cJSON *not_run = cJSON_GetObjectItem(r, "not_run");
    double seeds = results_number(cJSON_GetObjectItem(not_run, "seeds")),
           added = results_number(cJSON_GetObjectItem(not_run, "added"));
    if (seeds > 0 || added > 0) {
        printf("; not run here:");
        if (seeds > 0) printf(" %.0f warm-start seed%s%s", seeds, seeds == 1 ? "" : "s", added > 0 ? "," : "");
        if (added > 0) printf(" %.0f added with Optuna (add_trial)", added);
    }
    printf("\n");
    const cJSON *best = cJSON_GetObjectItem(r, "best");
    if (cJSON_IsObject(best))
        printf("best      trial %.0f: %s %.4f\n", results_number(cJSON_GetObjectItem(best, "number")), metric,
               results_number(cJSON_GetObjectItem(best, "value")));
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItem(r, "running")) {
        char took[32], value[48] = "";
        results_duration(results_number(cJSON_GetObjectItem(run, "seconds")), took);
        double v = results_number(cJSON_GetObjectItem(run, "value"));
        if (isfinite(v)) snprintf(value, sizeof value, ", %s %.4f", metric, v);
        double epoch = results_number(cJSON_GetObjectItem(run, "epoch"));
        const char *gpus = results_string(run, "gpus");
        printf("running   trial %.0f: ", results_number(cJSON_GetObjectItem(run, "number")));
        if (isnan(epoch)) printf("no epoch yet");
        else printf("epoch %.0f%s", epoch, value);
        printf(", %s%s", gpus && *gpus ? "GPUs " : "CPU", gpus ? gpus : "");
        const cJSON *slurm = cJSON_GetObjectItem(run, "slurm");
        if (cJSON_IsObject(slurm)) {
            const char *job = results_string(slurm, "job_id"), *step = results_string(slurm, "step_id"),
                       *node = results_string(slurm, "node");
            if (step) printf(", Slurm job %s step %s (%s.%s) on %s", job, step, job, step, node ? node : "?");
            else printf(", Slurm job %s, step not started yet", job);
        }
        printf(", %s%s\n", took, orphaned ? " (orphaned: the next `vaesearch run` resumes it)" : "");
    }
    print_owner(cJSON_GetObjectItem(r, "owner"));
    double eta = results_number(cJSON_GetObjectItem(r, "eta_seconds"));
    double remaining = results_number(cJSON_GetObjectItem(r, "remaining"));
    char left[32], mean[32];
    results_duration(eta, left);
    results_duration(results_number(cJSON_GetObjectItem(r, "mean_trial_seconds")), mean);
    const cJSON *owner = cJSON_GetObjectItem(r, "owner");
    if (remaining == 0) printf("left      nothing: the budget is spent\n");
    else if (!cJSON_IsObject(owner) || cJSON_IsFalse(cJSON_GetObjectItem(owner, "alive")))
        printf("left      %.0f trial%s; no run is going on: `vaesearch run` with the sweep's space goes on\n", remaining,
               remaining == 1 ? "" : "s");
    else if (isnan(eta)) printf("left      unknown until a trial finishes\n");
    else
        printf("left      about %s (%s a trial x %.0f left / %.0f at once)\n", left, mean, remaining,
               results_number(cJSON_GetObjectItem(r, "slots")));
    const cJSON *runs = cJSON_GetObjectItem(r, "runs");
    if (cJSON_IsObject(runs)) {
        char size[32];
        double bytes = results_number(cJSON_GetObjectItem(runs, "bytes"));
        if (isnan(bytes)) snprintf(size, sizeof size, "missing");
        else results_bytes((int64_t)bytes, size);
        printf("runs      %s: %s\n", results_string(runs, "path"), size);
    }
}

/* ---- the command ---- */

int cmd_status(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    results_cli o = {.verb = "status"};
    cJSON *sweep, *trials;
    int rc = results_cli_parse(&o, argc, argv);
    if (rc || (rc = results_cli_load(&o, -1, 0, &sweep, &trials))) return rc;
    cJSON *report = build_report(sweep, trials, o.db_path);
    if (o.format == RESULTS_JSON) cli_json_print(report); /* and deletes it */
    else {
        print_text(report);
        cJSON_Delete(report);
    }
    cJSON_Delete(trials);
    cJSON_Delete(sweep);
    return 0;
}
