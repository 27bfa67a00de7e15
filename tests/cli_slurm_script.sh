# cli_slurm_script: `vaesearch slurm-script` and `run --launcher` without a cluster: the
# script's #SBATCH lines and its command (absolute paths, quoted for the shell), the
# checks of the space against the allocation asked for, and the refusals of bad options,
# each naming what is wrong. cli_slurm.sh submits such a script to a real Slurm.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T/it's here"
cd "$T/it's here"
cat > space.json <<'JSON'
{"name": "sweep1", "dataset": {"synth": "small"}, "budget": {"trials": 4},
 "resources": {"gpus_per_trial": 2}, "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON

"$VAESEARCH" slurm-script space.json --nodes 2 --gpus-per-node 8 --time 1-12:00 --partition gpu --account proj \
  --mem 200G --db sub/results.db -o run.sbatch > said.txt
[ -x run.sbatch ]
# -o says where it wrote and how to submit it
grep -qxF 'wrote run.sbatch: submit it with `sbatch run.sbatch` (and again to resume)' said.txt || { cat said.txt; exit 1; }
expect() { grep -qxF -- "$1" run.sbatch || { cat run.sbatch; echo "missing line: $1"; exit 1; }; }
expect "#!/bin/bash"
expect "#SBATCH --job-name=vs-sweep1"
expect "#SBATCH --nodes=2"
expect "#SBATCH --gpus-per-node=8"
expect "#SBATCH --exclusive"
expect "#SBATCH --mem=200G"
expect "#SBATCH --time=1-12:00"
expect "#SBATCH --signal=B:TERM@300"
expect "#SBATCH --partition=gpu"
expect "#SBATCH --account=proj"
expect "#SBATCH --output=slurm-%x-%j.out"
# the command: this vaesearch, the space and database by absolute paths, quoted (the folder has a ')
cmd=$(grep '^exec ' run.sbatch)
words=$(bash -c 'set -- '"${cmd#exec }"'; printf "%s\n" "$@"')
[ "$(sed -n 1p <<< "$words")" = "$(readlink -f "$VAESEARCH")" ]
[ "$(sed -n 3p <<< "$words")" = "$T/it's here/space.json" ]
[ "$(sed -n 5p <<< "$words")" = "$T/it's here/sub/results.db" ]
grep -q -- "--launcher slurm --device cuda --no-progress$" <<< "$cmd"
grep -q "up to 60 s earlier" run.sbatch
bash -n run.sbatch

# CPUs a node instead of whole nodes; the SIGTERM at most half the limit by default.
"$VAESEARCH" slurm-script space.json --gpus-per-node 2 --cpus-per-node 16 --time 20 > cpus.sbatch
grep -qx "#SBATCH --ntasks-per-node=1" cpus.sbatch && grep -qx "#SBATCH --cpus-per-task=16" cpus.sbatch
! grep -q -- "--exclusive" cpus.sbatch
grep -qx "#SBATCH --signal=B:TERM@300" cpus.sbatch
"$VAESEARCH" slurm-script space.json --gpus-per-node 2 --time 4 | grep -qx "#SBATCH --signal=B:TERM@120"
"$VAESEARCH" slurm-script --help | grep -q "up to 60 s earlier"

# No GPUs asked for: whole nodes (--exclusive), whose GPUs Slurm may hand the job, are
# not used: the script says --device cpu (its steps then ask for no GPU, docs/slurm.md).
"$VAESEARCH" slurm-script space.json --time 10 > nogpu.sbatch
grep -qx "#SBATCH --exclusive" nogpu.sbatch && ! grep -q -- "--gpus" nogpu.sbatch
grep -q -- "--launcher slurm --device cpu --no-progress$" nogpu.sbatch
# A trial over 2 nodes, and GPUs that need more nodes than asked for.
"$VAESEARCH" slurm-script space.json --nodes 2 --gpus-per-node 1 --time 10 > wide.sbatch
grep -q -- "--device cuda --no-progress$" wide.sbatch
"$VAESEARCH" slurm-script space.json --nodes 4 --nodes-per-trial 2 --time 10 | grep -q -- "--device cpu --nodes-per-trial 2 --no-progress$"

refused() {   # refused MESSAGE ARGS...: exit status 2 and MESSAGE on stderr
  local want=$1 rc=0
  shift
  "$VAESEARCH" "$@" > out.txt 2> err.txt || rc=$?
  [ $rc = 2 ] && grep -qF -- "$want" err.txt || { echo "vaesearch $*: exit $rc, stderr:"; cat err.txt; echo "wanted: $want"; exit 1; }
  [ ! -s out.txt ] || { echo "vaesearch $*: wrote to stdout"; exit 1; }
}
refused "--time is required" slurm-script space.json --gpus-per-node 8
refused "--time '3h': expected minutes" slurm-script space.json --time 3h
refused "a trial of resources.gpus_per_trial 2 spans 2 nodes (1 GPU a node), but the allocation has 1 node" \
  slurm-script space.json --time 10 --gpus-per-node 1
refused "resources.gpus_per_trial is 2 but the allocation has 1 GPU a node" \
  slurm-script space.json --time 10 --gpus-per-node 1 --nodes 2 --nodes-per-trial 1
# GPUs that make more steps than the CPUs asked for can run: the refusal says so.
sed 's/"gpus_per_trial": 2/"gpus_per_trial": 1/' space.json > one.json
refused "the allocation has 4 GPUs a node (--gpus-per-node), so 4 trials of 1 GPU run on a node at once" \
  slurm-script one.json --time 10 --gpus-per-node 4 --cpus-per-node 2
refused "--nodes-per-trial 3: the allocation has 2 nodes" slurm-script space.json --time 10 --nodes 2 --nodes-per-trial 3
refused "--signal-before 600: must be at least 1 s and less than --time (600 s)" \
  slurm-script space.json --time 10 --gpus-per-node 2 --signal-before 600
refused "--partition 'a b': no spaces" slurm-script space.json --time 10 --partition "a b"
refused "missing.json" slurm-script missing.json --time 10
sed 's/"gpus_per_trial": 2/"gpus_per_trial": 1, "trials_per_gpu": 2/' space.json > shared.json
refused "resources.trials_per_gpu is 2, but under Slurm a job step has its GPUs to itself" \
  slurm-script shared.json --time 10 --gpus-per-node 4
[ ! -e sub ]   # nothing was created

# run: the launcher's name is checked; Slurm chooses GPUs, so --gpus is refused with it.
refused "--launcher must be local or slurm, not 'ssh'" run space.json --launcher ssh
refused "--gpus does not go with --launcher slurm" run space.json --launcher slurm --gpus 0,1
refused "--nodes-per-trial goes with --launcher slurm" run space.json --nodes-per-trial 2
[ ! -e results.db ]
echo "cli_slurm_script: ok"
