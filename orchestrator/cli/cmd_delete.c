/* cmd_delete: `vaesearch delete NAME`: deletes a sweep from results.db (every trial and
 * what was recorded for it), leaving the file's other sweeps as they are, and its run
 * folder with it unless --keep-runs. */
#define _GNU_SOURCE   /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "results_cli.h"
#include "orchestrator/run_folders.h"
#include "results/results_db.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch delete NAME [--db FILE] [--keep-runs]\n"
            "\n"
            "Deletes the sweep NAME from the results database: its trials, their parameters,\n"
            "values, epochs and attempts; the file's other sweeps stay. Its run folder (where\n"
            "its trainers wrote models and states, e.g. runs/NAME/) is removed too, unless\n"
            "--keep-runs; a folder whose sweep.json does not name this sweep is never removed.\n"
            "Refused while a `vaesearch run` of the sweep is alive. A space with the same\n"
            "name then starts a new sweep, in a run folder of its own.\n"
            "\n"
            "  --db FILE     the results database (default results.db)\n"
            "  --keep-runs   leave the run folder as it is (a new sweep of the name never\n"
            "                uses it: it takes runs/NAME-2)\n"
            "\n"
            "Exit status: 0 deleted, 1 the database could not be changed (or a run owns the\n"
            "sweep) or the run folder could not be removed, 2 bad usage, or a missing database\n"
            "or sweep.\n");
}

/* What becomes of the deleted sweep's run folder, said on stdout: 0, or 1 when it could
 * not be removed. */
static int tidy_runs(const char *db_path, const char *uid, const char *runs_dir, int keep) {
    if (!runs_dir) {
        printf("no run folder was recorded for it (a sweep an older vaesearch ran: its folders, runs/NAME/, "
               "were left as they are)\n");
        return 0;
    }
    char folder[4096], path[8192], other[64];
    vs_error err = {{0}};
    if (vs_runs_db_folder(db_path, folder, sizeof folder, &err)) return cli_error("delete", 1, "%s", err.msg);
    vs_runs_resolve(folder, runs_dir, path, sizeof path);
    struct stat st;
    int64_t bytes = 0;
    char size[32];
    if (lstat(path, &st)) printf("its run folder %s is gone already\n", path);
    else if (keep) printf("kept its run folder %s (--keep-runs)\n", path);
    else if (!S_ISDIR(st.st_mode) || !vs_runs_sweep_of(path, uid, other))
        printf("left %s as it is: its %s does not name this sweep\n", path, VS_RUNS_SWEEP_FILE);
    else {
        vs_runs_disk_use(path, &bytes, &err);
        if (vs_runs_remove(path, &err)) return cli_error("delete", 1, "%s", err.msg);
        results_bytes(bytes, size);
        printf("removed its run folder %s (%s)\n", path, size);
    }
    return 0;
}

int cmd_delete(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"keep-runs", no_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
    const char *db_path = "results.db";
    int keep = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'd') db_path = optarg;
        else if (c == 'k') keep = 1;
        else return cli_option_error("delete", c, argv);
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    vs_db *db;
    int study_id, rc = results_cli_open_sweep("delete", db_path, name, &db, &study_id);
    if (rc) return rc;
    vs_error err = {{0}};
    cJSON *sweep = vs_db_sweep_json(db, study_id, &err);
    rc = sweep ? vs_db_delete_sweep(db, study_id, &err) : -1;
    vs_db_close(db);
    if (rc) {
        cJSON_Delete(sweep);
        return cli_error("delete", 1, "%s", err.msg);
    }
    printf("deleted sweep '%s' from %s\n", name, db_path);
    const char *uid = results_string(sweep, "id");
    rc = tidy_runs(db_path, uid ? uid : "", results_string(sweep, "runs_dir"), keep);
    cJSON_Delete(sweep);
    return rc;
}
