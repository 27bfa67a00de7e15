/* run_dir: a trainer's run folder (config.json, state.safetensors, best.safetensors),
 * which one trainer at a time uses. */
#ifndef VS_RUN_DIR_H
#define VS_RUN_DIR_H

#include "config.h"
#include "common/vs_error.h"

/* Creates dir when it does not exist. */
int vs_run_dir_make(const char *dir, vs_error *err);

/* An exclusive lock on DIR/lock, released by the kernel when the process ends however it
 * ends. A trainer still saving its state after a signal holds it; a successor waits for
 * it (up to wait_seconds) and then resumes that state. *fd_out: close it to release. */
int vs_run_dir_lock(const char *dir, double wait_seconds, int *fd_out, vs_error *err);

/* DIR/config.json: the config the run trains with. */
int vs_run_dir_write_config(const char *dir, const vs_config *cfg, vs_error *err);

#endif
