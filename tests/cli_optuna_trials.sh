# cli_optuna_trials: trials that Optuna's own API writes into a vaesearch sweep
# (docs/results-db.md, "Trials Optuna writes"), with the stand-in trainer. A trial
# enqueued with study.enqueue_trial runs with the values it fixes (a list choice given as
# the list or as Optuna's text), the parameters it leaves out proposed; one that fixes a
# value the space cannot take FAILs saying so, and the sweep goes on. A trial added with
# study.add_trial is history: status counts it apart, top shows its parameters in the
# space's order, and recommend says it was never trained and names the best trial that
# has a model. Skipped (77) without optuna.
set -euo pipefail
python3 -c "import optuna" 2>/dev/null || { echo "skipped: optuna is not importable"; exit 77; }
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
export PYTHONDONTWRITEBYTECODE=1

space() {   # space TRIALS > file
  cat <<JSON
{"name": "opt", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 5}, "budget": {"trials": $1},
 "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200, 100]]}}}
JSON
}
RUN=(--trainer "$FAKE_TRAINER" --no-progress)
py() { python3 - "$@"; }

space 2 > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > a.log

# Enqueued with some parameters left out, as Optuna users do: they run with those values.
py <<'PY'
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="opt", storage="sqlite:///results.db")
study.enqueue_trial({"lr": 0.005, "hidden_dims": [200, 100]})      # the list itself
study.enqueue_trial({"anneal_cap": 0.25, "hidden_dims": "[100]"})  # Optuna's text for a list choice
PY
[ "$("$VAESEARCH" status | grep -c "2 WAITING")" = 1 ]
space 4 > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > b.log || { cat b.log; exit 1; }
grep -q "trial 2: enqueued with lr, hidden_dims fixed; the other parameters proposed" b.log || { cat b.log; exit 1; }
py <<'PY'
import json, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="opt", storage="sqlite:///results.db")
t2, t3 = study.trials[2], study.trials[3]
assert t2.state == optuna.trial.TrialState.COMPLETE and t3.state == optuna.trial.TrialState.COMPLETE, (t2.state, t3.state)
assert t2.params["lr"] == 0.005 and t2.params["hidden_dims"] == "[200,100]", t2.params
assert t3.params["anneal_cap"] == 0.25 and t3.params["hidden_dims"] == "[100]", t3.params
assert 0.001 <= t3.params["lr"] <= 0.01 and 0 <= t2.params["anneal_cap"] <= 0.5, (t2.params, t3.params)
ran = json.load(open("runs/opt/trial-2/trial.json"))   # what the trainer was given
assert ran["lr"] == 0.005 and ran["hidden_dims"] == [200, 100] and ran["anneal_cap"] == t2.params["anneal_cap"], ran
assert json.load(open("runs/opt/trial-3/trial.json"))["anneal_cap"] == 0.25
PY

# A value the space cannot take: that trial FAILs saying so; the sweep goes on.
py <<'PY'
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
optuna.load_study(study_name="opt", storage="sqlite:///results.db").enqueue_trial({"lr": 5.0})
PY
space 6 > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > c.log || { cat c.log; exit 1; }
grep -q "trial 4: FAIL: it was enqueued with lr=5, a value this space's parameter cannot take" c.log || { cat c.log; exit 1; }
"$VAESEARCH" status > status.txt
grep -q "5 of 6 done; 5 COMPLETE, 0 PRUNED, 0 RUNNING, 0 WAITING, 1 FAIL$" status.txt && grep -q "^left .*nothing" status.txt || { cat status.txt; exit 1; }

# Added with add_trial (its parameters in an order of its own), the best value: history.
py <<'PY'
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="opt", storage="sqlite:///results.db")
study.add_trial(optuna.trial.create_trial(
    params={"hidden_dims": "[100]", "lr": 0.002, "anneal_cap": 0.1},
    distributions={"hidden_dims": CategoricalDistribution(["[100]", "[200,100]"]),
                   "lr": FloatDistribution(0.001, 0.01, log=True), "anneal_cap": FloatDistribution(0.0, 0.5, step=0.05)},
    value=0.9))
PY
"$VAESEARCH" status > status.txt
grep -q "5 of 6 done; 6 COMPLETE, 0 PRUNED, 0 RUNNING, 0 WAITING, 1 FAIL; not run here: 1 added with Optuna (add_trial)$" status.txt ||
  { cat status.txt; exit 1; }
[ "$("$VAESEARCH" top --format csv | head -1 | cut -d, -f1-5)" = "number,ndcg@100,anneal_cap,hidden_dims,lr" ]
set +e
"$VAESEARCH" recommend --trial best 1 2 > rec.out 2> rec.err
rc=$?
set -e
[ $rc = 2 ] && grep -q "trial 6 was added to the study without being trained" rec.err &&
  grep -q "the best trial with a model is trial 5 (ndcg@100 0.1500): --trial 5" rec.err || { echo "rc $rc"; cat rec.err; exit 1; }
# The sweep goes on with it as history: a grown budget runs one more trial, not fewer.
space 7 > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > d.log
grep -q "trial 7: COMPLETE" d.log && grep -q "6 of 7 done" <("$VAESEARCH" status) || { cat d.log; "$VAESEARCH" status; exit 1; }
echo "cli_optuna_trials: all checks passed"
