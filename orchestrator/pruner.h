/* pruner: whether a running trial should stop after an epoch, judged on the
 * validation metric per epoch against the COMPLETE trials of its reference set
 * (numbered < n - window, so the decision is the same in every run), as Optuna's
 * pruners judge (the scheduler passes the median pruner the trial's best value so far,
 * ASHA its value at the epoch). It is asked only at the epochs the trial validated
 * (every eval_every epochs, and the last):
 *   median: prune when the value is worse than the median of the reference trials'
 *           values at the same epoch (after warm-up epochs, with enough reference trials);
 *   asha:   successive halving: at the first validated epoch at or after each rung epoch
 *           min_epochs * eta^k, continue only when the value is in the top 1/eta of the
 *           reference trials' values at that rung (each at its own first validated epoch
 *           at or after it). */
#ifndef VS_PRUNER_H
#define VS_PRUNER_H

#include "space/space.h"

typedef struct vs_curve {
    int n_epochs;              /* values[e - 1] is the value after epoch e */
    const double *values;      /* NAN where that epoch was not evaluated */
} vs_curve;

/* 1 to prune, 0 to continue. `value` is the trial's metric after `epoch` (1-based), the
 * first epoch it validated after `previous_epoch` (0 when it validated none before):
 * ASHA judges the rungs in (previous_epoch, epoch]. */
int vs_pruner_should_prune(const vs_space *s, int previous_epoch, int epoch, double value, const vs_curve *reference,
                           int n_reference);

#endif
