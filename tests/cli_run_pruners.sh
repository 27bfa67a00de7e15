# cli_run_pruners: `vaesearch run` with a pruner and "eval_every": 3, with the stand-in
# trainer (tests/fake_trainer.c validates as vaecf-train does: epochs 3, 6, 9 and the
# last, 10). The trial config keeps eval_every 3; only validated epochs are recorded as
# intermediate values; the median pruner judges at the first validated epoch past its
# warm-up (6, not 4) against the other trials' values at that epoch; ASHA judges its
# rung epochs 2, 4, 8 at the first validated epoch at or after each (3, 6, 9), on the
# trial's value at that epoch.
# The objective is minimized, so trial N (value 0.1 + 0.001 N epoch) is worse than every
# trial before it: the pruners stop each trial as soon as they judge it.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

space() {   # space NAME PRUNER-JSON > file
  cat <<JSON
{"name": "$1", "dataset": {"synth": "small"}, "objective": {"metric": "ndcg@100", "direction": "minimize"},
 "sampler": {"kind": "random", "seed": 3}, "budget": {"trials": 6}, "resources": {"window": 1},
 "pruner": $2, "fixed": {"epochs": 10, "eval_every": 3},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
}
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
RUN=(--trainer "$FAKE_TRAINER" --no-progress --jobs 1)
states() { sql "$1" "select number, state from trials order by number" | tr '\n' ' '; }
reasons() {   # number: reason, for the pruned trials
  sql "$1" "select t.number, r.reason from trials t join vs_trial_runs r using (trial_id)
            where t.state = 'PRUNED' order by t.number"
}

check_sweep() {   # check_sweep DB NAME: what both pruners must leave
  local db=$1 name=$2
  # The trial config is the user's: eval_every 3, not rewritten.
  for n in 0 1 2 3 4 5; do
    python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert c['eval_every'] == 3, c" \
      "$T/runs/$name/trial-$n/trial.json" || { echo "trial $n: eval_every was changed"; exit 1; }
  done
  # Intermediate values only at validated epochs: 3, 6, 9, 10 for a complete trial.
  steps=$(sql "$db" "select group_concat(step) from (select step from trial_intermediate_values v
                     join trials t using (trial_id) where t.number = 0 order by step)")
  [ "$steps" = "3,6,9,10" ] || { echo "trial 0's intermediate values are at epochs $steps, expected 3,6,9,10"; exit 1; }
}

# Median, 2 start-up trials, warm-up 4 epochs. Trial N is judged against trials < N - 1:
# trials 0-2 complete (fewer than 2 references); 3, 4 and 5 are worse than the median at
# epoch 6, the first validated epoch from 4.
space median '{"kind": "median", "startup_trials": 2, "warmup_epochs": 4}' > "$T/median.json"
(cd "$T" && "$VAESEARCH" run median.json --db median.db "${RUN[@]}") > "$T/median.log"
check_sweep "$T/median.db" median
got=$(states "$T/median.db")
echo "median: $got"
[ "$got" = "0 COMPLETE 1 COMPLETE 2 COMPLETE 3 PRUNED 4 PRUNED 5 PRUNED " ] || { echo "median: unexpected states"; exit 1; }
reasons "$T/median.db" | tee "$T/median-reasons.txt"
[ "$(grep -c "^[0-9] pruned after epoch 6 " "$T/median-reasons.txt")" = 3 ] || { echo "median: not pruned at epoch 6"; exit 1; }
# The median at epoch 6 of trials 0 and 1 (0.1 and 0.106 for ndcg@100): trial 3's best
# value (0.109, at epoch 3) is above it.
grep -q "^3 .*ndcg@100 0.1180" "$T/median-reasons.txt" || { echo "median: trial 3's reason lacks its epoch-6 value"; exit 1; }

# ASHA, rungs 2, 4, 8 (min_epochs 2, reduction_factor 2): trial 2 onwards has a
# reference, better than it, at rung 2, judged at epoch 3.
space asha '{"kind": "asha", "min_epochs": 2, "reduction_factor": 2}' > "$T/asha.json"
(cd "$T" && "$VAESEARCH" run asha.json --db asha.db "${RUN[@]}") > "$T/asha.log"
check_sweep "$T/asha.db" asha
got=$(states "$T/asha.db")
echo "asha: $got"
[ "$got" = "0 COMPLETE 1 COMPLETE 2 PRUNED 3 PRUNED 4 PRUNED 5 PRUNED " ] || { echo "asha: unexpected states"; exit 1; }
reasons "$T/asha.db" | tee "$T/asha-reasons.txt"
[ "$(grep -c "^[0-9] pruned after epoch 3 " "$T/asha-reasons.txt")" = 4 ] || { echo "asha: not pruned at epoch 3"; exit 1; }

# ASHA judges a trial's value at the epoch, not its best so far (Optuna's
# SuccessiveHalvingPruner takes the intermediate value at the step): maximizing, trial 1
# beats trial 0 at epoch 3 (0.103 > 0.1) but not at epoch 6 (0.089 < 0.09), where rung 4
# is judged; the median pruner would have kept it on its best value.
space fade '{"kind": "asha", "min_epochs": 2, "reduction_factor": 2}' |
  sed -e 's/"minimize"/"maximize"/' -e 's/"trials": 6/"trials": 2/' -e 's/"window": 1/"window": 0/' > "$T/fade.json"
(cd "$T" && FAKE_MODE=fade "$VAESEARCH" run fade.json --db fade.db "${RUN[@]}") > "$T/fade.log"
got=$(states "$T/fade.db")
echo "asha, fading trial: $got"
[ "$got" = "0 COMPLETE 1 PRUNED " ] || { echo "asha judged the best value, not the epoch's"; exit 1; }
reasons "$T/fade.db" | grep -q "^1 pruned after epoch 6 (ndcg@100 0.0890)" || { echo "asha: trial 1 not pruned at epoch 6"; exit 1; }

# A pruner that could never judge under the given eval_every is refused, naming it.
space never '{"kind": "median", "warmup_epochs": 5}' | sed 's/"eval_every": 3/"eval_every": 10/' > "$T/never.json"
set +e
out=$("$VAESEARCH" run "$T/never.json" --db "$T/never.db" "${RUN[@]}" 2>&1)
rc=$?
set -e
[ $rc = 2 ] && grep -q "fixed.eval_every: 10 validates no epoch" <<< "$out" || { echo "not refused: rc $rc: $out"; exit 1; }
echo "cli_run_pruners: all checks passed"
