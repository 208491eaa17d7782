#!/usr/bin/env bash
# The main job: install what is missing, build Release into build/, run the suites, write
# results/<host>/<UTC timestamp>/<suite>.json (never overwriting) and print the summary.
#
#   scripts/run.sh                 quick suites, 3 repetitions (about two minutes on 2 cores)
#   scripts/run.sh --full          whole grids, 5 repetitions each, random order (medians, spread)
#   scripts/run.sh --suites cpu    only these suites (comma-separated: cpu, io, mpi, cuda); default: all built
#   scripts/run.sh --no-fio        skip the fio peer of the I/O suite
#   scripts/run.sh -- --benchmark_filter=sumsq   extra flags for every suite's binary
# PIPEBENCH_DATA_DIR: where the I/O suite's file goes (default /var/tmp: a disk, not tmpfs).
# PIPEBENCH_MPI_RANKS: ranks of the MPI suite (default 2), started with mpirun on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--quick
suites=""
fio=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--full) mode=$1 ;;
    --suites) [ $# -ge 2 ] || { echo "run.sh: --suites needs a list (cpu,io,mpi,cuda)" >&2; exit 2; }; suites=$2; shift ;;
    --no-fio) fio=0 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (use --quick, --full, --suites, --no-fio, or -- <flags>)" >&2; exit 2 ;;
  esac
  shift
done

IFS=, read -r -a chosen <<<"$suites"
for s in "${chosen[@]}"; do  # names are checked before anything is installed or built
  case "$s" in cpu|io|mpi|cuda) ;; *) echo "run.sh: --suites: '$s' is not one of cpu, io, mpi, cuda" >&2; exit 2 ;; esac
done
[[ "${PIPEBENCH_MPI_RANKS:-2}" =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: PIPEBENCH_MPI_RANKS: '${PIPEBENCH_MPI_RANKS}' is not a positive integer" >&2; exit 2; }

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

declare -A binary=([cpu]=build/bench/cpu/pipebench-cpu [io]=build/bench/io/pipebench-io
                   [mpi]=build/bench/mpi/pipebench-mpi [cuda]=build/bench/cuda/pipebench-cuda)
if [ -z "$suites" ]; then
  for s in cpu io mpi cuda; do [ -x "${binary[$s]}" ] && suites="${suites:+$suites,}$s"; done
fi
IFS=, read -r -a chosen <<<"$suites"
for s in "${chosen[@]}"; do
  [ -x "${binary[$s]}" ] || { echo "run.sh: ${binary[$s]} was not built (see the configure lines of cmake)" >&2; exit 2; }
done

host=$(hostname -s 2>/dev/null || hostname)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="results/$host/$stamp"
mkdir -p "results/$host"
n=1
until mkdir "$out" 2>/dev/null; do  # a second run in the same second gets its own folder
  n=$((n + 1)); out="results/$host/$stamp-$n"
done
data=""
trap '[ -z "$data" ] || rm -rf "$data"' EXIT

status=0
files=()
for s in "${chosen[@]}"; do
  args=("$mode" --benchmark_out="$out/$s.json" --benchmark_out_format=json --benchmark_color=false)
  if [ "$s" = io ]; then
    # The file is kept for fio, in a directory of our own; the device drifts over a run, so
    # entries are interleaved at random even in the quick suite.
    data=$(mktemp -d "${PIPEBENCH_DATA_DIR:-/var/tmp}/pipebench-run.XXXXXX")
    args+=(--data-dir "$data" --keep --benchmark_enable_random_interleaving=true)
  fi
  launch=()
  if [ "$s" = mpi ]; then
    ranks=${PIPEBENCH_MPI_RANKS:-2}
    launch=(mpirun -np "$ranks")
    [ "$ranks" -le "$(nproc 2>/dev/null || echo 1)" ] || launch+=(--oversubscribe)
    # Open MPI refuses to run as root without both.
    [ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  echo "pipebench: running the ${mode#--} $s suite${launch[*]:+ (${launch[*]})}; its console table goes to $out/$s.txt" >&2
  "${launch[@]}" "${binary[$s]}" "${args[@]}" "${extra[@]}" >"$out/$s.txt" || status=$?
  [ -s "$out/$s.json" ] && files+=("$out/$s.json")
  if [ "$s" = io ] && [ "$fio" -eq 1 ]; then
    file=$(find "$data" -name 'pipebench-io-*.f32' | head -n 1)
    if ! command -v fio >/dev/null 2>&1; then
      echo "pipebench: fio not installed; the I/O summary goes without its peer" >&2
    elif [ -n "$file" ]; then
      if [ "$mode" = --full ]; then blocks="131072 1048576" depths="1 2 4 8 16 32 64" modes="direct buffered cached"
      else blocks="1048576" depths="1 4 16 32" modes="direct buffered"; fi
      grep -q '"io/read/o_direct": "supported' "$out/io.json" || modes=${modes/direct /}
      for b in $blocks; do
        echo "pipebench: fio on the same file, block $b" >&2
        scripts/fio-compare.sh --file "$file" --block "$b" --queue-depths "$depths" --modes "$modes" \
          --out "$out/fio-$b.json" && files+=("$out/fio-$b.json") || status=1
      done
    fi
    rm -rf "$data"
    data=""
  fi
done

if [ ${#files[@]} -gt 0 ]; then
  python3 scripts/summary.py "${files[@]}" >"$out/summary.txt" || { [ "$status" -ne 0 ] || status=1; }
  cat "$out/summary.txt"
  # The run's figures beside its data. plot.py finds a python3 with matplotlib or says what to
  # install; without it the run still has its results and its exit status.
  results=()
  for f in "${files[@]}"; do [[ "$f" == */fio-* ]] || results+=("$f"); done
  if scripts/plot.py -o "$out" "${results[@]}" >"$out/figures.txt"; then
    echo "pipebench: figures in $out/ ($(grep -c '\.pdf$' "$out/figures.txt") PDF, each also as PNG) and the joined table $out/pairs.csv" >&2
  else
    rm -f "$out/figures.txt"
    echo "pipebench: no figures for this run (see the plot.py line above); the results are complete" >&2
  fi
  echo "pipebench: results in $out/" >&2
else
  rmdir "$out" 2>/dev/null || true
fi
if [ "$status" -ne 0 ]; then
  echo "pipebench: a suite failed (exit $status); see the FAILED lines above and the .txt files in $out/" >&2
fi
exit "$status"
