# cli_train: vaecf-train end to end on the small synthetic preset, as a user runs it:
# it learns (beats the popularity ranking by a clear margin), the same seed gives the
# same model, a run stopped after some epochs or by SIGTERM and resumed ends exactly
# like the uninterrupted one, and bad configs are refused naming the key.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }

"$VAESEARCH" synth --preset small -o "$T/small.vsds" > /dev/null
ARGS=(--data "$T/small.vsds" --threads 2 --set epochs=12 --set total_anneal_steps=300 --set eval_every=2
      --set checkpoint_every=5)

"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/a" > "$T/a.jsonl"
done_a=$(grep '"event":"done"' "$T/a.jsonl")
start_a=$(grep '"event":"start"' "$T/a.jsonl")
[ "$(grep -c '"event":"epoch"' "$T/a.jsonl")" = 12 ] || { echo "expected 12 epoch lines"; exit 1; }
vae=$(json "$done_a" "d['val']['ndcg@100']")
pop=$(json "$start_a" "d['popularity_val']['ndcg@100']")
echo "validation NDCG@100: Mult-VAE $vae, popularity $pop"
python3 -c "import sys; v, p = map(float, sys.argv[1:]); sys.exit(0 if v > p + 0.1 else 1)" "$vae" "$pop" \
  || { echo "the model does not beat popularity by 0.1 NDCG@100"; exit 1; }
for f in best.safetensors state.safetensors config.json; do [ -s "$T/a/$f" ] || { echo "missing $f"; exit 1; }; done

# Same seed, same result, to the bit.
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/b" > "$T/b.jsonl"
cmp "$T/a/best.safetensors" "$T/b/best.safetensors"
metrics() { grep '"event":"done"' "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['best_epoch'], d['val'], d['test'])"; }
[ "$(metrics "$T/a.jsonl")" = "$(metrics "$T/b.jsonl")" ]

# Another seed, another model.
"$VAECF_TRAIN" "${ARGS[@]}" --set seed=7 --set epochs=2 --out "$T/s7" > /dev/null
! cmp -s "$T/a/best.safetensors" "$T/s7/best.safetensors"

# Stopped after 4 epochs (exit 3, state saved), then resumed: identical outcome.
set +e
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/c" --stop-after-epochs 4 > "$T/c1.jsonl"
rc=$?
set -e
[ $rc = 3 ] || { echo "expected exit 3 after --stop-after-epochs, got $rc"; exit 1; }
grep -q '"event":"stopped"' "$T/c1.jsonl"
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/c" --resume > "$T/c2.jsonl"
grep -q '"resumed_at_step"' "$T/c2.jsonl"
# the 4 epochs done before come again, marked replayed, then the 8 new ones
[ "$(grep '"event":"epoch"' "$T/c2.jsonl" | grep -c '"replayed":true')" = 4 ]
[ "$(grep '"event":"epoch"' "$T/c2.jsonl" | grep -vc '"replayed":true')" = 8 ]
diff <(grep '"event":"epoch"' "$T/c1.jsonl" | cut -d, -f1-7) \
     <(grep '"replayed":true' "$T/c2.jsonl" | cut -d, -f1-7) || { echo "replayed epochs differ"; exit 1; }
[ "$(metrics "$T/a.jsonl")" = "$(metrics "$T/c2.jsonl")" ] || { echo "resumed run differs"; exit 1; }
cmp "$T/a/best.safetensors" "$T/c/best.safetensors"

# SIGTERM in the middle (mid-epoch or between epochs), then resume: identical outcome.
"$VAECF_TRAIN" "${ARGS[@]}" --set batch_size=100 --out "$T/d" > "$T/d1.jsonl" &
pid=$!
for _ in $(seq 200); do grep -q '"epoch":2' "$T/d1.jsonl" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc = 3 ] || { echo "expected exit 3 after SIGTERM, got $rc"; exit 1; }
"$VAECF_TRAIN" "${ARGS[@]}" --set batch_size=100 --out "$T/d" --resume > "$T/d2.jsonl"
"$VAECF_TRAIN" "${ARGS[@]}" --set batch_size=100 --out "$T/e" > "$T/e.jsonl"
[ "$(metrics "$T/d2.jsonl")" = "$(metrics "$T/e.jsonl")" ] || { echo "run resumed after SIGTERM differs"; exit 1; }

# Resuming with another config is refused, naming the key.
set +e
out=$("$VAECF_TRAIN" "${ARGS[@]}" --set lr=0.01 --out "$T/c" --resume 2>&1)
rc=$?
set -e
[ $rc = 1 ] && grep -q "'lr'" <<< "$out" || { echo "resume with another lr: rc $rc: $out"; exit 1; }

# Bad configs: exit 2, the key named, one error event on stdout.
expect_refusal() {
  local want="$1"; shift
  set +e
  out=$("$VAECF_TRAIN" --data "$T/small.vsds" --out "$T/bad" "$@" 2>/dev/null)
  rc=$?
  set -e
  [ $rc = 2 ] || { echo "expected exit 2 for $*, got $rc"; exit 1; }
  grep -q '"event":"error"' <<< "$out" && grep -qF -- "$want" <<< "$out" || { echo "no '$want' in: $out"; exit 1; }
}
expect_refusal "'lr'" --set lr=-1
expect_refusal "unknown key 'dropout'" --set dropout=0.5
expect_refusal "'batch_size': expected an integer" --set batch_size=1.5
expect_refusal "'hidden_dims" --set hidden_dims=abc
echo '{"epochs": "many"}' > "$T/bad.json"
expect_refusal "bad.json: key 'epochs'" --config "$T/bad.json"
set +e
out=$("$VAECF_TRAIN" --data "$T/nope.vsds" 2>&1)
rc=$?
set -e
[ $rc = 2 ] && grep -q "nope.vsds" <<< "$out" || { echo "missing dataset: rc $rc: $out"; exit 1; }
expect_refusal "--progress-every" --progress-every -1

# Progress inside an epoch: a progress line once --progress-every seconds have passed
# (here nearly at every step), its numbers sound; none with 0; the same model either way.
P=(--data "$T/small.vsds" --threads 1 --set epochs=2 --set batch_size=50 --set total_anneal_steps=300)
"$VAECF_TRAIN" "${P[@]}" --out "$T/p" --progress-every 0.000001 > "$T/p.jsonl"
"$VAECF_TRAIN" "${P[@]}" --out "$T/q" --progress-every 0 > "$T/q.jsonl"
! grep -q '"event":"progress"' "$T/q.jsonl" || { echo "progress lines with --progress-every 0"; exit 1; }
cmp "$T/p/best.safetensors" "$T/q/best.safetensors"
python3 - "$T/p.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
progress = [e for e in events if e["event"] == "progress"]
steps = next(e for e in events if e["event"] == "start")["steps_per_epoch"]
assert len(progress) >= steps, (len(progress), steps)   # about one a step but each epoch's last
last = (0, 0)
for p in progress:
    assert p["steps_per_epoch"] == steps and 1 <= p["epoch_steps"] < steps and p["epoch"] in (1, 2), p
    assert p["step"] == (p["epoch"] - 1) * steps + p["epoch_steps"] and p["users_per_s"] > 0 and p["seconds"] >= 0, p
    assert (p["epoch"], p["epoch_steps"]) > last, (p, last)
    last = (p["epoch"], p["epoch_steps"])
print(f"{len(progress)} progress lines over 2 epochs of {steps} steps")
PY
"$VAECF_TRAIN" "${P[@]}" --out "$T/t" --progress-every 0.000001 --format text > "$T/t.txt"
grep -q "^epoch    1 .*% *step 1 of [0-9]* .*users/s" "$T/t.txt" || { echo "no progress line in text"; cat "$T/t.txt"; exit 1; }
[ "$("$VAECF_TRAIN" --version)" = "vaecf-train $("$VAESEARCH" --version | cut -d' ' -f2)" ]
echo "cli_train: all checks passed"
