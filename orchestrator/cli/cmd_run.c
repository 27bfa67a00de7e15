/* cmd_run: `vaesearch run SPACE`: runs or resumes a sweep (scheduler.c does the work). */
#define _GNU_SOURCE   /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "run_options.h"
#include "orchestrator/scheduler.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch run SPACE [--db FILE] [--gpus LIST] [--jobs N] [--device cpu|cuda]\n"
            "                     [--threads N] [--trial-timeout SECONDS] [--trainer PATH]\n"
            "                     [--runs-dir DIR] [--launcher local|slurm] [--retry-failed]\n"
            "                     [--nodes-per-trial K] [--max-consecutive-failures N]\n"
            "                     [--keep-states] [--no-progress]\n"
            "\n"
            "Runs the sweep a search space describes (docs/search-space.md): proposes trials,\n"
            "runs vaecf-train for each on a GPU group (or a CPU slot) and records every epoch\n"
            "in the results database. Running it again on the same database resumes the sweep:\n"
            "finished trials stay, interrupted ones continue from their saved state. Ctrl-C (or\n"
            "SIGTERM, which Slurm sends before an allocation's time runs out: docs/slurm.md)\n"
            "once stops cleanly (running trials save their state); twice stops at once.\n"
            "\n"
            RUN_OPTIONS_HELP
            "\n"
            "Trainers wait for their threads passively (OMP_WAIT_POLICY=passive unless set),\n"
            "and slots x threads stay within the cores unless --threads says otherwise.\n"
            "\n"
            "Exit status: 0 the sweep ended, 1 failure (also: stopped on consecutive failures,\n"
            "or every trial of this run failed), 2 bad space, arguments, dataset, trainer or\n"
            "GPUs (nothing run, nothing recorded), 3 interrupted (run again to resume).\n");
}

#define complain(status, ...) cli_error("run", status, __VA_ARGS__)

int cmd_run(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    vs_run_opts o;
    run_options_init(&o, stdout);
    vs_error err = {{0}};
    optind = 0;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", run_long_options, NULL)) != -1)
        if ((rc = run_options_take("run", c, optarg, &o)) == 1) return cli_option_error("run", c, argv);
        else if (rc) return rc;
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    o.space_path = argv[optind];
    if ((rc = run_options_finish("run", &o))) return rc;
    rc = vs_scheduler_run(&o, &err);
    if (rc != VS_RUN_DONE && rc != VS_RUN_INTERRUPTED) return complain(rc, "%s", err.msg);
    return rc;
}
