#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs every CTest suite in three
# configurations: Release; AddressSanitizer + UndefinedBehaviorSanitizer; ThreadSanitizer
# (the executor suites: the pipeline tests, the overlap pair and the io readers).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh

build() {  # build <dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -DPIPEBENCH_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

echo "== Release" >&2
build build -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer" >&2
# CUDA is built and tested in the Release build; the sanitizers see nothing of nvcc's code.
build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DPIPEBENCH_SANITIZE=address;undefined" -DPIPEBENCH_WITH_CUDA=OFF
# The Slurm, cluster, plot and run.sh tests run the Release binaries and scripts: once is enough.
ctest --test-dir build-asan --output-on-failure -LE 'slurm|cluster|plot|scripts'

echo "== ThreadSanitizer (executor)" >&2
build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPIPEBENCH_SANITIZE=thread -DPIPEBENCH_WITH_CUDA=OFF
# TSan's runtime needs a conventional address-space layout; some kernels randomise more.
norandom=()
if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
  norandom=(setarch "$(uname -m)" -R)
fi
"${norandom[@]}" ctest --test-dir build-tsan --output-on-failure -L executor -LE cluster
echo "pipebench: all test suites passed" >&2
