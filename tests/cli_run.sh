# cli_run: `vaesearch run` end to end with the real trainer on the small synthetic set.
# An uninterrupted sweep is the reference; a sweep killed with SIGKILL in the middle and
# run again, and one stopped with Ctrl-C (SIGINT) and run again, must end with every
# trial done exactly once and the very same trials, states and values. A second `run`
# on a live sweep and a changed space are refused.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

# The demo space, 10 trials, two at once, an explicit window so proposals do not
# depend on the slot count.
python3 - "$VS_SOURCE_DIR/search_spaces/demo-cpu.json" "$T/space.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["name"] = "cli-run"
s["budget"] = {"trials": 10}
s["resources"] = {"window": 2}
s["fixed"]["epochs"] = 6
s["fixed"]["checkpoint_every"] = 1
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
# The generated dataset is made once, shared by every run below.
RUN=(--jobs 2 --threads 1 --no-progress)

snapshot() {   # number state value params, one line a trial, from results.db
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("""select t.number, t.state, v.value,
                     (select group_concat(param_name || '=' || param_value, ' ') from
                        (select * from trial_params p where p.trial_id = t.trial_id order by param_name))
                     from trials t left join trial_values v on v.trial_id = t.trial_id order by t.number""")
for r in rows:
    print(*r)
PY
}
ended() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from trials where state in ('COMPLETE','PRUNED','FAIL')\").fetchone()[0])" "$1" 2>/dev/null || echo 0; }

mkdir -p "$T/a" && cp "$T/space.json" "$T/a/"
"$VAESEARCH" run "$T/a/space.json" --db "$T/a/results.db" "${RUN[@]}" > "$T/a.log"
snapshot "$T/a/results.db" > "$T/a.txt"
cat "$T/a.txt"
[ "$(wc -l < "$T/a.txt")" = 10 ] || { echo "expected 10 trials"; exit 1; }
! grep -qE " (RUNNING|WAITING|FAIL) " "$T/a.txt" || { echo "unfinished or failed trials"; exit 1; }
grep -q " PRUNED " "$T/a.txt" || echo "note: no trial was pruned"

# SIGKILL in the middle, then resume.
mkdir -p "$T/k" && cp "$T/space.json" "$T/k/" && cp "$T/a/synth-small.vsds" "$T/k/"
"$VAESEARCH" run "$T/k/space.json" --db "$T/k/results.db" "${RUN[@]}" > "$T/k1.log" 2>&1 &
pid=$!
for _ in $(seq 400); do [ "$(ended "$T/k/results.db")" -ge 3 ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null || true
before=$(ended "$T/k/results.db")
echo "killed with $before trials ended"
[ "$before" -lt 10 ] || { echo "the sweep ended before it could be killed"; exit 1; }
ended_before=$(python3 -c "import sqlite3,sys; print(' '.join(str(n) for (n,) in sqlite3.connect(sys.argv[1]).execute(\"select number from trials where state in ('COMPLETE','PRUNED','FAIL')\")))" "$T/k/results.db")
"$VAESEARCH" run "$T/k/space.json" --db "$T/k/results.db" "${RUN[@]}" > "$T/k2.log"
grep -q "resuming" "$T/k2.log"
snapshot "$T/k/results.db" > "$T/k.txt"
diff "$T/a.txt" "$T/k.txt" || { echo "the resumed sweep differs from the uninterrupted one"; exit 1; }
# Nothing that had ended before the kill ran again.
python3 - "$T/k/results.db" $ended_before <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = dict(db.execute("select t.number, count(*) from vs_trial_runs r join trials t using (trial_id) group by t.number"))
print("attempts per trial:", runs)
assert sorted(runs) == list(range(10)), runs
for n in map(int, sys.argv[2:]):
    assert runs[n] == 1, f"trial {n} had ended before the kill but ran again"
PY

# Ctrl-C once: running trials save their state (WAITING), exit status 3; then resume.
mkdir -p "$T/c" && cp "$T/space.json" "$T/c/" && cp "$T/a/synth-small.vsds" "$T/c/"
"$VAESEARCH" run "$T/c/space.json" --db "$T/c/results.db" "${RUN[@]}" > "$T/c1.log" 2>&1 &
pid=$!
for _ in $(seq 400); do [ "$(ended "$T/c/results.db")" -ge 2 ] && break; sleep 0.05; done
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
cat "$T/c1.log" | tail -5
if [ "$(ended "$T/c/results.db")" -lt 10 ]; then
  [ $rc = 3 ] || { echo "expected exit 3 after Ctrl-C, got $rc"; exit 1; }
  grep -q "stopping" "$T/c1.log"
fi
"$VAESEARCH" run "$T/c/space.json" --db "$T/c/results.db" "${RUN[@]}" > "$T/c2.log"
snapshot "$T/c/results.db" > "$T/c.txt"
diff "$T/a.txt" "$T/c.txt" || { echo "the sweep resumed after Ctrl-C differs"; exit 1; }

# A second `run` on a sweep that a live process is running is refused.
mkdir -p "$T/l" && cp "$T/space.json" "$T/l/" && cp "$T/a/synth-small.vsds" "$T/l/"
"$VAESEARCH" run "$T/l/space.json" --db "$T/l/results.db" "${RUN[@]}" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$T/l/results.db" ] && [ "$(ended "$T/l/results.db")" -ge 1 ] && break; sleep 0.05; done
set +e
out=$("$VAESEARCH" run "$T/l/space.json" --db "$T/l/results.db" "${RUN[@]}" 2>&1)
rc=$?
set -e
kill -9 $pid; wait $pid 2>/dev/null || true
[ $rc = 2 ] && grep -q "$pid" <<< "$out" || { echo "a second run was not refused: rc $rc: $out"; exit 1; }

# A changed space under the same name is refused, saying what changed (a changed budget
# alone is not: tests/cli_run_grow.sh).
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['parameters']['lr']['high']=0.05; json.dump(s, open(sys.argv[1],'w'))" "$T/a/space.json"
set +e
out=$("$VAESEARCH" run "$T/a/space.json" --db "$T/a/results.db" "${RUN[@]}" 2>&1)
rc=$?
set -e
[ $rc = 2 ] && grep -q "parameters.lr.high: 0.03 -> 0.05" <<< "$out" || { echo "a changed space was not refused: rc $rc: $out"; exit 1; }
# A bad space: one line naming the JSON path, exit 2, nothing run.
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); s['parameters']['lr']['low']=0; json.dump(s, open(sys.argv[2],'w'))" "$T/space.json" "$T/bad.json"
set +e
out=$("$VAESEARCH" run "$T/bad.json" --db "$T/bad.db" "${RUN[@]}" 2>&1)
rc=$?
set -e
[ $rc = 2 ] && [ "$(wc -l <<< "$out")" = 1 ] && grep -q "parameters.lr.low" <<< "$out" || { echo "bad space: rc $rc: $out"; exit 1; }
[ ! -e "$T/bad.db" ] || [ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from trials').fetchone()[0])" "$T/bad.db")" = 0 ]

# `vaesearch top` ranks the sweep; Optuna's own reader sees the same trials and best trial.
"$VAESEARCH" top --db "$T/k/results.db" -n 3
"$VAESEARCH" top --db "$T/k/results.db" -n 1 --format json > "$T/top.json"
if python3 -c "import optuna" 2>/dev/null; then
  python3 - "$T/k/results.db" "$T/top.json" <<'PY'
import json, sys, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="cli-run", storage=f"sqlite:///{sys.argv[1]}")
top = json.load(open(sys.argv[2]))
trials = study.trials
assert [t.number for t in trials] == list(range(10)), [t.number for t in trials]
assert study.best_trial.number == top[0]["number"], (study.best_trial.number, top[0])
assert abs(study.best_value - top[0]["value"]) < 1e-12
states = {t.state.name for t in trials}
assert states <= {"COMPLETE", "PRUNED"}, states
assert all(len(t.intermediate_values) >= 1 for t in trials)
print("optuna reads the sweep: best trial", study.best_trial.number, study.best_trial.params)
PY
else
  echo "optuna not importable: the Optuna check is skipped"
fi
echo "cli_run: all checks passed"
