#!/usr/bin/env bash
# bench_orchestrator: the orchestrator's own overhead per trial, beside Optuna's
# ask/tell on SQLite for the same number of trials, measured in the same run.
#
#   bench/bench_orchestrator.sh [BUILD_DIR] [TRIALS]      (defaults: build, 200)
#   bench/bench_orchestrator.sh --tpe [BUILD_DIR] [TRIALS] [OPTUNA_TRIALS]
#                                                         (defaults: build, 10000, TRIALS)
#
# vaesearch runs TRIALS trials of a stand-in trainer (tests/fake_trainer.c: it prints
# the trainer's JSON lines for 3 epochs and exits), one at a time, each recorded in
# results.db as a real trial is (parameters, 3 epochs with intermediate values, the
# result, user attributes, a run record). Its overhead per trial is the sweep's time
# minus the time of launching the stand-in TRIALS times by itself. Optuna does the
# same bookkeeping in-process (ask, suggest, 3 x report, set_user_attr, tell) against a
# SQLite file, with no process to launch: the figure to beat for bookkeeping alone.
#
# --tpe: a TPE sweep over 4 parameters (as the search spaces have them: log-uniform,
# stepped uniform, stepped int, categorical), and the overhead per trial for each block
# of BLOCK trials (default 1000), to show whether it grows with the history; beside it
# Optuna's TPESampler with the same 4 parameters on a SQLite file, block by block, over
# OPTUNA_TRIALS trials (Optuna's TPE on RDB storage is slow: a smaller number fits).
set -euo pipefail
if [ "${1:-}" = "--tpe" ]; then
    shift
    exec "$(dirname "$0")/bench_orchestrator_tpe.sh" "$@"
fi
BUILD=${1:-build}
N=${2:-200}
VAESEARCH="$BUILD/vaesearch"
FAKE="$BUILD/tests/fake_trainer"
[ -x "$VAESEARCH" ] && [ -x "$FAKE" ] || { echo "build first: $VAESEARCH and $FAKE are needed"; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cat > "$T/space.json" <<JSON
{"name": "overhead", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $N}, "fixed": {"epochs": 3},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5}}}
JSON
"$VAESEARCH" synth --preset small -o "$T/synth-small.vsds" > /dev/null   # made before the timing

now() { date +%s.%N; }
t0=$(now)
"$VAESEARCH" run "$T/space.json" --db "$T/results.db" --trainer "$FAKE" --no-progress > "$T/run.log"
t1=$(now)
mkdir -p "$T/alone/trial-1"
echo '{"epochs": 3}' > "$T/alone/c.json"
t2=$(now)
for ((i = 0; i < N; i++)); do "$FAKE" --out "$T/alone/trial-1" --config "$T/alone/c.json" > /dev/null; done
t3=$(now)
done_trials=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from trials where state='COMPLETE'\").fetchone()[0])" "$T/results.db")
[ "$done_trials" = "$N" ] || { echo "only $done_trials of $N trials completed"; exit 1; }

optuna_ms=$(python3 - "$T/optuna.db" "$N" <<'PY' 2>/dev/null || echo "none"
import sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
path, n = sys.argv[1], int(sys.argv[2])
study = optuna.create_study(study_name="overhead", storage=f"sqlite:///{path}", direction="maximize",
                            sampler=optuna.samplers.RandomSampler(seed=1))
t = time.perf_counter()
for _ in range(n):
    trial = study.ask()
    lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    cap = trial.suggest_float("anneal_cap", 0.0, 0.5)
    for e in range(1, 4):
        trial.report(0.1 * e, e)
    trial.set_user_attr("recall@20", 0.2)
    trial.set_user_attr("gpus", "")
    study.tell(trial, 0.3)
print(f"{(time.perf_counter() - t) / n * 1e3:.2f}")
PY
)
python3 - "$t0" "$t1" "$t2" "$t3" "$N" "$optuna_ms" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5]); n = int(sys.argv[5]); optuna = sys.argv[6]
sweep = (t1 - t0) / n * 1e3
alone = (t3 - t2) / n * 1e3
own = sweep - alone
print(f"trials: {n}, one at a time, stand-in trainer (3 epochs each)")
print(f"vaesearch run: {sweep:.2f} ms a trial, of which launching the trainer {alone:.2f} ms: own overhead {own:.2f} ms a trial")
if optuna == "none":
    print("optuna: not installed (pip install optuna), no comparison")
    print(f'{{"bench":"orchestrator","trials":{n},"sweep_ms":{sweep:.3f},"process_ms":{alone:.3f},"own_ms":{own:.3f}}}')
else:
    o = float(optuna)
    print(f"optuna ask/tell on SQLite, same bookkeeping in-process: {o:.2f} ms a trial")
    print(f"ratio: vaesearch's own overhead / optuna's = {own / o:.2f}")
    print(f'{{"bench":"orchestrator","trials":{n},"sweep_ms":{sweep:.3f},"process_ms":{alone:.3f},"own_ms":{own:.3f},"optuna_ms":{o:.3f},"ratio":{own / o:.3f}}}')
PY
