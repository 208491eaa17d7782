#!/usr/bin/env bash
# The batch scripts of scripts/slurm/ on a real single-node Slurm (Debian's slurmctld, slurmd,
# munge), brought up for this test and torn down by PID even when it fails. Every script is
# submitted in quick mode; each job must end COMPLETED (or as the check expects) and its JSON
# must be valid Google Benchmark output carrying the Slurm job in its context.
#
#   tests/slurm_test.sh [BUILD_DIR] [--real-timeout]
#
# BUILD_DIR holds the binaries (default build). --real-timeout checks the time-limit path with
# a real one-minute time limit (about 90 s more) instead of scancel, which sends the same
# SIGTERM-then-SIGKILL sequence. Exit 0 pass, 1 fail, 77 skip (Slurm packages cannot be
# installed here, or not root: slurmd runs as root). SLURM_TEST_KEEP=1 keeps the results and
# job logs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=build
real_timeout=0
for a in "$@"; do
  case "$a" in
    --real-timeout) real_timeout=1 ;;
    -*) echo "slurm_test.sh: unknown option $a" >&2; exit 2 ;;
    *) build=$a ;;
  esac
done
case "$build" in /*) ;; *) build="$here/$build" ;; esac
[ -x "$build/bench/cpu/pipebench-cpu" ] || { echo "slurm_test.sh: no $build/bench/cpu/pipebench-cpu; build first" >&2; exit 1; }

. "$here/scripts/slurm/local-slurm.sh"
skip() { echo "SKIP: slurm_test.sh: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (slurmd runs as root, munged as the munge user)"
command -v dpkg-query >/dev/null 2>&1 || skip "not a Debian system (the test uses Debian's Slurm packages)"
why=$(local_slurm_packages) || skip "$why"

t0=$SECONDS
tmp=$(mktemp -d /tmp/pipebench-slurm-test.XXXXXX)
cleanup() {
  local status=$?
  local_slurm_down
  if [ -n "${SLURM_TEST_KEEP:-}" ]; then echo "slurm_test.sh: results and job logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
local_slurm_up

# The jobs inherit this environment (sbatch --export=ALL is the default).
export PIPEBENCH_ROOT=$here PIPEBENCH_BUILD=$build PIPEBENCH_RESULTS=$tmp/results PIPEBENCH_QUICK=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # mpirun as root, for the mpirun variant
unset PIPEBENCH_DOMAINS PIPEBENCH_ARGS PIPEBENCH_WORKLOADS PIPEBENCH_SWEEP PIPEBENCH_MODULES PIPEBENCH_SUITE
mkdir -p "$tmp/logs"
results="$tmp/results/ci"
failures=0
report=()

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
has_bin() { [ -x "$build/bench/$1/pipebench-$1" ] || [ -x "$build/$1/pipebench-$1" ] || [ -x "$build/pipebench-$1" ]; }

# submit <label> <sbatch args...>: prints the job id; sbatch's refusal goes to stderr.
submit() {
  local label=$1 id
  shift
  id=$(cd "$here" && sbatch --parsable --output="$tmp/logs/$label-%j.out" "$@") || return 1
  echo "${id%%;*}"
}

# expect <label> <id> <state> [<exit code>]: waits, checks every task's state, records the line.
expect() {
  local label=$1 id=$2 want=$3 code=${4:-} lines ok=1
  lines=$(local_slurm_wait "$id" 120) || { fail "$label: job $id did not finish in 120 s"; scancel "$id"; return 1; }
  while read -r jid state runtime exitcode; do
    [ "$state" = "$want" ] || { fail "$label: job $jid ended $state (exit $exitcode), expected $want"; ok=0; }
    [ -z "$code" ] || [ "${exitcode%%:*}" = "$code" ] || { fail "$label: job $jid exit $exitcode, expected $code"; ok=0; }
    report+=("$(printf '%-36s job %-6s %-10s %-9s exit %s' "$label" "$jid" "$state" "$runtime" "$exitcode")")
  done <<<"$lines"
  [ "$ok" = 1 ] || { echo "--- output of $label:" >&2; cat "$tmp/logs/$label"-*.out >&2 || true; }
  [ "$ok" = 1 ]
}

# check_json <file> <key=value>...: valid Google Benchmark JSON, entries with results or a
# skip reason, the given context fields equal.
check_json() {
  local msg
  msg=$(python3 - "$@" 2>&1 <<'EOF'
import json, sys
path, want = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2:])
try:
    with open(path) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"not valid JSON: {e}")
# A family stopped before its first entry finished has none (its document says why).
partial = path.endswith(".partial.json")
if not isinstance(doc, dict) or not isinstance(doc.get("context"), dict) or \
        not isinstance(doc.get("benchmarks"), list) or not (doc["benchmarks"] or partial):
    sys.exit("not Google Benchmark output with entries")
for b in doc["benchmarks"]:
    if b.get("error_occurred") and not b.get("error_message", "").startswith("skipped"):
        sys.exit(f"{b['name']}: {b.get('error_message')}")
    if not b.get("error_occurred") and not b.get("real_time", 0) > 0:
        sys.exit(f"{b['name']}: no time")
for k, v in want.items():
    if doc["context"].get(k) != v:
        sys.exit(f"context {k} = {doc['context'].get(k)!r}, expected {v!r}")
meta = doc.get("pipebench", {})
if meta.get("schema_version") != 1:
    sys.exit("no pipebench schema version in the document")
if path.endswith(".partial.json") == (meta.get("status") == "complete"):
    sys.exit(f"named {path.rsplit('/', 1)[-1]} but its status is {meta.get('status')!r}")
if "/" in doc["context"].get("executable", "") and doc["context"]["executable"].startswith("/"):
    sys.exit(f"the executable is named by a machine path: {doc['context']['executable']}")
EOF
  ) || fail "$1: $msg"
}

# 1. CPU and I/O suites on one node.
if ! id=$(submit node scripts/slurm/node.sbatch); then fail "node: sbatch refused it"
elif expect node "$id" COMPLETED 0; then
  n=0
  for f in "$results/$id"/*.json; do
    check_json "$f" slurm_cluster_name=ci slurm_job_id="$id" slurm_job_nodelist=localhost slurm_job_num_nodes=1 \
      slurm_cpus_per_task=2
    n=$((n + 1))
  done
  [ "$n" -ge 3 ] || fail "node: $n result files in $results/$id, expected one per CPU family (3 or more)"
  if has_bin io; then
    ls "$results/$id"/io-*.json >/dev/null 2>&1 || fail "node: pipebench-io is built but wrote no io-*.json"
  else
    grep -q "io: no binary pipebench-io" "$tmp"/logs/node-"$id".out || fail "node: no line saying pipebench-io is missing"
  fi
fi

# 2. A domain named explicitly whose binary is missing fails the job, with its line.
absent=""
for d in io mpi cuda; do has_bin "$d" || { absent=$d; break; }; done
if [ -n "$absent" ]; then
  if ! id=$(PIPEBENCH_DOMAINS="cpu $absent" PIPEBENCH_WORKLOADS=cpu/sumsq submit "node-explicit-$absent" scripts/slurm/node.sbatch); then
    fail "node-explicit-$absent: sbatch refused it"
  elif expect "node, $absent requested (must fail)" "$id" FAILED 1; then
    grep -q "$absent: no binary .* requested, so the job fails" "$tmp/logs/node-explicit-$absent-$id.out" ||
      fail "node-explicit-$absent: no line naming the missing binary"
    check_json "$results/$id/cpu-sumsq.json" slurm_job_id="$id"
  fi
fi

# 3. MPI: two ranks on the one node, srun --mpi=pmix, then mpirun.
for launcher in srun mpirun; do
  if ! id=$(PIPEBENCH_MPI_LAUNCHER=$launcher submit "mpi-$launcher" --nodes=1 --ntasks-per-node=2 scripts/slurm/mpi.sbatch); then
    fail "mpi ($launcher): sbatch refused it"
  elif expect "mpi ($launcher)" "$id" COMPLETED 0; then
    if has_bin mpi; then
      for f in "$results/$id"/mpi-*.json; do check_json "$f" slurm_job_id="$id" slurm_ntasks=2; done
    else
      grep -q "mpi: no binary pipebench-mpi" "$tmp/logs/mpi-$launcher-$id.out" || fail "mpi: no line saying pipebench-mpi is missing"
    fi
  fi
  has_bin mpi || break  # without the binary the launcher is never reached: once is enough
done

# 4. GPU: --gpus=1 as written; the node's one GPU is a placeholder (local-slurm.sh), so the
#    CUDA suite, when built, reports its entries skipped.
if ! id=$(submit gpu scripts/slurm/gpu.sbatch); then fail "gpu: sbatch refused it"
elif expect gpu "$id" COMPLETED 0; then
  grep -q "GPUs given to this job: 0" "$tmp/logs/gpu-$id.out" || fail "gpu: the job was not given a GPU"
  if has_bin cuda; then
    for f in "$results/$id"/cuda-*.json; do check_json "$f" slurm_job_id="$id"; done
  else
    grep -q "cuda: no binary pipebench-cuda" "$tmp/logs/gpu-$id.out" || fail "gpu: no line saying pipebench-cuda is missing"
  fi
fi

# 5. A sweep as a job array and the collect job after it, through scripts/submit.sh.
if out=$("$here/scripts/submit.sh" --quick --sweep "chunks=2,4 depth=1,2"); then
  echo "$out" >&2
  sweep=$(sed -n 's/^sweep \([0-9]*\):.*/\1/p' <<<"$out")
  collect=$(sed -n 's/^collect \([0-9]*\):.*/\1/p' <<<"$out")
  if [ -z "$sweep" ] || [ -z "$collect" ]; then
    fail "submit.sh printed no job ids"
  else
    if expect "sweep (array of 4)" "$sweep" COMPLETED 0; then
      for task in 0 1 2 3; do
        f="$results/${sweep}_$task/cpu-overlap.json"
        [ -f "$f" ] || { fail "sweep task $task: no $f"; continue; }
        check_json "$f" slurm_array_job_id="$sweep" slurm_array_task_id="$task"
        grep -q "^chunks=[24] depth=[12]$" "$results/${sweep}_$task/parameters.txt" || fail "sweep task $task: parameters.txt"
      done
    fi
    if expect "collect (afterok)" "$collect" COMPLETED 0; then
      for f in pairs.csv summary.txt efficiency_vs_chunks_cpu_overlap.2col.pdf efficiency_vs_chunks_cpu_overlap.2col.png \
               speedup_cpu_overlap.1col.pdf speedup_cpu_overlap.1col.png; do
        [ -s "$results/$collect/$f" ] || fail "collect: no $results/$collect/$f"
      done
    fi
  fi
else
  fail "scripts/submit.sh failed"
fi

# 6. A job stopped mid-run keeps every family that finished. The matmul family is short, the
#    overlap family long (0.3 s per entry); stop the job once matmul's file is there.
if [ "$real_timeout" = 1 ]; then
  args=(--time=1)
  min_time=5     # long enough to be still running at one minute
else
  args=()
  min_time=0.3
fi
if ! id=$(PIPEBENCH_DOMAINS=cpu PIPEBENCH_WORKLOADS='cpu/(matmul|overlap)' PIPEBENCH_ARGS="--benchmark_min_time=$min_time" \
     submit stopped "${args[@]}" scripts/slurm/node.sbatch); then
  fail "stopped: sbatch refused it"
else
  if [ "$real_timeout" = 0 ]; then
    for _ in $(seq 300); do [ -f "$results/$id/cpu-matmul.json" ] && break; sleep 0.1; done
    scancel "$id"
    want=CANCELLED
  else
    want=TIMEOUT
  fi
  if expect "stopped mid-run ($want)" "$id" "$want"; then
    check_json "$results/$id/cpu-matmul.json" slurm_job_id="$id"
    [ ! -e "$results/$id/cpu-overlap.json" ] || fail "stopped: the interrupted family has a .json, not a .partial.json"
    if [ -e "$results/$id/cpu-overlap.partial.json" ]; then
      check_json "$results/$id/cpu-overlap.partial.json" slurm_job_id="$id"
    fi
    # Stopped while a family ran, the job says so; cancelled between two families (a loaded
    # machine), srun refuses the next one and the job says what it kept all the same.
    grep -q -e "stopped by SIGTERM" -e "results so far in" "$tmp/logs/stopped-$id.out" ||
      fail "stopped: the job did not say what it kept"
  fi
fi

# 7. A requeued job (the same job id, SLURM_RESTART_COUNT 1) writes a folder of its own and
#    leaves the first attempt's results as they were.
if ! id=$(PIPEBENCH_DOMAINS=cpu PIPEBENCH_WORKLOADS=cpu/sumsq submit requeue --requeue scripts/slurm/node.sbatch); then
  fail "requeue: sbatch refused it"
elif expect "requeue: first attempt" "$id" COMPLETED 0; then
  first=$(sha256sum "$results/$id/cpu-sumsq.json")
  # A requeued job waits for the first attempt's credential to expire before it starts again
  # (forcing StartTime=now races that: "Job credential revoked", exit 1, on a loaded machine);
  # the local Slurm sets cred_expire=10, so it starts about 10 s later.
  if ! scontrol requeue "$id"; then
    fail "requeue: scontrol requeue $id refused"
  else
    if expect "requeue: second attempt" "$id" COMPLETED 0; then
      check_json "$results/$id-restart1/cpu-sumsq.json" slurm_job_id="$id" slurm_restart_count=1
      [ "$(sha256sum "$results/$id/cpu-sumsq.json")" = "$first" ] || fail "requeue: the first attempt's result changed"
    else  # what Slurm said about it, for the next reader
      scontrol -o show job "$id" >&2 || true
      tail -n 15 "$LOCAL_SLURM_DIR"/*.log "$LOCAL_SLURM_DIR"/*.out >&2 2>/dev/null || true
    fi
  fi
fi

# 8. The nightly workflow's Slurm stage: the suite as a batch job (sbatch --wait), then its
#    comparison with the committed nightly baseline (another machine: --force).
work=$tmp/nightly
if (unset PIPEBENCH_RESULTS PIPEBENCH_QUICK
    "$here/scripts/nightly.sh" slurm compare --work "$work" --suites cpu --force \
      --baseline "$here/tests/fixtures/nightly-baseline" -- --bytes 65536 --n 64 --chains 1,4 --no-probe \
      --benchmark_min_time=0.01 --benchmark_filter='sumsq|matmul') > "$tmp/logs/nightly.out" 2>&1 || [ $? = 1 ]; then
  folder=$(cat "$work/run-folder" 2>/dev/null || true)
  if [ -z "$folder" ] || [ ! -f "$folder/cpu-sumsq.json" ] || [ ! -f "$folder/cpu-matmul.json" ]; then
    fail "nightly slurm: no run folder with both families ($folder)"
  elif ! grep -q '^9 entries compared' "$work/compare.txt"; then
    fail "nightly slurm: the comparison did not cover the baseline's 9 entries: $(tail -n 1 "$work/compare.txt")"
  else
    report+=("nightly.sh slurm: $(basename "$folder"), $(tail -n 1 "$work/compare.txt")")
  fi
else
  fail "nightly slurm: $(tail -n 3 "$tmp/logs/nightly.out")"
fi

echo "== local Slurm: $(sinfo -V), $(munged -V 2>&1 | head -1)" >&2
printf '%s\n' "${report[@]}" >&2
echo "== $((SECONDS - t0)) s in all, bring-up and teardown included" >&2
[ "$failures" -eq 0 ] || { echo "slurm_test.sh: $failures check(s) failed" >&2; exit 1; }
echo "slurm_test.sh: every batch script ran on the local Slurm" >&2
