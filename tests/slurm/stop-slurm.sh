#!/bin/bash
# tests/slurm/stop-slurm.sh DIR: stops the private Slurm tests/slurm/start-slurm.sh
# started in DIR: its jobs cancelled first (while the daemons can still end them), then
# every node's slurmd, slurmctld and munged by their pid files, and any step daemon (slurmstepd) of
# DIR left with what it ran. Only processes of DIR are touched. DIR itself stays (its
# logs). Exits 0 when nothing of DIR runs any more; also when nothing ran.
set -u
[ $# = 1 ] || { echo "usage: stop-slurm.sh DIR" >&2; exit 2; }
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
export SLURM_CONF=$DIR/slurm.conf

alive() {   # alive PID NAME
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
daemon_pid() {   # daemon_pid NAME [FILE]: the pid in DIR/run/FILE.pid (default NAME), if NAME runs
    local pid
    pid=$(cat "$DIR/run/${2:-$1}.pid" 2>/dev/null) && [ -n "$pid" ] && alive "$pid" "$1" && echo "$pid"
}
slurmd_files() {   # the nodes' slurmd pid files, as daemon_pid names them
    local f
    for f in "$DIR"/run/slurmd*.pid; do [ -e "$f" ] && basename "$f" .pid; done
}
stop() {   # stop PID NAME: SIGTERM, then SIGKILL after 10 s
    local i
    kill -TERM "$1" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        alive "$1" "$2" || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    sleep 0.2
}

if daemon_pid slurmctld > /dev/null && [ -f "$SLURM_CONF" ]; then
    jobs=$(squeue -h -o %A 2>/dev/null)
    if [ -n "$jobs" ]; then
        scancel $jobs 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# Step daemons of DIR hold files under it open (their spool sockets, slurmd's log).
steps=()
for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
    ls -l "$p/fd" 2>/dev/null | grep -qF -- "$DIR/" && steps+=("${p#/proc/}")
done
# ... and what they run: their descendants, found through the parent pid in /proc/PID/stat.
children_of() {
    local p
    for p in /proc/[0-9]*; do
        # the field after the state, past the name in parentheses (which may hold spaces)
        [ "$(sed 's/.*) [A-Za-z] \([0-9]*\).*/\1/' "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
    done
}
tree=()
queue=(${steps[@]+"${steps[@]}"})
while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    tree+=("$p")
    queue+=($(children_of "$p"))
done

for f in $(slurmd_files); do
    pid=$(daemon_pid slurmd "$f") && stop "$pid" slurmd
done
pid=$(daemon_pid slurmctld) && stop "$pid" slurmctld
for p in ${tree[@]+"${tree[@]}"}; do kill -KILL "$p" 2>/dev/null; done
pid=$(daemon_pid munged) && stop "$pid" munged
for d in munged slurmctld; do daemon_pid $d > /dev/null || rm -f "$DIR/run/$d.pid"; done
for f in $(slurmd_files); do daemon_pid slurmd "$f" > /dev/null || rm -f "$DIR/run/$f.pid"; done

left=
for d in munged slurmctld; do daemon_pid $d > /dev/null && left="$left $d"; done
for f in $(slurmd_files); do daemon_pid slurmd "$f" > /dev/null && left="$left $f"; done
[ -z "$left" ] || { echo "stop-slurm: still running in $DIR:$left" >&2; exit 1; }
exit 0
