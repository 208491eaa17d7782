"""Figures for papers from pipebench result files (results/README.md: schema version 1).

    plot.py [-o DIR] [--columns 1,2] [--formats pdf,png] [--figures TYPE,...] [--where AXIS=VALUE,...]
            [--gantt REGEX] RESULT [RESULT ...]

RESULT is a result file or a folder searched for *.json (e.g. a run folder, or every task
folder of a Slurm job array), or a timeline (*.trace.json, what a binary's --trace DIR writes).
Figure types, one file per type and pair (domain/workload), gantt one per timeline:

{figures}

A type the input has no data for is skipped with one line on stderr. A run that did not finish
(stopped, or killed) is drawn as far as it got, with a line saying so; a file in a folder that
is not a pipebench result (fio's, a foreign or broken file) is skipped with a line. A file whose context
has `pipebench_synthetic` (the test fixtures) gets every figure drawn from it stamped
"SYNTHETIC DATA, NOT A MEASUREMENT" and a `synthetic` column in pairs.csv. Each figure is written
for a one-column (3.5 in) and a two-column (7.16 in) layout as vector PDF (TrueType fonts
embedded) and PNG, named <type>_<domain>_<workload>.<1col|2col>.<pdf|png>; pairs.csv is
every entry joined with its serial and stage-alone siblings. Entries are read through
scripts/pipebench_results.py: by the fields the binaries wrote, never by parsing names.

Timelines: every entry whose result names one (its binary ran with --trace DIR) gets a Gantt
figure, gantt/<trace file name>.<1col|2col>.<pdf|png>, with its serial sibling's median and its
counters; the path is tried as the result names it, then beside the result file, and one not found
is one line, not an error. A timeline given, or found in a folder given, that no result given names
is drawn alone, without them; with timelines alone, gantt is the only type drawn. --gantt REGEX
draws only the Gantt figures of the entries and timelines whose entry name REGEX matches
(re.search, as --benchmark_filter does), and writes no pairs.csv unless --csv names one.
Timelines are read through scripts/pipebench_trace.py.

Standard library plus matplotlib. When the interpreter running this script lacks
matplotlib, it re-runs itself with one that has it (PIPEBENCH_PYTHON, then /usr/bin/python3,
then other python3 on PATH): Debian's python3-matplotlib installs for /usr/bin/python3 only."""
# This docstring is plot.py's --help ({figures}: the registered types, registry.help_text()).
import argparse
import os
import re
import sys
from collections import defaultdict

from pipebench_results import ResultError, find_json, interpreter_with
from pipebench_trace import resolve

from . import registry
from .common import Index, die, load, note, number
from .figures.gantt import draw_timelines, trace_named
from .output import SYNTHETIC_STAMP, Writer, write_csv
from .style import setup_style

# The command line's script: what a re-run with another interpreter executes.
PLOT_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plot.py")


def usage_doc():
    """plot.py's --help text: this module's docstring with the registered figure types."""
    return __doc__.replace("{figures}", registry.help_text())


def ensure_matplotlib():
    """Import matplotlib, or re-run this script with an interpreter that has it."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    interpreter_with("matplotlib", PLOT_SCRIPT, "PIPEBENCH_PLOT_REEXEC")
    die(f"matplotlib is not importable by {sys.executable} nor by any other python3 found; install it: "
        "'apt-get install python3-matplotlib' (Debian, for /usr/bin/python3) or "
        f"'{sys.executable} -m pip install matplotlib'", 3)


# ---------------------------------------------------------------- command line

def parse_where(text):
    """'bytes=16M,intensity=64' -> [('bytes', '16M'), ('intensity', '64')]."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            die(f"--where: '{item}' is not AXIS=VALUE")
        out.append((key, value))
    return out


def same_value(have, want):
    """Equal as text, or as numbers with binary suffixes (16M = 16777216)."""
    if have == want:
        return True
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    w = want.upper().removesuffix("IB").removesuffix("B")
    factor = scale.get(w[-1:], 1)
    w = w[:-1] if w[-1:] in scale else w
    h, n = number(have), number(w)
    return h is not None and n is not None and h == n * factor


def parse_list(text, allowed, what):
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        die(f"--{what}: '{text}' is not a list of {', '.join(map(str, allowed))}")
    return items


def is_timeline(path):
    return path.endswith(".trace.json")


def split_inputs(paths):
    """(result arguments, timelines): a timeline is a *.trace.json file given, or found in a folder
    given; a folder that holds nothing else is no result argument."""
    results, timelines = [], []
    for arg in paths:
        if os.path.isdir(arg):
            try:
                found = find_json(arg)
            except ResultError as e:
                die(str(e))
            inside = [p for p in found if is_timeline(p)]
            timelines += inside
            if len(inside) < len(found):
                results.append(arg)
        elif is_timeline(arg):
            if not os.path.isfile(arg):
                die(f"{arg}: no such file or folder")
            timelines.append(arg)
        else:
            results.append(arg)
    return results, timelines


def main(argv):
    doc = usage_doc()
    figure_types = registry.types()
    p = argparse.ArgumentParser(prog="plot.py", description=doc.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(doc.split("\n")[2:]))
    p.add_argument("inputs", nargs="*", metavar="RESULT", help="result files or folders, or timelines (*.trace.json)")
    p.add_argument("-o", "--out", help="output folder (default: the folder of the first result file)")
    p.add_argument("--columns", default="1,2", help="layouts: 1 (one column), 2 (two columns); default 1,2")
    p.add_argument("--formats", default="pdf,png", help="pdf, png (default both)")
    p.add_argument("--figures", help="figure types (default all)")
    p.add_argument("--csv", help="the joined pair table (default: <out>/pairs.csv; '-' for none)")
    p.add_argument("--where", default="", metavar="AXIS=VALUE,...",
                   help="keep the entries whose AXIS is VALUE, or which have no AXIS (their serial and stage "
                        "siblings stay), e.g. bytes=16777216,intensity=64: one point per figure for a paper")
    p.add_argument("--gantt", metavar="REGEX",
                   help="only the Gantt figures of the entries and timelines whose entry name REGEX matches "
                        "(re.search), e.g. 'pipelined/.*chunks:64'; no pairs.csv unless --csv names one")
    args = p.parse_args(argv)
    if not args.inputs:
        die("no result file given (usage: plot.py [-o DIR] RESULT [RESULT ...])")
    columns = [int(c) for c in parse_list(args.columns, ["1", "2"], "columns")]
    formats = parse_list(args.formats, ["pdf", "png"], "formats")
    pattern = None
    if args.gantt is not None:
        if args.figures is not None:
            die("--gantt draws Gantt figures only: leave out --figures")
        try:
            pattern = re.compile(args.gantt)
        except re.error as e:
            die(f"--gantt: '{args.gantt}' is not a regular expression ({e})")
        figures = ["gantt"]
    else:
        figures = figure_types if args.figures is None else parse_list(args.figures, figure_types, "figures")

    result_args, timelines = split_inputs(args.inputs)
    if not result_args and args.figures is None:
        figures = ["gantt"]  # timelines alone: the other types have nothing to draw from
    results, entries = load(result_args, quiet=timelines) if result_args else (None, [])
    files = results.files if results else []
    # A timeline a result names is drawn with its entry (even one --where leaves out: then not at all).
    named = {os.path.realpath(resolve(trace_named(e), e.file.path))
             for e in (results.entries if results else []) if trace_named(e)}
    alone = list(dict.fromkeys(t for t in timelines if os.path.realpath(t) not in named))
    where = parse_where(args.where)
    if where and not files:
        die("--where: chooses among the entries of result files, and none is given")
    for k, v in where:
        if not any(k in e.params and same_value(e.params[k], v) for e in entries):
            die(f"--where {k}={v}: no entry of {', '.join(f.path for f in files)} has {k} {v}")
    entries = [e for e in entries if all(k not in e.params or same_value(e.params[k], v) for k, v in where)]
    index = Index(results, entries) if results else None
    pairs = [e for e in entries if e.run is not None and e.role != "serial"
             and index.sibling(e, "serial") is not None]
    traced = [e for e in entries if e.run is not None and trace_named(e)]
    if pattern is not None:
        traced = [e for e in traced if pattern.search(e.name)]
        if not traced and not alone:
            die(f"--gantt {args.gantt}: no entry naming a timeline matches")
    if not pairs and not ("gantt" in figures and (traced or alone)):
        what = ", ".join(f.path for f in files) or ", ".join(args.inputs)
        skipped = [e for e in entries if e.error]
        if not entries:
            die(f"{what}: no pipebench entries (names domain/workload/variant/axis:value)")
        if skipped and len(skipped) == len(entries):
            die(f"{what}: no pairs: all {len(entries)} entries failed or were skipped (first: {skipped[0].error})")
        die(f"{what}: no pairs: no entry has a serial sibling with a result")

    out = args.out or os.path.dirname(os.path.abspath(files[0].path if files else alone[0]))
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        die(f"{out}: {e.strerror}")
    if not os.access(out, os.W_OK):
        die(f"{out}: not writable")

    ensure_matplotlib()
    setup_style()
    writer = Writer(out, columns, formats)
    by_pair = defaultdict(list)
    for e in entries if pattern is None else traced:
        if e.run is not None:
            by_pair[e.pair].append(e)

    for fig_type in figures:
        draw = registry.get(fig_type).draw
        made = []
        for pair in sorted(by_pair):
            es = by_pair[pair]
            synthetic = sorted({e.file.path for e in es if e.file.synthetic})
            writer.stamp = SYNTHETIC_STAMP if synthetic else None
            if draw(pair, es, index, writer):
                made.append(pair)
                if synthetic:
                    note(f"{fig_type}: {pair}: drawn from synthetic data ({', '.join(synthetic)}), stamped as such")
        if fig_type == "gantt" and draw_timelines(alone, writer, pattern.search if pattern else None):
            made.append("timelines given alone")
        if not made:
            note(f"{fig_type}: skipped, the input has no {registry.get(fig_type).need}")

    if entries and args.csv != "-" and (args.csv or pattern is None):
        csv_path = args.csv or os.path.join(out, "pairs.csv")
        write_csv(csv_path, entries, index)
        writer.written.append(csv_path)
    for path in writer.written:
        print(path)
    return 0
