/* launcher_slurm: each trial as a job step of the Slurm allocation `vaesearch run` runs
 * in (launcher.h, docs/slurm.md): srun's command line for a step, signals to a step, and
 * Slurm's own word on how a step ended. The allocation and the plan of steps are
 * slurm_allocation.c's. */
#define _GNU_SOURCE
#include "launcher.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* ---- a step ---- */

/* What the step's shell prints before it becomes the trainer: the ids Slurm gave it, and
 * its node (its nodes, when it spans several), once for the step: by its first rank. */
static const char step_script[] =
    "n=$SLURMD_NODENAME; [ \"${SLURM_STEP_NUM_NODES:-1}\" -gt 1 ] && n=$SLURM_STEP_NODELIST; "
    "[ \"${SLURM_PROCID:-0}\" = 0 ] && "
    "printf '{\"event\":\"slurm_step\",\"job_id\":\"%s\",\"step_id\":\"%s\",\"node\":\"%s\"}\\n' "
    "\"$SLURM_JOB_ID\" \"$SLURM_STEP_ID\" \"$n\"; exec \"$@\"";

char **vs_slurm_step_argv(const vs_slurm_plan *p, const char *name, char *const *argv) {
    int n = 0;
    while (argv[n]) n++;
    char **out = vs_xcalloc((size_t)n + 20, sizeof *out), buf[64];
    int k = 0, ranks = vs_slurm_plan_ranks(p);
    out[k++] = vs_xstrdup("srun");
    out[k++] = vs_xstrdup("--exact");
    snprintf(buf, sizeof buf, "-N%d", p->nodes_per_step);
    out[k++] = vs_xstrdup(buf);
    snprintf(buf, sizeof buf, "-n%d", ranks);
    out[k++] = vs_xstrdup(buf);
    if (ranks > 1) {
        snprintf(buf, sizeof buf, "--ntasks-per-node=%d", p->tasks_per_node);
        out[k++] = vs_xstrdup(buf);
    }
    /* --gres counts a node's GPUs, and works in jobs that asked for them either way
     * (--gres=gpu:N, --gpus-per-node); none, or the step would get every GPU of its node */
    if (p->gpus_per_node > 0) snprintf(buf, sizeof buf, "--gres=gpu:%d", p->gpus_per_node);
    else snprintf(buf, sizeof buf, "--gres=none");
    out[k++] = vs_xstrdup(buf);
    snprintf(buf, sizeof buf, "--cpus-per-task=%d", p->cpus_per_task);
    out[k++] = vs_xstrdup(buf);
    if (p->mem_mb_per_node > 0) {
        snprintf(buf, sizeof buf, "--mem=%lldM", p->mem_mb_per_node);
        out[k++] = vs_xstrdup(buf);
    }
    if (ranks > 1) out[k++] = vs_xstrdup("--kill-on-bad-exit=1");
    char *job_name = vs_xcalloc(1, strlen(name) + 16);
    sprintf(job_name, "--job-name=%s", name);
    out[k++] = job_name;
    out[k++] = vs_xstrdup("/bin/sh");
    out[k++] = vs_xstrdup("-c");
    out[k++] = vs_xstrdup(step_script);
    out[k++] = vs_xstrdup("vaesearch-step");   /* the shell's $0 */
    for (int i = 0; i < n; i++) out[k++] = vs_xstrdup(argv[i]);
    out[k] = NULL;
    return out;
}

void vs_slurm_argv_free(char **argv) {
    for (char **a = argv; a && *a; a++) free(*a);
    free(argv);
}

/* What srun would take from the batch environment as this step's request, although it
 * was the whole job's (--gpus-per-node=8 would ask for 8 GPUs a step): the step's shape
 * is the plan's alone. */
static const char *const job_wide_requests[] = {
    "SLURM_GPUS",          "SLURM_GPUS_PER_NODE",    "SLURM_GPUS_PER_SOCKET",   "SLURM_GPUS_PER_TASK",
    "SLURM_CPUS_PER_GPU",  "SLURM_MEM_PER_GPU",      "SLURM_MEM_PER_NODE",      "SLURM_NTASKS_PER_NODE",
    "SLURM_NTASKS_PER_GPU", "SLURM_NTASKS_PER_SOCKET", "SLURM_NTASKS_PER_CORE", "SLURM_TRES_PER_TASK",
    "SLURM_GRES",          "SLURM_DISTRIBUTION",     "SLURM_OVERLAP",           NULL,
};

int vs_launch_slurm(const vs_slurm_plan *p, const char *name, char *const *argv, vs_trial_process *proc,
                    vs_error *err) {
    char **srun = vs_slurm_step_argv(p, name, argv);
    vs_launch l = {srun, NULL, job_wide_requests};
    int rc = vs_launch_local(&l, proc, err);
    vs_slurm_argv_free(srun);
    return rc;
}

int vs_slurm_signal_step(const char *step, int sig, vs_error *err) {
    const char *name = sig == SIGTERM ? "TERM" : sig == SIGKILL ? "KILL" : sig == SIGINT ? "INT" : NULL;
    if (!name) return vs_errorf(err, "signal %d: not one a step is sent", sig);
    char opt[32];
    snprintf(opt, sizeof opt, "--signal=%s", name);
    char *argv[] = {"scancel", "--quiet", opt, (char *)step, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "scancel", NULL, NULL, argv, environ), status;
    if (rc) return vs_errorf(err, "cannot run scancel: %s", strerror(rc));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return vs_errorf(err, "scancel: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return vs_errorf(err, "scancel --signal=%s %s failed (status %d)", name, step, status);
    return 0;
}

/* ---- what Slurm says ---- */

int vs_slurm_note(const char *line, char *out, size_t n) {
    /* slurmstepd's banner: "slurmstepd[-node]: error: *** STEP 12.3 ON node1 CANCELLED AT ... ***" */
    const char *open = strstr(line, "*** ");
    if (!strncmp(line, "slurmstepd", 10) && open) {
        const char *close = strstr(open + 4, " ***");
        size_t len = close ? (size_t)(close - open - 4) : strlen(open + 4);
        snprintf(out, n, "%.*s", (int)len, open + 4);
        return 2;
    }
    /* srun's and slurmstepd's errors: "srun: error: node1: task 0: Out Of Memory" */
    static const char *const prefixes[] = {"srun: error: ", "slurmstepd: error: "};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t k = strlen(prefixes[i]);
        if (!strncmp(line, prefixes[i], k)) {
            snprintf(out, n, "%s", line + k);
            return 1;
        }
    }
    const char *colon = strstr(line, ": error: ");   /* "slurmstepd-node1: error: ..." */
    if (!strncmp(line, "slurmstepd-", 11) && colon) {
        snprintf(out, n, "%s", colon + 9);
        return 1;
    }
    return 0;
}

long long vs_slurm_time_seconds(const char *s) {
    if (!s || !*s) return -1;
    long long days = 0, f[3];
    int nf = 0;
    const char *p = s;
    const char *dash = strchr(s, '-');
    if (dash) {
        char *end;
        if (!isdigit((unsigned char)*s)) return -1;
        days = strtoll(s, &end, 10);
        if (end != dash || days > 365 * 100) return -1;
        p = dash + 1;
    }
    while (*p) {
        if (nf == 3 || !isdigit((unsigned char)*p)) return -1;
        char *end;
        f[nf++] = strtoll(p, &end, 10);
        if (end - p > 9) return -1;
        p = end;
        if (*p == ':') {
            p++;
            if (!*p) return -1;
        } else if (*p) return -1;
    }
    if (nf == 0) return -1;
    if (dash) {   /* days-hours[:minutes[:seconds]] */
        long long h = f[0], m = nf > 1 ? f[1] : 0, sec = nf > 2 ? f[2] : 0;
        return ((days * 24 + h) * 60 + m) * 60 + sec;
    }
    if (nf == 1) return f[0] * 60;              /* minutes */
    if (nf == 2) return f[0] * 60 + f[1];       /* minutes:seconds */
    return (f[0] * 60 + f[1]) * 60 + f[2];      /* hours:minutes:seconds */
}
