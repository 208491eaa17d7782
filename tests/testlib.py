"""What every test driver here shares: running a binary with a timeout, and failing or skipping
with one line. Standard library only."""
import json
import os
import subprocess
import sys

TIMEOUT = 300
SKIP = 77  # CTest's SKIP_RETURN_CODE


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
