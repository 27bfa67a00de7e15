/* train: the backend-independent training loop, checkpoints and JSON-lines events. */
#include "train.h"
#include "common/json_exact.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "baseline.h"
#include "metrics.h"
#include "model_io.h"
#include "common/pcg.h"
#include "safetensors.h"

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

static double num(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : 0;
}

static void print_metrics(FILE *f, const char *label, const cJSON *m) {
    fprintf(f, "%s NDCG@100 %.4f  Recall@20 %.4f  Recall@50 %.4f", label, num(m, "ndcg@100"), num(m, "recall@20"),
            num(m, "recall@50"));
}

/* The same events as one line of text each, for people at a terminal. */
static void print_text(FILE *f, const cJSON *ev) {
    const char *kind = cJSON_GetObjectItemCaseSensitive(ev, "event")->valuestring;
    if (!strcmp(kind, "start")) {
        fprintf(f, "training on %s: %.0f users, %.0f items, %.0f parameters, %.0f steps an epoch%s\n",
                cJSON_GetObjectItemCaseSensitive(ev, "device")->valuestring, num(ev, "train_users"), num(ev, "items"),
                num(ev, "parameters"), num(ev, "steps_per_epoch"),
                cJSON_GetObjectItemCaseSensitive(ev, "resumed_at_step") ? " (resumed)" : "");
        print_metrics(f, "popularity baseline: validation", cJSON_GetObjectItemCaseSensitive(ev, "popularity_val"));
        fputc('\n', f);
    } else if (!strcmp(kind, "epoch")) {
        if (cJSON_GetObjectItemCaseSensitive(ev, "replayed")) fputs("(before) ", f);
        fprintf(f, "epoch %4.0f  loss %9.3f  kl %8.3f  beta %.4f  %9.0f users/s", num(ev, "epoch"), num(ev, "loss"),
                num(ev, "kl"), num(ev, "beta"), num(ev, "users_per_s"));
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(ev, "val");
        if (val) {
            fputs("  ", f);
            print_metrics(f, "val", val);
            if (cJSON_GetObjectItemCaseSensitive(ev, "best")) fputs("  (best)", f);
        }
        fputc('\n', f);
    } else if (!strcmp(kind, "done")) {
        fprintf(f, "done: best epoch %.0f\n", num(ev, "best_epoch"));
        print_metrics(f, "  validation", cJSON_GetObjectItemCaseSensitive(ev, "val"));
        fputc('\n', f);
        print_metrics(f, "  test      ", cJSON_GetObjectItemCaseSensitive(ev, "test"));
        fprintf(f, "\n  model %s; %.0f users/s in training\n",
                cJSON_GetObjectItemCaseSensitive(ev, "model")->valuestring, num(ev, "train_users_per_s"));
    } else if (!strcmp(kind, "stopped")) {
        fprintf(f, "stopped at step %.0f; state saved in %s (continue with --resume)\n", num(ev, "step"),
                cJSON_GetObjectItemCaseSensitive(ev, "state")->valuestring);
    }
}

static void emit(const vs_train_opts *o, cJSON *obj) {
    if (o->text) {
        print_text(o->events, obj);
    } else {
        char *s = vs_json_print_exact(obj);
        fprintf(o->events, "%s\n", s);
        free(s);
    }
    fflush(o->events);
    cJSON_Delete(obj);
}

static cJSON *metrics_json(const vs_metrics *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ndcg@100", m->ndcg100);
    cJSON_AddNumberToObject(o, "recall@20", m->recall20);
    cJSON_AddNumberToObject(o, "recall@50", m->recall50);
    cJSON_AddNumberToObject(o, "users", (double)m->users);
    return o;
}

static int evaluate(vs_backend *b, const vs_csr *in, const vs_csr *out, vs_metrics *m, vs_error *err) {
    vs_metric_sums sums = {0};
    if (b->ops->evaluate(b, in, out, &sums, err)) return -1;
    vs_metrics_finish(&sums, m);
    return 0;
}

static void path_join(char *buf, size_t n, const char *dir, const char *file) {
    snprintf(buf, n, "%s/%s", dir, file);
}

/* Everything that must survive an interruption, beside the backend's tensors. */
typedef struct train_progress {
    int64_t step;               /* optimisation steps done */
    int best_epoch;             /* 1-based; 0 = none yet */
    vs_metrics best_val;
    double epoch_neg_ll, epoch_kl, epoch_loss, epoch_seconds;   /* sums over the current epoch */
    int64_t epoch_rows;
    double train_seconds;       /* all epochs so far */
    int64_t train_rows;
    cJSON *history;             /* the epoch lines so far, printed again on resume */
} train_progress;

static int save_state(const char *path, vs_backend *b, const float *best_params, const train_progress *p,
                      const vs_dataset *ds, vs_error *err) {
    size_t n = b->shape.n_params;
    float *params = vs_xalloc_aligned(n * sizeof(float)), *m = vs_xalloc_aligned(n * sizeof(float)),
          *v = vs_xalloc_aligned(n * sizeof(float));
    int rc = b->ops->get_state(b, params, m, v, err);
    if (rc == 0) {
        vs_st_tensor t[4] = {
            {"params", VS_F32, 1, {(int64_t)n}, params},
            {"adam_m", VS_F32, 1, {(int64_t)n}, m},
            {"adam_v", VS_F32, 1, {(int64_t)n}, v},
            {"best_params", VS_F32, 1, {(int64_t)n}, best_params},
        };
        char *config = vs_config_to_text(&b->cfg);
        cJSON *prog = cJSON_CreateObject();
        cJSON_AddNumberToObject(prog, "step", (double)p->step);
        cJSON_AddNumberToObject(prog, "best_epoch", p->best_epoch);
        cJSON_AddItemToObject(prog, "best_val", metrics_json(&p->best_val));
        cJSON_AddNumberToObject(prog, "epoch_neg_ll", p->epoch_neg_ll);
        cJSON_AddNumberToObject(prog, "epoch_kl", p->epoch_kl);
        cJSON_AddNumberToObject(prog, "epoch_loss", p->epoch_loss);
        cJSON_AddNumberToObject(prog, "epoch_seconds", p->epoch_seconds);
        cJSON_AddNumberToObject(prog, "epoch_rows", (double)p->epoch_rows);
        cJSON_AddNumberToObject(prog, "train_seconds", p->train_seconds);
        cJSON_AddNumberToObject(prog, "train_rows", (double)p->train_rows);
        cJSON_AddItemToObject(prog, "history", cJSON_Duplicate(p->history, 1));
        cJSON_AddNumberToObject(prog, "n_items", (double)ds->n_items);
        cJSON_AddNumberToObject(prog, "train_users", (double)ds->train.rows);
        cJSON_AddNumberToObject(prog, "train_interactions", (double)vs_csr_nnz(&ds->train));
        const vs_loss_scaler *scaler = b->ops->loss_scaler(b);
        if (scaler) {
            cJSON_AddNumberToObject(prog, "loss_scale", scaler->scale);
            cJSON_AddNumberToObject(prog, "loss_scale_good_steps", scaler->good_steps);
            cJSON_AddNumberToObject(prog, "skipped_steps", (double)scaler->skipped_steps);
        }
        char *progress = vs_json_print_exact(prog);
        cJSON_Delete(prog);
        const char *meta[][2] = {{"format", "vaesearch-state"}, {"version", "1"}, {"config", config},
                                 {"progress", progress}};
        rc = vs_st_write(path, t, 4, meta, 4, err);
        free(config);
        free(progress);
    }
    free(params);
    free(m);
    free(v);
    return rc;
}

static double json_number(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

/* Loads a state into the backend and p; refuses a state made with another config
 * (apart from the number of epochs) or another dataset. */
static int load_state(const char *path, vs_backend *b, float *best_params, train_progress *p,
                      const vs_dataset *ds, vs_error *err) {
    vs_st_file f;
    if (vs_st_read(path, &f, err)) return -1;
    int rc = -1;
    cJSON *prog = NULL, *saved_cfg = NULL, *cur_cfg = NULL;
    const char *format = vs_st_meta(&f, "format"), *config = vs_st_meta(&f, "config"),
               *progress = vs_st_meta(&f, "progress");
    if (!format || strcmp(format, "vaesearch-state") || !config || !progress) {
        vs_errorf(err, "%s: not a vaesearch training state", path);
        goto done;
    }
    saved_cfg = cJSON_Parse(config);
    cur_cfg = vs_config_to_json(&b->cfg);
    if (!saved_cfg) {
        vs_errorf(err, "%s: unreadable config in state", path);
        goto done;
    }
    for (const cJSON *k = cur_cfg->child; k; k = k->next) {
        if (!strcmp(k->string, "epochs")) continue;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(saved_cfg, k->string);
        if (!s || !cJSON_Compare(s, k, 1)) {
            vs_errorf(err, "%s: the state was saved with a different '%s'; resume with the same config", path,
                      k->string);
            goto done;
        }
    }
    prog = cJSON_Parse(progress);
    if (!prog || json_number(prog, "n_items") != (double)ds->n_items ||
        json_number(prog, "train_users") != (double)ds->train.rows ||
        json_number(prog, "train_interactions") != (double)vs_csr_nnz(&ds->train)) {
        vs_errorf(err, "%s: the state was saved for another dataset", path);
        goto done;
    }
    size_t n = b->shape.n_params;
    const char *names[4] = {"params", "adam_m", "adam_v", "best_params"};
    const float *data[4];
    for (int i = 0; i < 4; i++) {
        const vs_st_tensor *t = vs_st_find(&f, names[i]);
        if (!t || t->dtype != VS_F32 || t->ndim != 1 || t->shape[0] != (int64_t)n) {
            vs_errorf(err, "%s: tensor '%s' missing or of the wrong shape", path, names[i]);
            goto done;
        }
        data[i] = t->data;
    }
    if (b->ops->set_state(b, data[0], data[1], data[2], err)) goto done;
    memcpy(best_params, data[3], n * sizeof(float));
    cJSON *keep_history = p->history;
    memset(p, 0, sizeof *p);
    p->history = keep_history;
    p->step = (int64_t)json_number(prog, "step");
    p->best_epoch = (int)json_number(prog, "best_epoch");
    const cJSON *bv = cJSON_GetObjectItemCaseSensitive(prog, "best_val");
    p->best_val.ndcg100 = json_number(bv, "ndcg@100");
    p->best_val.recall20 = json_number(bv, "recall@20");
    p->best_val.recall50 = json_number(bv, "recall@50");
    p->best_val.users = (int64_t)json_number(bv, "users");
    p->epoch_neg_ll = json_number(prog, "epoch_neg_ll");
    p->epoch_kl = json_number(prog, "epoch_kl");
    p->epoch_loss = json_number(prog, "epoch_loss");
    p->epoch_seconds = json_number(prog, "epoch_seconds");
    p->epoch_rows = (int64_t)json_number(prog, "epoch_rows");
    p->train_seconds = json_number(prog, "train_seconds");
    p->train_rows = (int64_t)json_number(prog, "train_rows");
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(prog, "history");
    cJSON_Delete(p->history);
    p->history = cJSON_IsArray(history) ? cJSON_Duplicate(history, 1) : cJSON_CreateArray();
    vs_loss_scaler *scaler = b->ops->loss_scaler(b);
    if (scaler && !isnan(json_number(prog, "loss_scale"))) {
        scaler->scale = json_number(prog, "loss_scale");
        scaler->good_steps = (int)json_number(prog, "loss_scale_good_steps");
        scaler->skipped_steps = (int64_t)json_number(prog, "skipped_steps");
    }
    rc = 0;
done:
    cJSON_Delete(prog);
    cJSON_Delete(saved_cfg);
    cJSON_Delete(cur_cfg);
    vs_st_free(&f);
    return rc;
}

static int make_dir(const char *dir, vs_error *err) {
    if (mkdir(dir, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    return 0;
}

/* One trainer per run folder: an exclusive lock on DIR/lock, released by the kernel when
 * the process ends however it ends. A trainer still saving its state after a signal
 * holds it; a successor waits for it (up to wait_seconds) and then resumes that state. */
static int lock_run_dir(const char *dir, double wait_seconds, int *fd_out, vs_error *err) {
    char path[4096];
    path_join(path, sizeof path, dir, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return vs_errorf(err, "%s: %s", path, strerror(errno));
    double deadline = now_seconds() + wait_seconds;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || now_seconds() > deadline) {
            char holder[32] = "";
            ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
            holder[got > 0 ? got : 0] = 0;
            close(fd);
            return vs_errorf(err, "%s is in use by another vaecf-train (pid %s)", dir, holder[0] ? holder : "?");
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) { /* the pid is only informative */ }
    *fd_out = fd;
    return 0;
}

static int write_config(const char *dir, const vs_config *cfg, vs_error *err) {
    char path[4096];
    path_join(path, sizeof path, dir, "config.json");
    char *s = vs_config_to_text(cfg);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(s);
        return vs_errorf(err, "%s: %s", path, strerror(errno));
    }
    fprintf(f, "%s\n", s);
    free(s);
    if (fclose(f)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    return 0;
}

int vs_train_run(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_error *err) {
    if (vs_config_validate(cfg, err)) return VS_TRAIN_FAILED;
    if (ds->train.rows < 1) return vs_errorf(err, "dataset has no training users"), VS_TRAIN_FAILED;
    int lock_fd = -1;
    if (make_dir(o->out_dir, err) || lock_run_dir(o->out_dir, 120.0, &lock_fd, err)) return VS_TRAIN_FAILED;
    if (write_config(o->out_dir, cfg, err)) {
        close(lock_fd);
        return VS_TRAIN_FAILED;
    }
    vs_backend *b = vs_backend_create(o->device, cfg, &ds->train, ds->n_items, err);
    if (!b) {
        close(lock_fd);
        return VS_TRAIN_FAILED;
    }

    const vs_model_shape *s = &b->shape;
    int64_t n_train = ds->train.rows;
    int64_t steps_per_epoch = (n_train + cfg->batch_size - 1) / cfg->batch_size;
    int64_t total_steps = steps_per_epoch * cfg->epochs;
    float *best_params = vs_xalloc_aligned(s->n_params * sizeof(float));
    int32_t *perm = vs_xmalloc(sizeof(int32_t) * (size_t)n_train);
    char state_path[4096], best_path[4096];
    path_join(state_path, sizeof state_path, o->out_dir, STATE_FILE);
    path_join(best_path, sizeof best_path, o->out_dir, BEST_FILE);
    train_progress p = {0};
    p.history = cJSON_CreateArray();
    int result = VS_TRAIN_FAILED;
    int resumed = 0;
    struct stat st_buf;
    if (o->resume && stat(state_path, &st_buf) == 0) {
        if (load_state(state_path, b, best_params, &p, ds, err)) goto out;
        resumed = 1;
    } else if (b->ops->get_state(b, best_params, NULL, NULL, err)) {
        goto out;
    }

    cJSON *start = cJSON_CreateObject();
    cJSON_AddStringToObject(start, "event", "start");
    cJSON_AddStringToObject(start, "device", b->ops->name);
    /* The GPUs this process was given (the orchestrator's groups), as it saw them. */
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (visible) cJSON_AddStringToObject(start, "cuda_visible_devices", visible);
    else cJSON_AddNullToObject(start, "cuda_visible_devices");
    cJSON_AddNumberToObject(start, "train_users", (double)n_train);
    cJSON_AddNumberToObject(start, "items", (double)ds->n_items);
    cJSON_AddNumberToObject(start, "parameters", (double)s->n_params);
    cJSON_AddNumberToObject(start, "steps_per_epoch", (double)steps_per_epoch);
    if (resumed) cJSON_AddNumberToObject(start, "resumed_at_step", (double)p.step);
    vs_metrics pop;
    vs_popularity_metrics(ds, &ds->val_in, &ds->val_out, &pop);
    cJSON_AddItemToObject(start, "popularity_val", metrics_json(&pop));
    cJSON_AddItemToObject(start, "config", vs_config_to_json(cfg));
    emit(o, start);
    /* A resumed run prints the epochs done before again, so that a reader that missed
     * some (its orchestrator was killed) still gets the whole curve. */
    for (const cJSON *h = p.history->child; h; h = h->next) {
        cJSON *again = cJSON_Duplicate(h, 1);
        cJSON_AddBoolToObject(again, "replayed", 1);
        emit(o, again);
    }

    while (p.step < total_steps) {
        int64_t epoch = p.step / steps_per_epoch;
        vs_epoch_permutation(perm, n_train, cfg->seed, epoch);
        double t0 = now_seconds();
        for (int64_t k = p.step % steps_per_epoch; k < steps_per_epoch; k++) {
            int64_t r0 = k * cfg->batch_size;
            int rows = (int)(n_train - r0 < cfg->batch_size ? n_train - r0 : cfg->batch_size);
            double beta = vs_config_beta(cfg, p.step);
            vs_step_losses l;
            if (b->ops->train_step(b, perm + r0, rows, p.step, beta, &l, err)) goto out;
            if (!isfinite(l.loss)) {
                vs_errorf(err, "loss is %g at step %lld (epoch %lld): training diverged", l.loss,
                          (long long)p.step, (long long)epoch + 1);
                goto out;
            }
            p.epoch_neg_ll += l.neg_ll * rows;
            p.epoch_kl += l.kl * rows;
            p.epoch_loss += l.loss * rows;
            p.epoch_rows += rows;
            p.step++;
            if (o->stop && *o->stop && p.step % steps_per_epoch) {
                p.epoch_seconds += now_seconds() - t0;
                if (save_state(state_path, b, best_params, &p, ds, err)) goto out;
                result = VS_TRAIN_STOPPED;
                goto stopped;
            }
        }
        double dt = p.epoch_seconds + (now_seconds() - t0);
        p.train_seconds += dt;
        p.train_rows += p.epoch_rows;
        int done_epochs = (int)(epoch + 1);
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "event", "epoch");
        cJSON_AddNumberToObject(ev, "epoch", done_epochs);
        cJSON_AddNumberToObject(ev, "step", (double)p.step);
        cJSON_AddNumberToObject(ev, "loss", p.epoch_loss / (double)p.epoch_rows);
        cJSON_AddNumberToObject(ev, "neg_ll", p.epoch_neg_ll / (double)p.epoch_rows);
        cJSON_AddNumberToObject(ev, "kl", p.epoch_kl / (double)p.epoch_rows);
        cJSON_AddNumberToObject(ev, "beta", vs_config_beta(cfg, p.step - 1));
        cJSON_AddNumberToObject(ev, "users_per_s", (double)p.epoch_rows / dt);
        const vs_loss_scaler *scaler = b->ops->loss_scaler(b);
        if (scaler) {
            cJSON_AddNumberToObject(ev, "loss_scale", scaler->scale);
            cJSON_AddNumberToObject(ev, "skipped_steps", (double)scaler->skipped_steps);
        }
        cJSON_AddNumberToObject(ev, "seconds", dt);
        p.epoch_neg_ll = p.epoch_kl = p.epoch_loss = p.epoch_seconds = 0;
        p.epoch_rows = 0;
        if (done_epochs % cfg->eval_every == 0 || done_epochs == cfg->epochs) {
            vs_metrics val;
            double te = now_seconds();
            if (evaluate(b, &ds->val_in, &ds->val_out, &val, err)) {
                cJSON_Delete(ev);
                goto out;
            }
            cJSON_AddItemToObject(ev, "val", metrics_json(&val));
            cJSON_AddNumberToObject(ev, "eval_seconds", now_seconds() - te);
            if (p.best_epoch == 0 || val.ndcg100 > p.best_val.ndcg100) {
                p.best_epoch = done_epochs;
                p.best_val = val;
                if (b->ops->get_state(b, best_params, NULL, NULL, err) ||
                    vs_model_save(best_path, s, best_params, cfg, &ds->item_ids, done_epochs, val.ndcg100, err)) {
                    cJSON_Delete(ev);
                    goto out;
                }
                cJSON_AddBoolToObject(ev, "best", 1);
            }
        }
        cJSON_AddItemToArray(p.history, cJSON_Duplicate(ev, 1));
        emit(o, ev);
        int stop = (o->stop && *o->stop) || (o->stop_after_epochs && done_epochs == o->stop_after_epochs &&
                                             p.step < total_steps);
        if (stop || p.step == total_steps ||
            (cfg->checkpoint_every && done_epochs % cfg->checkpoint_every == 0)) {
            if (save_state(state_path, b, best_params, &p, ds, err)) goto out;
        }
        if (stop) {
            result = VS_TRAIN_STOPPED;
            goto stopped;
        }
    }

    /* Test metrics once, with the best validation weights. */
    if (b->ops->set_state(b, best_params, NULL, NULL, err)) goto out;
    vs_metrics test;
    if (evaluate(b, &ds->test_in, &ds->test_out, &test, err)) goto out;
    cJSON *done = cJSON_CreateObject();
    cJSON_AddStringToObject(done, "event", "done");
    cJSON_AddNumberToObject(done, "best_epoch", p.best_epoch);
    cJSON_AddItemToObject(done, "val", metrics_json(&p.best_val));
    cJSON_AddItemToObject(done, "test", metrics_json(&test));
    cJSON_AddNumberToObject(done, "train_users_per_s", p.train_seconds > 0 ? (double)p.train_rows / p.train_seconds : 0);
    cJSON_AddNumberToObject(done, "steps", (double)p.step);
    cJSON_AddStringToObject(done, "model", best_path);
    emit(o, done);
    result = VS_TRAIN_DONE;
    goto out;

stopped: {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "stopped");
    cJSON_AddNumberToObject(ev, "step", (double)p.step);
    cJSON_AddStringToObject(ev, "state", state_path);
    emit(o, ev);
}
out:
    cJSON_Delete(p.history);
    free(best_params);
    free(perm);
    vs_backend_destroy(b);
    close(lock_fd);
    return result;
}
