#!/usr/bin/env python3
"""scripts/plot.py on the committed results, as users run it.

    plot_test.py figures|streams|chase|errors [CHECKOUT]

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

Standard library only (plot.py finds its own interpreter with matplotlib)."""
import csv
import glob
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
                   if "fio" not in os.path.basename(f)])
    want = expected_types(INPUTS)
    all_types = set(registry.types())
    check({"speedup", "speedup_vs_ratio", "throughput_vs_chains", "efficiency_vs_chunks", "efficiency_vs_queue_depth",
           "efficiency_vs_streams", "efficiency_vs_microbatches", "scaling_vs_ranks"} <= all_types,
          f"figure types missing from the registry: {sorted(all_types)}")
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


def write_synthetic(path, runs, program):
    """The document of a made-up result, marked `pipebench_synthetic`, checked against the schema."""
    entries = len({r["run_name"] for r in runs})
    with open(path, "w") as f:
        json.dump({"context": {"date": "2026-12-01T00:00:00+00:00", "host_name": "fixture", "pipebench_version": "fixture",
                               "git_revision": "fixture", "build_type": "Release",
                               "pipebench_synthetic": "tests/plot_test.py fixture, made-up times in the shape of "
                                                      f"{program}'s output"},
                   "benchmarks": runs,
                   "pipebench": {"schema_version": 1, "program": program, "status": "complete",
                                 "processes": 1, "entries_registered": entries, "entries_written": entries,
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


if __name__ == "__main__":
    cases = {"figures": figures, "errors": errors, "streams": streams, "chase": chase}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(f"usage: plot_test.py {'|'.join(cases)} [CHECKOUT]", file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]]()
