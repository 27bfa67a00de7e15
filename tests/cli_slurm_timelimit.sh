# cli_slurm_timelimit: a sweep whose Slurm allocation runs out of time, against a real
# single-node Slurm (tests/slurm/start-slurm.sh). The script of `vaesearch slurm-script
# --time 2 --signal-before 60` asks Slurm for SIGTERM a minute before the limit; the
# trials (the stand-in trainer, one slow epoch after another, saving its state on
# SIGTERM) are stopped through Slurm, save their state and wait; the same script
# submitted again resumes them from it and completes the sweep. Slurm checks time limits
# and signals every 30 s, so this takes 30 to 60 s. Skipped, with the reason, where
# Slurm cannot run.
set -euo pipefail
T="$VS_TEST_TMP"
. "$VS_SOURCE_DIR/tests/slurm/lib.sh"
bash "$VS_SOURCE_DIR/tests/slurm/stop-slurm.sh" "$T/cluster" || true
rm -rf "$T" && mkdir -p "$T"
slurm_up "$T/cluster"
cd "$T"
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }

cat > late.json <<JSON
{"name": "late", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": 2}, "resources": {"gpus_per_trial": 2}, "fixed": {"epochs": 200},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
"$VAESEARCH" slurm-script late.json --time 2 --signal-before 60 --gpus-per-node 4 --cpus-per-node 4 \
  --db late.db --trainer "$FAKE_TRAINER" -o late.sh
grep -q "^#SBATCH --signal=B:TERM@60$" late.sh

# The first job: a second an epoch, 200 epochs; SIGTERM comes 30 to 60 s after the start.
job=$(FAKE_EPOCH_SLEEP=1 sbatch --parsable late.sh)
slurm_wait_job "$job" 150 || { echo "job $job still there after 150 s"; exit 1; }
out="slurm-vs-late-$job.out"
cat "$out"
grep -q "SIGTERM: stopping; the running trials save their state" "$out"
[ "$(sql late.db "select count(*) from trials where state = 'WAITING'")" = 2 ] || { echo "expected 2 WAITING trials"; exit 1; }
[ "$(sql late.db "select group_concat(exit_status) from vs_trial_runs")" = "3,3" ] || { echo "trainers did not exit 3 (saved)"; exit 1; }
for n in 0 1; do
  saved=$(cat "runs/late/trial-$n/fake-state")
  [ "$saved" -ge 1 ] || { echo "trial $n saved no epoch"; exit 1; }
  [ "$(sql late.db "select max(epoch) from vs_epochs e join trials t using (trial_id) where t.number = $n")" = "$saved" ]
  grep -q "trial $n saved its state after epoch $saved" "runs/late/trial-$n/stderr.log"
done

# Submitted again, the same script resumes both trials from their saved states.
job2=$(FAKE_EPOCH_SLEEP=0.01 sbatch --parsable late.sh)
slurm_wait_job "$job2" 120 || { echo "job $job2 still there after 120 s"; exit 1; }
cat "slurm-vs-late-$job2.out"
grep -q "resuming: 0 trials ended" "slurm-vs-late-$job2.out"
[ "$(sql late.db "select count(*) from trials where state = 'COMPLETE'")" = 2 ]
for n in 0 1; do
  grep -q "trial $n resumes after epoch $(cat "runs/late/trial-$n/fake-state")" "runs/late/trial-$n/stderr.log"
  [ "$(sql late.db "select count(*) from vs_epochs e join trials t using (trial_id) where t.number = $n")" = 200 ]
done
echo "cli_slurm_timelimit: ok"
