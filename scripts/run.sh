#!/usr/bin/env bash
# The main job: install what is missing, build Release into build/, run the suites, write
# results/<host>/<UTC timestamp>/<suite>.json (never overwriting) and print the summary.
#
#   scripts/run.sh                 quick suites, 3 repetitions (about two minutes on 2 cores)
#   scripts/run.sh --full          whole grids, 5 repetitions each, random order (medians, spread)
#   scripts/run.sh --suites cpu    only these suites (comma-separated: cpu, io, mpi, cuda); default: all built
#   scripts/run.sh --no-fio        skip the fio peer of the I/O suite (fio at its defaults and at its
#                                  best against our read stage, alternating rounds on a 1 GiB file)
#   scripts/run.sh --no-likwid     skip likwid-bench beside cpu/sumsq (its sum kernel at the same sizes)
#   scripts/run.sh --no-peers      both
#   scripts/run.sh --trace         also a timeline per entry (one untimed traced pass) in <run>/traces/,
#                                  drawn as Gantt figures with the others
#   scripts/run.sh --suites mpi --hosts 2 --rate 1gbit
#                                  the MPI suite across N hosts made on this machine (scripts/cluster.sh,
#                                  root; it replaces any cluster the script made before), one rank per
#                                  host over TCP, the links shaped to --rate (default unshaped)
#   scripts/run.sh -- --benchmark_filter=sumsq   extra flags for every suite's binary
# PIPEBENCH_DATA_DIR: where the I/O suite's file goes (default /var/tmp: a disk, not tmpfs).
# PIPEBENCH_MPI_RANKS: ranks of the MPI suite (default 2, or one per host), started with mpirun on this machine.
# PIPEBENCH_MPI_TRANSPORT: with --hosts, ob1 (default) or ucx, both over TCP.
# PIPEBENCH_BUILD, PIPEBENCH_RESULTS: the build folder (default build) and the results root (default results).
# Ctrl-C or SIGTERM stops the suite running then after its current entry: it keeps what finished as
# <suite>.partial.json, the suites after it do not run, the summary and figures cover what finished.
set -euo pipefail
cd "$(dirname "$0")/.."

data=""
child=""
child_signal=TERM
stopped=0
cluster_up=""
cleanup() {
  [ -z "$data" ] || rm -rf "$data"
  [ -z "$cluster_up" ] || scripts/cluster.sh down >&2 || true
}
trap cleanup EXIT
# A stop: the running suite is asked to stop after its entry (mpirun passes SIGUSR1 to every rank;
# SIGUSR1 also reaches a binary that already has the terminal's SIGINT without ending it), and
# the suites after it are not started.
on_stop() {
  stopped=$1
  echo "pipebench: stopped by SIG$2; the running suite keeps what finished, the rest does not run" >&2
  [ -z "$child" ] || kill -"$child_signal" "$child" 2>/dev/null || true
}
trap 'on_stop 130 INT' INT
trap 'on_stop 143 TERM' TERM

mode=--quick
suites=""
fio=1
likwid=1
trace=0
hosts=""
rate=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick|--full) mode=$1 ;;
    --suites) [ $# -ge 2 ] || { echo "run.sh: --suites needs a list (cpu,io,mpi,cuda)" >&2; exit 2; }; suites=$2; shift ;;
    --no-fio) fio=0 ;;
    --no-likwid) likwid=0 ;;
    --no-peers) fio=0 likwid=0 ;;
    --trace) trace=1 ;;
    --) shift; extra=("$@"); break ;;
    --hosts) [ $# -ge 2 ] || { echo "run.sh: --hosts needs a count (2 to 8)" >&2; exit 2; }; hosts=$2; shift ;;
    --rate) [ $# -ge 2 ] || { echo "run.sh: --rate needs a rate (e.g. 1gbit)" >&2; exit 2; }; rate=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (use --quick, --full, --suites, --no-fio, --no-likwid, --no-peers, --trace, --hosts, --rate, or -- <flags>)" >&2; exit 2 ;;
  esac
  shift
done

IFS=, read -r -a chosen <<<"$suites"
for s in "${chosen[@]}"; do  # names are checked before anything is installed or built
  case "$s" in cpu|io|mpi|cuda) ;; *) echo "run.sh: --suites: '$s' is not one of cpu, io, mpi, cuda" >&2; exit 2 ;; esac
done
[[ "${PIPEBENCH_MPI_RANKS:-2}" =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: PIPEBENCH_MPI_RANKS: '${PIPEBENCH_MPI_RANKS}' is not a positive integer" >&2; exit 2; }
if [ -z "$hosts" ]; then
  [ -z "$rate" ] || { echo "run.sh: --rate shapes the links of --hosts: give --hosts too" >&2; exit 2; }
elif [ -n "$suites" ] && [[ ",$suites," != *,mpi,* ]]; then
  echo "run.sh: --hosts runs the MPI suite across hosts: add mpi to --suites" >&2; exit 2
fi
case "${PIPEBENCH_MPI_TRANSPORT:-ob1}" in ob1|ucx) ;;
  *) echo "run.sh: PIPEBENCH_MPI_TRANSPORT: '${PIPEBENCH_MPI_TRANSPORT}' is not one of ob1, ucx" >&2; exit 2 ;;
esac
build=${PIPEBENCH_BUILD:-build}
root=${PIPEBENCH_RESULTS:-results}

scripts/deps.sh
if [ -n "$hosts" ]; then
  # The hosts come up before the build: their bad input is found at once, and the probe of the
  # links runs on an idle machine. They go when this script ends, however it ends.
  cluster_up=1
  crc=0
  scripts/cluster.sh up --hosts "$hosts" ${rate:+--rate "$rate"} >&2 || crc=$?
  case "$crc" in
    0) ;;
    2) exit 2 ;;  # its one line said why
    77) echo "run.sh: --hosts: this machine cannot make hosts (the line above says why)" >&2; exit 2 ;;
    *) exit 1 ;;
  esac
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

declare -A binary=([cpu]=$build/bench/cpu/pipebench-cpu [io]=$build/bench/io/pipebench-io
                   [mpi]=$build/bench/mpi/pipebench-mpi [cuda]=$build/bench/cuda/pipebench-cuda)
if [ -z "$suites" ]; then
  for s in cpu io mpi cuda; do [ -x "${binary[$s]}" ] && suites="${suites:+$suites,}$s"; done
fi
IFS=, read -r -a chosen <<<"$suites"
for s in "${chosen[@]}"; do
  [ -x "${binary[$s]}" ] || { echo "run.sh: ${binary[$s]} was not built (see the configure lines of cmake)" >&2; exit 2; }
done

host=$(hostname -s 2>/dev/null || hostname)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/$host/$stamp"
mkdir -p "$root/$host"
n=1
until mkdir "$out" 2>/dev/null; do  # a second run in the same second gets its own folder
  n=$((n + 1)); out="$root/$host/$stamp-$n"
done

# run_child <stdout file> <command...>: in the background, waited for through the traps above;
# its exit status in $rc.
run_child() {
  local log=$1
  shift
  "$@" >"$log" &
  child=$!
  while kill -0 "$child" 2>/dev/null; do wait "$child" 2>/dev/null || true; done
  rc=0
  wait "$child" 2>/dev/null || rc=$?
  child=""
}

# keep <partial file> <final name>: the result under its final name once it says it is complete;
# a stopped or broken suite stays <suite>.partial.json.
keep() {
  local state
  [ -s "$1" ] || return 1
  state=$(python3 scripts/pipebench_results.py status "$1" 2>/dev/null) || { echo "$1"; return 0; }
  if [ "$state" = complete ]; then mv "$1" "$2"; echo "$2"; else echo "$1"; fi
}

status=0
files=()
[ "$stopped" -eq 0 ] || { echo "pipebench: stopped before any suite ran" >&2; exit "$stopped"; }
for s in "${chosen[@]}"; do
  [ "$stopped" -eq 0 ] || break
  args=("$mode" --benchmark_out="$out/$s.partial.json" --benchmark_out_format=json --benchmark_color=false)
  [ "$trace" -eq 0 ] || args+=(--trace "$out/traces")
  if [ "$s" = io ]; then
    # The file is kept for fio, in a directory of our own; the device drifts over a run, so
    # entries are interleaved at random even in the quick suite.
    data=$(mktemp -d "${PIPEBENCH_DATA_DIR:-/var/tmp}/pipebench-run.XXXXXX")
    args+=(--data-dir "$data" --keep --benchmark_enable_random_interleaving=true)
  fi
  launch=()
  child_signal=USR1
  if [ "$s" = mpi ] && [ -n "$hosts" ]; then
    # mpirun inside the first host, one rank per host (it execs mpirun: SIGUSR1 reaches it).
    launch=(scripts/cluster.sh mpirun --transport "${PIPEBENCH_MPI_TRANSPORT:-ob1}" --np "${PIPEBENCH_MPI_RANKS:-$hosts}" --)
  elif [ "$s" = mpi ]; then
    ranks=${PIPEBENCH_MPI_RANKS:-2}
    launch=(mpirun -np "$ranks")
    [ "$ranks" -le "$(nproc 2>/dev/null || echo 1)" ] || launch+=(--oversubscribe)
  fi
  if [ "$s" = mpi ]; then
    # Open MPI refuses to run as root without both.
    [ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # mpirun kills its ranks this many seconds after its own SIGINT or SIGTERM (default 1): time
    # for them to finish their entry and write what finished.
    export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-10}
  fi
  echo "pipebench: running the ${mode#--} $s suite${launch[*]:+ (${launch[*]})}; its console table goes to $out/$s.txt" >&2
  run_child "$out/$s.txt" "${launch[@]}" "${binary[$s]}" "${args[@]}" "${extra[@]}"
  [ "$rc" -eq 0 ] || status=$rc
  kept=""
  if kept=$(keep "$out/$s.partial.json" "$out/$s.json"); then files+=("$kept"); fi
  if [ "$s" = cpu ] && [ "$likwid" -eq 1 ] && [ "$stopped" -eq 0 ] && [ -n "$kept" ]; then
    if ! command -v likwid-bench >/dev/null 2>&1; then
      echo "pipebench: likwid-bench not installed; the sum of squares goes without its limit" >&2
    else
      # At the sizes the suite ran cpu/sumsq at, and the ISA it ran (an --isa among the extra flags).
      sizes=$(python3 -c 'import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(sorted({str(b["pipebench"]["params"]["bytes"]) for b in doc["benchmarks"]
                       if b["pipebench"]["pair"] == "cpu/sumsq" and "bytes" in b["pipebench"]["params"]}, key=int)))' "$kept")
      isa=()
      for ((i = 0; i < ${#extra[@]}; i++)); do
        case "${extra[$i]}" in --isa) isa=(--isa "${extra[$((i + 1))]:-}") ;; --isa=*) isa=(--isa "${extra[$i]#--isa=}") ;; esac
      done
      if [ -n "$sizes" ]; then
        echo "pipebench: likwid-bench beside cpu/sumsq at $sizes bytes" >&2
        child_signal=TERM
        run_child /dev/stdout scripts/likwid-compare.sh --cpu-binary "${binary[cpu]}" --sizes "$sizes" "${isa[@]}" \
          --rounds 3 --out "$out/likwid.json"
        if [ "$rc" -eq 0 ]; then files+=("$out/likwid.json"); elif [ "$stopped" -eq 0 ]; then status=1; fi
      fi
    fi
  fi
  if [ "$s" = io ] && [ "$fio" -eq 1 ] && [ "$stopped" -eq 0 ] && [ -n "$kept" ]; then
    if ! command -v fio >/dev/null 2>&1; then
      echo "pipebench: fio not installed; the I/O summary goes without its peer" >&2
    else
      # fio and our read stage in alternating rounds on a file of its own, large enough that a
      # pass lasts about a second (PIPEBENCH_PEER_FILE_BYTES, default 1 GiB), written by
      # pipebench-io (one stage_read pass, kept).
      peer_bytes=${PIPEBENCH_PEER_FILE_BYTES:-1073741824}
      mkdir -p "$data/peer"
      run_child "$out/fio-file.txt" "${binary[io]}" --quick --bytes "$peer_bytes" --data-dir "$data/peer" --keep \
        --no-probe --benchmark_filter='^io/read/stage_read/.*/queue_depth:1/mode:buffered$' \
        --benchmark_repetitions=1 --benchmark_min_time=0.01
      file=$(find "$data/peer" -name 'pipebench-io-*.f32' | head -n 1)
      [ "$rc" -eq 0 ] && [ -n "$file" ] || { echo "pipebench: no file for fio (see $out/fio-file.txt)" >&2; file=""; }
      rm -f "$out/fio-file.txt"
    fi
    if [ -n "${file:-}" ] && [ "$stopped" -eq 0 ]; then
      if [ "$mode" = --full ]; then blocks="131072 1048576" depths="1 2 4 8 16 32 64" modes="direct buffered cached"
      else blocks="1048576" depths="1 4 16 32" modes="direct buffered"; fi
      grep -q '"io/read/o_direct": "supported' "$kept" || modes=${modes/direct /}
      child_signal=TERM
      for b in $blocks; do
        [ "$stopped" -eq 0 ] || break
        echo "pipebench: fio at its defaults and at its best against our read stage, block $b, $(( peer_bytes >> 20 )) MiB file" >&2
        run_child /dev/stdout scripts/fio-compare.sh --file "$file" --block "$b" --queue-depths "$depths" \
          --modes "$modes" --rounds 3 --io-binary "${binary[io]}" --out "$out/fio-$b.json"
        if [ "$rc" -eq 0 ]; then files+=("$out/fio-$b.json"); elif [ "$stopped" -eq 0 ]; then status=1; fi
      done
    fi
    file=""
  fi
  if [ -n "$data" ]; then rm -rf "$data"; data=""; fi
done

if [ ${#files[@]} -gt 0 ]; then
  python3 scripts/summary.py "${files[@]}" >"$out/summary.txt" || { [ "$status" -ne 0 ] || status=1; }
  cat "$out/summary.txt"
  # The run's figures beside its data. plot.py finds a python3 with matplotlib or says what to
  # install; without it the run still has its results and its exit status.
  results=()
  for f in "${files[@]}"; do [[ "$f" == */fio-* || "$f" == */likwid.json ]] || results+=("$f"); done
  if scripts/plot.py -o "$out" "${results[@]}" >"$out/figures.txt"; then
    echo "pipebench: figures in $out/ ($(grep -c '\.pdf$' "$out/figures.txt") PDF, each also as PNG) and the joined table $out/pairs.csv" >&2
  else
    rm -f "$out/figures.txt"
    echo "pipebench: no figures for this run (see the plot.py line above); the result files are unaffected" >&2
  fi
  echo "pipebench: results in $out/" >&2
else
  rmdir "$out" 2>/dev/null || true
fi
if [ "$stopped" -ne 0 ]; then
  echo "pipebench: stopped; what finished is in $out/ (a suite that did not finish is <suite>.partial.json)" >&2
  exit "$stopped"
fi
if [ "$status" -ne 0 ]; then
  echo "pipebench: a suite failed (exit $status); see the FAILED lines above and the .txt files in $out/" >&2
fi
exit "$status"
