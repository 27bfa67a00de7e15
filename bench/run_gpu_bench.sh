#!/usr/bin/env bash
# run_gpu_bench: the CUDA backend's benchmark (bench_gpu: users/s per precision and batch
# size, evaluation time for 10,000 users, TFLOP/s against the cuBLAS floor) and, when
# python3 can import torch, the PyTorch Mult-VAE anchor ../shared/bench/torch_multvae.py
# in the same call, so both numbers come from the same GPU and the same minutes.
# Then, in builds with NCCL, bench_allreduce (the data-parallel path's overhead on one GPU).
#
#   bench/run_gpu_bench.sh [BUILD_DIR] [bench_gpu options...]     (default build dir: build)
#
# Needs a CUDA build (-DVAESEARCH_CUDA=ON) and a GPU. It fails (non-zero exit, and the
# last line says so) when bench_gpu fails, any configuration included (a failed one
# prints its error, never a figure), or when the PyTorch anchor, able to run, fails; a
# figure printed by a failed run is not one to record.
# TORCH_ARGS (environment) passes options to the PyTorch script, e.g.
#   TORCH_ARGS="--variants gpu:bf16:4096 --epochs 1" bench/run_gpu_bench.sh build-cuda
# TORCH_MULTVAE names that script where ../shared does not travel (a copy in the checkout).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[ $# -gt 0 ] && shift
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
BENCH="$BUILD/bench_gpu"
if [ ! -x "$BENCH" ]; then
  echo "run_gpu_bench: $BENCH not found: configure with -DVAESEARCH_CUDA=ON and build the bench_gpu target" >&2
  exit 2
fi

echo "== vaesearch bench_gpu ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fail() { echo "run_gpu_bench: FAILED: $*; nothing of this run is to be recorded" >&2; exit 1; }
"$BENCH" "$@" || fail "bench_gpu exited $?"

TORCH=${TORCH_MULTVAE:-$REPO/../shared/bench/torch_multvae.py}
echo
if [ ! -f "$TORCH" ]; then
  echo "== PyTorch anchor: $TORCH not found, skipped"
elif ! python3 -c 'import torch, scipy, numpy; assert torch.cuda.is_available()' 2> /dev/null; then
  echo "== PyTorch anchor: python3 cannot import torch (with CUDA), scipy and numpy here, skipped"
else
  echo "== PyTorch anchor: $TORCH"
  # its defaults: port:tf32:500, gpu:tf32:500, gpu:bf16:500, gpu:bf16:4096; TORCH_ARGS overrides
  # shellcheck disable=SC2086
  python3 "$TORCH" ${TORCH_ARGS:-} || fail "the PyTorch anchor exited $?"
fi

# The data-parallel path's overhead on one GPU (NCCL with one rank against the plain
# step; docs/performance.md, "Data parallelism"), in builds with NCCL.
echo
if [ -x "$BUILD/bench_allreduce" ]; then
  echo "== bench_allreduce"
  "$BUILD/bench_allreduce"
else
  echo "== bench_allreduce: not built (no NCCL in this build), skipped"
fi
