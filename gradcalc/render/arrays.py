"""Arrays for people and for scripts: nested lists at full precision (JSON), every entry at the
table's digits when the array is small, else a summary (shape, min, max, norm); the numerical
gradient check in both."""

from __future__ import annotations

from typing import Any

from ..numfmt import fmt

WHOLE = 36   # entries shown one by one in a table (a 6×6 matrix); past it, a summary


def nested(x: Any) -> Any:
    """An array as nested lists of floats (a scalar as a float), for JSON."""
    return x.tolist() if hasattr(x, "tolist") else float(x)


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", ()))


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def lines(x: Any, digits: int | None, more: str = "--format json") -> list[str]:
    """The entries of a scalar, vector or matrix, one row per line, numbers never cut; a bigger
    or higher-dimensional array as a summary line (``more``: where to see every entry)."""
    shape = shape_of(x)
    if not shape:
        return [fmt(float(x), digits)]
    size = 1
    for n in shape:
        size *= n
    if size > WHOLE or len(shape) > 2:
        return [summary(x, digits, more)]
    rows = [x] if len(shape) == 1 else list(x)
    cells = [[fmt(float(v), digits) for v in row] for row in rows]
    width = max((len(c) for row in cells for c in row), default=1)
    text = [", ".join(c.rjust(width) for c in row) for row in cells]
    if len(shape) == 1:
        return [f"[{text[0]}]"]
    return [("[[" if k == 0 else " [") + t + ("]]" if k == len(text) - 1 else "],")
            for k, t in enumerate(text)]


def summary(x: Any, digits: int | None, more: str = "--format json") -> str:
    from ..lazy import numpy

    np = numpy()
    a = np.asarray(x, dtype=np.float64)
    return (f"{shape_text(a.shape)}: min {fmt(float(a.min()), digits)}, max "
            f"{fmt(float(a.max()), digits)}, norm {fmt(float(np.linalg.norm(a)), digits)} "
            f"(every entry: {more})")


def check_json(check) -> dict:
    if check is None:
        return {"method": "none", "status": "skipped"}
    return {"method": "numerical gradient check", "status": "agree" if check.passed else
            "disagree", "threshold": check.threshold, "rel_error": check.errors,
            "entries": check.entries, "directions": check.directions}


def tensor_json(report) -> dict:
    r = report.result
    return {"output": r.output, "point": {k: nested(v) for k, v in r.point.items()},
            "shapes": {k: list(s) for k, s in r.shapes.items()}, "value": r.value,
            "gradient": {k: nested(v) for k, v in r.gradient.items()},
            "check": check_json(report.tensor_check), "warnings": list(report.warnings),
            "error": None}


def tensor_plain(report, digits: int | None) -> str:
    r = report.result
    out = [f"{r.output} = {fmt(r.value, digits)}"]
    for k, g in r.gradient.items():
        out.append(f"d{r.output}/d{k} = {_flat(g, digits)}")
    return "\n".join(out)


def _flat(x: Any, digits: int | None) -> str:
    """Every entry, on one line, nested as written in --at (plain output keeps every number)."""
    if not shape_of(x):
        return fmt(float(x), digits)
    return "[" + ", ".join(_flat(v, digits) for v in x) + "]"


def tensor_table(console, report, digits: int) -> None:
    from rich.text import Text

    from .table import say

    r, check = report.result, report.tensor_check
    console.print(Text.assemble(("program ", "dim"), (" ".join(report.title.split()), "bold")))
    for k, v in r.point.items():
        head = Text.assemble(("at      " if k == next(iter(r.point)) else "        ", "dim"),
                             (f"{k} ", "bold"), (f"({shape_text(shape_of(v))}) ", "dim"))
        _block(console, head, lines(v, digits))
    say(console, Text.assemble((f"{r.output} = ", "bold"), (fmt(r.value, digits), "bold cyan")))
    for k, g in r.gradient.items():
        console.print()
        mark = Text("")
        if check is not None and k in check.errors:
            ok = check.errors[k] <= check.threshold
            mark = Text(f"  {'✓' if ok else '✗'} rel error {fmt(check.errors[k], 2)}",
                        style="green" if ok else "bold red")
        head = Text.assemble((f"∂{r.output}/∂{k} ", "bold"),
                             (f"({shape_text(shape_of(g))})", "dim"), mark)
        console.print(head)
        for line in lines(g, digits, "--format json or --save-gradients DIR"):
            say(console, Text("  " + line, style="cyan"))
    console.print()
    if check is None:
        console.print(Text("not cross-checked (--no-check)", style="dim"))
    else:
        ok = check.passed
        console.print(Text(
            f"{'✓' if ok else '✗'} numerical gradient check {'agrees' if ok else 'DISAGREES'} "
            f"(central differences at {check.entries} entries and {check.directions} random "
            f"directions per input; largest relative error "
            f"{fmt(max(check.errors.values(), default=0.0), 2)}, threshold "
            f"{fmt(check.threshold)}); arrays are not yet checked by SymPy",
            style="green" if ok else "bold red"))


def _block(console, head, rows: list[str]) -> None:
    from rich.text import Text

    from .table import say

    say(console, Text.assemble(head, rows[0]))
    for row in rows[1:]:
        say(console, Text(" " * len(head.plain) + row))
