#!/usr/bin/env bash
# bench_orchestrator_tpe: the TPE mode of bench_orchestrator.sh (run it as
# `bench/bench_orchestrator.sh --tpe [BUILD_DIR] [TRIALS] [OPTUNA_TRIALS]`).
#
# vaesearch runs TRIALS TPE trials of the stand-in trainer (tests/fake_trainer.c, 3
# epochs a trial), one at a time; each "trial N: COMPLETE" line is timestamped as it is
# printed, so the time of each block of BLOCK trials is known. The orchestrator's own
# overhead per trial in a block is the block's time per trial minus the time of
# launching the stand-in by itself (measured in the same run) and minus the sampler's
# own time (its model of the history, which grows with it by design: bench_tpe_propose
# asks the sampler again for every trial of the finished sweep, checks it proposes the
# same, and times it). Optuna's TPESampler,
# with the same 4 parameters, does ask, suggest, 3 x report, set_user_attr, tell on a
# SQLite file for OPTUNA_TRIALS trials, timed per block the same way.
set -euo pipefail
BUILD=${1:-build}
N=${2:-10000}
NO=${3:-$N}
BLOCK=${BLOCK:-1000}
VAESEARCH="$BUILD/vaesearch"
FAKE="$BUILD/tests/fake_trainer"
PROPOSE="$BUILD/bench_tpe_propose"
[ -x "$VAESEARCH" ] && [ -x "$FAKE" ] && [ -x "$PROPOSE" ] ||
    { echo "build first: $VAESEARCH, $FAKE and $PROPOSE are needed"; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cat > "$T/space.json" <<JSON
{"name": "overhead-tpe", "dataset": {"synth": "small"},
 "sampler": {"kind": "tpe", "seed": 1, "startup_trials": 10, "candidates": 24},
 "budget": {"trials": $N}, "fixed": {"epochs": 3},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "total_anneal_steps": {"type": "int", "low": 1000, "high": 16000, "step": 1000},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200], [200, 100]]}}}
JSON
"$VAESEARCH" synth --preset small -o "$T/synth-small.vsds" > /dev/null   # made before the timing

# The launch of the stand-in alone, per trial (200 launches are enough for the mean).
mkdir -p "$T/alone/trial-1"
echo '{"epochs": 3}' > "$T/alone/c.json"
t2=$(date +%s.%N)
for ((i = 0; i < 200; i++)); do "$FAKE" --out "$T/alone/trial-1" --config "$T/alone/c.json" > /dev/null; done
t3=$(date +%s.%N)

# The sweep, its lines timestamped as they come.
"$VAESEARCH" run "$T/space.json" --db "$T/results.db" --trainer "$FAKE" --no-progress |
    python3 -c '
import sys, time, re
t0 = time.perf_counter()
out = open(sys.argv[1], "w")
for line in sys.stdin:
    m = re.match(r"trial (\d+): (COMPLETE|PRUNED|FAIL)", line)
    if m: out.write(f"{m.group(1)} {time.perf_counter() - t0:.6f}\n")
' "$T/ends.txt"

"$PROPOSE" "$T/space.json" "$T/results.db" "$BLOCK" > "$T/sampler.txt"

optuna_json=$(python3 - "$T/optuna.db" "$NO" "$BLOCK" <<'PY' 2>/dev/null || echo "none"
import sys, time, json
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
path, n, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
study = optuna.create_study(study_name="overhead-tpe", storage=f"sqlite:///{path}", direction="maximize",
                            sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=10, n_ei_candidates=24))
per_block, t = [], time.perf_counter()
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
        now = time.perf_counter()
        per_block.append((now - t) / (block if (i + 1) % block == 0 else (i + 1) % block) * 1e3)
        t = now
print(json.dumps(per_block))
PY
)
python3 - "$T/ends.txt" "$t2" "$t3" "$N" "$BLOCK" "$optuna_json" "$NO" "$T/sampler.txt" <<'PY'
import sys, json
ends_path, t2, t3, n, block, optuna, no = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
sampler = [float(l.split()[2]) for l in open(sys.argv[8])]
alone = (t3 - t2) / 200 * 1e3
ends = sorted(float(l.split()[1]) for l in open(ends_path))
if len(ends) != n:
    sys.exit(f"only {len(ends)} of {n} trials ended")
opt = None if optuna == "none" else json.loads(optuna)
print(f"TPE, 4 parameters, {n} trials one at a time, stand-in trainer (3 epochs each); launching it alone: {alone:.2f} ms")
print(f"{'trials':>13}  {'vaesearch ms/trial':>18}  {'TPE model':>9}  {'own overhead':>12}  {'optuna TPE ms/trial':>19}")
rows, prev = [], 0.0
for b in range((n + block - 1) // block):
    lo, hi = b * block, min(n, (b + 1) * block)
    per = (ends[hi - 1] - prev) / (hi - lo) * 1e3
    prev = ends[hi - 1]
    o = opt[b] if opt is not None and b < len(opt) else None
    own = per - alone - sampler[b]
    print(f"{lo + 1:>6}-{hi:<6}  {per:>18.2f}  {sampler[b]:>9.2f}  {own:>12.2f}  {'' if o is None else f'{o:.2f}':>19}")
    rows.append({"first": lo + 1, "last": hi, "ms": round(per, 3), "sampler_ms": round(sampler[b], 3), "own_ms": round(own, 3),
                 "optuna_ms": None if o is None else round(o, 3)})
if opt is None: print("optuna: not installed (pip install optuna), no comparison")
elif no < n: print(f"optuna: {no} trials only")
print(json.dumps({"bench": "orchestrator_tpe", "trials": n, "block": block, "process_ms": round(alone, 3), "blocks": rows}))
PY
