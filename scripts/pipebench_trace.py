"""Reading pipebench timelines: the Chrome Trace Event files `--trace DIR` writes, one per entry
(results/README.md, "Timelines"). The one place that knows what a pipebench trace holds.

    t = load("trace/cpu.overlap.pipelined....trace.json")   # raises TraceError
    t.entry, t.lanes (label, process, [Interval]), t.meta["trace_pass_seconds"]
    problems(t)        # [] when the file is whole: every expected stage of every item once,
                       # each lane's intervals ordered and disjoint
    idle_share_of_busiest(t)   # the bubble the timeline shows

Standard library only."""
import json
import os
from collections import defaultdict


class TraceError(Exception):
    """A file that cannot be read as a pipebench trace; the message is one line naming it."""


class Interval:
    __slots__ = ("name", "item", "begin", "end", "category", "args")

    def __init__(self, name, item, begin, end, category, args):
        self.name, self.item, self.begin, self.end, self.category, self.args = name, item, begin, end, category, args

    @property
    def seconds(self):
        return self.end - self.begin


class Lane:
    def __init__(self, tid, process, label):
        self.tid, self.process, self.label = tid, process, label
        self.intervals = []


class Trace:
    """One traced pass: its lanes in file order, times in seconds from the pass's first begin."""

    def __init__(self, path, meta, lanes, processes):
        self.path, self.meta, self.lanes, self.processes = path, meta, lanes, processes

    @property
    def entry(self):
        return self.meta.get("entry", "")

    @property
    def expect(self):
        return self.meta.get("expect", {"stages": [], "items": 0, "per_process": False})

    def stage_intervals(self):
        return [(lane, i) for lane in self.lanes for i in lane.intervals if i.category == "stage"]

    def span(self):
        ivs = [i for lane in self.lanes for i in lane.intervals]
        if not ivs:
            return 0.0, 0.0
        return min(i.begin for i in ivs), max(i.end for i in ivs)


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise TraceError(f"{path}: not readable as JSON ({e})")
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        raise TraceError(f"{path}: not a Chrome trace (no traceEvents list)")
    meta = doc.get("otherData") or {}
    if meta.get("format") != "pipebench-trace":
        raise TraceError(f"{path}: not a pipebench trace (otherData.format is {meta.get('format')!r})")
    lanes, processes = {}, {}
    for ev in doc["traceEvents"]:
        ph, pid, tid = ev.get("ph"), ev.get("pid", 0), ev.get("tid", 0)
        if ph == "M" and ev.get("name") == "process_name":
            processes[pid] = ev.get("args", {}).get("name", f"process {pid}")
        elif ph == "M" and ev.get("name") == "thread_name":
            lanes.setdefault((pid, tid), Lane(tid, pid, ev.get("args", {}).get("name", f"lane {tid}")))
        elif ph == "X":
            lane = lanes.setdefault((pid, tid), Lane(tid, pid, f"lane {tid}"))
            try:
                begin = float(ev["ts"]) * 1e-6
                end = begin + float(ev["dur"]) * 1e-6
            except (KeyError, TypeError, ValueError):
                raise TraceError(f"{path}: an event without numeric ts and dur: {ev!r}"[:200])
            args = dict(ev.get("args") or {})
            lane.intervals.append(Interval(ev.get("name", ""), args.pop("item", -1), begin, end,
                                           ev.get("cat", ""), args))
    ordered = sorted(lanes.values(), key=lambda l: (l.process, l.tid))
    return Trace(path, meta, ordered, processes)


def problems(trace):
    """What is wrong with a trace, one line each; [] when it is whole."""
    out = []
    for lane in trace.lanes:
        last = None
        for i in lane.intervals:  # in the order they were recorded
            if i.end < i.begin:
                out.append(f"lane {lane.label!r}: {i.name} of item {i.item} ends before it begins")
            if last is not None and i.begin < last.end - 1e-9:
                out.append(f"lane {lane.label!r}: {i.name} of item {i.item} begins before "
                           f"{last.name} of item {last.item} ended")
            last = i
    exp = trace.expect
    seen = defaultdict(int)
    for lane, i in trace.stage_intervals():
        seen[(lane.process if exp.get("per_process") else 0, i.name, i.item)] += 1
    procs = sorted({lane.process for lane in trace.lanes}) if exp.get("per_process") else [0]
    for p in procs:
        for stage in exp.get("stages", []):
            for item in range(int(exp.get("items", 0))):
                n = seen.get((p, stage, item), 0)
                if n != 1:
                    where = f" on process {p}" if exp.get("per_process") else ""
                    out.append(f"{stage} of item {item}{where} recorded {n} times, not once")
    return out


def idle_share_of_busiest(trace):
    """1 - busy/span for the process whose stage intervals cover most of the pass's span."""
    by_proc = defaultdict(list)
    for lane, i in trace.stage_intervals():
        by_proc[lane.process].append((i.begin, i.end))
    if not by_proc:
        return float("nan")
    begin = min(b for v in by_proc.values() for b, _ in v)
    end = max(e for v in by_proc.values() for _, e in v)
    if end <= begin:
        return float("nan")
    best = None
    for v in by_proc.values():
        v.sort()
        busy, cover = 0.0, float("-inf")
        for b, e in v:
            b = max(b, cover)
            if e > b:
                busy += e - b
            cover = max(cover, e)
        idle = 1.0 - busy / (end - begin)
        best = idle if best is None else min(best, idle)
    return best


def resolve(path, result_file=None):
    """A trace path as a result file names it: as written, else beside the result file."""
    if os.path.exists(path) or result_file is None:
        return path
    for cand in (os.path.join(os.path.dirname(result_file), path),
                 os.path.join(os.path.dirname(result_file), "traces", os.path.basename(path)),
                 os.path.join(os.path.dirname(result_file), os.path.basename(path))):
        if os.path.exists(cand):
            return cand
    return path
