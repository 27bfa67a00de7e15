#!/usr/bin/env bash
# gpu-check: the whole GPU check of the CUDA backend in one command (docs/cuda.md, "The
# first GPU run"). The steps, cheapest and most telling first:
#   deps      source .devdeps/setup.sh when it exists (a bare GPU machine's packages)
#   gpu       nvidia-smi sees a card, and its driver is new enough for nvcc's toolkit
#   build     configure with CUDA (-lineinfo) for this GPU's architecture and build
#   gpu-tests ctest -L gpu with VS_REQUIRE_GPU=1: a GPU test that finds no usable device
#             fails, printing the CUDA error, instead of reporting itself skipped
#   data      the small synthetic preset
#   train-P   vaecf-train --device cuda, 10 epochs, for P in fp32 tf32 bf16 fp16: done,
#             finite losses, and a best validation NDCG@100 above the popularity baseline's
#   resume    --stop-after-epochs 3, then --resume: stopped, then done as train-fp32
#   memcheck  compute-sanitizer --tool memcheck on test_gpu_backend
#   racecheck compute-sanitizer --tool racecheck on test_gpu_eval
# Each step runs with a time limit, cut to what is left before the deadline; a step
# that would start after it is marked "not run: deadline". OUTDIR/summary.txt is
# rewritten as each step starts and ends (the step running, its limit, the steps to
# come), and OUTDIR/logs.tar.gz with it, so a run killed from outside still leaves both;
# every step's log is OUTDIR/STEP.log (the data and the trained models go to a scratch
# folder, removed at the end). The exit status is 1 when any step failed or did not run.
#
#   scripts/gpu-check.sh OUTDIR [--deadline SECONDS] [--build-dir DIR] [--no-build]
#
# --build-dir DIR     where to build (default: build-gpu in the repository)
# --no-build          use DIR as it is built (it must have the CUDA backend)
# --deadline SECONDS  no step starts or runs past this many seconds after the start
#                     (default 420)
# Environment: CUDA_ARCH (default: the GPU's compute capability, else "80 90"), JOBS
# (default: the cores); VS_GPU_CHECK_DELAY="STEP=SECONDS ..." makes those steps sleep
# first, as a slow step would (for tests/cli_gpu_check.sh).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$REPO/build-gpu"
DO_BUILD=1
DEADLINE=420
usage() { sed -n '/^#   scripts\/gpu-check.sh/,/^# Environment/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
ARGS=()
while [ $# -gt 0 ]; do   # options before or after OUTDIR
  case "$1" in
    --build-dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --deadline)
      [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] ||
        { echo "gpu-check: --deadline takes a number of seconds > 0" >&2; exit 2; }
      DEADLINE=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "gpu-check: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ ${#ARGS[@]} -eq 1 ] || { usage >&2; exit 2; }
OUT=${ARGS[0]}
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
# the dataset and the runs' folders (models, states) go to a scratch folder, removed at
# the end: OUTDIR holds the logs alone
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
JOBS=${JOBS:-$(nproc 2> /dev/null || echo 16)}
export VS_REQUIRE_GPU=1
T0=$SECONDS
left() { echo $((DEADLINE - (SECONDS - T0))); }
have() { command -v "$1" > /dev/null 2>&1; }

# The steps in order, each with its own time limit (seconds; the deadline may cut it).
STEP_NAMES=(deps gpu build gpu-tests data train-fp32 train-tf32 train-bf16 train-fp16 resume memcheck racecheck)
declare -A LIMIT=([deps]=120 [gpu]=30 [build]=300 [gpu-tests]=240 [data]=60 [train-fp32]=90 [train-tf32]=90
                  [train-bf16]=90 [train-fp16]=90 [resume]=120 [memcheck]=240 [racecheck]=180)
[ $DO_BUILD = 1 ] || LIMIT[build]=10
for s in "${STEP_NAMES[@]}"; do rm -f "$OUT/$s.log"; done   # a previous run's
rm -f "$OUT/summary.txt" "$OUT/logs.tar.gz"
declare -A RESULT=() TIME=() NOTE=()
RUNNING="" RUNNING_AT=0 RUNNING_LIMIT=0
failed=0

# ---------------------------------------------------------------- summary and logs
card="not looked for yet" driver="-" driver_cuda="-" toolkit="-" cap="" ARCH=""
commit_of() {
  local c
  if c=$(git -C "$REPO" rev-parse --short HEAD 2> /dev/null); then
    git -C "$REPO" diff --quiet HEAD 2> /dev/null || c="$c (with uncommitted changes)"
    echo "$c"
  else
    echo "unknown (not a git checkout)"
  fi
}
COMMIT=$(commit_of)

# summary.txt as it stands: the machine, each step's row (done, running, or to come),
# and, at the end, the result. Written aside, then renamed into place.
write_summary() {   # [RESULT_LINE]
  {
    echo "== gpu-check summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - T0)) s of a $DEADLINE s deadline)"
    echo "card:    $card"
    echo "driver:  $driver (supports CUDA $driver_cuda)"
    echo "toolkit: CUDA $toolkit; built for architectures ${ARCH:--}"
    echo "commit:  $COMMIT"
    printf '%-11s %-6s %6s  %s\n' step result time note
    local s
    for s in "${STEP_NAMES[@]}"; do
      if [ -n "${RESULT[$s]:-}" ]; then
        printf '%-11s %-6s %5ss  %s\n' "$s" "${RESULT[$s]}" "${TIME[$s]}" "${NOTE[$s]}"
      elif [ "$s" = "$RUNNING" ]; then
        printf '%-11s %-6s %5ss  %s\n' "$s" RUN "$((SECONDS - RUNNING_AT))" \
          "running since ${RUNNING_AT}s after the start, limit ${RUNNING_LIMIT}s (see $s.log)"
      else
        printf '%-11s %-6s %6s  %s\n' "$s" - - "to come (limit ${LIMIT[$s]}s)"
      fi
    done
    [ $# -eq 0 ] || echo "$1"
  } > "$OUT/.summary.tmp" && mv -f "$OUT/.summary.tmp" "$OUT/summary.txt"
  # every log in one file too, for copying off the machine
  tar -czf "$OUT/.logs.tmp" -C "$OUT" --exclude logs.tar.gz --exclude .logs.tmp --exclude .summary.tmp . \
    2> /dev/null && mv -f "$OUT/.logs.tmp" "$OUT/logs.tar.gz"
}

# The line of a log that says why a step failed: the first that names the cause, else
# the first mentioning an error or failure, else the last; with ctest's count first.
reason() {
  local line counts
  line=$(grep -m 1 -E '^(FAIL|FAILED):' "$1")
  [ -n "$line" ] || line=$(grep -m 1 -E 'no usable CUDA device|too old for|FAILED:|FAIL:|[Ee]rror:|CHECK[_A-Z]* failed|not found' "$1")
  [ -n "$line" ] || line=$(grep -m 1 -iE 'error|fail' "$1")
  [ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
  counts=$(grep -m 1 -E '[0-9]+% tests passed' "$1")
  [ -n "$counts" ] && line="$counts; $line"
  line=${line//$'\t'/ }
  echo "${line:0:220}"
}

# What a passing step's log says last: ctest's count, else its last line.
passed() {
  grep -m 1 -E '[0-9]+% tests passed' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -n 1 | cut -c1-200
}

# record NAME RESULT SECONDS NOTE: the step's row, printed and in summary.txt at once.
record() {
  RESULT[$1]=$2 TIME[$1]=$3 NOTE[$1]=$4
  RUNNING=""
  [ "$2" = PASS ] || failed=1
  printf 'gpu-check: %-11s %s (%ss) %s\n' "$1" "$2" "$3" "$4"
  write_summary
}

# not_run NAME WHY: a step that did not run; past the deadline, that is the reason.
not_run() {
  local why=$2
  [ "$(left)" -lt 5 ] && why="deadline (${DEADLINE}s) reached"
  record "$1" FAIL 0 "not run: $why"
}

# step NAME COMMAND...: runs it (a program or one of the functions below) with its
# output in OUTDIR/NAME.log, stopped at its limit or the deadline, whichever is first.
step() {
  local name=$1 t=$SECONDS rc limit=${LIMIT[$1]} remaining delay=0 d
  shift
  remaining=$(left)
  if [ "$remaining" -lt 5 ]; then
    not_run "$name" deadline
    return 1
  fi
  [ "$remaining" -lt "$limit" ] && limit=$remaining
  for d in ${VS_GPU_CHECK_DELAY:-}; do [ "${d%%=*}" = "$name" ] && delay=${d#*=}; done
  RUNNING=$name RUNNING_AT=$((SECONDS - T0)) RUNNING_LIMIT=$limit
  write_summary
  timeout "$limit" bash -c 'sleep "$1"; shift; "$@"' "$name" "$delay" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    record "$name" PASS $((SECONDS - t)) "$(passed "$OUT/$name.log")"
  elif [ $rc = 124 ]; then
    if [ "$limit" -lt "${LIMIT[$name]}" ]; then
      record "$name" FAIL $((SECONDS - t)) "stopped at the deadline, after ${limit}s (its own limit ${LIMIT[$name]}s); see $name.log"
    else
      record "$name" FAIL $((SECONDS - t)) "timed out after ${limit}s; see $name.log"
    fi
  else
    record "$name" FAIL $((SECONDS - t)) "exit $rc: $(reason "$OUT/$name.log")"
  fi
  return $rc
}

# ---------------------------------------------------------------- deps: .devdeps
# Sourced here, in this shell, so that what it exports reaches every step.
write_summary
if [ -f "$REPO/.devdeps/setup.sh" ]; then
  t=$SECONDS
  RUNNING=deps RUNNING_AT=0 RUNNING_LIMIT=${LIMIT[deps]}
  # shellcheck disable=SC1091
  source "$REPO/.devdeps/setup.sh" > "$OUT/deps.log" 2>&1
  if grep -qE 'not writable|still lacks' "$OUT/deps.log"; then
    record deps FAIL $((SECONDS - t)) "$(grep -m 1 -E 'not writable|still lacks' "$OUT/deps.log")"
  else
    record deps PASS $((SECONDS - t)) "$(passed "$OUT/deps.log")"
  fi
else
  echo "no $REPO/.devdeps/setup.sh: the machine's own packages are used" > "$OUT/deps.log"
  record deps PASS 0 "none to set up (no .devdeps/setup.sh)"
fi

# ---------------------------------------------------------------- gpu: the machine
# The driver's CUDA version (what it supports) against the toolkit's (what nvcc builds
# for): a driver older than the toolkit's major version runs none of its code, and every
# CUDA call fails with cudaErrorInsufficientDriver; within one major version, CUDA's
# minor version compatibility lets it run (the build compiles for the GPU's own
# architecture, so no PTX is left to JIT).
machine() {
  local q dmaj dmin tmaj tmin
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $COMMIT"
  echo "gpu: $card; driver $driver (CUDA $driver_cuda); toolkit CUDA $toolkit; architectures $ARCH"
  have nvidia-smi && nvidia-smi 2>&1
  have nvcc && nvcc --version
  if [ -z "$cap" ]; then echo "FAIL: ${card#none: }"; return 1; fi
  if [ "$toolkit" = "-" ]; then echo "FAIL: nvcc not found (put the CUDA toolkit's bin on PATH)"; return 1; fi
  if [ "$driver_cuda" = "-" ]; then echo "FAIL: nvidia-smi does not say which CUDA version the driver supports"; return 1; fi
  IFS=. read -r dmaj dmin <<< "$driver_cuda"
  IFS=. read -r tmaj tmin <<< "$toolkit"
  if [ "$dmaj" -lt "$tmaj" ]; then
    echo "FAIL: the driver ($driver, CUDA $driver_cuda) is too old for the toolkit (nvcc, CUDA $toolkit): every CUDA call will fail with cudaErrorInsufficientDriver; install a driver for CUDA $tmaj or build with a CUDA $dmaj toolkit"
    return 1
  fi
  if [ "$dmaj" = "$tmaj" ] && [ "${dmin:-0}" -lt "${tmin:-0}" ]; then
    echo "$card, driver $driver (CUDA $driver_cuda) older than the toolkit (CUDA $toolkit) within major version $tmaj: runs by minor version compatibility"
  else
    echo "$card, driver $driver (CUDA $driver_cuda), toolkit CUDA $toolkit, sm_$cap"
  fi
}

if have nvidia-smi && q=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2> /dev/null) &&
   [ -n "$q" ]; then
  q=$(head -n 1 <<< "$q")
  card=$(cut -d, -f1 <<< "$q" | sed 's/^ *//')
  driver=$(cut -d, -f2 <<< "$q" | sed 's/^ *//')
  cap=$(cut -d, -f3 <<< "$q" | tr -d ' .')
  driver_cuda=$(nvidia-smi 2> /dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)
  [ -n "$driver_cuda" ] || driver_cuda="-"
elif have nvidia-smi; then
  card="none: nvidia-smi: $(nvidia-smi 2>&1 | head -n 1)"
else
  card="none: nvidia-smi not found (no NVIDIA driver here)"
fi
have nvcc && toolkit=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
[ -n "$toolkit" ] || toolkit="-"
ARCH=${CUDA_ARCH:-${cap:-80 90}}
export REPO BUILD WORK ARCH JOBS COMMIT card driver driver_cuda toolkit cap
export -f have machine
step gpu machine

# ---------------------------------------------------------------- the other steps
build() {
  # CMake takes a ;-list of architectures (CUDA_ARCH is a space-separated one)
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVAESEARCH_CUDA=ON \
        "-DCMAKE_CUDA_ARCHITECTURES=${ARCH// /;}" -DCMAKE_CUDA_FLAGS=-lineinfo &&
    cmake --build "$BUILD" -j "$JOBS" &&
    echo "built $BUILD for sm_${ARCH// /, sm_} with -lineinfo"
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

EPOCHS=10   # the small preset's validation NDCG@100 passes popularity's by epoch 4 on the CPU

train() {   # PRECISION: the run's output lines, then the checker's verdict
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=$EPOCHS --set "precision=$1" \
    --out "$WORK/run-$1" > "$WORK/run-$1.jsonl"
  local rc=$?
  cat "$WORK/run-$1.jsonl"
  [ $rc = 0 ] || return 1
  python3 "$REPO/scripts/check_train_log.py" "$WORK/run-$1.jsonl" --epochs $EPOCHS --beat-baseline
}

resume() {
  local rc
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=$EPOCHS --out "$WORK/run-resume" \
    --stop-after-epochs 3 > "$WORK/run-resume-1.jsonl" 2> "$WORK/run-resume-1.err"
  rc=$?
  cat "$WORK/run-resume-1.jsonl" "$WORK/run-resume-1.err"
  if [ $rc != 3 ] || ! grep -q '"event":"stopped"' "$WORK/run-resume-1.jsonl"; then
    echo "FAIL: --stop-after-epochs 3 exited $rc without a stopped line (expected exit 3): $(tail -n 1 "$WORK/run-resume-1.err")"
    return 1
  fi
  "$BUILD/vaecf-train" --data "$WORK/small.vsds" --device cuda --set epochs=$EPOCHS --out "$WORK/run-resume" \
    --resume > "$WORK/run-resume-2.jsonl"
  rc=$?
  cat "$WORK/run-resume-2.jsonl"
  [ $rc = 0 ] || return 1
  python3 "$REPO/scripts/check_train_log.py" "$WORK/run-resume-2.jsonl" --epochs $EPOCHS --resumed --beat-baseline
}

export EPOCHS
export -f build reuse_build sanitize train resume
built=0
if [ $DO_BUILD = 1 ]; then
  step build build && built=1
else
  step build reuse_build && built=1
fi
if [ $built = 1 ]; then
  step gpu-tests ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout "${LIMIT[gpu-tests]}"
  if step data "$BUILD/vaesearch" synth --preset small -o "$WORK/small.vsds"; then
    for p in fp32 tf32 bf16 fp16; do step "train-$p" train "$p"; done
    step resume resume
  else
    for s in train-fp32 train-tf32 train-bf16 train-fp16 resume; do not_run "$s" "no dataset"; done
  fi
  step memcheck sanitize memcheck test_gpu_backend
  step racecheck sanitize racecheck test_gpu_eval
else
  for s in gpu-tests data train-fp32 train-tf32 train-bf16 train-fp16 resume memcheck racecheck; do
    not_run "$s" "the build failed"
  done
fi

# ---------------------------------------------------------------- result
if [ $failed = 0 ]; then result="result: PASS (every step passed)"; else result="result: FAIL (logs in $OUT)"; fi
write_summary "$result"
echo
cat "$OUT/summary.txt"
exit $failed
