# cli_recommend: `vaesearch recommend` on a model trained on the small synthetic set:
# k items, best first, never the user's own items, unknown ids reported, and for the
# validation users the recommendations hit their held-out items far more often than
# chance would.
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
"$VAESEARCH" recommend --help | grep -q "usage: vaesearch recommend"
echo "cli_recommend: all checks passed"
