/* split_report: split interaction pairs into a dataset file, timed, and report the
 * counts for `vaesearch prepare` and `vaesearch synth` (split_report.h). */
#define _POSIX_C_SOURCE 200809L

#include "split_report.h"

#include <stdio.h>

#include "cli_util.h"

int split_report_run(vs_interactions *x, const char *meta_extra, const char *path, split_report *r,
                     vs_error *err) {
    double t0 = cli_seconds();
    vs_dataset ds;
    int rc = vs_protocol_split(x, &r->opts, meta_extra, &ds, &r->protocol, err);
    vs_interactions_free(x);
    if (rc < 0) return SPLIT_REPORT_SPLIT_FAILED;
    r->heldout = ds.val_in.rows;
    vs_dataset_stats_compute(&ds, &r->split);
    double t1 = cli_seconds();

    rc = vs_dataset_write(&ds, path, err);
    vs_dataset_close(&ds);
    if (rc < 0) return SPLIT_REPORT_WRITE_FAILED;
    r->split_s = t1 - t0;
    r->write_s = cli_seconds() - t1;
    return 0;
}

void split_report_print_text(const split_report *r, const char *path) {
    const vs_protocol_stats *p = &r->protocol;
    const vs_dataset_stats *s = &r->split;
    if (r->opts.min_item_users > 0)
        printf("item filter    %lld of %lld items have >= %d users; %lld interactions dropped with the others\n",
               (long long)p->item_filter_items, (long long)p->input_items, r->opts.min_item_users,
               (long long)p->item_filter_dropped);
    printf("users          %lld (with >= %d items, of %lld)\n", (long long)p->kept_users,
           r->opts.min_user_items, (long long)p->input_users);
    printf("items          %lld (of %lld)\n", (long long)p->kept_items, (long long)p->input_items);
    printf("interactions   %lld\n", (long long)p->kept_interactions);
    printf("split          seed %llu, %lld validation and %lld test users, target fraction %g\n",
           (unsigned long long)r->opts.seed, (long long)r->heldout, (long long)r->heldout,
           r->opts.target_fraction);
    printf("train          %lld users, %lld interactions\n", (long long)s->train_users,
           (long long)s->train_interactions);
    printf("validation     %lld users, %lld fold-in, %lld targets\n", (long long)s->val_users,
           (long long)s->val_in_interactions, (long long)s->val_out_interactions);
    printf("test           %lld users, %lld fold-in, %lld targets\n", (long long)s->test_users,
           (long long)s->test_in_interactions, (long long)s->test_out_interactions);
    printf("dataset        %lld users, %lld items, %lld interactions, sparsity %.4f%%\n",
           (long long)s->users, (long long)s->items, (long long)s->interactions, 100.0 * s->sparsity);
    printf("dropped        %lld held-out interactions with items not in training\n",
           (long long)p->dropped_heldout_interactions);
    printf("time           %s %.2f s, split %.2f s, write %.2f s\n", r->source_step, r->source_s,
           r->split_s, r->write_s);
    printf("wrote          %s\n", path);
}

static void add_protocol_json(cJSON *o, const split_report *r) {
    cJSON *p = cJSON_AddObjectToObject(o, "protocol");
    cli_json_add_int(p, "min_item_users", r->opts.min_item_users);
    cli_json_add_int(p, "min_user_items", r->opts.min_user_items);
    cli_json_add_int(p, "heldout_users", r->heldout);
    cJSON_AddNumberToObject(p, "target_fraction", r->opts.target_fraction);
    cli_json_add_int(p, "min_split_items", r->opts.min_split_items);
    cli_json_add_seed(p, "seed", r->opts.seed);
}

static void add_split_json(cJSON *o, const split_report *r) {
    const vs_dataset_stats *s = &r->split;
    cJSON *sp = cJSON_AddObjectToObject(o, "split");
    cli_json_add_int(sp, "train_users", s->train_users);
    cli_json_add_int(sp, "train_interactions", s->train_interactions);
    cli_json_add_int(sp, "val_users", s->val_users);
    cli_json_add_int(sp, "val_in_interactions", s->val_in_interactions);
    cli_json_add_int(sp, "val_out_interactions", s->val_out_interactions);
    cli_json_add_int(sp, "test_users", s->test_users);
    cli_json_add_int(sp, "test_in_interactions", s->test_in_interactions);
    cli_json_add_int(sp, "test_out_interactions", s->test_out_interactions);
    cli_json_add_int(sp, "users", s->users);
    cli_json_add_int(sp, "items", s->items);
    cli_json_add_int(sp, "interactions", s->interactions);
    cJSON_AddNumberToObject(sp, "sparsity", s->sparsity);
    cli_json_add_int(sp, "dropped_heldout_interactions", r->protocol.dropped_heldout_interactions);
}

void split_report_print_json(cJSON *o, const split_report *r) {
    const vs_protocol_stats *p = &r->protocol;
    cli_json_add_int(o, "duplicates", p->duplicates);
    cli_json_add_int(o, "input_users", p->input_users);
    cli_json_add_int(o, "input_items", p->input_items);
    cJSON *f = cJSON_AddObjectToObject(o, "item_filter");
    cli_json_add_int(f, "items", p->item_filter_items);
    cli_json_add_int(f, "dropped_interactions", p->item_filter_dropped);
    cli_json_add_int(o, "users", p->kept_users);
    cli_json_add_int(o, "items", p->kept_items);
    cli_json_add_int(o, "interactions", p->kept_interactions);
    add_protocol_json(o, r);
    add_split_json(o, r);

    cJSON *t = cJSON_AddObjectToObject(o, "seconds");
    cJSON_AddNumberToObject(t, r->source_step, r->source_s);
    cJSON_AddNumberToObject(t, "split", r->split_s);
    cJSON_AddNumberToObject(t, "write", r->write_s);
    cli_json_print(o);
}
