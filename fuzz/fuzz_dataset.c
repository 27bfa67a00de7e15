/* fuzz_dataset: the .vsds reader (dataset/dataset.c). Before the bytes are read, every
 * section's CRC and the header's are recomputed (docs/dataset-format.md), so a mutation
 * is not simply refused by a checksum but reaches the structural checks behind them:
 * counts, offsets, lengths, dtypes, sorted CSR rows, string tables. */
#include <string.h>

#include <zlib.h>

#include "fuzz_file.h"
#include "dataset/dataset.h"

#define HEADER_BYTES 64
#define ENTRY_BYTES 40

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
}

/* Only what lies inside the buffer is touched: counts and sizes may say anything. */
static void reseal(uint8_t *b, size_t n) {
    if (n < HEADER_BYTES) return;
    uint64_t sections = get32(b + 24);
    if (sections > (n - HEADER_BYTES) / ENTRY_BYTES) sections = (n - HEADER_BYTES) / ENTRY_BYTES;
    for (uint64_t s = 0; s < sections; s++) {
        uint8_t *e = b + HEADER_BYTES + s * ENTRY_BYTES;
        uint64_t offset = get64(e + 16), length = get64(e + 24);
        if (offset <= n && length <= n - offset) put32(e + 32, (uint32_t)crc32(0, b + offset, (uInt)length));
    }
    uint32_t header_size = get32(b + 12);
    if (header_size >= 32 && header_size <= n) {
        memset(b + 28, 0, 4);   /* the header's CRC is taken with its own field as 0 */
        put32(b + 28, (uint32_t)crc32(0, b, header_size));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    reseal(copy, size);
    fuzz_file f;
    fuzz_file_open(&f, copy, size);
    free(copy);
    vs_dataset ds;
    vs_error err;
    if (vs_dataset_open(&ds, f.path, &err) == 0) vs_dataset_close(&ds);
    fuzz_file_close(&f);
    return 0;
}
