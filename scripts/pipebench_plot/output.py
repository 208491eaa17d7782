"""What plot.py writes: each figure at every requested width and format (stamped when drawn
from synthetic data), and pairs.csv, every entry joined with its serial and stage siblings."""
import csv
import os

from .common import compute_transfer
from .style import WIDTHS

SYNTHETIC_STAMP = "SYNTHETIC DATA, NOT A MEASUREMENT"


class Writer:
    def __init__(self, outdir, columns, formats):
        self.outdir, self.columns, self.formats = outdir, columns, formats
        self.written = []
        self.stamp = None  # set while drawing from a file marked synthetic
        self._sources = {}  # stem -> what was drawn under it (claim)

    def figures(self, height):
        """(columns, figure) for every requested width; `height` maps columns to inches."""
        import matplotlib.pyplot as plt
        for cols in self.columns:
            yield cols, plt.figure(figsize=(WIDTHS[cols], height(cols)))

    def claim(self, stem, source):
        """The stem to draw `source` under: `stem`, or `stem.2`, `stem.3`... when another source
        took it (the same entry's timeline from two runs); None when this source was drawn already."""
        n = 1
        while True:
            candidate = stem if n == 1 else f"{stem}.{n}"
            owner = self._sources.get(candidate)
            if owner is None:
                self._sources[candidate] = source
                return candidate
            if owner == source:
                return None
            n += 1

    def save(self, fig, stem, cols, caption):
        import matplotlib.pyplot as plt
        if self.stamp:
            # Across the figure, so a cropped or resized copy still says it.
            fig.text(0.5, 0.5, self.stamp, transform=fig.transFigure, ha="center", va="center", rotation=20,
                     fontsize="xx-large", color="#D55E00", alpha=0.35, zorder=100)
            caption = f"{self.stamp}. {caption}"
        for fmt in self.formats:
            path = os.path.join(self.outdir, f"{stem}.{cols}col.{fmt}")
            os.makedirs(os.path.dirname(path), exist_ok=True)  # a stem may name a subfolder (gantt/)
            meta = {"Title": caption, "CreationDate": None} if fmt == "pdf" else {"Title": caption}
            fig.savefig(path, format=fmt, metadata=meta)
            self.written.append(path)
        plt.close(fig)


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
