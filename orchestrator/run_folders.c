/* run_folders: a sweep's run folder and its trials' folders, whose each one is, and
 * the paths results.db keeps (run_folders.h). */
#define _GNU_SOURCE
#include "run_folders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/json_exact.h"
#include "common/strbuf.h"
#include "common/tempfile.h"

/* ---- paths ---- */

/* The parts of path appended to out (which holds an absolute path, "" for the root),
 * "." and empty parts dropped and ".." removing the last part. */
static void append_parts(char *out, size_t n, const char *path) {
    const char *p = path;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(out, '/');
            if (slash) *slash = 0;
        } else if (len && !(len == 1 && p[0] == '.')) {
            size_t used = strlen(out);
            snprintf(out + used, n - used, "/%.*s", (int)len, p);
        }
        p += len;
        while (*p == '/') p++;
    }
}

int vs_runs_absolute(const char *path, char *out, size_t n, vs_error *err) {
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return vs_errorf(err, "the working folder: %s", strerror(errno));
    if (strlen(cwd) + strlen(path) + 2 > n) return vs_errorf(err, "%s: path too long", path);
    out[0] = 0;
    append_parts(out, n, cwd);
    append_parts(out, n, path);
    if (!out[0]) snprintf(out, n, "/");
    return 0;
}

int vs_runs_db_folder(const char *db_path, char *out, size_t n, vs_error *err) {
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", db_path);
    char *slash = strrchr(folder, '/');
    if (!slash) snprintf(folder, sizeof folder, ".");
    else if (slash == folder) folder[1] = 0;
    else *slash = 0;
    return vs_runs_absolute(folder, out, n, err);
}

void vs_runs_resolve(const char *db_folder, const char *stored, char *out, size_t n) {
    if (stored[0] == '/') {
        snprintf(out, n, "%s", stored);
        return;
    }
    snprintf(out, n, "%s", strcmp(db_folder, "/") ? db_folder : "");
    append_parts(out, n, stored);
    if (!out[0]) snprintf(out, n, "/");
}

void vs_runs_relative(const char *db_folder, const char *abs, char *out, size_t n) {
    size_t len = strcmp(db_folder, "/") ? strlen(db_folder) : 0;
    if (abs[0] == '/' && !strncmp(abs, db_folder, len) && abs[len] == '/' && abs[len + 1])
        snprintf(out, n, "%s", abs + len + 1);
    else if (!strcmp(abs, db_folder))
        snprintf(out, n, ".");
    else
        snprintf(out, n, "%s", abs);
}

/* ---- the marker files ---- */

/* A small JSON file, read without following a link planted in its place; NULL when it
 * is missing, a link, not a regular file or not JSON. */
static cJSON *read_json(const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    char buf[65536];
    ssize_t got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    if (got < 0) return NULL;
    buf[got] = 0;
    return cJSON_Parse(buf);
}

/* Writes a JSON file whole or not at all: a temporary file renamed over path, so that
 * nothing planted at path is written through. */
static int write_json(const char *path, const cJSON *o, vs_error *err) {
    char *tmp = NULL, *text = vs_json_print_exact(o);
    int fd = vs_tempfile_beside(path, &tmp, err), rc = -1;
    if (fd >= 0) {
        size_t len = strlen(text);
        int ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
        int e = errno;
        if (close(fd) || !ok) vs_errorf(err, "%s: %s", tmp, strerror(ok ? errno : e));
        else if (rename(tmp, path)) vs_errorf(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        else rc = 0;
        if (rc) unlink(tmp);
    }
    free(tmp);
    free(text);
    return rc;
}

static const char *json_string(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int vs_runs_sweep_of(const char *folder, const char *uid, char other[64]) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", folder, VS_RUNS_SWEEP_FILE);
    cJSON *o = read_json(path);
    const char *id = json_string(o, "sweep_id");
    snprintf(other, 64, "%s", id ? id : "");
    int ours = id && !strcmp(id, uid);
    cJSON_Delete(o);
    return ours;
}

/* 1 when folder holds nothing (or is missing), else 0. */
static int is_empty(const char *folder) {
    DIR *d = opendir(folder);
    if (!d) return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

static int mkdir_p(const char *path, vs_error *err) {
    char tmp[4096];
    if (strlen(path) >= sizeof tmp) return vs_errorf(err, "%s: path too long", path);
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
    return 0;
}

/* ---- claiming ---- */

int vs_runs_claim(const char *parent, const char *name, const char *uid, const char *db_abs, int adopt, char *out,
                  size_t n, vs_error *err) {
    if (mkdir_p(parent, err)) return -1;
    for (int k = 1; k < 10000; k++) {
        char folder[4096], other[64];
        if (k == 1) snprintf(folder, sizeof folder, "%s/%s", parent, name);
        else snprintf(folder, sizeof folder, "%s/%s-%d", parent, name, k);
        int ours = 0;
        /* Creating the folder is the claim: of two sweeps that try at once, one succeeds. */
        if (mkdir(folder, 0777) == 0) ours = 1;
        else if (errno != EEXIST) return vs_errorf(err, "%s: %s", folder, strerror(errno));
        else {
            struct stat st;
            if (lstat(folder, &st) || !S_ISDIR(st.st_mode)) continue;   /* a file, a link: not a folder to use */
            if (vs_runs_sweep_of(folder, uid, other)) {
                snprintf(out, n, "%s", folder);
                return 0;
            }
            ours = !other[0] && ((k == 1 && adopt) || is_empty(folder));
        }
        if (!ours) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "sweep_id", uid);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "database", db_abs);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", folder, VS_RUNS_SWEEP_FILE);
        int rc = write_json(path, o, err);
        cJSON_Delete(o);
        if (rc) return -1;
        snprintf(out, n, "%s", folder);
        return 0;
    }
    return vs_errorf(err, "%s: no free run folder for sweep '%s' (%s-2 to -9999 are taken)", parent, name, name);
}

int vs_runs_trial_folder(const char *home, int number, const char *uid, int adopt, char *dir, size_t n, char *why,
                         size_t why_n, vs_error *err) {
    snprintf(dir, n, "%s/trial-%d", home, number);
    char owner_path[4200];
    snprintf(owner_path, sizeof owner_path, "%s/%s", dir, VS_RUNS_OWNER_FILE);
    if (mkdir(dir, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    /* The trial's own folder must be one: a link planted in its place would send the
     * trainer's files elsewhere. */
    struct stat st;
    if (lstat(dir, &st)) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return vs_errorf(err, "%s: not a folder (a symbolic link?); refusing to use it", dir);
    if (vs_runs_is_trials(dir, uid, number)) return 0;
    cJSON *owner = read_json(owner_path);
    const char *id = json_string(owner, "sweep_id");
    const cJSON *trial = cJSON_GetObjectItemCaseSensitive(owner, "trial");
    int rc = 0;
    if (id || cJSON_IsNumber(trial))
        rc = 1, snprintf(why, why_n, "its run folder %s belongs to trial %.0f of sweep %s (its %s); it was left as it is",
                         dir, cJSON_IsNumber(trial) ? trial->valuedouble : -1.0, id ? id : "?", VS_RUNS_OWNER_FILE);
    else if (owner || (!adopt && !is_empty(dir)))
        rc = 1, snprintf(why, why_n, "its run folder %s holds files that are not this trial's (no %s names it); they were "
                                     "left as they are", dir, VS_RUNS_OWNER_FILE);
    cJSON_Delete(owner);
    if (rc) return rc;
    owner = cJSON_CreateObject();
    cJSON_AddStringToObject(owner, "sweep_id", uid);
    cJSON_AddNumberToObject(owner, "trial", number);
    rc = write_json(owner_path, owner, err);
    cJSON_Delete(owner);
    return rc;
}

/* ---- a trial's state, and the disk ---- */

int vs_runs_is_trials(const char *dir, const char *uid, int number) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, VS_RUNS_OWNER_FILE);
    cJSON *owner = read_json(path);
    const char *id = json_string(owner, "sweep_id");
    const cJSON *trial = cJSON_GetObjectItemCaseSensitive(owner, "trial");
    int mine = id && !strcmp(id, uid) && cJSON_IsNumber(trial) && trial->valuedouble == number;
    cJSON_Delete(owner);
    return mine;
}

int vs_runs_drop_state(const char *dir, vs_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, VS_RUNS_STATE_FILE);
    if (unlink(path) && errno != ENOENT) return vs_errorf(err, "%s: %s", path, strerror(errno));
    DIR *d = opendir(dir);
    if (!d) return 0;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.tmp.", VS_RUNS_STATE_FILE);   /* common/tempfile.h's names */
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    return 0;
}

static int64_t disk_bytes;

static int add_use(const char *path, const struct stat *st, int type, struct FTW *f) {
    (void)path, (void)type, (void)f;
    disk_bytes += (int64_t)st->st_blocks * 512;
    return 0;
}

int vs_runs_disk_use(const char *path, int64_t *bytes, vs_error *err) {
    disk_bytes = 0;
    if (nftw(path, add_use, 16, FTW_PHYS)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    *bytes = disk_bytes;
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f) {
    (void)st, (void)f;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int vs_runs_remove(const char *folder, vs_error *err) {
    if (nftw(folder, remove_one, 16, FTW_DEPTH | FTW_PHYS)) return vs_errorf(err, "%s: cannot remove it: %s", folder, strerror(errno));
    return 0;
}
