"""Reading pipebench result files: the one place that knows the result schema.

A result file (schema version 1, results/README.md; results/schema/result.schema.json) is
Google Benchmark's JSON plus what pipebench knows: each run object's "pipebench" object says
which entry it is (pair, variant, role, typed parameters, siblings, the stages of its model),
and the document's "pipebench" object says whether the run completed. Nothing here parses an
entry name: entries are found by the names and fields the binaries wrote.

    results = load(["results/vm/<run>/"])      # files and folders; raises ResultError
    for e in results.entries: e.pair, e.variant, e.role, e.params, e.seconds, e.value("speedup")
    results.sibling(e, "serial"), results.stages(e), results.find(pair, variant, params),
    results.own_params(e)

Standard library only (interpreter_with() finds one for the scripts that need more)."""
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

SCHEMA_VERSION = 1
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ROLES = ("serial", "pipelined", "stage", "alternative", "reference")


class ResultError(Exception):
    """A file that cannot be read as a pipebench result; the message is one line naming it."""


class Entry:
    """One entry of one result file: its median run (or single run), its repetitions, its
    aggregates, and what the binary said it is."""

    def __init__(self, name, desc, result_file):
        self.name = name
        self.file = result_file
        self.pair = desc["pair"]
        self.domain = desc["domain"]
        self.workload = desc["workload"]
        self.variant = desc["variant"]
        self.role = desc["role"]
        self.params = dict(desc.get("params", {}))
        self.stage_kind = desc.get("stage_kind")
        self.sibling_names = dict(desc.get("siblings", {}))
        self.model = desc.get("model")
        self.trace = desc.get("trace")  # the timeline of its traced pass (--trace), or None
        self.run = None        # the median aggregate, or the single run
        self.reps = []         # every repetition's run
        self.aggregates = {}   # aggregate name -> run
        self.error = None      # error_message of a failed or skipped run
        self.outcome = "ok"    # ok, failed, skipped
        if self.domain == "mpi":
            # The run's rank count is a parameter across result files (scaling figures).
            self.params.setdefault("ranks", result_file.processes)

    def add(self, b):
        if b.get("error_occurred"):
            self.error = b.get("error_message", "error")
            self.outcome = b.get("pipebench", {}).get("outcome", "failed")
        elif b.get("run_type") == "aggregate":
            self.aggregates[b.get("aggregate_name", "")] = b
        else:
            self.reps.append(b)

    def finish(self):
        self.run = self.aggregates.get("median")
        if self.run is None and self.reps:  # one repetition, or repetitions without aggregates
            self.run = sorted(self.reps, key=lambda r: r["real_time"])[len(self.reps) // 2]

    @property
    def ok(self):
        return self.run is not None

    @property
    def seconds(self):
        return self.value("time")

    @property
    def cv(self):
        """Coefficient of variation of the repetitions' times, if they ran."""
        cv = self.aggregates.get("cv")
        return None if cv is None else cv.get("real_time")

    def value(self, counter, run=None):
        run = run or self.run
        if run is None:
            return None
        if counter == "time":
            return run["real_time"] * UNIT.get(run.get("time_unit", "ns"), 1e-9)
        v = run.get(counter)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    def spread(self, counter):
        """(min, max) of a counter over the repetitions, or None with fewer than two."""
        vals = [v for v in (self.value(counter, r) for r in self.reps) if v is not None]
        return (min(vals), max(vals)) if len(vals) >= 2 else None

    @property
    def key(self):
        """Identity across the files of one origin: the name, and the rank count for MPI."""
        return (self.name, self.params.get("ranks")) if self.domain == "mpi" else (self.name, None)


class ResultFile:
    def __init__(self, path, doc):
        self.path = path
        self.context = doc["context"]
        meta = doc["pipebench"]
        self.program = meta.get("program", "?")
        self.status = meta.get("status", "?")
        self.reason = meta.get("reason", "")
        self.processes = meta.get("processes", 1)
        self.not_run = list(meta.get("not_run", []))
        self.registered = meta.get("entries_registered")
        self.after_run = dict(meta.get("after_run", {}))  # what the binary read after its last entry
        self.synthetic = self.context.get("pipebench_synthetic")
        # Entries of one Slurm job (or of all tasks of one job array) form one series: an
        # array's tasks each hold one point of a sweep. Outside Slurm a run folder does.
        ctx = self.context
        cluster = ctx.get("slurm_cluster_name", ctx.get("host_name", "?"))
        if ctx.get("slurm_array_job_id"):
            self.origin = f"{cluster} job {ctx['slurm_array_job_id']}"
        elif ctx.get("slurm_job_id"):
            self.origin = f"{cluster} job {ctx['slurm_job_id']}"
        else:
            self.origin = os.path.basename(os.path.dirname(os.path.abspath(path))) or path
        self.entries = {}
        for b in doc["benchmarks"]:
            name = b["run_name"]
            e = self.entries.get(name)
            if e is None:
                e = self.entries[name] = Entry(name, b["pipebench"], self)
            e.add(b)
        for e in self.entries.values():
            e.finish()

    @property
    def complete(self):
        return self.status == "complete"

    def status_line(self):
        """One line on what an unfinished run left, or None for a complete one."""
        if self.complete:
            return None
        n = len(self.entries)
        if self.status == "running":
            return (f"{self.path}: the run did not finish (killed, or still running): {n} entries "
                    f"written, {self.registered - n if self.registered else '?'} not")
        return f"{self.path}: incomplete ({self.reason or 'no reason given'}): {n} entries, {len(self.not_run)} not run"


def classify(doc):
    """'pipebench', a peer's 'fio' (scripts/fio-compare.sh) or 'likwid' (scripts/likwid-compare.sh),
    or the reason it is none of them."""
    if not isinstance(doc, dict):
        return "not a pipebench result (not a JSON object)"
    for peer in ("fio", "likwid"):
        if isinstance(doc.get(peer), dict) and isinstance(doc.get("runs"), list):
            return peer
    meta = doc.get("pipebench")
    if isinstance(meta, dict) and "schema_version" in meta:
        if meta["schema_version"] != SCHEMA_VERSION:
            return (f"pipebench result schema {meta['schema_version']}; this script reads schema {SCHEMA_VERSION}")
        if not isinstance(doc.get("benchmarks"), list) or not isinstance(doc.get("context"), dict):
            return "pipebench result without 'context' and 'benchmarks'"
        for b in doc["benchmarks"]:
            if not isinstance(b, dict) or "run_name" not in b or not isinstance(b.get("pipebench"), dict) or \
                    any(k not in b["pipebench"] for k in ("pair", "domain", "workload", "variant", "role")):
                return "pipebench result with a run that does not say which entry it is"
        return "pipebench"
    if isinstance(doc.get("context"), dict) and "pipebench_version" in doc["context"]:
        return (f"a pipebench result written before schema {SCHEMA_VERSION} "
                f"(pipebench {doc['context']['pipebench_version']}): rerun it with this version")
    if isinstance(doc.get("context"), dict) and isinstance(doc.get("benchmarks"), list):
        return "not a pipebench result (Google Benchmark JSON of another program)"
    return "not a pipebench result"


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise ResultError(f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ResultError(f"{path}: not valid JSON (an interrupted write?): {e}") from None


def find_json(path):
    """The *.json files of a folder (recursively, in name order), or the file itself."""
    if os.path.isdir(path):
        found = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".json")]
        if not found:
            raise ResultError(f"{path}: no result files (*.json) in this folder")
        return found
    if not os.path.exists(path):
        raise ResultError(f"{path}: no such file or folder")
    return [path]


class Results:
    """Every entry of the files loaded, and the lookups the tables and figures need."""

    def __init__(self, files, peers, notes):
        self.files = files
        self.peers = peers      # peers' documents: scripts/fio-compare.sh's and likwid-compare.sh's
        self.notes = notes      # one line each: files skipped, runs that did not finish
        self.entries = [e for f in files for e in f.entries.values()]
        self._by_origin = defaultdict(dict)
        for e in self.entries:
            self._by_origin[e.file.origin].setdefault(e.key, []).append(e)

    def _named(self, e, name):
        if name is None:
            return None
        if name in e.file.entries:
            s = e.file.entries[name]
            if s.ok:
                return s
        key = (name, e.params.get("ranks")) if e.domain == "mpi" else (name, None)
        for s in self._by_origin[e.file.origin].get(key, []):
            if s.ok:
                return s
        return None

    def sibling(self, e, which):
        """The entry's 'serial' or 'reference' sibling with a result, from its own file when
        that has it, else from another file of the same origin (a sweep's tasks); or None."""
        return self._named(e, e.sibling_names.get(which))

    def stages(self, e):
        """[(variant, kind, Entry or None)] of a pipelined entry's model, in the pair's order."""
        if not e.model:
            return []
        return [(s["variant"], s["kind"], self._named(e, s.get("entry"))) for s in e.model.get("stages", [])]

    def terms(self, e):
        """{variant: Entry or None} of the stage entries its model adds beyond the stages (the
        handoff, both stages at once)."""
        if not e.model:
            return {}
        return {s["variant"]: self._named(e, s.get("entry")) for s in e.model.get("terms", [])}

    def find(self, like, variant, params):
        """The entry of like's pair and origin with this variant and exactly these parameters."""
        for s in self.entries:
            if s.file.origin == like.file.origin and s.pair == like.pair and s.variant == variant and \
                    s.params == params and s.ok:
                return s
        return None

    def with_result(self):
        return [e for e in self.entries if e.ok]

    def own_params(self, e):
        """The parameters an entry has that its serial sibling lacks, in the entry's order (an
        alternative's chains, a pipelined entry's depth): what it chooses among at one point of
        its pair. Without a serial sibling with a result, those no serial entry of its pair and
        origin has; empty when the pair has none."""
        serial = self.sibling(e, "serial")
        if serial is not None:
            shared = set(serial.params)
        else:
            serials = [s for s in self.entries if s.pair == e.pair and s.role == "serial" and
                       s.file.origin == e.file.origin]
            if not serials:
                return []
            shared = set().union(*(s.params for s in serials))
        return [k for k in e.params if k not in shared]


def load(paths, explicit_errors=True):
    """Loads result files and folders. A file named on the command line that is not a pipebench
    result raises ResultError; one found in a folder is skipped with a note (fio's documents
    and likwid's are kept as peers). Raises ResultError when nothing is left."""
    files, peers, notes, seen = [], [], [], set()
    for arg in paths:
        in_folder = os.path.isdir(arg)
        for path in find_json(arg):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            try:
                doc = read_json(path)
            except ResultError as e:
                if in_folder or not explicit_errors:
                    notes.append(f"{e}; skipped")
                    continue
                raise
            kind = classify(doc)
            if kind in ("fio", "likwid"):
                peers.append(doc)
            elif kind == "pipebench":
                rf = ResultFile(path, doc)
                files.append(rf)
                if rf.status_line():
                    notes.append(rf.status_line())
            elif in_folder or not explicit_errors:
                notes.append(f"{path}: {kind}; skipped")
            else:
                raise ResultError(f"{path}: {kind}")
    if not files:
        raise ResultError(f"{', '.join(paths)}: no pipebench result" + (f" ({notes[0]})" if notes else ""))
    return Results(files, peers, notes)


def interpreter_with(module, script, guard):
    """An interpreter that can import `module`, for `script` to re-run itself with: Debian's
    python3-<module> serves /usr/bin/python3, while the python3 first on PATH may be another
    (PIPEBENCH_PYTHON, then /usr/bin/python3, then every python3 on PATH). Re-runs at most once
    (the environment variable `guard` marks the second run); returns only when none has it."""
    if os.environ.get(guard) == "1":
        return
    here = os.path.realpath(sys.executable)
    candidates = [os.environ.get("PIPEBENCH_PYTHON"), "/usr/bin/python3"]
    candidates += [os.path.join(d, n) for d in os.environ.get("PATH", "").split(os.pathsep) for n in ("python3", "python")]
    for cand in candidates:
        if not cand or not os.access(cand, os.X_OK) or os.path.realpath(cand) == here:
            continue
        try:
            ok = subprocess.run([cand, "-c", f"import {module}"], capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            os.environ[guard] = "1"
            os.execv(cand, [cand, script] + sys.argv[1:])


def validate(doc, schema_path=None):
    """Checks a document against results/schema/result.schema.json (needs python3-jsonschema);
    returns a list of one-line problems, empty when it conforms."""
    import jsonschema
    here = os.path.dirname(os.path.abspath(__file__))
    schema_path = schema_path or os.path.join(here, "..", "results", "schema", "result.schema.json")
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(str(p) for p in err.absolute_path) or '(document)'}: {err.message}"
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def main(argv):
    """pipebench_results.py validate FILE...: each file against the JSON Schema; one line per
    problem, exit 1 if any (the tests' check; needs python3-jsonschema).
    pipebench_results.py status FILE: prints the run's status (complete, incomplete, running),
    or one line on stderr and exit 2 when the file is not a pipebench result (the scripts'
    check before they give a result its final name)."""
    import sys
    if len(argv) == 2 and argv[0] == "status":
        try:
            doc = read_json(argv[1])
        except ResultError as e:
            print(e, file=sys.stderr)
            return 2
        kind = classify(doc)
        if kind != "pipebench":
            print(f"{argv[1]}: {kind}", file=sys.stderr)
            return 2
        print(doc["pipebench"]["status"])
        return 0
    if len(argv) < 2 or argv[0] != "validate":
        print("usage: pipebench_results.py validate FILE... | status FILE", file=sys.stderr)
        return 2
    bad = 0
    for path in argv[1:]:
        try:
            problems = validate(read_json(path))
        except ResultError as e:
            problems = [str(e)]
        for p in problems[:20]:
            print(f"{path}: {p}", file=sys.stderr)
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
