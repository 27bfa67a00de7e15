/* synth.c: synthetic implicit-feedback data with real structure (see synth.h).
 *
 * The generative model, with every random draw in order, is specified in
 * docs/synth.md; in short:
 *   items   Zipf popularity w_i = rank_i^-exponent over a random permutation of
 *           ranks, and one primary topic each (stream a = 0, b = 0);
 *   users   a few topics with Dirichlet(1) weights, a log-normal number of items,
 *           then items drawn without replacement, each from one of the user's
 *           topics (probability topic_affinity) or from global popularity
 *           (stream a = 1, b = user index).
 * Because each user owns a stream, users are generated in parallel (OpenMP) and the
 * result does not depend on the thread count. Generation runs in two passes: the
 * first replays only the head of each user's stream to learn how many items it
 * wants, so the second can write every user into its own slice of one buffer. */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pcg.h"

#define SYNTH_MIN_ITEMS 5        /* the least min_items, the protocol's min_user_items: every user survives */
#define SYNTH_MAX_ITEMS 2000     /* cap on one user's items (besides items / 2) */
#define SYNTH_LOG_SIGMA 0.9      /* log-normal spread of items per user (MovieLens-like) */
#define SYNTH_MAX_PAIRS 2000000000.0   /* refuse sizes whose pairs could not be indexed */

/* Stream keys under VS_RNG_SYNTH. */
#define SYNTH_STREAM_ITEMS 0     /* a = 0, b = 0: the item set-up */
#define SYNTH_STREAM_USER 1      /* a = 1, b = user index: one user */

/* ---------------------------------------------------------------- presets */

typedef struct synth_preset {
    const char *name;
    vs_synth_opts opts;
} synth_preset;

static const synth_preset presets[] = {
    /* Tests and the demo: trains in seconds on a CPU. Exponent 1.0 rather than 0.8:
     * 30 items out of 600 without replacement saturate the head, so the observed
     * popularity is flatter than the draws' (docs/synth.md). */
    {"small", {.users = 2600, .items = 600, .mean_items = 30.0, .min_items = 5, .topics = 12,
               .topics_per_user = 2, .popularity_exponent = 1.0, .topic_affinity = 0.8,
               .seed = 1, .heldout_users = 300}},
    /* MovieLens-20M after the paper's preparation: 136,677 users, 20,108 items,
     * about 10 M interactions. */
    {"ml20m", {.users = 136677, .items = 20108, .mean_items = 73.2, .min_items = 5, .topics = 100,
               .topics_per_user = 3, .popularity_exponent = 0.9, .topic_affinity = 0.75,
               .seed = 1, .heldout_users = 10000}},
    /* The Netflix Prize after the paper's preparation (Table 1): 463,435 users, 17,769
     * items, 56.9 M interactions (122.8 a user: mean_items is the log-normal's mean that
     * gives it after clipping), 40,000 validation and 40,000 test users. */
    {"netflix", {.users = 463435, .items = 17769, .mean_items = 122.9, .min_items = 5,
                 .topics = 100, .topics_per_user = 3, .popularity_exponent = 0.9, .topic_affinity = 0.75,
                 .seed = 1, .heldout_users = 40000}},
    /* The Million Song Dataset after the paper's preparation: 571,355 users with at
     * least 20 songs, 41,140 songs, 33.6 M interactions (58.8 a user, from a log-normal
     * of mean 57.1 clipped below at 20), 50,000 + 50,000 held out. A
     * flatter popularity (0.7) leaves the least popular song about 200 listeners, as
     * the paper's filter did. */
    {"msd", {.users = 571355, .items = 41140, .mean_items = 57.1, .min_items = 20, .topics = 200,
             .topics_per_user = 3, .popularity_exponent = 0.7, .topic_affinity = 0.75,
             .seed = 1, .heldout_users = 50000}},
};

#define N_PRESETS (sizeof presets / sizeof presets[0])

int vs_synth_preset(const char *name, vs_synth_opts *o, vs_error *err) {
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (name && !strcmp(name, presets[i].name)) {
            *o = presets[i].opts;
            return 0;
        }
    }
    char known[128] = "";
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, presets[i].name, sizeof known - strlen(known) - 1);
    }
    return vs_errorf(err, "unknown synth preset '%s' (known: %s)", name ? name : "(null)", known);
}

/* ---------------------------------------------------------------- validation */

static int64_t max_items_per_user(const vs_synth_opts *o) {
    int64_t cap = o->items / 2;
    return cap < SYNTH_MAX_ITEMS ? cap : SYNTH_MAX_ITEMS;
}

static int validate_opts(const vs_synth_opts *o, vs_error *err) {
    if (o->users < 1 || o->users > INT32_MAX - 1)
        return vs_errorf(err, "users must be in 1..%d (got %lld)", INT32_MAX - 1, (long long)o->users);
    if (o->min_items < SYNTH_MIN_ITEMS || o->min_items > SYNTH_MAX_ITEMS)
        return vs_errorf(err, "min_items must be in %d..%d (got %lld)", SYNTH_MIN_ITEMS, SYNTH_MAX_ITEMS,
                         (long long)o->min_items);
    /* items / 2 must leave room for the minimum of items a user gets */
    if (o->items < 2 * o->min_items || o->items > INT32_MAX - 1)
        return vs_errorf(err, "items must be in %lld..%d, twice min_items at least (got %lld)",
                         (long long)(2 * o->min_items), INT32_MAX - 1, (long long)o->items);
    if (!isfinite(o->mean_items) || o->mean_items < 1.0 || o->mean_items > SYNTH_MAX_ITEMS)
        return vs_errorf(err, "mean_items must be in 1..%d (got %g)", SYNTH_MAX_ITEMS, o->mean_items);
    if ((double)o->users * o->mean_items > SYNTH_MAX_PAIRS)
        return vs_errorf(err, "users * mean_items = %.0f is too many interactions (at most %.0f)",
                         (double)o->users * o->mean_items, SYNTH_MAX_PAIRS);
    if (o->topics < 1 || o->topics > 1000000)
        return vs_errorf(err, "topics must be in 1..1000000 (got %d)", o->topics);
    if (o->topics_per_user < 1 || o->topics_per_user > o->topics)
        return vs_errorf(err, "topics_per_user must be in 1..topics (%d) (got %d)", o->topics,
                         o->topics_per_user);
    if (!isfinite(o->popularity_exponent) || o->popularity_exponent < 0.0 || o->popularity_exponent > 5.0)
        return vs_errorf(err, "popularity_exponent must be in [0, 5] (got %g)", o->popularity_exponent);
    if (!isfinite(o->topic_affinity) || o->topic_affinity < 0.0 || o->topic_affinity > 1.0)
        return vs_errorf(err, "topic_affinity must be in [0, 1] (got %g)", o->topic_affinity);
    return 0;
}

/* ---------------------------------------------------------------- item set-up */

/* What every user's draws read: popularity and topics as cumulative weights. */
typedef struct synth_items {
    int64_t n_items;
    int n_topics;
    double *global_cum;    /* n_items: running sum of w over items in index order */
    int32_t *topic_of;     /* n_items: primary topic */
    int32_t *topic_items;  /* n_items: items grouped by topic, by index within a topic */
    double *topic_cum;     /* n_items: running sum of w within each topic's group */
    int64_t *topic_start;  /* n_topics + 1: group t is topic_items[start[t] .. start[t+1]) */
} synth_items;

static void synth_items_free(synth_items *s) {
    free(s->global_cum);
    free(s->topic_of);
    free(s->topic_items);
    free(s->topic_cum);
    free(s->topic_start);
    memset(s, 0, sizeof *s);
}

/* Ranks 1..I in a random order (Fisher-Yates from the top), so that popularity is
 * unrelated to the item index. */
static void draw_rank_permutation(vs_pcg32 *g, int64_t n, int32_t *rank) {
    for (int64_t i = 0; i < n; i++) rank[i] = (int32_t)(i + 1);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = vs_pcg32_bounded(g, (uint32_t)(i + 1));
        int32_t t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
}

/* Groups items by primary topic (a counting sort, stable in the item index) and
 * builds each group's running sums of popularity. */
static void build_topic_groups(synth_items *s, const double *weight) {
    int64_t *fill = vs_xcalloc((size_t)s->n_topics + 1, sizeof *fill);
    for (int64_t i = 0; i < s->n_items; i++) s->topic_start[s->topic_of[i] + 1]++;
    for (int t = 0; t < s->n_topics; t++) s->topic_start[t + 1] += s->topic_start[t];
    for (int64_t i = 0; i < s->n_items; i++) {
        int t = s->topic_of[i];
        s->topic_items[s->topic_start[t] + fill[t]++] = (int32_t)i;
    }
    for (int t = 0; t < s->n_topics; t++) {
        double sum = 0.0;
        for (int64_t p = s->topic_start[t]; p < s->topic_start[t + 1]; p++) {
            sum += weight[s->topic_items[p]];
            s->topic_cum[p] = sum;
        }
    }
    free(fill);
}

static void synth_items_build(const vs_synth_opts *o, synth_items *s) {
    int64_t n = o->items;
    s->n_items = n;
    s->n_topics = o->topics;
    s->global_cum = vs_xmalloc((size_t)n * sizeof *s->global_cum);
    s->topic_of = vs_xmalloc((size_t)n * sizeof *s->topic_of);
    s->topic_items = vs_xmalloc((size_t)n * sizeof *s->topic_items);
    s->topic_cum = vs_xmalloc((size_t)n * sizeof *s->topic_cum);
    s->topic_start = vs_xcalloc((size_t)o->topics + 1, sizeof *s->topic_start);

    vs_pcg32 g = vs_stream(o->seed, VS_RNG_SYNTH, SYNTH_STREAM_ITEMS, 0);
    int32_t *rank = vs_xmalloc((size_t)n * sizeof *rank);
    double *weight = vs_xmalloc((size_t)n * sizeof *weight);
    draw_rank_permutation(&g, n, rank);
    for (int64_t i = 0; i < n; i++) s->topic_of[i] = (int32_t)vs_pcg32_bounded(&g, (uint32_t)o->topics);

    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        weight[i] = pow((double)rank[i], -o->popularity_exponent);
        sum += weight[i];
        s->global_cum[i] = sum;
    }
    build_topic_groups(s, weight);
    free(rank);
    free(weight);
}

/* The first position p in [lo, hi) with cum[p] > u * total, where total = cum[hi-1]:
 * inverse-CDF sampling by binary search. The clamp guards against rounding at the top. */
static int64_t sample_cumulative(const double *cum, int64_t lo, int64_t hi, double u) {
    double target = u * cum[hi - 1];
    int64_t a = lo, b = hi - 1;
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (cum[mid] > target) b = mid;
        else a = mid + 1;
    }
    return a;
}

/* ---------------------------------------------------------------- one user */

/* A user's taste: the head of its stream, replayed identically by both passes. */
typedef struct user_plan {
    int k;               /* topics */
    int32_t *topic;      /* k distinct topics */
    double *topic_cum;   /* k: running sum of the normalised topic weights */
    int64_t n;           /* items wanted */
} user_plan;

static void draw_user_plan(const vs_synth_opts *o, vs_pcg32 *g, user_plan *p) {
    p->k = 1 + (int)vs_pcg32_bounded(g, (uint32_t)o->topics_per_user);
    for (int j = 0; j < p->k; j++) {
        int fresh;
        do {   /* redraw until distinct; k <= topics so this ends */
            p->topic[j] = (int32_t)vs_pcg32_bounded(g, (uint32_t)o->topics);
            fresh = 1;
            for (int m = 0; m < j; m++)
                if (p->topic[m] == p->topic[j]) fresh = 0;
        } while (!fresh);
    }
    /* Dirichlet(1, ..., 1) weights: normalised Exp(1) draws. */
    double sum = 0.0;
    for (int j = 0; j < p->k; j++) {
        sum += -log(1.0 - vs_pcg32_unit_double(g));
        p->topic_cum[j] = sum;
    }
    for (int j = 0; j < p->k; j++) p->topic_cum[j] /= sum;

    /* Log-normal with mean mean_items: mu = ln(mean) - sigma^2 / 2. */
    double mu = log(o->mean_items) - 0.5 * SYNTH_LOG_SIGMA * SYNTH_LOG_SIGMA;
    double x = exp(mu + SYNTH_LOG_SIGMA * vs_pcg32_normal(g));
    int64_t cap = max_items_per_user(o);
    p->n = x < (double)o->min_items ? o->min_items : x > (double)cap ? cap : (int64_t)llround(x);
}

/* One draw of the user's item process (may repeat an item already taken). */
static int32_t draw_item(const vs_synth_opts *o, const synth_items *s, const user_plan *p,
                         vs_pcg32 *g) {
    if (vs_pcg32_unit_double(g) < o->topic_affinity) {
        double v = vs_pcg32_unit_double(g);
        int j = 0;
        while (j < p->k - 1 && p->topic_cum[j] <= v) j++;
        int t = p->topic[j];
        int64_t lo = s->topic_start[t], hi = s->topic_start[t + 1];
        double u = vs_pcg32_unit_double(g);
        /* An empty topic (possible when topics is close to items) falls back to
         * global popularity, using the same uniform. */
        if (lo < hi) return s->topic_items[sample_cumulative(s->topic_cum, lo, hi, u)];
        return (int32_t)sample_cumulative(s->global_cum, 0, s->n_items, u);
    }
    return (int32_t)sample_cumulative(s->global_cum, 0, s->n_items, vs_pcg32_unit_double(g));
}

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Draws user u's items into out (room for plan->n), using stamp[] (one entry per
 * item, private to the thread) to see duplicates: stamp[i] == u + 1 means taken.
 * Returns how many items the user got, sorted by index. */
static int64_t generate_user(const vs_synth_opts *o, const synth_items *s, int64_t u,
                             user_plan *p, int32_t *stamp, int32_t *out) {
    vs_pcg32 g = vs_stream(o->seed, VS_RNG_SYNTH, SYNTH_STREAM_USER, (uint64_t)u);
    draw_user_plan(o, &g, p);
    int32_t mark = (int32_t)(u + 1);
    int64_t got = 0;
    /* Duplicates are redrawn, within a budget: a user that wants most of a small
     * topic could otherwise spin for long. */
    int64_t budget = 20 * p->n + 100;
    for (int64_t attempt = 0; attempt < budget && got < p->n; attempt++) {
        int32_t item = draw_item(o, s, p, &g);
        if (stamp[item] == mark) continue;
        stamp[item] = mark;
        out[got++] = item;
    }
    /* Rare top-up so that every user has its minimum: uniform items. */
    while (got < o->min_items) {
        int32_t item = (int32_t)vs_pcg32_bounded(&g, (uint32_t)s->n_items);
        if (stamp[item] == mark) continue;
        stamp[item] = mark;
        out[got++] = item;
    }
    qsort(out, (size_t)got, sizeof *out, compare_int32);
    return got;
}

/* ---------------------------------------------------------------- all users */

static void user_plan_alloc(const vs_synth_opts *o, user_plan *p) {
    p->topic = vs_xmalloc((size_t)o->topics_per_user * sizeof *p->topic);
    p->topic_cum = vs_xmalloc((size_t)o->topics_per_user * sizeof *p->topic_cum);
}

static void user_plan_free(user_plan *p) {
    free(p->topic);
    free(p->topic_cum);
}

/* Pass 1: each user's wanted item count, from the head of its stream. */
static void plan_user_sizes(const vs_synth_opts *o, int64_t *offset) {
    offset[0] = 0;
#pragma omp parallel
    {
        user_plan p;
        user_plan_alloc(o, &p);
#pragma omp for schedule(static)
        for (int64_t u = 0; u < o->users; u++) {
            vs_pcg32 g = vs_stream(o->seed, VS_RNG_SYNTH, SYNTH_STREAM_USER, (uint64_t)u);
            draw_user_plan(o, &g, &p);
            offset[u + 1] = p.n;
        }
        user_plan_free(&p);
    }
    for (int64_t u = 0; u < o->users; u++) offset[u + 1] += offset[u];
}

/* Pass 2: every user's items into buf[offset[u] ..], count[u] of them. */
static void generate_all_users(const vs_synth_opts *o, const synth_items *s,
                               const int64_t *offset, int32_t *buf, int64_t *count) {
#pragma omp parallel
    {
        int32_t *stamp = vs_xcalloc((size_t)s->n_items, sizeof *stamp);
        user_plan p;
        user_plan_alloc(o, &p);
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < o->users; u++)
            count[u] = generate_user(o, s, u, &p, stamp, buf + offset[u]);
        free(stamp);
        user_plan_free(&p);
    }
}

/* Interns items "1".."I" first so that item index i is id i + 1, then users in
 * order, pushing each user's sorted items. */
static int fill_interactions(const vs_synth_opts *o, const int64_t *offset, const int32_t *buf,
                             const int64_t *count, vs_interactions *out, vs_error *err) {
    char id[24];
    for (int64_t i = 0; i < o->items; i++) {
        int len = snprintf(id, sizeof id, "%lld", (long long)(i + 1));
        if (vs_idmap_intern(&out->items, id, (size_t)len) != (int32_t)i)
            return vs_errorf(err, "item id %s did not get index %lld (was the output not empty?)",
                             id, (long long)i);
    }
    for (int64_t u = 0; u < o->users; u++) {
        int len = snprintf(id, sizeof id, "%lld", (long long)(u + 1));
        int32_t user = vs_idmap_intern(&out->users, id, (size_t)len);
        if (user != (int32_t)u)
            return vs_errorf(err, "user id %s did not get index %lld (was the output not empty?)",
                             id, (long long)u);
        for (int64_t j = 0; j < count[u]; j++) vs_interactions_push(out, user, buf[offset[u] + j]);
    }
    return 0;
}

int vs_synth_generate(const vs_synth_opts *o, vs_interactions *out, vs_error *err) {
    if (validate_opts(o, err)) return vs_error_prefix(err, "synth");
    if (out->n || out->users.n || out->items.n)
        return vs_errorf(err, "synth: the output interactions must be empty");

    synth_items s = {0};
    synth_items_build(o, &s);
    int64_t *offset = vs_xmalloc((size_t)(o->users + 1) * sizeof *offset);
    int64_t *count = vs_xmalloc((size_t)o->users * sizeof *count);
    plan_user_sizes(o, offset);
    int32_t *buf = vs_xmalloc((size_t)offset[o->users] * sizeof *buf);
    generate_all_users(o, &s, offset, buf, count);
    int rc = fill_interactions(o, offset, buf, count, out, err);
    if (rc) vs_error_prefix(err, "synth");

    free(buf);
    free(count);
    free(offset);
    synth_items_free(&s);
    return rc;
}

int vs_synth_dataset(const vs_synth_opts *o, const char *meta_json, vs_dataset *out, vs_error *err) {
    vs_interactions pairs = {0};
    if (vs_synth_generate(o, &pairs, err)) return -1;
    vs_protocol_opts po;
    vs_protocol_opts_default(&po);
    po.heldout_users = o->heldout_users;
    po.seed = o->seed;
    int rc = vs_protocol_split(&pairs, &po, meta_json, out, NULL, err);
    vs_interactions_free(&pairs);
    return rc;
}
