/* cmd_recommend: `vaesearch recommend MODEL ITEM...`: the items a new user will most
 * likely interact with next, from the items they have, with a trained model file. */
#define _GNU_SOURCE   /* getopt_long */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "common/strbuf.h"
#include "dataset/ingest.h"
#include "trainer/model_io.h"
#include "trainer/recommend.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch recommend MODEL [-k N] [--json] ITEM... | -\n"
            "\n"
            "Ranks the items a new user will most likely interact with, given the items\n"
            "they already have (original item ids, as in the input data), with a model\n"
            "trained by vaecf-train (its best.safetensors). '-' reads the ids from standard\n"
            "input, separated by spaces, commas or newlines. The user's own items are\n"
            "never recommended; ids the model does not know are reported and ignored.\n"
            "\n"
            "  -k N      how many items (default 10)\n"
            "  --json    one JSON object instead of a table\n");
}

#define complain(status, ...) cli_error("recommend", status, __VA_ARGS__)

/* Adds the ids in text (separated by whitespace or commas) to the list. */
static void add_ids(char *text, char ***ids, int *n, int *cap) {
    for (char *tok = strtok(text, " \t\r\n,"); tok; tok = strtok(NULL, " \t\r\n,")) {
        if (*n == *cap) *ids = vs_xrealloc(*ids, sizeof(char *) * (size_t)(*cap = *cap ? 2 * *cap : 16));
        (*ids)[(*n)++] = vs_xstrdup(tok);
    }
}

static char *read_stdin(void) {
    vs_strbuf b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) vs_sb_putn(&b, chunk, got);
    return vs_sb_take(&b);
}

int cmd_recommend(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int k = 10, json = 0, c;
    vs_error err = {{0}};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'k') {
            if (cli_parse_int("-k", optarg, 1, 1000000, &k, &err)) return complain(2, "%s", err.msg);
        } else return cli_option_error("recommend", c, argv);
    }
    if (argc - optind < 2) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    vs_model_file m;
    if (vs_model_load(path, &m, &err)) return complain(2, "%s", err.msg);
    char **ids = NULL;
    int n_ids = 0, cap = 0;
    for (int i = optind + 1; i < argc; i++) {
        if (!strcmp(argv[i], "-")) {
            char *text = read_stdin();
            add_ids(text, &ids, &n_ids, &cap);
            free(text);
        } else {
            char *copy = vs_xstrdup(argv[i]);
            add_ids(copy, &ids, &n_ids, &cap);
            free(copy);
        }
    }

    vs_idmap catalogue = {0};
    for (int64_t i = 0; i < m.item_ids.n; i++)
        vs_idmap_intern(&catalogue, m.item_ids.bytes + m.item_ids.offsets[i],
                        (size_t)(m.item_ids.offsets[i + 1] - m.item_ids.offsets[i]));
    int32_t *items = vs_xcalloc((size_t)(n_ids ? n_ids : 1), sizeof(int32_t));
    int known = 0;
    cJSON *unknown = cJSON_CreateArray();
    for (int i = 0; i < n_ids; i++) {
        int32_t idx = vs_idmap_find(&catalogue, ids[i], strlen(ids[i]));
        if (idx < 0) {
            cJSON_AddItemToArray(unknown, cJSON_CreateString(ids[i]));
            if (!json) fprintf(stderr, "vaesearch recommend: ignoring item '%s': not in the model's catalogue\n", ids[i]);
        } else {
            items[known++] = idx;
        }
    }
    if (k > m.item_ids.n) k = (int)m.item_ids.n;
    int32_t *top = vs_xcalloc((size_t)k, sizeof(int32_t));
    float *prob = vs_xcalloc((size_t)k, sizeof(float));
    int rc = 0;
    if (vs_recommend(&m, items, known, k, top, prob, &err)) {
        rc = complain(1, "%s", err.msg);
    } else if (json) {
        cJSON *o = cJSON_CreateObject(), *recs = cJSON_CreateArray();
        cJSON_AddNumberToObject(o, "known_items", known);
        cJSON_AddItemToObject(o, "unknown_items", unknown);
        unknown = NULL;
        for (int j = 0; j < k && top[j] >= 0; j++) {
            cJSON *r = cJSON_CreateObject();
            const vs_strtab *t = &m.item_ids;
            char *id = vs_xmalloc(t->offsets[top[j] + 1] - t->offsets[top[j]] + 1);
            memcpy(id, t->bytes + t->offsets[top[j]], t->offsets[top[j] + 1] - t->offsets[top[j]]);
            id[t->offsets[top[j] + 1] - t->offsets[top[j]]] = 0;
            cJSON_AddStringToObject(r, "item", id);
            cJSON_AddNumberToObject(r, "probability", prob[j]);
            cJSON_AddItemToArray(recs, r);
            free(id);
        }
        cJSON_AddItemToObject(o, "recommendations", recs);
        cli_json_print(o);
    } else {
        printf("%4s  %-20s  %s\n", "rank", "item", "probability");
        for (int j = 0; j < k && top[j] >= 0; j++) {
            const vs_strtab *t = &m.item_ids;
            printf("%4d  %-20.*s  %.6f\n", j + 1, (int)(t->offsets[top[j] + 1] - t->offsets[top[j]]),
                   t->bytes + t->offsets[top[j]], prob[j]);
        }
    }
    cJSON_Delete(unknown);
    for (int i = 0; i < n_ids; i++) free(ids[i]);
    free(ids), free(items), free(top), free(prob);
    vs_idmap_free(&catalogue);
    vs_model_file_free(&m);
    return rc;
}
