"""The walkthrough for people: a forward-pass table, a backward-pass table with one row per edge
(upstream × local = downstream, and the running total where paths meet), and the final gradient."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..numfmt import fmt
from .table import Col, fit


def _step(row) -> str:
    """A row's name in the vertical layout: 'step 3: q → x'."""
    return f"step {row[0]}: {row[1]}"


def steps_tables(console: Console, w, digits: int) -> None:
    """Forward pass, backward pass, gradient: three tables that fit the terminal (a local
    gradient's formula folds first; then each row becomes a block of lines)."""
    out = w.output
    forward = [[str(s.step), s.node, Text(s.definition, style="dim")
                if s.definition == "input" else s.definition, fmt(s.value, digits)]
               for s in w.forward]
    console.print()
    fit(console, [Col("step", "right", whole=True), Col("node", whole=True),
                  Col("definition", text=True), Col("value", "right")], forward,
        title="Forward pass", head=2, name=_step)

    console.print()
    if w.backward:
        rows = []
        for s in w.backward:
            total = fmt(s.total, digits)
            if s.paths > 1:
                total = f"{total} (sum of {s.paths} paths)" if s.last else f"{total} (+ more)"
            rows.append([str(s.step), s.edge, fmt(s.upstream, digits), s.local_formula,
                         fmt(s.local, digits), fmt(s.downstream, digits), total])
        cols = [Col("step", "right", whole=True), Col("edge", whole=True),
                Col("upstream", "right"),
                Col("local gradient", text=True), Col("local", "right"),
                Col("downstream", "right", "dark_orange"), Col(f"∂{out}/∂target", "right")]
        fit(console, cols, rows, head=2, name=_step,
            title="Backward pass (per edge): downstream = upstream × local")
    else:
        console.print(Text("Backward pass: no edges to walk (the output is a single node)",
                           style="dim"))
    for note in w.notes:
        console.print(Text(note, style="yellow"))

    console.print()
    fit(console, [Col("variable", whole=True), Col(f"∂{out}/∂variable", "right", "dark_orange")],
        [[name, fmt(value, digits)] for name, value in w.gradient.items()], title="Gradient")


def steps_plain(w, digits=None) -> str:
    """The same walkthrough as text lines (for --format plain)."""
    lines = ["# forward pass"]
    for s in w.forward:
        lines.append(f"{s.step}. {s.node} = {s.definition} = {fmt(s.value, digits)}"
                     if s.definition != "input" else f"{s.step}. {s.node} = {fmt(s.value, digits)}"
                     " (input)")
    lines.append("# backward pass")
    for s in w.backward:
        lines.append(f"{s.step}. {s.edge}: upstream {fmt(s.upstream, digits)} × local "
                     f"{fmt(s.local, digits)} ({s.local_formula}) = {fmt(s.downstream, digits)};"
                     f" total at {s.target} = {fmt(s.total, digits)}")
    lines += [f"# {note}" for note in w.notes]
    return "\n".join(lines)


def steps_json(w) -> dict:
    """The walkthrough as lists of objects (for --format json)."""
    return {
        "forward": [{"step": s.step, "node": s.node, "definition": s.definition,
                     "value": s.value} for s in w.forward],
        "backward": [{"step": s.step, "edge": s.edge, "from": s.source, "to": s.target,
                      "upstream": s.upstream, "local_formula": s.local_formula,
                      "local": s.local, "downstream": s.downstream, "total": s.total,
                      "paths": s.paths} for s in w.backward],
        "notes": list(w.notes),
    }
