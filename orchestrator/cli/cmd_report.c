/* cmd_report: `vaesearch report`: a sweep as one self-contained HTML page (inline CSS
 * and SVG, no script, nothing fetched), to copy home from a cluster and open offline:
 * the headline, the optimisation history, learning curves, a slice per parameter,
 * parallel coordinates of the best trials, throughput, the Pareto front of several
 * objectives, and top's table. Reads results.db only, so it runs beside a live run. */
#define _GNU_SOURCE /* getopt_long, gmtime_r */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "report_baseline.h"
#include "report_data.h"
#include "report_page.h"
#include "common/strbuf.h"
#include "common/tempfile.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch report [--db PATH] [--sweep NAME] [-o FILE] [-n N] [--data PATH]\n"
            "\n"
            "Writes the sweep as one self-contained HTML page (inline CSS and SVG, no script,\n"
            "nothing fetched from the network), to open in any browser, offline: dataset,\n"
            "space, sampler, pruner, budget, trials per state, wall time, the best trial's\n"
            "validation and test metrics and parameters beside the popularity baseline; the\n"
            "optimisation history, learning curves (pruned trials end early), a slice plot\n"
            "per parameter, parallel coordinates of the best trials, throughput against the\n"
            "objective, the Pareto front when the sweep has several objectives, and the top\n"
            "trials as `vaesearch top` prints them.\n"
            "\n"
            "  --db PATH      the results database (default results.db)\n"
            "  --sweep NAME   the sweep (default: the only one in the database)\n"
            "  -o FILE        the page to write (default report.html; - for stdout)\n"
            "  -n N           how many trials the table lists (default 10)\n"
            "  --data PATH    the dataset for the popularity baseline (default: the one the\n"
            "                 sweep recorded; without it the page says why it has none)\n"
            "\n"
            "Exit status: 0 written, 1 the database or --data could not be read or the page\n"
            "not written, 2 bad usage, or a missing database or sweep.\n");
}

#define complain(status, ...) cli_error("report", status, __VA_ARGS__)

typedef struct report_opts {
    const char *db_path, *sweep, *out, *data;
    int top_n;
} report_opts;

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, report_opts *o) {
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"sweep", required_argument, NULL, 's'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"data", required_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    *o = (report_opts){"results.db", NULL, "report.html", NULL, 10};
    optind = 0; /* GNU getopt: start over on this sub-argv */
    opterr = 0;
    int c;
    vs_error err = {{0}};
    while ((c = getopt_long(argc, argv, ":o:n:", opts, NULL)) != -1) {
        if (c == 'd') o->db_path = optarg;
        else if (c == 's') o->sweep = optarg;
        else if (c == 'o') o->out = optarg;
        else if (c == 'D') o->data = optarg;
        else if (c == 'n') {
            if (cli_parse_int("-n", optarg, 1, 1000000, &o->top_n, &err)) return complain(2, "%s", err.msg);
        } else return cli_option_error("report", c, argv);
    }
    if (optind < argc) return complain(2, "unexpected argument '%s'; see 'vaesearch report --help'", argv[optind]);
    if (!o->out[0]) return complain(2, "-o: an empty file name");
    return -1;
}

/* The page into path, whole or not at all: a temporary file beside it, renamed over it. */
static int write_page(const char *path, const vs_strbuf *page, vs_error *err) {
    if (!strcmp(path, "-")) {
        if (fwrite(page->s, 1, page->len, stdout) != page->len || fflush(stdout))
            return vs_errorf(err, "stdout: %s", strerror(errno));
        return 0;
    }
    char *tmp = NULL;
    int fd = vs_tempfile_beside(path, &tmp, err);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    int ok = f && fwrite(page->s, 1, page->len, f) == page->len;
    int e = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0) ok = 0, e = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno;
    if (!ok) {
        unlink(tmp);
        free(tmp);
        return vs_errorf(err, "%s: cannot write the page: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

int cmd_report(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    report_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    report r;
    if ((rc = report_load(&r, o.db_path, o.sweep))) return rc;
    report_baseline_compute(&r, o.data);
    if (!r.baseline.known && o.data) {
        rc = complain(1, "--data: %s", r.baseline.note);
        report_free(&r);
        return rc;
    }
    if (!r.baseline.known) fprintf(stderr, "vaesearch report: no popularity baseline: %s\n", r.baseline.note);
    char made[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(made, sizeof made, "%Y-%m-%d %H:%M", gmtime_r(&now, &tm));
    vs_strbuf page = {0};
    report_page_write(&page, &r, o.top_n, made);
    vs_error err = {{0}};
    if (write_page(o.out, &page, &err)) rc = complain(1, "%s", err.msg);
    else if (strcmp(o.out, "-"))
        printf("wrote %s: %d trials, %.0f KB\n", o.out, r.n, (double)page.len / 1024);
    vs_sb_free(&page);
    report_free(&r);
    return rc;
}
