/* cmd_delete: `vaesearch delete NAME`: deletes a sweep from results.db (every trial and
 * what was recorded for it), leaving the file's other sweeps as they are. */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "results_cli.h"
#include "results/results_db.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch delete NAME [--db FILE]\n"
            "\n"
            "Deletes the sweep NAME from the results database: its trials, their parameters,\n"
            "values, epochs and attempts. The file's other sweeps stay; the trainers' run\n"
            "folders (runs/NAME/) are left for you to remove. Refused while a `vaesearch run`\n"
            "of the sweep is alive. A space with the same name then starts a new sweep.\n"
            "\n"
            "  --db FILE   the results database (default results.db)\n"
            "\n"
            "Exit status: 0 deleted, 1 the database could not be changed (or a run owns the\n"
            "sweep), 2 bad usage, or a missing database or sweep.\n");
}

int cmd_delete(int argc, char **argv) {
    const char *db_path;
    int status = results_cli_sweep_args("delete", argc, argv, 1, usage, &db_path);
    if (status >= 0) return status;
    const char *name = argv[optind];
    vs_db *db;
    int study_id, rc = results_cli_open_sweep("delete", db_path, name, &db, &study_id);
    if (rc) return rc;
    vs_error err = {{0}};
    rc = vs_db_delete_sweep(db, study_id, &err);
    vs_db_close(db);
    if (rc) return cli_error("delete", 1, "%s", err.msg);
    printf("deleted sweep '%s' from %s\n", name, db_path);
    return 0;
}
