#!/usr/bin/env python3
"""scripts/plot.py on the committed results, as users run it.

    plot_test.py figures|errors [CHECKOUT]

figures: every figure type the committed results hold data for is drawn, as non-empty
         PDF (fonts embedded, no Type 3) and PNG at one- and two-column width; the types they
         hold no data for are skipped with one line each; pairs.csv has a row per entry.
errors:  a missing file, a file that is not Google Benchmark JSON, and a result without
         pairs each end with one line on stderr and a non-zero exit.

Standard library only (plot.py finds its own interpreter with matplotlib)."""
import csv
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from testlib import check, fail

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLOT = os.path.join(ROOT, "scripts", "plot.py")
# The committed results: the quick CPU suite, the OpenBLAS comparison, a quick run of every
# suite (io with its queue depths, MPI on 2 ranks) and the MPI suite on 4 ranks, and a
# chunks x depth sweep run as a Slurm job array on the local Slurm (results/plots/slurm-sweep/).
INPUTS = [os.path.join(ROOT, "results/vm/20261128T034936Z/cpu.json"),
          os.path.join(ROOT, "results/vm/20261128T035011Z/cpu.json"),
          os.path.join(ROOT, "results/vm/20261128T050645Z/io.json"),
          os.path.join(ROOT, "results/vm/20261128T050645Z/mpi.json"),
          os.path.join(ROOT, "results/vm/20261128T050923Z/mpi.json")] + \
         sorted(glob.glob(os.path.join(ROOT, "results/plots/slurm-sweep/ci/*_*")))
WIDTH_PX = {1: round(3.5 * 300), 2: round(7.16 * 300)}


def plot(*args):
    return subprocess.run([PLOT, *args], capture_output=True, text=True, timeout=600)


def expected_types(paths):
    """The figure types the inputs hold data for, from entry names and counters alone."""
    names, counters = set(), set()
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "**", "*.json"), recursive=True)) if os.path.isdir(p) else [p]
    for f in files:
        with open(f) as fh:
            doc = json.load(fh)
        ranks = doc["context"].get("mpi_ranks")  # plot.py's ranks axis, from the run's context
        for b in doc["benchmarks"]:
            if not b.get("error_occurred"):
                name = b.get("run_name", b["name"])
                names.add(name + f"/ranks:{ranks}" if ranks and name.startswith("mpi/") else name)
                counters |= {k for k, v in b.items() if isinstance(v, (int, float))}
    values = {}
    for n in names:
        parts = n.split("/")
        rest = "/".join(p for p in parts[3:] if not p.startswith(("chunks:", "queue_depth:", "streams:", "ranks:", "chains:")))
        for p in parts[3:]:
            axis, value = p.split(":", 1)
            values.setdefault((axis, parts[0], parts[1], parts[2], rest), set()).add(value)
    swept = {axis for (axis, *_), v in values.items() if len(v) >= 2}
    types = {"speedup"} if "speedup" in counters else set()
    if any("/pipelined/" in n for n in names) and any("/stage_compute/" in n or "/stage_kernel/" in n for n in names):
        types.add("speedup_vs_ratio")
    if "chains" in swept:
        types.add("throughput_vs_chains")
    types |= {f"efficiency_vs_{a}" for a in ("chunks", "queue_depth", "streams") if a in swept}
    if "ranks" in swept:
        types.add("scaling_vs_ranks")
    return types


def png_width(path):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    return struct.unpack(">I", head[16:20])[0]


def figures():
    for p in INPUTS:
        check(os.path.exists(p), f"committed result {p} is missing")
    check(any("slurm-sweep" in p for p in INPUTS), "no committed sweep under results/plots/slurm-sweep/ci/")
    want = expected_types(INPUTS)
    all_types = {"speedup", "speedup_vs_ratio", "throughput_vs_chains", "efficiency_vs_chunks",
                 "efficiency_vs_queue_depth", "efficiency_vs_streams", "scaling_vs_ranks"}
    with tempfile.TemporaryDirectory() as out:
        r = plot("-o", out, *INPUTS)
        check(r.returncode == 0, f"plot.py exit {r.returncode}\n{r.stderr}")
        written = r.stdout.split()
        made = set()
        for path in written:
            check(os.path.isfile(path) and os.path.getsize(path) > 0, f"{path}: missing or empty")
            m = re.match(r"(.+)_(\w+)_(\w+)\.([12])col\.(pdf|png)$", os.path.basename(path))
            if not m:
                continue
            kind, cols, fmt = m.group(1), int(m.group(4)), m.group(5)
            made.add(kind)
            if fmt == "png":
                check(png_width(path) == WIDTH_PX[cols], f"{path}: {png_width(path)} px wide, expected {WIDTH_PX[cols]}")
            else:
                with open(path, "rb") as f:
                    pdf = f.read()
                check(pdf.startswith(b"%PDF"), f"{path}: not a PDF")
                check(b"/FontFile2" in pdf, f"{path}: fonts not embedded as TrueType")
                check(b"/Type3" not in pdf, f"{path}: Type 3 fonts (journals reject them)")
        check(want <= made, f"figure types with data but no figure: {sorted(want - made)}")
        for kind in made:  # every type: both widths, both formats
            for cols in (1, 2):
                for fmt in ("pdf", "png"):
                    check(any(os.path.basename(p).startswith(kind + "_") and p.endswith(f".{cols}col.{fmt}")
                              for p in written), f"{kind}: no {cols}-column {fmt}")
        for kind in sorted(all_types - want):
            check(re.search(rf"^plot\.py: {kind}: skipped, .+$", r.stderr, re.M),
                  f"{kind}: no data, but no one-line skip note:\n{r.stderr}")
        with open(os.path.join(out, "pairs.csv")) as f:
            rows = list(csv.DictReader(f))
        check(len(rows) > 100, f"pairs.csv: {len(rows)} rows")
        pipelined = [row for row in rows if row["variant"] == "pipelined" and row["speedup"]]
        stage_columns = [c for c in rows[0] if c.startswith("stage_") and c.endswith("_time_s")]
        check(pipelined and all(row["serial_time_s"] and any(row[c] for c in stage_columns) for row in pipelined),
              "pairs.csv: pipelined rows without their serial and stage times")
        print(f"plot_test: {len(written)} files; figure types drawn: {', '.join(sorted(made))}; "
              f"no data for: {', '.join(sorted(all_types - want)) or 'none'}")


def one_line_error(args, what, expect):
    r = plot(*args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0, f"{what}: exit 0")
    check(len(lines) == 1 and lines[0].startswith("plot.py: "), f"{what}: stderr is not one line:\n{r.stderr}")
    check(re.search(expect, lines[0]), f"{what}: '{lines[0]}' does not say /{expect}/")
    check(r.stdout == "", f"{what}: wrote {r.stdout!r}")


def errors():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        one_line_error(["-o", out, os.path.join(tmp, "nope.json")], "missing file", r"nope\.json: no such file")
        text = os.path.join(tmp, "cpu.txt")
        with open(text, "w") as f:
            f.write("cpu/sumsq/serial/bytes:65536  1.2 us\n")
        one_line_error(["-o", out, text], "not JSON", r"cpu\.txt: not a Google Benchmark JSON file")
        other = os.path.join(tmp, "other.json")
        with open(other, "w") as f:
            json.dump({"results": [1, 2]}, f)
        one_line_error(["-o", out, other], "JSON, not Google Benchmark's", r"other\.json: not a Google Benchmark JSON file")
        # A real result without pairs: the committed OpenBLAS comparison ran no serial entry.
        nopairs = os.path.join(ROOT, "results/vm/20261128T035011Z/cpu.json")
        one_line_error(["-o", out, nopairs], "no pairs", r"no pairs")
        one_line_error(["-o", out], "no input", r"no result file given")
        one_line_error(["-o", out, "--figures", "pie", nopairs], "unknown figure type", r"--figures")
        check(not os.path.exists(out) or not os.listdir(out), "bad input left files behind")
    print("plot_test: bad input ends with one line and a non-zero exit")


if __name__ == "__main__":
    cases = {"figures": figures, "errors": errors}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(f"usage: plot_test.py {'|'.join(cases)} [CHECKOUT]", file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]]()
