# cli_run_hostile: `vaesearch run` against a broken or hostile trainer and planted
# links, with the stand-in trainer (tests/fake_trainer.c): a bad event line is that
# trial's failure and the sweep goes on (and a rerun has nothing to stop on); a
# non-finite or missing objective is a FAIL, printed as recorded; a full disk stops
# proposing and leaves its trials WAITING for the next run; a folder of the sweep's name
# that is another's is left alone; links planted where a trial's folder or trial.json go
# are refused, their targets untouched.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

space() {   # space NAME TRIALS > file
  cat <<JSON
{"name": "$1", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $2}, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
}
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
RUN=(--trainer "$FAKE_TRAINER" --no-progress)
reason_of() { sql "$1" "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = $2 and key = 'fail_reason'"; }

# A bad epoch line (negative, missing, huge, NaN-like): trial 1 fails with the reason,
# trials 0 and 2 complete, the run ends 0; a second run has nothing left to do.
i=0
for line in '{"event":"epoch","epoch":-1}' '{"event":"epoch","loss":1}' '{"event":"epoch","epoch":1e300}' \
            '{"event":"epoch","epoch":-1e999}'; do
  i=$((i + 1))
  space "bad$i" 3 > "$T/bad$i.json"
  FAKE_MODE=line-odd FAKE_LINE="$line" "$VAESEARCH" run "$T/bad$i.json" --db "$T/bad$i.db" "${RUN[@]}" > "$T/bad$i.log" 2>&1 ||
    { echo "a bad line ($line) ended the sweep:"; cat "$T/bad$i.log"; exit 1; }
  [ "$(sql "$T/bad$i.db" "select group_concat(state, ' ') from (select state from trials order by number)")" = "COMPLETE FAIL COMPLETE" ] ||
    { echo "bad line $line:"; sql "$T/bad$i.db" "select number, state from trials"; exit 1; }
  reason_of "$T/bad$i.db" 1 | grep -q "bad trainer output: epoch event without a valid 'epoch'" ||
    { echo "reason: $(reason_of "$T/bad$i.db" 1)"; exit 1; }
  "$VAESEARCH" run "$T/bad$i.json" --db "$T/bad$i.db" "${RUN[@]}" > "$T/bad$i-again.log" 2>&1 ||
    { echo "the rerun stopped:"; cat "$T/bad$i-again.log"; exit 1; }
done

# A non-finite objective is a FAIL (not ranked first), and the console says FAIL.
space inf 3 > "$T/inf.json"
FAKE_MODE=line-odd FAKE_LINE='{"event":"done","best_epoch":2,"val":{"ndcg@100":1e999}}' \
  "$VAESEARCH" run "$T/inf.json" --db "$T/inf.db" "${RUN[@]}" > "$T/inf.log"
[ "$(sql "$T/inf.db" "select state from trials where number = 1")" = FAIL ]
reason_of "$T/inf.db" 1 | grep -q "not finite"
grep -q "trial 1: FAIL: the done line's val.ndcg@100 is not finite (inf)" "$T/inf.log" || { cat "$T/inf.log"; exit 1; }
! grep -q "trial 1: COMPLETE" "$T/inf.log"
"$VAESEARCH" top --db "$T/inf.db" -n 1 --format csv > "$T/inf-top.csv"
! grep -qi "inf" "$T/inf-top.csv" || { echo "top ranks the infinite trial:"; cat "$T/inf-top.csv"; exit 1; }

# A done line without the metric: recorded FAIL, and printed so.
space nometric 3 > "$T/nometric.json"
FAKE_MODE=line-odd FAKE_LINE='{"event":"done","val":{}}' \
  "$VAESEARCH" run "$T/nometric.json" --db "$T/nometric.db" "${RUN[@]}" > "$T/nometric.log"
[ "$(sql "$T/nometric.db" "select state from trials where number = 1")" = FAIL ]
grep -q "trial 1: FAIL: the done line has no val.ndcg@100" "$T/nometric.log" || { cat "$T/nometric.log"; exit 1; }
! grep -q "nan" "$T/nometric.log"

# A full disk: trial 1's trainer cannot write. No more trials start, trial 1 waits
# (not a FAIL, not counted), the run says why and ends 1; the next run finishes the budget.
space full 4 > "$T/full.json"
set +e
FAKE_MODE=nospace-odd "$VAESEARCH" run "$T/full.json" --db "$T/full.db" "${RUN[@]}" > "$T/full.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || { echo "disk full: rc $rc"; cat "$T/full.log"; exit 1; }
grep -q "the disk is full" "$T/full.log" && grep -q "free some space" "$T/full.log" || { cat "$T/full.log"; exit 1; }
[ "$(sql "$T/full.db" "select group_concat(state, ' ') from (select state from trials order by number)")" = "COMPLETE WAITING" ] ||
  { sql "$T/full.db" "select number, state from trials"; exit 1; }
[ "$(sql "$T/full.db" "select outcome from vs_trial_runs r join trials t using (trial_id) where t.number = 1")" = WAITING ]
"$VAESEARCH" run "$T/full.json" --db "$T/full.db" "${RUN[@]}" > "$T/full2.log"
[ "$(sql "$T/full.db" "select count(*) from trials where state = 'COMPLETE'")" = 4 ]
[ "$(sql "$T/full.db" "select count(*) from trials")" = 4 ]

# A folder of the sweep's name that is not the sweep's own (no sweep.json names it) is
# left as it is, planted link and all: the sweep takes runs/planted-2.
space planted 1 > "$T/planted.json"
mkdir -p "$T/runs/planted/trial-0"
echo "precious" > "$T/victim"
ln -s "$T/victim" "$T/runs/planted/trial-0/trial.json"
"$VAESEARCH" run "$T/planted.json" --db "$T/planted.db" "${RUN[@]}" > "$T/planted.log" 2>&1 || { cat "$T/planted.log"; exit 1; }
grep -q "run folder: runs/planted-2$" "$T/planted.log" || { cat "$T/planted.log"; exit 1; }
[ "$(cat "$T/victim")" = precious ] && [ -L "$T/runs/planted/trial-0/trial.json" ]
# Links planted in the sweep's own folder, where its next trial's files go, even with an
# owner.json that names that trial: refused with the path named; targets untouched.
uid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sweep_id"])' "$T/runs/planted-2/sweep.json")
space planted 2 > "$T/planted.json"
mkdir -p "$T/runs/planted-2/trial-1"
echo "{\"sweep_id\": \"$uid\", \"trial\": 1}" > "$T/runs/planted-2/trial-1/owner.json"
ln -s "$T/victim" "$T/runs/planted-2/trial-1/trial.json"
set +e
"$VAESEARCH" run "$T/planted.json" --db "$T/planted.db" "${RUN[@]}" > "$T/planted.log" 2>&1
rc=$?
set -e
[ $rc != 0 ] && grep -q "trial-1/trial.json: is a symbolic link" "$T/planted.log" || { echo "rc $rc"; cat "$T/planted.log"; exit 1; }
[ "$(cat "$T/victim")" = precious ]
rm -rf "$T/runs/planted-2/trial-1"
mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$T/runs/planted-2/trial-1"
set +e
"$VAESEARCH" run "$T/planted.json" --db "$T/planted.db" "${RUN[@]}" > "$T/planted2.log" 2>&1
rc=$?
set -e
[ $rc != 0 ] && grep -q "trial-1: not a folder" "$T/planted2.log" || { echo "rc $rc"; cat "$T/planted2.log"; exit 1; }
[ -z "$(ls -A "$T/elsewhere")" ]
echo "cli_run_hostile: all checks passed"
