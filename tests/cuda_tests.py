#!/usr/bin/env python3
"""Runs pipebench-cuda the way users do and checks what comes out.

    cuda_tests.py run|list|errors|interrupt|trace <pipebench-cuda>

run: a tiny suite. With a GPU every entry must be verified and every pipelined entry
modelled (t_ideal recomputed here from the stage times); without one every entry must be
skipped with the reason, the binary must exit 0, and this test exits 77 (CTest: skipped).
trace: the same suite with --trace. With a GPU every entry must name a timeline that
scripts/pipebench_trace.py reads whole, one lane per stream, each stage of its plan once per
chunk; without one nothing may be written there, and this test exits 77.
list, errors and interrupt need no GPU: names and bad input are settled before any device work,
and a run without one (every entry a skip) still stops and keeps its file as any other.
Standard library only; exits non-zero with the first failed assertion."""
import json
import math
import os
import signal
import sys
import tempfile
from testlib import check, check_interrupts, fail, load_result, run
import pipebench_trace  # noqa: E402  (scripts/, on the path testlib sets)

SKIP = 77

# 64 KiB: 16384 floats, or 32 pairs of 16 x 16 matrices, in 8 chunks (the quick grid's streams go to 8).
TINY = ["--bytes", "64K", "--n", "16", "--chunks", "8", "--intensity", "2,64", "--no-probe",
        "--benchmark_min_time=0.001", "--benchmark_repetitions=1"]
VARIANTS = ["serial", "stage_h2d", "stage_kernel", "stage_d2h", "stage_h2d_d2h", "pipelined", "graph"]


def ideal(stages, chunks, streams, order, engines):
    """cuda/plan.hpp's ideal_time, written again from its comment."""
    h2d, kernel, d2h, both = stages
    pieces = chunks if order == "depth_first" else streams
    total = h2d + kernel + d2h
    copies = max(h2d, d2h, both) if engines >= 2 else max(h2d + d2h, both)
    period = max(kernel, copies, total / streams)
    return total / pieces + (pieces - 1) * period / pieces


def run_case(binary):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cuda.json")
        r = run(binary, *TINY, f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        doc, _ = load_result(out)
    ctx, runs = doc["context"], doc["benchmarks"]
    device = ctx.get("cuda/elementwise/device", "")
    for key in ["runtime_version", "driver_cuda_version", "architectures", "device", "model", "timing"]:
        check(f"cuda/elementwise/{key}" in ctx, f"context lacks cuda/elementwise/{key}")
    ran = {(b["pipebench"]["workload"], b["pipebench"]["variant"]) for b in runs}
    for workload in ["elementwise", "batched_matmul"]:
        for v in VARIANTS:
            check((workload, v) in ran, f"no cuda/{workload}/{v} entry ran")

    check("thread_binding" in ctx, "context lacks thread_binding")
    if device.startswith("no CUDA device"):
        for b in runs:
            msg = b.get("error_message", "")
            check(b.get("error_occurred") and msg == "skipped: " + device,
                  f"{b['name']}: expected 'skipped: {device}', got {msg!r}")
        check(ctx["thread_binding"] == "none: " + device, f"thread_binding {ctx['thread_binding']!r} without a device")
        check("after_run" not in doc["pipebench"], "an after-run reading without a device")
        print(f"all {len(runs)} entries skipped: {device}")
        sys.exit(SKIP)

    # Placed near the GPU (or the reason not), and the GPU read again after the run.
    for key in ["gpu_numa_node", "host_placement"]:
        check(f"cuda/elementwise/{key}" in ctx, f"context lacks cuda/elementwise/{key}")
    check(ctx["thread_binding"] == ctx["cuda/elementwise/host_placement"], "thread_binding is not the placement")
    after = doc["pipebench"].get("after_run", {})
    check("sm_clock_mhz_after_run" in after or "nvml" in after, f"no after-run reading: {doc['pipebench']}")

    engines = int(ctx["cuda/elementwise/async_engine_count"])
    by_name = {}
    for b in runs:
        check(not b.get("error_occurred"), f"{b['name']}: {b.get('error_message')}")
        by_name[b["run_name"]] = b
    for name, b in by_name.items():
        variant = b["pipebench"]["variant"]
        if variant != "stage_kernel":
            check(b.get("bytes_per_second", 0) > 0, f"{name}: no bytes/s")
        if variant in ("serial", "pipelined", "graph", "stage_kernel"):
            check(b.get("flops_per_second", 0) > 0, f"{name}: no FLOP/s")
        if variant in ("stage_h2d", "stage_d2h", "stage_h2d_d2h"):
            check(b.get("copy_peak_bytes_per_second", 0) > 0, f"{name}: no copy peak")
        p = b["pipebench"]["params"]
        label = b.get("label", "")
        check(b.get("host_issue_seconds", 0) > 0, f"{name}: no host_issue_seconds")
        pageable = p.get("memory") == "pageable"
        check(("host-synchronous" in label) == pageable and ("streams held" in label) != pageable,
              f"{name}: label {label!r} does not say how the streams ran")
        if variant not in ("pipelined", "graph"):
            continue
        check(b.get("t_serial", 0) > 0 and b.get("speedup", 0) > 0, f"{name}: no speedup")
        if pageable:  # no overlap by construction: no model, no efficiency claimed
            check("t_ideal" not in b and "efficiency" not in b and "no model: pageable" in label,
                  f"{name}: a model for host-synchronous copies")
            continue
        for c in ["t_ideal", "speedup_bound"]:
            check(b.get(c, 0) > 0, f"{name}: no {c}")
        check(("efficiency" in b and math.isfinite(b["efficiency"])) or "undefined" in label,
              f"{name}: neither an efficiency nor the reason there is none")
        check(b.get("efficiency", 0) <= 1.05 or "the model is off here" in label,
              f"{name}: efficiency {b.get('efficiency')} above 1.05 not flagged")
        stages = {s["variant"]: s["entry"] for s in b["pipebench"]["model"]["stages"]}
        kernel_stage = by_name.get(stages.get("stage_kernel"), {})
        check(kernel_stage.get("pipebench", {}).get("params", {}).get("streams") == p["streams"],
              f"{name}: its stage_kernel did not run on its {p['streams']} streams")

        def sibling(stage):
            if stages.get(stage) not in by_name:
                fail(f"{name}: no {stage} sibling")
            return by_name[stages[stage]]["real_time"] * 1e-6

        want = ideal([sibling(s) for s in ("stage_h2d", "stage_kernel", "stage_d2h", "stage_h2d_d2h")],
                     p["chunks"], p["streams"], p["order"], engines)
        check(abs(b["t_ideal"] - want) <= 1e-6 * want, f"{name}: t_ideal {b['t_ideal']} != {want}")
    print(f"all {len(runs)} entries verified on {device}")


# What each variant's timeline holds once per chunk (bench/cuda/chunked.cpp, traced_stages).
TRACED_STAGES = {"serial": ["h2d", "kernel", "d2h"], "pipelined": ["h2d", "kernel", "d2h"],
                 "graph": ["h2d", "kernel", "d2h"], "stage_h2d": ["h2d"], "stage_kernel": ["kernel"],
                 "stage_d2h": ["d2h"], "stage_h2d_d2h": ["h2d", "d2h"]}


def trace_case(binary):
    with tempfile.TemporaryDirectory() as tmp:
        out, traces = os.path.join(tmp, "cuda.json"), os.path.join(tmp, "traces")
        r = run(binary, *TINY, f"--trace={traces}", f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        doc, _ = load_result(out)
        runs = doc["benchmarks"]
        device = doc["context"].get("cuda/elementwise/device", "")
        if device.startswith("no CUDA device"):
            check(all(b.get("error_occurred") for b in runs), "an entry ran without a device")
            check(not os.path.exists(traces) or not os.listdir(traces), f"timelines written without a device: {traces}")
            print(f"all {len(runs)} entries skipped, no timeline written: {device}")
            sys.exit(SKIP)
        for b in runs:
            name = b["run_name"]
            check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
            meta = b["pipebench"]
            check("trace" in meta, f"{name}: names no timeline")
            try:
                t = pipebench_trace.load(pipebench_trace.resolve(meta["trace"], out))
            except pipebench_trace.TraceError as e:
                fail(str(e))
            problems = pipebench_trace.problems(t)
            check(problems == [], f"{name}: {t.path}: " + "; ".join(problems[:5]))
            check(t.entry == name, f"{t.path}: entry {t.entry!r}, not {name!r}")
            variant, p = meta["variant"], meta["params"]
            streams = p.get("streams", 2 if variant == "stage_h2d_d2h" else 1)
            check(t.expect["stages"] == TRACED_STAGES[variant] and t.expect["items"] == p.get("chunks", 1),
                  f"{name}: expects {t.expect}")
            labels = [lane.label for lane in t.lanes]
            check(labels == [f"stream {s}" for s in range(streams)], f"{name}: lanes {labels}")
            # The event times sit inside the pass the host timed around them.
            begin, end = t.span()
            check(end - begin <= t.meta["trace_pass_seconds"], f"{name}: timeline spans {end - begin} s, "
                  f"more than its pass's {t.meta['trace_pass_seconds']} s")
            check(b.get("trace_pass_seconds", 0) > 0, f"{name}: no trace_pass_seconds counter")
    print(f"all {len(runs)} entries traced on {device}")


def list_case(binary):
    r = run(binary, "--benchmark_list_tests")
    check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
    names = r.stdout.split()
    for name in ["cuda/elementwise/serial/bytes:67108864/intensity:4096/memory:pinned",
                 "cuda/elementwise/stage_h2d/bytes:67108864/chunks:32/memory:pageable",
                 "cuda/elementwise/stage_kernel/bytes:67108864/chunks:32/intensity:4096/streams:4",
                 "cuda/elementwise/stage_h2d_d2h/bytes:67108864/chunks:32/memory:pinned",
                 "cuda/elementwise/pipelined/bytes:67108864/chunks:32/intensity:4096/memory:pinned/order:depth_first/streams:4",
                 "cuda/elementwise/pipelined/bytes:67108864/chunks:32/intensity:64/memory:pageable/order:breadth_first/streams:1",
                 "cuda/elementwise/graph/bytes:67108864/chunks:32/intensity:4096/memory:pinned/order:breadth_first/streams:8",
                 "cuda/batched_matmul/serial/bytes:67108864/n:128/memory:pinned",
                 "cuda/batched_matmul/pipelined/bytes:67108864/n:128/chunks:32/memory:pinned/order:depth_first/streams:2"]:
        check(name in names, f"missing entry {name}")
    check(not any("/graph/" in n and "pageable" in n for n in names), "a graph entry from pageable memory")
    # The kernel stage runs on each stream count the pipelined entries use (cuda/plan.hpp's stage_plan).
    pipelined_streams = {n.split("/streams:")[1] for n in names if "/elementwise/pipelined/" in n}
    kernel_streams = {n.split("/streams:")[1] for n in names if "/elementwise/stage_kernel/" in n}
    check(pipelined_streams == kernel_streams, f"stage_kernel streams {kernel_streams} != pipelined {pipelined_streams}")
    full = run(binary, "--full", "--benchmark_list_tests")
    check(full.returncode == 0 and len(full.stdout.split()) > len(names), "--full is not a larger grid")


def errors_case(binary):
    cases = [(["--chunks", "2"], "--streams"),  # the grid's 4 and 8 streams need as many chunks
             (["--bytes", "6"], "--bytes"),
             (["--bytes", "64K", "--n", "16", "--chunks", "100000"], "--chunks"),
             (["--n", "3"], "--n"),
             (["--n", "8192"], "--n"),
             (["--intensity", "3"], "--intensity"),
             (["--bytes", "4000G"], "--bytes")]
    help_text = run(binary, "--help").stdout
    # Once options.cpp takes the CUDA axes, their bad values must fail the same way.
    if "--streams" in help_text:
        cases += [(["--streams", "0"], "--streams"), (["--streams", "9", "--chunks", "8"], "--streams"),
                  (["--streams", "33", "--chunks", "64"], "--streams")]  # beyond the 32 hardware queues
    if "--order" in help_text:
        cases.append((["--order", "sideways"], "--order"))
    if "--memory" in help_text:
        cases.append((["--memory", "swap"], "--memory"))
    for args, option in cases:
        r = run(binary, *args)
        where = " ".join(args)
        check(r.returncode == 2, f"{where}: exit {r.returncode}, expected 2")
        lines = r.stderr.strip().splitlines()
        check(len(lines) == 1, f"{where}: {len(lines)} lines on stderr: {r.stderr!r}")
        check(option in lines[0], f"{where}: the error does not name {option}: {lines[0]!r}")
        check(r.stdout == "", f"{where}: wrote to stdout: {r.stdout[:200]!r}")


def interrupt_case(binary):
    """Stopped at the start and between entries (many repetitions make a run without a GPU, whose
    entries are skips, last long enough to stop)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cuda.json")
        cmd = [binary, *TINY, "--benchmark_repetitions=2000"]
        seen = check_interrupts(cmd, out, [(0, signal.SIGINT, True), (3, signal.SIGTERM, True),
                                           (10, signal.SIGINT, True)])
    print("interrupts:", "; ".join(seen))


if __name__ == "__main__":
    cases = {"run": run_case, "list": list_case, "errors": errors_case, "interrupt": interrupt_case,
             "trace": trace_case}
    if len(sys.argv) != 3 or sys.argv[1] not in cases:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cases[sys.argv[1]](sys.argv[2])
