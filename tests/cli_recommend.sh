# cli_recommend: `vaesearch recommend` on a model trained on the small synthetic set:
# k items, best first, never the user's own items, unknown ids reported, and for the
# validation users the recommendations hit their held-out items far more often than
# chance would. Names from an items file (quoted CSV, as MovieLens movies.csv); the
# model of a sweep's trial (--db, --trial N|best); no known item is an error.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
"$VAESEARCH" synth --preset small -o "$T/d.vsds" > /dev/null
"$VAECF_TRAIN" --data "$T/d.vsds" --out "$T/run" --threads 2 --set epochs=10 --set total_anneal_steps=300 > /dev/null
"$VAESEARCH" dataset export "$T/d.vsds" "$T/csv" > /dev/null
M="$T/run/best.safetensors"

out=$("$VAESEARCH" recommend "$M" -k 7 1 2 3 nonexistent 2> "$T/err")
grep -q "ignoring item 'nonexistent'" "$T/err"
[ "$(tail -n +2 <<< "$out" | wc -l)" = 7 ] || { echo "expected 7 rows: $out"; exit 1; }
! tail -n +2 <<< "$out" | awk '{print $2}' | grep -qxE "1|2|3" || { echo "recommended an input item"; exit 1; }

python3 - "$VAESEARCH" "$M" "$T/csv" <<'PY'
import csv, json, subprocess, sys, collections
vaesearch, model, folder = sys.argv[1:]
def rows(name):
    d = collections.defaultdict(list)
    for r in csv.DictReader(open(f"{folder}/{name}")):
        d[r["user"]].append(r["item"])
    return d
fold, targets = rows("validation_fold_in.csv"), rows("validation_targets.csv")
n_items = sum(1 for _ in open(f"{folder}/items.csv")) - 1
hits = total = 0
for user in list(targets)[:40]:
    out = subprocess.run([vaesearch, "recommend", model, "--json", "-k", "20", "-"], input=" ".join(fold[user]),
                         capture_output=True, text=True, check=True).stdout
    res = json.loads(out)
    recs = [r["item"] for r in res["recommendations"]]
    probs = [r["probability"] for r in res["recommendations"]]
    assert len(recs) == 20 and res["known_items"] == len(fold[user]) and res["unknown_items"] == []
    assert not set(recs) & set(fold[user]), "recommended a fold-in item"
    assert probs == sorted(probs, reverse=True) and 0 < probs[-1] <= probs[0] < 1, probs
    hits += len(set(recs) & set(targets[user]))
    total += len(targets[user])
chance = total * 20 / n_items
print(f"hits in the top 20 for 40 validation users: {hits} (chance: {chance:.1f})")
assert hits > 4 * chance, "recommendations no better than chance"
PY
set +e
"$VAESEARCH" recommend "$T/d.vsds" 1 2> "$T/err2"
rc=$?
set -e
[ $rc = 2 ] && grep -q "d.vsds" "$T/err2" || { echo "a dataset given as a model: rc $rc"; cat "$T/err2"; exit 1; }
# Names from a CSV items file: quoted fields with commas and doubled quotes.
python3 - "$T/csv/items.csv" "$T/names.csv" <<'PY'
import csv, sys
items = [r["item"] for r in csv.DictReader(open(sys.argv[1]))]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["movieId", "title", "genres"])
    for i in items:
        w.writerow([i, f'Film {i}, "the" sequel ({i})', "Drama|Comedy"])
PY
out=$("$VAESEARCH" recommend "$M" -k 3 --items "$T/names.csv" 1 2 3)
head -1 <<< "$out" | grep -q "title$" || { echo "no title column: $out"; exit 1; }
first=$(sed -n 2p <<< "$out" | awk '{print $2}')
sed -n 2p <<< "$out" | grep -qF "Film $first, \"the\" sequel ($first)" || { echo "no title: $out"; exit 1; }
"$VAESEARCH" recommend "$M" -k 2 --json --items "$T/names.csv" 1 2 3 | python3 -c '
import json, sys
r = json.load(sys.stdin)["recommendations"]
assert len(r) == 2 and all(x["name"] == "Film %s, \"the\" sequel (%s)" % (x["item"], x["item"]) for x in r), r'
# MovieLens 100K's u.item: '|'-separated, no header, Latin-1 (read as such); and a
# headerless CSV, whose first line is an item, not a header.
python3 - "$T/csv/items.csv" "$T/u.item" "$T/plain.csv" <<'PY'
import csv, sys
items = [r["item"] for r in csv.DictReader(open(sys.argv[1]))]
with open(sys.argv[2], "wb") as f:
    for i in items:
        f.write(f"{i}|Caf\u00e9 {i}, The (1995)|01-Jan-1995||http://example.org/{i}|0|1|0\n".encode("latin-1"))
with open(sys.argv[3], "w") as f:
    for i in items:
        f.write(f"{i},Plain {i},Drama|Comedy|Crime\n")
PY
"$VAESEARCH" recommend "$M" -k 600 --json --items "$T/u.item" 1 2 3 | python3 -c '
import json, sys
r = json.load(sys.stdin)["recommendations"]
assert r and all(x["name"] == "Caf\u00e9 %s, The (1995)" % x["item"] for x in r), r[:3]'
"$VAESEARCH" recommend "$M" -k 600 --json --items "$T/plain.csv" 1 2 3 | python3 -c '
import json, sys
r = json.load(sys.stdin)["recommendations"]
assert all(x["name"] == "Plain %s" % x["item"] for x in r), [x for x in r if x["name"] != "Plain %s" % x["item"]][:3]'
printf 'movieId,title\n1,"not closed\n' > "$T/bad.csv"
set +e
"$VAESEARCH" recommend "$M" --items "$T/bad.csv" 1 2> "$T/err3"; rc=$?
set -e
[ $rc = 2 ] && grep -q "bad.csv:2: a quoted field is not closed" "$T/err3" || { echo "bad items file: rc $rc"; cat "$T/err3"; exit 1; }

# None of the items known: an error, not the most popular items.
set +e
"$VAESEARCH" recommend "$M" nope zzz > "$T/out4" 2> "$T/err4"; rc=$?
set -e
[ $rc = 2 ] && grep -q "none of the 2 given items" "$T/err4" && [ ! -s "$T/out4" ] ||
  { echo "no known item: rc $rc"; cat "$T/out4" "$T/err4"; exit 1; }

# A sweep's trial: its model, by number or the best.
cat > "$T/space.json" <<JSON
{"name": "rec", "dataset": "d.vsds", "sampler": {"kind": "random", "seed": 3}, "budget": {"trials": 2},
 "fixed": {"epochs": 2, "total_anneal_steps": 300}, "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01}}}
JSON
# The sweep runs in a folder of its own; its model paths are kept relative to the
# database's folder, so that they work from any folder (this test's is another) and
# after a rename.
mkdir -p "$T/sweep"
(cd "$T/sweep" && "$VAESEARCH" run ../space.json --threads 1 --no-progress > /dev/null)
D="$T/sweep/results.db"
best=$("$VAESEARCH" top --db "$D" -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["number"])')
model=$(python3 -c '
import json, os, sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select value_json from trial_user_attributes a join trials t using (trial_id) "
                                           "where t.number = ? and key = ?", (int(sys.argv[2]), "model")).fetchone()
model = json.loads(row[0])
assert not os.path.isabs(model) and model.startswith("runs/rec/"), model   # relative to the database
print(os.path.join(os.path.dirname(sys.argv[1]), model))' "$D" "$best")
[ -f "$model" ]
expected=$("$VAESEARCH" recommend "$model" -k 5 1 2 3)
[ "$("$VAESEARCH" recommend --db "$D" --trial best -k 5 1 2 3)" = "$expected" ] || { echo "--trial best"; exit 1; }
[ "$("$VAESEARCH" recommend --db "$D" --trial "$best" -k 5 1 2 3)" = "$expected" ] || { echo "--trial $best"; exit 1; }
"$VAESEARCH" rename rec rec2 --db "$D" > /dev/null
[ "$("$VAESEARCH" recommend --db "$D" --trial best -k 5 1 2 3)" = "$expected" ] || { echo "--trial best after rename"; exit 1; }
"$VAESEARCH" rename rec2 rec --db "$D" > /dev/null
set +e
"$VAESEARCH" recommend --db "$D" --trial 7 1 2> "$T/err5"; rc=$?
set -e
[ $rc = 2 ] && grep -q "no trial 7" "$T/err5" || { echo "--trial 7: rc $rc"; cat "$T/err5"; exit 1; }
"$VAESEARCH" recommend --help | grep -q "usage: vaesearch recommend"

# --serve: the model loaded once, a JSON request a line, a JSON answer a line, each equal
# to what a one-shot `recommend --json` answers for the same items; bad requests get an
# error naming their line, and the service goes on to the end of its input.
python3 - "$VAESEARCH" "$M" "$T/csv" <<'PY'
import csv, json, subprocess, sys, collections
vaesearch, model, folder = sys.argv[1:]
fold = collections.defaultdict(list)
for r in csv.DictReader(open(f"{folder}/validation_fold_in.csv")):
    fold[r["user"]].append(r["item"])
users = list(fold)[:12]
requests = []
for n, u in enumerate(users):
    requests.append(json.dumps({"items": fold[u], "k": 5 + n, "id": u}))
    if n == 3:
        requests += ["not json", json.dumps({"items": "1 2"}), json.dumps({"items": ["nonexistent"], "id": 7}),
                     json.dumps({"items": [1, 2], "k": 0}), "", json.dumps({"items": [1, 2, 3]}) + " trailing"]
out = subprocess.run([vaesearch, "recommend", model, "--serve"], input="\n".join(requests) + "\n",
                     capture_output=True, text=True, check=True).stdout.splitlines()
assert len(out) == len(requests) - 1, (len(out), len(requests))   # the empty line gets no answer
answers = [json.loads(line) for line in out]
errors = [a for a in answers if "error" in a]
assert [e["error"].split(":")[0] for e in errors] == ["line 5", "line 6", "line 7", "line 8", "line 10"], errors
assert errors[0]["error"] == "line 5: not a JSON object" and "items: expected an array" in errors[1]["error"]
assert errors[2]["id"] == 7 and "none of the 1 given item" in errors[2]["error"]
assert "k: expected a whole number" in errors[3]["error"] and errors[4]["error"] == "line 10: not a JSON object"
good = [a for a in answers if "error" not in a]
assert [a["id"] for a in good] == users
for n, (u, a) in enumerate(zip(users, good)):
    one = json.loads(subprocess.run([vaesearch, "recommend", model, "--json", "-k", str(5 + n)] + fold[u],
                                    capture_output=True, text=True, check=True).stdout)
    assert a["recommendations"] == one["recommendations"], (u, a, one)
    assert a["known_items"] == one["known_items"] and a["ms"] >= 0
print(f"--serve: {len(good)} answers equal to one-shot recommend, {len(errors)} bad requests answered with errors")
PY
set +e
echo '{"items": [1]}' | "$VAESEARCH" recommend "$M" --serve 1 2 > /dev/null 2> "$T/err4"
rc=$?
set -e
[ $rc = 2 ] && grep -q "give no ITEM" "$T/err4" || { echo "--serve with ITEM arguments: rc $rc"; exit 1; }
echo "cli_recommend: all checks passed"
