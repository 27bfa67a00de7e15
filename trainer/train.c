/* train: the backend-independent training loop, in its phases: open the run (folder,
 * lock, backend, a saved state), announce it, train an epoch, close the epoch
 * (its line, validation, the best model, a checkpoint), and finish (test metrics of the
 * best weights). With R ranks (docs/trainer.md, "Ranks") every rank runs this loop on
 * its own backend: a step's batch is split by rows over the ranks, the gradients and
 * loss sums are summed by the communicator, and every rank applies the same Adam step;
 * validation and test users are split too and their metric sums summed. Rank 0 alone
 * prints, locks the run folder and writes files, so the files do not depend on R. */
#include "train.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "baseline.h"
#include "checkpoint.h"
#include "comm.h"
#include "events.h"
#include "metrics.h"
#include "model_io.h"
#include "ranks.h"
#include "run_dir.h"
#include "common/pcg.h"

#ifdef VS_HAVE_NCCL
#include "trainer/cuda/comm_nccl.h"
#endif

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

/* The held-out sets, as each rank evaluates its share of their users. */
enum { HELD_VAL_IN, HELD_VAL_OUT, HELD_TEST_IN, HELD_TEST_OUT, HELD_N };

/* One run of the loop (one rank's). */
typedef struct train_run {
    const vs_dataset *ds;
    const vs_config *cfg;
    const vs_train_opts *o;
    vs_comm *comm;       /* NULL: one rank, no communicator */
    int rank, size;
    int gpu;             /* the CUDA device this rank uses; -1: the current one */
    int stop;            /* the stop request as every rank agreed on it at the last step */
    vs_csr held[HELD_N];
    int64_t *held_ptr[HELD_N];
    float *scratch;      /* n_params floats for the collectives on host tensors */
    vs_backend *b;
    int lock_fd;
    int64_t n_train, steps_per_epoch, total_steps;
    float *best_params;
    int32_t *perm;
    char state_path[4096], best_path[4096];
    vs_train_progress p;
    int resumed;
} train_run;

static int leader(const train_run *r) { return r->rank == 0; }

static void emit(const train_run *r, cJSON *event) {
    if (leader(r)) vs_event_emit(r->o->events, r->o->text, event);
    else cJSON_Delete(event);
}

/* A signal seen by this process (rank 0's is the one the ranks follow). */
static int stop_signalled(const train_run *r) { return r->o->stop && *r->o->stop; }

static int stop_requested(const train_run *r) { return r->comm ? r->stop : stop_signalled(r); }

/* Rank 0's parameters, Adam moments, step and loss scaler copied to every rank, through
 * one host buffer, after rank 0 has initialised or loaded them. */
static int share_state(train_run *r, vs_error *err) {
    struct {
        int64_t step;
        int32_t resumed;
        vs_loss_scaler scaler;
    } head;
    memset(&head, 0, sizeof head);
    vs_loss_scaler *scaler = r->b->ops->loss_scaler(r->b);
    head.step = r->p.step;
    head.resumed = r->resumed;
    if (scaler) head.scaler = *scaler;
    if (vs_comm_broadcast(r->comm, &head, sizeof head, 0, err)) return -1;
    r->p.step = head.step;
    r->resumed = head.resumed;
    if (scaler) *scaler = head.scaler;
    float *buf = r->scratch;
    size_t bytes = r->b->shape.n_params * sizeof(float);
    const vs_backend_ops *ops = r->b->ops;
    for (int which = 0; which < 3; which++) {
        float *slot[3] = {NULL, NULL, NULL};
        slot[which] = buf;
        if ((leader(r) && ops->get_state(r->b, slot[0], slot[1], slot[2], err)) ||
            vs_comm_broadcast(r->comm, buf, bytes, 0, err) ||
            (!leader(r) && ops->set_state(r->b, slot[0], slot[1], slot[2], err)))
            return -1;
    }
    return 0;
}

/* The run folder locked, the config written, the backend created, and its state loaded
 * from a saved one when resuming (else the initial weights are the best so far). */
static int run_open(train_run *r, vs_error *err) {
    const vs_config *cfg = r->cfg;
    if (vs_config_validate(cfg, err)) return -1;
    if (r->ds->train.rows < 1) return vs_errorf(err, "dataset has no training users");
    if (leader(r) && (vs_run_dir_make(r->o->out_dir, err) || vs_run_dir_lock(r->o->out_dir, 120.0, &r->lock_fd, err) ||
                      vs_run_dir_write_config(r->o->out_dir, cfg, err)))
        return -1;
    if (r->gpu >= 0 && vs_backend_use_gpu(r->gpu, err)) return -1;
    r->b = vs_backend_create(r->o->device, cfg, &r->ds->train, r->ds->n_items, err);
    if (!r->b) return -1;
    const vs_csr *held[HELD_N] = {&r->ds->val_in, &r->ds->val_out, &r->ds->test_in, &r->ds->test_out};
    for (int h = 0; h < HELD_N; h++) vs_rank_shard_csr(held[h], r->rank, r->size, &r->held[h], &r->held_ptr[h]);
    if (r->comm) r->scratch = vs_xalloc_aligned(r->b->shape.n_params * sizeof(float));
    r->n_train = r->ds->train.rows;
    r->steps_per_epoch = (r->n_train + cfg->batch_size - 1) / cfg->batch_size;
    r->total_steps = r->steps_per_epoch * cfg->epochs;
    r->best_params = vs_xalloc_aligned(r->b->shape.n_params * sizeof(float));
    r->perm = vs_xmalloc(sizeof(int32_t) * (size_t)r->n_train);
    path_join(r->state_path, sizeof r->state_path, r->o->out_dir, STATE_FILE);
    path_join(r->best_path, sizeof r->best_path, r->o->out_dir, BEST_FILE);
    r->p.history = cJSON_CreateArray();
    struct stat st;
    if (leader(r) && r->o->resume && stat(r->state_path, &st) == 0) {
        if (vs_checkpoint_load(r->state_path, r->b, r->best_params, &r->p, r->ds, err)) return -1;
        r->resumed = 1;
    } else if (r->b->ops->get_state(r->b, r->best_params, NULL, NULL, err)) {
        return -1;
    }
    return r->comm ? share_state(r, err) : 0;
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
    cJSON_AddNumberToObject(start, "ranks", r->size);
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

/* One step on the batch's rows: this rank's share of the gradient, summed over the ranks
 * with the losses, the overflow flags and rank 0's stop request, then Adam. The penalty's
 * gradient is the last rank's part (its share is never empty). */
static int train_step(train_run *r, const int32_t *batch, int rows, double beta, vs_step_losses *l, vs_error *err) {
    const vs_backend_ops *ops = r->b->ops;
    int64_t lo, hi;
    vs_rank_share(rows, r->rank, r->size, &lo, &hi);
    int found_inf = 0;
    if (ops->shard_grad(r->b, batch + lo, (int)(hi - lo), rows, r->rank == r->size - 1, r->p.step, beta, l,
                        &found_inf, err))
        return -1;
    if (r->comm) {
        double sums[5] = {l->neg_ll, l->kl, l->l2, found_inf, leader(r) && stop_signalled(r)};
        if (vs_comm_allreduce_f32(r->comm, ops->grad_buffer(r->b), r->b->shape.n_params, err) ||
            vs_comm_allreduce_f64(r->comm, sums, 5, err))
            return -1;
        l->neg_ll = sums[0];
        l->kl = sums[1];
        l->l2 = sums[2];
        l->loss = l->neg_ll + beta * l->kl + l->l2;
        found_inf = sums[3] != 0;
        r->stop = sums[4] != 0;
    }
    return ops->apply_grad(r->b, r->p.step, found_inf, err);
}

/* This rank's share of held-out users evaluated, the sums added over the ranks. */
static int evaluate(train_run *r, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums, vs_error *err) {
    if (r->b->ops->evaluate(r->b, fold_in, targets, sums, err)) return -1;
    if (!r->comm) return 0;
    double v[4] = {sums->ndcg100, sums->recall20, sums->recall50, (double)sums->users};
    if (vs_comm_allreduce_f64(r->comm, v, 4, err)) return -1;
    sums->ndcg100 = v[0];
    sums->recall20 = v[1];
    sums->recall50 = v[2];
    sums->users = (int64_t)v[3];
    return 0;
}

/* The resumable state, written by rank 0 after checking that every rank holds the same
 * parameters. */
static int save_state(train_run *r, vs_error *err) {
    if (r->comm && (r->b->ops->get_state(r->b, r->scratch, NULL, NULL, err) ||
                    vs_ranks_check_same(r->comm, r->scratch, r->b->shape.n_params, "the parameters", err)))
        return -1;
    if (!leader(r)) return 0;
    return vs_checkpoint_save(r->state_path, r->b, r->best_params, &r->p, r->ds, err);
}

/* A "progress" line inside a long epoch (docs/trainer.md): the epoch under way, its steps
 * done, and its users per second so far in this run. Only the clock is read at every
 * step; a line is written once o->progress_every seconds have passed since the last. */
static void report_progress(train_run *r, int64_t epoch, double t0, int64_t rows) {
    double now = now_seconds();
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "progress");
    cJSON_AddNumberToObject(ev, "epoch", (double)epoch + 1);
    cJSON_AddNumberToObject(ev, "step", (double)r->p.step);
    cJSON_AddNumberToObject(ev, "epoch_steps", (double)(r->p.step - epoch * r->steps_per_epoch));
    cJSON_AddNumberToObject(ev, "steps_per_epoch", (double)r->steps_per_epoch);
    cJSON_AddNumberToObject(ev, "users_per_s", now > t0 ? (double)rows / (now - t0) : 0);
    cJSON_AddNumberToObject(ev, "seconds", now - t0);
    emit(r, ev);
}

/* The rest of the current epoch's steps. 1 when a stop request ended it early (the state
 * is saved), 0 at its end, -1 on failure. */
static int train_epoch(train_run *r, vs_error *err) {
    const vs_config *cfg = r->cfg;
    vs_train_progress *p = &r->p;
    int64_t epoch = p->step / r->steps_per_epoch;
    vs_epoch_permutation(r->perm, r->n_train, cfg->seed, epoch);
    double t0 = now_seconds(), every = leader(r) ? r->o->progress_every : 0, last_report = t0;
    int64_t rows_here = 0;
    for (int64_t k = p->step % r->steps_per_epoch; k < r->steps_per_epoch; k++) {
        int64_t r0 = k * cfg->batch_size;
        int rows = (int)(r->n_train - r0 < cfg->batch_size ? r->n_train - r0 : cfg->batch_size);
        double beta = vs_config_beta(cfg, p->step);
        vs_step_losses l;
        if (train_step(r, r->perm + r0, rows, beta, &l, err)) return -1;
        if (!isfinite(l.loss))
            return vs_errorf(err, "loss is %g at step %lld (epoch %lld): training diverged", l.loss,
                             (long long)p->step, (long long)epoch + 1);
        p->epoch_neg_ll += l.neg_ll * rows;
        p->epoch_kl += l.kl * rows;
        p->epoch_loss += l.loss * rows;
        p->epoch_rows += rows;
        p->step++;
        rows_here += rows;
        if (every > 0 && k + 1 < r->steps_per_epoch) {
            double now = now_seconds();
            if (now - last_report >= every) {
                report_progress(r, epoch, t0, rows_here);
                last_report = now;
            }
        }
        if (stop_requested(r) && p->step % r->steps_per_epoch) {
            p->epoch_seconds += now_seconds() - t0;
            if (save_state(r, err)) return -1;
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
    if (evaluate(r, &r->held[HELD_VAL_IN], &r->held[HELD_VAL_OUT], &sums, err)) return -1;
    vs_metrics_finish(&sums, &val);
    cJSON_AddItemToObject(ev, "val", vs_metrics_json(&val));
    cJSON_AddNumberToObject(ev, "eval_seconds", now_seconds() - te);
    if (r->p.best_epoch == 0 || val.ndcg100 > r->p.best_val.ndcg100) {
        r->p.best_epoch = done_epochs;
        r->p.best_val = val;
        if (!leader(r)) return 0;   /* rank 0 keeps the best weights and hands them out at the end */
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
        if (save_state(r, err)) return -1;
    }
    return stop;
}

/* Test metrics once, with the best validation weights, and the done line. */
static int finish(train_run *r, vs_error *err) {
    if (r->comm && (r->b->ops->get_state(r->b, r->scratch, NULL, NULL, err) ||
                    vs_ranks_check_same(r->comm, r->scratch, r->b->shape.n_params, "the parameters", err) ||
                    vs_comm_broadcast(r->comm, r->best_params, r->b->shape.n_params * sizeof(float), 0, err)))
        return -1;
    if (r->b->ops->set_state(r->b, r->best_params, NULL, NULL, err)) return -1;
    vs_metric_sums sums = {0};
    vs_metrics test;
    if (evaluate(r, &r->held[HELD_TEST_IN], &r->held[HELD_TEST_OUT], &sums, err)) return -1;
    vs_metrics_finish(&sums, &test);
    const vs_train_progress *p = &r->p;
    cJSON *done = cJSON_CreateObject();
    cJSON_AddStringToObject(done, "event", "done");
    cJSON_AddNumberToObject(done, "best_epoch", p->best_epoch);
    cJSON_AddItemToObject(done, "val", vs_metrics_json(&p->best_val));
    cJSON_AddItemToObject(done, "test", vs_metrics_json(&test));
    /* every rank's rows: train_rows counts whole batches */
    cJSON_AddNumberToObject(done, "train_users_per_s", p->train_seconds > 0 ? (double)p->train_rows / p->train_seconds : 0);
    cJSON_AddNumberToObject(done, "ranks", r->size);
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
    free(r->scratch);
    for (int h = 0; h < HELD_N; h++) free(r->held_ptr[h]);
    vs_backend_destroy(r->b);
    if (r->lock_fd >= 0) close(r->lock_fd);
}

/* One rank's whole run. A rank that fails aborts the communicator with its reason, so
 * that the others fail with it instead of waiting. */
static int run_rank(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_comm *comm, int gpu,
                    vs_error *err) {
    train_run r = {.ds = ds, .cfg = cfg, .o = o, .comm = comm, .rank = comm ? comm->rank : 0,
                   .size = comm ? comm->size : 1, .gpu = gpu, .lock_fd = -1};
    int result = VS_TRAIN_FAILED;
    if (run_open(&r, err) == 0) {
        if (leader(&r)) announce(&r);
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
    if (result == VS_TRAIN_FAILED && comm) vs_comm_abort(comm, err->msg);
    run_close(&r);
    return result;
}

/* Ranks as threads of this process. */
typedef struct rank_thread {
    pthread_t thread;
    const vs_dataset *ds;
    const vs_config *cfg;
    const vs_train_opts *o;
    vs_comm *comm;
    int gpu, omp_threads, result;
    vs_error err;
} rank_thread;

static void *rank_thread_main(void *arg) {
    rank_thread *t = arg;
    omp_set_num_threads(t->omp_threads);
    t->result = run_rank(t->ds, t->cfg, t->o, t->comm, t->gpu, &t->err);
    return NULL;
}

static int is_cuda(const vs_train_opts *o) { return !strcmp(o->device, "cuda"); }

int vs_train_has_gpu_ranks(void) {
#ifdef VS_HAVE_NCCL
    return 1;
#else
    return 0;
#endif
}

/* The communicators of `size` ranks in this process: CPU ranks share memory, GPUs use
 * NCCL (devices 0..size-1 of the visible ones). */
static int comms_create(const vs_train_opts *o, int size, vs_comm **comms, vs_error *err) {
    if (!is_cuda(o)) return vs_comm_threads_create(size, o->comm_timeout, comms, err);
#ifdef VS_HAVE_NCCL
    int visible = vs_backend_gpu_count();
    if (size > visible)
        return vs_errorf(err, "--ranks %d: only %d GPU%s visible (CUDA_VISIBLE_DEVICES)", size, visible,
                         visible == 1 ? " is" : "s are");
    return vs_comm_nccl_create_all(size, o->comm_timeout, comms, err);
#else
    return vs_errorf(err, "%d GPU ranks: this build has no NCCL (docs/cuda.md, \"Data parallelism\"); use --ranks 1",
                     size);
#endif
}

static int run_threads(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, int size, vs_error *err) {
    vs_comm **comms = vs_xcalloc((size_t)size, sizeof *comms);
    if (comms_create(o, size, comms, err)) {
        free(comms);
        return VS_TRAIN_FAILED;
    }
    /* The cores are shared out: R teams of every core's threads would oversubscribe them. */
    int all = omp_get_max_threads(), per = all / size > 0 ? all / size : 1;
    rank_thread *t = vs_xcalloc((size_t)size, sizeof *t);
    int started = 1;
    for (int k = 0; k < size; k++) {
        t[k] = (rank_thread){.ds = ds, .cfg = cfg, .o = o, .comm = comms[k], .gpu = is_cuda(o) ? k : -1,
                             .omp_threads = per};
        if (k > 0) {
            if (pthread_create(&t[k].thread, NULL, rank_thread_main, &t[k])) {
                vs_comm_abort(comms[0], "cannot start a thread for a rank");
                break;
            }
            started++;
        }
    }
    rank_thread_main(&t[0]);
    omp_set_num_threads(all);
    for (int k = 1; k < started; k++) pthread_join(t[k].thread, NULL);
    int result = t[0].result;
    if (result == VS_TRAIN_FAILED) *err = t[0].err;
    for (int k = 0; k < size; k++) vs_comm_destroy(comms[k]);
    free(comms);
    free(t);
    return result;
}

/* This process as one of srun's tasks, on this node or another: it meets the others
 * through a file in the run folder (rank 0's TCP address for CPU ranks, or NCCL's unique
 * id) and trains as its rank. */
static int run_slurm(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_error *err) {
    vs_slurm_rank w;
    if (vs_slurm_rank_from_env(&w, err) || vs_run_dir_make(o->out_dir, err)) return VS_TRAIN_FAILED;
    double timeout = o->comm_timeout > 0 ? o->comm_timeout : VS_COMM_DEFAULT_TIMEOUT;
    char path[4200];
    vs_comm *comm = NULL;
    int gpu = -1;
    if (!is_cuda(o)) {
        /* over TCP, so that ranks on different nodes meet: a file of the run folder says where */
        vs_ranks_meeting_path(path, sizeof path, o->out_dir, &w, "comm");
        comm = vs_comm_tcp_join(path, w.rank, w.size, timeout, err);
    } else {
#ifdef VS_HAVE_NCCL
        /* srun gives a task one GPU (--gpus-per-task) or the node's (then SLURM_LOCALID picks) */
        int visible = vs_backend_gpu_count();
        if (visible < 1) {
            vs_errorf(err, "--ranks slurm --device cuda: no GPU is visible to rank %d", w.rank);
            return VS_TRAIN_FAILED;
        }
        gpu = w.local % visible;
        vs_ranks_meeting_path(path, sizeof path, o->out_dir, &w, "nccl-id");
        if (vs_backend_use_gpu(gpu, err) == 0) comm = vs_comm_nccl_join(path, w.rank, w.size, timeout, err);
#else
        vs_errorf(err, "--ranks slurm --device cuda: this build has no NCCL (docs/cuda.md, \"Data parallelism\")");
#endif
    }
    if (!comm) return VS_TRAIN_FAILED;
    int result = run_rank(ds, cfg, o, comm, gpu, err);
    vs_comm_destroy(comm);
    return result;
}

int vs_train_run(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_error *err) {
    if (o->slurm) return run_slurm(ds, cfg, o, err);
    int size = o->ranks > 0 ? o->ranks : 1;
#ifdef VS_HAVE_NCCL
    /* a trial given several GPUs trains on all of them (a build without NCCL, on the first) */
    if (o->ranks <= 0 && is_cuda(o)) {
        int visible = vs_backend_gpu_count();
        size = visible > 1 ? visible : 1;
    }
#endif
    if (size == 1 && !o->comm_always) return run_rank(ds, cfg, o, NULL, -1, err);
    return run_threads(ds, cfg, o, size, err);
}
