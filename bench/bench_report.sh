#!/usr/bin/env bash
# bench_report: how long `vaesearch report` takes, and how large its page is, for a big
# sweep.
#
#   bench/bench_report.sh [BUILD_DIR] [TRIALS] [EPOCHS] [REPEATS]
#                                            (defaults: build, 10000, 10, 7)
#
# Builds a results.db of TRIALS trials with `vaesearch run` and the stand-in trainer
# (tests/fake_trainer.c: every epoch validated, so each trial has a curve of EPOCHS
# points; the random sampler over 4 parameters as the search spaces have them:
# log-uniform, stepped uniform, stepped int, categorical), then times `vaesearch report`
# on it REPEATS times and prints the page's size. Each run's wall time, and its CPU time
# (user + system: on a shared machine, wall time measures the neighbours too), as min /
# median / max. The sweep's own dataset is there, so the popularity baseline is computed
# as for a user.
# KEEP=DIR builds the database in DIR and keeps it, and reuses it when it is there.
set -euo pipefail
BUILD=${1:-build}
N=${2:-10000}
EPOCHS=${3:-10}
REPEATS=${4:-7}
VAESEARCH="$(realpath -m "$BUILD/vaesearch")"
FAKE="$BUILD/tests/fake_trainer"
[ -x "$VAESEARCH" ] && [ -x "$FAKE" ] || { echo "build first: $VAESEARCH and $FAKE are needed"; exit 2; }
if [ -n "${KEEP:-}" ]; then
    T=$KEEP
    mkdir -p "$T"
else
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
fi

if [ ! -f "$T/results.db" ]; then
    cat > "$T/space.json" <<JSON
{"name": "report-bench", "dataset": {"synth": "small"},
 "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $N}, "fixed": {"epochs": $EPOCHS, "eval_every": 1},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "total_anneal_steps": {"type": "int", "low": 1000, "high": 16000, "step": 1000},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200], [200, 100]]}}}
JSON
    echo "building a $N-trial results.db in $T ..." >&2
    "$VAESEARCH" run "$T/space.json" --db "$T/results.db" --trainer "$FAKE" --no-progress > "$T/run.log"
fi
trials=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from trials').fetchone()[0])" "$T/results.db")
points=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from trial_intermediate_values').fetchone()[0])" "$T/results.db")

python3 - "$VAESEARCH" "$T" "$REPEATS" "$trials" "$points" <<'PY2'
import json, os, resource, statistics, subprocess, sys, time
vaesearch, t, repeats, trials, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = os.path.join(t, "report.html")
walls, cpus = [], []
for _ in range(repeats):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([vaesearch, "report", "--db", os.path.join(t, "results.db"), "-o", out], check=True, cwd=t,
                   stdout=subprocess.DEVNULL)
    walls.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
size = os.path.getsize(out)
stats = lambda x: (min(x), statistics.median(x), max(x))
w, c = stats(walls), stats(cpus)
print(f"sweep: {trials} trials, {points} intermediate values")
print(f"vaesearch report, {repeats} runs: wall min {w[0]:.3f} s, median {w[1]:.3f} s, max {w[2]:.3f} s (goal: under 2 s);"
      f" CPU (user + system) min {c[0]:.3f} s, median {c[1]:.3f} s, max {c[2]:.3f} s")
print(f"page: {size} bytes ({size / 1e6:.2f} MB; goal: under 5 MB)")
print(json.dumps({"bench": "report", "trials": trials, "points": points, "runs": repeats,
                  "wall_s": [round(x, 4) for x in w], "cpu_s": [round(x, 4) for x in c], "bytes": size}))
PY2
