#!/usr/bin/env python3
"""scripts/plot.py on the committed results, as users run it.

    plot_test.py figures|streams|chase|errors|gantt|trace [CHECKOUT]

figures: every figure type the committed results hold data for is drawn, as non-empty
         PDF (fonts embedded, no Type 3) and PNG at one- and two-column width; the types they
         hold no data for are skipped with one line each; pairs.csv has a row per entry.
streams: the streams figure, which no committed result can draw yet (no GPU run), from a
         synthetic CUDA fixture made here; it must come out stamped as synthetic. Then chase.
chase:   a pair no script names (cpu/chase, synthetic: serial, ilp over chains, reference, with the
         pair's model): summary.py's generic alternative table (best k per size in numeric order,
         speedup, bound, efficiency, reference), and throughput_vs_chains' dotted model bound in
         each series' colour (counted in the PNG against the same figure without the model).
errors:  a missing file, a file that is not Google Benchmark JSON, and a result without
         pairs each end with one line on stderr and a non-zero exit.
gantt:   Gantt figures of timelines (synthetic: a serial and two-stage cpu pair at 64 and 8 chunks,
         a two-rank training schedule with auxiliary intervals): one per timeline a result names,
         found beside the result; one line for a timeline that is missing and one naming the
         chunk an incomplete timeline lacks; a timeline given alone; --gantt REGEX; and in the
         figure itself a row per lane, a bar per stage interval, numbers only where they fit, the
         serial median and the bubble (this case re-runs itself with a python3 that has matplotlib).
styles:  no two series of a figure look alike: one varying parameter with more values than the
         palette has colours (the nine training schedules) gives the ones past it new markers.
trace:   scripts/pipebench_trace.py: problems() finds a duplicated item, a missing item and
         overlapping intervals in one lane; idle_share_of_busiest() of a hand-built two-process
         timeline is the hand-computed share; unreadable files are one-line errors; resolve().

Standard library only (plot.py finds its own interpreter with matplotlib; so does the gantt case)."""
import contextlib
import csv
import glob
import io
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from testlib import check, check_schema, fail

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import pipebench_results  # noqa: E402
from pipebench_plot import registry  # noqa: E402  (the figure types; importing it needs no matplotlib)

PLOT = os.path.join(ROOT, "scripts", "plot.py")
# The committed results (results/README.md lists them): every run folder of the reference
# machine, and a chunks x depth sweep run as a Slurm job array on the local Slurm.
RUNS = sorted(glob.glob(os.path.join(ROOT, "results/vm/*/")))
SWEEP = sorted(glob.glob(os.path.join(ROOT, "results/plots/slurm-sweep/ci/*_*")))
INPUTS = RUNS + SWEEP
WIDTH_PX = {1: round(3.5 * 300), 2: round(7.16 * 300)}
SWEPT = ("chunks", "queue_depth", "streams", "microbatches", "ranks", "chains")


def plot(*args):
    return subprocess.run([PLOT, *args], capture_output=True, text=True, timeout=600)


def expected_types(paths):
    """The figure types the inputs hold data for, from the entries' fields alone."""
    results = pipebench_results.load(paths)
    values, counters, ratio = {}, set(), False
    for e in results.with_result():
        counters |= {k for k, v in e.run.items() if isinstance(v, (int, float))}
        rest = tuple(sorted((k, str(v)) for k, v in e.params.items() if k not in SWEPT))
        for axis, value in e.params.items():
            values.setdefault((axis, e.pair, e.variant, rest), set()).add(value)
        if e.role == "pipelined" and e.value("speedup") is not None:
            kinds = {k for _, k, s in results.stages(e) if s is not None}
            ratio |= {"compute", "transfer"} <= kinds
    swept = {axis for (axis, *_), v in values.items() if len(v) >= 2}
    types = {"speedup"} if "speedup" in counters else set()
    if ratio:
        types.add("speedup_vs_ratio")
    if "chains" in swept:
        types.add("throughput_vs_chains")
    types |= {f"efficiency_vs_{a}" for a in ("chunks", "queue_depth", "streams", "microbatches") if a in swept}
    if "ranks" in swept:
        types.add("scaling_vs_ranks")
    if any(e.trace for e in results.with_result()):
        types.add("gantt")
    if any(e.role == "pipelined" and (e.value("t_ideal_handoff") is not None or e.value("t_ideal_contended") is not None)
           for e in results.with_result()):
        types.add("time_went")
    return types


def png_width(path):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    return struct.unpack(">I", head[16:20])[0]


def figures():
    check(RUNS, "no committed run under results/vm/")
    check(SWEEP, "no committed sweep under results/plots/slurm-sweep/ci/")
    check_schema(*[f for p in INPUTS for f in sorted(glob.glob(os.path.join(p, "**", "*.json"), recursive=True))
                   if not os.path.basename(f).startswith(("fio", "likwid")) and not f.endswith(".trace.json")])
    want = expected_types(INPUTS)
    all_types = set(registry.types())
    check({"speedup", "speedup_vs_ratio", "throughput_vs_chains", "efficiency_vs_chunks", "efficiency_vs_queue_depth",
           "efficiency_vs_streams", "efficiency_vs_microbatches", "scaling_vs_ranks", "time_went", "gantt"} <= all_types,
          f"figure types missing from the registry: {sorted(all_types)}")
    with tempfile.TemporaryDirectory() as out:
        # Every type but gantt from every input; the Gantt figures (one per timeline, some 300
        # committed, each drawn four times) from the first timeline of each pair and variant:
        # what a timeline holds is the plot_gantt case's; here, that the committed ones draw.
        r = plot("-o", out, "--figures", ",".join(sorted(all_types - {"gantt"})), *INPUTS)
        check(r.returncode == 0, f"plot.py exit {r.returncode}\n{r.stderr}")
        written = r.stdout.split()
        firsts = {}
        for path in sorted(glob.glob(os.path.join(ROOT, "results/vm/**/*.trace.json"), recursive=True)):
            firsts.setdefault(".".join(os.path.basename(path).split(".")[:3]), path)
        if firsts:
            g = plot("-o", os.path.join(out, "timelines"), "--csv", "-", *firsts.values())
            check(g.returncode == 0, f"plot.py (timelines) exit {g.returncode}\n{g.stderr}")
            drawn = g.stdout.split()
            check(len([p for p in drawn if p.endswith(".png")]) == 2 * len(firsts),
                  f"{len(firsts)} timelines, but Gantt PNGs drawn: {drawn}")
            written += drawn
        made = set()
        for path in written:
            check(os.path.isfile(path) and os.path.getsize(path) > 0, f"{path}: missing or empty")
            if os.path.basename(os.path.dirname(path)) == "gantt":  # one per traced entry, named by it
                made.add("gantt")
                continue
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
        for kind in made - {"gantt"}:  # every type: both widths, both formats (gantt: its own case)
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
        # The compute:transfer ratio adds the stages each pair declares as compute over those it
        # declares as transfer. mpi/halo's model has three stages: the exchange (transfer), the
        # interior and the boundary rows (both compute).
        halo = [row for row in rows if row["name"].startswith("mpi/halo/pipelined/") and row["compute_transfer_ratio"]]
        check(halo, "pairs.csv: no mpi/halo pipelined row with a compute:transfer ratio")
        for row in halo:
            ratio = (float(row["stage_interior_time_s"]) + float(row["stage_boundary_time_s"])) / \
                float(row["stage_comm_time_s"])
            check(math.isclose(float(row["compute_transfer_ratio"]), ratio, rel_tol=1e-9),
                  f"{row['name']}: compute:transfer {row['compute_transfer_ratio']}, expected (interior + boundary) / comm "
                  f"= {ratio}")
        check("speedup_vs_ratio" in made and any(p.endswith("speedup_vs_ratio_mpi_halo.2col.png") for p in written),
              "no speedup_vs_ratio figure for mpi/halo")
        print(f"plot_test: {len(written)} files; figure types drawn: {', '.join(sorted(made))}; "
              f"no data for: {', '.join(sorted(all_types - want)) or 'none'}")


def synthetic_cuda(path):
    """A made-up CUDA result, marked `pipebench_synthetic`: no GPU has run the CUDA suite for a
    committed result yet, and the streams figure must not wait for one to be tested. It follows
    the result schema (checked here) with pipebench-cuda's entries; times follow the pipeline
    model with a made-up loss that shrinks with streams, so the figure has something to draw.
    Never a result."""
    n, k_all, reps = 32, (1, 2, 4, 8), 3
    runs = []

    def name(variant, **params):
        return "/".join(["cuda", "elementwise", variant] + [f"{k}:{v}" for k, v in params.items()])

    def add(variant, role, params, seconds, extra=None, **counters):
        desc = {"pair": "cuda/elementwise", "domain": "cuda", "workload": "elementwise", "variant": variant,
                "role": role, "outcome": "ok", "params": params, **(extra or {})}
        entry = name(variant, **params)
        for r in range(reps):
            t = seconds * (1 + 0.01 * (r - 1))  # a spread, so the figure draws whiskers
            runs.append({"name": entry, "family_index": len(runs), "per_family_instance_index": 0, "run_name": entry,
                         "run_type": "iteration", "repetitions": reps, "repetition_index": r, "threads": 1,
                         "iterations": 5, "real_time": t * 1e6, "cpu_time": t * 1e5, "time_unit": "us",
                         **counters, "pipebench": desc})
        return entry

    h2d = d2h = 5.6e-3  # seconds: 64 MiB at ~12 GB/s, round numbers
    b = {"bytes": 67108864}
    stage_h2d = add("stage_h2d", "stage", {**b, "chunks": n, "memory": "pinned"}, h2d, {"stage_kind": "transfer"})
    stage_d2h = add("stage_d2h", "stage", {**b, "chunks": n, "memory": "pinned"}, d2h, {"stage_kind": "transfer"})
    for intensity, kernel in ((1024, 6.0e-3), (16384, 24.0e-3)):
        stage_kernel = add("stage_kernel", "stage", {**b, "chunks": n, "intensity": intensity}, kernel,
                           {"stage_kind": "compute"})
        total = h2d + kernel + d2h
        serial = add("serial", "serial", {**b, "intensity": intensity, "memory": "pinned"}, total)
        ideal = total / n + (n - 1) * max(h2d, kernel, d2h) / n
        model = {"formula": "pair", "stages": [
            {"variant": "stage_h2d", "kind": "transfer", "entry": stage_h2d},
            {"variant": "stage_kernel", "kind": "compute", "entry": stage_kernel},
            {"variant": "stage_d2h", "kind": "transfer", "entry": stage_d2h}]}
        for order, loss in (("depth_first", 0.5), ("breadth_first", 0.3)):
            for k in k_all:
                t = ideal + (total - ideal) * loss / k
                add("pipelined", "pipelined", {**b, "chunks": n, "intensity": intensity, "memory": "pinned",
                                               "order": order, "streams": k}, t,
                    {"siblings": {"serial": serial}, "model": model}, t_ideal=ideal, t_serial=total,
                    speedup=total / t, speedup_bound=total / ideal, efficiency=(total - t) / (total - ideal))
    write_synthetic(path, runs, "pipebench-cuda")


def synthetic_run(runs, pair, variant, role, params, seconds, extra=None, reps=3, **counters):
    """Appends `reps` repetitions of one entry of `pair` to runs (1% apart, so figures draw
    whiskers); returns its name."""
    domain, workload = pair.split("/")
    desc = {"pair": pair, "domain": domain, "workload": workload, "variant": variant, "role": role, "outcome": "ok",
            "params": params, **(extra or {})}
    entry = "/".join([pair, variant] + [f"{k}:{v}" for k, v in params.items()])
    for r in range(reps):
        t = seconds * (1 + 0.01 * (r - 1))
        runs.append({"name": entry, "family_index": len(runs), "per_family_instance_index": 0, "run_name": entry,
                     "run_type": "iteration", "repetitions": reps, "repetition_index": r, "threads": 1,
                     "iterations": 5, "real_time": t * 1e6, "cpu_time": t * 1e6, "time_unit": "us",
                     **counters, "pipebench": desc})
    return entry


def write_synthetic(path, runs, program, processes=1):
    """The document of a made-up result, marked `pipebench_synthetic`, checked against the schema."""
    entries = len({r["run_name"] for r in runs})
    with open(path, "w") as f:
        json.dump({"context": {"date": "2026-12-01T00:00:00+00:00", "host_name": "fixture", "pipebench_version": "fixture",
                               "git_revision": "fixture", "build_type": "Release",
                               "pipebench_synthetic": "tests/plot_test.py fixture, made-up times in the shape of "
                                                      f"{program}'s output"},
                   "benchmarks": runs,
                   "pipebench": {"schema_version": 1, "program": program, "status": "complete",
                                 "processes": processes, "entries_registered": entries, "entries_written": entries,
                                 "not_run": []}}, f)
    check_schema(path)


def streams():
    """The efficiency_vs_streams figure (and the other figures a CUDA result makes) from the
    synthetic fixture: drawn, valid, and stamped as synthetic in the figure and the CSV."""
    with tempfile.TemporaryDirectory() as out:
        fixture = os.path.join(out, "cuda.json")
        synthetic_cuda(fixture)
        r = plot("-o", out, fixture)
        check(r.returncode == 0, f"plot.py exit {r.returncode}\n{r.stderr}")
        written = r.stdout.split()
        for kind in ("efficiency_vs_streams", "speedup", "speedup_vs_ratio"):
            for cols in (1, 2):
                png = os.path.join(out, f"{kind}_cuda_elementwise.{cols}col.png")
                pdf = os.path.join(out, f"{kind}_cuda_elementwise.{cols}col.pdf")
                check(png in written and pdf in written, f"{kind}: {cols}-column figure not written:\n{r.stderr}")
                check(png_width(png) == WIDTH_PX[cols], f"{png}: {png_width(png)} px wide")
                with open(pdf, "rb") as f:
                    data = f.read()
                check(data.startswith(b"%PDF") and b"/FontFile2" in data, f"{pdf}: not a PDF with embedded fonts")
                check(b"SYNTHETIC" in data, f"{pdf}: no synthetic stamp in the document")
            check(re.search(rf"^plot\.py: {kind}: cuda/elementwise: drawn from synthetic data", r.stderr, re.M),
                  f"{kind}: no note that the figure is synthetic:\n{r.stderr}")
        with open(os.path.join(out, "pairs.csv")) as f:
            rows = list(csv.DictReader(f))
        check(rows and all(row.get("synthetic") for row in rows), "pairs.csv: rows not marked synthetic")
        # The committed results are real: no synthetic column there.
        r = plot("-o", os.path.join(out, "real"), "--figures", "speedup", RUNS[0])
        check(r.returncode == 0, f"plot.py on a real result: exit {r.returncode}\n{r.stderr}")
        with open(os.path.join(out, "real", "pairs.csv")) as f:
            check("synthetic" not in f.readline(), "pairs.csv of a real result has a synthetic column")
        check("synthetic" not in r.stderr, f"a real result called synthetic:\n{r.stderr}")
    print("plot_test: efficiency_vs_streams drawn from the synthetic CUDA fixture, stamped as synthetic")


CHASE_SIZES = (1 << 20, 1 << 15, 1 << 26, 1 << 18)  # not in numeric order: the table must sort them
CHASE_CHAINS = (1, 2, 4, 8, 16, 32)


def synthetic_chase(path, model=True):
    """A made-up cpu/chase result (a pair no script knows by name): a dependent pointer chain
    (serial, one 64-byte node per load), k independent chains (ilp, alternative, axis chains) and a
    streaming read of the same bytes (reference). With `model`, the alternative entries carry the
    pair's model as the harness writes it: t_ideal = max(t_serial / k, t_reference), speedup_bound,
    efficiency, and {"formula": "pair", "stages": []}. The made-up loss grows with k, so the
    fastest k is not the largest everywhere. Returns {bytes: what the table must show}."""
    latency = {1 << 15: 1e-9, 1 << 18: 3e-9, 1 << 20: 4e-9, 1 << 26: 80e-9}  # seconds per load
    bandwidth = {1 << 15: 300e9, 1 << 18: 200e9, 1 << 20: 100e9, 1 << 26: 30e9}  # streaming read, B/s
    runs, expect = [], {}
    for size in CHASE_SIZES:
        b = {"bytes": size}
        t_serial, t_ref = size / 64 * latency[size], size / bandwidth[size]
        serial = synthetic_run(runs, "cpu/chase", "serial", "serial", b, t_serial, bytes_per_second=size / t_serial)
        ref = synthetic_run(runs, "cpu/chase", "reference", "reference", b, t_ref, {"siblings": {"serial": serial}},
                            bytes_per_second=size / t_ref, speedup=t_serial / t_ref)
        times = {}
        for k in CHASE_CHAINS:
            t_ideal = max(t_serial / k, t_ref)
            t = times[k] = t_ideal * (1.08 + 0.006 * k)
            extra = {"siblings": {"serial": serial, "reference": ref}}
            counters = {"speedup": t_serial / t, "vs_reference": t_ref / t, "bytes_per_second": size / t}
            if model:
                extra["model"] = {"formula": "pair", "stages": []}
                counters.update(t_ideal=t_ideal, speedup_bound=t_serial / t_ideal)
                if t_ideal < t_serial:  # undefined where the model allows no gain (one chain)
                    counters["efficiency"] = (t_serial - t) / (t_serial - t_ideal)
            synthetic_run(runs, "cpu/chase", "ilp", "alternative", {**b, "chains": k}, t, extra, **counters)
        k = min(times, key=times.get)
        t_ideal = max(t_serial / k, t_ref)
        expect[size] = {"chains": k, "speedup": t_serial / times[k], "bound": t_serial / t_ideal,
                        "efficiency": (t_serial - times[k]) / (t_serial - t_ideal), "vs_reference": t_ref / times[k]}
    check(len({e["chains"] for e in expect.values()}) > 1, "chase fixture: the same best k at every size")
    write_synthetic(path, runs, "pipebench-cpu")
    return expect


def summary_tables(text):
    """{title: (header, rows)} of summary.py's tables, cells split at runs of two or more spaces."""
    lines, tables = text.splitlines(), {}
    for i, line in enumerate(lines):
        if i + 2 < len(lines) and lines[i + 2].startswith("---") and line and not line.startswith(" "):
            rows = []
            for row in lines[i + 3:]:
                if not row.strip() or row.startswith(("times:", "bound")):
                    break
                rows.append(re.split(r"\s{2,}", row.strip()))
            tables[line] = (re.split(r"\s{2,}", lines[i + 1].strip()), rows)
    return tables


def png_pixels(path):
    """(width, height, rows of RGBA bytes) of an 8-bit RGBA, non-interlaced PNG (what matplotlib
    writes), decoded with the standard library."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            check(depth == 8 and color == 6 and interlace == 0, f"{path}: not 8-bit RGBA non-interlaced")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), width * 4, [], bytearray(width * 4)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b, c = prev[i], prev[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def colour_count(path, colour):
    """How many pixels of the PNG are exactly this '#rrggbb' colour, opaque."""
    want = bytes.fromhex(colour[1:]) + b"\xff"
    return sum(bytes(row).count(want) for row in png_pixels(path)[2])  # 4-byte aligned: no false matches


def chase():
    """A new pair, cpu/chase, that no script names: summary.py gives it the generic table of an
    alternative against its serial and reference (the best k per size, with the model's bound and
    efficiency), and throughput_vs_chains draws its model's bound, dotted, in each series' colour."""
    summary = os.path.join(ROOT, "scripts", "summary.py")
    with tempfile.TemporaryDirectory() as out:
        fixture, plain = os.path.join(out, "chase.json"), os.path.join(out, "chase-plain.json")
        expect = synthetic_chase(fixture)
        synthetic_chase(plain, model=False)
        r = subprocess.run([sys.executable, summary, fixture], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"summary.py on the chase fixture: exit {r.returncode}\n{r.stderr}")
        tables = summary_tables(r.stdout)
        title = ("cpu/chase: serial (serial) vs ilp (alternative, the fastest over chains per point) "
                 "vs reference (reference)")
        check(title in tables, f"no generic table titled {title!r}:\n{r.stdout}")
        header, rows = tables[title]
        check(header == ["bytes", "serial", "best ilp", "speedup", "bound", "efficiency", "reference", "ilp/reference"],
              f"generic table header: {header}")
        sizes = sorted(expect)
        check([row[0] for row in rows] == [f"{b >> 10} KiB" if b < 1 << 20 else f"{b >> 20} MiB" for b in sizes],
              f"rows not one per size in numeric order: {[row[0] for row in rows]}")
        for size, row in zip(sizes, rows):
            want = expect[size]
            cells = dict(zip(header, row))
            check(cells["best ilp"].endswith(f", chains={want['chains']})"),
                  f"{size} B: best ilp {cells['best ilp']!r}, expected chains={want['chains']}")
            for column, key in (("speedup", "speedup"), ("bound", "bound"), ("ilp/reference", "vs_reference")):
                check(cells[column] == f"{want[key]:.2f}x",
                      f"{size} B: {column} {cells[column]}, expected {want[key]:.2f}x")
            check(cells["efficiency"] == f"{want['efficiency']:.2f}", f"{size} B: efficiency {cells['efficiency']}")
            check(cells["serial"] != "-" and cells["reference"] != "-", f"{size} B: no serial or reference: {row}")
        # Without the model's counters the table has no bound or efficiency columns.
        r = subprocess.run([sys.executable, summary, plain], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"summary.py on the chase fixture without a model: exit {r.returncode}\n{r.stderr}")
        header = summary_tables(r.stdout).get(title, ([], []))[0]
        check(header == ["bytes", "serial", "best ilp", "speedup", "reference", "ilp/reference"],
              f"generic table without a model: header {header}\n{r.stdout}")
        # Pairs with a table of their own keep it, and only it.
        r = subprocess.run([sys.executable, summary, RUNS[0]], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and "cpu/sumsq: one chain vs" in r.stdout, f"summary.py on {RUNS[0]}:\n{r.stdout}")
        check("(alternative" not in r.stdout, f"a generic alternative table for a pair with its own:\n{r.stdout}")

        # The figure: with the model, a dotted bound per series, in the series' colour.
        drawn = {}
        for name, path in (("model", fixture), ("plain", plain)):
            folder = os.path.join(out, name)
            r = plot("-o", folder, "--figures", "throughput_vs_chains", "--columns", "1", path)
            check(r.returncode == 0, f"plot.py on the chase fixture ({name}): exit {r.returncode}\n{r.stderr}")
            stem = os.path.join(folder, "throughput_vs_chains_cpu_chase.1col")
            check(f"{stem}.png" in r.stdout.split() and f"{stem}.pdf" in r.stdout.split(),
                  f"throughput_vs_chains not drawn for cpu/chase ({name}):\n{r.stdout}{r.stderr}")
            check(re.search(r"^plot\.py: throughput_vs_chains cpu/chase: no roofline counters", r.stderr, re.M),
                  f"no note on the missing roofline ({name}):\n{r.stderr}")
            with open(f"{stem}.pdf", "rb") as f:
                drawn[name] = (f.read(), f"{stem}.png")
        check(b"dotted: the model's bound" in drawn["model"][0], "figure with t_ideal: no model bound in its caption")
        check(b"dotted: the model" not in drawn["plain"][0], "figure without t_ideal: a model bound in its caption")
        palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00"]  # plot.py's first colours, one per size
        for colour in palette:
            more = colour_count(drawn["model"][1], colour) - colour_count(drawn["plain"][1], colour)
            check(more > 100, f"{colour}: {more} more pixels with the model's bound: no dotted curve in that colour")
    print("plot_test: cpu/chase (a new pair) gets the generic alternative table and its model's bound in "
          "throughput_vs_chains")


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
        one_line_error(["-o", out, text], "not JSON", r"cpu\.txt: not valid JSON")
        other = os.path.join(tmp, "other.json")
        with open(other, "w") as f:
            json.dump({"results": [1, 2]}, f)
        one_line_error(["-o", out, other], "JSON, not Google Benchmark's", r"other\.json: not a pipebench result")
        foreign = os.path.join(tmp, "foreign.json")
        with open(foreign, "w") as f:
            json.dump({"context": {"date": "d", "host_name": "h"}, "benchmarks": [{"name": "BM_x", "real_time": 1}]}, f)
        one_line_error(["-o", out, foreign], "another program's results", r"foreign\.json: not a pipebench result "
                       r"\(Google Benchmark JSON of another program\)")
        # A real result without pairs: only the references of the OpenBLAS comparison.
        nopairs = os.path.join(tmp, "nopairs.json")
        with open(os.path.join(RUNS[0], "cpu.json")) as f:
            doc = json.load(f)
        doc["benchmarks"] = [b for b in doc["benchmarks"] if b["pipebench"]["role"] == "reference"]
        with open(nopairs, "w") as f:
            json.dump(doc, f)
        one_line_error(["-o", out, nopairs], "no pairs", r"no pairs")
        one_line_error(["-o", out], "no input", r"no result file given")
        one_line_error(["-o", out, "--figures", "pie", nopairs], "unknown figure type",
                       "--figures: 'pie' is not a list of " + re.escape(", ".join(registry.types())) + "$")
        one_line_error(["-o", out, "--where", "bytes", RUNS[0]], "--where without a value", r"--where: 'bytes' is not AXIS=VALUE")
        one_line_error(["-o", out, "--where", "bytes=3", RUNS[0]], "--where matching nothing", r"--where bytes=3: no entry")
        check(not os.path.exists(out) or not os.listdir(out), "bad input left files behind")
    # A folder a stopped run left: a complete suite, a suite stopped half-way, and a file cut short
    # (an old, interrupted writer). The figures are drawn from what finished; each of the other
    # two gets one line saying what it is.
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "run")
        os.mkdir(folder)
        with open(os.path.join(RUNS[0], "cpu.json")) as f:
            doc = json.load(f)
        with open(os.path.join(folder, "cpu.json"), "w") as f:
            json.dump(doc, f)
        with open(os.path.join(RUNS[0], "io.json")) as f:
            doc = json.load(f)
        names = sorted({b["run_name"] for b in doc["benchmarks"]})
        kept = set(names[: len(names) // 2])
        doc["benchmarks"] = [b for b in doc["benchmarks"] if b["run_name"] in kept]
        doc["pipebench"].update(status="incomplete", reason="stopped by SIGTERM", entries_written=len(kept),
                                not_run=names[len(names) // 2:])
        with open(os.path.join(folder, "io.partial.json"), "w") as f:
            json.dump(doc, f)
        check_schema(os.path.join(folder, "io.partial.json"))
        with open(os.path.join(folder, "mpi.json"), "w") as f:
            f.write(json.dumps(doc)[:5000])
        out = os.path.join(tmp, "figs")
        r = plot("-o", out, "--formats", "png", "--columns", "2", folder)
        check(r.returncode == 0, f"plot.py on a stopped run's folder: exit {r.returncode}\n{r.stderr}")
        check(re.search(r"^plot\.py: .*mpi\.json: not valid JSON .*; skipped$", r.stderr, re.M),
              f"no line for the broken file:\n{r.stderr}")
        check(re.search(r"^plot\.py: .*io\.partial\.json: incomplete \(stopped by SIGTERM\): \d+ entries, \d+ not run$",
                        r.stderr, re.M), f"no line for the stopped suite:\n{r.stderr}")
        check(any(p.endswith(".png") for p in r.stdout.split()), "no figure drawn")
        with open(os.path.join(out, "pairs.csv")) as f:
            statuses = {row["run_status"] for row in csv.DictReader(f)}
        check(statuses == {"complete", "incomplete"}, f"pairs.csv run_status: {statuses}")
    # --where keeps one point with its serial and stage siblings: the figure still has its model.
    with tempfile.TemporaryDirectory() as out:
        r = plot("-o", out, "--formats", "png", "--columns", "2", "--figures", "efficiency_vs_chunks",
                 "--where", "depth=2", *SWEEP)
        check(r.returncode == 0, f"--where depth=2: exit {r.returncode}\n{r.stderr}")
        with open(os.path.join(out, "pairs.csv")) as f:
            rows = list(csv.DictReader(f))
        check(rows and all(row["depth"] in ("", "2") for row in rows), "--where depth=2 kept other depths")
        check(any(row["variant"] == "serial" for row in rows), "--where dropped the serial siblings")
        check(any(row["variant"] == "pipelined" and row["efficiency"] for row in rows),
              "--where left no pipelined entry with its model")
    print("plot_test: bad input ends with one line and a non-zero exit; --where keeps siblings")


def pdf_says(pdf, text):
    """Whether a PDF holds `text` in its metadata: as ASCII, or as UTF-16 where the caption has
    other characters (a time in µs)."""
    return text.encode() in pdf or text.encode("utf-16-be") in pdf


def write_trace(path, entry, lanes, expect, processes=None):
    """A timeline as the binaries write it (trace/trace.cpp, Chrome Trace Event format), marked
    synthetic. lanes: [(process, label, [(name, item, begin_us, end_us, category)])], one tid each."""
    events = [{"ph": "M", "name": "process_name", "pid": p, "tid": 0,
               "args": {"name": (processes or {}).get(p, f"process {p}")}} for p in sorted({p for p, _, _ in lanes})]
    for tid, (process, label, intervals) in enumerate(lanes):
        events.append({"ph": "M", "name": "thread_name", "pid": process, "tid": tid, "args": {"name": label}})
        for name, item, begin, end, category in intervals:
            events.append({"ph": "X", "name": name, "cat": category, "pid": process, "tid": tid, "ts": begin,
                           "dur": end - begin, "args": {"item": item}})
    with open(path, "w") as f:
        json.dump({"displayTimeUnit": "ns", "traceEvents": events,
                   "otherData": {"format": "pipebench-trace", "version": 1, "entry": entry,
                                 "pipebench_synthetic": "tests/plot_test.py fixture, made-up times",
                                 "expect": expect}}, f)
    return path


def trace_file(entry):
    """The file name the binaries give an entry's timeline (trace::file_name_for)."""
    return entry.replace("/", ".").replace(":", ".") + ".trace.json"


def serial_lane(chunks, load_us, compute_us):
    """One lane doing load then compute of every chunk in turn."""
    step = load_us + compute_us
    return [(0, "all stages (core0)",
             [iv for i in range(chunks) for iv in (("load", i, i * step, i * step + load_us, "stage"),
                                                   ("compute", i, i * step + load_us, (i + 1) * step, "stage"))])]


def two_stage_lanes(chunks, load_us, compute_us, drop=None):
    """A load lane and a compute lane, each chunk computed once it is loaded and the last computed;
    `drop`: (stage, item) left out, as a timeline that lost one would."""
    load = [("load", i, i * load_us, (i + 1) * load_us, "stage") for i in range(chunks)]
    compute, free = [], 0
    for i in range(chunks):
        begin = max(free, (i + 1) * load_us)
        free = begin + compute_us
        compute.append(("compute", i, begin, free, "stage"))
    keep = [iv for iv in load + compute if (iv[0], iv[1]) != drop]
    return [(0, "load (core0)", [iv for iv in keep if iv[0] == "load"]),
            (0, "compute (core1)", [iv for iv in keep if iv[0] == "compute"])]


GPIPE_UNIT = 100  # microseconds: one forward pass; a backward pass takes two


def gpipe_lanes(microbatches=4):
    """GPipe over two ranks: every forward, then every backward in reverse; each rank's compute lane
    waits (category wait) between its passes, its comm lane sends and receives activations and
    gradients (send, recv). Each rank works 12 of the pass's 15 units: the bubble is
    (p - 1) / (m + p - 1) = 1/5, on both."""
    u, m = GPIPE_UNIT, microbatches
    rank0 = [("F", i, i * u, (i + 1) * u, "stage") for i in range(m)]
    rank1 = [("F", i, (i + 1) * u, (i + 2) * u, "stage") for i in range(m)]
    rank1 += [("B", m - 1 - k, (m + 1 + 2 * k) * u, (m + 3 + 2 * k) * u, "stage") for k in range(m)]
    rank0 += [("wait", -1, m * u, (m + 3) * u, "wait")]
    rank0 += [("B", m - 1 - k, (m + 3 + 2 * k) * u, (m + 5 + 2 * k) * u, "stage") for k in range(m)]
    comm0 = [("send", i, (i + 1) * u, (i + 1) * u + 20, "send") for i in range(m)] + \
            [("recv", m - 1 - k, (m + 3 + 2 * k) * u, (m + 3 + 2 * k) * u + 20, "recv") for k in range(m)]
    comm1 = [("recv", i, (i + 1) * u, (i + 1) * u + 20, "recv") for i in range(m)] + \
            [("send", m - 1 - k, (m + 3 + 2 * k) * u, (m + 3 + 2 * k) * u + 20, "send") for k in range(m)]
    return [(0, "compute", sorted(rank0, key=lambda iv: iv[2])), (0, "comm", sorted(comm0, key=lambda iv: iv[2])),
            (1, "compute", sorted(rank1, key=lambda iv: iv[2])), (1, "comm", sorted(comm1, key=lambda iv: iv[2]))]


def gantt_fixture(run):
    """Result files and timelines in a run folder, as a run with --trace would leave them (the
    timelines in run/traces/, named by paths that no longer hold them). Returns {entry name:
    (timeline path, lanes)} of the timelines a figure is expected of, and the names of the missing
    one and the incomplete one."""
    traces = os.path.join(run, "traces")
    os.makedirs(traces)
    runs, made = [], {}

    def traced(entry, lanes, expect, where=None, processes=None):
        path = write_trace(os.path.join(traces, trace_file(entry)), entry, lanes, expect, processes)
        made[entry] = (path, lanes)
        return where or os.path.join("/nonexistent/trace-dir", trace_file(entry))  # moved since

    both = ["load", "compute"]
    cpu = {}
    for chunks in (64, 8):
        entry = f"cpu/toy/serial/chunks:{chunks}"
        extra = {}
        if chunks == 64:
            extra["trace"] = traced(entry, serial_lane(64, 10, 100), {"stages": both, "items": 64})
        cpu[chunks] = synthetic_run(runs, "cpu/toy", "serial", "serial", {"chunks": chunks}, chunks * 110e-6, extra,
                                    trace_pass_seconds=chunks * 111e-6)
    model = {"formula": "pair", "stages": []}
    lanes64 = two_stage_lanes(64, 10, 100)
    end64 = lanes64[1][2][-1][3] * 1e-6
    synthetic_run(runs, "cpu/toy", "pipelined", "pipelined", {"chunks": 64, "depth": 2}, end64 * 1.05,
                  {"siblings": {"serial": cpu[64]}, "model": model,
                   "trace": traced("cpu/toy/pipelined/chunks:64/depth:2", lanes64, {"stages": both, "items": 64})},
                  t_ideal=end64, speedup=64 * 110e-6 / (end64 * 1.05), trace_pass_seconds=end64 * 1.1)
    missing = "cpu/toy/pipelined/chunks:64/depth:3"
    synthetic_run(runs, "cpu/toy", "pipelined", "pipelined", {"chunks": 64, "depth": 3}, end64,
                  {"siblings": {"serial": cpu[64]}, "model": model,
                   "trace": os.path.join("/nonexistent/trace-dir", trace_file(missing))}, speedup=1.1)
    incomplete = "cpu/toy/pipelined/chunks:8/depth:2"
    synthetic_run(runs, "cpu/toy", "pipelined", "pipelined", {"chunks": 8, "depth": 2}, 2.5e-3,
                  {"siblings": {"serial": cpu[8]}, "model": model,
                   "trace": traced(incomplete, two_stage_lanes(8, 100, 300, drop=("compute", 5)),
                                   {"stages": both, "items": 8})}, speedup=0.35)
    write_synthetic(os.path.join(run, "cpu.json"), runs, "pipebench-cpu")

    # Named by no result: drawn alone.
    alone = "cpu/toy/pipelined/chunks:16/depth:2"
    traced(alone, two_stage_lanes(16, 50, 100), {"stages": both, "items": 16})

    runs = []
    serial = synthetic_run(runs, "mpi/train", "serial", "serial", {"microbatches": 4}, 24 * GPIPE_UNIT * 1e-6)
    training = "mpi/train/pipelined/microbatches:4/schedule:gpipe"
    # A relative path, as --trace traces would write it: found beside the result.
    path = traced(training, gpipe_lanes(), {"stages": ["F", "B"], "items": 4, "per_process": True},
                  where=os.path.join("traces", trace_file(training)), processes={0: "rank 0", 1: "rank 1"})
    synthetic_run(runs, "mpi/train", "pipelined", "pipelined", {"microbatches": 4, "schedule": "gpipe"},
                  16 * GPIPE_UNIT * 1e-6, {"siblings": {"serial": serial}, "model": model, "trace": path},
                  speedup=1.5, bubble_model=0.2, bubble_measured=0.22, bubble_trace=0.2,
                  trace_pass_seconds=16.5 * GPIPE_UNIT * 1e-6)
    write_synthetic(os.path.join(run, "mpi.json"), runs, "pipebench-mpi", processes=2)
    return made, missing, incomplete, alone, training


def gantt():
    """plot.py's Gantt figures from synthetic timelines, and what the figure holds."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pipebench_results.interpreter_with("matplotlib", os.path.abspath(__file__), "PIPEBENCH_PLOT_TEST_REEXEC")
        fail("no python3 with matplotlib for the figure checks (Debian: apt-get install python3-matplotlib)")
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        made, missing, incomplete, alone, training = gantt_fixture(run)
        out = os.path.join(tmp, "out")
        r = plot("-o", out, run)
        check(r.returncode == 0, f"plot.py on a run folder with timelines: exit {r.returncode}\n{r.stderr}")
        written = r.stdout.split()
        for entry in made:
            for cols in (1, 2):
                for fmt in ("pdf", "png"):
                    path = os.path.join(out, "gantt", f"{trace_file(entry)[:-len('.trace.json')]}.{cols}col.{fmt}")
                    check(path in written and os.path.getsize(path) > 0, f"{entry}: no {cols}-column {fmt} Gantt "
                          f"{path}:\n{r.stdout}{r.stderr}")
                    if fmt == "png":
                        check(png_width(path) == WIDTH_PX[cols], f"{path}: {png_width(path)} px wide")
                    else:
                        with open(path, "rb") as f:
                            pdf = f.read()
                        check(b"/FontFile2" in pdf, f"{path}: fonts not embedded")
                        check(pdf_says(pdf, "SYNTHETIC DATA"), f"{path}: not stamped as synthetic")
                        check(pdf_says(pdf, "INCOMPLETE TIMELINE") == (entry == incomplete),
                              f"{path}: an incomplete timeline must say so, a whole one must not")
        gantts = [p for p in written if os.sep + "gantt" + os.sep in p]
        check(len(gantts) == 4 * len(made), f"{len(gantts)} Gantt files, expected {4 * len(made)}: {gantts}")
        lines = r.stderr.splitlines()
        lost = [line for line in lines if missing in line]
        want = (f"plot.py: gantt: {missing}: its timeline /nonexistent/trace-dir/{trace_file(missing)} "
                "is missing; skipped")
        check(lost == [want], f"the missing timeline is not one line naming it:\n{r.stderr}")
        broken = [line for line in lines if "incomplete" in line]
        check(len(broken) == 1 and trace_file(incomplete) in broken[0] and
              "1 problem(s), first: compute of item 5 recorded 0 times, not once; drawn as recorded" in broken[0],
              f"the incomplete timeline is not one line naming its missing chunk:\n{r.stderr}")
        check(not [line for line in lines if ".trace.json" in line and "not a pipebench result" in line],
              f"timelines in the folder reported as foreign files:\n{r.stderr}")
        check(os.path.isfile(os.path.join(out, "pairs.csv")), "pairs.csv not written beside the Gantt figures")

        # --gantt REGEX: only the Gantt figures of the entries (and timelines alone) it matches.
        picked = os.path.join(tmp, "picked")
        r = plot("-o", picked, "--gantt", "pipelined/.*depth:2", "--formats", "png", "--columns", "1", run)
        check(r.returncode == 0, f"--gantt: exit {r.returncode}\n{r.stderr}")
        want = sorted(os.path.join(picked, "gantt", trace_file(e)[:-len(".trace.json")] + ".1col.png")
                      for e in made if re.search("pipelined/.*depth:2", e))
        check(sorted(r.stdout.split()) == want, f"--gantt drew {r.stdout.split()}, expected {want}")
        check(not os.path.exists(os.path.join(picked, "pairs.csv")), "--gantt wrote pairs.csv")
        one_line_error(["-o", picked, "--gantt", "nothing-like-this", os.path.join(run, "cpu.json")],
                       "--gantt matching nothing",
                       r"--gantt nothing-like-this: no entry naming a timeline matches")
        one_line_error(["-o", picked, "--gantt", "(", run], "--gantt not a regex", r"--gantt: '\(' is not a regular")
        one_line_error(["-o", picked, "--gantt", "x", "--figures", "speedup", run], "--gantt with --figures",
                       r"--gantt draws Gantt figures only")

        # A timeline given alone: no result, so no serial line; its folder is the default output.
        path = made[training][0]
        r = plot("--formats", "png", "--columns", "2", path)
        want = os.path.join(os.path.dirname(path), "gantt", trace_file(training)[:-len(".trace.json")] + ".2col.png")
        check(r.returncode == 0 and r.stdout.split() == [want], f"a timeline alone: exit {r.returncode}, "
              f"wrote {r.stdout.split()}, expected {[want]}\n{r.stderr}")
        check(re.fullmatch(r"plot\.py: gantt: .*: drawn from synthetic data, stamped as such\n", r.stderr),
              f"a synthetic timeline drawn alone: not one line saying so:\n{r.stderr}")

        gantt_axes(tmp, run, made, incomplete, training)
    print(f"plot_test: Gantt figures of {len(made)} synthetic timelines; one line for a missing and for an "
          "incomplete timeline; --gantt; a timeline alone; rows, bars, numbers, serial line and bubble checked")


def gantt_axes(tmp, run, made, incomplete, training):
    """What the drawing function put in its Axes: a row per lane, a bar per interval, numbers only
    in bars wide enough for them, the serial median at its time, the bubble in the title."""
    from pipebench_plot.common import Index, load
    from pipebench_plot.figures import gantt as gantt_figure
    from pipebench_plot.output import Writer
    from pipebench_plot.style import setup_style
    import pipebench_trace
    setup_style()
    results, entries = load([os.path.join(run, "cpu.json"), os.path.join(run, "mpi.json")])
    index = Index(results, entries)
    by_name = {e.name: e for e in entries}
    for name, (path, lanes) in made.items():
        entry = by_name.get(name)
        writer = Writer(os.path.join(tmp, "axes"), [1, 2], ["png"])
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            axes = gantt_figure.draw(pipebench_trace.load(path), writer, entry, index)
        check(len(axes) == 2, f"{name}: {len(axes)} Axes drawn, expected one per width")
        check(("compute of item 5 recorded 0 times" in said.getvalue()) == (name == incomplete),
              f"{name}: the drawing said {said.getvalue()!r}")
        several = len({p for p, _, _ in lanes}) > 1
        rows = [f"rank {p} / {label}" if several else label for p, label, _ in lanes]
        counts = {}
        for _, _, intervals in lanes:
            for iv in intervals:
                key = f"stage {iv[0]}" if iv[4] == "stage" else f"auxiliary {iv[4]}"
                counts[key] = counts.get(key, 0) + 1
        for cols, ax in zip((1, 2), axes):
            what = f"{name} ({cols} column)"
            labels = [t.get_text() for t in ax.get_yticklabels()]
            check(labels == rows, f"{what}: rows {labels}, expected {rows}")
            bars = {}
            for c in ax.collections:
                if c.get_gid():
                    bars[c.get_gid()] = bars.get(c.get_gid(), 0) + len(c.get_paths())
            check(bars == counts, f"{what}: bars {bars}, expected {counts}")
            # A number sits at the centre of a stage bar wide enough for it: never on the narrow
            # loads of the 64-chunk timelines (10 us beside 100 us computes).
            widths = {}
            for c in ax.collections:
                if (c.get_gid() or "").startswith("stage "):
                    for p in c.get_paths():
                        xs = [v[0] for v in p.vertices]
                        widths[round((min(xs) + max(xs)) / 2, 9)] = (c.get_gid(), max(xs) - min(xs))
            numbers = [t for t in ax.texts if t.get_gid() == "item"]
            for t in numbers:
                x = round(t.get_position()[0], 9)
                check(x in widths, f"{what}: number {t.get_text()} is not at the centre of a stage bar")
                if "chunks:64" in name:
                    check(widths[x][0] == "stage compute", f"{what}: a {widths[x][0]} bar numbered {t.get_text()}")
            stage_bars = sum(n for k, n in counts.items() if k.startswith("stage "))
            if "chunks:64" in name:
                check(len(numbers) < stage_bars // 2, f"{what}: {len(numbers)} of {stage_bars} bars numbered: "
                      "more than fit")
            if "chunks:8" in name:
                check(len(numbers) == stage_bars, f"{what}: {len(numbers)} of {stage_bars} wide bars numbered")
            titles = " ".join(t.get_text() for t in ax.figure.texts)
            check(all(part in titles for part in name.split("/")), f"{what}: the entry is not in the title: {titles}")
            check("timeline " in titles, f"{what}: no timeline span in the title: {titles}")
            if entry is not None and entry.value("trace_pass_seconds") is not None:
                check("trace_pass_seconds" in titles, f"{what}: no trace_pass_seconds in the title: {titles}")
            check(("INCOMPLETE TIMELINE" in titles) == (name == incomplete), f"{what}: incompleteness: {titles}")
            serial = index.sibling(entry, "serial") if entry is not None and entry.role != "serial" else entry
            dashed = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
            unit = re.search(r"\((\w+)\)$", ax.get_xlabel()).group(1)
            scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
            if serial is None:
                check(not dashed, f"{what}: a serial line without a serial entry")
            else:
                check(len(dashed) == 1 and math.isclose(dashed[0] * scale, serial.value("time"), rel_tol=1e-9),
                      f"{what}: serial line at {dashed} {unit}, expected {serial.value('time')} s")
            dotted = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"]
            t_ideal = entry.value("t_ideal") if entry is not None else None
            check(len(dotted) == (t_ideal is not None) and
                  all(math.isclose(x * scale, t_ideal, rel_tol=1e-9) for x in dotted),
                  f"{what}: model lines at {dotted}, expected t_ideal {t_ideal}")
            if name == training:
                for part in ("bubble in the timeline 20.0% (idle share of the busiest rank)", "bubble_model 20.0%",
                             "bubble_measured 22.0%", "bubble_trace 20.0%"):
                    check(part in titles, f"{what}: no '{part}' in the title: {titles}")
            else:
                check("bubble" not in titles, f"{what}: a bubble for a one-process entry without bubble counters")


def trace():
    """pipebench_trace.py against hand-built timelines."""
    import pipebench_trace
    with tempfile.TemporaryDirectory() as tmp:
        def load(name, lanes, expect, processes=None):
            return pipebench_trace.load(write_trace(os.path.join(tmp, name), "cpu/toy/pipelined/chunks:4",
                                                    lanes, expect, processes))
        both = {"stages": ["load", "compute"], "items": 4}
        whole = load("whole.trace.json", two_stage_lanes(4, 10, 30), both)
        check(pipebench_trace.problems(whole) == [], f"a whole timeline: {pipebench_trace.problems(whole)}")
        check([lane.label for lane in whole.lanes] == ["load (core0)", "compute (core1)"] and
              [len(lane.intervals) for lane in whole.lanes] == [4, 4], "lanes not read in file order")
        check(whole.entry == "cpu/toy/pipelined/chunks:4" and whole.expect["items"] == 4, "otherData not read")
        first = whole.lanes[1].intervals[0]
        check((first.name, first.item, first.category) == ("compute", 0, "stage") and
              math.isclose(first.begin, 10e-6) and math.isclose(first.end, 40e-6),
              f"interval read as {first.name} {first.item} {first.begin}..{first.end}")

        # A duplicated item: load of item 2 recorded again, after the others in its lane.
        lanes = two_stage_lanes(4, 10, 30)
        lanes[0][2].append(("load", 2, 200, 210, "stage"))
        found = pipebench_trace.problems(load("dup.trace.json", lanes, both))
        check(found == ["load of item 2 recorded 2 times, not once"], f"duplicated item: {found}")
        # A missing item.
        found = pipebench_trace.problems(load("missing.trace.json", two_stage_lanes(4, 10, 30, drop=("compute", 3)),
                                              both))
        check(found == ["compute of item 3 recorded 0 times, not once"], f"missing item: {found}")
        # Overlapping intervals in one lane: load 2 begins before load 1 ends.
        lanes = two_stage_lanes(4, 10, 30)
        lanes[0][2][2] = ("load", 2, 15, 30, "stage")
        found = pipebench_trace.problems(load("overlap.trace.json", lanes, both))
        check(found == ["lane 'load (core0)': load of item 2 begins before load of item 1 ended"],
              f"overlapping intervals: {found}")
        # Per process: F of microbatch 1 missing on rank 1 only.
        lanes = [(0, "compute", [("F", 0, 0, 10, "stage"), ("F", 1, 10, 20, "stage")]),
                 (1, "compute", [("F", 0, 10, 20, "stage")])]
        per_rank = {"stages": ["F"], "items": 2, "per_process": True}
        found = pipebench_trace.problems(load("ranks.trace.json", lanes, per_rank))
        check(found == ["F of item 1 on process 1 recorded 0 times, not once"], f"per process: {found}")

        # The bubble: over the pass's span [0, 10] us, process 0's two lanes overlap ([0, 4] and
        # [2, 7]: busy 7 of 10, idle 0.3), process 1 works [1, 3] and [4, 10] (busy 8, idle 0.2) and
        # waits [3, 4], which is no stage and no work. The busiest process idles 0.2.
        lanes = [(0, "load", [("load", 0, 0, 4, "stage")]), (0, "compute", [("compute", 0, 2, 7, "stage")]),
                 (1, "compute", [("F", 0, 1, 3, "stage"), ("wait", -1, 3, 4, "wait"), ("F", 1, 4, 10, "stage")])]
        two = load("bubble.trace.json", lanes, {"stages": [], "items": 0}, {0: "rank 0", 1: "rank 1"})
        idle = pipebench_trace.idle_share_of_busiest(two)
        check(math.isclose(idle, 0.2, rel_tol=1e-9), f"idle share of the busiest process {idle}, expected 0.2")
        check(two.processes == {0: "rank 0", 1: "rank 1"}, f"process names {two.processes}")
        # One process whose lanes leave [3, 6] of [0, 10] unworked: idle 0.3.
        one = load("one.trace.json", [(0, "load", [("load", 0, 0, 3, "stage")]),
                                      (0, "compute", [("compute", 0, 6, 10, "stage")])], {"stages": [], "items": 0})
        idle = pipebench_trace.idle_share_of_busiest(one)
        check(math.isclose(idle, 0.3, rel_tol=1e-9), f"one process: idle {idle}, expected 0.3")
        check(math.isnan(pipebench_trace.idle_share_of_busiest(load("none.trace.json", [(0, "idle", [])],
                                                                    {"stages": [], "items": 0}))),
              "no stage interval: not NaN")

        # Files that are no timeline: one line naming them.
        for name, text, expect in (("cut.trace.json", '{"traceEvents": [', "not readable as JSON"),
                                   ("chrome.trace.json", '{"traceEvents": []}', "not a pipebench trace"),
                                   ("list.trace.json", "[1, 2]", "not a Chrome trace")):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            try:
                pipebench_trace.load(path)
                fail(f"{name}: loaded")
            except pipebench_trace.TraceError as e:
                check(str(e).startswith(f"{path}: {expect}") and "\n" not in str(e), f"{name}: '{e}'")

        # resolve(): as written, else beside the result file, in traces/ or as its bare name.
        result = os.path.join(tmp, "run", "cpu.json")
        os.makedirs(os.path.join(tmp, "run", "traces"))
        moved = os.path.join(tmp, "run", "traces", "x.trace.json")
        with open(moved, "w") as f:
            f.write("{}")
        check(pipebench_trace.resolve("/gone/x.trace.json", result) == moved, "resolve: not found in traces/")
        check(pipebench_trace.resolve("traces/x.trace.json", result) == moved, "resolve: relative to the result")
        check(pipebench_trace.resolve(moved, result) == moved, "resolve: a path that exists")
        check(pipebench_trace.resolve("/gone/y.trace.json", result) == "/gone/y.trace.json", "resolve: not as written")
    print("plot_test: pipebench_trace finds duplicated, missing and overlapping intervals; the bubble of a "
          "two-process timeline is the hand-computed 0.2")


def styles():
    from pipebench_plot.style import PALETTE, Series
    for count in [3, len(PALETTE), len(PALETTE) + 1, 2 * len(PALETTE) + 3]:
        keys = [("run", "pipelined", (("schedule", f"s{i}"),)) for i in range(count)]
        series = Series(keys)
        looks = {(series.style(k)["color"], series.style(k)["marker"]) for k in keys}
        check(len(looks) == count, f"{count} series, {len(looks)} distinct colour and marker pairs")
    # Two parameters: the one with more values picks the colour, the other the marker.
    keys = [("run", "pipelined", (("layer", l), ("schedule", f"s{i}"))) for l in ("a", "b") for i in range(9)]
    series = Series(keys)
    check(len({(series.style(k)["color"], series.style(k)["marker"]) for k in keys}) == 18, "2 x 9 series alike")
    print("plot_test: up to 19 series of one parameter and 2 x 9 of two all differ in colour or marker")


if __name__ == "__main__":
    cases = {"figures": figures, "errors": errors, "streams": streams, "chase": chase, "gantt": gantt, "trace": trace,
             "styles": styles}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(f"usage: plot_test.py {'|'.join(cases)} [CHECKOUT]", file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]]()
