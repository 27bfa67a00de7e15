# cli_gpu_check: the CPU side of the GPU check (scripts/gpu-check.sh and
# scripts/check_train_log.py). Where no GPU can be used, the check must fail clearly:
# a non-zero exit, every log in OUTDIR, a summary table whose rows name the reason
# (the CUDA runtime's error string, or a build without the CUDA backend); and the
# training-log checker must accept a finished run and refuse what is not one.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
CHECK="$VS_SOURCE_DIR/scripts/gpu-check.sh"
LOGCHECK=(python3 "$VS_SOURCE_DIR/scripts/check_train_log.py")
BUILD=$(dirname "$VAECF_TRAIN")

# Usage errors: exit 2.
set +e
"$CHECK" > /dev/null 2>&1; rc_none=$?
"$CHECK" --frobnicate "$T/x" > /dev/null 2>&1; rc_opt=$?
set -e
[ $rc_none = 2 ] && [ $rc_opt = 2 ] || { echo "usage errors exited $rc_none, $rc_opt (expected 2)"; exit 1; }

# The check on this build, with no GPU visible.
set +e
CUDA_VISIBLE_DEVICES= "$CHECK" --build-dir "$BUILD" --no-build "$T/out" > "$T/check.out" 2>&1
rc=$?
set -e
cat "$T/check.out"
if [ $rc = 0 ]; then
  grep -q '^result: PASS' "$T/check.out" || { echo "exit 0 without a PASS result"; exit 1; }
  echo "skipped: the GPU check passed here: this machine has a usable GPU, so its failure path cannot be tested"
  exit 77
fi
[ $rc = 1 ] || { echo "gpu-check exited $rc (expected 1)"; exit 1; }
grep -q '^== gpu-check summary' "$T/out/summary.txt" || { echo "no summary in summary.txt"; exit 1; }
diff <(sed -n '/^== gpu-check summary/,$p' "$T/check.out") "$T/out/summary.txt" || { echo "summary.txt differs from the printed summary"; exit 1; }
grep -qE '^step +result +time +note$' "$T/out/summary.txt" || { echo "no table header"; exit 1; }
grep -q '^card: ' "$T/out/summary.txt" && grep -q '^driver: ' "$T/out/summary.txt" &&
  grep -q '^toolkit: ' "$T/out/summary.txt" || { echo "the summary lacks the card, driver or CUDA version"; exit 1; }
grep -q '^result: FAIL' "$T/out/summary.txt" || { echo "no FAIL result line"; exit 1; }
row() { grep -E "^$1 " "$T/out/summary.txt" || { echo "no row for step $1"; exit 1; }; }
for s in gpu build gpu-tests memcheck racecheck train-fp32 train-tf32 train-bf16 train-fp16 resume; do row "$s" > /dev/null; done
for f in machine.log build.log; do [ -s "$T/out/$f" ] || { echo "missing log $f"; exit 1; }; done
# (the listing into a file: `tar | grep -q` under pipefail fails when grep quits first)
tar -tzf "$T/out/logs.tar.gz" > "$T/logs.list"
grep -q 'summary.txt' "$T/logs.list" || { echo "logs.tar.gz lacks the summary"; exit 1; }
[ -z "$(find "$T/out" -name '*.safetensors' -o -name '*.vsds')" ] || { echo "OUTDIR holds more than logs"; exit 1; }
if [ -x "$BUILD/bench_gpu" ]; then
  # a CUDA build: each GPU step ran and failed, naming the runtime's reason
  row build | grep -q ' PASS ' || { echo "the build row should pass"; exit 1; }
  for s in gpu-tests train-fp32 train-fp16 resume; do
    row "$s" | grep -q ' FAIL .*no usable CUDA device: cuda[A-Za-z]*: cudaError' ||
      { echo "step $s does not fail naming the CUDA error: $(row "$s")"; exit 1; }
    [ -s "$T/out/$s.log" ] || { echo "missing log $s.log"; exit 1; }
  done
  grep -q 'FAILED: VS_REQUIRE_GPU=1, but no usable CUDA device' "$T/out/gpu-tests.log" ||
    { echo "the GPU tests did not fail for the missing GPU under VS_REQUIRE_GPU=1"; exit 1; }
  ! grep -qi 'skipped' <(row gpu-tests) || { echo "a GPU test reported itself skipped"; exit 1; }
else
  # a build without CUDA: refused, and nothing after it claims to have run
  row build | grep -q ' FAIL .*no CUDA backend' || { echo "build row: $(row build)"; exit 1; }
  row gpu-tests | grep -q 'not run: the build failed' || { echo "gpu-tests row: $(row gpu-tests)"; exit 1; }
fi

# The training-log checker, on real CPU runs.
"$VAESEARCH" synth --preset small -o "$T/small.vsds" > /dev/null
ARGS=(--data "$T/small.vsds" --threads 2 --set epochs=2 --set eval_every=1)
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/a" > "$T/a.jsonl"
"${LOGCHECK[@]}" "$T/a.jsonl" --epochs 2 | grep -q '^ok: 2 epochs'
! "${LOGCHECK[@]}" "$T/a.jsonl" --epochs 3 > "$T/r" || { echo "3 epochs accepted from a 2-epoch run"; exit 1; }
grep -q 'FAIL: .*2 epoch lines, expected 3' "$T/r"
! "${LOGCHECK[@]}" "$T/a.jsonl" --resumed > "$T/r" || { echo "a fresh run accepted as resumed"; exit 1; }
grep -q 'did not resume' "$T/r"
# a non-finite loss (cJSON writes it as null), a missing done line, garbage, an error event
sed '0,/"event":"epoch"/s/"loss":[^,]*/"loss":null/' "$T/a.jsonl" > "$T/nan.jsonl"
! "${LOGCHECK[@]}" "$T/nan.jsonl" > "$T/r" && grep -q 'FAIL: .*epoch 1: loss is None, not a finite number' "$T/r"
grep -v '"event":"done"' "$T/a.jsonl" > "$T/nodone.jsonl"
! "${LOGCHECK[@]}" "$T/nodone.jsonl" > "$T/r" && grep -q 'not done' "$T/r"
printf '{"event":"start"}\nnot json\n' > "$T/bad.jsonl"
! "${LOGCHECK[@]}" "$T/bad.jsonl" > "$T/r" && grep -q 'bad.jsonl:2: not JSON' "$T/r"
set +e
"$VAECF_TRAIN" "${ARGS[@]}" --device cuda --out "$T/c" > "$T/err.jsonl" 2> /dev/null
set -e
! "${LOGCHECK[@]}" "$T/err.jsonl" > "$T/r" && grep -q 'error event: --device cuda' "$T/r"
# stopped after 1 epoch, then resumed: accepted as resumed, with the replayed epoch counted
set +e
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/b" --stop-after-epochs 1 > "$T/b1.jsonl"
set -e
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/b" --resume > "$T/b2.jsonl"
"${LOGCHECK[@]}" "$T/b2.jsonl" --epochs 2 --resumed | grep -q '^ok: 2 epochs'
echo "gpu-check fails clearly without a GPU; check_train_log accepts finished runs only"
