/* test_gpu.h: what the gpu-labelled tests share. Where they cannot run (a build without
 * CUDA, no usable GPU) they report themselves skipped (exit 77), so the full suite
 * passes anywhere; with VS_REQUIRE_GPU=1 in the environment (scripts/gpu-check.sh sets
 * it) that is a failure instead, printed with the CUDA runtime's own error string.
 * Also what they share to compare the backends: datasets, backends, tensor differences. */
#ifndef VS_TEST_GPU_H
#define VS_TEST_GPU_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VS_HAVE_CUDA
#include "trainer/cuda/device_cuda.h"
#endif

/* The exit status when the test cannot run here (after saying why), or 0 when it can. */
static inline int test_gpu_missing(void) {
    const char *require = getenv("VS_REQUIRE_GPU");
    int required = require && strcmp(require, "") && strcmp(require, "0");
    char why[600];
#ifndef VS_HAVE_CUDA
    snprintf(why, sizeof why, "this build has no CUDA backend (configure with -DVAESEARCH_CUDA=ON)");
#else
    const char *problem = vs_cuda_device_problem();
    if (!problem) return 0;
    snprintf(why, sizeof why, "no usable CUDA device: %s", problem);
#endif
    if (required) {
        fprintf(stderr, "FAILED: VS_REQUIRE_GPU=%s, but %s\n", require, why);
        return 1;
    }
    printf("skipped: %s\n", why);
    return 77;
}

#ifdef VS_HAVE_CUDA
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/cuda/backend_cuda.h"

/* The dataset that synth options generate, split by the paper's protocol; exits on error. */
static inline void gpu_test_dataset(const vs_synth_opts *so, vs_dataset *ds) {
    vs_error err = {{0}};
    if (vs_synth_dataset(so, NULL, ds, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        exit(1);
    }
}

static inline void gpu_test_preset(const char *preset, vs_dataset *ds) {
    vs_error err = {{0}};
    vs_synth_opts so;
    if (vs_synth_preset(preset, &so, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        exit(1);
    }
    gpu_test_dataset(&so, ds);
}

/* A backend on ds's training rows; exits when it cannot be created. */
static inline vs_backend *gpu_test_backend(const char *device, const vs_config *cfg, const vs_dataset *ds) {
    vs_error err = {{0}};
    vs_backend *b = vs_backend_create(device, cfg, &ds->train, ds->n_items, &err);
    if (!b) {
        fprintf(stderr, "create %s (%s): %s\n", device, vs_precision_name(cfg->precision), err.msg);
        exit(1);
    }
    return b;
}

/* Largest |a - b| relative to the largest |a|, and |a - b| / |a| in the 2-norm. */
typedef struct tensor_diffs {
    double max, norm;
} tensor_diffs;

static inline tensor_diffs tensor_diff(const float *a, const float *b, size_t n) {
    double amax = 0, dmax = 0, a2 = 0, d2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], d = (double)a[i] - (double)b[i];
        amax = fmax(amax, fabs(x));
        dmax = fmax(dmax, fabs(d));
        a2 += x * x;
        d2 += d * d;
    }
    tensor_diffs t = {amax > 0 ? dmax / amax : dmax, a2 > 0 ? sqrt(d2 / a2) : sqrt(d2)};
    return t;
}

/* Compares two whole parameter-shaped buffers tensor by tensor (model.h's layout);
 * prints each tensor's differences and returns the worst of each kind. */
static inline tensor_diffs compare_tensors(const vs_model_shape *s, const float *ref, const float *got,
                                           const char *label) {
    tensor_diffs worst = {0, 0};
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        tensor_diffs w = tensor_diff(ref + L->w, got + L->w, (size_t)L->in * L->out);
        tensor_diffs b = tensor_diff(ref + L->b, got + L->b, (size_t)L->out);
        printf("  %s layer %d [%d x %d]: weight %.2e (norm %.2e), bias %.2e (norm %.2e)\n", label, l, L->in, L->out,
               w.max, w.norm, b.max, b.norm);
        worst.max = fmax(worst.max, fmax(w.max, b.max));
        worst.norm = fmax(worst.norm, fmax(w.norm, b.norm));
    }
    return worst;
}

static inline double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

static inline int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}
#endif

#endif
