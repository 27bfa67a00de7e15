/* tempfile: the temporary file a writer fills before renaming it over its target, made
 * so that nothing planted in advance (a symbolic link in a shared folder) can redirect
 * the write: an unpredictable name beside the target, created exclusively (mkstemp). */
#ifndef VS_TEMPFILE_H
#define VS_TEMPFILE_H

#include "vs_error.h"

/* Creates "<path>.tmp.XXXXXX" (mode 0644) and returns its descriptor (close-on-exec),
 * *tmp_path set to its name (caller frees); -1 with err naming path on failure. */
int vs_tempfile_beside(const char *path, char **tmp_path, vs_error *err);

#endif
