/* train: the training loop of vaecf-train, independent of the backend: epochs of
 * shuffled mini-batches, KL annealing, validation every eval_every epochs keeping
 * the best weights, a resumable state every checkpoint_every epochs (and when asked
 * to stop), and the test metrics of the best weights at the end. It reports progress
 * as JSON lines (docs/trainer.md). One trainer at a time uses a run folder (a lock). */
#ifndef VS_TRAIN_H
#define VS_TRAIN_H

#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "common/vs_error.h"
#include "dataset/dataset.h"

typedef struct vs_train_opts {
    const char *device;          /* "cpu" or "cuda" */
    const char *out_dir;         /* best.safetensors, state.safetensors, config.json */
    int resume;                  /* continue from out_dir/state.safetensors when it exists */
    FILE *events;                /* progress goes here (stdout) */
    int text;                    /* human-readable lines instead of JSON lines */
    volatile sig_atomic_t *stop; /* set by a signal handler: save state and return */
    int stop_after_epochs;       /* for tests: behave as if stopped after this many epochs (0: off) */
    double progress_every;       /* a "progress" line inside an epoch every this many seconds (0: none) */
    /* Data parallelism (docs/trainer.md, "Ranks"): */
    int ranks;                   /* ranks in this process, one thread each: 0 = one for cpu, every visible GPU for cuda */
    int slurm;                   /* this process is one rank of srun's tasks (SLURM_PROCID of SLURM_NTASKS) */
    int comm_always;             /* through the communicator even with one rank (checks that path) */
    double comm_timeout;         /* seconds a collective waits for the other ranks; 0: VS_COMM_DEFAULT_TIMEOUT */
} vs_train_opts;

enum { VS_TRAIN_DONE = 0, VS_TRAIN_FAILED = -1, VS_TRAIN_STOPPED = 1 };

/* Returns VS_TRAIN_DONE, VS_TRAIN_STOPPED (state saved) or VS_TRAIN_FAILED (err set). */
int vs_train_run(const vs_dataset *ds, const vs_config *cfg, const vs_train_opts *o, vs_error *err);

/* 1 when this build can train GPU ranks (it has NCCL: docs/cuda.md), else 0. */
int vs_train_has_gpu_ranks(void);

/* The permutation of n training rows used in epoch `epoch` (0-based). */
void vs_epoch_permutation(int32_t *perm, int64_t n, uint64_t seed, int64_t epoch);

#endif
