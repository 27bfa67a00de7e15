/* test_pruner: the median and ASHA pruners (pruner.h) on hand-made curves: the median's
 * warm-up, start-up count, both directions, an even count's median, missing epochs; ASHA's
 * rung epochs, the kept fraction max(1, floor(count / eta)), ties, and NaN values. */
#include <math.h>
#include <string.h>

#include "test.h"
#include "orchestrator/pruner.h"

static vs_space pruner_space(vs_pruner_kind kind, int maximize) {
    vs_space s;
    memset(&s, 0, sizeof s);
    s.pruner = kind;
    s.maximize = maximize;
    s.pruner_startup_trials = 3;
    s.pruner_warmup_epochs = 2;
    s.asha_min_epochs = 1;
    s.asha_reduction_factor = 3;
    return s;
}

/* Curves whose value after every epoch is the same constant, one per entry of level. */
enum { MAX_CURVES = 16, CURVE_EPOCHS = 30 };
static double curve_store[MAX_CURVES][CURVE_EPOCHS];

static int flat_curves(vs_curve *out, const double *level, int n, int n_epochs) {
    for (int i = 0; i < n; i++) {
        for (int e = 0; e < CURVE_EPOCHS; e++) curve_store[i][e] = level[i];
        out[i] = (vs_curve){n_epochs, curve_store[i]};
    }
    return n;
}

static void test_median(void) {
    vs_space s = pruner_space(VS_PRUNER_MEDIAN, 1);
    vs_curve refs[MAX_CURVES];
    const double five[] = {0.1, 0.2, 0.3, 0.4, 0.5};   /* median 0.3 */
    int n = flat_curves(refs, five, 5, 10);

    CHECK(vs_pruner_should_prune(&s, 3, 0.25, refs, n) == 1);   /* below the median */
    CHECK(vs_pruner_should_prune(&s, 3, 0.35, refs, n) == 0);   /* above */
    CHECK(vs_pruner_should_prune(&s, 3, 0.30, refs, n) == 0);   /* equal is not worse */
    /* Warm-up: epochs before pruner_warmup_epochs (2) are never judged (Optuna's
     * n_warmup_steps, with step = epoch). */
    CHECK(vs_pruner_should_prune(&s, 1, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 2, 0.0, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, refs, n) == 1);
    s.pruner_warmup_epochs = 0;
    CHECK(vs_pruner_should_prune(&s, 1, 0.0, refs, n) == 1);
    s.pruner_warmup_epochs = 2;
    /* Start-up: fewer than 3 reference values at this epoch: no judgement. */
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, refs, 2) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, refs, 3) == 1);   /* median of 0.1, 0.2, 0.3 */
    CHECK(vs_pruner_should_prune(&s, 3, 0.21, refs, 3) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, NULL, 0) == 0);

    /* Only curves with a value at this epoch count: the 10-epoch curves have none at 11,
     * and a NaN (an epoch not evaluated) is no value either. */
    CHECK(vs_pruner_should_prune(&s, 11, 0.0, refs, n) == 0);
    curve_store[0][3] = NAN, curve_store[1][3] = NAN, curve_store[2][3] = NAN;   /* epoch 4: 0.4, 0.5 left */
    CHECK(vs_pruner_should_prune(&s, 4, 0.0, refs, n) == 0);
    s.pruner_startup_trials = 2;
    CHECK(vs_pruner_should_prune(&s, 4, 0.44, refs, n) == 1);   /* median of 0.4, 0.5 is 0.45 */
    CHECK(vs_pruner_should_prune(&s, 4, 0.46, refs, n) == 0);
    s.pruner_startup_trials = 3;

    /* An even count: the mean of the two middle values. */
    const double four[] = {0.4, 0.1, 0.3, 0.2};   /* median 0.25, given unsorted */
    n = flat_curves(refs, four, 4, 10);
    CHECK(vs_pruner_should_prune(&s, 5, 0.24, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 5, 0.26, refs, n) == 0);

    /* Minimizing: worse is above the median. */
    vs_space smin = pruner_space(VS_PRUNER_MEDIAN, 0);
    CHECK(vs_pruner_should_prune(&smin, 5, 0.26, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&smin, 5, 0.24, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&smin, 1, 0.99, refs, n) == 0);   /* warm-up */

    /* NaN: pruned once past the warm-up, whatever the references. */
    CHECK(vs_pruner_should_prune(&s, 3, NAN, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 3, NAN, NULL, 0) == 1);
    CHECK(vs_pruner_should_prune(&s, 1, NAN, refs, n) == 0);
    /* Infinite values are ordinary values. */
    CHECK(vs_pruner_should_prune(&s, 5, -INFINITY, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&smin, 5, INFINITY, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 5, INFINITY, refs, n) == 0);

    /* No pruner: never. */
    vs_space none = pruner_space(VS_PRUNER_NONE, 1);
    CHECK(vs_pruner_should_prune(&none, 5, -1.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&none, 5, NAN, refs, n) == 0);
}

static void test_asha(void) {
    vs_space s = pruner_space(VS_PRUNER_ASHA, 1);   /* min 1, eta 3: rungs 1, 3, 9, 27 */
    vs_curve refs[MAX_CURVES];
    const double eight[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    int n = flat_curves(refs, eight, 8, 30);

    /* 8 references + this trial = 9 competing: keep the top 3, i.e. at least as good as
     * the third best (0.6 when this trial is not among the best two). */
    CHECK(vs_pruner_should_prune(&s, 3, 0.65, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.60, refs, n) == 0);   /* a tie with the third */
    CHECK(vs_pruner_should_prune(&s, 3, 0.55, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 9, 0.55, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 27, 0.55, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 1, 0.55, refs, n) == 1);
    /* Between rungs nothing is judged, however bad. */
    const int not_rungs[] = {2, 4, 5, 6, 8, 10, 26, 28};
    for (int i = 0; i < 8; i++)
        CHECK_MSG(vs_pruner_should_prune(&s, not_rungs[i], 0.0, refs, n) == 0, "epoch %d", not_rungs[i]);

    /* Few competitors: keep max(1, floor(count / eta)). Alone: continue; one reference:
     * only as good as it; 5 references (6 competing): the top 2. */
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, NULL, 0) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.09, refs, 1) == 1);
    CHECK(vs_pruner_should_prune(&s, 3, 0.10, refs, 1) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.45, refs, 5) == 0);   /* 0.1..0.5: second best */
    CHECK(vs_pruner_should_prune(&s, 3, 0.35, refs, 5) == 1);   /* third */

    /* Another first rung and factor: min 2, eta 2: rungs 2, 4, 8, 16. */
    s.asha_min_epochs = 2;
    s.asha_reduction_factor = 2;
    CHECK(vs_pruner_should_prune(&s, 1, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 6, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 0.0, refs, n) == 0);
    /* 9 competing, keep 4: at least the 4th best, 0.5. */
    CHECK(vs_pruner_should_prune(&s, 8, 0.5, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 8, 0.49, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 16, 0.49, refs, n) == 1);

    /* Only references with a value at the rung compete. */
    s.asha_min_epochs = 1;
    s.asha_reduction_factor = 3;
    for (int i = 0; i < 6; i++) curve_store[i][8] = NAN;   /* epoch 9: only 0.7, 0.8 */
    CHECK(vs_pruner_should_prune(&s, 9, 0.65, refs, n) == 1);   /* 3 competing: keep 1 */
    CHECK(vs_pruner_should_prune(&s, 9, 0.85, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 30, 0.0, refs, n) == 0);   /* beyond every curve, not a rung */

    /* Minimizing: the smallest are the best. */
    vs_space smin = pruner_space(VS_PRUNER_ASHA, 0);
    n = flat_curves(refs, eight, 8, 30);
    CHECK(vs_pruner_should_prune(&smin, 3, 0.3, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&smin, 3, 0.35, refs, n) == 1);

    /* NaN: pruned at a rung, ignored between rungs. */
    CHECK(vs_pruner_should_prune(&s, 3, NAN, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 3, NAN, NULL, 0) == 1);
    CHECK(vs_pruner_should_prune(&s, 4, NAN, refs, n) == 0);

    /* A factor below 2 has no rungs to halve at: never prunes. */
    s.asha_reduction_factor = 1;
    CHECK(vs_pruner_should_prune(&s, 1, 0.0, refs, n) == 0);
}

int main(void) {
    test_median();
    test_asha();
    return test_finish();
}
