/* cmd_confirm: `vaesearch confirm [SPACE|--sweep NAME] --top K --seeds N`: a sweep's K
 * best configurations trained again with N fresh seeds each, as a sweep of their own
 * (orchestrator/confirm.h does the work), then their means and standard deviations over
 * the seeds, ranked (confirm_table.h). */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "confirm_table.h"
#include "run_options.h"
#include "orchestrator/confirm.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch confirm [SPACE | --sweep NAME] [--top K] [--seeds N] [--name NAME]\n"
            "                         [--data PATH] [--format text|json|csv] [run's options]\n"
            "\n"
            "Trains the K best configurations of a sweep (by its objective) again, each with N\n"
            "fresh training seeds, as the trials of a sweep of their own (NAME-confirm, an\n"
            "Optuna study linked to the sweep), on the same slots and launchers as `vaesearch\n"
            "run`; then ranks the configurations by their mean validation metric over the\n"
            "seeds, beside their rank in the sweep, with the mean and standard deviation of\n"
            "validation and test NDCG@100, Recall@20 and Recall@50, and says whether the seeds\n"
            "separate the first two (docs/search-space.md, \"Confirming the winners\"). Run it\n"
            "again to resume; a larger K or N adds trials, those recorded stay. `vaesearch top\n"
            "--confirmed` and `vaesearch show` read the result.\n"
            "\n"
            "  SPACE            the sweep's space file (its name; the dataset's path from it)\n"
            "  --sweep NAME     the sweep (default: the only one in the database that is no\n"
            "                   confirmation)\n"
            "  --top K          configurations to confirm (default 3)\n"
            "  --seeds N        fresh seeds each (default 3)\n"
            "  --name NAME      the confirmation's name (default: the sweep's name + -confirm)\n"
            "  --data PATH      the sweep's dataset, where the path it recorded is not found\n"
            "                   from here\n"
            "  --format F       the summary as text (default), json (one object; or --json) or\n"
            "                   csv; with json and csv, the run's progress goes to stderr\n"
            "\n"
            "How its trials run, as for `vaesearch run`:\n"
            RUN_OPTIONS_HELP
            "\n"
            "Exit status: 0 done, 1 failure (as for `vaesearch run`), 2 bad arguments, a missing\n"
            "database or sweep, a sweep without a COMPLETE trial, a dataset that is not the\n"
            "sweep's (nothing recorded), 3 interrupted (run again to resume).\n");
}

#define complain(status, ...) cli_error("confirm", status, __VA_ARGS__)

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV };

static int parse_format(const char *value, enum format *f) {
    if (!strcmp(value, "text")) *f = FORMAT_TEXT;
    else if (!strcmp(value, "json")) *f = FORMAT_JSON;
    else if (!strcmp(value, "csv")) *f = FORMAT_CSV;
    else return complain(2, "--format: '%s' is not text, json or csv", value);
    return 0;
}

/* The summary of the confirmation named name, in the format asked for. */
static int print_summary(const char *db_path, const char *name, enum format format) {
    confirm_view v;
    int rc = confirm_view_load("confirm", db_path, name, NULL, &v);
    if (rc < 0) return complain(1, "sweep '%s' confirms no sweep", name);
    if (rc) return rc;
    if (format == FORMAT_JSON) cli_json_print(confirm_json(&v, 0));
    else if (format == FORMAT_CSV) confirm_print_csv(&v, 0);
    else {
        printf("\n");
        confirm_print_text(&v, 0);
    }
    confirm_view_free(&v);
    return 0;
}

int cmd_confirm(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    /* Codes above every character, so that none meets a run option's (run_options.h). */
    enum { OPT_SWEEP = 1000, OPT_TOP, OPT_SEEDS, OPT_NAME, OPT_DATA, OPT_FORMAT, OPT_JSON };
    static const struct option own[] = {
        {"sweep", required_argument, NULL, OPT_SWEEP}, {"top", required_argument, NULL, OPT_TOP},
        {"seeds", required_argument, NULL, OPT_SEEDS}, {"name", required_argument, NULL, OPT_NAME},
        {"data", required_argument, NULL, OPT_DATA},   {"format", required_argument, NULL, OPT_FORMAT},
        {"json", no_argument, NULL, OPT_JSON},
    };
    struct option opts[RUN_N_LONG_OPTIONS + sizeof own / sizeof own[0] + 1];
    memcpy(opts, run_long_options, sizeof(struct option) * RUN_N_LONG_OPTIONS);
    memcpy(opts + RUN_N_LONG_OPTIONS, own, sizeof own);
    opts[RUN_N_LONG_OPTIONS + sizeof own / sizeof own[0]] = (struct option){NULL, 0, NULL, 0};
    vs_confirm_opts o = {.top = 3, .seeds = 3};
    enum format format = FORMAT_TEXT;
    vs_error err = {{0}};
    /* The run's progress goes where the summary does not: decided once --format is read. */
    run_options_init(&o.run, stdout);
    optind = 0;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SWEEP: o.sweep = optarg; break;
        case OPT_TOP:
            if (cli_parse_int("--top", optarg, 1, 100000, &o.top, &err)) return complain(2, "%s", err.msg);
            break;
        case OPT_SEEDS:
            if (cli_parse_int("--seeds", optarg, 1, 100000, &o.seeds, &err)) return complain(2, "%s", err.msg);
            break;
        case OPT_NAME: o.name = optarg; break;
        case OPT_DATA: o.data = optarg; break;
        case OPT_FORMAT:
            if (parse_format(optarg, &format)) return 2;
            break;
        case OPT_JSON: format = FORMAT_JSON; break;
        default:
            if ((rc = run_options_take("confirm", c, optarg, &o.run)) == 1) return cli_option_error("confirm", c, argv);
            if (rc) return rc;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        return 2;
    }
    if (argc - optind == 1) o.space_path = argv[optind];
    if (o.space_path && o.sweep) return complain(2, "give the sweep's space file or --sweep, not both");
    if (format != FORMAT_TEXT) {
        o.run.out = stderr;
        o.run.live = o.run.live && isatty(fileno(stderr));
    }
    if ((rc = run_options_finish("confirm", &o.run))) return rc;
    char name[256];
    rc = vs_confirm_run(&o, name, sizeof name, &err);
    if (rc == VS_RUN_BAD_INPUT) return complain(rc, "%s", err.msg);
    int printed = print_summary(o.run.db_path, name, format);
    if (rc != VS_RUN_DONE && rc != VS_RUN_INTERRUPTED) return complain(rc, "%s", err.msg);
    return rc ? rc : printed;
}
