"""One module per figure type; importing one registers it (registry.figure). The order of the
imports is the order the types are listed in --help, taken by default and drawn: a new figure
type is a new module here and one line below."""
from . import speedup, speedup_vs_ratio, throughput_vs_chains, efficiency, scaling, time_went, gantt  # noqa: F401
