"""scaling_vs_ranks: time and speedup against MPI ranks, one series across runs."""
from ..common import errorbar_line, log_axis, number, numeric_axis, series_over, stem, time_scale
from ..registry import figure
from ..style import Series, legend, sort_series


@figure("scaling_vs_ranks", need="two or more values of the ranks axis",
        doc="time and speedup against MPI ranks")
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
