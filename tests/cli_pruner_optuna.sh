# cli_pruner_optuna: the median and ASHA pruners against Optuna's own MedianPruner and
# SuccessiveHalvingPruner on random cases where trials validate only some epochs
# (eval_every 1, 2, 3 or 5, and the last epoch). Optuna's trials report at their
# validated steps and are asked at each; the same reference curves and question go to
# tests/pruner_cases.c. As the scheduler does, the median pruner gets the trial's best
# value so far and ASHA its value at the epoch; references are COMPLETE trials (Optuna
# never pruned them). For the median, every trial of a case validates the same epochs
# (vaesearch counts its start-up trials among the references with a value at the
# epoch, Optuna among all COMPLETE trials: the same then); for ASHA each trial has its
# own eval_every. Every decision must agree. Skipped without optuna.
set -euo pipefail
CASES="$(dirname "$FAKE_TRAINER")/pruner_cases"
[ -x "$CASES" ] || { echo "pruner_cases not built beside $FAKE_TRAINER"; exit 1; }
python3 -c "import optuna" 2>/dev/null || { echo "skipped: optuna is not importable"; exit 77; }

python3 - "$CASES" <<'PY'
import math, random, subprocess, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)

rng = random.Random(5)
cases, expected, kinds = [], [], []

def validated(every, epochs):
    return [e for e in range(1, epochs + 1) if e % every == 0 or e == epochs]

for it in range(1600):
    median = it % 2 == 0
    maximize = rng.random() < 0.5
    epochs = rng.randint(4, 20)
    n_ref = rng.randint(0, 8)
    if median:
        a, b = rng.randint(0, 4), rng.randint(0, 6)   # start-up trials, warm-up epochs
        every = rng.choice([1, 2, 3, 5])
        ref_every, trial_every = [every] * n_ref, every
        pruner = optuna.pruners.MedianPruner(n_startup_trials=a, n_warmup_steps=b)
    else:
        a, b = rng.randint(1, 3), rng.choice([2, 3])   # min_epochs, reduction factor
        ref_every = [rng.choice([1, 2, 3, 5]) for _ in range(n_ref)]
        trial_every = rng.choice([1, 2, 3, 5])
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=a, reduction_factor=b)
    study = optuna.create_study(direction="maximize" if maximize else "minimize", pruner=pruner)
    curves, ref_pruned = [], False
    for i in range(n_ref):
        curve = [math.nan] * epochs
        t = study.ask()
        for e in validated(ref_every[i], epochs):
            curve[e - 1] = round(rng.random(), 1)   # one decimal: ties happen
            t.report(curve[e - 1], e)
            ref_pruned |= t.should_prune()
        study.tell(t, 0.5)
        curves.append(curve)
    if ref_pruned and not median:
        continue   # a COMPLETE reference passed every rung
    steps = validated(trial_every, epochs)
    ask_at = rng.randrange(len(steps))
    t = study.ask()
    previous, seen, stopped = 0, [], False
    for k, e in enumerate(steps[:ask_at + 1]):
        seen.append(round(rng.random(), 1))
        t.report(seen[-1], e)
        prune = t.should_prune()
        if k < ask_at:
            stopped |= prune
            previous = e
    if stopped:
        continue   # pruned before the question
    value = (max(seen) if maximize else min(seen)) if median else seen[-1]
    expected.append(int(prune))
    kinds.append("median" if median else "asha")
    rows = "\n".join(" ".join("nan" if math.isnan(x) else repr(x) for x in c) for c in curves)
    cases.append(f"{1 if median else 2} {int(maximize)} {a} {b} {n_ref} {epochs}\n{rows}\n"
                 f"{previous} {steps[ask_at]} {value!r}\n")

run = subprocess.run([sys.argv[1]], input="".join(cases), capture_output=True, text=True, check=True)
got = [int(x) for x in run.stdout.split()]
assert len(got) == len(expected), (len(got), len(expected))
failed = False
for kind in ("median", "asha"):
    idx = [i for i, k in enumerate(kinds) if k == kind]
    bad = [i for i in idx if got[i] != expected[i]]
    print(f"{kind}: {len(idx)} decisions, {sum(expected[i] for i in idx)} to prune, {len(bad)} disagreements")
    for i in bad[:3]:
        print(cases[i], f"vaesearch {got[i]}, optuna {expected[i]}")
    failed |= bool(bad) or sum(expected[i] for i in idx) < 20
sys.exit(1 if failed else 0)
PY
echo "cli_pruner_optuna: all decisions agree"
