/* input_files: the files that a reader's inputs stand for. An input is a file, or a
 * folder that stands for its files (the Netflix Prize's training_set/ of 17,770
 * mv_*.txt): the regular files directly in it whose names do not start with '.',
 * sorted by name in byte order, so that the order they are read in (and so the intern
 * order, and the split) does not depend on how the file system lists them. */
#ifndef VS_INPUT_FILES_H
#define VS_INPUT_FILES_H

#include <stdint.h>

#include "common/vs_error.h"

typedef struct vs_input_files {
    int64_t n, cap;
    char **paths;   /* each owned */
} vs_input_files;

/* Fills out (zeroed on entry) with the files of inputs[0..n_inputs), in order. An input
 * that does not exist, or a folder with no such file, is an error naming it. */
int vs_input_files_expand(const char *const *inputs, int n_inputs, vs_input_files *out, vs_error *err);
void vs_input_files_free(vs_input_files *f);

#endif
