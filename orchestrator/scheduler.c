/* scheduler: vs_scheduler_run, `vaesearch run`'s engine: runs a sweep's trials as
 * vaecf-train processes, one per slot, and keeps results.db current. One thread: a
 * poll() loop over the trainers' output pipes and a self-pipe for signals. Proposals and
 * pruning decisions use each trial's reference set (trials numbered < n - window, all
 * ended), so they are the same in every run.
 * This file holds the run's start and end, the signals and the loop; each stage has its
 * file (scheduler_internal.h): before the database, sweep_setup.c, slots.c and
 * warm_start.c; in the loop, launch.c (with propose.c) fills the slots, trial_events.c
 * follows a trainer's output, trial_end.c records how it ended; beside them,
 * trial_history.c (the trials in memory), children.c (the running trainers) and
 * progress.c (what the user sees). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scheduler.h"
#include "scheduler_internal.h"
#include "results/results_db.h"
#include "space/space.h"

#define HEARTBEAT_SECONDS 5.0
#define STALE_SECONDS 30.0

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

/* SIGINT and SIGTERM counted and written to the self-pipe that the poll loop watches;
 * SIGPIPE ignored (a trainer that exits early closes its pipes). */
static int catch_signals(vs_error *err) {
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK)) return vs_errorf(err, "pipe: %s", strerror(errno));
    interrupts = 0;
    first_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- the loop ---- */

/* Ctrl-C once, SIGTERM, or budget.max_seconds: no more trials start, and the running
 * ones are asked to save their state and stop. */
static void stop_if_asked(sweep *w) {
    if (w->stopping || !(interrupts == 1 || (w->space.max_seconds > 0 && sched_now() - w->t0 > w->space.max_seconds)))
        return;
    w->stopping = 1;
    w->time_up = interrupts == 0;
    if (w->time_up) sched_say(w, "budget.max_seconds reached: stopping the running trials (they save their state)");
    else if (first_signal == SIGTERM)   /* e.g. Slurm's warning before the time limit (docs/slurm.md) */
        sched_say(w, "SIGTERM: stopping; the running trials save their state (a second signal stops at once)");
    else sched_say(w, "stopping: the running trials save their state (Ctrl-C again to stop at once)");
    sched_stop_children(w, SIGTERM);
}

/* Ctrl-C twice: the trainers are killed, their trials left RUNNING for the next run. */
static int stop_at_once(sweep *w) {
    sched_stop_children(w, SIGKILL);
    sched_say(w, "stopped at once: running trials are left as they are; `vaesearch run` again resumes them");
    return VS_RUN_INTERRUPTED;
}

/* When no trainer runs and none can start, the run is over: how it ended. */
static int outcome(sweep *w, vs_error *err) {
    if (w->fail_stop) {
        vs_errorf(err,
                  "stopped after %d trials in a row failed: %s (fix the cause, then `vaesearch run "
                  "--retry-failed` runs their parameters again)",
                  w->fail_streak, w->last_fail);
        return VS_RUN_FAILED;
    }
    if (w->stopping) return w->time_up ? VS_RUN_DONE : VS_RUN_INTERRUPTED;
    if (w->disk_full) {
        int waiting = sched_count_trials(w).waiting;
        vs_errorf(err,
                  "stopped: the disk is full (a trainer reported \"%s\"); %d trial%s wait%s, not counted as "
                  "failures: free some space and run `vaesearch run` again",
                  NO_SPACE_TEXT, waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
        return VS_RUN_FAILED;
    }
    int waiting = sched_count_trials(w).waiting;
    if (!waiting && sched_base_trials(w) >= w->budget) return VS_RUN_DONE;
    /* Nothing runs, yet trials remain: only a bug could get here; do not spin. */
    vs_errorf(err, "internal: no trial can start (%d waiting, %lld of %lld proposed)", waiting,
              (long long)sched_base_trials(w), (long long)w->budget);
    return VS_RUN_FAILED;
}

/* Every HEARTBEAT_SECONDS, the owner's heartbeat and its RUNNING trials' are renewed, so
 * that another run sees this one alive (and a run that lost the sweep learns so). */
static int heartbeat(sweep *w, double now, vs_error *err) {
    if (now - w->last_heartbeat <= HEARTBEAT_SECONDS) return 0;
    if (vs_db_heartbeat(w->db, w->study_id, err)) return -1;
    w->last_heartbeat = now;
    return 0;
}

/* The sweep's life: fill the free slots (trials waiting, then new proposals: launch.c,
 * propose.c), follow the trainers' output (trial_events.c), end the trials whose
 * trainers have exited (trial_end.c), and again, until nothing runs or can start. */
static int loop(sweep *w, vs_error *err) {
    for (;;) {
        if (interrupts >= 2) return stop_at_once(w);
        stop_if_asked(w);
        if (!w->stopping && !w->disk_full && sched_fill_slots(w, err)) return VS_RUN_FAILED;
        if (sched_active_children(w) == 0) return outcome(w, err);
        if (sched_read_trainers(w, signal_pipe[0], err)) return VS_RUN_FAILED;
        double now = sched_now();
        if (sched_end_trials(w, now, err) || heartbeat(w, now, err)) return VS_RUN_FAILED;
        sched_live_line(w);
    }
}

int vs_scheduler_run(const vs_run_opts *o, vs_error *err) {
    sweep w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.t0 = sched_now();
    if (o->space_json ? vs_space_parse(o->space_json, o->space_path, &w.space, err)
                      : vs_space_load(o->space_path, &w.space, err))
        return VS_RUN_BAD_INPUT;
    if (o->dataset) {
        free(w.space.dataset);
        w.space.dataset = vs_xstrdup(o->dataset);
    }
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
    sched_resolve_trainer(&w);
    if (sched_check_trainer(&w, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    sched_resolve_runs(&w);
    if (sched_setup_slots(&w, err) || sched_ensure_dataset(&w, err) ||
        (w.space.warm_start_db && !sched_sweep_recorded(&w) && sched_load_seeds(&w, err))) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    if (vs_db_open(o->db_path, &w.db, err)) goto out;
    char *stored = NULL;
    if (vs_db_stored_space(w.db, w.space.name, &stored, err)) goto out;
    int kept_univariate = stored && vs_space_keep_stored_defaults(&w.space, stored);
    free(stored);
    if (vs_db_open_sweep(w.db, &w.space, &w.study_id, &created, err) ||
        vs_db_claim_sweep(w.db, w.study_id, STALE_SECONDS, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    claimed = 1;
    int orphans = 0;
    if (vs_db_requeue_orphans(w.db, w.study_id, &orphans, err) ||
        (o->before_trials && o->before_trials(w.db, w.study_id, &w.space, o->before_trials_ctx, err)) ||
        sched_reload(&w, err) || sched_claim_home(&w, err))
        goto out;
    if (sched_record_dataset(&w, err) || sched_record_seeds(&w, err)) goto out;
    if (o->retry_failed && sched_requeue_failed(&w, err)) goto out;
    tally so_far = sched_count_trials(&w);
    int done = so_far.complete + so_far.pruned + so_far.failed;
    sched_say(&w, "sweep %s: %s; %d %s slot%s, %d thread%s a trial, window %d, trainer %s", w.space.name,
              created ? "new" : "resuming", w.n_slots, w.n_groups || w.plan.gpus_per_node ? "GPU" : "CPU",
              w.n_slots == 1 ? "" : "s", w.threads, w.threads == 1 ? "" : "s", w.window, w.trainer);
    sched_say(&w, "%s", w.home_note);
    if (w.slots_note[0]) sched_say(&w, "%s", w.slots_note);
    if (!created)
        sched_say(&w, "resuming: %d trial%s ended, %d re-queued from a run that stopped", done, done == 1 ? "" : "s", orphans);
    if (kept_univariate)
        sched_say(&w, "sampler.multivariate: kept false, as this sweep began before multivariate TPE was the default "
                      "(a sweep under a new name gets it)");

    if (catch_signals(err)) goto out;
    /* OpenMP threads that spin while they wait (libgomp's default) collapse on a shared
     * machine: a trial's threads wait for one that is descheduled. Trainers wait
     * passively unless the user chose otherwise (docs/performance.md). */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    w.last_heartbeat = sched_now();
    result = loop(&w, err);
    if (result == VS_RUN_DONE && w.run_ended > 0 && w.run_failed == w.run_ended) {
        vs_errorf(err, "every trial of this run failed (%d); the last: %s", w.run_failed, w.last_fail);
        result = VS_RUN_FAILED;
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (result != VS_RUN_FAILED || w.db) {
        vs_error ignore;
        if (sched_reload(&w, &ignore) == 0) sched_summary(&w);
    }
out:
    if (claimed) {   /* trials a double Ctrl-C left RUNNING have no owner now: the next run re-queues them */
        vs_error ignore;
        vs_db_release_sweep(w.db, w.study_id, &ignore);
    }
    if (signal_pipe[0] >= 0) close(signal_pipe[0]), close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    for (int i = 0; i < w.n_slots && w.children; i++) sched_child_free(&w.children[i]);
    free(w.children);
    free(w.poll_fds);
    free(w.poll_owner);
    free(w.group_gpus);
    vs_db_free_trials(w.trials, w.n_trials);
    for (int i = 0; i < w.n_seeds; i++) free(w.seeds[i].values);
    free(w.seeds);
    vs_db_close(w.db);
    vs_space_free(&w.space);
    return result;
}
