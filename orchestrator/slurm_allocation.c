/* slurm_allocation: the Slurm allocation `vaesearch run --launcher slurm` runs in, and
 * how a sweep uses it (launcher.h, docs/slurm.md): nodes, CPUs and memory from the
 * environment Slurm sets; the GPUs from the environment when it names them, else from
 * `scontrol show job` (an `salloc --gres=gpu:N` shell names them nowhere else), with
 * where the count came from; and the plan: trials at once and each step's shape, on one
 * node or spanning several. */
#define _GNU_SOURCE
#include "launcher.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- numbers in Slurm's forms ---- */

/* A whole decimal number in [lo, hi] from all of s; -1 when it is not one. */
static long long whole_number(const char *s, long long lo, long long hi) {
    if (!s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    return v;
}

/* The same from the n bytes at s. */
static long long whole_number_n(const char *s, size_t n, long long lo, long long hi) {
    char buf[24];
    if (n < 1 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return whole_number(buf, lo, hi);
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
        long long n = whole_number_n(colon, (size_t)(end - colon), 0, 4096);
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

/* Indices in Slurm's list form, "0-1", "0,2-3"; -1 when it does not parse. */
static int index_count(const char *s, size_t n) {
    int count = 0;
    const char *end = s + n;
    while (s < end) {
        const char *item = s, *stop = memchr(s, ',', (size_t)(end - s));
        if (!stop) stop = end;
        const char *dash = memchr(item, '-', (size_t)(stop - item));
        long long lo = whole_number_n(item, (size_t)((dash ? dash : stop) - item), 0, 1 << 20);
        long long hi = dash ? whole_number_n(dash + 1, (size_t)(stop - dash - 1), 0, 1 << 20) : lo;
        if (lo < 0 || hi < lo) return -1;
        count += (int)(hi - lo + 1);
        s = stop < end ? stop + 1 : end;
    }
    return count;
}

/* The GPUs of one GRES entry (without its "gres:" or "gres/"): "gpu:2(IDX:0-1)",
 * "gpu:a100:2", "gpu(IDX:0,2)", "gpu:a100" or "gpu" (one); 0 for another resource, -1
 * when a gpu entry does not parse. */
static int gres_entry_gpus(const char *s, size_t n) {
    const char *paren = memchr(s, '(', n), *spec_end = paren ? paren : s + n;
    size_t name = strcspn(s, ":(");
    if (name > n) name = n;
    if (name != 3 || strncmp(s, "gpu", 3)) return 0;
    const char *last = spec_end;   /* the spec's last ':' field */
    while (last > s + 3 && last[-1] != ':') last--;
    if (last > s + 3 && isdigit((unsigned char)*last))
        return (int)whole_number_n(last, (size_t)(spec_end - last), 0, 1 << 20);
    if (paren && n - (size_t)(paren - s) > 6 && !strncmp(paren, "(IDX:", 5) && s[n - 1] == ')')
        return index_count(paren + 5, n - (size_t)(paren - s) - 6);
    return paren ? -1 : 1;
}

/* The GPUs of a GRES list as scontrol prints it, entries apart at commas outside
 * parentheses: "gpu:2(IDX:0-1)", "gpu:a100:1(IDX:0),gpu:v100:1(IDX:1)", "gres:gpu:4",
 * "gres/gpu:a100:1,gres/shard:2"; -1 when a gpu entry does not parse. */
static int gres_gpus(const char *s, size_t n) {
    int total = 0;
    const char *end = s + n;
    while (s < end) {
        const char *e = s;
        for (int depth = 0; e < end && (depth || *e != ','); e++) depth += *e == '(' ? 1 : *e == ')' ? -1 : 0;
        const char *p = s;
        if (e - p > 5 && (!strncmp(p, "gres:", 5) || !strncmp(p, "gres/", 5))) p += 5;
        int count = gres_entry_gpus(p, (size_t)(e - p));
        if (count < 0) return -1;
        total += count;
        s = e < end ? e + 1 : end;
    }
    return total;
}

/* The value of the token KEY=value in text (a token starts a line or follows white
 * space; its value runs to the next white space), or NULL; its length in *n. */
static const char *token_value(const char *text, const char *key, size_t *n) {
    size_t k = strlen(key);
    for (const char *p = text; (p = strstr(p, key)); p += k) {
        if ((p > text && !isspace((unsigned char)p[-1])) || p[k] != '=') continue;
        const char *v = p + k + 1;
        *n = strcspn(v, " \t\r\n");
        return v;
    }
    return NULL;
}

/* The sum of the GPUs in TRES's "gres/gpu=N" (or, without it, its typed "gres/gpu:T=N"). */
static int tres_gpus(const char *v, size_t n) {
    int untyped = -1, typed = 0, any_typed = 0;
    const char *end = v + n;
    while (v < end) {
        const char *e = memchr(v, ',', (size_t)(end - v));
        if (!e) e = end;
        const char *eq = memchr(v, '=', (size_t)(e - v));
        if (eq && eq - v >= 8 && !strncmp(v, "gres/gpu", 8)) {
            long long count = whole_number_n(eq + 1, (size_t)(e - eq - 1), 0, 1 << 20);
            if (count < 0) return -1;
            if (eq - v == 8) untyped = (int)count;
            else if (v[8] == ':') typed += (int)count, any_typed = 1;
        }
        v = e < end ? e + 1 : end;
    }
    return untyped >= 0 ? untyped : any_typed ? typed : 0;
}

int vs_slurm_job_gpus(const char *text, int nodes, int *gpus_per_node, char *from, size_t n) {
    *gpus_per_node = 0;
    if (nodes < 1) nodes = 1;
    /* What each node holds (`scontrol -d`): lines "Nodes=NAMES CPU_IDs=... GRES=gpu:2(IDX:0-1)". */
    int fewest = -1, most = 0;
    for (const char *line = text; line && *line;) {
        const char *next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        char buf[4096];
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = 0;
        size_t vn;
        if (token_value(buf, "Nodes", &vn) && token_value(buf, "CPU_IDs", &vn)) {
            const char *g = token_value(buf, "GRES", &vn);
            int count = g ? gres_gpus(g, vn) : 0;
            if (count < 0) return -1;
            if (fewest < 0 || count < fewest) fewest = count;
            if (count > most) most = count;
        }
        line = next ? next + 1 : NULL;
    }
    if (fewest >= 0) {   /* the nodes say: a node without GPUs makes none a node */
        *gpus_per_node = fewest;
        if (most) snprintf(from, n, "`scontrol show job`, GRES of each node");
        else from[0] = 0;
        return 0;
    }
    /* Else the job's request or its total: per node, then over the nodes. */
    static const struct {
        const char *key;
        int per_node, tres;
    } fields[] = {{"TresPerNode", 1, 0}, {"TRES", 0, 1}, {"JOB_GRES", 0, 0}, {"TresPerJob", 0, 0}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t vn;
        const char *v = token_value(text, fields[i].key, &vn);
        if (!v) continue;
        int count = fields[i].tres ? tres_gpus(v, vn) : gres_gpus(v, vn);
        if (count < 0) return -1;
        if (count == 0) continue;
        *gpus_per_node = fields[i].per_node ? count : count / nodes;
        snprintf(from, n, "`scontrol show job`, %s", fields[i].key);
        return 0;
    }
    from[0] = 0;
    return 0;
}

char *vs_slurm_scontrol_job(const char *job_id, vs_error *err) {
    int fds[2];
    if (pipe(fds)) {
        vs_errorf(err, "pipe: %s", strerror(errno));
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"scontrol", "-d", "show", "job", (char *)job_id, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "scontrol", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        vs_errorf(err, "cannot run scontrol: %s", strerror(rc));
        return NULL;
    }
    size_t used = 0, cap = 8192;
    char *text = vs_xmalloc(cap);
    for (;;) {
        if (used + 1 >= cap) text = vs_xrealloc(text, cap *= 2);
        ssize_t got = read(fds[0], text + used, cap - used - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        used += (size_t)got;
    }
    text[used] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        vs_errorf(err, "scontrol -d show job %s failed: %.*s", job_id, (int)strcspn(text, "\n"), text);
        free(text);
        return NULL;
    }
    return text;
}

/* ---- the allocation ---- */

int vs_slurm_allocation_read(vs_slurm_allocation *a, const char *(*get)(const char *name),
                             char *(*job_text)(const char *job_id, vs_error *err), vs_error *err) {
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
     * request: SLURM_GPUS_PER_NODE (--gpus-per-node) or SLURM_GPUS (--gpus, over the
     * nodes), and nothing at all for --gres=gpu:N: then Slurm is asked. */
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
    } else {
        name = NULL;
    }
    if (name) {
        snprintf(a->gpus_from, sizeof a->gpus_from, "%s", name);
    } else if (job_text) {
        char *text = job_text(a->job_id, err);
        if (!text) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            return vs_errorf(err,
                             "no variable of the environment names the allocation's GPUs, and Slurm could not be "
                             "asked (%s): say --device cpu to run the trials on CPUs",
                             why);
        }
        int rc = vs_slurm_job_gpus(text, a->nodes, &a->gpus_per_node, a->gpus_from, sizeof a->gpus_from);
        free(text);
        if (rc) return vs_errorf(err, "`scontrol -d show job %s`: its GPUs (GRES, TRES) do not parse", a->job_id);
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

/* ---- the plan ---- */

static const char *plural(int n) { return n == 1 ? "" : "s"; }

/* Trials on GPUs: a step takes per_node GPUs on each of its nodes. */
static int plan_gpus(const vs_slurm_allocation *a, const vs_slurm_request *r, vs_slurm_plan *p, vs_error *err) {
    if (r->trials_per_gpu != 1)
        return vs_errorf(err, "resources.trials_per_gpu is %d, but under Slurm a job step has its GPUs to itself: "
                              "use 1 (or share GPUs with --launcher local)", r->trials_per_gpu);
    int g = a->gpus_per_node, want = r->gpus_per_trial > 0 ? r->gpus_per_trial : 1;
    int k = r->nodes_per_trial > 0 ? r->nodes_per_trial : (want + g - 1) / g;
    if (want % k)
        return vs_errorf(err, "resources.gpus_per_trial is %d: it does not split evenly over %d nodes a trial", want, k);
    int per_node = want / k;
    if (per_node > g) {
        if (k == 1)
            return vs_errorf(err, "resources.gpus_per_trial is %d but the allocation has %d GPU%s a node", want, g,
                             plural(g));
        return vs_errorf(err, "resources.gpus_per_trial is %d over %d nodes, %d a node, but the allocation has %d GPU%s a node",
                         want, k, per_node, g, plural(g));
    }
    if (k > a->nodes)
        return vs_errorf(err, "a trial of resources.gpus_per_trial %d spans %d nodes (%d GPU%s a node), but the "
                              "allocation has %d node%s", want, k, g, plural(g), a->nodes, plural(a->nodes));
    int at_once = g / per_node;   /* steps sharing a set of k nodes */
    p->slots = at_once * (a->nodes / k);
    p->nodes_per_step = k;
    p->gpus_per_node = per_node;
    /* a step on several nodes runs a rank a GPU; on one node, one process with its GPUs */
    p->tasks_per_node = k > 1 ? per_node : 1;
    int cpus = a->cpus_per_node / at_once;
    p->cpus_per_task = cpus / p->tasks_per_node;
    if (p->cpus_per_task < 1)
        return vs_errorf(err,
                         "the allocation has %d GPU%s a node (%s), so %d trial%s of %d GPU%s run on a node at once, "
                         "%d process%s each; each process needs a CPU, but the allocation has %d CPU%s a node: ask "
                         "Slurm for more CPUs (-c, --cpus-per-node), or run the trials on CPUs (--device cpu)",
                         g, plural(g), a->gpus_from[0] ? a->gpus_from : "as planned", at_once, plural(at_once),
                         per_node, plural(per_node), p->tasks_per_node, p->tasks_per_node == 1 ? "" : "es",
                         a->cpus_per_node, plural(a->cpus_per_node));
    p->mem_mb_per_node = a->mem_per_node_mb / at_once;
    return 0;
}

/* Trials on CPUs: --jobs steps at once (default one a set of nodes), one rank a node. */
static int plan_cpus(const vs_slurm_allocation *a, const vs_slurm_request *r, vs_slurm_plan *p, vs_error *err) {
    int k = r->nodes_per_trial > 0 ? r->nodes_per_trial : 1;
    if (k > a->nodes)
        return vs_errorf(err, "--nodes-per-trial %d: the allocation has %d node%s", k, a->nodes, plural(a->nodes));
    int sets = a->nodes / k;
    p->slots = r->cpu_jobs > 0 ? r->cpu_jobs : sets;
    int at_once = (p->slots + sets - 1) / sets;
    p->nodes_per_step = k;
    p->gpus_per_node = 0;
    p->tasks_per_node = 1;
    p->cpus_per_task = a->cpus_per_node / at_once;
    if (p->cpus_per_task < 1)
        return vs_errorf(err, "%d trials a node need a CPU each, but the allocation has %d CPU%s a node", at_once,
                         a->cpus_per_node, plural(a->cpus_per_node));
    p->mem_mb_per_node = a->mem_per_node_mb / at_once;
    return 0;
}

int vs_slurm_plan_slots(const vs_slurm_allocation *a, const vs_slurm_request *r, vs_slurm_plan *p, vs_error *err) {
    memset(p, 0, sizeof *p);
    if (r->nodes_per_trial < 0) return vs_errorf(err, "--nodes-per-trial %d: expected 1 or more", r->nodes_per_trial);
    return a->gpus_per_node > 0 && !r->cpu_only ? plan_gpus(a, r, p, err) : plan_cpus(a, r, p, err);
}
