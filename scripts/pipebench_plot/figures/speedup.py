"""speedup: one bar per variant and own parameter at each point of the pair, over its serial."""
from collections import defaultdict

from ..common import constant_note, human, log_axis, sort_key, stem, varying
from ..registry import figure
from ..style import BAR_HATCHES, PALETTE, legend, variant_rank


@figure("speedup", need="entries with a speedup counter",
        doc="speedup over `serial` of every variant, bars per point; whiskers:\n"
            "min-max over repetitions; black ticks: the pipeline model's bound")
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
