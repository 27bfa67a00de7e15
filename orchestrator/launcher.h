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
 * batch script or salloc shell (slurm_allocation.c). */
typedef struct vs_slurm_allocation {
    char job_id[32];             /* SLURM_JOB_ID */
    int nodes;                   /* SLURM_JOB_NUM_NODES (SLURM_NNODES) */
    int gpus_per_node;           /* SLURM_GPUS_ON_NODE, else the count of SLURM_JOB_GPUS (a batch
                                  * script), else SLURM_GPUS_PER_NODE, else SLURM_GPUS / nodes (an
                                  * salloc shell has only these), else what `scontrol show job`
                                  * says (`salloc --gres=gpu:N` leaves no variable); 0: none */
    char gpus_from[64];          /* where gpus_per_node came from (a variable's name, or "`scontrol
                                  * show job`, FIELD"); "" when nothing named a GPU */
    int cpus_per_node;           /* the fewest of SLURM_JOB_CPUS_PER_NODE ("8(x2),4"), else SLURM_CPUS_ON_NODE */
    long long mem_per_node_mb;   /* SLURM_MEM_PER_NODE; 0 when the job did not ask for memory per node */
} vs_slurm_allocation;

/* Reads the allocation through get (getenv, or a test's table). When no variable names
 * the GPUs, job_text (vs_slurm_scontrol_job, or a test's) is asked for the text of
 * `scontrol -d show job ID`, unless it is NULL (then: no GPUs). Outside an allocation
 * (no SLURM_JOB_ID), with values that do not parse, or when Slurm cannot be asked, -1
 * with err naming the variable or the command. */
int vs_slurm_allocation_read(vs_slurm_allocation *a, const char *(*get)(const char *name),
                             char *(*job_text)(const char *job_id, vs_error *err), vs_error *err);

/* The output of `scontrol -d show job JOB` (free it), or NULL with err. */
char *vs_slurm_scontrol_job(const char *job_id, vs_error *err);

/* The GPUs a node of a job of `nodes` nodes has, from the text of `scontrol -d show
 * job`: the fewest of its nodes' "GRES=gpu:2(IDX:0-1)" lines, else its TresPerNode, else
 * its TRES's gres/gpu, JOB_GRES or TresPerJob over the nodes; 0 when none names a GPU.
 * from (n bytes) says which field, "" for none; -1 when a GPU field does not parse. */
int vs_slurm_job_gpus(const char *text, int nodes, int *gpus_per_node, char *from, size_t n);

/* What a sweep asks of the allocation. */
typedef struct vs_slurm_request {
    int gpus_per_trial, trials_per_gpu;   /* resources.* of the space */
    int cpu_jobs;          /* trials at once on CPUs (--jobs; 0: one a set of nodes_per_trial nodes) */
    int nodes_per_trial;   /* nodes a trial spans (--nodes-per-trial; 0: 1, or as many as
                            * gpus_per_trial needs when it is more than a node has) */
    int cpu_only;          /* --device cpu: the trials run on CPUs; the allocation's GPUs are not used */
} vs_slurm_request;

/* How a sweep uses an allocation: its slots (trials at once) and each step's shape. */
typedef struct vs_slurm_plan {
    int slots;                   /* trials at once */
    int nodes_per_step;          /* -N of each step: 1, or more for a trial that spans nodes */
    int tasks_per_node;          /* processes (ranks) a node of a step: 1, or one a GPU on several nodes */
    int gpus_per_node;           /* --gres=gpu:G of each step, on each of its nodes (0: --gres=none) */
    int cpus_per_task;           /* --cpus-per-task of each step */
    long long mem_mb_per_node;   /* --mem of each step, on each of its nodes; 0: srun's default */
} vs_slurm_plan;

/* With GPUs: a trial takes gpus_per_trial GPUs, all on one node when they fit, else
 * spread evenly over nodes_per_trial nodes (default: as few as hold them), a rank a
 * GPU; each node's CPUs and memory are split evenly between the steps on it. A GPU is a
 * step's own under Slurm, so trials_per_gpu must be 1. Without GPUs (or cpu_only):
 * cpu_jobs steps in all, a rank a node, each with its share of a node. A refusal names
 * the cause (the GPUs a node and where that count came from, when they ask for more
 * CPUs than there are). */
int vs_slurm_plan_slots(const vs_slurm_allocation *a, const vs_slurm_request *r, vs_slurm_plan *p, vs_error *err);

/* Processes a step runs (nodes_per_step x tasks_per_node): above 1, the trainer runs as
 * srun's ranks (vaecf-train --ranks slurm). */
static inline int vs_slurm_plan_ranks(const vs_slurm_plan *p) { return p->nodes_per_step * p->tasks_per_node; }

/* srun's command line for one step that runs argv (NULL-terminated; free it with
 * vs_slurm_argv_free): `srun --exact -N K -n R [--ntasks-per-node=T] --gres=gpu:G|none
 * --cpus-per-task=C [--mem=MM] [--kill-on-bad-exit=1] --job-name=NAME`, then a shell
 * that prints a "slurm_step" line (rank 0 alone: the step's job and step ids and its
 * node, or nodes) and becomes the trainer. A step of several ranks ends as soon as one
 * of them fails (--kill-on-bad-exit): the others would wait for it in vain. */
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
