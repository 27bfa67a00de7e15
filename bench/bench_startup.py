#!/usr/bin/env python3
"""bench_startup: what it costs to start the programs, two builds side by side.

    bench/bench_startup.py BEFORE_BUILD AFTER_BUILD [--reps N] [--trials N]

Times, in one run, each build's `vaesearch --help`, `vaesearch top` and `vaesearch
status` on a results.db of --trials trials (default 1,000), `vaecf-train --help`, and a
1-epoch CPU trial of the `small` preset (with OMP_WAIT_POLICY=passive, as `vaesearch
run` starts trainers, and once more with it unset, as a person runs one by hand): the
wall time from spawning the process to its exit, and its peak resident memory (the
kernel's ru_maxrss), min / median / max over --reps runs (default 20). The two builds
alternate run by run, the order swapped each repetition, so a shared machine's drift
falls on both alike; one unrecorded run of each comes first. Each run is launched by
AFTER_BUILD's bench/spawn_rusage (spawn_rusage.c), small so that the peak memory is
the program's. Also prints which CUDA libraries each program needs (ldd). The
results.db is made by AFTER_BUILD's vaesearch with the stand-in trainer
(tests/fake_trainer), so both builds read the same file.
(docs/performance.md, "Starting a program")
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile


def run_once(spawn, argv, env, cwd):
    """Wall seconds and peak RSS (KiB) of one run of argv, through spawn_rusage (a small
    launcher: a child's peak counts its launcher's pages until it execs); exits on failure."""
    err = os.path.join(cwd, "stderr.txt")
    with open(err, "w") as e:
        r = subprocess.run([spawn] + argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=e, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_startup: {' '.join(argv)} exited {r.returncode}: {open(err).read()}")
    wall, rss = r.stdout.split()
    return float(wall), int(rss)


def cuda_libs(program):
    out = subprocess.run(["ldd", program], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.split()]
    return [n for n in names if n.startswith(("libcu", "libnccl", "libnvidia"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--trials", type=int, default=1000)
    a = ap.parse_args()
    builds = {"before": os.path.abspath(a.before), "after": os.path.abspath(a.after)}
    for name, b in builds.items():
        for p in ("vaesearch", "vaecf-train"):
            if not os.access(os.path.join(b, p), os.X_OK):
                sys.exit(f"bench_startup: {b}/{p} not found: build it first ({name})")
    fake = os.path.join(builds["after"], "tests", "fake_trainer")
    spawn = os.path.join(builds["after"], "bench", "spawn_rusage")
    for p in (fake, spawn):
        if not os.access(p, os.X_OK):
            sys.exit(f"bench_startup: {p} not found in AFTER_BUILD (cmake --build it)")

    tmp = tempfile.mkdtemp(prefix="bench_startup.")
    small = os.path.join(tmp, "small.vsds")
    db = os.path.join(tmp, "results.db")
    after_vs = os.path.join(builds["after"], "vaesearch")
    subprocess.run([after_vs, "synth", "--preset", "small", "-o", small], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(tmp, "space.json"), "w") as f:
        f.write('{"name": "startup", "dataset": "small.vsds", "sampler": {"kind": "random", "seed": 1},'
                f' "budget": {{"trials": {a.trials}}}, "fixed": {{"epochs": 3}},'
                ' "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},'
                ' "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5}}}')
    subprocess.run([after_vs, "run", os.path.join(tmp, "space.json"), "--db", db, "--trainer", fake, "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL, cwd=tmp)

    base_env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    passive = dict(base_env, OMP_WAIT_POLICY="passive")
    runs = [0]

    def trial(b, env):
        def argv():
            runs[0] += 1
            return [os.path.join(b, "vaecf-train"), "--data", small, "--set", "epochs=1",
                    "--out", os.path.join(tmp, f"run-{runs[0]}")]
        return argv, env

    cases = [
        ("vaesearch --help", lambda b: ([os.path.join(b, "vaesearch"), "--help"], base_env)),
        (f"vaesearch top ({a.trials} trials)", lambda b: ([os.path.join(b, "vaesearch"), "top", "--db", db], base_env)),
        (f"vaesearch status ({a.trials} trials)",
         lambda b: ([os.path.join(b, "vaesearch"), "status", "--db", db], base_env)),
        ("vaecf-train --help", lambda b: ([os.path.join(b, "vaecf-train"), "--help"], base_env)),
        ("1-epoch CPU trial, small, OMP_WAIT_POLICY=passive", lambda b: trial(b, passive)),
        ("1-epoch CPU trial, small, OMP_WAIT_POLICY unset", lambda b: trial(b, base_env)),
    ]
    results = {(c, n): [] for c, _ in cases for n in builds}
    load0 = os.getloadavg()
    for rep in range(a.reps + 1):
        order = list(builds) if rep % 2 == 0 else list(builds)[::-1]
        for label, make in cases:
            for name in order:
                argv, env = make(builds[name])
                if callable(argv):
                    argv = argv()
                wall, rss = run_once(spawn, argv, env, tmp)
                if rep > 0:   # the first repetition warms the page cache
                    results[(label, name)].append((wall, rss))
    load1 = os.getloadavg()

    print(f"bench_startup: {a.reps} runs each, builds alternating; {os.cpu_count()} CPUs; load average "
          f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end")
    for name, b in builds.items():
        for p in ("vaesearch", "vaecf-train"):
            libs = cuda_libs(os.path.join(b, p))
            print(f"  {name}: {p} needs {', '.join(libs) if libs else 'no CUDA library'}")
    print()
    print(f"| {'what':52} | build  | wall ms min / median / max | peak RSS MB min / median / max |")
    print(f"| {'-' * 52} | ------ | -------------------------- | ------------------------------ |")
    for label, _ in cases:
        medians = {}
        for name in builds:
            walls = sorted(w * 1e3 for w, _ in results[(label, name)])
            rss = sorted(r / 1024 for _, r in results[(label, name)])
            medians[name] = statistics.median(walls)
            print(f"| {label:52} | {name:6} | {walls[0]:7.1f} / {statistics.median(walls):7.1f} / {walls[-1]:7.1f}"
                  f"  | {rss[0]:7.1f} / {statistics.median(rss):7.1f} / {rss[-1]:7.1f}   |")
        print(f"| {'':52} | ratio  | before / after (median) = {medians['before'] / medians['after']:.2f}"
              f" {'':28}|")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
