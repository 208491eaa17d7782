"""speedup_vs_ratio: pipelined speedup against the compute:transfer ratio of the stage-alone
times, with the two-stage model's curve (or the harness's bound where a model has more stages)."""
from ..common import compute_transfer, constant_note, log_axis, stem
from ..registry import figure
from ..style import Series, legend, sort_series


def two_stage_speedup(ratio, chunks, depth):
    """The harness's model for stage times r (compute) and 1 (transfer), T_serial = r + 1."""
    total = ratio + 1.0
    ideal = total / chunks + (chunks - 1) * max(max(ratio, 1.0), total / depth) / chunks
    return total / ideal


@figure("speedup_vs_ratio", need="pipelined entries with a compute stage and a transfer stage",
        doc="pipelined speedup against the compute:transfer ratio of the\n"
            "stage-alone times, with the two-stage model curve")
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
