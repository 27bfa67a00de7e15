/* test_launcher_slurm: the Slurm launcher's pure parts (orchestrator/launcher_slurm.c)
 * without a cluster: the allocation read from Slurm's variables and `scontrol show job`'s
 * text, the slots planned
 * from it, srun's command line, Slurm's notes in srun's stderr, and Slurm's time forms.
 * tests/cli_slurm*.sh run the launcher against a real Slurm. */
#include <string.h>

#include "orchestrator/launcher.h"
#include "test.h"

/* An environment as a table, for vs_slurm_allocation_read, and what `scontrol -d show
 * job` prints (NULL: it fails). */
static const char *const *env_table;
static const char *scontrol_text;
static int scontrol_asked;

static const char *table_get(const char *name) {
    size_t n = strlen(name);
    for (const char *const *e = env_table; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static char *table_scontrol(const char *job_id, vs_error *err) {
    scontrol_asked++;
    if (!scontrol_text) {
        vs_errorf(err, "scontrol -d show job %s failed: slurm_load_jobs error: Invalid job id specified", job_id);
        return NULL;
    }
    return vs_xstrdup(scontrol_text);
}

static int read_env(const char *const *env, vs_slurm_allocation *a, vs_error *err) {
    env_table = env;
    return vs_slurm_allocation_read(a, table_get, table_scontrol, err);
}

static void test_allocation(void) {
    vs_slurm_allocation a;
    vs_error err = {{0}};
    scontrol_text = "JobId=1 NumNodes=1\n";
    scontrol_asked = 0;
    /* What sbatch --nodes=2 --gpus-per-node=4 --exclusive --mem=64000 sets. */
    const char *two_nodes[] = {"SLURM_JOB_ID=812", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS_ON_NODE=4",
                               "SLURM_JOB_GPUS=0,1,2,3", "SLURM_JOB_CPUS_PER_NODE=32(x2)", "SLURM_CPUS_ON_NODE=32",
                               "SLURM_MEM_PER_NODE=64000", NULL};
    CHECK_OK(read_env(two_nodes, &a, &err), &err);
    CHECK(!strcmp(a.job_id, "812"));
    CHECK(a.nodes == 2 && a.gpus_per_node == 4 && a.cpus_per_node == 32 && a.mem_per_node_mb == 64000);
    CHECK(!strcmp(a.gpus_from, "SLURM_GPUS_ON_NODE"));

    /* No SLURM_GPUS_ON_NODE: the GPUs are counted in SLURM_JOB_GPUS; uneven CPUs: the fewest. */
    const char *uneven[] = {"SLURM_JOB_ID=9", "SLURM_NNODES=3", "SLURM_JOB_GPUS=2,3",
                            "SLURM_JOB_CPUS_PER_NODE=8(x2),6", NULL};
    CHECK_OK(read_env(uneven, &a, &err), &err);
    CHECK(a.nodes == 3 && a.gpus_per_node == 2 && a.cpus_per_node == 6 && a.mem_per_node_mb == 0);
    CHECK(!strcmp(a.gpus_from, "SLURM_JOB_GPUS"));

    /* An salloc shell has only the request: --gpus-per-node (typed or not), or --gpus over the nodes. */
    const char *per_node[] = {"SLURM_JOB_ID=11", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS_PER_NODE=a100:4",
                              "SLURM_JOB_CPUS_PER_NODE=8(x2)", NULL};
    CHECK_OK(read_env(per_node, &a, &err), &err);
    CHECK(a.gpus_per_node == 4 && !strcmp(a.gpus_from, "SLURM_GPUS_PER_NODE"));
    const char *total[] = {"SLURM_JOB_ID=12", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS=8", "SLURM_JOB_CPUS_PER_NODE=8(x2)",
                           NULL};
    CHECK_OK(read_env(total, &a, &err), &err);
    CHECK(a.gpus_per_node == 4);
    CHECK(scontrol_asked == 0);   /* the environment said */
    const char *bad_gpus[] = {"SLURM_JOB_ID=13", "SLURM_GPUS_PER_NODE=a100:", "SLURM_CPUS_ON_NODE=4", NULL};
    CHECK(read_env(bad_gpus, &a, &err) == -1 && strstr(err.msg, "SLURM_GPUS_PER_NODE 'a100:'"));

    /* `salloc -N2 --gres=gpu:2 -c 4` (Slurm 22.05): no variable names a GPU; Slurm is asked. */
    const char *gres_shell[] = {"SLURM_JOB_ID=1", "SLURM_JOB_NUM_NODES=2", "SLURM_JOB_CPUS_PER_NODE=4(x2)", NULL};
    scontrol_text =
        "JobId=1 JobName=interactive\n"
        "   NumNodes=2 NumCPUs=8 NumTasks=2 CPUs/Task=4 ReqB:S:C:T=0:0:*:*\n"
        "   TRES=cpu=8,node=2,billing=8\n"
        "   JOB_GRES=gpu:4\n"
        "     Nodes=vm-[1-2] CPU_IDs=0-3 Mem=0 GRES=gpu:2(IDX:0-1)\n"
        "   MinCPUsNode=4 MinMemoryNode=0 MinTmpDiskNode=0\n"
        "   TresPerNode=gres:gpu:2\n";
    CHECK_OK(read_env(gres_shell, &a, &err), &err);
    CHECK(scontrol_asked == 1 && a.gpus_per_node == 2 && strstr(a.gpus_from, "scontrol") && strstr(a.gpus_from, "GRES"));
    /* ... and a CPU-only one: asked, none found */
    const char *cpus_only[] = {"SLURM_JOB_ID=10", "SLURM_CPUS_ON_NODE=4", NULL};
    scontrol_text = "JobId=10\n   TRES=cpu=4,node=1,billing=4\n     Nodes=vm CPU_IDs=0-3 Mem=0 GRES=\n";
    CHECK_OK(read_env(cpus_only, &a, &err), &err);
    CHECK(a.nodes == 1 && a.gpus_per_node == 0 && a.cpus_per_node == 4 && a.gpus_from[0] == 0);
    /* Slurm cannot be asked: refused, saying why and what to do */
    scontrol_text = NULL;
    CHECK(read_env(cpus_only, &a, &err) == -1 && strstr(err.msg, "Invalid job id") && strstr(err.msg, "--device cpu"));
    /* without a way to ask (--device cpu): no GPUs */
    env_table = cpus_only;
    CHECK_OK(vs_slurm_allocation_read(&a, table_get, NULL, &err), &err);
    CHECK(a.gpus_per_node == 0);

    /* Outside an allocation, and values that do not parse: refused, naming the variable. */
    const char *outside[] = {"HOME=/root", NULL};
    CHECK(read_env(outside, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_ID") && strstr(err.msg, "allocation"));
    const char *bad_nodes[] = {"SLURM_JOB_ID=1", "SLURM_JOB_NUM_NODES=two", "SLURM_CPUS_ON_NODE=4", NULL};
    CHECK(read_env(bad_nodes, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_NUM_NODES 'two'"));
    const char *bad_cpus[] = {"SLURM_JOB_ID=1", "SLURM_GPUS_ON_NODE=0", "SLURM_JOB_CPUS_PER_NODE=8(x2", NULL};
    CHECK(read_env(bad_cpus, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_CPUS_PER_NODE"));
    const char *no_cpus[] = {"SLURM_JOB_ID=1", "SLURM_GPUS_ON_NODE=0", NULL};
    CHECK(read_env(no_cpus, &a, &err) == -1 && strstr(err.msg, "CPUs"));
}

/* The GPUs of `scontrol -d show job` in the forms Slurm prints them. */
static void test_scontrol_gpus(void) {
    int g;
    char from[64];
    static const struct {
        const char *text;
        int nodes, gpus;
        const char *field;
    } cases[] = {
        /* each node's allocation: the fewest */
        {"     Nodes=vm CPU_IDs=0-3 Mem=0 GRES=gpu:3(IDX:0-2)\n", 1, 3, "GRES"},
        {"     Nodes=n1 CPU_IDs=0-7 Mem=0 GRES=gpu:a100:4(IDX:0-3)\n"
         "     Nodes=n2 CPU_IDs=0-7 Mem=0 GRES=gpu:a100:2(IDX:0,2)\n", 2, 2, "GRES"},
        {"     Nodes=n1 CPU_IDs=0-7 Mem=0 GRES=gpu(IDX:0,2-3)\n", 1, 3, "GRES"},
        {"     Nodes=n1 CPU_IDs=0-7 Mem=0 GRES=gpu:a100:1(IDX:0),gpu:v100:2(IDX:1-2),shard:4(0/4)\n", 1, 3, "GRES"},
        {"     Nodes=n[1-2] CPU_IDs=0-7 Mem=0 GRES=\n   TresPerNode=gres:gpu:2\n", 2, 0, ""},
        /* no per-node lines (no -d, or a pending job): the request, or the job's total over the nodes */
        {"   TRES=cpu=8,node=2,billing=8\n   TresPerNode=gres:gpu:2\n", 2, 2, "TresPerNode"},
        {"   TresPerNode=gres/gpu:a100:4\n", 2, 4, "TresPerNode"},
        {"   TRES=cpu=16,mem=2G,node=2,billing=16,gres/gpu=8,gres/gpu:a100=8\n", 2, 4, "TRES"},
        {"   TRES=cpu=16,node=2,gres/gpu:a100=2,gres/gpu:v100=2\n", 2, 2, "TRES"},
        {"   TRES=cpu=8,node=2,billing=8\n   JOB_GRES=gpu:4\n", 2, 2, "JOB_GRES"},
        {"   TresPerJob=gres:gpu:6\n", 3, 2, "TresPerJob"},
        /* nothing about GPUs */
        {"JobId=3 JobName=x\n   TRES=cpu=2,node=1,billing=2\n", 1, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_MSG(vs_slurm_job_gpus(cases[i].text, cases[i].nodes, &g, from, sizeof from) == 0, "case %zu", i);
        CHECK_MSG(g == cases[i].gpus, "case %zu: %d GPUs, expected %d", i, g, cases[i].gpus);
        CHECK_MSG(cases[i].field[0] ? strstr(from, cases[i].field) != NULL : from[0] == 0, "case %zu: from '%s'", i,
                  from);
    }
    CHECK(vs_slurm_job_gpus("     Nodes=n1 CPU_IDs=0-7 Mem=0 GRES=gpu:x(IDX:0-)\n", 1, &g, from, sizeof from) == -1);
    CHECK(vs_slurm_job_gpus("   TRES=cpu=8,gres/gpu=many\n", 1, &g, from, sizeof from) == -1);
}

static vs_slurm_request request(int gpus_per_trial, int trials_per_gpu, int cpu_jobs, int nodes_per_trial, int cpu_only) {
    vs_slurm_request r = {gpus_per_trial, trials_per_gpu, cpu_jobs, nodes_per_trial, cpu_only};
    return r;
}

static vs_slurm_allocation allocation(int nodes, int gpus, int cpus, long long mem) {
    vs_slurm_allocation a = {.nodes = nodes, .gpus_per_node = gpus, .gpus_from = "SLURM_GPUS_ON_NODE",
                             .cpus_per_node = cpus, .mem_per_node_mb = mem};
    return a;
}

static void test_plan(void) {
    vs_slurm_plan p;
    vs_error err = {{0}};
    vs_slurm_request r;
    vs_slurm_allocation gpus = allocation(2, 4, 32, 64000);
    /* 2 GPUs a trial: 2 steps a node, 4 in all, each with half a node's CPUs and memory. */
    CHECK_OK(vs_slurm_plan_slots(&gpus, (r = request(2, 1, 0, 0, 0), &r), &p, &err), &err);
    CHECK(p.slots == 4 && p.nodes_per_step == 1 && p.tasks_per_node == 1 && p.gpus_per_node == 2 &&
          p.cpus_per_task == 16 && p.mem_mb_per_node == 32000);
    /* 3 GPUs a trial on 4-GPU nodes: one step a node. */
    CHECK_OK(vs_slurm_plan_slots(&gpus, (r = request(3, 1, 0, 0, 0), &r), &p, &err), &err);
    CHECK(p.slots == 2 && p.gpus_per_node == 3 && p.cpus_per_task == 32);
    /* 8 GPUs a trial on 4-GPU nodes: a step spans both, a rank a GPU. */
    CHECK_OK(vs_slurm_plan_slots(&gpus, (r = request(8, 1, 0, 0, 0), &r), &p, &err), &err);
    CHECK(p.slots == 1 && p.nodes_per_step == 2 && p.tasks_per_node == 4 && p.gpus_per_node == 4 &&
          p.cpus_per_task == 8 && p.mem_mb_per_node == 64000 && vs_slurm_plan_ranks(&p) == 8);
    /* 2 GPUs a trial over 2 nodes (--nodes-per-trial 2): 2 such steps at once. */
    CHECK_OK(vs_slurm_plan_slots(&gpus, (r = request(2, 1, 0, 2, 0), &r), &p, &err), &err);
    CHECK(p.slots == 4 && p.nodes_per_step == 2 && p.tasks_per_node == 1 && p.gpus_per_node == 1 && p.cpus_per_task == 8);
    /* More than the allocation, uneven splits and GPU sharing are refused. */
    CHECK(vs_slurm_plan_slots(&gpus, (r = request(12, 1, 0, 0, 0), &r), &p, &err) == -1 && strstr(err.msg, "3 nodes") &&
          strstr(err.msg, "has 2 nodes"));
    CHECK(vs_slurm_plan_slots(&gpus, (r = request(3, 1, 0, 2, 0), &r), &p, &err) == -1 && strstr(err.msg, "evenly"));
    CHECK(vs_slurm_plan_slots(&gpus, (r = request(1, 2, 0, 0, 0), &r), &p, &err) == -1 && strstr(err.msg, "trials_per_gpu is 2"));
    vs_slurm_allocation one = allocation(1, 4, 32, 0);
    CHECK(vs_slurm_plan_slots(&one, (r = request(8, 1, 0, 1, 0), &r), &p, &err) == -1 &&
          strstr(err.msg, "gpus_per_trial is 8 but the allocation has 4 GPUs a node"));
    /* Too few CPUs for the steps the GPUs make: the refusal names the GPUs and the way out. */
    vs_slurm_allocation few = allocation(1, 4, 2, 0);
    CHECK(vs_slurm_plan_slots(&few, (r = request(1, 1, 0, 0, 0), &r), &p, &err) == -1 &&
          strstr(err.msg, "4 GPUs a node (SLURM_GPUS_ON_NODE)") && strstr(err.msg, "4 trials of 1 GPU") &&
          strstr(err.msg, "2 CPUs a node") && strstr(err.msg, "--device cpu"));
    /* ... which runs them on CPUs, the GPUs unused. */
    CHECK_OK(vs_slurm_plan_slots(&few, (r = request(1, 1, 0, 0, 1), &r), &p, &err), &err);
    CHECK(p.slots == 1 && p.gpus_per_node == 0 && p.cpus_per_task == 2);

    /* CPUs only: one step a node by default, else --jobs spread over the nodes. */
    vs_slurm_allocation cpus = allocation(2, 0, 8, 0);
    CHECK_OK(vs_slurm_plan_slots(&cpus, (r = request(1, 1, 0, 0, 0), &r), &p, &err), &err);
    CHECK(p.slots == 2 && p.gpus_per_node == 0 && p.cpus_per_task == 8 && p.mem_mb_per_node == 0);
    CHECK_OK(vs_slurm_plan_slots(&cpus, (r = request(1, 1, 5, 0, 0), &r), &p, &err), &err);
    CHECK(p.slots == 5 && p.cpus_per_task == 2);   /* 3 a node at most: 8 / 3 CPUs */
    CHECK(vs_slurm_plan_slots(&cpus, (r = request(1, 1, 17, 0, 0), &r), &p, &err) == -1 && strstr(err.msg, "9 trials a node"));
    /* CPU trials spanning both nodes: a rank a node. */
    CHECK_OK(vs_slurm_plan_slots(&cpus, (r = request(1, 1, 0, 2, 0), &r), &p, &err), &err);
    CHECK(p.slots == 1 && p.nodes_per_step == 2 && p.tasks_per_node == 1 && p.cpus_per_task == 8 &&
          vs_slurm_plan_ranks(&p) == 2);
    CHECK(vs_slurm_plan_slots(&cpus, (r = request(1, 1, 0, 3, 0), &r), &p, &err) == -1 && strstr(err.msg, "2 nodes"));
}

static int argv_has(char **argv, const char *word) {
    for (; *argv; argv++)
        if (!strcmp(*argv, word)) return 1;
    return 0;
}

static void test_step_argv(void) {
    vs_slurm_plan p = {.slots = 4, .nodes_per_step = 1, .tasks_per_node = 1, .gpus_per_node = 2, .cpus_per_task = 16,
                       .mem_mb_per_node = 32000};
    char *trainer[] = {"/opt/vaecf-train", "--data", "d.vsds", "--out", "runs/s/trial-3", NULL};
    char **a = vs_slurm_step_argv(&p, "s/trial-3", trainer);
    CHECK(!strcmp(a[0], "srun"));
    CHECK(argv_has(a, "--exact") && argv_has(a, "-N1") && argv_has(a, "-n1"));
    CHECK(argv_has(a, "--gres=gpu:2") && argv_has(a, "--cpus-per-task=16") && argv_has(a, "--mem=32000M"));
    CHECK(argv_has(a, "--job-name=s/trial-3") && !argv_has(a, "--kill-on-bad-exit=1"));
    /* then the step's shell, which reports the step (rank 0 alone) and becomes the trainer with its arguments intact */
    int i = 0;
    while (a[i] && strcmp(a[i], "/bin/sh")) i++;
    CHECK(a[i] && !strcmp(a[i + 1], "-c") && strstr(a[i + 2], "slurm_step") && strstr(a[i + 2], "$SLURM_STEP_ID") &&
          strstr(a[i + 2], "SLURM_PROCID") && strstr(a[i + 2], "exec \"$@\""));
    for (int k = 0; trainer[k]; k++) CHECK(a[i + 4 + k] && !strcmp(a[i + 4 + k], trainer[k]));
    CHECK(a[i + 4 + 5] == NULL);
    vs_slurm_argv_free(a);

    /* no GPUs, no memory: no GPU of the node (--gres=none), no memory asked for */
    vs_slurm_plan cpu = {.slots = 2, .nodes_per_step = 1, .tasks_per_node = 1, .cpus_per_task = 8};
    a = vs_slurm_step_argv(&cpu, "s/trial-0", trainer);
    CHECK(argv_has(a, "--gres=none"));
    for (int k = 0; a[k]; k++) CHECK(strncmp(a[k], "--gpus", 6) && strncmp(a[k], "--mem", 5));
    vs_slurm_argv_free(a);

    /* a step over 2 nodes, 4 ranks a node: ended when one rank fails */
    vs_slurm_plan wide = {.slots = 1, .nodes_per_step = 2, .tasks_per_node = 4, .gpus_per_node = 4, .cpus_per_task = 8};
    a = vs_slurm_step_argv(&wide, "s/trial-1", trainer);
    CHECK(argv_has(a, "-N2") && argv_has(a, "-n8") && argv_has(a, "--ntasks-per-node=4") && argv_has(a, "--gres=gpu:4") &&
          argv_has(a, "--kill-on-bad-exit=1"));
    vs_slurm_argv_free(a);
}

static void test_notes(void) {
    char note[256];
    /* slurmstepd's banner (as this cluster's and Debian's builds print it) */
    CHECK(vs_slurm_note("slurmstepd-vm: error: *** STEP 22.0 ON vm CANCELLED AT 2026-11-30T00:42:05 ***", note,
                        sizeof note) == 2);
    CHECK(!strcmp(note, "STEP 22.0 ON vm CANCELLED AT 2026-11-30T00:42:05"));
    CHECK(vs_slurm_note("slurmstepd: error: *** STEP 20.0 ON n1 CANCELLED AT 2026-11-30T00:41:58 DUE TO TIME LIMIT ***",
                        note, sizeof note) == 2);
    CHECK(!strcmp(note, "STEP 20.0 ON n1 CANCELLED AT 2026-11-30T00:41:58 DUE TO TIME LIMIT"));
    /* srun's and slurmstepd's errors */
    CHECK(vs_slurm_note("srun: error: vm: task 0: Out Of Memory", note, sizeof note) == 1);
    CHECK(!strcmp(note, "vm: task 0: Out Of Memory"));
    CHECK(vs_slurm_note("slurmstepd-n2: error: Detected 1 oom-kill event(s) in StepId=5.1", note, sizeof note) == 1);
    CHECK(!strcmp(note, "Detected 1 oom-kill event(s) in StepId=5.1"));
    /* anything else is the trainer's */
    CHECK(vs_slurm_note("srun: Job step aborted: Waiting up to 32 seconds for job step to finish.", note,
                        sizeof note) == 0);
    CHECK(vs_slurm_note("fake trainer: error: *** not Slurm ***", note, sizeof note) == 0);
}

static void test_times(void) {
    CHECK(vs_slurm_time_seconds("90") == 5400);
    CHECK(vs_slurm_time_seconds("2:30") == 150);
    CHECK(vs_slurm_time_seconds("12:00:00") == 43200);
    CHECK(vs_slurm_time_seconds("1-00") == 86400);
    CHECK(vs_slurm_time_seconds("1-2:30") == 95400);
    CHECK(vs_slurm_time_seconds("2-01:00:05") == 2 * 86400 + 3605);
    static const char *const bad[] = {"", "x", "1:2:3:4", "12:", "-5", "1-", "1-2:3:4:5", "3h", "UNLIMITED", NULL};
    for (int i = 0; bad[i]; i++) CHECK_MSG(vs_slurm_time_seconds(bad[i]) == -1, "'%s'", bad[i]);
}

int main(void) {
    test_allocation();
    test_scontrol_gpus();
    test_plan();
    test_step_argv();
    test_notes();
    test_times();
    return test_finish();
}
