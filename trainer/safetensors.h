/* safetensors: reading and writing the safetensors format (an 8-byte little-endian
 * header length, a JSON header naming each tensor's dtype, shape and byte range,
 * then the raw little-endian data), so Python users can open vaesearch's models
 * with `safetensors.numpy.load_file` or `torch` as they are. Writes are atomic:
 * a temporary file in the same folder, fsync, then rename. */
#ifndef VS_SAFETENSORS_H
#define VS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/vs_error.h"

typedef enum vs_dtype { VS_F32 = 0, VS_F64, VS_I32, VS_I64, VS_U8 } vs_dtype;

#define VS_ST_MAX_DIMS 4

typedef struct vs_st_tensor {
    const char *name;
    vs_dtype dtype;
    int ndim;
    int64_t shape[VS_ST_MAX_DIMS];
    const void *data;     /* product(shape) elements of dtype */
} vs_st_tensor;

/* Metadata: n_meta (key, value) string pairs stored under "__metadata__". */
int vs_st_write(const char *path, const vs_st_tensor *tensors, int n_tensors,
                const char *const (*meta)[2], int n_meta, vs_error *err);

typedef struct vs_st_file {
    void *buf;            /* the whole file */
    size_t len;
    int n_tensors;
    vs_st_tensor *tensors; /* data points into buf */
    char **tensor_names;
    int n_meta;
    char **meta_keys, **meta_values;
} vs_st_file;

/* Reads and validates a whole file (header JSON, dtypes, byte ranges inside the file,
 * ranges not overlapping). Errors name the path and the problem. */
int vs_st_read(const char *path, vs_st_file *out, vs_error *err);
const vs_st_tensor *vs_st_find(const vs_st_file *f, const char *name);
const char *vs_st_meta(const vs_st_file *f, const char *key);
void vs_st_free(vs_st_file *f);
size_t vs_dtype_size(vs_dtype t);

#endif
