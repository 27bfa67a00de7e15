# cli_cuda_module: the programs link no CUDA library and load the CUDA module only for a
# GPU (docs/cuda.md, "The CUDA module"): what ldd lists, what a running CPU trainer maps,
# the errors where the module is missing, of another build or no module at all, the
# orchestrator counting GPUs without loading it, and the trainer's OpenMP wait policy.
# The loader is tested with stand-in modules (fake_cuda_module.c), so in every build.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
cd "$T"
BUILD=$(dirname "$VAECF_TRAIN")
FAKES=$(dirname "$FAKE_TRAINER")
FAKE="$FAKES/libfake_cuda_module.so"
fail() { echo "FAILED: $*"; exit 1; }
CUDA_LIBS='libcu|libnccl|libnvidia|libvaesearch_cuda|fake_cuda_module'

# 1. Neither program needs a CUDA library to start.
for p in "$VAESEARCH" "$VAECF_TRAIN"; do
  ! ldd "$p" | grep -E "$CUDA_LIBS" || fail "$(basename "$p") links CUDA: $(ldd "$p")"
done

"$VAESEARCH" synth --preset small -o s.vsds > /dev/null
cat > space.json << 'JSON'
{"name": "gpus", "dataset": "s.vsds", "sampler": {"kind": "random", "seed": 1}, "budget": {"trials": 1},
 "fixed": {"epochs": 1}, "parameters": {"lr": {"type": "log_uniform", "low": 0.001, "high": 0.01}}}
JSON

# 2. A CPU trainer, while it trains, maps OpenBLAS and no CUDA library.
"$VAECF_TRAIN" --data s.vsds --set epochs=100000 --out run-cpu > cpu.out 2> cpu.err &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
for _ in $(seq 300); do grep -q '"event":"epoch"' cpu.out && break; sleep 0.1; done
grep -q '"event":"epoch"' cpu.out || { kill $pid; fail "the trainer printed no epoch in 30 s: $(cat cpu.err)"; }
cp "/proc/$pid/maps" cpu.maps
kill -TERM $pid
wait $pid || true
grep -q libopenblas cpu.maps || fail "no libopenblas in the trainer's maps: the check cannot see libraries"
! grep -E "$CUDA_LIBS" cpu.maps || fail "a CPU trainer maps a CUDA library"

# 3. The module missing: the programs copied without it; the error names the file.
mkdir bin && cp "$VAESEARCH" "$VAECF_TRAIN" bin/
set +e
bin/vaecf-train --data s.vsds --device cuda --out run-missing > missing.out 2> missing.err
rc=$?
set -e
[ $rc = 1 ] || fail "--device cuda without the module exited $rc (expected 1)"
grep -q "^vaecf-train: --device cuda: the CUDA module $T/bin/libvaesearch_cuda.so is missing: .*; use --device cpu\$" missing.err ||
  fail "no message naming the missing module: $(cat missing.err)"
grep -q '"event":"error"' missing.out || fail "no error event on stdout"
if [ -e "$BUILD/libvaesearch_cuda.so" ]; then
  grep -q 'must stay in their folder, or VAESEARCH_CUDA_MODULE must name it' missing.err || fail "$(cat missing.err)"
else
  grep -q 'this build has no CUDA backend' missing.err || fail "$(cat missing.err)"
fi

# 4. Modules the loader must refuse, each named with why; one it loads.
train_cuda() {   # MODULE: prints the trainer's stderr
  set +e
  VAESEARCH_CUDA_MODULE="$1" "$VAECF_TRAIN" --data s.vsds --device cuda --out run-fake 2>&1 > /dev/null
  echo "rc=$?"
  set -e
}
out=$(train_cuda "$T/nowhere.so")
grep -q "the CUDA module $T/nowhere.so (named by VAESEARCH_CUDA_MODULE) is missing: No such file or directory" <<< "$out" &&
  grep -q 'rc=1' <<< "$out" || fail "a missing VAESEARCH_CUDA_MODULE: $out"
out=$(train_cuda "$FAKES/libfake_cuda_module_abi.so")
grep -qE "the CUDA module $FAKES/libfake_cuda_module_abi.so has ABI ([0-9]+), this program ABI [0-9]+: it comes from another build" <<< "$out" ||
  fail "a module of another ABI: $out"
out=$(train_cuda "$FAKES/libfake_cuda_module_size.so")
grep -qE "libfake_cuda_module_size.so has ABI [0-9]+ but a vs_config of [0-9]+ bytes where this program's has [0-9]+" <<< "$out" ||
  fail "a module with another vs_config: $out"
LIBZ=$(ldd "$VAECF_TRAIN" | awk '$1 ~ /^libz\.so/ {print $3}')
out=$(train_cuda "$LIBZ")
grep -q "$LIBZ is not a vaesearch CUDA module: it has no vs_cuda_module_entry" <<< "$out" || fail "not a module: $out"
echo 'this is not a library' > broken.so
out=$(train_cuda "$T/broken.so")
grep -q "cannot load the CUDA module $T/broken.so: .*broken.so: .*(a library it needs" <<< "$out" || fail "a broken module: $out"
out=$(train_cuda "$FAKE")
grep -q 'vaecf-train: fake CUDA module: no backend here (600 items)' <<< "$out" && grep -q 'rc=1' <<< "$out" ||
  fail "the stand-in module's own error did not come through: $out"

# 5. The orchestrator counts GPUs through the module in a child process: the answer is the
#    module's (under this environment), and vaesearch itself never maps it.
set +e
LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" FAKE_CUDA_DEVICES=2 VAESEARCH_CUDA_MODULE="$FAKE" \
  "$VAESEARCH" run space.json --db gpus.db --device cuda --gpus 0,2 --trainer "$FAKE_TRAINER" > gpus.out 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "run with GPU 2 of 2 exited $rc: $(cat gpus.out)"
grep -q -- '--gpus: GPU 2 is not visible (2 GPUs found)' gpus.out || fail "$(cat gpus.out)"
# the loader's lines, each headed by its process's id
main=$(cat ld.* | awk '/initialize program: .*vaesearch$/ {sub(":", "", $1); print $1; exit}')
loaders=$(cat ld.* | awk '/file=.*libfake_cuda_module.so .*dynamically loaded/ {sub(":", "", $1); print $1}' | sort -u)
[ -n "$main" ] && [ -n "$loaders" ] || fail "LD_DEBUG shows no vaesearch ('$main') or no process loading the module"
! grep -qx "$main" <<< "$loaders" || fail "vaesearch itself (pid $main) loaded the module"
set +e
FAKE_CUDA_DEVICES=0 VAESEARCH_CUDA_MODULE="$FAKE" "$VAESEARCH" run space.json --db gpus.db \
  --device cuda --trainer "$FAKE_TRAINER" > nogpu.out 2>&1
rc=$?
set -e
[ $rc = 2 ] && grep -q -- '--device cuda: no GPU is visible' nogpu.out || fail "no GPU: rc $rc: $(cat nogpu.out)"

# 6. OpenMP waits passively unless the user chose: libgomp reports its settings as it
#    loads (OMP_DISPLAY_ENV=verbose), once each time the trainer starts; its spin count
#    is 0 when it waits passively, its default (300,000) when unset, more when active.
spins() { grep -o "GOMP_SPINCOUNT = '[0-9]*'" | grep -o "[0-9][0-9]*" | tr '\n' ' '; }
s=$(env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose "$VAECF_TRAIN" --data s.vsds --set epochs=1 --out run-w1 2>&1 >/dev/null | spins)
[[ "$s" =~ ^[1-9][0-9]*\ 0\ $ ]] || fail "unset: libgomp's spin counts were '$s' (expected its default, then 0 after one restart)"
s=$(OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$VAECF_TRAIN" --data s.vsds --set epochs=1 --out run-w2 2>&1 >/dev/null | spins)
[[ "$s" =~ ^[1-9][0-9]*\ $ ]] || fail "OMP_WAIT_POLICY=active: spin counts '$s' (expected the user's choice, no restart)"
s=$(OMP_WAIT_POLICY=passive OMP_DISPLAY_ENV=verbose "$VAECF_TRAIN" --data s.vsds --set epochs=1 --out run-w3 2>&1 >/dev/null | spins)
[ "$s" = "0 " ] || fail "OMP_WAIT_POLICY=passive: spin counts '$s'"
s=$(env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose "$VAECF_TRAIN" --help 2>&1 >/dev/null | spins)
[[ "$s" =~ ^[1-9][0-9]*\ $ ]] || fail "--help restarted the trainer: spin counts '$s'"
echo "cli_cuda_module: ok"
