"""The look of every figure: paper widths, the colour-blind-safe palette and markers, matplotlib's
settings, the legend's place, and the colour, marker and line style of each series."""
from .common import human, sort_key, varying

# Paper widths in inches: IEEE/ACM single column (3.5) and full text width (7.16).
WIDTHS = {1: 3.5, 2: 7.16}
# Okabe-Ito: distinguishable with colour-vision deficiencies and in greyscale print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
BAR_HATCHES = ["", "////", "....", "xxxx"]
VARIANT_ORDER = ["serial", "pipelined", "ilp", "blocked", "reference"]

# Timelines (gantt): a stage's colour by its name, the same in every figure. Data coming in (load,
# read, h2d) in blue, work (compute, kernel) in orange, data going out (store, write, d2h) in
# green; a training schedule's forward, backward and weight-gradient passes (F, B, W) in three
# colours apart, as pipeline-parallel papers draw them, a recomputed forward (R) in a fourth, and a
# second stage's passes (F.1, B.1, W.1: interleaved, zb_v) in the same colours tinted. Other names
# take the rest of the palette in the order they first appear.
STAGE_COLOURS = {"load": "#0072B2", "read": "#0072B2", "h2d": "#0072B2",
                 "compute": "#E69F00", "kernel": "#E69F00",
                 "store": "#009E73", "write": "#009E73", "d2h": "#009E73",
                 "F": "#56B4E9", "B": "#D55E00", "W": "#009E73", "R": "#CC79A7",
                 "F.1": "#A4D5F3", "B.1": "#EC9E73", "W.1": "#66C4AB"}
STAGE_SPARE = ["#F0E442", "#44AA99", "#882255", "#999933", "#6699CC", "#CC79A7"]
# Auxiliary intervals (category other than "stage": waits, MPI tests and posts, io_uring submits)
# are thinner and grey, darker the closer they are to moving data.
AUXILIARY_GREYS = {"wait": "#C4C4C4", "test": "#A6A6A6", "post": "#8C8C8C", "submit": "#8C8C8C",
                   "recv": "#737373", "send": "#5A5A5A"}
AUXILIARY_GREY = "#999999"


def stage_colours(names):
    """{stage name: colour} for the names of one timeline, in the order they first appear."""
    spare = iter(STAGE_SPARE * (1 + len(names) // len(STAGE_SPARE)))
    return {n: STAGE_COLOURS.get(n) or next(spare) for n in names}


def tint(colour, share):
    """A '#rrggbb' colour moved `share` of the way to white."""
    return "#" + "".join(f"{round(c + (255 - c) * share):02x}" for c in (int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def text_colour(background):
    """Black or white, whichever reads better on a '#rrggbb' background."""
    r, g, b = (int(background[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def variant_rank(label):
    v = label.split(" ")[0]
    return (VARIANT_ORDER.index(v) if v in VARIANT_ORDER else len(VARIANT_ORDER), v)


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
            # More values of it than colours (nine training schedules): the ones past the palette
            # come round to its colours again, with markers of their own.
            mi += (ci // len(PALETTE)) * len(others)
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
