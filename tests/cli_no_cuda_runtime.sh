# cli_no_cuda_runtime: one build, two machines. A CUDA build's programs, run where the
# CUDA libraries are missing (their folders hidden under empty file systems in a private
# mount namespace, LD_LIBRARY_PATH empty), still do all CPU work and read results: a
# sweep, top, status, show, a trainer on the CPU; `--device cuda` says which library
# is missing. Needs a CUDA build, root and unshare; skipped otherwise, saying which.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
BUILD=$(dirname "$VAECF_TRAIN")
MODULE="$BUILD/libvaesearch_cuda.so"
# The folders that hold the CUDA libraries the module (or the programs) need, where
# their links lead.
dirs=$(for f in "$MODULE" "$VAESEARCH" "$VAECF_TRAIN"; do [ ! -e "$f" ] || ldd "$f"; done |
       awk '$1 ~ /^lib(cu|nccl|nvidia)/ && $3 ~ /^\// {print $3}' | xargs -r -n 1 readlink -f | xargs -r -n 1 dirname | sort -u)
[ -n "$dirs" ] || { echo "skipped: this build uses no CUDA library (configure with -DVAESEARCH_CUDA=ON)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: hiding the CUDA libraries needs root (a private mount namespace)"; exit 77; }
unshare -m true 2> /dev/null || { echo "skipped: unshare -m is not allowed here"; exit 77; }
echo "hiding: $dirs"

cat > space.json << 'JSON'
{"name": "nocuda", "dataset": "s.vsds", "sampler": {"kind": "random", "seed": 1}, "budget": {"trials": 2},
 "fixed": {"epochs": 1}, "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01}}}
JSON
cat > inside.sh << 'SH'
set -euo pipefail
fail() { echo "FAILED: $*"; exit 1; }
for d in $DIRS; do mount -t tmpfs none "$d"; done
export LD_LIBRARY_PATH=
for lib in $(ldconfig -p | awk '$1 ~ /^lib(cudart|cublas)\.so/ {print $NF}'); do
  [ ! -e "$lib" ] || fail "$lib is still there"
done
"$VAESEARCH" --help > /dev/null || fail "vaesearch cannot start"
"$VAESEARCH" synth --preset small -o s.vsds > /dev/null
"$VAECF_TRAIN" --data s.vsds --device cpu --set epochs=1 --out run-cpu > cpu.out
grep -q '"event":"done"' cpu.out || fail "the CPU trainer did not finish: $(cat cpu.out)"
"$VAESEARCH" run space.json --db r.db --no-progress > run.out || fail "the sweep failed: $(cat run.out)"
[ "$("$VAESEARCH" top --db r.db --format csv | wc -l)" = 3 ] || fail "top does not list the 2 trials"
"$VAESEARCH" status --db r.db > /dev/null
"$VAESEARCH" show 0 --db r.db > /dev/null
set +e
"$VAECF_TRAIN" --data s.vsds --device cuda --out run-cuda > /dev/null 2> cuda.err
rc=$?
set -e
[ $rc = 1 ] || fail "--device cuda exited $rc (expected 1)"
grep -q "^vaecf-train: --device cuda: cannot load the CUDA module $MODULE: lib[a-zA-Z]*\.so[.0-9]*: cannot open shared object file" cuda.err ||
  fail "the message does not name the module and the missing library: $(cat cuda.err)"
echo "inside: ok"
SH
DIRS="$dirs" MODULE="$MODULE" unshare -m bash inside.sh
