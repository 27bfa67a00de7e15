/* slots: how many trials run at once and where: GPU groups of gpus_per_trial GPUs
 * (given with --gpus, else every GPU the backend sees), each shared by trials_per_gpu
 * slots; CPU slots (--jobs) with their threads; or, under Slurm, the allocation's job
 * steps (launcher_slurm.c plans them). The window of proposals follows from the slots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"
#include "scheduler_internal.h"
#include "trainer/backend.h"

/* Trainers on the cuda device need the GPUs they are given: each one must be among those
 * the backend sees (a build without CUDA sees none), or every trial would fail. */
static int check_gpus_visible(int n_gpus, const int *gpus, int given, vs_error *err) {
    int visible = vs_backend_gpu_discover();
    if (n_gpus == 0)
        return vs_errorf(err, "--device cuda: no GPU is visible (a build without CUDA sees none); use --device cpu");
    for (int i = 0; given && i < n_gpus; i++)
        if (gpus[i] >= visible)
            return vs_errorf(err, "--gpus: GPU %d is not visible (%d GPU%s found%s); without --gpus the sweep runs on CPU slots",
                             gpus[i], visible, visible == 1 ? "" : "s", visible ? "" : "; a build without CUDA finds none");
    return 0;
}

/* A child a slot, and the poll set that reads them all (trial_events.c). */
static void allocate_slots(sweep *w) {
    w->children = vs_xcalloc((size_t)w->n_slots, sizeof *w->children);
    w->poll_fds = vs_xcalloc(2 * (size_t)w->n_slots + 1, sizeof *w->poll_fds);
    w->poll_owner = vs_xcalloc(2 * (size_t)w->n_slots + 1, sizeof *w->poll_owner);
}

static const char *getenv_const(const char *name) { return getenv(name); }

/* Whether program is an executable file in a PATH folder. */
static int on_path(const char *program) {
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        char file[4096];
        snprintf(file, sizeof file, "%.*s/%s", (int)n, path, program);
        if (n && access(file, X_OK) == 0) return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

/* The allocation and the plan in words, for the start of the run: where the GPU count
 * came from, and each step's shape. */
static void describe_slurm(sweep *w, int cpu_only) {
    const vs_slurm_allocation *a = &w->allocation;
    const vs_slurm_plan *p = &w->plan;
    char gpus[160];
    if (a->gpus_per_node > 0)
        snprintf(gpus, sizeof gpus, "%d GPU%s a node (from %s)%s", a->gpus_per_node, a->gpus_per_node == 1 ? "" : "s",
                 a->gpus_from, cpu_only ? ", not used (--device cpu)" : "");
    else if (cpu_only && !a->gpus_from[0]) snprintf(gpus, sizeof gpus, "GPUs not looked for (--device cpu)");
    else snprintf(gpus, sizeof gpus, "no GPUs (neither the environment nor `scontrol show job` names one)");
    int ranks = vs_slurm_plan_ranks(p);
    if (p->nodes_per_step == 1 && ranks == 1)
        snprintf(w->step_note, sizeof w->step_note, "1 node, %d GPU%s and %d CPU%s", p->gpus_per_node,
                 p->gpus_per_node == 1 ? "" : "s", p->cpus_per_task, p->cpus_per_task == 1 ? "" : "s");
    else
        snprintf(w->step_note, sizeof w->step_note, "%d nodes, %d rank%s a node, each with %d GPU%s and %d CPU%s",
                 p->nodes_per_step, p->tasks_per_node, p->tasks_per_node == 1 ? "" : "s",
                 p->gpus_per_node / p->tasks_per_node, p->gpus_per_node / p->tasks_per_node == 1 ? "" : "s",
                 p->cpus_per_task, p->cpus_per_task == 1 ? "" : "s");
    snprintf(w->slots_note, sizeof w->slots_note, "Slurm job %s: %d node%s, %s, %d CPU%s a node; each trial a step of %s",
             a->job_id, a->nodes, a->nodes == 1 ? "" : "s", gpus, a->cpus_per_node, a->cpus_per_node == 1 ? "" : "s",
             w->step_note);
}

/* Under Slurm the allocation gives the slots (slurm_allocation.c), and Slurm chooses
 * each step's nodes, GPUs and CPUs. --device cpu runs the trials on CPUs whatever GPUs
 * the allocation has (its steps get none). */
static int setup_slurm_slots(sweep *w, vs_error *err) {
    const vs_run_opts *o = w->o;
    if (o->gpus_given)
        return vs_errorf(err, "--gpus does not go with --launcher slurm: Slurm chooses each trial's GPUs");
    if (!on_path("srun") || !on_path("scancel") || !on_path("scontrol"))
        return vs_errorf(err, "--launcher slurm needs Slurm's srun, scancel and scontrol, and they are not all on PATH");
    int cpu_only = o->device && !strcmp(o->device, "cpu");
    if (vs_slurm_allocation_read(&w->allocation, getenv_const, cpu_only ? NULL : vs_slurm_scontrol_job, err))
        return -1;
    vs_slurm_request r = {w->space.gpus_per_trial, w->space.trials_per_gpu, o->jobs, o->nodes_per_trial, cpu_only};
    if (vs_slurm_plan_slots(&w->allocation, &r, &w->plan, err)) return -1;
    if (o->device && !strcmp(o->device, "cuda") && !w->plan.gpus_per_node)
        return vs_errorf(err, "--device cuda: the allocation has no GPUs (neither the environment nor `scontrol show "
                              "job %s` names one)", w->allocation.job_id);
    w->slurm = 1;
    w->n_slots = w->plan.slots;
    w->n_groups = 0;
    w->device = o->device ? o->device : w->plan.gpus_per_node ? "cuda" : "cpu";
    w->threads = o->threads > 0 ? o->threads : w->plan.cpus_per_task;
    describe_slurm(w, cpu_only);
    allocate_slots(w);
    w->window = w->space.window > 0 ? w->space.window : 2 * (w->n_slots - 1);
    return 0;
}

int sched_setup_slots(sweep *w, vs_error *err) {
    const vs_run_opts *o = w->o;
    if (o->launcher == VS_LAUNCHER_SLURM) return setup_slurm_slots(w, err);
    int n_gpus = 0, gpus[VS_MAX_GPUS];
    if (o->gpus_given) {
        n_gpus = o->n_gpus;
        memcpy(gpus, o->gpus, sizeof(int) * (size_t)n_gpus);
    } else {
        n_gpus = vs_backend_gpu_discover();
        if (n_gpus > VS_MAX_GPUS) n_gpus = VS_MAX_GPUS;
        for (int i = 0; i < n_gpus; i++) gpus[i] = i;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    const char *device = o->device ? o->device : n_gpus > 0 ? "cuda" : "cpu";
    if (!strcmp(device, "cuda") && check_gpus_visible(n_gpus, gpus, o->gpus_given, err)) return -1;
    if (n_gpus > 0) {
        int per = w->space.gpus_per_trial;
        w->n_groups = n_gpus / per;
        if (w->n_groups < 1)
            return vs_errorf(err, "resources.gpus_per_trial is %d but only %d GPU%s available", per, n_gpus,
                             n_gpus == 1 ? " is" : "s are");
        w->n_slots = w->n_groups * w->space.trials_per_gpu;
        w->group_gpus = vs_xcalloc((size_t)w->n_groups, sizeof *w->group_gpus);
        for (int g = 0; g < w->n_groups; g++) {
            size_t used = 0;
            for (int k = 0; k < per; k++)
                used += (size_t)snprintf(w->group_gpus[g] + used, sizeof w->group_gpus[g] - used, "%s%d", k ? "," : "",
                                         gpus[g * per + k]);
        }
        w->device = o->device ? o->device : "cuda";
    } else {
        w->n_groups = 0;
        w->n_slots = o->jobs > 0 ? o->jobs : 1;
        w->device = o->device ? o->device : "cpu";
    }
    /* Slots x threads never above the cores: an oversubscribed machine makes OpenMP's
     * threads wait on each other (docs/performance.md). */
    w->threads = o->threads > 0 ? o->threads : (int)(cores / w->n_slots > 0 ? cores / w->n_slots : 1);
    if ((long)w->threads * w->n_slots > cores && !w->n_groups)
        sched_say(w, "note: %d slots x %d threads exceed the %ld cores; trials will wait on each other", w->n_slots,
                  w->threads, cores);
    allocate_slots(w);
    /* With one slot each trial sees every earlier one; with P slots, a trial waits only
     * for those more than 2 (P - 1) before it, so slots rarely idle. */
    w->window = w->space.window > 0 ? w->space.window : 2 * (w->n_slots - 1);
    return 0;
}

/* The GPUs of slot s: trials_per_gpu consecutive slots share a group. */
const char *sched_slot_gpus(const sweep *w, int s) {
    return w->n_groups ? w->group_gpus[s / w->space.trials_per_gpu] : NULL;
}
