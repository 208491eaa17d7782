#!/usr/bin/env python3
"""scripts/gpu-check.sh's preflight, on any machine: with nvidia-smi, nvcc or cmake failing
(fakes put first on the PATH), it stops within seconds with exit 3 and one gpu-check line
naming what failed, writes what it asked into $OUT/preflight.txt and builds nothing; an
unknown argument is exit 2 with one line. Then the report's trust conditions
(scripts/gpu_check_report.py) on a run made up here: all met, then each broken in turn.

    gpu_check_test.py CHECKOUT"""
import os
import stat
import subprocess
import sys
import tempfile
import time
from testlib import check

ROOT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gpu-check.sh")


def fake(folder, name, text, rc):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\necho '{text}'\nexit {rc}\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([SCRIPT, "--bogus"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown argument '--bogus'" in r.stderr,
              f"--bogus: exit {r.returncode}, {r.stderr!r}")
        # Each tool in turn the first to fail, the ones before it answering.
        cases = [("nvidia-smi", [("nvidia-smi", "NVIDIA-SMI has failed: no driver", 9)]),
                 ("nvcc", [("nvidia-smi", "NVIDIA-SMI 580.00 (fake)", 0), ("nvcc", "nvcc: broken", 1)]),
                 ("cmake", [("nvidia-smi", "NVIDIA-SMI 580.00 (fake)", 0), ("nvcc", "Cuda compilation tools (fake)", 0),
                            ("cmake", "cmake: broken", 4)])]
        for name, tools in cases:
            bin_dir, out = os.path.join(tmp, name, "bin"), os.path.join(tmp, name, "out")
            os.makedirs(bin_dir)
            for tool, text, rc in tools:
                fake(bin_dir, tool, text, rc)
            env = {**os.environ, "OUT": out, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
                   "CUDA_HOME": os.path.join(tmp, "no-cuda")}
            start = time.monotonic()
            r = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=60, env=env)
            took = time.monotonic() - start
            lines = [line for line in r.stderr.splitlines() if line.startswith("gpu-check")]
            check(r.returncode == 3 and len(lines) == 1 and lines[0].startswith(f"gpu-check: preflight: {name}: exit ")
                  and "nothing was built or run" in lines[0], f"{name} failing: exit {r.returncode}, {r.stderr!r}")
            check(took < 15, f"{name} failing: the preflight took {took:.1f} s")
            check(os.listdir(out) == ["preflight.txt"], f"{name} failing: $OUT holds {os.listdir(out)}")
            with open(os.path.join(out, "preflight.txt")) as f:
                asked = f.read()
            check(all(text in asked for _, text, _ in tools), f"preflight.txt lacks the tools' answers:\n{asked}")
    print("gpu_check_test: the preflight stops on each missing tool within seconds, output under $OUT")
    trust_case()


class FakeEntry:
    """What trust_checks reads of a pipebench_results.Entry."""

    def __init__(self, workload, variant, params, seconds, cv=0.01, outcome="ok", **counters):
        self.workload, self.variant, self.params, self.seconds, self.cv = workload, variant, params, seconds, cv
        self.outcome, self.counters = outcome, counters
        self.name = f"cuda/{workload}/{variant}/" + "/".join(f"{k}:{v}" for k, v in params.items())

    def value(self, counter):
        return self.counters.get(counter)


def trust_case():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import gpu_check_report as g
    ctx = {f"cuda/elementwise/{k}": v for k, v in {
        "device": "NVIDIA H200", "compute_capability": "9.0", "sm_count": "132", "sm_clock_peak_mhz": "1980",
        "async_engine_count": "3", "pcie_link_max": "gen 5 x16", "gpu_numa_node": "0"}.items()}
    # 132 SMs x 128 lanes x 2 x 1.98 GHz = 66.9 TFLOP/s.
    check(abs(g.fp32_peak_flops(ctx, lambda k: ctx.get(f"cuda/elementwise/{k}")) - 132 * 128 * 2 * 1.98e9) < 1,
          "FP32 peak arithmetic")
    point = {"bytes": 64 << 20, "intensity": 4096}

    def good():
        return [FakeEntry("elementwise", "serial", {**point, "memory": "pinned"}, 3.0e-3),
                FakeEntry("elementwise", "serial", {**point, "memory": "pageable"}, 6.0e-3),
                FakeEntry("elementwise", "stage_kernel", {"bytes": 64 << 20, "chunks": 32, "intensity": 4096,
                                                          "streams": 4}, 1.1e-3, flops_per_second=60e12),
                FakeEntry("elementwise", "pipelined", {**point, "chunks": 32, "memory": "pinned", "order": "depth_first",
                                                       "streams": 1}, 3.05e-3, speedup=0.98, speedup_bound=1.0),
                FakeEntry("elementwise", "pipelined", {**point, "chunks": 32, "memory": "pinned", "order": "depth_first",
                                                       "streams": 4}, 1.4e-3, speedup=2.14, speedup_bound=2.2),
                FakeEntry("elementwise", "pipelined", {**point, "chunks": 32, "memory": "pageable",
                                                       "order": "depth_first", "streams": 4}, 5.9e-3, speedup=1.02)]
    ctest_ok = "100% tests passed, 0 tests failed out of 7\n"
    checks = g.trust_checks(ctx, good(), ctest_ok)
    check(len(checks) == 8 and all(met for _, met, _ in checks),
          "a good run not trusted: " + "; ".join(f"{c}: {d}" for c, m, d in checks if not m))

    def broken(condition_word, change_ctx=None, change=None, ctest=ctest_ok):
        entries = good()
        if change:
            change(entries)
        c = dict(ctx)
        if change_ctx:
            change_ctx(c)
        result = {cond: met for cond, met, _ in g.trust_checks(c, entries, ctest)}
        bad = [cond for cond, met in result.items() if met is False]
        check(len(bad) == 1 and condition_word in bad[0], f"breaking '{condition_word}' failed {bad}")

    broken("NUMA node", change_ctx=lambda c: c.pop("cuda/elementwise/gpu_numa_node"))
    broken("none skips", ctest="100% tests passed, 0 tests failed out of 7\n  4 - cuda_run (Skipped)\n")
    broken("verification", change=lambda es: setattr(es[3], "outcome", "failed"))
    broken("FP32 peak", change=lambda es: es[2].counters.update(flops_per_second=70e12))
    broken("one stream", change=lambda es: setattr(es[3], "seconds", 3.3e-3))
    broken("its bound", change=lambda es: es[4].counters.update(speedup=2.4))
    broken("pageable", change=lambda es: es[5].counters.update(speedup=1.3))
    broken("repetitions", change=lambda es: setattr(es[4], "cv", 0.08))
    print("gpu_check_test: the trust conditions hold on a good run and each fails alone when broken")


if __name__ == "__main__":
    main()
