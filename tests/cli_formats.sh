# cli_formats: one output convention for every command that prints a report
# (README, "Output formats"): --format text|json (top adds csv), text the default, and
# --json, the older spelling, the same as --format json; the older spellings of top
# (--format table) and prepare (--format FMT for the input) still work. Also what
# `vaesearch --help` and `status` say: commands aligned, and no time left estimated
# while no run goes on.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
fail() { echo "cli_formats: $*"; exit 1; }
# The same JSON object, the members that time the command aside.
same_json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def load(p):
    d = json.loads(open(p).read())
    for k in ("seconds", "time", "ms"):
        d.pop(k, None) if isinstance(d, dict) else None
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b, (a, b)
PY
}

"$VAESEARCH" synth --preset small -o d.vsds --format json > synth1.json
"$VAESEARCH" synth --preset small -o d.vsds --json > synth2.json
same_json synth1.json synth2.json
"$VAESEARCH" synth --preset small -o d.vsds --format text | grep -q "^wrote " || fail "synth --format text"

"$VAESEARCH" dataset export d.vsds csv > /dev/null
python3 -c "import csv; w = csv.writer(open('ratings.csv', 'w')); w.writerow(['userId', 'movieId', 'rating']); [w.writerow([r['user'], r['item'], 5]) for r in csv.DictReader(open('csv/train.csv'))]"
"$VAESEARCH" prepare ratings.csv -o p.vsds --heldout-users 50 --format json > prep1.json
"$VAESEARCH" prepare ratings.csv -o p.vsds --heldout-users 50 --json > prep2.json
same_json prep1.json prep2.json
"$VAESEARCH" prepare ratings.csv -o p.vsds --heldout-users 50 --input-format csv --format json > prep3.json
"$VAESEARCH" prepare ratings.csv -o p.vsds --heldout-users 50 --format csv --json > prep4.json   # the older spelling
same_json prep3.json prep4.json
grep -q '"format":"csv"' prep3.json || fail "--input-format csv: $(cat prep3.json)"

"$VAESEARCH" dataset info d.vsds --format json > info1.json
"$VAESEARCH" dataset info d.vsds --json > info2.json
same_json info1.json info2.json
set +e
"$VAESEARCH" dataset info d.vsds --format xml 2> bad.txt; rc=$?
set -e
[ $rc = 2 ] && grep -q "'xml' is not text or json" bad.txt || fail "dataset info --format xml: rc $rc $(cat bad.txt)"

cat > s.json <<JSON
{"name": "f", "dataset": "d.vsds", "sampler": {"kind": "random", "seed": 1}, "budget": {"trials": 2},
 "fixed": {"epochs": 2}, "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01}}}
JSON
"$VAESEARCH" run s.json --trainer "$FAKE_TRAINER" --no-progress > /dev/null
for cmd in "top" "status" "show 0"; do
  $VAESEARCH $cmd --format json > a.json
  $VAESEARCH $cmd --json > b.json
  same_json a.json b.json
done
[ "$("$VAESEARCH" top --format table)" = "$("$VAESEARCH" top --format text)" ] && [ "$("$VAESEARCH" top)" = "$("$VAESEARCH" top --format text)" ]

# recommend: --format json and --json alike (the model's time aside).
"$VAECF_TRAIN" --data d.vsds --out m --set epochs=1 --threads 1 > /dev/null
"$VAESEARCH" recommend m/best.safetensors --format json 1 2 3 > r1.json
"$VAESEARCH" recommend m/best.safetensors --json 1 2 3 > r2.json
same_json r1.json r2.json
"$VAESEARCH" recommend m/best.safetensors --format text 1 2 3 | head -1 | grep -q "^rank" || fail "recommend --format text"

# status while no run goes on: the trials left, no estimate (the owner gone or none).
python3 -c "import sqlite3; d = sqlite3.connect('results.db'); d.execute('update vs_sweeps set n_trials = 4'); d.commit()"
"$VAESEARCH" status > st.txt
grep -q "^left      2 trials; no run is going on" st.txt || fail "status, no owner: $(cat st.txt)"
sleep 0.1 & dead=$!; wait $dead
python3 -c "import socket, sqlite3, sys; d = sqlite3.connect('results.db'); d.execute(\"update vs_sweeps set owner_pid = ?, owner_host = ?, owner_heartbeat = strftime('%Y-%m-%d %H:%M:%f', 'now')\", (int(sys.argv[1]), socket.gethostname())); d.commit()" "$dead"
"$VAESEARCH" status > st2.txt
grep -q "^owner .*gone" st2.txt && grep -q "^left      2 trials; no run is going on" st2.txt || fail "status, owner gone: $(cat st2.txt)"
"$VAESEARCH" status --format json | python3 -c "import json, sys; d = json.load(sys.stdin); assert d['eta_seconds'] is None and d['remaining'] == 2, d"

# vaesearch --help: every command's summary starts in the same column.
"$VAESEARCH" --help | awk '/^  [a-z]/ { match($0, /^  [a-z-]+ +/); if (col && RLENGTH != col) bad = 1; col = RLENGTH } END { exit bad }' ||
  fail "misaligned: $("$VAESEARCH" --help)"
echo "cli_formats: all checks passed"
