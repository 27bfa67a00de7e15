# cli_run_conditional: conditional parameters end to end, with the stand-in trainer
# (tests/fake_trainer.c) on search_spaces/layers-conditional.json: each trial's
# trial.json has as many hidden_dims as its n_layers says and the "else" values while
# annealing is off; results.db has no row for an absent parameter; a sweep grown in two
# runs proposes what one run does; top and show print what is there; Optuna and pandas
# read the sweep (skipped without them); a grid over a conditional space runs each
# allowed combination once; a warm start carries the conditional trials over (both the
# parameters' fit and the dataset's and settings'); a cycle is
# refused before anything runs; and an older sweep (stored without
# sampler.multivariate) resumes univariate when the space does not set it, as it began.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1
RUN=(--trainer "$FAKE_TRAINER" --no-progress)
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
expect_status() {   # expect_status WANT LOG CMD...
  local want=$1 log=$2 got=0
  shift 2
  "$@" > "$log" 2>&1 || got=$?
  [ "$got" = "$want" ] || { echo "exit $got, expected $want: $*"; cat "$log"; exit 1; }
}
EXAMPLE="$VS_SOURCE_DIR/search_spaces/layers-conditional.json"

# ---- the example, in one run and in two ----
"$VAESEARCH" run "$EXAMPLE" --db "$T/one.db" "${RUN[@]}" > "$T/one.log"
[ "$(sql "$T/one.db" "select count(*) from trials where state in ('COMPLETE', 'PRUNED')")" = 10 ]
python3 - "$T/one.db" "$T/runs/layers-conditional" <<'PY'
import json, sqlite3, sys
db, runs = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
seen = set()
for number, trial_id in con.execute("select number, trial_id from trials order by number"):
    params = dict(con.execute("select param_name, param_value from trial_params where trial_id = ?", (trial_id,)))
    config = json.load(open(f"{runs}/trial-{number}/trial.json"))
    n = int(params["n_layers"])
    widths = [int(params[f"hidden_dims[{i}]"]) for i in range(n)]
    assert config["hidden_dims"] == widths, (number, config, params)
    for i in range(n, 3):
        assert f"hidden_dims[{i}]" not in params, (number, params)   # absent: no row
    assert "n_layers" not in config and "anneal" not in config, config   # switches stay out
    anneal = params["anneal"] == 0   # choices [true, false]: index 0 is true
    if anneal:
        assert config["anneal_cap"] == params["anneal_cap"] and config["total_anneal_steps"] == params["total_anneal_steps"]
    else:
        assert "anneal_cap" not in params and "total_anneal_steps" not in params, params
        assert config["anneal_cap"] == 1 and config["total_anneal_steps"] == 0, config
    seen.add((n, anneal))
assert len(seen) >= 3, seen   # the sweep went through several shapes
PY
# Grown in two runs: the same trials (each proposal is a function of the earlier ones).
sed 's/"trials": 10/"trials": 4/' "$EXAMPLE" > "$T/four.json"
"$VAESEARCH" run "$T/four.json" --db "$T/two.db" --runs-dir "$T/runs2" "${RUN[@]}" > "$T/two-a.log"
"$VAESEARCH" run "$EXAMPLE" --db "$T/two.db" --runs-dir "$T/runs2" "${RUN[@]}" > "$T/two-b.log"
params() { sql "$1" "select t.number, p.param_name, p.param_value from trials t join trial_params p using (trial_id) order by 1, 2"; }
diff <(params "$T/one.db") <(params "$T/two.db") || { echo "a sweep grown in two runs proposed other trials"; exit 1; }

# top: a column per parameter any trial has, empty where absent; show lists the present.
"$VAESEARCH" top --db "$T/one.db" -n 10 --format csv > "$T/top.csv"
python3 - "$T/top.csv" "$T/one.db" <<'PY'
import csv, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1])))
con = sqlite3.connect(sys.argv[2])
assert "hidden_dims[2]" in rows[0] and "anneal_cap" in rows[0], rows[0].keys()
for r in rows:
    params = dict(con.execute("select p.param_name, p.param_value from trials t join trial_params p using (trial_id) "
                              "where t.number = ?", (int(r["number"]),)))
    for name in ("hidden_dims[1]", "hidden_dims[2]", "anneal_cap"):
        assert (r[name] == "") == (name not in params), (r, params)
PY
n1=$(sql "$T/one.db" "select t.number from trials t where not exists (select 1 from trial_params p where p.trial_id = t.trial_id and p.param_name = 'hidden_dims[1]') limit 1")
"$VAESEARCH" show "$n1" --db "$T/one.db" > "$T/show.txt"
grep -q "hidden_dims\[0\]" "$T/show.txt" && ! grep -q "hidden_dims\[1\]" "$T/show.txt"

# Optuna and pandas read the absent parameters as absent.
if python3 -c "import optuna, pandas" 2> /dev/null; then
  python3 - "$T/one.db" <<'PY'
import math, sqlite3, sys, warnings
warnings.filterwarnings("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="layers-conditional", storage=f"sqlite:///{sys.argv[1]}")
for t in study.trials:
    n = t.params["n_layers"]
    assert sorted(k for k in t.params if k.startswith("hidden_dims")) == [f"hidden_dims[{i}]" for i in range(n)], t.params
    assert set(t.distributions) == set(t.params)
    assert ("anneal_cap" in t.params) == t.params["anneal"]
df = study.trials_dataframe()
for _, row in df.iterrows():
    assert math.isnan(row["params_hidden_dims[2]"]) == (row["params_n_layers"] < 3)
print("optuna reads", len(study.trials), "conditional trials; best", study.best_params)
try:   # optuna-dashboard's API, in-process, when it is installed
    import optuna_dashboard
except ImportError:
    print("optuna-dashboard is not installed: its check is left out")
    sys.exit(0)
import io, json
app = optuna_dashboard.wsgi(f"sqlite:///{sys.argv[1]}")
def get(path):
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
    status = []
    body = b"".join(app(env, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), (path, status, body[:300])
    return json.loads(body)
study_id = get("/api/studies")["study_summaries"][0]["study_id"]
detail = get(f"/api/studies/{study_id}")
for t, ours in zip(detail["trials"], study.trials):
    assert sorted(p["name"] for p in t["params"]) == sorted(ours.params), (t["params"], ours.params)
print("optuna-dashboard: the", len(detail["trials"]), "trials with their own parameters")
PY
else
  echo "optuna or pandas missing: their reading of the sweep not checked"
fi

# ---- a grid over a conditional space: each allowed combination once ----
cat > "$T/grid.json" <<'JSON'
{"name": "grid-cond", "dataset": {"synth": "small"}, "sampler": {"kind": "grid", "seed": 4},
 "fixed": {"epochs": 1},
 "parameters": {"n_layers": {"type": "int", "low": 1, "high": 2},
                "hidden_dims[0]": {"type": "categorical", "choices": [100, 200]},
                "hidden_dims[1]": {"type": "categorical", "choices": [50, 100, 150], "when": {"n_layers": [2]}}}}
JSON
"$VAESEARCH" run "$T/grid.json" --db "$T/grid.db" --runs-dir "$T/grid-runs" "${RUN[@]}" > "$T/grid.log"
[ "$(sql "$T/grid.db" "select count(*) from trials")" = 8 ]   # 2 + 2 x 3
for d in "$T"/grid-runs/grid-cond/trial-*; do python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['hidden_dims'])" "$d/trial.json"; done |
  sort | uniq -d | grep -q . && { echo "a grid point ran twice"; exit 1; }

# ---- a warm start from the conditional sweep: its finished trials fit the same space ----
sed -e 's/"name": "layers-conditional"/"name": "layers-warm"/' -e 's/"trials": 10/"trials": 2/' \
    -e "s|\"budget\"|\"warm_start\": {\"db\": \"$T/one.db\"}, \"budget\"|" "$EXAMPLE" > "$T/warm.json"
"$VAESEARCH" run "$T/warm.json" --db "$T/warm.db" --runs-dir "$T/warm-runs" "${RUN[@]}" > "$T/warm.log"
grep -q "warm start: 10 finished trials of .* seed the sampler; 0 did not fit$" "$T/warm.log" || { cat "$T/warm.log"; exit 1; }
diff <(sql "$T/one.db" "select count(*) from trial_params") \
     <(sql "$T/warm.db" "select count(*) from trial_params p join trial_user_attributes a using (trial_id) where a.key = 'warm_start'")

# Both kinds of fit: a space without a third layer takes none that had one (a parameter
# it cannot take), and one trained for fewer epochs none at all (another setting).
three=$(sql "$T/one.db" "select count(*) from trials t join trial_params p using (trial_id) where p.param_name = 'n_layers' and p.param_value = 3 and t.state in ('COMPLETE', 'PRUNED')")
[ "$three" -gt 0 ] && [ "$three" -lt 10 ] || { echo "the example's sweep has $three trials of 3 layers: no mix to test"; exit 1; }
python3 - "$T/warm.json" "$T/warm2.json" "$T/warm3.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["name"] = "layers-warm2"
s["parameters"]["n_layers"]["high"] = 2
del s["parameters"]["hidden_dims[2]"]
s["parameters"]["hidden_dims[1]"]["when"]["n_layers"] = [2]
json.dump(s, open(sys.argv[2], "w"))
s["name"], s["fixed"]["epochs"] = "layers-warm3", 4
json.dump(s, open(sys.argv[3], "w"))
PY
"$VAESEARCH" run "$T/warm2.json" --db "$T/warm.db" --runs-dir "$T/warm-runs" "${RUN[@]}" > "$T/warm2.log"
grep -q "warm start: $((10 - three)) finished trials of .* seed the sampler; $three did not fit: $three with a parameter this space cannot take$" "$T/warm2.log" ||
  { cat "$T/warm2.log"; exit 1; }
"$VAESEARCH" run "$T/warm3.json" --db "$T/warm.db" --runs-dir "$T/warm-runs" "${RUN[@]}" > "$T/warm3.log"
grep -q "warm start: 0 finished trials of .* seed the sampler; 10 did not fit: $((10 - three)) with other settings (epochs: $((10 - three))), $three with a parameter this space cannot take;" "$T/warm3.log" ||
  { cat "$T/warm3.log"; exit 1; }

# ---- refused before anything runs: a cycle, with its JSON path ----
cat > "$T/cycle.json" <<'JSON'
{"name": "cycle", "dataset": {"synth": "small"}, "budget": {"trials": 2},
 "parameters": {"epochs": {"type": "int", "low": 1, "high": 3, "when": {"latent_dim": [8]}},
                "latent_dim": {"type": "int", "low": 8, "high": 9, "when": {"epochs": [1]}}}}
JSON
expect_status 2 "$T/cycle.log" "$VAESEARCH" run "$T/cycle.json" --db "$T/cycle.db" "${RUN[@]}"
grep -q "parameters.latent_dim.when.epochs: a cycle of conditions: epochs -> latent_dim -> epochs" "$T/cycle.log"
[ ! -e "$T/cycle.db" ]

# ---- an older sweep, stored before TPE had "multivariate": univariate ----
# Run again with the same file (no "multivariate"), it goes on univariate, saying so, and
# proposes what a univariate sweep does; a value the file sets is the file's.
cat > "$T/old.json" <<'JSON'
{"name": "old", "dataset": {"synth": "small"}, "sampler": {"kind": "tpe", "seed": 2, "startup_trials": 2},
 "budget": {"trials": 3}, "fixed": {"epochs": 1},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.05, "high": 0.5, "step": 0.05}}}
JSON
# The older sweep: begun univariate (as an older vaesearch did), its stored form then
# stripped of the key, as that vaesearch stored it.
strip_multivariate() {
  python3 - "$1" <<'PY'
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
space = json.loads(con.execute("select space_json from vs_sweeps").fetchone()[0])
assert space["sampler"].pop("multivariate") is False
con.execute("update vs_sweeps set space_json = ?", (json.dumps(space, separators=(",", ":")),))
con.commit()
PY
}
sed 's/"startup_trials": 2}/"startup_trials": 2, "multivariate": false}/' "$T/old.json" > "$T/old-false.json"
"$VAESEARCH" run "$T/old-false.json" --db "$T/old.db" --runs-dir "$T/old-runs" "${RUN[@]}" > "$T/old.log"
strip_multivariate "$T/old.db"
sed -i 's/"trials": 3/"trials": 8/' "$T/old.json" "$T/old-false.json"
"$VAESEARCH" run "$T/old.json" --db "$T/old.db" --runs-dir "$T/old-runs" "${RUN[@]}" > "$T/old2.log" ||
  { cat "$T/old2.log"; exit 1; }
grep -q "sampler.multivariate: kept false, as this sweep began" "$T/old2.log" || { cat "$T/old2.log"; exit 1; }
[ "$(sql "$T/old.db" "select count(*) from trials where state = 'COMPLETE'")" = 8 ]
# the stored form still predates the key, so the same command keeps it again
sql "$T/old.db" "select space_json from vs_sweeps" | grep -q multivariate && { echo "the key was stored"; exit 1; }
sed -i 's/"trials": 8/"trials": 9/' "$T/old.json" "$T/old-false.json"
"$VAESEARCH" run "$T/old.json" --db "$T/old.db" --runs-dir "$T/old-runs" "${RUN[@]}" > "$T/old3.log"
grep -q "sampler.multivariate: kept false" "$T/old3.log"
# what it proposed is univariate TPE's: a fresh univariate sweep's trials, not a multivariate one's
"$VAESEARCH" run "$T/old-false.json" --db "$T/uni.db" --runs-dir "$T/uni-runs" "${RUN[@]}" > /dev/null
"$VAESEARCH" run "$T/old.json" --db "$T/multi.db" --runs-dir "$T/multi-runs" "${RUN[@]}" > /dev/null
diff <(params "$T/old.db") <(params "$T/uni.db") || { echo "the older sweep did not go on univariate"; exit 1; }
if diff -q <(params "$T/old.db") <(params "$T/multi.db") > /dev/null; then
  echo "univariate and multivariate proposed the same: the check above cannot tell them apart"; exit 1
fi
# "multivariate": true set in the file is a change, refused; false is what it began with
sed 's/"startup_trials": 2}/"startup_trials": 2, "multivariate": true}/' "$T/old.json" > "$T/old-settrue.json"
expect_status 2 "$T/old4.log" "$VAESEARCH" run "$T/old-settrue.json" --db "$T/old.db" --runs-dir "$T/old-runs" "${RUN[@]}"
grep -q "sampler.multivariate: false -> true" "$T/old4.log"
"$VAESEARCH" run "$T/old-false.json" --db "$T/old.db" --runs-dir "$T/old-runs" "${RUN[@]}" > "$T/old5.log"
if grep -q "kept false" "$T/old5.log"; then echo "kept, though the file says false"; exit 1; fi
echo "conditional sweeps: ok"
