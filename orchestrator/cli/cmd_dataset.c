/* cmd_dataset: `vaesearch dataset info|export`, looking into a prepared dataset.
 *   info DATASET [--json]   the counts of every split and the metadata
 *   export DATASET DIR      the split as CSV files with the original ids, so that
 *                           other tools evaluate on exactly the same users and items
 * The file is opened with vs_dataset_open, so a damaged file is refused here too. */
#define _GNU_SOURCE   /* getopt_long */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "dataset/dataset.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch dataset info DATASET [--format text|json]\n"
            "       vaesearch dataset export DATASET DIR\n"
            "\n"
            "  info     print users, items, interactions, sparsity, the counts of each\n"
            "           split (train; validation and test fold-in and target items) and\n"
            "           the metadata; --format json (or --json) prints one JSON object\n"
            "           instead\n"
            "  export   write DIR/train.csv, validation_fold_in.csv, validation_targets.csv,\n"
            "           test_fold_in.csv, test_targets.csv (user,item), items.csv\n"
            "           (index,item) and users.csv (split,index,user), with the original\n"
            "           ids (CSV-quoted where needed); DIR is created if missing\n"
            "\n"
            "Exit status: 0 done, 1 a file could not be written, 2 bad usage or a\n"
            "missing, damaged or foreign dataset file.\n");
}

/* Reports an error; gives status, the exit status for it. */
#define complain(status, ...) cli_error("dataset", status, __VA_ARGS__)

/* Parses a subcommand's options; returns the index of the first positional argument
 * in argv, or -1 after complaining. json may be NULL when --json is not accepted. */
static int parse_options(int argc, char **argv, int *json) {
    static const struct option info_opts[] = {
        {"json", no_argument, NULL, 'j'}, {"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    static const struct option no_opts[] = {{NULL, 0, NULL, 0}};
    optind = 0;   /* GNU getopt: start over on this sub-argv */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", json ? info_opts : no_opts, NULL)) != -1) {
        if (c == 'j' && json) {
            *json = 1;
            continue;
        }
        vs_error err = {{0}};
        if (c == 'f' && json) {
            if (cli_parse_text_or_json(optarg, json, &err) == 0) continue;
            complain(2, "%s: %s", argv[0], err.msg);
            return -1;
        }
        if (optopt) complain(2, "%s: unknown option '-%c'", argv[0], optopt);
        else complain(2, "%s: unknown option '%s'", argv[0], argv[optind - 1]);
        return -1;
    }
    return optind;
}

static int open_dataset(vs_dataset *ds, const char *path) {
    vs_error err = {{0}};
    if (vs_dataset_open(ds, path, &err) == 0) return 0;
    return complain(-1, "%s", err.msg);
}

/* ---- info ---- */

/* The human-readable report is a list of (label, value) lines printed in two
 * aligned columns. */
typedef struct report {
    int n, cap;
    char **labels, **values;
} report;

static void report_add(report *r, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report_add(report *r, const char *label, const char *fmt, ...) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        r->labels = vs_xrealloc(r->labels, (size_t)r->cap * sizeof *r->labels);
        r->values = vs_xrealloc(r->values, (size_t)r->cap * sizeof *r->values);
    }
    vs_strbuf value = {0};
    va_list ap;
    va_start(ap, fmt);
    vs_sb_vprintf(&value, fmt, ap);
    va_end(ap);
    r->labels[r->n] = vs_xstrdup(label);
    r->values[r->n++] = vs_sb_take(&value);
}

static void report_print_free(report *r) {
    int width = 0;
    for (int i = 0; i < r->n; i++)
        if ((int)strlen(r->labels[i]) > width) width = (int)strlen(r->labels[i]);
    for (int i = 0; i < r->n; i++) {
        printf("%-*s  %s\n", width, r->labels[i], r->values[i]);
        free(r->labels[i]);
        free(r->values[i]);
    }
    free(r->labels);
    free(r->values);
}

static int has_control_chars(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20) return 1;
    return 0;
}

/* Metadata members become lines "meta.KEY VALUE"; nested objects are flattened with
 * dots, arrays are shown as JSON, and strings bare unless that would break the line. */
static void report_meta(report *r, const cJSON *node, const char *prefix) {
    for (const cJSON *m = node->child; m; m = m->next) {
        size_t len = strlen(prefix) + strlen(m->string ? m->string : "") + 2;
        char *label = vs_xmalloc(len);
        snprintf(label, len, "%s.%s", prefix, m->string ? m->string : "");
        if (cJSON_IsObject(m) && m->child) {
            report_meta(r, m, label);
        } else if (cJSON_IsString(m) && !has_control_chars(m->valuestring)) {
            report_add(r, label, "%s", m->valuestring);
        } else {
            char *json = vs_json_print_exact(m);
            report_add(r, label, "%s", json ? json : "?");
            cJSON_free(json);
        }
        free(label);
    }
}

static void print_info_text(const char *path, const vs_dataset_stats *st, const cJSON *meta) {
    report r = {0};
    report_add(&r, "dataset", "%s", path);
    report_add(&r, "users", "%" PRId64, st->users);
    report_add(&r, "items", "%" PRId64, st->items);
    report_add(&r, "interactions", "%" PRId64, st->interactions);
    report_add(&r, "sparsity", "%.6g (%.4g%% of user-item pairs)", st->sparsity, 100.0 * st->sparsity);
    report_add(&r, "train users", "%" PRId64, st->train_users);
    report_add(&r, "train interactions", "%" PRId64, st->train_interactions);
    report_add(&r, "validation users", "%" PRId64, st->val_users);
    report_add(&r, "validation fold-in", "%" PRId64, st->val_in_interactions);
    report_add(&r, "validation targets", "%" PRId64, st->val_out_interactions);
    report_add(&r, "test users", "%" PRId64, st->test_users);
    report_add(&r, "test fold-in", "%" PRId64, st->test_in_interactions);
    report_add(&r, "test targets", "%" PRId64, st->test_out_interactions);
    if (meta) report_meta(&r, meta, "meta");
    report_print_free(&r);
}

static void print_info_json(const char *path, const vs_dataset_stats *st, cJSON *meta) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "dataset", path);
    cJSON_AddNumberToObject(root, "users", (double)st->users);
    cJSON_AddNumberToObject(root, "items", (double)st->items);
    cJSON_AddNumberToObject(root, "interactions", (double)st->interactions);
    cJSON_AddNumberToObject(root, "sparsity", st->sparsity);
    cJSON *train = cJSON_AddObjectToObject(root, "train");
    cJSON_AddNumberToObject(train, "users", (double)st->train_users);
    cJSON_AddNumberToObject(train, "interactions", (double)st->train_interactions);
    cJSON *val = cJSON_AddObjectToObject(root, "validation");
    cJSON_AddNumberToObject(val, "users", (double)st->val_users);
    cJSON_AddNumberToObject(val, "fold_in_interactions", (double)st->val_in_interactions);
    cJSON_AddNumberToObject(val, "target_interactions", (double)st->val_out_interactions);
    cJSON *test = cJSON_AddObjectToObject(root, "test");
    cJSON_AddNumberToObject(test, "users", (double)st->test_users);
    cJSON_AddNumberToObject(test, "fold_in_interactions", (double)st->test_in_interactions);
    cJSON_AddNumberToObject(test, "target_interactions", (double)st->test_out_interactions);
    cJSON_AddItemToObject(root, "metadata", meta ? meta : cJSON_CreateObject());
    cli_json_print(root);   /* deletes meta with root */
}

static int dataset_info(int argc, char **argv) {
    int json = 0;
    int first = parse_options(argc, argv, &json);
    if (first < 0) return 2;
    if (argc - first != 1) {
        complain(2, "info takes exactly one DATASET");
        usage(stderr);
        return 2;
    }
    const char *path = argv[first];
    vs_dataset ds;
    if (open_dataset(&ds, path)) return 2;
    vs_dataset_stats st;
    vs_dataset_stats_compute(&ds, &st);
    cJSON *meta = cJSON_Parse(ds.meta_json);   /* open checked it is an object */
    if (json) {
        print_info_json(path, &st, meta);
    } else {
        print_info_text(path, &st, meta);
        cJSON_Delete(meta);
    }
    vs_dataset_close(&ds);
    return 0;
}

/* ---- export ---- */

/* mkdir -p: creates each missing component; an existing directory is fine. */
static int make_dirs(const char *dir) {
    if (!*dir) return complain(-1, "the export directory name is empty");
    char *path = vs_xstrdup(dir);
    int rc = 0;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            rc = complain(-1, "cannot create directory '%s': %s", path, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved) break;
    }
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = complain(-1, "'%s' is not a directory", dir);
    free(path);
    return rc;
}

/* One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line break,
 * with inner quotes doubled. */
static void put_csv_field(FILE *f, const char *s, size_t len) {
    int needs_quotes = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') needs_quotes = 1;
    if (!needs_quotes) {
        fwrite(s, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static void put_id(FILE *f, const vs_strtab *t, int64_t i) {
    put_csv_field(f, t->bytes + t->offsets[i], (size_t)(t->offsets[i + 1] - t->offsets[i]));
}

/* A CSV file being written; `path` for messages. */
typedef struct csv_out {
    FILE *f;
    char *path;
} csv_out;

static int csv_open(csv_out *o, const char *dir, const char *name, const char *header) {
    size_t len = strlen(dir) + strlen(name) + 2;
    o->path = vs_xmalloc(len);
    snprintf(o->path, len, "%s/%s", dir, name);
    o->f = fopen(o->path, "w");
    if (!o->f) {
        complain(-1, "cannot create %s: %s", o->path, strerror(errno));
        free(o->path);
        return -1;
    }
    fprintf(o->f, "%s\n", header);
    return 0;
}

static int csv_close(csv_out *o, int64_t rows) {
    int failed = ferror(o->f);
    int e = errno;
    if (fclose(o->f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    int rc = 0;
    if (failed) rc = complain(-1, "cannot write %s: %s", o->path, strerror(e));
    else printf("wrote %s (%" PRId64 " rows)\n", o->path, rows);
    free(o->path);
    return rc;
}

/* user,item pairs of one matrix, users from `users`, items from the item table. */
static int export_pairs(const char *dir, const char *name, const vs_csr *m, const vs_strtab *users,
                        const vs_strtab *items) {
    csv_out o;
    if (csv_open(&o, dir, name, "user,item")) return -1;
    for (int64_t r = 0; r < m->rows; r++) {
        for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++) {
            put_id(o.f, users, r);
            fputc(',', o.f);
            put_id(o.f, items, m->indices[k]);
            fputc('\n', o.f);
        }
    }
    return csv_close(&o, vs_csr_nnz(m));
}

static int export_items(const char *dir, const vs_strtab *items) {
    csv_out o;
    if (csv_open(&o, dir, "items.csv", "index,item")) return -1;
    for (int64_t i = 0; i < items->n; i++) {
        fprintf(o.f, "%" PRId64 ",", i);
        put_id(o.f, items, i);
        fputc('\n', o.f);
    }
    return csv_close(&o, items->n);
}

static int export_users(const char *dir, const vs_dataset *ds) {
    const char *splits[3] = {"train", "validation", "test"};
    const vs_strtab *tables[3] = {&ds->train_user_ids, &ds->val_user_ids, &ds->test_user_ids};
    csv_out o;
    if (csv_open(&o, dir, "users.csv", "split,index,user")) return -1;
    int64_t rows = 0;
    for (int s = 0; s < 3; s++) {
        for (int64_t i = 0; i < tables[s]->n; i++) {
            fprintf(o.f, "%s,%" PRId64 ",", splits[s], i);
            put_id(o.f, tables[s], i);
            fputc('\n', o.f);
        }
        rows += tables[s]->n;
    }
    return csv_close(&o, rows);
}

static int export_all(const char *dir, const vs_dataset *ds) {
    const vs_strtab *items = &ds->item_ids;
    if (export_pairs(dir, "train.csv", &ds->train, &ds->train_user_ids, items) ||
        export_pairs(dir, "validation_fold_in.csv", &ds->val_in, &ds->val_user_ids, items) ||
        export_pairs(dir, "validation_targets.csv", &ds->val_out, &ds->val_user_ids, items) ||
        export_pairs(dir, "test_fold_in.csv", &ds->test_in, &ds->test_user_ids, items) ||
        export_pairs(dir, "test_targets.csv", &ds->test_out, &ds->test_user_ids, items) ||
        export_items(dir, items) || export_users(dir, ds))
        return -1;
    return 0;
}

static int dataset_export(int argc, char **argv) {
    int first = parse_options(argc, argv, NULL);
    if (first < 0) return 2;
    if (argc - first != 2) {
        complain(2, "export takes a DATASET and a DIR");
        usage(stderr);
        return 2;
    }
    const char *path = argv[first], *dir = argv[first + 1];
    vs_dataset ds;
    if (open_dataset(&ds, path)) return 2;
    int rc = make_dirs(dir) || export_all(dir, &ds) ? 1 : 0;
    vs_dataset_close(&ds);
    return rc;
}

int cmd_dataset(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "info")) return dataset_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "export")) return dataset_export(argc - 1, argv + 1);
    complain(2, "unknown subcommand '%s' (info, export)", argv[1]);
    usage(stderr);
    return 2;
}
