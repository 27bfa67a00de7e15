/* test_gpu_backend (label gpu): the CUDA backend computes what the CPU backend computes.
 * On the `small` synthetic preset:
 *   1. fp32: the same users and step give the same losses (1e-5 relative) and the same
 *      gradient (every element within 1e-4 of its tensor's largest |g|), with and
 *      without the L2 penalty, and for no hidden layer and two hidden layers on a
 *      partial batch; tf32's differences are printed (and loosely bounded)
 *   2. fp32: 3 epochs of the same steps on both give validation metrics within 0.002
 *   3. tf32, bf16, fp16: 15 epochs each reach NDCG@100 within 0.005 of fp32's
 *   4. fp16 with a starting loss scale of 3e38: the first steps overflow and are
 *      skipped (parameters and Adam's moments untouched), the scale backs off, and
 *      training then goes on to a sane loss
 *   5. get_state / set_state round-trip the parameters and moments exactly
 * Skipped (77) without a CUDA build or a GPU. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/train.h"
#ifdef VS_HAVE_CUDA
#include "trainer/cuda/backend_cuda.h"
#include "trainer/cuda/rng_cuda.h"
#endif

#ifdef VS_HAVE_CUDA

static vs_dataset ds;
static int32_t *perm;

static void make_dataset(void) {
    vs_error err = {{0}};
    vs_synth_opts so;
    vs_interactions pairs = {0};
    vs_protocol_opts po;
    if (vs_synth_preset("small", &so, &err) || vs_synth_generate(&so, &pairs, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        exit(1);
    }
    vs_protocol_opts_default(&po);
    po.heldout_users = so.heldout_users;
    po.seed = so.seed;
    if (vs_protocol_split(&pairs, &po, NULL, &ds, NULL, &err)) {
        fprintf(stderr, "split: %s\n", err.msg);
        exit(1);
    }
    vs_interactions_free(&pairs);
    perm = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
}

static void base_config(vs_config *cfg) {
    vs_config_default(cfg);
    cfg->batch_size = 500;
    cfg->total_anneal_steps = 0;   /* beta = anneal_cap = 0.2 from the start: the KL term counts */
}

static vs_backend *create(const char *device, const vs_config *cfg) {
    vs_error err = {{0}};
    vs_backend *b = vs_backend_create(device, cfg, &ds.train, ds.n_items, &err);
    if (!b) {
        fprintf(stderr, "create %s (%s): %s\n", device, vs_precision_name(cfg->precision), err.msg);
        exit(1);
    }
    return b;
}

/* Largest |a - b| over a tensor, relative to the tensor's largest |a|. */
static double tensor_rel_diff(const float *a, const float *b, size_t n) {
    double amax = 0, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        amax = fmax(amax, fabs((double)a[i]));
        dmax = fmax(dmax, fabs((double)a[i] - (double)b[i]));
    }
    return amax > 0 ? dmax / amax : dmax;
}

/* Compares the GPU's gradient with the CPU's tensor by tensor; returns the worst
 * relative difference and prints each tensor's. */
static double compare_grads(const vs_model_shape *s, const float *cpu, const float *gpu, const char *label) {
    double worst = 0;
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        double dw = tensor_rel_diff(cpu + L->w, gpu + L->w, (size_t)L->in * L->out);
        double db = tensor_rel_diff(cpu + L->b, gpu + L->b, (size_t)L->out);
        printf("  %s layer %d [%d x %d]: weight %.2e, bias %.2e\n", label, l, L->in, L->out, dw, db);
        worst = fmax(worst, fmax(dw, db));
    }
    return worst;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

/* 1. One step's losses and gradient, CPU against GPU. */
static void check_gradients(double lambda) {
    vs_config cfg;
    base_config(&cfg);
    cfg.lambda = lambda;
    vs_backend *cpu = create("cpu", &cfg), *gpu = create("cuda", &cfg);
    const vs_model_shape *s = &cpu->shape;
    size_t n = s->n_params;
    float *g_cpu = malloc(n * sizeof(float)), *g_gpu = malloc(n * sizeof(float));
    float *p_cpu = malloc(n * sizeof(float)), *p_gpu = malloc(n * sizeof(float));
    vs_error err = {{0}};
    /* both initialise from the seed: the same parameters, bit for bit */
    CHECK_OK(cpu->ops->get_state(cpu, p_cpu, NULL, NULL, &err), &err);
    CHECK_OK(gpu->ops->get_state(gpu, p_gpu, NULL, NULL, &err), &err);
    CHECK(memcmp(p_cpu, p_gpu, n * sizeof(float)) == 0);

    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 3);
    int rows = ds.train.rows < 500 ? (int)ds.train.rows : 500;
    int64_t step = 17;
    vs_step_losses lc, lg;
    CHECK_OK(cpu->ops->loss_and_grad(cpu, perm, rows, step, 0.2, &lc, g_cpu, &err), &err);
    CHECK_OK(gpu->ops->loss_and_grad(gpu, perm, rows, step, 0.2, &lg, g_gpu, &err), &err);
    printf("fp32, lambda %g: loss cpu %.8f gpu %.8f; neg_ll %.8f / %.8f; kl %.8f / %.8f; l2 %.8g / %.8g\n", lambda,
           lc.loss, lg.loss, lc.neg_ll, lg.neg_ll, lc.kl, lg.kl, lc.l2, lg.l2);
    CHECK_MSG(rel(lg.loss, lc.loss) < 1e-5, "loss %.10g vs %.10g", lg.loss, lc.loss);
    CHECK_MSG(rel(lg.neg_ll, lc.neg_ll) < 1e-5, "neg_ll %.10g vs %.10g", lg.neg_ll, lc.neg_ll);
    CHECK_MSG(rel(lg.kl, lc.kl) < 1e-5, "kl %.10g vs %.10g", lg.kl, lc.kl);
    if (lambda > 0) CHECK_MSG(rel(lg.l2, lc.l2) < 1e-5, "l2 %.10g vs %.10g", lg.l2, lc.l2);
    double worst = compare_grads(s, g_cpu, g_gpu, "fp32");
    CHECK_MSG(worst < 1e-4, "fp32 gradient differs by %.3e of its tensor's largest element", worst);

    if (lambda == 0) {
        /* tf32 rounds the products' inputs to 10-bit mantissas: printed, loosely bounded */
        vs_config t = cfg;
        t.precision = VS_TF32;
        vs_backend *tf = create("cuda", &t);
        vs_step_losses lt;
        CHECK_OK(tf->ops->loss_and_grad(tf, perm, rows, step, 0.2, &lt, g_gpu, &err), &err);
        double wt = compare_grads(s, g_cpu, g_gpu, "tf32");
        printf("tf32: loss %.8f (relative difference %.2e), worst gradient difference %.2e\n", lt.loss,
               rel(lt.loss, lc.loss), wt);
        CHECK_MSG(rel(lt.loss, lc.loss) < 1e-2, "tf32 loss %.8g vs fp32 %.8g", lt.loss, lc.loss);
        CHECK_MSG(wt < 0.1, "tf32 gradient differs by %.3e", wt);
        vs_backend_destroy(tf);
    }
    free(g_cpu), free(g_gpu), free(p_cpu), free(p_gpu);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
}

/* 1b. Other shapes, fp32: no hidden layer (the encoder is the sparse layer alone, the
 * decoder one product) and two hidden layers (products between tanh layers on both
 * sides), on a partial batch (rows not a multiple of anything the kernels use). */
static void check_gradients_shape(int n_hidden, const int *dims) {
    vs_config cfg;
    base_config(&cfg);
    cfg.n_hidden = n_hidden;
    for (int i = 0; i < n_hidden; i++) cfg.hidden_dims[i] = dims[i];
    cfg.lambda = 0.01;
    vs_backend *cpu = create("cpu", &cfg), *gpu = create("cuda", &cfg);
    const vs_model_shape *s = &cpu->shape;
    size_t n = s->n_params;
    float *g_cpu = malloc(n * sizeof(float)), *g_gpu = malloc(n * sizeof(float));
    vs_error err = {{0}};
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 5);
    int rows = ds.train.rows < 333 ? (int)ds.train.rows : 333;
    vs_step_losses lc, lg;
    CHECK_OK(cpu->ops->loss_and_grad(cpu, perm, rows, 4, 0.2, &lc, g_cpu, &err), &err);
    CHECK_OK(gpu->ops->loss_and_grad(gpu, perm, rows, 4, 0.2, &lg, g_gpu, &err), &err);
    printf("fp32, %d hidden layers: loss cpu %.8f gpu %.8f\n", n_hidden, lc.loss, lg.loss);
    CHECK_MSG(rel(lg.loss, lc.loss) < 1e-5, "%d hidden: loss %.10g vs %.10g", n_hidden, lg.loss, lc.loss);
    double worst = compare_grads(s, g_cpu, g_gpu, "shape");
    CHECK_MSG(worst < 1e-4, "%d hidden: gradient differs by %.3e", n_hidden, worst);
    free(g_cpu), free(g_gpu);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
}

/* Trains b for `epochs` epochs of the training loop's batches; returns the last
 * epoch's mean loss (and the first's in *first when not NULL). */
static double train_epochs_first(vs_backend *b, const vs_config *cfg, int epochs, double *first) {
    int64_t n = ds.train.rows, step = 0;
    double last = 0;
    vs_error err = {{0}};
    for (int e = 0; e < epochs; e++) {
        vs_epoch_permutation(perm, n, cfg->seed, e);
        double sum = 0;
        for (int64_t r0 = 0; r0 < n; r0 += cfg->batch_size, step++) {
            int rows = (int)(n - r0 < cfg->batch_size ? n - r0 : cfg->batch_size);
            vs_step_losses l;
            if (b->ops->train_step(b, perm + r0, rows, step, vs_config_beta(cfg, step), &l, &err)) {
                fprintf(stderr, "train_step (%s): %s\n", vs_precision_name(cfg->precision), err.msg);
                test_failed++;
                return NAN;
            }
            sum += l.loss * rows;
        }
        last = sum / (double)n;
        if (e == 0 && first) *first = last;
    }
    return last;
}

static double train_epochs(vs_backend *b, const vs_config *cfg, int epochs) {
    return train_epochs_first(b, cfg, epochs, NULL);
}

static vs_metrics validate(vs_backend *b) {
    vs_metric_sums sums = {0};
    vs_metrics m = {0};
    vs_error err = {{0}};
    CHECK_OK(b->ops->evaluate(b, &ds.val_in, &ds.val_out, &sums, &err), &err);
    vs_metrics_finish(&sums, &m);
    return m;
}

/* 2. Three epochs on both backends. */
static void check_training_matches_cpu(void) {
    vs_config cfg;
    base_config(&cfg);
    vs_backend *cpu = create("cpu", &cfg), *gpu = create("cuda", &cfg);
    double lc = train_epochs(cpu, &cfg, 3), lg = train_epochs(gpu, &cfg, 3);
    vs_metrics mc = validate(cpu), mg = validate(gpu);
    printf("3 epochs: loss cpu %.6f gpu %.6f; ndcg@100 cpu %.5f gpu %.5f; recall@20 %.5f / %.5f; recall@50 %.5f / "
           "%.5f (%lld users)\n",
           lc, lg, mc.ndcg100, mg.ndcg100, mc.recall20, mg.recall20, mc.recall50, mg.recall50, (long long)mg.users);
    CHECK(mc.users == mg.users && mg.users > 0);
    CHECK_NEAR(mg.ndcg100, mc.ndcg100, 0.002);
    CHECK_NEAR(mg.recall20, mc.recall20, 0.002);
    CHECK_NEAR(mg.recall50, mc.recall50, 0.002);
    CHECK_MSG(rel(lg, lc) < 1e-3, "epoch-3 loss %.8g vs %.8g", lg, lc);

    /* 5. the state round-trips: GPU state -> host -> a fresh GPU backend -> host */
    size_t n = gpu->shape.n_params;
    float *p = malloc(n * sizeof(float)), *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    float *p2 = malloc(n * sizeof(float)), *m2 = malloc(n * sizeof(float)), *v2 = malloc(n * sizeof(float));
    vs_error err = {{0}};
    CHECK_OK(gpu->ops->get_state(gpu, p, m, v, &err), &err);
    vs_backend *fresh = create("cuda", &cfg);
    CHECK_OK(fresh->ops->set_state(fresh, p, m, v, &err), &err);
    CHECK_OK(fresh->ops->get_state(fresh, p2, m2, v2, &err), &err);
    CHECK(!memcmp(p, p2, n * sizeof(float)) && !memcmp(m, m2, n * sizeof(float)) && !memcmp(v, v2, n * sizeof(float)));
    vs_metrics mf = validate(fresh);
    CHECK_NEAR(mf.ndcg100, mg.ndcg100, 1e-12);   /* same weights, same kernels */
    free(p), free(m), free(v), free(p2), free(m2), free(v2);
    vs_backend_destroy(fresh);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
}

/* 3. Each reduced precision against fp32 after 15 epochs. */
static void check_precisions(void) {
    enum { EPOCHS = 15 };
    vs_config cfg;
    base_config(&cfg);
    vs_backend *ref = create("cuda", &cfg);
    double loss32 = train_epochs(ref, &cfg, EPOCHS);
    vs_metrics m32 = validate(ref);
    CHECK(ref->ops->loss_scaler(ref) == NULL);
    vs_backend_destroy(ref);
    printf("fp32, %d epochs: loss %.5f, ndcg@100 %.5f\n", EPOCHS, loss32, m32.ndcg100);
    static const vs_precision others[] = {VS_TF32, VS_BF16, VS_FP16};
    for (int i = 0; i < 3; i++) {
        vs_config c = cfg;
        c.precision = others[i];
        vs_backend *b = create("cuda", &c);
        double loss = train_epochs(b, &c, EPOCHS);
        vs_metrics m = validate(b);
        vs_loss_scaler *sc = b->ops->loss_scaler(b);
        printf("%s, %d epochs: loss %.5f, ndcg@100 %.5f (fp32 %.5f)", vs_precision_name(c.precision), EPOCHS, loss,
               m.ndcg100, m32.ndcg100);
        if (sc) printf(", loss scale %g, %lld skipped steps", sc->scale, (long long)sc->skipped_steps);
        printf("\n");
        CHECK_MSG(fabs(m.ndcg100 - m32.ndcg100) <= 0.005, "%s ndcg@100 %.5f vs fp32 %.5f",
                  vs_precision_name(c.precision), m.ndcg100, m32.ndcg100);
        CHECK_MSG(isfinite(loss) && rel(loss, loss32) < 0.02, "%s loss %.6g vs fp32 %.6g",
                  vs_precision_name(c.precision), loss, loss32);
        CHECK((sc != NULL) == (c.precision == VS_FP16));
        vs_backend_destroy(b);
    }
}

/* 4. A scale far past fp16's range: overflow, skip, back off, recover. */
static void check_forced_overflow(void) {
    enum { EPOCHS = 6 };
    vs_config cfg;
    base_config(&cfg);
    vs_backend *ref = create("cuda", &cfg);
    double loss32 = train_epochs(ref, &cfg, EPOCHS);
    vs_backend_destroy(ref);

    cfg.precision = VS_FP16;
    cfg.loss_scale = 3e38;
    cfg.loss_scale_backoff = 1e-4;   /* reach fp16's range in a handful of steps, not 100 */
    vs_backend *b = create("cuda", &cfg);
    vs_loss_scaler *sc = b->ops->loss_scaler(b);
    CHECK(sc != NULL);
    if (!sc) {
        vs_backend_destroy(b);
        return;
    }
    size_t n = b->shape.n_params;
    float *before = malloc(n * sizeof(float)), *after = malloc(n * sizeof(float));
    float *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    vs_error err = {{0}};
    CHECK_OK(b->ops->get_state(b, before, NULL, NULL, &err), &err);
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 0);
    vs_step_losses l;
    CHECK_OK(b->ops->train_step(b, perm, cfg.batch_size, 0, vs_config_beta(&cfg, 0), &l, &err), &err);
    CHECK_OK(b->ops->get_state(b, after, m, v, &err), &err);
    printf("fp16 at scale 3e38: step 0 loss %.5f, scale now %g, %lld skipped\n", l.loss, sc->scale,
           (long long)sc->skipped_steps);
    CHECK(sc->skipped_steps == 1);
    CHECK(sc->scale < 3e38);
    CHECK(isfinite(l.loss));   /* the loss itself is unscaled and fine */
    CHECK_MSG(!memcmp(before, after, n * sizeof(float)), "a skipped step changed the parameters");
    size_t moved = 0;   /* Adam's moments start at zero and a skipped step leaves them there */
    for (size_t i = 0; i < n; i++) moved += m[i] != 0.0f || v[i] != 0.0f;
    CHECK_MSG(moved == 0, "a skipped step changed %zu of Adam's moments", moved);
    vs_backend_destroy(b);

    b = create("cuda", &cfg);
    sc = b->ops->loss_scaler(b);
    double first = NAN, loss = train_epochs_first(b, &cfg, EPOCHS, &first);
    printf("fp16 from scale 3e38, %d epochs: loss %.5f (first epoch %.5f; fp32 %.5f), scale %g, %lld skipped steps\n",
           EPOCHS, loss, first, loss32, sc->scale, (long long)sc->skipped_steps);
    CHECK(sc->skipped_steps > 0 && sc->skipped_steps < 20);
    CHECK(sc->scale < 1e10);
    /* sane: finite, lower than before any update, and near fp32's (which had all its
     * updates, so a loose bound) */
    CHECK_MSG(isfinite(loss) && loss < first, "loss %.6g after the overflows, %.6g in the first epoch", loss, first);
    CHECK_MSG(rel(loss, loss32) < 0.25, "loss %.6g after the overflows vs fp32 %.6g", loss, loss32);
    free(before), free(after), free(m), free(v);
    vs_backend_destroy(b);
}

#endif

int main(void) {
    if (test_gpu_missing()) return 77;
#ifdef VS_HAVE_CUDA
    make_dataset();
    printf("data: %lld train users, %lld items, %lld validation users\n", (long long)ds.train.rows,
           (long long)ds.n_items, (long long)ds.val_in.rows);
    check_gradients(0.0);
    check_gradients(0.01);
    static const int two_hidden[] = {96, 48};
    check_gradients_shape(0, NULL);
    check_gradients_shape(2, two_hidden);
    check_training_matches_cpu();
    check_precisions();
    check_forced_overflow();
    free(perm);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
