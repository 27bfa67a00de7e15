# cli_slurm: `vaesearch run --launcher slurm` against a real single-node Slurm
# (tests/slurm/start-slurm.sh: 8 CPUs, 4 fake GPUs) with the stand-in trainer
# (tests/fake_trainer.c): a sweep of 6 trials with gpus_per_trial 2 (never more than 2
# at once, the GPU sets the trainers saw disjoint, each trial's job and step recorded),
# in an allocation of --gpus-per-node=4 and in one of --gres=gpu:4 (whose GPUs only
# `scontrol show job` names);
# `vaesearch status` showing a running trial's job and step; a step killed with scancel
# (FAIL with Slurm's word on it, retried); the script `vaesearch slurm-script` writes,
# submitted with sbatch and run to the end; a tiny real training through srun, with
# --device cpu seeing no GPU; and a script without --gpus-per-node on a
# node whose GPUs Slurm hands the job: its trials on CPUs, seeing no GPU.
# Skipped, with the reason, where Slurm cannot run. The allocation's time running out
# is cli_slurm_timelimit.sh.
set -euo pipefail
T="$VS_TEST_TMP"
. "$VS_SOURCE_DIR/tests/slurm/lib.sh"
bash "$VS_SOURCE_DIR/tests/slurm/stop-slurm.sh" "$T/cluster" || true
rm -rf "$T" && mkdir -p "$T"
slurm_up "$T/cluster"
cd "$T"

sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
attr() {   # attr DB NUMBER KEY: a trial's user attribute (JSON text)
  sql "$1" "select value_json from trial_user_attributes a join trials t using (trial_id) where t.number = $2 and key = '$3'"
}
space() {   # space NAME TRIALS RESOURCES-JSON > file
  cat <<JSON
{"name": "$1", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": $2}, "resources": $3, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
}
RUN=(--trainer "$FAKE_TRAINER" --no-progress --launcher slurm)
NODE=$(hostname -s)

# Outside an allocation, --launcher slurm is refused before anything is recorded.
space outside 1 '{}' > outside.json
rc=0
env -u SLURM_JOB_ID "$VAESEARCH" run outside.json --db outside.db "${RUN[@]}" 2> outside.err || rc=$?
[ $rc = 2 ] && grep -q "SLURM_JOB_ID is not set" outside.err || { cat outside.err; echo "expected a refusal (exit 2), got $rc"; exit 1; }

# 1. Six trials, 2 GPUs each, in an allocation of 4 GPUs: 2 steps at once, GPUs disjoint.
space gpus 6 '{"gpus_per_trial": 2}' > gpus.json
FAKE_MODE=sleep FAKE_SLEEP=2 FAKE_LOG="$T/gpus.log" \
  salloc -N1 --gpus-per-node=4 -c 8 -- "$VAESEARCH" run gpus.json --db gpus.db "${RUN[@]}" > gpus.out 2>&1 ||
  { cat gpus.out; exit 1; }
grep -q "2 GPU slots" gpus.out || { cat gpus.out; echo "expected 2 slots from the allocation"; exit 1; }
grep -q "Slurm job [0-9]*: 1 node, 4 GPUs a node (from SLURM_GPUS_PER_NODE), 8 CPUs a node; each trial a step of 1 node, 2 GPUs and 4 CPUs" gpus.out ||
  { cat gpus.out; echo "expected the allocation and the steps described"; exit 1; }
[ "$(sql gpus.db "select count(*) from trials where state = 'COMPLETE'")" = 6 ] || { cat gpus.out; exit 1; }
python3 - "$T/gpus.log" <<'PY'
import sys
runs = []
for line in open(sys.argv[1]):
    n, gpus, start, end = line.split()
    runs.append((int(n), gpus, float(start), float(end)))
assert len(runs) == 6, runs
for n, gpus, s, e in runs:
    ids = gpus.split(",")
    assert len(ids) == 2 and set(ids) <= {"0", "1", "2", "3"}, f"trial {n} saw GPUs {gpus}"
most = 0
for n, gpus, s, e in runs:
    along = [r for r in runs if r[2] < e and s < r[3]]   # running while n ran (n too)
    most = max(most, len(along))
    for m, other, _, _ in along:
        if m != n:
            assert not set(gpus.split(",")) & set(other.split(",")), f"trials {n} ({gpus}) and {m} ({other}) shared GPUs"
assert most == 2, f"at most {most} trials ran at once; the allocation has room for 2"
print("6 trials, at most 2 at once, GPU sets disjoint")
PY
job=$(attr gpus.db 0 slurm_job_id | tr -d '"')
[ -n "$job" ] && [ "$(sql gpus.db "select count(distinct value_json) from trial_user_attributes where key = 'slurm_job_id'")" = 1 ]
[ "$(sql gpus.db "select count(distinct value_json) from trial_user_attributes where key = 'slurm_step_id'")" = 6 ]
[ "$(attr gpus.db 3 slurm_node)" = "\"$NODE\"" ]
[ "$(attr gpus.db 3 gpus)" = "$(attr gpus.db 3 trainer_visible_devices)" ]
[ -f runs/gpus/trial-5/stderr.log ]

# 1b. `salloc --gres=gpu:4`, the classic request, leaves no GPU in the shell's environment
#     (Slurm 22.05): the GPUs come from `scontrol show job`, and the start line says so.
FAKE_MODE=ok FAKE_LOG="$T/gres.log" salloc -N1 --gres=gpu:4 -c 8 -- bash -c \
  'env | grep -E "^SLURM_(GPUS|JOB_GPUS|GPUS_ON_NODE|GPUS_PER_NODE)=" && exit 9; exec "$@"' gres \
  "$VAESEARCH" run gpus.json --db gres.db "${RUN[@]}" > gres.out 2>&1 || { cat gres.out; exit 1; }
grep -q "2 GPU slots" gres.out && grep -q "4 GPUs a node (from \`scontrol show job\`, GRES of each node)" gres.out ||
  { cat gres.out; echo "expected the GPUs of --gres=gpu:4, from scontrol"; exit 1; }
[ "$(sql gres.db "select count(*) from trials where state = 'COMPLETE'")" = 6 ]
[ "$(cut -d' ' -f2 gres.log | sort -u | tr '\n' ' ')" = "0,1 2,3 " ] || { cat gres.log; echo "expected the GPU pairs 0,1 and 2,3"; exit 1; }

# 2. A running step: `vaesearch status` shows its job and step; scancel kills it: FAIL
#    with Slurm's word on it, and its parameters run again (max_retries 1).
space cancel 1 '{"max_retries": 1}' > cancel.json
FAKE_MODE=sleep FAKE_SLEEP=12 salloc -N1 --gpus=1 -c 2 -- "$VAESEARCH" run cancel.json --db cancel.db "${RUN[@]}" \
  > cancel.out 2>&1 &
sweep=$!
step=
for _ in $(seq 1 60); do
  step=$("$VAESEARCH" status --db cancel.db --format json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["running"]
s = r and r[0]["slurm"]
if s and s["step_id"] is not None: print(s["job_id"] + "." + s["step_id"])' 2>/dev/null || true)
  [ -n "$step" ] && break
  sleep 0.5
done
[ -n "$step" ] || { kill $sweep; cat cancel.out; echo "status never showed the running step"; exit 1; }
"$VAESEARCH" status --db cancel.db | tee status.txt
grep -q "running   trial 0: .*Slurm job ${step%.*} step ${step#*.} ($step) on $NODE" status.txt
scancel "$step"
wait $sweep || { cat cancel.out; exit 1; }
cat cancel.out
[ "$(sql cancel.db "select state from trials where number = 0")" = FAIL ]
reason=$(attr cancel.db 0 fail_reason)
grep -q "Slurm: STEP $step ON $NODE CANCELLED" <<< "$reason" || { echo "fail_reason: $reason"; exit 1; }
[ "$(sql cancel.db "select state from trials where number = 1")" = COMPLETE ]
[ "$(attr cancel.db 1 retry_of)" = 0 ]
grep -q "CANCELLED" runs/cancel/trial-0/stderr.log
"$VAESEARCH" show 0 --db cancel.db | grep -q "^slurm     job ${step%.*}, step ${step#*.} on $NODE (last attempt)$"

# 3. The script of `vaesearch slurm-script`, submitted with sbatch, runs the sweep to the end.
space batch 4 '{"gpus_per_trial": 1}' > batch.json
"$VAESEARCH" slurm-script batch.json --time 5 --gpus-per-node 4 --cpus-per-node 4 --db batch.db \
  --trainer "$FAKE_TRAINER" -o batch.sh
grep -q "^#SBATCH --gpus-per-node=4$" batch.sh && grep -q "^#SBATCH --signal=B:TERM@150$" batch.sh
batch=$(FAKE_MODE=ok sbatch --parsable batch.sh)
slurm_wait_job "$batch" 120 || { echo "job $batch still queued or running after 2 minutes"; exit 1; }
cat "slurm-vs-batch-$batch.out"
grep -q "sweep batch: 4 complete" "slurm-vs-batch-$batch.out"
[ "$(sql batch.db "select count(*) from trials where state = 'COMPLETE'")" = 4 ]
[ "$(attr batch.db 0 slurm_job_id)" = "\"$batch\"" ]

# 4. A pruned trial is stopped through Slurm (scancel --signal=TERM, not srun's SIGKILL):
#    its trainer saves and exits 3. Minimized, trial 1's curve is worse than trial 0's.
cat > prune.json <<JSON
{"name": "prune", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "objective": {"metric": "ndcg@100", "direction": "minimize"}, "budget": {"trials": 2},
 "resources": {"gpus_per_trial": 4}, "pruner": {"kind": "median", "startup_trials": 1, "warmup_epochs": 1},
 "fixed": {"epochs": 5}, "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
FAKE_EPOCH_SLEEP=0.5 salloc -N1 --gpus=4 -c 2 -- "$VAESEARCH" run prune.json --db prune.db "${RUN[@]}" > prune.out 2>&1 ||
  { cat prune.out; exit 1; }
[ "$(sql prune.db "select state from trials order by number" | tr '\n' ' ')" = "COMPLETE PRUNED " ] || { cat prune.out; exit 1; }
[ "$(sql prune.db "select exit_status from vs_trial_runs r join trials t using (trial_id) where t.number = 1")" = 3 ]
grep -q "trial 1 saved its state after epoch 1" runs/prune/trial-1/stderr.log

# 5. The real trainer through srun: its lines read; with --device cpu in an allocation
#    with a GPU, it sees none (its step asks for no GPU: --gres=none).
space real 1 '{}' > real.json
salloc -N1 --gpus=1 -c 2 -- "$VAESEARCH" run real.json --db real.db --trainer "$VAECF_TRAIN" --device cpu \
  --no-progress --launcher slurm > real.out 2>&1 || { cat real.out; exit 1; }
[ "$(sql real.db "select state from trials")" = COMPLETE ] || { cat real.out; exit 1; }
grep -q "1 GPU a node (from SLURM_GPUS), not used (--device cpu)" real.out || { cat real.out; exit 1; }
[ "$(attr real.db 0 trainer_visible_devices)" = 'null' ] || { cat real.out; echo "the trainer saw GPUs"; exit 1; }
[ "$(sql real.db "select count(*) from vs_epochs")" = 2 ]

# 6. A script written without --gpus-per-node asks for whole nodes (--exclusive), and
#    Slurm hands the job the node's 4 GPUs: the trials run on CPUs all the same, seeing
#    no GPU, one a node with all its CPUs.
"$VAESEARCH" slurm-script gpus.json --time 5 --db cpus.db --trainer "$FAKE_TRAINER" -o cpus.sh > /dev/null
grep -q -- "--device cpu" cpus.sh
batch=$(FAKE_MODE=ok FAKE_LOG="$T/cpus.log" sbatch --parsable cpus.sh)
slurm_wait_job "$batch" 120 || { echo "job $batch still queued or running after 2 minutes"; exit 1; }
out="slurm-vs-gpus-$batch.out"
grep -q "4 GPUs a node (from SLURM_GPUS_ON_NODE), not used (--device cpu), 8 CPUs a node; each trial a step of 1 node, 0 GPUs and 8 CPUs" "$out" ||
  { cat "$out"; echo "expected the node's GPUs found and not used"; exit 1; }
[ "$(sql cpus.db "select count(*) from trials where state = 'COMPLETE'")" = 6 ] || { cat "$out"; exit 1; }
[ "$(cut -d' ' -f2 cpus.log | sort -u)" = "-" ] || { cat cpus.log; echo "a trial saw GPUs"; exit 1; }
echo "cli_slurm: ok"
