#!/bin/bash
# tests/slurm/start-slurm.sh DIR: a private Slurm for the tests of `--launcher slurm`
# (tests/cli_slurm*.sh), everything under DIR: its slurm.conf and gres.conf, a munge key
# and socket, the controller's state, the spool, logs, pid files, and fake GPUs.
# Debian's slurm-wlm (22.05) and munge, installed with apt-get when missing; munged,
# slurmctld and one slurmd a node run as root. Running it again while the daemons of
# DIR run changes nothing. Stop it all with tests/slurm/stop-slurm.sh DIR.
#
# Prints `export SLURM_CONF=DIR/slurm.conf` (what clients need) and exits 0 once every
# node takes jobs; exits 77 with the reason on stderr where Slurm cannot run here.
#
# VS_SLURM_NODES nodes (default 1), each with VS_SLURM_CPUS CPUs (default 8) and
# VS_SLURM_GPUS GPUs (default 4), a `gpu` gres whose files are character devices like
# /dev/null (mknod c 1 3): Slurm schedules GPU requests on them and sets
# CUDA_VISIBLE_DEVICES. One node is named as this machine (hostname -s); several are
# NAME-1, NAME-2, ..., each its own slurmd (`slurmd -N NODE`) on this machine
# (NodeAddr=127.0.0.1, NodeHostname this machine's name) with its own port, spool, pid
# and log files (the %n of slurm.conf), as on a cluster of that many machines, except
# that they share this machine's file system and memory. Ports: VS_SLURM_PORT (default
# 26817, the controller) and the next VS_SLURM_NODES (the nodes' slurmd). This Slurm has
# no cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: 22.05 has no
# "disabled" cgroup plugin) and no accounting database.
set -u
umask 022

skip() { echo "start-slurm: $*" >&2; exit 77; }

[ $# = 1 ] || { echo "usage: start-slurm.sh DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root (munged, slurmctld and slurmd run as root)"
mkdir -p "$1" 2>/dev/null || skip "cannot create $1"
DIR=$(cd "$1" && pwd)
PORT=${VS_SLURM_PORT:-26817}
CPUS=${VS_SLURM_CPUS:-8}
GPUS=${VS_SLURM_GPUS:-4}
NODES=${VS_SLURM_NODES:-1}
CONF=$DIR/slurm.conf
SOCKET=$DIR/munge/socket
NODE=$(hostname -s 2>/dev/null)

[ -n "$NODE" ] || skip "this machine has no host name (hostname -s)"
HOST=$NODE
case $NODES in '' | *[!0-9]* | 0*) echo "start-slurm: VS_SLURM_NODES='$NODES': expected a count" >&2; exit 2 ;; esac
NAMES=()   # the nodes' names
if [ "$NODES" = 1 ]; then NAMES=("$NODE"); else for ((k = 1; k <= NODES; k++)); do NAMES+=("$NODE-$k"); done; fi
[ ${#SOCKET} -lt 100 ] || skip "$DIR is too deep for munge's socket path ($SOCKET)"

# ---- the packages ----
programs="munged mungekey munge slurmctld slurmd scontrol sinfo squeue srun salloc sbatch scancel"
missing() { for p in $programs; do command -v "$p" >/dev/null 2>&1 || return 0; done; return 1; }
if missing; then
    command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm and munge are not installed and there is no apt-get"
    log=$DIR/apt-get.log
    # Debian's packages start their daemons when installed; these tests start their own.
    no_start=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && no_start=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    install() { apt-get install -y -q --no-install-recommends slurm-wlm munge >> "$log" 2>&1; }
    install || { apt-get update -q >> "$log" 2>&1 && install; }
    ok=$?
    [ -n "$no_start" ] && rm -f /usr/sbin/policy-rc.d
    [ $ok = 0 ] || skip "apt-get install slurm-wlm munge failed (see $log)"
    missing && skip "slurm-wlm and munge installed, but a program is still missing (one of: $programs)"
fi

# ---- the files ----
mkdir -p "$DIR"/{dev,munge,state,spool,log,run} || skip "cannot create the folders in $DIR"
chmod 700 "$DIR/munge"
for name in "${NAMES[@]}"; do
    mkdir -p "$DIR/spool/$name" "$DIR/dev/$name" || skip "cannot create the folders in $DIR"
    for ((g = 0; g < GPUS; g++)); do
        [ -c "$DIR/dev/$name/gpu$g" ] || mknod -m 666 "$DIR/dev/$name/gpu$g" c 1 3 2>/dev/null ||
            skip "mknod $DIR/dev/$name/gpu$g refused (no CAP_MKNOD here): no fake GPUs"
    done
done
if [ ! -s "$DIR/munge/key" ]; then
    head -c 1024 /dev/urandom > "$DIR/munge/key" && chmod 400 "$DIR/munge/key" || skip "cannot write a munge key"
fi

# A file is rewritten only when it changes, so that a second start keeps what runs.
write() {   # write FILE < content
    local new
    new=$(cat)
    [ -f "$1" ] && [ "$(cat "$1")" = "$new" ] && return 0
    printf '%s\n' "$new" > "$1" || skip "cannot write $1"
}
gpu_files() {   # gpu_files NODE: its GPUs' files, as gres.conf names them
    if [ "$GPUS" = 1 ]; then echo "$DIR/dev/$1/gpu0"; else echo "$DIR/dev/$1/gpu[0-$((GPUS - 1))]"; fi
}
node_lines() {
    local k=1 name
    for name in "${NAMES[@]}"; do
        echo "NodeName=$name NodeAddr=127.0.0.1 NodeHostname=$HOST Port=$((PORT + k)) CPUs=$CPUS RealMemory=1024 Gres=gpu:$GPUS State=UNKNOWN"
        k=$((k + 1))
    done
}
all_nodes=$(IFS=,; echo "${NAMES[*]}")
write "$CONF" <<EOF
# A private Slurm of $NODES node(s) for vaesearch's tests (tests/slurm/start-slurm.sh).
ClusterName=vstest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
# The node may claim more CPUs than the machine has.
SlurmdParameters=config_overrides
ReturnToService=2
# Quick ends: 5 s between SIGTERM and SIGKILL, no grace past the time limit; finished
# jobs stay visible to scontrol for 5 minutes.
KillWait=5
OverTimeLimit=0
InactiveLimit=0
MinJobAge=300
MessageTimeout=10
$(node_lines)
PartitionName=test Nodes=$all_nodes Default=YES MaxTime=INFINITE State=UP
EOF
write "$DIR/gres.conf" <<EOF
AutoDetect=off
$(for name in "${NAMES[@]}"; do echo "NodeName=$name Name=gpu File=$(gpu_files "$name")"; done)
EOF
export SLURM_CONF=$CONF

# ---- the daemons ----
running() {   # running NAME [FILE]: the pid in DIR/run/FILE.pid (default NAME) is a live NAME
    local pid
    pid=$(cat "$DIR/run/${2:-$1}.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
failed() {   # failed NAME [LOG]: skip, quoting the daemon's last error
    local why
    why=$(grep -iE 'fatal|error' "$DIR/log/${2:-$1}.log" 2>/dev/null | tail -n 1)
    skip "$1 did not start: ${why:-no log} (logs in $DIR/log)"
}
until_ok() {   # until_ok SECONDS NAME PIDFILE COMMAND...: waits for COMMAND while NAME runs
    local limit=$((SECONDS + $1)) name=$2 file=$3 gone=0
    shift 3
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $limit ] || return 1
        # a daemon writes its pid file a moment after it has started: gone for 2 s is gone
        if running "$name" "$file"; then gone=0; else gone=$((gone + 1)); fi
        [ $gone -lt 10 ] || return 1
        sleep 0.2
    done
}
port_taken() { grep -qi ":$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null; }

if ! running munged; then
    rm -f "$SOCKET" "$SOCKET.lock"
    munged --force --socket="$SOCKET" --key-file="$DIR/munge/key" --pid-file="$DIR/run/munged.pid" \
        --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed" || failed munged
fi
credential() { munge -n -S "$SOCKET" | unmunge -S "$SOCKET"; }
until_ok 10 munged munged credential || failed munged

if ! running slurmctld; then
    port_taken "$PORT" && skip "port $PORT is taken (choose another with VS_SLURM_PORT)"
    slurmctld -c -f "$CONF" || failed slurmctld   # -c: a clean start, no saved jobs
fi
until_ok 20 slurmctld slurmctld scontrol ping || failed slurmctld

k=1
for name in "${NAMES[@]}"; do
    if ! running slurmd "slurmd-$name"; then
        port_taken $((PORT + k)) && skip "port $((PORT + k)) is taken (choose another with VS_SLURM_PORT)"
        slurmd -f "$CONF" -N "$name" || failed slurmd "slurmd-$name"
    fi
    k=$((k + 1))
done
takes_jobs() {   # takes_jobs NODE
    case $(sinfo -h -N -n "$1" -o %T) in
        idle | mixed | allocated) return 0 ;;
        down* | drain*) scontrol update NodeName="$1" State=RESUME ;;
    esac
    return 1
}
for name in "${NAMES[@]}"; do
    until_ok 60 slurmd "slurmd-$name" takes_jobs "$name" ||
        skip "node $name does not take jobs: $(sinfo -h -N -n "$name" -o '%T %E' 2>&1) (logs in $DIR/log)"
done
echo "export SLURM_CONF=$CONF"
