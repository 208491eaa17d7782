#!/usr/bin/env python3
"""scripts/compare.py on synthetic result sets made here and on the committed results.

    compare_test.py regressions|errors|self [CHECKOUT]

regressions: two synthetic runs of one machine, each entry made to test one rule: 10 % slower
             with low noise over 5 repetitions (the U test flags it), 10 % slower within a large
             spread (not flagged), verification lost, efficiency down with the time holding (the
             stages got faster), unchanged, 10 % slower over 3 + 3 repetitions that do not
             overlap (flagged by the no-overlap rule) and over 3 + 3 that do (not flagged), gone,
             new, ok -> skipped, skipped in both.
             Checks the table, exit 1, the Markdown, the JUnit XML (counts, exactly the expected
             failures), --strict, and a stopped candidate (its not_run entries are regressions).
errors:      a missing file, another program's Google Benchmark JSON, a result written before
             schema 1, other hosts, another topology, no suite in common, an entry twice in one
             set, bad options, an unwritable report: one line on stderr, exit 2; --force lets the
             other host through. Without scipy (where this interpreter lacks it): one line.
self:        the committed run folder against itself: exit 0, no regression; and the committed
             OpenBLAS-core run against the main one: the environment and the core OpenBLAS
             chose are listed first, the 3 + 3 rule decides, the entries not rerun disappeared.

Standard library only (compare.py finds its own interpreter with scipy)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from testlib import check, check_schema, ideal_time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(HERE)
COMPARE = os.path.join(ROOT, "scripts", "compare.py")
MAIN_RUN = os.path.join(ROOT, "results", "vm", "20261201T210359Z")
CORE_RUN = os.path.join(ROOT, "results", "vm", "20261201T210805Z")
MS = 1e-3
CONTEXT = {"date": "2026-12-01T00:00:00+00:00", "host_name": "fixture", "num_cpus": 2, "pipebench_version": "0.1.0",
           "git_revision": "aaaaaaaaaaaa", "build_type": "Release", "compiler": "GNU 12.2.0", "suite": "quick",
           "topology": "1 package, 2 cores, 2 PUs, 1 NUMA node", "fma_peak_gflops": "229.0", "read_bw_gbs_L1": "352.7",
           "pipebench_synthetic": "tests/compare_test.py fixture, made-up times"}


def compare(*args):
    return subprocess.run([COMPARE, *args], capture_output=True, text=True, timeout=300)


class Synthetic:
    """A made-up result document in pipebench-cpu's shape: repetitions and Google Benchmark's
    aggregates (mean, median, stddev, cv) per entry, counters computed from each run's time."""

    def __init__(self):
        self.runs = []
        self.family = 0

    def entry(self, pair, variant, role, params, times, extra=None, counters=lambda t: {}, error=None):
        """Appends one entry: a run per repetition time (seconds), or errored runs when `error`
        (a 'skipped: ...' message gives outcome skipped); returns its name."""
        domain, workload = pair.split("/")
        outcome = "ok" if error is None else "skipped" if error.startswith("skipped") else "failed"
        desc = {"pair": pair, "domain": domain, "workload": workload, "variant": variant, "role": role,
                "outcome": outcome, "params": params, **(extra or {})}
        name = "/".join([pair, variant] + [f"{k}:{v}" for k, v in params.items()])
        base = {"name": name, "family_index": self.family, "per_family_instance_index": 0, "run_name": name,
                "repetitions": len(times), "threads": 1, "time_unit": "us", "pipebench": desc}
        self.family += 1
        for i, t in enumerate(times):
            run = {**base, "run_type": "iteration", "repetition_index": i}
            if error:
                run.update(error_occurred=True, error_message=error, iterations=0, real_time=0.0, cpu_time=0.0)
            else:
                run.update(iterations=10, real_time=t * 1e6, cpu_time=t * 1e6, **counters(t))
            self.runs.append(run)
        if error is None:
            mean = sum(times) / len(times)
            median = sorted(times)[len(times) // 2]
            stddev = (sum((t - mean) ** 2 for t in times) / (len(times) - 1)) ** 0.5
            for agg, t, extra_counters in (("mean", mean, counters(mean)), ("median", median, counters(median)),
                                           ("stddev", stddev, {}), ("cv", stddev / mean, {})):
                self.runs.append({**base, "name": f"{name}_{agg}", "run_type": "aggregate", "aggregate_name": agg,
                                  "aggregate_unit": "percentage" if agg == "cv" else "time", "iterations": len(times),
                                  "real_time": t * 1e6, "cpu_time": t * 1e6, **extra_counters})
        return name

    def write(self, path, context=None, program="pipebench-cpu", status="complete", not_run=()):
        """The document, checked against the schema."""
        names = len({r["run_name"] for r in self.runs})
        meta = {"schema_version": 1, "program": program, "status": status, "processes": 1,
                "entries_registered": names + len(not_run), "entries_written": names, "not_run": list(not_run)}
        if status == "incomplete":
            meta["reason"] = "stopped by SIGTERM"
        with open(path, "w") as f:
            json.dump({"context": {**CONTEXT, **(context or {})}, "benchmarks": self.runs, "pipebench": meta}, f)
        check_schema(path)
        return path


def spread(t, n, step=0.002):
    """n repetition times around t, `step` apart relative: low noise."""
    return [t * (1 + step * (i - (n - 1) / 2)) for i in range(n)]


def build(side, drop=()):
    """One side ('base' or 'cand') of the regression fixture; `drop`: entry names left out.
    Returns (Synthetic, {rule: entry name})."""
    s, cand, names = Synthetic(), side == "cand", {}
    slower = 1.10 if cand else 1.0
    names["clear"] = s.entry("cpu/sumsq", "serial", "serial", {"bytes": 65536}, spread(1 * MS * slower, 5))
    noisy = [0.86, 0.97, 1.10, 1.18, 1.30] if cand else [0.80, 0.92, 1.00, 1.08, 1.25]
    names["noisy"] = s.entry("cpu/sumsq", "serial", "serial", {"bytes": 1048576}, [4 * MS * m for m in noisy])
    names["failed"] = s.entry("cpu/sumsq", "serial", "serial", {"bytes": 4194304}, spread(16 * MS, 3), error=(
        "verification failed: max relative error 0.03 > tolerance 1.2e-06 (at element 7)" if cand else None))
    names["unchanged"] = s.entry("cpu/sumsq", "serial", "serial", {"bytes": 16384},
                                 spread(0.2 * MS * (1.001 if cand else 1.0), 5))
    if not cand:
        names["gone"] = s.entry("cpu/sumsq", "serial", "serial", {"bytes": 262144}, spread(0.3 * MS, 5))
    # cpu/overlap: the stages get faster in the candidate, the pipelined time holds: efficiency drops.
    p = {"bytes": 67108864, "chunks": 64}
    load, comp, serial_t, pipe_t = (2 * MS, 5 * MS, 10 * MS, 6.5 * MS) if cand else (4 * MS, 6 * MS, 10 * MS, 6.5 * MS)
    work = {**p, "intensity": 8, "source": "generator"}
    serial = s.entry("cpu/overlap", "serial", "serial", work, spread(serial_t, 5))
    names["stage_load"] = s.entry("cpu/overlap", "stage_load", "stage", {**p, "source": "generator"},
                                  spread(load, 5), {"stage_kind": "transfer"})
    names["stage_compute"] = s.entry("cpu/overlap", "stage_compute", "stage", work, spread(comp, 5),
                                     {"stage_kind": "compute"})
    ideal = ideal_time([load, comp], 64, 2)
    model = {"siblings": {"serial": serial},
             "model": {"formula": "pipeline", "chunks": 64, "depth": 2, "stages": [
                 {"variant": "stage_load", "kind": "transfer", "entry": names["stage_load"]},
                 {"variant": "stage_compute", "kind": "compute", "entry": names["stage_compute"]}]}}
    names["efficiency"] = s.entry(
        "cpu/overlap", "pipelined", "pipelined", {**p, "depth": 2, "intensity": 8, "source": "generator"},
        spread(pipe_t, 5), model, lambda t: {"t_serial": serial_t, "t_ideal": ideal, "speedup": serial_t / t,
                                             "speedup_bound": serial_t / ideal,
                                             "efficiency": (serial_t - t) / (serial_t - ideal)})
    names["serial_overlap"] = serial
    roofline = lambda t: {"t_roofline": 0.5 * MS, "roofline_fraction": 0.5 * MS / t}  # noqa: E731
    names["three"] = s.entry("cpu/matmul", "serial", "serial", {"n": 128}, spread(2 * MS * slower, 3, 0.01),
                             counters=roofline)
    overlap = [2.0, 2.2, 2.4] if cand else [1.8, 2.0, 2.2]  # 10 % slower, but the repetitions overlap
    names["overlap3"] = s.entry("cpu/matmul", "serial", "serial", {"n": 256}, [x * MS for x in overlap])
    if cand:
        names["new"] = s.entry("cpu/matmul", "serial", "serial", {"n": 512}, spread(60 * MS, 3), counters=roofline)
    names["to_skip"] = s.entry("cpu/matmul", "reference", "reference", {"n": 128}, spread(0.9 * MS, 3),
                               {"siblings": {"serial": names["three"]}},
                               error="skipped: OpenBLAS not found" if cand else None)
    names["skipped_both"] = s.entry("cpu/matmul", "reference", "reference", {"n": 512}, spread(1 * MS, 3),
                                    {"siblings": {"serial": "cpu/matmul/serial/n:512"}},
                                    error="skipped: OpenBLAS not found")
    s.runs = [r for r in s.runs if r["run_name"] not in drop]
    return s, names


def table_line(stdout, name):
    """The table's line of an entry (its name ends the line)."""
    lines = [line for line in stdout.splitlines() if line.endswith(f"  {name}")]
    check(len(lines) == 1, f"{name}: {len(lines)} table lines, expected 1:\n{stdout}")
    return lines[0]


def junit(path):
    """(testsuite attributes, {name: testcase element}) of compare.py's JUnit XML."""
    suite = ET.parse(path).getroot().find("testsuite")
    check(suite is not None, f"{path}: no testsuite")
    return suite.attrib, {case.get("name"): case for case in suite.iter("testcase")}


def regressions():
    with tempfile.TemporaryDirectory() as tmp:
        base_s, names = build("base")
        cand_s, cand_names = build("cand")
        base = base_s.write(os.path.join(tmp, "base.json"))
        cand = cand_s.write(os.path.join(tmp, "cand.json"), {
            "git_revision": "bbbbbbbbbbbb", "compiler": "GNU 13.2.0", "fma_peak_gflops": "200.0",
            "read_bw_gbs_L1": "350.0"})
        names.update(cand_names)
        md, xml = os.path.join(tmp, "report.md"), os.path.join(tmp, "junit.xml")
        r = compare(base, cand, "--markdown", md, "--junit", xml)
        check(r.returncode == 1, f"exit {r.returncode}, expected 1 (regressions)\n{r.stdout}{r.stderr}")
        check(r.stderr == "", f"stderr on a valid comparison:\n{r.stderr}")
        out = r.stdout
        # The context differences first, the probes that moved beyond the threshold with their change.
        first_entry = out.index(names["clear"])
        for want in ("compiler: GNU 12.2.0 -> GNU 13.2.0 (cpu)", "git_revision: aaaaaaaaaaaa -> bbbbbbbbbbbb (cpu)",
                     "fma_peak_gflops: 229 -> 200 (-12.7%) (cpu)"):
            check(0 <= out.find(want) < first_entry, f"no context line {want!r} before the entries:\n{out}")
        check("read_bw_gbs_L1" not in out, f"a probe that moved 0.8 % listed:\n{out}")
        line = table_line(out, names["clear"])
        check(re.match(r"regression\s+slower\s+\+10\.0%\s+U test p=0\.0079\s", line),
              f"5 + 5 repetitions 10 % slower: {line!r}")
        line = table_line(out, names["three"])
        check(re.match(r"regression\s+slower\s+\+10\.0%\s+no overlap, n=3\+3\s", line),
              f"3 + 3 apart, 10 % slower: {line!r}")
        line = table_line(out, names["failed"])
        check(line.startswith("regression") and "ok -> failed" in line, f"verification lost: {line!r}")
        check("verification failed: max relative error 0.03" in out, f"the failure's message not shown:\n{out}")
        line = table_line(out, names["efficiency"])
        check(line.startswith("regression") and re.search(r"efficiency -0\.\d\d \(U test p=0\.0079\)", line) and
              "+0.0%" in line, f"efficiency drop with the time holding: {line!r}")
        check(re.search(r"efficiency 0\.89 -> 0\.70 \(-0\.18\), of bound 0\.93 -> 0\.77", out),
              f"no model terms for the pipelined entry:\n{out}")
        check("roofline 0.25 -> 0.23 (-0.02)" in out, f"no roofline term for matmul:\n{out}")
        check(re.match(r"regression\s+disappeared\s", table_line(out, names["gone"])),
              "an entry gone from the candidate is not a 'disappeared' regression")
        for rule in ("stage_load", "stage_compute"):
            check(table_line(out, names[rule]).startswith("improvement"), f"{rule} got faster: not an improvement")
        check(re.match(r"listed\s+new\s", table_line(out, names["new"])), "the new entry is not listed as new")
        check(re.match(r"listed\s+ok -> skipped\s", table_line(out, names["to_skip"])), "ok -> skipped not listed")
        for rule in ("noisy", "overlap3", "unchanged", "serial_overlap", "skipped_both"):
            check(f"  {names[rule]}\n" not in out + "\n", f"{rule}: listed without --all:\n{out}")
        check("14 entries compared: 5 regressions, 2 improvements, 2 listed, 5 unchanged (2 skipped in the candidate)"
              in out, f"summary line:\n{out}")
        r_all = compare("--all", base, cand)
        line = table_line(r_all.stdout, names["noisy"])
        check(line.startswith("unchanged") and "within noise" in line and "+10.0%" in line and "U test p=" in line,
              f"10 % slower within noise: {line!r}")
        line = table_line(r_all.stdout, names["overlap3"])
        check(re.match(r"unchanged\s+within noise\s+\+10\.0%\s+overlap, n=3\+3\s", line),
              f"3 + 3 overlapping, 10 % slower: {line!r}")
        check(table_line(r_all.stdout, names["skipped_both"]).startswith("unchanged"), "skipped in both: not fine")

        # The Markdown: context, summary, regressions, improvements, listed, the unchanged count.
        with open(md) as f:
            text = f.read()
        heads = ["## Context differences", "## Summary", "## Regressions", "## Improvements", "## Listed",
                 "## Unchanged"]
        at = [text.find(h) for h in heads]
        check(all(a >= 0 for a in at) and at == sorted(at), f"Markdown sections missing or out of order:\n{text}")
        section = text[at[2]:at[3]]
        listed = set(re.findall(r"^\| `([^`]+)` \|", section, re.M))
        expect = {names[k] for k in ("clear", "three", "failed", "efficiency", "gone")}
        check(listed == expect, f"Markdown regressions {sorted(listed)}, expected {sorted(expect)}")
        check("- compiler: GNU 12.2.0 -> GNU 13.2.0 (cpu)" in text and "5 entries unchanged" in text,
              f"Markdown context or unchanged count:\n{text}")

        # JUnit: one testcase per entry, the failures exactly the regressions, skipped in the candidate.
        attrs, cases = junit(xml)
        check(attrs["tests"] == "14" and attrs["failures"] == "5" and attrs["skipped"] == "2",
              f"JUnit counts {attrs}, expected 14 tests, 5 failures, 2 skipped")
        failed = {n for n, c in cases.items() if c.find("failure") is not None}
        check(failed == expect, f"JUnit failures {sorted(failed)}, expected {sorted(expect)}")
        skipped = {n for n, c in cases.items() if c.find("skipped") is not None}
        check(skipped == {names["to_skip"], names["skipped_both"]},
              "JUnit skipped: not the entries skipped in the candidate")
        check(all(c.get("classname") == "/".join(n.split("/")[:2]) for n, c in cases.items()),
              "JUnit classname is not the pair")
        check("\n" not in cases[names["clear"]].find("failure").get("message"), "a failure message of several lines")

        # --strict: ok -> skipped is a regression too.
        r = compare("--strict", "--junit", xml, base, cand)
        attrs, cases = junit(xml)
        check(r.returncode == 1 and attrs["failures"] == "6" and cases[names["to_skip"]].find("failure") is not None,
              f"--strict: ok -> skipped not a failure ({attrs})")
        # A stopped candidate: its not_run entries are regressions, the run is compared with a warning.
        stopped, _ = build("cand", drop=(names["unchanged"],))
        part = stopped.write(os.path.join(tmp, "cand.partial.json"), status="incomplete", not_run=[names["unchanged"]])
        r = compare(base, part)
        check(r.returncode == 1 and re.search(r"^compare\.py: warning: candidate: .*incomplete \(stopped by SIGTERM\)",
                                              r.stderr, re.M), f"stopped candidate: exit {r.returncode}\n{r.stderr}")
        line = table_line(r.stdout, names["unchanged"])
        check(line.startswith("regression") and "not run" in line, f"an entry the stopped run did not run: {line!r}")
        # Thresholds: at 15 % the 10 % slowdowns are no longer regressions.
        r = compare("--threshold", "15%", "--junit", xml, base, cand)
        _, cases = junit(xml)
        check(cases[names["clear"]].find("failure") is None and cases[names["three"]].find("failure") is None,
              "--threshold 15%: a 10 % slowdown still fails")
    print("compare_test: the U test, the no-overlap rule, verification, efficiency, gone and stopped entries; "
          "table, Markdown and JUnit agree")


def one_line_error(args, what, expect, env=None, python=None):
    cmd = [python, COMPARE, *args] if python else [COMPARE, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env=None if env is None else {**os.environ, **env})
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2\n{r.stdout}{r.stderr}")
    check(len(lines) == 1 and lines[0].startswith("compare.py: "), f"{what}: stderr is not one line:\n{r.stderr}")
    check(re.search(expect, lines[0]), f"{what}: '{lines[0]}' does not say /{expect}/")
    check(r.stdout == "", f"{what}: wrote {r.stdout!r}")


def errors():
    with tempfile.TemporaryDirectory() as tmp:
        base = build("base")[0].write(os.path.join(tmp, "base.json"))
        one_line_error([os.path.join(tmp, "nope.json"), base], "missing file", r"nope\.json: no such file or folder")
        foreign = os.path.join(tmp, "foreign.json")
        with open(foreign, "w") as f:
            json.dump({"context": {"date": "d", "host_name": "fixture"},
                       "benchmarks": [{"name": "BM_x", "run_name": "BM_x", "real_time": 1, "time_unit": "ns"}]}, f)
        one_line_error([base, foreign], "another program's JSON",
                       r"foreign\.json: not a pipebench result \(Google Benchmark JSON of another program\)$")
        old = os.path.join(tmp, "old.json")
        with open(old, "w") as f:
            json.dump({"context": {"host_name": "fixture", "pipebench_version": "0.0.9"}, "benchmarks": []}, f)
        one_line_error([old, base], "a result before schema 1",
                       r"old\.json: a pipebench result written before schema 1")
        elsewhere = build("base")[0].write(os.path.join(tmp, "elsewhere.json"), {"host_name": "elsewhere"})
        one_line_error([base, elsewhere], "another host",
                       r"not the same machine: host_name fixture vs elsewhere.*--force")
        r = compare("--force", base, elsewhere)
        check(r.returncode == 0 and "warning: not the same machine" in r.stderr and "0 regressions" in r.stdout,
              f"--force with another host: exit {r.returncode}\n{r.stdout}{r.stderr}")
        check("host_name: fixture -> elsewhere (cpu)" in r.stdout, f"--force: the host not listed first:\n{r.stdout}")
        other_cpu = build("base")[0].write(os.path.join(tmp, "topology.json"), {"topology": "2 packages, 64 cores"})
        one_line_error([base, other_cpu], "another topology", r"not the same machine: topology")
        io = Synthetic()
        io.entry("io/read", "serial", "serial", {"bytes": 33554432, "block": 1048576, "mode": "direct"}, spread(MS, 3))
        io_doc = io.write(os.path.join(tmp, "io.json"), program="pipebench-io")
        one_line_error([base, io_doc], "no suite in common", r"no suite in common: baseline has cpu, candidate io")
        r = compare("--force", base, io_doc)
        check(r.returncode == 1 and "disappeared" in r.stdout,
              f"--force across suites: exit {r.returncode}\n{r.stdout}")
        twice = os.path.join(tmp, "twice")
        os.mkdir(twice)
        for name in ("a.json", "b.json"):
            shutil.copy(base, os.path.join(twice, name))
        one_line_error([twice, base], "one entry twice", r"baseline: \S+ is in both .*a\.json and .*b\.json")
        one_line_error([base], "no candidate", r"required: CANDIDATE")
        one_line_error(["--alpha", "1.5", base, base], "alpha out of range", r"--alpha: 1\.5 is not between 0 and 1")
        one_line_error(["--threshold", "much", base, base], "threshold not a number",
                       r"--threshold.*'much' is not a number")
        one_line_error(["--junit", os.path.join(tmp, "no", "such", "dir", "j.xml"), base, base], "unwritable report",
                       r"j\.xml: No such file or directory")
        have_scipy = subprocess.run([sys.executable, "-c", "import scipy.stats"], capture_output=True).returncode == 0
        if not have_scipy:  # this interpreter lacks scipy: told in one line when no other may be tried
            one_line_error([base, base], "no scipy", r"scipy is not importable by .*python3-scipy",
                           env={"PIPEBENCH_COMPARE_REEXEC": "1"}, python=sys.executable)
    print("compare_test: bad input, other machines and suites end with one line and exit 2; --force compares"
          + ("" if have_scipy else "; no scipy is one line"))


def self_compare():
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "junit.xml")
        r = compare("--junit", xml, MAIN_RUN, MAIN_RUN)
        check(r.returncode == 0, f"the committed run against itself: exit {r.returncode}\n{r.stdout}{r.stderr}")
        check("context differences" not in r.stdout and " 0 regressions, 0 improvements, 0 listed" in r.stdout,
              f"the committed run against itself:\n{r.stdout}")
        attrs, cases = junit(xml)
        check(int(attrs["tests"]) > 300 and attrs["failures"] == "0", f"JUnit of the run against itself: {attrs}")
        cuda = [c for n, c in cases.items() if n.startswith("cuda/")]
        check(cuda and all(c.find("skipped") is not None for c in cuda), "cuda entries (no GPU) not skipped in JUnit")
        # The run with OpenBLAS's own core choice against the main run: that is what differs, first.
        r = compare("--all", os.path.join(MAIN_RUN, "cpu.json"), os.path.join(CORE_RUN, "cpu.json"))
        check(r.returncode == 1, f"main vs OpenBLAS-core run: exit {r.returncode}\n{r.stderr}")
        out = r.stdout
        first_entry = re.search(r"^(regression|improvement|listed)", out, re.M)
        for want in ("OPENBLAS_CORETYPE: Haswell -> (unset) (cpu)", "openblas_corename: Haswell -> Cooperlake (cpu)"):
            check(first_entry and 0 <= out.find(want) < first_entry.start(), f"no context line {want!r} first:\n{out}")
        check(re.search(r"^regression\s+disappeared\s.*cpu/overlap/", out, re.M),
              f"entries not rerun: not disappeared\n{out}")
        rules = set(re.findall(r"\b((?:no )?overlap, n=\d\+\d)", out))
        check(rules and rules <= {"overlap, n=3+3", "no overlap, n=3+3"}, f"3 + 3 repetitions: rules {rules}")
    print("compare_test: the committed run against itself has no regression; the OpenBLAS core run shows its "
          "environment first")


if __name__ == "__main__":
    cases = {"regressions": regressions, "errors": errors, "self": self_compare}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(f"usage: compare_test.py {'|'.join(cases)} [CHECKOUT]", file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]]()
