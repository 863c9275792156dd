#!/usr/bin/env bash
# Builds what a GPU machine with no node, no npm registry and no node_modules needs to run seed's CUDA checks:
# packages/cuda-kernels/.device-check/{conformance.mjs, kernels.mjs, llama.mjs, node.xz}. Run it after
# `pnpm build` (the addon in packages/cuda-kernels/build/Release must have been compiled with nvcc present).
# The bundles sit inside packages/cuda-kernels because the package finds its own package.json from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
esbuild=$(ls node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | sort -V | tail -1)
out=packages/cuda-kernels/.device-check
mkdir -p "$out"
# --ignore-annotations: the package says it has no side effects, which would drop the test files' imports.
# One copy of @seed/cuda-kernels (its sources) for the tests, the bench and llama-core alike.
bundle() {
  "$esbuild" "$1" --bundle --platform=node --format=esm --target=node20 --ignore-annotations --log-level=warning \
    --alias:vitest=./tools/device-check/vitest-shim.mjs \
    --alias:@seed/cuda-kernels=./packages/cuda-kernels/src/index.ts --outfile="$out/$2"
}
bundle tools/device-check/conformance.ts conformance.mjs
bundle packages/cuda-kernels/bench/kernels.bench.ts kernels.mjs
bundle tools/device-check/llama-gpu.ts llama.mjs
# This machine's node (a self-contained binary), compressed to fit the device tool's 64 MiB; Python's lzma
# unpacks it there.
[ -f "$out/node.xz" ] || xz -T2 -6 -c "$(command -v node)" >"$out/node.xz"
cp packages/cuda-kernels/build/Release/seed_kernels.node "$out/"
ls -la "$out"
