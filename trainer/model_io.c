/* model_io: saving and loading trained models as safetensors. */
#include "model_io.h"
#include "common/json_exact.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "safetensors.h"

#define NAME_LEN 48

static void layer_names(const vs_model_shape *s, int l, char *w, char *b) {
    int dec, idx;
    vs_model_layer(s, l, &dec, &idx);
    snprintf(w, NAME_LEN, "%s.%d.weight", dec ? "decoder" : "encoder", idx);
    snprintf(b, NAME_LEN, "%s.%d.bias", dec ? "decoder" : "encoder", idx);
}

int vs_model_save(const char *path, const vs_model_shape *s, const float *params, const vs_config *cfg,
                  const vs_strtab *item_ids, int epoch, double val_ndcg, vs_error *err) {
    int n_layers = vs_model_n_layers(s), n = 2 * n_layers + 2;
    vs_st_tensor *t = vs_xcalloc((size_t)n, sizeof *t);
    char (*names)[NAME_LEN] = vs_xcalloc((size_t)n, NAME_LEN);
    float **unpadded = vs_xcalloc((size_t)n_layers, sizeof *unpadded);
    for (int l = 0; l < n_layers; l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        layer_names(s, l, names[2 * l], names[2 * l + 1]);
        /* The file holds the model without the item padding (the shapes users and PyTorch
         * expect): padded rows are a tail to leave off, padded columns need a copy. */
        const float *w = params + L->w;
        if (L->out_used != L->out) {
            unpadded[l] = vs_xmalloc(sizeof(float) * (size_t)L->in_used * L->out_used);
            for (int r = 0; r < L->in_used; r++)
                memcpy(unpadded[l] + (size_t)r * L->out_used, w + (size_t)r * L->out, sizeof(float) * (size_t)L->out_used);
            w = unpadded[l];
        }
        t[2 * l] = (vs_st_tensor){names[2 * l], VS_F32, 2, {L->in_used, L->out_used}, w};
        t[2 * l + 1] = (vs_st_tensor){names[2 * l + 1], VS_F32, 1, {L->out_used}, params + L->b};
    }
    t[n - 2] = (vs_st_tensor){"item_ids.offsets", VS_I64, 1, {item_ids->n + 1}, item_ids->offsets};
    t[n - 1] = (vs_st_tensor){"item_ids.bytes", VS_U8, 1, {(int64_t)item_ids->offsets[item_ids->n]}, item_ids->bytes};
    char *config = vs_config_to_text(cfg);
    char epoch_s[32], items_s[32], ndcg_s[32];
    snprintf(epoch_s, sizeof epoch_s, "%d", epoch);
    snprintf(items_s, sizeof items_s, "%d", s->n_items);
    snprintf(ndcg_s, sizeof ndcg_s, "%.17g", val_ndcg);
    const char *meta[][2] = {
        {"format", "vaesearch-multvae"}, {"version", "1"},   {"config", config},
        {"n_items", items_s},            {"epoch", epoch_s}, {"val_ndcg@100", ndcg_s},
    };
    int rc = vs_st_write(path, t, n, meta, (int)(sizeof meta / sizeof meta[0]), err);
    free(config);
    for (int l = 0; l < n_layers; l++) free(unpadded[l]);
    free(unpadded);
    free(t);
    free(names);
    return rc;
}

int vs_model_load(const char *path, vs_model_file *m, vs_error *err) {
    memset(m, 0, sizeof *m);
    vs_st_file f;
    if (vs_st_read(path, &f, err)) return -1;
    int rc = -1;
    const char *format = vs_st_meta(&f, "format"), *config = vs_st_meta(&f, "config"), *epoch = vs_st_meta(&f, "epoch");
    if (!format || strcmp(format, "vaesearch-multvae") || !config) {
        vs_errorf(err, "%s: not a vaesearch model (no format/config metadata)", path);
        goto done;
    }
    cJSON *cj = cJSON_Parse(config);
    vs_config_default(&m->cfg);
    if (!cj || vs_config_apply_json(&m->cfg, cj, path, err)) {
        if (!cj) vs_errorf(err, "%s: unreadable config metadata", path);
        cJSON_Delete(cj);
        goto done;
    }
    cJSON_Delete(cj);
    const vs_st_tensor *offs = vs_st_find(&f, "item_ids.offsets"), *bytes = vs_st_find(&f, "item_ids.bytes");
    if (!offs || offs->dtype != VS_I64 || offs->ndim != 1 || offs->shape[0] < 2 || !bytes || bytes->dtype != VS_U8) {
        vs_errorf(err, "%s: item id tensors missing or malformed", path);
        goto done;
    }
    int64_t n_items = offs->shape[0] - 1;
    const int64_t *o = offs->data;
    for (int64_t i = 0; i < n_items; i++)
        if (o[0] != 0 || o[i + 1] < o[i] || o[i + 1] > bytes->shape[0]) {
            vs_errorf(err, "%s: item id offsets out of order", path);
            goto done;
        }
    if (n_items > INT_MAX) {
        vs_errorf(err, "%s: %lld item ids, more than a model can have", path, (long long)n_items);
        goto done;
    }
    /* Every tensor's shape against the config before any memory is sized from the
     * config: vs_st_read has checked that each tensor's bytes lie within the file, so a
     * model whose shapes all match is one the file really holds. */
    vs_model_shape_init(&m->shape, n_items, &m->cfg);
    int n_layers = vs_model_n_layers(&m->shape);
    const vs_st_tensor **ws = vs_xcalloc((size_t)n_layers, sizeof *ws), **bs = vs_xcalloc((size_t)n_layers, sizeof *bs);
    for (int l = 0; l < n_layers; l++) {
        const vs_layer *L = vs_model_layer(&m->shape, l, NULL, NULL);
        char wn[NAME_LEN], bn[NAME_LEN];
        layer_names(&m->shape, l, wn, bn);
        const vs_st_tensor *w = vs_st_find(&f, wn), *b = vs_st_find(&f, bn);
        if (!w || w->dtype != VS_F32 || w->ndim != 2 || w->shape[0] != L->in_used || w->shape[1] != L->out_used ||
            !b || b->dtype != VS_F32 || b->ndim != 1 || b->shape[0] != L->out_used) {
            vs_errorf(err, "%s: tensor '%s' or '%s' missing or not of shape [%d, %d] / [%d]", path, wn, bn, L->in_used,
                      L->out_used, L->out_used);
            free(ws);
            free(bs);
            goto done;
        }
        ws[l] = w;
        bs[l] = b;
    }
    /* Into the config's layout: with item_pad the padding and gaps stay zero. */
    m->params = vs_xalloc_aligned(m->shape.n_params * sizeof(float));
    memset(m->params, 0, m->shape.n_params * sizeof(float));
    for (int l = 0; l < n_layers; l++) {
        const vs_layer *L = vs_model_layer(&m->shape, l, NULL, NULL);
        const float *w = ws[l]->data;
        for (int r = 0; r < L->in_used; r++)
            memcpy(m->params + L->w + (size_t)r * L->out, w + (size_t)r * L->out_used, sizeof(float) * (size_t)L->out_used);
        memcpy(m->params + L->b, bs[l]->data, sizeof(float) * (size_t)L->out_used);
    }
    free(ws);
    free(bs);
    /* One block: n+1 offsets, then the id bytes. */
    size_t off_bytes = sizeof(uint64_t) * (size_t)(n_items + 1);
    char *block = vs_xmalloc(off_bytes + (size_t)bytes->shape[0] + 1);
    memcpy(block, o, off_bytes);
    memcpy(block + off_bytes, bytes->data, (size_t)bytes->shape[0]);
    m->item_block = block;
    m->item_ids = (vs_strtab){n_items, (const uint64_t *)block, block + off_bytes};
    m->epoch = epoch ? atoi(epoch) : 0;
    rc = 0;
done:
    vs_st_free(&f);
    if (rc) vs_model_file_free(m);
    return rc;
}

void vs_model_file_free(vs_model_file *m) {
    free(m->params);
    free(m->item_block);
    memset(m, 0, sizeof *m);
}
