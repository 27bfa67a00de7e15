#!/usr/bin/env python3
"""bench_load: `vaesearch run` under load, with readers looping the whole time.

    bench/bench_load.py [--build build] [--slots 256] [--trials 10000] [--epochs 3]
                        [--epoch-seconds 1] [--launcher local|slurm] [--no-readers]
                        [--keep DIR]

A sweep of TRIALS trials of a stand-in trainer (tests/fake_trainer.c with
FAKE_EPOCH_SLEEP: it sleeps EPOCH_SECONDS an epoch, prints the trainer's JSON lines, so
that it takes no CPU and the machine's cores are left to the orchestrator) on SLOTS CPU
slots (--launcher local; --launcher slurm: as Slurm steps, run inside
`salloc -N1 -c SLOTS` on the cluster SLURM_CONF names, e.g. tests/slurm/start-slurm.sh's
with VS_SLURM_CPUS=SLOTS), while four readers loop from the first trial to the last:
`vaesearch status`, `vaesearch top`, a Python sqlite3 reader (a new connection each
time: the trials, their values and epochs) and, where Optuna is installed,
`optuna.load_study(...).trials`. It prints:

- trials per second against the ideal, SLOTS / (EPOCHS x EPOCH_SECONDS);
- the orchestrator's own CPU time (its utime + stime, without its trainers'; under
  --launcher slurm, where salloc runs it, sampled every 0.2 s) as a share
  of the slot time, SLOTS x the sweep's wall time;
- every reader's passes and every error any reader saw (a lock error is one);
- whether the trial numbers are distinct and contiguous, each trial COMPLETE with its
  EPOCHS epochs: none lost, none doubled;
- the machine: cores, load average before and during the run.

Exit status 1 when a check of the results fails (not for a missed goal).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

READER_SQLITE = r'''
import json, sqlite3, sys, time, os
db, stop, out = sys.argv[1:4]
passes, errors = 0, {}
while not os.path.exists(stop):
    try:
        con = sqlite3.connect(db, timeout=5)
        n = con.execute("select count(*), max(number) from trials").fetchone()
        con.execute("select t.number, t.state, v.value from trials t left join trial_values v using (trial_id)").fetchall()
        con.execute("select count(*) from trial_intermediate_values").fetchone()
        con.close()
        passes += 1
    except Exception as e:
        key = f"{type(e).__name__}: {e}"
        errors[key] = errors.get(key, 0) + 1
        time.sleep(0.05)
json.dump({"passes": passes, "errors": errors}, open(out, "w"))
'''

READER_OPTUNA = r'''
import json, sys, time, os
db, stop, out, name = sys.argv[1:5]
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
passes, errors, most = 0, {}, 0
while not os.path.exists(stop):
    try:
        trials = optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials
        most = max(most, len(trials))
        passes += 1
    except Exception as e:
        key = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        errors[key] = errors.get(key, 0) + 1
        time.sleep(0.05)
json.dump({"passes": passes, "errors": errors, "most_trials_seen": most}, open(out, "w"))
'''


def command_reader(argv, stop, result):
    """Runs argv again and again until stop exists; a failure (an exit status other than
    0) is an error, counted by its text; what a successful pass says on stderr is kept
    apart as a note (`top` before the first COMPLETE trial says there is none yet)."""
    passes, errors, notes = 0, {}, {}
    while not os.path.exists(stop):
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        said = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        if p.returncode != 0:
            key = f"exit {p.returncode}: {said}"
            errors[key] = errors.get(key, 0) + 1
            time.sleep(0.05)
        else:
            passes += 1
            if said:
                notes[said] = notes.get(said, 0) + 1
    result.update({"passes": passes, "errors": errors, "notes": notes})


def cpu_seconds_of_zombie(pid):
    """A process's own user + system time, read once it has exited but before it is
    reaped (its trainers' times, which it reaped, are in other fields)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def sample_child_cpu(parent):
    """The user + system time of parent's child vaesearch (salloc runs it), sampled every
    0.2 s until parent exits; the last sample."""
    ticks, last = os.sysconf("SC_CLK_TCK"), None
    while parent.poll() is None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, fields = f.read().rsplit(")", 1)
                if fields.split()[1] == str(parent.pid) and head.endswith("(vaesearch"):
                    last = (int(fields.split()[11]) + int(fields.split()[12])) / ticks
            except (OSError, IndexError):
                pass
        time.sleep(0.2)
    return last


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--slots", type=int, default=256)
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--epoch-seconds", type=float, default=1.0)
    ap.add_argument("--launcher", choices=["local", "slurm"], default="local")
    ap.add_argument("--no-readers", action="store_true",
                    help="no readers: how much of the loss is theirs, on a machine with few cores")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one, removed)")
    a = ap.parse_args()
    vaesearch = os.path.abspath(os.path.join(a.build, "vaesearch"))
    fake = os.path.abspath(os.path.join(a.build, "tests", "fake_trainer"))
    for prog in (vaesearch, fake):
        if not os.access(prog, os.X_OK):
            sys.exit(f"build first: {prog} is needed")
    work = os.path.abspath(a.keep) if a.keep else tempfile.mkdtemp(prefix="bench_load.")
    os.makedirs(work, exist_ok=True)
    db, stop = os.path.join(work, "results.db"), os.path.join(work, "stop-readers")
    for leftover in (db, db + "-wal", db + "-shm", stop):
        if os.path.exists(leftover):
            os.remove(leftover)
    shutil.rmtree(os.path.join(work, "runs"), ignore_errors=True)
    space = {"name": "load", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
             "budget": {"trials": a.trials}, "fixed": {"epochs": a.epochs},
             "parameters": {"lr": {"type": "log_uniform", "low": 1e-4, "high": 1e-2},
                            "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5}}}
    with open(os.path.join(work, "space.json"), "w") as f:
        json.dump(space, f)
    subprocess.run([vaesearch, "synth", "--preset", "small", "-o", os.path.join(work, "synth-small.vsds")],
                   check=True, stdout=subprocess.DEVNULL)   # made before the timing

    load_before = open("/proc/loadavg").read().split()[:3]
    run = [vaesearch, "run", os.path.join(work, "space.json"), "--db", db, "--trainer", fake, "--jobs",
           str(a.slots), "--threads", "1", "--no-progress", "--launcher", a.launcher]
    if a.launcher == "slurm":
        run = ["salloc", "-N1", "-n1", f"-c{a.slots}", "--"] + run
    env = dict(os.environ, FAKE_EPOCH_SLEEP=str(a.epoch_seconds))
    log = open(os.path.join(work, "run.log"), "w")
    t0 = time.monotonic()
    sweep = subprocess.Popen(run, env=env, stdout=log, stderr=subprocess.STDOUT)

    # The readers, from the first trial on.
    while sweep.poll() is None and not a.no_readers:
        try:
            out = subprocess.run(["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
                                  "'select count(*) from trials').fetchone()[0])", db],
                                 capture_output=True, text=True)
            if out.returncode == 0 and int(out.stdout) > 0:
                break
        except ValueError:
            pass
        time.sleep(0.2)
    results = {"vaesearch status": {}, "vaesearch top": {}}
    threads = [] if a.no_readers else [threading.Thread(target=command_reader, args=([vaesearch, "status", "--db", db], stop,
                                                              results["vaesearch status"])),
               threading.Thread(target=command_reader, args=([vaesearch, "top", "--db", db, "-n", "5"], stop,
                                                              results["vaesearch top"]))]
    for t in threads:
        t.start()
    procs = {} if a.no_readers else {"python sqlite3": subprocess.Popen(
        ["python3", "-c", READER_SQLITE, db, stop, os.path.join(work, "reader-sqlite.json")])}
    has_optuna = subprocess.run(["python3", "-c", "import optuna"], capture_output=True).returncode == 0
    if has_optuna and not a.no_readers:
        procs["optuna.load_study().trials"] = subprocess.Popen(
            ["python3", "-c", READER_OPTUNA, db, stop, os.path.join(work, "reader-optuna.json"), "load"])

    # The machine's load while it runs, and the orchestrator's own CPU time at its end.
    loads = []

    def sample_load():
        while sweep.poll() is None and not os.path.exists(stop):
            loads.append(float(open("/proc/loadavg").read().split()[0]))
            time.sleep(5)
    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    if a.launcher == "local":
        orchestrator_cpu = cpu_seconds_of_zombie(sweep.pid)
    else:   # salloc's child, sampled while it runs: its last sample (up to 0.2 s short)
        orchestrator_cpu = sample_child_cpu(sweep)
    sweep.wait()
    wall = time.monotonic() - t0
    open(stop, "w").close()
    for t in threads:
        t.join()
    for name, p in procs.items():
        p.wait()
        results[name] = json.load(open(os.path.join(work, "reader-sqlite.json" if "sqlite" in name else
                                                    "reader-optuna.json")))
    if not has_optuna or a.no_readers:
        results["optuna.load_study().trials"] = {"skipped": "--no-readers" if a.no_readers else "optuna is not installed"}
    if a.no_readers:
        results = {name: {"skipped": "--no-readers"} for name in results}

    # The results: every trial once, numbered 0..N-1, COMPLETE with its epochs.
    import sqlite3
    con = sqlite3.connect(db)
    numbers = [r[0] for r in con.execute("select number from trials order by number")]
    states = dict(con.execute("select state, count(*) from trials group by state").fetchall())
    epochs = con.execute("select count(*), count(distinct trial_id || '/' || step) from trial_intermediate_values"
                         ).fetchone()
    per_trial = con.execute("select min(c), max(c) from (select count(*) c from trial_intermediate_values "
                            "group by trial_id)").fetchone()
    durations = [r[0] for r in con.execute(
        "select (julianday(datetime_complete) - julianday(datetime_start)) * 86400 from trials "
        "where state = 'COMPLETE'")]
    checks = {
        "trials": len(numbers) == a.trials,
        "numbers distinct and contiguous (0..N-1)": numbers == list(range(len(numbers))),
        "all COMPLETE": states == {"COMPLETE": a.trials},
        "epochs: EPOCHS a trial, none doubled": epochs[0] == epochs[1] == a.trials * a.epochs and
                                                 per_trial == (a.epochs, a.epochs),
    }

    ideal = a.slots / (a.epochs * a.epoch_seconds)
    rate = len(numbers) / wall
    print(f"bench_load: {a.trials} trials of {a.epochs} x {a.epoch_seconds:g} s on {a.slots} "
          f"{'CPU slots' if a.launcher == 'local' else 'Slurm steps'}, exit status {sweep.returncode}")
    print(f"machine: {os.cpu_count()} cores; load average before {' '.join(load_before)}; during the run "
          f"min {min(loads, default=0):.1f}, median {statistics.median(loads) if loads else 0:.1f}, "
          f"max {max(loads, default=0):.1f}")
    print(f"wall time                 {wall:.1f} s")
    print(f"trials per second         {rate:.2f} (ideal {ideal:.2f}: {100 * rate / ideal:.1f}%)")
    if durations:
        print(f"a trial, start to end     median {statistics.median(durations):.2f} s, "
              f"max {max(durations):.2f} s (the stand-in sleeps {a.epochs * a.epoch_seconds:g} s)")
    if orchestrator_cpu is not None:
        print(f"orchestrator CPU time     {orchestrator_cpu:.1f} s{' (sampled)' if a.launcher == 'slurm' else ''} = {100 * orchestrator_cpu / (a.slots * wall):.3f}% "
              f"of the slot time ({a.slots} x {wall:.1f} s); {1000 * orchestrator_cpu / a.trials:.2f} ms a trial")
    for name, r in results.items():
        if "skipped" in r:
            print(f"reader {name:30s} skipped: {r['skipped']}")
            continue
        errs = sum(r["errors"].values())
        print(f"reader {name:30s} {r['passes']} passes, {errs} errors")
        for msg, n in r["errors"].items():
            print(f"    {n} x {msg}")
        for msg, n in r.get("notes", {}).items():
            print(f"    (not an error: {n} passes said on stderr: {msg})")
    for what, ok in checks.items():
        print(f"check {what:45s} {'ok' if ok else 'FAILED'}")
    print(f"(states {states}; {epochs[0]} epoch values; work folder {work}{'' if a.keep else ', removed'})")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if all(checks.values()) and sweep.returncode == 0 else 1)


if __name__ == "__main__":
    main()
