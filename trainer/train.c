/* train: the backend-independent training loop, in its phases: open the run (folder,
 * lock, backend, a saved state), announce it, train an epoch, close the epoch
 * (its line, validation, the best model, a checkpoint), and finish (test metrics of the
 * best weights). */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "baseline.h"
#include "checkpoint.h"
#include "events.h"
#include "metrics.h"
#include "model_io.h"
#include "run_dir.h"
#include "common/pcg.h"

#define STATE_FILE "state.safetensors"
#define BEST_FILE "best.safetensors"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void vs_epoch_permutation(int32_t *perm, int64_t n, uint64_t seed, int64_t epoch) {
    for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    vs_pcg32 g = vs_stream(seed, VS_RNG_SHUFFLE, (uint64_t)epoch, 0);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = vs_pcg32_bounded(&g, (uint32_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void path_join(char *buf, size_t n, const char *dir, const char *file) {
    snprintf(buf, n, "%s/%s", dir, file);
}

/* One run of the loop. */
typedef struct train_run {
    const vs_dataset *ds;
    const vs_config *cfg;
    const vs_train_opts *o;
    vs_backend *b;
    int lock_fd;
    int64_t n_train, steps_per_epoch, total_steps;
    float *best_params;
    int32_t *perm;
    char state_path[4096], best_path[4096];
    vs_train_progress p;
    int resumed;
} train_run;

static void emit(const train_run *r, cJSON *event) { vs_event_emit(r->o->events, r->o->text, event); }

static int stop_requested(const train_run *r) { return r->o->stop && *r->o->stop; }

/* The run folder locked, the config written, the backend created, and its state loaded
 * from a saved one when resuming (else the initial weights are the best so far). */
static int run_open(train_run *r, vs_error *err) {
    const vs_config *cfg = r->cfg;
    if (vs_config_validate(cfg, err)) return -1;
    if (r->ds->train.rows < 1) return vs_errorf(err, "dataset has no training users");
    if (vs_run_dir_make(r->o->out_dir, err) || vs_run_dir_lock(r->o->out_dir, 120.0, &r->lock_fd, err) ||
        vs_run_dir_write_config(r->o->out_dir, cfg, err))
        return -1;
    r->b = vs_backend_create(r->o->device, cfg, &r->ds->train, r->ds->n_items, err);
    if (!r->b) return -1;
    r->n_train = r->ds->train.rows;
    r->steps_per_epoch = (r->n_train + cfg->batch_size - 1) / cfg->batch_size;
    r->total_steps = r->steps_per_epoch * cfg->epochs;
    r->best_params = vs_xalloc_aligned(r->b->shape.n_params * sizeof(float));
    r->perm = vs_xmalloc(sizeof(int32_t) * (size_t)r->n_train);
    path_join(r->state_path, sizeof r->state_path, r->o->out_dir, STATE_FILE);
    path_join(r->best_path, sizeof r->best_path, r->o->out_dir, BEST_FILE);
    r->p.history = cJSON_CreateArray();
    struct stat st;
    if (r->o->resume && stat(r->state_path, &st) == 0) {
        if (vs_checkpoint_load(r->state_path, r->b, r->best_params, &r->p, r->ds, err)) return -1;
        r->resumed = 1;
        return 0;
    }
    return r->b->ops->get_state(r->b, r->best_params, NULL, NULL, err);
}

/* The start line; a resumed run then prints the epochs done before again (marked
 * replayed), so that a reader that missed some (its orchestrator was killed) still gets
 * the whole curve. */
static void announce(train_run *r) {
    cJSON *start = cJSON_CreateObject();
    cJSON_AddStringToObject(start, "event", "start");
    cJSON_AddStringToObject(start, "device", r->b->ops->name);
    /* The GPUs this process was given (the orchestrator's groups), as it saw them. */
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (visible) cJSON_AddStringToObject(start, "cuda_visible_devices", visible);
    else cJSON_AddNullToObject(start, "cuda_visible_devices");
    cJSON_AddNumberToObject(start, "train_users", (double)r->n_train);
    cJSON_AddNumberToObject(start, "items", (double)r->ds->n_items);
    cJSON_AddNumberToObject(start, "parameters", (double)r->b->shape.n_params);
    cJSON_AddNumberToObject(start, "steps_per_epoch", (double)r->steps_per_epoch);
    if (r->resumed) cJSON_AddNumberToObject(start, "resumed_at_step", (double)r->p.step);
    vs_metrics pop;
    vs_popularity_metrics(r->ds, &r->ds->val_in, &r->ds->val_out, &pop);
    cJSON_AddItemToObject(start, "popularity_val", vs_metrics_json(&pop));
    cJSON_AddItemToObject(start, "config", vs_config_to_json(r->cfg));
    emit(r, start);
    for (const cJSON *h = r->p.history->child; h; h = h->next) {
        cJSON *again = cJSON_Duplicate(h, 1);
        cJSON_AddBoolToObject(again, "replayed", 1);
        emit(r, again);
    }
}

/* The rest of the current epoch's steps. 1 when a stop request ended it early (the state
 * is saved), 0 at its end, -1 on failure. */
static int train_epoch(train_run *r, vs_error *err) {
    const vs_config *cfg = r->cfg;
    vs_train_progress *p = &r->p;
    int64_t epoch = p->step / r->steps_per_epoch;
    vs_epoch_permutation(r->perm, r->n_train, cfg->seed, epoch);
    double t0 = now_seconds();
    for (int64_t k = p->step % r->steps_per_epoch; k < r->steps_per_epoch; k++) {
        int64_t r0 = k * cfg->batch_size;
        int rows = (int)(r->n_train - r0 < cfg->batch_size ? r->n_train - r0 : cfg->batch_size);
        double beta = vs_config_beta(cfg, p->step);
        vs_step_losses l;
        if (r->b->ops->train_step(r->b, r->perm + r0, rows, p->step, beta, &l, err)) return -1;
        if (!isfinite(l.loss))
            return vs_errorf(err, "loss is %g at step %lld (epoch %lld): training diverged", l.loss,
                             (long long)p->step, (long long)epoch + 1);
        p->epoch_neg_ll += l.neg_ll * rows;
        p->epoch_kl += l.kl * rows;
        p->epoch_loss += l.loss * rows;
        p->epoch_rows += rows;
        p->step++;
        if (stop_requested(r) && p->step % r->steps_per_epoch) {
            p->epoch_seconds += now_seconds() - t0;
            if (vs_checkpoint_save(r->state_path, r->b, r->best_params, p, r->ds, err)) return -1;
            return 1;
        }
    }
    p->epoch_seconds += now_seconds() - t0;
    return 0;
}

/* Validation at the epochs eval_every names (and the last): the metrics go into ev, and
 * a new best is saved as the model. */
static int validate(train_run *r, int done_epochs, cJSON *ev, vs_error *err) {
    vs_metrics val;
    double te = now_seconds();
    vs_metric_sums sums = {0};
    if (r->b->ops->evaluate(r->b, &r->ds->val_in, &r->ds->val_out, &sums, err)) return -1;
    vs_metrics_finish(&sums, &val);
    cJSON_AddItemToObject(ev, "val", vs_metrics_json(&val));
    cJSON_AddNumberToObject(ev, "eval_seconds", now_seconds() - te);
    if (r->p.best_epoch == 0 || val.ndcg100 > r->p.best_val.ndcg100) {
        r->p.best_epoch = done_epochs;
        r->p.best_val = val;
        if (r->b->ops->get_state(r->b, r->best_params, NULL, NULL, err) ||
            vs_model_save(r->best_path, &r->b->shape, r->best_params, r->cfg, &r->ds->item_ids, done_epochs,
                          val.ndcg100, err))
            return -1;
        cJSON_AddBoolToObject(ev, "best", 1);
    }
    return 0;
}

/* The end of an epoch: its line (with validation when due), and a checkpoint when due or
 * when stopping. 1 when the run stops here, 0 to go on, -1 on failure. */
static int close_epoch(train_run *r, vs_error *err) {
    const vs_config *cfg = r->cfg;
    vs_train_progress *p = &r->p;
    double dt = p->epoch_seconds;
    p->train_seconds += dt;
    p->train_rows += p->epoch_rows;
    int done_epochs = (int)((p->step - 1) / r->steps_per_epoch + 1);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "epoch");
    cJSON_AddNumberToObject(ev, "epoch", done_epochs);
    cJSON_AddNumberToObject(ev, "step", (double)p->step);
    cJSON_AddNumberToObject(ev, "loss", p->epoch_loss / (double)p->epoch_rows);
    cJSON_AddNumberToObject(ev, "neg_ll", p->epoch_neg_ll / (double)p->epoch_rows);
    cJSON_AddNumberToObject(ev, "kl", p->epoch_kl / (double)p->epoch_rows);
    cJSON_AddNumberToObject(ev, "beta", vs_config_beta(cfg, p->step - 1));
    cJSON_AddNumberToObject(ev, "users_per_s", (double)p->epoch_rows / dt);
    const vs_loss_scaler *scaler = r->b->ops->loss_scaler(r->b);
    if (scaler) {
        cJSON_AddNumberToObject(ev, "loss_scale", scaler->scale);
        cJSON_AddNumberToObject(ev, "skipped_steps", (double)scaler->skipped_steps);
    }
    cJSON_AddNumberToObject(ev, "seconds", dt);
    p->epoch_neg_ll = p->epoch_kl = p->epoch_loss = p->epoch_seconds = 0;
    p->epoch_rows = 0;
    if ((done_epochs % cfg->eval_every == 0 || done_epochs == cfg->epochs) && validate(r, done_epochs, ev, err)) {
        cJSON_Delete(ev);
        return -1;
    }
    cJSON_AddItemToArray(p->history, cJSON_Duplicate(ev, 1));
    emit(r, ev);
    int stop = stop_requested(r) ||
               (r->o->stop_after_epochs && done_epochs == r->o->stop_after_epochs && p->step < r->total_steps);
    if (stop || p->step == r->total_steps || (cfg->checkpoint_every && done_epochs % cfg->checkpoint_every == 0)) {
        if (vs_checkpoint_save(r->state_path, r->b, r->best_params, p, r->ds, err)) return -1;
    }
    return stop;
}

/* Test metrics once, with the best validation weights, and the done line. */
static int finish(train_run *r, vs_error *err) {
    if (r->b->ops->set_state(r->b, r->best_params, NULL, NULL, err)) return -1;
    vs_metric_sums sums = {0};
    vs_metrics test;
    if (r->b->ops->evaluate(r->b, &r->ds->test_in, &r->ds->test_out, &sums, err)) return -1;
    vs_metrics_finish(&sums, &test);
    const vs_train_progress *p = &r->p;
    cJSON *done = cJSON_CreateObject();
    cJSON_AddStringToObject(done, "event", "done");
    cJSON_AddNumberToObject(done, "best_epoch", p->best_epoch);
    cJSON_AddItemToObject(done, "val", vs_metrics_json(&p->best_val));
    cJSON_AddItemToObject(done, "test", vs_metrics_json(&test));
    cJSON_AddNumberToObject(done, "train_users_per_s", p->train_seconds > 0 ? (double)p->train_rows / p->train_seconds : 0);
    cJSON_AddNumberToObject(done, "steps", (double)p->step);
    cJSON_AddStringToObject(done, "model", r->best_path);
    emit(r, done);
    return 0;
}

static void announce_stopped(train_run *r) {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "stopped");
    cJSON_AddNumberToObject(ev, "step", (double)r->p.step);
    cJSON_AddStringToObject(ev, "state", r->state_path);
    emit(r, ev);
}

static void run_close(train_run *r) {
    cJSON_Delete(r->p.history);
    free(r->best_params);
    free(r->perm);
    vs_backend_destroy(r->b);
    if (r->lock_fd >= 0) close(r->lock_fd);
}

int vs_train_run(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_error *err) {
    train_run r = {.ds = ds, .cfg = cfg, .o = o, .lock_fd = -1};
    int result = VS_TRAIN_FAILED;
    if (run_open(&r, err) == 0) {
        announce(&r);
        int stopped = 0;
        while (!stopped && r.p.step < r.total_steps) {
            stopped = train_epoch(&r, err);
            if (stopped == 0) stopped = close_epoch(&r, err);
        }
        if (stopped < 0) {
            result = VS_TRAIN_FAILED;
        } else if (stopped) {
            announce_stopped(&r);
            result = VS_TRAIN_STOPPED;
        } else {
            result = finish(&r, err) ? VS_TRAIN_FAILED : VS_TRAIN_DONE;
        }
    }
    run_close(&r);
    return result;
}
