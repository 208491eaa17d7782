#!/usr/bin/env python3
"""pipebench-io through its binary, at tiny sizes.

    io_tests.py <case> <pipebench-io>
    case: io_smoke io_files io_direct io_refused io_errors io_fio io_interrupt io_trace

Standard library only; exit 0 passed, 1 failed (first failed assertion), 77 skipped."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from testlib import (TIMEOUT, check, check_interrupts, check_model, close, fail, load_result, run, skip, space_ok,
                     temp_files)
import pipebench_trace  # noqa: E402  (scripts/, on the path testlib sets)

FAST = ["--no-probe", "--benchmark_min_time=0.001", "--benchmark_repetitions=1"]
# Odd sizes: smaller than one block, exactly one block, not a multiple of the block.
TINY = ["--bytes", "1000,16384,40000", "--block", "16384", "--queue-depth", "1,4", "--depth", "2",
        "--intensity", "2,8"]


def fs_type(path):
    r = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    return r.stdout.strip()


def disk_dir():
    """A directory on a disk (pipebench-io's default does the same search)."""
    for d in [os.environ.get("TMPDIR"), "/tmp", "/var/tmp"]:
        if d and os.path.isdir(d) and fs_type(d) not in ("tmpfs", "ramfs"):
            return d
    skip("no disk-backed temporary directory")


def results(path):
    doc, res = load_result(path)
    check_model(res)
    return {b["name"]: b for b in doc["benchmarks"]}


def dead_pid():
    """A process id that no process has now (one that just ended)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def partial_name(pid):
    host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"  # cpu/process_files.cpp's tag
    return f"pipebench-io-partial-{host}-{pid}-Ab12Cd"


def io_smoke(binary):
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        out = os.path.join(tmp, "out", "io.json")
        os.mkdir(os.path.dirname(out))
        r = run(binary, *TINY, *FAST, "--data-dir", tmp, f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        check(os.listdir(tmp) == ["out"], f"data files left behind: {os.listdir(tmp)}")
        runs = results(out)
    for name, b in runs.items():
        check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
    for size in [1000, 16384, 40000]:
        for mode in ["direct", "buffered"]:
            for name in [f"io/read/serial/bytes:{size}/block:16384/intensity:8/mode:{mode}",
                         f"io/read/thread/bytes:{size}/block:16384/depth:2/intensity:8/mode:{mode}",
                         f"io/read/uring/bytes:{size}/block:16384/queue_depth:4/intensity:8/mode:{mode}",
                         f"io/read/stage_pread/bytes:{size}/block:16384/mode:{mode}",
                         f"io/read/stage_read/bytes:{size}/block:16384/queue_depth:1/mode:{mode}"]:
                check(name in runs, f"missing entry {name}")
        check(f"io/read/stage_compute/bytes:{size}/block:16384/intensity:2" in runs, "missing stage_compute")
    # The model reaches both pipelined variants, each through its own read stage.
    for name in ["io/read/thread/bytes:40000/block:16384/depth:2/intensity:8/mode:direct",
                 "io/read/uring/bytes:40000/block:16384/queue_depth:4/intensity:8/mode:direct"]:
        for counter in ["t_serial", "t_ideal", "speedup"]:
            check(counter in runs[name], f"{name} lacks {counter}: {runs[name].get('label')}")
    # Buffered passes start with the file's pages dropped (a disk-backed directory).
    b = runs["io/read/stage_pread/bytes:40000/block:16384/mode:buffered"]
    check(b["page_cache_resident"] < 0.5, f"buffered pass found the file cached: {b['page_cache_resident']}")


def io_files(binary):
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        args = ["--bytes", "40000", "--block", "16384", "--queue-depth", "2", "--depth", "2", "--intensity", "4",
                "--mode", "buffered", *FAST]
        r = run(binary, *args, "--data-dir", tmp, "--keep")
        check(r.returncode == 0, f"--keep: exit {r.returncode}\n{r.stderr}")
        kept = [f for f in os.listdir(tmp) if f.endswith(".f32")]
        check(len(kept) == 1, f"--keep left {os.listdir(tmp)}")
        path = os.path.join(tmp, kept[0])
        mtime = os.stat(path).st_mtime_ns
        r = run(binary, *args, "--data-dir", tmp, "--keep")
        check(r.returncode == 0 and os.stat(path).st_mtime_ns == mtime, "a matching file was rewritten, not reused")
        # A kept file stays kept: a later run reuses it without --keep and leaves it there.
        r = run(binary, *args, "--data-dir", tmp)
        check(r.returncode == 0 and os.path.exists(path) and os.stat(path).st_mtime_ns == mtime,
              f"a kept file was removed or rewritten by a run without --keep: {os.listdir(tmp)}")
        # A partial file of a killed run is removed when the next run writes a file there; one of a
        # live process (this one) is left alone.
        stale, live = os.path.join(tmp, partial_name(dead_pid())), os.path.join(tmp, partial_name(os.getpid()))
        for p in (stale, live):
            open(p, "w").close()
        r = run(binary, *args, "--bytes", "8192", "--data-dir", tmp)
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        check(not os.path.exists(stale) and os.path.exists(live), f"partial files after a run: {os.listdir(tmp)}")
        os.unlink(live)
        check(sorted(os.listdir(tmp)) == [kept[0]], f"files left: {os.listdir(tmp)}")
        r = run(binary, *args, "--file", path)
        check(r.returncode == 0, f"--file: exit {r.returncode}\n{r.stderr}")
        r = run(binary, *[a for a in args if a not in ("--bytes", "40000")], "--file", path, "--benchmark_list_tests")
        check("io/read/serial/bytes:40000/" in r.stdout, "without --bytes a --file is read whole")

        empty = os.path.join(tmp, "empty.f32")
        open(empty, "w").close()
        short = os.path.join(tmp, "short.f32")
        with open(path, "rb") as src, open(short, "wb") as dst:
            dst.write(src.read(20000))
        out = os.path.join(tmp, "never.json")
        cases = [(os.path.join(tmp, "missing.f32"), [], "No such file"),
                 (empty, [], "empty"),
                 (tmp, [], "not a regular file"),
                 (short, ["--bytes", "40000"], "fewer than the 40000 asked"),
                 (path, ["--seed", "99"], "not pipebench's data for --seed 99")]
        for file, extra, message in cases:
            r = run(binary, "--file", file, *extra, *FAST, f"--benchmark_out={out}")
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and message in lines[0],
                  f"--file {file} {extra}: exit {r.returncode}, stderr {r.stderr!r}, expected {message!r}")
            check(lines[0].startswith("pipebench-io: --file "), f"the line does not name --file: {lines[0]}")
            check(not os.path.exists(out), "a result file was written for bad input")

        # Unreadable: permissions bind everyone but root, so root runs this part as nobody.
        os.chmod(path, 0)
        cmd = [binary]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            open_to_all = all(os.stat(p).st_mode & stat.S_IXOTH for p in _parents(binary))
            if not setpriv or not open_to_all:
                print("note: unreadable-file case not run (root, and no way to run the binary as nobody)")
                return
            os.chmod(tmp, 0o755)
            cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", binary]
        r = subprocess.run([*cmd, "--file", path, *FAST], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 2 and "Permission denied" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
              f"unreadable file: exit {r.returncode}, stderr {r.stderr!r}")


def _parents(path):
    path = os.path.abspath(path)
    out = [path]
    while path != "/":
        path = os.path.dirname(path)
        out.append(path)
    return out


def io_direct(binary):
    """O_DIRECT on a memory filesystem is a skip with the reason; buffered still runs."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or fs_type(shm) != "tmpfs":
        skip("no tmpfs at /dev/shm")
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        out = os.path.join(tmp, "io.json")
        r = run(binary, "--bytes", "40000", "--block", "16384", "--queue-depth", "2", "--depth", "2",
                "--intensity", "4", *FAST, "--data-dir", tmp, f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        runs = results(out)
    for name, b in runs.items():
        if "/mode:direct" in name:
            msg = b.get("error_message", "")
            check(msg.startswith("skipped: ") and "tmpfs" in msg, f"{name}: {msg!r}")
        else:
            check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
    check(any("/mode:buffered" in n for n in runs), "no buffered entries ran")


def io_refused(binary):
    """Through the test seam: a refused ring skips the io_uring entries only; short reads and
    -EAGAIN are resubmitted and every variant still verifies."""
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        out = os.path.join(tmp, "io.json")
        r = run(binary, *TINY, *FAST, "--data-dir", tmp, f"--benchmark_out={out}",
                env={"PIPEBENCH_TEST_IO_FAULTS": "setup_errno=EPERM"})
        check(r.returncode == 0, f"refused ring: exit {r.returncode}\n{r.stderr}")
        runs = results(out)
        for name, b in runs.items():
            if "/uring/" in name or "/stage_read/" in name:
                msg = b.get("error_message", "")
                check(msg.startswith("skipped: io_uring refused: ") and "Operation not permitted" in msg,
                      f"{name}: {msg!r}")
            else:
                check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")

        r = run(binary, *TINY, *FAST, "--data-dir", tmp, f"--benchmark_out={out}",
                env={"PIPEBENCH_TEST_IO_FAULTS": "short_every=2,eagain_every=3"})
        check(r.returncode == 0, f"short reads: exit {r.returncode}\n{r.stderr}")
        with open(out) as f:
            doc = json.load(f)
        check(doc["context"].get("io/read/test_faults") == "short_every=2,eagain_every=3",
              "injected faults are not recorded in the context")
        runs = {b["name"]: b for b in doc["benchmarks"]}
        for name, b in runs.items():
            check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
        shorts = [b["short_reads_per_pass"] for n, b in runs.items() if "/uring/bytes:40000/" in n]
        check(shorts and all(s > 0 for s in shorts), f"no short read was resubmitted: {shorts}")


def io_errors(binary):
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        out = os.path.join(tmp, "never.json")
        cases = [(["--block", "1000", "--mode", "direct"], "--block 1000: O_DIRECT needs a multiple of"),
                 (["--block", "1002", "--mode", "buffered"], "--block 1002: not a whole number of 4-byte floats"),
                 (["--bytes", "1001"], "--bytes 1001: not a whole number of 4-byte floats"),
                 (["--queue-depth", "0"], "--queue-depth: must be positive"),
                 (["--queue-depth", "5000"], "--queue-depth 5000: at most 4096"),
                 (["--mode", "mmap"], "--mode: 'mmap' is not one of direct, buffered, cached"),
                 (["--queue-depth", "9223372036854775808"], "--queue-depth: 9223372036854775808 is outside"),
                 (["--block", "99999999999999999999"], "--block: '99999999999999999999' is too large"),
                 (["--data-dir", os.path.join(tmp, "nowhere")], "--data-dir:")]
        for args, message in cases:
            r = run(binary, *args, *FAST, "--data-dir" if "--data-dir" not in args else "--seed",
                    tmp if "--data-dir" not in args else "1", f"--benchmark_out={out}")
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and message in lines[0],
                  f"{args}: exit {r.returncode}, stderr {r.stderr!r}, expected {message!r}")
            check(not os.path.exists(out), f"{args}: a result file was written for bad input")
            check(os.listdir(tmp) == [], f"{args}: files left in the data directory: {os.listdir(tmp)}")
        # The temp directory is where the file goes without --data-dir: one that cannot take it is refused.
        r = run(binary, *FAST, f"--benchmark_out={out}", env={"TMPDIR": os.path.join(tmp, "nowhere")})
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and "TMPDIR" in lines[0], f"bad TMPDIR: {r.returncode} {r.stderr!r}")
        # A file larger than the free space is refused before anything is written (root: a small tmpfs).
        if os.geteuid() == 0 and shutil.which("mount"):
            mnt = os.path.join(tmp, "small")
            os.mkdir(mnt)
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], capture_output=True).returncode == 0:
                try:
                    r = run(binary, *FAST, "--bytes", "16M", "--mode", "buffered", "--data-dir", mnt,
                            f"--benchmark_out={out}")
                    lines = r.stderr.strip().splitlines()
                    check(r.returncode == 2 and len(lines) == 1 and lines[0].startswith("pipebench-io: --bytes: the data "
                                                                                        "file needs 16 MiB in"),
                          f"a file larger than the disk: exit {r.returncode}, {r.stderr!r}")
                    check(os.listdir(mnt) == [], f"files written to the full disk: {os.listdir(mnt)}")
                finally:
                    subprocess.run(["umount", mnt])
            os.rmdir(mnt)


def io_fio(binary):
    """scripts/fio-compare.sh on a file pipebench-io kept, and summary.py joining the two."""
    if not shutil.which("fio"):
        skip("fio is not installed")
    scripts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts")
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        out = os.path.join(tmp, "io.json")
        r = run(binary, "--bytes", "4M", "--block", "1M", "--queue-depth", "1,4", "--mode", "buffered", "--depth", "2",
                "--intensity", "4", *FAST, "--data-dir", tmp, "--keep", f"--benchmark_out={out}")
        check(r.returncode == 0, f"io: exit {r.returncode}\n{r.stderr}")
        (data,) = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".f32")]
        fio = os.path.join(tmp, "fio.json")
        compare = os.path.join(scripts, "fio-compare.sh")
        r = subprocess.run([compare, "--file", data, "--block", "1048576", "--queue-depths", "1 4", "--modes", "buffered",
                            "--rounds", "2", "--io-binary", binary, "--out", fio],
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, f"fio-compare.sh: exit {r.returncode}\n{r.stderr}")
        with open(fio) as f:
            doc = json.load(f)
        meta = doc["fio"]
        check(meta["rounds"] == 2 and "fixedbufs=1" in meta["best_options"] and "registerfiles=1" in meta["best_options"]
              and meta["loops"] * meta["file_bytes"] >= 1 << 30 and meta["ours"], f"fio-compare.sh meta: {meta}")
        check([(x["mode"], x["queue_depth"]) for x in doc["runs"]] == [("buffered", 1), ("buffered", 4)], str(doc))
        for x in doc["runs"]:  # every kind measured in every round, the medians of those samples
            for kind in ("", "default_", "ours_"):
                samples = x[f"{kind}samples"]
                check(len(samples) == 2 and all(v > 0 for v in samples), f"{kind}samples: {x}")
                check(min(samples) <= x[f"{kind}bw_bytes"] <= max(samples), f"{kind}bw_bytes not their median: {x}")
        r = subprocess.run([sys.executable, os.path.join(scripts, "summary.py"), out, fio], capture_output=True,
                           text=True, timeout=TIMEOUT)
        check(r.returncode == 0, f"summary.py: exit {r.returncode}: {r.stderr}")
        section = r.stdout[r.stdout.index("io/read: our read stage against fio"):].split("\n\n")[0]
        rows = [l.split() for l in section.splitlines() if l.startswith("4 MiB ") and " buffered " in l]
        check(len(rows) == 2 and all(row[-2] != "-" and row[-1] != "-" for row in rows),
              f"no ours/best and best/default ratios:\n{r.stdout}")
        for args, message in [(["--block", "0"], "--block: '0' is not a positive byte count"),
                              (["--block", "4096", "--modes", "mmap"], "--modes: 'mmap' is not one of"),
                              (["--block", "4096", "--file", os.path.join(tmp, "missing")], "is not a readable file"),
                              (["--block", "4096", "--rounds", "0"], "--rounds: '0' is not a positive integer"),
                              (["--block", "4096", "--io-binary", os.path.join(tmp, "missing")], "--io-binary: ")]:
            base = ["--file", data, "--out", os.path.join(tmp, "never.json")]
            r = subprocess.run([compare, *base, *args], capture_output=True, text=True, timeout=TIMEOUT)
            check(r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1,
                  f"fio-compare.sh {args}: exit {r.returncode}, {r.stderr!r}")
            check(not os.path.exists(os.path.join(tmp, "never.json")), f"{args}: wrote its output")


def io_interrupt(binary):
    """pipebench-io stopped between entries and while it writes its data file: the output path
    holds the earlier file or every finished entry, and no data file is left; killed while it
    writes, it leaves a partial file that the next run removes."""
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        out = os.path.join(tmp, "io.json")
        cmd = [binary, *TINY, *FAST, "--benchmark_repetitions=2", "--data-dir", data]
        seen = check_interrupts(cmd, out, [(0, signal.SIGTERM, True), (5, signal.SIGINT, True),
                                           (40, signal.SIGTERM, True)], data_dirs=[data])
        size = 1 << 30
        if not space_ok(data, 2 * size):
            print("note: no room for a 1 GiB file here; the stops while it is written are not tried")
        else:
            big = [binary, "--bytes", str(size), "--block", "1M", "--queue-depth", "4", "--depth", "2", "--intensity", "2",
                   "--mode", "buffered", *FAST, "--data-dir", data]
            seen += check_interrupts(big, out, [(0, signal.SIGINT, True, 0.5)], data_dirs=[data])
            seen += check_interrupts(big, out, [(0, signal.SIGKILL, False, 0.5)])
            left = os.listdir(data)
            check(left and all(f.startswith("pipebench-io-partial-") for f in left),
                  f"killed while writing: expected its partial file, found {left}")
            r = run(binary, *TINY, *FAST, "--data-dir", data, "--benchmark_filter=stage_pread/bytes:1000/")
            check(r.returncode == 0 and os.listdir(data) == [], f"the partial file stayed: {os.listdir(data)}")
    print("interrupts:", "; ".join(seen))


def _trace_lanes(name, trace, queue_depth, blocks):
    """The lanes bench/io/read.cpp says each variant records, and what each may hold."""
    where = r"\((core\d+|unbound)\)"
    labels = [lane.label for lane in trace.lanes]
    by_label = {lane.label: lane for lane in trace.lanes}

    def only(label_pattern, name_, category):
        (lane,) = [l for l in trace.lanes if re.fullmatch(label_pattern, l.label)]
        odd = [(i.name, i.category) for i in lane.intervals if (i.name, i.category) != (name_, category)]
        check(not odd, f"{name}: lane {lane.label!r} holds {odd[:3]}, not only {name_} ({category})")
        return lane

    variant = name.split("/")[2]
    if variant == "serial":
        check(len(labels) == 1 and re.fullmatch(r"all stages " + where, labels[0]), f"{name}: lanes {labels}")
        return
    if variant in ("thread", "stage_pread"):
        expected = [r"read " + where] + ([r"compute " + where] if variant == "thread" else [])
        check(len(labels) == len(expected) and all(re.fullmatch(p, l) for p, l in zip(expected, labels)),
              f"{name}: lanes {labels}")
        only(expected[0], "read", "stage")
        if variant == "thread":
            only(expected[1], "compute", "stage")
        return
    # uring and stage_read: the ring's thread, then one lane per buffer the blocks used.
    buffers = min(blocks, queue_depth + 1)
    expected = [r"compute " + where] if variant == "uring" else []
    expected += [r"uring wait " + where, r"uring submit " + where]
    expected += [re.escape(f"read, buffer {b}") for b in range(buffers)]
    check(len(labels) == len(expected) and all(re.fullmatch(p, l) for p, l in zip(expected, labels)),
          f"{name}: lanes {labels}, expected {expected}")
    check(len({re.search(where, l).group(1) for l in labels if re.search(where, l)}) == 1,
          f"{name}: the ring's lanes name different threads: {labels}")
    only(r"uring wait " + where, "wait", "wait")
    submit = only(r"uring submit " + where, "submit", "submit")
    check(sum(i.args.get("requests", 0) for i in submit.intervals) >= blocks,
          f"{name}: {blocks} blocks but the submits carry fewer requests")
    begins = {i.begin for i in submit.intervals}
    compute = {i.item: i for i in (by_label[labels[0]].intervals if variant == "uring" else [])}
    for b in range(buffers):
        lane = only(re.escape(f"read, buffer {b}"), "read", "stage")
        for i in lane.intervals:
            check(i.item % (queue_depth + 1) == b, f"{name}: block {i.item} read into buffer {b}")
            check(i.begin in begins, f"{name}: the read of block {i.item} does not begin with a submit")
            check(i.args.get("completions", 0) >= 1, f"{name}: the read of block {i.item} has no completion")
            if i.item in compute:
                check(i.end <= compute[i.item].begin + 1e-9,
                      f"{name}: block {i.item} computed before its read was reaped")


def io_trace(binary):
    """--trace: every io/read variant but stage_compute writes a timeline that loads and is whole,
    with the lanes bench/io/read.cpp describes, named by its entry, its pass timed; a run without
    --trace has neither; a file as the directory is refused in one line."""
    size, block, blocks = 40000, 16384, 3  # the last block short
    args = ["--bytes", str(size), "--block", str(block), "--queue-depth", "1,4", "--depth", "2", "--intensity", "8",
            *FAST]
    uring_refused = None
    with tempfile.TemporaryDirectory(dir=disk_dir()) as tmp:
        traces, out = os.path.join(tmp, "traces"), os.path.join(tmp, "io.json")
        r = run(binary, *args, "--data-dir", tmp, "--trace", traces, f"--benchmark_out={out}")
        check(r.returncode == 0, f"--trace: exit {r.returncode}\n{r.stderr}")
        runs = results(out)
        traced = 0
        for name, b in runs.items():
            variant = name.split("/")[2]
            msg = b.get("error_message", "")
            if variant in ("uring", "stage_read") and msg.startswith("skipped: io_uring refused"):
                uring_refused = msg
                continue
            if "/mode:direct" in name and msg.startswith("skipped: "):
                continue  # O_DIRECT refused by this filesystem: io_direct's case
            check(not b.get("error_occurred"), f"{name}: {msg}")
            if variant == "stage_compute":
                continue
            path = b["pipebench"].get("trace")
            check(path and os.path.dirname(path) == traces and os.path.isfile(path),
                  f"{name}: no timeline named, or not in --trace's folder: {path!r}")
            check("trace_pass_seconds" in b, f"{name}: traced, but no trace_pass_seconds")
            try:
                trace = pipebench_trace.load(path)
            except pipebench_trace.TraceError as e:
                fail(str(e))
            check(pipebench_trace.problems(trace) == [], f"{name}: {pipebench_trace.problems(trace)[:3]}")
            check(trace.entry == name, f"{path}: entry {trace.entry!r}")
            check(close(trace.meta.get("trace_pass_seconds"), b["trace_pass_seconds"]),
                  f"{name}: the file and the result disagree on the pass's seconds")
            if variant == "stage_handoff":  # the pread thread writes each block, the compute thread reads it
                check(trace.expect.get("stages") == ["write", "read"] and trace.expect.get("items") == blocks,
                      f"{name}: expects {trace.expect}")
                check([lane.label.split(" ")[0] for lane in trace.lanes] == ["write", "read"],
                      f"{name}: lanes {[lane.label for lane in trace.lanes]}")
                traced += 1
                continue
            stages = ["read"] if variant.startswith("stage_") else ["read", "compute"]
            check(trace.expect.get("stages") == stages and trace.expect.get("items") == blocks,
                  f"{name}: expects {trace.expect}")
            qd = int(re.search(r"/queue_depth:(\d+)", name).group(1)) if "/queue_depth:" in name else 0
            _trace_lanes(name, trace, qd, blocks)
            traced += 1
        check(traced > 0, "nothing was traced")
        check(sorted(os.listdir(traces)) == sorted(os.path.basename(b["pipebench"]["trace"]) for b in runs.values()
                                                   if "trace" in b["pipebench"]),
              f"files in --trace's folder that no entry names: {os.listdir(traces)}")

        r = run(binary, *args, "--data-dir", tmp, f"--benchmark_out={out}")
        check(r.returncode == 0, f"without --trace: exit {r.returncode}\n{r.stderr}")
        for name, b in results(out).items():
            check("trace" not in b["pipebench"] and "trace_pass_seconds" not in b,
                  f"{name}: a timeline without --trace")

        not_dir, never = os.path.join(tmp, "a_file"), os.path.join(tmp, "never.json")
        open(not_dir, "w").close()
        r = run(binary, *args, "--data-dir", tmp, "--trace", not_dir, f"--benchmark_out={never}")
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and "--trace" in lines[0] and "not a directory" in lines[0],
              f"--trace naming a file: exit {r.returncode}, stderr {r.stderr!r}")
        check(not os.path.exists(never), "a result file was written for a bad --trace")
    if uring_refused:
        skip(f"the io_uring timelines (pread's passed): {uring_refused}")


CASES = {f.__name__: f for f in [io_smoke, io_files, io_direct, io_refused, io_errors, io_fio, io_interrupt, io_trace]}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2])
