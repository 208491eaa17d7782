#!/usr/bin/env python3
"""scripts/gpu-check.sh's preflight, on any machine: with nvidia-smi, nvcc or cmake failing
(fakes put first on the PATH), it stops within seconds with exit 3 and one gpu-check line
naming what failed, writes what it asked into $OUT/preflight.txt and builds nothing; an
unknown argument is exit 2 with one line.

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


if __name__ == "__main__":
    main()
