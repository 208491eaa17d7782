#!/usr/bin/env python3
"""Regressions between two pipebench runs: a baseline and a candidate result set.

    compare.py [--alpha A] [--threshold T] [--efficiency-threshold E] [--strict] [--force]
               [--all] [--markdown FILE] [--junit FILE] BASELINE CANDIDATE

BASELINE and CANDIDATE are each a result file or a folder of them (a run folder, a Slurm
job's folder), read through scripts/pipebench_results.py. Entries are matched by name within
their suite (the program: cpu, io, mpi, cuda; MPI entries also by rank count). The context
differences come first (build, libraries, kernel, binding; measured probes such as
fma_peak_gflops, read_bw_gbs_* and core_round_trip_ns when they moved by more than the
threshold): they may explain what follows.

Time: the change of the median, candidate / baseline - 1, and whether it is significant. With
enough repetitions for the two-sided Mann-Whitney U test (scipy.stats.mannwhitneyu, as Google
Benchmark's tools/compare.py) to reach p < alpha (4 + 4, 3 + 5 or more at 0.05), that test on the
repetitions' times decides ("U test p=0.0079"). With fewer (3 + 3, the quick suite, cannot
get below p = 0.1), the two sets must not overlap: every candidate repetition slower (or
faster) than every baseline one ("no overlap, n=3+3"; "overlap, n=3+3" when they do). With
one run a side that leaves the threshold alone to decide.

Efficiency (pipelined entries, alternatives with a model): the absolute change of the
median's, where both runs have one, significant by the same rule over the repetitions'
efficiencies (each repetition's time against its siblings' medians), so the pipelined
entry's own noise is judged; the stage times enter through their medians, and a drop while
the time holds means the stages got faster and the overlap did not follow. Shown beside it:
the share of the model's bound reached (speedup / speedup_bound = t_ideal / t) and
roofline_fraction, for information.

Regressions (exit 1):
  slower        a significant slowdown beyond --threshold
  efficiency    a significant efficiency drop beyond --efficiency-threshold
  failed        failed in the candidate (verification or error), not failed in the baseline
  disappeared   in the baseline, not in the candidate (unless skipped in the baseline)
  not run       in the baseline, and in the candidate's not_run (its run was stopped), or
                missing from a candidate run that did not finish (killed)
  --strict adds every baseline entry without an ok result in the candidate (ok -> skipped,
  failing in both, gone after a skip), except skipped in both.
Improvements: a significant speedup beyond the threshold, an efficiency gain beyond its
threshold, failed -> ok. Listed, not regressions: new entries (and baseline-skipped ones that
now run), ok -> skipped, failing in both; skipped in both is fine (unchanged).

Refused (one line on stderr, exit 2) unless --force: result sets of different machines
(host_name, topology, num_cpus) or without a suite in common. Bad input (a missing file,
another program's JSON, a result written before schema 1, one entry twice in one set): one
line, exit 2. A run that did not finish is compared with a warning line. Exit 0: no
regression; 1: a regression; 2: bad input.

Standard library plus scipy. When the interpreter lacks scipy, this re-runs itself with one
that has it (PIPEBENCH_PYTHON, then /usr/bin/python3, then other python3 on PATH): Debian's
python3-scipy installs for /usr/bin/python3 only."""
import argparse
import math
import os
import statistics
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import pipebench_results  # noqa: E402

# Context keys listed when they differ: how the binary was built and what it ran on.
CONTEXT_KEYS = ("host_name", "topology", "cores", "num_cpus", "kernel", "compiler", "cxx_flags", "build_type",
                "git_revision", "pipebench_version", "google_benchmark_version", "hwloc_version",
                "openblas_version", "openblas_corename", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "kernel_isa",
                "fma_peak_isa", "thread_binding", "mpi_library", "mpi_ranks", "mpi_binding", "suite", "seed")
# Measured by the binary at start: listed with their relative change when it exceeds the threshold.
PROBES = ("core_round_trip_ns", "fma_peak_gflops", "read_bw_gbs_")
# Keys whose difference means another machine: refused without --force.
MACHINE_KEYS = ("host_name", "topology", "num_cpus")
ORDER = ("regression", "improvement", "listed", "unchanged")


def die(msg):
    """Every command-line error: one line naming the problem, exit 2."""
    print(f"compare.py: {msg}", file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """argparse's two-line usage error as the one line every error here is."""
        die(f"{message} (see --help)")


def ensure_scipy():
    """Imports scipy.stats, or re-runs this script under an interpreter that has it: Debian's
    python3-scipy serves /usr/bin/python3, while the python3 first on PATH may be another."""
    try:
        import scipy.stats  # noqa: F401
        return
    except ImportError:
        pass
    pipebench_results.interpreter_with("scipy.stats", os.path.realpath(__file__), "PIPEBENCH_COMPARE_REEXEC")
    die(f"scipy is not importable by {sys.executable} nor by any other python3 found; install it: "
        f"'apt-get install python3-scipy' (Debian, for /usr/bin/python3) or '{sys.executable} -m pip install scipy'")


def suite(f):
    """The suite a result file belongs to: its program without the prefix (cpu, io, mpi, cuda)."""
    return f.program.removeprefix("pipebench-")


def index(results, side):
    """{(suite, entry key): Entry} of one side; one entry twice (two runs in one folder) is
    refused: which of them to compare would be a guess."""
    out = {}
    for e in results.entries:
        key = (suite(e.file), e.key)
        if key in out:
            raise pipebench_results.ResultError(
                f"{side}: {e.name} is in both {out[key].file.path} and {e.file.path}: give one run a side")
        out[key] = e
    return out


def values(files, key):
    """The sorted distinct values of a context key over files (text), '(absent)' where missing."""
    return sorted({str(f.context.get(key, "(absent)")) for f in files})


def machine_mismatch(base, cand):
    """One line naming what says the two sets ran on different machines or share no suite, or None."""
    diffs = [f"{k} {', '.join(values(base.files, k))} vs {', '.join(values(cand.files, k))}"
             for k in MACHINE_KEYS if values(base.files, k) != values(cand.files, k)]
    if diffs:
        return f"not the same machine: {'; '.join(diffs)}"
    bs, cs = {suite(f) for f in base.files}, {suite(f) for f in cand.files}
    if not bs & cs:
        return f"no suite in common: baseline has {', '.join(sorted(bs))}, candidate {', '.join(sorted(cs))}"
    return None


def probe(files, key):
    """The median of a measured probe over the files that have it as a number, or None."""
    vals = []
    for f in files:
        try:
            vals.append(float(f.context[key]))
        except (KeyError, ValueError):
            pass
    return statistics.median(vals) if vals else None


def context_differences(base, cand, threshold):
    """Lines 'key: baseline -> candidate (suites)' for each context key that differs in a suite
    both sets have, and for each probe that moved by more than the threshold; one line for a
    difference that several suites share."""
    found = {}
    for s in sorted({suite(f) for f in base.files} & {suite(f) for f in cand.files}):
        bf = [f for f in base.files if suite(f) == s]
        cf = [f for f in cand.files if suite(f) == s]
        for k in CONTEXT_KEYS:
            b, c = ", ".join(values(bf, k)), ", ".join(values(cf, k))
            if b != c:
                found.setdefault(f"{k}: {b} -> {c}", []).append(s)
        keys = sorted({k for f in bf + cf for k in f.context if k.startswith(PROBES)})
        for k in keys:
            b, c = probe(bf, k), probe(cf, k)
            if b and c is not None and abs(c / b - 1) > threshold:
                found.setdefault(f"{k}: {b:g} -> {c:g} ({c / b - 1:+.1%})", []).append(s)
    return [f"{line} ({', '.join(suites)})" for line, suites in found.items()]


def significance(base, cand, alpha):
    """(direction, rule): +1 when the candidate's values are significantly above the baseline's,
    -1 below, 0 neither, and the rule that decided. The U test where it can reach p < alpha at
    all (its smallest two-sided p is 2 / C(n_b + n_c, n_b), without ties); else no overlap."""
    nb, nc = len(base), len(cand)
    if not nb or not nc:
        return 0, "no repetitions"
    if min(nb, nc) >= 2 and 2 / math.comb(nb + nc, nb) < alpha:
        from scipy.stats import mannwhitneyu
        p = float(mannwhitneyu(cand, base, alternative="two-sided").pvalue)
        up = statistics.median(cand) > statistics.median(base)
        return ((1 if up else -1) if p < alpha else 0), f"U test p={p:.2g}"
    if min(cand) > max(base):
        return 1, f"no overlap, n={nb}+{nc}"
    if max(cand) < min(base):
        return -1, f"no overlap, n={nb}+{nc}"
    return 0, f"overlap, n={nb}+{nc}"


def reps(e, counter):
    """The repetitions' values of a counter ('time': seconds), those that have it."""
    return [v for v in (e.value(counter, r) for r in e.reps) if v is not None]


def fmt_time(s):
    """Seconds in the unit that keeps three digits before the point at most."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


class Row:
    """One compared entry: its verdict, what decided it, and the numbers behind it."""

    def __init__(self, key, entry, verdict, what, detail=""):
        _, (name, ranks) = key
        self.label = name if ranks is None else f"{name} [ranks:{ranks}]"
        self.pair = entry.pair
        self.verdict, self.what, self.detail = verdict, what, detail
        self.times = self.change = self.rule = ""
        self.model = ""
        self.skipped = False  # skipped in the candidate (JUnit's <skipped/>)

    def message(self):
        """The one line a JUnit failure carries."""
        return "; ".join(x for x in (self.what, self.change and f"time {self.change} ({self.rule})", self.detail) if x)


def model_terms(b, c):
    """The model columns, 'efficiency 0.89 -> 0.70 (-0.19), of bound ..., roofline ...', where
    both runs have them."""
    out = []
    for label, get in (("efficiency", lambda e: e.value("efficiency")),
                       ("of bound", lambda e: e.value("speedup") / e.value("speedup_bound")
                        if e.value("speedup") and e.value("speedup_bound") else None),
                       ("roofline", lambda e: e.value("roofline_fraction"))):
        vb, vc = get(b), get(c)
        if vb is not None and vc is not None:
            out.append(f"{label} {vb:.2f} -> {vc:.2f} ({vc - vb:+.2f})")
    return ", ".join(out)


def compare_measured(key, b, c, args):
    """Both runs have a result: the time rule and the efficiency rule."""
    bt, ct = b.seconds, c.seconds
    direction, rule = significance(reps(b, "time"), reps(c, "time"), args.alpha)
    change = ct / bt - 1
    bad, good = [], []
    if change > args.threshold and direction > 0:
        bad.append("slower")
    elif change < -args.threshold and direction < 0:
        good.append("faster")
    be, ce = b.value("efficiency"), c.value("efficiency")
    if be is not None and ce is not None:
        edir, erule = significance(reps(b, "efficiency"), reps(c, "efficiency"), args.alpha)
        if ce - be < -args.efficiency_threshold and edir < 0:
            bad.append(f"efficiency {ce - be:+.2f} ({erule})")
        elif ce - be > args.efficiency_threshold and edir > 0:
            good.append(f"efficiency {ce - be:+.2f} ({erule})")
    verdict = "regression" if bad else "improvement" if good else "unchanged"
    noise = "within noise" if abs(change) > args.threshold and not direction else ""
    row = Row(key, c, verdict, ", ".join(bad or good) or noise)
    row.times, row.change, row.rule = f"{fmt_time(bt)} -> {fmt_time(ct)}", f"{change:+.1%}", rule
    row.model = model_terms(b, c)
    return row


def compare_entry(key, b, c, cand_files, args):
    """The row of one entry key: b and c are the baseline's and candidate's Entry, or None."""
    if b is None:
        return Row(key, c, "listed", "new")
    if c is None:
        stopped = [f for f in cand_files if f.status == "running" or b.name in f.not_run]
        what = "not run" if stopped else "disappeared"
        detail = stopped[0].status_line() if stopped else ""
        if b.outcome == "skipped":
            return Row(key, b, "regression" if args.strict else "listed", f"{what} (was skipped)", detail)
        return Row(key, b, "regression", what, detail)
    if b.outcome == "ok" and c.outcome == "ok":
        return compare_measured(key, b, c, args)
    change = f"{b.outcome} -> {c.outcome}"
    if c.outcome == "ok":
        row = Row(key, c, "improvement" if b.outcome == "failed" else "listed",
                  "fixed (failed -> ok)" if b.outcome == "failed" else "new (was skipped)")
    elif c.outcome == "failed" and b.outcome != "failed":
        row = Row(key, c, "regression", change, c.error)
    elif c.outcome == "skipped" and b.outcome == "skipped":
        row = Row(key, c, "unchanged", "skipped in both", c.error)
    else:  # ok -> skipped, failed -> skipped, failed -> failed
        row = Row(key, c, "regression" if args.strict else "listed", change, c.error)
    row.skipped = c.outcome == "skipped"
    return row


def compare(base, cand, args):
    """Every row, in the order shown: regressions, improvements, listed, unchanged; by name within."""
    bi, ci = index(base, "baseline"), index(cand, "candidate")
    rows = []
    for key in sorted(set(bi) | set(ci)):
        cand_files = [f for f in cand.files if suite(f) == key[0]]
        rows.append(compare_entry(key, bi.get(key), ci.get(key), cand_files, args))
    return sorted(rows, key=lambda r: ORDER.index(r.verdict))


def counts(rows):
    """({verdict: how many}, the summary line every output shares)."""
    n = {v: sum(r.verdict == v for r in rows) for v in ORDER}
    skipped = sum(r.skipped for r in rows)
    line = (f"{len(rows)} entries compared: {n['regression']} regressions, {n['improvement']} improvements, "
            f"{n['listed']} listed, {n['unchanged']} unchanged ({skipped} skipped in the candidate)")
    return n, line


def write_table(rows, context, args, out):
    """The console report: context differences, then one line per entry (a second, indented,
    with the model terms or the error), unchanged entries only with --all."""
    print(f"baseline:  {args.baseline}\ncandidate: {args.candidate}", file=out)
    if context:
        print("\ncontext differences:", file=out)
        for line in context:
            print(f"  {line}", file=out)
    shown = [r for r in rows if args.all or r.verdict != "unchanged"]
    if shown:
        print(f"\n{'verdict':<12}{'what':<34}{'change':>8}  {'test':<18}  {'median time':<22}  entry", file=out)
        for r in shown:
            print(f"{r.verdict:<12}{r.what:<34}{r.change:>8}  {r.rule:<18}  {r.times:<22}  {r.label}".rstrip(),
                  file=out)
            more = ", ".join(x for x in (r.model, r.detail) if x)
            if more:
                print(f"{'':12}{more}", file=out)
    print(f"\n{counts(rows)[1]}", file=out)


def md(text):
    """A Markdown table cell: the pipe escaped, nothing empty."""
    return str(text).replace("|", "\\|") or " "


def write_markdown(path, rows, context, args):
    """The report for a pull request or a log: context, summary, regressions, improvements,
    listed entries, and how many were unchanged."""
    n, line = counts(rows)
    lines = ["# pipebench comparison", "", f"Baseline `{args.baseline}`, candidate `{args.candidate}`; "
             f"threshold {args.threshold:.1%} (time), {args.efficiency_threshold:.2f} (efficiency), "
             f"alpha {args.alpha:g}{', strict' if args.strict else ''}.", "", "## Context differences", ""]
    lines += [f"- {c}" for c in context] or ["None."]
    lines += ["", "## Summary", "", line + "."]
    titles = {"regression": "Regressions", "improvement": "Improvements", "listed": "Listed (not regressions)"}
    for verdict, title in titles.items():
        these = [r for r in rows if r.verdict == verdict]
        if not these:
            continue
        lines += ["", f"## {title}", "", "| entry | what | change | test | median time | model, error |",
                  "|---|---|---:|---|---|---|"]
        lines += [f"| `{md(r.label)}` | {md(r.what)} | {md(r.change)} | {md(r.rule)} | {md(r.times)} | "
                  f"{md(', '.join(x for x in (r.model, r.detail) if x))} |" for r in these]
    lines += ["", "## Unchanged", "", f"{n['unchanged']} entries unchanged (within the thresholds, not significant, "
              "or skipped in both)."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_junit(path, rows):
    """JUnit XML for CI: a testcase per entry (classname the pair), a failure per regression,
    skipped for entries skipped in the candidate."""
    suite_el = ET.Element("testsuite", name="pipebench compare", tests=str(len(rows)),
                          failures=str(sum(r.verdict == "regression" for r in rows)), errors="0",
                          skipped=str(sum(r.skipped and r.verdict != "regression" for r in rows)))
    for r in rows:
        case = ET.SubElement(suite_el, "testcase", classname=r.pair, name=r.label)
        if r.verdict == "regression":
            ET.SubElement(case, "failure", message=r.message()).text = \
                "\n".join(x for x in (r.times, r.model, r.detail) if x)
        elif r.skipped:
            ET.SubElement(case, "skipped", message=r.detail or "skipped")
    root = ET.Element("testsuites")
    root.append(suite_el)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def fraction(text):
    """'5%' or '0.05' -> 0.05: a threshold written either way."""
    try:
        v = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number or a percentage") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is negative")
    return v


def main(argv):
    p = Parser(prog="compare.py", description=__doc__.split("\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("baseline", metavar="BASELINE", help="result file or folder: the reference run")
    p.add_argument("candidate", metavar="CANDIDATE", help="result file or folder: the run under test")
    p.add_argument("--alpha", type=fraction, default=0.05, metavar="A",
                   help="significance level of the U test (default 0.05)")
    p.add_argument("--threshold", type=fraction, default=0.05, metavar="T",
                   help="relative time change that counts, e.g. 5%% or 0.05 (default 5%%)")
    p.add_argument("--efficiency-threshold", type=fraction, default=0.10, metavar="E",
                   help="absolute efficiency drop that counts (default 0.10)")
    p.add_argument("--strict", action="store_true",
                   help="every baseline entry without an ok result in the candidate is a regression")
    p.add_argument("--force", action="store_true", help="compare runs of different machines or suites")
    p.add_argument("--all", action="store_true", help="list unchanged entries in the table too")
    p.add_argument("--markdown", metavar="FILE", help="write a Markdown report")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML: a testcase per entry, a failure per regression")
    args = p.parse_args(argv)
    if not 0 < args.alpha < 1:
        die(f"--alpha: {args.alpha:g} is not between 0 and 1")
    ensure_scipy()
    try:
        base = pipebench_results.load([args.baseline])
        cand = pipebench_results.load([args.candidate])
        bad = machine_mismatch(base, cand)
        if bad and not args.force:
            die(f"{bad} (--force compares them anyway)")
        rows = compare(base, cand, args)
    except pipebench_results.ResultError as e:
        die(str(e))
    for side, results in (("baseline", base), ("candidate", cand)):
        for note in results.notes:
            print(f"compare.py: warning: {side}: {note}", file=sys.stderr)
    if bad:
        print(f"compare.py: warning: {bad} (--force)", file=sys.stderr)
    context = context_differences(base, cand, args.threshold)
    try:  # the reports before the table: a path that cannot be written is the one line, nothing else
        if args.markdown:
            write_markdown(args.markdown, rows, context, args)
        if args.junit:
            write_junit(args.junit, rows)
    except OSError as e:
        die(f"{e.filename}: {e.strerror}")
    write_table(rows, context, args, sys.stdout)
    return 1 if any(r.verdict == "regression" for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # the reader stopped early (| head): no traceback over its output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
