"""The walkthrough of an array program for people (tables), for scripts (JSON) and as lines
(plain): the forward pass with each node's shape, the backward pass with each edge's VJP in
student notation, its dimension analysis and the shape check, then the gradient's shapes against
the inputs'. Values are shown whole when small (SMALL entries), else as min and max."""

from __future__ import annotations

from typing import Any

from ..numfmt import fmt
from ..tensor import shape_text
from .arrays import nested, shape_of

SMALL = 6   # entries shown one by one in a walkthrough; past it, min and max


def _size(x: Any) -> int:
    size = 1
    for n in shape_of(x):
        size *= n
    return size


def compact(x: Any, digits: int | None) -> str:
    """A value on one line: a scalar, a small array nested as in --at, else 'min a, max b'
    ('every entry a' when they are equal)."""
    shape = shape_of(x)
    if not shape:
        return fmt(float(x), digits)
    if _size(x) > SMALL:
        low, high = fmt(float(x.min()), digits), fmt(float(x.max()), digits)
        return f"every entry {low}" if low == high else f"min {low}, max {high}"
    return _nested(x, digits)


def _nested(x: Any, digits: int | None) -> str:
    if not shape_of(x):
        return fmt(float(x), digits)
    return "[" + ", ".join(_nested(v, digits) for v in x) + "]"


def cell(x: Any, digits: int | None) -> str:
    """A value for a table cell: a small matrix one row per line, its columns aligned."""
    from .arrays import lines

    if len(shape_of(x)) == 2 and _size(x) <= SMALL:
        return "\n".join(lines(x, digits))
    return compact(x, digits)


def _paths(w) -> dict[int, str]:
    """'path 1 of 2', 'path 2 of 2: summed' for a target several edges reach."""
    seen: dict[str, int] = {}
    notes = {}
    for s in w.backward:
        if s.paths > 1:
            seen[s.target] = seen.get(s.target, 0) + 1
            notes[s.step] = f"path {seen[s.target]} of {s.paths}" + (": added up" if s.last
                                                                      else "")
    return notes


def steps_tables(console, w, digits: int) -> None:
    """Forward pass, backward pass, the gradient's shapes: tables that fit the terminal, every
    number whole (a formula folds first; then each row becomes a block of lines)."""
    from rich.text import Text

    from .steps import _step
    from .table import Col, fit, say

    out = w.output
    forward = [[str(s.step), s.node,
                Text(s.definition, style="dim" if s.definition == "input" else ""),
                shape_text(s.shape), Text(cell(s.value, digits))] for s in w.forward]
    console.print()
    fit(console, [Col("step", "right", whole=True), Col("node", whole=True),
                  Col("definition", text=True), Col("shape", whole=True),
                  Col("value", whole=True)], forward,
        title="Forward pass (each node's shape)", head=2, name=_step)

    console.print()
    if not w.backward:
        console.print(Text("Backward pass: no edges to walk (the output is a single node)",
                           style="dim"))
    else:
        paths = _paths(w)
        rows = []
        for s in w.backward:
            dims = Text(f"{s.dims} ")
            dims.append("✓" if s.shapes_match else
                        f"✗ {s.target} is {shape_text(s.target_shape)}",
                        style="green" if s.shapes_match else "bold red")
            if s.step in paths:
                dims.append(f" ({paths[s.step]})", style="dim")
            rows.append([str(s.step), s.edge, Text(s.formula), dims,
                         Text(cell(s.downstream, digits), style="dark_orange")])
        fit(console, [Col("step", "right", whole=True), Col("edge", whole=True),
                      Col("VJP", text=True), Col("shapes", text=True),
                      Col("gradient sent", whole=True)],
            rows, head=2, name=_step,
            title="Backward pass (per edge): each gradient sent has its target's shape ✓")
        for s in w.backward:
            if s.broadcast:
                say(console, Text(f"step {s.step}: {s.broadcast}", style="dim"))

    console.print()
    rows = []
    for name, d in w.gradient.items():
        want = w.shapes.get(w.tape.graph.index_of(name), shape_of(d))
        ok = shape_of(d) == tuple(want)
        rows.append([name, shape_text(tuple(want)), shape_text(shape_of(d)),
                     Text("✓", style="green") if ok else Text("✗", style="bold red")])
    fit(console, [Col("variable", whole=True), Col("its shape", whole=True),
                  Col(f"∂{out}/∂variable", whole=True), Col("check", prose=True)], rows,
        title="Gradient shapes (the dimension check)")


def steps_plain(w, digits: int | None = None) -> str:
    """The same walkthrough as text lines (for --format plain), every entry of every value."""
    lines = ["# forward pass"]
    for s in w.forward:
        shape = shape_text(s.shape)
        value = _nested(s.value, digits)
        lines.append(f"{s.step}. {s.node} ({shape}) = {value} (input)" if s.op == "input"
                     else f"{s.step}. {s.node} = {s.definition} ({shape}) = {value}")
    lines.append("# backward pass")
    for s in w.backward:
        mark = "✓" if s.shapes_match else f"✗ {s.target} is {shape_text(s.target_shape)}"
        line = f"{s.step}. {s.edge}: {s.formula}; shapes {s.dims} {mark}"
        if s.broadcast:
            line += f" ({s.broadcast})"
        lines.append(f"{line} = {_nested(s.downstream, digits)}")
    return "\n".join(lines)


def steps_json(w) -> dict:
    """The walkthrough as lists of objects (for --format json): every value whole."""
    return {
        "forward": [{"step": s.step, "node": s.node, "definition": s.definition, "op": s.op,
                     "shape": list(s.shape), "value": nested(s.value)} for s in w.forward],
        "backward": [{"step": s.step, "edge": s.edge, "from": s.source, "to": s.target,
                      "op": s.op, "formula": s.formula, "dims": s.dims,
                      "shape": list(s.shape), "target_shape": list(s.target_shape),
                      "shapes_match": s.shapes_match, "summed_axes": list(s.summed),
                      "broadcast": s.broadcast or None, "downstream": nested(s.downstream),
                      "total": nested(s.total), "paths": s.paths} for s in w.backward],
    }


def json_object(report, walk) -> dict:
    """What --format json --steps prints for an array program: the report's object with the
    walkthrough under "steps"."""
    from .arrays import tensor_json

    obj = tensor_json(report)
    obj["steps"] = steps_json(walk)
    return obj


def render(report, walk, renderer, out) -> None:
    """A tensor report with its walkthrough (--steps) in the format ``renderer`` (a module of
    gradcalc.formats) writes: the report as it renders it, then the walkthrough; in JSON, the
    one object with a "steps" key."""
    name = renderer.__name__.rsplit(".", 1)[1]
    if name == "json":
        from ..formats.json import dumps

        out.echo(dumps(json_object(report, walk)))
        return
    renderer.render(report, out)
    if name == "plain":
        out.echo(steps_plain(walk, out.digits))
    else:
        steps_tables(out.console(), walk, out.digits or 6)
