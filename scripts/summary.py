#!/usr/bin/env python3
"""The summary of pipebench result files (Google Benchmark JSON): one table per pair.

    summary.py results/<host>/<timestamp>/cpu.json [io.json fio.json ...]

fio.json (scripts/fio-compare.sh) joins the I/O tables: our read stage over fio's bandwidth.

With repetitions (--full), times are medians and the spread column is the coefficient of
variation of the repetitions. Standard library only."""
import json
import math
import os
import sys
from collections import defaultdict

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def die(msg):
    print(f"summary.py: {msg}", file=sys.stderr)
    sys.exit(2)


class Entry:
    def __init__(self, name):
        self.name = name
        parts = name.split("/")
        self.domain, self.workload, self.variant = parts[0], parts[1], parts[2]
        self.params = dict(p.split(":", 1) for p in parts[3:])
        self.run = None     # the run whose numbers we show (median aggregate or single run)
        self.cv = None      # spread of the repetitions, if any
        self.error = None

    @property
    def seconds(self):
        return self.run["real_time"] * UNIT[self.run["time_unit"]]

    def get(self, counter, default=None):
        return self.run.get(counter, default) if self.run else default

    def key(self, *without):
        return tuple(sorted((k, v) for k, v in self.params.items() if k not in without))


def load(paths):
    entries, contexts, peers = {}, [], []
    for path in paths:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            die(f"{path}: {e}")
        if isinstance(doc, dict) and "fio" in doc and "runs" in doc:
            peers.append(doc)
            continue
        if not isinstance(doc, dict) or "benchmarks" not in doc or "context" not in doc:
            die(f"{path}: not a Google Benchmark JSON file")
        contexts.append(doc["context"])
        for b in doc["benchmarks"]:
            name = b.get("run_name", b["name"])
            if name.count("/") < 2:
                continue
            e = entries.setdefault(name, Entry(name))
            if b.get("error_occurred"):
                e.error = b.get("error_message", "error")
            elif b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    e.run = b
                elif b.get("aggregate_name") == "cv":
                    e.cv = b["real_time"]
            elif e.run is None:
                e.run = b
    return entries, contexts, peers


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


def spread(e):
    return "" if e is None or e.cv is None else f" ±{100 * e.cv:.0f}%"


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
    l1, l2 = num(ctx.get("cache_l1_bytes")) or 0, num(ctx.get("cache_l2_bytes")) or 0
    l3 = num(ctx.get("cache_l3_effective_bytes")) or 0
    for name, cap in (("L1", l1), ("L2", l2), ("L3", l3)):
        if cap and size <= cap:
            return name
    return "DRAM"


def by(entries, workload, variant):
    return [e for e in entries.values() if e.workload == workload and e.variant == variant and e.run]


def sibling(entries, workload, variant, params):
    """The entry of `variant` whose parameters are all in `params` (the harness's rule)."""
    for e in entries.values():
        if e.workload == workload and e.variant == variant and e.run and \
                all(params.get(k) == v for k, v in e.params.items()):
            return e
    return None


def points(entries, workload, axis):
    """Every value of `axis` some entry of the workload ran with, in numeric order."""
    return sorted({e.params[axis] for e in entries.values() if e.workload == workload and e.run and axis in e.params},
                  key=int)


def sumsq_table(entries, ctx):
    rows = []
    for size_text in points(entries, "sumsq", "bytes"):
        at = {"bytes": size_text}
        size = int(size_text)
        s = sibling(entries, "sumsq", "serial", at)
        ilps = [e for e in by(entries, "sumsq", "ilp") if e.params["bytes"] == size_text]
        best = min(ilps, key=lambda e: e.seconds, default=None)
        ref = sibling(entries, "sumsq", "reference", at)
        rows.append([f"{size // 1024} KiB" if size < 1 << 20 else f"{size >> 20} MiB", level_of(size, ctx),
                     fmt_rate(s.get("bytes_per_second"), "B/s") + spread(s) if s else "-",
                     f"{fmt_rate(best.get('bytes_per_second'), 'B/s')}{spread(best)} (k={best.params['chains']})" if best else "-",
                     fmt_x(best.get("speedup")) if best else "-",
                     fmt_f(best.get("roofline_fraction")) if best else "-",
                     fmt_rate(ref.get("bytes_per_second"), "B/s") + spread(ref) if ref else "-",
                     fmt_x(best.get("vs_reference")) if best else "-"])
    table("cpu/sumsq: one chain vs k independent vector chains vs cblas_sdot (one core)",
          ["size", "level", "serial", "best ilp", "speedup", "of roofline", "sdot", "ilp/sdot"], rows)


def matmul_table(entries, ctx):
    peak = num(ctx.get("fma_peak_gflops"))
    rows = []
    for n in points(entries, "matmul", "n"):
        at = {"n": n}
        s = sibling(entries, "matmul", "serial", at)
        ilps = [e for e in by(entries, "matmul", "ilp") if e.params["n"] == n]
        best = min(ilps, key=lambda e: e.seconds, default=None)
        blocked = sibling(entries, "matmul", "blocked", at)
        ref = sibling(entries, "matmul", "reference", at)
        bf = blocked.get("flops_per_second") if blocked else None
        rows.append([n, fmt_rate(s.get("flops_per_second"), "FLOP/s") + spread(s) if s else "-",
                     f"{fmt_rate(best.get('flops_per_second'), 'FLOP/s')} (u={best.params['chains']})" if best else "-",
                     fmt_x(best.get("speedup")) if best else "-",
                     fmt_rate(bf, "FLOP/s") + spread(blocked) if blocked else "-",
                     fmt_f(bf / (peak * 1e9)) if bf and peak else "-",
                     fmt_rate(ref.get("flops_per_second"), "FLOP/s") + spread(ref) if ref else "-",
                     fmt_x(blocked.get("vs_reference")) if blocked else "-"])
    core = ctx.get("openblas_corename", "?")
    env = f"OPENBLAS_CORETYPE={ctx.get('OPENBLAS_CORETYPE', '?')} OPENBLAS_L2_SIZE={ctx.get('OPENBLAS_L2_SIZE', '?')}"
    table("cpu/matmul: FP32 C = A*B^T, one chain vs u scalar chains vs blocked SIMD vs cblas_sgemm (one core)",
          ["n", "serial", "best ilp", "ilp speedup", "blocked", "of peak", "sgemm", "blocked/sgemm"], rows,
          f"sgemm: OpenBLAS core {core} ({env}); peak: measured FMA peak {peak} GFLOP/s")


def pipeline_table(entries, workload, domain):
    """Any pair with serial, stage_* and pipelined entries: the best pipelined entry per point."""
    knobs = ("depth", "streams", "order")  # what "best" chooses among
    groups = defaultdict(list)
    for p in by(entries, workload, "pipelined"):
        groups[p.key(*knobs)].append(p)
    rows = []
    stage_names = sorted({e.variant for e in entries.values() if e.workload == workload and e.variant.startswith("stage_")})

    def order(k):
        d = dict(k)
        return (d.get("source", ""), d.get("memory", ""), int(d.get("chunks", 0)), int(d.get("intensity", 0)),
                int(d.get("n", 0)))

    for key in sorted(groups, key=order):
        ps = groups[key]
        best = min(ps, key=lambda e: e.seconds)
        params = dict(key)
        stages = [sibling(entries, workload, st, best.params) for st in stage_names]
        ratio = "-"
        if len(stages) == 2 and all(stages):  # compute over the other stage, when there is a compute stage
            first = 0 if stage_names[0] == "stage_compute" else 1
            ratio = f"{stages[first].seconds / stages[1 - first].seconds:.2f}"
        serial = sibling(entries, workload, "serial", best.params)
        point = " ".join(f"{k}:{v}" for k, v in sorted(params.items()) if k not in ("bytes",))
        rows.append([point] + [fmt_time(st.seconds) if st else "-" for st in stages] + [
            ratio, fmt_time(serial.seconds) + spread(serial) if serial else "-",
            fmt_time(best.seconds) + spread(best) +
            " (" + ", ".join(f"{k} {best.params[k]}" for k in knobs if k in best.params) + ")",
            fmt_x(best.get("speedup")), fmt_x(best.get("speedup_bound")), fmt_f(best.get("efficiency")),
            fmt_f(best.get("core_round_trip_ns"), 0)])
    other = [n[6:] for n in stage_names if n != "stage_compute"]
    header = ["point"] + stage_names + [f"compute:{other[0]}" if len(stage_names) == 2 and len(other) == 1 else "ratio",
                                        "serial", "best pipelined", "speedup", "bound", "efficiency", "c2c ns"]
    table(f"{domain}/{workload}: serial vs pipelined (model bound and efficiency from the stage-alone times)",
          header, rows, "efficiency = (T_serial - T_pipelined) / (T_serial - T_ideal); '-' where the model allows no gain\n"
          "c2c ns = cache-line round trip between the stage cores when the entry ran: a handoff's least cost")


def gbs(e):
    v = e.get("bytes_per_second") if e else None
    return "-" if v is None else f"{v / 1e9:.2f}"


def io_tables(entries, peers):
    """io/read: the read stages against fio, then serial vs thread vs io_uring per intensity."""
    fio = {}
    for doc in peers:
        for r in doc["runs"]:
            fio[(r["mode"], str(doc["fio"]["block"]), str(r["queue_depth"]))] = r["bw_bytes"]
    reads = [e for e in by(entries, "read", "stage_read") if e.domain == "io"]
    rows = []
    for e in sorted(reads, key=lambda e: (e.params["mode"], int(e.params["block"]), int(e.params["queue_depth"]))):
        mode, block, q = e.params["mode"], e.params["block"], e.params["queue_depth"]
        pread = sibling(entries, "read", "stage_pread", e.params)
        peer = fio.get((mode, block, q))
        ours = e.get("bytes_per_second")
        rows.append([mode, f"{int(block) // 1024} KiB", q, gbs(pread), gbs(e) + spread(e),
                     "-" if peer is None else f"{peer / 1e9:.2f}",
                     "-" if peer is None or not ours else f"{ours / peer:.2f}"])
    table("io/read: reading the file alone, GB/s (pread loop; io_uring read stage at queue depth q; fio io_uring)",
          ["mode", "block", "q", "pread", "stage_read", "fio", "ours/fio"], rows,
          "fio: scripts/fio-compare.sh on the same file, block, queue depth and mode (median of its runs)"
          if fio else "fio: not run (scripts/fio-compare.sh, or run.sh without --no-fio)")

    rows = []
    serials = [e for e in by(entries, "read", "serial") if e.domain == "io"]
    for s in sorted(serials, key=lambda e: (e.params["mode"], int(e.params["block"]), int(e.params["intensity"]))):
        p = s.params
        pread = sibling(entries, "read", "stage_pread", p)
        comp = sibling(entries, "read", "stage_compute", p)
        regime = "-"
        if pread and comp:
            r = comp.seconds / pread.seconds
            regime = f"{r:.2f} " + ("I/O-bound" if r < 0.67 else "compute-bound" if r > 1.5 else "balanced")
        same = lambda v: [e for e in by(entries, "read", v) if e.domain == "io" and
                          all(e.params.get(k) == p[k] for k in ("bytes", "block", "mode", "intensity"))]
        cells = []
        for variant, axis in (("thread", "depth"), ("uring", "queue_depth")):
            best = min(same(variant), key=lambda e: e.seconds, default=None)
            cells += ["-", "-", "-"] if best is None else [
                f"{fmt_time(best.seconds)}{spread(best)} ({'d' if axis == 'depth' else 'q'}={best.params[axis]})",
                f"{fmt_x(best.get('speedup'))} of {fmt_x(best.get('speedup_bound'))}", fmt_f(best.get("efficiency"))]
        rows.append([p["mode"], f"{int(p['block']) // 1024} KiB", p["intensity"], fmt_time(pread.seconds) if pread else "-",
                     fmt_time(comp.seconds) if comp else "-", regime, fmt_time(s.seconds) + spread(s)] + cells)
    table("io/read: serial (pread, compute) vs thread pipeline vs io_uring, best depth / queue depth per point",
          ["mode", "block", "intensity", "read", "compute", "compute:read", "serial", "thread", "speedup", "eff",
           "uring", "speedup", "eff"], rows,
          "speedup of bound: the model's best (T_serial / T_ideal) from each variant's own read stage and compute;\n"
          "eff = (T_serial - T_pipelined) / (T_serial - T_ideal)")


def mpi_table(entries, workload):
    """One row per point and progress strategy, with OSU's and IMB's overlap % from the same times."""
    rows = []
    ps = [e for e in by(entries, workload, "pipelined") if e.domain == "mpi"]
    for p in sorted(ps, key=lambda e: (int(e.params["bytes"]), int(e.params.get("compute", 0)),
                                       int(e.params.get("chunks", 0)), e.params.get("strategy", ""))):
        comm = sibling(entries, workload, "stage_comm", p.params)
        comp = sibling(entries, workload, "stage_compute", p.params) or \
            sibling(entries, workload, "stage_consume", p.params)
        serial = sibling(entries, workload, "serial", p.params)
        intended = p.get("compute_intended")
        pct = lambda v: "-" if v is None else f"{v:.0f}%"
        rows.append([f"{int(p.params['bytes']) // 1024} KiB" if int(p.params["bytes"]) >= 1024 else f"{p.params['bytes']} B",
                     p.params.get("compute", "-") + "%", p.params.get("chunks", "-"), p.params.get("strategy", "-"),
                     fmt_time(comm.seconds) if comm else "-",
                     (fmt_time(comp.seconds) if comp else "-") + (f" ({fmt_time(intended)})" if intended else ""),
                     fmt_time(serial.seconds) + spread(serial) if serial else "-", fmt_time(p.seconds) + spread(p),
                     f"{fmt_x(p.get('speedup'))} of {fmt_x(p.get('speedup_bound'))}", fmt_f(p.get("efficiency")),
                     pct(p.get("osu_overlap_pct")), pct(p.get("imb_overlap_pct")), fmt_f(p.get("imbalance")),
                     f"{fmt_time(p.get('rank_time_min'))}/{fmt_time(p.get('rank_time_max'))}"])
    table(f"mpi/{workload}: serial vs overlapped per progress strategy (times: slowest rank, median)",
          ["bytes", "compute", "chunks", "strategy", "comm alone", "compute alone (intended)", "serial", "pipelined",
           "speedup", "eff", "OSU", "IMB", "imbalance", "rank min/max"], rows,
          "OSU = max(0, 100 - 100 (T_pipelined - t_CPU) / t_comm); IMB = 100 max(0, min(1, (t_comm + t_CPU - T_pipelined)"
          " / min(t_comm, t_CPU)));\nt_CPU = compute time inside the pipelined run (slowest rank); imbalance = max/mean"
          " over ranks of each rank's own time")


def training_table(entries):
    """Pipeline-parallel training: one row per point, microbatch count and schedule."""
    rows = []
    order = {s: i for i, s in enumerate(["gpipe", "1f1b", "interleaved", "zero_bubble"])}
    ps = [e for e in by(entries, "training", "pipelined") if e.domain == "mpi"]
    for p in sorted(ps, key=lambda e: (int(e.params["bytes"]), int(e.params.get("intensity", 0)),
                                       int(e.params["microbatches"]), order.get(e.params["schedule"], 9))):
        serial = sibling(entries, "training", "serial", p.params)
        passes = [sibling(entries, "training", f"stage_{v}", p.params) for v in ("forward", "backward", "weight")]
        pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"
        rows.append([f"{int(p.params['bytes']) // 1024} KiB", p.params.get("intensity", "-"), p.params["microbatches"],
                     p.params["schedule"],
                     " / ".join(fmt_time(e.seconds) if e else "-" for e in passes),
                     fmt_time(serial.seconds) + spread(serial) if serial else "-", fmt_time(p.seconds) + spread(p),
                     f"{fmt_x(p.get('speedup'))} of {fmt_x(p.get('speedup_bound'))}", fmt_f(p.get("efficiency")),
                     f"{pct(p.get('bubble_measured'))} ({pct(p.get('bubble_model'))})",
                     f"{p.get('peak_in_flight', 0):.0f} ({pct(p.get('activation_share'))})", fmt_f(p.get("imbalance"))])
    table("mpi/training: pipeline-parallel schedules vs the batch as one microbatch (times: slowest rank, median)",
          ["bytes", "intensity", "microbatches", "schedule", "F / B / W alone", "serial", "pipelined", "speedup",
           "eff", "bubble (model)", "peak held", "imbalance"], rows,
          "F / B / W: forward, input gradient, weight gradient over the whole batch, by microbatch; model: the schedule simulated at "
          "those costs, messages free;\nbubble: share of the time the busiest rank idles; peak held: (microbatch, chunk) "
          "activations on one rank at once (share of the batch)")


def main(paths):
    if not paths:
        die("usage: summary.py <result.json> [...]")
    entries, contexts, peers = load(paths)
    if not entries:
        die(f"{', '.join(paths)}: no pipebench entries")
    ctx = contexts[0]
    print(f"pipebench {ctx.get('pipebench_version', '?')} ({ctx.get('git_revision', '?')}), {ctx.get('suite', '?')} suite, "
          f"{ctx.get('date', '?')} on {ctx.get('host_name', '?')}")
    print(f"machine: {ctx.get('topology', '?')}; kernel {ctx.get('kernel', '?')}")
    bws = ", ".join(f"{lvl} {ctx[f'read_bw_gbs_{lvl}']} GB/s" for lvl in ("L1", "L2", "L3", "DRAM")
                    if f"read_bw_gbs_{lvl}" in ctx)
    print(f"measured: FMA peak {ctx.get('fma_peak_gflops', '?')} GFLOP/s ({ctx.get('fma_peak_isa', '?')}), "
          f"one-core read {bws}")
    workloads = {(e.domain, e.workload) for e in entries.values()}
    if ("cpu", "sumsq") in workloads:
        sumsq_table(entries, ctx)
    if ("cpu", "matmul") in workloads:
        matmul_table(entries, ctx)
    if ("io", "read") in workloads:
        io_tables(entries, peers)
    for domain, workload in sorted(workloads):
        if domain == "mpi" and workload == "training":
            training_table(entries)
        elif domain == "mpi":
            mpi_table(entries, workload)
        elif any(e.workload == workload and e.variant == "pipelined" for e in entries.values()):
            pipeline_table(entries, workload, domain)
    failed = [e for e in entries.values() if e.error and not e.error.startswith("skipped")]
    skipped = [e for e in entries.values() if e.error and e.error.startswith("skipped")]
    reasons = defaultdict(list)  # one line per reason: a machine without a GPU skips hundreds
    for e in skipped:
        reasons[(f"{e.domain}/{e.workload}", e.error[len("skipped: "):])].append(e)
    for (pair, reason), es in sorted(reasons.items()):
        print(f"skipped: {es[0].name}: {reason}" if len(es) == 1 else f"skipped: {len(es)} entries of {pair}: {reason}")
    for e in failed:
        print(f"FAILED: {e.name}: {e.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
