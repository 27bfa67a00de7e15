/* vaesearch: the command-line entry point; dispatches to cmd_<verb>. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "run (or resume) a sweep from a search space file"},
    {"top", cmd_top, "rank the best trials of a sweep"},
    {"status", cmd_status, "a sweep's progress: trials per state, running trials"},
    {"show", cmd_show, "one trial: parameters, curve, metrics, failure reason"},
    {"confirm", cmd_confirm, "train a sweep's best configurations again on fresh seeds, and rank them"},
    {"report", cmd_report, "a sweep as one self-contained HTML page of charts and tables"},
    {"delete", cmd_delete, "delete a sweep from the results database"},
    {"rename", cmd_rename, "rename a sweep in the results database"},
    {"slurm-script", cmd_slurm_script, "write the sbatch script that runs a sweep on a Slurm cluster"},
    {"prepare", cmd_prepare, "prepare interaction data with the paper's protocol"},
    {"dataset", cmd_dataset, "inspect or export a prepared dataset (info, export)"},
    {"synth", cmd_synth, "generate a synthetic dataset (presets: small, ml20m)"},
    {"recommend", cmd_recommend, "top items for a new user, from a trained model"},
};

int vs_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: vaesearch <command> [<args>]\n\ncommands:\n");
    int width = 0;   /* the longest name's: every summary starts in the same column */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if ((int)strlen(commands[i].name) > width) width = (int)strlen(commands[i].name);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
    fprintf(f, "\nA command that prints a report takes --format text|json (top and confirm also\n"
               "csv); --json is --format json.\n");
    fprintf(f, "\n'vaesearch <command> --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vaesearch %s\n", VS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vaesearch: '%s' is not a command; see 'vaesearch --help'\n", argv[1]);
    return 2;
}
