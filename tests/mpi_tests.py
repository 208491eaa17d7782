#!/usr/bin/env python3
"""pipebench-mpi through mpirun, at tiny sizes, each run with a timeout (a hang fails).

    mpi_tests.py <case> <pipebench-mpi> <mpiexec>
    case: single run2 run4 errors thread_level training_skip training_fault interrupt

Standard library only; exit 0 passed, 1 failed (first failed assertion), 77 skipped."""
import json
import os
import signal
import subprocess
import sys
import tempfile
from testlib import check, check_interrupts, check_model, fail, load_result

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


SCHEDULES = ["gpipe", "1f1b", "interleaved", "zero_bubble"]


def training(runs, ranks):
    """Pipeline-parallel training: every schedule ran, verified, with its model and bubble."""
    for v in ["serial", "stage_forward", "stage_backward", "stage_weight"]:
        check(any(n.startswith(f"mpi/training/{v}/") for n in runs), f"no mpi/training/{v} entry")
    for s in SCHEDULES:
        names = [n for n in runs if n.startswith("mpi/training/pipelined/") and n.endswith(f"schedule:{s}")]
        check(names, f"no mpi/training pipelined entry with schedule {s}")
        for n in names:
            b = runs[n]
            for counter in ["t_serial", "t_ideal", "speedup_bound", "bubble_model", "bubble_measured",
                            "peak_in_flight", "activation_share", "messages", "compute_in_run", "imbalance"]:
                check(counter in b, f"{n} lacks {counter}")
            m = b["pipebench"]["params"]["microbatches"]
            # The schedules' memory: GPipe holds every microbatch, 1F1B and ZB-H1 at most one per rank.
            stages_per_rank = 2 if s == "interleaved" else 1
            check(b["messages"] == 2 * (ranks * stages_per_rank - 1) * m, f"{n}: messages {b['messages']}")
            want = {"gpipe": m, "1f1b": min(m, ranks), "zero_bubble": min(m, ranks)}.get(s)
            if want is not None:
                check(b["peak_in_flight"] == want, f"{n}: peak_in_flight {b['peak_in_flight']}, expected {want}")
            check(0 <= b["bubble_model"] < 1, f"{n}: bubble_model {b['bubble_model']} outside [0, 1)")
            # The model's arithmetic on the measured pass costs (times compared with times would
            # fail on another machine): the bubble is 1 - busy / t_ideal, busy the three passes.
            busy = sum(runs[b["pipebench"]["model"]["stages"][i]["entry"]]["real_time"] * 1e-6 for i in range(3))
            check(abs(b["bubble_model"] - (1 - busy / b["t_ideal"])) < 1e-9, f"{n}: bubble_model is not 1 - busy / t_ideal")
            check(b["speedup_bound"] > 0 and abs(b["speedup_bound"] - b["t_serial"] / b["t_ideal"]) < 1e-9 * b["speedup_bound"],
                  f"{n}: speedup_bound is not t_serial / t_ideal")


def single(binary, mpiexec):
    doc, r = run_and_load(mpiexec, 1, binary)
    for b in doc["benchmarks"]:
        msg = b.get("error_message", "")
        check(msg.startswith("skipped: needs at least 2 MPI ranks"), f"{b['name']}: {msg!r}")


def run2(binary, mpiexec):
    doc, r = run_and_load(mpiexec, 2, binary)
    verified(doc, 2)
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
                              (["--schedule", "pipedream"], "--schedule: 'pipedream' is not one of gpipe, 1f1b, interleaved, zero_bubble"),
                              (["--microbatches", "0"], "--microbatches: must be positive"),
                              (["--bytes", "64", "--microbatches", "32"], "--microbatches 32: more microbatches than the floats"),
                              (["--microbatches", "5000"], "--microbatches 5000: at most 4095 with 2 ranks")]:
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


CASES = {f.__name__: f for f in [single, run2, run4, errors, thread_level, training_skip, training_fault, interrupt]}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2], sys.argv[3])
