/* ranks: the bookkeeping of data-parallel training (docs/trainer.md, "Ranks"): which
 * rows of a batch and which held-out users are a rank's, whether the ranks' parameters
 * still agree, and, for ranks that are processes started by Slurm's srun, who this
 * process is (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) and the files in the run folder
 * through which the ranks meet. */
#ifndef VS_RANKS_H
#define VS_RANKS_H

#include <stddef.h>
#include <stdint.h>

#include "comm.h"
#include "common/vs_error.h"
#include "dataset/dataset.h"

/* Rank `rank` of `size` takes items [*lo, *hi) of n: contiguous shares in rank order,
 * the last ranks taking the larger ones, so the last rank has a row whenever n >= 1. */
void vs_rank_share(int64_t n, int rank, int size, int64_t *lo, int64_t *hi);

/* The rank's share of m's rows as a CSR of its own (entry offsets from 0, the entries
 * m's). *ptr_out holds the offsets: free it after the last use of out. */
void vs_rank_shard_csr(const vs_csr *m, int rank, int size, vs_csr *out, int64_t **ptr_out);

/* 0 when every rank's n floats are bitwise rank 0's (compared by a 64-bit hash), else
 * -1 naming the ranks that differ. Collective: every rank calls it. */
int vs_ranks_check_same(vs_comm *c, const float *v, size_t n, const char *what, vs_error *err);

/* 64-bit FNV-1a of n bytes. */
uint64_t vs_ranks_hash(const void *bytes, size_t n);

/* This process's place among srun's tasks. */
typedef struct vs_slurm_rank {
    int rank, size, local;      /* SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID */
    char step[160];             /* "JOBID.STEPID.aN", N = SLURM_RESTART_COUNT (0 when unset): names this
                                   attempt's meeting files, so that a requeued job's ranks never read the
                                   failed attempt's (its step ids start again from 0) */
} vs_slurm_rank;

/* Reads the variables srun sets; a missing or malformed one is an error naming it. */
int vs_slurm_rank_from_env(vs_slurm_rank *out, vs_error *err);

/* DIR/.ranks-STEP.KIND: the file through which the ranks of one srun step (of one
 * attempt of the job) meet; rank 0 removes it once every rank has joined, or the join
 * failed. */
void vs_ranks_meeting_path(char *buf, size_t n, const char *dir, const vs_slurm_rank *w, const char *kind);

/* Rank 0 publishes n bytes at path (written aside, then renamed into place); the
 * others wait up to timeout_s for the file and read exactly n bytes from it. */
int vs_ranks_publish(const char *path, const void *bytes, size_t n, vs_error *err);
int vs_ranks_await(const char *path, void *bytes, size_t n, double timeout_s, vs_error *err);

/* A rank waiting for the others, having waited waited_s seconds so far, pauses for
 * vs_ranks_pause_us(waited_s) microseconds: 0 (a sched_yield) for the first 2 ms, since a
 * collective of a training step ends within tens of microseconds and a sleep costs about
 * 100 with the timer's slack; then a tenth of the time waited, from 200 us up to 1 ms,
 * so that sleeping adds at most about a tenth to a long wait. */
unsigned vs_ranks_pause_us(double waited_s);
void vs_ranks_pause(double waited_s);

#endif
