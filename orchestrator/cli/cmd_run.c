/* cmd_run: `vaesearch run SPACE`: runs or resumes a sweep (scheduler.c does the work). */
#define _GNU_SOURCE   /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "orchestrator/launcher.h"
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
            "  --db FILE            results database (default results.db)\n"
            "  --gpus LIST          GPUs to use, e.g. 0,1,2,3 (default: every GPU found)\n"
            "  --jobs N             trials at once on the CPU when there is no GPU (default 1;\n"
            "                       under Slurm, one a node)\n"
            "  --device D           the trainers' device (default: cuda with GPUs, else cpu)\n"
            "  --threads N          CPU threads a trial (default: cores / slots)\n"
            "  --trial-timeout S    fail a trial that runs longer (default: the space's)\n"
            "  --trainer PATH       the trainer program (default: vaecf-train beside vaesearch)\n"
            "  --runs-dir DIR       where a new sweep's run folder goes (default: runs/ beside the\n"
            "                       database): DIR/NAME, or DIR/NAME-2... when that is another\n"
            "                       sweep's; a sweep keeps the folder its first run chose\n"
            "  --launcher L         local: trainers run here (default); slurm: each trial is a\n"
            "                       job step of the Slurm allocation this runs in (sbatch or\n"
            "                       salloc), its slots from the allocation (docs/slurm.md)\n"
            "  --nodes-per-trial K  under Slurm, each trial spans K nodes, its ranks one step\n"
            "                       (default: 1, or as many as resources.gpus_per_trial needs)\n"
            "  --retry-failed       run the parameters of every FAILed trial again (as new trials)\n"
            "  --max-consecutive-failures N\n"
            "                       stop when N trials in a row fail for the same reason\n"
            "                       (default 3; 0: never)\n"
            "  --keep-states        keep each trial's resumable state (state.safetensors, about\n"
            "                       4x its model) after it ends; by default it is removed once\n"
            "                       the trial is COMPLETE, PRUNED or FAIL (it never resumes)\n"
            "  --no-progress        a line per event, even on a terminal\n"
            "\n"
            "Trainers wait for their threads passively (OMP_WAIT_POLICY=passive unless set),\n"
            "and slots x threads stay within the cores unless --threads says otherwise.\n"
            "\n"
            "Exit status: 0 the sweep ended, 1 failure (also: stopped on consecutive failures,\n"
            "or every trial of this run failed), 2 bad space, arguments, dataset, trainer or\n"
            "GPUs (nothing run, nothing recorded), 3 interrupted (run again to resume).\n");
}

#define complain(status, ...) cli_error("run", status, __VA_ARGS__)

static int parse_gpus(const char *s, vs_run_opts *o) {
    o->gpus_given = 1;
    o->n_gpus = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long g = strtol(p, &end, 10);
        if (end == p || g < 0 || g > 1023 || o->n_gpus == VS_MAX_GPUS) return -1;
        o->gpus[o->n_gpus++] = (int)g;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return o->n_gpus > 0 ? 0 : -1;
}

int cmd_run(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"gpus", required_argument, NULL, 'g'},
        {"jobs", required_argument, NULL, 'j'},    {"device", required_argument, NULL, 'D'},
        {"threads", required_argument, NULL, 't'}, {"trial-timeout", required_argument, NULL, 'T'},
        {"trainer", required_argument, NULL, 'x'}, {"runs-dir", required_argument, NULL, 'r'},
        {"no-progress", no_argument, NULL, 'n'},   {"launcher", required_argument, NULL, 'L'},
        {"nodes-per-trial", required_argument, NULL, 'N'},
        {"retry-failed", no_argument, NULL, 'R'},  {"max-consecutive-failures", required_argument, NULL, 'F'},
        {"keep-states", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    vs_run_opts o = {.db_path = "results.db", .jobs = 1, .out = stdout, .live = isatty(STDOUT_FILENO),
                     .max_consecutive_failures = 3};
    vs_error err = {{0}};
    optind = 0;
    opterr = 0;
    int c, jobs_given = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db_path = optarg; break;
        case 'g':
            if (parse_gpus(optarg, &o)) return complain(2, "--gpus '%s': expected a list like 0,1,2,3", optarg);
            break;
        case 'j':
            if (cli_parse_int("--jobs", optarg, 1, 1024, &o.jobs, &err)) return complain(2, "%s", err.msg);
            jobs_given = 1;
            break;
        case 'D':
            if (strcmp(optarg, "cpu") && strcmp(optarg, "cuda")) return complain(2, "--device must be cpu or cuda");
            o.device = optarg;
            break;
        case 't':
            if (cli_parse_int("--threads", optarg, 1, 4096, &o.threads, &err)) return complain(2, "%s", err.msg);
            break;
        case 'T':
            if (cli_parse_double("--trial-timeout", optarg, 0, 1e9, &o.trial_timeout, &err))
                return complain(2, "%s", err.msg);
            break;
        case 'x': o.trainer = optarg; break;
        case 'r': o.runs_dir = optarg; break;
        case 'n': o.live = 0; break;
        case 'L':
            if (!strcmp(optarg, "local")) o.launcher = VS_LAUNCHER_LOCAL;
            else if (!strcmp(optarg, "slurm")) o.launcher = VS_LAUNCHER_SLURM;
            else return complain(2, "--launcher must be local or slurm, not '%s'", optarg);
            break;
        case 'R': o.retry_failed = 1; break;
        case 'K': o.keep_states = 1; break;
        case 'N':
            if (cli_parse_int("--nodes-per-trial", optarg, 1, 100000, &o.nodes_per_trial, &err))
                return complain(2, "%s", err.msg);
            break;
        case 'F':
            if (cli_parse_int("--max-consecutive-failures", optarg, 0, 1000000, &o.max_consecutive_failures, &err))
                return complain(2, "%s", err.msg);
            break;
        default: return cli_option_error("run", c, argv);
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    o.space_path = argv[optind];
    if (o.launcher == VS_LAUNCHER_SLURM && !jobs_given) o.jobs = 0;   /* one trial a node */
    if (o.nodes_per_trial && o.launcher != VS_LAUNCHER_SLURM)
        return complain(2, "--nodes-per-trial goes with --launcher slurm: locally a trial runs on this machine");
    int rc = vs_scheduler_run(&o, &err);
    if (rc != VS_RUN_DONE && rc != VS_RUN_INTERRUPTED) return complain(rc, "%s", err.msg);
    return rc;
}
