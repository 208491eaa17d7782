"""gantt: the timeline of one traced pass (--trace DIR; scripts/pipebench_trace.py reads it). One
row per lane (`rank N / lane` when the trace has several processes) against time; each stage
interval a bar coloured by its stage and numbered by its item (chunk, microbatch) where the number
fits; auxiliary intervals (waits, MPI tests and posts, submits) thin and grey; the serial
sibling's median (dashed) and the model's t_ideal (dotted) as vertical lines. The title names the
entry, the timeline's span, trace_pass_seconds and the timed median, and where the entry has
bubble counters or the trace several processes, the bubble the timeline shows beside them.

Drawn for every entry whose result names a timeline, into gantt/<trace file name without
.trace.json>.<1col|2col>.<pdf|png>; and for timelines given alone (draw_timelines), which have no
serial line and no counters. A missing or unreadable timeline is one line and no figure; an
incomplete one (a chunk missing, intervals overlapping) is one line and drawn as recorded."""
import math
import os

from ..common import note, time_scale
from ..output import SYNTHETIC_STAMP
from ..registry import figure
from ..style import AUXILIARY_GREY, AUXILIARY_GREYS, WIDTHS, legend, stage_colours, text_colour, tint
import pipebench_trace  # scripts/, which common.py puts on the path

STAGE_HEIGHT = 0.72      # of a row: the scheduled work
AUXILIARY_HEIGHT = 0.24  # waits and the like: visible, never mistaken for work
ITEM_FONT = 5.0          # points: the smallest size still read in print
ODD_TINT = 0.3           # odd items a shade lighter where bars are too thin for white edges between them


def trace_named(e):
    """The timeline an entry's result names (its `pipebench.trace`), as written, or None."""
    for run in [e.run, *e.reps, *e.aggregates.values()]:
        named = (run or {}).get("pipebench", {}).get("trace")
        if named:
            return named
    return None


def row_labels(trace):
    """One label per lane, top to bottom: the lane's own, after its process's name when the trace
    has several (MPI: 'rank 1 / compute')."""
    several = len({lane.process for lane in trace.lanes}) > 1
    return [f"{trace.processes.get(lane.process, f'process {lane.process}')} / {lane.label}" if several
            else lane.label for lane in trace.lanes]


def read(path, source=None):
    """The timeline at `path`, or None after one line saying why (`source`: the entry naming it)."""
    if not os.path.isfile(path):
        note(f"gantt: {source}: its timeline {path} is missing; skipped" if source
             else f"gantt: {path}: no such file; skipped")
        return None
    try:
        return pipebench_trace.load(path)
    except pipebench_trace.TraceError as e:
        note(f"gantt: {e}; skipped")
        return None


def seconds_text(seconds):
    """Three significant digits, kept when they are zeros: 12.0 ms, 3.61 ms, 100 ms."""
    scale, unit = time_scale([seconds])
    return f"{seconds / scale:#.3g}".rstrip(".") + f" {unit}"


def wrap(parts, sep, width):
    """Lines of at most `width` characters (where the parts allow) joining parts with sep."""
    lines = []
    for part in parts:
        if lines and len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return lines


def bubble_parts(trace, entry):
    """The bubble the timeline shows (idle share of the busiest process) beside the entry's
    bubble_model, bubble_measured and bubble_trace (the binary's reading of the same timeline)
    counters; [] unless the entry has one of those or the trace several processes (a training
    schedule, an MPI pipeline)."""
    names = ("bubble_model", "bubble_measured", "bubble_trace")
    counters = [(k, entry.value(k)) for k in names] if entry else []
    counters = [(k, v) for k, v in counters if v is not None]
    several = len({lane.process for lane in trace.lanes}) > 1
    if not counters and not several:
        return []
    idle = pipebench_trace.idle_share_of_busiest(trace)
    who = "rank" if several else "process"
    parts = [f"bubble in the timeline {idle:.1%} (idle share of the busiest {who})" if not math.isnan(idle)
             else "bubble in the timeline: none measurable (no stage intervals)"]
    return parts + [f"{k} {v:.1%}" for k, v in counters]


def facts(trace, entry, serial):
    """What the title says besides the entry's name: the timeline's span, trace_pass_seconds, the
    timed median and the serial median, then the bubble (bubble_parts)."""
    begin, end = trace.span()
    out = [f"timeline {seconds_text(end - begin)}"]
    pass_seconds = entry.value("trace_pass_seconds") if entry is not None else None
    if pass_seconds is None:
        pass_seconds = trace.meta.get("trace_pass_seconds")
    if isinstance(pass_seconds, (int, float)):
        out.append(f"trace_pass_seconds {seconds_text(pass_seconds)}")
    if entry is not None and entry.value("time") is not None:
        out.append(f"timed median {seconds_text(entry.value('time'))}")
    if serial is not None and entry.role != "serial":
        out.append(f"serial median {seconds_text(serial)}")
    return out, bubble_parts(trace, entry)


def draw_lanes(ax, trace, colours, scale, thin):
    """A row per lane: stage bars (white edges between them, or odd items lighter where bars are
    under `thin` plot units wide), auxiliary bars thin and grey, a rule between processes. Returns
    (left, width, row, colour, item) of every stage bar."""
    begin = trace.span()[0]
    bars = []
    for y, lane in enumerate(trace.lanes):
        groups = {}
        for i in lane.intervals:
            groups.setdefault((i.category == "stage", i.name if i.category == "stage" else i.category), []).append(i)
        for (is_stage, key), ivs in groups.items():
            spans = [((i.begin - begin) / scale, max(i.end - i.begin, 0.0) / scale) for i in ivs]
            if not is_stage:
                ax.broken_barh(spans, (y - AUXILIARY_HEIGHT / 2, AUXILIARY_HEIGHT),
                               facecolors=AUXILIARY_GREYS.get(key, AUXILIARY_GREY), linewidth=0, zorder=2,
                               gid=f"auxiliary {key}")
                continue
            edges = sorted(w for _, w in spans)[len(spans) // 2] >= thin
            shades = [tint(colours[key], ODD_TINT) if i.item % 2 and not edges else colours[key] for i in ivs]
            ax.broken_barh(spans, (y - STAGE_HEIGHT / 2, STAGE_HEIGHT), facecolors=shades, edgecolors="white",
                           linewidth=0.25 if edges else 0, zorder=3, gid=f"stage {key}")
            bars += [(x, w, y, c, i.item) for (x, w), i, c in zip(spans, ivs, shades)]
    for y in range(1, len(trace.lanes)):
        if trace.lanes[y].process != trace.lanes[y - 1].process:
            ax.axhline(y - 0.5, color="0.35", linewidth=0.6)
    return bars


def draw(trace, writer, entry=None, index=None):
    """The Gantt figure of one timeline at every requested width, saved under gantt/. Returns
    the Axes drawn (one per width; their figures closed), [] when this timeline was drawn already.
    Its collections are named by gid: 'stage <name>' (one bar per stage interval), 'auxiliary
    <category>'; the item numbers are texts with gid 'item'."""
    base = os.path.basename(trace.path)
    base = base[:-len(".trace.json")] if base.endswith(".trace.json") else os.path.splitext(base)[0]
    stem = writer.claim(f"gantt/{base}", os.path.realpath(trace.path))
    if stem is None:
        return []
    problems = pipebench_trace.problems(trace)
    if problems:
        note(f"gantt: {trace.path}: the timeline is incomplete, {len(problems)} problem(s), first: {problems[0]}; "
             "drawn as recorded")
    incomplete = f"INCOMPLETE TIMELINE: {len(problems)} problem(s), first: {problems[0]}" if problems else None

    labels = row_labels(trace)
    stages, auxiliary = [], []  # names and categories, in the order they first appear
    for lane in trace.lanes:
        for i in lane.intervals:
            kinds, key = (stages, i.name) if i.category == "stage" else (auxiliary, i.category)
            if key not in kinds:
                kinds.append(key)
    colours = stage_colours(stages)
    serial = None
    if entry is not None:
        sibling = entry if entry.role == "serial" else index.sibling(entry, "serial") if index else None
        serial = sibling.value("time") if sibling is not None else None
    t_ideal = entry.value("t_ideal") if entry is not None else None
    begin, end = trace.span()
    right = max([end - begin, 1e-9] + [t for t in (serial, t_ideal) if t is not None])
    scale, unit = time_scale([right])
    said, bubble = facts(trace, entry, serial)
    name = trace.entry or (entry.name if entry is not None else base)

    def title(cols):
        width = 70 if cols == 1 else 140  # characters of 6.5 pt text across the figure
        lines = wrap([p + "/" for p in name.split("/")[:-1]] + name.split("/")[-1:], "", width)
        lines += wrap(said, "; ", width) + wrap(bubble, "; ", width)
        return lines + (wrap(incomplete.split(" "), " ", width) if incomplete else [])

    keys = [(s, colours[s]) for s in stages] + \
        [(f"{c} (auxiliary)", AUXILIARY_GREYS.get(c, AUXILIARY_GREY)) for c in auxiliary]
    lines = ([("serial median", "--", serial)] if serial is not None else []) + \
        ([("model t_ideal", ":", t_ideal)] if t_ideal is not None else [])
    legend_rows = -(-(len(keys) + len(lines)) // 2)

    def height(cols):
        row = 0.2 if len(labels) <= 8 else 0.14
        head = 0.11 * len(title(cols))
        rows = 0.5 + head + row * max(len(labels), 2)
        if cols == 1:
            return rows + 0.13 * legend_rows
        # Two columns: the legend stands right of the lanes, one key per row; lanes stretch to it
        # rather than the figure growing after the layout squeezed them.
        return max(rows, 0.55 + head + 0.155 * (len(keys) + len(lines)))

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    drawn = []
    for cols, fig in writer.figures(height):
        ax = fig.add_subplot()
        # White edges would hide bars under two points wide (the axes take about 70% of the width).
        bars = draw_lanes(ax, trace, colours, scale, thin=2 * right / scale / (WIDTHS[cols] * 72 * 0.7))
        for _, style, seconds in lines:
            ax.axvline(seconds / scale, color="0.1", linestyle=style, linewidth=0.9, zorder=4)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels)
        ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)  # the first lane on top
        ax.set_xlim(0, right * 1.01 / scale)
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(f"time since the pass's first interval ({unit})")
        fig.suptitle("\n".join(title(cols)), fontsize=6.5, linespacing=1.25)
        handles = [Patch(facecolor=c, edgecolor="none") for _, c in keys] + \
            [Line2D([], [], color="0.1", linestyle=style, linewidth=0.9) for _, style, _ in lines]
        legend(ax, cols, handles, [k for k, _ in keys] + [f"{k} ({seconds_text(t)})" for k, _, t in lines])
        fig.canvas.draw()  # the layout sets the axes' size, and so which numbers fit their bars
        numbered = number_items(ax, bars)
        writer.save(fig, stem, cols,
                    f"{name}: timeline of one untimed traced pass ({'; '.join(said + bubble)}); {len(labels)} "
                    f"lane(s), {len(bars)} stage interval(s), {numbered} numbered by item; a row per lane, bars "
                    "coloured by stage (odd items lighter where bars are thin), thin grey: auxiliary intervals"
                    + ("; dashed: the serial median" if serial is not None else "")
                    + ("; dotted: the model's t_ideal" if t_ideal is not None else "")
                    + (f"; {incomplete}" if incomplete else ""))
        drawn.append(ax)
    return drawn


def number_items(ax, bars):
    """Writes each bar's item number inside it where bar and number fit; returns how many."""
    fig = ax.get_figure()
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    per_unit = box.width * 72 / fig.dpi / (x1 - x0)  # points per plot unit along x
    if box.height * 72 / fig.dpi / abs(y1 - y0) * STAGE_HEIGHT < ITEM_FONT * 1.15:
        return 0  # rows too low for any number
    count = 0
    for x, w, y, colour, item in bars:
        text = str(item)
        if item >= 0 and w * per_unit >= len(text) * ITEM_FONT * 0.62 + 1.5:
            ax.text(x + w / 2, y, text, ha="center", va="center", fontsize=ITEM_FONT, color=text_colour(colour),
                    zorder=5, clip_on=True, in_layout=False, gid="item")
            count += 1
    return count


@figure("gantt", need="entries naming a readable timeline (run with --trace DIR)",
        doc="one per timeline (--trace DIR), in gantt/: a row per lane (rank / lane\n"
            "for MPI), stage bars numbered by item where they fit, auxiliary intervals\n"
            "thin and grey; dashed: the serial median; the bubble in the title")
def fig_gantt(pair, entries, index, writer):
    drawn = False
    for e in entries:
        named = trace_named(e)
        if named is None:
            continue
        trace = read(pipebench_trace.resolve(named, e.file.path), e.name)
        if trace is not None and draw(trace, writer, e, index):
            drawn = True
    return drawn


def draw_timelines(paths, writer, select=None):
    """Timelines given alone (no result names them), without a serial line or counters; the
    synthetic ones (otherData.pipebench_synthetic) stamped. `select(entry name)` picks among them.
    Returns how many were drawn."""
    count = 0
    for path in paths:
        trace = read(path)
        if trace is None or (select is not None and not select(trace.entry)):
            continue
        writer.stamp = SYNTHETIC_STAMP if trace.meta.get("pipebench_synthetic") else None
        if draw(trace, writer):
            count += 1
            if writer.stamp:
                note(f"gantt: {path}: drawn from synthetic data, stamped as such")
    writer.stamp = None
    return count
