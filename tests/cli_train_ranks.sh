# cli_train_ranks: vaecf-train's data parallelism on CPU ranks, end to end
# (docs/trainer.md, "Ranks"): ranks as processes started the way srun starts them
# (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the run folder shared) train exactly like
# the same ranks as threads, only rank 0 prints, and the meeting file is gone afterwards;
# a rank killed mid-run makes rank 0 fail within the timeout, naming it; a run of 2
# ranks stopped by SIGTERM resumes with 1; bad --ranks values are refused.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }
params() {   # the state's parameters, as hex, to compare runs bit for bit
  python3 -c "import sys; sys.path.insert(0, sys.argv[2]); import vaesearch_io as io
t = io.read_safetensors(sys.argv[1]); t = t[0] if isinstance(t, tuple) else t
print(t['params'].tobytes().hex())" "$1" "$VS_SOURCE_DIR/scripts"
}

"$VAESEARCH" synth --preset small -o "$T/small.vsds" > /dev/null
ARGS=(--data "$T/small.vsds" --threads 1 --set epochs=2 --set batch_size=200 --set hidden_dims=[64]
      --set latent_dim=16 --set lambda=0.01 --set eval_every=1)

# Two ranks as threads, then as two processes.
"$VAECF_TRAIN" "${ARGS[@]}" --ranks 2 --out "$T/threads" > "$T/threads.jsonl"
slurm_rank() {   # slurm_rank RANK SIZE OUT [args...]: run in a subshell (or &), which it becomes
  local rank=$1 size=$2 out=$3; shift 3
  exec env SLURM_PROCID=$rank SLURM_NTASKS=$size SLURM_LOCALID=$rank SLURM_JOB_ID="test$$" SLURM_STEP_ID=0 \
    "$VAECF_TRAIN" "${ARGS[@]}" --ranks slurm --out "$out" "$@"
}
slurm_rank 1 2 "$T/procs" > "$T/procs1.jsonl" 2> "$T/procs1.err" &
p1=$!
(slurm_rank 0 2 "$T/procs") > "$T/procs0.jsonl"
wait $p1
[ ! -s "$T/procs1.jsonl" ] || { echo "rank 1 printed on stdout:"; cat "$T/procs1.jsonl"; exit 1; }
done_p=$(grep '"event":"done"' "$T/procs0.jsonl")
[ "$(json "$done_p" "d['ranks']")" = 2 ] || { echo "done line: $done_p"; exit 1; }
grep -q '"ranks":2' <(grep '"event":"start"' "$T/procs0.jsonl")
[ "$(params "$T/threads/state.safetensors")" = "$(params "$T/procs/state.safetensors")" ] \
  || { echo "2 ranks as processes differ from 2 ranks as threads"; exit 1; }
metrics() { grep '"event":"done"' "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['best_epoch'], d['val'], d['test'])"; }
[ "$(metrics "$T/threads.jsonl")" = "$(metrics "$T/procs0.jsonl")" ] || { echo "metrics differ"; exit 1; }
! ls -a "$T/procs" | grep -q '^\.ranks-' || { echo "meeting file left behind"; ls -a "$T/procs"; exit 1; }

# A rank killed mid-run: rank 0 fails within its timeout, naming the missing rank.
slurm_rank 1 2 "$T/kill" --set epochs=200 --comm-timeout 3 > /dev/null 2>&1 &
p1=$!
slurm_rank 0 2 "$T/kill" --set epochs=200 --comm-timeout 3 > "$T/kill0.jsonl" 2> "$T/kill0.err" &
p0=$!
for _ in $(seq 600); do grep -q '"event":"epoch"' "$T/kill0.jsonl" 2>/dev/null && break; sleep 0.05; done
kill -9 $p1
start=$(date +%s)
set +e
wait $p0
rc=$?
set -e
took=$(( $(date +%s) - start ))
[ $rc = 1 ] || { echo "rank 0 exited $rc after rank 1 was killed"; exit 1; }
grep '"event":"error"' "$T/kill0.jsonl" | grep -q 'waiting for rank 1' \
  || { echo "rank 0's error does not name rank 1:"; cat "$T/kill0.jsonl" "$T/kill0.err"; exit 1; }
echo "rank 0 failed ${took} s after rank 1 was killed (timeout 3 s)"
[ "$took" -le 30 ] || { echo "rank 0 took ${took} s to fail"; exit 1; }

# Two ranks stopped by SIGTERM (state saved by rank 0), resumed with one rank.
"$VAECF_TRAIN" "${ARGS[@]}" --set epochs=6 --ranks 2 --out "$T/stop" > "$T/stop1.jsonl" &
pid=$!
for _ in $(seq 600); do grep -q '"epoch":2' "$T/stop1.jsonl" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc = 3 ] || { echo "expected exit 3 after SIGTERM, got $rc"; exit 1; }
"$VAECF_TRAIN" "${ARGS[@]}" --set epochs=6 --ranks 1 --out "$T/stop" --resume > "$T/stop2.jsonl"
done_s=$(grep '"event":"done"' "$T/stop2.jsonl")
[ "$(json "$done_s" "d['steps']")" = 60 ] && [ "$(json "$done_s" "d['ranks']")" = 1 ] \
  || { echo "resumed run: $done_s"; exit 1; }

# Bad values: exit 2 with the option named; srun's variables missing: the variable named.
set +e
out=$("$VAECF_TRAIN" "${ARGS[@]}" --ranks 0 --out "$T/bad" 2>/dev/null); rc=$?
set -e
[ $rc = 2 ] && grep -q -- '--ranks' <<< "$out" || { echo "--ranks 0: rc $rc: $out"; exit 1; }
set +e
out=$(env -u SLURM_PROCID "$VAECF_TRAIN" "${ARGS[@]}" --ranks slurm --out "$T/bad" 2>/dev/null); rc=$?
set -e
[ $rc = 1 ] && grep -q 'SLURM_PROCID is not set' <<< "$out" || { echo "--ranks slurm without srun: rc $rc: $out"; exit 1; }
echo "ok"
