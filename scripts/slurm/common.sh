# shellcheck shell=bash
# Sourced by every batch script in scripts/slurm/: where things are, the result folder of the
# job, and running one domain's benchmark families as separate invocations. Settings, all
# optional (environment; sbatch passes the submitting shell's environment to the job):
#
#   PIPEBENCH_ROOT      the checkout (default: found upwards from where sbatch was run;
#                       sbatch runs a spooled copy of the script, whose own path says nothing)
#   PIPEBENCH_BUILD     build folder holding the binaries, relative to the checkout or absolute
#                       (default build); binaries are looked up as bench/<domain>/pipebench-<domain>,
#                       <domain>/pipebench-<domain> or pipebench-<domain> in it
#   PIPEBENCH_RESULTS   results root, relative to the checkout or absolute (default results); a job writes
#                       <root>/<cluster>/<jobid>[_<array task>]/, a requeued job (SLURM_RESTART_COUNT n)
#                       <...>-restart<n>/, never into a folder that exists
#   PIPEBENCH_DOMAINS   domains to run (each script has its default); naming one whose binary
#                       is missing fails the job, a default one is skipped with a line
#   PIPEBENCH_SUITE     quick or full (default full)
#   PIPEBENCH_QUICK=1   a tiny parameter set for testing the scripts themselves (seconds)
#   PIPEBENCH_ARGS      extra flags for every binary, e.g. "--bytes 1G --benchmark_repetitions=10"
#   PIPEBENCH_WORKLOADS extended regex on domain/workload selecting families (default: all)
#   PIPEBENCH_MODULES   environment modules to load first, e.g. "gcc/12 openmpi/4.1"
#
# A family is one pair (domain/workload, e.g. cpu/overlap): it runs as its own invocation
# into <domain>-<workload>.partial.json, renamed to <domain>-<workload>.json when its document
# says the run completed. At a time limit (or scancel) Slurm sends SIGTERM to the job's
# processes: the binary finishes its entry and writes every finished entry, marked incomplete,
# into the .partial.json, which keeps that name; the families after it do not run.

pb_note() { echo "pipebench: $*" >&2; }
pb_die() { echo "pipebench: $*" >&2; exit 2; }

PB_FAILED=0        # families that exited non-zero (verification failure, error)
PB_KEPT=()         # result files written by this job
PB_CURRENT=""      # the family running now, for the time-limit note
PB_CHILD=""        # its launcher's PID
PB_STOPPED=0       # 128 + the signal that stopped the job

PB_EXTRA=()        # key=value settings a script adds (a sweep's parameter set)
PB_ONLY_AXES=""    # when set, only families with one of these axes in their entry names

# pb_setup <job kind> <checkout>: modules, build folder, result folder, common flags.
pb_setup() {
  PB_KIND=$1
  PB_ROOT=$2
  if [ -n "${PIPEBENCH_MODULES:-}" ]; then
    if ! type module >/dev/null 2>&1; then
      local init
      for init in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh /usr/share/lmod/lmod/init/bash; do
        # shellcheck disable=SC1090
        [ -f "$init" ] && { set +u; . "$init"; set -u; break; }
      done
    fi
    type module >/dev/null 2>&1 || pb_die "PIPEBENCH_MODULES='$PIPEBENCH_MODULES' but this node has no 'module' command"
    local m
    for m in $PIPEBENCH_MODULES; do
      set +u; module load "$m" || pb_die "module load $m failed"; set -u
    done
  fi
  cd "$PB_ROOT" || pb_die "cannot enter $PB_ROOT"
  PB_BUILD=${PIPEBENCH_BUILD:-build}
  case "$PB_BUILD" in /*) ;; *) PB_BUILD="$PB_ROOT/$PB_BUILD" ;; esac

  local root cluster id
  root=${PIPEBENCH_RESULTS:-results}  # relative: to the checkout, the working folder now
  cluster=${SLURM_CLUSTER_NAME:-$(hostname -s 2>/dev/null || hostname)}
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
    id="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  elif [ -n "${SLURM_JOB_ID:-}" ]; then
    id=$SLURM_JOB_ID
  else  # run by hand outside Slurm: a folder per run, as scripts/run.sh does
    id=$(date -u +%Y%m%dT%H%M%SZ)-$$
  fi
  # A requeued job keeps its id: each attempt gets a folder of its own.
  [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] 2>/dev/null && id="$id-restart$SLURM_RESTART_COUNT"
  mkdir -p "$root/$cluster" || pb_die "cannot create $root/$cluster"
  PB_OUT="$root/$cluster/$id"
  local n=1
  until mkdir "$PB_OUT" 2>/dev/null; do  # never into an earlier attempt's folder
    [ -d "$root/$cluster" ] || pb_die "cannot create $PB_OUT"
    n=$((n + 1)); PB_OUT="$root/$cluster/$id-$n"
  done

  # Settings applied as --<axis> <value> to every binary that has that option (see pb_flags).
  PB_SETTINGS=()
  PB_FLAGS=()
  if [ "${PIPEBENCH_QUICK:-0}" = 1 ]; then
    # Enough to exercise every family once: one small point, one repetition, no probes.
    # shellcheck disable=SC2054  # commas are value lists, as the binaries take them
    PB_SETTINGS=(bytes=65536 n=32 chains=1,4 chunks=4 depth=1,2 intensity=2,8 queue_depth=1,4 streams=1,2
                 iterations=3)
    PB_FLAGS=(--no-probe --benchmark_min_time=0.001 --benchmark_repetitions=1)
  else
    case "${PIPEBENCH_SUITE:-full}" in
      quick|full) PB_FLAGS=("--${PIPEBENCH_SUITE:-full}") ;;
      *) pb_die "PIPEBENCH_SUITE='$PIPEBENCH_SUITE' is not quick or full" ;;
    esac
  fi
  # shellcheck disable=SC2206
  PB_FLAGS+=(${PIPEBENCH_ARGS:-})
  for a in "${PB_FLAGS[@]}"; do
    case "$a" in --benchmark_filter*|--benchmark_out*) pb_die "PIPEBENCH_ARGS: $a is set per family by the scripts; select families with PIPEBENCH_WORKLOADS" ;; esac
  done
  pb_note "$PB_KIND job $id on ${SLURM_JOB_NODELIST:-$(hostname)}${SLURM_JOB_ID:+ (Slurm job $SLURM_JOB_ID)}: results in $(pb_rel "$PB_OUT")"
  # mpirun kills its ranks this many seconds after Slurm's SIGTERM reached it (default 1): time
  # for them to finish their entry and write what finished (srun leaves that to KillWait).
  export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-10}
  trap 'pb_on_signal TERM' TERM
  trap 'pb_on_signal INT' INT
  trap pb_on_exit EXIT
}

# pb_rel <path>: relative to the checkout when inside it (what the logs print).
pb_rel() { case "$1" in "$PB_ROOT"/*) echo "${1#"$PB_ROOT"/}" ;; *) echo "$1" ;; esac; }

# A time limit or scancel: Slurm has sent SIGTERM to every process of the job, the binary among
# them; SIGUSR1 (which srun and mpirun pass on, and which a binary that already stops takes
# without ending) reaches it where the launcher kept Slurm's signal to itself. The family
# running writes what finished and the job ends after it.
pb_on_signal() {
  PB_STOPPED=$([ "$1" = INT ] && echo 130 || echo 143)
  pb_note "stopped by SIG$1 (time limit or scancel)${PB_CURRENT:+ while running $PB_CURRENT}; kept: ${PB_KEPT[*]:-nothing}"
  [ -z "$PB_CHILD" ] || kill -USR1 "$PB_CHILD" 2>/dev/null || true
}

pb_on_exit() {
  local status=$?
  if [ "$status" -eq 0 ] && [ ${#PB_KEPT[@]} -gt 0 ]; then
    pb_note "done: ${#PB_KEPT[@]} result file(s) in $(pb_rel "$PB_OUT")"
  fi
}

# pb_bin <domain>: the binary's path (relative to the checkout, the working folder, when inside
# it: results name no machine's folders), or nothing.
pb_bin() {
  local c
  for c in "$PB_BUILD/bench/$1/pipebench-$1" "$PB_BUILD/$1/pipebench-$1" "$PB_BUILD/pipebench-$1"; do
    [ -x "$c" ] && [ -f "$c" ] && { pb_rel "$c"; return 0; }
  done
  return 1
}

# pb_flags <binary> <key=value>...: the --key value flags that binary accepts (its --help
# lists them; axis key queue_depth is flag --queue-depth), a note for each it does not. A
# later key=value replaces an earlier one (a sweep's chunks=16 replaces quick mode's chunks=4).
pb_flags() {
  local bin=$1 help kv key flag
  shift
  help=$("$bin" --help 2>/dev/null) || true
  local -A value=()
  local order=()
  for kv in "$@"; do
    key=${kv%%=*}
    [ -n "${value[$key]+set}" ] || order+=("$key")
    value[$key]=${kv#*=}
  done
  PB_OUT_FLAGS=()
  for key in "${order[@]}"; do
    flag="--${key//_/-}"
    if grep -qE -- "(^|[ ,])${flag}( |,|$)" <<<"$help"; then
      PB_OUT_FLAGS+=("$flag" "${value[$key]}")
    else
      pb_note "$(basename "$bin") has no $flag: $key ignored for it"
    fi
  done
}

# pb_sweep_sets "<key=v1,v2 key=v3,...>": every combination, one parameter set per line
# ("chunks=4 depth=2"), the first key varying slowest. scripts/submit.sh counts them to size
# the job array; task i of the array runs line i (from 0).
pb_sweep_sets() {
  local sets=("") kv key v s next
  for kv in $1; do
    [[ "$kv" == *=* ]] || pb_die "sweep: '$kv' is not key=value[,value...]"
    key=${kv%%=*}
    next=()
    for s in "${sets[@]}"; do
      IFS=, read -r -a vals <<<"${kv#*=}"
      for v in "${vals[@]}"; do next+=("${s:+$s }$key=$v"); done
    done
    sets=("${next[@]}")
  done
  printf '%s\n' "${sets[@]}"
}

# pb_run_domain <domain> <explicit 0|1> [launcher...]: every family of the domain, each its own
# invocation through the launcher (srun, mpirun, or nothing). Extra settings: PB_EXTRA (key=value).
pb_run_domain() {
  local domain=$1 explicit=$2 bin families fam out status
  shift 2
  local launcher=("$@")
  if ! bin=$(pb_bin "$domain"); then
    if [ "$explicit" = 1 ]; then
      pb_note "$domain: no binary pipebench-$domain in $(pb_rel "$PB_BUILD") (not built); it was requested, so the job fails"
      PB_FAILED=$((PB_FAILED + 1))
    else
      pb_note "$domain: no binary pipebench-$domain in $(pb_rel "$PB_BUILD") (not built); skipped"
    fi
    return 0
  fi
  pb_flags "$bin" "${PB_SETTINGS[@]}" "${PB_EXTRA[@]}"
  local args=("${PB_OUT_FLAGS[@]}" "${PB_FLAGS[@]}")
  # Listed through the launcher too: an MPI binary may need its ranks started properly even
  # to list; each rank may print the list, hence sort -u.
  local listed
  if ! listed=$("${launcher[@]}" "$bin" "${args[@]}" --benchmark_list_tests 2>"$PB_OUT/$domain-list.err" | sort -u); then
    pb_note "$domain: $(basename "$bin") --benchmark_list_tests failed: $(head -1 "$PB_OUT/$domain-list.err")"
    PB_FAILED=$((PB_FAILED + 1))
    return 0
  fi
  rm -f "$PB_OUT/$domain-list.err"
  families=$(grep -E '^[a-z0-9_]+/[a-z0-9_]+/' <<<"$listed" | cut -d/ -f1,2 | sort -u | grep -E -- "${PIPEBENCH_WORKLOADS:-.}" || true)
  if [ -n "$PB_ONLY_AXES" ]; then  # a sweep: only the families that have one of its axes
    local keep="" f axes list
    read -r -a list <<<"$PB_ONLY_AXES"
    axes=$(IFS='|'; echo "${list[*]}")
    for f in $families; do
      grep "^$f/" <<<"$listed" | grep -qE "/($axes):" && keep="$keep $f"
    done
    families=$keep
  fi
  if [ -z "$families" ]; then
    pb_note "$domain: no family selected (PIPEBENCH_WORKLOADS='${PIPEBENCH_WORKLOADS:-}')"
    return 0
  fi
  for fam in $families; do
    [ "$PB_STOPPED" -eq 0 ] || break
    out="$PB_OUT/${fam//\//-}"
    PB_CURRENT=$fam
    pb_note "$fam: ${launcher[*]:+${launcher[*]} }$(basename "$bin") ${args[*]}"
    # In the background and waited for, so the trap above runs while the binary works.
    "${launcher[@]}" "$bin" "${args[@]}" --benchmark_filter="^$fam/" --benchmark_out="$out.partial.json" \
      --benchmark_out_format=json --benchmark_color=false >"$out.txt" &
    PB_CHILD=$!
    while kill -0 "$PB_CHILD" 2>/dev/null; do wait "$PB_CHILD" 2>/dev/null || true; done
    status=0
    wait "$PB_CHILD" 2>/dev/null || status=$?
    PB_CHILD=""
    PB_CURRENT=""
    if [ -s "$out.partial.json" ]; then
      state=$(python3 "$PB_ROOT/scripts/pipebench_results.py" status "$out.partial.json" 2>/dev/null || echo broken)
      if [ "$state" = complete ]; then
        mv "$out.partial.json" "$out.json"
        PB_KEPT+=("$(basename "$out.json")")
      else
        pb_note "$fam: did not finish ($state); what finished is in $(pb_rel "$out.partial.json")"
        PB_KEPT+=("$(basename "$out.partial.json")")
      fi
    fi
    if [ "$status" -ge 128 ]; then
      pb_note "$fam: stopped or killed (exit $status)"
      PB_FAILED=$((PB_FAILED + 1))
    elif [ "$status" -ne 0 ]; then
      pb_note "$fam: exit $status; see $(pb_rel "$out.txt") and the job's output"
      PB_FAILED=$((PB_FAILED + 1))
    fi
  done
}

# pb_domains <default list>: "<explicit> <domain>..." from PIPEBENCH_DOMAINS or the default.
pb_domains() {
  if [ -n "${PIPEBENCH_DOMAINS:-}" ]; then echo "1 $PIPEBENCH_DOMAINS"; else echo "0 $*"; fi
}

pb_finish() {
  if [ "$PB_STOPPED" -ne 0 ]; then
    pb_note "stopped; results so far in $(pb_rel "$PB_OUT")"
    exit "$PB_STOPPED"
  fi
  if [ "$PB_FAILED" -gt 0 ]; then
    pb_note "$PB_FAILED family or domain run(s) failed; results so far in $(pb_rel "$PB_OUT")"
    exit 1
  fi
  if [ ${#PB_KEPT[@]} -eq 0 ]; then
    pb_note "no result written (no domain's binary was found in $(pb_rel "$PB_BUILD"))"
    rmdir "$PB_OUT" 2>/dev/null || true
  fi
  exit 0
}
