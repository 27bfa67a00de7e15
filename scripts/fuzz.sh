#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets (fuzz/, docs/fuzzing.md) with clang, ASan and
# UBSan into ./build-fuzz, and runs each for SECONDS (default 30) from its seed corpus
# and dictionary. New inputs go to a scratch folder, not to fuzz/corpus/; a finding
# (crash, leak, undefined behaviour, timeout) stops with the reproducer's path and exit 1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: ingest dataset space config
#        safetensors trainer_output; default all). FUZZ_JOBS=N runs N workers a target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ingest dataset space config safetensors trainer_output)
mkdir -p build-fuzz
CC=clang cmake -S . -B build-fuzz -DVAESEARCH_FUZZ=ON -DVAESEARCH_CUDA=OFF -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz --target fuzz_all -j "$(nproc)" > build-fuzz/build.log 2>&1 || { tail -40 build-fuzz/build.log; exit 1; }
scratch="$(mktemp -d "${TMPDIR:-/tmp}/vaesearch-fuzz.XXXXXX")"
findings="$PWD/build-fuzz/findings"
mkdir -p "$findings"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="build-fuzz/fuzz_$t.log"
  if build-fuzz/fuzz/fuzz_"$t" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$findings/$t-" "$scratch/$t" "fuzz/corpus/$t" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$t: ${runs:-?} executions in ${seconds} s, no finding"
  else
    status=1
    echo "fuzz_$t: FINDING (log $log):"
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
  fi
done
rm -rf "$scratch"
exit $status
