/* cmd_rename: `vaesearch rename NAME NEW`: renames a sweep in results.db. */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "results_cli.h"
#include "results/results_db.h"
#include "space/space.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch rename NAME NEW [--db FILE]\n"
            "\n"
            "Renames the sweep NAME to NEW in the results database (the study, and the name in\n"
            "its stored space). To go on with it, set \"name\" to NEW in the space file. It keeps\n"
            "its run folder (runs/NAME/ stays where it is: its trials resume from it, and its\n"
            "model paths stay true); a new sweep named NAME gets a run folder of its own.\n"
            "Refused while a `vaesearch run` of the sweep is alive, or if NEW is taken.\n"
            "\n"
            "  --db FILE   the results database (default results.db)\n"
            "\n"
            "Exit status: 0 renamed, 1 the database could not be changed (or a run owns the\n"
            "sweep, or NEW is taken), 2 bad usage or name, or a missing database or sweep.\n");
}

int cmd_rename(int argc, char **argv) {
    const char *db_path;
    int status = results_cli_sweep_args("rename", argc, argv, 2, usage, &db_path);
    if (status >= 0) return status;
    const char *name = argv[optind], *new_name = argv[optind + 1];
    vs_error err = {{0}};
    if (!vs_space_name_ok(new_name)) return cli_error("rename", 2, "NEW '%s': %s", new_name, VS_SPACE_NAME_RULE);
    vs_db *db;
    int study_id, rc = results_cli_open_sweep("rename", db_path, name, &db, &study_id);
    if (rc) return rc;
    rc = vs_db_rename_sweep(db, study_id, new_name, &err);
    vs_db_close(db);
    if (rc) return cli_error("rename", 1, "%s", err.msg);
    printf("renamed sweep '%s' to '%s' in %s\n", name, new_name, db_path);
    return 0;
}
