#!/usr/bin/env bash
# Downloads, here, the Debian packages scripts/gpu-check.sh needs to build on a GPU machine that
# has nvcc and CMake but no network and none of pipebench's libraries: into .deps/debs/ (git
# ignores it; about 14 MB), which the device run carries and gpu-check.sh unpacks there.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libbenchmark-dev libbenchmark1debian libcli11-dev libhwloc-dev libhwloc15 libopenblas-dev
          libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libgtest-dev)
mkdir -p .deps/debs
cd .deps/debs
apt-get download "${packages[@]}" 2>/dev/null ||
  { echo "gpu-deps.sh: apt-get download failed (no Debian mirror reachable?)" >&2; exit 1; }
echo "gpu-deps.sh: $(ls | wc -l) packages in .deps/debs ($(du -sh . | cut -f1))" >&2
