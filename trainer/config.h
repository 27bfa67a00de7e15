/* config: a trial's hyperparameters (the trainer's config keys), their defaults,
 * parsing from JSON and from `key=value`, validation with the key named, and a
 * canonical JSON form. The table of keys in config.c is the single source of truth;
 * docs/trainer.md lists the same keys. */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/vs_error.h"

#define VS_MAX_HIDDEN 6

/* Arithmetic of the dense products and activations; the master weights and Adam's
 * moments are float in every mode. The CPU backend computes in fp32 only. */
typedef enum vs_precision { VS_FP32 = 0, VS_TF32, VS_FP16, VS_BF16 } vs_precision;

typedef struct vs_config {
    double lr, beta1, beta2, adam_eps;
    int batch_size, epochs;
    double keep_prob;            /* dropout keep probability on the input */
    int64_t total_anneal_steps;
    double anneal_cap;
    double lambda;               /* L2 penalty: lambda * sum of squared weights */
    int n_hidden;
    int hidden_dims[VS_MAX_HIDDEN];
    int latent_dim;
    uint64_t seed;
    int eval_every;              /* validate every N epochs (and after the last) */
    int checkpoint_every;        /* save the resumable state every N epochs (0: only at the end) */
    int eval_batch_size;         /* users scored at once in evaluation */
    vs_precision precision;      /* fp32 (default), tf32, fp16, bf16 */
    /* Dynamic loss scaling (fp16): the loss is multiplied by the scale before the
     * backward pass; a step whose gradients hold an inf or NaN is skipped and the scale
     * multiplied by loss_scale_backoff; after loss_scale_growth_interval finite steps in
     * a row it is multiplied by loss_scale_growth. */
    double loss_scale;
    int loss_scale_growth_interval;
    double loss_scale_growth, loss_scale_backoff;
    /* The item dimension of the output layer (and the rows of the first weight matrix)
     * is padded to a multiple of item_pad, and every parameter block starts 64-float
     * aligned when item_pad > 1: the GPU's layout (docs/model.md). 1: no padding. */
    int item_pad;
} vs_config;

const char *vs_precision_name(vs_precision p);

void vs_config_default(vs_config *c);
/* Applies the members of a JSON object; `source` names it in errors (a path or "--set"). */
int vs_config_apply_json(vs_config *c, const cJSON *obj, const char *source, vs_error *err);
/* Applies one "key=value"; the value is JSON (numbers, lists) or a bare string. */
int vs_config_set(vs_config *c, const char *assignment, vs_error *err);
/* Reads a JSON file of config keys. */
int vs_config_load_file(vs_config *c, const char *path, vs_error *err);
/* Cross-key checks (done after all sources are applied). */
int vs_config_validate(const vs_config *c, vs_error *err);
/* Canonical JSON object with every key (caller frees with cJSON_Delete). */
cJSON *vs_config_to_json(const vs_config *c);
/* The same as compact JSON text with exact numbers (caller frees). */
char *vs_config_to_text(const vs_config *c);

/* beta for the KL term at a (0-based) step: min(step / total_anneal_steps, anneal_cap). */
double vs_config_beta(const vs_config *c, int64_t step);

#endif
