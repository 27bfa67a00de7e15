/* replay: runs a fuzz target without libFuzzer: every file of the given folders (or the
 * given files) goes once through LLVMFuzzerTestOneInput. Each fuzz_<parser>.c links with
 * it under the normal compiler, so every build's ctest replays the seed corpora and the
 * reproducers kept there. A folder without any file is an error: nothing would be tested. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            data = realloc(data, cap);
            if (!data) abort();
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        perror(path);
        free(data);
        return -1;
    }
    /* An exact-size copy, as libFuzzer passes it, so a read past the end is caught. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) abort();
    memcpy(exact, data, n);
    free(data);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_FOLDER_OR_FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st)) {
            perror(argv[a]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[a])) return 1;
            total++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            perror(argv[a]);
            return 1;
        }
        char **names = NULL;
        int n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, sizeof *names * (size_t)(n + 1));
            size_t len = strlen(argv[a]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            snprintf(names[n++], len, "%s/%s", argv[a], e->d_name);
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof *names, by_name);
        int files = 0;
        for (int i = 0; i < n; i++) {
            if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(names[i])) return 1;
                files++;
            }
            free(names[i]);
        }
        free(names);
        if (!files) {
            fprintf(stderr, "%s: no input files\n", argv[a]);
            return 1;
        }
        printf("%s: %d inputs replayed\n", argv[a], files);
        total += files;
    }
    printf("%d inputs, no crash\n", total);
    return 0;
}
