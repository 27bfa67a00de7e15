/* vaecf-train: trains one Mult-VAE trial and reports JSON lines on stdout. The
 * orchestrator launches one per trial; people can run it by hand too. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <cjson/cJSON.h>
#include <omp.h>

#include "config.h"
#include "train.h"
#include "common/json_exact.h"
#include "dataset/dataset.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_STOPPED = 3 };

static const char usage_text[] =
    "usage: vaecf-train --data DATASET [--config FILE] [--set KEY=VALUE]... [--device cpu|cuda]\n"
    "                   [--out DIR] [--resume] [--threads N] [--format json|text]\n"
    "                   [--progress-every SECONDS] [--ranks N|slurm] [--comm auto|always]\n"
    "                   [--comm-timeout SECONDS] | --version\n"
    "\n"
    "Trains Mult-VAE on a prepared dataset (vaesearch prepare / synth) and prints one JSON\n"
    "object per line: start, one per epoch (with progress lines inside a long one), and\n"
    "done (or stopped, or error).\n"
    "\n"
    "  --data DATASET      the .vsds file\n"
    "  --config FILE       JSON object of config keys (docs/trainer.md)\n"
    "  --set KEY=VALUE     one config key; repeatable; applied after --config\n"
    "  --device D          cpu (default) or cuda: loads the CUDA module, libvaesearch_cuda.so\n"
    "                      beside vaecf-train (or the file $VAESEARCH_CUDA_MODULE names)\n"
    "  --out DIR           where best.safetensors, state.safetensors, config.json go (default: out)\n"
    "  --resume            continue from DIR/state.safetensors when it exists\n"
    "  --threads N         CPU threads (default: all cores); they wait passively\n"
    "                      (OMP_WAIT_POLICY=passive) unless OMP_WAIT_POLICY is set\n"
    "  --format F          json (default): one JSON object per line; text: lines for people\n"
    "                      (--json: the same as --format json)\n"
    "  --progress-every S  a progress line inside an epoch every S seconds (default 10;\n"
    "                      0: none)\n"
    "  --stop-after-epochs N   save the state and stop after N epochs, as if interrupted\n"
    "  --ranks N           data-parallel over N ranks in this process, one thread each: CPU\n"
    "                      ranks, or GPUs 0..N-1 through NCCL (default: 1 on cpu, every\n"
    "                      visible GPU on cuda in a build with NCCL)\n"
    "  --ranks slurm       this process is rank SLURM_PROCID of SLURM_NTASKS (run by srun;\n"
    "                      GPU SLURM_LOCALID); only rank 0 prints and writes files\n"
    "  --comm C            auto (default): a communicator only for 2 or more ranks; always:\n"
    "                      one rank through it too (checks that path)\n"
    "  --comm-timeout S    seconds a rank waits for the others before the run fails (600)\n"
    "  --version           print the version and exit\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 bad usage or config, 3 stopped by SIGINT/SIGTERM\n"
    "with a resumable state saved.\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    stop_requested = 1;
    signal(sig, SIG_DFL);   /* a second signal ends the process at once */
}

/* A rank of srun's other than 0: its errors go to stderr only, so that the trial's
 * output (every task's stdout, merged) has rank 0's lines alone. */
static int quiet;

/* OpenMP threads that spin while they wait (libgomp spins 300,000 times by default before
 * it sleeps) collapse on a shared machine: a trial's threads wait for one that is
 * descheduled (docs/performance.md, "The demo sweep on a shared CPU machine"). libgomp reads
 * OMP_WAIT_POLICY once, as it loads, before main: so when it is unset the trainer sets
 * it to passive and runs itself again, once (the new process finds it set). A value the
 * user set, active included, is kept. Where the exec fails the run goes on as it is. */
static void wait_passively(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0) execv("/proc/self/exe", argv);
}

static int parse_count(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 1024) return -1;
    *out = (int)v;
    return 0;
}

static int fail(int code, const char *msg) {
    if (quiet) {
        fprintf(stderr, "vaecf-train (rank %s): %s\n", getenv("SLURM_PROCID"), msg);
        return code;
    }
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "error");
    cJSON_AddStringToObject(ev, "message", msg);
    char *s = vs_json_print_exact(ev);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    cJSON_Delete(ev);
    fprintf(stderr, "vaecf-train: %s\n", msg);
    return code;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},    {"config", required_argument, 0, 'c'},
        {"set", required_argument, 0, 's'},     {"device", required_argument, 0, 'D'},
        {"out", required_argument, 0, 'o'},     {"resume", no_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'}, {"stop-after-epochs", required_argument, 0, 'S'},
        {"format", required_argument, 0, 'f'},  {"help", no_argument, 0, 'h'},
        {"ranks", required_argument, 0, 'R'},   {"comm", required_argument, 0, 'C'},
        {"comm-timeout", required_argument, 0, 'T'},
        {"progress-every", required_argument, 0, 'P'}, {"version", no_argument, 0, 'V'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0},
    };
    const char *data = NULL, *config_path = NULL;
    char **sets = calloc((size_t)argc, sizeof(char *));
    char **argv_as_given = calloc((size_t)argc + 1, sizeof(char *));   /* getopt reorders argv */
    memcpy(argv_as_given, argv, (size_t)argc * sizeof(char *));
    int n_sets = 0, threads = 0;
    vs_train_opts o = {.device = "cpu", .out_dir = "out", .events = stdout, .stop = &stop_requested,
                       .progress_every = 10};
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'c': config_path = optarg; break;
        case 's': sets[n_sets++] = optarg; break;
        case 'D': o.device = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'r': o.resume = 1; break;
        case 't': threads = atoi(optarg); break;
        case 'S': o.stop_after_epochs = atoi(optarg); break;
        case 'R':
            if (!strcmp(optarg, "slurm")) {
                o.slurm = 1;
                const char *procid = getenv("SLURM_PROCID");
                quiet = procid && strcmp(procid, "0") != 0;
            } else if (parse_count(optarg, &o.ranks)) {
                free(sets);
                return fail(EXIT_USAGE, "--ranks must be a count of ranks (1 or more) or slurm");
            }
            break;
        case 'C':
            if (strcmp(optarg, "auto") && strcmp(optarg, "always")) {
                free(sets);
                return fail(EXIT_USAGE, "--comm must be auto or always");
            }
            o.comm_always = !strcmp(optarg, "always");
            break;
        case 'T': {
            char *end;
            o.comm_timeout = strtod(optarg, &end);
            if (*end || !(o.comm_timeout > 0)) {
                free(sets);
                return fail(EXIT_USAGE, "--comm-timeout must be a number of seconds above 0");
            }
            break;
        }
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
                free(sets);
                return fail(EXIT_USAGE, "--format must be json or text");
            }
            o.text = !strcmp(optarg, "text");
            break;
        case 'P': {
            char *end;
            o.progress_every = strtod(optarg, &end);
            if (*end || !(o.progress_every >= 0) || o.progress_every > 1e9) {
                free(sets);
                return fail(EXIT_USAGE, "--progress-every must be a number of seconds, 0 or more (0: no progress lines)");
            }
            break;
        }
        case 'j': o.text = 0; break;
        case 'V': printf("vaecf-train %s\n", VS_VERSION); free(sets); return EXIT_OK;
        case 'h': fputs(usage_text, stdout); free(sets); return EXIT_OK;
        default: fputs(usage_text, stderr); free(sets); return EXIT_USAGE;
        }
    }
    if (!data || optind < argc) {
        free(sets);
        return fail(EXIT_USAGE, !data ? "--data DATASET is required (see --help)" : "unexpected argument");
    }
    vs_error err = {{0}};
    vs_config cfg;
    vs_config_default(&cfg);
    int bad = config_path && vs_config_load_file(&cfg, config_path, &err);
    for (int i = 0; i < n_sets && !bad; i++) bad = vs_config_set(&cfg, sets[i], &err) != 0;
    free(sets);
    if (bad || vs_config_validate(&cfg, &err)) return fail(EXIT_USAGE, err.msg);
    if (strcmp(o.device, "cpu") && strcmp(o.device, "cuda"))
        return fail(EXIT_USAGE, "--device must be cpu or cuda");
    wait_passively(argv_as_given);
    free(argv_as_given);
    if (threads > 0) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
    }

    /* From here on a stop request is remembered, even while the dataset loads. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    vs_dataset ds;
    if (vs_dataset_open(&ds, data, &err)) return fail(EXIT_USAGE, err.msg);
    int rc = vs_train_run(&ds, &cfg, &o, &err);
    vs_dataset_close(&ds);
    if (rc == VS_TRAIN_FAILED) return fail(EXIT_FAIL, err.msg);
    return rc == VS_TRAIN_STOPPED ? EXIT_STOPPED : EXIT_OK;
}
