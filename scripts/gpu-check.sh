#!/usr/bin/env bash
# gpu-check: the whole GPU check of the CUDA backend in one command (docs/cuda.md):
#   gpu       nvidia-smi sees a card (its name, driver and CUDA version head the summary)
#   build     configure with CUDA for this GPU's architecture and build (-j 16)
#   gpu-tests ctest -L gpu with VS_REQUIRE_GPU=1: a GPU test that finds no usable device
#             fails, printing the CUDA error, instead of reporting itself skipped
#   memcheck  compute-sanitizer --tool memcheck on test_gpu_backend
#   racecheck compute-sanitizer --tool racecheck on test_gpu_eval
#   train-P   vaecf-train --device cuda, 3 epochs of the small synthetic preset, for P in
#             fp32 tf32 bf16 fp16: a done line and finite losses
#   resume    --stop-after-epochs 1, then --resume: stopped, then done with finite losses
# Every step's log goes into OUTDIR, and all of them into OUTDIR/logs.tar.gz (the data and
# the trained models into a scratch folder, removed at the end); a summary table (each
# step, its result, its time; the card, the driver and the CUDA version) ends the output
# and OUTDIR/summary.txt. The exit status is 1 when any step failed (a step that could
# not run counts as failed).
#
#   scripts/gpu-check.sh [--build-dir DIR] [--no-build] OUTDIR
#
# --build-dir DIR  where to build (default: build-gpu in the repository)
# --no-build       use DIR as it is built (it must have the CUDA backend)
# Environment: CUDA_ARCH (default: the GPU's compute capability, else "80 90"), JOBS (16).
# On a bare GPU machine with ../shared/device copied to .devdeps:
#   source .devdeps/setup.sh && scripts/gpu-check.sh OUTDIR
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$REPO/build-gpu"
DO_BUILD=1
usage() { sed -n '/^#   scripts\/gpu-check.sh/,/^# Environment/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gpu-check: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
OUT=$1
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
# the dataset and the runs' folders (models, states) go to a scratch folder, removed at
# the end: OUTDIR holds the logs alone
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
JOBS=${JOBS:-16}
export VS_REQUIRE_GPU=1
T0=$SECONDS

# ---------------------------------------------------------------- the machine (step gpu)
have() { command -v "$1" > /dev/null 2>&1; }
card="none found" driver="-" driver_cuda="-" cap=""
if have nvidia-smi && q=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2> /dev/null) &&
   [ -n "$q" ]; then
  q=$(head -n 1 <<< "$q")
  card=$(cut -d, -f1 <<< "$q" | sed 's/^ *//')
  driver=$(cut -d, -f2 <<< "$q" | sed 's/^ *//')
  cap=$(cut -d, -f3 <<< "$q" | tr -d ' .')
  driver_cuda=$(nvidia-smi 2> /dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)
elif have nvidia-smi; then
  card="none: nvidia-smi: $(nvidia-smi 2>&1 | head -n 1)"
else
  card="none: nvidia-smi not found (no NVIDIA driver here)"
fi
toolkit="-"
have nvcc && toolkit=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
ARCH=${CUDA_ARCH:-${cap:-80 90}}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if commit=$(git -C "$REPO" rev-parse --short HEAD 2> /dev/null); then
    git -C "$REPO" diff --quiet HEAD 2> /dev/null || commit="$commit (with uncommitted changes)"
  else
    commit="unknown (not a git checkout)"
  fi
  echo "commit: $commit"
  echo "gpu: $card; driver $driver (CUDA $driver_cuda); toolkit CUDA $toolkit; architectures $ARCH"
  have nvidia-smi && nvidia-smi 2>&1
  have nvcc && nvcc --version
} > "$OUT/machine.log" 2>&1

# ---------------------------------------------------------------- steps
STEPS=() RESULTS=() TIMES=() NOTES=()
failed=0

# The line of a log that says why a step failed: the first that names the cause, else
# the first mentioning an error or failure, else the last; with ctest's count first.
reason() {
  local line counts
  line=$(grep -m 1 -E 'no usable CUDA device|FAILED:|FAIL:|[Ee]rror:|CHECK[_A-Z]* failed|not found' "$1")
  [ -n "$line" ] || line=$(grep -m 1 -iE 'error|fail' "$1")
  [ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
  counts=$(grep -m 1 -E '[0-9]+% tests passed' "$1")
  [ -n "$counts" ] && line="$counts; $line"
  line=${line//$'\t'/ }
  echo "${line:0:220}"
}

# What a passing step's log says last: ctest's count, else its last line.
passed() {
  grep -m 1 -E '[0-9]+% tests passed' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -n 1 | cut -c1-160
}

# record NAME RESULT SECONDS NOTE
record() {
  STEPS+=("$1") RESULTS+=("$2") TIMES+=("$3") NOTES+=("$4")
  [ "$2" = PASS ] || failed=1
  printf 'gpu-check: %-11s %s (%ss) %s\n' "$1" "$2" "$3" "$4"
}

# step NAME LIMIT_SECONDS COMMAND...: runs it (a program or one of the functions below)
# with its output in OUTDIR/NAME.log, stopped after LIMIT_SECONDS.
step() {
  local name=$1 limit=$2 t=$SECONDS rc
  shift 2
  timeout "$limit" bash -c '"$@"' "$name" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    record "$name" PASS $((SECONDS - t)) "$(passed "$OUT/$name.log")"
  elif [ $rc = 124 ]; then
    record "$name" FAIL $((SECONDS - t)) "timed out after ${limit}s; see $name.log"
  else
    record "$name" FAIL $((SECONDS - t)) "exit $rc: $(reason "$OUT/$name.log")"
  fi
  return $rc
}

not_run() { record "$1" FAIL 0 "not run: $2"; }

build() {
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVAESEARCH_CUDA=ON \
        "-DCMAKE_CUDA_ARCHITECTURES=$ARCH" &&
    cmake --build "$BUILD" -j "$JOBS" &&
    echo "built $BUILD for sm_${ARCH// /, sm_}"
}

reuse_build() {
  if [ ! -x "$BUILD/vaecf-train" ]; then
    echo "error: $BUILD/vaecf-train not found: build first, or leave out --no-build"
    return 1
  fi
  if [ ! -x "$BUILD/bench_gpu" ]; then
    echo "error: $BUILD has no CUDA backend (no bench_gpu): configure it with -DVAESEARCH_CUDA=ON"
    return 1
  fi
  echo "using $BUILD as built"
}

sanitize() {   # TOOL TEST
  local cs
  cs=$(command -v compute-sanitizer || command -v /usr/local/cuda/compute-sanitizer/compute-sanitizer)
  [ -n "$cs" ] || { echo "error: compute-sanitizer not found (it comes with the CUDA toolkit)"; return 127; }
  "$cs" --tool "$1" --error-exitcode 99 "$BUILD/tests/$2"
}

train() {   # PRECISION: the run's output lines, then the checker's verdict
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=3 --set "precision=$1" \
    --out "$WORK/run-$1" > "$WORK/run-$1.jsonl"
  local rc=$?
  cat "$WORK/run-$1.jsonl"
  [ $rc = 0 ] || return 1
  python3 "$REPO/scripts/check_train_log.py" "$WORK/run-$1.jsonl" --epochs 3
}

resume() {
  local rc
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=3 --out "$WORK/run-resume" \
    --stop-after-epochs 1 > "$WORK/run-resume-1.jsonl"
  rc=$?
  cat "$WORK/run-resume-1.jsonl"
  if [ $rc != 3 ] || ! grep -q '"event":"stopped"' "$WORK/run-resume-1.jsonl"; then
    echo "FAIL: --stop-after-epochs 1 exited $rc without a stopped line (expected exit 3)"
    return 1
  fi
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=3 --out "$WORK/run-resume" \
    --resume > "$WORK/run-resume-2.jsonl"
  rc=$?
  cat "$WORK/run-resume-2.jsonl"
  [ $rc = 0 ] || return 1
  python3 "$REPO/scripts/check_train_log.py" "$WORK/run-resume-2.jsonl" --epochs 3 --resumed
}

if [ -n "$cap" ]; then record gpu PASS 0 "$card, driver $driver"; else record gpu FAIL 0 "${card#none: }"; fi
export REPO BUILD WORK ARCH JOBS
export -f have build reuse_build sanitize train resume
built=0
if [ $DO_BUILD = 1 ]; then
  step build 420 build && built=1
else
  step build 10 reuse_build && built=1
fi
if [ $built = 1 ]; then
  step gpu-tests 300 ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 240
  step memcheck 240 sanitize memcheck test_gpu_backend
  step racecheck 180 sanitize racecheck test_gpu_eval
  if step data 60 "$BUILD/vaesearch" synth --preset small -o "$WORK/small.vsds"; then
    for p in fp32 tf32 bf16 fp16; do step "train-$p" 120 train "$p"; done
    step resume 180 resume
  else
    for s in train-fp32 train-tf32 train-bf16 train-fp16 resume; do not_run "$s" "no dataset"; done
  fi
else
  for s in gpu-tests memcheck racecheck data train-fp32 train-tf32 train-bf16 train-fp16 resume; do
    not_run "$s" "the build failed"
  done
fi

# ---------------------------------------------------------------- summary
echo
{
  echo "== gpu-check summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - T0)) s in all)"
  echo "card:    $card"
  echo "driver:  $driver (supports CUDA $driver_cuda)"
  echo "toolkit: CUDA $toolkit; built for architectures $ARCH"
  echo "commit:  $(sed -n 's/^commit: //p' "$OUT/machine.log")"
  printf '%-11s %-6s %6s  %s\n' step result time note
  for i in "${!STEPS[@]}"; do
    printf '%-11s %-6s %5ss  %s\n' "${STEPS[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}" "${NOTES[$i]}"
  done
  if [ $failed = 0 ]; then echo "result: PASS (every step passed)"; else echo "result: FAIL (logs in $OUT)"; fi
} | tee "$OUT/summary.txt"
# every log in one file too, for copying off the machine
tar -czf "$OUT/logs.tar.gz" -C "$OUT" --exclude logs.tar.gz . 2> /dev/null
exit $failed
