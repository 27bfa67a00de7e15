/* fuzz_file: the fuzz targets' way to hand bytes to readers that take a path: an
 * anonymous in-memory file (memfd), named through /proc/self/fd. Nothing touches the
 * disk, so millions of inputs leave nothing behind. (memfd_create needs _GNU_SOURCE,
 * which fuzz/CMakeLists.txt defines for every target.) */
#ifndef VS_FUZZ_FILE_H
#define VS_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct fuzz_file {
    int fd;
    char path[64];
} fuzz_file;

/* Makes a file holding data; aborts if the system cannot (not a finding). */
static inline void fuzz_file_open(fuzz_file *f, const uint8_t *data, size_t n) {
    f->fd = memfd_create("vaesearch-fuzz", MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(f->fd, data + done, n - done);
        if (w <= 0) {
            perror("write");
            abort();
        }
        done += (size_t)w;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

static inline void fuzz_file_close(fuzz_file *f) { close(f->fd); }

#endif
