#!/usr/bin/env python3
"""Figures for papers from pipebench result files (results/README.md: schema version 1).

    plot.py [-o DIR] [--columns 1,2] [--formats pdf,png] [--figures TYPE,...] [--where AXIS=VALUE,...]
            RESULT [RESULT ...]

RESULT is a result file or a folder searched for *.json (e.g. a run folder, or every task
folder of a Slurm job array). Figure types, one file per type and pair (domain/workload):

  speedup                    speedup over `serial` of every variant, bars per point; whiskers:
                             min-max over repetitions; black ticks: the pipeline model's bound
  speedup_vs_ratio           pipelined speedup against the compute:transfer ratio of the
                             stage-alone times, with the two-stage model curve
  throughput_vs_chains       throughput against independent chains, against the roofline built
                             from the measured FMA peak and read bandwidth
  efficiency_vs_<axis>       for axis chunks, queue_depth, streams, microbatches: speedup and the model's
                             bound (top), overlap efficiency (bottom)
  scaling_vs_ranks           time and speedup against MPI ranks

A type the input has no data for is skipped with one line on stderr. A run that did not finish
(stopped, or killed) is drawn as far as it got, with a line saying so; a file in a folder that
is not a pipebench result (fio's, a foreign or broken file) is skipped with a line. A file whose context
has `pipebench_synthetic` (the test fixtures) gets every figure drawn from it stamped
"SYNTHETIC DATA, NOT A MEASUREMENT" and a `synthetic` column in pairs.csv. Each figure is written
for a one-column (3.5 in) and a two-column (7.16 in) layout as vector PDF (TrueType fonts
embedded) and PNG, named <type>_<domain>_<workload>.<1col|2col>.<pdf|png>; pairs.csv is
every entry joined with its serial and stage-alone siblings. Entries are read through
scripts/pipebench_results.py: by the fields the binaries wrote, never by parsing names.

Standard library plus matplotlib. When the interpreter running this script lacks
matplotlib, it re-runs itself with one that has it (PIPEBENCH_PYTHON, then /usr/bin/python3,
then other python3 on PATH): Debian's python3-matplotlib installs for /usr/bin/python3 only."""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipebench_results import ResultError, load as load_results  # noqa: E402

EFFICIENCY_AXES = ("chunks", "queue_depth", "streams", "microbatches")
FIGURE_TYPES = ["speedup", "speedup_vs_ratio", "throughput_vs_chains"] + \
               [f"efficiency_vs_{a}" for a in EFFICIENCY_AXES] + ["scaling_vs_ranks"]
# Paper widths in inches: IEEE/ACM single column (3.5) and full text width (7.16).
WIDTHS = {1: 3.5, 2: 7.16}
# Okabe-Ito: distinguishable with colour-vision deficiencies and in greyscale print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
BAR_HATCHES = ["", "////", "....", "xxxx"]
VARIANT_ORDER = ["serial", "pipelined", "ilp", "blocked", "reference"]


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


def load(paths):
    """The result files and their entries; the same entry in several files of one origin (the
    serial entry of every task of a depth sweep) becomes one entry whose repetitions are all of
    theirs, its value their median run."""
    try:
        results = load_results(paths)
    except ResultError as e:
        die(str(e))
    for line in results.notes:
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


def variant_rank(label):
    v = label.split(" ")[0]
    return (VARIANT_ORDER.index(v) if v in VARIANT_ORDER else len(VARIANT_ORDER), v)


# ---------------------------------------------------------------- matplotlib

def ensure_matplotlib():
    """Import matplotlib, or re-run this script with an interpreter that has it."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("PIPEBENCH_PLOT_REEXEC") != "1":
        here = os.path.realpath(sys.executable)
        candidates = [os.environ.get("PIPEBENCH_PYTHON"), "/usr/bin/python3"]
        for d in os.environ.get("PATH", "").split(os.pathsep):
            for name in ("python3", "python"):
                candidates.append(os.path.join(d, name))
        for cand in candidates:
            if not cand or not os.access(cand, os.X_OK) or os.path.realpath(cand) == here:
                continue
            try:
                ok = subprocess.run([cand, "-c", "import matplotlib"], capture_output=True, timeout=60).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            if ok:
                os.environ["PIPEBENCH_PLOT_REEXEC"] = "1"
                os.execv(cand, [cand, os.path.abspath(__file__)] + sys.argv[1:])
    die(f"matplotlib is not importable by {sys.executable} nor by any other python3 found; install it: "
        "'apt-get install python3-matplotlib' (Debian, for /usr/bin/python3) or "
        f"'{sys.executable} -m pip install matplotlib'", 3)


def setup_style():
    import matplotlib
    matplotlib.use("Agg")
    from cycler import cycler
    matplotlib.rcParams.update({
        "font.family": "DejaVu Sans",   # ships with matplotlib: the same glyphs on every machine
        "font.size": 7.5, "axes.labelsize": 7.5, "axes.titlesize": 7.5, "legend.fontsize": 6.5,
        "xtick.labelsize": 6.5, "ytick.labelsize": 6.5,
        "pdf.fonttype": 42, "ps.fonttype": 42,  # embedded TrueType, not Type 3 (publishers reject it)
        "axes.grid": True, "grid.linewidth": 0.4, "grid.alpha": 0.35, "axes.linewidth": 0.6,
        "axes.prop_cycle": cycler(color=PALETTE),
        "lines.linewidth": 1.0, "lines.markersize": 3.5, "errorbar.capsize": 1.5,
        "legend.frameon": False, "legend.handlelength": 1.6,
        "figure.constrained_layout.use": True, "savefig.dpi": 300,
    })


class Writer:
    def __init__(self, outdir, columns, formats):
        self.outdir, self.columns, self.formats = outdir, columns, formats
        self.written = []
        self.stamp = None  # set while drawing from a file marked synthetic

    def figures(self, height):
        """(columns, figure) for every requested width; `height` maps columns to inches."""
        import matplotlib.pyplot as plt
        for cols in self.columns:
            yield cols, plt.figure(figsize=(WIDTHS[cols], height(cols)))

    def save(self, fig, stem, cols, caption):
        import matplotlib.pyplot as plt
        if self.stamp:
            # Across the figure, so a cropped or resized copy still says it.
            fig.text(0.5, 0.5, self.stamp, transform=fig.transFigure, ha="center", va="center", rotation=20,
                     fontsize="xx-large", color="#D55E00", alpha=0.35, zorder=100)
            caption = f"{self.stamp}. {caption}"
        for fmt in self.formats:
            path = os.path.join(self.outdir, f"{stem}.{cols}col.{fmt}")
            meta = {"Title": caption, "CreationDate": None} if fmt == "pdf" else {"Title": caption}
            fig.savefig(path, format=fmt, metadata=meta)
            self.written.append(path)
        plt.close(fig)


def legend(ax, cols, handles=None, labels=None):
    """Outside the axes, so it never hides a point: right of them in a two-column figure,
    above them in a one-column figure, where width is scarce. Measured series first, then the
    model and run keys."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    from matplotlib.container import Container
    order = sorted(range(len(handles)), key=lambda i: 0 if isinstance(handles[i], Container) else 1)
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    if cols == 2:
        ax.legend(handles, labels, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        # Right of the axes, one entry per row: past what the axes' height holds, the figure grows.
        fig = ax.get_figure()
        room = int(ax.get_position().height * fig.get_figheight() / 0.155)
        if len(labels) > room:
            fig.set_figheight(fig.get_figheight() + 0.155 * (len(labels) - room))
    else:
        ncol = 2 if max(len(lab) for lab in labels) <= 26 else 1
        ax.legend(handles, labels, ncol=ncol, loc="lower left", bbox_to_anchor=(0, 1.02, 1, 0.1), mode="expand",
                  borderaxespad=0)
        # The legend sits above the axes: the figure grows by its rows, so many series (every
        # schedule at every microbatch count) never squeeze the axes to nothing.
        rows = -(-len(labels) // ncol)
        if rows > 3:
            fig = ax.get_figure()
            fig.set_figheight(fig.get_figheight() + 0.16 * (rows - 3))


class Series:
    """Line series keyed (origin, variant, other parameters). Colour and marker say which
    series, line style and marker fill say which run (origin), so two runs of the same
    points read as one colour each."""

    def __init__(self, keys, with_variant=True):
        self.origins = sorted({o for o, _, _ in keys})
        rest, self.first = [], {}
        for origin, variant, params in keys:
            if (variant, params) not in rest:
                rest.append((variant, params))
            self.first[(variant, params)] = min(origin, self.first.get((variant, params), origin))
        self.rest = rest
        vary = varying([dict(p) for _, p in rest])
        variants = {v for v, _ in rest}
        self.names = {}
        for variant, params in rest:
            d = dict(params)
            # a parameter the series lacks (serial has no chunks) is left out of its name
            parts = ([variant] if with_variant and len(variants) > 1 else []) + \
                    [f"{k}:{human(k, d[k])}" for k in vary if k in d]
            self.names[(variant, params)] = " ".join(parts) or variant
        self.vary = vary

    def style(self, key):
        """More series than colours: the parameter with the most values picks the colour and
        the others the marker, so no two series look alike (up to 8 x 8)."""
        oi = self.origins.index(key[0])
        if len(self.rest) <= len(PALETTE) or not self.vary:
            ci = mi = self.rest.index(key[1:])
        else:
            def get(params, k):
                return dict(params).get(k, "-")
            main = max(self.vary, key=lambda k: len({get(p, k) for _, p in self.rest}))
            values = sorted({get(p, main) for _, p in self.rest}, key=sort_key)
            others = sorted({tuple(get(p, k) for k in self.vary if k != main) + (v,) for v, p in self.rest},
                            key=lambda t: [sort_key(x) for x in t])  # typed values: numbers and words
            ci = values.index(get(key[2], main))
            mi = others.index(tuple(get(key[2], k) for k in self.vary if k != main) + (key[1],))
        color = PALETTE[ci % len(PALETTE)]
        return {"color": color, "marker": MARKERS[mi % len(MARKERS)], "linestyle": ["-", "-.", ":"][oi % 3],
                "markerfacecolor": color if oi % 2 == 0 else "white", "markeredgewidth": 0.7}

    def label(self, key):
        """The series name once, on the first run that has it; runs get their own legend entries."""
        return self.names[key[1:]] if key[0] == self.first[key[1:]] else None

    def origin_handles(self, ax):
        if len(self.origins) > 1:
            for oi, origin in enumerate(self.origins):
                ax.plot([], [], color="0.3", marker="o", linestyle=["-", "-.", ":"][oi % 3],
                        markerfacecolor="0.3" if oi % 2 == 0 else "white", label=origin)


def sort_series(keys):
    return sorted(keys, key=lambda k: (k[0], variant_rank(k[1]), [sort_key(v) for _, v in k[2]]))


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


# ---------------------------------------------------------------- figure: speedup bars

def fig_speedup(pair, entries, index, writer):
    """Every entry with a speedup counter, grouped at its serial sibling's point; one bar per
    variant and own parameter (ilp chains:4, pipelined depth:2, reference)."""
    bars = [e for e in entries if e.value("speedup") is not None]
    if not bars:
        return False
    groups, labels, own_keys = defaultdict(list), set(), set()
    for e in bars:
        serial = index.sibling(e, "serial")
        point = tuple((k, v) for k, v in e.params.items() if serial is None or k in serial.params)
        own = [(k, v) for k, v in e.params.items() if (k, v) not in point]
        own_keys |= {k for k, _ in own}
        label = " ".join([e.variant] + [f"{k}:{human(k, v)}" for k, v in own])
        groups[(e.file.origin, point)].append((label, e))
        labels.add(label)
    origins = sorted({o for o, _ in groups})
    labels = sorted(labels, key=lambda lab: (variant_rank(lab), [sort_key(t.split(":", 1)[-1]) for t in lab.split()[1:]]))
    keys = sorted(groups, key=lambda k: (origins.index(k[0]), [sort_key(v) for _, v in k[1]]))
    points = [dict(p) for _, p in keys]
    vary = varying(points)
    constant = constant_note(bars, skip=set(vary) | own_keys)  # what every bar shares, for the axis caption
    values = [e.value("speedup") for e in bars]
    log = max(values) / max(min(values), 1e-12) > 30
    ticks = ["/".join(human(k, p.get(k, "-")) for k in vary) for p in points]
    longest = max(len(t) for t in ticks)
    reps = max(len(e.reps) for e in bars)

    # Rotated tick labels take height from the axes: give it back.
    for cols, fig in writer.figures(lambda c: (2.5 if c == 2 else 2.9) + max(0, longest - 10) * 0.05):
        ax = fig.add_subplot()
        width = 0.8 / len(labels)
        drawn = set()
        for gi, key in enumerate(keys):
            # In the bars' order, so the legend lists them left to right.
            for label, e in sorted(groups[key], key=lambda le: labels.index(le[0])):
                li = labels.index(label)
                x = gi + (li - (len(labels) - 1) / 2) * width
                y, s = e.value("speedup"), e.spread("speedup")
                # Past the palette's 8 colours, a hatch tells the repeated colours apart.
                ax.bar(x, y, width * 0.9, color=PALETTE[li % len(PALETTE)],
                       hatch=BAR_HATCHES[(li // len(PALETTE)) % len(BAR_HATCHES)], edgecolor="white", linewidth=0,
                       yerr=[[y - s[0]], [s[1] - y]] if s else None,
                       error_kw={"elinewidth": 0.6, "ecolor": "0.15", "capsize": 1.2},
                       label=None if label in drawn else label)
                drawn.add(label)
                bound = e.value("speedup_bound")
                if bound is not None:
                    ax.hlines(bound, x - width * 0.5, x + width * 0.5, colors="k", linewidth=1.1,
                              label=None if "model bound" in drawn else "model bound")
                    drawn.add("model bound")
        ax.axhline(1.0, color="0.3", linewidth=0.6, linestyle=":")
        ax.set_xticks(range(len(keys)))
        crowded = sum(len(t) for t in ticks) * (2 if cols == 1 else 1) > 110
        ax.set_xticklabels(ticks, rotation=90 if crowded else 0)
        ax.set_xlim(-0.5, len(keys) - 0.5)
        if len(origins) > 1:  # one block of groups per run, named above it
            from matplotlib.transforms import blended_transform_factory
            above = blended_transform_factory(ax.transData, ax.transAxes)
            for origin in origins:
                idx = [i for i, (o, _) in enumerate(keys) if o == origin]
                if idx[0] > 0:
                    ax.axvline(idx[0] - 0.5, color="0.3", linewidth=0.6)
                ax.text((idx[0] + idx[-1]) / 2, 1.01, origin, transform=above, ha="center", va="bottom", fontsize=6)
        ax.grid(axis="x", visible=False)
        if log:
            log_axis(ax.yaxis)
        else:
            ax.set_ylim(bottom=0)
        ax.set_ylabel("speedup over serial (×)")
        xlabel = "/".join(vary)
        if constant:
            xlabel = f"{xlabel}   ({constant})" if xlabel else constant
        ax.set_xlabel(xlabel)
        legend(ax, cols)
        writer.save(fig, stem("speedup", pair), cols,
                    f"{pair}: speedup over serial; bars: median of {reps} repetition(s); whiskers: min-max; "
                    "black: the pipeline model's bound")
    return True


# ---------------------------------------------------------------- figure: speedup vs compute:transfer

def two_stage_speedup(ratio, chunks, depth):
    """The harness's model for stage times r (compute) and 1 (transfer), T_serial = r + 1."""
    total = ratio + 1.0
    ideal = total / chunks + (chunks - 1) * max(max(ratio, 1.0), total / depth) / chunks
    return total / ideal


def compute_transfer(index, e):
    """(compute seconds, transfer seconds, stages counted) of a pipelined entry's model stages, by
    the kind each stage declares; None when a stage has no result or a kind is missing."""
    stages = [(k, s) for _, k, s in index.stage_list(e) if k != "combined"]
    if not stages or any(s is None or not s.value("time") for _, s in stages):
        return None
    compute = sum(s.value("time") for k, s in stages if k == "compute")
    transfer = sum(s.value("time") for k, s in stages if k == "transfer")
    return (compute, transfer, len(stages)) if compute and transfer else None


def fig_speedup_vs_ratio(pair, entries, index, writer):
    points = {}
    for e in entries:
        if e.role != "pipelined" or e.value("speedup") is None:
            continue
        ct = compute_transfer(index, e)
        if ct is None:
            continue
        t_compute, t_transfer, n_stages = ct
        stage_params = set().union(*(s.params for _, _, s in index.stage_list(e)))
        # The model curve is a function of chunks and depth; the parameters that set the stage
        # times (intensity, source, ...) move a point along it instead.
        rest = tuple((k, v) for k, v in e.params.items() if k not in stage_params or k == "chunks")
        points.setdefault((e.file.origin, e.variant, rest), []).append((t_compute / t_transfer, e, n_stages))
    if not points:
        return False
    keys = sort_series(points)
    series = Series(keys, with_variant=False)
    ratios = [r for pts in points.values() for r, _, _ in pts]
    lo, hi = min(min(ratios) / 1.5, 0.5), max(max(ratios) * 1.5, 2.0)  # always show the balance point, 1
    constant = constant_note([e for pts in points.values() for _, e, _ in pts], skip=set(series.vary))

    for cols, fig in writer.figures(lambda c: 2.4 if c == 2 else 2.9):
        ax = fig.add_subplot()
        curve = bound = False
        for key in keys:
            st = series.style(key)
            pts = sorted(points[key], key=lambda t: t[0])
            label = series.label(key)
            for i, (r, e, _) in enumerate(pts):
                y, s = e.value("speedup"), e.spread("speedup")
                ax.errorbar(r, y, yerr=[[y - s[0]], [s[1] - y]] if s else None, elinewidth=0.6,
                            **{**st, "linestyle": "none"}, label=label if i == 0 else None)
            model = pts[0][1].model or {}
            chunks, depth = model.get("chunks"), model.get("depth")
            if all(n == 2 for _, _, n in pts) and model.get("formula") == "pipeline" and chunks and depth:
                xs = [lo * (hi / lo) ** (i / 300) for i in range(301)]
                ax.plot(xs, [two_stage_speedup(x, chunks, depth) for x in xs], color=st["color"],
                        linestyle=st["linestyle"], linewidth=0.8, alpha=0.8)
                curve = True
            else:  # more than two stages: the harness's model at each point
                for r, e, _ in pts:
                    b = e.value("speedup_bound")
                    if b is not None:
                        ax.plot(r, b, marker="_", markersize=7, color=st["color"], linestyle="none")
                        bound = True
        if curve:
            ax.plot([], [], color="0.3", linewidth=0.8, label="model, two stages")
        if bound:
            ax.plot([], [], color="0.3", marker="_", markersize=7, linestyle="none", label="model bound")
        series.origin_handles(ax)
        ax.axvline(1.0, color="0.4", linewidth=0.6, linestyle=":")
        if hi / lo >= 8:  # ratios spread over decades; a narrow spread reads better linear
            log_axis(ax.xaxis)
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom=min(0.95, ax.get_ylim()[0]))
        ax.set_xlabel("compute : transfer, stage-alone times" + (f"   ({constant})" if constant else ""))
        ax.set_ylabel("pipelined speedup (×)")
        legend(ax, cols)
        writer.save(fig, stem("speedup_vs_ratio", pair), cols,
                    f"{pair}: pipelined speedup vs compute:transfer ratio of the stage-alone times, with the model")
    return True


# ---------------------------------------------------------------- line figures over one axis

EFF_LIMITS = (-1.0, 2.0)


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


def fig_throughput_vs_chains(pair, entries, index, writer):
    series_map = series_over([e for e in entries if e.value("flops_per_second") or e.value("bytes_per_second")],
                             "chains")
    if not series_map:
        return False
    # Show the rate the roofline is bound by: FLOP/s where the FMA peak bounds the entry,
    # B/s where the read bandwidth of its cache level does.
    compute_bound = bandwidth_bound = 0
    for es in series_map.values():
        for e in es:
            peak = number(e.file.context.get("fma_peak_gflops"))
            t_roof, flops = e.value("t_roofline"), e.value("flops_per_second")
            if t_roof and flops and peak:
                # the context rounds the peak to 0.1 GFLOP/s, hence a tolerance
                if abs(flops * e.value("time") / (peak * 1e9) - t_roof) <= 0.02 * t_roof:
                    compute_bound += 1
                else:
                    bandwidth_bound += 1
    has_bytes = any(e.value("bytes_per_second") for es in series_map.values() for e in es)
    counter, unit = ("bytes_per_second", "B/s") if has_bytes and bandwidth_bound >= compute_bound \
        else ("flops_per_second", "FLOP/s")
    keys = sort_series(series_map)
    series = Series(keys)
    scale, unit_label = rate_scale([e.value(counter) or 0 for es in series_map.values() for e in es], unit)
    roofline = any(e.value("roofline_fraction") for es in series_map.values() for e in es)

    for cols, fig in writer.figures(lambda c: 2.4 if c == 2 else 3.0):
        ax = fig.add_subplot()
        xs_all = []
        for key in keys:
            es = [e for e in series_map[key] if e.value(counter)]
            st = series.style(key)
            xs = [number(e.params["chains"]) for e in es]
            xs_all += xs
            errorbar_line(ax, xs, [e.value(counter) for e in es], [e.spread(counter) for e in es], scale,
                          **st, label=series.label(key))
            peaks = sorted(e.value(counter) / e.value("roofline_fraction") for e in es if e.value("roofline_fraction"))
            if peaks:  # one working set per series, so one roofline rate (the median, should they differ)
                ax.axhline(peaks[len(peaks) // 2] / scale, color=st["color"], linestyle="--", linewidth=0.8)
        if roofline:
            ax.plot([], [], color="0.3", linestyle="--", linewidth=0.8, label="roofline: measured peak")
        series.origin_handles(ax)
        numeric_axis(ax, xs_all)
        lo, hi = ax.get_ylim()
        ys = [y for line in ax.get_lines() for y in line.get_ydata() if y > 0]
        if ys and max(ys) / min(ys) > 20:  # scalar chains far below a SIMD roofline: both stay readable
            log_axis(ax.yaxis)
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("independent chains")
        ax.set_ylabel(f"throughput ({unit_label})")
        legend(ax, cols)
        writer.save(fig, stem("throughput_vs_chains", pair), cols,
                    f"{pair}: throughput vs independent chains, against the roofline of the measured peak")
    if not roofline:
        note(f"throughput_vs_chains {pair}: no roofline counters (run without --no-probe to draw the measured peak)")
    return True


def fig_efficiency(pair, entries, index, writer, axis):
    series_map = series_over([e for e in entries if e.value("speedup_bound") is not None
                              or e.value("efficiency") is not None], axis)
    if not series_map:
        return False
    keys = sort_series(series_map)
    series = Series(keys)
    constant = constant_note([e for es in series_map.values() for e in es], skip={axis} | set(series.vary))

    for cols, fig in writer.figures(lambda c: 3.0 if c == 2 else 3.8):
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        xs_all = []
        for key in keys:
            es, st = series_map[key], series.style(key)
            xs_all += [number(e.params[axis]) for e in es]
            measured = [e for e in es if e.value("speedup") is not None]
            errorbar_line(top, [number(e.params[axis]) for e in measured], [e.value("speedup") for e in measured],
                          [e.spread("speedup") for e in measured], **st, label=series.label(key))
            bound = [e for e in es if e.value("speedup_bound") is not None]
            top.plot([number(e.params[axis]) for e in bound], [e.value("speedup_bound") for e in bound],
                     color=st["color"], linestyle="--", linewidth=0.8)
            eff = [e for e in es if e.value("efficiency") is not None]
            errorbar_line(bottom, [number(e.params[axis]) for e in eff], [e.value("efficiency") for e in eff],
                          [e.spread("efficiency") for e in eff], **st)
        top.plot([], [], color="0.3", linestyle="--", linewidth=0.8, label="model bound")
        series.origin_handles(top)
        top.axhline(1.0, color="0.4", linewidth=0.6, linestyle=":")
        bottom.axhline(1.0, color="0.4", linewidth=0.6, linestyle=":")
        # Where the model allows almost no gain, efficiency is a ratio of two small differences
        # and swings far outside [0, 1]: the axis stops at [-1, 2] and says so.
        effs = [e.value("efficiency") for es in series_map.values() for e in es if e.value("efficiency") is not None]
        if effs and (min(effs) < EFF_LIMITS[0] or max(effs) > EFF_LIMITS[1]):
            bottom.set_ylim(*EFF_LIMITS)
            bottom.text(0.99, 0.02, "clipped to [-1, 2]", transform=bottom.transAxes, ha="right", va="bottom",
                        fontsize="x-small", color="0.35")
        numeric_axis(bottom, xs_all)
        top.set_ylabel("speedup (×)")
        bottom.set_ylabel("overlap efficiency")
        bottom.set_xlabel(axis.replace("_", " ") + (f"   ({constant})" if constant else ""))
        legend(top, cols)
        writer.save(fig, stem(f"efficiency_vs_{axis}", pair), cols,
                    f"{pair}: speedup, the model's bound (dashed) and overlap efficiency vs {axis}; "
                    "efficiency is undefined where the model allows no gain")
    return True


def fig_scaling(pair, entries, index, writer):
    # stage_* entries are the model's inputs, not results to scale
    series_map = series_over([e for e in entries if e.role != "stage"], "ranks", across_runs=True)
    if not series_map:
        return False
    keys = sort_series(series_map)
    series = Series(keys)
    scale, unit = time_scale([e.value("time") for es in series_map.values() for e in es])
    with_speedup = [k for k in keys if any(e.value("speedup") is not None for e in series_map[k])]

    for cols, fig in writer.figures(lambda c: 3.0 if c == 2 else 3.8):
        axes = fig.subplots(2, 1, sharex=True) if with_speedup else [fig.add_subplot()]
        xs_all = []
        for key in keys:
            es, st = series_map[key], series.style(key)
            xs_all += [number(e.params["ranks"]) for e in es]
            errorbar_line(axes[0], [number(e.params["ranks"]) for e in es], [e.value("time") for e in es],
                          [e.spread("time") for e in es], scale, **st, label=series.label(key))
            if key in with_speedup:
                sp = [e for e in es if e.value("speedup") is not None]
                errorbar_line(axes[1], [number(e.params["ranks"]) for e in sp], [e.value("speedup") for e in sp],
                              [e.spread("speedup") for e in sp], **st)
                bound = [e for e in es if e.value("speedup_bound") is not None]
                axes[1].plot([number(e.params["ranks"]) for e in bound], [e.value("speedup_bound") for e in bound],
                             color=st["color"], linestyle="--", linewidth=0.8)
        times = [e.value("time") for es in series_map.values() for e in es]
        if max(times) / min(times) >= 10:  # strong scaling spans decades; a flat one reads better linear
            log_axis(axes[0].yaxis)
        axes[0].set_ylabel(f"time ({unit})")
        if with_speedup:
            axes[0].plot([], [], color="0.3", linestyle="--", linewidth=0.8, label="model bound")
            axes[1].axhline(1.0, color="0.4", linewidth=0.6, linestyle=":")
            axes[1].set_ylabel("speedup (×)")
        series.origin_handles(axes[0])
        numeric_axis(axes[-1], xs_all)
        axes[-1].set_xlabel("MPI ranks")
        legend(axes[0], cols)
        writer.save(fig, stem("scaling_vs_ranks", pair), cols, f"{pair}: time and speedup vs MPI ranks")
    return True



# ---------------------------------------------------------------- CSV

def write_csv(path, entries, index):
    """Every entry, one row: its parameters, median time and spread, every counter, and the
    times of its serial and stage-alone siblings (the joined pair table)."""
    axes, counters, stage_cols = [], set(), set()
    rows = []
    for e in entries:
        for k in e.params:
            if k not in axes:
                axes.append(k)
        row = {"origin": e.file.origin, "file": e.file.path, "run_status": e.file.status, "name": e.name,
               "domain": e.domain, "workload": e.workload, "variant": e.variant, "role": e.role, **e.params}
        if e.error:
            row["error"] = e.error
        if e.file.synthetic:
            row["synthetic"] = e.file.synthetic
        if e.run is not None:
            row["time_s"] = e.value("time")
            s = e.spread("time")
            row["time_min_s"], row["time_max_s"] = (s if s else ("", ""))
            row["repetitions"] = max(1, len(e.reps))
            for k, v in e.run.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in (
                        "family_index", "per_family_instance_index", "repetitions", "repetition_index",
                        "threads", "real_time", "cpu_time"):
                    row[k] = v
                    counters.add(k)
            if "label" in e.run:
                row["label"] = e.run["label"]
            if e.role in ("pipelined", "alternative", "reference"):
                serial = index.sibling(e, "serial")
                if serial is not None:
                    row["serial_time_s"] = serial.value("time")
                for v, st in index.stages(e).items():
                    if st is not None:
                        row[f"{v}_time_s"] = st.value("time")
                        stage_cols.add(f"{v}_time_s")
                ct = compute_transfer(index, e)
                if ct:
                    row["compute_s"], row["transfer_s"], _ = ct
                    row["compute_transfer_ratio"] = ct[0] / ct[1]
        rows.append(row)
    fields = ["origin", "file", "run_status", "name", "domain", "workload", "variant", "role"] + axes + \
             ["time_s", "time_min_s", "time_max_s", "repetitions", "serial_time_s"] + sorted(stage_cols) + \
             ["compute_s", "transfer_s", "compute_transfer_ratio"] + sorted(counters) + ["label", "error"] + \
             (["synthetic"] if any("synthetic" in r for r in rows) else [])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)


# ---------------------------------------------------------------- main

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


def main(argv):
    p = argparse.ArgumentParser(prog="plot.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("inputs", nargs="*", metavar="RESULT", help="result files or folders")
    p.add_argument("-o", "--out", help="output folder (default: the folder of the first result file)")
    p.add_argument("--columns", default="1,2", help="layouts: 1 (one column), 2 (two columns); default 1,2")
    p.add_argument("--formats", default="pdf,png", help="pdf, png (default both)")
    p.add_argument("--figures", default=",".join(FIGURE_TYPES), help="figure types (default all)")
    p.add_argument("--csv", help="the joined pair table (default: <out>/pairs.csv; '-' for none)")
    p.add_argument("--where", default="", metavar="AXIS=VALUE,...",
                   help="keep the entries whose AXIS is VALUE, or which have no AXIS (their serial and stage "
                        "siblings stay), e.g. bytes=16777216,intensity=64: one point per figure for a paper")
    args = p.parse_args(argv)
    if not args.inputs:
        die("no result file given (usage: plot.py [-o DIR] RESULT [RESULT ...])")
    columns = [int(c) for c in parse_list(args.columns, ["1", "2"], "columns")]
    formats = parse_list(args.formats, ["pdf", "png"], "formats")
    figures = parse_list(args.figures, FIGURE_TYPES, "figures")

    results, entries = load(args.inputs)
    files = results.files
    where = parse_where(args.where)
    for k, v in where:
        if not any(k in e.params and same_value(e.params[k], v) for e in entries):
            die(f"--where {k}={v}: no entry of {', '.join(f.path for f in files)} has {k} {v}")
    entries = [e for e in entries if all(k not in e.params or same_value(e.params[k], v) for k, v in where)]
    index = Index(results, entries)
    pairs = [e for e in entries if e.run is not None and e.role != "serial"
             and index.sibling(e, "serial") is not None]
    if not pairs:
        what = ", ".join(f.path for f in files)
        skipped = [e for e in entries if e.error]
        if not entries:
            die(f"{what}: no pipebench entries (names domain/workload/variant/axis:value)")
        if skipped and len(skipped) == len(entries):
            die(f"{what}: no pairs: all {len(entries)} entries failed or were skipped (first: {skipped[0].error})")
        die(f"{what}: no pairs: no entry has a serial sibling with a result")

    out = args.out or os.path.dirname(os.path.abspath(files[0].path))
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
    for e in entries:
        if e.run is not None:
            by_pair[e.pair].append(e)

    for fig_type in figures:
        made = []
        for pair in sorted(by_pair):
            es = by_pair[pair]
            synthetic = sorted({e.file.path for e in es if e.file.synthetic})
            writer.stamp = "SYNTHETIC DATA, NOT A MEASUREMENT" if synthetic else None
            if fig_type == "speedup":
                ok = fig_speedup(pair, es, index, writer)
            elif fig_type == "speedup_vs_ratio":
                ok = fig_speedup_vs_ratio(pair, es, index, writer)
            elif fig_type == "throughput_vs_chains":
                ok = fig_throughput_vs_chains(pair, es, index, writer)
            elif fig_type.startswith("efficiency_vs_"):
                ok = fig_efficiency(pair, es, index, writer, fig_type[len("efficiency_vs_"):])
            else:
                ok = fig_scaling(pair, es, index, writer)
            if ok:
                made.append(pair)
                if synthetic:
                    note(f"{fig_type}: {pair}: drawn from synthetic data ({', '.join(synthetic)}), stamped as such")
        if not made:
            need = {"speedup": "entries with a speedup counter",
                    "speedup_vs_ratio": "pipelined entries with a compute stage and a transfer stage",
                    "throughput_vs_chains": "two or more values of the chains axis",
                    "scaling_vs_ranks": "two or more values of the ranks axis"}.get(
                fig_type, f"pipelined entries at two or more values of the {fig_type[len('efficiency_vs_'):]} axis")
            note(f"{fig_type}: skipped, the input has no {need}")

    if args.csv != "-":
        csv_path = args.csv or os.path.join(out, "pairs.csv")
        write_csv(csv_path, entries, index)
        writer.written.append(csv_path)
    for path in writer.written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
