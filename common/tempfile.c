/* tempfile: exclusive temporary files beside their target (tempfile.h). */
#define _GNU_SOURCE /* mkostemp */
#include "tempfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vs_tempfile_beside(const char *path, char **tmp_path, vs_error *err) {
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = vs_xmalloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);   /* O_CREAT | O_EXCL: never an existing file or link */
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return vs_errorf(err, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    if (fchmod(fd, 0644)) {   /* mkstemp's 0600 would hide the result from other readers */
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return vs_errorf(err, "%s: chmod: %s", path, strerror(e));
    }
    *tmp_path = tmp;
    return fd;
}
