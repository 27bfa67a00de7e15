/* model_io: the trained-model file (best.safetensors): one F32 tensor per weight and
 * bias, named as PyTorch users expect (encoder.{i}.weight [in, out], encoder.{i}.bias,
 * decoder.{i}...), the item ids of the training dataset (so the file alone can serve
 * recommendations), and the config in the metadata. docs/trainer.md describes it. */
#ifndef VS_MODEL_IO_H
#define VS_MODEL_IO_H

#include "config.h"
#include "model.h"
#include "common/vs_error.h"
#include "dataset/dataset.h"

typedef struct vs_model_file {
    vs_config cfg;
    vs_model_shape shape;
    float *params;            /* shape.n_params, in model.h's layout */
    vs_strtab item_ids;       /* shape.n_items original item ids */
    int epoch;                /* the epoch the weights come from */
    void *item_block;         /* storage behind item_ids */
} vs_model_file;

int vs_model_save(const char *path, const vs_model_shape *s, const float *params, const vs_config *cfg,
                  const vs_strtab *item_ids, int epoch, double val_ndcg, vs_error *err);
/* Reads and checks a model file: every tensor present with the shape its config implies. */
int vs_model_load(const char *path, vs_model_file *m, vs_error *err);
void vs_model_file_free(vs_model_file *m);

#endif
