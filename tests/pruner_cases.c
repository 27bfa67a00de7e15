/* pruner_cases: the pruners' decisions (orchestrator/pruner.h) on cases read from
 * stdin, one answer (0 or 1) a line, for tests/cli_pruner_optuna.sh, which asks Optuna's
 * pruners the same questions. A case is
 *   KIND MAXIMIZE A B N_REF EPOCHS     KIND 1 median (A start-up trials, B warm-up epochs),
 *                                      2 asha (A min_epochs, B reduction factor)
 *   N_REF lines of EPOCHS values       the reference curves, "nan" where not validated
 *   PREVIOUS_EPOCH EPOCH VALUE         the question */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/pruner.h"

static int read_value(double *out) {
    char word[64];
    if (scanf("%63s", word) != 1) return -1;
    *out = strcmp(word, "nan") ? strtod(word, NULL) : NAN;
    return 0;
}

int main(void) {
    int kind, maximize, a, b, n_ref, n_epochs;
    while (scanf("%d %d %d %d %d %d", &kind, &maximize, &a, &b, &n_ref, &n_epochs) == 6) {
        if (kind < 1 || kind > 2 || n_ref < 0 || n_epochs < 1) {
            fprintf(stderr, "pruner_cases: bad case header\n");
            return 2;
        }
        vs_space s;
        memset(&s, 0, sizeof s);
        s.pruner = kind == 1 ? VS_PRUNER_MEDIAN : VS_PRUNER_ASHA;
        s.maximize = maximize;
        s.pruner_startup_trials = s.asha_min_epochs = a;
        s.pruner_warmup_epochs = s.asha_reduction_factor = b;
        double *values = calloc((size_t)n_ref * (size_t)n_epochs + 1, sizeof *values);
        vs_curve *refs = calloc((size_t)n_ref + 1, sizeof *refs);
        for (int i = 0; i < n_ref; i++) {
            for (int e = 0; e < n_epochs; e++)
                if (read_value(&values[(size_t)i * (size_t)n_epochs + (size_t)e])) return 2;
            refs[i] = (vs_curve){n_epochs, values + (size_t)i * (size_t)n_epochs};
        }
        int previous, epoch;
        double value;
        if (scanf("%d %d", &previous, &epoch) != 2 || read_value(&value)) return 2;
        printf("%d\n", vs_pruner_should_prune(&s, previous, epoch, value, refs, n_ref));
        free(values);
        free(refs);
    }
    return 0;
}
