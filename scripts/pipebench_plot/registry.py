"""The figure types: each figure module registers its drawing function here, under the type name
that --figures takes and that starts its files' names.

    @figure("speedup", need="entries with a speedup counter",
            doc="speedup over `serial` of every variant, ...")
    def fig_speedup(pair, entries, index, writer):   # True when it drew a figure for the pair
        ...

`need` ends the line plot.py prints when no pair had data for the type ("<type>: skipped, the
input has no <need>"); `doc` (lines split at newlines) is its entry in --help, under the type's
name or under `doc_name` (one entry for a family, efficiency_vs_<axis>). Keyword arguments past
those are bound to the function's own (the family's axis). The types are listed, and drawn, in
the order they register: the order figures/__init__.py imports their modules in."""
import functools

FIGURES = {}   # type name -> Figure, in registration order
_DOCS = []     # (name shown in --help, lines), in registration order


class Figure:
    def __init__(self, name, draw, need):
        self.name, self.draw, self.need = name, draw, need


def figure(name, need, doc=None, doc_name=None, **bind):
    """Registers the decorated function as figure type `name`; returns the function unchanged, so
    one function can be registered under several names (figure(...)(fn) in a loop)."""
    def register(fn):
        if name in FIGURES:
            raise ValueError(f"figure type {name} registered twice")
        FIGURES[name] = Figure(name, functools.partial(fn, **bind) if bind else fn, need)
        if doc:
            _DOCS.append((doc_name or name, doc.split("\n")))
        return fn
    return register


def types():
    """Every figure type, in the order they draw."""
    _load()
    return list(FIGURES)


def get(name):
    _load()
    return FIGURES[name]


def help_text(indent=2, width=27):
    """The figure types' entries for --help, one name and its description lines each."""
    _load()
    lines = []
    for name, doc in _DOCS:
        for i, text in enumerate(doc):
            lines.append(" " * indent + (name if i == 0 else "").ljust(width) + text)
    return "\n".join(lines)


def _load():
    from . import figures  # noqa: F401  (imports every figure module, which registers itself)
