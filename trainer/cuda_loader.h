/* cuda_loader: finds and loads the CUDA module (trainer/cuda/cuda_module.h,
 * docs/cuda.md "The CUDA module") the first time a program needs a GPU, so that a
 * program that never asks for one maps no CUDA library and runs where there is none.
 * Through it the programs call the functions of trainer/cuda/backend_cuda.h,
 * device_cuda.h and comm_nccl.h by their own names: in the programs those names are this
 * loader's, which forward to the module's (cuda_loader.c). */
#ifndef VS_CUDA_LOADER_H
#define VS_CUDA_LOADER_H

#include <stddef.h>

#include "common/vs_error.h"
#include "trainer/cuda/cuda_module.h"

/* The module, loaded once per process (safe from several threads): the one linked into
 * this program when it is (tests), else the file $VAESEARCH_CUDA_MODULE names, else
 * libvaesearch_cuda.so in the program's own folder. NULL when it cannot be loaded, with
 * why in err, naming the file: missing, a library it needs missing (the CUDA runtime),
 * not a module, or a module of another build (its ABI number or struct sizes differ). */
const vs_cuda_module *vs_cuda_module_load(vs_error *err);

/* Where the module is looked for: the file's path into out (n bytes). -1 with why in err
 * when the program's own folder cannot be found. */
int vs_cuda_module_path(char *out, size_t n, vs_error *err);

/* The CUDA devices visible to this process (what vs_cuda_device_count says here, under
 * this CUDA_VISIBLE_DEVICES), counted without loading CUDA into it: in this process
 * when the module is already loaded, 0 without a module file, else in a short-lived
 * child process that loads it. The answer is kept for the next call. */
int vs_cuda_device_count_apart(void);

#endif
