#!/usr/bin/env python3
"""Figures for papers from pipebench result files (results/README.md: schema version 1).

    plot.py [-o DIR] [--columns 1,2] [--formats pdf,png] [--figures TYPE,...] [--where AXIS=VALUE,...]
            RESULT [RESULT ...]

The command line of the pipebench_plot package beside this file (its cli.py holds the --help
text; one module per figure type under pipebench_plot/figures/). Standard library plus
matplotlib; without matplotlib, it re-runs this file with a python3 that has it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from pipebench_plot.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
