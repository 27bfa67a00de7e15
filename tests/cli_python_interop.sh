# cli_python_interop: Python users can use vaesearch's files as they are. A dataset
# and a trained model are read by scripts/vaesearch_io.py (numpy, zlib, json: no C
# code), and scripts/multvae_numpy.py, a numpy Mult-VAE written from the paper,
# reproduces the trainer's test metrics from best.safetensors. Also: the dataset's
# counts match `vaesearch dataset info --json`, its pairs match `dataset export`'s
# CSVs through the id tables, a damaged file is refused, and the fallback
# safetensors reader agrees with the safetensors package when that is installed.
# Skipped (77) without numpy.
set -euo pipefail
python3 -c "import numpy" 2>/dev/null || { echo "numpy not importable: skipped"; exit 77; }
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
SCRIPTS="$VS_SOURCE_DIR/scripts"
export PYTHONPATH="$SCRIPTS${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1   # leave no __pycache__ in the source tree

"$VAESEARCH" synth --preset small -o "$T/d.vsds" > /dev/null
"$VAECF_TRAIN" --data "$T/d.vsds" --out "$T/run" --set epochs=3 --threads 2 > "$T/log.jsonl"
grep '"event":"done"' "$T/log.jsonl" > "$T/done.json"
python3 "$SCRIPTS/multvae_numpy.py" "$T/d.vsds" "$T/run/best.safetensors" --split test > "$T/numpy_test.json"
"$VAESEARCH" dataset info --json "$T/d.vsds" > "$T/info.json"
"$VAESEARCH" dataset export "$T/d.vsds" "$T/csv" > /dev/null

python3 - "$T" <<'EOF'
import csv, json, os, shutil, sys
import numpy as np
import vaesearch_io as vio
import multvae_numpy as mv

T = sys.argv[1]
failures = []
def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)

# 1. The numpy evaluation reproduces the trainer's test metrics.
trainer = json.load(open(f"{T}/done.json"))["test"]
mine = json.load(open(f"{T}/numpy_test.json"))
print("trainer test:", trainer)
print("numpy   test:", mine)
for key in ["ndcg@100", "recall@20", "recall@50"]:
    check(abs(trainer[key] - mine[key]) <= 2e-4, f"{key}: trainer {trainer[key]} numpy {mine[key]}")
check(trainer["users"] == mine["users"], f"users: trainer {trainer['users']} numpy {mine['users']}")
check(mine["ndcg@100"] > 0.1, f"numpy NDCG@100 {mine['ndcg@100']} implausibly low")

# 2. The dataset's counts match `vaesearch dataset info --json`.
d = vio.load_dataset(f"{T}/d.vsds")
info = json.load(open(f"{T}/info.json"))
nnz = lambda m: len(d[m][1])
rows = lambda m: len(d[m][0]) - 1
check(d["n_items"] == info["items"] == len(d["item_ids"]), "items")
check(rows("train") == info["train"]["users"] == len(d["train_user_ids"]), "train users")
check(nnz("train") == info["train"]["interactions"], "train interactions")
for split, p in [("validation", "val"), ("test", "test")]:
    check(rows(p + "_in") == rows(p + "_out") == info[split]["users"] == len(d[p + "_user_ids"]),
          f"{split} users")
    check(nnz(p + "_in") == info[split]["fold_in_interactions"], f"{split} fold-in")
    check(nnz(p + "_out") == info[split]["target_interactions"], f"{split} targets")
check(rows("train") + rows("val_in") + rows("test_in") == info["users"], "users")
check(sum(nnz(m) for m in vio.MATRICES) == info["interactions"], "interactions")
check(d["meta"] == info["metadata"], "metadata")

# 3. `dataset export` writes the same pairs, mapped through the id tables.
def pairs(m, users):
    indptr, indices = d[m]
    r = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return sorted(zip((users[i] for i in r), (d["item_ids"][j] for j in indices)))
def csv_rows(name, header):
    with open(f"{T}/csv/{name}", newline="", encoding="utf-8") as f:
        rd = csv.reader(f)
        check(next(rd) == header, f"{name} header")
        return [tuple(row) for row in rd]
for m, name, users in [("train", "train.csv", "train_user_ids"),
                       ("val_in", "validation_fold_in.csv", "val_user_ids"),
                       ("val_out", "validation_targets.csv", "val_user_ids"),
                       ("test_in", "test_fold_in.csv", "test_user_ids"),
                       ("test_out", "test_targets.csv", "test_user_ids")]:
    want = pairs(m, d[users])
    got = sorted(csv_rows(name, ["user", "item"]))
    check(len(want) > 0 and got == want, f"{name}: {len(got)} csv pairs vs {len(want)} in the file")
check(csv_rows("items.csv", ["index", "item"]) == [(str(i), s) for i, s in enumerate(d["item_ids"])],
      "items.csv")
want_users = [(split, str(i), u) for split, t in [("train", "train_user_ids"), ("validation", "val_user_ids"),
                                                 ("test", "test_user_ids")] for i, u in enumerate(d[t])]
check(sorted(csv_rows("users.csv", ["split", "index", "user"])) == sorted(want_users), "users.csv")

# 4. A damaged dataset is refused, naming the section.
raw = bytearray(open(f"{T}/d.vsds", "rb").read())
entry = np.frombuffer(bytes(raw), dtype=vio._ENTRY, count=19, offset=64)[1]   # train.indices
raw[int(entry["offset"]) + 5] ^= 0x01
open(f"{T}/bad.vsds", "wb").write(raw)
try:
    vio.load_dataset(f"{T}/bad.vsds")
    check(False, "a flipped byte in train.indices was not noticed")
except ValueError as e:
    check("train.indices" in str(e) and "checksum" in str(e), f"damaged-file message: {e}")

# 5. The model: fallback reader, the safetensors package, and recommend().
model = vio.load_model(f"{T}/run/best.safetensors", use_package=False)
check([W.shape for W, _ in model["encoder"]] == [(600, 600), (600, 400)], "encoder shapes")
check([W.shape for W, _ in model["decoder"]] == [(200, 600), (600, 600)], "decoder shapes")
check(model["latent_dim"] == model["config"]["latent_dim"] == 200, "latent_dim")
check(model["meta"]["epoch"] == str(json.load(open(f"{T}/done.json"))["best_epoch"]), "epoch metadata")
try:
    import safetensors.numpy
    have_package = True
except ImportError:
    have_package = False
    print("safetensors package not importable: fallback reader only")
if have_package:
    package = safetensors.numpy.load_file(f"{T}/run/best.safetensors")
    own, meta = vio.read_safetensors(f"{T}/run/best.safetensors")
    check(sorted(package) == sorted(own), "tensor names: package vs fallback")
    for k in package:
        check(package[k].dtype == own[k].dtype and np.array_equal(package[k], own[k]), f"tensor {k}")
    via_package = vio.load_model(f"{T}/run/best.safetensors", use_package=True)
    check(via_package["meta"] == model["meta"], "metadata: package vs fallback")
    print(f"safetensors package and fallback reader agree on {len(package)} tensors")

fold_in = d["test_in"][1][d["test_in"][0][0]:d["test_in"][0][1]]
rec = mv.recommend(model, fold_in, 10)
s = mv.scores(model, vio.csr_to_dense(d["test_in"], d["n_items"], [0]))[0]
s[fold_in] = -np.inf
check(len(rec) == 10 and not set(rec.tolist()) & set(fold_in.tolist()), "recommend: 10 new items")
check(np.all(np.diff(s[rec]) <= 0) and s[rec[-1]] >= np.sort(s)[-10], "recommend: the 10 best, best first")

# 6. `vaesearch recommend` gives numpy's ranking and softmax probabilities, in original ids.
check(model["item_ids"] == d["item_ids"], "the model carries the dataset's item ids")
import subprocess
ids = [d["item_ids"][i] for i in fold_in]
out = subprocess.run([os.environ["VAESEARCH"], "recommend", f"{T}/run/best.safetensors", "--json", "-k", "10"] + ids,
                     capture_output=True, text=True, check=True).stdout
got = json.loads(out)["recommendations"]
full = mv.scores(model, vio.csr_to_dense(d["test_in"], d["n_items"], [0]))[0]
prob = np.exp(full - full.max()) / np.exp(full - full.max()).sum()
check([r["item"] for r in got] == [d["item_ids"][i] for i in rec], "vaesearch recommend: numpy's top 10")
check(all(abs(r["probability"] - prob[i]) <= 1e-5 * prob[i] for r, i in zip(got, rec)), "recommend: probabilities")

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("cli_python_interop: all checks passed")
EOF
