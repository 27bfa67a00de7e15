/* test_gpu.h: what the gpu-labelled tests share. Where they cannot run (a build without
 * CUDA, no usable GPU, and for GPU ranks a build without NCCL) they report themselves
 * skipped (exit 77), so the full suite passes anywhere; with VS_REQUIRE_GPU=1 in the
 * environment (scripts/gpu-check.sh sets it) that is a failure instead, printed with the
 * CUDA runtime's own error string (tests/cli_gpu_require.sh checks every GPU test so).
 * Also what they share to compare the backends: datasets, backends, tensor differences. */
#ifndef VS_TEST_GPU_H
#define VS_TEST_GPU_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/train.h"
#ifdef VS_HAVE_CUDA
#include "trainer/cuda/device_cuda.h"
#endif

/* The exit status of a test that cannot run here, for the reason `why` (printed): 77,
 * skipped, or under VS_REQUIRE_GPU=1 (set and not "0") 1, a failure. */
static inline int test_gpu_cannot_run(const char *why) {
    const char *require = getenv("VS_REQUIRE_GPU");
    if (require && strcmp(require, "") && strcmp(require, "0")) {
        fprintf(stderr, "FAILED: VS_REQUIRE_GPU=%s, but %s\n", require, why);
        return 1;
    }
    printf("skipped: %s\n", why);
    return 77;
}

/* The exit status when the test cannot run here (after saying why), or 0 when it can:
 * a build without CUDA, or no usable device (the CUDA runtime's error string). */
static inline int test_gpu_missing(void) {
    char why[600];
#ifndef VS_HAVE_CUDA
    snprintf(why, sizeof why, "this build has no CUDA backend (configure with -DVAESEARCH_CUDA=ON)");
#else
    const char *problem = vs_cuda_device_problem();
    if (!problem) return 0;
    snprintf(why, sizeof why, "no usable CUDA device: %s", problem);
#endif
    return test_gpu_cannot_run(why);
}

/* test_gpu_missing, and for a test of GPU ranks a build without NCCL. */
static inline int test_gpu_missing_nccl(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
    if (!vs_train_has_gpu_ranks())
        return test_gpu_cannot_run("this build has no NCCL (docs/cuda.md, \"Data parallelism\"): GPU ranks are off");
    return 0;
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

/* A reduced precision's gradient against fp32's (the CPU's), element by element, tensor
 * by tensor (bench/precision_emulation.py defines the measures and measured, emulating
 * the products' rounding, what a correct backend gives at the tests' shapes):
 *   element  max_i |g_i - r_i| / max(|r_i|, 2 rms), rms that of r's non-zero elements:
 *            every element near its reference, those near zero judged against the
 *            tensor's typical size (cancellation leaves them only rounding);
 *   line     max over the rows and the columns l of a weight (a bias: the vector) of
 *            |g_l - r_l| / max(|r_l|, rms sqrt(len l)): one wrong column or row shows,
 *            which the norm of the whole tensor would dilute (one column of 301 30% off
 *            moves the norm by 2%, this by 30%). */
typedef struct grad_diffs {
    double element, line;
} grad_diffs;

static inline grad_diffs grad_diff(const float *ref, const float *got, int rows, int cols) {
    size_t n = (size_t)rows * cols, nz = 0;
    double sq = 0;
    for (size_t i = 0; i < n; i++)
        if (ref[i] != 0) sq += (double)ref[i] * ref[i], nz++;
    double rms = nz ? sqrt(sq / (double)nz) : 1e-30;
    grad_diffs d = {0, 0};
    for (size_t i = 0; i < n; i++)
        d.element = fmax(d.element, fabs((double)got[i] - ref[i]) / fmax(fabs((double)ref[i]), 2 * rms));
    /* rows (each of cols elements), then columns (each of rows elements) */
    for (int axis = 0; axis < 2; axis++) {
        int lines = axis == 0 ? rows : cols, len = axis == 0 ? cols : rows;
        for (int l = 0; l < lines; l++) {
            double r2 = 0, d2 = 0;
            for (int j = 0; j < len; j++) {
                size_t i = axis == 0 ? (size_t)l * cols + j : (size_t)j * cols + l;
                double e = (double)got[i] - ref[i];
                r2 += (double)ref[i] * ref[i];
                d2 += e * e;
            }
            d.line = fmax(d.line, sqrt(d2) / fmax(sqrt(r2), rms * sqrt((double)len)));
        }
        if (rows == 1) break;   /* a vector: its one line is itself */
    }
    return d;
}

/* The tolerances of grad_diff for a precision's gradient against fp32's: about three
 * times the worst bench/precision_emulation.py found over its shapes and draws
 * (element: tf32 and fp16 1.5e-2, bf16 9.5e-2; line: 1.2e-3 and 1.1e-2). */
static inline grad_diffs grad_tolerance(vs_precision p) {
    grad_diffs t = {0.05, 5e-3};
    if (p == VS_BF16) t.element = 0.3, t.line = 4e-2;
    return t;
}

/* grad_diff tensor by tensor over two parameter-shaped buffers (model.h's layout),
 * printed; returns the worst of each measure. */
static inline grad_diffs compare_grads(const vs_model_shape *s, const float *ref, const float *got,
                                       const char *label) {
    grad_diffs worst = {0, 0};
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        grad_diffs w = grad_diff(ref + L->w, got + L->w, L->in, L->out);
        grad_diffs b = grad_diff(ref + L->b, got + L->b, 1, L->out);
        printf("  %s layer %d [%d x %d]: weight element %.2e line %.2e, bias element %.2e line %.2e\n", label, l,
               L->in, L->out, w.element, w.line, b.element, b.line);
        worst.element = fmax(worst.element, fmax(w.element, b.element));
        worst.line = fmax(worst.line, fmax(w.line, b.line));
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
