/* model: Mult-VAE's shape and parameters. The encoder maps items -> hidden dims ->
 * 2 x latent (mean, log-variance); the decoder latent -> hidden dims reversed -> items;
 * tanh after every layer but the last of each. All parameters live in one float
 * buffer: every weight matrix first (row-major in x out, so y = x W + b), then every
 * bias, so the L2 penalty covers [0, n_weights) and Adam runs over the whole buffer.
 * With the config's item_pad > 1 (the GPU's layout) the item dimension is padded to
 * item_stride, a multiple of item_pad: the first weight matrix has item_stride rows and
 * the output layer item_stride columns, the padding all zeros (never read as input,
 * masked out of the softmax and the rankings, so its gradient is 0), and every block
 * starts at a multiple of VS_MODEL_BLOCK_ALIGN floats, the gaps zero too. */
#ifndef VS_MODEL_H
#define VS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define VS_MAX_LAYERS (VS_MAX_HIDDEN + 1)

/* Parameter blocks start at multiples of this many floats (256 bytes) when padded. */
#define VS_MODEL_BLOCK_ALIGN 64

typedef struct vs_layer {
    int in, out;       /* as stored: item_stride on the item side */
    int in_used, out_used;   /* without the padding: n_items on the item side */
    size_t w, b;       /* offsets of the weight matrix and bias in the parameter buffer */
    int tanh;          /* tanh after this layer */
} vs_layer;

typedef struct vs_model_shape {
    int n_items, latent;
    int item_stride;   /* n_items rounded up to a multiple of item_pad */
    int n_enc, n_dec;
    vs_layer enc[VS_MAX_LAYERS], dec[VS_MAX_LAYERS];
    size_t n_params, n_weights;
    int max_width;     /* widest layer output except the item layer (hidden dims, 2 x latent) */
} vs_model_shape;

void vs_model_shape_init(vs_model_shape *s, int64_t n_items, const vs_config *c);
/* Layer l of the concatenation encoder ++ decoder. */
const vs_layer *vs_model_layer(const vs_model_shape *s, int l, int *is_decoder, int *index);
static inline int vs_model_n_layers(const vs_model_shape *s) { return s->n_enc + s->n_dec; }

/* The losses of one training step, as every backend reports them. */
typedef struct vs_step_losses {
    double neg_ll;   /* mean over the batch of -sum_i x_i log softmax_i */
    double kl;       /* mean over the batch of KL(q(z|x) || N(0, I)) */
    double l2;       /* lambda * sum of squared weights */
    double loss;     /* neg_ll + beta * kl + l2 */
} vs_step_losses;

/* Xavier-uniform weights, truncated-normal (sd 0.001, redrawn beyond 2 sd) biases,
 * drawn from the VS_RNG_INIT streams (a = layer, b = row). */
void vs_model_init_params(const vs_model_shape *s, uint64_t seed, float *params);

/* FLOPs of one training step on a batch (dense products and the sparse layer),
 * for throughput reports. */
double vs_model_step_flops(const vs_model_shape *s, int batch, double input_nnz);

#endif
