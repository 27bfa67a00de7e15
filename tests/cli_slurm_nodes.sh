# cli_slurm_nodes: `vaesearch run --launcher slurm` across two nodes of a real Slurm
# (tests/slurm/start-slurm.sh with VS_SLURM_NODES=2: two slurmd on this machine, 4 CPUs
# and 2 fake GPUs each; the nodes share this machine's file system, as a cluster's
# share the run folder):
# 1. a sweep in a 2-node `salloc --gres=gpu:2` allocation: its GPUs found through
#    `scontrol show job`, trials on both nodes (the node recorded per trial), the GPU
#    sets of trials that ran at once on a node disjoint, never more trials than slots;
# 2. trials that span both nodes, their ranks one `srun -N2` step: 4 GPUs a trial (a
#    rank a GPU, each seeing its node's), and the real trainer on the CPU communicator
#    (--nodes-per-trial 2), equal to the same 2 ranks in one process; a rank killed
#    fails its trial, with the reason;
# 3. the script of `slurm-script --nodes 2`, submitted: its time limit stops the trials
#    (they save their state), and the same script submitted again resumes them on both
#    nodes and ends the sweep.
# Skipped, with the reason, where Slurm cannot run.
set -euo pipefail
T="$VS_TEST_TMP"
. "$VS_SOURCE_DIR/tests/slurm/lib.sh"
bash "$VS_SOURCE_DIR/tests/slurm/stop-slurm.sh" "$T/cluster" || true
rm -rf "$T" && mkdir -p "$T"
export VS_SLURM_NODES=2 VS_SLURM_CPUS=4 VS_SLURM_GPUS=2
slurm_up "$T/cluster"
cd "$T"

sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
attr() {   # attr DB NUMBER KEY: a trial's user attribute (JSON text)
  sql "$1" "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = $2 and key = '$3'"
}
space() {   # space NAME TRIALS RESOURCES-JSON EPOCHS > file
  cat <<JSON
{"name": "$1", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $2}, "resources": $3, "fixed": {"epochs": ${4:-2}},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
}
RUN=(--trainer "$FAKE_TRAINER" --no-progress --launcher slurm)
N1="$(hostname -s)-1" N2="$(hostname -s)-2"

# 1. 8 trials of a GPU each in `salloc -N2 --gres=gpu:2`: 4 slots, 2 a node.
space spread 8 '{"gpus_per_trial": 1}' > spread.json
FAKE_MODE=sleep FAKE_SLEEP=3 FAKE_LOG="$T/spread.log" salloc -N2 --gres=gpu:2 -c 4 -- \
  "$VAESEARCH" run spread.json --db spread.db "${RUN[@]}" > spread.out 2>&1 || { cat spread.out; exit 1; }
grep -q "4 GPU slots" spread.out &&
  grep -q "2 nodes, 2 GPUs a node (from \`scontrol show job\`, GRES of each node), 4 CPUs a node; each trial a step of 1 node, 1 GPU and 2 CPUs" spread.out ||
  { cat spread.out; echo "expected 4 GPU slots, 2 GPUs a node from scontrol"; exit 1; }
[ "$(sql spread.db "select count(*) from trials where state = 'COMPLETE'")" = 8 ] || { cat spread.out; exit 1; }
sql spread.db "select t.number, a.value_json from trials t join trial_user_attributes a using (trial_id)
               where a.key = 'slurm_node'" > spread.nodes
python3 - spread.log spread.nodes "$N1" "$N2" <<'PY'
import json, sys
log, nodes_file, n1, n2 = sys.argv[1:5]
node = {int(n): json.loads(v) for n, v in (l.split(None, 1) for l in open(nodes_file))}
runs = []
for line in open(log):
    n, gpus, start, end = line.split()
    runs.append((int(n), node[int(n)], gpus, float(start), float(end)))
assert len(runs) == 8, runs
assert {r[1] for r in runs} == {n1, n2}, f"trials ran on {sorted({r[1] for r in runs})}, not on both nodes"
most = 0
for n, nd, gpus, s, e in runs:
    assert gpus in ("0", "1"), f"trial {n} saw GPUs {gpus}"
    along = [r for r in runs if r[3] < e and s < r[4]]   # running while n ran (n too)
    most = max(most, len(along))
    for m, other_node, other, _, _ in along:
        if m != n and other_node == nd:
            assert gpus != other, f"trials {n} and {m} shared GPU {gpus} on {nd}"
assert most <= 4, f"{most} trials ran at once; the allocation has 4 slots"
print(f"8 trials on {n1} and {n2}, at most {most} at once, GPUs disjoint on each node")
PY

# 2a. 4 GPUs a trial, 2 a node: a step of 2 nodes, a rank a GPU (2 a node), each rank
#     seeing its node's 2 GPUs; one trial at a time.
space wide 2 '{"gpus_per_trial": 4}' > wide.json
FAKE_RANK_LOG="$T/wide.ranks" salloc -N2 --gpus-per-node=2 -c 4 -- \
  "$VAESEARCH" run wide.json --db wide.db "${RUN[@]}" > wide.out 2>&1 || { cat wide.out; exit 1; }
grep -q "1 GPU slot," wide.out && grep -q "each trial a step of 2 nodes, 2 ranks a node, each with 1 GPU and 2 CPUs" wide.out ||
  { cat wide.out; echo "expected one slot of 2 nodes"; exit 1; }
[ "$(sql wide.db "select count(*) from trials where state = 'COMPLETE'")" = 2 ] || { cat wide.out; exit 1; }
for n in 0 1; do
  [ "$(grep -c "^$n " wide.ranks)" = 4 ] || { cat wide.ranks; echo "trial $n: expected 4 ranks"; exit 1; }
  [ "$(grep "^$n " wide.ranks | awk '{print $2}' | sort | tr '\n' ' ')" = "0 1 2 3 " ] || { cat wide.ranks; exit 1; }
  [ "$(grep "^$n " wide.ranks | awk '{print $3, $4}' | sort | uniq -c | awk '{print $1, $2, $3}' | tr '\n' ' ')" = \
    "2 $N1 0,1 2 $N2 0,1 " ] || { cat wide.ranks; echo "trial $n: expected 2 ranks a node, each seeing 0,1"; exit 1; }
  [ "$(attr wide.db $n slurm_node)" = "\"$(hostname -s)-[1-2]\"" ] || { attr wide.db $n slurm_node; exit 1; }
done

# 2b. The real trainer, a trial over both nodes on CPUs (--nodes-per-trial 2): 2 ranks
#     meeting over TCP through the run folder, equal to 2 ranks in one process.
space ranks 1 '{}' 3 > ranks.json
salloc -N2 -c 4 -- "$VAESEARCH" run ranks.json --db ranks.db --trainer "$VAECF_TRAIN" --device cpu \
  --nodes-per-trial 2 --no-progress --launcher slurm > ranks.out 2>&1 || { cat ranks.out; exit 1; }
grep -q "each trial a step of 2 nodes, 1 rank a node, each with 0 GPUs and 4 CPUs" ranks.out || { cat ranks.out; exit 1; }
[ "$(sql ranks.db "select state from trials")" = COMPLETE ] || { cat ranks.out; exit 1; }
[ "$(attr ranks.db 0 slurm_node)" = "\"$(hostname -s)-[1-2]\"" ]
! ls -a runs/ranks/trial-0 | grep -q '^\.ranks-' || { echo "meeting file left behind"; exit 1; }
# (the trial's ranks had 4 threads each; ranks in one process share --threads)
"$VAECF_TRAIN" --data synth-small.vsds --config runs/ranks/trial-0/trial.json --threads 8 --ranks 2 --out one-process \
  > one-process.jsonl
cmp runs/ranks/trial-0/best.safetensors one-process/best.safetensors ||
  { echo "the 2-node trial's model differs from 2 ranks in one process"; exit 1; }
python3 - ranks.db one-process.jsonl <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
value = db.execute("select value from trial_values").fetchone()[0]
done = [json.loads(l) for l in open(sys.argv[2]) if '"event":"done"' in l][0]
assert done["ranks"] == 2 and value == done["val"]["ndcg@100"], (value, done["val"])
print(f"2 ranks on 2 nodes = 2 ranks in one process: ndcg@100 {value}")
PY

# 2c. A rank killed mid-run fails its trial at once (srun ends the step: --kill-on-bad-exit), saying why.
space kill 1 '{}' 500 > kill.json
salloc -N2 -c 4 -- "$VAESEARCH" run kill.json --db kill.db --trainer "$VAECF_TRAIN" --device cpu \
  --nodes-per-trial 2 --no-progress --launcher slurm --max-consecutive-failures 0 > kill.out 2>&1 &
sweep=$!
rank1=
for _ in $(seq 1 600); do
  if [ "$(sql kill.db "select count(*) from vs_epochs" 2>/dev/null || echo 0)" -ge 1 ]; then
    for p in $(pgrep -x vaecf-train || true); do
      tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_PROCID=1" &&
        tr '\0' ' ' < "/proc/$p/cmdline" | grep -q "runs/kill/trial-0" && rank1=$p
    done
    [ -n "$rank1" ] && break
  fi
  sleep 0.1
done
[ -n "$rank1" ] || { kill $sweep; cat kill.out; echo "rank 1 of the trial never ran"; exit 1; }
kill -9 "$rank1"
rc=0
wait $sweep || rc=$?
cat kill.out
[ "$(sql kill.db "select state from trials")" = FAIL ] || { echo "expected the trial to FAIL (run exit $rc)"; exit 1; }
reason=$(attr kill.db 0 fail_reason)
echo "fail_reason: $reason"
grep -qE "rank 1|task 1" <<< "$reason" || { echo "the reason does not name the killed rank"; exit 1; }
[ "$(sql kill.db "select count(*) from vs_epochs")" -lt 500 ]

# 3. `slurm-script --nodes 2`, submitted: the time limit stops the 4 trials (2 a node),
#    which save their state; submitted again, it resumes them and ends the sweep.
space late 4 '{"gpus_per_trial": 1}' 200 > late.json
"$VAESEARCH" slurm-script late.json --nodes 2 --gpus-per-node 2 --cpus-per-node 4 --time 2 --signal-before 60 \
  --db late.db --trainer "$FAKE_TRAINER" -o late.sh > /dev/null
grep -q "^#SBATCH --nodes=2$" late.sh
job=$(FAKE_EPOCH_SLEEP=1 sbatch --parsable late.sh)
slurm_wait_job "$job" 150 || { echo "job $job still there after 150 s"; exit 1; }
out="slurm-vs-late-$job.out"
cat "$out"
grep -q "4 GPU slots" "$out" && grep -q "SIGTERM: stopping; the running trials save their state" "$out"
[ "$(sql late.db "select count(*) from trials where state = 'WAITING'")" = 4 ] || { echo "expected 4 WAITING trials"; exit 1; }
[ "$(sql late.db "select count(distinct value_json) from trial_user_attributes where key = 'slurm_node'")" = 2 ] ||
  { echo "the trials did not run on both nodes"; exit 1; }
job2=$(FAKE_EPOCH_SLEEP=0.01 sbatch --parsable late.sh)
slurm_wait_job "$job2" 120 || { echo "job $job2 still there after 120 s"; exit 1; }
cat "slurm-vs-late-$job2.out"
grep -q "resuming: 0 trials ended" "slurm-vs-late-$job2.out"
[ "$(sql late.db "select count(*) from trials where state = 'COMPLETE'")" = 4 ]
for n in 0 1 2 3; do
  grep -q "trial $n resumes after epoch $(cat "runs/late/trial-$n/fake-state")" "runs/late/trial-$n/stderr.log"
  [ "$(sql late.db "select count(*) from vs_epochs e join trials t using (trial_id) where t.number = $n")" = 200 ]
done
echo "cli_slurm_nodes: ok"
