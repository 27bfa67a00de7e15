/* fuzz_safetensors: safetensors files (trainer/safetensors.c) and models in them
 * (trainer/model_io.c), as `vaesearch recommend` and `--resume` read them: the header's
 * JSON, dtypes, shapes, offsets against the file's size, then a model's metadata and
 * tensor shapes against its config, before any memory is sized from it. */
#include "fuzz_file.h"
#include "trainer/model_io.h"
#include "trainer/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_file f;
    fuzz_file_open(&f, data, size);
    vs_st_file st;
    vs_error err;
    if (vs_st_read(f.path, &st, &err) == 0) {
        /* Each tensor's first and last byte: out of the buffer, AddressSanitizer says so. */
        volatile unsigned sum = 0;
        for (int i = 0; i < st.n_tensors; i++) {
            const vs_st_tensor *t = &st.tensors[i];
            size_t bytes = vs_dtype_size(t->dtype);
            for (int d = 0; d < t->ndim; d++) bytes *= (size_t)t->shape[d];
            if (bytes) sum += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[bytes - 1];
        }
        vs_st_free(&st);
        vs_model_file m;
        if (vs_model_load(f.path, &m, &err) == 0) vs_model_file_free(&m);
    }
    fuzz_file_close(&f);
    return 0;
}
