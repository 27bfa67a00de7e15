#!/usr/bin/env bash
# run_test: runs one ctest test, `run_test.sh NAME COMMAND...`, passing its output and
# exit status through; when the test reports itself skipped (exit 77), the reason it
# printed (its last line of output) is kept in $VS_SKIPPED_DIR/NAME, and ctest prints
# the reasons after its summary (CTestCustom.cmake runs tests/print_skipped.sh), since
# ctest itself shows a skipped test's output nowhere.
name=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" = 77 ] && [ -n "${VS_SKIPPED_DIR:-}" ]; then
  mkdir -p "$VS_SKIPPED_DIR"
  reason=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
  printf '%s\n' "${reason:-(the test gave no reason)}" > "$VS_SKIPPED_DIR/$name"
fi
exit "$rc"
