"""What every test driver here shares: running a binary with a timeout, failing or skipping with
one line, reading a result file through scripts/pipebench_results.py and checking it against
the JSON Schema, and interrupting a run. Standard library only (the schema check runs in an
interpreter that has python3-jsonschema)."""
import json
import math
import os
import signal
import subprocess
import sys
import time

TIMEOUT = 300
SKIP = 77  # CTest's SKIP_RETURN_CODE
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import pipebench_results  # noqa: E402


def run(binary, *args, env=None, timeout=TIMEOUT):
    """The binary's exit code, stdout and stderr; `env` adds to this process's environment."""
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else {**os.environ, **env})


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def skip(msg):
    print("SKIP:", msg)
    sys.exit(SKIP)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def _schema_python():
    try:
        import jsonschema  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    for cand in ("/usr/bin/python3",):
        if os.access(cand, os.X_OK) and subprocess.run([cand, "-c", "import jsonschema"],
                                                      capture_output=True).returncode == 0:
            return cand
    fail("no python3 with jsonschema (Debian: apt-get install python3-jsonschema; scripts/deps.sh installs it)")


def check_schema(*paths):
    """Every file conforms to results/schema/result.schema.json."""
    script = os.path.join(ROOT, "scripts", "pipebench_results.py")
    r = subprocess.run([_schema_python(), script, "validate", *paths], capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(r.returncode == 0, f"schema: {r.stderr.strip()[:3000]}")


def load_result(path):
    """The document, checked against the schema, and the entries read by the results module."""
    check_schema(path)
    doc = load_json(path)
    try:
        results = pipebench_results.load([path])
    except pipebench_results.ResultError as e:
        fail(str(e))
    return doc, results


def close(a, b, rel=1e-9):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


def ideal_time(stages, chunks, depth):
    """bench/harness/model.hpp's ideal_time, written again from its comment."""
    total = sum(stages)
    period = max(stages)
    if depth > 0:
        period = max(period, total / depth)
    return total / chunks + (chunks - 1) * period / chunks


def check_model_terms(results, e, stages):
    """The models with terms (bench/stages/handoff.hpp, cpu/contention), recomputed from the
    stage entries and the terms' counters."""
    terms = results.terms(e)
    serial, ideal, t = e.value("t_serial"), e.value("t_ideal"), e.seconds
    h = terms.get("stage_handoff")
    if h is not None:
        check(e.value("t_ideal_handoff") is not None, f"{e.name}: stage_handoff ran, no t_ideal_handoff")
        w, r = h.value("handoff_write_seconds"), h.value("handoff_read_seconds")
        lw, lr = h.value("handoff_local_write_seconds"), h.value("handoff_local_read_seconds")
        for rep in h.reps or [h.run]:  # per repetition: the median of a sum is not the sum of the medians
            hw, hr, hlw, hlr = (h.value(k, rep) for k in ("handoff_write_seconds", "handoff_read_seconds",
                                                          "handoff_local_write_seconds", "handoff_local_read_seconds"))
            check(close(h.value("handoff_seconds", rep), max(0, hw - hlw) + max(0, hr - hlr)),
                  f"{h.name}: handoff_seconds")
        want = ideal_time([stages[0] + max(0, w - lw), stages[1] + max(0, r - lr)], e.model["chunks"], e.model["depth"])
        check(close(e.value("t_ideal_handoff"), want), f"{e.name}: t_ideal_handoff {e.value('t_ideal_handoff')} != {want}")
        check(e.value("t_ideal_handoff") >= ideal * (1 - 1e-12), f"{e.name}: the handoff made the model faster")
        if e.value("efficiency_handoff") is not None:
            check(close(e.value("efficiency_handoff"), (serial - t) / (serial - want)), f"{e.name}: efficiency_handoff")
    b = terms.get("stage_both")
    if b is not None:
        want = max(ideal, b.seconds)
        check(close(e.value("t_ideal_contended"), want), f"{e.name}: t_ideal_contended {e.value('t_ideal_contended')}")
        if e.value("efficiency_contended") is not None:
            check(close(e.value("efficiency_contended"), (serial - t) / (serial - want)),
                  f"{e.name}: efficiency_contended")


def check_model(results):
    """The model's arithmetic on the measured inputs, for every entry with a model (pipelined
    entries, and alternatives that declare a bound): speedup and bound from t_serial, efficiency
    from its definition, and t_ideal recomputed from the stage entries where the formula is the
    harness's (formula "pipeline"). Holds on any machine: it relates numbers in the file, never a
    measured speed to another. Returns how many pipelined entries it checked."""
    checked = 0
    for e in results.with_result():
        if e.role not in ("pipelined", "alternative") or e.value("t_ideal") is None:
            continue
        check(e.model is not None, f"{e.name}: t_ideal without a declared model")
        t, ideal, serial = e.seconds, e.value("t_ideal"), e.value("t_serial")
        s = results.sibling(e, "serial")
        check(s is not None and close(serial, s.seconds), f"{e.name}: t_serial {serial} is not its serial sibling's time")
        check(close(e.value("speedup"), serial / t), f"{e.name}: speedup is not t_serial / t")
        check(close(e.value("speedup_bound"), serial / ideal), f"{e.name}: speedup_bound is not t_serial / t_ideal")
        if e.value("efficiency") is not None:
            check(close(e.value("efficiency"), (serial - t) / (serial - ideal)), f"{e.name}: efficiency")
        else:
            check(serial <= ideal or "undefined" in e.run.get("label", ""), f"{e.name}: no efficiency and no reason")
        if e.model["formula"] == "pipeline":
            stages = [s.seconds for _, _, s in results.stages(e)]
            check(close(ideal, ideal_time(stages, e.model["chunks"], e.model["depth"])),
                  f"{e.name}: t_ideal {ideal} is not the model of its stages {stages}")
            check_model_terms(results, e, stages)
        checked += e.role == "pipelined"
    return checked


class Interrupted:
    """A run started in its own session, stopped with a signal when its stderr has said
    `after` entries were done (0: at once), and waited for."""

    def __init__(self, cmd, after, sig, env=None, cwd=None, timeout=TIMEOUT):
        self.cmd, self.after, self.sig = cmd, after, sig
        self.env = None if env is None else {**os.environ, **env}
        self.cwd, self.timeout = cwd, timeout

    def run(self, delay=None):
        # Stopped "after 0 entries": once the process runs, not while it is still being loaded
        # (a signal then ends it before it can install its handlers).
        delay = (0.1 if self.after == 0 else 0.0) if delay is None else delay
        p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env,
                             cwd=self.cwd, start_new_session=True)
        lines, deadline = [], time.monotonic() + self.timeout
        try:
            done = 0
            while done < self.after:
                line = p.stderr.readline()
                if not line:
                    break  # it ended before: the caller sees the exit code and what it wrote
                lines.append(line)
                if "] " in line and " done]" in line:
                    done += 1
                check(time.monotonic() < deadline, f"{self.cmd[0]}: no progress in {self.timeout} s")
            if delay:
                time.sleep(delay)
            if p.poll() is None:
                p.send_signal(self.sig)
            _, rest = p.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            fail(f"{' '.join(self.cmd)}: did not stop within {self.timeout} s of {signal.Signals(self.sig).name}")
        self.stderr = "".join(lines) + (rest or "")
        self.returncode = p.returncode
        self.done = sum(1 for l in self.stderr.splitlines() if " done] " in l)
        return self


EARLIER = '{"earlier": "the file that was at the output path before the run"}\n'


def temp_files(folder, out_name):
    return [f for f in os.listdir(folder) if f.startswith(f".{out_name}.pipebench.")]


def check_interrupts(cmd, out, cases, data_dirs=(), env=None, stray=("pipebench-",), forwarded=False):
    """Stops `cmd` (its --benchmark_out is `out`) at each case (after N finished entries, signal,
    graceful[, seconds to wait after that]) and checks what the output path holds: the earlier file, untouched, or a valid
    document of the run with every entry it finished, marked as not finished; and that no data
    file or temporary file was left. graceful: the binary stops itself (SIGINT, SIGTERM, SIGUSR1
    through mpirun); otherwise it is killed (SIGKILL, or mpirun killing its ranks), and a later
    run removes what it left. forwarded: stderr reaches us through a launcher (mpirun), which may
    drop the last lines its child wrote when it exits, so the file may hold entries we never saw."""
    folder, name = os.path.dirname(out) or ".", os.path.basename(out)
    seen = []
    for case in cases:
        after, sig, graceful = case[:3]
        with open(out, "w") as f:
            f.write(EARLIER)
        r = Interrupted([*cmd, f"--benchmark_out={out}"], after, sig, env=env).run(*case[3:])
        what = f"{os.path.basename(cmd[0])} stopped by {signal.Signals(sig).name} after {after} entries"
        with open(out) as f:
            text = f.read()
        done = [l.split(" done] ", 1)[1].strip() for l in r.stderr.splitlines() if " done] " in l]
        if r.returncode == 0:  # it finished before the signal came: a complete document
            doc, results = load_result(out)
            check(doc["pipebench"]["status"] == "complete", f"{what}: exit 0 but status {doc['pipebench']['status']}")
        elif text == EARLIER:
            check(not (graceful and done), f"{what}: {len(done)} entries finished but the earlier file is still there")
            check(r.returncode in (128 + sig, -sig), f"{what}: exit {r.returncode}\n{r.stderr[-2000:]}")
        else:
            doc, results = load_result(out)
            meta = doc["pipebench"]
            names = {b["run_name"] for b in doc["benchmarks"]}
            if graceful:
                check(r.returncode == 128 + sig, f"{what}: exit {r.returncode}, expected {128 + sig}\n{r.stderr[-2000:]}")
                check(meta["status"] == "incomplete" and signal.Signals(sig).name in meta["reason"],
                      f"{what}: status {meta['status']!r}, reason {meta.get('reason')!r}")
                check(set(done) <= names and (len(names) == len(done) or forwarded),
                      f"{what}: {len(done)} entries finished, the file holds {len(names)}: missing "
                      f"{sorted(set(done) - names)[:3]}")
                check(meta["entries_written"] == len(names), f"{what}: entries_written {meta['entries_written']} != {len(names)}")
                check(len(meta["not_run"]) + len(names) == meta["entries_registered"],
                      f"{what}: {len(meta['not_run'])} not run + {len(names)} written != {meta['entries_registered']}")
            else:
                check(meta["status"] in ("running", "incomplete"), f"{what}: status {meta['status']!r}")
                check(set(done[:-1]) <= names, f"{what}: finished entries missing from the file")
            check_model(results)
        if graceful:
            check(not temp_files(folder, name), f"{what}: temporary files left: {temp_files(folder, name)}")
            for d in data_dirs:
                left = [f for f in os.listdir(d) if f.startswith(stray)]
                check(not left, f"{what}: data files left in {d}: {left}")
        seen.append(f"{signal.Signals(sig).name}@{after}: {len(done)} done, exit {r.returncode}")
    return seen


def space_ok(folder, need):
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize >= need
