/* fake_cuda_module: a stand-in for the CUDA module (trainer/cuda/cuda_module.h), built
 * without CUDA, so that cli_cuda_module.sh tests the loader in every build: it sees
 * $FAKE_CUDA_DEVICES devices (0 when unset), and its backend refuses to be created,
 * saying so. Compiled with FAKE_STALE=1 it claims the next ABI number, with FAKE_STALE=2
 * a vs_config 8 bytes larger: modules of another build, which the loader must refuse. */
#include <stdio.h>
#include <stdlib.h>

#include "trainer/cuda/cuda_module.h"

#ifndef FAKE_STALE
#define FAKE_STALE 0
#endif

static int fake_count(void) {
    const char *n = getenv("FAKE_CUDA_DEVICES");
    return n ? atoi(n) : 0;
}

static const char *fake_problem(void) { return fake_count() > 0 ? NULL : "fake CUDA module: no device"; }

static int fake_use_device(int index, vs_error *err) {
    if (index >= 0 && index < fake_count()) return 0;
    snprintf(err->msg, sizeof err->msg, "fake CUDA module: no GPU %d", index);
    return -1;
}

static vs_backend *fake_backend_create(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err) {
    snprintf(err->msg, sizeof err->msg, "fake CUDA module: no backend here (%lld items)", (long long)n_items);
    return NULL;
}

const vs_cuda_module *vs_cuda_module_entry(void);

const vs_cuda_module *vs_cuda_module_entry(void) {
    static vs_cuda_module table = {
        .abi = VS_CUDA_MODULE_ABI + (FAKE_STALE == 1),
        .sizes = VS_CUDA_MODULE_SIZES_INIT,
        .built_with = "no CUDA (a test's stand-in)",
        .device_count = fake_count,
        .device_problem = fake_problem,
        .use_device = fake_use_device,
        .backend_create = fake_backend_create,
    };
    if (FAKE_STALE == 2) table.sizes.config = sizeof(vs_config) + 8;
    return &table;
}
