#!/usr/bin/env bash
# print_skipped: after ctest's summary (CTestCustom.cmake's post-test command), each
# test that skipped itself in this ctest run and the reason it gave (tests/run_test.sh
# kept them in the folder DIR, emptied before each run).
# `print_skipped.sh --clear DIR` empties DIR first (the pre-test command). A ctest run
# inside a test (scripts/gpu-check.sh under cli_gpu_check) has VS_SKIPPED_DIR set in its
# environment by the outer run: it leaves DIR and the report to the outer run.
[ -z "${VS_SKIPPED_DIR:-}" ] || exit 0
if [ "$1" = --clear ]; then
  rm -rf "$2"
  exit 0
fi
dir=$1
shopt -s nullglob
files=("$dir"/*)
[ ${#files[@]} -gt 0 ] || exit 0
echo "Skipped tests, and why:"
for f in "${files[@]}"; do
  printf '  %s: %s\n' "$(basename "$f")" "$(head -n 1 "$f")"
done
