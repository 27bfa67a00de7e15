# cli_run_faults: how `vaesearch run` handles trainers that fail, crash or hang, and how
# it assigns GPU groups, with a stand-in trainer (tests/fake_trainer.c) so each case is
# quick and certain: a failure is recorded as FAIL with its reason and last output
# lines and the sweep goes on; max_retries re-queues the parameters; a timeout kills;
# groups of GPUs given to trials at the same time never overlap, as the trainer saw
# them in CUDA_VISIBLE_DEVICES; progress lines inside an epoch are shown, not recorded.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
export PYTHONDONTWRITEBYTECODE=1

space() {   # space NAME TRIALS RESOURCES-JSON > file
  cat <<JSON
{"name": "$1", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $2}, "resources": $3, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
}
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
RUN=(--trainer "$FAKE_TRAINER" --no-progress)

# Failures: odd trials report a diverged loss and exit 1; one retry each.
space fails 4 '{"max_retries": 1}' > "$T/fail.json"
FAKE_MODE=fail-odd "$VAESEARCH" run "$T/fail.json" --db "$T/fail.db" "${RUN[@]}" > "$T/fail.log"
sql "$T/fail.db" "select number, state from trials order by number" | tee "$T/fail.txt"
# 4 proposals; 1 and 3 fail, are retried as 4 and 5 (which are odd: 5 fails again, 4 does not)
[ "$(grep -c COMPLETE "$T/fail.txt")" -ge 2 ] && [ "$(grep -c FAIL "$T/fail.txt")" -ge 2 ]
reason=$(sql "$T/fail.db" "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = 1 and key = 'fail_reason'")
grep -q "diverged" <<< "$reason" || { echo "no reason recorded: $reason"; exit 1; }
tail=$(sql "$T/fail.db" "select output_tail from vs_trial_runs r join trials t using (trial_id) where t.number = 1")
grep -q "trial 1 goes wrong" <<< "$tail" || { echo "no output tail recorded: $tail"; exit 1; }
retried=$(sql "$T/fail.db" "select count(*) from trials t join trial_params p using (trial_id) where p.param_value = (select param_value from trial_params q join trials u using (trial_id) where u.number = 1)")
[ "$retried" = 2 ] || { echo "trial 1's parameters ran $retried times, expected 2 (one retry)"; exit 1; }
grep -q "retrying its parameters" "$T/fail.log"

# A resumed trainer repeats its earlier epochs marked "replayed": so are they in the log.
space replay 1 '{}' > "$T/replay.json"
FAKE_REPLAY=1 "$VAESEARCH" run "$T/replay.json" --db "$T/replay.db" "${RUN[@]}" > "$T/replay.log"
grep -q "^trial 0: epoch 1, ndcg@100 0.1000 (replayed" "$T/replay.log" || { cat "$T/replay.log"; echo "replayed epoch unmarked"; exit 1; }
grep -q "^trial 0: epoch 2, ndcg@100 0.1000$" "$T/replay.log" || { cat "$T/replay.log"; echo "a new epoch marked"; exit 1; }

# On a terminal, the live line names each running trial and its epoch, and the time left.
if script -qec true /dev/null >/dev/null 2>&1; then
  space live 3 '{}' > "$T/live.json"
  FAKE_MODE=sleep FAKE_SLEEP=2 script -qec "'$VAESEARCH' run '$T/live.json' --db '$T/live.db' --trainer '$FAKE_TRAINER'" \
    /dev/null > "$T/live.log"
  tr '\r' '\n' < "$T/live.log" | sed 's/\x1b\[K//g' > "$T/live.txt"
  # (times as h:mm:ss, any value: a loaded machine makes the seconds vary)
  grep -qE "^live: 0/3 done \(0 pruned, 0 failed\); trial 0, starting; [0-9]+:[0-9]{2}:[0-9]{2}" "$T/live.txt" ||
    { cat "$T/live.txt"; echo "live line"; exit 1; }
  grep -qE "^live: 1/3 done \(0 pruned, 0 failed\); trial 1, starting; best trial 0, ndcg@100 0\.1000; [0-9]+:[0-9]{2}:[0-9]{2}, about [0-9]+:[0-9]{2}:[0-9]{2} left" \
    "$T/live.txt" || { cat "$T/live.txt"; echo "live line after a trial"; exit 1; }
else
  echo "note: no 'script' command: the live line is not checked"
fi

# A crash (SIGSEGV) is a failure with the signal named; the sweep still ends.
space crash 3 '{}' > "$T/crash.json"
FAKE_MODE=crash-odd "$VAESEARCH" run "$T/crash.json" --db "$T/crash.db" "${RUN[@]}" > "$T/crash.log"
sql "$T/crash.db" "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = 1 and key = 'fail_reason'" | grep -q "signal 11"
[ "$(sql "$T/crash.db" "select count(*) from trials where state = 'COMPLETE'")" = 2 ]

# A trial that runs past --trial-timeout is killed and recorded as FAIL.
space slow 1 '{}' > "$T/slow.json"
start=$(date +%s)
# Its only trial failed, so the run exits 1 (a run whose trials all fail is no success).
status=0
FAKE_MODE=sleep FAKE_SLEEP=60 "$VAESEARCH" run "$T/slow.json" --db "$T/slow.db" --trial-timeout 1 "${RUN[@]}" > "$T/slow.log" 2> "$T/slow.err" || status=$?
[ "$status" = 1 ] || { echo "a run whose every trial failed exited $status, expected 1"; exit 1; }
grep -q "every trial of this run failed" "$T/slow.err"
[ $(( $(date +%s) - start )) -lt 30 ] || { echo "the timeout did not stop the trial"; exit 1; }
sql "$T/slow.db" "select state from trials" | grep -q FAIL
grep -q "timed out" "$T/slow.log"

# budget.max_seconds: the running trial is stopped (WAITING) and a later run takes it up.
cat > "$T/timed.json" <<JSON
{"name": "timed", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": 2, "max_seconds": 1}, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
FAKE_MODE=sleep FAKE_SLEEP=20 "$VAESEARCH" run "$T/timed.json" --db "$T/timed.db" "${RUN[@]}" > "$T/timed.log"
grep -q "max_seconds reached" "$T/timed.log"
[ "$(sql "$T/timed.db" "select state from trials where number = 0")" = WAITING ]
"$VAESEARCH" run "$T/timed.json" --db "$T/timed.db" "${RUN[@]}" > "$T/timed2.log"
[ "$(sql "$T/timed.db" "select count(*) from trials where state = 'COMPLETE'")" = 2 ]

# Ctrl-C twice: stop at once (exit 3), the trial (slow to stop) is left RUNNING; the next
# run re-queues it.
FAKE_MODE=sleep FAKE_SLEEP=20 FAKE_IGNORE_TERM=1 "$VAESEARCH" run "$T/slow.json" --db "$T/twice.db" "${RUN[@]}" > "$T/twice.log" &
pid=$!
for _ in $(seq 200); do grep -q "started" "$T/twice.log" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid; sleep 0.2; kill -INT $pid
set +e
wait $pid
rc=$?
set -e
[ $rc = 3 ] && grep -q "stopped at once" "$T/twice.log" || { echo "Ctrl-C twice: rc $rc"; cat "$T/twice.log"; exit 1; }
"$VAESEARCH" run "$T/slow.json" --db "$T/twice.db" "${RUN[@]}" > "$T/twice2.log"
grep -q "1 re-queued" "$T/twice2.log" && [ "$(sql "$T/twice.db" "select state from trials")" = COMPLETE ]

# GPU groups: 4 GPUs, 2 a trial -> two groups; every trial saw its own group.
space groups 6 '{"gpus_per_trial": 2, "trials_per_gpu": 1}' > "$T/groups.json"
FAKE_MODE=sleep FAKE_SLEEP=1 FAKE_LOG="$T/groups.txt" "$VAESEARCH" run "$T/groups.json" --db "$T/groups.db" \
  --gpus 0,1,2,3 --device cpu "${RUN[@]}" > "$T/groups.log"
# 2 GPUs a trial, 2 trials a GPU -> 4 slots over 2 GPUs.
space packed 8 '{"gpus_per_trial": 1, "trials_per_gpu": 2}' > "$T/packed.json"
FAKE_MODE=sleep FAKE_SLEEP=1 FAKE_LOG="$T/packed.txt" "$VAESEARCH" run "$T/packed.json" --db "$T/packed.db" \
  --gpus 5,7 --device cpu "${RUN[@]}" > "$T/packed.log"
python3 - "$T/groups.txt" "$T/groups.db" 2 '0,1 2,3' "$T/packed.txt" "$T/packed.db" 2 '5 7' <<'PY'
import sqlite3, sys, json
args = sys.argv[1:]
for log, dbpath, per_gpu, groups in (args[0:4], args[4:8]):
    groups = groups.split()
    runs = [l.split() for l in open(log)]
    runs = [(int(n), vis, float(a), float(b)) for n, vis, a, b in runs]
    assert runs and all(vis in groups for _, vis, _, _ in runs), runs
    # at any moment, a GPU serves at most `per_gpu` trials (per_gpu = 1 for whole groups)
    limit = 1 if "," in groups[0] else int(per_gpu)
    # at each trial's start, the trials running at that instant, per GPU
    for _, _, t, _ in runs:
        now = [r for r in runs if r[2] <= t < r[3]]
        for gpu in {g for r in now for g in r[1].split(",")}:
            users = [r for r in now if gpu in r[1].split(",")]
            assert len(users) <= limit, (gpu, users)
    # the database records what the scheduler assigned and what the trainer saw
    db = sqlite3.connect(dbpath)
    attrs = {}
    for n, key, val in db.execute("select t.number, a.key, a.value_json from trial_user_attributes a join trials t using (trial_id)"):
        attrs.setdefault(n, {})[key] = json.loads(val)
    for n, vis, _, _ in runs:
        assert attrs[n]["gpus"] == vis and attrs[n]["trainer_visible_devices"] == vis, (n, attrs[n], vis)
    concurrent = max(sum(1 for r in runs if r[2] <= t < r[3]) for _, _, t, _ in runs)
    print(f"{log}: {len(runs)} trials on groups {groups}, up to {concurrent} at once")
    assert concurrent >= 2, "the slots were not used at the same time"
PY

# Progress lines inside an epoch (docs/trainer.md): shown as the sweep goes, recorded
# nowhere, and kept out of a failed attempt's output tail.
space progress 2 '{}' > "$T/progress.json"
FAKE_PROGRESS=1 FAKE_MODE=crash-odd "$VAESEARCH" run "$T/progress.json" --db "$T/progress.db" "${RUN[@]}" > "$T/progress.log" || true
grep -q "^trial 0: epoch 2, 50% done (1234 users/s)$" "$T/progress.log" || { cat "$T/progress.log"; exit 1; }
[ "$(sql "$T/progress.db" "select count(*) from vs_epochs e join trials t using (trial_id) where t.number = 0")" = 2 ]
tail=$(sql "$T/progress.db" "select output_tail from vs_trial_runs r join trials t using (trial_id) where t.number = 1")
grep -q '"event":"epoch"' <<< "$tail" && ! grep -q progress <<< "$tail" || { echo "tail: $tail"; exit 1; }
echo "cli_run_faults: all checks passed"
