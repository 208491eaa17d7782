#!/usr/bin/env bash
# The nightly regression run, in stages a CI server (the Jenkinsfile) calls one by one, or all
# at once:
#
#   scripts/nightly.sh all --baseline results/vm/20261202T005523Z
#   scripts/nightly.sh build | test | bench | slurm | compare | plot | archive  [options]
#
#   build     configure and build Release with the tests (PIPEBENCH_BUILD, default build)
#   test      every CTest suite; JUnit in <work>/ctest-junit.xml
#   bench     scripts/run.sh (--suite quick|full, --suites); the run folder goes in <work>/run-folder
#   slurm     the same suites as a batch job on Slurm (scripts/slurm/node.sbatch; sbatch --wait);
#             there a --benchmark_filter selects families (domain/workload: PIPEBENCH_WORKLOADS)
#   compare   scripts/compare.py <baseline> <the run>: <work>/report.md, compare.txt, compare-junit.xml
#   plot      scripts/plot.py on the run: <work>/figures
#   archive   <work>/pipebench-nightly-<UTC stamp>.tar.gz: the run, the reports, the figures
#   all       build, test, bench, compare (when a baseline is given), plot, archive
#
# Options: --work DIR (default nightly; everything a stage writes goes there, results in
# <work>/results), --suite quick|full, --suites cpu,io,mpi,cuda, --baseline PATH (a result file
# or folder; also PIPEBENCH_BASELINE), --threshold PCT, --force (compare across machines),
# --ctest-args "..." and -- <flags for every suite's binary>.
# Exit: 0 done, 1 a stage failed or compare found a regression, 2 bad input. In "all", a
# regression does not stop plot and archive: the exit code says it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "nightly: $*" >&2; exit 2; }
fail() { echo "nightly: $1: $2" >&2; exit 1; }

work=nightly
suite=quick
suites=""
baseline=${PIPEBENCH_BASELINE:-}
threshold=""
force=0
ctest_args=""
bench_args=()
stages=()
while [ $# -gt 0 ]; do
  case "$1" in
    build|test|bench|slurm|compare|plot|archive|all) stages+=("$1") ;;
    --work) [ $# -ge 2 ] || die "--work needs a folder"; work=$2; shift ;;
    --suite) [ $# -ge 2 ] || die "--suite needs quick or full"; suite=$2; shift ;;
    --suites) [ $# -ge 2 ] || die "--suites needs a list (cpu,io,mpi,cuda)"; suites=$2; shift ;;
    --baseline) [ $# -ge 2 ] || die "--baseline needs a result file or folder"; baseline=$2; shift ;;
    --threshold) [ $# -ge 2 ] || die "--threshold needs a percentage"; threshold=$2; shift ;;
    --force) force=1 ;;
    --ctest-args) [ $# -ge 2 ] || die "--ctest-args needs a value"; ctest_args=$2; shift ;;
    --) shift; bench_args=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (a stage: build test bench slurm compare plot archive all; or --help)" ;;
  esac
  shift
done
[ ${#stages[@]} -gt 0 ] || die "no stage given (build test bench slurm compare plot archive all; --help)"
case "$suite" in quick|full) ;; *) die "--suite: '$suite' is not quick or full" ;; esac
if [ -n "$threshold" ] && ! [[ "$threshold" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  die "--threshold: '$threshold' is not a percentage"
fi
for s in ${suites//,/ }; do
  case "$s" in cpu|io|mpi|cuda) ;; *) die "--suites: '$s' is not one of cpu, io, mpi, cuda" ;; esac
done
if [ " ${stages[*]} " = " all " ]; then
  stages=(build test bench)
  [ -z "$baseline" ] || stages+=(compare)
  stages+=(plot archive)
fi
if [[ " ${stages[*]} " == *" compare "* ]]; then
  [ -n "$baseline" ] || die "compare needs --baseline (or PIPEBENCH_BASELINE)"
  [ -e "$baseline" ] || die "--baseline: '$baseline' does not exist"
fi

build=${PIPEBENCH_BUILD:-build}
mkdir -p "$work" || die "--work: cannot create '$work'"
work=$(cd "$work" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

run_folder() {  # the folder the last bench or slurm stage wrote
  [ -s "$work/run-folder" ] || fail "$1" "no run in $work (run the bench or slurm stage first)"
  local f
  f=$(cat "$work/run-folder")
  [ -d "$f" ] || fail "$1" "the run folder $f is gone"
  echo "$f"
}

stage_build() {
  scripts/deps.sh || fail build "installing the dependencies failed"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPIPEBENCH_TESTS=ON >/dev/null || fail build "cmake failed"
  cmake --build "$build" -j "$jobs" || fail build "the build failed"
}

stage_test() {
  [ -f "$build/CTestTestfile.cmake" ] || fail test "no build in $build (run the build stage first)"
  # shellcheck disable=SC2086  # ctest_args is a list of words by design
  ctest --test-dir "$build" --output-on-failure --output-junit "$work/ctest-junit.xml" $ctest_args ||
    fail test "tests failed (JUnit: $work/ctest-junit.xml)"
}

stage_bench() {
  local args=("--$suite")
  [ -z "$suites" ] || args+=(--suites "$suites")
  [ ${#bench_args[@]} -eq 0 ] || args+=(-- "${bench_args[@]}")
  local log="$work/bench.log"
  PIPEBENCH_BUILD=$build PIPEBENCH_RESULTS="$work/results" scripts/run.sh "${args[@]}" 2>&1 | tee "$log" ||
    fail bench "scripts/run.sh failed (log: $log)"
  local folder
  folder=$(sed -n 's/^pipebench: results in \(.*\)\/$/\1/p' "$log" | tail -n 1)
  [ -n "$folder" ] && [ -d "$folder" ] || fail bench "scripts/run.sh named no results folder (log: $log)"
  (cd "$folder" && pwd) > "$work/run-folder"
}

stage_slurm() {
  command -v sbatch >/dev/null || fail slurm "sbatch not found (no Slurm here)"
  # The batch scripts set the filter per family: a --benchmark_filter selects families instead.
  local args=() workloads=${PIPEBENCH_WORKLOADS:-}
  for a in ${bench_args[@]+"${bench_args[@]}"}; do
    case "$a" in --benchmark_filter=*) workloads=${a#--benchmark_filter=} ;; *) args+=("$a") ;; esac
  done
  local log="$work/slurm.log" job
  job=$(PIPEBENCH_BUILD=$build PIPEBENCH_RESULTS="$work/results" PIPEBENCH_SUITE=$suite \
        PIPEBENCH_DOMAINS="${suites//,/ }" PIPEBENCH_ARGS="${args[*]:-}" PIPEBENCH_WORKLOADS="$workloads" \
        sbatch --parsable --wait --output="$work/slurm-%j.out" scripts/slurm/node.sbatch 2> "$log") ||
    fail slurm "the batch job failed or was not accepted (see $log and $work/slurm-*.out)"
  job=${job%%;*}
  local folder
  folder=$(find "$work/results" -mindepth 2 -maxdepth 2 -type d -name "$job*" | sort | tail -n 1)
  [ -n "$folder" ] || fail slurm "job $job finished but wrote no folder under $work/results"
  (cd "$folder" && pwd) > "$work/run-folder"
}

compare_rc=0
stage_compare() {
  local folder args=()
  folder=$(run_folder compare)
  [ -z "$threshold" ] || args+=(--threshold "$threshold")
  [ "$force" = 0 ] || args+=(--force)
  local rc=0
  scripts/compare.py "${args[@]}" --markdown "$work/report.md" --junit "$work/compare-junit.xml" \
    "$baseline" "$folder" > "$work/compare.txt" || rc=$?
  cat "$work/compare.txt"
  case $rc in
    0) ;;
    1) echo "nightly: compare: regressions against $baseline (report: $work/report.md)" >&2; compare_rc=1 ;;
    *) fail compare "scripts/compare.py could not compare $baseline with $folder" ;;
  esac
}

stage_plot() {
  local folder
  folder=$(run_folder plot)
  scripts/plot.py --formats png -o "$work/figures" "$folder" || fail plot "scripts/plot.py failed"
}

stage_archive() {
  local folder stamp items=()
  folder=$(run_folder archive)
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  for f in ctest-junit.xml compare-junit.xml report.md compare.txt figures; do
    [ -e "$work/$f" ] && items+=("$f")
  done
  tar -czf "$work/pipebench-nightly-$stamp.tar.gz" -C "$work" "${items[@]}" \
    -C "$(dirname "$folder")" "$(basename "$folder")" || fail archive "tar failed"
  echo "nightly: archived $work/pipebench-nightly-$stamp.tar.gz"
}

for s in "${stages[@]}"; do
  echo "== nightly: $s" >&2
  "stage_$s"
  # A stage run alone reports a regression by its exit code at once.
  [ "$s" != compare ] || [ ${#stages[@]} -gt 1 ] || exit "$compare_rc"
done
exit "$compare_rc"
