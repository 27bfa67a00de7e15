/* test_synth: the synthetic data generator (dataset/synth.c).
 * Checks presets and option validation, determinism, per-user item sets, and that
 * the data have the structure docs/synth.md promises: heavy-tailed popularity that
 * follows the drawn ranks, topic co-occurrence well above what popularity explains,
 * and enough of it that a collaborative model beats a popularity ranking. The item
 * set-up (ranks, topics) is re-derived here from the draws the document specifies,
 * independently of synth.c. Ends with a round trip through the protocol. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "common/pcg.h"
#include "dataset/dataset.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"

/* Users' items as CSR, built from the pairs (whatever order they come in). */
typedef struct user_lists {
    int64_t users;
    int64_t *start;   /* users + 1 */
    int32_t *items;
} user_lists;

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void user_lists_build(const vs_interactions *x, int64_t users, user_lists *l) {
    l->users = users;
    l->start = calloc((size_t)users + 1, sizeof *l->start);
    l->items = malloc((size_t)(x->n ? x->n : 1) * sizeof *l->items);
    int64_t *fill = calloc((size_t)users, sizeof *fill);
    for (int64_t p = 0; p < x->n; p++) l->start[x->user[p] + 1]++;
    for (int64_t u = 0; u < users; u++) l->start[u + 1] += l->start[u];
    for (int64_t p = 0; p < x->n; p++) {
        int32_t u = x->user[p];
        l->items[l->start[u] + fill[u]++] = x->item[p];
    }
    for (int64_t u = 0; u < users; u++)
        qsort(l->items + l->start[u], (size_t)(l->start[u + 1] - l->start[u]), sizeof *l->items,
              compare_int32);
    free(fill);
}

static void user_lists_free(user_lists *l) {
    free(l->start);
    free(l->items);
}

/* The item set-up exactly as docs/synth.md specifies it: stream (seed, SYNTH, 0, 0);
 * Fisher-Yates over ranks 1..I from the top, then one bounded(topics) per item. */
static void derive_item_setup(const vs_synth_opts *o, int32_t *rank, int32_t *topic) {
    vs_pcg32 g = vs_stream(o->seed, VS_RNG_SYNTH, 0, 0);
    for (int64_t i = 0; i < o->items; i++) rank[i] = (int32_t)(i + 1);
    for (int64_t i = o->items - 1; i > 0; i--) {
        uint32_t j = vs_pcg32_bounded(&g, (uint32_t)(i + 1));
        int32_t t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
    for (int64_t i = 0; i < o->items; i++) topic[i] = (int32_t)vs_pcg32_bounded(&g, (uint32_t)o->topics);
}

/* Least-squares slope of y on x. */
static double fit_slope(const double *x, const double *y, int64_t n) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int64_t i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static int compare_double_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* ---------------------------------------------------------------- presets, options */

static void test_presets(void) {
    vs_synth_opts o;
    vs_error err;
    CHECK_OK(vs_synth_preset("small", &o, &err), &err);
    CHECK(o.users == 2600 && o.items == 600 && o.topics == 12 && o.topics_per_user == 2);
    CHECK_NEAR(o.mean_items, 30.0, 1e-12);
    CHECK_NEAR(o.heldout_users, 300.0, 1e-12);
    CHECK(o.seed == 1);

    CHECK_OK(vs_synth_preset("ml20m", &o, &err), &err);
    CHECK(o.users == 136677 && o.items == 20108 && o.topics == 100 && o.topics_per_user == 3);
    CHECK_NEAR(o.mean_items, 73.2, 1e-12);
    CHECK_NEAR(o.popularity_exponent, 0.9, 1e-12);
    CHECK_NEAR(o.topic_affinity, 0.75, 1e-12);
    CHECK_NEAR(o.heldout_users, 10000.0, 1e-12);

    CHECK(o.min_items == 5);

    /* The paper's Table 1 (users, items, held-out users), and MSD's users with >= 20 songs. */
    CHECK_OK(vs_synth_preset("netflix", &o, &err), &err);
    CHECK(o.users == 463435 && o.items == 17769 && o.min_items == 5);
    CHECK_NEAR(o.heldout_users, 40000.0, 1e-12);
    CHECK_OK(vs_synth_preset("msd", &o, &err), &err);
    CHECK(o.users == 571355 && o.items == 41140 && o.min_items == 20);
    CHECK_NEAR(o.heldout_users, 50000.0, 1e-12);

    CHECK(vs_synth_preset("ml1m", &o, &err) == -1);
    CHECK_MSG(strstr(err.msg, "ml1m") && strstr(err.msg, "small") && strstr(err.msg, "ml20m") &&
                  strstr(err.msg, "netflix") && strstr(err.msg, "msd"),
              "message: %s", err.msg);
}

/* The two large presets' shapes, scaled down 100 times in users (so that the test
 * stays fast): the mean items per user the paper's counts give (122.8 for Netflix,
 * 58.8 for MSD, within 2%), and MSD's users with at least 20 items. */
static void test_paper_shapes(void) {
    static const struct { const char *name; double mean; int64_t least; } shapes[] = {
        {"netflix", 56.9e6 / 463435, 5}, {"msd", 33.6e6 / 571355, 20}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        vs_synth_opts o;
        vs_error err;
        CHECK_OK(vs_synth_preset(shapes[k].name, &o, &err), &err);
        o.users /= 100;
        vs_interactions x = {0};
        CHECK_OK(vs_synth_generate(&o, &x, &err), &err);
        double mean = (double)x.n / (double)o.users;
        CHECK_MSG(fabs(mean / shapes[k].mean - 1) < 0.02, "%s: %g items per user, want %g", shapes[k].name, mean,
                  shapes[k].mean);
        int64_t *per_user = calloc((size_t)o.users, sizeof *per_user);
        for (int64_t p = 0; p < x.n; p++) per_user[x.user[p]]++;
        int64_t least = INT64_MAX;
        for (int64_t u = 0; u < o.users; u++) least = per_user[u] < least ? per_user[u] : least;
        CHECK_MSG(least == shapes[k].least, "%s: least items per user %lld", shapes[k].name, (long long)least);
        free(per_user);
        vs_interactions_free(&x);
    }
}

/* An invalid option is refused with a message naming the field. */
static void expect_refused(const vs_synth_opts *o, const char *field) {
    vs_interactions x = {0};
    vs_error err = {{0}};
    int rc = vs_synth_generate(o, &x, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, field), "field %s: rc %d, message: %s", field, rc, err.msg);
    CHECK(x.n == 0);
    vs_interactions_free(&x);
}

static void test_validation(void) {
    vs_synth_opts base, o;
    vs_error err;
    CHECK_OK(vs_synth_preset("small", &base, &err), &err);
    o = base, o.users = 0, expect_refused(&o, "users");
    o = base, o.items = 9, expect_refused(&o, "items");
    o = base, o.mean_items = NAN, expect_refused(&o, "mean_items");
    o = base, o.mean_items = 0.5, expect_refused(&o, "mean_items");
    o = base, o.min_items = 4, expect_refused(&o, "min_items");
    o = base, o.min_items = 301, expect_refused(&o, "items");   /* more than items / 2 */
    o = base, o.topics = 0, expect_refused(&o, "topics");
    o = base, o.topics_per_user = 13, expect_refused(&o, "topics_per_user");
    o = base, o.popularity_exponent = -1, expect_refused(&o, "popularity_exponent");
    o = base, o.topic_affinity = 1.5, expect_refused(&o, "topic_affinity");

    /* The output must start empty. */
    vs_interactions x = {0};
    vs_interactions_push(&x, 0, 0);
    CHECK(vs_synth_generate(&base, &x, &err) == -1);
    vs_interactions_free(&x);

    /* Extremes that must still work: tiny catalogue, everything from one topic. */
    o = base, o.users = 50, o.items = 10, o.topics = 10, o.topics_per_user = 10, o.topic_affinity = 1.0;
    vs_interactions y = {0};
    CHECK_OK(vs_synth_generate(&o, &y, &err), &err);
    CHECK(y.n == 50 * 5);   /* items / 2 = 5 caps every user at 5 */
    vs_interactions_free(&y);
}

/* ---------------------------------------------------------------- determinism, users */

static int same_pairs(const vs_interactions *a, const vs_interactions *b) {
    return a->n == b->n && !memcmp(a->user, b->user, (size_t)a->n * sizeof *a->user) &&
           !memcmp(a->item, b->item, (size_t)a->n * sizeof *a->item);
}

static void test_determinism(const vs_synth_opts *o, const vs_interactions *first) {
    vs_error err;
    vs_interactions again = {0}, other = {0};
    CHECK_OK(vs_synth_generate(o, &again, &err), &err);
    CHECK(same_pairs(first, &again));

    vs_synth_opts o2 = *o;
    o2.seed = o->seed + 1;
    CHECK_OK(vs_synth_generate(&o2, &other, &err), &err);
    CHECK(!same_pairs(first, &other));
    vs_interactions_free(&again);
    vs_interactions_free(&other);
}

static int id_is_number(vs_strtab t, int64_t index, int64_t number) {
    char want[24];
    int len = snprintf(want, sizeof want, "%lld", (long long)number);
    return t.offsets[index + 1] - t.offsets[index] == (uint64_t)len &&
           !memcmp(t.bytes + t.offsets[index], want, (size_t)len);
}

static void test_users_and_ids(const vs_synth_opts *o, const vs_interactions *x, const user_lists *l) {
    CHECK(x->users.n == o->users);
    CHECK(x->items.n == o->items);
    vs_strtab users = vs_idmap_table(&x->users), items = vs_idmap_table(&x->items);
    int ids_ok = 1;
    for (int64_t u = 0; u < o->users; u++) ids_ok &= id_is_number(users, u, u + 1);
    for (int64_t i = 0; i < o->items; i++) ids_ok &= id_is_number(items, i, i + 1);
    CHECK_MSG(ids_ok, "user ids must be \"1\"..\"U\" and item ids index + 1");

    int64_t too_few = 0, duplicates = 0, too_many = 0, out_of_range = 0;
    for (int64_t u = 0; u < l->users; u++) {
        int64_t n = l->start[u + 1] - l->start[u];
        if (n < 5) too_few++;
        if (n > o->items / 2) too_many++;
        for (int64_t p = l->start[u]; p < l->start[u + 1]; p++) {
            if (p > l->start[u] && l->items[p] == l->items[p - 1]) duplicates++;
            if (l->items[p] < 0 || l->items[p] >= o->items) out_of_range++;
        }
    }
    CHECK_MSG(too_few == 0, "%lld users with < 5 items", (long long)too_few);
    CHECK_MSG(duplicates == 0, "%lld duplicate pairs", (long long)duplicates);
    CHECK_MSG(too_many == 0, "%lld users over items / 2", (long long)too_many);
    CHECK(out_of_range == 0);
    /* The log-normal's mean is mean_items; clipping at 5 adds a little. */
    double mean = (double)x->n / (double)o->users;
    CHECK_MSG(mean > 0.95 * o->mean_items && mean < 1.08 * o->mean_items, "mean items %g", mean);
}

/* ---------------------------------------------------------------- popularity */

static void test_popularity(const vs_synth_opts *o, const vs_interactions *x, const int32_t *rank) {
    int64_t n_items = o->items;
    double *count = calloc((size_t)n_items, sizeof *count);
    double *sorted = malloc((size_t)n_items * sizeof *sorted);
    double *lx = malloc((size_t)n_items * sizeof *lx), *ly = malloc((size_t)n_items * sizeof *ly);
    for (int64_t p = 0; p < x->n; p++) count[x->item[p]]++;
    memcpy(sorted, count, (size_t)n_items * sizeof *sorted);
    qsort(sorted, (size_t)n_items, sizeof *sorted, compare_double_desc);

    double head = 0, total = 0;
    for (int64_t r = 0; r < n_items; r++) {
        total += sorted[r];
        if (r < n_items / 10) head += sorted[r];
    }
    CHECK_MSG(head / total > 0.35, "top 10%% of items hold %.3f of interactions", head / total);
    CHECK_MSG(sorted[n_items - 1] > 0, "an item was never drawn");

    /* Rank-frequency slope on log-log axes, over the top half. Sampling without
     * replacement saturates the head and topics mix the order, so it is flatter
     * than -exponent, but must be clearly power-law. */
    int64_t m = 0;
    for (int64_t r = 0; r < n_items / 2; r++, m++) {
        lx[m] = log((double)(r + 1));
        ly[m] = log(sorted[r]);
    }
    double slope = fit_slope(lx, ly, m);
    CHECK_MSG(slope < -0.45 * o->popularity_exponent && slope > -1.3 * o->popularity_exponent,
              "rank-frequency slope %.3f for exponent %g", slope, o->popularity_exponent);

    /* Against the drawn ranks, beyond the saturated head: frequency ~ rank^-slope with
     * slope near the exponent. Topic draws renormalise popularity within each topic,
     * which lifts the best item of a weak topic, so it comes out somewhat flatter
     * (about 0.75 * exponent for the small preset; 0.93 with topic_affinity 0). */
    m = 0;
    for (int64_t i = 0; i < n_items; i++) {
        if (rank[i] <= n_items / 10) continue;
        lx[m] = log((double)rank[i]);
        ly[m] = log(count[i] + 0.5);
        m++;
    }
    double rank_slope = fit_slope(lx, ly, m);
    CHECK_MSG(rank_slope < -0.6 * o->popularity_exponent && rank_slope > -1.1 * o->popularity_exponent,
              "slope of frequency on drawn rank %.3f for exponent %g", rank_slope,
              o->popularity_exponent);

    /* Popularity follows the drawn ranks, not the item index. */
    int64_t top_rank_item = 0, top_count_item = 0;
    for (int64_t i = 0; i < n_items; i++) {
        if (rank[i] == 1) top_rank_item = i;
        if (count[i] > count[top_count_item]) top_count_item = i;
    }
    CHECK_MSG(count[top_rank_item] >= sorted[4], "rank-1 item (index %lld) has %g interactions",
              (long long)top_rank_item, count[top_rank_item]);
    CHECK(top_count_item != 0 || rank[0] <= 3);
    printf("popularity: top 10%% share %.3f, rank-frequency slope %.3f, slope on drawn rank %.3f\n",
           head / total, slope, rank_slope);
    free(count);
    free(sorted);
    free(lx);
    free(ly);
}

/* ---------------------------------------------------------------- topics */

/* Observed over expected co-occurrence, summed over item pairs of the same primary
 * topic and of different topics. Expected is what independence gives once popularity
 * and user activity are accounted for: each user u holds item i with probability
 * about n_u * count_i / N, so E[users with i and j] = count_i * count_j * sum n_u^2 / N^2. */
static void test_topic_cooccurrence(const vs_synth_opts *o, const user_lists *l, const int32_t *topic) {
    int64_t n_items = o->items;
    uint32_t *co = calloc((size_t)(n_items * n_items), sizeof *co);
    double *count = calloc((size_t)n_items, sizeof *count);
    double total = 0, activity = 0;
    for (int64_t u = 0; u < l->users; u++) {
        double n_u = (double)(l->start[u + 1] - l->start[u]);
        total += n_u;
        activity += n_u * n_u;
        for (int64_t a = l->start[u]; a < l->start[u + 1]; a++) {
            count[l->items[a]]++;
            for (int64_t b = a + 1; b < l->start[u + 1]; b++)
                co[(int64_t)l->items[a] * n_items + l->items[b]]++;   /* a < b: upper triangle */
        }
    }
    double obs_same = 0, exp_same = 0, obs_diff = 0, exp_diff = 0;
    for (int64_t i = 0; i < n_items; i++) {
        for (int64_t j = i + 1; j < n_items; j++) {
            double expected = count[i] * count[j] * activity / (total * total);
            if (topic[i] == topic[j]) obs_same += co[i * n_items + j], exp_same += expected;
            else obs_diff += co[i * n_items + j], exp_diff += expected;
        }
    }
    double lift_same = obs_same / exp_same, lift_diff = obs_diff / exp_diff;
    printf("topics: co-occurrence lift same topic %.2f, different topics %.2f\n", lift_same, lift_diff);
    CHECK_MSG(lift_same > 2.0, "same-topic lift %.2f", lift_same);
    CHECK_MSG(lift_diff < 1.0, "different-topic lift %.2f", lift_diff);
    CHECK_MSG(lift_same > 2.5 * lift_diff, "lifts %.2f vs %.2f", lift_same, lift_diff);
    free(co);
    free(count);
}

/* Hits in the top 20 of scores (fold-in items excluded) over min(20, targets). */
static double recall_at_20(double *score, const char *fold_in, const char *target, int64_t n_items,
                           int64_t n_targets) {
    int hits = 0;
    for (int64_t i = 0; i < n_items; i++)
        if (fold_in[i]) score[i] = -INFINITY;
    for (int r = 0; r < 20; r++) {
        int64_t best = 0;
        for (int64_t i = 1; i < n_items; i++)
            if (score[i] > score[best]) best = i;
        hits += target[best];
        score[best] = -INFINITY;
    }
    return (double)hits / (double)(n_targets < 20 ? n_targets : 20);
}

/* The structure is learnable: an item-to-item co-occurrence recommender, fitted on
 * all but the last 300 users, beats the popularity ranking on those users' held-out
 * 20% by a wide margin, while popularity stays far better than random. */
static void test_learnable(const vs_synth_opts *o, const user_lists *l) {
    int64_t n_items = o->items, n_train = l->users - 300;
    float *co = calloc((size_t)(n_items * n_items), sizeof *co);
    double *pop = calloc((size_t)n_items, sizeof *pop), *score = malloc((size_t)n_items * sizeof *score);
    char *fold_in = malloc((size_t)n_items), *target = malloc((size_t)n_items);
    for (int64_t u = 0; u < n_train; u++) {
        for (int64_t a = l->start[u]; a < l->start[u + 1]; a++) {
            pop[l->items[a]]++;
            for (int64_t b = l->start[u]; b < l->start[u + 1]; b++)
                co[(int64_t)l->items[a] * n_items + l->items[b]]++;
        }
    }
    double recall_pop = 0, recall_co = 0, recall_random = 0;
    int evaluated = 0;
    for (int64_t u = n_train; u < l->users; u++) {
        memset(fold_in, 0, (size_t)n_items);
        memset(target, 0, (size_t)n_items);
        vs_pcg32 g = vs_stream(12345, 99, 0, (uint64_t)u);   /* the test's own split */
        int64_t n_targets = 0;
        for (int64_t p = l->start[u]; p < l->start[u + 1]; p++) {
            if (vs_pcg32_unit_double(&g) < 0.2) target[l->items[p]] = 1, n_targets++;
            else fold_in[l->items[p]] = 1;
        }
        if (!n_targets) continue;
        evaluated++;
        for (int64_t i = 0; i < n_items; i++) score[i] = pop[i];
        recall_pop += recall_at_20(score, fold_in, target, n_items, n_targets);
        for (int64_t i = 0; i < n_items; i++) {
            double s = 0;
            for (int64_t j = 0; j < n_items; j++)
                if (fold_in[j]) s += co[j * n_items + i] / sqrt(pop[i] * pop[j] + 1.0);
            score[i] = s;
        }
        recall_co += recall_at_20(score, fold_in, target, n_items, n_targets);
        for (int64_t i = 0; i < n_items; i++) score[i] = (double)((i * 7919) % n_items);
        recall_random += recall_at_20(score, fold_in, target, n_items, n_targets);
    }
    recall_pop /= evaluated, recall_co /= evaluated, recall_random /= evaluated;
    printf("recall@20 on %d users: co-occurrence %.3f, popularity %.3f, fixed order %.3f\n", evaluated,
           recall_co, recall_pop, recall_random);
    CHECK(evaluated > 250);
    CHECK_MSG(recall_co > 1.5 * recall_pop, "co-occurrence %.3f vs popularity %.3f", recall_co, recall_pop);
    CHECK_MSG(recall_pop > 3.0 * recall_random, "popularity %.3f vs fixed order %.3f", recall_pop,
              recall_random);
    free(co);
    free(pop);
    free(score);
    free(fold_in);
    free(target);
}

/* ---------------------------------------------------------------- protocol */

static void test_protocol_round_trip(const vs_synth_opts *o, const vs_interactions *x) {
    vs_protocol_opts po;
    vs_protocol_opts_default(&po);
    po.heldout_users = o->heldout_users;
    po.seed = o->seed;
    vs_dataset ds = {0};
    vs_protocol_stats st = {0};
    vs_error err;
    CHECK_OK(vs_protocol_split(x, &po, "{\"source\": \"synth\"}", &ds, &st, &err), &err);
    if (!ds.meta_json) return;
    CHECK(st.duplicates == 0);
    CHECK(st.kept_users == o->users);
    CHECK(ds.val_in.rows == 300 && ds.test_in.rows == 300);
    CHECK(ds.train.rows == o->users - 600);
    CHECK(ds.n_items <= o->items && ds.n_items >= o->items - 10);
    int64_t val_in = vs_csr_nnz(&ds.val_in), val_out = vs_csr_nnz(&ds.val_out);
    int64_t total = vs_csr_nnz(&ds.train) + val_in + val_out + vs_csr_nnz(&ds.test_in) +
                    vs_csr_nnz(&ds.test_out);
    CHECK(total == x->n - st.dropped_heldout_interactions);
    double target_share = (double)val_out / (double)(val_in + val_out);
    CHECK_MSG(target_share > 0.15 && target_share <= 0.2, "validation target share %.3f", target_share);
    vs_dataset_close(&ds);
}

int main(void) {
    vs_synth_opts o;
    vs_error err;
    test_presets();
    test_paper_shapes();
    test_validation();
    if (vs_synth_preset("small", &o, &err)) return test_finish();

    vs_interactions x = {0};
    CHECK_OK(vs_synth_generate(&o, &x, &err), &err);
    if (x.n == 0) return test_finish();
    user_lists l;
    user_lists_build(&x, o.users, &l);
    int32_t *rank = malloc((size_t)o.items * sizeof *rank), *topic = malloc((size_t)o.items * sizeof *topic);
    derive_item_setup(&o, rank, topic);

    test_determinism(&o, &x);
    test_users_and_ids(&o, &x, &l);
    test_popularity(&o, &x, rank);
    test_topic_cooccurrence(&o, &l, topic);
    test_learnable(&o, &l);
    test_protocol_round_trip(&o, &x);

    free(rank);
    free(topic);
    user_lists_free(&l);
    vs_interactions_free(&x);
    return test_finish();
}
