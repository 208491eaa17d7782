#!/usr/bin/env bash
# The main job: install what is missing, build Release into build/, run the suite, write
# results/<host>/<UTC timestamp>/cpu.json (never overwriting) and print the summary.
#
#   scripts/run.sh            quick suite, 3 repetitions (under a minute on 2 cores)
#   scripts/run.sh --full     whole grid, 5 repetitions each, random order (medians, spread)
#   scripts/run.sh --quick -- --benchmark_filter=sumsq    extra flags for pipebench-cpu
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--quick
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--full) mode=$1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (use --quick, --full, or -- <pipebench-cpu flags>)" >&2; exit 2 ;;
  esac
  shift
done

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target pipebench-cpu >/dev/null

host=$(hostname -s 2>/dev/null || hostname)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/$host/$stamp"
mkdir -p "results/$host"
n=1
until mkdir "$out" 2>/dev/null; do  # a second run in the same second gets its own folder
  n=$((n + 1)); out="results/$host/$stamp-$n"
done

echo "pipebench: running the ${mode#--} CPU suite; its console table goes to $out/cpu.txt" >&2
status=0
build/bench/cpu/pipebench-cpu "$mode" --benchmark_out="$out/cpu.json" --benchmark_out_format=json \
  --benchmark_color=false "${extra[@]}" >"$out/cpu.txt" || status=$?

if [ -s "$out/cpu.json" ]; then
  python3 scripts/summary.py "$out/cpu.json" >"$out/summary.txt" || { [ "$status" -ne 0 ] || status=1; }
  cat "$out/summary.txt"
  echo "pipebench: results in $out/ (cpu.json, cpu.txt, summary.txt)" >&2
else
  rmdir "$out" 2>/dev/null || true
fi
if [ "$status" -ne 0 ]; then
  echo "pipebench: the suite failed (exit $status); see the FAILED lines above and $out/cpu.txt" >&2
fi
exit "$status"
