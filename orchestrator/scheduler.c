/* scheduler: runs a sweep's trials as vaecf-train processes, one per slot, and keeps
 * results.db current. One thread: a poll() loop over the trainers' output pipes and a
 * self-pipe for signals. Proposals and pruning decisions use each trial's reference
 * set (trials numbered < n - window, all ended), so they are the same in every run. */
#define _GNU_SOURCE
#include "scheduler.h"
#include "common/json_exact.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "launcher.h"
#include "pruner.h"
#include "sampler.h"
#include "trainer_output.h"
#include "common/strbuf.h"
#include "dataset/dataset.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "results/results_db.h"
#include "space/space.h"
#include "trainer/backend.h"

#define HEARTBEAT_SECONDS 5.0
#define STALE_SECONDS 30.0
#define KILL_GRACE_SECONDS 20.0

/* ---- signals: Ctrl-C once stops cleanly, twice stops now ---- */

static volatile sig_atomic_t interrupts, first_signal;
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    if (!interrupts) first_signal = sig;
    interrupts++;
    int saved = errno;
    if (write(signal_pipe[1], "!", 1) < 0) { /* the flag is enough */ }
    errno = saved;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a running trainer ---- */

typedef struct child {
    int used;
    int trial_id, number, slot;
    vs_trial_process proc;
    vs_line_reader out, err;   /* the line being read from each pipe */
    vs_output_tail tail;
    double started, kill_at;
    int prune, timed_out, stopping, killed;
    int bad_output;   /* it printed an event it should not have: stopped, recorded FAIL */
    int last_epoch, epochs;   /* the last epoch seen, of how many (0 when unknown) */
    int last_validated_epoch;        /* the last epoch with a validation, 0 before the first */
    double last_value, best_value;   /* the metric after the last validated epoch, and the best */
    cJSON *done;
    char *error;
    char prune_reason[256];
    FILE *stderr_log;          /* the run folder's stderr.log, or NULL */
    char slurm_step[64];       /* "JOB.STEP" once the step has said so, or "" */
    char slurm_note[256];      /* Slurm's word on the step (launcher_slurm.c), or "" */
    int slurm_note_rank;       /* vs_slurm_note's rank of it: a banner outranks an error */
} child;

typedef struct sweep {
    const vs_run_opts *o;
    vs_space space;
    vs_db *db;
    int study_id;
    char dataset[4096], trainer[4096], runs[4096];
    const char *device;
    int threads, window, n_slots, n_groups;
    char (*group_gpus)[256];   /* per group: "0,1" */
    child *children;           /* per slot */
    int slurm;                 /* 1: trials are job steps of this Slurm allocation */
    vs_slurm_allocation allocation;
    vs_slurm_plan plan;
    vs_db_trial *trials;       /* the history, by number: read once, then kept current */
    int n_trials, cap_trials;
    int64_t budget;
    int stopping, time_up;
    int disk_full;   /* a trainer found no space left on the device: start no more trials */
    double t0, last_heartbeat, last_live;
    int run_ended, run_failed;      /* trials that ended in this run, and how many of them FAILed */
    int fail_streak, fail_stop;     /* FAILs in a row with the same reason; stopped because of them */
    char fail_key[1200];            /* that reason with its numbers left out */
    char last_fail[1200];           /* the last FAIL's reason as recorded */
    vs_db_seed *seeds;              /* warm start: an earlier sweep's finished trials that fit */
    int n_seeds, n_unfit;           /* ... and how many did not fit this space */
    int n_seeded;                   /* trials of this sweep that are seeds (not run, not in the budget) */
    double ended_seconds;      /* trainer time of the attempts that ended in this run (COMPLETE, PRUNED, FAIL) */
    int ended_count;
} sweep;

static void say(sweep *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sweep *w, const char *fmt, ...) {
    FILE *f = w->o->out;
    if (w->o->live) fputs("\r\033[K", f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
    w->last_live = 0;
}

static int is_ended(const char *state) {
    return !strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED") || !strcmp(state, "FAIL");
}

static child *running_child(sweep *w, int trial_id) {
    for (int i = 0; i < w->n_slots; i++)
        if (w->children[i].used && w->children[i].trial_id == trial_id) return &w->children[i];
    return NULL;
}

/* Reads the whole history: once when the run starts, once for the summary. */
static int reload(sweep *w, vs_error *err) {
    vs_db_free_trials(w->trials, w->n_trials);
    w->trials = NULL;
    w->n_trials = w->cap_trials = 0;
    if (vs_db_load_trials(w->db, w->study_id, &w->space, &w->trials, &w->n_trials, err)) return -1;
    w->cap_trials = w->n_trials;
    return 0;
}

/* The trial numbered number, or NULL. Numbers run 0, 1, 2... so the index is the
 * number, unless trials were deleted from the database by hand. */
static vs_db_trial *trial_by_number(const sweep *w, int number) {
    if (number >= 0 && number < w->n_trials && w->trials[number].number == number) return &w->trials[number];
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number == number) return &w->trials[i];
    return NULL;
}

/* After a change to one trial (or a new one), reads that trial back from the database
 * into the history: the history stays what the database holds, at the cost of one
 * trial's rows, never all of them. A new trial has the largest number: it goes last. */
static int refresh_trial(sweep *w, int trial_id, vs_error *err) {
    vs_db_trial t;
    if (vs_db_load_trial(w->db, trial_id, &w->space, &t, err)) return -1;
    vs_db_trial *old = trial_by_number(w, t.number);
    if (old) {
        vs_db_free_trials_content(old, 1);
        *old = t;
        return 0;
    }
    if (w->n_trials == w->cap_trials) {
        w->cap_trials = w->cap_trials ? 2 * w->cap_trials : 64;
        w->trials = vs_xrealloc(w->trials, sizeof *w->trials * (size_t)w->cap_trials);
    }
    w->trials[w->n_trials++] = t;
    return 0;
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

/* ---- set-up ---- */

static int resolve_trainer(sweep *w) {
    if (w->o->trainer) {
        snprintf(w->trainer, sizeof w->trainer, "%s", w->o->trainer);
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        snprintf(w->trainer, sizeof w->trainer, "%s/vaecf-train", dirname(self));
        if (access(w->trainer, X_OK) == 0) return 0;
    }
    snprintf(w->trainer, sizeof w->trainer, "vaecf-train");   /* execvp finds it on PATH */
    return 0;
}

/* The trainer must be a program this process can run, found as execvp will find it. */
static int check_trainer(const sweep *w, vs_error *err) {
    struct stat st;
    if (strchr(w->trainer, '/')) {
        if (stat(w->trainer, &st) != 0) return vs_errorf(err, "trainer %s: %s", w->trainer, strerror(errno));
        if (!S_ISREG(st.st_mode) || access(w->trainer, X_OK) != 0)
            return vs_errorf(err, "trainer %s: not an executable file", w->trainer);
        return 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        char candidate[8192];
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)len, p, w->trainer);
        if (len && stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) return 0;
        p += len + (p[len] == ':');
    }
    return vs_errorf(err, "trainer %s: not found beside vaesearch nor on PATH; name it with --trainer", w->trainer);
}

static int mkdir_p(const char *path, vs_error *err) {
    char tmp[8192];
    if (strlen(path) >= sizeof tmp) return vs_errorf(err, "%s: path too long", path);
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
    return 0;
}

static void folder_of(const char *path, char *out, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, n, "%s", dirname(tmp));
}

/* The dataset: a file named by the space, or a generated one made once beside the database. */
static int ensure_dataset(sweep *w, vs_error *err) {
    if (!w->space.dataset_synth) {
        snprintf(w->dataset, sizeof w->dataset, "%s", w->space.dataset);
    } else {
        char folder[2048];
        folder_of(w->o->db_path, folder, sizeof folder);
        snprintf(w->dataset, sizeof w->dataset, "%s/synth-%s.vsds", folder, w->space.dataset_synth);
        struct stat st;
        if (stat(w->dataset, &st) != 0) {
            vs_synth_opts so;
            vs_dataset ds = {0};
            if (vs_synth_preset(w->space.dataset_synth, &so, err)) return -1;
            char meta[128];
            snprintf(meta, sizeof meta, "{\"source\": \"synth\", \"preset\": \"%s\"}", w->space.dataset_synth);
            int rc = vs_synth_dataset(&so, meta, &ds, err);
            if (rc == 0) rc = vs_dataset_write(&ds, w->dataset, err);
            vs_dataset_close(&ds);
            if (rc) return -1;
            say(w, "generated the '%s' synthetic dataset: %s", w->space.dataset_synth, w->dataset);
        }
    }
    vs_dataset ds;
    if (vs_dataset_open(&ds, w->dataset, err)) return -1;   /* refuse a bad dataset before any trial */
    int rc = 0;
    if (ds.train.rows < 1) rc = vs_errorf(err, "%s: the dataset has no training users", w->dataset);
    else if (ds.val_in.rows < 1)
        rc = vs_errorf(err, "%s: the dataset has no validation users, and the sweep's objective is validation %s",
                       w->dataset, w->space.metric);
    vs_dataset_close(&ds);
    return rc;
}

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

/* Under Slurm the allocation gives the slots (launcher_slurm.c), and Slurm chooses each
 * step's GPUs and CPUs. */
static int setup_slurm_slots(sweep *w, vs_error *err) {
    const vs_run_opts *o = w->o;
    if (o->gpus_given)
        return vs_errorf(err, "--gpus does not go with --launcher slurm: Slurm chooses each trial's GPUs");
    if (!on_path("srun") || !on_path("scancel"))
        return vs_errorf(err, "--launcher slurm needs Slurm's srun and scancel, and they are not on PATH");
    if (vs_slurm_allocation_read(&w->allocation, getenv_const, err) ||
        vs_slurm_plan_slots(&w->allocation, w->space.gpus_per_trial, w->space.trials_per_gpu, o->jobs, &w->plan, err))
        return -1;
    w->slurm = 1;
    w->n_slots = w->plan.slots;
    w->n_groups = 0;
    w->device = o->device ? o->device : w->plan.gpus_per_step ? "cuda" : "cpu";
    w->threads = o->threads > 0 ? o->threads : w->plan.cpus_per_step;
    w->children = vs_xcalloc((size_t)w->n_slots, sizeof *w->children);
    w->window = w->space.window > 0 ? w->space.window : 2 * (w->n_slots - 1);
    return 0;
}

static int setup_slots(sweep *w, vs_error *err) {
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
        say(w, "note: %d slots x %d threads exceed the %ld cores; trials will wait on each other", w->n_slots,
            w->threads, cores);
    w->children = vs_xcalloc((size_t)w->n_slots, sizeof *w->children);
    /* With one slot each trial sees every earlier one; with P slots, a trial waits only
     * for those more than 2 (P - 1) before it, so slots rarely idle. */
    w->window = w->space.window > 0 ? w->space.window : 2 * (w->n_slots - 1);
    return 0;
}

/* The GPUs of slot s: trials_per_gpu consecutive slots share a group. */
static const char *slot_gpus(const sweep *w, int s) {
    return w->n_groups ? w->group_gpus[s / w->space.trials_per_gpu] : NULL;
}

/* ---- proposing ---- */

static int64_t base_trials(const sweep *w) {
    int64_t n = -w->n_seeded;   /* warm-start seeds are history, not proposals */
    for (int i = 0; i < w->n_trials; i++) n += w->trials[i].retry_of < 0;
    return n;
}

static int next_number(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number + 1 > n) n = w->trials[i].number + 1;
    return n;
}

/* Proposes and records the next trial, if the budget allows and its reference set has
 * ended. Returns 1 when a trial was created, 0 when none can be now, -1 on error. */
static int propose(sweep *w, vs_error *err) {
    int64_t k = base_trials(w);
    if (k >= w->budget) return 0;
    int n = next_number(w);
    int cut = n - w->window;
    vs_trial_obs *hist = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *hist);
    int h = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < cut) {
            if (!is_ended(t->state)) {   /* the reference set has not ended yet: wait */
                free(hist);
                return 0;
            }
            if (!strcmp(t->state, "FAIL") || !t->has_value) continue;
            hist[h++] = (vs_trial_obs){t->number, t->values, !strcmp(t->state, "COMPLETE") ? VS_OBS_COMPLETE : VS_OBS_PRUNED,
                                       t->value};
        } else {
            hist[h++] = (vs_trial_obs){t->number, t->values, VS_OBS_PENDING, 0.0};
        }
    }
    double *values = vs_xcalloc((size_t)(w->space.n_params ? w->space.n_params : 1), sizeof(double));
    /* The k-th proposal of the sweep: equal to the trial number unless failures were retried. */
    int rc = vs_sampler_propose(&w->space, (int)k, hist, h, values, err);
    int trial_id, number;
    if (rc == 0) rc = vs_db_create_trial(w->db, w->study_id, &w->space, values, -1, &trial_id, &number, err);
    free(values);
    free(hist);
    if (rc) return -1;
    return refresh_trial(w, trial_id, err) ? -1 : 1;
}

/* Pruning, as Optuna's pruners judge, at a validated epoch (the previous one was
 * previous_epoch): the median pruner the trial's best value so far, ASHA its value at
 * this epoch (NaN for both when this epoch's is), against the curves of the COMPLETE
 * trials of its reference set. */
static int prune_verdict(sweep *w, int number, int previous_epoch, int epoch, double value, double best) {
    if (w->space.pruner == VS_PRUNER_NONE || w->stopping) return 0;
    vs_curve *refs = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *refs);
    int n = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < number - w->window && !strcmp(t->state, "COMPLETE") && t->n_epochs > 0)
            refs[n++] = (vs_curve){t->n_epochs, t->curve};
    }
    double judged = w->space.pruner == VS_PRUNER_ASHA || isnan(value) ? value : best;
    int prune = vs_pruner_should_prune(&w->space, previous_epoch, epoch, judged, refs, n);
    free(refs);
    return prune;
}

static double better_of(const sweep *w, double best, double v) {
    if (isnan(v)) return best;
    if (isnan(best)) return v;
    return w->space.maximize ? (v > best ? v : best) : (v < best ? v : best);
}

/* A trial that comes back (after a kill or a Ctrl-C) with epochs already recorded is
 * judged on them first: the decision a killed run made but could not record is made
 * again, the same way. Returns the epoch to prune at, or 0. */
static int replay_pruning(sweep *w, const vs_db_trial *t) {
    double best = NAN;
    int previous = 0;
    for (int e = 1; e <= t->n_epochs; e++) {
        double v = t->curve[e - 1];
        if (isnan(v)) continue;   /* not validated */
        best = better_of(w, best, v);
        if (prune_verdict(w, t->number, previous, e, v, best)) return e;
        previous = e;
    }
    return 0;
}

/* ---- launching ---- */

static int write_trial_config(sweep *w, const vs_db_trial *t, const char *path, vs_error *err) {
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    char *text = vs_json_print_exact(cfg);
    cJSON_Delete(cfg);
    /* O_NOFOLLOW: a link planted where trial.json goes must not redirect the write. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        free(text);
        return vs_errorf(err, "%s: %s", path, e == ELOOP ? "is a symbolic link; refusing to write through it" : strerror(e));
    }
    fprintf(f, "%s\n", text);
    free(text);
    if (fclose(f)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    return 0;
}

static char *params_text(const sweep *w, const double *values) {
    char *buf = vs_xcalloc(1, 1024);
    size_t used = 0;
    for (int p = 0; p < w->space.n_params && used < 1000; p++) {
        if (w->space.params[p].kind == VS_PARAM_CONSTANT) continue;
        cJSON *v = vs_param_json_value(&w->space.params[p], values[p]);
        char *s = vs_json_print_exact(v);
        used += (size_t)snprintf(buf + used, 1024 - used, "%s%s=%s", used ? " " : "", w->space.params[p].name, s);
        free(s);
        cJSON_Delete(v);
    }
    return buf;
}

/* A step's ids as user attributes (docs/results-db.md): the job at once, the step and
 * node once the step reports them (its "slurm_step" line); until then null, so that no
 * earlier attempt's step is shown. */
static int slurm_step_pending(sweep *w, int trial_id, vs_error *err) {
    cJSON *job = cJSON_CreateString(w->allocation.job_id), *none = cJSON_CreateNull();
    int rc = vs_db_set_user_attr(w->db, trial_id, "slurm_job_id", job, err) ||
             vs_db_set_user_attr(w->db, trial_id, "slurm_step_id", none, err) ||
             vs_db_set_user_attr(w->db, trial_id, "slurm_node", none, err);
    cJSON_Delete(job);
    cJSON_Delete(none);
    return rc ? -1 : 0;
}

static int launch(sweep *w, vs_db_trial *t, int slot, vs_error *err) {
    char dir[8192], config[8300], threads[16];
    snprintf(dir, sizeof dir, "%s/%s/trial-%d", w->runs, w->space.name, t->number);
    if (mkdir_p(dir, err)) return -1;
    /* The trial's own folder must be one: a link planted in its place would send the
     * trainer's files elsewhere. */
    struct stat st;
    if (lstat(dir, &st)) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return vs_errorf(err, "%s: not a folder (a symbolic link?); refusing to use it", dir);
    snprintf(config, sizeof config, "%s/trial.json", dir);
    if (write_trial_config(w, t, config, err)) return -1;
    snprintf(threads, sizeof threads, "%d", w->threads);
    const char *gpus = slot_gpus(w, slot);
    char *argv[] = {w->trainer, "--data", w->dataset, "--config", config, "--out", dir, "--device", (char *)w->device,
                    "--threads", threads, "--resume", NULL};
    vs_trial_process proc;
    if (w->slurm) {
        char name[300];
        snprintf(name, sizeof name, "%s/trial-%d", w->space.name, t->number);
        if (vs_launch_slurm(&w->plan, name, argv, &proc, err)) return -1;
    } else {
        vs_launch l = {argv, gpus, NULL};
        if (vs_launch_local(&l, &proc, err)) return -1;
    }
    child *c = &w->children[slot];
    memset(c, 0, sizeof *c);
    c->used = 1;
    char log_path[8400];
    snprintf(log_path, sizeof log_path, "%s/stderr.log", dir);
    c->stderr_log = fopen(log_path, "ae");   /* the trainer's stderr, kept (a trial runs without it); not
                                               * inherited by later trainers */
    c->trial_id = t->trial_id;
    c->number = t->number;
    c->slot = slot;
    c->proc = proc;
    c->started = now_seconds();
    c->last_value = c->best_value = NAN;
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    double epochs = json_num(cfg, "epochs");   /* the trainer's start line says it too, when it runs */
    cJSON_Delete(cfg);
    c->epochs = epochs >= 1 && epochs < 1e9 ? (int)epochs : 0;
    for (int e = 0; e < t->n_epochs; e++) {   /* what it recorded before (replay_pruning judged it) */
        c->best_value = better_of(w, c->best_value, t->curve[e]);
        if (!isnan(t->curve[e])) c->last_validated_epoch = e + 1;
    }
    if (vs_db_trial_started(w->db, t->trial_id, (int)proc.pid, gpus ? gpus : "", dir, err)) return -1;
    if (w->slurm && slurm_step_pending(w, t->trial_id, err)) return -1;
    char *p = params_text(w, t->values), where[300];
    if (w->slurm)
        snprintf(where, sizeof where, "a Slurm step of job %s (%d GPU%s, %d CPU%s)", w->allocation.job_id,
                 w->plan.gpus_per_step, w->plan.gpus_per_step == 1 ? "" : "s", w->plan.cpus_per_step,
                 w->plan.cpus_per_step == 1 ? "" : "s");
    else if (gpus) snprintf(where, sizeof where, "GPU %s", gpus);
    else snprintf(where, sizeof where, "CPU slot %d", slot);
    say(w, "trial %d: started %s %s (%s)%s", t->number, w->slurm ? "as" : "on", where, p,
        t->out_dir ? ", resuming" : "");
    free(p);
    return 0;
}

/* Starts trials while slots are free: first those waiting (resumed or retried), then
 * new proposals. */
static int fill_slots(sweep *w, vs_error *err) {
    for (int slot = 0; slot < w->n_slots; slot++) {
        if (w->children[slot].used) continue;
        vs_db_trial *pick = NULL;
        for (int i = 0; i < w->n_trials; i++) {
            vs_db_trial *t = &w->trials[i];
            if (!strcmp(t->state, "WAITING") && !running_child(w, t->trial_id) && (!pick || t->number < pick->number))
                pick = t;
        }
        if (!pick) {
            int rc = propose(w, err);
            if (rc < 0) return -1;
            if (rc == 0) return 0;
            for (int i = 0; i < w->n_trials; i++)
                if (!strcmp(w->trials[i].state, "WAITING") && !running_child(w, w->trials[i].trial_id)) pick = &w->trials[i];
        }
        if (!pick) return 0;
        int pruned_at = pick->n_epochs ? replay_pruning(w, pick) : 0;
        if (pruned_at) {
            char reason[128];
            snprintf(reason, sizeof reason, "pruned after epoch %d (recorded before the sweep stopped)", pruned_at);
            int number = pick->number;
            if (vs_db_trial_finished(w->db, pick->trial_id, "PRUNED", NULL, w->space.metric, -1, reason, NULL, err) ||
                refresh_trial(w, pick->trial_id, err))
                return -1;
            say(w, "trial %d: PRUNED: %s", number, reason);
            slot--;   /* this slot is still free */
            continue;
        }
        if (launch(w, pick, slot, err)) return -1;
        snprintf(pick->state, sizeof pick->state, "RUNNING");
    }
    return 0;
}

/* ---- following a trainer ---- */

/* Signals a trial's trainer. Under Slurm, SIGTERM (stop, saving the state) goes to the
 * step through Slurm, since srun would kill the step at once; before the step has
 * started, srun's own answer (ending it) is what is wanted. */
static void signal_trial(child *c, int sig) {
    vs_error ignore;
    if (c->slurm_step[0] && (sig == SIGTERM || sig == SIGKILL)) {
        if (sig == SIGTERM && vs_slurm_signal_step(c->slurm_step, sig, &ignore) == 0) return;
        if (sig == SIGKILL && !c->killed) vs_slurm_signal_step(c->slurm_step, sig, &ignore);
    }
    if (sig == SIGKILL) c->killed = 1;
    kill(c->proc.pid, sig);
}

/* A trainer whose output cannot be recorded has failed: that trial alone. Its trainer
 * is stopped, nothing more of its output is recorded, and it ends as FAIL with the
 * reason; the sweep goes on. */
static void trainer_misbehaved(sweep *w, child *c, const char *problem) {
    if (c->bad_output) return;
    c->bad_output = 1;
    char reason[300];
    snprintf(reason, sizeof reason, "bad trainer output: %s", problem);
    free(c->error);
    c->error = vs_xstrdup(reason);
    say(w, "trial %d: %s; stopping its trainer", c->number, reason);
    signal_trial(c, SIGTERM);
    if (!c->kill_at) c->kill_at = now_seconds() + KILL_GRACE_SECONDS;
}

/* The launcher's line naming a trial's Slurm job step: user attributes for status, and
 * the step that signal_trial addresses. */
static int record_slurm_step(sweep *w, child *c, const cJSON *ev, vs_error *err) {
    static const char *const keys[][2] = {{"job_id", "slurm_job_id"}, {"step_id", "slurm_step_id"}, {"node", "slurm_node"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, keys[i][0]);
        if (cJSON_IsString(v) && v->valuestring[0] && vs_db_set_user_attr(w->db, c->trial_id, keys[i][1], v, err))
            return -1;
    }
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(ev, "job_id");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(ev, "step_id");
    if (cJSON_IsString(job) && cJSON_IsString(step) && job->valuestring[0] && step->valuestring[0])
        snprintf(c->slurm_step, sizeof c->slurm_step, "%s.%s", job->valuestring, step->valuestring);
    return 0;
}

/* Acts on one stdout line; nonzero only when the database failed. */
static int handle_event(sweep *w, child *c, const char *line, vs_error *err) {
    if (c->bad_output) return 0;   /* its trainer is being stopped */
    vs_trainer_event ev;
    vs_trainer_event_parse(line, w->space.metric, &ev);
    int rc = 0;
    switch (ev.kind) {
    case VS_EVENT_NONE: break;   /* not a JSON event: kept in the tail only */
    case VS_EVENT_OTHER: {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev.json, "event");
        if (w->slurm && cJSON_IsString(kind) && !strcmp(kind->valuestring, "slurm_step"))
            rc = record_slurm_step(w, c, ev.json, err);
        break;
    }
    case VS_EVENT_BAD: trainer_misbehaved(w, c, ev.problem); break;
    case VS_EVENT_START: {
        double epochs = json_num(cJSON_GetObjectItemCaseSensitive(ev.json, "config"), "epochs");
        if (epochs >= 1 && epochs < 1e9) c->epochs = (int)epochs;
        const cJSON *vis = cJSON_GetObjectItemCaseSensitive(ev.json, "cuda_visible_devices");
        if (vis) rc = vs_db_set_user_attr(w->db, c->trial_id, "trainer_visible_devices", vis, err);
        /* Under Slurm the step's GPUs are known only to the step: its trainer tells them. */
        if (rc == 0 && w->slurm && cJSON_IsString(vis)) rc = vs_db_set_user_attr(w->db, c->trial_id, "gpus", vis, err);
        break;
    }
    case VS_EVENT_EPOCH: {
        rc = vs_db_trial_epoch(w->db, c->trial_id, w->space.metric, ev.json, err);
        c->last_epoch = ev.epoch;
        if (rc == 0 && ev.has_val) {
            double v = ev.value;
            int epoch = ev.epoch;
            c->last_value = v;
            c->best_value = better_of(w, c->best_value, v);
            /* a resumed trainer first repeats the epochs it did before it was stopped */
            int replayed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev.json, "replayed"));
            if (!w->o->live)
                say(w, "trial %d: epoch %d, %s %.4f%s", c->number, epoch, w->space.metric, v,
                    replayed ? " (replayed: done before the trial was interrupted)" : "");
            if (!c->prune &&
                prune_verdict(w, c->number, c->last_validated_epoch, epoch, v, c->best_value)) {
                c->prune = 1;
                snprintf(c->prune_reason, sizeof c->prune_reason, "pruned after epoch %d (%s %.4f)", epoch,
                         w->space.metric, v);
                signal_trial(c, SIGTERM);
            }
            if (epoch > c->last_validated_epoch) c->last_validated_epoch = epoch;
        }
        break;
    }
    case VS_EVENT_DONE:
        cJSON_Delete(c->done);
        c->done = ev.json;   /* kept: finish records it */
        ev.json = NULL;
        break;
    case VS_EVENT_ERROR:
        free(c->error);
        c->error = vs_xstrdup(ev.message);
        break;
    }
    vs_trainer_event_free(&ev);
    return rc;
}

/* A line of a trainer's output: into the tail and, from stdout, to handle_event. */
typedef struct line_ctx {
    sweep *w;
    child *c;
    int events;
    vs_error *err;
    int failed;
} line_ctx;

static void take_line(void *ctx, const char *line) {
    line_ctx *x = ctx;
    vs_tail_add(&x->c->tail, line);
    if (!x->events) {
        if (x->c->stderr_log) fprintf(x->c->stderr_log, "%s\n", line), fflush(x->c->stderr_log);
        char note[256];
        int rank = x->w->slurm ? vs_slurm_note(line, note, sizeof note) : 0;
        if (rank && rank >= x->c->slurm_note_rank) {
            snprintf(x->c->slurm_note, sizeof x->c->slurm_note, "%s", note);
            x->c->slurm_note_rank = rank;
        }
    }
    if (x->events && !x->failed && handle_event(x->w, x->c, line, x->err)) x->failed = 1;
}

/* Reads what the pipe has; nonzero when recording an event failed. */
static int drain(sweep *w, child *c, int *fd, vs_line_reader *b, int events, vs_error *err) {
    line_ctx x = {w, c, events, err, 0};
    vs_read_lines(fd, b, take_line, &x);
    return x.failed;
}

/* The first trial of number's retry chain: retry_of followed back to a trial that is
 * no retry (guarded against a cycle in a damaged database). */
static int retry_root(const sweep *w, int number) {
    for (int guard = 0; guard < w->n_trials; guard++) {
        const vs_db_trial *r = trial_by_number(w, number);
        if (!r || r->retry_of < 0) break;
        number = r->retry_of;
    }
    return number;
}

/* How many trials share t's retry chain. */
static int attempts_of(const sweep *w, const vs_db_trial *t) {
    int root = retry_root(w, t->number), count = 0;
    for (int i = 0; i < w->n_trials; i++) count += retry_root(w, w->trials[i].number) == root;
    return count;
}

static void child_free(child *c) {
    if (c->stderr_log) fclose(c->stderr_log);
    vs_line_reader_free(&c->out);
    vs_line_reader_free(&c->err);
    vs_tail_free(&c->tail);
    cJSON_Delete(c->done);
    free(c->error);
    memset(c, 0, sizeof *c);
}

static void stop_children(sweep *w, int sig);

/* A FAIL's reason with each run of digits as '#': "timed out after 61 s" and "... 62 s"
 * are the same reason. */
static void failure_key(const char *reason, char *key, size_t n) {
    size_t used = 0;
    for (const char *p = reason; *p && used + 1 < n; p++) {
        if (*p >= '0' && *p <= '9') {
            if (used == 0 || key[used - 1] != '#') key[used++] = '#';
        } else if (!(*p == '.' && used && key[used - 1] == '#')) {
            key[used++] = *p;
        }
    }
    key[used] = 0;
}

/* Counts a trial that ended in this run; after max_consecutive_failures FAILs in a row
 * with the same reason the sweep stops (a missing GPU, a broken trainer), rather than
 * spending its budget on failures. */
static void note_ended(sweep *w, const char *state, const char *reason) {
    w->run_ended++;
    if (strcmp(state, "FAIL")) {
        w->fail_streak = 0;
        return;
    }
    w->run_failed++;
    char key[sizeof w->fail_key];
    failure_key(reason, key, sizeof key);
    w->fail_streak = w->fail_streak && !strcmp(key, w->fail_key) ? w->fail_streak + 1 : 1;
    snprintf(w->fail_key, sizeof w->fail_key, "%s", key);
    snprintf(w->last_fail, sizeof w->last_fail, "%s", reason);
    int limit = w->o->max_consecutive_failures;
    if (limit > 0 && w->fail_streak >= limit && !w->stopping) {
        w->stopping = w->fail_stop = 1;
        say(w, "stopping: %d trials in a row failed with the same reason (%s); the running trials save their state",
            w->fail_streak, reason);
        stop_children(w, SIGTERM);
    }
}

/* A full disk is no fault of the trial: the trainer's error or last lines say so. */
#define NO_SPACE_TEXT "No space left on device"

static int out_of_space(const child *c, const char *tail) {
    return (c->error && strstr(c->error, NO_SPACE_TEXT)) || (tail && strstr(tail, NO_SPACE_TEXT));
}

/* Records how an attempt ended, and re-queues a failure's parameters when allowed. */
static int finish(sweep *w, child *c, int status, vs_error *err) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    /* srun exits with 128 + the signal that ended its task: the trainer's fate, as if local */
    if (w->slurm && code > 128 && code < 128 + NSIG) sig = code - 128, code = -1;
    const char *state;
    char reason[1200] = "";
    double elapsed = now_seconds() - c->started;
    char *tail = vs_tail_text(&c->tail);
    /* The objective of a done line, checked here as the database checks it, so that
     * what is said below is what was recorded. */
    double objective = c->done ? json_num(cJSON_GetObjectItemCaseSensitive(c->done, "val"), w->space.metric) : NAN;
    if (c->bad_output) {
        state = "FAIL";
        snprintf(reason, sizeof reason, "%s", c->error);
    } else if (c->prune && (code == 3 || code == 0 || sig)) {
        state = "PRUNED";
        snprintf(reason, sizeof reason, "%s", c->prune_reason);
    } else if (code == 0 && c->done && isfinite(objective)) {
        state = "COMPLETE";
    } else if (code == 0 && c->done) {
        state = "FAIL";
        if (isnan(objective)) snprintf(reason, sizeof reason, "the done line has no val.%s", w->space.metric);
        else snprintf(reason, sizeof reason, "the done line's val.%s is not finite (%g)", w->space.metric, objective);
    } else if (c->stopping && (code == 3 || sig)) {
        /* asked to stop: saved (exit 3), or ended by the signal before it could save
         * (still starting, or past the grace period): either way it resumes */
        state = "WAITING";
        snprintf(reason, sizeof reason, "stopped by the sweep; resumes from its saved state");
    } else {
        state = "FAIL";
        if (c->timed_out) snprintf(reason, sizeof reason, "timed out after %.0f s", elapsed);
        else if (c->error) snprintf(reason, sizeof reason, "%s", c->error);
        else if (sig) snprintf(reason, sizeof reason, "killed by signal %d (%s)", sig, strsignal(sig));
        else if (code == 0) snprintf(reason, sizeof reason, "exited without a result");
        else snprintf(reason, sizeof reason, "exit status %d", code);
        if (out_of_space(c, tail)) {
            /* Not the trial's failure: it waits for the next run, and no trial starts
             * until then (loop() ends the sweep once the running ones have ended). */
            char why[1200];
            snprintf(why, sizeof why, "the disk is full (%s): %s; it waits for the next run", NO_SPACE_TEXT, reason);
            snprintf(reason, sizeof reason, "%s", why);
            state = "WAITING";
            w->disk_full = 1;
        }
        if (c->slurm_note[0]) {
            size_t used = strlen(reason);
            snprintf(reason + used, sizeof reason - used, " (Slurm: %s)", c->slurm_note);
        }
    }
    int rc = vs_db_trial_finished(w->db, c->trial_id, state, c->done, w->space.metric, sig ? 128 + sig : code,
                                  reason[0] ? reason : NULL, !strcmp(state, "FAIL") ? tail : NULL, err);
    free(tail);
    if (rc) return -1;
    if (!strcmp(state, "COMPLETE")) {
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(c->done, "val");
        say(w, "trial %d: COMPLETE, %s %.4f (best epoch %.0f, %.0f s)", c->number, w->space.metric,
            json_num(val, w->space.metric), json_num(c->done, "best_epoch"), elapsed);
    } else {
        say(w, "trial %d: %s%s%s", c->number, state, reason[0] ? ": " : "", reason);
    }
    if (strcmp(state, "WAITING")) {
        note_ended(w, state, reason);
        w->ended_seconds += elapsed;
        w->ended_count++;
    }
    int number = c->number, ended_id = c->trial_id;
    child_free(c);
    if (refresh_trial(w, ended_id, err)) return -1;
    if (!strcmp(state, "FAIL") && !w->stopping) {
        const vs_db_trial *t = trial_by_number(w, number);
        if (t && attempts_of(w, t) <= w->space.max_retries) {
            int trial_id, again;
            if (vs_db_create_trial(w->db, w->study_id, &w->space, t->values, number, &trial_id, &again, err)) return -1;
            say(w, "trial %d: retrying its parameters as trial %d", number, again);
            if (refresh_trial(w, trial_id, err)) return -1;
        }
    }
    return 0;
}

/* ---- the loop ---- */

static void stop_children(sweep *w, int sig) {
    for (int i = 0; i < w->n_slots; i++) {
        child *c = &w->children[i];
        if (!c->used) continue;
        if (sig == SIGTERM) {
            c->stopping = 1;
            if (!c->kill_at) c->kill_at = now_seconds() + KILL_GRACE_SECONDS * 6;
        }
        signal_trial(c, sig);
    }
}

static int active_children(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_slots; i++) n += w->children[i].used;
    return n;
}

/* Trials per state, and the best COMPLETE trial (NULL when none). */
typedef struct tally {
    int complete, pruned, failed, waiting;
    const vs_db_trial *best;
} tally;

static tally count_trials(const sweep *w) {
    tally t = {0};
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *x = &w->trials[i];
        t.complete += !strcmp(x->state, "COMPLETE");
        t.pruned += !strcmp(x->state, "PRUNED");
        t.failed += !strcmp(x->state, "FAIL");
        t.waiting += !strcmp(x->state, "WAITING");
        if (!strcmp(x->state, "COMPLETE") && x->has_value &&
            (!t.best || (w->space.maximize ? x->value > t.best->value : x->value < t.best->value)))
            t.best = x;
    }
    return t;
}

/* h:mm:ss */
static void clock_text(double seconds, char out[32]) {
    long t = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* On a terminal, one line kept current: trials done, each running trial and its epoch,
 * the best so far, the time taken and, once trials have ended, the time left (as
 * `vaesearch status` estimates it: mean trial time x trials left / slots). */
static void live_line(sweep *w) {
    if (!w->o->live) return;
    double now = now_seconds();
    if (now - w->last_live < 0.5) return;
    w->last_live = now;
    tally t = count_trials(w);
    vs_strbuf b = {0};
    vs_sb_printf(&b, "\r\033[K%s: %d/%lld done (%d pruned, %d failed)", w->space.name, t.complete + t.pruned,
                 (long long)w->budget, t.pruned, t.failed);
    int running = 0;
    for (int i = 0; i < w->n_slots; i++) {
        const child *c = &w->children[i];
        if (!c->used) continue;
        if (running++ == 4) {
            vs_sb_printf(&b, "; %d more running", active_children(w) - 4);
            break;
        }
        if (!c->last_epoch) vs_sb_printf(&b, "; trial %d, starting", c->number);
        else vs_sb_printf(&b, "; trial %d, epoch %d", c->number, c->last_epoch);
        if (c->last_epoch && c->epochs) vs_sb_printf(&b, "/%d", c->epochs);
    }
    if (!running) vs_sb_printf(&b, "; none running");
    if (t.best) vs_sb_printf(&b, "; best trial %d, %s %.4f", t.best->number, w->space.metric, t.best->value);
    char took[32], left[32];
    clock_text(now - w->t0, took);
    vs_sb_printf(&b, "; %s", took);
    int64_t remaining = w->budget - (t.complete + t.pruned);
    if (w->ended_count && remaining > 0) {
        clock_text(w->ended_seconds / w->ended_count * (double)remaining / w->n_slots, left);
        vs_sb_printf(&b, ", about %s left", left);
    }
    fputs(b.s ? b.s : "", w->o->out);
    fflush(w->o->out);
    vs_sb_free(&b);
}

static int loop(sweep *w, vs_error *err) {
    for (;;) {
        if (interrupts >= 2) {
            stop_children(w, SIGKILL);
            say(w, "stopped at once: running trials are left as they are; `vaesearch run` again resumes them");
            return VS_RUN_INTERRUPTED;
        }
        double now = now_seconds();
        if (!w->stopping && (interrupts == 1 || (w->space.max_seconds > 0 && now - w->t0 > w->space.max_seconds))) {
            w->stopping = 1;
            w->time_up = interrupts == 0;
            if (w->time_up) say(w, "budget.max_seconds reached: stopping the running trials (they save their state)");
            else if (first_signal == SIGTERM)   /* e.g. Slurm's warning before the time limit (docs/slurm.md) */
                say(w, "SIGTERM: stopping; the running trials save their state (a second signal stops at once)");
            else say(w, "stopping: the running trials save their state (Ctrl-C again to stop at once)");
            stop_children(w, SIGTERM);
        }
        if (!w->stopping && !w->disk_full && fill_slots(w, err)) return VS_RUN_FAILED;
        if (active_children(w) == 0) {
            if (w->fail_stop) {
                vs_errorf(err,
                          "stopped after %d trials in a row failed: %s (fix the cause, then `vaesearch run "
                          "--retry-failed` runs their parameters again)",
                          w->fail_streak, w->last_fail);
                return VS_RUN_FAILED;
            }
            if (w->stopping) return w->time_up ? VS_RUN_DONE : VS_RUN_INTERRUPTED;
            if (w->disk_full) {
                int waiting = count_trials(w).waiting;
                vs_errorf(err,
                          "stopped: the disk is full (a trainer reported \"%s\"); %d trial%s wait%s, not counted as "
                          "failures: free some space and run `vaesearch run` again",
                          NO_SPACE_TEXT, waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
                return VS_RUN_FAILED;
            }
            int waiting = count_trials(w).waiting;
            if (!waiting && base_trials(w) >= w->budget) return VS_RUN_DONE;
            /* Nothing runs, yet trials remain: only a bug could get here; do not spin. */
            vs_errorf(err, "internal: no trial can start (%d waiting, %lld of %lld proposed)", waiting,
                      (long long)base_trials(w), (long long)w->budget);
            return VS_RUN_FAILED;
        }

        struct pollfd fds[2 * 64 + 1];
        child *owner[2 * 64 + 1];
        int nfds = 0;
        fds[nfds] = (struct pollfd){signal_pipe[0], POLLIN, 0};
        owner[nfds++] = NULL;
        for (int i = 0; i < w->n_slots && nfds < 2 * 64; i++) {
            child *c = &w->children[i];
            if (!c->used) continue;
            if (c->proc.fd_out >= 0) fds[nfds] = (struct pollfd){c->proc.fd_out, POLLIN, 0}, owner[nfds++] = c;
            if (c->proc.fd_err >= 0) fds[nfds] = (struct pollfd){c->proc.fd_err, POLLIN, 0}, owner[nfds++] = c;
        }
        int ready = poll(fds, (nfds_t)nfds, 1000);
        if (ready < 0 && errno != EINTR) return vs_errorf(err, "poll: %s", strerror(errno)), VS_RUN_FAILED;
        if (fds[0].revents) {
            char sink[64];
            while (read(signal_pipe[0], sink, sizeof sink) > 0) {}
        }
        for (int k = 1; k < nfds; k++) {
            child *c = owner[k];
            if (!fds[k].revents || !c->used) continue;
            int failed = 0;
            if (fds[k].fd == c->proc.fd_out) failed = drain(w, c, &c->proc.fd_out, &c->out, 1, err);
            else if (fds[k].fd == c->proc.fd_err) failed = drain(w, c, &c->proc.fd_err, &c->err, 0, err);
            if (failed) return VS_RUN_FAILED;
        }
        now = now_seconds();
        double timeout = w->o->trial_timeout > 0 ? w->o->trial_timeout : w->space.trial_timeout;
        for (int i = 0; i < w->n_slots; i++) {
            child *c = &w->children[i];
            if (!c->used) continue;
            if (timeout > 0 && !c->timed_out && now - c->started > timeout) {
                c->timed_out = 1;
                c->kill_at = now + KILL_GRACE_SECONDS;
                signal_trial(c, SIGTERM);
            }
            if (c->kill_at && now > c->kill_at) signal_trial(c, SIGKILL);
            if (c->proc.fd_out < 0 && c->proc.fd_err < 0) {
                int status;
                if (waitpid(c->proc.pid, &status, 0) == c->proc.pid && finish(w, c, status, err)) return VS_RUN_FAILED;
            }
        }
        if (now - w->last_heartbeat > HEARTBEAT_SECONDS) {
            if (vs_db_heartbeat(w->db, w->study_id, err)) return VS_RUN_FAILED;
            w->last_heartbeat = now;
        }
        live_line(w);
    }
}

static void summary(sweep *w) {
    tally t = count_trials(w);
    say(w, "sweep %s: %d complete, %d pruned, %d failed, %d waiting (%.0f s)", w->space.name, t.complete, t.pruned,
        t.failed, t.waiting, now_seconds() - w->t0);
    if (t.best) {
        char *p = params_text(w, t.best->values);
        say(w, "best: trial %d, validation %s %.4f (%s)", t.best->number, w->space.metric, t.best->value, p);
        free(p);
    }
}

/* ---- warm start ---- */

/* The value a trial of another sweep had for key: a parameter, else its fixed setting. */
static const cJSON *seed_value(const cJSON *trial, const cJSON *source_sweep, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(trial, "params"), key);
    if (v) return v;
    const cJSON *space = cJSON_GetObjectItemCaseSensitive(source_sweep, "space");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(space, "fixed"), key);
}

/* One trial of the earlier sweep as a seed: 1 when it ended with a value and every
 * parameter of this space has a value it can take, else 0. */
static int seed_from(const sweep *w, const cJSON *trial, const cJSON *source_sweep, vs_db_seed *seed) {
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(trial, "state"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(trial, "value");
    if (!state || (strcmp(state, "COMPLETE") && strcmp(state, "PRUNED"))) return 0;
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) return 0;
    double *values = vs_xcalloc((size_t)(w->space.n_params ? w->space.n_params : 1), sizeof(double));
    for (int p = 0; p < w->space.n_params; p++) {
        const cJSON *v = seed_value(trial, source_sweep, w->space.params[p].name);
        if (!v || vs_param_internal_value(&w->space.params[p], v, &values[p])) {
            free(values);
            return 0;
        }
    }
    seed->values = values;
    seed->complete = !strcmp(state, "COMPLETE");
    seed->value = value->valuedouble;
    const cJSON *number = cJSON_GetObjectItemCaseSensitive(trial, "number");
    snprintf(seed->source, sizeof seed->source, "%s:%s#%d", w->space.warm_start_db,
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(source_sweep, "name")),
             cJSON_IsNumber(number) ? number->valueint : -1);
    return 1;
}

/* Reads the earlier sweep the space names (warm_start), before anything is recorded:
 * it must exist and optimise the same metric the same way. */
static int load_seeds(sweep *w, vs_error *err) {
    vs_db *src = NULL;
    int study_id, rc = -1;
    cJSON *sw = NULL, *trials = NULL;
    if (vs_db_open_existing(w->space.warm_start_db, &src, err) ||
        vs_db_find_sweep(src, w->space.warm_start_sweep, &study_id, err) || !(sw = vs_db_sweep_json(src, study_id, err)) ||
        !(trials = vs_db_trials_json(src, study_id, -1, 0, err))) {
        vs_error_prefix(err, "warm_start");
        goto out;
    }
    const char *metric = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "metric"));
    const char *direction = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "direction"));
    const char *ours = w->space.maximize ? "maximize" : "minimize";
    if (!metric || !direction || strcmp(metric, w->space.metric) || strcmp(direction, ours)) {
        vs_errorf(err, "warm_start: sweep '%s' in %s optimises %s (%s), this one %s (%s): their values do not compare",
                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "name")), w->space.warm_start_db,
                  metric ? metric : "?", direction ? direction : "?", w->space.metric, ours);
        goto out;
    }
    int n = cJSON_GetArraySize(trials);
    w->seeds = vs_xcalloc((size_t)(n ? n : 1), sizeof *w->seeds);
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "state"));
        int finished = state && (!strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED"));
        if (seed_from(w, t, sw, &w->seeds[w->n_seeds])) w->n_seeds++;
        else w->n_unfit += finished;
    }
    rc = 0;
out:
    cJSON_Delete(trials);
    cJSON_Delete(sw);
    vs_db_close(src);
    return rc;
}

/* Whether the results database holds this sweep already (a resume: its warm start was
 * recorded when it began). */
static int sweep_recorded(const sweep *w) {
    vs_db *db = NULL;
    vs_error ignore;
    int study_id, found = access(w->o->db_path, F_OK) == 0 && vs_db_open_existing(w->o->db_path, &db, &ignore) == 0 &&
                          vs_db_find_sweep(db, w->space.name, &study_id, &ignore) == 0;
    vs_db_close(db);
    return found;
}

/* A new sweep records its seeds as its first trials, ended, each naming its source. */
static int record_seeds(sweep *w, vs_error *err) {
    if (w->space.warm_start_db && w->n_trials == 0) {
        for (int i = 0; i < w->n_seeds; i++)
            if (vs_db_add_seed_trial(w->db, w->study_id, &w->space, &w->seeds[i], err)) return -1;
        say(w, "warm start: %d finished trial%s of %s seed the sampler (%d did not fit this space)", w->n_seeds,
            w->n_seeds == 1 ? "" : "s", w->space.warm_start_db, w->n_unfit);
        if (w->n_seeds && reload(w, err)) return -1;
    }
    return vs_db_count_seed_trials(w->db, w->study_id, &w->n_seeded, err);
}

/* --retry-failed: each FAILed trial that has not been retried yet gets a new trial with
 * its parameters (retry_of names it), run before any new proposal. */
static int requeue_failed(sweep *w, vs_error *err) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (strcmp(t->state, "FAIL")) continue;
        int retried = 0;
        for (int j = 0; j < w->n_trials && !retried; j++) retried = w->trials[j].retry_of == t->number;
        if (retried) continue;
        int trial_id, number;
        if (vs_db_create_trial(w->db, w->study_id, &w->space, t->values, t->number, &trial_id, &number, err)) return -1;
        n++;
    }
    say(w, "--retry-failed: %d failed trial%s re-queued with %s parameters", n, n == 1 ? "" : "s",
        n == 1 ? "its" : "their");
    return n ? reload(w, err) : 0;
}

int vs_scheduler_run(const vs_run_opts *o, vs_error *err) {
    sweep w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.t0 = now_seconds();
    if (vs_space_load(o->space_path, &w.space, err)) return VS_RUN_BAD_INPUT;
    int result = VS_RUN_FAILED, created = 0, claimed = 0;
    w.budget = w.space.n_trials;
    if (w.space.sampler == VS_SAMPLER_GRID) {
        int64_t size = vs_space_grid_size(&w.space, err);
        if (size <= 0) {
            result = VS_RUN_BAD_INPUT;
            goto out;
        }
        if (size < w.budget) w.budget = size;
    }
    /* Everything the run needs is checked before the database is touched: a run refused
     * here records nothing, so the space can be fixed and run again as it is. */
    resolve_trainer(&w);
    if (check_trainer(&w, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    if (o->runs_dir) snprintf(w.runs, sizeof w.runs, "%s", o->runs_dir);
    else {
        char folder[2048];
        folder_of(o->db_path, folder, sizeof folder);
        snprintf(w.runs, sizeof w.runs, "%s/runs", folder);
    }
    if (setup_slots(&w, err) || ensure_dataset(&w, err) ||
        (w.space.warm_start_db && !sweep_recorded(&w) && load_seeds(&w, err))) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    if (vs_db_open(o->db_path, &w.db, err)) goto out;
    if (vs_db_open_sweep(w.db, &w.space, &w.study_id, &created, err) ||
        vs_db_claim_sweep(w.db, w.study_id, STALE_SECONDS, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    claimed = 1;
    int orphans = 0;
    if (vs_db_requeue_orphans(w.db, w.study_id, &orphans, err) || reload(&w, err)) goto out;
    if (record_seeds(&w, err)) goto out;
    if (o->retry_failed && requeue_failed(&w, err)) goto out;
    tally so_far = count_trials(&w);
    int done = so_far.complete + so_far.pruned + so_far.failed;
    say(&w, "sweep %s: %s; %d %s slot%s, %d thread%s a trial, window %d, trainer %s", w.space.name,
        created ? "new" : "resuming", w.n_slots, w.n_groups || w.plan.gpus_per_step ? "GPU" : "CPU",
        w.n_slots == 1 ? "" : "s", w.threads, w.threads == 1 ? "" : "s", w.window, w.trainer);
    if (!created)
        say(&w, "resuming: %d trial%s ended, %d re-queued from a run that stopped", done, done == 1 ? "" : "s", orphans);

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK)) {
        vs_errorf(err, "pipe: %s", strerror(errno));
        goto out;
    }
    interrupts = 0;
    first_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* OpenMP threads that spin while they wait (libgomp's default) collapse on a shared
     * machine: a trial's threads wait for one that is descheduled. Trainers wait
     * passively unless the user chose otherwise (docs/performance.md). */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    w.last_heartbeat = now_seconds();
    result = loop(&w, err);
    if (result == VS_RUN_DONE && w.run_ended > 0 && w.run_failed == w.run_ended) {
        vs_errorf(err, "every trial of this run failed (%d); the last: %s", w.run_failed, w.last_fail);
        result = VS_RUN_FAILED;
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (result != VS_RUN_FAILED || w.db) {
        vs_error ignore;
        if (reload(&w, &ignore) == 0) summary(&w);
    }
out:
    if (claimed) {   /* trials a double Ctrl-C left RUNNING have no owner now: the next run re-queues them */
        vs_error ignore;
        vs_db_release_sweep(w.db, w.study_id, &ignore);
    }
    if (signal_pipe[0] >= 0) close(signal_pipe[0]), close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    for (int i = 0; i < w.n_slots && w.children; i++) child_free(&w.children[i]);
    free(w.children);
    free(w.group_gpus);
    vs_db_free_trials(w.trials, w.n_trials);
    for (int i = 0; i < w.n_seeds; i++) free(w.seeds[i].values);
    free(w.seeds);
    vs_db_close(w.db);
    vs_space_free(&w.space);
    return result;
}
