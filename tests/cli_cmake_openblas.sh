# cli_cmake_openblas: the project's CMake finds the OpenMP build of OpenBLAS under
# CMAKE_PREFIX_PATH (given to cmake, or in the environment), before /usr, as on a GPU
# machine where Debian's packages are unpacked under a prefix (docs/cuda.md). A fake
# prefix holds links to this machine's OpenMP OpenBLAS; configuring must report it.
set -euo pipefail
T="$VS_TEST_TMP"
rm -rf "$T" && mkdir -p "$T"
arch=$(gcc -print-multiarch 2> /dev/null || true)
lib="/usr/lib/$arch/openblas-openmp/libopenblas.so"
inc="/usr/include/$arch/openblas-openmp/cblas.h"
if [ -z "$arch" ] || [ ! -e "$lib" ] || [ ! -e "$inc" ]; then
  echo "skipped: no OpenMP OpenBLAS under /usr/lib/${arch:-<arch>}/openblas-openmp to link a fake prefix to"
  exit 77
fi
for p in a b; do
  mkdir -p "$T/$p/lib/$arch/openblas-openmp" "$T/$p/include/$arch/openblas-openmp"
  ln -s "$lib" "$T/$p/lib/$arch/openblas-openmp/libopenblas.so"
  for h in "$(dirname "$inc")"/*.h; do ln -s "$h" "$T/$p/include/$arch/openblas-openmp/"; done
done
configure() {   # BUILD_DIR [cmake arguments]: prints the OpenBLAS lines, fails on error
  local dir=$1
  shift
  cmake -S "$VS_SOURCE_DIR" -B "$dir" -DVAESEARCH_CUDA=OFF -DBUILD_TESTING=OFF "$@" > "$dir.log" 2>&1 ||
    { cat "$dir.log"; return 1; }
  grep -h 'OpenBLAS' "$dir.log"
  grep -h '^VS_OPENBLAS_OPENMP_INCLUDE:' "$dir/CMakeCache.txt"
}
# -DCMAKE_PREFIX_PATH: the prefix's library and headers, not /usr's
out=$(configure "$T/build-var" "-DCMAKE_PREFIX_PATH=$T/a")
echo "$out"
grep -q "OpenBLAS (OpenMP) $T/a/lib/$arch/openblas-openmp/libopenblas.so" <<< "$out"
grep -q "=$T/a/include/$arch/openblas-openmp" <<< "$out"
# the environment's CMAKE_PREFIX_PATH (colon-separated): its first prefix
out=$(CMAKE_PREFIX_PATH="$T/b:$T/a" configure "$T/build-env")
echo "$out"
grep -q "OpenBLAS (OpenMP) $T/b/lib/$arch/openblas-openmp/libopenblas.so" <<< "$out"
# neither: /usr's, as before
out=$(CMAKE_PREFIX_PATH= configure "$T/build-usr")
echo "$out"
grep -q "OpenBLAS (OpenMP) $lib" <<< "$out"
echo "OpenBLAS (OpenMP) found under CMAKE_PREFIX_PATH, variable or environment, before /usr"
