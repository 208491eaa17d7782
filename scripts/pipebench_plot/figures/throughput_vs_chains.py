"""throughput_vs_chains: the rate of every series over the chains axis, against the roofline of
the measured peak, and the model's bound where the entries carry one (t_ideal)."""
from ..common import errorbar_line, log_axis, note, number, numeric_axis, rate_scale, series_over, stem
from ..registry import figure
from ..style import Series, legend, sort_series


def bound_rate(e, counter):
    """The rate the entry's model allows: its measured rate scaled by its time over the model's
    ideal time (t_ideal, seconds); None without a model."""
    rate, t, t_ideal = e.value(counter), e.value("time"), e.value("t_ideal")
    return rate * t / t_ideal if rate and t and t_ideal and t_ideal > 0 else None


@figure("throughput_vs_chains", need="two or more values of the chains axis",
        doc="throughput against independent chains, against the roofline built\n"
            "from the measured FMA peak and read bandwidth; dotted: the model's bound,\n"
            "where the entries carry one (t_ideal)")
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
    bounded = any(bound_rate(e, counter) for es in series_map.values() for e in es)
    scale, unit_label = rate_scale([e.value(counter) or 0 for es in series_map.values() for e in es] +
                                   [bound_rate(e, counter) or 0 for es in series_map.values() for e in es], unit)
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
            bound = [(x, bound_rate(e, counter)) for x, e in zip(xs, es) if bound_rate(e, counter)]
            if bound:
                ax.plot([x for x, _ in bound], [b / scale for _, b in bound], color=st["color"], linestyle=":",
                        linewidth=0.9)
        if roofline:
            ax.plot([], [], color="0.3", linestyle="--", linewidth=0.8, label="roofline: measured peak")
        if bounded:
            ax.plot([], [], color="0.3", linestyle=":", linewidth=0.9, label="bound: model")
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
                    f"{pair}: throughput vs independent chains, against the roofline of the measured peak" +
                    ("; dotted: the model's bound" if bounded else ""))
    if not roofline:
        note(f"throughput_vs_chains {pair}: no roofline counters (run without --no-probe to draw the measured peak)")
    return True
