#!/usr/bin/env python3
"""pipebench-mpi through mpirun, at tiny sizes, each run with a timeout (a hang fails).

    mpi_tests.py <case> <pipebench-mpi> <mpiexec>
    case: single run2 run4 errors thread_level training_skip training_fault training_seams training_csv
          interrupt trace

Standard library only; exit 0 passed, 1 failed (first failed assertion), 77 skipped."""
import json
import os
import signal
import subprocess
import sys
import tempfile
from testlib import check, check_interrupts, check_model, fail, load_result
import pipebench_trace  # scripts/, on the path testlib set

TIMEOUT = 240
TINY = ["--no-probe", "--bytes", "4096,65536", "--chunks", "4", "--compute", "100", "--iterations", "3",
        "--benchmark_repetitions=1"]
WORKLOADS = ["halo", "iallreduce", "ialltoall", "chunked"]


def mpi_env():
    env = dict(os.environ)
    if os.geteuid() == 0:  # Open MPI refuses root without both
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def mpirun(mpiexec, ranks, binary, *args):
    env = mpi_env()
    cmd = [mpiexec, "--oversubscribe", "-np", str(ranks), binary, *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        fail(f"hung: {' '.join(cmd)} did not finish in {TIMEOUT} s")


def ours(stderr):
    """The lines pipebench-mpi wrote (mpirun adds its own notices)."""
    return [l for l in stderr.splitlines() if l.startswith("pipebench-mpi")]


def run_and_load(mpiexec, ranks, binary, *args):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "mpi.json")
        r = mpirun(mpiexec, ranks, binary, *TINY, *args, f"--benchmark_out={out}")
        check(r.returncode == 0, f"{ranks} ranks: exit {r.returncode}\n{r.stderr[-3000:]}")
        doc, results = load_result(out)  # one writer: a file two ranks wrote at once would not parse
        check(os.listdir(tmp) == ["mpi.json"], f"unexpected files: {os.listdir(tmp)}")
        check(doc["pipebench"]["processes"] == ranks, f"processes {doc['pipebench']['processes']}")
        check_model(results)
    return doc, r


def verified(doc, ranks):
    runs = {b["name"]: b for b in doc["benchmarks"]}
    for name, b in runs.items():
        check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
    ctx = doc["context"]
    check(ctx.get("mpi_ranks") == str(ranks), f"context mpi_ranks {ctx.get('mpi_ranks')}")
    for key in ["mpi_library", "mpi_thread_level_provided", "mpi_ranks_per_node", "mpi_binding"]:
        check(key in ctx, f"context lacks {key}")
    check(ctx["mpi_binding"].count("rank ") == ranks, f"mpi_binding names not every rank: {ctx['mpi_binding']}")
    for w in WORKLOADS:
        for s in ["none", "test", "thread"]:
            names = [n for n in runs if n.startswith(f"mpi/{w}/pipelined/") and n.endswith(f"strategy:{s}")]
            check(names, f"no mpi/{w} pipelined entry with strategy {s}")
            for n in names:
                b = runs[n]
                for counter in ["t_serial", "t_ideal", "osu_overlap_pct", "imb_overlap_pct", "imbalance",
                                "rank_time_min", "rank_time_max", "compute_in_run", "compute_intended"]:
                    check(counter in b, f"{n} lacks {counter}: {b.get('label')}")
                check(b["rank_time_min"] <= b["rank_time_mean"] <= b["rank_time_max"], f"{n}: rank times out of order")
                # t_CPU is measured inside the run, so T_pipelined >= t_CPU: OSU % is at most 100.
                check(0 <= b["osu_overlap_pct"] <= 100.5, f"{n}: OSU % {b['osu_overlap_pct']} outside 0..100")
                check(0 <= b["imb_overlap_pct"] <= 100, f"{n}: IMB % outside 0..100")
        for v in ["serial", "stage_comm"]:
            check(any(n.startswith(f"mpi/{w}/{v}/") for n in runs), f"no mpi/{w}/{v} entry")
    training(runs, ranks)
    return runs


SCHEDULES = ["gpipe", "1f1b", "interleaved", "zero_bubble", "gpipe_recompute", "pipedream", "pipedream_vsync",
             "zb_h2", "zb_v"]
TWO_STAGES = {"interleaved", "zb_v"}  # stages per rank 2, of one layer each; the others 1 of 2


def training_memory(n, b, s, ranks, m):
    """What the ranks held, as the engine counted it, against the simulation and the closed forms."""
    for what in ["peak_in_flight", "peak_activations", "peak_versions", "peak_versions_min"]:
        check(b[what] == b[f"{what}_model"], f"{n}: {what} {b[what]}, the simulation's {b[f'{what}_model']}")
    v = 2 if s in TWO_STAGES else 1
    layers = 2 // v
    in_flight = {"gpipe": m, "gpipe_recompute": m, "1f1b": min(m, ranks), "pipedream": min(m, ranks),
                 "pipedream_vsync": min(m, ranks), "zero_bubble": min(m, ranks), "zb_h2": min(m, 2 * ranks - 1),
                 "interleaved": 2 * m if m == ranks else min(2 * m, 3 * ranks - 1)}.get(s)
    if in_flight is not None:
        check(b["peak_in_flight"] == in_flight, f"{n}: peak_in_flight {b['peak_in_flight']}, expected {in_flight}")
    if s == "zb_v":  # 2p stage-activations of one layer each: 1F1B's p of two
        check(b["peak_activations"] <= 2 * ranks, f"{n}: peak_activations {b['peak_activations']} > 2p")
    if s == "gpipe_recompute":  # every microbatch's stage input, and one microbatch's other layer
        check(b["peak_activations"] == m + layers - 1, f"{n}: peak_activations {b['peak_activations']}, expected m + 1")
    elif in_flight is not None:
        check(b["peak_activations"] == in_flight * layers, f"{n}: peak_activations {b['peak_activations']}")
    # Weight versions: rank r keeps p - r with stashing (rank 0 the most, the last rank 1), every
    # rank p with vertical sync; one per stage under a flush.
    versions = {"pipedream": (min(m, ranks), 1), "pipedream_vsync": (min(m, ranks), min(m, ranks))}.get(s, (v, v))
    check((b["peak_versions"], b["peak_versions_min"]) == versions,
          f"{n}: versions held {b['peak_versions']} .. {b['peak_versions_min']}, expected {versions}")


def training(runs, ranks):
    """Pipeline-parallel training: every schedule ran, verified, with its model, bubble and memory."""
    for v in ["serial", "stage_forward", "stage_backward", "stage_weight", "stage_update"]:
        check(any(n.startswith(f"mpi/training/{v}/") for n in runs), f"no mpi/training/{v} entry")
    for s in SCHEDULES:
        names = [n for n in runs if n.startswith("mpi/training/pipelined/") and n.endswith(f"schedule:{s}")]
        check(names, f"no mpi/training pipelined entry with schedule {s}")
        for n in names:
            b = runs[n]
            for counter in ["t_serial", "t_ideal", "speedup_bound", "bubble_model", "bubble_measured",
                            "peak_in_flight", "activation_share", "messages", "compute_in_run", "imbalance",
                            "peak_activation_bytes", "peak_weight_bytes", "message_bytes"]:
                check(counter in b, f"{n} lacks {counter}")
            m = b["pipebench"]["params"]["microbatches"]
            stages_per_rank = 2 if s in TWO_STAGES else 1
            check(b["messages"] == 2 * (ranks * stages_per_rank - 1) * m, f"{n}: messages {b['messages']}")
            training_memory(n, b, s, ranks, m)
            check(0 <= b["bubble_model"] < 1, f"{n}: bubble_model {b['bubble_model']} outside [0, 1)")
            # The model's arithmetic on the measured pass costs (times compared with times would
            # fail on another machine): the bubble is 1 - busy / t_ideal, busy the three passes
            # (and the forward again when it is recomputed).
            stage = {e.split("/")[2]: runs[e]["real_time"] * 1e-6
                     for e in (x["entry"] for x in b["pipebench"]["model"]["stages"])}
            check(sorted(stage) == ["stage_backward", "stage_forward", "stage_update", "stage_weight"],
                  f"{n}: model stages {list(stage)}")
            busy = stage["stage_forward"] + stage["stage_backward"] + stage["stage_weight"]
            busy += stage["stage_forward"] if s == "gpipe_recompute" else 0
            busy += stage["stage_update"] if s.startswith("pipedream") else 0
            check(abs(b["bubble_model"] - (1 - busy / b["t_ideal"])) < 1e-9, f"{n}: bubble_model is not 1 - busy / t_ideal")
            check(b["speedup_bound"] > 0 and abs(b["speedup_bound"] - b["t_serial"] / b["t_ideal"]) < 1e-9 * b["speedup_bound"],
                  f"{n}: speedup_bound is not t_serial / t_ideal")


def single(binary, mpiexec):
    doc, r = run_and_load(mpiexec, 1, binary)
    for b in doc["benchmarks"]:
        msg = b.get("error_message", "")
        check(msg.startswith("skipped: needs at least 2 MPI ranks"), f"{b['name']}: {msg!r}")


def untraced(doc):
    """Without --trace nothing of a timeline shows: no file named, no counter of a traced pass."""
    for b in doc["benchmarks"]:
        check("trace" not in b.get("pipebench", {}), f"{b['name']}: names a trace without --trace")
        for counter in ["trace_pass_seconds", "bubble_trace", "bubble_traced_pass"]:
            check(counter not in b, f"{b['name']}: {counter} without --trace")


def run2(binary, mpiexec):
    doc, r = run_and_load(mpiexec, 2, binary)
    verified(doc, 2)
    untraced(doc)
    check(any(k.startswith("mpi_t/") for k in doc["context"]), "no MPI_T control variable in the context")
    # Rank 0 alone prints: each entry once in the console table.
    check(r.stdout.count("mpi/halo/serial/bytes:4096/compute:100 ") == 1, f"the table is not printed once:\n{r.stdout[-2000:]}")


def run4(binary, mpiexec):
    doc, _ = run_and_load(mpiexec, 4, binary)
    verified(doc, 4)


def errors(binary, mpiexec):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "never.json")
        for args, message in [(["--bytes", "1001"], "--bytes 1001: not a whole number of 4-byte floats"),
                              (["--strategy", "sometimes"], "--strategy: 'sometimes' is not one of none, test, thread"),
                              (["--chunks", "0"], "--chunks: must be positive"),
                              (["--bytes", "64", "--chunks", "32"], "--chunks 32: more chunks than the floats"),
                              (["--schedule", "pipedream2bw"], "--schedule: 'pipedream2bw' is not one of gpipe, 1f1b, interleaved, zero_bubble"),
                              (["--microbatches", "0"], "--microbatches: must be positive"),
                              (["--bytes", "64", "--microbatches", "32"], "--microbatches 32: more microbatches than the floats"),
                              (["--microbatches", "5000"], "--microbatches 5000: at most 4095 with 2 ranks"),
                              (["--layer", "conv"], "--layer: 'conv' is not one of elementwise, gemm"),
                              (["--layer", "gemm", "--bytes", "4100", "--intensity", "64"],
                               "--bytes 4100: 1025 floats are not rows of the hidden size 32"),
                              (["--layer", "gemm", "--bytes", "4096", "--intensity", "64", "--microbatches", "64"],
                               "--microbatches 64: more microbatches than the rows of --bytes 4096 (32)")]:
            r = mpirun(mpiexec, 2, binary, "--no-probe", *args, f"--benchmark_out={out}")
            lines = ours(r.stderr)
            check(r.returncode != 0, f"{args}: exit 0")
            check(len(lines) == 1 and message in lines[0], f"{args}: expected one line with {message!r}, got {lines}")
            check(not os.path.exists(out), f"{args}: a result file was written")


def thread_level(binary, mpiexec):
    doc, _ = run_and_load(mpiexec, 2, binary, "--thread-level", "funneled")
    check(doc["context"].get("mpi_thread_level_provided") != "multiple", "the library still provided multiple")
    for b in doc["benchmarks"]:
        if b["name"].endswith("strategy:thread"):
            msg = b.get("error_message", "")
            check(msg.startswith("skipped: the thread strategy needs MPI_THREAD_MULTIPLE"), f"{b['name']}: {msg!r}")
        else:
            check(not b.get("error_occurred"), f"{b['name']}: {b.get('error_message')}")


def training_skip(binary, mpiexec):
    """Interleaving needs microbatches in multiples of the ranks: otherwise a skip that says so,
    and the other schedules still run and verify."""
    doc, _ = run_and_load(mpiexec, 4, binary, "--benchmark_filter=mpi/training/", "--microbatches", "6")
    runs = {b["name"]: b for b in doc["benchmarks"]}
    check(runs, "no training entry ran")
    for name, b in runs.items():
        if name.endswith("schedule:interleaved"):
            msg = b.get("error_message", "")
            check(msg.startswith("skipped: interleaved needs microbatches (6) to be a multiple of the ranks (4)"),
                  f"{name}: {msg!r}")
        else:
            check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")


def training_fault(binary, mpiexec):
    """A schedule that loses one weight gradient (the test seam) fails verification, loudly."""
    os.environ["PIPEBENCH_TEST_TRAINING_FAULT"] = "skip_weight"  # mpirun passes the environment on
    r = mpirun(mpiexec, 2, binary, *TINY, "--benchmark_filter=mpi/training/pipelined/.*schedule:1f1b")
    check(r.returncode == 1, f"exit {r.returncode}, expected 1 (verification failed)\n{r.stderr[-2000:]}")
    check("verification failed" in r.stdout + r.stderr, f"no 'verification failed':\n{r.stdout[-2000:]}")
    # Many microbatches (each 1/256 of a gradient) at a high intensity: the bound follows the
    # polynomial's working degree, not --intensity, so the loss still shows.
    r = mpirun(mpiexec, 2, binary, "--no-probe", "--iterations", "2", "--benchmark_repetitions=1", "--bytes", "65536",
               "--intensity", "4096", "--microbatches", "256", "--benchmark_filter=mpi/training/pipelined/")
    check(r.returncode == 1, f"intensity 4096, 256 microbatches: exit {r.returncode}, expected 1\n{r.stderr[-2000:]}")
    check((r.stdout + r.stderr).count("verification failed") >= 4, f"not every schedule failed:\n{r.stderr[-2000:]}")


def training_seams(binary, mpiexec):
    """PipeDream without weight stashing and GPipe without its recomputed forward (test seams)
    fail verification, with either layer kind; the schedules they do not touch still pass."""
    for fault, schedules, untouched in [("no_stash", "pipedream|pipedream_vsync", "1f1b"),
                                        ("skip_recompute", "gpipe_recompute", "gpipe")]:
        for layer in ["elementwise", "gemm"]:
            os.environ["PIPEBENCH_TEST_TRAINING_FAULT"] = fault
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "mpi.json")
                r = mpirun(mpiexec, 2, binary, *TINY, "--layer", layer, "--microbatches", "4", f"--benchmark_out={out}",
                           f"--benchmark_filter=mpi/training/pipelined/.*schedule:({schedules}|{untouched})$")
                check(r.returncode == 1, f"{fault}, {layer}: exit {r.returncode}, expected 1\n{r.stderr[-2000:]}")
                doc, _ = load_result(out)
            for b in doc["benchmarks"]:
                s = b["name"].rsplit("schedule:", 1)[1]
                failed = b.get("error_message", "").startswith("verification failed")
                check(failed == (s != untouched), f"{fault}, {b['name']}: {b.get('error_message', 'passed')}")
            ran = {b["name"].rsplit("schedule:", 1)[1] for b in doc["benchmarks"]}
            check(ran == set(schedules.split("|")) | {untouched}, f"{fault}: ran {sorted(ran)}")
    del os.environ["PIPEBENCH_TEST_TRAINING_FAULT"]


def training_csv(binary, mpiexec):
    """A schedule from a PyTorch-style CSV (here 1F1B on 2 ranks, idle steps included) runs and
    verifies like a made one; a file that is not a schedule is refused before anything runs,
    with one line naming the rank and the action at fault."""
    with tempfile.TemporaryDirectory() as tmp:
        good = os.path.join(tmp, "1f1b.csv")
        with open(good, "w") as f:
            f.write("0F0,0F1,,0B0,0F2,0B1,0F3,0B2,,0B3\r\n,1F0,1B0,1F1,1B1,1F2,1B2,1F3,1B3\r\n")
        doc, _ = run_and_load(mpiexec, 2, binary, "--schedule", "csv", "--schedule-file", good, "--microbatches", "4",
                              "--benchmark_filter=mpi/training/pipelined/")
        runs = {b["name"]: b for b in doc["benchmarks"]}
        check(len(runs) == 2, f"entries {list(runs)}")  # TINY's two sizes
        for name, b in runs.items():
            check(name.endswith("microbatches:4/schedule:csv") and not b.get("error_occurred"),
                  f"{name}: {b.get('error_message')}")
            check(b["peak_in_flight"] == 2 and b["peak_in_flight_model"] == 2, f"{name}: held {b['peak_in_flight']}")
        ctx = doc["context"].get("mpi/training/schedule_file")
        check(ctx == good, f"context mpi/training/schedule_file {ctx}")
        for text, why in [("0F0,0F1,0B0,0B1\n1F0,1B0,1F1\n", "rank 1: microbatch 1"),  # a pass missing
                          ("0F0,0B0\n1B0,1F0\n", "rank 1"),                            # backward before forward
                          ("0F0,0X0\n1F0,1B0\n", "rank 0, action 1")]:                # not an action
            bad = os.path.join(tmp, "bad.csv")
            with open(bad, "w") as f:
                f.write(text)
            r = mpirun(mpiexec, 2, binary, *TINY, "--schedule", "csv", "--schedule-file", bad,
                       "--benchmark_filter=mpi/training/pipelined/")
            lines = sorted(set(ours(r.stderr)))
            check(r.returncode == 2 and len(lines) == 1 and why in lines[0] and "--schedule-file" in lines[0],
                  f"{text!r}: exit {r.returncode}, {lines}")
        r = mpirun(mpiexec, 2, binary, *TINY, "--schedule", "csv", "--benchmark_filter=mpi/training/pipelined/")
        check(r.returncode == 2 and any("needs --schedule-file" in l for l in ours(r.stderr)), f"no file: {r.stderr[-500:]}")
        # On 4 ranks: GPipe written out by hand, PyTorch's B (a whole backward) after every F.
        gpipe4 = os.path.join(tmp, "gpipe4.csv")
        with open(gpipe4, "w") as f:
            for r in range(4):
                f.write(",".join([f"{r}F{k}" for k in range(4)] + [f"{r}B{k}" for k in range(4)]) + "\n")
        doc, _ = run_and_load(mpiexec, 4, binary, "--schedule", "csv", "--schedule-file", gpipe4, "--microbatches", "4",
                              "--benchmark_filter=mpi/training/pipelined/")
        for b in doc["benchmarks"]:
            check(not b.get("error_occurred") and b["peak_in_flight"] == 4, f"4 ranks {b['name']}: {b.get('error_message')}")
        # A file for 4 ranks run on 2: a skip that says how many it needs.
        doc, _ = run_and_load(mpiexec, 2, binary, "--schedule", "csv", "--schedule-file", gpipe4, "--microbatches", "4",
                              "--benchmark_filter=mpi/training/pipelined/")
        for b in doc["benchmarks"]:
            check(b.get("error_message", "").startswith(f"skipped: {gpipe4} is a schedule for 4 ranks"),
                  f"{b['name']}: {b.get('error_message')!r}")


def schedule_tool(tool, _mpiexec):
    """pipebench-schedule writes every made schedule as CSV and checks it back (the simulation's
    numbers), and refuses bad input with one line and exit 2, writing nothing."""
    def run(*args):
        return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        for s in [x for x in SCHEDULES if x != "gpipe_recompute"]:
            out = os.path.join(tmp, f"{s}.csv")
            r = run("write", "--schedule", s, "--ranks", "4", "--microbatches", "8", "--out", out)
            check(r.returncode == 0 and os.path.exists(out), f"write {s}: exit {r.returncode} {r.stderr}")
            with open(out) as f:
                rows = [l for l in f.read().splitlines() if l.strip()]
            check(len(rows) == 4, f"{s}: {len(rows)} rows")
            r = run("check", out, "--forward", "1", "--backward", "2", "--weight", "1")
            check(r.returncode == 0 and "makespan" in r.stdout, f"check {s}: exit {r.returncode} {r.stderr}{r.stdout}")
        r = run("write", "--schedule", "gpipe_recompute", "--ranks", "2", "--microbatches", "2")
        check(r.returncode == 2 and r.stdout == "", f"gpipe_recompute as CSV: exit {r.returncode}")
        deadlock = os.path.join(tmp, "deadlock.csv")
        with open(deadlock, "w") as f:
            f.write("0F0,0B0,0F1,0B1\n1F1,1F0,1B0,1B1\n")  # rank 0 waits for B0, rank 1 for F1
        for args in [("write", "--schedule", "nope", "--ranks", "2", "--microbatches", "2"),
                     ("write", "--schedule", "1f1b", "--ranks", "0", "--microbatches", "2"),
                     ("write", "--schedule", "1f1b", "--ranks", "2", "--microbatches", "x"),
                     ("check", os.path.join(tmp, "missing.csv")), ("check", deadlock), ("frobnicate",)]:
            r = run(*args)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and r.stdout == "" and len(lines) == 1 and lines[0].startswith("pipebench-schedule:"),
                  f"{args}: exit {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")


def interrupt(binary, mpiexec):
    """Stopped through mpirun: SIGUSR1, which mpirun passes to every rank, stops the run at the
    next entry on every rank alike (the file holds every finished entry, marked incomplete);
    SIGTERM makes mpirun kill the ranks a second later (Open MPI's odls_base_sigkill_timeout),
    and the file is then the earlier one or a valid document of what was written."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "mpi.json")
        cmd = [mpiexec, "--oversubscribe", "-np", "2", binary, *TINY, "--iterations", "40",
               "--benchmark_repetitions=2"]
        seen = check_interrupts(cmd, out, [(0, signal.SIGUSR1, True, 1.0), (6, signal.SIGUSR1, True),
                                           (30, signal.SIGUSR1, True), (10, signal.SIGTERM, False)], env=mpi_env(),
                                forwarded=True)
    print("interrupts:", "; ".join(seen))


def trace(binary, mpiexec):
    """--trace on 2 ranks: every serial and pipelined entry names its timeline, and each one is
    whole (pipebench_trace.problems), holds both ranks' lanes on rank 0's clock with the offset
    that put them there, and records what its pass does; no stage entry records one.

    Training's bubble_trace (the timeline's: 1 - busy / span for the busiest rank, span the first
    pass's begin to the last one's end) is held against the same pass's bubble from its own
    counted busy time, compute_in_pass (what compute_in_run counts), over that same span: 'busy'
    must mean the same passes, and on one span the two agree to the nanoseconds the file rounds
    to. Not held: bubble_traced_pass (that pass read with bubble_measured's time, the slowest
    rank's wall from the barrier, which also counts how much earlier a rank left the barrier: a
    whole time slice when a loaded machine deschedules rank 0 there), and bubble_measured (other
    passes, the timed ones). Both are printed."""
    ranks = 2
    with tempfile.TemporaryDirectory() as tmp:
        traces = os.path.join(tmp, "traces")
        args = list(TINY)
        args[args.index("--bytes") + 1] = "65536"
        # Two repetitions: the traced pass is collective, and every rank must run it once, in the
        # first repetition alone (a rank that traced again would wait for the others for ever).
        args[args.index("--benchmark_repetitions=1")] = "--benchmark_repetitions=2"
        out = os.path.join(tmp, "mpi.json")
        r = mpirun(mpiexec, ranks, binary, *args, "--trace", traces, f"--benchmark_out={out}")
        check(r.returncode == 0, f"exit {r.returncode}\n{r.stderr[-3000:]}")
        doc, results = load_result(out)
        check_model(results)
        # Each entry's median (the counters the traced pass added are the same in every repetition).
        runs = {b["run_name"]: b for b in doc["benchmarks"] if b.get("aggregate_name", "median") == "median"}
        single_node = doc["context"].get("mpi_ranks_per_node") == str(ranks)
        named = set()
        for name, b in runs.items():
            check(not b.get("error_occurred"), f"{name}: {b.get('error_message')}")
            variant = name.split("/")[2]
            path = b["pipebench"].get("trace")
            if variant not in ("serial", "pipelined"):
                check(path is None and "trace_pass_seconds" not in b, f"{name}: a stage entry traced")
                continue
            check(path is not None, f"{name}: no pipebench.trace")
            check("trace_pass_seconds" in b, f"{name}: no trace_pass_seconds")
            path = pipebench_trace.resolve(path, out)
            check(os.path.dirname(os.path.abspath(path)) == traces, f"{name}: trace {path} outside --trace {traces}")
            named.add(os.path.basename(path))
            timeline(name, b, pipebench_trace.load(path), ranks, single_node)
        check(named and sorted(os.listdir(traces)) == sorted(named),
              f"the trace folder holds {sorted(os.listdir(traces))}, the result names {sorted(named)}")
        for w in WORKLOADS + ["training"]:
            check(any(n.startswith(f"mpi/{w}/pipelined/") for n in runs), f"no mpi/{w} pipelined entry")


def timeline(name, b, t, ranks, single_node):
    """One entry's timeline, against what its pass does."""
    problems = pipebench_trace.problems(t)
    check(problems == [], f"{name}: {problems[:3]}")
    check(t.entry == name, f"{t.path}: entry {t.entry!r}")
    check(t.processes == {r: f"rank {r}" for r in range(ranks)}, f"{name}: processes {t.processes}")
    for r in range(ranks):
        lanes = [lane for lane in t.lanes if lane.process == r]
        check(any(i.category == "stage" for lane in lanes for i in lane.intervals), f"{name}: no stage on rank {r}")
        offset, error = t.meta.get(f"clock_offset_ns_rank{r}"), t.meta.get(f"clock_offset_error_ns_rank{r}")
        check(isinstance(offset, (int, float)) and isinstance(error, (int, float)) and error >= 0,
              f"{name}: clock offset of rank {r}: {offset!r} +- {error!r}")
        # One node, one steady clock: the true offset is 0, and the estimate within its own bound.
        if single_node:
            check(abs(offset) <= error, f"{name}: rank {r}'s clock offset {offset} ns beyond its bound {error} ns")
    check("clock_alignment" in t.meta and "round trip" in t.meta["clock_alignment"], f"{name}: no clock_alignment")
    # trace_pass_seconds is the pass as the ranks timed it, not the gathering of their timelines.
    check(t.meta.get("trace_pass_seconds") == t.meta.get("pass_seconds_slowest_rank") and
          t.meta["trace_pass_seconds"] <= t.meta.get("trace_call_seconds", 0),
          f"{name}: trace_pass_seconds {t.meta.get('trace_pass_seconds')} is not the pass "
          f"({t.meta.get('pass_seconds_slowest_rank')}) within the call ({t.meta.get('trace_call_seconds')})")
    params = b["pipebench"]["params"]
    exp = t.expect
    check(exp["per_process"] is True, f"{name}: the expectation is not per rank")
    categories = {i.category for lane in t.lanes for i in lane.intervals}
    if name.startswith("mpi/training/"):
        m = params.get("microbatches", 1)
        check(exp["items"] == m, f"{name}: expects {exp['items']} microbatches, not {m}")
        recompute = ["R"] if params.get("schedule") == "gpipe_recompute" else []
        passes = ["F", "B", "W"] + recompute + (["F.1", "B.1", "W.1"] if params.get("schedule") in TWO_STAGES else [])
        check(exp["stages"] == passes, f"{name}: expects {exp['stages']}")
        check({"send", "recv"} <= categories, f"{name}: no send or recv recorded: {categories}")
        for counter in ["bubble_trace", "bubble_traced_pass"]:
            check(counter in b and abs(t.meta.get(counter, float("inf")) - b[counter]) < 1e-6,
                  f"{name}: {counter} not the same in the result and the trace")
        mine = pipebench_trace.idle_share_of_busiest(t)
        check(abs(mine - b["bubble_trace"]) < 1e-4, f"{name}: bubble_trace {b['bubble_trace']}, the file's {mine}")
        stages = [i for _, i in t.stage_intervals()]
        span = max(i.end for i in stages) - min(i.begin for i in stages)
        counted = 1 - t.meta["compute_in_pass"] / span
        check(abs(b["bubble_trace"] - counted) < 1e-3,
              f"{name}: bubble_trace {b['bubble_trace']:.5f}, from the pass's counted compute {counted:.5f}")
        check(0 <= b["bubble_traced_pass"] < 1, f"{name}: bubble_traced_pass {b['bubble_traced_pass']}")
        print(f"{name}: bubble_trace {b['bubble_trace']:.3f}, counted {counted:.3f}, bubble_traced_pass "
              f"{b['bubble_traced_pass']:.3f}, bubble_measured {b.get('bubble_measured', float('nan')):.3f}")
        return
    chunks = params.get("chunks", 1) if "/pipelined/" in name else 1
    check(exp["items"] == chunks, f"{name}: expects {exp['items']} items, not {chunks}")
    check("wait" in categories, f"{name}: no wait recorded: {categories}")
    if "/pipelined/" not in name:
        return
    check("post" in categories, f"{name}: no post recorded: {categories}")
    strategy = params["strategy"]
    check(("test" in categories) == (strategy == "test"), f"{name}: tests recorded {categories}")
    threads = [lane for lane in t.lanes if lane.label == "progress thread"]
    if strategy == "thread":
        check(sorted(lane.process for lane in threads) == list(range(ranks)),
              f"{name}: progress thread lanes on {[lane.process for lane in threads]}")
        check(all(lane.intervals and all(i.category == "wait" for i in lane.intervals) for lane in threads),
              f"{name}: a progress thread lane without its waits")
    else:
        check(not threads, f"{name}: a progress thread lane under strategy {strategy}")


CASES = {f.__name__: f for f in [single, run2, run4, errors, thread_level, training_skip, training_fault,
                                  training_seams, training_csv, schedule_tool, interrupt,
                                  trace]}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2], sys.argv[3])
