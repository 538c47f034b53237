"""Arrays for people and for scripts: nested lists at full precision (JSON), every entry at the
table's digits when the array is small, else a summary (shape, min, max, norm); the gradient check
(tensor_sympy.TensorCheck: SymPy's, entry by entry, or numerical) in every format, with the method
that decided."""

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


def lines(x: Any, digits: int | None, more: str = "--format json",
          width: int | None = None) -> list[str]:
    """The entries of a scalar, vector or matrix, one row per line, numbers never cut; a bigger
    or higher-dimensional array as a summary line (``more``: where to see every entry). A row
    wider than ``width`` goes on over several lines, aligned under its first entry."""
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
    cell = max((len(c) for row in cells for c in row), default=1)
    lead = 1 if len(shape) == 1 else 2
    per_line = len(cells[0]) if width is None else max(1, (width - lead - 2) // (cell + 2))
    out = []
    for k, row in enumerate(cells):
        opening = "[" if len(shape) == 1 else "[[" if k == 0 else " ["
        closing = "]" if len(shape) == 1 else "]]" if k == len(cells) - 1 else "],"
        chunks = [row[i:i + per_line] for i in range(0, len(row), per_line)]
        for j, chunk in enumerate(chunks):
            text = ", ".join(c.rjust(cell) for c in chunk)
            out.append((opening if j == 0 else " " * lead) + text
                       + (closing if j == len(chunks) - 1 else ","))
    return out


def summary(x: Any, digits: int | None, more: str = "--format json") -> str:
    from ..lazy import numpy

    np = numpy()
    a = np.asarray(x, dtype=np.float64)
    return (f"{shape_text(a.shape)}: min {fmt(float(a.min()), digits)}, max "
            f"{fmt(float(a.max()), digits)}, norm {fmt(float(np.linalg.norm(a)), digits)} "
            f"(every entry: {more})")


SHOWN = 6   # entries a check did not confirm, listed under their partial in a table


def check_json(check) -> dict:
    if check is None:
        return {"method": "none", "status": "skipped"}
    out = {"method": check.method, "status": check.status, "threshold": check.threshold,
           "rel_error": check.errors, "entries": check.entries,
           "seconds": round(check.seconds, 4), "reason": check.reason,
           "inputs": {k: {"status": c.status, "entries": c.entries, "rel_error": c.error,
                          "problems": [{"index": list(p.index), "ours": p.ours,
                                        "reference": p.reference, "status": p.status,
                                        "note": p.note, "kink": p.kink}
                                       for p in c.problems]}
                      for k, c in check.inputs.items()}}
    if check.method == "numerical":
        out["directions"] = check.directions
    else:
        out["value"] = check.value
        out["value_status"] = check.value_status
    return out


def verdict(check, brief: bool = False) -> str:
    """One line: the method, what it found and how sure (for the table; ``brief``, without how
    the method works and how long it took, for plain)."""
    if check is None:
        return "not cross-checked (--no-check)"
    worst = max(check.errors.values(), default=0.0)
    if check.method == "sympy":
        how = f"{check.entries} entries" + ("" if brief else (
            ": sympy.diff of the program expanded into one expression of them all; "
            f"{check.seconds:.2g} s"))
        counts = {s: sum(p.status == s for c in check.inputs.values() for p in c.problems)
                  for s in ("disagree", "undetermined")}
        text = {"agree": f"✓ SymPy agrees, entry by entry ({how})" if check.entries else
                         "✓ SymPy agrees on the value (no entries to differentiate)",
                "disagree": f"✗ SymPy DISAGREES at {counts['disagree']} of {check.entries} "
                            f"entries, entry by entry ({how})",
                "undetermined": f"? SymPy cannot decide {counts['undetermined']} of "
                                f"{check.entries} entries, entry by entry ({how}): the "
                                "derivative has no one value there"}[check.status]
        if check.value_status == "disagree":
            text += f"; the value DISAGREES (SymPy: {fmt(check.value)})"
    else:
        ok = check.status == "agree"
        text = (f"{'✓' if ok else '✗'} numerical gradient check {'agrees' if ok else 'DISAGREES'}"
                f", rel_error {fmt(worst, 2)} {'≤' if ok else '>'} {fmt(check.threshold)}"
                + ("" if brief else f" (central differences at {check.entries} entries and "
                                    f"{check.directions} random directions per input)"))
    return text + (f"; {_reason(check)}" if check.reason else "")


def _reason(check) -> str:
    if check.method == "numerical":
        return f"not by SymPy: {check.reason}"
    return check.reason


def input_mark(check, name: str) -> tuple[str, str]:
    """(text, style) beside a partial's heading: its method and verdict."""
    c = check.inputs.get(name) if check is not None else None
    if c is None:
        return "", ""
    bad = "green" if c.status == "agree" else "bold red"
    if check.method == "numerical":
        ok = c.status == "agree"
        return (f"  {'✓' if ok else '✗'} numerical, rel error {fmt(c.error, 2)} "
                f"{'≤' if ok else '>'} {fmt(check.threshold)}", bad)
    if c.status == "agree":
        return f"  ✓ SymPy, entry by entry ({c.entries} entries)", bad
    counts = [f"{sum(p.status == s for p in c.problems)} {s}" for s in ("disagree",
                                                                        "undetermined")
              if any(p.status == s for p in c.problems)]
    mark = "✗" if c.status == "disagree" else "?"
    return f"  {mark} SymPy, entry by entry: {', '.join(counts)} of {c.entries}", bad


def problem_lines(check, name: str, digits: int | None) -> list[str]:
    """The entries of a partial that the check did not confirm, one per line (a few), then the
    kinks they meet."""
    c = check.inputs.get(name) if check is not None else None
    if c is None or not c.problems:
        return []
    out = []
    for p in c.problems[:SHOWN]:
        at = "[" + ", ".join(map(str, p.index)) + "]" if p.index else name
        if p.status == "disagree":
            out.append(f"{at}: ours {fmt(p.ours, digits)}, SymPy {fmt(p.reference, digits)}")
        else:
            out.append(f"{at}: undetermined ({p.note})")
    if len(c.problems) > SHOWN:
        out.append(f"and {len(c.problems) - SHOWN} more (every one: --format json)")
    kinks = list(dict.fromkeys(p.kink for p in c.problems if p.kink))
    out += [f"kink: {k} = 0 at this point (relu or abs at 0, max at a tie)" for k in kinks]
    return out


def tensor_json(report) -> dict:
    r = report.result
    return {"output": r.output, "point": {k: nested(v) for k, v in r.point.items()},
            "shapes": {k: list(s) for k, s in r.shapes.items()}, "value": nested(r.value),
            "gradient": {k: nested(v) for k, v in r.gradient.items()},
            "check": check_json(report.tensor_check), "warnings": list(report.warnings),
            "error": None}


def tensor_plain(report, digits: int | None) -> str:
    r = report.result
    out = [f"{r.output} = {_flat(r.value, digits)}"]
    for k, g in r.gradient.items():
        out.append(f"d{r.output}/d{k} = {_flat(g, digits)}")
    if report.tensor_check is not None:
        out.append("check = " + verdict(report.tensor_check, brief=True).lstrip("✓✗? "))
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
        _block(console, head, v, digits)
    out_shape = shape_of(r.value)
    if out_shape:   # a Jacobian's output
        _block(console, Text.assemble((f"{r.output} ", "bold"),
                                      (f"({shape_text(out_shape)}) = ", "dim")), r.value, digits)
    else:
        say(console, Text.assemble((f"{r.output} = ", "bold"),
                                   (fmt(r.value, digits), "bold cyan")))
    for k, g in r.gradient.items():
        console.print()
        text, style = input_mark(check, k)
        what = f"({shape_text(shape_of(g))})" if not out_shape else \
            f"({shape_text(shape_of(g))}: the Jacobian, {r.output}'s axes then {k}'s)"
        head = Text.assemble((f"∂{r.output}/∂{k} ", "bold"), (what, "dim"), (text, style))
        console.print(head)
        for line in lines(g, digits, "--format json or --save-gradients DIR",
                          console.width - 2):
            say(console, Text("  " + line, style="cyan"))
        for line in problem_lines(check, k, digits):
            say(console, Text("  " + line, style="red"), indent=0)
    console.print()
    ok = check is None or check.status == "agree"
    say(console, Text(verdict(check), style="dim" if check is None else
                      "green" if ok else "bold red"))


def _block(console, head, x, digits: int | None) -> None:
    """An array beside its heading; under it, indented, where the two do not fit side by side
    (a narrow terminal), its rows going on over lines rather than being folded."""
    from rich.text import Text

    from .table import say

    rows = lines(x, digits)
    beside = len(head.plain)
    if beside + max(len(r) for r in rows) > console.width:
        console.print(head)
        beside = 4
        rows = lines(x, digits, width=console.width - beside)
        say(console, Text(" " * beside + rows[0]))
    else:
        say(console, Text.assemble(head, rows[0]))
    for row in rows[1:]:
        say(console, Text(" " * beside + row))
