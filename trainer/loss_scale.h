/* loss_scale: dynamic loss scaling for fp16 training (Micikevicius et al. 2018, as
 * NVIDIA's VAE-CF and PyTorch's GradScaler do it). The backward pass runs on
 * loss * scale; the backend checks the gradients for inf or NaN and tells the scaler,
 * which decides whether the step is applied (gradients divided by the scale) or
 * skipped, and how the scale moves: multiplied by `backoff` on an overflow, by `growth`
 * after `growth_interval` finite steps in a row. The state is saved with the trainer's. */
#ifndef VS_LOSS_SCALE_H
#define VS_LOSS_SCALE_H

#include <stdint.h>

#include "config.h"

typedef struct vs_loss_scaler {
    double scale;
    int growth_interval;
    double growth, backoff;
    int good_steps;            /* finite steps since the last change */
    int64_t skipped_steps;     /* steps skipped for an overflow, over the whole run */
} vs_loss_scaler;

void vs_loss_scaler_init(vs_loss_scaler *s, const vs_config *c);
/* After a backward pass at the current scale: returns 1 to apply the step (its
 * gradients divided by the scale the backward pass used), 0 to skip it. */
int vs_loss_scaler_update(vs_loss_scaler *s, int found_inf);

#endif
