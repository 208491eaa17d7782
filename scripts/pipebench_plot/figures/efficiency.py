"""efficiency_vs_<axis>: speedup and the model's bound (top), overlap efficiency (bottom), over
one of the pipelined pairs' axes."""
from ..common import constant_note, errorbar_line, number, numeric_axis, series_over, stem
from ..registry import figure
from ..style import Series, legend, sort_series

AXES = ("chunks", "queue_depth", "streams", "microbatches")
EFF_LIMITS = (-1.0, 2.0)


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


for _i, _axis in enumerate(AXES):
    figure(f"efficiency_vs_{_axis}", need=f"pipelined entries at two or more values of the {_axis} axis",
           doc=f"for axis {', '.join(AXES)}: speedup and the model's\nbound (top), overlap efficiency (bottom)"
           if _i == 0 else None, doc_name="efficiency_vs_<axis>", axis=_axis)(fig_efficiency)
