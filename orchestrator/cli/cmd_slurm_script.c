/* cmd_slurm_script: `vaesearch slurm-script SPACE`: writes the sbatch script that runs a
 * sweep on a Slurm cluster: the allocation (nodes, GPUs, time, partition, account), a
 * SIGTERM before the time limit, and `vaesearch run SPACE --launcher slurm` in it, every
 * path absolute (docs/slurm.md). The space is checked against the allocation first. */
#define _GNU_SOURCE   /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "common/strbuf.h"
#include "orchestrator/launcher.h"
#include "space/space.h"

#define DEFAULT_SIGNAL_SECONDS 300

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch slurm-script SPACE --time T [--nodes N] [--gpus-per-node G]\n"
            "                              [--cpus-per-node C] [--nodes-per-trial K]\n"
            "                              [--mem M] [--partition P]\n"
            "                              [--account A] [--job-name NAME] [--signal-before S]\n"
            "                              [--db FILE] [--runs-dir DIR] [--trainer PATH]\n"
            "                              [-o FILE]\n"
            "\n"
            "Writes an sbatch script that runs the sweep SPACE on a Slurm cluster: submit it\n"
            "with `sbatch FILE`, and submit it again to resume. In it, `vaesearch run SPACE\n"
            "--launcher slurm` runs each trial as a job step (docs/slurm.md). Slurm sends it\n"
            "SIGTERM S seconds before the time limit: the running trials save their state and\n"
            "the sweep stops as after Ctrl-C. Paths in the script are absolute; results.db and\n"
            "the run folders must be on a filesystem every node shares. Slurm writes the job's\n"
            "output to slurm-<job name>-<job id>.out where sbatch ran. Without --gpus-per-node\n"
            "the trials run on CPUs (`--device cpu`: none of the node's GPUs is used, even\n"
            "where Slurm hands the job a node's GPUs with --exclusive).\n"
            "\n"
            "  --time T             the time limit, in Slurm's form: minutes, HH:MM:SS, D-HH:MM...\n"
            "  --nodes N            nodes (default 1)\n"
            "  --gpus-per-node G    GPUs a node (default: none; trials on CPUs)\n"
            "  --cpus-per-node C    CPUs a node (default: whole nodes, --exclusive)\n"
            "  --nodes-per-trial K  each trial spans K nodes (default: 1, or as many as\n"
            "                       resources.gpus_per_trial needs); the run folders and\n"
            "                       results.db must then be on a file system they share\n"
            "  --mem M              memory a node, as sbatch's --mem (e.g. 200G; 0: all of it)\n"
            "  --partition P        the partition (default: the cluster's)\n"
            "  --account A          the account to charge (default: yours)\n"
            "  --job-name NAME      the job's name (default: vs-<sweep name>)\n"
            "  --signal-before S    seconds before the limit for SIGTERM (default 300, at most\n"
            "                       half the limit; Slurm may signal up to 60 s earlier)\n"
            "  --db FILE            results database (default results.db)\n"
            "  --runs-dir DIR       trainers' run folders (default: runs/ beside the database)\n"
            "  --trainer PATH       the trainer program (default: vaecf-train beside vaesearch)\n"
            "  -o, --output FILE    write the script there (made executable; default stdout)\n"
            "\n"
            "Exit status: 0 written, 1 failure, 2 bad space or arguments.\n");
}

#define complain(status, ...) cli_error("slurm-script", status, __VA_ARGS__)

typedef struct script_opts {
    const char *space_path, *time, *partition, *account, *job_name, *mem, *db, *runs_dir, *trainer, *output;
    int nodes, gpus_per_node, cpus_per_node, nodes_per_trial, signal_before;
} script_opts;

/* An absolute form of path (which need not exist yet: its folder must). */
static int absolute(const char *what, const char *path, char *out, size_t n, vs_error *err) {
    if (path[0] == '/') {
        snprintf(out, n, "%s", path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return vs_errorf(err, "getcwd: %s", strerror(errno));
    if ((size_t)snprintf(out, n, "%s/%s", cwd, path) >= n) return vs_errorf(err, "%s '%s': path too long", what, path);
    return 0;
}

/* #SBATCH values are read by sbatch, not a shell: no quoting can carry these. */
static int plain(const char *what, const char *v, vs_error *err) {
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\'' || *p == '"' || *p == '\\')
            return vs_errorf(err, "%s '%s': no spaces, quotes or backslashes in an #SBATCH line", what, v);
    return 0;
}

/* v single-quoted for the shell. */
static void shell_word(vs_strbuf *b, const char *v) {
    vs_sb_puts(b, " '");
    for (const char *p = v; *p; p++) {
        if (*p == '\'') vs_sb_puts(b, "'\\''");
        else vs_sb_putn(b, p, 1);
    }
    vs_sb_puts(b, "'");
}

static int write_script(const script_opts *o, const vs_space *space, vs_strbuf *b, vs_error *err) {
    char space_path[PATH_MAX], db[PATH_MAX], runs[PATH_MAX], trainer[PATH_MAX], self[PATH_MAX];
    if (absolute("SPACE", o->space_path, space_path, sizeof space_path, err) ||
        absolute("--db", o->db, db, sizeof db, err) ||
        (o->runs_dir && absolute("--runs-dir", o->runs_dir, runs, sizeof runs, err)) ||
        (o->trainer && strchr(o->trainer, '/') && absolute("--trainer", o->trainer, trainer, sizeof trainer, err)))
        return -1;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return vs_errorf(err, "cannot find this program (/proc/self/exe): %s", strerror(errno));
    self[n] = 0;
    char job_name[300];
    if (o->job_name) snprintf(job_name, sizeof job_name, "%s", o->job_name);
    else snprintf(job_name, sizeof job_name, "vs-%s", space->name);
    if (plain("--job-name", job_name, err) ||
        (o->partition && plain("--partition", o->partition, err)) ||
        (o->account && plain("--account", o->account, err)) ||
        (o->mem && plain("--mem", o->mem, err)) || plain("--time", o->time, err))
        return -1;

    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    vs_sb_puts(b, "#!/bin/bash\n");
    vs_sb_printf(b, "# The sweep '%s' on Slurm, written by `vaesearch slurm-script` on %s\n# from %s.\n",
                 space->name, when, space_path);
    vs_sb_puts(b, "# Submit it with `sbatch`; submit it again to resume where it stopped (docs/slurm.md).\n");
    vs_sb_printf(b, "# SIGTERM comes %d s before the time limit (Slurm may send it up to 60 s earlier):\n"
                    "# the running trials save their state\n",
                  o->signal_before);
    vs_sb_puts(b, "# and `vaesearch run` stops as after Ctrl-C (exit status 3).\n");
    vs_sb_printf(b, "#SBATCH --job-name=%s\n", job_name);
    vs_sb_printf(b, "#SBATCH --nodes=%d\n", o->nodes);
    if (o->gpus_per_node > 0) vs_sb_printf(b, "#SBATCH --gpus-per-node=%d\n", o->gpus_per_node);
    if (o->cpus_per_node > 0)
        vs_sb_printf(b, "#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=%d\n", o->cpus_per_node);
    else vs_sb_puts(b, "#SBATCH --exclusive\n");
    if (o->mem) vs_sb_printf(b, "#SBATCH --mem=%s\n", o->mem);
    vs_sb_printf(b, "#SBATCH --time=%s\n", o->time);
    /* B: the batch shell alone, which is vaesearch (exec below); it stops the steps itself */
    vs_sb_printf(b, "#SBATCH --signal=B:TERM@%d\n", o->signal_before);
    if (o->partition) vs_sb_printf(b, "#SBATCH --partition=%s\n", o->partition);
    if (o->account) vs_sb_printf(b, "#SBATCH --account=%s\n", o->account);
    vs_sb_puts(b, "#SBATCH --output=slurm-%x-%j.out\n\n");
    if (o->gpus_per_node <= 0)
        vs_sb_puts(b, "# No GPUs asked for: the trials run on CPUs (--device cpu), and use none of the\n"
                      "# GPUs Slurm may hand a whole node's job.\n");
    vs_sb_puts(b, "exec");
    shell_word(b, self);
    vs_sb_puts(b, " run");
    shell_word(b, space_path);
    vs_sb_puts(b, " --db");
    shell_word(b, db);
    if (o->runs_dir) vs_sb_puts(b, " --runs-dir"), shell_word(b, runs);
    if (o->trainer) vs_sb_puts(b, " --trainer"), shell_word(b, strchr(o->trainer, '/') ? trainer : o->trainer);
    vs_sb_printf(b, " --launcher slurm --device %s", o->gpus_per_node > 0 ? "cuda" : "cpu");
    if (o->nodes_per_trial > 0) vs_sb_printf(b, " --nodes-per-trial %d", o->nodes_per_trial);
    vs_sb_puts(b, " --no-progress\n");
    return 0;
}

/* The space must fit the allocation asked for, as `vaesearch run --launcher slurm` will plan it. */
static int check_fit(const script_opts *o, const vs_space *space, vs_error *err) {
    vs_slurm_allocation a = {.nodes = o->nodes, .gpus_per_node = o->gpus_per_node,
                             .gpus_from = "--gpus-per-node",
                             .cpus_per_node = o->cpus_per_node > 0 ? o->cpus_per_node : 1 << 20};
    vs_slurm_request r = {space->gpus_per_trial, space->trials_per_gpu, 0, o->nodes_per_trial, o->gpus_per_node <= 0};
    vs_slurm_plan plan;
    return vs_slurm_plan_slots(&a, &r, &plan, err);
}

int cmd_slurm_script(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"time", required_argument, NULL, 'T'},          {"nodes", required_argument, NULL, 'N'},
        {"gpus-per-node", required_argument, NULL, 'G'}, {"cpus-per-node", required_argument, NULL, 'C'},
        {"mem", required_argument, NULL, 'm'},           {"partition", required_argument, NULL, 'p'},
        {"account", required_argument, NULL, 'A'},       {"job-name", required_argument, NULL, 'J'},
        {"signal-before", required_argument, NULL, 's'}, {"db", required_argument, NULL, 'd'},
        {"runs-dir", required_argument, NULL, 'r'},      {"trainer", required_argument, NULL, 'x'},
        {"output", required_argument, NULL, 'o'},        {"nodes-per-trial", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    script_opts o = {.nodes = 1, .db = "results.db", .signal_before = -1};
    vs_error err = {{0}};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (c) {
        case 'T': o.time = optarg; break;
        case 'N':
            if (cli_parse_int("--nodes", optarg, 1, 100000, &o.nodes, &err)) return complain(2, "%s", err.msg);
            break;
        case 'G':
            if (cli_parse_int("--gpus-per-node", optarg, 1, 4096, &o.gpus_per_node, &err))
                return complain(2, "%s", err.msg);
            break;
        case 'C':
            if (cli_parse_int("--cpus-per-node", optarg, 1, 1 << 20, &o.cpus_per_node, &err))
                return complain(2, "%s", err.msg);
            break;
        case 'K':
            if (cli_parse_int("--nodes-per-trial", optarg, 1, 100000, &o.nodes_per_trial, &err))
                return complain(2, "%s", err.msg);
            break;
        case 's':
            if (cli_parse_int("--signal-before", optarg, 1, 65535, &o.signal_before, &err))
                return complain(2, "%s", err.msg);
            break;
        case 'm': o.mem = optarg; break;
        case 'p': o.partition = optarg; break;
        case 'A': o.account = optarg; break;
        case 'J': o.job_name = optarg; break;
        case 'd': o.db = optarg; break;
        case 'r': o.runs_dir = optarg; break;
        case 'x': o.trainer = optarg; break;
        case 'o': o.output = optarg; break;
        default: return cli_option_error("slurm-script", c, argv);
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    o.space_path = argv[optind];
    if (!o.time) return complain(2, "--time is required: the allocation's time limit, e.g. 12:00:00");
    long long limit = vs_slurm_time_seconds(o.time);
    if (limit <= 0)
        return complain(2, "--time '%s': expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS", o.time);
    if (o.signal_before < 0)
        o.signal_before = limit / 2 < DEFAULT_SIGNAL_SECONDS ? (int)(limit / 2) : DEFAULT_SIGNAL_SECONDS;
    if (o.signal_before < 1 || o.signal_before >= limit)
        return complain(2, "--signal-before %d: must be at least 1 s and less than --time (%lld s)", o.signal_before,
                        limit);

    vs_space space;
    if (vs_space_load(o.space_path, &space, &err)) return complain(2, "%s", err.msg);
    vs_strbuf b = {0};
    int rc = check_fit(&o, &space, &err) ? 2 : write_script(&o, &space, &b, &err) ? 2 : 0;
    vs_space_free(&space);
    if (rc) {
        vs_sb_free(&b);
        return complain(rc, "%s", err.msg);
    }
    FILE *f = o.output ? fopen(o.output, "w") : stdout;
    if (!f) {
        vs_sb_free(&b);
        return complain(1, "%s: %s", o.output, strerror(errno));
    }
    fputs(b.s ? b.s : "", f);
    int bad = o.output ? fclose(f) : fflush(f);
    vs_sb_free(&b);
    if (bad) return complain(1, "%s: %s", o.output ? o.output : "stdout", strerror(errno));
    if (o.output && chmod(o.output, 0755)) return complain(1, "%s: %s", o.output, strerror(errno));
    if (o.output) printf("wrote %s: submit it with `sbatch %s` (and again to resume)\n", o.output, o.output);
    return 0;
}
