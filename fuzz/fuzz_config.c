/* fuzz_config: the trainer's config file (trainer/config.c): the JSON text, every key's
 * type and range, trailing text, and the checks across keys. */
#include "fuzz_file.h"
#include "trainer/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_file f;
    fuzz_file_open(&f, data, size);
    vs_config c;
    vs_config_default(&c);
    vs_error err;
    if (vs_config_load_file(&c, f.path, &err) == 0) {
        vs_error ignore;
        (void)vs_config_validate(&c, &ignore);
    }
    fuzz_file_close(&f);
    return 0;
}
