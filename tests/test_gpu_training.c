/* test_gpu_training (label gpu): the CUDA backend trains as the CPU backend does, over
 * whole epochs of the `small` synthetic preset:
 *   1. fp32: 3 epochs of the same steps on both give validation metrics within 0.002
 *      and the same epoch loss within 1e-3; get_state / set_state then round-trip the
 *      parameters and moments exactly, and a fresh backend given them evaluates alike
 *   2. tf32, bf16, fp16: 15 epochs each reach NDCG@100 within 0.005 of fp32's and a loss
 *      within 2%
 *   3. fp16 from a starting loss scale of 3e38: the first step overflows and is skipped
 *      (parameters and Adam's moments untouched), the scale backs off, and training
 *      then goes on to a sane loss
 *   4. run to run: two backends of the same seed train 2 epochs to the same bits
 *      (parameters and both Adam moments), in fp32 and fp16, with and without the L2
 *      penalty; one of them first computes a gradient with loss_and_grad (no Adam step),
 *      which must leave nothing behind; and after a train_step, the next batch's
 *      gradient equals, to the bit, that of a fresh backend given the same state (the
 *      first layer's gradient rows are back to zero: by_item.cuh, adam.cuh)
 * Single steps against the CPU are test_gpu_backend's. Skipped (77) without a CUDA
 * build or a GPU; failed then when VS_REQUIRE_GPU=1. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "trainer/train.h"

#ifdef VS_HAVE_CUDA

static vs_dataset ds;
static int32_t *perm;

static void base_config(vs_config *cfg) {
    vs_config_default(cfg);
    cfg->batch_size = 500;
    cfg->total_anneal_steps = 0;   /* beta = anneal_cap = 0.2 from the start: the KL term counts */
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

/* 1. Three epochs on both backends. */
static void check_training_matches_cpu(void) {
    vs_config cfg;
    base_config(&cfg);
    vs_backend *cpu = gpu_test_backend("cpu", &cfg, &ds), *gpu = gpu_test_backend("cuda", &cfg, &ds);
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

    /* the state round-trips: GPU state -> host -> a fresh GPU backend -> host */
    size_t n = gpu->shape.n_params;
    float *p = malloc(n * sizeof(float)), *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    float *p2 = malloc(n * sizeof(float)), *m2 = malloc(n * sizeof(float)), *v2 = malloc(n * sizeof(float));
    vs_error err = {{0}};
    CHECK_OK(gpu->ops->get_state(gpu, p, m, v, &err), &err);
    vs_backend *fresh = gpu_test_backend("cuda", &cfg, &ds);
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

/* 2. Each reduced precision against fp32 after 15 epochs. */
static void check_precisions(void) {
    enum { EPOCHS = 15 };
    vs_config cfg;
    base_config(&cfg);
    vs_backend *ref = gpu_test_backend("cuda", &cfg, &ds);
    double loss32 = train_epochs(ref, &cfg, EPOCHS);
    vs_metrics m32 = validate(ref);
    CHECK(ref->ops->loss_scaler(ref) == NULL);
    vs_backend_destroy(ref);
    printf("fp32, %d epochs: loss %.5f, ndcg@100 %.5f\n", EPOCHS, loss32, m32.ndcg100);
    static const vs_precision others[] = {VS_TF32, VS_BF16, VS_FP16};
    for (int i = 0; i < 3; i++) {
        vs_config c = cfg;
        c.precision = others[i];
        vs_backend *b = gpu_test_backend("cuda", &c, &ds);
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

/* 3. A scale far past fp16's range: overflow, skip, back off, recover. */
static void check_forced_overflow(void) {
    enum { EPOCHS = 6 };
    vs_config cfg;
    base_config(&cfg);
    vs_backend *ref = gpu_test_backend("cuda", &cfg, &ds);
    double loss32 = train_epochs(ref, &cfg, EPOCHS);
    vs_backend_destroy(ref);

    cfg.precision = VS_FP16;
    cfg.loss_scale = 3e38;
    cfg.loss_scale_backoff = 1e-4;   /* reach fp16's range in a handful of steps, not 100 */
    vs_backend *b = gpu_test_backend("cuda", &cfg, &ds);
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

    b = gpu_test_backend("cuda", &cfg, &ds);
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

/* 4. The same bits, run to run. */
static void check_same_bits_twice(void) {
    static const struct {
        vs_precision p;
        double lambda;
    } cases[] = {{VS_FP32, 0}, {VS_FP32, 0.01}, {VS_FP16, 0}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        vs_config cfg;
        base_config(&cfg);
        cfg.precision = cases[ci].p;
        cfg.lambda = cases[ci].lambda;
        const char *p = vs_precision_name(cfg.precision);
        vs_backend *a = gpu_test_backend("cuda", &cfg, &ds), *b = gpu_test_backend("cuda", &cfg, &ds);
        size_t n = a->shape.n_params;
        float *s[6];
        for (int i = 0; i < 6; i++) s[i] = malloc(n * sizeof(float));
        vs_error err = {{0}};
        vs_step_losses l;
        vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 7);
        CHECK_OK(b->ops->loss_and_grad(b, perm, cfg.batch_size, 3, 0.2, &l, s[0], &err), &err);
        train_epochs(a, &cfg, 2);
        train_epochs(b, &cfg, 2);
        CHECK_OK(a->ops->get_state(a, s[0], s[1], s[2], &err), &err);
        CHECK_OK(b->ops->get_state(b, s[3], s[4], s[5], &err), &err);
        int same = !memcmp(s[0], s[3], n * sizeof(float)) && !memcmp(s[1], s[4], n * sizeof(float)) &&
                   !memcmp(s[2], s[5], n * sizeof(float));
        printf("%s, lambda %g: two runs of 2 epochs, the same bits: %s\n", p, cfg.lambda, same ? "yes" : "NO");
        CHECK_MSG(same, "%s, lambda %g: two runs of the same seed differ", p, cfg.lambda);

        /* a train_step, then the next batch's gradient against a fresh backend's */
        vs_backend *fresh = gpu_test_backend("cuda", &cfg, &ds);
        CHECK_OK(a->ops->train_step(a, perm, cfg.batch_size, 100, 0.2, &l, &err), &err);
        CHECK_OK(a->ops->get_state(a, s[0], s[1], s[2], &err), &err);
        CHECK_OK(fresh->ops->set_state(fresh, s[0], s[1], s[2], &err), &err);
        vs_loss_scaler *sa = a->ops->loss_scaler(a), *sf = fresh->ops->loss_scaler(fresh);
        if (sa && sf) *sf = *sa;   /* fp16: the same scale */
        CHECK_OK(a->ops->loss_and_grad(a, perm + cfg.batch_size, cfg.batch_size, 101, 0.2, &l, s[3], &err), &err);
        CHECK_OK(fresh->ops->loss_and_grad(fresh, perm + cfg.batch_size, cfg.batch_size, 101, 0.2, &l, s[4], &err),
                 &err);
        CHECK_MSG(!memcmp(s[3], s[4], n * sizeof(float)),
                  "%s, lambda %g: after a train_step the next gradient differs from a fresh backend's", p, cfg.lambda);
        for (int i = 0; i < 6; i++) free(s[i]);
        vs_backend_destroy(fresh);
        vs_backend_destroy(a);
        vs_backend_destroy(b);
    }
}

#endif

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    gpu_test_preset("small", &ds);
    perm = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
    printf("data: %lld train users, %lld items, %lld validation users\n", (long long)ds.train.rows,
           (long long)ds.n_items, (long long)ds.val_in.rows);
    check_training_matches_cpu();
    check_precisions();
    check_forced_overflow();
    check_same_bits_twice();
    free(perm);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
