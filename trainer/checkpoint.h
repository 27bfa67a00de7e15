/* checkpoint: the resumable training state, state.safetensors in the run folder: the
 * backend's parameters and Adam moments, the best weights so far, and the loop's
 * progress (step, best epoch, the current epoch's sums, the epoch lines so far, the loss
 * scaler) as JSON metadata, with the config and the dataset's sizes to refuse a state
 * that belongs to another run. */
#ifndef VS_CHECKPOINT_H
#define VS_CHECKPOINT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "metrics.h"
#include "common/vs_error.h"
#include "dataset/dataset.h"

/* Everything that must survive an interruption, beside the backend's tensors. */
typedef struct vs_train_progress {
    int64_t step;               /* optimisation steps done */
    int best_epoch;             /* 1-based; 0 = none yet */
    vs_metrics best_val;
    double epoch_neg_ll, epoch_kl, epoch_loss, epoch_seconds;   /* sums over the current epoch */
    int64_t epoch_rows;
    double train_seconds;       /* all epochs so far */
    int64_t train_rows;
    cJSON *history;             /* the epoch lines so far, printed again on resume */
} vs_train_progress;

/* Writes the backend's state, best_params and p to path. */
int vs_checkpoint_save(const char *path, vs_backend *b, const float *best_params, const vs_train_progress *p,
                       const vs_dataset *ds, vs_error *err);

/* Loads a state into the backend, best_params and p (whose history it replaces);
 * refuses a state made with another config (apart from the number of epochs) or
 * another dataset. */
int vs_checkpoint_load(const char *path, vs_backend *b, float *best_params, vs_train_progress *p,
                       const vs_dataset *ds, vs_error *err);

#endif
