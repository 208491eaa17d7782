#!/usr/bin/env bash
# Slurm across the hosts of scripts/cluster.sh: one munged (on the machine, its socket a file
# every host reaches), one slurmctld in the first host, one slurmd per host, each daemon inside
# its host's network, hostname and /tmp. The batch scripts of scripts/slurm/ then run on it
# unchanged, their ranks on several hosts.
#
#   scripts/slurm/cluster-slurm.sh up            start the daemons (the cluster must be up), wait until
#                                                every node is idle
#   scripts/slurm/cluster-slurm.sh run CMD...    run CMD inside the first host with SLURM_CONF set
#                                                (sbatch, squeue, sinfo: never from the machine itself)
#   scripts/slurm/cluster-slurm.sh down          stop the daemons by PID, remove the Slurm state
#
# The cluster's folder (--dir D before the command, or PIPEBENCH_CLUSTER_DIR, as for cluster.sh)
# holds slurm/: slurm.conf, the munge key and socket, state, spool and logs. Every daemon's PID
# goes into the cluster's pids file too, so `cluster.sh down` stops them even after a crash.
# SLURM_CONF is always set for what runs here: without it Slurm looks its controller up in DNS.
# Needs root. Exit codes: 0 done, 1 failed, 2 bad input (no cluster, unknown command).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cluster=$here/scripts/cluster.sh
dir=${PIPEBENCH_CLUSTER_DIR:-/run/pipebench-cluster}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || { echo "cluster-slurm.sh: --dir needs a folder" >&2; exit 2; }; dir=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
case "$dir" in /*) ;; *) dir=$PWD/$dir ;; esac
d=$dir/slurm
export SLURM_CONF=$d/slurm.conf

say() { echo "cluster-slurm: $*" >&2; }
bad() { say "$*"; exit 2; }
hosts() { awk '$1 == "hosts" { print $2 }' "$dir/state" 2>/dev/null; }
in_host() { "$cluster" --dir "$dir" exec "$@"; }  # in_host pbhI CMD...
start_time() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
record() { echo "$1 $(start_time "$1") $2" | tee -a "$d/pids" >>"$dir/pids"; }  # in cluster.sh's format

need_cluster() {
  [ -f "$dir/state" ] && [ -f "$dir/.pipebench-cluster" ] || bad "no cluster in $dir (scripts/cluster.sh up --hosts N first)"
  [ "$(hosts)" -ge 2 ] 2>/dev/null || bad "the cluster in $dir has fewer than 2 hosts"
}

stop() {
  [ -f "$d/pids" ] || return 0
  local pid started alive=() i
  while read -r pid started _; do
    [ -n "$pid" ] && [ "$(start_time "$pid")" = "$started" ] && alive+=("$pid")
  done < <(tac "$d/pids")  # slurmds and slurmctld first, munged last: they sign off through it
  [ ${#alive[@]} -gt 0 ] || return 0
  kill -TERM "${alive[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    local left=()
    for pid in "${alive[@]}"; do [ -e "/proc/$pid" ] && [ "$(start_time "$pid")" != "" ] && left+=("$pid"); done
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

cmd_down() {
  [ -d "$d" ] || return 0
  if [ -f "$SLURM_CONF" ] && [ -f "$dir/state" ]; then
    timeout 10 "$cluster" --dir "$dir" exec pbh1 scancel --quiet --full --user=root 2>/dev/null || true
  fi
  stop
  rm -rf "$d"
  say "stopped"
}

cmd_up() {
  need_cluster
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ||
    bad "slurmctld, slurmd and munged are needed (Debian: slurmctld slurmd slurm-client munge)"
  [ ! -d "$d" ] || cmd_down  # what an earlier, killed run left
  local t0=$SECONDS n i
  n=$(hosts)
  mkdir -p "$d/state" "$d/spool" "$d/munge" "$d/log"
  chmod 0755 "$dir" "$d"  # munged runs as munge and must reach its folder
  chown munge:munge "$d/munge"
  chmod 0700 "$d/munge"
  runuser -u munge -- mungekey --create --keyfile="$d/munge/munge.key" ||
    { say "mungekey --create as munge failed"; exit 1; }
  chmod 0755 "$d/munge"  # the daemons and the jobs connect to the socket in here
  runuser -u munge -- /usr/sbin/munged --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
    { say "munged did not start"; cat "$d/munge/munged.log" >&2 2>/dev/null; exit 1; }
  record "$(cat "$d/munge/munged.pid")" munged

  # Every host is the same machine: each node declares what slurmd sees of it (CPUs, memory),
  # renamed and given its address.
  local node mem
  node=$(slurmd -C | head -1)
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  node=$(sed -e 's/^NodeName=[^ ]* //' -e "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node")
  {
    cat <<EOF
ClusterName=pbcluster
SlurmctldHost=pbh1(10.213.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.%n.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.%n.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
EOF
    for ((i = 1; i <= n; i++)); do echo "NodeName=pbh$i NodeAddr=10.213.0.$i $node State=UNKNOWN"; done
    echo "PartitionName=hosts Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$SLURM_CONF"

  # Daemons in the foreground (-D), each the last exec of `cluster.sh exec`: $! is the daemon.
  in_host pbh1 slurmctld -D -c -f "$SLURM_CONF" >>"$d/log/slurmctld.out" 2>&1 &
  record "$!" slurmctld
  for ((i = 1; i <= n; i++)); do
    in_host "pbh$i" slurmd -D -N "pbh$i" -f "$SLURM_CONF" >>"$d/log/slurmd.pbh$i.out" 2>&1 &
    record "$!" "slurmd pbh$i"
  done
  local idle=""
  for ((i = 0; i < 300; i++)); do
    idle=$(in_host pbh1 sinfo -h -o '%t %D' 2>/dev/null || true)
    [ "$idle" = "idle $n" ] && { say "$n nodes idle after $((SECONDS - t0)) s (SLURM_CONF=$SLURM_CONF)"; return 0; }
    sleep 0.1
  done
  say "the nodes are not idle after 30 s (sinfo: '${idle}'); logs:"
  tail -n 15 "$d"/log/* >&2 2>/dev/null || true
  exit 1
}

[ $# -gt 0 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || bad "needs root (slurmd runs as root, munged as the munge user)"
sub=$1
shift
case "$sub" in
  up) cmd_up ;;
  down) cmd_down ;;
  run)
    [ $# -gt 0 ] || bad "run: needs a command"
    need_cluster
    [ -f "$SLURM_CONF" ] || bad "no Slurm on the cluster in $dir (cluster-slurm.sh up first)"
    exec "$cluster" --dir "$dir" exec pbh1 env SLURM_CONF="$SLURM_CONF" "$@" ;;
  *) bad "unknown command '$sub' (up, run, down)" ;;
esac
