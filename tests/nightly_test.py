#!/usr/bin/env python3
"""scripts/nightly.sh end to end, and the Jenkinsfile that calls it, as a CI server runs them.

    nightly_test.py pipeline BUILD_DIR     every stage of nightly.sh against the committed baseline
    nightly_test.py errors BUILD_DIR       its bad input: one line, exit 2, nothing run
    nightly_test.py jenkinsfile            the Jenkinsfile passes the linter; a broken copy does not

The baseline (tests/fixtures/nightly-baseline/) is a tiny cpu run at fixed sizes, so its entry
names do not depend on the machine; it was measured on another machine than the test's, so the
comparison runs with --force and the test asserts what the stages wrote, never a verdict on
speed. Standard library only."""
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from testlib import ROOT, TIMEOUT, check, fail

NIGHTLY = os.path.join(ROOT, "scripts", "nightly.sh")
BASELINE = os.path.join(ROOT, "tests", "fixtures", "nightly-baseline")
# The fixed point the baseline was measured at (tests/fixtures/nightly-baseline/README.md).
BENCH = ["--", "--bytes", "65536", "--n", "64", "--chains", "1,4", "--no-probe", "--benchmark_min_time=0.01",
         "--benchmark_filter=sumsq|matmul"]


def nightly(build, *args, env=None):
    e = {**os.environ, "PIPEBENCH_BUILD": build, **(env or {})}
    return subprocess.run([NIGHTLY, *args], capture_output=True, text=True, timeout=TIMEOUT, env=e, cwd=ROOT)


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    check(suites, f"{path}: no testsuite element")
    cases = [c for s in suites for c in s.findall("testcase")]
    failures = [c for c in cases if c.find("failure") is not None]
    return cases, failures


def pipeline(build):
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "nightly")
        # The test stage runs the unit tests only: the whole suite is what runs this test.
        r = nightly(build, "build", "test", "bench", "compare", "plot", "archive", "--work", work, "--suites", "cpu",
                    "--baseline", BASELINE, "--force", "--ctest-args", "-L unit", *BENCH)
        check(r.returncode in (0, 1), f"nightly.sh exit {r.returncode}\n{r.stderr[-3000:]}")
        for stage in ["build", "test", "bench", "compare", "plot", "archive"]:
            check(f"== nightly: {stage}" in r.stderr, f"stage {stage} did not run\n{r.stderr[-2000:]}")
        # test: CTest's JUnit, every unit test in it, none failed.
        cases, failures = junit_counts(os.path.join(work, "ctest-junit.xml"))
        check(len(cases) >= 3 and not failures, f"ctest JUnit: {len(cases)} cases, {len(failures)} failures")
        # bench: the run folder it recorded holds a complete cpu document.
        with open(os.path.join(work, "run-folder")) as f:
            folder = f.read().strip()
        check(os.path.isfile(os.path.join(folder, "cpu.json")), f"{folder}: no cpu.json")
        check(folder.startswith(os.path.join(work, "results")), f"results outside the work folder: {folder}")
        # compare: one JUnit case per compared entry; a failure exactly where the report says regression.
        cases, failures = junit_counts(os.path.join(work, "compare-junit.xml"))
        with open(os.path.join(BASELINE, "cpu.json")) as f:
            names = {b["run_name"] for b in json.load(f)["benchmarks"]}
        check(len(cases) == len(names), f"compare JUnit: {len(cases)} cases for the {len(names)} baseline entries")
        with open(os.path.join(work, "report.md")) as f:
            report = f.read()
        check(report.startswith("#") and "Context differences" in report, "report.md lacks its sections")
        regressions = sum(1 for line in r.stdout.splitlines() if line.startswith("regression"))
        check(regressions == len(failures), f"{regressions} regressions in the table, {len(failures)} JUnit failures")
        check((r.returncode == 1) == bool(failures), f"exit {r.returncode} with {len(failures)} regressions")
        # plot and archive.
        check(glob.glob(os.path.join(work, "figures", "*.png")), "plot: no figure")
        archives = glob.glob(os.path.join(work, "pipebench-nightly-*.tar.gz"))
        check(len(archives) == 1, f"archive: {archives}")
        with tarfile.open(archives[0]) as t:
            members = t.getnames()
        for want in ["ctest-junit.xml", "compare-junit.xml", "report.md", os.path.basename(folder) + "/cpu.json"]:
            check(any(m == want or m.endswith("/" + want) for m in members), f"archive lacks {want}: {members[:8]}")
        # A stage alone: compare again, and its exit code is the verdict's.
        r2 = nightly(build, "compare", "--work", work, "--baseline", BASELINE, "--force")
        check(r2.returncode == r.returncode, f"compare alone: exit {r2.returncode}, in the pipeline {r.returncode}")
    print(f"nightly: {len(cases)} entries compared, {len(failures)} regressions (exit {r.returncode})")


def errors(build):
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "w")
        for args, message in [([], "no stage given"),
                              (["deploy"], "unknown argument 'deploy'"),
                              (["bench", "--suite", "huge"], "--suite: 'huge' is not quick or full"),
                              (["bench", "--suites", "gpu"], "--suites: 'gpu' is not one of cpu, io, mpi, cuda"),
                              (["compare"], "compare needs --baseline"),
                              (["compare", "--baseline", "/nonexistent/run"], "--baseline: '/nonexistent/run' does not exist"),
                              (["all", "--threshold", "five"], "--threshold: 'five' is not a percentage")]:
            r = nightly(build, *args, "--work", work)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            check(r.returncode == 2, f"{args}: exit {r.returncode}")
            check(len(lines) == 1 and message in lines[0], f"{args}: expected one line with {message!r}, got {lines}")
        # A stage that needs an earlier one says which.
        r = nightly(build, "plot", "--work", work)
        check(r.returncode == 1 and "run the bench or slurm stage first" in r.stderr, f"plot alone: {r.stderr}")


def jenkinsfile():
    lint = os.path.join(ROOT, "scripts", "lint-jenkinsfile.sh")
    r = subprocess.run([lint], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0, f"the Jenkinsfile does not pass the linter:\n{r.stdout[-3000:]}\n{r.stderr[-1000:]}")
    with open(os.path.join(ROOT, "Jenkinsfile")) as f:
        text = f.read()
    for stage in ["Build", "Test", "Bench", "Bench on Slurm", "Compare", "Plot", "Archive"]:
        check(f"stage('{stage}')" in text, f"the Jenkinsfile has no stage {stage}")
    check(text.count("junit ") == 2 and "archiveArtifacts" in text, "JUnit publishing or archiving missing")
    with tempfile.TemporaryDirectory() as tmp:
        broken = os.path.join(tmp, "Jenkinsfile")
        with open(broken, "w") as f:
            f.write(text.rsplit("}", 2)[0])  # the pipeline's closing braces lost
        r = subprocess.run([lint, broken], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode != 0, "the linter passed a Jenkinsfile without its closing braces")
    print("Jenkinsfile: passes the linter; a broken copy does not")


if __name__ == "__main__":
    cases = {"pipeline": pipeline, "errors": errors, "jenkinsfile": jenkinsfile}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]](*sys.argv[2:])
