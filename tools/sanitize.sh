#!/usr/bin/env bash
# Runs test suites against the native addon built with AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   bash tools/sanitize.sh                      # cuda-kernels' conformance, stream, memory and pool tests
#   bash tools/sanitize.sh all                  # every cuda-kernels test, then llama-core's
#   bash tools/sanitize.sh test/io              # vitest filters within packages/cuda-kernels
#
# The instrumented addon goes to $SEED_SANITIZE_BUILD (default /tmp/seed-sanitize-build), CPU kernels only, and
# is loaded through SEED_KERNELS_ADDON with the sanitizer runtimes preloaded into node. The flags go in
# CMAKE_CXX_FLAGS_RELEASE: cmake-js sets CMAKE_CXX_FLAGS itself, so flags given there never reach the compiler
# (the addon then links the runtimes but instruments nothing). A report fails the run (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${SEED_SANITIZE_BUILD:-/tmp/seed-sanitize-build}"
flags="-O2 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

(cd packages/cuda-kernels && SEED_CUDA=off npx cmake-js compile --out "$out" \
  --CDCMAKE_CXX_FLAGS_RELEASE="$flags" --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null)
addon="$out/Release/seed_kernels.node"
if ! nm -D "$addon" | grep __asan_report >/dev/null; then  # (grep -q would close the pipe early)
  echo "sanitize: $addon is not instrumented" >&2
  exit 1
fi

export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
# Node's own allocations are not instrumented: leak reports would be about node, not the addon.
export ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=8:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export SEED_KERNELS_ADDON="$addon"

if [ "${1:-}" = all ]; then
  (cd packages/cuda-kernels && npx vitest run)
  (cd packages/llama-core && npx vitest run)
else
  suites=("$@")
  [ ${#suites[@]} -gt 0 ] || suites=(test/conformance test/stream.test.ts test/memory.test.ts test/pool.test.ts)
  (cd packages/cuda-kernels && npx vitest run "${suites[@]}")
fi
