/* cuda_loader: the CUDA module loaded with dlopen on first use, its table checked, and
 * the functions of backend_cuda.h, device_cuda.h and comm_nccl.h forwarded to it
 * (cuda_loader.h). The module is never unloaded: CUDA's libraries do not expect it. */
#define _GNU_SOURCE
#include "cuda_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trainer/cuda/backend_cuda.h"
#include "trainer/cuda/comm_nccl.h"
#include "trainer/cuda/device_cuda.h"

#ifdef VS_HAVE_CUDA
#define MISSING_WHY                                                                                          \
    "it is built beside the programs (cmake --build) and must stay in their folder, or " VS_CUDA_MODULE_ENV \
    " must name it"
#else
#define MISSING_WHY \
    "this build has no CUDA backend (configure with -DVAESEARCH_CUDA=ON on a machine with the CUDA toolkit)"
#endif

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const vs_cuda_module *loaded;
static vs_error load_error;

int vs_cuda_module_path(char *out, size_t n, vs_error *err) {
    const char *env = getenv(VS_CUDA_MODULE_ENV);
    if (env && *env) {
        if (snprintf(out, n, "%s", env) >= (int)n) return vs_errorf(err, "%s: the path is too long", VS_CUDA_MODULE_ENV);
        return 0;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len < 0 || len >= (ssize_t)sizeof exe - 1)
        return vs_errorf(err, "cannot find this program's folder, where the CUDA module is (/proc/self/exe: %s); set %s "
                              "to the module's path",
                         len < 0 ? strerror(errno) : "path too long", VS_CUDA_MODULE_ENV);
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    if (snprintf(out, n, "%s/%s", exe, VS_CUDA_MODULE_FILE) >= (int)n)
        return vs_errorf(err, "%s/%s: the path is too long", exe, VS_CUDA_MODULE_FILE);
    return 0;
}

/* Refuses a module compiled from other headers than this program (cuda_module.h). */
static int check_table(const vs_cuda_module *m, const char *where, vs_error *err) {
    if (!m) return vs_errorf(err, "the CUDA module %s gave no table", where);
    if (m->abi != VS_CUDA_MODULE_ABI)
        return vs_errorf(err, "the CUDA module %s has ABI %d, this program ABI %d: it comes from another build of "
                              "vaesearch; rebuild both (cmake --build) or remove it",
                         where, m->abi, VS_CUDA_MODULE_ABI);
    static const char *names[] = {"vs_config", "vs_csr", "vs_backend", "vs_comm", "vs_error",
                                  "vs_metric_sums", "vs_step_losses", "vs_model_shape"};
    const vs_cuda_module_sizes ours = VS_CUDA_MODULE_SIZES_INIT;
    const size_t *a = &ours.config, *b = &m->sizes.config;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (a[i] != b[i])
            return vs_errorf(err, "the CUDA module %s has ABI %d but a %s of %zu bytes where this program's has %zu: it "
                                  "comes from another build of vaesearch; rebuild both (cmake --build) or remove it",
                             where, m->abi, names[i], b[i], a[i]);
    return 0;
}

static const vs_cuda_module *load(vs_error *err) {
    /* a program linked with the module (the tests) has it already */
    vs_cuda_module_entry_fn entry = (vs_cuda_module_entry_fn)dlsym(RTLD_DEFAULT, VS_CUDA_MODULE_ENTRY);
    if (entry) {
        const vs_cuda_module *m = entry();
        return check_table(m, "linked into this program", err) ? NULL : m;
    }
    char path[4200];
    if (vs_cuda_module_path(path, sizeof path, err)) return NULL;
    if (access(path, F_OK) != 0) {
        const char *env = getenv(VS_CUDA_MODULE_ENV);
        if (env && *env) vs_errorf(err, "the CUDA module %s (named by %s) is missing: %s", path, VS_CUDA_MODULE_ENV, strerror(errno));
        else vs_errorf(err, "the CUDA module %s is missing: %s", path, errno == ENOENT ? MISSING_WHY : strerror(errno));
        return NULL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        vs_errorf(err, "cannot load the CUDA module %s: %s (a library it needs, the CUDA runtime, cuBLAS or NCCL, is "
                       "missing or not on the library path: `ldd %s` lists them)",
                  path, why ? why : "dlopen failed", path);
        return NULL;
    }
    entry = (vs_cuda_module_entry_fn)dlsym(h, VS_CUDA_MODULE_ENTRY);
    if (!entry) {
        vs_errorf(err, "%s is not a vaesearch CUDA module: it has no %s", path, VS_CUDA_MODULE_ENTRY);
        dlclose(h);
        return NULL;
    }
    const vs_cuda_module *m = entry();
    if (check_table(m, path, err)) {
        dlclose(h);
        return NULL;
    }
    return m;
}

static void load_once_fn(void) { loaded = load(&load_error); }

const vs_cuda_module *vs_cuda_module_load(vs_error *err) {
    pthread_once(&load_once, load_once_fn);
    if (!loaded && err) *err = load_error;
    return loaded;
}

/* Counting in a child: its CUDA libraries, their threads and memory go with it. */
static pthread_once_t count_once = PTHREAD_ONCE_INIT;
static int count_apart;

static int count_in_child(void) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return vs_cuda_device_count();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return vs_cuda_device_count();
    }
    if (pid == 0) {
        close(fds[0]);
        int n = vs_cuda_device_count();
        ssize_t w = write(fds[1], &n, sizeof n);
        _exit(w == (ssize_t)sizeof n ? 0 : 1);
    }
    close(fds[1]);
    int n = 0;
    ssize_t got;
    do got = read(fds[0], &n, sizeof n);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return got == (ssize_t)sizeof n ? n : 0;
}

static void count_once_fn(void) {
    char path[4200];
    if (dlsym(RTLD_DEFAULT, VS_CUDA_MODULE_ENTRY) || loaded) count_apart = vs_cuda_device_count();
    else if (vs_cuda_module_path(path, sizeof path, NULL) != 0 || access(path, F_OK) != 0) count_apart = 0;
    else count_apart = count_in_child();
}

int vs_cuda_device_count_apart(void) {
    pthread_once(&count_once, count_once_fn);
    return count_apart;
}

/* The module's functions by their own names (backend_cuda.h, device_cuda.h, comm_nccl.h). */

int vs_cuda_device_count(void) {
    const vs_cuda_module *m = vs_cuda_module_load(NULL);
    return m ? m->device_count() : 0;
}

const char *vs_cuda_device_problem(void) {
    const vs_cuda_module *m = vs_cuda_module_load(NULL);
    return m ? m->device_problem() : load_error.msg;   /* why the module did not load */
}

int vs_cuda_use_device(int index, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    if (!m) return vs_error_prefix(err, "GPU %d", index);
    return m->use_device(index, err);
}

vs_backend *vs_backend_cuda_create(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    if (!m) {
        vs_error why = *err;
        vs_errorf(err, "--device cuda: %s; use --device cpu", why.msg);
        return NULL;
    }
    return m->backend_create(cfg, train, n_items, err);
}

int vs_cuda_metrics_from_scores(const float *scores_host, int rows, int n_items, const vs_csr *fold_in,
                                const vs_csr *targets, vs_metric_sums *out, int32_t *topk_out, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->metrics_from_scores(scores_host, rows, n_items, fold_in, targets, out, topk_out, err) : -1;
}

int vs_cuda_backend_build_batch(vs_backend *b, const int32_t *users, int rows, int64_t step, int64_t *ptr_out,
                                int32_t *idx_out, float *val_out, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_build_batch(b, users, rows, step, ptr_out, idx_out, val_out, err) : -1;
}

int vs_cuda_backend_reparam(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *mulv,
                            float *eps_out, float *z_out, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_reparam(b, users, rows, step, mulv, eps_out, z_out, err) : -1;
}

int vs_cuda_backend_evaluate_topk(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                                  int32_t *topk_out, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_evaluate_topk(b, fold_in, targets, sums, topk_out, err) : -1;
}

int vs_cuda_backend_first_layer_grad(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *dy,
                                     int64_t *in_ptr_out, int32_t *in_idx_out, float *in_val_out, float *dW_out,
                                     vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_first_layer_grad(b, users, rows, step, dy, in_ptr_out, in_idx_out, in_val_out, dW_out, err)
             : -1;
}

int vs_cuda_backend_scores(vs_backend *b, const vs_csr *fold_in, int rows, float *scores_out, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_scores(b, fold_in, rows, scores_out, err) : -1;
}

int vs_cuda_backend_dense_product(vs_backend *b, int layer, int rows, const float *x, const float *W, float *y,
                                  vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->backend_dense_product(b, layer, rows, x, W, y, err) : -1;
}

int vs_cuda_time_dense_products(const vs_model_shape *s, vs_precision p, int rows, int reps,
                                double *seconds_per_step, double *flops_per_step, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    return m ? m->time_dense_products(s, p, rows, reps, seconds_per_step, flops_per_step, err) : -1;
}

/* NULL in a module built without NCCL. */
static const vs_cuda_module *nccl_module(int size, vs_error *err) {
    const vs_cuda_module *m = vs_cuda_module_load(err);
    if (!m) {
        vs_error_prefix(err, "%d GPU ranks", size);
        return NULL;
    }
    if (!m->comm_nccl_create_all || !m->comm_nccl_join) {
        vs_errorf(err, "%d GPU ranks: the CUDA module was built without NCCL (%s; docs/cuda.md, \"Data parallelism\")",
                  size, m->built_with);
        return NULL;
    }
    return m;
}

int vs_comm_nccl_create_all(int size, double timeout_s, vs_comm **comms, vs_error *err) {
    const vs_cuda_module *m = nccl_module(size, err);
    return m ? m->comm_nccl_create_all(size, timeout_s, comms, err) : -1;
}

vs_comm *vs_comm_nccl_join(const char *id_path, int rank, int size, double timeout_s, vs_error *err) {
    const vs_cuda_module *m = nccl_module(size, err);
    return m ? m->comm_nccl_join(id_path, rank, size, timeout_s, err) : NULL;
}
