#!/usr/bin/env bash
# bench_orchestrator_tpe: the TPE mode of bench_orchestrator.sh (run it as
# `bench/bench_orchestrator.sh --tpe [BUILD_DIR] [TRIALS] [OPTUNA_TRIALS]`).
#
# vaesearch runs TRIALS TPE trials of the stand-in trainer (tests/fake_trainer.c, 3
# epochs a trial, 4 parameters as the search spaces have them: log-uniform, stepped
# uniform, stepped int, categorical), one at a time. As each "trial N: COMPLETE" line
# comes, the wall time and the CPU time of the vaesearch process itself (user + system,
# /proc/PID/stat, its children not counted) are read, so each block of BLOCK trials
# (default 1000) has its own figures:
#   wall          the sweep's time per trial (the trainer's launch and run included);
#   vaesearch CPU the orchestrator's own work per trial: SQLite, reading the trainer's
#                 lines, forking it, and the sampler;
#   sampler       the sampler's share (TPE's model of the history, which grows with it by
#                 design): bench_tpe_propose asks the sampler again for each trial of the
#                 finished sweep with the history it had, checks it proposes the same,
#                 and times it;
#   own overhead  vaesearch CPU - sampler: what must stay flat.
# CPU time, unlike wall time, is hardly changed by other work on a shared machine.
# MULTIVARIATE=false runs univariate TPE (the default before multivariate TPE was; the
# figures of docs/performance.md up to 2026-11-30 are univariate), "\"optuna\"" Optuna's
# multivariate TPE. SAMPLER=random runs the same with the random sampler (and Optuna's RandomSampler):
# with no model to speak of, the orchestrator's own work alone.
# Beside it, Optuna's TPESampler with the same 4 parameters does ask, suggest, 3 x
# report, set_user_attr, tell on a SQLite file for OPTUNA_TRIALS trials (its TPE on RDB
# storage is slow: a smaller number fits), its CPU time per trial per block.
set -euo pipefail
BUILD=${1:-build}
N=${2:-10000}
NO=${3:-$N}
BLOCK=${BLOCK:-1000}
SAMPLER=${SAMPLER:-tpe}
case $SAMPLER in
  tpe) SAMPLER_JSON="{\"kind\": \"tpe\", \"seed\": 1, \"startup_trials\": 10, \"candidates\": 24, \"multivariate\": ${MULTIVARIATE:-true}}" ;;
  random) SAMPLER_JSON='{"kind": "random", "seed": 1}' ;;
  *) echo "SAMPLER is tpe or random"; exit 2 ;;
esac
VAESEARCH="$BUILD/vaesearch"
FAKE="$BUILD/tests/fake_trainer"
PROPOSE="$BUILD/bench_tpe_propose"
[ -x "$VAESEARCH" ] && [ -x "$FAKE" ] && [ -x "$PROPOSE" ] ||
    { echo "build first: $VAESEARCH, $FAKE and $PROPOSE are needed"; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cat > "$T/space.json" <<JSON
{"name": "overhead-tpe", "dataset": {"synth": "small"},
 "sampler": $SAMPLER_JSON,
 "budget": {"trials": $N}, "fixed": {"epochs": 3},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "total_anneal_steps": {"type": "int", "low": 1000, "high": 16000, "step": 1000},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200], [200, 100]]}}}
JSON
"$VAESEARCH" synth --preset small -o "$T/synth-small.vsds" > /dev/null   # made before the timing

# The sweep: per block, wall and the process's own CPU time.
python3 - "$VAESEARCH" "$T" "$FAKE" "$BLOCK" > "$T/sweep.txt" <<'PY'
import os, re, subprocess, sys, time
vaesearch, t, fake, block = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tick = os.sysconf("SC_CLK_TCK")
p = subprocess.Popen([vaesearch, "run", f"{t}/space.json", "--db", f"{t}/results.db", "--trainer", fake,
                      "--no-progress"], stdout=subprocess.PIPE, text=True)
def cpu():   # utime + stime of the process itself, seconds
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
ended, w0, c0 = 0, time.perf_counter(), cpu()
for line in p.stdout:
    if re.match(r"trial \d+: (COMPLETE|PRUNED|FAIL)", line):
        ended += 1
        if ended % block == 0:
            w, c = time.perf_counter(), cpu()
            print(ended, (w - w0) / block * 1e3, (c - c0) / block * 1e3, flush=True)
            w0, c0 = w, c
last = ended % block
if last:   # the process has not been reaped yet: its counters are still readable
    try:
        w, c = time.perf_counter(), cpu()
        print(ended, (w - w0) / last * 1e3, (c - c0) / last * 1e3)
    except OSError:
        pass
sys.exit(p.wait())
PY

"$PROPOSE" "$T/space.json" "$T/results.db" "$BLOCK" > "$T/sampler.txt"

optuna_json=$(python3 - "$T/optuna.db" "$NO" "$BLOCK" "$SAMPLER" <<'PY' 2>/dev/null || echo "none"
import sys, time, json
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
path, n, block, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sampler = (optuna.samplers.TPESampler(seed=1, n_startup_trials=10, n_ei_candidates=24) if kind == "tpe"
           else optuna.samplers.RandomSampler(seed=1))
study = optuna.create_study(study_name="overhead", storage=f"sqlite:///{path}", direction="maximize", sampler=sampler)
per_block, t = [], time.process_time()
for i in range(n):
    trial = study.ask()
    lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    cap = trial.suggest_float("anneal_cap", 0.0, 0.5, step=0.05)
    steps = trial.suggest_int("total_anneal_steps", 1000, 16000, step=1000)
    hidden = trial.suggest_categorical("hidden_dims", ["[100]", "[200]", "[200, 100]"])
    for e in range(1, 4):
        trial.report(0.1 + 0.01 * (i % 97) * e / 3, e)
    trial.set_user_attr("gpus", "")
    study.tell(trial, 0.1 + 0.01 * (i % 97))
    if (i + 1) % block == 0 or i + 1 == n:
        now = time.process_time()
        per_block.append((now - t) / (block if (i + 1) % block == 0 else (i + 1) % block) * 1e3)
        t = now
print(json.dumps(per_block))
PY
)
python3 - "$T/sweep.txt" "$T/sampler.txt" "$N" "$BLOCK" "$optuna_json" "$NO" "$SAMPLER" <<'PY'
import sys, json
kind = sys.argv[7]
sweep = [l.split() for l in open(sys.argv[1])]
sampler = [float(l.split()[2]) for l in open(sys.argv[2])]
n, block, optuna, no = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
if not sweep or int(sweep[-1][0]) // block < n // block:
    sys.exit(f"the sweep ended {sweep[-1][0] if sweep else 0} of {n} trials")
opt = None if optuna == "none" else json.loads(optuna)
name = "TPE" if kind == "tpe" else "random"
print(f"{name} sampler, 4 parameters, {n} trials one at a time, stand-in trainer (3 epochs each); ms a trial:")
print(f"{'trials':>13}  {'wall':>7}  {'vaesearch CPU':>13}  {'sampler':>9}  {'own overhead':>12}  {'optuna ' + name + ' CPU':>17}")
rows = []
for b, (last, wall, cpu) in enumerate(sweep):
    last, wall, cpu = int(last), float(wall), float(cpu)
    first = b * block + 1
    own = cpu - sampler[b]
    o = opt[b] if opt is not None and b < len(opt) else None
    print(f"{first:>6}-{last:<6}  {wall:>7.2f}  {cpu:>13.2f}  {sampler[b]:>9.2f}  {own:>12.2f}  {'' if o is None else f'{o:.2f}':>17}")
    rows.append({"first": first, "last": last, "wall_ms": round(wall, 3), "cpu_ms": round(cpu, 3),
                 "sampler_ms": round(sampler[b], 3), "own_ms": round(own, 3), "optuna_cpu_ms": None if o is None else round(o, 3)})
if opt is None: print("optuna: not installed (pip install optuna), no comparison")
elif no < n: print(f"optuna: {no} trials only")
print(json.dumps({"bench": "orchestrator_" + kind, "trials": n, "block": block, "blocks": rows}))
PY
