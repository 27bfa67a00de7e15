# cli_report: `vaesearch report`'s page against the database it was made from. A sweep
# of the stand-in trainer with COMPLETE, PRUNED and FAIL trials (minimized, so that later
# trials are worse and the median pruner stops them; then grown with odd trials failing)
# is reported, and the page is parsed (tests/report_check.py): it is self-contained (no
# script, nothing fetched), its text numbers are the database's as `vaesearch top` prints
# them (states, best trial, its metrics and parameters, top's table cell by cell, the
# popularity baseline as vaecf-train's start line reports it), and its charts have a mark
# per trial as report_plots.h says. Then the same sweep with a second objective written
# as Optuna writes one (a study_directions row, trial_values rows, study:metric_names):
# the Pareto front's marks against a front computed here. A conditional sweep
# (search_spaces/layers-conditional.json), whose trials lack the parameters their
# conditions leave out: slices, gaps in parallel coordinates, empty cells. Then the errors.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1
CHECK="$VS_SOURCE_DIR/tests/report_check.py"
fail() { echo "FAIL: $*"; exit 1; }

cat > "$T/space.json" <<'JSON'
{"name": "rep", "description": "a report <test> & \"quotes\"", "dataset": {"synth": "small"},
 "objective": {"metric": "ndcg@100", "direction": "minimize"},
 "sampler": {"kind": "random", "seed": 3}, "budget": {"trials": 8}, "resources": {"window": 1},
 "pruner": {"kind": "median", "startup_trials": 2, "warmup_epochs": 2},
 "fixed": {"epochs": 6, "eval_every": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01},
                "anneal_cap": {"type": "uniform", "low": 0.0, "high": 0.5, "step": 0.05},
                "total_anneal_steps": {"type": "int", "low": 1000, "high": 16000, "step": 1000},
                "hidden_dims": {"type": "categorical", "choices": [[100], [200], [200, 100]]},
                "keep_prob": {"type": "categorical", "choices": [0.5]}}}
JSON
RUN=(--trainer "$FAKE_TRAINER" --no-progress --jobs 1)
(cd "$T" && "$VAESEARCH" run space.json "${RUN[@]}") > "$T/run1.log"
sed -i 's/"trials": 8/"trials": 12/' "$T/space.json"
(cd "$T" && FAKE_MODE=fail-odd "$VAESEARCH" run space.json "${RUN[@]}") > "$T/run2.log"
"$VAESEARCH" status --db "$T/results.db"

# The popularity baseline as the trainer itself reports it on this dataset.
"$VAECF_TRAIN" --data "$T/synth-small.vsds" --threads 1 --set epochs=1 --out "$T/pop" > "$T/pop.jsonl"
grep '"event":"start"' "$T/pop.jsonl" > "$T/pop-start.json"

(cd "$T" && "$VAESEARCH" report -o report.html) > "$T/report.log"
cat "$T/report.log"
grep -q "^wrote report.html: 12 trials" "$T/report.log" || fail "report's message: $(cat "$T/report.log")"
"$VAESEARCH" top --db "$T/results.db" -n 10 > "$T/top.txt"
python3 "$CHECK" "$T/report.html" "$T/results.db" --top "$T/top.txt" --popularity "$T/pop-start.json"

# -n and -o -: the table's length, the page on stdout.
"$VAESEARCH" report --db "$T/results.db" -n 2 -o - > "$T/stdout.html"
"$VAESEARCH" top --db "$T/results.db" -n 2 > "$T/top2.txt"
python3 "$CHECK" "$T/stdout.html" "$T/results.db" --top "$T/top2.txt"

# ---- several objectives: a second one added as Optuna records it ----
cp "$T/results.db" "$T/two.db"
python3 - "$T/two.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
study = db.execute("select study_id from studies").fetchone()[0]
db.execute("insert into study_directions (direction, study_id, objective) values ('MAXIMIZE', ?, 1)", (study,))
db.execute("update study_system_attributes set value_json = '[\"val_ndcg@100\", \"speed\"]' "
           "where study_id = ? and key = 'study:metric_names'", (study,))
# A trade-off: the second objective (maximized) grows with the trial number, as the first
# (minimized) does, so trials 0 and 2 are on the front; trial 1 (numbered 5 below),
# worse than trial 0 in both, is not.
complete = db.execute("select trial_id, number from trials where state = 'COMPLETE'").fetchall()
assert [n for _, n in complete] == [0, 1, 2], complete
for trial_id, number in complete:
    value = {0: 10.0, 1: 5.0, 2: 12.0}[number]
    db.execute("insert into trial_values (trial_id, objective, value, value_type) values (?, 1, ?, 'FINITE')",
               (trial_id, value))
# Numbers that do not follow trial_ids (an edited file): trials 1 and 5 swap numbers.
db.execute("update trials set number = -1 where study_id = ? and number = 1", (study,))
db.execute("update trials set number = 1 where study_id = ? and number = 5", (study,))
db.execute("update trials set number = 5 where study_id = ? and number = -1", (study,))
db.commit()
PY
"$VAESEARCH" report --db "$T/two.db" -o "$T/two.html" > /dev/null
python3 "$CHECK" "$T/two.html" "$T/two.db" --expect-front

# ---- a conditional sweep: parameters that some trials do not have (absent) ----
# Slices have the trials that have the parameter, parallel coordinates a gap where a
# trial lacks one, top's table an empty cell (its columns those any shown trial has).
mkdir -p "$T/cond"
sed 's/"trials": 10/"trials": 14/' "$VS_SOURCE_DIR/search_spaces/layers-conditional.json" > "$T/cond/space.json"
(cd "$T/cond" && "$VAESEARCH" run space.json "${RUN[@]}" > run.log)
(cd "$T/cond" && "$VAESEARCH" report -o report.html > /dev/null)
"$VAESEARCH" top --db "$T/cond/results.db" -n 10 > "$T/cond/top.txt"
python3 "$CHECK" "$T/cond/report.html" "$T/cond/results.db" --top "$T/cond/top.txt"
python3 - "$T/cond/report.html" "$T/cond/top.txt" <<'PY'
import re, sys
page, top = open(sys.argv[1]).read(), open(sys.argv[2]).read().splitlines()
parallel = re.search(r'<svg id="parallel".*?</svg>', page, re.S).group(0)
gaps = [d for d in re.findall(r'<path class="ln[^"]*" d="([^"]*)"', parallel) if "m" in d]
assert gaps, "no trial among the best has a gap: the check of absent parameters did not run"
assert "hidden_dims[2]" in top[0] and re.search(r"\S  {3,}\S", "\n".join(top[1:])), top   # empty cells
print(f"conditional sweep: {len(gaps)} of the drawn trials with a gap")
PY

# ---- a sweep whose dataset is gone: the page says so, and is still written ----
mkdir -p "$T/moved" && cp "$T/results.db" "$T/moved/"
"$VAESEARCH" report --db "$T/moved/results.db" -o "$T/moved/report.html" > "$T/moved.log" 2> "$T/moved.err"
grep -q "no popularity baseline: .*synth-small.vsds" "$T/moved.err" || fail "no note of the missing dataset: $(cat "$T/moved.err")"
grep -q "No popularity baseline: " "$T/moved/report.html" || fail "the page does not say the baseline is missing"
python3 "$CHECK" "$T/moved/report.html" "$T/moved/results.db"
# ... unless --data names it
"$VAESEARCH" report --db "$T/moved/results.db" --data "$T/synth-small.vsds" -o "$T/moved/with.html" > /dev/null
python3 "$CHECK" "$T/moved/with.html" "$T/moved/results.db" --popularity "$T/pop-start.json" \
  --dataset "$T/synth-small.vsds"

# ---- a sweep whose every trial failed: no best trial, no charts of COMPLETE trials ----
mkdir -p "$T/fail"
sed -e 's/"name": "rep"/"name": "allfail"/' -e 's/"trials": 12/"trials": 3/' "$T/space.json" > "$T/fail/space.json"
(cd "$T/fail" && FAKE_MODE=fail-all "$VAESEARCH" run space.json "${RUN[@]}" > run.log 2>&1) || true
"$VAESEARCH" report --db "$T/fail/results.db" -o "$T/fail/report.html" > /dev/null
grep -q "No COMPLETE trial yet" "$T/fail/report.html" || fail "the all-failed sweep's page does not say so"
python3 "$CHECK" "$T/fail/report.html" "$T/fail/results.db"

# ---- errors ----
expect() {   # expect STATUS PATTERN COMMAND...: the exit status and a message on stderr
  local status=$1 pattern=$2
  shift 2
  set +e
  "$@" > "$T/out.txt" 2> "$T/err.txt"
  local got=$?
  set -e
  [ "$got" = "$status" ] || fail "$*: exit status $got, expected $status ($(cat "$T/err.txt"))"
  grep -q -- "$pattern" "$T/err.txt" || fail "$*: stderr lacks '$pattern': $(cat "$T/err.txt")"
}
expect 2 "vaesearch report: .*nothing.db" "$VAESEARCH" report --db "$T/nothing.db" -o "$T/x.html"
expect 2 "no sweep named 'nope'" "$VAESEARCH" report --db "$T/results.db" --sweep nope -o "$T/x.html"
expect 2 "unknown option '--bogus'" "$VAESEARCH" report --bogus
expect 2 "option '-o' needs a value" "$VAESEARCH" report --db "$T/results.db" -o
expect 2 "unexpected argument 'extra'" "$VAESEARCH" report --db "$T/results.db" extra
expect 2 "\-n: 0 is out of range" "$VAESEARCH" report --db "$T/results.db" -n 0
expect 1 "not a results database" "$VAESEARCH" report --db "$T/space.json" -o "$T/x.html"
expect 1 "\-\-data: .*missing.vsds" "$VAESEARCH" report --db "$T/results.db" --data "$T/missing.vsds" -o "$T/x.html"
expect 1 "no/such/dir/r.html: cannot create" "$VAESEARCH" report --db "$T/results.db" -o "$T/no/such/dir/r.html"
[ ! -e "$T/x.html" ] || fail "a failed report left $T/x.html"
"$VAESEARCH" report --help | grep -q "^usage: vaesearch report" || fail "report --help"
"$VAESEARCH" --help | grep -q "^  report " || fail "vaesearch --help does not list report"
echo "cli_report: ok"
