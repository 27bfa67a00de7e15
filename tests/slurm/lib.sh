# tests/slurm/lib.sh, sourced by tests/cli_slurm*.sh: slurm_up DIR starts the private
# Slurm of tests/slurm/start-slurm.sh in DIR (first stopping one a killed run of the test
# left there), stops it when the test exits, and exports SLURM_CONF; where Slurm cannot
# run, the test ends as skipped (exit 77) with the reason.
slurm_up() {
    local dir=$1 out rc=0
    bash "$VS_SOURCE_DIR/tests/slurm/stop-slurm.sh" "$dir" || true
    trap "bash '$VS_SOURCE_DIR/tests/slurm/stop-slurm.sh' '$dir'" EXIT
    out=$(bash "$VS_SOURCE_DIR/tests/slurm/start-slurm.sh" "$dir") || rc=$?
    if [ $rc = 77 ]; then
        echo "skipped: no Slurm here (tests/slurm/start-slurm.sh said why above)"
        exit 77
    fi
    [ $rc = 0 ] || { echo "tests/slurm/start-slurm.sh failed (exit $rc)"; exit 1; }
    eval "$out"
}

# slurm_wait_job JOB SECONDS: until the job has left the queue; 1 if it is still there.
slurm_wait_job() {
    local end=$((SECONDS + $2))
    while [ -n "$(squeue -h -j "$1" -o %A 2>/dev/null)" ]; do
        [ $SECONDS -lt $end ] || return 1
        sleep 1
    done
}
