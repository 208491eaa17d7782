#!/usr/bin/env python3
"""Runs a pipebench binary the way users do and checks what comes out.

    binary_tests.py smoke|overlap|summary|filtered|errors|help|list|interrupt|write_errors <pipebench-cpu>
    binary_tests.py selftest|selftest_interrupt <pipebench-selftest>

Standard library only; exits non-zero with the first failed assertion."""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import signal
import shutil
from testlib import (TIMEOUT, EARLIER, check, check_interrupts, check_model, check_schema, fail, load_json, load_result,
                     run, skip, temp_files)


TINY = ["--bytes", "65536", "--n", "40", "--chains", "1,4", "--chunks", "5", "--depth", "1,2",
        "--intensity", "2,6", "--benchmark_min_time=0.001", "--benchmark_repetitions=1"]


def smoke(binary):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cpu.json")
        slurm = {"SLURM_JOB_ID": "4242", "SLURM_CPUS_PER_TASK": "2"}  # as a batch job sees them
        r = run(binary, *TINY, "--data-dir", tmp, f"--benchmark_out={out}", env=slurm)
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        check("cpu/overlap/pipelined" in r.stdout, "console output lacks the pipelined entries")
        check(os.listdir(tmp) == ["cpu.json"], f"data files left behind: {os.listdir(tmp)}")
        doc, results = load_result(out)
    check(doc["pipebench"]["status"] == "complete" and doc["pipebench"]["not_run"] == [], f"{doc['pipebench']}")
    check(doc["pipebench"]["entries_written"] == doc["pipebench"]["entries_registered"], f"{doc['pipebench']}")
    ctx = doc["context"]
    for key in ["pipebench_version", "git_revision", "compiler", "cxx_flags", "build_type", "topology", "cores",
                "numa_nodes", "cache_l1_bytes", "cache_l2_bytes", "cache_l3_bytes", "thread_binding", "kernel",
                "kernel_isa", "fma_peak_gflops", "read_bw_gbs_L1", "read_bw_gbs_DRAM", "openblas_corename", "openblas_core_choice",
                "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "cpu/matmul/blocked_kernel"]:
        check(key in ctx, f"context lacks {key}")
    check(float(ctx["fma_peak_gflops"]) > 0, "FMA peak not measured")
    check(ctx.get("slurm_job_id") == "4242" and ctx.get("slurm_cpus_per_task") == "2", "Slurm job not in the context")

    runs = {b["name"]: b for b in doc["benchmarks"]}
    for name, b in runs.items():
        check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
        check("real_time" not in name.split("/"), f"{name}: the name carries Google Benchmark's suffix")

    expected = ["cpu/sumsq/serial/bytes:65536", "cpu/sumsq/ilp/bytes:65536/chains:4", "cpu/sumsq/reference/bytes:65536",
                "cpu/matmul/serial/n:40", "cpu/matmul/ilp/n:40/chains:1", "cpu/matmul/blocked/n:40",
                "cpu/matmul/reference/n:40"]
    for source in ["generator", "file"]:
        expected += [f"cpu/overlap/serial/bytes:65536/chunks:5/intensity:6/source:{source}",
                     f"cpu/overlap/stage_load/bytes:65536/chunks:5/source:{source}",
                     f"cpu/overlap/stage_compute/bytes:65536/chunks:5/intensity:6/source:{source}",
                     f"cpu/overlap/pipelined/bytes:65536/chunks:5/depth:2/intensity:6/source:{source}",
                     f"cpu/overlap/pipelined/bytes:65536/chunks:5/depth:1/intensity:2/source:{source}",
                     f"cpu/overlap/stage_handoff/bytes:65536/chunks:5/depth:2/source:{source}"]
    expected += ["cpu/contention/serial/bytes:65536/chunks:5/intensity:6",
                 "cpu/contention/stage_both/bytes:65536/chunks:5/intensity:6",
                 "cpu/contention/pipelined/bytes:65536/chunks:5/depth:2/intensity:6"]
    for name in expected:
        check(name in runs, f"missing entry {name}")

    # What each entry is, from its fields: never from its name.
    by_name = {e.name: e for e in results.entries}
    p = by_name["cpu/overlap/pipelined/bytes:65536/chunks:5/depth:2/intensity:6/source:file"]
    check((p.pair, p.variant, p.role) == ("cpu/overlap", "pipelined", "pipelined"), f"{p.pair} {p.variant} {p.role}")
    check(p.params == {"bytes": 65536, "chunks": 5, "depth": 2, "intensity": 6, "source": "file"}, f"{p.params}")
    check(p.sibling_names == {"serial": "cpu/overlap/serial/bytes:65536/chunks:5/intensity:6/source:file"},
          f"{p.sibling_names}")
    check([(v, k, s.name) for v, k, s in results.stages(p)] ==
          [("stage_load", "transfer", "cpu/overlap/stage_load/bytes:65536/chunks:5/source:file"),
           ("stage_compute", "compute", "cpu/overlap/stage_compute/bytes:65536/chunks:5/intensity:6/source:file")],
          f"{results.stages(p)}")
    check(p.model["formula"] == "pipeline" and p.model["chunks"] == 5 and p.model["depth"] == 2, f"{p.model}")
    ilp = by_name["cpu/sumsq/ilp/bytes:65536/chains:4"]
    check(ilp.role == "alternative" and results.sibling(ilp, "reference").name == "cpu/sumsq/reference/bytes:65536",
          f"{ilp.role} {ilp.sibling_names}")
    check(check_model(results) == 12, "not every pipelined entry's model was checked")
    for name in runs:
        if name.startswith(("cpu/overlap/pipelined/", "cpu/contention/pipelined/")) and "/depth:2/" in name:
            key = "t_ideal_handoff" if "/overlap/" in name else "t_ideal_contended"
            check(key in runs[name], f"{name}: no {key}")

    for name, b in runs.items():
        # The pairs that compute say how fast; a pair that only moves data (a pointer chase) has no FLOPs.
        if name.startswith(("cpu/sumsq/", "cpu/matmul/", "cpu/overlap/", "cpu/contention/")) and \
                "/stage_load/" not in name and "/stage_handoff/" not in name:
            check(b.get("flops_per_second", 0) > 0, f"{name}: no FLOP/s")
        if "/stage_compute/" not in name:
            check(b.get("bytes_per_second", 0) > 0, f"{name}: no bytes/s")
        if "/pipelined/" in name:
            for c in ["t_ideal", "t_serial", "speedup", "speedup_bound"]:
                check(c in b and b[c] > 0, f"{name}: no {c}")
            check(("efficiency" in b and math.isfinite(b["efficiency"])) or "undefined" in b.get("label", ""),
                  f"{name}: neither an efficiency nor the reason there is none")
            check("load:" in b.get("label", ""), f"{name}: the label does not say how threads were bound")
            if int(ctx["cores"]) >= 2:
                check(b.get("core_round_trip_ns", 0) > 0, f"{name}: no core-to-core round trip")
        if "/ilp/" in name or "/blocked/" in name:
            check(b.get("speedup", 0) > 0 and b.get("vs_reference", 0) > 0, f"{name}: no speedup or vs_reference")
        if name.startswith(("cpu/sumsq/", "cpu/matmul/")):
            check(0 < b.get("roofline_fraction", 0), f"{name}: no roofline")


def overlap(binary):
    """The thread pipeline end to end (run under ThreadSanitizer by scripts/test.sh)."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run(binary, *TINY, "--depth", "1,2,3,8", "--no-probe", "--data-dir", tmp,
                "--benchmark_filter=overlap", "--benchmark_format=json")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
    runs = json.loads(r.stdout)["benchmarks"]
    # Per source: serial and stage_compute per intensity, stage_load, stage_handoff per depth,
    # pipelined per depth and intensity.
    check(len(runs) == 2 * (2 + 1 + 2 + 4 + 8), f"expected 34 overlap entries, got {len(runs)}")
    for b in runs:
        check(not b.get("error_occurred"), f"{b['name']}: {b.get('error_message')}")
    by_name = {b["name"]: b for b in runs}
    for name, b in by_name.items():
        if "/pipelined/" in name and "/depth:1/" in name:
            # One slot cannot overlap: the model's best is the stages one after another.
            load = by_name[re.sub(r"pipelined/(.*)/depth:1/intensity:\d+/", r"stage_load/\1/", name)]
            compute = by_name[name.replace("pipelined", "stage_compute").replace("/depth:1", "")]
            stages = (load["real_time"] + compute["real_time"]) * 1e-6
            check(abs(b["t_ideal"] - stages) <= 1e-9 * stages, f"{name}: t_ideal {b['t_ideal']} != {stages}")
    # A ring deeper than the chunks is capped, not allocated.
    r = run(binary, *TINY, "--depth", "1000000000", "--no-probe", "--benchmark_filter=overlap/pipelined/.*generator")
    check(r.returncode == 0, f"--depth 1000000000: exit {r.returncode}\n{r.stderr}")


def trace(binary):
    """--trace: one valid timeline per traced entry, named by the result; the traced pass is
    verified; without --trace nothing of it appears, and the timed entries are the same."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
    import pipebench_trace
    flt = "--benchmark_filter=cpu/(overlap|contention)/.*"
    with tempfile.TemporaryDirectory() as tmp:
        traces = os.path.join(tmp, "traces")  # created by the run
        out = os.path.join(tmp, "traced.json")
        r = run(binary, *TINY, "--no-probe", "--data-dir", tmp, flt, "--trace", traces, f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        check_schema(out)
        _, traced = load_result(out)
        named = [e for e in traced.entries if e.trace]
        pipelined = [e for e in traced.entries if e.role == "pipelined"]
        check(pipelined and all(e.trace for e in pipelined), "a pipelined entry without its trace")
        for e in named:
            check(e.value("trace_pass_seconds") is not None and e.value("trace_pass_seconds") > 0,
                  f"{e.name}: no trace_pass_seconds")
            t = pipebench_trace.load(e.trace)
            check(t.entry == e.name, f"{e.trace}: names {t.entry}, not {e.name}")
            check(pipebench_trace.problems(t) == [], f"{e.name}: {pipebench_trace.problems(t)[:3]}")
            chunks = e.params["chunks"]
            stage = [i for _, i in t.stage_intervals()]
            if e.role == "pipelined":
                check(len(t.lanes) == 2 and len(stage) == 2 * chunks, f"{e.name}: {len(t.lanes)} lanes, {len(stage)}")
                check({i.name for i in stage} == {"load", "compute"}, f"{e.name}: {sorted({i.name for i in stage})}")
        check(sorted(os.listdir(traces)) == sorted(os.path.basename(e.trace) for e in named),
              f"files in {traces} are not those the result names")

        # The traced pass is verified like the timed ones: left unrun (the seam), its poisoned
        # outputs fail every traced entry, and no timeline is written for them.
        seam = os.path.join(tmp, "seam")
        r = run(binary, *TINY, "--no-probe", "--data-dir", tmp, "--benchmark_filter=cpu/overlap/pipelined/.*generator",
                "--trace", seam, env={"PIPEBENCH_TEST_TRACE_FAULT": "skip_pass"})
        check(r.returncode == 1 and "verification failed" in r.stderr, f"an unrun traced pass passed: exit {r.returncode}")
        check(not os.path.exists(seam) or os.listdir(seam) == [], "a timeline was written for a failed traced pass")
        r = run(binary, *TINY, "--no-probe", flt, env={"PIPEBENCH_TEST_TRACE_FAULT": "bogus"})
        check(r.returncode == 2 and "PIPEBENCH_TEST_TRACE_FAULT" in r.stderr, f"a bad seam value: exit {r.returncode}")
        plain_out = os.path.join(tmp, "plain.json")
        r = run(binary, *TINY, "--no-probe", "--data-dir", tmp, flt, f"--benchmark_out={plain_out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        _, plain = load_result(plain_out)
        check(all(not e.trace and e.value("trace_pass_seconds") is None for e in plain.entries),
              "a run without --trace names a trace or reports trace_pass_seconds")
        check([e.name for e in plain.entries] == [e.name for e in traced.entries], "tracing changed the entries")
        # The same fields, but for those a measurement decides (an efficiency is undefined when
        # the model allows no gain; the label then says so).
        measured = ("real_time", "cpu_time", "label", "efficiency", "efficiency_handoff", "efficiency_contended")
        for a, b in zip(plain.entries, traced.entries):
            check({k: v for k, v in a.run["pipebench"].items() if k != "trace"} ==
                  {k: v for k, v in b.run["pipebench"].items() if k != "trace"}, f"{a.name}: descriptions differ")
            ka = {k for k in a.run if k not in measured}
            kb = {k for k in b.run if k not in measured + ("trace_pass_seconds",)}
            check(ka == kb, f"{a.name}: tracing changed the fields {sorted(ka ^ kb)}")

        # Bad --trace: one line naming it, exit 2, nothing written.
        afile = os.path.join(tmp, "afile")
        open(afile, "w").close()
        for bad in [afile, os.path.join(tmp, "no", "such", "dir")]:
            r = run(binary, *TINY, "--no-probe", flt, "--trace", bad)
            check(r.returncode == 2 and r.stderr.count("\n") == 1 and "--trace" in r.stderr,
                  f"--trace {bad}: exit {r.returncode}, {r.stderr!r}")
        check(not os.path.exists(os.path.join(tmp, "no")), "a refused --trace created a folder")


def filtered(binary):
    r = run(binary, *TINY, "--no-probe", "--benchmark_filter=overlap/pipelined/.*source:generator",
            "--benchmark_format=json")
    check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
    runs = json.loads(r.stdout)["benchmarks"]
    check(len(runs) == 4, f"expected 4 pipelined entries, got {len(runs)}")
    for b in runs:
        check("efficiency" not in b and "t_ideal" not in b, f"{b['name']}: a model without its siblings")
        check("no model: serial, stage_load, stage_compute not run" in b.get("label", ""),
              f"{b['name']}: the label does not say what is missing: {b.get('label')}")


ERRORS = [
    (["--bytes", "0"], "--bytes"),
    (["--bytes", "-5"], "--bytes"),
    (["--bytes", "6"], "--bytes"),
    (["--bytes", "12Q"], "--bytes"),
    (["--n", "0"], "--n"),
    (["--n", "99999"], "--n"),
    (["--bytes", "4000G"], "--bytes"),
    (["--chunks", "0"], "--chunks"),
    # A point no pair but cpu/overlap refuses: other pairs may refuse --bytes 64 first.
    (["--chunks", "100", "--bytes", "64", "--benchmark_filter=overlap"], "--chunks"),
    (["--chains", "33", "--benchmark_filter=chase"], "--chains"),
    (["--chains", "65"], "--chains"),
    (["--bytes", "96", "--benchmark_filter=chase"], "--bytes"),
    (["--depth", "0"], "--depth"),
    (["--intensity", "3"], "--intensity"),
    (["--chains", "17"], "--chains"),
    (["--chains", "x"], "--chains"),
    (["--source", "tape"], "--source"),
    (["--data-dir", "/nonexistent/pipebench"], "--data-dir"),
    (["--isa", "sse9"], "--isa"),
    (["--quick", "--full"], "--full"),
    (["--bogus"], "--bogus"),
    (["--benchmark_filter=("], "--benchmark_filter"),
    (["--benchmark_filter=no-such-entry"], "--benchmark_filter"),
    (["--benchmark_format=xml"], "--benchmark_format"),
    (["--benchmark_out=/nonexistent/dir/out.json"], "--benchmark_out"),
    (["--benchmark_out="], "--benchmark_out"),
    (["--benchmark_out=/proc/out.json"], "--benchmark_out"),
    (["--chunks", "9223372036854775808"], "--chunks"),
    (["--chunks", "18446744073709551616"], "--chunks"),
    (["--depth", "4294967297"], "--depth"),
    (["--n", "9223372036854775807"], "--n"),
    (["--bytes", "9223372036854775808"], "--bytes"),
    (["--intensity", "-2"], "--intensity"),
    (["--seed", "-5"], "--seed"),
    (["--seed", "18446744073709551616"], "--seed"),
    (["--seed", "12x"], "--seed"),
    (["--benchmark_repetitions=0"], "--benchmark_repetitions"),
    (["--benchmark_repetitions=-3"], "--benchmark_repetitions"),
    (["--benchmark_repetitions=2147483648"], "--benchmark_repetitions"),
    (["--benchmark_min_time=0.5s"], "--benchmark_min_time"),
    (["--benchmark_min_time=-1"], "--benchmark_min_time"),
    (["--benchmark_min_warmup_time=x"], "--benchmark_min_warmup_time"),
    (["--benchmark_enable_random_interleaving=maybe"], "--benchmark_enable_random_interleaving"),
    (["--benchmark_out_format=csv"], "--benchmark_out_format"),
    (["--benchmark_color=purple"], "--benchmark_color"),
    (["--benchmark_time_unit=h"], "--benchmark_time_unit"),
    (["--benchmark_context=nokey"], "--benchmark_context"),
    (["--benchmark_bogus=1"], "--benchmark_bogus"),
    (["--v=x"], "--v"),
]

# The environment is input too: a temp directory that cannot take the file source's data.
ENV_ERRORS = [
    ({"TMPDIR": "/nonexistent/pipebench"}, ["--source", "file", "--benchmark_filter=overlap"], "TMPDIR"),
]


def errors(binary):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        for args, option in ERRORS:
            own_out = any(a.startswith("--benchmark_out=") for a in args)
            r = run(binary, *args, *([] if own_out else [f"--benchmark_out={out}"]))
            where = " ".join(args)
            check(r.returncode != 0, f"{where}: exit 0")
            lines = r.stderr.strip().splitlines()
            check(len(lines) == 1, f"{where}: {len(lines)} lines on stderr: {r.stderr!r}")
            check(option in lines[0], f"{where}: the error does not name {option}: {lines[0]!r}")
            check(r.stdout == "", f"{where}: wrote to stdout: {r.stdout[:200]!r}")
            check(not os.path.exists(out), f"{where}: wrote {out} half-way")
            check(not temp_files(tmp, "out.json"), f"{where}: left temporary files")
        for env, args, option in ENV_ERRORS:
            r = run(binary, *args, f"--benchmark_out={out}", env=env)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and option in lines[0],
                  f"{env} {args}: exit {r.returncode}, stderr {r.stderr!r}")
            check(not os.path.exists(out), f"{env}: wrote {out}")
        # Bad input leaves an earlier result as it was.
        with open(out, "w") as f:
            f.write(EARLIER)
        r = run(binary, "--chunks", "0", f"--benchmark_out={out}")
        check(r.returncode == 2 and open(out).read() == EARLIER, "bad input touched the earlier file")


def selftest(binary):
    with tempfile.TemporaryDirectory() as tmp:
        for variant, rc, message in [("serial", 0, None),
                                     ("wrong", 1, "verification failed: max relative error"),
                                     ("stale", 1, "verification failed: result is not finite"),
                                     ("throws", 1, "error: the stage broke"),
                                     ("skips", 0, "skipped: no such device here")]:
            out = os.path.join(tmp, variant + ".json")
            r = run(binary, f"--benchmark_filter=faults/{variant}/", "--no-probe", "--benchmark_min_time=0.001",
                    "--benchmark_repetitions=1", f"--benchmark_out={out}")
            check(r.returncode == rc, f"{variant}: exit {r.returncode}, expected {rc}\n{r.stderr}")
            check_schema(out)
            (b,) = load_json(out)["benchmarks"]
            if message:
                check(b.get("error_occurred") and message in b.get("error_message", ""),
                      f"{variant}: error_message {b.get('error_message')!r} lacks {message!r}")
                if rc:
                    check(message.split(":")[0] in r.stderr, f"{variant}: nothing said on stderr")
            else:
                check(not b.get("error_occurred"), f"{variant}: {b.get('error_message')}")
        # An error the domain says leaves the process unable to go on (CUDA's sticky errors): that
        # entry fails, the run stops there, the entries after it are not run, the file is kept.
        out = os.path.join(tmp, "lost.json")
        r = run(binary, "--benchmark_filter=faults/(serial|lost|skips)/", "--no-probe", "--benchmark_min_time=0.001",
                "--benchmark_repetitions=1", f"--benchmark_out={out}")
        check(r.returncode == 1 and "no later entry can run in this process" in r.stderr, f"lost: exit {r.returncode}\n{r.stderr}")
        doc, _ = load_result(out)
        meta = doc["pipebench"]
        check(meta["status"] == "incomplete" and meta["reason"].startswith("selftest/faults/lost/n:1: the device context is lost")
              and meta["not_run"] == ["selftest/faults/skips/n:1"], f"lost: {meta}")
        errors = {b["name"]: b.get("error_message") for b in doc["benchmarks"]}
        check(errors.get("selftest/faults/serial/n:1") is None and "context is lost" in (errors.get("selftest/faults/lost/n:1") or ""),
              f"lost: {errors}")
        # Manual timing: the entry's own seconds, the pair's fixed iteration count, our name.
        out = os.path.join(tmp, "clock.json")
        r = run(binary, "--benchmark_filter=clock/", "--no-probe", "--benchmark_repetitions=1",
                f"--benchmark_out={out}")
        check(r.returncode == 1, f"clock: exit {r.returncode}, expected 1 (untimed)\n{r.stderr}")
        runs = {b["name"]: b for b in load_json(out)["benchmarks"]}
        b = runs.get("selftest/clock/serial/n:1/pace:even")
        check(b is not None and not b.get("error_occurred"), f"clock: {sorted(runs)}")
        check(b["iterations"] == 3, f"clock: {b['iterations']} iterations, the pair fixed 3")
        check(abs(b["real_time"] - 2000.0) < 1e-6, f"clock: real_time {b['real_time']} us, timed() said 2000")
        st = runs.get("selftest/clock/stale/n:1/pace:even")
        check(st is not None and "result is not finite" in st.get("error_message", ""),
              f"clock/stale: a timed iteration that wrote nothing passed: {st}")
        u = runs.get("selftest/clock/untimed/n:1/pace:even")
        check(u is not None and "without timed()" in u.get("error_message", ""), f"clock/untimed: {u}")
    # A domain's own option: in its --help, replacing its axis, refusing what it does not know.
    r = run(binary, "--help")
    check(r.returncode == 0 and "--pace" in r.stdout and "even, steady" in r.stdout, f"--help lacks --pace:\n{r.stdout}")
    r = run(binary, "--pace", "steady", "--benchmark_list_tests")
    check(r.returncode == 0 and "selftest/clock/serial/n:1/pace:steady" in r.stdout.split(), r.stdout + r.stderr)
    r = run(binary, "--pace", "odd", "--benchmark_list_tests")
    check(r.returncode == 2 and r.stderr.strip() == "pipebench-selftest: --pace: 'odd' is not one of even, steady",
          f"--pace odd: exit {r.returncode}: {r.stderr!r}")


def summary(binary):
    """scripts/summary.py on a real result, and on bad input."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "summary.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cpu.json")
        r = run(binary, *TINY, "--no-probe", "--data-dir", tmp, f"--benchmark_out={out}",
                "--benchmark_repetitions=2")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        r = subprocess.run([sys.executable, script, out], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, f"summary exit {r.returncode}: {r.stderr}")
        for title in ["cpu/sumsq:", "cpu/matmul:", "cpu/overlap:", "efficiency = "]:
            check(title in r.stdout, f"summary lacks {title!r}:\n{r.stdout}")
        check("±" in r.stdout, "repetitions ran but no spread is shown")

        not_gb = os.path.join(tmp, "other.json")
        with open(not_gb, "w") as f:
            json.dump({"hello": 1}, f)
        empty = os.path.join(tmp, "empty.json")
        with open(empty, "w") as f:
            json.dump({"context": {}, "benchmarks": []}, f)
        garbage = os.path.join(tmp, "garbage.json")
        with open(garbage, "w") as f:
            f.write("{not json")
        # Google Benchmark JSON of another program, and a pipebench result from before schema 1:
        # neither is read by guessing at names.
        foreign = os.path.join(tmp, "foreign.json")
        with open(foreign, "w") as f:
            json.dump({"context": {"date": "2026-12-01", "host_name": "h", "library_build_type": "release"},
                       "benchmarks": [{"name": "BM_memcpy/8", "run_name": "BM_memcpy/8", "run_type": "iteration",
                                       "iterations": 1, "real_time": 1.0, "cpu_time": 1.0, "time_unit": "ns"}]}, f)
        old = os.path.join(tmp, "old.json")
        doc = load_json(out)
        with open(old, "w") as f:
            json.dump({"context": doc["context"], "benchmarks": [{k: v for k, v in b.items() if k != "pipebench"}
                                                                 for b in doc["benchmarks"]]}, f)
        for bad, says in [(os.path.join(tmp, "missing.json"), "no such file"), (not_gb, "not a pipebench result"),
                          (empty, "another program"), (garbage, "not valid JSON"), (foreign, "another program"),
                          (old, "written before schema 1")]:
            r = subprocess.run([sys.executable, script, bad], capture_output=True, text=True, timeout=TIMEOUT)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and os.path.basename(bad) in lines[0] and says in lines[0],
                  f"summary.py {os.path.basename(bad)}: exit {r.returncode}, stderr {r.stderr!r}, expected {says!r}")
            check(r.stdout == "", f"summary.py {os.path.basename(bad)}: printed a table")
        # A folder: the broken file is skipped with a line, the result is summarised.
        folder = os.path.join(tmp, "run")
        os.mkdir(folder)
        shutil.copy(out, os.path.join(folder, "cpu.json"))
        shutil.copy(garbage, os.path.join(folder, "io.json"))
        r = subprocess.run([sys.executable, script, folder], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0 and "cpu/overlap:" in r.stdout and "io.json: not valid JSON" in r.stdout,
              f"summary.py on a folder with a broken file: exit {r.returncode}\n{r.stdout[-1500:]}{r.stderr}")


def help_text(binary):
    r = run(binary, "--help")
    check(r.returncode == 0, f"--help exit {r.returncode}")
    for word in ["--bytes", "--n", "--chunks", "--depth", "--intensity", "--data-dir", "--quick", "--full",
                 "--benchmark_filter"]:
        check(word in r.stdout, f"--help does not document {word}")


def list_names(binary):
    r = run(binary, "--benchmark_list_tests", "--benchmark_filter=sumsq")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    names = r.stdout.split()
    check(len(names) >= 7 and all(n.startswith("cpu/sumsq/") for n in names), f"unexpected list: {names[:5]}")
    check(not any("real_time" in n for n in names), "listed names carry /real_time")


def selftest_interrupt(binary):
    """The harness's stop, through a pair whose entries take a known few milliseconds: at the
    start, between entries, by SIGINT, SIGTERM, SIGUSR1 and SIGKILL; then a run after the kill
    removes the temporary files the killed one left."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "slow.json")
        cmd = [binary, "--benchmark_filter=slow/", "--no-probe", "--benchmark_repetitions=2"]
        seen = check_interrupts(cmd, out, [(0, signal.SIGINT, True), (1, signal.SIGTERM, True),
                                           (7, signal.SIGINT, True), (20, signal.SIGUSR1, True),
                                           (30, signal.SIGTERM, True), (5, signal.SIGKILL, False)])
        check(temp_files(tmp, "slow.json"), "SIGKILL left no temporary file: the test proves nothing")
        r = run(binary, "--benchmark_filter=slow/serial/step:1$", "--no-probe", "--benchmark_repetitions=1",
                f"--benchmark_out={out}")
        check(r.returncode == 0 and not temp_files(tmp, "slow.json"),
              f"a later run left the killed run's temporary files: {temp_files(tmp, 'slow.json')}")
        doc, _ = load_result(out)
        check(doc["pipebench"]["status"] == "complete", f"{doc['pipebench']}")
    print("interrupts:", "; ".join(seen))


def interrupt(binary):
    """pipebench-cpu stopped at several points, a file source among them (its data file is
    written then: the stop ends the writing and removes the file)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        out = os.path.join(tmp, "cpu.json")
        cmd = [binary, *TINY, "--no-probe", "--data-dir", data, "--benchmark_repetitions=2"]
        seen = check_interrupts(cmd, out, [(0, signal.SIGINT, True), (3, signal.SIGTERM, True),
                                           (12, signal.SIGINT, True)], data_dirs=[data])
        # Stopped while it writes a large file source: no file left, the earlier result kept.
        big = [binary, "--bytes", "1G", "--source", "file", "--chunks", "8", "--depth", "2", "--intensity", "2",
               "--no-probe", "--data-dir", data, "--benchmark_filter=overlap/serial", "--benchmark_repetitions=1"]
        from testlib import space_ok
        if space_ok(data, 2 << 30):
            seen += check_interrupts(big, out, [(0, signal.SIGTERM, True)], data_dirs=[data])
        else:
            print("note: no room for a 1 GiB file source here; the stop while writing it is not tried")
        # Killed: the file is the earlier one or a valid document; the next run cleans up.
        seen += check_interrupts(cmd, out, [(2, signal.SIGKILL, False)], data_dirs=[data])
        r = run(binary, "--benchmark_filter=sumsq/serial", "--bytes", "4096", "--no-probe", "--benchmark_repetitions=1",
                f"--benchmark_out={out}")
        check(r.returncode == 0 and not temp_files(tmp, "cpu.json"), "the killed run's temporary files stayed")
        check(not os.listdir(data), f"data files left: {os.listdir(data)}")
    print("interrupts:", "; ".join(seen))


def write_errors(binary):
    """A result file that cannot be written is a failure, said in one line: a full device
    (/dev/full) and, as root, a full filesystem mid-run (a tiny tmpfs), where the file holds what
    was written before the error."""
    r = run(binary, "--benchmark_filter=sumsq/serial", "--bytes", "4096", "--no-probe", "--benchmark_repetitions=1",
            "--benchmark_out=/dev/full")
    lines = [l for l in r.stderr.splitlines() if "--benchmark_out" in l]
    check(r.returncode == 1 and len(lines) == 1 and "No space left on device" in lines[0],
          f"/dev/full: exit {r.returncode}, stderr {r.stderr!r}")
    if os.geteuid() != 0 or not shutil.which("mount"):
        print("note: not root: the full-filesystem case is not run")
        return
    with tempfile.TemporaryDirectory() as tmp:
        mnt = os.path.join(tmp, "full")
        os.mkdir(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", mnt], capture_output=True).returncode:
            print("note: cannot mount a tmpfs here: the full-filesystem case is not run")
            return
        try:
            out = os.path.join(mnt, "cpu.json")
            r = run(binary, *TINY, "--no-probe", "--data-dir", tmp, "--benchmark_repetitions=2",
                    f"--benchmark_out={out}")
            lines = [l for l in r.stderr.splitlines() if "--benchmark_out" in l]
            check(r.returncode == 1 and len(lines) == 1 and "No space left on device" in lines[0],
                  f"full filesystem: exit {r.returncode}, stderr {r.stderr[-1500:]!r}")
            check("the run stops" in lines[0], f"the line does not say the run stops: {lines[0]}")
            doc, _ = load_result(out)
            check(doc["pipebench"]["status"] == "running" and doc["benchmarks"],
                  "the file does not hold the entries written before the disk filled")
            check(not temp_files(mnt, "cpu.json"), f"temporary files left: {temp_files(mnt, 'cpu.json')}")
        finally:
            subprocess.run(["umount", mnt])


def likwid(binary):
    """scripts/likwid-compare.sh beside cpu/sumsq, the summary's likwid-bench column with and
    without it, and the script's bad input."""
    scripts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts")
    compare, summary_py = os.path.join(scripts, "likwid-compare.sh"), os.path.join(scripts, "summary.py")
    with tempfile.TemporaryDirectory() as tmp:
        never = os.path.join(tmp, "never.json")
        for args, says in [(["--sizes", "100"], "--sizes: '100' is not a byte count of at least 1024"),
                           (["--sizes", "16384", "--rounds", "x"], "--rounds: 'x' is not a positive integer"),
                           (["--sizes", "16384", "--isa", "sse9"], "--isa: 'sse9' is not one of"),
                           (["--sizes", "16384", "--cpu-binary", os.path.join(tmp, "none")], "--cpu-binary: "),
                           (["--sizes", "16384", "--bogus"], "unknown argument '--bogus'")]:
            base = ["--cpu-binary", binary, "--out", never]
            r = subprocess.run([compare, *base, *args], capture_output=True, text=True, timeout=TIMEOUT)
            check(r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1,
                  f"likwid-compare.sh {args}: exit {r.returncode}, {r.stderr!r}")
            check(not os.path.exists(never), f"likwid-compare.sh {args}: wrote its output")
        out = os.path.join(tmp, "cpu.json")
        sizes = ["16384", "262144"]
        r = run(binary, "--bytes", ",".join(sizes), "--no-probe", "--benchmark_filter=sumsq",
                "--benchmark_min_time=0.01", "--benchmark_repetitions=1", f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr}")
        # Without likwid-bench on the PATH the column says so.
        r = subprocess.run([sys.executable, summary_py, out], capture_output=True, text=True, timeout=TIMEOUT,
                           env={**os.environ, "PATH": tmp})
        check(r.returncode == 0 and "likwid-bench" in r.stdout and "not installed" in r.stdout,
              f"summary without likwid-bench:\n{r.stdout}{r.stderr}")
        if not shutil.which("likwid-bench"):
            skip("likwid-bench is not installed (Debian: likwid)")
        peer = os.path.join(tmp, "likwid.json")
        r = subprocess.run([compare, "--cpu-binary", binary, "--sizes", " ".join(sizes), "--rounds", "2", "--out", peer],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode == 3:  # likwid-bench there, but it cannot run here (no such kernel, refused)
            skip(r.stderr.strip())
        check(r.returncode == 0, f"likwid-compare.sh: exit {r.returncode}\n{r.stderr}")
        doc = load_json(peer)
        meta = doc["likwid"]
        check(meta["rounds"] == 2 and meta["kernel"].startswith("sum_sp") and meta["threads"] == 1, f"meta: {meta}")
        check([run_["bytes"] for run_ in doc["runs"]] == [int(s) for s in sizes], f"sizes: {doc['runs']}")
        for run_ in doc["runs"]:
            for kind in ("likwid", "ours", "sdot"):
                samples = run_[f"{kind}_samples"]
                check(len(samples) == 2 and all(v > 0 for v in samples), f"{kind} samples: {run_}")
                check(min(samples) <= run_[f"{kind}_bytes_per_s"] <= max(samples), f"{kind} median: {run_}")
        r = subprocess.run([sys.executable, summary_py, out, peer], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, f"summary exit {r.returncode}: {r.stderr}")
        rows = [l.split("  ") for l in r.stdout.splitlines() if l.startswith(("16 KiB ", "256 KiB "))]
        check(len(rows) == 2 and "not installed" not in r.stdout and meta["kernel"] in r.stdout,
              f"summary with likwid.json:\n{r.stdout}")
        for row in rows:
            cells = [c.strip() for c in row if c.strip()]
            check(re.match(r"^\d+\.\d\d \(\d+\.\d\d-\d+\.\d\d\)$", cells[-2]) and cells[-3].endswith("B/s"),
                  f"no likwid-bench rate and ilp/likwid ratio (range) in {cells}")


CASES = {"smoke": smoke, "trace": trace, "overlap": overlap, "summary": summary, "filtered": filtered, "errors": errors,
         "selftest": selftest, "selftest_interrupt": selftest_interrupt, "help": help_text, "list": list_names,
         "interrupt": interrupt, "write_errors": write_errors, "likwid": likwid}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(CASES)} <binary>")
    CASES[sys.argv[1]](sys.argv[2])
    print(f"{sys.argv[1]}: ok")
