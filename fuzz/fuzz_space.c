/* fuzz_space: the search-space reader (space/space_parse.c): the JSON text, its checks, and
 * for a space it accepts, the grid size and a trial's config at the low end of every
 * range (the first choice), as the scheduler asks for them. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_file.h"
#include "space/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    vs_space s;
    vs_error err;
    if (vs_space_parse(text, "space.json", &s, &err) == 0) {
        vs_error ignore;
        (void)vs_space_grid_size(&s, &ignore);
        double *v = calloc((size_t)s.n_params + 1, sizeof *v);
        if (!v) abort();
        for (int p = 0; p < s.n_params; p++)
            v[p] = s.params[p].kind == VS_PARAM_CATEGORICAL || s.params[p].kind == VS_PARAM_CONSTANT ? 0 : s.params[p].low;
        cJSON *cfg = vs_space_trial_config(&s, v);
        cJSON_Delete(cfg);
        free(v);
        vs_space_free(&s);
    }
    free(text);
    return 0;
}
