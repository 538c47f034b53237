"""Output formats, one module each, named by its file: ``formats/csv.py`` is ``--format csv``.
Adding a format is adding a file and its name to the import line below (an explicit list:
nothing is imported by a computed name).

A format module has ``KINDS``, the report kinds it can render (see ``gradcalc.report.Report``),
and ``render(report, out)``, where ``out`` is an ``Out``: where text goes, and the settings
of the run (digits, colour, the console for rich).
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..records import record
from . import csv, json, jsonl, latex, plain, table, tsv

DEFAULT = "table"
_MODULES = {m.__name__.rsplit(".", 1)[1]: m for m in (table, json, jsonl, csv, tsv, plain, latex)}

# What a kind is called in a message: "--format csv does not carry <this>"
_KIND_WORDS = {"symbolic": "the symbolic gradient (no point)", "higher": "higher derivatives",
               "outputs": "several outputs", "implicit": "implicit derivatives",
               "points": "several points", "point": "a single point"}


def names() -> list[str]:
    """Every format, the default first."""
    return list(_MODULES)


def get(name: str):
    """The module rendering format ``name``."""
    if name not in names():
        raise UsageError(f"unknown format {name!r}", hint=f"choose one of {', '.join(names())}")
    return _MODULES[name]


def renderer(name: str, kind: str):
    """The module rendering a report of ``kind`` as ``name``, or a usage error naming the
    formats that can."""
    module = get(name)
    if kind not in module.KINDS:
        if kind == "symbolic":
            raise UsageError(f"--format {name} needs a point (--at or --points)",
                             hint="without a point, use --format json for the symbolic gradient")
        able = [n for n in names() if kind in get(n).KINDS]
        raise UsageError(f"--format {name} does not carry {_KIND_WORDS.get(kind, kind)}",
                         hint=f"use --format {' or '.join(able)}")
    return module


@record
class Out:
    """Where a renderer writes, and how the user asked numbers to look."""

    echo: Any                       # cli.app.echo's signature: (text, nl=True)
    settings: Any                   # cli.app.Settings (quiet, colour, console())
    digits: int | None = None       # --digits: None means each format's own default
    symbolic: bool = True           # show the SymPy column (--no-symbolic hides it)
    tree: bool = False              # --tree

    def console(self):
        return self.settings.console()
