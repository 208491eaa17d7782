#!/usr/bin/env python3
"""scripts/cluster.sh and pipebench-mpi across the hosts it makes: its bad input and a bad
cluster file (one line each, exit 2), a leftover of a killed run cleaned at `up`, two hosts that
are really apart (hostname, hosts file, empty resolv.conf, no default route), the MPI suite's
smoke entries across them over ob1/TCP and UCX/TCP (every entry verified, ranks on different
hosts, transport, eager limit and the links' probe in the context), a shaped link (tbf at its
rate on both ends; the rate measured is reported), and after `down` nothing of ours: no namespace,
link, mount or process.

    cluster_test.py <pipebench-mpi>

Needs root (exit 77 otherwise, with the reason). Every command has a timeout; the cluster is
taken down whatever happens. Standard library only; exit 0 passed, 1 failed, 77 skipped."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from testlib import ROOT, SKIP, check, fail, load_json, load_result, skip
import mpi_tests

CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
TIMEOUT = 240
PREFIX = "pbh"


def cluster(*args, state=None, timeout=60):
    cmd = [CLUSTER, *(["--dir", state] if state else []), *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"hung: {' '.join(cmd)} did not finish in {timeout} s")


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


def ours_left():
    """Every name of ours the machine still has: namespaces, links, UTS mounts."""
    ns = [l.split()[0] for l in lines(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout)]
    links = [l.split(": ")[1].split("@")[0]
             for l in lines(subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout)]
    mounts = lines(subprocess.run(["findmnt", "-rn", "-t", "nsfs", "-o", "TARGET"], capture_output=True, text=True).stdout)
    return ([f"namespace {n}" for n in ns if n.startswith(PREFIX)] +
            [f"link {l}" for l in links if l == "pbbr0" or (l.startswith("pbv") and l[3:].isdigit())] +
            [f"mount {m}" for m in mounts if f"/uts/{PREFIX}" in m])


def namespace_ids(state, hosts):
    """The kernel's ids of our hosts' network and UTS namespaces, as /proc/<pid>/ns shows them."""
    ids = set()
    for i in range(1, hosts + 1):
        ids.add(f"net:[{os.stat(f'/run/netns/{PREFIX}{i}').st_ino}]")
        ids.add(f"uts:[{os.stat(os.path.join(state, 'uts', f'{PREFIX}{i}')).st_ino}]")
    return ids


def processes_in(ids):
    found = []
    for path in glob.glob("/proc/[0-9]*/ns/net") + glob.glob("/proc/[0-9]*/ns/uts"):
        try:
            if os.readlink(path) in ids:
                found.append(path.split("/")[2])
        except OSError:
            pass  # gone meanwhile, or a process of the machine's we may not look at
    return sorted(set(found))


def bad_input():
    for args, word in [(["up", "--hosts", "1"], "--hosts 1: must be 2 to 8"),
                       (["up", "--hosts", "9"], "--hosts 9: must be 2 to 8"),
                       (["up", "--hosts", "2", "--rate", "fast"], "--rate 'fast': not a rate"),
                       (["up", "--hosts", "2", "--rate", "10"], "--rate '10': not a rate"),
                       (["up", "--hosts", "2", "--delay", "1ms"], "--delay 1ms: this kernel has no netem")]:
        r = cluster(*args)
        got = lines(r.stderr)
        check(r.returncode == 2, f"{' '.join(args)}: exit {r.returncode}, expected 2\n{r.stderr}")
        check(len(got) == 1 and word in got[0], f"{' '.join(args)}: expected one line with {word!r}, got {got}")
    check(not ours_left(), f"bad input left {ours_left()}")


def leftover():
    """What a killed run would leave: a host namespace, its veth, and a process in it whose parent
    is gone (as orted's would be). Returns that process's PID."""
    subprocess.run(["ip", "netns", "add", f"{PREFIX}8"], check=True, timeout=10)
    subprocess.run(["ip", "link", "add", "pbv8", "type", "veth", "peer", "name", "eth0", "netns", f"{PREFIX}8"],
                   check=True, timeout=10)
    r = subprocess.run(["sh", "-c", f"nsenter --net=/run/netns/{PREFIX}8 sleep 300 >/dev/null 2>&1 & echo $!"],
                       capture_output=True, text=True, check=True, timeout=10)
    return int(r.stdout)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_suite(binary, state, transport, out):
    args = [*mpi_tests.TINY, f"--benchmark_out={out}"]
    r = cluster("mpirun", "--transport", transport, "--", binary, *args, state=state, timeout=TIMEOUT)
    check(r.returncode == 0, f"{transport}: exit {r.returncode}\n{r.stderr[-3000:]}")
    doc, _ = load_result(out)
    mpi_tests.verified(doc, 2)  # every entry ran and verified (a verdict all ranks agree on)
    ctx = doc["context"]
    check(ctx.get("mpi_hosts") == f"rank 0: {PREFIX}1; rank 1: {PREFIX}2", f"{transport}: mpi_hosts {ctx.get('mpi_hosts')!r}")
    check(ctx.get("mpi_host_count") == "2", f"{transport}: mpi_host_count {ctx.get('mpi_host_count')!r}")
    check(ctx.get("mpi_ranks_per_node") == "1", f"{transport}: mpi_ranks_per_node {ctx.get('mpi_ranks_per_node')!r}")
    check(ctx.get("cluster_hosts") == "2" and ctx.get("cluster_host_names") == f"{PREFIX}1,{PREFIX}2",
          f"{transport}: the cluster file is not in the context")
    check(float(ctx.get("cluster_probe_rtt_us_avg", 0)) > 0 and float(ctx.get("cluster_probe_bandwidth_bits_per_second", 0)) > 0,
          f"{transport}: no probe in the context")
    return ctx


def bad_cluster_file(binary, work):
    """A cluster file that is missing or not cluster.sh's: one line naming it, exit 2."""
    bad = os.path.join(work, "bad.json")
    with open(bad, "w") as f:
        f.write('{"hosts": [2]}\n')
    for path, word in [(os.path.join(work, "missing.json"), "cannot be read"), (bad, "not the flat JSON object")]:
        r = subprocess.run([binary, "--no-probe"], capture_output=True, text=True, timeout=60,
                           env={**mpi_tests.mpi_env(), "PIPEBENCH_CLUSTER_FILE": path})
        got = mpi_tests.ours(r.stderr)
        check(r.returncode == 2 and len(got) == 1 and f"PIPEBENCH_CLUSTER_FILE {path}: {word}" in got[0],
              f"PIPEBENCH_CLUSTER_FILE {path}: exit {r.returncode}, {got}")


def ucx_available():
    r = subprocess.run(["ompi_info", "--parsable"], capture_output=True, text=True, timeout=60)
    return r.returncode == 0 and "mca:pml:ucx:" in r.stdout


def main(binary):
    if os.geteuid() != 0:
        skip("cluster.sh makes network namespaces, veths and a bridge: needs root")
    for tool in ["ip", "nsenter", "unshare", "mpirun", "ompi_info"]:
        if shutil.which(tool) is None:
            skip(f"no {tool} here")
    t0 = time.monotonic()
    # The state folder and results on a disk the hosts share: each host has a /tmp of its own.
    work = tempfile.mkdtemp(prefix="pipebench-cluster-test.", dir="/var/tmp")
    state = os.path.join(work, "state")
    stray = None
    report = []
    try:
        bad_input()
        bad_cluster_file(binary, work)
        stray = leftover()
        t = time.monotonic()
        r = cluster("up", "--hosts", "2", state=state)
        if r.returncode == SKIP:
            skip(r.stderr.strip())
        check(r.returncode == 0, f"up: exit {r.returncode}\n{r.stderr}")
        report.append(f"up (2 hosts, unshaped, probe included): {time.monotonic() - t:.1f} s")
        check(f"removed what an earlier run left: namespace {PREFIX}8 (1 processes)" in r.stderr,
              f"up did not say it removed the leftover: {r.stderr}")
        check(not alive(stray), f"the leftover's process {stray} was not stopped")
        check(f"namespace {PREFIX}8" not in ours_left() and "link pbv8" not in ours_left(), "the leftover is still there")
        print(r.stdout, end="")

        info = load_json(os.path.join(state, "cluster.json"))
        check(info["hosts"] == 2 and info["rate_shaped"] == "unshaped", f"cluster.json: {info}")
        check(0 < info["probe_rtt_us_min"] <= info["probe_rtt_us_avg"] <= info["probe_rtt_us_max"], f"RTT: {info}")
        check(info["probe_bandwidth_bits_per_second"] > 0, f"bandwidth not measured: {info}")
        report.append(f"probe: RTT {info['probe_rtt_us_avg']:.0f} us, TCP {info['probe_bandwidth_bits_per_second'] / 1e9:.2f} Gbit/s")

        # Each host is apart: its name, its hosts file, no resolver, no way out.
        r = cluster("exec", f"{PREFIX}2", "sh", "-c", "hostname; wc -c </etc/resolv.conf; ip route; cat /etc/hosts",
                    state=state)
        check(r.returncode == 0, f"exec: exit {r.returncode}\n{r.stderr}")
        out = r.stdout.splitlines()
        check(out[0] == f"{PREFIX}2" and out[1] == "0", f"exec {PREFIX}2: {out}")
        check(not any(l.startswith("default") for l in out), f"a default route in {PREFIX}2: {out}")
        check(f"10.213.0.1\t{PREFIX}1" in out, f"{PREFIX}2's hosts file: {out}")
        r = cluster("exec", f"{PREFIX}3", "true", state=state)
        check(r.returncode == 2 and f"no host '{PREFIX}3'" in r.stderr, f"exec on a host that is not there: {r.stderr}")

        t = time.monotonic()
        ctx = run_suite(binary, state, "ob1", os.path.join(work, "ob1.json"))
        check(ctx.get("mpi_transport") == "ob1 over tcp", f"ob1: mpi_transport {ctx.get('mpi_transport')!r}")
        check(ctx.get("mpi_eager_limit_source") == "btl_tcp_eager_limit" and
              ctx.get("mpi_eager_limit_bytes") == ctx.get("mpi_t/btl_tcp_eager_limit"),
              f"ob1: eager limit {ctx.get('mpi_eager_limit_bytes')!r} from {ctx.get('mpi_eager_limit_source')!r}")
        report.append(f"pipebench-mpi smoke, 2 hosts, ob1/TCP: {time.monotonic() - t:.1f} s")
        if ucx_available():
            t = time.monotonic()
            ctx = run_suite(binary, state, "ucx", os.path.join(work, "ucx.json"))
            check(ctx.get("mpi_transport") == "ucx over tcp,self", f"ucx: mpi_transport {ctx.get('mpi_transport')!r}")
            report.append(f"pipebench-mpi smoke, 2 hosts, UCX/TCP: {time.monotonic() - t:.1f} s")
        else:
            report.append("UCX: not in this Open MPI (ompi_info lists no pml ucx), not run")

        # A shaped cluster over the first one (its hosts are replaced): tbf on both ends of the link.
        r = cluster("up", "--hosts", "2", "--rate", "200mbit", state=state)
        check(r.returncode == 0, f"up --rate 200mbit: exit {r.returncode}\n{r.stderr}")
        info = load_json(os.path.join(state, "cluster.json"))
        rate = info["probe_bandwidth_bits_per_second"]
        # The shaping is checked where it is set (tc, below); the rate the probe measured is
        # reported, not asserted: it depends on the machine's load.
        check(info["rate_shaped_bits_per_second"] == 200e6 and rate > 0,
              f"shaped to 200 Mbit/s, measured {rate / 1e6:.0f} Mbit/s")
        for where in (["tc", "qdisc", "show", "dev", "pbv1"],
                      ["nsenter", f"--net=/run/netns/{PREFIX}1", "tc", "qdisc", "show", "dev", "eth0"]):
            q = subprocess.run(where, capture_output=True, text=True, timeout=10).stdout
            check("tbf" in q and "200Mbit" in q, f"{' '.join(where)}: {q}")
        report.append(f"shaped 200mbit: TCP {rate / 1e6:.0f} Mbit/s")

        ids = namespace_ids(state, 2)
        t = time.monotonic()
        r = cluster("down", state=state)
        check(r.returncode == 0, f"down: exit {r.returncode}\n{r.stderr}")
        report.append(f"down: {time.monotonic() - t:.2f} s")
        check(not ours_left(), f"after down: {ours_left()}")
        check(not processes_in(ids), f"after down, processes in our namespaces: {processes_in(ids)}")
        check(not os.path.exists(state), "after down the state folder is still there")
        r = cluster("status", state=state)
        check(r.returncode == 1 and r.stdout.startswith("no cluster"), f"status after down: {r.stdout}")
    finally:
        cluster("down", state=state)  # whatever failed: nothing of ours stays up
        if stray is not None and alive(stray):
            os.kill(stray, 9)
        shutil.rmtree(work, ignore_errors=True)
    left = ours_left()
    check(not left, f"left behind: {left}")
    print("\n".join(report))
    print(f"cluster test: {time.monotonic() - t0:.1f} s in all")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail(__doc__)
    # Stopped (a CTest timeout, Ctrl-C), the cluster still goes down: `finally` runs on SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main(sys.argv[1])
