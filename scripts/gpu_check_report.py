#!/usr/bin/env python3
"""The report scripts/gpu-check.sh prints after the quick CUDA suite: the device, the copy
rates against the copy peak, the best pipelined entry per point, and whether the run can be
trusted (trust_checks: the conditions a first GPU run must meet before its numbers are used).

    gpu_check_report.py CUDA_JSON [CTEST_OUTPUT]

Exit 0 when no entry failed and every trust condition that could be checked was met."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipebench_results import ResultError, load  # noqa: E402

# FP32 lanes per SM by compute capability (CUDA C Programming Guide, "Arithmetic Instructions"
# throughput table: 32-bit floating-point add, multiply, multiply-add per clock per SM).
FP32_LANES = {(7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128, (8, 9): 128, (9, 0): 128,
              (10, 0): 128, (12, 0): 128}
SLACK = 0.05  # "within a few per cent", "under 5 %"


def fp32_peak_flops(ctx, dev):
    """sm_count x FP32 lanes x 2 (an FMA) x the SM clock's peak; None where a value is unknown."""
    try:
        major, minor = (int(x) for x in dev("compute_capability").split("."))
        lanes = FP32_LANES.get((major, minor))
        sms, mhz = int(dev("sm_count")), float(dev("sm_clock_peak_mhz"))
    except (ValueError, AttributeError):
        return None
    return None if lanes is None else sms * lanes * 2 * mhz * 1e6


def trust_checks(ctx, entries, ctest_text):
    """[(condition, met: True/False/None (could not be checked), detail)] of one run: `ctx` the
    result's context, `entries` its entries (pipebench_results.Entry or alike), `ctest_text`
    the output of the CUDA tests (None: not run)."""
    def dev(key, default=None):
        return ctx.get(f"cuda/elementwise/{key}", default)

    checks = []
    named = {"device": dev("device"), "compute capability": dev("compute_capability"), "SM count": dev("sm_count"),
             "copy engines": dev("async_engine_count"), "PCIe link": dev("pcie_link_max"),
             "NUMA node": dev("gpu_numa_node")}
    missing = [k for k, v in named.items() if not v or str(v).startswith(("no CUDA device", "unknown"))]
    checks.append(("the context names the GPU, compute capability, SM count, copy engines, PCIe link and NUMA node",
                   not missing, "missing: " + ", ".join(missing) if missing else dev("device")))

    if ctest_text is None:
        checks.append(("every CUDA test passes and none skips", None, "not run"))
    else:
        passed = re.search(r"100% tests passed, 0 tests failed out of (\d+)", ctest_text)
        skipped = "Skipped" in ctest_text or "***Not Run" in ctest_text
        checks.append(("every CUDA test passes and none skips", bool(passed) and not skipped,
                       f"{passed.group(1)} passed" + (", some skipped" if skipped else "") if passed
                       else "failures (see ctest.txt)"))

    failed = [e.name for e in entries if e.outcome == "failed"]
    skipped = [e.name for e in entries if e.outcome == "skipped"]
    checks.append(("no entry fails verification or skips", not failed and not skipped,
                   f"{len(failed)} failed, {len(skipped)} skipped" + (f" (first: {(failed + skipped)[0]})"
                                                                       if failed or skipped else "")))
    ok = [e for e in entries if e.outcome == "ok" and e.seconds]

    peak = fp32_peak_flops(ctx, dev)
    kernel_rates = [(e.value("flops_per_second"), e.name) for e in ok if e.variant == "stage_kernel"]
    kernel_rates = [(r, n) for r, n in kernel_rates if r]
    if peak is None or not kernel_rates:
        checks.append(("stage_kernel FLOP/s below the FP32 peak", None,
                       "no FP32 peak known for this device" if peak is None else "no stage_kernel entry"))
    else:
        top, name = max(kernel_rates)
        checks.append(("stage_kernel FLOP/s below the FP32 peak", top < peak,
                       f"highest {top / 1e12:.1f} of {peak / 1e12:.1f} TFLOP/s ({name})"))

    def serial_of(e):
        keep = {k: v for k, v in e.params.items() if k not in ("chunks", "streams", "order")}
        return next((s for s in ok if s.workload == e.workload and s.variant == "serial" and s.params == keep), None)

    one = []
    for e in ok:
        if e.variant == "pipelined" and e.params.get("streams") == 1 and e.params.get("memory") != "pageable":
            s = serial_of(e)
            if s:
                one.append((abs(e.seconds / s.seconds - 1), e.name))
    checks.append((f"pipelined on one stream within {SLACK:.0%} of serial", max(one)[0] <= SLACK if one else None,
                   f"worst {max(one)[0]:.1%} ({max(one)[1]})" if one else "no such entry"))

    over = []
    for e in ok:
        sp, bound = e.value("speedup"), e.value("speedup_bound")
        if e.variant in ("pipelined", "graph") and sp and bound:
            over.append((sp / bound, e.name))
    checks.append((f"speedup within {SLACK:.0%} of its bound", max(over)[0] <= 1 + SLACK if over else None,
                   f"highest speedup/bound {max(over)[0]:.2f} ({max(over)[1]})" if over else "no modelled entry"))

    pageable = [(abs(e.value("speedup") - 1), e.name) for e in ok
                if e.variant == "pipelined" and e.params.get("memory") == "pageable" and e.value("speedup")]
    checks.append(("pageable speedup about 1 (within 10 %)", max(pageable)[0] <= 0.10 if pageable else None,
                   f"furthest {max(pageable)[0]:.1%} from 1 ({max(pageable)[1]})" if pageable else "no pageable entry"))

    cvs = [(e.cv, e.name) for e in ok if e.cv is not None]
    checks.append((f"repetitions vary by under {SLACK:.0%} (cv)", max(cvs)[0] < SLACK if cvs else None,
                   f"largest cv {max(cvs)[0]:.1%} ({max(cvs)[1]})" if cvs else "no repetitions"))
    return checks


def seconds(b):
    return b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]


def gbs(v):
    return f"{v / 1e9:.1f} GB/s" if v else "-"


def report(results, ctest_text):
    ctx = results.files[0].context

    def dev(key, default="?"):
        return ctx.get(f"cuda/elementwise/{key}", default)

    errors = {e.name: e.error for e in results.entries if e.error}
    device = dev("device")
    if device.startswith("no CUDA device"):
        print(f"gpu-check: nothing measured: {device}")
        return 1

    def find(workload, variant, **params):
        """(parameters, median run) of the entries of cuda/<workload> with this variant and these
        parameter values."""
        for e in results.with_result():
            if e.workload == workload and e.variant == variant and all(e.params.get(k) == v for k, v in params.items()):
                yield e.params, e.run

    link = dev("pcie_link_max", dev("nvml", "?"))
    print(f"device: {device} ({dev('sm_count')} SMs, {dev('async_engine_count')} copy engines, PCIe {link}, "
          f"NUMA node {dev('gpu_numa_node')}), driver {dev('driver_version', '?')} (CUDA {dev('driver_cuda_version')}), "
          f"runtime {dev('runtime_version')}")
    print(f"host thread: {ctx.get('thread_binding', '?')}")
    peak = {}
    for stage in ("stage_h2d", "stage_d2h", "stage_h2d_d2h"):
        for p, b in find("elementwise", stage, memory="pinned"):
            peak[stage] = b.get("copy_peak_bytes_per_second")
    print(f"copy peak (one 256 MiB copy, pinned, the best of 5; the stages below are medians): "
          f"H2D {gbs(peak.get('stage_h2d'))}, D2H {gbs(peak.get('stage_d2h'))}, both at once {gbs(peak.get('stage_h2d_d2h'))}")
    copies_met = True
    for memory in ("pinned", "registered", "pageable"):
        cells = []
        chunks = None
        for stage, label in (("stage_h2d", "H2D"), ("stage_d2h", "D2H"), ("stage_h2d_d2h", "both")):
            for p, b in find("elementwise", stage, memory=memory):
                rate = b.get("bytes_per_second")
                frac = rate / peak[stage] if rate and peak.get(stage) else None
                cells.append(f"{label} {gbs(rate)}" + (f" ({frac:.2f} of peak)" if frac else ""))
                if memory == "pinned" and stage != "stage_h2d_d2h" and (frac is None or frac < 0.9):
                    copies_met = False
                chunks = p["chunks"]
        if cells:
            print(f"{memory:>10} copies in {chunks} chunks: " + ", ".join(cells))
    print(f"target H2D and D2H >= 0.9 of the pinned peak: {'met' if copies_met else 'NOT met'}")

    balance = None
    for workload, axis in (("elementwise", "intensity"), ("batched_matmul", "n")):
        rows = []
        points = sorted({(p[axis], p["memory"]) for p, _ in find(workload, "pipelined")},
                        key=lambda pm: (pm[1] != "pinned", pm[0]))
        for value, memory in points:
            best = min(find(workload, "pipelined", **{axis: value, "memory": memory}), key=lambda pb: seconds(pb[1]))
            p, b = best
            graphs = list(find(workload, "graph", **{axis: value, "memory": memory}))
            graph = min(graphs, key=lambda pb: seconds(pb[1])) if graphs else None
            # The kernel stage on the best entry's streams, as its model used it.
            kernel = next((seconds(k) for _, k in find(workload, "stage_kernel", **{axis: value, "streams": p["streams"]})),
                          None)
            copy = max((seconds(c) for st in ("stage_h2d", "stage_d2h") for _, c in find(workload, st, memory=memory)),
                       default=None)
            ratio = kernel / copy if kernel and copy else None
            serial = next((seconds(s) for _, s in find(workload, "serial", **{axis: value, "memory": memory})), None)
            eff = b.get("efficiency")
            issue = b.get("host_issue_seconds")
            rows.append([f"{axis}:{value}", memory, f"{ratio:.2f}" if ratio else "-",
                         f"{serial * 1e3:.3g} ms" if serial else "-",
                         f"{seconds(b) * 1e3:.3g} ms (k={p['streams']}, {p['order']})",
                         f"{b.get('speedup', 0):.2f}x", f"{b['speedup_bound']:.2f}x" if "speedup_bound" in b else "-",
                         "-" if eff is None else f"{eff:.2f}" + (" (!)" if eff > 1.05 else ""),
                         f"{issue * 1e6:.0f} us" if issue else "-",
                         f"{seconds(graph[1]) * 1e3:.3g} ms (k={graph[0]['streams']}, {graph[0]['order']})" if graph else "-"])
            if workload == "elementwise" and memory == "pinned" and ratio and \
                    (balance is None or abs(ratio - 1) < abs(balance[1] - 1)):
                balance = (value, ratio, eff)
        if not rows:
            continue
        header = ["point", "memory", "kernel:copy", "serial", "best pipelined", "speedup", "bound", "efficiency",
                  "host issue", "best graph"]
        widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
        print(f"\ncuda/{workload}: serial vs pipelined over k streams (best k and issue order per point; medians)")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for r in rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print("\nkernel:copy = stage_kernel (on the entry's streams) / the slower copy stage (below 1 copy-bound, above 1 "
          "compute-bound); efficiency = (T_serial - T_pipelined) / (T_serial - T_ideal), T_ideal the model's from the "
          "stage-alone times, none for pageable memory (host-synchronous copies); (!): above 1.05, the model, not the "
          "overlap, is off there (breadth-first assumes each copy engine finishes one stream's share before the "
          "next): check it against the timeline; host issue: the host's time to issue the run, outside the timed "
          "window where the streams were held (pinned, registered)")
    if balance:
        value, ratio, eff = balance
        met = eff is not None and eff >= 0.9
        print(f"\nat balance (elementwise intensity:{value}, kernel:copy {ratio:.2f}): efficiency "
              f"{'-' if eff is None else f'{eff:.2f}'}; target >= 0.9: {'met' if met else 'NOT met'}")
    after = results.files[0].after_run
    if after:
        print("after the run: " + ", ".join(f"{k} {v}" for k, v in after.items()))
    checks = trust_checks(ctx, results.entries, ctest_text)
    print("\ntrusted run?")
    for condition, met, detail in checks:
        print(f"  {'met' if met else 'NOT met' if met is False else 'not checked'}: {condition} -- {detail}")
    trusted = all(met is not False for _, met, _ in checks)
    print(f"trusted: {'yes' if trusted else 'no'}")
    for name, msg in errors.items():
        print(f"{'skipped' if msg.startswith('skipped') else 'FAILED'}: {name}: {msg}")
    return 1 if any(not m.startswith("skipped") for m in errors.values()) or not trusted else 0


def main(argv):
    if not argv or len(argv) > 2:
        print("usage: gpu_check_report.py CUDA_JSON [CTEST_OUTPUT]", file=sys.stderr)
        return 2
    try:
        results = load([argv[0]])
    except ResultError as e:
        print(f"gpu-check: {e}")
        return 1
    ctest_text = None
    if len(argv) > 1:
        try:
            with open(argv[1]) as f:
                ctest_text = f.read()
        except OSError:
            ctest_text = None
    return report(results, ctest_text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
