"""time_went: where each pipelined entry's time went, for the pairs whose model has terms (the
handoff between the stage cores, both stages contending): one bar per point, from the model of
the stages alone (T_ideal), plus each term the model adds, plus what is left unexplained (or,
when the measurement beat the model with its terms, a mark where it ended), with the serial
time beside it."""
from ..common import constant_note, time_scale, stem, varying
from ..registry import figure
from ..style import legend

PARTS = (("T_ideal (stages alone)", "#0072B2"), ("+ handoff", "#E69F00"), ("+ contention", "#D55E00"),
         ("unexplained", "#BBBBBB"))


def parts(e):
    """[T_ideal, handoff term, contention term, unexplained] in seconds, or None without terms."""
    ideal, handoff, contended = e.value("t_ideal"), e.value("t_ideal_handoff"), e.value("t_ideal_contended")
    if ideal is None or (handoff is None and contended is None):
        return None
    h = max(0.0, handoff - ideal) if handoff is not None else 0.0
    c = max(0.0, contended - ideal) if contended is not None else 0.0
    return [ideal, h, c, e.seconds - (ideal + h + c)]


@figure("time_went", need="pipelined entries whose model has a handoff or contention term",
        doc="where each pipelined point's time went: T_ideal, the handoff and\n"
            "contention terms, the unexplained rest; the serial time beside it")
def fig_time_went(pair, entries, index, writer):
    rows = [(e, parts(e)) for e in entries if e.role == "pipelined" and e.ok and parts(e) is not None]
    if not rows:
        return False
    rows.sort(key=lambda r: tuple(str(v).zfill(12) for v in r[0].params.values()))
    shown = varying([e.params for e, _ in rows])
    labels = [" ".join(f"{k} {e.params[k]}" for k in shown) or e.name for e, _ in rows]
    constant = constant_note([e for e, _ in rows], skip=set(shown))
    scale, unit = time_scale([max(e.seconds, e.value("t_serial") or 0.0) for e, _ in rows])

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    for cols, fig in writer.figures(lambda c: 0.9 + 0.17 * len(rows) + (0.4 if c == 1 else 0.0)):
        ax = fig.add_subplot()
        for y, (e, p) in enumerate(rows):
            left = 0.0
            for (name, colour), width in zip(PARTS, p):
                if name == "unexplained" and width < 0:
                    break
                ax.barh(y, width / scale, left=left / scale, height=0.7, color=colour, edgecolor="none")
                left += width
            ax.plot(e.seconds / scale, y, marker="|", markersize=9, color="0.1", linestyle="none")
            if e.value("t_serial") is not None:
                ax.plot(e.value("t_serial") / scale, y, marker="o", markersize=3, color="0.1", fillstyle="none",
                        linestyle="none")
        # The parts this pair's model has (a term none of its entries carries is left out).
        has = [True, any(e.value("t_ideal_handoff") is not None for e, _ in rows),
               any(e.value("t_ideal_contended") is not None for e, _ in rows), True]
        handles = [Patch(facecolor=c, edgecolor="none") for (_, c), h in zip(PARTS, has) if h] + \
            [Line2D([], [], marker="|", markersize=9, color="0.1", linestyle="none"),
             Line2D([], [], marker="o", markersize=3, color="0.1", fillstyle="none", linestyle="none")]
        names = [n for (n, _), h in zip(PARTS, has) if h] + ["measured", "serial"]
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(labels)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(left=0)
        ax.set_xlabel(f"time ({unit})" + (f"   ({constant})" if constant else ""))
        ax.grid(axis="y", visible=False)
        legend(ax, cols, handles, names)
        writer.save(fig, stem("time_went", pair), cols,
                    f"{pair}: where the pipelined time went: T_ideal from the stages alone, the handoff and "
                    "contention terms of the model, and the unexplained rest (measured beyond them)")
    return True
