/* results_cli: what the commands that read results.db share (`vaesearch top`, `status`
 * and `show`): their common options (--db, --sweep, --format) parsed beside each
 * command's own, opening the database and loading a sweep with its trials as JSON
 * (results_db.h), reading numbers and strings back from that JSON, and durations
 * written for people. Errors are printed as `vaesearch <verb>: <message>`. */
#ifndef VS_RESULTS_CLI_H
#define VS_RESULTS_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "results/results_db.h"

/* --format's values where the command leaves formats NULL. */
enum results_format { RESULTS_TEXT, RESULTS_JSON };

typedef struct results_cli {
    /* Set by the command before results_cli_parse. */
    const char *verb;              /* for messages: "top" */
    const char *const *formats;    /* --format's choices, NULL-terminated, [0] the default;
                                    * NULL: text or json (enum results_format) */
    int takes_operands;            /* 0: an argument that is not an option is refused */
    const char *own_short;         /* the command's own options: getopt letters ("n:"), */
    const struct option *own_long; /* long ones ending with a zero entry (or NULL), */
    int (*take_own)(int opt, const char *value, void *ctx); /* each given here: 0, or an exit
                                                             * status after the message */
    void *own_ctx;
    /* Set by results_cli_parse. */
    const char *db_path;           /* --db, default results.db */
    const char *sweep;             /* --sweep; NULL: the only sweep in the database */
    int format;                    /* --format, as an index into formats */
} results_cli;

/* The end of a usage text where formats is NULL: the shared options, then the exit
 * statuses up to the command's "missing ..." line. */
#define RESULTS_CLI_HELP                                                                  \
    "  --db PATH      the results database (default results.db)\n"                       \
    "  --sweep NAME   the sweep (default: the only one in the database)\n"               \
    "  --format F     text (default) or json (one object; or --json)\n"                 \
    "\n"                                                                                 \
    "Exit status: 0 done, 1 the database could not be read, 2 bad usage, or a\n"

/* Parses argv (argv[0] is the verb) with GNU getopt_long; operands are left at
 * argv[optind..] when the command takes them. Returns 0, or the exit status 2 after
 * the message. */
int results_cli_parse(results_cli *o, int argc, char **argv);

/* Opens o->db_path, finds o->sweep and loads the sweep (vs_db_sweep_json) and its
 * trials (vs_db_trials_json with number and detail), then closes the database; the
 * caller deletes both. Returns 0, or the exit status after the message (both NULL
 * then): 2 for a missing database or sweep, 1 for one that cannot be read. */
int results_cli_load(const results_cli *o, int number, int detail, cJSON **sweep, cJSON **trials);

/* A number from the loaded JSON: a number, "inf" or "-inf" as the reports write the
 * infinities, else (missing, null) NaN. */
double results_number(const cJSON *v);
/* o's member key if it is a string, else NULL. */
const char *results_string(const cJSON *o, const char *key);
/* Seconds for people: "4.2 s", "42 s", "3 min 05 s", "2 h 07 min"; "?" when unknown. */
void results_duration(double seconds, char out[32]);
/* Bytes for people: "512 B", "3.4 KB", "12.3 MB", "2.0 GB" (powers of 1000). */
void results_bytes(int64_t bytes, char out[32]);

/* Opens db_path (it must be a results database) and finds the sweep called name: 0, or
 * the exit status after the message (2 a missing file or sweep, 1 a file that is no
 * results database). For the commands that change a sweep (delete, rename). */
int results_cli_open_sweep(const char *verb, const char *db_path, const char *name, vs_db **db, int *study_id);

/* The command line of a command that changes a sweep: exactly n_args arguments and
 * --db FILE (default results.db), --help printing usage. -1 to go on, with *db_path set
 * and argv[optind] the first argument; else the exit status to return. */
int results_cli_sweep_args(const char *verb, int argc, char **argv, int n_args, void (*usage)(FILE *),
                           const char **db_path);

#endif
