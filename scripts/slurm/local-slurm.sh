#!/usr/bin/env bash
# A real single-node Slurm on this machine, from Debian's packages, for tests and for trying
# the batch scripts: munged, slurmctld and slurmd, everything under one temporary folder
# (its own munge key and socket, so a system munged or slurm.conf is neither used nor
# disturbed), torn down by PID.
#
#   scripts/slurm/local-slurm.sh run CMD [ARGS...]   bring up, run CMD with SLURM_CONF set, tear down
#   scripts/slurm/local-slurm.sh shell               the same with an interactive shell
#
# Sourced (tests/slurm_test.sh), it defines local_slurm_packages, local_slurm_up,
# local_slurm_down and local_slurm_wait. Needs root: slurmd must run as root.
# Written for Debian 12's Slurm 22.05 and munge 0.5.15.

LOCAL_SLURM_PACKAGES=(slurmctld slurmd slurm-client munge)
LOCAL_SLURM_DIR=""
LOCAL_SLURM_PIDS=()

local_slurm_log() { echo "local-slurm: $*" >&2; }

# Installs the packages when missing and possible. Prints the reason and returns 1 when not.
local_slurm_packages() {
  local missing=() p
  for p in "${LOCAL_SLURM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "not a Debian system; Slurm packages missing: ${missing[*]}"; return 1
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo); else
      echo "Slurm packages missing (${missing[*]}) and no root to install them: sudo apt-get install -y --no-install-recommends ${missing[*]}"
      return 1
    fi
  fi
  local_slurm_log "installing ${missing[*]}"
  # Without recommends: 4 packages instead of 37.
  if ! { DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
           || { "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; } >&2; then
    echo "apt-get could not install ${missing[*]}"; return 1
  fi
}

# local_slurm_up: starts the three daemons with their state in a new temporary folder,
# exports SLURM_CONF, waits until the node is idle. Returns 1 with the logs on stderr when it
# does not come up.
local_slurm_up() {
  LOCAL_SLURM_DIR=$(mktemp -d /tmp/pipebench-slurm.XXXXXX)
  local d=$LOCAL_SLURM_DIR
  mkdir -p "$d/state" "$d/spool" "$d/munge"
  chmod 0755 "$d"   # munged runs as munge and must reach its folder
  chown munge:munge "$d/munge"
  chmod 0700 "$d/munge"
  # A key of our own: the test never depends on, or changes, /etc/munge/munge.key.
  local err
  err=$(runuser -u munge -- mungekey --create --keyfile="$d/munge/munge.key" 2>&1) || {
    local_slurm_log "mungekey --create as munge failed (every folder above $d must be searchable by munge): $err"
    return 1; }
  chmod 0755 "$d/munge"   # clients (slurmctld, sbatch, jobs) connect to the socket in here
  # munged refuses to run as root ("PRNG seed dir is insecure"); it forks and writes its PID file.
  if ! runuser -u munge -- /usr/sbin/munged --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
         --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed"; then
    local_slurm_log "munged did not start:"; cat "$d/munge/munged.log" >&2 2>/dev/null; return 1
  fi
  LOCAL_SLURM_PIDS+=("$(cat "$d/munge/munged.pid")")
  local i
  for i in $(seq 50); do
    munge -S "$d/munge/munge.socket" -n 2>/dev/null | unmunge -S "$d/munge/munge.socket" >/dev/null 2>&1 && break
    [ "$i" -eq 50 ] && { local_slurm_log "munged does not answer:"; cat "$d/munge/munged.log" >&2; return 1; }
    sleep 0.1
  done

  # The node as slurmd sees it, renamed localhost, 90% of its memory; and one placeholder GPU
  # so that a --gpus=1 job is scheduled and runs exactly as written. It is no device: the CUDA
  # suite finds none and reports its entries skipped. Slurm drops a GPU without a File
  # ("Removing file-less GPU"), hence /dev/null; with task/none nothing is fenced by it.
  local node mem
  node=$(slurmd -C | head -1)
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  node=$(sed -e 's/^NodeName=[^ ]*/NodeName=localhost/' -e "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node")
  cat >"$d/slurm.conf" <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
EnforcePartLimits=ALL
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
$node Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=localhost Name=gpu File=/dev/null" >"$d/gres.conf"
  export SLURM_CONF="$d/slurm.conf"

  slurmctld -D -c -f "$SLURM_CONF" >>"$d/slurmctld.out" 2>&1 &
  LOCAL_SLURM_PIDS+=("$!")
  slurmd -D -N localhost -f "$SLURM_CONF" >>"$d/slurmd.out" 2>&1 &
  LOCAL_SLURM_PIDS+=("$!")
  local state=""
  for i in $(seq 300); do
    state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
    [ "$state" = idle ] && { local_slurm_log "node idle after $((i / 10)).$((i % 10)) s (SLURM_CONF=$SLURM_CONF)"; return 0; }
    sleep 0.1
  done
  local_slurm_log "node not idle after 30 s (state '${state}'); logs:"
  tail -n 20 "$d"/slurmctld.log "$d"/slurmd.log "$d"/*.out >&2 2>/dev/null
  return 1
}

# local_slurm_wait JOBID TIMEOUT_S: waits until no task of the job is queued or running
# (polling squeue every 0.5 s: sbatch --wait polls far more slowly), then prints one line per
# job or array task: "<job id, or array id_task> <state> <run time> <exit code>".
# Returns 1 on timeout.
local_slurm_wait() {
  local id=$1 limit=$2 start=$SECONDS
  while [ -n "$(squeue -h -j "$id" 2>/dev/null)" ]; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      local_slurm_log "job $id still queued or running after $limit s"; return 1
    fi
    sleep 0.5
  done
  scontrol -o show job "$id" | awk '{
    delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); if (n) f[substr($i, 1, n - 1)] = substr($i, n + 1) }
    print (("ArrayTaskId" in f) ? f["ArrayJobId"] "_" f["ArrayTaskId"] : f["JobId"]), f["JobState"], f["RunTime"], f["ExitCode"] }' | sort
}

# Cancels every job, TERMs the daemons we started, KILLs what is left after 5 s, removes the
# state folder. Safe to call twice and from a trap.
local_slurm_down() {
  if [ -n "${SLURM_CONF:-}" ] && [ -n "$LOCAL_SLURM_DIR" ] && [ "$SLURM_CONF" = "$LOCAL_SLURM_DIR/slurm.conf" ]; then
    scancel --quiet --full "$(squeue -h -o %A 2>/dev/null | sort -u)" 2>/dev/null || true
    local i
    for i in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  local pid
  # slurmd and slurmctld first (last started), munged last: they need it to say goodbye.
  for ((i = ${#LOCAL_SLURM_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${LOCAL_SLURM_PIDS[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${LOCAL_SLURM_PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  LOCAL_SLURM_PIDS=()
  if [ -n "$LOCAL_SLURM_DIR" ] && [ -z "${LOCAL_SLURM_KEEP:-}" ]; then
    rm -rf "$LOCAL_SLURM_DIR"
  elif [ -n "$LOCAL_SLURM_DIR" ]; then
    local_slurm_log "state and logs kept in $LOCAL_SLURM_DIR"
  fi
  LOCAL_SLURM_DIR=""
  unset SLURM_CONF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    run) shift; [ $# -gt 0 ] || { echo "local-slurm.sh: run needs a command" >&2; exit 2; } ;;
    shell) shift; set -- "${SHELL:-bash}" ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
  [ "$(id -u)" -eq 0 ] || { echo "local-slurm.sh: needs root (slurmd runs as root)" >&2; exit 2; }
  if ! why=$(local_slurm_packages); then echo "local-slurm.sh: $why" >&2; exit 2; fi
  trap local_slurm_down EXIT
  trap 'exit 130' INT TERM
  local_slurm_up
  status=0
  "$@" || status=$?
  exit "$status"
fi
