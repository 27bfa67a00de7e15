/* model: parameter layout and initialisation of Mult-VAE. */
#include "model.h"

#include <math.h>
#include <string.h>

#include "common/pcg.h"

/* The item side (dims[0] of the encoder, the decoder's last) is stored as `stride` wide. */
static void add_layers(vs_layer *layers, int *n, const int *dims, int n_dims, int is_decoder, int stride) {
    *n = n_dims - 1;
    for (int i = 0; i + 1 < n_dims; i++) {
        layers[i].in_used = dims[i];
        layers[i].out_used = dims[i + 1];
        layers[i].in = !is_decoder && i == 0 ? stride : dims[i];
        layers[i].out = is_decoder && i + 2 == n_dims ? stride : dims[i + 1];
        layers[i].tanh = i + 2 < n_dims;
    }
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

void vs_model_shape_init(vs_model_shape *s, int64_t n_items, const vs_config *c) {
    memset(s, 0, sizeof *s);
    s->n_items = (int)n_items;
    s->latent = c->latent_dim;
    int pad = c->item_pad > 1 ? c->item_pad : 1;
    s->item_stride = (int)align_up((size_t)n_items, (size_t)pad);
    size_t block = pad > 1 ? VS_MODEL_BLOCK_ALIGN : 1;
    int dims[VS_MAX_LAYERS + 1], n = 0;
    dims[n++] = (int)n_items;
    for (int i = 0; i < c->n_hidden; i++) dims[n++] = c->hidden_dims[i];
    dims[n++] = 2 * c->latent_dim;
    add_layers(s->enc, &s->n_enc, dims, n, 0, s->item_stride);
    n = 0;
    dims[n++] = c->latent_dim;
    for (int i = c->n_hidden - 1; i >= 0; i--) dims[n++] = c->hidden_dims[i];
    dims[n++] = (int)n_items;
    add_layers(s->dec, &s->n_dec, dims, n, 1, s->item_stride);

    size_t off = 0;
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        vs_layer *L = (vs_layer *)vs_model_layer(s, l, NULL, NULL);
        L->w = align_up(off, block);
        off = L->w + (size_t)L->in * (size_t)L->out;
    }
    off = align_up(off, block);
    s->n_weights = off;
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        vs_layer *L = (vs_layer *)vs_model_layer(s, l, NULL, NULL);
        L->b = align_up(off, block);
        off = L->b + (size_t)L->out;
    }
    s->n_params = align_up(off, block);
    s->max_width = 2 * c->latent_dim;
    for (int i = 0; i < c->n_hidden; i++)
        if (c->hidden_dims[i] > s->max_width) s->max_width = c->hidden_dims[i];
}

const vs_layer *vs_model_layer(const vs_model_shape *s, int l, int *is_decoder, int *index) {
    int dec = l >= s->n_enc;
    if (is_decoder) *is_decoder = dec;
    if (index) *index = dec ? l - s->n_enc : l;
    return dec ? &s->dec[l - s->n_enc] : &s->enc[l];
}

void vs_model_init_params(const vs_model_shape *s, uint64_t seed, float *params) {
    /* Padding and gaps zero; the used part drawn as without padding, so the padded
     * model starts from the same numbers. */
    memset(params, 0, sizeof(float) * s->n_params);
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        double limit = sqrt(6.0 / (double)(L->in_used + L->out_used));
        float *w = params + L->w;
        for (int r = 0; r < L->in_used; r++) {
            vs_pcg32 g = vs_stream(seed, VS_RNG_INIT, (uint64_t)l, (uint64_t)r);
            for (int c = 0; c < L->out_used; c++)
                w[(size_t)r * L->out + c] = (float)((2.0 * vs_pcg32_unit_double(&g) - 1.0) * limit);
        }
        vs_pcg32 g = vs_stream(seed, VS_RNG_INIT, (uint64_t)l, (uint64_t)L->in_used);   /* the row after the weights */
        float *b = params + L->b;
        for (int c = 0; c < L->out_used; c++) {
            double z;
            do z = vs_pcg32_normal(&g);
            while (fabs(z) > 2.0);
            b[c] = (float)(0.001 * z);
        }
    }
}

double vs_model_step_flops(const vs_model_shape *s, int batch, double input_nnz) {
    double flops = 0;
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        if (l == 0)
            flops += 2.0 * 2.0 * input_nnz * L->out;   /* sparse forward + weight gradient */
        else
            flops += 3.0 * 2.0 * (double)batch * L->in * L->out;   /* forward, dX, dW */
    }
    return flops;
}
