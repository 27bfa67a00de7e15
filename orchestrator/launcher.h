/* launcher: how the scheduler starts a trial's trainer and follows it. A launcher turns
 * the trainer's command line into a running process whose stdout (the JSON event lines)
 * and stderr the scheduler reads through two non-blocking pipes, signals and reaps.
 * The local launcher runs the trainer as a child of this process; the Slurm launcher
 * (launcher_slurm.c) runs it as a job step of the allocation vaesearch runs in, through
 * an srun child, so that the scheduler follows srun exactly as it follows a trainer. */
#ifndef VS_LAUNCHER_H
#define VS_LAUNCHER_H

#include <sys/types.h>

#include "common/vs_error.h"

typedef struct vs_launch {
    char *const *argv;      /* the trainer's command line, NULL-terminated */
    const char *gpus;       /* CUDA_VISIBLE_DEVICES for the trainer ("0,1"), or NULL: unchanged */
    const char *const *unset_env;   /* variables the child must not inherit (NULL-terminated), or NULL */
} vs_launch;

typedef struct vs_trial_process {
    pid_t pid;
    int fd_out, fd_err;     /* read ends, non-blocking and close-on-exec; -1 once closed */
} vs_trial_process;

/* Starts l's command as a child in its own process group (a terminal's Ctrl-C reaches
 * only vaesearch, which passes it on), which gets SIGTERM if vaesearch dies, so that it
 * saves its state and stops. */
int vs_launch_local(const vs_launch *l, vs_trial_process *p, vs_error *err);

/* ---- Slurm (docs/slurm.md) ---- */

typedef enum vs_launcher_kind { VS_LAUNCHER_LOCAL = 0, VS_LAUNCHER_SLURM } vs_launcher_kind;

/* The allocation `vaesearch run` runs in, as Slurm describes it in the environment of a
 * batch script or salloc shell. */
typedef struct vs_slurm_allocation {
    char job_id[32];             /* SLURM_JOB_ID */
    int nodes;                   /* SLURM_JOB_NUM_NODES (SLURM_NNODES) */
    int gpus_per_node;           /* SLURM_GPUS_ON_NODE, else the count of SLURM_JOB_GPUS (a batch
                                  * script), else SLURM_GPUS_PER_NODE, else SLURM_GPUS / nodes (an
                                  * salloc shell has only these); 0: none */
    int cpus_per_node;           /* the fewest of SLURM_JOB_CPUS_PER_NODE ("8(x2),4"), else SLURM_CPUS_ON_NODE */
    long long mem_per_node_mb;   /* SLURM_MEM_PER_NODE; 0 when the job did not ask for memory per node */
} vs_slurm_allocation;

/* Reads the allocation through get (getenv, or a test's table). Outside an allocation
 * (no SLURM_JOB_ID) or with values that do not parse, -1 with err naming the variable. */
int vs_slurm_allocation_read(vs_slurm_allocation *a, const char *(*get)(const char *name), vs_error *err);

/* How a sweep uses an allocation: its slots (trials at once) and each step's share. */
typedef struct vs_slurm_plan {
    int slots;                   /* trials at once */
    int gpus_per_step;           /* --gpus of each step (0: none) */
    int cpus_per_step;           /* --cpus-per-task of each step */
    long long mem_mb_per_step;   /* --mem of each step; 0: srun's default */
} vs_slurm_plan;

/* With GPUs: gpus_per_node / gpus_per_trial steps a node, each with that node's CPUs
 * and memory split evenly; a GPU is a step's own under Slurm, so trials_per_gpu must be 1.
 * Without GPUs: cpu_jobs steps in all (0: one a node), each with its share of a node. */
int vs_slurm_plan_slots(const vs_slurm_allocation *a, int gpus_per_trial, int trials_per_gpu, int cpu_jobs,
                        vs_slurm_plan *p, vs_error *err);

/* srun's command line for one step that runs argv (NULL-terminated; free it with
 * vs_slurm_argv_free): `srun --exact -N1 -n1 [--gpus=G] --cpus-per-task=C [--mem=MM]
 * --job-name=NAME`, then a shell that prints a "slurm_step" line (the step's job and step
 * ids and node, as the step sees them) and becomes the trainer. */
char **vs_slurm_step_argv(const vs_slurm_plan *p, const char *name, char *const *argv);
void vs_slurm_argv_free(char **argv);

/* Runs argv as a step of the allocation: the srun above as a local child, without the
 * job-wide requests (SLURM_GPUS_PER_NODE, SLURM_MEM_PER_NODE, ...) that srun would
 * otherwise take from the batch environment; Slurm sets CUDA_VISIBLE_DEVICES. */
int vs_launch_slurm(const vs_slurm_plan *p, const char *name, char *const *argv, vs_trial_process *proc,
                    vs_error *err);

/* Sends sig (SIGTERM, SIGKILL or SIGINT) to the step "JOB.STEP" with `scancel --signal`;
 * Slurm passes it to the trainer. srun answers SIGTERM by killing its step at once
 * (SIGKILL), so a trainer asked to save its state and stop must be signalled this way. */
int vs_slurm_signal_step(const char *step, int sig, vs_error *err);

/* Slurm's own word on a step, from a line of srun's stderr, copied into out without the
 * program's prefix and stars: slurmstepd's banner "STEP 12.3 ON node1 CANCELLED AT ..."
 * (returns 2: it names the step's state), or an error of srun or slurmstepd such as
 * "node1: task 0: Out Of Memory" (returns 1). 0 for any other line. */
int vs_slurm_note(const char *line, char *out, size_t n);

/* A Slurm time ("minutes", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS") in
 * seconds, or -1 when s is none of these. */
long long vs_slurm_time_seconds(const char *s);

#endif
