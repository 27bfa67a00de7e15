/* loss_scale: the dynamic loss scaler's state machine. */
#include "loss_scale.h"

#include <float.h>

void vs_loss_scaler_init(vs_loss_scaler *s, const vs_config *c) {
    s->scale = c->loss_scale;
    s->growth_interval = c->loss_scale_growth_interval;
    s->growth = c->loss_scale_growth;
    s->backoff = c->loss_scale_backoff;
    s->good_steps = 0;
    s->skipped_steps = 0;
}

int vs_loss_scaler_update(vs_loss_scaler *s, int found_inf) {
    if (found_inf) {
        s->scale *= s->backoff;
        if (s->scale < FLT_MIN) s->scale = FLT_MIN;   /* stays a normal float: the unscale stays finite */
        s->good_steps = 0;
        s->skipped_steps++;
        return 0;
    }
    if (++s->good_steps >= s->growth_interval) {
        /* fp16's largest value is 65504: a scale past float's range would only overflow */
        if (s->scale * s->growth <= FLT_MAX) s->scale *= s->growth;
        s->good_steps = 0;
    }
    return 1;
}
