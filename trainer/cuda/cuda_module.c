/* cuda_module: the CUDA module's one exported function (cuda_module.h): the table of
 * the backend's, the devices' and NCCL's entry points, with the ABI number and the sizes
 * of the structs as this module was compiled. Everything else in the module is local
 * (module.map), so its copies of the project's helpers never mix with the program's. */
#include "cuda_module.h"

#include <cuda_runtime_api.h>

#include "backend_cuda.h"
#include "device_cuda.h"
#ifdef VS_HAVE_NCCL
#include <nccl.h>

#include "comm_nccl.h"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

const vs_cuda_module *vs_cuda_module_entry(void) __attribute__((visibility("default")));

static const vs_cuda_module table = {
    .abi = VS_CUDA_MODULE_ABI,
    .sizes = VS_CUDA_MODULE_SIZES_INIT,
#ifdef VS_HAVE_NCCL
    .built_with = "CUDA runtime " STR(CUDART_VERSION) ", NCCL " STR(NCCL_MAJOR) "." STR(NCCL_MINOR) "." STR(NCCL_PATCH),
#else
    .built_with = "CUDA runtime " STR(CUDART_VERSION) ", without NCCL",
#endif
    .device_count = vs_cuda_device_count,
    .device_problem = vs_cuda_device_problem,
    .use_device = vs_cuda_use_device,
    .backend_create = vs_backend_cuda_create,
    .metrics_from_scores = vs_cuda_metrics_from_scores,
    .backend_build_batch = vs_cuda_backend_build_batch,
    .backend_reparam = vs_cuda_backend_reparam,
    .backend_evaluate_topk = vs_cuda_backend_evaluate_topk,
    .backend_first_layer_grad = vs_cuda_backend_first_layer_grad,
    .backend_scores = vs_cuda_backend_scores,
    .backend_dense_product = vs_cuda_backend_dense_product,
    .time_dense_products = vs_cuda_time_dense_products,
#ifdef VS_HAVE_NCCL
    .comm_nccl_create_all = vs_comm_nccl_create_all,
    .comm_nccl_join = vs_comm_nccl_join,
#endif
};

const vs_cuda_module *vs_cuda_module_entry(void) { return &table; }
