# cli_gpu_require: every GPU test (tests/test_gpu_*.c, each one of them) fails under
# VS_REQUIRE_GPU=1 where it cannot run, saying why, and reports itself skipped (77)
# without it: so the GPU check (scripts/gpu-check.sh sets VS_REQUIRE_GPU=1) can never
# pass on a test that did not run. The GPUs are hidden (CUDA_VISIBLE_DEVICES empty), so
# this holds on a machine with one too; in a build without CUDA the reason is the build,
# and a GPU test of ranks also fails for a build without NCCL.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
TESTS="$(dirname "$VAECF_TRAIN")/tests"
n=0
for src in "$VS_SOURCE_DIR"/tests/test_gpu_*.c; do
  name=$(basename "$src" .c)
  bin="$TESTS/$name"
  [ -x "$bin" ] || { echo "FAIL: $name is not built ($bin)"; exit 1; }
  set +e
  CUDA_VISIBLE_DEVICES= VS_REQUIRE_GPU=1 VS_TEST_TMP="$T/$name" "$bin" > "$T/$name.req" 2>&1
  rc_req=$?
  CUDA_VISIBLE_DEVICES= VS_REQUIRE_GPU= VS_TEST_TMP="$T/$name" "$bin" > "$T/$name.opt" 2>&1
  rc_opt=$?
  set -e
  echo "$name: VS_REQUIRE_GPU=1 exit $rc_req ($(tail -n 1 "$T/$name.req")); without it exit $rc_opt"
  if [ $rc_req = 0 ] || [ $rc_req = 77 ]; then
    echo "FAIL: $name under VS_REQUIRE_GPU=1 exited $rc_req without a usable GPU: it must fail"
    exit 1
  fi
  grep -q '^FAILED: VS_REQUIRE_GPU=1, but ' "$T/$name.req" ||
    { echo "FAIL: $name did not say why it cannot run:"; cat "$T/$name.req"; exit 1; }
  [ $rc_opt = 77 ] && grep -q '^skipped: ' "$T/$name.opt" ||
    { echo "FAIL: $name without VS_REQUIRE_GPU exited $rc_opt (expected 77, skipped)"; cat "$T/$name.opt"; exit 1; }
  n=$((n + 1))
done
[ $n -ge 6 ] || { echo "FAIL: only $n GPU tests found in $VS_SOURCE_DIR/tests"; exit 1; }
echo "all $n GPU tests fail under VS_REQUIRE_GPU=1 without a usable GPU, and skip without it"
