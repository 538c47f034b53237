"""The walkthrough for people: a forward-pass table, a backward-pass table with one row per edge
(upstream × local = downstream, and the running total where paths meet), and the final gradient."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..numfmt import fmt


def steps_tables(console: Console, w, digits: int) -> None:
    out = w.output
    forward = Table(title="Forward pass", title_justify="left", title_style="bold",
                    box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name, justify in (("step", "right"), ("node", "left"), ("definition", "left"),
                          ("value", "right")):
        forward.add_column(name, justify=justify)
    for s in w.forward:
        forward.add_row(str(s.step), s.node, Text(s.definition, style="dim")
                        if s.definition == "input" else s.definition, fmt(s.value, digits))
    console.print()
    console.print(forward)

    backward = Table(title="Backward pass (per edge): downstream = upstream × local",
                     title_justify="left",
                     title_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                     header_style="bold")
    backward.add_column("step", justify="right")
    backward.add_column("edge")
    backward.add_column("upstream", justify="right")
    backward.add_column("local gradient", overflow="fold")
    backward.add_column("local", justify="right")
    backward.add_column("downstream", justify="right", style="dark_orange")
    backward.add_column(f"∂{out}/∂target", justify="right")
    for s in w.backward:
        total = fmt(s.total, digits)
        if s.paths > 1:
            total = f"{total} (sum of {s.paths} paths)" if s.last else f"{total} (+ more)"
        backward.add_row(str(s.step), s.edge, fmt(s.upstream, digits), s.local_formula,
                         fmt(s.local, digits), fmt(s.downstream, digits), total)
    console.print()
    if w.backward:
        console.print(backward)
    else:
        console.print(Text("Backward pass: no edges to walk (the output is a single node)",
                           style="dim"))
    for note in w.notes:
        console.print(Text(note, style="yellow"))

    final = Table(title="Gradient", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, header_style="bold")
    final.add_column("variable")
    final.add_column(f"∂{out}/∂variable", justify="right", style="dark_orange")
    for name, value in w.gradient.items():
        final.add_row(name, fmt(value, digits))
    console.print()
    console.print(final)


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
