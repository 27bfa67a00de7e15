/* test_launcher_slurm: the Slurm launcher's pure parts (orchestrator/launcher_slurm.c)
 * without a cluster: the allocation read from Slurm's variables, the slots planned
 * from it, srun's command line, Slurm's notes in srun's stderr, and Slurm's time forms.
 * tests/cli_slurm*.sh run the launcher against a real Slurm. */
#include <string.h>

#include "orchestrator/launcher.h"
#include "test.h"

/* An environment as a table, for vs_slurm_allocation_read. */
static const char *const *env_table;

static const char *table_get(const char *name) {
    size_t n = strlen(name);
    for (const char *const *e = env_table; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static int read_env(const char *const *env, vs_slurm_allocation *a, vs_error *err) {
    env_table = env;
    return vs_slurm_allocation_read(a, table_get, err);
}

static void test_allocation(void) {
    vs_slurm_allocation a;
    vs_error err = {{0}};
    /* What sbatch --nodes=2 --gpus-per-node=4 --exclusive --mem=64000 sets. */
    const char *two_nodes[] = {"SLURM_JOB_ID=812", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS_ON_NODE=4",
                               "SLURM_JOB_GPUS=0,1,2,3", "SLURM_JOB_CPUS_PER_NODE=32(x2)", "SLURM_CPUS_ON_NODE=32",
                               "SLURM_MEM_PER_NODE=64000", NULL};
    CHECK_OK(read_env(two_nodes, &a, &err), &err);
    CHECK(!strcmp(a.job_id, "812"));
    CHECK(a.nodes == 2 && a.gpus_per_node == 4 && a.cpus_per_node == 32 && a.mem_per_node_mb == 64000);

    /* No SLURM_GPUS_ON_NODE: the GPUs are counted in SLURM_JOB_GPUS; uneven CPUs: the fewest. */
    const char *uneven[] = {"SLURM_JOB_ID=9", "SLURM_NNODES=3", "SLURM_JOB_GPUS=2,3",
                            "SLURM_JOB_CPUS_PER_NODE=8(x2),6", NULL};
    CHECK_OK(read_env(uneven, &a, &err), &err);
    CHECK(a.nodes == 3 && a.gpus_per_node == 2 && a.cpus_per_node == 6 && a.mem_per_node_mb == 0);

    /* A CPU-only salloc shell. */
    const char *cpus_only[] = {"SLURM_JOB_ID=10", "SLURM_CPUS_ON_NODE=4", NULL};
    CHECK_OK(read_env(cpus_only, &a, &err), &err);
    CHECK(a.nodes == 1 && a.gpus_per_node == 0 && a.cpus_per_node == 4);

    /* An salloc shell has only the request: --gpus-per-node (typed or not), or --gpus over the nodes. */
    const char *per_node[] = {"SLURM_JOB_ID=11", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS_PER_NODE=a100:4",
                              "SLURM_JOB_CPUS_PER_NODE=8(x2)", NULL};
    CHECK_OK(read_env(per_node, &a, &err), &err);
    CHECK(a.gpus_per_node == 4);
    const char *total[] = {"SLURM_JOB_ID=12", "SLURM_JOB_NUM_NODES=2", "SLURM_GPUS=8", "SLURM_JOB_CPUS_PER_NODE=8(x2)",
                           NULL};
    CHECK_OK(read_env(total, &a, &err), &err);
    CHECK(a.gpus_per_node == 4);
    const char *bad_gpus[] = {"SLURM_JOB_ID=13", "SLURM_GPUS_PER_NODE=a100:", "SLURM_CPUS_ON_NODE=4", NULL};
    CHECK(read_env(bad_gpus, &a, &err) == -1 && strstr(err.msg, "SLURM_GPUS_PER_NODE 'a100:'"));

    /* Outside an allocation, and values that do not parse: refused, naming the variable. */
    const char *outside[] = {"HOME=/root", NULL};
    CHECK(read_env(outside, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_ID") && strstr(err.msg, "allocation"));
    const char *bad_nodes[] = {"SLURM_JOB_ID=1", "SLURM_JOB_NUM_NODES=two", "SLURM_CPUS_ON_NODE=4", NULL};
    CHECK(read_env(bad_nodes, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_NUM_NODES 'two'"));
    const char *bad_cpus[] = {"SLURM_JOB_ID=1", "SLURM_JOB_CPUS_PER_NODE=8(x2", NULL};
    CHECK(read_env(bad_cpus, &a, &err) == -1 && strstr(err.msg, "SLURM_JOB_CPUS_PER_NODE"));
    const char *no_cpus[] = {"SLURM_JOB_ID=1", NULL};
    CHECK(read_env(no_cpus, &a, &err) == -1 && strstr(err.msg, "CPUs"));
}

static void test_plan(void) {
    vs_slurm_plan p;
    vs_error err = {{0}};
    vs_slurm_allocation gpus = {"812", 2, 4, 32, 64000};
    /* 2 GPUs a trial: 2 steps a node, 4 in all, each with half a node's CPUs and memory. */
    CHECK_OK(vs_slurm_plan_slots(&gpus, 2, 1, 0, &p, &err), &err);
    CHECK(p.slots == 4 && p.gpus_per_step == 2 && p.cpus_per_step == 16 && p.mem_mb_per_step == 32000);
    /* 3 GPUs a trial on 4-GPU nodes: one step a node (a step stays on one node). */
    CHECK_OK(vs_slurm_plan_slots(&gpus, 3, 1, 0, &p, &err), &err);
    CHECK(p.slots == 2 && p.gpus_per_step == 3 && p.cpus_per_step == 32);
    /* More GPUs a trial than a node has, and GPU sharing, are refused. */
    CHECK(vs_slurm_plan_slots(&gpus, 8, 1, 0, &p, &err) == -1 && strstr(err.msg, "gpus_per_trial is 8"));
    CHECK(vs_slurm_plan_slots(&gpus, 1, 2, 0, &p, &err) == -1 && strstr(err.msg, "trials_per_gpu is 2"));
    /* Too few CPUs for the steps of a node. */
    vs_slurm_allocation few = {"5", 1, 4, 2, 0};
    CHECK(vs_slurm_plan_slots(&few, 1, 1, 0, &p, &err) == -1 && strstr(err.msg, "4 trials a node"));

    /* CPUs only: one step a node by default, else --jobs spread over the nodes. */
    vs_slurm_allocation cpus = {"6", 2, 0, 8, 0};
    CHECK_OK(vs_slurm_plan_slots(&cpus, 1, 1, 0, &p, &err), &err);
    CHECK(p.slots == 2 && p.gpus_per_step == 0 && p.cpus_per_step == 8 && p.mem_mb_per_step == 0);
    CHECK_OK(vs_slurm_plan_slots(&cpus, 1, 1, 5, &p, &err), &err);
    CHECK(p.slots == 5 && p.cpus_per_step == 2);   /* 3 a node at most: 8 / 3 CPUs */
}

static int argv_has(char **argv, const char *word) {
    for (; *argv; argv++)
        if (!strcmp(*argv, word)) return 1;
    return 0;
}

static void test_step_argv(void) {
    vs_slurm_plan p = {4, 2, 16, 32000};
    char *trainer[] = {"/opt/vaecf-train", "--data", "d.vsds", "--out", "runs/s/trial-3", NULL};
    char **a = vs_slurm_step_argv(&p, "s/trial-3", trainer);
    CHECK(!strcmp(a[0], "srun"));
    CHECK(argv_has(a, "--exact") && argv_has(a, "-N1") && argv_has(a, "-n1"));
    CHECK(argv_has(a, "--gpus=2") && argv_has(a, "--cpus-per-task=16") && argv_has(a, "--mem=32000M"));
    CHECK(argv_has(a, "--job-name=s/trial-3"));
    /* then the step's shell, which reports the step and becomes the trainer with its arguments intact */
    int i = 0;
    while (a[i] && strcmp(a[i], "/bin/sh")) i++;
    CHECK(a[i] && !strcmp(a[i + 1], "-c") && strstr(a[i + 2], "slurm_step") && strstr(a[i + 2], "$SLURM_STEP_ID") &&
          strstr(a[i + 2], "exec \"$@\""));
    for (int k = 0; trainer[k]; k++) CHECK(a[i + 4 + k] && !strcmp(a[i + 4 + k], trainer[k]));
    CHECK(a[i + 4 + 5] == NULL);
    vs_slurm_argv_free(a);

    /* no GPUs, no memory: neither is asked for */
    vs_slurm_plan cpu = {2, 0, 8, 0};
    a = vs_slurm_step_argv(&cpu, "s/trial-0", trainer);
    for (int k = 0; a[k]; k++) CHECK(strncmp(a[k], "--gpus", 6) && strncmp(a[k], "--mem", 5));
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
    test_plan();
    test_step_argv();
    test_notes();
    test_times();
    return test_finish();
}
