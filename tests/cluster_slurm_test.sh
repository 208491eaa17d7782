#!/usr/bin/env bash
# The batch scripts of scripts/slurm/ on a Slurm across two hosts (scripts/cluster.sh and
# scripts/slurm/cluster-slurm.sh): mpi.sbatch -N 2 through srun --mpi=pmix and through mpirun,
# with its ranks on both hosts; a two-task sweep array and its collect job (scripts/submit.sh);
# a job stopped mid-run that keeps what finished. Every job must end as expected with valid
# JSON. Everything is torn down by PID and by name, also when a check fails.
#
#   tests/cluster_slurm_test.sh [BUILD_DIR]
#
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, Slurm packages missing and not
# installable). CLUSTER_SLURM_TEST_KEEP=1 keeps the results and job logs (in BUILD_DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
[ -x "$build/bench/mpi/pipebench-mpi" ] || { echo "SKIP: cluster_slurm_test.sh: no pipebench-mpi in $build" >&2; exit 77; }

skip() { echo "SKIP: cluster_slurm_test.sh: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces; slurmd runs as root)"
. "$here/scripts/slurm/local-slurm.sh"  # local_slurm_packages: the same packages
why=$(local_slurm_packages) || skip "$why"

cluster=$here/scripts/cluster.sh
cslurm=$here/scripts/slurm/cluster-slurm.sh
state=/run/pipebench-cluster-slurm-test
# Results and logs go in the build folder, which every host sees (PIPEBENCH_CLUSTER_SHARE below).
work=$build/cluster-slurm-test
t0=$SECONDS
cleanup() {
  local status=$?
  "$cslurm" --dir "$state" down >/dev/null 2>&1 || true
  "$cluster" --dir "$state" down >/dev/null 2>&1 || true
  if [ -n "${CLUSTER_SLURM_TEST_KEEP:-}" ]; then echo "cluster_slurm_test.sh: kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$work"
mkdir -p "$work/logs"

# The build (with the results in it) seen by every host, also where it lies under /tmp.
export PIPEBENCH_CLUSTER_SHARE=$build
rc=0
"$cluster" --dir "$state" up --hosts 2 >"$work/logs/up.out" 2>&1 || rc=$?
[ "$rc" -ne 77 ] || skip "$(tail -n 1 "$work/logs/up.out")"
[ "$rc" -eq 0 ] || { cat "$work/logs/up.out" >&2; echo "FAIL: cluster.sh up: exit $rc" >&2; exit 1; }
t_up=$SECONDS
"$cslurm" --dir "$state" up 2>&1 | tail -n 20 >&2 || { echo "FAIL: cluster-slurm.sh up" >&2; exit 1; }
echo "cluster_slurm_test: 2 hosts and Slurm up in $((SECONDS - t0)) s (Slurm $((SECONDS - t_up)) s)" >&2

in_h1() { "$cslurm" --dir "$state" run "$@"; }
failures=0
report=()
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# What the jobs inherit (sbatch --export=ALL): the checkout, the binaries, quick mode, and Open
# MPI's TCP between hosts on eth0, unbound (every host is the same two cores), ranks yielding.
export PIPEBENCH_ROOT=$here PIPEBENCH_BUILD=$build PIPEBENCH_RESULTS=$work/results PIPEBENCH_QUICK=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=eth0 OMPI_MCA_oob_tcp_if_include=eth0
export OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PIPEBENCH_DOMAINS PIPEBENCH_ARGS PIPEBENCH_WORKLOADS PIPEBENCH_SWEEP PIPEBENCH_MODULES PIPEBENCH_SUITE
results=$work/results/pbcluster

submit() {  # submit LABEL SBATCH-ARGS...: the job id
  local label=$1 id
  shift
  id=$(cd "$here" && in_h1 sbatch --parsable --output="$work/logs/$label-%j.out" "$@") || return 1
  echo "${id%%;*}"
}

# expect LABEL ID STATE: waits (bounded) until the job and its tasks left the queue; each must end STATE.
expect() {
  local label=$1 id=$2 want=$3 i lines ok=1
  for ((i = 0; i < 480; i++)); do
    [ -z "$(in_h1 squeue -h -j "$id" 2>/dev/null)" ] && break
    sleep 0.5
  done
  [ "$i" -lt 480 ] || { fail "$label: job $id still queued or running after 240 s"; in_h1 scancel "$id" || true; return 1; }
  lines=$(in_h1 scontrol -o show job "$id" | awk '{
    delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); if (n) f[substr($i, 1, n - 1)] = substr($i, n + 1) }
    print (("ArrayTaskId" in f) ? f["ArrayJobId"] "_" f["ArrayTaskId"] : f["JobId"]), f["JobState"], f["NodeList"], f["RunTime"] }')
  while read -r jid st nodes runtime; do
    [ "$st" = "$want" ] || { fail "$label: job $jid ended $st, expected $want"; ok=0; }
    report+=("$(printf '%-30s job %-6s %-10s on %-10s %s' "$label" "$jid" "$st" "$nodes" "$runtime")")
  done <<<"$lines"
  [ "$ok" = 1 ] || { echo "--- output of $label:" >&2; tail -n 30 "$work/logs/$label"-*.out >&2 || true; }
  [ "$ok" = 1 ]
}

# check_mpi FILE JOB: valid, complete, every entry verified, ranks on two different hosts.
check_mpi() {
  python3 - "$1" "$2" <<'EOF' || fail "$1: not a complete two-host MPI result"
import json, sys
path, job = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
ctx, meta = doc["context"], doc["pipebench"]
problems = []
if meta.get("status") != "complete" or meta.get("processes") != 2:
    problems.append(f"status {meta.get('status')}, {meta.get('processes')} processes")
if ctx.get("slurm_job_id") != job or ctx.get("slurm_job_num_nodes") != "2":
    problems.append(f"job {ctx.get('slurm_job_id')} on {ctx.get('slurm_job_num_nodes')} nodes")
if ctx.get("mpi_host_count") != "2" or "pbh1" not in ctx.get("mpi_hosts", "") or "pbh2" not in ctx.get("mpi_hosts", ""):
    problems.append(f"ranks not on pbh1 and pbh2: {ctx.get('mpi_hosts')!r}")
bad = [b["name"] for b in doc["benchmarks"] if b.get("error_occurred") and not b.get("error_message", "").startswith("skipped")]
if bad or not doc["benchmarks"]:
    problems.append(f"{len(bad)} entries failed (first {bad[:1]})" if bad else "no entries")
if problems:
    sys.exit(f"{path}: " + "; ".join(problems))
print(f"{path.rsplit('/', 1)[-1]}: {len(doc['benchmarks'])} runs on {ctx['mpi_hosts']}, transport {ctx.get('mpi_transport')}")
EOF
}

# 1. mpi.sbatch -N 2, one rank per host: srun --mpi=pmix, then mpirun inside the allocation.
for launcher in srun mpirun; do
  if ! id=$(PIPEBENCH_MPI_LAUNCHER=$launcher PIPEBENCH_WORKLOADS=mpi/chunked \
            submit "mpi-$launcher" --nodes=2 --ntasks-per-node=1 scripts/slurm/mpi.sbatch); then
    fail "mpi ($launcher): sbatch refused it"
  elif expect "mpi -N 2 ($launcher)" "$id" COMPLETED; then
    n=0
    for f in "$results/$id"/mpi-*.json; do
      [ -f "$f" ] || continue
      report+=("  $(check_mpi "$f" "$id")")
      n=$((n + 1))
    done
    [ "$n" -ge 1 ] || fail "mpi ($launcher): no mpi-*.json in $results/$id"
  fi
done

# 2. A two-task sweep array across the nodes, then its collect job (afterok).
if out=$(cd "$here" && PIPEBENCH_WORKLOADS=cpu/overlap in_h1 "$here/scripts/submit.sh" --quick --sweep "chunks=2,4" 2>&1); then
  sweep=$(sed -n 's/^sweep \([0-9]*\):.*/\1/p' <<<"$out")
  collect=$(sed -n 's/^collect \([0-9]*\):.*/\1/p' <<<"$out")
  if [ -z "$sweep" ] || [ -z "$collect" ]; then
    fail "submit.sh printed no job ids: $out"
  else
    if expect "sweep (array of 2)" "$sweep" COMPLETED; then
      for task in 0 1; do
        [ -s "$results/${sweep}_$task/cpu-overlap.json" ] || fail "sweep task $task: no cpu-overlap.json"
      done
    fi
    if expect "collect (afterok)" "$collect" COMPLETED; then
      [ -s "$results/$collect/summary.txt" ] && [ -s "$results/$collect/pairs.csv" ] || fail "collect: no summary.txt or pairs.csv"
    fi
  fi
else
  fail "scripts/submit.sh failed: $out"
fi

# 3. Stopped mid-run (scancel: the SIGTERM then SIGKILL a time limit sends): what finished stays.
if ! id=$(PIPEBENCH_DOMAINS=cpu PIPEBENCH_WORKLOADS='cpu/(matmul|overlap)' PIPEBENCH_ARGS="--benchmark_min_time=0.3" \
          submit stopped scripts/slurm/node.sbatch); then
  fail "stopped: sbatch refused it"
else
  for _ in $(seq 600); do [ -f "$results/$id/cpu-matmul.json" ] && break; sleep 0.1; done
  in_h1 scancel "$id" || true
  if expect "stopped mid-run" "$id" CANCELLED; then
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d['pipebench']['status'] != 'complete')" \
      "$results/$id/cpu-matmul.json" || fail "stopped: cpu-matmul.json is not the complete family"
    [ ! -e "$results/$id/cpu-overlap.json" ] || fail "stopped: the interrupted family has a .json, not a .partial.json"
  fi
fi

printf '%s\n' "${report[@]}" >&2
echo "== $((SECONDS - t0)) s in all, bring-up included" >&2
[ "$failures" -eq 0 ] || { echo "cluster_slurm_test.sh: $failures check(s) failed" >&2; exit 1; }
echo "cluster_slurm_test.sh: the batch scripts ran on a two-host Slurm" >&2
