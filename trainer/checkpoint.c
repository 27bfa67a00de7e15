/* checkpoint: saving and loading the resumable training state (checkpoint.h). */
#include "checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "safetensors.h"
#include "common/json_exact.h"

int vs_checkpoint_save(const char *path, vs_backend *b, const float *best_params, const vs_train_progress *p,
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
        cJSON_AddItemToObject(prog, "best_val", vs_metrics_json(&p->best_val));
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

int vs_checkpoint_load(const char *path, vs_backend *b, float *best_params, vs_train_progress *p,
                       const vs_dataset *ds, vs_error *err) {
    vs_st_file f;
    if (vs_st_read(path, &f, err)) return -1;
    int rc = -1;
    cJSON *prog = NULL, *saved_cfg = NULL, *cur_cfg = NULL, *default_cfg = NULL;
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
    /* A key the state does not name (one added since it was saved) had its default then. */
    vs_config defaults;
    vs_config_default(&defaults);
    default_cfg = vs_config_to_json(&defaults);
    for (const cJSON *k = cur_cfg->child; k; k = k->next) {
        if (!strcmp(k->string, "epochs")) continue;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(saved_cfg, k->string);
        if (!s) s = cJSON_GetObjectItemCaseSensitive(default_cfg, k->string);
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
    cJSON_Delete(default_cfg);
    vs_st_free(&f);
    return rc;
}
