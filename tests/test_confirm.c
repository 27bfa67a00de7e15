/* test_confirm: the pieces of `vaesearch confirm` below the command line: fresh seeds
 * (never the original, the same every time, within the trainer's range), the summary
 * (means and sample standard deviations against numbers worked by hand, retries counted
 * for the trial they repeat, seeds done, pending and failed, the ranking in either
 * direction, the verdict on the first two), and results.db's link between a sweep and its
 * confirmation (found both ways, a confirmation not offered for confirming, trials
 * recorded with their link only by the sweep's owner). tests/cli_confirm.sh runs the
 * command end to end. */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "orchestrator/confirm.h"
#include "results/results_confirm.h"
#include "results/results_db.h"
#include "space/space.h"

static void check_seeds(void) {
    const uint64_t top = 9007199254740992ULL;   /* 2^53, the trainer's largest seed */
    CHECK(vs_confirm_seed(98765, 1) == 98766);
    CHECK(vs_confirm_seed(98765, 3) == 98768);
    CHECK(vs_confirm_seed(0, 1) == 1);
    /* At the top of the range they wrap, and stay distinct from the original. */
    CHECK(vs_confirm_seed(top, 1) == 0);
    CHECK(vs_confirm_seed(top - 1, 2) == 0);
    /* A seed above 2^53 (the trainer reads 64 bits): fresh ones within the range. */
    CHECK(vs_confirm_seed(UINT64_MAX, 1) <= top && vs_confirm_seed(UINT64_MAX, 1) != vs_confirm_seed(UINT64_MAX, 2));
    int distinct = 1;
    for (int i = 1; i <= 50; i++)
        for (int j = i + 1; j <= 50; j++) distinct &= vs_confirm_seed(top - 20, i) != vs_confirm_seed(top - 20, j);
    for (int i = 1; i <= 50; i++) distinct &= vs_confirm_seed(top - 20, i) != top - 20;
    CHECK(distinct);
}

/* ---- the summary, on JSON as vs_db_trials_json writes it ---- */

static cJSON *trial(int number, const char *state, double value, const char *attrs) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "number", number);
    cJSON_AddStringToObject(t, "state", state);
    if (isnan(value)) cJSON_AddNullToObject(t, "value");
    else cJSON_AddNumberToObject(t, "value", value);
    cJSON_AddItemToObject(t, "params", cJSON_Parse("{\"lr\": 0.001}"));
    cJSON_AddItemToObject(t, "user_attrs", cJSON_Parse(attrs));
    return t;
}

/* A confirmation trial of source trial `of`, seed `index`, with validation and test ndcg@100. */
static cJSON *confirm_trial(int number, const char *state, int of, int index, double val, double test) {
    char attrs[512];
    if (isnan(val))
        snprintf(attrs, sizeof attrs, "{\"confirm_of\": %d, \"confirm_seed_index\": %d}", of, index);
    else
        snprintf(attrs, sizeof attrs,
                 "{\"confirm_of\": %d, \"confirm_seed_index\": %d, \"val_ndcg@100\": %.17g, \"test_ndcg@100\": %.17g}", of,
                 index, val, test);
    return trial(number, state, val, attrs);
}

static void check_summary(void) {
    vs_error err = {{0}};
    cJSON *sweep = cJSON_Parse("{\"name\": \"s\", \"metric\": \"ndcg@100\", \"direction\": \"maximize\"}");
    cJSON *source = cJSON_CreateArray();
    /* The sweep: trial 2 best (0.40), then 0 (0.38), 1 and 3 tied (0.35: trial order), 4 failed. */
    cJSON_AddItemToArray(source, trial(0, "COMPLETE", 0.38, "{}"));
    cJSON_AddItemToArray(source, trial(1, "COMPLETE", 0.35, "{}"));
    cJSON_AddItemToArray(source, trial(2, "COMPLETE", 0.40, "{}"));
    cJSON_AddItemToArray(source, trial(3, "COMPLETE", 0.35, "{}"));
    cJSON_AddItemToArray(source, trial(4, "FAIL", NAN, "{}"));
    const cJSON *ranked[8];
    CHECK(vs_confirm_rank_sweep(sweep, source, ranked) == 4);
    CHECK(cJSON_GetObjectItem(ranked[0], "number")->valueint == 2);
    CHECK(cJSON_GetObjectItem(ranked[1], "number")->valueint == 0);
    CHECK(cJSON_GetObjectItem(ranked[2], "number")->valueint == 1);
    CHECK(cJSON_GetObjectItem(ranked[3], "number")->valueint == 3);

    cJSON *c = cJSON_CreateArray();
    /* Trial 2 on seeds 1-3: 0.36, 0.37, 0.38 (mean 0.37, sd 0.01). */
    cJSON_AddItemToArray(c, confirm_trial(0, "COMPLETE", 2, 1, 0.36, 0.30));
    /* Trial 0 on seeds 1-3: 0.39, 0.37, then seed 3 failed and its retry gave 0.41
     * (mean 0.39, sd 0.02). */
    cJSON_AddItemToArray(c, confirm_trial(1, "COMPLETE", 0, 1, 0.39, 0.31));
    cJSON_AddItemToArray(c, confirm_trial(2, "COMPLETE", 2, 2, 0.37, 0.32));
    cJSON_AddItemToArray(c, confirm_trial(3, "COMPLETE", 0, 2, 0.37, 0.33));
    cJSON_AddItemToArray(c, confirm_trial(4, "COMPLETE", 2, 3, 0.38, 0.34));
    cJSON_AddItemToArray(c, confirm_trial(5, "FAIL", 0, 3, NAN, NAN));
    cJSON_AddItemToArray(c, trial(6, "COMPLETE", 0.41, "{\"retry_of\": 5, \"val_ndcg@100\": 0.41, \"test_ndcg@100\": 0.35}"));
    /* Trial 1: one seed done (0.30), one waiting, one failed. */
    cJSON_AddItemToArray(c, confirm_trial(7, "COMPLETE", 1, 1, 0.30, 0.25));
    cJSON_AddItemToArray(c, confirm_trial(8, "WAITING", 1, 2, NAN, NAN));
    cJSON_AddItemToArray(c, confirm_trial(9, "FAIL", 1, 3, NAN, NAN));
    /* Trial 3: nothing done yet. */
    cJSON_AddItemToArray(c, confirm_trial(10, "RUNNING", 3, 1, NAN, NAN));
    /* A trial that is no part of it (Optuna's enqueue_trial, say): left out. */
    cJSON_AddItemToArray(c, trial(11, "COMPLETE", 0.5, "{\"val_ndcg@100\": 0.5}"));

    vs_confirm_summary s;
    CHECK_OK(vs_confirm_summarize(sweep, source, c, NULL, &s, &err), &err);
    CHECK(s.n == 4 && s.descending && !strcmp(vs_confirm_metrics[s.metric], "val_ndcg@100"));
    if (s.n == 4) {
        /* Trial 0 (mean 0.39) before 2 (0.37) before 1 (0.30); 3 has no seed done: last. */
        CHECK(s.configs[0].number == 0 && s.configs[1].number == 2 && s.configs[2].number == 1 && s.configs[3].number == 3);
        const vs_confirm_config *a = &s.configs[0], *b = &s.configs[1];
        CHECK_NEAR(a->stat[0].mean, 0.39, 1e-12);
        CHECK_NEAR(a->stat[0].sd, 0.02, 1e-12);
        CHECK(a->stat[0].n == 3 && a->complete == 3 && a->failed == 0 && a->pending == 0);
        CHECK(a->n_trials == 4 && a->numbers[3] == 6);   /* its retry counts for it */
        CHECK_NEAR(a->stat[3].mean, (0.31 + 0.33 + 0.35) / 3, 1e-12);   /* test ndcg@100 */
        CHECK(a->original_rank == 2 && a->original_value == 0.38);
        CHECK_NEAR(b->stat[0].mean, 0.37, 1e-12);
        CHECK_NEAR(b->stat[0].sd, 0.01, 1e-12);
        CHECK(b->original_rank == 1);
        const vs_confirm_config *one = &s.configs[2], *three = &s.configs[3];
        CHECK(one->complete == 1 && one->pending == 1 && one->failed == 1);
        CHECK(one->stat[0].n == 1 && one->stat[0].mean == 0.30 && isnan(one->stat[0].sd));
        CHECK(three->complete == 0 && three->pending == 1 && isnan(three->stat[0].mean));
        CHECK(one->stat[1].n == 0);   /* recall@20 was never recorded */
        /* The verdict: gap 0.02, se sqrt(0.02^2/3 + 0.01^2/3) = 0.0129: not separated.
         * Welch's df: (0.0005/3)^2 / ((0.0004/3)^2/2 + (0.0001/3)^2/2) = 2.94, so t 4.303. */
        CHECK(s.has_verdict && !s.separated);
        CHECK_NEAR(s.gap, 0.02, 1e-12);
        CHECK_NEAR(s.gap_se, sqrt((0.0004 + 0.0001) / 3), 1e-12);
        CHECK_NEAR(s.df, 0.0005 * 0.0005 / (0.0004 * 0.0004 / 2 + 0.0001 * 0.0001 / 2), 1e-9);
        CHECK(s.t_needed == 4.303);
        CHECK(vs_confirm_find(&s, 6, 1) == &s.configs[0]);
        CHECK(vs_confirm_find(&s, 2, 0) == &s.configs[1]);
        CHECK(vs_confirm_find(&s, 11, 1) == NULL && vs_confirm_find(&s, 4, 0) == NULL);
    }
    vs_confirm_summary_free(&s);

    /* By test ndcg@100: higher first whatever the sweep's direction. */
    CHECK_OK(vs_confirm_summarize(sweep, source, c, "test_ndcg@100", &s, &err), &err);
    CHECK(s.n == 4 && s.configs[0].number == 0 && s.configs[1].number == 2);
    vs_confirm_summary_free(&s);
    CHECK(vs_confirm_summarize(sweep, source, c, "val_loss", &s, &err) == -1 && strstr(err.msg, "val_loss"));

    /* A sweep that minimises: the lowest mean first, and the sweep's ranks turned round. */
    cJSON_ReplaceItemInObject(sweep, "direction", cJSON_CreateString("minimize"));
    CHECK_OK(vs_confirm_summarize(sweep, source, c, NULL, &s, &err), &err);
    CHECK(s.n == 4 && !s.descending && s.configs[0].number == 1 && s.configs[1].number == 2 && s.configs[2].number == 0);
    if (s.n == 4) CHECK(s.configs[0].original_rank == 1 && s.configs[2].original_rank == 3);   /* 1 and 3 tie: trial order */
    vs_confirm_summary_free(&s);

    /* Seeds that separate: the same means with a tenth of the spread. */
    cJSON *tight = cJSON_CreateArray();
    double av[] = {0.389, 0.390, 0.391}, bv[] = {0.3695, 0.3700, 0.3705};
    for (int i = 0; i < 3; i++) {
        cJSON_AddItemToArray(tight, confirm_trial(2 * i, "COMPLETE", 0, i + 1, av[i], 0.3));
        cJSON_AddItemToArray(tight, confirm_trial(2 * i + 1, "COMPLETE", 2, i + 1, bv[i], 0.3));
    }
    cJSON_ReplaceItemInObject(sweep, "direction", cJSON_CreateString("maximize"));
    CHECK_OK(vs_confirm_summarize(sweep, source, tight, NULL, &s, &err), &err);
    CHECK(s.has_verdict && s.separated && s.configs[0].number == 0);
    vs_confirm_summary_free(&s);
    cJSON_Delete(tight);
    /* Two seeds each, 3 standard errors apart: more than 2, less than t at 2 degrees of
     * freedom (4.303): not separated. Means 0.39 and 0.37, sds 0.0066 (se 0.0066). */
    cJSON *two = cJSON_CreateArray();
    double d = 0.0066 / sqrt(2.0);   /* sd of {m - d, m + d} is d sqrt 2 */
    cJSON_AddItemToArray(two, confirm_trial(0, "COMPLETE", 0, 1, 0.39 - d, 0.3));
    cJSON_AddItemToArray(two, confirm_trial(1, "COMPLETE", 0, 2, 0.39 + d, 0.3));
    cJSON_AddItemToArray(two, confirm_trial(2, "COMPLETE", 2, 1, 0.37 - d, 0.3));
    cJSON_AddItemToArray(two, confirm_trial(3, "COMPLETE", 2, 2, 0.37 + d, 0.3));
    CHECK_OK(vs_confirm_summarize(sweep, source, two, NULL, &s, &err), &err);
    CHECK(s.has_verdict && !s.separated && s.gap > 2 * s.gap_se && s.gap < 4.303 * s.gap_se);
    CHECK_NEAR(s.df, 2, 1e-9);
    vs_confirm_summary_free(&s);
    cJSON_Delete(two);
    /* The table's ends. */
    CHECK(vs_confirm_t_needed(1) == 12.706 && vs_confirm_t_needed(1.9) == 12.706 && vs_confirm_t_needed(30) == 2.042);
    CHECK(vs_confirm_t_needed(0.2) == 12.706 && vs_confirm_t_needed(1e12) == 1.960 && vs_confirm_t_needed(NAN) == 12.706);
    cJSON_Delete(c);
    cJSON_Delete(source);
    cJSON_Delete(sweep);
}

/* ---- results.db: the link and the trials ---- */

static const char *space_text(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"name\": \"%s\", \"dataset\": {\"synth\": \"small\"}, \"budget\": {\"trials\": 4},"
             " \"parameters\": {\"lr\": {\"type\": \"log_uniform\", \"low\": 0.0001, \"high\": 0.01},"
             " \"seed\": {\"type\": \"int\", \"low\": 0, \"high\": 9007199254740992}}}",
             name);
    return buf;
}

static void check_link(const char *tmp) {
    char path[1024];
    snprintf(path, sizeof path, "%s/confirm.db", tmp);
    unlink(path);
    vs_error err = {{0}};
    vs_db *db = NULL;
    vs_space a, b;
    int a_id = -1, b_id = -1, created, found = -1, id = -1;
    CHECK_OK(vs_space_parse(space_text("a"), "a.json", &a, &err), &err);
    CHECK_OK(vs_space_parse(space_text("a-confirm"), "b.json", &b, &err), &err);
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &a, &a_id, &created, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &b, &b_id, &created, &err), &err);
    /* Not linked yet: neither confirms the other; two sweeps to choose from. */
    CHECK(vs_db_find_confirmation(db, a_id, &id, &err) == 0);
    CHECK(vs_db_confirmation_source(db, b_id, &id, &err) == 0);
    CHECK(vs_db_find_sweep_to_confirm(db, NULL, &id, &err) == -1 && strstr(err.msg, "2 sweeps"));
    /* Only the owner links, and records trials. */
    CHECK(vs_db_link_confirmation(db, b_id, a_id, &err) == -1 && strstr(err.msg, "does not own"));
    double values[2] = {0.001, 98766};
    int trial_id, number;
    CHECK(vs_db_create_confirm_trial(db, b_id, &b, values, 3, 1, &trial_id, &number, &err) == -1);
    CHECK_OK(vs_db_claim_sweep(db, b_id, 30, &err), &err);
    CHECK(vs_db_link_confirmation(db, b_id, b_id, &err) == -1);
    CHECK_OK(vs_db_link_confirmation(db, b_id, a_id, &err), &err);
    CHECK(vs_db_find_confirmation(db, a_id, &found, &err) == 1 && found == b_id);
    CHECK(vs_db_confirmation_source(db, b_id, &found, &err) == 1 && found == a_id);
    CHECK(vs_db_find_confirmation(db, b_id, &found, &err) == 0);
    CHECK(vs_db_find_sweep_to_confirm(db, NULL, &id, &err) == 0 && id == a_id);
    CHECK_OK(vs_db_create_confirm_trial(db, b_id, &b, values, 3, 1, &trial_id, &number, &err), &err);
    CHECK(number == 0);
    cJSON *trials = vs_db_trials_json(db, b_id, -1, 0, &err);
    const cJSON *t = cJSON_GetArrayItem(trials, 0);
    int of = -1, index = -1;
    CHECK(t && vs_confirm_trial_link(trials, t, &of, &index) == 0 && of == 3 && index == 1);
    CHECK(t && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "state")), "WAITING"));
    CHECK(t && cJSON_GetObjectItem(cJSON_GetObjectItem(t, "params"), "seed")->valuedouble == 98766);
    cJSON_Delete(trials);
    /* The link names the uid, so it outlives a rename of the sweep it confirms. */
    CHECK_OK(vs_db_release_sweep(db, b_id, &err), &err);
    CHECK_OK(vs_db_rename_sweep(db, a_id, "renamed", &err), &err);
    CHECK(vs_db_find_confirmation(db, a_id, &found, &err) == 1 && found == b_id);
    /* Deleted, the confirmed sweep leaves the confirmation linked to nothing. */
    CHECK_OK(vs_db_delete_sweep(db, a_id, &err), &err);
    CHECK(vs_db_confirmation_source(db, b_id, &found, &err) == 0);
    CHECK(vs_db_find_sweep_to_confirm(db, NULL, &id, &err) == -1 && strstr(err.msg, "every sweep"));
    vs_db_close(db);
    vs_space_free(&a);
    vs_space_free(&b);
}

int main(void) {
    const char *tmp = getenv("VS_TEST_TMP");
    if (!tmp) tmp = "/tmp";
    mkdir(tmp, 0777);
    check_seeds();
    check_summary();
    check_link(tmp);
    return test_finish();
}
