/* launcher_slurm: each trial as a job step of the Slurm allocation `vaesearch run` runs
 * in (launcher.h, docs/slurm.md): the slots from the allocation's environment, srun's
 * command line for a step, and Slurm's own word on how a step ended. */
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

/* ---- the allocation ---- */

/* A whole decimal number in [lo, hi] from all of s; -1 when it is not one. */
static long long whole_number(const char *s, long long lo, long long hi) {
    if (!s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    return v;
}

/* The fewest CPUs of a node in SLURM_JOB_CPUS_PER_NODE's form: "8", "8(x2)", "8(x2),4". */
static int fewest_cpus(const char *s) {
    int fewest = -1;
    while (s && *s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v < 1 || v > INT_MAX) return -1;
        if (fewest < 0 || v < fewest) fewest = (int)v;
        s = end;
        if (*s == '(') {   /* "(xN)": N nodes with this many */
            s = strchr(s, ')');
            if (!s) return -1;
            s++;
        }
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return fewest;
}

/* The GPUs of a request in the form of SLURM_GPUS or SLURM_GPUS_PER_NODE: "4", "a100:4",
 * "a100:2,v100:2" (their sum); -1 when it does not parse. */
static int gpu_request(const char *s) {
    int total = 0;
    while (*s) {
        const char *end = s + strcspn(s, ","), *colon = s, *c;
        for (c = s; c < end; c++)
            if (*c == ':') colon = c + 1;
        char count[16];
        if (end - colon < 1 || end - colon >= (long)sizeof count) return -1;
        memcpy(count, colon, (size_t)(end - colon));
        count[end - colon] = 0;
        long long n = whole_number(count, 0, 4096);
        if (n < 0) return -1;
        total += (int)n;
        s = *end ? end + 1 : end;
    }
    return total;
}

/* Entries of a comma-separated list ("0,1,2,3"); 0 for an empty one. */
static int list_count(const char *s) {
    if (!s || !*s) return 0;
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

int vs_slurm_allocation_read(vs_slurm_allocation *a, const char *(*get)(const char *name), vs_error *err) {
    memset(a, 0, sizeof *a);
    const char *job = get("SLURM_JOB_ID");
    if (!job || !*job)
        return vs_errorf(err, "--launcher slurm runs inside a Slurm allocation (an sbatch script or an salloc shell): "
                              "SLURM_JOB_ID is not set");
    if (strlen(job) >= sizeof a->job_id) return vs_errorf(err, "SLURM_JOB_ID '%.40s...' is too long", job);
    snprintf(a->job_id, sizeof a->job_id, "%s", job);

    const char *name = "SLURM_JOB_NUM_NODES", *v = get(name);
    if (!v) name = "SLURM_NNODES", v = get(name);
    long long nodes = v ? whole_number(v, 1, 100000) : 1;
    if (nodes < 0) return vs_errorf(err, "%s '%s': expected a number of nodes", name, v);
    a->nodes = (int)nodes;

    /* A batch script has SLURM_GPUS_ON_NODE and SLURM_JOB_GPUS; an salloc shell only the
     * request: SLURM_GPUS_PER_NODE (--gpus-per-node) or SLURM_GPUS (--gpus, over the nodes). */
    if ((v = get(name = "SLURM_GPUS_ON_NODE"))) {
        long long g = whole_number(v, 0, 4096);
        if (g < 0) return vs_errorf(err, "%s '%s': expected a number of GPUs", name, v);
        a->gpus_per_node = (int)g;
    } else if ((v = get(name = "SLURM_JOB_GPUS")) && *v) {
        a->gpus_per_node = list_count(v);
    } else if ((v = get(name = "SLURM_GPUS_PER_NODE")) || (v = get(name = "SLURM_GPUS"))) {
        int g = gpu_request(v);
        if (g < 0) return vs_errorf(err, "%s '%s': expected GPUs, like 4 or a100:4", name, v);
        a->gpus_per_node = strcmp(name, "SLURM_GPUS") ? g : g / a->nodes;
    }

    name = "SLURM_JOB_CPUS_PER_NODE";
    v = get(name);
    if (v) a->cpus_per_node = fewest_cpus(v);
    else if ((v = get(name = "SLURM_CPUS_ON_NODE"))) a->cpus_per_node = (int)whole_number(v, 1, 1 << 20);
    else return vs_errorf(err, "neither SLURM_JOB_CPUS_PER_NODE nor SLURM_CPUS_ON_NODE is set: how many CPUs?");
    if (a->cpus_per_node < 1) return vs_errorf(err, "%s '%s': expected CPUs a node, like 8 or 8(x2),4", name, v);

    name = "SLURM_MEM_PER_NODE";
    v = get(name);
    if (v) {
        a->mem_per_node_mb = whole_number(v, 0, 1LL << 40);
        if (a->mem_per_node_mb < 0) return vs_errorf(err, "%s '%s': expected megabytes", name, v);
    }
    return 0;
}

int vs_slurm_plan_slots(const vs_slurm_allocation *a, int gpus_per_trial, int trials_per_gpu, int cpu_jobs,
                        vs_slurm_plan *p, vs_error *err) {
    memset(p, 0, sizeof *p);
    int per_node;
    if (a->gpus_per_node > 0) {
        if (trials_per_gpu != 1)
            return vs_errorf(err, "resources.trials_per_gpu is %d, but under Slurm a job step has its GPUs to itself: "
                                  "use 1 (or share GPUs with --launcher local)", trials_per_gpu);
        if (gpus_per_trial < 1) gpus_per_trial = 1;
        per_node = a->gpus_per_node / gpus_per_trial;
        if (per_node < 1)
            return vs_errorf(err, "resources.gpus_per_trial is %d but the allocation has %d GPU%s a node",
                             gpus_per_trial, a->gpus_per_node, a->gpus_per_node == 1 ? "" : "s");
        p->slots = per_node * a->nodes;
        p->gpus_per_step = gpus_per_trial;
    } else {
        p->slots = cpu_jobs > 0 ? cpu_jobs : a->nodes;
        per_node = (p->slots + a->nodes - 1) / a->nodes;
    }
    p->cpus_per_step = a->cpus_per_node / per_node;
    if (p->cpus_per_step < 1)
        return vs_errorf(err, "%d trials a node need a CPU each, but the allocation has %d CPU%s a node", per_node,
                         a->cpus_per_node, a->cpus_per_node == 1 ? "" : "s");
    p->mem_mb_per_step = a->mem_per_node_mb / per_node;
    return 0;
}

/* ---- a step ---- */

/* What the step's shell prints before it becomes the trainer: the ids Slurm gave it. */
static const char step_script[] =
    "printf '{\"event\":\"slurm_step\",\"job_id\":\"%s\",\"step_id\":\"%s\",\"node\":\"%s\"}\\n' "
    "\"$SLURM_JOB_ID\" \"$SLURM_STEP_ID\" \"$SLURMD_NODENAME\"; exec \"$@\"";

char **vs_slurm_step_argv(const vs_slurm_plan *p, const char *name, char *const *argv) {
    int n = 0;
    while (argv[n]) n++;
    char **out = vs_xcalloc((size_t)n + 16, sizeof *out), buf[64];
    int k = 0;
    out[k++] = vs_xstrdup("srun");
    out[k++] = vs_xstrdup("--exact");
    out[k++] = vs_xstrdup("-N1");
    out[k++] = vs_xstrdup("-n1");
    if (p->gpus_per_step > 0) {
        snprintf(buf, sizeof buf, "--gpus=%d", p->gpus_per_step);
        out[k++] = vs_xstrdup(buf);
    }
    snprintf(buf, sizeof buf, "--cpus-per-task=%d", p->cpus_per_step);
    out[k++] = vs_xstrdup(buf);
    if (p->mem_mb_per_step > 0) {
        snprintf(buf, sizeof buf, "--mem=%lldM", p->mem_mb_per_step);
        out[k++] = vs_xstrdup(buf);
    }
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
