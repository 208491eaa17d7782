#!/usr/bin/env python3
"""scripts/run.sh as users run it, stopped at several points.

    run_test.py BUILD_DIR

Each run writes into its own results root and data folder (PIPEBENCH_RESULTS,
PIPEBENCH_DATA_DIR) with the binaries of BUILD_DIR (PIPEBENCH_BUILD). A run that ends by
itself leaves <suite>.json files, complete; a run stopped by SIGTERM (as `timeout` or a
scheduler sends it to the script) or by SIGINT to its process group (Ctrl-C) leaves, for the
suite it was in, <suite>.partial.json with every entry that finished, marked incomplete, never a
<suite>.json that is not complete; the suites after it do not run; the summary and figures cover
what finished; no data file is left. Standard library only."""
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from testlib import ROOT, TIMEOUT, check, check_model, fail, load_result

# Flags every suite's binary takes: a tiny point of cpu/overlap and io/read only.
FLAGS = ["--", "--bytes", "65536", "--intensity", "2,8", "--depth", "2", "--no-probe", "--benchmark_min_time=0.001",
         "--benchmark_repetitions=2", "--benchmark_filter=overlap|read"]


def run_sh(build, tmp, stop=None):
    """run.sh on the cpu and io suites; stop = (signal, 'script' or 'group', entries finished before it)."""
    results, data = os.path.join(tmp, "results"), os.path.join(tmp, "data")
    os.makedirs(data, exist_ok=True)
    env = {**os.environ, "PIPEBENCH_BUILD": build, "PIPEBENCH_RESULTS": results, "PIPEBENCH_DATA_DIR": data}
    p = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh"), "--suites", "cpu,io", "--no-peers", *FLAGS],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    err, done, deadline = [], 0, time.monotonic() + TIMEOUT
    if stop:
        sig, target, after = stop
        while done < after:
            line = p.stderr.readline()
            if not line:
                break
            err.append(line)
            done += " done] " in line
            check(time.monotonic() < deadline, "run.sh made no progress")
        if after == 0:
            time.sleep(0.5)  # while it installs and builds, not before bash has read the script
        if p.poll() is None:
            if target == "group":
                os.killpg(p.pid, sig)
            else:
                p.send_signal(sig)
    try:
        _, rest = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        fail(f"run.sh did not stop within {TIMEOUT} s")
    folders = glob.glob(os.path.join(results, "*", "*"))
    check(len(folders) <= 1, f"more than one run folder: {folders}")
    left = os.listdir(data)
    check(not left, f"data files left: {left}")
    return p.returncode, "".join(err) + rest, folders[0] if folders else None


def check_folder(folder, complete, partial):
    names = sorted(os.listdir(folder))
    for suite in complete:
        check(f"{suite}.json" in names, f"no {suite}.json in {names}")
        doc, results = load_result(os.path.join(folder, f"{suite}.json"))
        check(doc["pipebench"]["status"] == "complete", f"{suite}.json is not complete: {doc['pipebench']['status']}")
        check_model(results)
    for suite in partial:
        check(f"{suite}.partial.json" in names and f"{suite}.json" not in names, f"{suite}: {names}")
        doc, _ = load_result(os.path.join(folder, f"{suite}.partial.json"))
        check(doc["pipebench"]["status"] == "incomplete", f"{suite}.partial.json: {doc['pipebench']['status']}")
    for suite in {"cpu", "io"} - set(complete) - set(partial):
        check(not any(n.startswith(suite + ".") and n.endswith(".json") for n in names), f"{suite} ran: {names}")
    check("summary.txt" in names, f"no summary.txt: {names}")
    return names


def main(build):
    with tempfile.TemporaryDirectory() as tmp:
        rc, err, folder = run_sh(build, os.path.join(tmp, "whole"))
        check(rc == 0 and folder, f"run.sh: exit {rc}\n{err[-3000:]}")
        names = check_folder(folder, ["cpu", "io"], [])
        check("pairs.csv" in names, f"no figures: {names}")

        rc, err, folder = run_sh(build, os.path.join(tmp, "term"), (signal.SIGTERM, "script", 3))
        check(rc == 143, f"SIGTERM in the cpu suite: exit {rc}\n{err[-3000:]}")
        check_folder(folder, [], ["cpu"])

        rc, err, folder = run_sh(build, os.path.join(tmp, "int"), (signal.SIGINT, "group", 40))
        check(rc == 130, f"SIGINT to the group in the io suite: exit {rc}\n{err[-3000:]}")
        names = check_folder(folder, ["cpu"], ["io"])
        with open(os.path.join(folder, "summary.txt")) as f:
            summary = f.read()
        check("NOT FINISHED" in summary and "io.partial.json" in summary, f"the summary does not say io stopped:\n{summary}")

        rc, err, folder = run_sh(build, os.path.join(tmp, "early"), (signal.SIGTERM, "script", 0))
        check(rc == 143, f"SIGTERM before any suite: exit {rc}\n{err[-3000:]}")
        check(folder is None or not any(n.endswith(".json") for n in os.listdir(folder)),
              f"a result from a run stopped before it started: {folder and os.listdir(folder)}")
    print("run_test: whole run, SIGTERM in the first suite, Ctrl-C in the second, SIGTERM before any: ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: run_test.py BUILD_DIR")
    main(os.path.abspath(sys.argv[1]))
