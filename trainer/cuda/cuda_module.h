/* cuda_module: the contract between the programs and the CUDA module
 * (libvaesearch_cuda.so, docs/cuda.md "The CUDA module"). The CUDA backend, its kernels,
 * cuBLAS and NCCL live in that shared library, which the programs load at run time
 * (trainer/cuda_loader.c) only when a GPU is asked for, so that nothing else maps a CUDA
 * library. The module exports one C function, VS_CUDA_MODULE_ENTRY, returning a table of
 * the functions of backend_cuda.h, device_cuda.h and comm_nccl.h. Both sides pass the
 * project's structs (vs_config, vs_csr, vs_backend, vs_comm, vs_error) to each other, so
 * both must be compiled from the same headers: the table carries an ABI number (raise
 * VS_CUDA_MODULE_ABI whenever this table or a struct that crosses changes) and the sizes
 * of those structs, and the loader refuses a module whose numbers differ from its own. */
#ifndef VS_CUDA_MODULE_H
#define VS_CUDA_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "trainer/backend.h"
#include "trainer/comm.h"

#define VS_CUDA_MODULE_ABI 2
#define VS_CUDA_MODULE_FILE "libvaesearch_cuda.so"   /* looked for beside the program */
#define VS_CUDA_MODULE_ENV "VAESEARCH_CUDA_MODULE"   /* a path that overrides where */
#define VS_CUDA_MODULE_ENTRY "vs_cuda_module_entry"

/* The sizes of the structs that cross, as one side was compiled. */
typedef struct vs_cuda_module_sizes {
    size_t config, csr, backend, comm, error, metric_sums, step_losses, model_shape;
} vs_cuda_module_sizes;

#define VS_CUDA_MODULE_SIZES_INIT                                                                             \
    {sizeof(vs_config),      sizeof(vs_csr),         sizeof(vs_backend),    sizeof(vs_comm), sizeof(vs_error), \
     sizeof(vs_metric_sums), sizeof(vs_step_losses), sizeof(vs_model_shape)}

typedef struct vs_cuda_module {
    int abi;                     /* first, at offset 0, in every version */
    vs_cuda_module_sizes sizes;
    const char *built_with;      /* "CUDA 13.0, NCCL 2.28.9": for messages */
    /* device_cuda.h */
    int (*device_count)(void);
    const char *(*device_problem)(void);
    /* backend_cuda.h */
    int (*use_device)(int index, vs_error *err);
    vs_backend *(*backend_create)(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err);
    int (*metrics_from_scores)(const float *scores_host, int rows, int n_items, const vs_csr *fold_in,
                               const vs_csr *targets, vs_metric_sums *out, int32_t *topk_out, vs_error *err);
    int (*backend_build_batch)(vs_backend *b, const int32_t *users, int rows, int64_t step, int64_t *ptr_out,
                               int32_t *idx_out, float *val_out, vs_error *err);
    int (*backend_reparam)(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *mulv,
                           float *eps_out, float *z_out, vs_error *err);
    int (*backend_evaluate_topk)(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                                 int32_t *topk_out, vs_error *err);
    int (*backend_first_layer_grad)(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *dy,
                                    int64_t *in_ptr_out, int32_t *in_idx_out, float *in_val_out, float *dW_out,
                                    vs_error *err);
    int (*backend_scores)(vs_backend *b, const vs_csr *fold_in, int rows, float *scores_out, vs_error *err);
    int (*backend_dense_product)(vs_backend *b, int layer, int rows, const float *x, const float *W, float *y,
                                 vs_error *err);
    int (*time_dense_products)(const vs_model_shape *s, vs_precision p, int rows, int reps, double *seconds_per_step,
                               double *flops_per_step, vs_error *err);
    /* comm_nccl.h; both NULL in a module built without NCCL */
    int (*comm_nccl_create_all)(int size, double timeout_s, vs_comm **comms, vs_error *err);
    vs_comm *(*comm_nccl_join)(const char *id_path, int rank, int size, double timeout_s, vs_error *err);
} vs_cuda_module;

typedef const vs_cuda_module *(*vs_cuda_module_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
