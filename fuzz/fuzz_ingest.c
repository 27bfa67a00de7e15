/* fuzz_ingest: the ratings-file readers (dataset/ingest.c). The first byte picks the
 * format ('0' auto, '1' csv, '2' dat, '3' tsv, '4' pairs, '5' netflix; others modulo
 * 6), the rest is the file. A malformed line must be an error naming it, never a crash. */
#include "fuzz_file.h"
#include "dataset/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    vs_ingest_opts o;
    vs_ingest_opts_default(&o);
    o.format = (vs_format)((uint8_t)(data[0] - '0') % 6);
    fuzz_file f;
    fuzz_file_open(&f, data + 1, size - 1);
    vs_interactions x = {0};
    vs_ingest_stats st;
    vs_error err;
    if (vs_ingest_file(f.path, &o, &x, &st, &err) == 0 && x.n > 0) {
        vs_strtab users = vs_idmap_table(&x.users);
        (void)users;
    }
    vs_interactions_free(&x);
    fuzz_file_close(&f);
    return 0;
}
