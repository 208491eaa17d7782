#!/usr/bin/env python3
"""The summary of pipebench result files: one table per pair.

    summary.py results/<host>/<timestamp>/cpu.json [io.json fio.json ...]   (files or folders)

fio.json (scripts/fio-compare.sh) joins the I/O tables: our read stage over fio's bandwidth.

A pair without a table of its own gets the generic ones, from its entries' roles alone: serial vs
its best pipelined entry per point (with the stage-alone times and the model), and serial vs its
best alternative per point (the alternative's own parameter chosen, the model's bound and
efficiency where the entries carry them) vs its reference.

With repetitions (--full), times are medians and the spread column is the coefficient of
variation of the repetitions. A run that did not finish (stopped, or killed) is summarised as
far as it got, with a line saying what did not run. Input that is not a pipebench result is
one line on stderr and exit 2. Standard library only."""
import math
import os
import shutil
import statistics
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipebench_results import ResultError, load  # noqa: E402


def die(msg):
    print(f"summary.py: {msg}", file=sys.stderr)
    sys.exit(2)


def fmt_rate(v, unit):
    if v is None:
        return "-"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.1f} {prefix}{unit}"
    return f"{v:.1f} {unit}"


def fmt_time(s):
    if s is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def fmt_x(v):
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}x"


def fmt_f(v, digits=2):
    return "-" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


# Above this an efficiency is the model's error, not overlap (bench/harness/model.hpp's
# kEfficiencyModelLimit); such values are printed with a "!" and explained once at the end.
EFFICIENCY_MODEL_LIMIT = 1.05
flagged_efficiencies = []


def fmt_eff(v):
    if v is None or not math.isfinite(v):
        return "-"
    if v > EFFICIENCY_MODEL_LIMIT:
        flagged_efficiencies.append(v)
        return f"{v:.2f}!"
    return f"{v:.2f}"


def spread(e):
    return "" if e is None or e.cv is None else f" ±{100 * e.cv:.0f}%"


def fmt_bytes(b):
    return f"{b // 1024} KiB" if b < 1 << 20 else f"{b >> 20} MiB"


def fmt_size(b):
    """Exact where a size is not a whole KiB or MiB (a file of 40000 bytes)."""
    if b % (1 << 20) == 0:
        return f"{b >> 20} MiB"
    return f"{b >> 10} KiB" if b % 1024 == 0 else f"{b} B"


def table(title, header, rows, note=None):
    if not rows:
        return
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    if note:
        print(note)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def level_of(size, ctx):
    """The level a working set is served from: where the probe found each level's bandwidth
    falling (cache_level_bytes_*), else the sizes the machine reports."""
    l1, l2 = num(ctx.get("cache_l1_bytes")) or 0, num(ctx.get("cache_l2_bytes")) or 0
    l3 = num(ctx.get("cache_l3_effective_bytes")) or 0
    if "cache_level_bytes_L3" in ctx:
        l1, l2, l3 = (num(ctx.get(f"cache_level_bytes_L{i}")) or 0 for i in (1, 2, 3))
    for name, cap in (("L1", l1), ("L2", l2), ("L3", l3)):
        if cap and size <= cap:
            return name
    return "DRAM"


def of(results, pair, variant=None, role=None):
    return [e for e in results.with_result() if e.pair == pair and (variant is None or e.variant == variant)
            and (role is None or e.role == role)]


def best(entries):
    return min(entries, key=lambda e: e.seconds, default=None)


def stage(results, e, variant):
    for v, _, s in results.stages(e):
        if v == variant:
            return s
    return None


def likwid_runs(results):
    """bytes -> likwid-compare.sh's run at that size (the last document that has it), and the doc."""
    runs, meta = {}, None
    for doc in results.peers:
        if isinstance(doc.get("likwid"), dict):
            meta = doc["likwid"]
            runs.update({int(r["bytes"]): r for r in doc["runs"]})
    return runs, meta


def sumsq_table(results, ctx):
    rows = []
    groups = defaultdict(list)
    for e in of(results, "cpu/sumsq", "ilp"):
        groups[e.params["bytes"]].append(e)
    peer, meta = likwid_runs(results)
    # The likwid-bench column: its limit where scripts/likwid-compare.sh ran, and why not otherwise.
    absent = "not installed" if shutil.which("likwid-bench") is None else "not run"
    for size in sorted(groups):
        b = best(groups[size])
        s, ref = results.sibling(b, "serial"), results.sibling(b, "reference")
        lk = peer.get(size)
        lk_rate = lk.get("likwid_bytes_per_s") if lk else None
        rows.append([fmt_bytes(size), level_of(size, ctx),
                     fmt_rate(s.value("bytes_per_second"), "B/s") + spread(s) if s else "-",
                     f"{fmt_rate(b.value('bytes_per_second'), 'B/s')}{spread(b)} (k={b.params['chains']})",
                     fmt_x(b.value("speedup")), fmt_f(b.value("roofline_fraction")),
                     fmt_rate(ref.value("bytes_per_second"), "B/s") + spread(ref) if ref else "-",
                     fmt_x(b.value("vs_reference")),
                     fmt_rate(lk_rate, "B/s") if lk_rate else (absent if meta is None else "-"),
                     ratio_range(lk["ours_samples"], lk["likwid_samples"]) if lk_rate else "-",
                     ratio_range(lk["sdot_samples"], lk["likwid_samples"]) if lk_rate else "-"])
    note = None
    if meta:
        note = (f"likwid-bench {meta.get('kernel', '?')} ({meta.get('version', '?')}), one thread on hwthread "
                f"{meta.get('hwthread', '?')}, {meta.get('rounds', '?')} rounds alternating with ours and sdot "
                "(scripts/likwid-compare.sh); ilp/likwid and sdot/likwid: median of the rounds' ratios (range)")
    table("cpu/sumsq: one chain vs k independent vector chains vs cblas_sdot vs likwid-bench (one core)",
          ["size", "level", "serial", "best ilp", "speedup", "of roofline", "sdot", "ilp/sdot", "likwid-bench",
           "ilp/likwid", "sdot/likwid"], rows, note)


def matmul_table(results, ctx):
    peak = num(ctx.get("fma_peak_gflops"))
    rows = []
    ilps, blocked = defaultdict(list), {}
    for e in of(results, "cpu/matmul", "ilp"):
        ilps[e.params["n"]].append(e)
    for e in of(results, "cpu/matmul", "blocked"):
        blocked[e.params["n"]] = e
    for n in sorted(set(ilps) | set(blocked)):
        b, bl = best(ilps.get(n, [])), blocked.get(n)
        anchor = bl or b
        s, ref = results.sibling(anchor, "serial"), results.sibling(anchor, "reference")
        bf = bl.value("flops_per_second") if bl else None
        rows.append([n, fmt_rate(s.value("flops_per_second"), "FLOP/s") + spread(s) if s else "-",
                     f"{fmt_rate(b.value('flops_per_second'), 'FLOP/s')} (u={b.params['chains']})" if b else "-",
                     fmt_x(b.value("speedup")) if b else "-",
                     fmt_rate(bf, "FLOP/s") + spread(bl) if bl else "-",
                     fmt_f(bf / (peak * 1e9)) if bf and peak else "-",
                     fmt_rate(ref.value("flops_per_second"), "FLOP/s") + spread(ref) if ref else "-",
                     fmt_x(bl.value("vs_reference")) if bl else "-"])
    core = ctx.get("openblas_corename", "?")
    env = f"OPENBLAS_CORETYPE={ctx.get('OPENBLAS_CORETYPE', '?')} OPENBLAS_L2_SIZE={ctx.get('OPENBLAS_L2_SIZE', '?')}"
    table("cpu/matmul: FP32 C = A*B^T, one chain vs u scalar chains vs blocked SIMD vs cblas_sgemm (one core)",
          ["n", "serial", "best ilp", "ilp speedup", "blocked", "of peak", "sgemm", "blocked/sgemm"], rows,
          f"sgemm: OpenBLAS core {core} ({env}); peak: measured FMA peak {peak} GFLOP/s")


def point_text(params, skip=()):
    return " ".join(f"{k}:{v}" for k, v in sorted(params.items()) if k not in skip)


def pipeline_table(results, pair):
    """A pair of serial, stage_* and pipelined entries: the best pipelined entry per point."""
    knobs = ("depth", "streams", "order")  # what "best" chooses among
    groups = defaultdict(list)
    for p in of(results, pair, role="pipelined"):
        groups[(p.variant, tuple(sorted((k, str(v)) for k, v in p.params.items() if k not in knobs)))].append(p)
    rows = []
    stage_names = []
    for ps in groups.values():
        for v, _, _ in results.stages(ps[0]):
            if v not in stage_names:
                stage_names.append(v)

    def order(key):
        d = dict(key[1])
        return (key[0], d.get("source", ""), d.get("memory", ""), int(d.get("chunks", 0)), int(d.get("intensity", 0)),
                int(d.get("n", 0)))

    kinds = {}
    went = []  # where the time went, per point with a model
    for key in sorted(groups, key=order):
        b = best(groups[key])
        bound_by = bounding_stage(results, b)
        loss = time_went(b)
        if loss:
            went.append([point_text(b.params, skip=("bytes",))] + loss)
        stages = {v: s for v, k, s in results.stages(b)}
        kinds.update({v: k for v, k, _ in results.stages(b)})
        compute = [s for v, s in stages.items() if kinds[v] == "compute"]
        transfer = [s for v, s in stages.items() if kinds[v] == "transfer"]
        ratio = "-"
        if compute and transfer and all(compute + transfer):
            ratio = f"{sum(s.seconds for s in compute) / sum(s.seconds for s in transfer):.2f}"
        serial = results.sibling(b, "serial")
        rows.append([(f"{b.variant} " if len(groups) and b.variant != "pipelined" else "") +
                     point_text(b.params, skip=("bytes",) + knobs)] +
                    [fmt_time(stages[v].seconds) if stages.get(v) else "-" for v in stage_names] + [
            ratio, fmt_time(serial.seconds) + spread(serial) if serial else "-",
            fmt_time(b.seconds) + spread(b) +
            "".join(f" ({', '.join(f'{k} {b.params[k]}' for k in knobs if k in b.params)})"
                    for _ in [0] if any(k in b.params for k in knobs)),
            fmt_x(b.value("speedup")), fmt_x(b.value("speedup_bound")), fmt_eff(b.value("efficiency")),
            bound_by, fmt_f(b.value("core_round_trip_ns"), 0)])
    table(f"{pair}: serial vs pipelined (model bound and efficiency from the stage-alone times)",
          ["point"] + stage_names + ["compute:transfer", "serial", "best pipelined", "speedup", "bound", "efficiency",
                                     "bound by", "c2c ns"], rows,
          "efficiency = (T_serial - T_pipelined) / (T_serial - T_ideal); '-' where the model allows no gain\n"
          "compute:transfer = the compute stages' time over the transfer stages' (stage-alone)\n"
          "bound by = the slowest stage alone, which sets the pipeline's pace (or 'ring' when depth does)\n"
          "c2c ns = cache-line round trip between the stage cores when the entry ran: a handoff's least cost")
    if went:
        table(f"{pair}: where the pipelined time went (best entry per point)",
              ["point", "T_ideal", "+ handoff", "+ contention", "unexplained", "measured", "efficiency",
               "eff. with terms"], went,
              "T_ideal: the stages alone, overlapped; + handoff: what moving each chunk between the stage cores adds "
              "(stage_handoff);\n+ contention: what both stages at once add (stage_both); unexplained = measured - "
              "the model with its terms\n(scheduling: waits, wake-ups; the timeline, --trace, shows them)")


def bounding_stage(results, e):
    """The stage whose time alone sets the pipeline's pace, or 'ring' when the depth does."""
    stages = [(v, s.seconds) for v, _, s in results.stages(e) if s is not None]
    if not stages:
        return "-"
    v, slowest = max(stages, key=lambda x: x[1])
    depth = (e.model or {}).get("depth", 0)
    if depth and sum(t for _, t in stages) / depth > slowest:
        return "ring"
    return v[len("stage_"):] if v.startswith("stage_") else v


def time_went(e):
    """[T_ideal, + handoff, + contention, unexplained, measured, efficiency, efficiency with terms]
    as text, for an entry whose model has terms; [] otherwise."""
    ideal = e.value("t_ideal")
    handoff, contended = e.value("t_ideal_handoff"), e.value("t_ideal_contended")
    if ideal is None or (handoff is None and contended is None):
        return []
    with_terms = max(v for v in (ideal, handoff, contended) if v is not None)
    eff_terms = e.value("efficiency_handoff") if handoff is not None else e.value("efficiency_contended")
    return [fmt_time(ideal),
            fmt_time(handoff - ideal) if handoff is not None else "-",
            fmt_time(contended - ideal) if contended is not None else "-",
            fmt_time(e.seconds - with_terms) if e.seconds >= with_terms else "-" + fmt_time(with_terms - e.seconds),
            fmt_time(e.seconds), fmt_eff(e.value("efficiency")), fmt_eff(eff_terms)]


# The pairs summarised by a table of their own; any other pair gets the generic tables
# (pipeline_table for its pipelined entries, alternative_table for its alternative ones).
OWN_TABLES = ("cpu/sumsq", "cpu/matmul", "io/read")


def has_own_table(pair):
    return pair in OWN_TABLES or pair.startswith("mpi/")


def param_text(key, value):
    return fmt_size(value) if key == "bytes" and isinstance(value, int) else str(value)


def numeric_order(value):
    """Numbers in numeric order, words after them in text order."""
    v = num(value)
    return (0, v, "") if v is not None else (1, 0.0, str(value))


def timed(e, also=()):
    """The entry's median time with its spread, then its rate where it has one and `also`."""
    if e is None:
        return "-"
    extra = [fmt_rate(e.value(c), unit) for c, unit in (("bytes_per_second", "B/s"), ("flops_per_second", "FLOP/s"))
             if e.value(c) is not None][:1] + list(also)
    return fmt_time(e.seconds) + spread(e) + (f" ({', '.join(extra)})" if extra else "")


def alternative_table(results, pair):
    """Any pair with alternative entries and no table of its own: per alternative variant, one row
    per point (the parameters other than the alternative's own: those its serial lacks) with the
    serial, the fastest alternative at that point, its speedup, the model's bound and efficiency
    where the entries carry them, and the reference sibling. Rows in numeric order of the point."""
    alternatives = of(results, pair, role="alternative")
    for variant in sorted({e.variant for e in alternatives}):
        groups, own_axes, point_axes = defaultdict(list), [], []
        for e in (e for e in alternatives if e.variant == variant):
            own = results.own_params(e)
            own_axes += [k for k in own if k not in own_axes]
            point_axes += [k for k in e.params if k not in own and k not in point_axes]
            groups[(e.file.origin, tuple((k, v) for k, v in e.params.items() if k not in own))].append(e)
        origins = sorted({o for o, _ in groups})
        rows, refs = [], []
        for key in sorted(groups, key=lambda k: (k[0], [numeric_order(dict(k[1]).get(a, "")) for a in point_axes])):
            b = best(groups[key])
            serial, ref = results.sibling(b, "serial"), results.sibling(b, "reference")
            if ref is not None and ref.variant not in refs:
                refs.append(ref.variant)
            vs_ref = b.value("vs_reference")
            if vs_ref is None and ref is not None and b.seconds:
                vs_ref = ref.seconds / b.seconds
            point = dict(key[1])
            rows.append({"run": key[0], "point": [param_text(a, point[a]) if a in point else "-" for a in point_axes],
                         "serial": timed(serial),
                         "best": timed(b, [f"{k}={b.params[k]}" for k in own_axes if k in b.params]),
                         "speedup": fmt_x(b.value("speedup")), "bound": b.value("speedup_bound"),
                         "efficiency": b.value("efficiency"), "reference": timed(ref), "vs_ref": vs_ref})
        runs = len(origins) > 1
        model = any(r["bound"] is not None or r["efficiency"] is not None for r in rows)
        reference = any(r["reference"] != "-" or r["vs_ref"] is not None for r in rows)
        ref_name = "/".join(refs) or "reference"
        header = (["run"] if runs else []) + point_axes + ["serial", f"best {variant}", "speedup"] + \
            (["bound", "efficiency"] if model else []) + ([ref_name, f"{variant}/{ref_name}"] if reference else [])
        cells = [([r["run"]] if runs else []) + r["point"] + [r["serial"], r["best"], r["speedup"]] +
                 ([fmt_x(r["bound"]), fmt_eff(r["efficiency"])] if model else []) +
                 ([r["reference"], fmt_x(r["vs_ref"])] if reference else []) for r in rows]
        over = f", the fastest over {', '.join(own_axes)} per point" if own_axes else ""
        cv = any(e.cv is not None for es in groups.values() for e in es)
        notes = [f"times: median{' ±cv of the repetitions' if cv else ''} (rate); speedup = T_serial / T_{variant}" +
                 (f"; {variant}/{ref_name} = T_{ref_name} / T_{variant}" if reference else "")]
        if model:
            notes.append(f"bound = T_serial / T_ideal (the model's ideal time, at the {variant} entry shown); "
                         "efficiency = (T_serial - T) / (T_serial - T_ideal); '-' where the model allows no gain")
        table(f"{pair}: {serial_name(results, pair)} (serial) vs {variant} (alternative{over})" +
              (f" vs {ref_name} (reference)" if reference else ""), header, cells, "\n".join(notes))


def serial_name(results, pair):
    return "/".join(sorted({e.variant for e in of(results, pair, role="serial")})) or "serial"


def gbs(e):
    v = e.value("bytes_per_second") if e else None
    return "-" if v is None else f"{v / 1e9:.2f}"


def without(params, *keys):
    return {k: v for k, v in params.items() if k not in keys}


def ratio_range(ours, peers):
    """'0.95 (0.90-1.02)': the median of per-round ratios ours[r] / peers[r], and their range."""
    ratios = sorted(o / p for o, p in zip(ours, peers) if p)
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f}" + (f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else "")


def fio_table(results):
    """fio at its defaults and at its best against our read stage, from alternating rounds."""
    rows = []
    for doc in results.peers:
        if "fio" not in doc:
            continue
        meta = doc["fio"]
        for r in doc["runs"]:
            if "ours_samples" not in r:
                continue
            rows.append([fmt_size(int(meta["file_bytes"])), r["mode"], f"{int(meta['block']) // 1024} KiB",
                         r["queue_depth"], f"{r['ours_bw_bytes'] / 1e9:.2f}",
                         f"{r['default_bw_bytes'] / 1e9:.2f}" if "default_bw_bytes" in r else "-",
                         f"{r['bw_bytes'] / 1e9:.2f}", ratio_range(r["ours_samples"], r["samples"]),
                         ratio_range(r["samples"], r.get("default_samples", []))])
    if rows:
        rounds = {doc["fio"].get("rounds") for doc in results.peers if "fio" in doc}
        table("io/read: our read stage against fio, GB/s, alternating rounds on one file",
              ["file", "mode", "block", "q", "stage_read", "fio default", "fio best", "ours/best", "best/default"],
              rows, f"fio best: {next(d for d in results.peers if 'fio' in d)['fio'].get('best_options', '?')} "
                    "(the features our reader uses); "
                    f"medians of {', '.join(str(r) for r in sorted(rounds, key=str))} rounds, each round running "
                    "ours, fio default and fio best in turn; ratios: median of the rounds' ratios (range)")


def io_tables(results):
    """io/read: the read stages against fio, then serial vs thread vs io_uring per intensity."""
    fio = {}
    for doc in results.peers:
        if "fio" not in doc:
            continue
        for r in doc["runs"]:
            fio[(int(doc["fio"]["file_bytes"]), r["mode"], int(doc["fio"]["block"]), int(r["queue_depth"]))] = r["bw_bytes"]
    rows = []
    reads = of(results, "io/read", "stage_read")
    for e in sorted(reads, key=lambda e: (e.params["bytes"], e.params["mode"], e.params["block"], e.params["queue_depth"])):
        mode, block, q = e.params["mode"], e.params["block"], e.params["queue_depth"]
        pread = results.find(e, "stage_pread", without(e.params, "queue_depth"))
        peer = fio.get((e.params["bytes"], mode, block, q))
        ours = e.value("bytes_per_second")
        rows.append([fmt_size(e.params["bytes"]), mode, f"{block // 1024} KiB", q, gbs(pread), gbs(e) + spread(e),
                     "-" if peer is None else f"{peer / 1e9:.2f}",
                     "-" if peer is None or not ours else f"{ours / peer:.2f}"])
    header = ["file", "mode", "block", "q", "pread", "stage_read", "fio best", "ours/fio"]
    joined = any(row[-1] != "-" for row in rows)
    if joined:
        note = "fio: scripts/fio-compare.sh on the same file, block, queue depth and mode, at its best (median of its runs)"
    else:  # fio ran on a file of its own (run.sh's 1 GiB one): the table after this one
        header, rows = header[:-2], [row[:-2] for row in rows]
        note = ("fio: on a file of its own, in the table below" if fio else
                "fio: not run (scripts/fio-compare.sh, or run.sh without --no-fio)")
    table("io/read: reading the file alone, GB/s (pread loop; io_uring read stage at queue depth q)", header, rows, note)
    fio_table(results)

    rows = []
    pipelined = of(results, "io/read", role="pipelined")
    for s in sorted(of(results, "io/read", "serial"),
                    key=lambda e: (e.params["bytes"], e.params["mode"], e.params["block"], e.params["intensity"])):
        p = s.params
        pread = results.find(s, "stage_pread", without(p, "intensity"))
        comp = results.find(s, "stage_compute", without(p, "mode"))
        regime = "-"
        if pread and comp:
            r = comp.seconds / pread.seconds
            regime = f"{r:.2f} " + ("I/O-bound" if r < 0.67 else "compute-bound" if r > 1.5 else "balanced")
        cells = []
        for variant, axis, letter in (("thread", "depth", "d"), ("uring", "queue_depth", "q")):
            b = best([e for e in pipelined if e.variant == variant and e.sibling_names.get("serial") == s.name])
            cells += ["-", "-", "-"] if b is None else [
                f"{fmt_time(b.seconds)}{spread(b)} ({letter}={b.params[axis]})",
                f"{fmt_x(b.value('speedup'))} of {fmt_x(b.value('speedup_bound'))}", fmt_eff(b.value("efficiency"))]
        rows.append([fmt_size(p["bytes"]), p["mode"], f"{p['block'] // 1024} KiB", p["intensity"],
                     fmt_time(pread.seconds) if pread else "-",
                     fmt_time(comp.seconds) if comp else "-", regime, fmt_time(s.seconds) + spread(s)] + cells)
    table("io/read: serial (pread, compute) vs thread pipeline vs io_uring, best depth / queue depth per point",
          ["file", "mode", "block", "intensity", "read", "compute", "compute:read", "serial", "thread", "speedup", "eff",
           "uring", "speedup", "eff"], rows,
          "speedup of bound: the model's best (T_serial / T_ideal) from each variant's own read stage and compute;\n"
          "eff = (T_serial - T_pipelined) / (T_serial - T_ideal)")


def mpi_table(results, pair):
    """One row per point and progress strategy, with OSU's and IMB's overlap % from the same times."""
    rows = []
    ps = of(results, pair, role="pipelined")
    for p in sorted(ps, key=lambda e: (e.params["ranks"], e.params["bytes"], e.params.get("compute", 0),
                                       e.params.get("chunks", 0), e.params.get("strategy", ""))):
        comm = stage(results, p, "stage_comm")
        serial = results.sibling(p, "serial")
        comp = stage(results, p, "stage_compute") or stage(results, p, "stage_consume")
        if comp is None and serial is not None:  # halo's model splits the compute; the whole of it alone
            comp = results.find(p, "stage_compute", serial.params)
        intended = p.value("compute_intended")
        pct = lambda v: "-" if v is None else f"{v:.0f}%"
        b = p.params["bytes"]
        rows.append([p.params["ranks"], f"{b // 1024} KiB" if b >= 1024 else f"{b} B",
                     f"{p.params.get('compute', '-')}%", p.params.get("chunks", "-"), p.params.get("strategy", "-"),
                     fmt_time(comm.seconds) if comm else "-",
                     (fmt_time(comp.seconds) if comp else "-") + (f" ({fmt_time(intended)})" if intended else ""),
                     fmt_time(serial.seconds) + spread(serial) if serial else "-", fmt_time(p.seconds) + spread(p),
                     f"{fmt_x(p.value('speedup'))} of {fmt_x(p.value('speedup_bound'))}", fmt_eff(p.value("efficiency")),
                     pct(p.value("osu_overlap_pct")), pct(p.value("imb_overlap_pct")), fmt_f(p.value("imbalance")),
                     f"{fmt_time(p.value('rank_time_min'))}/{fmt_time(p.value('rank_time_max'))}"])
    # Where the messages went and which sizes go eager, from each file's context (mpi/world.cpp).
    paths = []
    for f in results.files:
        ctx = f.context
        if "mpi_transport" not in ctx:
            continue
        limit = ctx.get("mpi_eager_limit_bytes")
        eager = (f"eager limit {fmt_bytes(int(limit))} ({ctx.get('mpi_eager_limit_source', '?')}): a message up to it "
                 "is sent at once, a larger one waits for the receiver's handshake" if limit and limit.isdigit()
                 else f"eager limit {ctx.get('mpi_eager_limit_source', 'not known')}")
        line = f"transport: {ctx['mpi_transport']}, ranks on {ctx.get('mpi_host_count', '?')} host(s); {eager}"
        if ctx.get("cluster_rate_shaped"):
            line += f"; link {ctx['cluster_rate_shaped']}"
        if line not in paths:
            paths.append(line)
    table(f"{pair}: serial vs overlapped per progress strategy (times: slowest rank, median)",
          ["ranks", "bytes", "compute", "chunks", "strategy", "comm alone", "compute alone (intended)", "serial",
           "pipelined", "speedup", "eff", "OSU", "IMB", "imbalance", "rank min/max"], rows,
          "OSU = max(0, 100 - 100 (T_pipelined - t_CPU) / t_comm); IMB = 100 max(0, min(1, (t_comm + t_CPU - T_pipelined)"
          " / min(t_comm, t_CPU)));\nt_CPU = compute time inside the pipelined run (slowest rank); imbalance = max/mean"
          " over ranks of each rank's own time" + "".join("\n" + p for p in paths))


TRAINING_ORDER = ["gpipe", "gpipe_recompute", "1f1b", "pipedream", "pipedream_vsync", "interleaved", "zero_bubble",
                  "zb_h2", "zb_v", "csv"]


def training_table(results):
    """Pipeline-parallel training: one row per point, layer kind, microbatch count and schedule."""
    rows = []
    order = {s: i for i, s in enumerate(TRAINING_ORDER)}
    ps = of(results, "mpi/training", "pipelined")
    for p in sorted(ps, key=lambda e: (e.params["ranks"], e.params.get("layer", "elementwise"), e.params["bytes"],
                                       e.params.get("intensity", 0), e.params["microbatches"],
                                       order.get(e.params["schedule"], 99))):
        serial = results.sibling(p, "serial")
        passes = [stage(results, p, f"stage_{v}") for v in ("forward", "backward", "weight")]
        pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"
        mib = lambda v: "-" if v is None else f"{v / 2**20:.1f}"
        rows.append([p.params["ranks"], p.params.get("layer", "elementwise"), fmt_bytes(p.params["bytes"]),
                     p.params.get("intensity", "-"), p.params["microbatches"], p.params["schedule"],
                     " / ".join(fmt_time(e.seconds) if e else "-" for e in passes),
                     fmt_time(serial.seconds) + spread(serial) if serial else "-", fmt_time(p.seconds) + spread(p),
                     f"{fmt_x(p.value('speedup'))} of {fmt_x(p.value('speedup_bound'))}", fmt_eff(p.value("efficiency")),
                     f"{pct(p.value('bubble_measured'))} ({pct(p.value('bubble_model'))}; {pct(p.value('bubble_trace'))})",
                     f"{p.value('peak_in_flight') or 0:.0f}", mib(p.value("peak_activation_bytes")),
                     f"{p.value('peak_versions') or 0:.0f}", fmt_f(p.value("imbalance"))])
    table("mpi/training: pipeline-parallel schedules vs the batch as one microbatch (times: slowest rank, median)",
          ["ranks", "layer", "bytes", "intensity", "microbatches", "schedule", "F / B / W alone", "serial", "pipelined",
           "speedup", "eff", "bubble (model; trace)", "held", "act MiB", "versions", "imbalance"], rows,
          "F / B / W: forward, input gradient, weight gradient over the whole batch, by microbatch; model: the schedule "
          "simulated at those costs, messages free;\nbubble: share of the time the busiest rank idles (measured in the "
          "timed passes; model; the traced pass's timeline); held: (microbatch, stage) activations on the rank holding "
          "most, act MiB the same in MiB;\nversions: weight versions that rank keeps (PipeDream's stashing)")


def main(paths):
    if not paths:
        die("usage: summary.py <result.json or folder> [...]")
    try:
        results = load(paths)
    except ResultError as e:
        die(str(e))
    ctx = results.files[0].context
    print(f"pipebench {ctx.get('pipebench_version', '?')} ({ctx.get('git_revision', '?')}), {ctx.get('suite', '?')} suite, "
          f"{ctx.get('date', '?')} on {ctx.get('host_name', '?')}")
    print(f"machine: {ctx.get('topology', '?')}; kernel {ctx.get('kernel', '?')}")
    bws = ", ".join(f"{lvl} {ctx[f'read_bw_gbs_{lvl}']} GB/s" for lvl in ("L1", "L2", "L3", "DRAM")
                    if f"read_bw_gbs_{lvl}" in ctx)
    print(f"measured: FMA peak {ctx.get('fma_peak_gflops', '?')} GFLOP/s ({ctx.get('fma_peak_isa', '?')}), "
          f"one-core read {bws}")
    for line in results.notes:
        print(f"note: {line}")
    pairs = sorted({e.pair for e in results.entries})
    if "cpu/sumsq" in pairs:
        sumsq_table(results, ctx)
    if "cpu/matmul" in pairs:
        matmul_table(results, ctx)
    if "io/read" in pairs:
        io_tables(results)
    for pair in pairs:
        if pair == "mpi/training":
            training_table(results)
        elif pair.startswith("mpi/"):
            mpi_table(results, pair)
        elif pair not in ("io/read",) and of(results, pair, role="pipelined"):
            pipeline_table(results, pair)
        if not has_own_table(pair) and of(results, pair, role="alternative"):
            alternative_table(results, pair)
    if flagged_efficiencies:
        print(f"!: {len(flagged_efficiencies)} efficienc{'y' if len(flagged_efficiencies) == 1 else 'ies'} above "
              f"{EFFICIENCY_MODEL_LIMIT:.2f} (up to {max(flagged_efficiencies):.2f}): the runs beat the model's T_ideal, "
              "so the model is off there, not the overlap better than ideal; check them against a timeline (--trace)")
    failed = [e for e in results.entries if e.outcome == "failed"]
    skipped = [e for e in results.entries if e.outcome == "skipped"]
    reasons = defaultdict(list)  # one line per reason: a machine without a GPU skips hundreds
    for e in skipped:
        reasons[(e.pair, e.error[len("skipped: "):] if e.error.startswith("skipped: ") else e.error)].append(e)
    for (pair, reason), es in sorted(reasons.items()):
        print(f"skipped: {es[0].name}: {reason}" if len(es) == 1 else f"skipped: {len(es)} entries of {pair}: {reason}")
    for e in failed:
        print(f"FAILED: {e.name}: {e.error}")
    for f in results.files:
        if not f.complete:
            print(f"NOT FINISHED: {f.path}: {f.status_line().split(': ', 1)[1]}" +
                  (f"; not run: {', '.join(f.not_run[:3])}{' ...' if len(f.not_run) > 3 else ''}" if f.not_run else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
