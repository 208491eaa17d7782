#!/usr/bin/env bash
# A cluster on one machine: N "hosts", each a network namespace with its own address, hostname,
# hosts file, empty resolv.conf and /tmp, joined by a bridge, the links optionally shaped with tbf.
# Made for running pipebench-mpi across hosts (mpirun's rsh launcher with this script as agent).
#
#   scripts/cluster.sh up --hosts N [--rate R]   make N hosts (2 to 8); R a tc rate (100mbit, 1gbit,
#                                                2.5gbit), both directions of every link; default unshaped
#   scripts/cluster.sh down                      remove every host, link, process and mount of ours
#   scripts/cluster.sh status                    what is up, and the probe of the links
#   scripts/cluster.sh exec HOST CMD...          run CMD inside HOST (pbh1 .. pbhN, or its address)
#   scripts/cluster.sh mpirun [--transport ob1|ucx] [--np N] [--] ARGS...
#                                                mpirun inside pbh1 across every host, one rank per
#                                                host by default, over TCP (ob1, the default, or UCX)
#   scripts/cluster.sh agent [OPTS] HOST CMD...  mpirun's plm_rsh_agent: like ssh, CMD is a shell line
#
# --dir D (before the command, or PIPEBENCH_CLUSTER_DIR) is the state folder, default
# /run/pipebench-cluster: the PIDs started, per-host files, the hostfile, the agent and cluster.json
# (what was made and a short probe of the links: ping RTT and a 1 s TCP transfer, pbh1 to pbh2).
# `mpirun` exports PIPEBENCH_CLUSTER_FILE=D/cluster.json, which pipebench-mpi adds to its context.
# Each host has a /tmp of its own; a checkout under /tmp (this script's) and the folders named in
# PIPEBENCH_CLUSTER_SHARE (colon-separated) stay visible in it at their own paths.
#
# Everything it makes is named with a prefix of its own (namespaces pbh1.., veths pbv1.., bridge
# pbbr0), so `up` and `down` find and remove what a killed earlier run left. The hosts have no
# default route and an empty resolv.conf: traffic goes only between them. Only the rate is shaped;
# latency is the stack's own, recorded by the probe: --delay is refused with the reason (a kernel
# without netem cannot delay at all) rather than faked.
# Needs root. Exit codes: 0 done, 1 failed, 2 bad input, 77 namespaces cannot be made here.
set -euo pipefail

readonly PREFIX=pbh BRIDGE=pbbr0 VETH=pbv SUBNET=10.213.0 MAX_HOSTS=8
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
dir=${PIPEBENCH_CLUSTER_DIR:-/run/pipebench-cluster}

say() { echo "cluster.sh: $*" >&2; }
bad() { say "$*"; exit 2; }
die() { say "$*"; exit 1; }
cannot() { say "cannot make hosts here: $*"; exit 77; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$script"; }
now() { echo "${EPOCHREALTIME/,/.}"; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the state folder ------------------------------------------------------------------------

set_dir() {
  case "$1" in /*) dir=$1 ;; *) dir=$PWD/$1 ;; esac
  dir=${dir%/}
  # The agent is named by a path in an MCA parameter that Open MPI splits at spaces; and each host
  # replaces /tmp with its own, so a state folder under /tmp would vanish inside the hosts.
  [[ "$dir" != *[[:space:]]* ]] || bad "--dir '$dir': a path without spaces, please (mpirun splits the agent's path at them)"
  case "$dir/" in /tmp/*) bad "--dir $dir: not under /tmp, which every host replaces with its own" ;; esac
}
marker() { echo "$dir/.pipebench-cluster"; }
state_get() {  # state_get KEY: a value written by `up`
  [ -f "$dir/state" ] || return 1
  awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; found = 1 } END { exit !found }' "$dir/state"
}

# ---- what this kernel and user allow ---------------------------------------------------------

preflight() {
  [ "$(id -u)" -eq 0 ] || cannot "needs root (network namespaces, veths and a bridge)"
  local tool
  for tool in ip tc nsenter unshare mount umount findmnt; do
    command -v "$tool" >/dev/null 2>&1 || cannot "no '$tool' command (Debian: iproute2, util-linux, mount)"
  done
  local why
  why=$(unshare --net --uts --mount true 2>&1) || cannot "no permission to create namespaces: $why"
  # Teardown kills every process in our namespaces; from inside one it would kill its caller.
  local inside
  inside=$(ip netns identify $$ 2>/dev/null || true)
  [[ ! "$inside" =~ ^${PREFIX}[0-9]+$ ]] || die "run '$sub' from the machine, not from inside host $inside"
}

# The kernel's answer to a netem qdisc, asked in a throwaway namespace (never on a real link).
netem_missing() {
  unshare --net sh -c 'ip link set lo up && tc qdisc add dev lo root netem delay 1ms' >/dev/null 2>&1 && return 1
  return 0
}

# ---- processes: started ones recorded with their start time, so a reused PID is never killed ---

start_time() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
record_pid() { echo "$1 $(start_time "$1") $2" >>"$dir/pids"; }

# running PID: the process is there and not a zombie (one that ended and waits for its parent).
running() { [ -e "/proc/$1/stat" ] && [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pids PID...: SIGTERM, up to 3 s for them to go, then SIGKILL.
stop_pids() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  local pid left i
  for ((i = 0; i < 30; i++)); do
    left=()
    for pid in "$@"; do running "$pid" && left+=("$pid"); done
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

stop_recorded() {
  [ -f "$dir/pids" ] || return 0
  local pid started alive=()
  while read -r pid started _; do
    [ -n "$pid" ] && [ "$(start_time "$pid")" = "$started" ] && alive+=("$pid")
  done <"$dir/pids"
  stop_pids "${alive[@]}"
  rm -f "$dir/pids"
}

# ---- names of ours, wherever an earlier run left them -----------------------------------------

our_namespaces() { ip netns list 2>/dev/null | awk -v p="^${PREFIX}[0-9]+$" '$1 ~ p { print $1 }'; }
our_links() { ip -o link show 2>/dev/null | awk -F': ' -v p="^(${VETH}[0-9]+|$BRIDGE)$" '{ sub(/@.*/, "", $2) } $2 ~ p { print $2 }'; }
# The persistent UTS namespaces: nsfs mounts on <state folder>/uts/pbhI.
our_uts_mounts() { findmnt -rn -t nsfs -o TARGET 2>/dev/null | awk -v p="/uts/${PREFIX}[0-9]+$" '$0 ~ p'; }

# Removes every process, namespace, link and mount of ours and the state folder's files; with
# `report`, says what it found (at `up`: what a killed earlier run left). Idempotent.
teardown() {
  local report=${1:-} found=() ns pids mnt link
  stop_recorded
  for ns in $(our_namespaces); do
    # Whatever runs in our namespace was started in it through us (mpirun, orted, ranks, a probe).
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
    stop_pids "${pids[@]}"
    ip netns del "$ns" 2>/dev/null || true
    found+=("namespace $ns${pids[0]:+ (${#pids[@]} processes)}")
  done
  for mnt in $(our_uts_mounts); do
    mnt=$(printf '%b' "$mnt")  # findmnt escapes blanks as \x20
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    rm -f "$mnt"
    found+=("uts $mnt")
  done
  for link in $(our_links); do
    ip link del "$link" 2>/dev/null || true
    found+=("link $link")
  done
  if [ -f "$(marker)" ]; then
    local i
    for ((i = 1; i <= MAX_HOSTS; i++)); do rm -rf "${dir:?}/$PREFIX$i"; done
    rm -rf "${dir:?}/uts" "${dir:?}/slurm"  # slurm/: scripts/slurm/cluster-slurm.sh's, its daemons stopped above
    rm -f "$dir/state" "$dir/hostfile" "$dir/agent" "$dir/cluster.json" "$dir/pids" "$(marker)"
    rmdir "$dir" 2>/dev/null || true
  fi
  if [ "$report" = report ] && [ ${#found[@]} -gt 0 ]; then
    say "removed what an earlier run left: $(printf '%s, ' "${found[@]}" | sed 's/, $//')"
  fi
}

# ---- entering a host --------------------------------------------------------------------------

# host_index NAME-OR-ADDRESS: 1..N, or fails.
host_index() {
  local hosts i
  hosts=$(state_get hosts) || return 1
  for ((i = 1; i <= hosts; i++)); do
    if [ "$1" = "$PREFIX$i" ] || [ "$1" = "$SUBNET.$i" ]; then echo "$i"; return 0; fi
  done
  return 1
}

# What a host still sees of the machine's /tmp under its own: this checkout (its scripts and
# build), and the folders named in PIPEBENCH_CLUSTER_SHARE (colon-separated), where under /tmp.
# A clone in /tmp (a CI's) would otherwise vanish inside every host.
shared_paths() {
  local root p out="" extra=${PIPEBENCH_CLUSTER_SHARE:-}
  root=$(cd "$(dirname "$script")/.." && pwd)
  for p in "$root" ${extra//:/ }; do
    p=$(realpath -m "$p")
    case "$p" in /tmp/?*) out+="${out:+:}$p" ;; esac
  done
  echo "$out"
}

# enter I ARGV...: runs ARGV (replacing this process) in host I: its network and UTS namespaces,
# and a mount namespace of its own in which the host's hosts, resolv.conf and /tmp cover the
# machine's (the shared paths bound back into it first).
enter() {
  local i=$1 host=$PREFIX$1
  shift
  # shellcheck disable=SC2016 # the inner shell expands $0, $1 and $@: the host's folder, the shared paths, ARGV
  exec nsenter --net="/run/netns/$host" --uts="$dir/uts/$host" -- \
    unshare --mount --propagation private -- /bin/sh -c '
      mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" /etc/resolv.conf || exit 1
      keep=$1; shift
      IFS=:
      for p in $keep; do
        [ -d "$p" ] || continue
        mkdir -p "$0/tmp/${p#/tmp/}" && mount --rbind "$p" "$0/tmp/${p#/tmp/}" || exit 1
      done
      unset IFS
      mount --rbind "$0/tmp" /tmp && exec "$@"' "$dir/$host" "$(shared_paths)" "$@"
}

need_cluster() {
  if [ ! -f "$dir/state" ] || [ ! -f "$(marker)" ]; then bad "no cluster in $dir (scripts/cluster.sh up --hosts N)"; fi
}

# ---- up ---------------------------------------------------------------------------------------

# No IPv6 on the switch and its ports (the machine's side of the bridge has no address at all),
# nor in the hosts: nothing but the IPv4 traffic of what runs there crosses the bridge.
ipv6_off() { [ ! -e "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ] || echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"; }

# parse_rate RATE: bits per second of a tc rate (kbit, mbit, gbit, tbit: powers of 1000), or fails.
parse_rate() {
  [[ "$1" =~ ^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit)$ ]] || return 1
  awk -v n="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[3]}" 'BEGIN {
    m = (u == "bit") ? 1 : (u == "kbit") ? 1e3 : (u == "mbit") ? 1e6 : (u == "gbit") ? 1e9 : 1e12
    if (n * m < 1e5) exit 1
    printf "%.0f\n", n * m }'
}

# shape DEVICE [nsenter args]: tbf at the cluster's rate on one end of a link. The bucket holds 4 ms
# of traffic (at least 128 KiB): a smaller one than rate / HZ caps the rate below what was asked,
# and one below a GSO segment (64 KiB) drops it.
shape() {
  local dev=$1 burst
  shift
  burst=$(awk -v b="$rate_bits" 'BEGIN { x = b / 8 / 250; if (x < 131072) x = 131072; printf "%.0f", x }')
  "$@" tc qdisc add dev "$dev" root tbf rate "$rate" burst "$burst" latency 50ms
}

# probe: ping RTT and a 1 s TCP transfer from pbh1 to pbh2, each bounded by a timeout; writes the
# probe_* lines of cluster.json to stdout.
probe() {
  local a2=$SUBNET.2 in1=(nsenter "--net=/run/netns/${PREFIX}1") in2=(nsenter "--net=/run/netns/${PREFIX}2")
  local out rtt
  if ! command -v ping >/dev/null 2>&1; then
    echo '  "probe_rtt": "not measured: no ping (Debian: iputils-ping)",'
  elif out=$(timeout 10 "${in1[@]}" ping -n -q -c 10 -i 0.05 -W 2 "$a2" 2>&1) &&
       rtt=$(sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*|\1 \2 \3|p' <<<"$out") && [ -n "$rtt" ]; then
    read -r rmin ravg rmax <<<"$rtt"
    awk -v a="$rmin" -v b="$ravg" -v c="$rmax" 'BEGIN {
      printf "  \"probe_rtt_us_min\": %.1f,\n  \"probe_rtt_us_avg\": %.1f,\n  \"probe_rtt_us_max\": %.1f,\n", a * 1000, b * 1000, c * 1000
      printf "  \"probe_rtt\": \"ping, 10 echoes 50 ms apart, %s to %s\",\n", "'"${PREFIX}1"'", "'"${PREFIX}2"'" }'
  else
    die "ping from ${PREFIX}1 to ${PREFIX}2 ($a2) failed: $(tail -n 1 <<<"$out")"
  fi
  if ! command -v iperf3 >/dev/null 2>&1; then
    echo '  "probe_bandwidth": "not measured: no iperf3 (Debian: iperf3)",'
    return 0
  fi
  # One server for one client (-1), on pbh2's address only; it ends by itself, or at its timeout.
  timeout 15 "${in2[@]}" iperf3 --server --one-off --bind "$a2" --port 5201 >/dev/null 2>&1 &
  record_pid $! "iperf3 server in ${PREFIX}2"
  local i bits=""
  for ((i = 0; i < 20; i++)); do  # the server needs a moment to listen: retry for up to 2 s
    if out=$(timeout 10 "${in1[@]}" iperf3 --client "$a2" --port 5201 --time 1 --json 2>/dev/null); then
      bits=$(python3 -c 'import json, sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' <<<"$out" 2>/dev/null) && break
    fi
    sleep 0.1
  done
  [ -n "$bits" ] || die "the TCP probe (iperf3) from ${PREFIX}1 to ${PREFIX}2 got no answer in 2 s"
  echo "  \"probe_bandwidth_bits_per_second\": $bits,"
  echo "  \"probe_bandwidth\": \"iperf3, one TCP stream for 1 s, ${PREFIX}1 to ${PREFIX}2\","
}

# A setup that fails half-way leaves nothing behind.
undo_failed_up() {
  local rc=$?
  [ "$rc" = 0 ] || { say "setup failed; removing what was made"; teardown; }
}

cmd_up() {
  local hosts="" delay="" t0 i host
  rate=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --hosts) [ $# -ge 2 ] || bad "--hosts needs a count (2 to $MAX_HOSTS)"; hosts=$2; shift ;;
      --rate) [ $# -ge 2 ] || bad "--rate needs a rate (e.g. 1gbit)"; rate=$2; shift ;;
      --delay) [ $# -ge 2 ] || bad "--delay needs a time"; delay=$2; shift ;;
      --dir) [ $# -ge 2 ] || bad "--dir needs a folder"; set_dir "$2"; shift ;;
      *) bad "up: unknown argument '$1' (use --hosts N, --rate R, --dir D)" ;;
    esac
    shift
  done
  [ -n "$hosts" ] || bad "--hosts: how many hosts (2 to $MAX_HOSTS)?"
  if [[ ! "$hosts" =~ ^[0-9]+$ ]] || [ "$hosts" -lt 2 ] || [ "$hosts" -gt $MAX_HOSTS ]; then
    bad "--hosts $hosts: must be 2 to $MAX_HOSTS"
  fi
  rate_bits=0
  if [ -n "$rate" ]; then
    rate_bits=$(parse_rate "$rate") || bad "--rate '$rate': not a rate such as 100mbit, 1gbit or 2.5gbit (at least 100kbit)"
  fi
  preflight
  if [ -n "$delay" ]; then
    netem_missing && bad "--delay $delay: this kernel has no netem qdisc, so latency cannot be shaped (cluster.json records the measured RTT)"
    bad "--delay $delay: not supported: cluster.sh shapes rate only (tbf); latency is measured, not set"
  fi
  if [ -d "$dir" ] && [ ! -f "$(marker)" ] && [ -n "$(ls -A "$dir")" ]; then
    bad "--dir $dir: exists, is not empty and is not a cluster's state folder"
  fi

  teardown report
  t0=$(now)
  trap undo_failed_up EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$dir/uts"
  chmod 700 "$dir"
  touch "$(marker)"
  printf 'hosts %s\nrate %s\n' "$hosts" "${rate:-unshaped}" >"$dir/state"

  ip link add "$BRIDGE" type bridge forward_delay 0
  ipv6_off "$BRIDGE"
  ip link set "$BRIDGE" up
  : >"$dir/hostfile"
  for ((i = 1; i <= hosts; i++)); do
    host=$PREFIX$i
    mkdir -p "$dir/$host/tmp"
    chmod 1777 "$dir/$host/tmp"
    : >"$dir/$host/resolv.conf"  # empty: no name server, nothing leaves through the resolver
    { printf '127.0.0.1\tlocalhost\n'; for ((j = 1; j <= hosts; j++)); do printf '%s.%d\t%s%d\n' "$SUBNET" "$j" "$PREFIX" "$j"; done; } \
      >"$dir/$host/hosts"
    echo "$SUBNET.$i slots=$(nproc)" >>"$dir/hostfile"
    touch "$dir/uts/$host"
    unshare --uts="$dir/uts/$host" hostname "$host"
    ip netns add "$host"
    local in=(nsenter --net="/run/netns/$host")
    "${in[@]}" sh -c '[ ! -e /proc/sys/net/ipv6/conf/default/disable_ipv6 ] ||
                      { echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; }'
    ip link add "$VETH$i" type veth peer name eth0 netns "$host"
    ipv6_off "$VETH$i"
    ip link set "$VETH$i" master "$BRIDGE" up
    "${in[@]}" ip addr add "$SUBNET.$i/24" dev eth0
    "${in[@]}" ip link set lo up
    "${in[@]}" ip link set eth0 up
    if [ -n "$rate" ]; then
      shape eth0 "${in[@]}"  # what the host sends
      shape "$VETH$i"        # what its switch port delivers to it
    fi
  done
  # The agent mpirun runs (plm_rsh_agent takes a path and splits it at spaces: no arguments there).
  printf '#!/bin/bash\nexec %q --dir %q agent "$@"\n' "$script" "$dir" >"$dir/agent"
  chmod 755 "$dir/agent"
  local made
  made=$(seconds_since "$t0")

  local probe_json probe_line
  probe_json=$(probe)
  probe_line=$(probe_summary_from "$probe_json")
  {
    echo "{"
    echo "  \"hosts\": $hosts,"
    echo "  \"host_names\": \"$(seq -s, -f "$PREFIX%g" 1 "$hosts")\","
    echo "  \"addresses\": \"$(seq -s, -f "$SUBNET.%g" 1 "$hosts")\","
    echo "  \"network\": \"network namespaces on one bridge ($BRIDGE), veth links, no default route\","
    if [ -n "$rate" ]; then
      echo "  \"rate_shaped\": \"$rate\","
      echo "  \"rate_shaped_bits_per_second\": $rate_bits,"
    else
      echo "  \"rate_shaped\": \"unshaped\","
    fi
    echo "  \"delay_shaped\": \"none: latency is the stack's own (this kernel has no netem)\","
    printf '%s\n' "$probe_json"
    echo "  \"setup_seconds\": $made,"
    echo "  \"created\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""
    echo "}"
  } >"$dir/cluster.json"
  trap - EXIT INT TERM

  echo "cluster: $hosts hosts on bridge $BRIDGE, links ${rate:-unshaped}${rate:+ both directions (tbf)}, no delay (no netem), made in ${made} s"
  for ((i = 1; i <= hosts; i++)); do
    printf '  %s%d  %s.%d/24  eth0 <-> %s%d\n' "$PREFIX" "$i" "$SUBNET" "$i" "$VETH" "$i"
  done
  echo "probe ${PREFIX}1 -> ${PREFIX}2: $probe_line"
  echo "state: $dir (cluster.json, hostfile, agent)"
}

# The one-line summary of the probe's JSON lines.
probe_summary_from() {
  python3 -c '
import json, sys
d = json.loads("{" + sys.argv[1].rstrip().rstrip(",") + "}")
parts = []
if "probe_rtt_us_avg" in d:
    parts.append("RTT %.0f/%.0f/%.0f us (min/avg/max, ping)" % (d["probe_rtt_us_min"], d["probe_rtt_us_avg"], d["probe_rtt_us_max"]))
else:
    parts.append(d["probe_rtt"])
if "probe_bandwidth_bits_per_second" in d:
    parts.append("TCP %.2f Gbit/s (iperf3, 1 s)" % (d["probe_bandwidth_bits_per_second"] / 1e9))
else:
    parts.append(d["probe_bandwidth"])
print(", ".join(parts))' "$1"
}

# ---- the other commands -----------------------------------------------------------------------

cmd_down() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) [ $# -ge 2 ] || bad "--dir needs a folder"; set_dir "$2"; shift ;;
      *) bad "down: unknown argument '$1'" ;;
    esac
    shift
  done
  preflight
  local t0
  t0=$(now)
  teardown
  echo "cluster: down in $(seconds_since "$t0") s"
}

cmd_status() {
  [ $# -eq 0 ] || bad "status: unknown argument '$1'"
  local ns
  ns=$(our_namespaces | tr '\n' ' ')
  if [ ! -f "$dir/state" ]; then
    echo "no cluster in $dir${ns:+; namespaces of ours left by an earlier run: $ns(cluster.sh down removes them)}"
    return 1
  fi
  echo "cluster in $dir: $(state_get hosts) hosts, links $(state_get rate); namespaces up: ${ns:-none}"
  local i hosts
  hosts=$(state_get hosts)
  for ((i = 1; i <= hosts; i++)); do
    printf '  %s%d  %s.%d  processes: %s\n' "$PREFIX" "$i" "$SUBNET" "$i" "$(ip netns pids "$PREFIX$i" 2>/dev/null | wc -l)"
  done
  [ ! -f "$dir/cluster.json" ] || cat "$dir/cluster.json"
}

cmd_exec() {
  [ $# -ge 2 ] || bad "exec: needs a host and a command (exec pbh1 hostname)"
  need_cluster
  local i
  i=$(host_index "$1") || bad "exec: no host '$1' (${PREFIX}1 .. ${PREFIX}$(state_get hosts), or their addresses)"
  shift
  enter "$i" "$@"
}

# What mpirun's rsh launcher runs: AGENT [ssh-like options] HOST COMMAND..., COMMAND a shell line.
cmd_agent() {
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
  [ $# -ge 2 ] || bad "agent: needs a host and a command"
  need_cluster
  local i
  i=$(host_index "$1") || bad "agent: no host '$1' in this cluster"
  shift
  enter "$i" /bin/sh -c "$*"
}

cmd_mpirun() {
  local transport=ob1 np=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --transport) [ $# -ge 2 ] || bad "--transport needs ob1 or ucx"; transport=$2; shift ;;
      --np) [ $# -ge 2 ] || bad "--np needs a count"; np=$2; shift ;;
      --) shift; break ;;
      *) break ;;
    esac
    shift
  done
  need_cluster
  [ -z "$np" ] || [[ "$np" =~ ^[1-9][0-9]*$ ]] || bad "--np '$np': not a positive count"
  local flags
  case "$transport" in
    ob1) flags=(--mca pml ob1 --mca btl "tcp,self") ;;
    # pml_ucx_tls/devices "any": Open MPI's UCX PML otherwise refuses a TCP-only UCX ("cannot be selected").
    ucx) flags=(--mca pml ucx -x "UCX_TLS=tcp,self" -x UCX_NET_DEVICES=eth0 --mca pml_ucx_tls any --mca pml_ucx_devices any) ;;
    *) bad "--transport '$transport': not one of ob1, ucx" ;;
  esac
  command -v mpirun >/dev/null 2>&1 || bad "mpirun: not found (Debian: openmpi-bin)"
  export PIPEBENCH_CLUSTER_FILE=$dir/cluster.json OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # --bind-to none: every host would bind its rank to core 0 of the same machine. yield_when_idle:
  # ranks that busy-poll take the cores the others (and the kernel's TCP work) need.
  enter 1 mpirun --hostfile "$dir/hostfile" -np "${np:-$(state_get hosts)}" --map-by node --bind-to none \
    --mca plm_rsh_agent "$dir/agent" --mca mpi_yield_when_idle 1 \
    --mca oob_tcp_if_include eth0 --mca btl_tcp_if_include eth0 \
    "${flags[@]}" -x PIPEBENCH_CLUSTER_FILE "$@"
}

# ---- main -------------------------------------------------------------------------------------

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || bad "--dir needs a folder"; set_dir "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
sub=$1
shift
case "$sub" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  exec) cmd_exec "$@" ;;
  agent) cmd_agent "$@" ;;
  mpirun) cmd_mpirun "$@" ;;
  *) bad "unknown command '$sub' (up, down, status, exec, mpirun, agent)" ;;
esac
