# cli_optuna_trials: trials that Optuna's own API writes into a vaesearch sweep
# (docs/results-db.md, "Trials Optuna writes"), with the stand-in trainer. A trial
# enqueued with study.enqueue_trial runs with the values it fixes (a list choice given as
# the list or as Optuna's text), the parameters it leaves out proposed; one that fixes a
# value the space cannot take FAILs saying so, and the sweep goes on. A trial added with
# study.add_trial is history: status counts it apart, top shows its parameters in the
# space's order, and recommend says it was never trained and names the best trial that
# has a model. Of a conditional space, an enqueued trial gets exactly the parameters
# whose conditions hold on its fixed and proposed values; a fixed value they leave out
# FAILs it saying so (a grid's point without a value for a parameter switched on too).
# Skipped (77) without optuna.
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
# ---- a conditional space: the fixed values and the proposed ones together decide which
# of the missing parameters a trial has (docs/search-space.md, "Conditional parameters") ----
mkdir cond && cd cond
cspace() {   # cspace TRIALS SAMPLER > file
  cat <<JSON
{"name": "optc", "dataset": {"synth": "small"}, "sampler": {"kind": "$2", "seed": 3}, "budget": {"trials": $1},
 "fixed": {"epochs": 1},
 "parameters": {"n_layers": {"type": "int", "low": 1, "high": 3},
                "hidden_dims[0]": {"type": "categorical", "choices": [100, 123, 200]},
                "hidden_dims[1]": {"type": "categorical", "choices": [50, 77], "when": {"n_layers": [2, 3]}},
                "hidden_dims[2]": {"type": "categorical", "choices": [60, 100], "when": {"n_layers": [3]}},
                "anneal": {"type": "categorical", "choices": [true, false]},
                "anneal_cap": {"type": "uniform", "low": 0.1, "high": 0.5, "step": 0.1, "when": {"anneal": [true]},
                               "else": 1}}}
JSON
}
cspace 1 random > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > a.log
py <<'PY'
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="optc", storage="sqlite:///results.db")
study.enqueue_trial({"n_layers": 3})                          # 1: every width proposed
study.enqueue_trial({"n_layers": 1, "hidden_dims[0]": 123})   # 2: widths 1 and 2 absent
study.enqueue_trial({"anneal": False})                        # 3: anneal_cap absent, its "else" given
study.enqueue_trial({"n_layers": 1, "hidden_dims[2]": 100})   # 4: a value its conditions leave out: FAIL
for _ in range(8):                                            # 5-12: hangs on the proposed n_layers
    study.enqueue_trial({"hidden_dims[1]": 77})
PY
cspace 13 random > s.json
"$VAESEARCH" run s.json "${RUN[@]}" > b.log || { cat b.log; exit 1; }
grep -q "trial 4: FAIL: it was enqueued with hidden_dims\[2\]=100, and its conditions (\"when\") leave 'hidden_dims\[2\]' out (n_layers=1)" b.log ||
  { cat b.log; exit 1; }
py <<'PY'
import json, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="optc", storage="sqlite:///results.db")
T = study.trials
def widths(t):
    return [t.params[f"hidden_dims[{i}]"] for i in range(3) if f"hidden_dims[{i}]" in t.params]
def ran(n):
    return json.load(open(f"runs/optc/trial-{n}/trial.json"))
C = optuna.trial.TrialState.COMPLETE
assert T[1].state == C and T[1].params["n_layers"] == 3 and len(widths(T[1])) == 3, T[1].params
assert ran(1)["hidden_dims"] == widths(T[1]), (ran(1), T[1].params)
assert T[2].state == C and widths(T[2]) == [123] and ran(2)["hidden_dims"] == [123], T[2].params
assert T[3].state == C and "anneal_cap" not in T[3].params and ran(3)["anneal_cap"] == 1, (T[3].params, ran(3))
for t in T[1:4] + T[5:13]:   # exactly the parameters the conditions keep, on the values it has
    if t.state != C:
        continue
    n = t.params["n_layers"]
    assert sorted(k for k in t.params if k.startswith("hidden_dims")) == [f"hidden_dims[{i}]" for i in range(n)], t.params
    assert ("anneal_cap" in t.params) == t.params["anneal"], t.params
    assert set(t.distributions) == set(t.params)
assert T[4].state == optuna.trial.TrialState.FAIL and not T[4].params, (T[4].state, T[4].params)
outcomes = set()
for t in T[5:13]:   # hidden_dims[1] fixed: kept where the proposed n_layers is 2 or 3, refused where it is 1
    if t.state == C:
        assert t.params["n_layers"] >= 2 and t.params["hidden_dims[1]"] == 77 and ran(t.number)["hidden_dims"][1] == 77
    else:
        assert t.state == optuna.trial.TrialState.FAIL and not t.params, (t.number, t.state, t.params)
    outcomes.add(t.state)
assert outcomes == {C, optuna.trial.TrialState.FAIL}, outcomes   # both cases met (seed 3)
print("optuna: enqueued conditional trials completed as their conditions say")
PY
grep -q "FAIL: it was enqueued with hidden_dims\[1\]=77, and its conditions (\"when\") leave 'hidden_dims\[1\]' out (n_layers=1)" b.log ||
  { cat b.log; exit 1; }
# A grid: a fixed value that switches a parameter on which the grid's point has no value
# for FAILs saying so (enqueue it too); where the point has one, the trial runs.
gspace() {   # gspace TRIALS > file: n_layers 1 or 2, a second width only with 2
  cat <<JSON
{"name": "optg", "dataset": {"synth": "small"}, "sampler": {"kind": "grid", "seed": 3}, "budget": {"trials": $1},
 "fixed": {"epochs": 1},
 "parameters": {"n_layers": {"type": "int", "low": 1, "high": 2},
                "hidden_dims[0]": {"type": "categorical", "choices": [100, 200]},
                "hidden_dims[1]": {"type": "categorical", "choices": [50, 77], "when": {"n_layers": [2]}}}}
JSON
}
gspace 1 > g1.json
"$VAESEARCH" run g1.json --db grid.db "${RUN[@]}" > g1.log
py <<'PY'
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="optg", storage="sqlite:///grid.db")
for _ in range(4):
    study.enqueue_trial({"n_layers": 2})
PY
gspace 5 > g5.json
"$VAESEARCH" run g5.json --db grid.db "${RUN[@]}" > g5.log || { cat g5.log; exit 1; }
py <<'PY'
import optuna, re
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="optg", storage="sqlite:///grid.db")
log = open("g5.log").read()
states = set()
for t in study.trials[1:5]:
    if t.state == optuna.trial.TrialState.COMPLETE:
        assert t.params["n_layers"] == 2 and "hidden_dims[1]" in t.params, t.params
    else:
        assert re.search(rf"trial {t.number}: FAIL: its values switch 'hidden_dims\[1\]' on \(n_layers=2\), and the "
                         r"grid's point for it has no value for 'hidden_dims\[1\]': enqueue it with hidden_dims\[1\] too",
                         log), log
    states.add(t.state.name)
assert states == {"COMPLETE", "FAIL"}, states   # both cases met (seed 3)
PY
cd ..
echo "cli_optuna_trials: all checks passed"
