#!/usr/bin/env bash
# The check for a machine with a GPU: build pipebench-cuda (Release, build-gpu/), run the CUDA
# tests, run the quick CUDA suite, and print a short table of what was measured: the device,
# H2D and D2H rates against the copy peak the same binary measured, per workload point the
# best stream count and issue order with its speedup and overlap efficiency, and whether the
# run meets the conditions for trusting it (scripts/gpu_check_report.py); then one pipelined
# entry and its graph twin again with --trace, their timelines checked. Estimated 3 to 5
# minutes on an H100 machine with 16 cores, the build included (not yet run on one).
#
#   scripts/gpu-check.sh              writes $OUT/ (the device tool's folder that comes back) or,
#                                     without it, build-gpu/gpu-check/: preflight.txt, build.log,
#                                     ctest.txt, cuda.json, cuda.txt, report.txt, trace.json, traces/
#   scripts/gpu-check.sh -- <flags>   extra flags for pipebench-cuda (e.g. --benchmark_filter=elementwise)
# A preflight comes first and stops within seconds, with one line and exit 3, where
# nvidia-smi, nvcc or cmake is missing or fails. Every step after it has a time limit, together
# under nine minutes: the build 150 s, the CUDA tests 120 s, the suite 240 s, the trace 45 s.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument '$1' (use -- <pipebench-cuda flags>)" >&2; exit 2 ;;
  esac
  shift
done

out=${OUT:-build-gpu/gpu-check}
mkdir -p "$out"

# Preflight: what the check cannot do without, each asked with a time limit, its answer kept.
preflight() {  # preflight <name> <command...>: prints the command's first lines, or stops
  local name=$1 text rc=0
  shift
  text=$(timeout 20 "$@" 2>&1) || rc=$?
  { echo "\$ $*"; echo "$text"; } >>"$out/preflight.txt"
  if [ "$rc" -ne 0 ]; then
    local why="exit $rc"
    [ "$rc" -eq 124 ] && why="no answer in 20 s"
    [ "$rc" -eq 127 ] && why="not found" text=""
    echo "gpu-check: preflight: $name: $why${text:+ ($(printf '%s' "$text" | tail -n 1))}; nothing was built or run" >&2
    exit 3
  fi
  printf '%s\n' "$text" | head -n 12 >&2
}
: >"$out/preflight.txt"
nvcc=$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")
preflight nvidia-smi nvidia-smi
preflight nvcc "$nvcc" --version
preflight cmake cmake --version
export PATH=$(dirname "$nvcc"):$PATH  # CMake finds the same nvcc

# A GPU machine may have no network. Its libraries can come carried in .deps/debs (downloaded
# here by scripts/gpu-deps.sh, unpacked there into .deps/root), or installed;
# PIPEBENCH_NO_DEPS=1 skips deps.sh, which would only fail without a network.
prefix_args=()
if [ -d .deps/debs ] && [ ! -d .deps/root/usr ]; then
  for deb in .deps/debs/*.deb; do dpkg -x "$deb" .deps/root; done
fi
if [ -d .deps/root/usr ]; then
  root=$PWD/.deps/root/usr
  multiarch=$root/lib/x86_64-linux-gnu
  # OpenBLAS's .pc sits in its variant's folder (Debian links it by alternatives, which dpkg -x
  # does not run).
  export PKG_CONFIG_PATH=$multiarch/pkgconfig:$multiarch/openblas-pthread/pkgconfig:$root/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$multiarch:$multiarch/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # pkg-config files name /usr: point them at the carried tree.
  export PKG_CONFIG_SYSROOT_DIR=$PWD/.deps/root
  prefix_args=(-DCMAKE_PREFIX_PATH="$root" -DCMAKE_FIND_ROOT_PATH="$PWD/.deps/root")
  echo "gpu-check: using the libraries carried in .deps/root" >&2
elif [ -z "${PIPEBENCH_NO_DEPS:-}" ] && ! scripts/deps.sh; then
  echo "gpu-check: scripts/deps.sh could not install the missing packages; trying with what is installed" >&2
fi

jobs=$(nproc 2>/dev/null || echo 2)
start=$SECONDS
echo "gpu-check: building pipebench-cuda into build-gpu/ (log: $out/build.log)" >&2
if ! { timeout 60 cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DPIPEBENCH_WITH_CUDA=ON "${prefix_args[@]}" \
         -DPIPEBENCH_WITH_MPI=OFF -DPIPEBENCH_WITH_URING=OFF &&
       timeout 150 cmake --build build-gpu -j "$jobs" --target pipebench-cuda cuda_plan_test; } >"$out/build.log" 2>&1; then
  tail -n 30 "$out/build.log" >&2
  echo "gpu-check: the build failed; see $out/build.log" >&2
  exit 1
fi
echo "gpu-check: built in $((SECONDS - start)) s; running the CUDA tests" >&2
status=0
timeout 120 ctest --test-dir build-gpu -L cuda --output-on-failure --timeout 100 >"$out/ctest.txt" 2>&1 || status=$?
tail -n 15 "$out/ctest.txt" >&2

echo "gpu-check: running the quick CUDA suite (console table: $out/cuda.txt)" >&2
timeout -s INT -k 15 240 build-gpu/bench/cuda/pipebench-cuda --quick --no-probe --benchmark_out="$out/cuda.json" \
  --benchmark_out_format=json --benchmark_color=false "${extra[@]}" >"$out/cuda.txt" || status=$?

# The report, ending in whether the run can be trusted (scripts/gpu_check_report.py).
python3 scripts/gpu_check_report.py "$out/cuda.json" "$out/ctest.txt" | tee "$out/report.txt" ||
  { [ "$status" -ne 0 ] || status=1; }
# One point of the quick grid where the kernel and each copy should take about as long on an
# H100-class GPU (64 MiB each way at ~50 GB/s, 4096 FLOPs on each of 16 M floats at ~60 TFLOP/s:
# 1.1 to 1.3 ms each), so the timeline shows overlap if there is any; one repetition: seconds.
# Its own flags only: the extra flags could rename or filter these entries away.
point='bytes:67108864/chunks:32/intensity:4096/memory:pinned/order:depth_first/streams:4'
traced="^cuda/elementwise/(pipelined|graph)/$point"
echo "gpu-check: tracing $traced (timelines: $out/traces/)" >&2
rm -rf "$out/traces"
timeout -s INT -k 10 45 build-gpu/bench/cuda/pipebench-cuda --quick --no-probe --benchmark_repetitions=1 --benchmark_filter="$traced" \
  --trace="$out/traces" --benchmark_out="$out/trace.json" --benchmark_out_format=json --benchmark_color=false \
  >/dev/null || status=$?
python3 - "$out/trace.json" <<'PY' || { [ "$status" -ne 0 ] || status=1; }
import json
import os
import sys

sys.path.insert(0, os.path.join(os.getcwd(), "scripts"))
import pipebench_trace  # noqa: E402

try:
    with open(sys.argv[1]) as f:
        runs = json.load(f).get("benchmarks", [])
except (OSError, ValueError) as e:
    print(f"gpu-check: trace: {sys.argv[1]}: {e}")
    sys.exit(1)
bad = not runs
for b in runs:
    name = b.get("run_name", b.get("name"))
    path = b.get("pipebench", {}).get("trace")
    if b.get("error_occurred") or not path:
        print(f"gpu-check: trace: {name}: {b.get('error_message') or 'no timeline written'}")
        bad = True
        continue
    try:
        t = pipebench_trace.load(pipebench_trace.resolve(path, sys.argv[1]))
    except pipebench_trace.TraceError as e:
        print(f"gpu-check: trace: {e}")
        bad = True
        continue
    problems = pipebench_trace.problems(t)
    begin, end = t.span()
    print(f"timeline {os.path.basename(t.path)}: {len(t.lanes)} streams, {t.expect['items']} chunks, "
          f"{(end - begin) * 1e3:.3g} ms, no stream busy {pipebench_trace.idle_share_of_busiest(t):.2f} of it; "
          + ("whole" if not problems else f"{len(problems)} problems: " + "; ".join(problems[:3])))
    bad = bad or bool(problems)
sys.exit(1 if bad else 0)
PY
echo "gpu-check: done in $((SECONDS - start)) s; results in $out/" >&2
exit "$status"
