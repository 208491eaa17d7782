"""Helpers every figure shares: reading the results (merged across the files of one origin,
filtered by --where), numbers and labels, the series over one axis, and the axes' scales.

Only this package's modules import it; the result schema is scripts/pipebench_results.py's."""
import os
import sys
from collections import defaultdict

# pipebench_results.py sits beside this package, in scripts/.
_SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
from pipebench_results import ResultError, load as load_results  # noqa: E402


def die(msg, code=2):
    print(f"plot.py: {msg}", file=sys.stderr)
    sys.exit(code)


def note(msg):
    print(f"plot.py: {msg}", file=sys.stderr)


# ---------------------------------------------------------------- reading results

def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def sort_key(value):
    """Numeric values in numeric order, words after them in text order."""
    v = number(value)
    return (0, v, "") if v is not None else (1, 0.0, str(value))


def load(paths, quiet=()):
    """The result files and their entries; the same entry in several files of one origin (the
    serial entry of every task of a depth sweep) becomes one entry whose repetitions are all of
    theirs, its value their median run. `quiet`: files found in the folders that are read
    otherwise (timelines), whose 'not a pipebench result; skipped' lines are left out."""
    try:
        results = load_results(paths)
    except ResultError as e:
        die(str(e))
    for line in results.notes:
        if not any(line.startswith(f"{path}: ") for path in quiet):
            note(line)
    results.alias = {}  # an entry merged into another: id -> the one kept
    merged, out = {}, []
    for e in results.entries:
        first = merged.setdefault((e.file.origin, e.key), e)
        if first is e:
            out.append(e)
            continue
        results.alias[id(e)] = first
        first.reps += e.reps
        first.error = first.error or e.error
        if first.reps:
            first.run = sorted(first.reps, key=lambda r: r["real_time"])[len(first.reps) // 2]
    return results, out


class Index:
    """The siblings the binaries named, among the entries kept (--where)."""

    def __init__(self, results, entries):
        self.results = results
        self.kept = {id(e) for e in entries}

    def _kept(self, e):
        e = self.results.alias.get(id(e), e)
        return e if e is not None and id(e) in self.kept else None

    def sibling(self, e, which):
        return self._kept(self.results.sibling(e, which))

    def stage_list(self, e):
        """[(variant, kind, Entry or None)] of a pipelined entry's model."""
        return [(v, k, self._kept(s)) for v, k, s in self.results.stages(e)]

    def stages(self, e):
        return {v: s for v, _, s in self.stage_list(e)}


# ---------------------------------------------------------------- labels and units



def human(key, value):
    if key == "bytes":
        v = number(value)
        if v is not None:
            for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
                if v >= 1 << shift and v % (1 << (shift - 10 if shift > 10 else 0)) == 0:
                    return f"{v / (1 << shift):g} {unit}"
            return f"{v:g} B"
    return str(value)


def varying(dicts, skip=()):
    """Keys whose values differ across the dicts (or are missing in some), in name order."""
    keys = []
    for d in dicts:
        for k in d:
            if k not in keys and k not in skip:
                keys.append(k)
    return [k for k in keys if len({d.get(k) for d in dicts}) > 1]


def constant_note(entries, skip=()):
    """'bytes 64 MiB, chunks 64': the parameters every entry shares, for the axis caption."""
    common = None
    for e in entries:
        items = {(k, v) for k, v in e.params.items() if k not in skip}
        common = items if common is None else common & items
    order = list(entries[0].params) if entries else []
    return ", ".join(f"{k} {human(k, v)}" for k, v in sorted(common or [], key=lambda kv: order.index(kv[0])))


def time_scale(values):
    top = max(values) if values else 1.0
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if top >= scale:
            return scale, unit
    return 1e-9, "ns"


def rate_scale(values, unit):
    top = max(values) if values else 1.0
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if top >= scale:
            return scale, f"{prefix}{unit}"
    return 1.0, unit


# ---------------------------------------------------------------- series and axes

def series_over(entries, axis, across_runs=False):
    """{(origin, variant, other params): entries sorted by axis}, for series with two or more
    values of the axis. across_runs: one series from several runs (MPI ranks: one run each)."""
    series = defaultdict(list)
    for e in entries:
        if axis in e.params and e.run is not None:
            rest = tuple((k, v) for k, v in e.params.items() if k != axis)
            series[("" if across_runs else e.file.origin, e.variant, rest)].append(e)
    return {k: sorted(v, key=lambda e: sort_key(e.params[axis]))
            for k, v in series.items() if len({e.params[axis] for e in v}) >= 2}


def compute_transfer(index, e):
    """(compute seconds, transfer seconds, stages counted) of a pipelined entry's model stages, by
    the kind each stage declares; None when a stage has no result or a kind is missing."""
    stages = [(k, s) for _, k, s in index.stage_list(e) if k != "combined"]
    if not stages or any(s is None or not s.value("time") for _, s in stages):
        return None
    compute = sum(s.value("time") for k, s in stages if k == "compute")
    transfer = sum(s.value("time") for k, s in stages if k == "transfer")
    return (compute, transfer, len(stages)) if compute and transfer else None


def errorbar_line(ax, xs, ys, spreads, scale=1.0, **kw):
    err = None
    if any(spreads):
        err = [[(y - s[0]) / scale if s else 0 for y, s in zip(ys, spreads)],
               [(s[1] - y) / scale if s else 0 for y, s in zip(ys, spreads)]]
    ax.errorbar(xs, [y / scale for y in ys], yerr=err, elinewidth=0.6, **kw)


def numeric_axis(ax, values):
    """Powers-of-two sweeps on a log2 axis with the swept values as ticks."""
    nums = sorted({number(v) for v in values})
    if all(n is not None and n > 0 for n in nums) and max(nums) / min(nums) >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(nums)
    ax.set_xticklabels([f"{t:g}" for t in nums])
    ax.minorticks_off()


def log_axis(axis):
    """Log scale with plain numbers at 1, 2 and 5 of each decade (0.5, 1, 2, 5, 10), not powers
    of ten alone: a range within one decade still gets labelled ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    if axis.axis_name == "y":
        axis.axes.set_yscale("log")
    else:
        axis.axes.set_xscale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def stem(kind, pair):
    return f"{kind}_{pair.replace('/', '_')}"
