# cli_run_grow: sweeps as they meet users, with the stand-in trainer (tests/fake_trainer.c):
# what a run needs is checked before anything is recorded (dataset, trainer, GPUs), a
# sweep stops on failures in a row and exits non-zero when its trials all fail, a raised
# budget continues the sweep, --retry-failed runs failed parameters again, delete and
# rename change a sweep in place, a warm start seeds a new sweep with an earlier one's
# trials, and trainers get passive OpenMP waiting and threads within the cores.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

space() {   # space NAME TRIALS [DATASET-JSON] > file
  local dataset=${3:-'{"synth": "small"}'}
  cat <<JSON
{"name": "$1", "dataset": $dataset, "sampler": {"kind": "tpe", "seed": 3, "startup_trials": 2},
 "budget": {"trials": $2}, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0, "high": 0.5, "step": 0.05},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200]]}}}
JSON
}
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
RUN=(--trainer "$FAKE_TRAINER" --no-progress)
expect_status() {   # expect_status WANT LOG CMD...: runs CMD (stdout+stderr to LOG), checks its status
  local want=$1 log=$2 got=0
  shift 2
  "$@" > "$log" 2>&1 || got=$?
  [ "$got" = "$want" ] || { echo "exit $got, expected $want: $*"; cat "$log"; exit 1; }
}

# ---- checked before anything is recorded ----
# A missing dataset: exit 2 and no database at all; fixed, the same space runs.
space checked 2 "\"$T/missing.vsds\"" > "$T/checked.json"
expect_status 2 "$T/checked.log" "$VAESEARCH" run "$T/checked.json" --db "$T/checked.db" "${RUN[@]}"
grep -q "missing.vsds" "$T/checked.log"
[ ! -e "$T/checked.db" ] || { echo "a refused run left $T/checked.db"; exit 1; }
"$VAESEARCH" synth --preset small -o "$T/missing.vsds" > /dev/null
"$VAESEARCH" run "$T/checked.json" --db "$T/checked.db" "${RUN[@]}" > "$T/checked2.log"
[ "$(sql "$T/checked.db" "select count(*) from trials where state = 'COMPLETE'")" = 2 ]
# An existing sweep is not touched by a refused run either: a file that is no dataset.
echo "not a dataset" > "$T/bad.vsds"
space checked 2 "\"$T/bad.vsds\"" > "$T/bad.json"
expect_status 2 "$T/bad.log" "$VAESEARCH" run "$T/bad.json" --db "$T/other.db" "${RUN[@]}"
[ ! -e "$T/other.db" ]
# A trainer that is not there, and GPUs this build cannot see (a CPU build sees none).
space gpu 2 > "$T/gpu.json"
expect_status 2 "$T/trainer.log" "$VAESEARCH" run "$T/gpu.json" --db "$T/gpu.db" --trainer "$T/no-such-trainer" --no-progress
grep -q "no-such-trainer" "$T/trainer.log"
expect_status 2 "$T/gpus.log" "$VAESEARCH" run "$T/gpu.json" --db "$T/gpu.db" --gpus 999 "${RUN[@]}"
grep -q "GPU 999 is not visible" "$T/gpus.log"
[ ! -e "$T/gpu.db" ] || { echo "a refused run left $T/gpu.db"; exit 1; }

# A file that is no database, given to top: named for what it is not, exit 1 as the help says.
echo "userId,movieId,rating" > "$T/ratings.csv"
expect_status 1 "$T/top.log" "$VAESEARCH" top --db "$T/ratings.csv"
grep -q "ratings.csv: not a results database (not an SQLite file)" "$T/top.log"
! grep -q "SELECT" "$T/top.log"
expect_status 2 "$T/top2.log" "$VAESEARCH" top --db "$T/nothing-here.db"

# ---- failures in a row ----
# Every trial fails with the same reason (its trial number aside): the sweep stops after
# 3 (the default), exit 1, and the rest of the budget is not spent on failures.
space failing 10 > "$T/failing.json"
expect_status 1 "$T/failing.log" env FAKE_MODE=fail-all "$VAESEARCH" run "$T/failing.json" --db "$T/failing.db" "${RUN[@]}"
grep -q "3 trials in a row failed" "$T/failing.log"
[ "$(sql "$T/failing.db" "select count(*) from trials")" = 3 ]
# --max-consecutive-failures 0 never stops; the run still exits 1 as every trial failed.
space failing2 4 > "$T/failing2.json"
expect_status 1 "$T/failing2.log" env FAKE_MODE=fail-all "$VAESEARCH" run "$T/failing2.json" --db "$T/failing.db" \
  --max-consecutive-failures 0 "${RUN[@]}"
grep -q "every trial of this run failed (4)" "$T/failing2.log"

# ---- --retry-failed: the failed parameters run again, as new trials ----
expect_status 0 "$T/retry.log" "$VAESEARCH" run "$T/failing.json" --db "$T/failing.db" --retry-failed "${RUN[@]}"
grep -q "3 failed trials re-queued" "$T/retry.log"
python3 - "$T/failing.db" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
sid = db.execute("select study_id from studies where study_name = 'failing'").fetchone()[0]
params = lambda n: db.execute("select param_name, param_value from trial_params p join trials t using (trial_id) "
                              "where t.study_id = ? and t.number = ? order by param_name", (sid, n)).fetchall()
retries = db.execute("select t.number, a.value_json, t.state from trial_user_attributes a join trials t using (trial_id) "
                     "where t.study_id = ? and a.key = 'retry_of'", (sid,)).fetchall()
assert sorted(json.loads(r[1]) for r in retries) == [0, 1, 2], retries
for number, of, state in retries:
    assert params(number) == params(json.loads(of)) and state == "COMPLETE", (number, of, state)
# the budget (10) is counted in proposals, retries on top: 10 + 3 trials
assert db.execute("select count(*) from trials where study_id = ?", (sid,)).fetchone()[0] == 13
PY
# Nothing left to retry: a second --retry-failed re-queues none.
"$VAESEARCH" run "$T/failing.json" --db "$T/failing.db" --retry-failed "${RUN[@]}" > "$T/retry2.log"
grep -q "0 failed trials re-queued" "$T/retry2.log"

# ---- a raised budget continues the sweep ----
space grow 3 > "$T/grow.json"
"$VAESEARCH" run "$T/grow.json" --db "$T/grow.db" "${RUN[@]}" > "$T/grow1.log"
before=$(sql "$T/grow.db" "select number, param_name, param_value from trial_params join trials using (trial_id) order by number, param_name")
space grow 5 > "$T/grow.json"
"$VAESEARCH" run "$T/grow.json" --db "$T/grow.db" "${RUN[@]}" > "$T/grow2.log"
grep -q "resuming: 3 trials ended" "$T/grow2.log"
[ "$(sql "$T/grow.db" "select count(*) from trials where state = 'COMPLETE'")" = 5 ]
[ "$(sql "$T/grow.db" "select n_trials from vs_sweeps")" = 5 ]
after=$(sql "$T/grow.db" "select number, param_name, param_value from trial_params join trials using (trial_id) where number < 3 order by number, param_name")
[ "$before" = "$after" ] || { echo "growing the budget changed the first trials"; exit 1; }
# The same 5 trials as a sweep that had 5 from the start: the sampler's history went on.
space grow 5 > "$T/grow5.json"
"$VAESEARCH" run "$T/grow5.json" --db "$T/grow5.db" "${RUN[@]}" > /dev/null
q="select number, param_name, param_value from trial_params join trials using (trial_id) order by number, param_name"
[ "$(sql "$T/grow.db" "$q")" = "$(sql "$T/grow5.db" "$q")" ] || { echo "a grown sweep differs from one run whole"; exit 1; }
# Any other change is still refused.
sed 's/"epochs": 2/"epochs": 3/' "$T/grow.json" > "$T/grow-changed.json"
expect_status 2 "$T/changed.log" "$VAESEARCH" run "$T/grow-changed.json" --db "$T/grow.db" "${RUN[@]}"
grep -q "another search space" "$T/changed.log"

# ---- delete and rename, in place ----
cp "$T/grow.db" "$T/tidy.db"
"$VAESEARCH" run "$T/checked.json" --db "$T/tidy.db" "${RUN[@]}" > /dev/null   # a second sweep in the file
"$VAESEARCH" rename grow grown --db "$T/tidy.db" > "$T/rename.log"
grep -q "renamed sweep 'grow' to 'grown'" "$T/rename.log"
expect_status 1 "$T/rename2.log" "$VAESEARCH" rename grown checked --db "$T/tidy.db"   # the name is taken
expect_status 2 "$T/rename3.log" "$VAESEARCH" rename nope other --db "$T/tidy.db"
# the renamed sweep goes on under its new name, with its trials
sed 's/"name": "grow"/"name": "grown"/' "$T/grow.json" > "$T/grown.json"
"$VAESEARCH" run "$T/grown.json" --db "$T/tidy.db" "${RUN[@]}" > "$T/grown.log"
grep -q "resuming: 5 trials ended" "$T/grown.log"
"$VAESEARCH" delete grown --db "$T/tidy.db" > "$T/delete.log"
expect_status 2 "$T/delete2.log" "$VAESEARCH" delete grown --db "$T/tidy.db"
python3 - "$T/tidy.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert [r[0] for r in db.execute("select study_name from studies")] == ["checked"]
ids = [r[0] for r in db.execute("select trial_id from trials")]
for table in ("trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes", "vs_trial_runs",
              "vs_epochs"):
    left = db.execute(f"select count(*) from {table} where trial_id not in ({','.join(map(str, ids))})").fetchone()[0]
    assert left == 0, (table, left)
assert db.execute("select count(*) from vs_sweeps").fetchone()[0] == 1
PY
# Optuna reads what is left, if it is installed.
if python3 -c "import optuna" 2>/dev/null; then
  python3 -c "import optuna,sys; optuna.logging.set_verbosity(0); s = optuna.load_study(study_name='checked', storage='sqlite:///' + sys.argv[1]); assert len(s.trials) == 2" "$T/tidy.db"
fi

# ---- warm start: an earlier sweep's finished trials seed a new one ----
# The earlier sweep searched a wider lr range; trials whose lr is outside this space's
# range do not fit and are left out.
space earlier 6 > "$T/earlier.json"
"$VAESEARCH" run "$T/earlier.json" --db "$T/earlier.db" "${RUN[@]}" > /dev/null
python3 - "$T/earlier.db" "$T/warm.json" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
lrs = sorted(v for (v,) in db.execute("select param_value from trial_params where param_name = 'lr'"))
cut = (lrs[2] + lrs[3]) / 2   # 3 of the 6 fit
space = {"name": "warm", "dataset": {"synth": "small"}, "sampler": {"kind": "tpe", "seed": 3, "startup_trials": 2},
         "budget": {"trials": 2}, "fixed": {"epochs": 2},
         "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": cut},
                        "anneal_cap": {"type": "uniform", "low": 0, "high": 0.5, "step": 0.05},
                        "hidden_dims": {"type": "categorical", "choices": [[200], [100]]}},
         "warm_start": {"db": "earlier.db", "sweep": "earlier"}}
json.dump(space, open(sys.argv[2], "w"))
PY
FAKE_LOG="$T/warm-runs.txt" "$VAESEARCH" run "$T/warm.json" --db "$T/warm.db" "${RUN[@]}" > "$T/warm.log"
grep -q "warm start: 3 finished trials of .*earlier.db seed the sampler; 3 did not fit: 3 with a parameter this space cannot take$" "$T/warm.log" ||
  { cat "$T/warm.log"; exit 1; }
# status counts the seeds apart; show says where a seed came from.
"$VAESEARCH" status --db "$T/warm.db" | grep -q "^trials    2 of 2 done; 5 COMPLETE, .*; not run here: 3 warm-start seeds$" ||
  { "$VAESEARCH" status --db "$T/warm.db"; exit 1; }
"$VAESEARCH" show 0 --db "$T/warm.db" | grep -q "^seed      warm start from .*earlier.db:earlier#[0-9]* (trained by that sweep, not run here)$"
# A seed has no model here: recommend says so and names the best trial that has one.
set +e
"$VAESEARCH" recommend --db "$T/warm.db" --trial 0 1 2> "$T/seedrec.txt"; rc=$?
set -e
[ $rc = 2 ] && grep -q "trial 0 is a warm-start seed (from .*earlier.db:earlier#[0-9]*).* the best trial with a model is trial [34] " "$T/seedrec.txt" ||
  { echo "rc $rc"; cat "$T/seedrec.txt"; exit 1; }
python3 - "$T/earlier.db" "$T/warm.db" "$T/warm-runs.txt" <<'PY'
import sqlite3, sys, json
old, new = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
runs = [int(l.split()[0]) for l in open(sys.argv[3])]
seeds = new.execute("select t.number, t.state, v.value, a.value_json from trials t join trial_values v using (trial_id) "
                    "join trial_user_attributes a using (trial_id) where a.key = 'warm_start' order by t.number").fetchall()
assert [s[0] for s in seeds] == [0, 1, 2], seeds
assert sorted(runs) == [3, 4], ("only the 2 new trials ran", runs)   # the budget's 2, after the 3 seeds
for number, state, value, source in seeds:
    src = int(json.loads(source).rsplit("#", 1)[1])
    o = dict(old.execute("select p.param_name, p.param_value from trial_params p join trials t using (trial_id) where t.number = ?", (src,)))
    n = dict(new.execute("select p.param_name, p.param_value from trial_params p join trials t using (trial_id) where t.number = ?", (number,)))
    ov = old.execute("select v.value, t.state from trial_values v join trials t using (trial_id) where t.number = ?", (src,)).fetchone()
    assert (value, state) == ov, (number, value, state, ov)
    assert n["lr"] == o["lr"] and n["anneal_cap"] == o["anneal_cap"], (n, o)
    assert n["hidden_dims"] == 1 - o["hidden_dims"], ("choices are listed the other way round", n, o)
PY
# Resumed, the seeds are not recorded again.
"$VAESEARCH" run "$T/warm.json" --db "$T/warm.db" "${RUN[@]}" > "$T/warm2.log"
[ "$(sql "$T/warm.db" "select count(*) from trials")" = 5 ]
# An earlier sweep of another objective does not compare: refused, nothing recorded.
sed 's/"sweep": "earlier"}/"sweep": "earlier"}, "objective": {"metric": "recall@20"}/; s/"name": "warm"/"name": "warm2"/' \
  "$T/warm.json" > "$T/warm2.json"
expect_status 2 "$T/warm3.log" "$VAESEARCH" run "$T/warm2.json" --db "$T/warm.db" "${RUN[@]}"
grep -q "do not compare" "$T/warm3.log"
[ "$(sql "$T/warm.db" "select count(*) from studies")" = 1 ]

# Seeds must have been trained as this sweep's trials will be: a setting this sweep fixes
# (hidden_dims [100]) that a seed had otherwise, or another dataset, does not fit (each
# said with its count); warm_start.match "parameters" takes them all the same.
python3 - "$T/warm.json" "$T/fixed.json" "$T/otherdata.json" "$T/any.json" <<'PY'
import json, sys
space = json.load(open(sys.argv[1]))
space["parameters"]["lr"]["high"] = 0.01
del space["parameters"]["hidden_dims"]
space["fixed"]["hidden_dims"] = [100]
json.dump(dict(space, name="fixed"), open(sys.argv[2], "w"))
json.dump(dict(space, name="otherdata", dataset="other.vsds"), open(sys.argv[3], "w"))
json.dump(dict(space, name="any", dataset="other.vsds", warm_start=dict(space["warm_start"], match="parameters")),
          open(sys.argv[4], "w"))
PY
"$VAESEARCH" synth --preset small --seed 9 -o "$T/other.vsds" > /dev/null
with100=$(sql "$T/earlier.db" "select count(*) from trial_params where param_name = 'hidden_dims' and param_value = 0")
"$VAESEARCH" run "$T/fixed.json" --db "$T/fixed.db" "${RUN[@]}" > "$T/fixed.log"
grep -q "seed the sampler; $((6 - with100)) did not fit: $((6 - with100)) with other settings (hidden_dims: $((6 - with100)));" "$T/fixed.log" ||
  { echo "$with100 of 6 had [100]"; cat "$T/fixed.log"; exit 1; }
[ "$(sql "$T/fixed.db" "select count(*) from trial_user_attributes where key = 'warm_start'")" = "$with100" ]
"$VAESEARCH" run "$T/otherdata.json" --db "$T/otherdata.db" "${RUN[@]}" > "$T/otherdata.log"
grep -q "warm start: 0 finished trials of .*earlier.db seed the sampler; 6 did not fit: 6 trained on another dataset; warm_start.match \"parameters\" takes" "$T/otherdata.log" ||
  { cat "$T/otherdata.log"; exit 1; }
"$VAESEARCH" run "$T/any.json" --db "$T/any.db" "${RUN[@]}" > "$T/any.log"
grep -q "warm start: 6 finished trials of .*earlier.db seed the sampler; 0 did not fit$" "$T/any.log" || { cat "$T/any.log"; exit 1; }
# An earlier sweep of an older vaesearch recorded no dataset fingerprint: its dataset
# file (synth-small.vsds beside its database) is read to compare.
python3 -c "import sqlite3,sys; d = sqlite3.connect(sys.argv[1]); d.execute(\"delete from study_system_attributes where key = 'vaesearch:dataset'\"); d.commit()" "$T/earlier.db"
sed 's/"name": "fixed"/"name": "fixed2"/' "$T/fixed.json" > "$T/fixed2.json"
"$VAESEARCH" run "$T/fixed2.json" --db "$T/fixed2.db" "${RUN[@]}" > "$T/fixed2.log"
grep -q "seed the sampler; $((6 - with100)) did not fit: $((6 - with100)) with other settings" "$T/fixed2.log" || { cat "$T/fixed2.log"; exit 1; }

# ---- threads: passive waiting, slots x threads within the cores ----
cores=$(nproc)
space threads 2 > "$T/threads.json"
FAKE_ENV_LOG="$T/env.txt" "$VAESEARCH" run "$T/threads.json" --db "$T/threads.db" --jobs 2 "${RUN[@]}" > /dev/null
want=$(( cores / 2 > 0 ? cores / 2 : 1 ))
awk -v w="$want" '$2 != "passive" || $3 != w { print "trainer saw", $0, "expected passive", w; bad = 1 } END { exit bad }' "$T/env.txt"
# A policy the user set is kept.
space threads2 1 > "$T/threads2.json"
OMP_WAIT_POLICY=active FAKE_ENV_LOG="$T/env2.txt" "$VAESEARCH" run "$T/threads2.json" --db "$T/threads.db" "${RUN[@]}" > /dev/null
grep -q "^0 active " "$T/env2.txt"

echo "cli_run_grow: all checks passed"
