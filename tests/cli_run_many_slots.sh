# cli_run_many_slots: more slots than the poll set once held (64): every slot's output is
# read at any count. 70 CPU slots of chatty stand-in trainers (each prints more than a
# pipe holds, to stdout and to stderr, then works 5 s): a trainer whose pipes were not
# read would block on them until its timeout (8 s) failed it; all 70 must complete,
# their output kept whole in stderr.log.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
sql() { python3 -c "import sqlite3,sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]" "$@"; }
cat > many.json <<'JSON'
{"name": "many", "dataset": {"synth": "small"}, "sampler": {"kind": "random", "seed": 1},
 "budget": {"trials": 70}, "fixed": {"epochs": 2},
 "parameters": {"lr": {"type": "log_uniform", "low": 0.0001, "high": 0.01}}}
JSON
"$VAESEARCH" synth --preset small -o synth-small.vsds > /dev/null
FAKE_CHATTY=150000 FAKE_EPOCH_SLEEP=2.5 "$VAESEARCH" run many.json --jobs 70 --trial-timeout 8 \
  --trainer "$FAKE_TRAINER" --no-progress > run.out 2>&1 || { tail -n 30 run.out; exit 1; }
grep -q "70 CPU slots" run.out || { head -n 3 run.out; echo "expected 70 CPU slots"; exit 1; }
states=$(sql results.db "select state, count(*) from trials group by state")
[ "$states" = "COMPLETE 70" ] || { echo "trial states: $states"; grep -m 5 FAIL run.out; exit 1; }
for n in 0 35 69; do   # stderr kept whole: 1,500 lines of 100 bytes
  [ "$(grep -c "chatters" "runs/many/trial-$n/stderr.log")" = 1500 ] || { echo "trial $n: stderr.log is not whole"; exit 1; }
done
echo "cli_run_many_slots: 70 chatty trials at once, all COMPLETE"
