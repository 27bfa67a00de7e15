#!/usr/bin/env bash
# print_skipped: after ctest's summary (CTestCustom.cmake's post-test command), each
# test that skipped itself in this ctest run and the reason it gave (tests/run_test.sh
# kept them in the folder DIR, emptied before each run).
dir=$1
shopt -s nullglob
files=("$dir"/*)
[ ${#files[@]} -gt 0 ] || exit 0
echo "Skipped tests, and why:"
for f in "${files[@]}"; do
  printf '  %s: %s\n' "$(basename "$f")" "$(head -n 1 "$f")"
done
