/* input_files: inputs (files, or folders of files) to the list of files to read
 * (input_files.h). */
#define _POSIX_C_SOURCE 200809L

#include "input_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void add_path(vs_input_files *f, char *path) {
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->paths = vs_xrealloc(f->paths, (size_t)f->cap * sizeof *f->paths);
    }
    f->paths[f->n++] = path;
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* folder/name, without doubling a slash the folder ends with. */
static char *join(const char *folder, const char *name) {
    size_t n = strlen(folder), m = strlen(name);
    int slash = n > 0 && folder[n - 1] == '/';
    char *p = vs_xmalloc(n + m + 2);
    memcpy(p, folder, n);
    if (!slash) p[n++] = '/';
    memcpy(p + n, name, m + 1);
    return p;
}

/* The folder's regular files (or links to them), sorted: they share the folder's
 * prefix, so sorting the paths sorts the names. */
static int add_folder(vs_input_files *f, const char *folder, vs_error *err) {
    DIR *d = opendir(folder);
    if (!d) return vs_errorf(err, "%s: %s", folder, strerror(errno));
    int64_t first = f->n;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *path = join(folder, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) add_path(f, path);
        else free(path);
        errno = 0;
    }
    int read_errno = errno;
    closedir(d);
    if (read_errno) return vs_errorf(err, "%s: listing the folder failed: %s", folder, strerror(read_errno));
    if (f->n == first) return vs_errorf(err, "%s: the folder has no files to read", folder);
    qsort(f->paths + first, (size_t)(f->n - first), sizeof *f->paths, compare_paths);
    return 0;
}

int vs_input_files_expand(const char *const *inputs, int n_inputs, vs_input_files *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n_inputs; i++) {
        struct stat st;
        int rc = 0;
        if (stat(inputs[i], &st) != 0) rc = vs_errorf(err, "%s: %s", inputs[i], strerror(errno));
        else if (S_ISDIR(st.st_mode)) rc = add_folder(out, inputs[i], err);
        else add_path(out, vs_xstrdup(inputs[i]));
        if (rc) {
            vs_input_files_free(out);
            return -1;
        }
    }
    return 0;
}

void vs_input_files_free(vs_input_files *f) {
    for (int64_t i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->paths);
    memset(f, 0, sizeof *f);
}
