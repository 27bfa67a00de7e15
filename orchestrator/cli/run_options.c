/* run_options: how a sweep's trials run, as `vaesearch run` and `vaesearch confirm` take
 * it from the command line (run_options.h). */
#define _GNU_SOURCE /* getopt_long */
#include "run_options.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "orchestrator/launcher.h"

const struct option run_long_options[RUN_N_LONG_OPTIONS + 1] = {
    {"db", required_argument, NULL, 'd'},      {"gpus", required_argument, NULL, 'g'},
    {"jobs", required_argument, NULL, 'j'},    {"device", required_argument, NULL, 'D'},
    {"threads", required_argument, NULL, 't'}, {"trial-timeout", required_argument, NULL, 'T'},
    {"trainer", required_argument, NULL, 'x'}, {"runs-dir", required_argument, NULL, 'r'},
    {"no-progress", no_argument, NULL, 'n'},   {"launcher", required_argument, NULL, 'L'},
    {"retry-failed", no_argument, NULL, 'R'},  {"max-consecutive-failures", required_argument, NULL, 'F'},
    {"keep-states", no_argument, NULL, 'K'},   {"nodes-per-trial", required_argument, NULL, 'N'},
    {NULL, 0, NULL, 0},
};

/* Set by --jobs: under Slurm, --jobs left out means one trial a node. */
static int jobs_given;

void run_options_init(vs_run_opts *o, FILE *out) {
    memset(o, 0, sizeof *o);
    o->db_path = "results.db";
    o->jobs = 1;
    o->out = out;
    o->live = isatty(fileno(out));
    o->max_consecutive_failures = 3;
    jobs_given = 0;
}

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

int run_options_take(const char *verb, int c, const char *value, vs_run_opts *o) {
    vs_error err = {{0}};
    switch (c) {
    case 'd': o->db_path = value; return 0;
    case 'g':
        if (parse_gpus(value, o)) return cli_error(verb, 2, "--gpus '%s': expected a list like 0,1,2,3", value);
        return 0;
    case 'j':
        if (cli_parse_int("--jobs", value, 1, 1024, &o->jobs, &err)) return cli_error(verb, 2, "%s", err.msg);
        jobs_given = 1;
        return 0;
    case 'D':
        if (strcmp(value, "cpu") && strcmp(value, "cuda")) return cli_error(verb, 2, "--device must be cpu or cuda");
        o->device = value;
        return 0;
    case 't':
        if (cli_parse_int("--threads", value, 1, 4096, &o->threads, &err)) return cli_error(verb, 2, "%s", err.msg);
        return 0;
    case 'T':
        if (cli_parse_double("--trial-timeout", value, 0, 1e9, &o->trial_timeout, &err))
            return cli_error(verb, 2, "%s", err.msg);
        return 0;
    case 'x': o->trainer = value; return 0;
    case 'r': o->runs_dir = value; return 0;
    case 'n': o->live = 0; return 0;
    case 'L':
        if (!strcmp(value, "local")) o->launcher = VS_LAUNCHER_LOCAL;
        else if (!strcmp(value, "slurm")) o->launcher = VS_LAUNCHER_SLURM;
        else return cli_error(verb, 2, "--launcher must be local or slurm, not '%s'", value);
        return 0;
    case 'R': o->retry_failed = 1; return 0;
    case 'K': o->keep_states = 1; return 0;
    case 'N':
        if (cli_parse_int("--nodes-per-trial", value, 1, 100000, &o->nodes_per_trial, &err))
            return cli_error(verb, 2, "%s", err.msg);
        return 0;
    case 'F':
        if (cli_parse_int("--max-consecutive-failures", value, 0, 1000000, &o->max_consecutive_failures, &err))
            return cli_error(verb, 2, "%s", err.msg);
        return 0;
    default: return 1;
    }
}

int run_options_finish(const char *verb, vs_run_opts *o) {
    if (o->launcher == VS_LAUNCHER_SLURM && !jobs_given) o->jobs = 0;   /* one trial a node */
    if (o->nodes_per_trial && o->launcher != VS_LAUNCHER_SLURM)
        return cli_error(verb, 2, "--nodes-per-trial goes with --launcher slurm: locally a trial runs on this machine");
    return 0;
}
