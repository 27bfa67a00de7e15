/* test_pruner: the median and ASHA pruners (pruner.h) on hand-made curves: the median's
 * warm-up, start-up count, both directions, an even count's median, missing epochs; ASHA's
 * rung epochs, the kept fraction max(1, floor(count / eta)), ties, and NaN values; both
 * with eval_every 3 (decisions only at validated epochs, rungs at the first validated
 * epoch at or after them). */
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

/* A decision for a trial that validates every epoch. */
static int every_epoch(const vs_space *s, int epoch, double value, const vs_curve *refs, int n) {
    return vs_pruner_should_prune(s, epoch - 1, epoch, value, refs, n);
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

    CHECK(every_epoch(&s, 3, 0.25, refs, n) == 1);   /* below the median */
    CHECK(every_epoch(&s, 3, 0.35, refs, n) == 0);   /* above */
    CHECK(every_epoch(&s, 3, 0.30, refs, n) == 0);   /* equal is not worse */
    /* Warm-up: epochs before pruner_warmup_epochs (2) are never judged (Optuna's
     * n_warmup_steps, with step = epoch). */
    CHECK(every_epoch(&s, 1, 0.0, refs, n) == 0);
    CHECK(every_epoch(&s, 2, 0.0, refs, n) == 1);
    CHECK(every_epoch(&s, 3, 0.0, refs, n) == 1);
    s.pruner_warmup_epochs = 0;
    CHECK(every_epoch(&s, 1, 0.0, refs, n) == 1);
    s.pruner_warmup_epochs = 2;
    /* Start-up: fewer than 3 reference values at this epoch: no judgement. */
    CHECK(every_epoch(&s, 3, 0.0, refs, 2) == 0);
    CHECK(every_epoch(&s, 3, 0.0, refs, 3) == 1);   /* median of 0.1, 0.2, 0.3 */
    CHECK(every_epoch(&s, 3, 0.21, refs, 3) == 0);
    CHECK(every_epoch(&s, 3, 0.0, NULL, 0) == 0);

    /* Only curves with a value at this epoch count: the 10-epoch curves have none at 11,
     * and a NaN (an epoch not evaluated) is no value either. */
    CHECK(every_epoch(&s, 11, 0.0, refs, n) == 0);
    curve_store[0][3] = NAN, curve_store[1][3] = NAN, curve_store[2][3] = NAN;   /* epoch 4: 0.4, 0.5 left */
    CHECK(every_epoch(&s, 4, 0.0, refs, n) == 0);
    s.pruner_startup_trials = 2;
    CHECK(every_epoch(&s, 4, 0.44, refs, n) == 1);   /* median of 0.4, 0.5 is 0.45 */
    CHECK(every_epoch(&s, 4, 0.46, refs, n) == 0);
    s.pruner_startup_trials = 3;

    /* An even count: the mean of the two middle values. */
    const double four[] = {0.4, 0.1, 0.3, 0.2};   /* median 0.25, given unsorted */
    n = flat_curves(refs, four, 4, 10);
    CHECK(every_epoch(&s, 5, 0.24, refs, n) == 1);
    CHECK(every_epoch(&s, 5, 0.26, refs, n) == 0);

    /* Minimizing: worse is above the median. */
    vs_space smin = pruner_space(VS_PRUNER_MEDIAN, 0);
    CHECK(every_epoch(&smin, 5, 0.26, refs, n) == 1);
    CHECK(every_epoch(&smin, 5, 0.24, refs, n) == 0);
    CHECK(every_epoch(&smin, 1, 0.99, refs, n) == 0);   /* warm-up */

    /* NaN: pruned once past the warm-up, whatever the references. */
    CHECK(every_epoch(&s, 3, NAN, refs, n) == 1);
    CHECK(every_epoch(&s, 3, NAN, NULL, 0) == 1);
    CHECK(every_epoch(&s, 1, NAN, refs, n) == 0);
    /* Infinite values are ordinary values. */
    CHECK(every_epoch(&s, 5, -INFINITY, refs, n) == 1);
    CHECK(every_epoch(&smin, 5, INFINITY, refs, n) == 1);
    CHECK(every_epoch(&s, 5, INFINITY, refs, n) == 0);

    /* No pruner: never. */
    vs_space none = pruner_space(VS_PRUNER_NONE, 1);
    CHECK(every_epoch(&none, 5, -1.0, refs, n) == 0);
    CHECK(every_epoch(&none, 5, NAN, refs, n) == 0);
}

static void test_asha(void) {
    vs_space s = pruner_space(VS_PRUNER_ASHA, 1);   /* min 1, eta 3: rungs 1, 3, 9, 27 */
    vs_curve refs[MAX_CURVES];
    const double eight[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    int n = flat_curves(refs, eight, 8, 30);

    /* 8 references + this trial = 9 competing: keep the top 3, i.e. at least as good as
     * the third best (0.6 when this trial is not among the best two). */
    CHECK(every_epoch(&s, 3, 0.65, refs, n) == 0);
    CHECK(every_epoch(&s, 3, 0.60, refs, n) == 0);   /* a tie with the third */
    CHECK(every_epoch(&s, 3, 0.55, refs, n) == 1);
    CHECK(every_epoch(&s, 9, 0.55, refs, n) == 1);
    CHECK(every_epoch(&s, 27, 0.55, refs, n) == 1);
    CHECK(every_epoch(&s, 1, 0.55, refs, n) == 1);
    /* Between rungs nothing is judged, however bad. */
    const int not_rungs[] = {2, 4, 5, 6, 8, 10, 26, 28};
    for (int i = 0; i < 8; i++)
        CHECK_MSG(every_epoch(&s, not_rungs[i], 0.0, refs, n) == 0, "epoch %d", not_rungs[i]);

    /* Few competitors: keep max(1, floor(count / eta)). Alone: continue; one reference:
     * only as good as it; 5 references (6 competing): the top 2. */
    CHECK(every_epoch(&s, 3, 0.0, NULL, 0) == 0);
    CHECK(every_epoch(&s, 3, 0.09, refs, 1) == 1);
    CHECK(every_epoch(&s, 3, 0.10, refs, 1) == 0);
    CHECK(every_epoch(&s, 3, 0.45, refs, 5) == 0);   /* 0.1..0.5: second best */
    CHECK(every_epoch(&s, 3, 0.35, refs, 5) == 1);   /* third */

    /* Another first rung and factor: min 2, eta 2: rungs 2, 4, 8, 16. */
    s.asha_min_epochs = 2;
    s.asha_reduction_factor = 2;
    CHECK(every_epoch(&s, 1, 0.0, refs, n) == 0);
    CHECK(every_epoch(&s, 6, 0.0, refs, n) == 0);
    CHECK(every_epoch(&s, 3, 0.0, refs, n) == 0);
    /* 9 competing, keep 4: at least the 4th best, 0.5. */
    CHECK(every_epoch(&s, 8, 0.5, refs, n) == 0);
    CHECK(every_epoch(&s, 8, 0.49, refs, n) == 1);
    CHECK(every_epoch(&s, 16, 0.49, refs, n) == 1);

    /* Only references that validated an epoch at or after the rung compete. */
    s.asha_min_epochs = 1;
    s.asha_reduction_factor = 3;
    for (int i = 0; i < 6; i++)
        for (int e = 8; e < CURVE_EPOCHS; e++) curve_store[i][e] = NAN;   /* from epoch 9: only 0.7, 0.8 */
    CHECK(every_epoch(&s, 9, 0.65, refs, n) == 1);   /* 3 competing: keep 1 */
    CHECK(every_epoch(&s, 9, 0.85, refs, n) == 0);
    CHECK(every_epoch(&s, 30, 0.0, refs, n) == 0);   /* beyond every curve, not a rung */

    /* Minimizing: the smallest are the best. */
    vs_space smin = pruner_space(VS_PRUNER_ASHA, 0);
    n = flat_curves(refs, eight, 8, 30);
    CHECK(every_epoch(&smin, 3, 0.3, refs, n) == 0);
    CHECK(every_epoch(&smin, 3, 0.35, refs, n) == 1);

    /* NaN: pruned at a rung, ignored between rungs. */
    CHECK(every_epoch(&s, 3, NAN, refs, n) == 1);
    CHECK(every_epoch(&s, 3, NAN, NULL, 0) == 1);
    CHECK(every_epoch(&s, 4, NAN, refs, n) == 0);

    /* A factor below 2 has no rungs to halve at: never prunes. */
    s.asha_reduction_factor = 1;
    CHECK(every_epoch(&s, 1, 0.0, refs, n) == 0);
}

/* Curves validated every `every` epochs and after the last (NaN between), the value at
 * epoch e being level[i] + slope * e. */
static int sparse_curves(vs_curve *out, const double *level, int n, int n_epochs, int every, double slope) {
    for (int i = 0; i < n; i++) {
        for (int e = 1; e <= CURVE_EPOCHS; e++)
            curve_store[i][e - 1] = e <= n_epochs && (e % every == 0 || e == n_epochs) ? level[i] + slope * e : NAN;
        out[i] = (vs_curve){n_epochs, curve_store[i]};
    }
    return n;
}

/* eval_every 3: the scheduler asks only at validated epochs (3, 6, 9, ...), passing the
 * previous one. The median compares with the references' values at that same epoch;
 * ASHA judges each rung at the first validated epoch at or after it. */
static void test_eval_every(void) {
    vs_curve refs[MAX_CURVES];
    const double five[] = {0.1, 0.2, 0.3, 0.4, 0.5};
    /* Epochs 3, 6, 9, 10 validated; +0.4 every 3 epochs: median 0.7 at epoch 3, 1.1 at 6. */
    int n = sparse_curves(refs, five, 5, 10, 3, 0.4 / 3);

    vs_space s = pruner_space(VS_PRUNER_MEDIAN, 1);
    s.pruner_warmup_epochs = 4;
    CHECK(vs_pruner_should_prune(&s, 0, 3, 0.0, refs, n) == 0);    /* epoch 3 < warm-up 4 */
    CHECK(vs_pruner_should_prune(&s, 3, 6, 1.05, refs, n) == 1);   /* below epoch 6's median 1.1 */
    CHECK(vs_pruner_should_prune(&s, 3, 6, 1.15, refs, n) == 0);
    s.pruner_warmup_epochs = 2;
    CHECK(vs_pruner_should_prune(&s, 0, 3, 0.75, refs, n) == 0);   /* above epoch 3's median 0.7 */
    CHECK(vs_pruner_should_prune(&s, 0, 3, 0.65, refs, n) == 1);
    /* Epochs the references did not validate give no values: no judgement there. */
    CHECK(vs_pruner_should_prune(&s, 3, 4, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&s, 3, 5, 0.0, refs, n) == 0);
    /* The last epoch (10) is validated whatever eval_every: median 0.3 + 0.4 * 10 / 3. */
    CHECK(vs_pruner_should_prune(&s, 9, 10, 0.3 + 0.4 * 10 / 3 - 0.01, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&s, 9, 10, 0.3 + 0.4 * 10 / 3 + 0.01, refs, n) == 0);

    /* ASHA, min 2, eta 2: rungs 2, 4, 8, 16, judged at validated epochs 3, 6, 9, 18. */
    const double eight[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    n = sparse_curves(refs, eight, 8, 30, 3, 0.1 / 3);   /* +0.1 every 3 epochs */
    vs_space a = pruner_space(VS_PRUNER_ASHA, 1);
    a.asha_min_epochs = 2;
    a.asha_reduction_factor = 2;
    /* Rung 2 at epoch 3: the references' epoch-3 values 0.2..0.9; 9 competing, keep 4:
     * at least the 4th best, 0.6. */
    CHECK(vs_pruner_should_prune(&a, 0, 3, 0.6, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&a, 0, 3, 0.59, refs, n) == 1);
    /* Rung 4 at epoch 6: their epoch-6 values 0.3..1.0, the 4th best 0.7. */
    CHECK(vs_pruner_should_prune(&a, 3, 6, 0.7, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&a, 3, 6, 0.69, refs, n) == 1);
    /* Rung 8 at epoch 9 (epoch-9 values, 4th best 0.8); no rung in (9, 12] or (9, 15]. */
    CHECK(vs_pruner_should_prune(&a, 6, 9, 0.79, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&a, 9, 12, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&a, 12, 15, 0.0, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&a, 15, 18, 0.0, refs, n) == 1);   /* rung 16 */
    CHECK(vs_pruner_should_prune(&a, 15, 18, NAN, refs, n) == 1);
    CHECK(vs_pruner_should_prune(&a, 9, 12, NAN, refs, n) == 0);     /* no rung: not judged */
    /* A reference that validated every epoch competes at rung 4 with its epoch-4 value
     * (0.0), not its epoch-6 one (1.0): 3 references are better than 0.65, not 4. */
    for (int e = 1; e <= 30; e++) curve_store[7][e - 1] = e == 4 ? 0.0 : 1.0;
    CHECK(vs_pruner_should_prune(&a, 3, 6, 0.65, refs, n) == 0);
    CHECK(vs_pruner_should_prune(&a, 3, 6, 0.59, refs, n) == 1);

    /* Several rungs passed since the last validation are each judged, on the same value:
     * min 1, eta 3 (rungs 1, 3, 9) with a trial validating every 5 epochs; references that
     * validated every epoch, poor at epoch 1 and good from epoch 3. */
    vs_space b = pruner_space(VS_PRUNER_ASHA, 1);
    for (int i = 0; i < 3; i++) {
        for (int e = 1; e <= 30; e++) curve_store[i][e - 1] = e < 3 ? 0.0 : 0.9;
        refs[i] = (vs_curve){30, curve_store[i]};
    }
    CHECK(vs_pruner_should_prune(&b, 0, 5, 0.5, refs, 3) == 1);   /* rung 1 passed, rung 3 not */
    CHECK(vs_pruner_should_prune(&b, 0, 2, 0.5, refs, 3) == 0);   /* rung 1 alone */
    CHECK(vs_pruner_should_prune(&b, 3, 5, 0.5, refs, 3) == 0);   /* rungs 1 and 3 judged before */
    CHECK(vs_pruner_should_prune(&b, 5, 10, 0.95, refs, 3) == 0);  /* rung 9: the best */
}

int main(void) {
    test_median();
    test_asha();
    test_eval_every();
    return test_finish();
}
