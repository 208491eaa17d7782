"""scripts/plot.py's figures, as a package (plot.py is its command line; cli.main).

    cli.py       the command line: options, reading and filtering the results, drawing every
                 registered type for every pair, pairs.csv; re-runs plot.py with an interpreter
                 that has matplotlib when this one lacks it
    registry.py  the figure types: @figure("name", need=..., doc=...) on a drawing function
    figures/     one module per figure type, each registering itself
    style.py     paper widths, palette, markers, matplotlib settings, legend, series styles
    output.py    the figure files (stamped when synthetic) and pairs.csv
    common.py    shared helpers: merged entries and siblings, labels, units, series, axes

Results are read through scripts/pipebench_results.py (beside this package), by the fields
the binaries wrote, and timelines (figures/gantt.py) through scripts/pipebench_trace.py.
Importing the package needs no matplotlib; drawing does."""
