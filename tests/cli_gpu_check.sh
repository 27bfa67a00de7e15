# cli_gpu_check: the CPU side of the GPU check (scripts/gpu-check.sh and
# scripts/check_train_log.py). Where no GPU can be used, the check must fail clearly:
# a non-zero exit, every log in OUTDIR, a summary table whose rows name the reason
# (the CUDA runtime's error string, or a build without the CUDA backend), in the
# documented order. Its deadline: a slow step (made slow by VS_GPU_CHECK_DELAY) is
# stopped there and the steps after it are marked "not run: deadline"; summary.txt and
# logs.tar.gz are there while a step runs, so a check killed from outside leaves them.
# .devdeps/setup.sh is sourced by the check itself and what it exports reaches the
# steps; a driver older than the toolkit is said to be so (a stand-in nvidia-smi). And
# the training-log checker must accept a finished run that beats the popularity
# baseline and refuse what is not one.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
CHECK="$VS_SOURCE_DIR/scripts/gpu-check.sh"
LOGCHECK=(python3 "$VS_SOURCE_DIR/scripts/check_train_log.py")
BUILD=$(dirname "$VAECF_TRAIN")
STEPS=(deps gpu build gpu-tests data train-fp32 train-tf32 train-bf16 train-fp16 resume memcheck racecheck)

# Usage errors: exit 2.
set +e
"$CHECK" > /dev/null 2>&1; rc_none=$?
"$CHECK" --frobnicate "$T/x" > /dev/null 2>&1; rc_opt=$?
"$CHECK" --deadline soon "$T/x" > /dev/null 2>&1; rc_dl=$?
"$CHECK" --deadline 0 "$T/x" > /dev/null 2>&1; rc_dl0=$?
"$CHECK" "$T/x" "$T/y" > /dev/null 2>&1; rc_two=$?
set -e
[ $rc_none = 2 ] && [ $rc_opt = 2 ] && [ $rc_dl = 2 ] && [ $rc_dl0 = 2 ] && [ $rc_two = 2 ] ||
  { echo "usage errors exited $rc_none, $rc_opt, $rc_dl, $rc_dl0, $rc_two (expected 2)"; exit 1; }

# The check on this build, with no GPU visible.
set +e
start=$SECONDS
CUDA_VISIBLE_DEVICES= "$CHECK" --build-dir "$BUILD" --no-build "$T/out" > "$T/check.out" 2>&1
rc=$?
set -e
cat "$T/check.out"
echo "the check without a GPU took $((SECONDS - start)) s"
if [ $rc = 0 ]; then
  grep -q '^result: PASS' "$T/check.out" || { echo "exit 0 without a PASS result"; exit 1; }
  echo "skipped: the GPU check passed here: this machine has a usable GPU, so its failure path cannot be tested"
  exit 77
fi
[ $rc = 1 ] || { echo "gpu-check exited $rc (expected 1)"; exit 1; }
S="$T/out/summary.txt"
grep -q '^== gpu-check summary' "$S" || { echo "no summary in summary.txt"; exit 1; }
diff <(sed -n '/^== gpu-check summary/,$p' "$T/check.out") "$S" || { echo "summary.txt differs from the printed summary"; exit 1; }
grep -qE '^step +result +time +note$' "$S" || { echo "no table header"; exit 1; }
grep -q '^card: ' "$S" && grep -q '^driver: ' "$S" &&
  grep -q '^toolkit: ' "$S" || { echo "the summary lacks the card, driver or CUDA version"; exit 1; }
grep -q '^result: FAIL' "$S" || { echo "no FAIL result line"; exit 1; }
row() { grep -E "^$1 " "$2" || { echo "no row for step $1 in $2"; exit 1; }; }
# every step has a row, in the documented order: cheapest and most telling first, sanitizers last
[ "$(sed -n '/^step /,/^result/p' "$S" | sed '1d;$d' | awk '{print $1}' | tr '\n' ' ')" = "${STEPS[*]} " ] ||
  { echo "the steps' rows are not in the order ${STEPS[*]}:"; cat "$S"; exit 1; }
for f in gpu.log build.log deps.log; do [ -s "$T/out/$f" ] || { echo "missing log $f"; exit 1; }; done
# (the listing into a file: `tar | grep -q` under pipefail fails when grep quits first)
tar -tzf "$T/out/logs.tar.gz" > "$T/logs.list"
grep -q 'summary.txt' "$T/logs.list" || { echo "logs.tar.gz lacks the summary"; exit 1; }
[ -z "$(find "$T/out" -name '*.safetensors' -o -name '*.vsds')" ] || { echo "OUTDIR holds more than logs"; exit 1; }
row deps "$S" | grep -q ' PASS .*none to set up' || { echo "deps row: $(row deps "$S")"; exit 1; }
if [ -x "$BUILD/bench_gpu" ]; then
  # a CUDA build: each GPU step ran and failed, naming the runtime's reason
  row build "$S" | grep -q ' PASS ' || { echo "the build row should pass"; exit 1; }
  for s in gpu-tests train-fp32 train-fp16 resume; do
    row "$s" "$S" | grep -q ' FAIL .*no usable CUDA device: cuda[A-Za-z]*: cudaError' ||
      { echo "step $s does not fail naming the CUDA error: $(row "$s" "$S")"; exit 1; }
    [ -s "$T/out/$s.log" ] || { echo "missing log $s.log"; exit 1; }
  done
  grep -q 'FAILED: VS_REQUIRE_GPU=1, but no usable CUDA device' "$T/out/gpu-tests.log" ||
    { echo "the GPU tests did not fail for the missing GPU under VS_REQUIRE_GPU=1"; exit 1; }
  ! grep -qi 'skipped' <(row gpu-tests "$S") || { echo "a GPU test reported itself skipped"; exit 1; }
else
  # a build without CUDA: refused, and nothing after it claims to have run
  row build "$S" | grep -q ' FAIL .*no CUDA backend' || { echo "build row: $(row build "$S")"; exit 1; }
  row gpu-tests "$S" | grep -q 'not run: the build failed' || { echo "gpu-tests row: $(row gpu-tests "$S")"; exit 1; }
fi

# The deadline: a step made slow (60 s) is stopped at it, and what comes after is not run.
set +e
start=$SECONDS
CUDA_VISIBLE_DEVICES= VS_GPU_CHECK_DELAY="build=60" "$CHECK" "$T/dl" --deadline 6 --build-dir "$BUILD" --no-build \
  > "$T/dl.out" 2>&1
rc=$?
set -e
took=$((SECONDS - start))
cat "$T/dl/summary.txt"
[ $rc = 1 ] || { echo "deadline: exit $rc (expected 1)"; exit 1; }
[ $took -lt 30 ] || { echo "a 6 s deadline took $took s"; exit 1; }
row build "$T/dl/summary.txt" | grep -q ' FAIL .*stopped at the deadline' ||
  { echo "build row: $(row build "$T/dl/summary.txt")"; exit 1; }
for s in gpu-tests data train-fp32 resume memcheck racecheck; do
  row "$s" "$T/dl/summary.txt" | grep -q ' FAIL .*not run: deadline (6s) reached' ||
    { echo "step $s after the deadline: $(row "$s" "$T/dl/summary.txt")"; exit 1; }
done

# While a step runs: summary.txt shows the steps done, the one running and those to come,
# and logs.tar.gz holds the logs so far; killed then (as a time limit kills it), both stay.
set +e
CUDA_VISIBLE_DEVICES= VS_GPU_CHECK_DELAY="gpu=120" setsid "$CHECK" --build-dir "$BUILD" --no-build "$T/kill" \
  > "$T/kill.out" 2>&1 &
pid=$!
set -e
for _ in $(seq 1 100); do
  grep -qE '^gpu +RUN ' "$T/kill/summary.txt" 2> /dev/null && break
  sleep 0.2
done
kill -9 -- -"$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
cat "$T/kill/summary.txt"
row gpu "$T/kill/summary.txt" | grep -q ' RUN .*running since .*limit 30s' || { echo "no running row for gpu"; exit 1; }
row deps "$T/kill/summary.txt" | grep -q ' PASS ' || { echo "the deps row was not written as the step ended"; exit 1; }
row racecheck "$T/kill/summary.txt" | grep -q 'to come (limit 180s)' || { echo "racecheck: not shown as to come"; exit 1; }
! grep -q '^result:' "$T/kill/summary.txt" || { echo "a killed check's summary has a result line"; exit 1; }
tar -tzf "$T/kill/logs.tar.gz" > "$T/kill.list"
grep -q 'deps.log' "$T/kill.list" && grep -q 'summary.txt' "$T/kill.list" ||
  { echo "logs.tar.gz lacks the logs of the steps done"; exit 1; }

# .devdeps/setup.sh, sourced by the check (a copy of the scripts beside a stand-in .devdeps
# that puts a stand-in nvidia-smi on PATH): what it exports reaches the steps. The card's
# driver supports CUDA 12.4, the (stand-in) toolkit is CUDA 13.0: too old, said plainly.
R="$T/repo"
mkdir -p "$R/scripts" "$R/.devdeps/bin"
cp "$CHECK" "$VS_SOURCE_DIR/scripts/check_train_log.py" "$R/scripts/"
fake_gpu() {   # DRIVER_CUDA
  cat > "$R/.devdeps/bin/nvidia-smi" << EOF
#!/bin/sh
case "\$1" in
  --query-gpu=*) echo "NVIDIA H200, 550.54.15, 9.0" ;;
  *) echo "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: $1 |" ;;
esac
EOF
  printf '#!/bin/sh\necho "Cuda compilation tools, release 13.0, V13.0.88"\n' > "$R/.devdeps/bin/nvcc"
  chmod +x "$R/.devdeps/bin/nvidia-smi" "$R/.devdeps/bin/nvcc"
}
cat > "$R/.devdeps/setup.sh" << 'EOF'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH=$here/bin:$PATH
echo "vaes-deps: 3 packages under /opt/vaes-deps (stand-in)"
EOF
fake_gpu 12.4
set +e
CUDA_VISIBLE_DEVICES= "$R/scripts/gpu-check.sh" --build-dir "$BUILD" --no-build "$T/dd" > "$T/dd.out" 2>&1
set -e
cat "$T/dd/summary.txt"
row deps "$T/dd/summary.txt" | grep -q ' PASS .*vaes-deps: 3 packages' || { echo "deps: $(row deps "$T/dd/summary.txt")"; exit 1; }
grep -q '^card: *NVIDIA H200' "$T/dd/summary.txt" || { echo "setup.sh's PATH did not reach the gpu step"; exit 1; }
row gpu "$T/dd/summary.txt" | grep -q ' FAIL .*driver (550.54.15, CUDA 12.4) is too old for the toolkit (nvcc, CUDA 13.0)' ||
  { echo "gpu row: $(row gpu "$T/dd/summary.txt")"; exit 1; }
fake_gpu 13.0
set +e
CUDA_VISIBLE_DEVICES= "$R/scripts/gpu-check.sh" --build-dir "$BUILD" --no-build "$T/dd2" > "$T/dd2.out" 2>&1
set -e
row gpu "$T/dd2/summary.txt" | grep -q ' PASS .*NVIDIA H200, driver 550.54.15 (CUDA 13.0), toolkit CUDA 13.0, sm_90' ||
  { echo "gpu row with a CUDA 13.0 driver: $(row gpu "$T/dd2/summary.txt")"; exit 1; }
grep -q '^toolkit: CUDA 13.0; built for architectures 90$' "$T/dd2/summary.txt" ||
  { echo "the architecture is not the card's"; exit 1; }
# the build's configure line (a stand-in cmake that records it): -lineinfo, and CUDA_ARCH's
# space-separated list as CMake's ;-list
printf '#!/bin/sh\necho "$@" >> "%s"\nexit 1\n' "$T/cmake-args" > "$R/.devdeps/bin/cmake"
chmod +x "$R/.devdeps/bin/cmake"
set +e
CUDA_VISIBLE_DEVICES= CUDA_ARCH="80 90" "$R/scripts/gpu-check.sh" --build-dir "$T/bg" "$T/dd4" > "$T/dd4.out" 2>&1
set -e
grep -q -- '-DCMAKE_CUDA_ARCHITECTURES=80;90 -DCMAKE_CUDA_FLAGS=-lineinfo' "$T/cmake-args" ||
  { echo "the build's configure line: $(cat "$T/cmake-args")"; exit 1; }
row build "$T/dd4/summary.txt" | grep -q ' FAIL ' && row gpu-tests "$T/dd4/summary.txt" | grep -q 'not run: the build failed' ||
  { echo "a failed build: $(row build "$T/dd4/summary.txt")"; exit 1; }
rm "$R/.devdeps/bin/cmake"
printf 'echo "vaes-deps: OpenBLAS still lacks: libgfortran.so.5" >&2\n' > "$R/.devdeps/setup.sh"
set +e
CUDA_VISIBLE_DEVICES= "$R/scripts/gpu-check.sh" --build-dir "$BUILD" --no-build --deadline 5 "$T/dd3" > "$T/dd3.out" 2>&1
set -e
row deps "$T/dd3/summary.txt" | grep -q ' FAIL .*still lacks: libgfortran' || { echo "deps: $(row deps "$T/dd3/summary.txt")"; exit 1; }

# The training-log checker, on real CPU runs.
"$VAESEARCH" synth --preset small -o "$T/small.vsds" > /dev/null
ARGS=(--data "$T/small.vsds" --threads 2 --set epochs=2 --set eval_every=1)
"$VAECF_TRAIN" "${ARGS[@]}" --out "$T/a" > "$T/a.jsonl"
"${LOGCHECK[@]}" "$T/a.jsonl" --epochs 2 | grep -q '^ok: 2 epochs'
! "${LOGCHECK[@]}" "$T/a.jsonl" --epochs 3 > "$T/r" || { echo "3 epochs accepted from a 2-epoch run"; exit 1; }
grep -q 'FAIL: .*2 epoch lines, expected 3' "$T/r"
! "${LOGCHECK[@]}" "$T/a.jsonl" --resumed > "$T/r" || { echo "a fresh run accepted as resumed"; exit 1; }
grep -q 'did not resume' "$T/r"
# the popularity baseline: after 2 epochs the small preset is still below it (0.261 vs 0.262
# on the CPU), after 5 well above (0.30)
! "${LOGCHECK[@]}" "$T/a.jsonl" --beat-baseline > "$T/r" || { echo "2 epochs accepted as beating popularity"; cat "$T/r"; exit 1; }
grep -q 'does not beat the popularity baseline' "$T/r"
"$VAECF_TRAIN" "${ARGS[@]}" --set epochs=5 --out "$T/five" > "$T/five.jsonl"
"${LOGCHECK[@]}" "$T/five.jsonl" --epochs 5 --beat-baseline | grep -q '^ok: 5 epochs.*(popularity 0\.2'
grep -v '"event":"start"' "$T/five.jsonl" > "$T/nostart.jsonl"
! "${LOGCHECK[@]}" "$T/nostart.jsonl" --beat-baseline > "$T/r" && grep -q 'no popularity baseline' "$T/r"
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
echo "gpu-check fails clearly without a GPU, keeps its deadline and its summary; check_train_log accepts finished runs only"
