"""Second and higher derivatives for people and for scripts: the Hessian with variables on both
axes, its eigenvalues and the second-derivative test; the partials of order N by multi-index."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from ..numfmt import fmt
from ..records import record
from .table import _MARKS, Col, _cut, _method_line, fit, say

if TYPE_CHECKING:
    from ..function import Function

VERDICTS = {
    "minimum": "a local minimum: the gradient is 0 and the Hessian is positive definite",
    "maximum": "a local maximum: the gradient is 0 and the Hessian is negative definite",
    "saddle": "a saddle point: the gradient is 0 and the Hessian is indefinite",
    "inconclusive": "inconclusive: the gradient is 0 but the Hessian is only semidefinite, so "
                    "the second-derivative test cannot tell",
}


def _checked(check, key: str):
    p = check.by_name().get(key) if check is not None else None
    if p is None:
        return Text("")
    mark, style = _MARKS[p.status]
    return Text(mark, style=style)


def hessian_table(console: Console, out: str, h, check, digits: int) -> None:
    """The Hessian with variables on both axes, each entry with its check mark; one block of
    lines per row when the columns do not fit."""
    cols = [Col(f"∂²{out}/∂·∂·", whole=True),
            *(Col(y, "right", whole=True) for y in h.variables)]
    rows = []
    for i, x in enumerate(h.variables):
        cells = []
        for j, y in enumerate(h.variables):
            cell = Text(fmt(h.matrix[i][j], digits), style="cyan")
            mark = _checked(check, f"{x},{y}")
            if mark.plain:
                cell.append(" ")
                cell.append(mark)
            cells.append(cell)
        rows.append([Text(x, style="bold"), *cells])
    console.print()
    fit(console, cols, rows, title="Hessian")
    if h.eigenvalues is not None:
        eig = ", ".join(fmt(e, digits) for e in h.eigenvalues)
        say(console, Text.assemble(("eigenvalues ", "dim"), eig, " ", (h.definiteness, "bold")))
    if h.critical_point is not None:
        style = {"inconclusive": "yellow"}.get(h.critical_point, "bold green")
        console.print(Text.assemble(("critical point ", "dim"),
                                    (VERDICTS[h.critical_point], style)))
    elif h.eigenvalues is not None:
        console.print(Text("not a critical point: the gradient is not 0 here", style="dim"))
    for note in h.notes:
        console.print(Text(note, style="yellow"))
    if check is not None:
        console.print(_method_line(check))


def partials_table(console: Console, out: str, d, check, digits: int | None,
                   symbolic: bool = True) -> None:
    """Every partial of order N by multi-index, beside SymPy's (left out with
    ``symbolic=False``) and its check mark."""
    by_name = check.by_name() if check is not None else {}
    formulas = any(p.symbolic is not None for p in d.partials)
    cols = [Col("partial", whole=True), Col("value", "right", "cyan", text=formulas)]
    if symbolic:
        cols.append(Col("SymPy", text=True))
    cols.append(Col("check"))
    rows = []
    for p in d.partials:
        c = by_name.get(",".join(p.wrt))
        value = fmt(p.value, digits) if p.symbolic is None else str(p.symbolic)
        row = [p.label.replace("f", out, 1) if out != "f" else p.label, value]
        if symbolic:
            row.append((c.symbolic or "") if c else "")
        rows.append([*row, _checked(check, ",".join(p.wrt))])
    console.print()
    fit(console, cols, rows, title=f"Partial derivatives of order {d.order}")
    if len(d.variables) == 1:
        p = d.partials[0]
        shown = fmt(p.value, digits) if p.symbolic is None else _cut(str(p.symbolic))[0]
        say(console, Text.assemble((f"{out}{_primes(d.order)}({d.variables[0]}) = ", "bold"),
                                   Text.assemble(shown, style="bold cyan")))
    if check is not None:
        console.print(_method_line(check))


def _primes(n: int) -> str:
    return "'" * n if n <= 3 else f"⁽{''.join('⁰¹²³⁴⁵⁶⁷⁸⁹'[int(c)] for c in str(n))}⁾"


def _check_json(check) -> dict | None:
    if check is None:
        return None
    return {"method": check.method, "status": check.status, "reason": check.reason,
            "seconds": round(check.seconds, 4), "counts": check.counts(),
            "partials": {p.name: {"status": p.status, "value": p.reference,
                                  "symbolic": p.symbolic, **({"note": p.note} if p.note else {})}
                         for p in check.partials}}


def higher_json(result, h=None, d=None, check=None) -> str:
    """One object: the point's value and gradient, then the Hessian or the order-N partials."""
    obj = {"output": result.output, "point": result.point, "value": result.value,
           "gradient": result.gradient}
    if h is not None:
        obj.update({"hessian": h.as_dict(), "eigenvalues": h.eigenvalues,
                    "definiteness": h.definiteness, "critical_point": h.critical_point})
    if d is not None:
        by_name = check.by_name() if check is not None else {}
        obj.update({"order": d.order, "partials": [
            {"wrt": list(p.wrt), "value": p.value, "method": p.how,
             "symbolic": getattr(by_name.get(",".join(p.wrt)), "symbolic", None)}
            for p in d.partials]})
    obj["higher_check"] = _check_json(check)
    obj["warnings"] = list(result.warnings)
    return json.dumps(obj, ensure_ascii=False, indent=2)


def higher_plain(out: str, h=None, d=None, digits=None) -> str:
    lines = []
    if h is not None:
        for i, x in enumerate(h.variables):
            for j, y in enumerate(h.variables):
                if j >= i:
                    name = f"d2{out}/d{x}2" if x == y else f"d2{out}/d{x}d{y}"
                    lines.append(f"{name} = {fmt(h.matrix[i][j], digits)}")
        if h.eigenvalues is not None:
            lines.append("eigenvalues = " + ", ".join(fmt(e, digits) for e in h.eigenvalues))
            lines.append(f"definiteness = {h.definiteness}")
        lines.append(f"critical point = {h.critical_point or 'none'}")
    if d is not None:
        for p in d.partials:
            value = fmt(p.value, digits) if p.symbolic is None else str(p.symbolic)
            lines.append(f"d{d.order}{out}/" + "".join(f"d{x}" for x in p.wrt) + f" = {value}")
    return "\n".join(lines)


@record(frozen=True)
class Directional:
    """A directional derivative by forward mode, and its check against ∇f·v."""

    output: str
    direction: dict
    value: float            # ∇f·v by one forward pass of tangents
    dot: float | None       # the reverse-mode gradient's dot product with v
    status: str             # agree | disagree | skipped
    rows: list              # (node, value, tangent) along the tape
    fn: Function

    def as_json(self, steps: bool = False) -> dict:
        obj = {"direction": self.direction, "directional": self.value,
               "directional_check": {"method": "gradient dot product", "status": self.status,
                                     "value": self.dot}}
        if steps:
            labels = _labels(self.fn, self.rows)
            obj["forward_mode"] = [{"node": labels[i], "value": v, "dot": t}
                                   for i, v, t in self.rows]
        return obj

    def print(self, console: Console, digits: int, steps: bool) -> None:
        v = ", ".join(f"{k} = {fmt(t, digits)}" for k, t in self.direction.items())
        mark, style = _MARKS[self.status]
        console.print()
        console.print(Text.assemble(
            (f"directional derivative along ({v}): ", "bold"),
            (fmt(self.value, digits), "bold cyan"),
            ("  (forward mode: one pass of tangents) ", "dim"), (mark, style),
            (f" ∇{self.output}·v = {fmt(self.dot, digits)}" if self.dot is not None else "",
             "dim")))
        if steps:
            self._tangents(console, digits)

    def _tangents(self, console: Console, digits: int) -> None:
        """The forward-mode walkthrough: each node's value and tangent."""
        from ..steps import definition

        labels = _labels(self.fn, self.rows)
        tape = self.fn.resolve(dict.fromkeys(self.fn.variables, 0.0), self.output, wrt=()).tape
        rows: list[list] = []
        for i, value, tangent in self.rows:
            if tape.graph.nodes[i].op != "const":
                rows.append([str(len(rows) + 1), labels[i], definition(tape, labels, i),
                             fmt(value, digits), Text(fmt(tangent, digits), style="dark_orange")])
        cols = [Col("step", "right", whole=True), Col("node", whole=True),
                Col("definition", text=True), Col("value", "right"), Col("dot", "right")]
        console.print()
        fit(console, cols, rows, title="Forward mode: tangents (dot)", head=2,
            name=lambda row: f"step {row[0]}: {row[1]}")


def _labels(fn, rows) -> dict:
    from ..steps import node_labels

    tape = fn.resolve(dict.fromkeys(fn.variables, 0.0), None, wrt=()).tape
    return node_labels(tape)


@record
class Jacobian:
    """Several outputs' gradients at a point (or symbolically): the rows of their Jacobian."""

    outputs: list
    variables: list
    rows: dict                       # output -> {variable: value or expression}
    values: dict                     # output -> its value (None symbolically)
    checks: dict                     # output -> Check
    square: bool
    jacobian: bool                   # asked for as a matrix (--jacobian)
    determinant: object = None
    point: dict | None = None
    undetermined: bool = False

    @classmethod
    def at_point(cls, outputs, results, checks, jacobian):
        first = results[outputs[0]]
        variables = list(first.gradient)
        rows = {o: r.gradient for o, r in results.items()}
        square = len(outputs) == len(variables)
        det = None
        undetermined = any(v is None for r in rows.values() for v in r.values())
        if jacobian and square and not undetermined:
            from ..lazy import numpy

            np = numpy()
            det = float(np.linalg.det(np.array([[rows[o][v] for v in variables]
                                                 for o in outputs], dtype=float)))
        return cls(outputs, variables, rows, {o: r.value for o, r in results.items()}, checks,
                   square, jacobian, det, dict(first.point), undetermined)

    @classmethod
    def symbolic(cls, outputs, sym, jacobian, checks=None):
        import sympy

        first = sym[outputs[0]]
        variables = list(first.gradient)
        rows = {o: s.gradient for o, s in sym.items()}
        square = len(outputs) == len(variables)
        det = None
        if jacobian and square:
            m = sympy.Matrix([[rows[o][v] for v in variables] for o in outputs])
            det = sympy.simplify(m.det())
        return cls(outputs, variables, rows, {o: s.expression for o, s in sym.items()},
                   checks or {}, square, jacobian, det)

    @property
    def failed(self) -> bool:
        return self.undetermined or any(c.failed for c in self.checks.values())

    def _shown(self, x, digits):
        if self.point is None:
            from ..printing import sstr

            return sstr(x)
        return fmt(x, digits)

    def json(self) -> str:
        def num(x):
            return x if self.point is not None else self._shown(x, None)

        key = "jacobian" if self.jacobian else "gradients"
        obj = {"outputs": self.outputs, "point": self.point,
               "values": {o: num(v) for o, v in self.values.items()},
               key: {o: {v: num(d) for v, d in r.items()} for o, r in self.rows.items()}}
        if self.jacobian:
            obj["determinant"] = None if self.determinant is None else num(self.determinant)
        obj["checks"] = {o: {"method": c.method, "status": c.status, "counts": c.counts()}
                         for o, c in self.checks.items()}
        return json.dumps(obj, ensure_ascii=False, indent=2)

    def plain(self, digits) -> str:
        lines = [f"{o} = {self._shown(v, digits)}" for o, v in self.values.items()]
        lines += [f"d{o}/d{v} = {self._shown(d, digits)}" for o, r in self.rows.items()
                  for v, d in r.items()]
        if self.determinant is not None:
            lines.append(f"det = {self._shown(self.determinant, digits)}")
        return "\n".join(lines)

    def print(self, console: Console, source: str, digits: int) -> None:
        from .table import _shown, summary

        console.print(Text.assemble(("program ", "dim"), (_shown(source), "bold")))
        if self.point:
            say(console, Text.assemble(("at      ", "dim"), ", ".join(
                f"{k} = {fmt(v)}" for k, v in self.point.items())))
        for o, v in self.values.items():
            say(console, Text.assemble((f"{o} = ", "bold"), (self._shown(v, digits), "bold cyan")))
        title = "Jacobian" if self.jacobian else "Gradients"
        cols = [Col("∂row/∂col", whole=True),
                *(Col(v, "right", text=self.point is None) for v in self.variables)]
        rows = []
        for o, r in self.rows.items():
            by_name = self.checks[o].by_name() if o in self.checks else {}
            cells = []
            for v in self.variables:
                cell = Text(self._shown(r[v], digits), style="cyan")
                p = by_name.get(v)
                if p is not None:
                    mark, style = _MARKS[p.status]
                    cell.append(f" {mark}", style=style)
                cells.append(cell)
            rows.append([Text(o, style="bold"), *cells])
        console.print()
        fit(console, cols, rows, title=title)
        if self.jacobian:
            if self.determinant is not None:
                say(console, Text.assemble(("determinant ", "dim"),
                                           (self._shown(self.determinant, digits), "bold cyan")))
            elif not self.square:
                console.print(Text(f"no determinant: {len(self.outputs)} outputs and "
                                   f"{len(self.variables)} variables", style="dim"))
        for o, c in self.checks.items():
            mark, style, words = summary(c)
            console.print(Text(f"{mark} {o}: SymPy {words}", style=style))


def implicit_output(source, result, point, check, fmt_name: str, digits) -> str:
    """--implicit as json, plain, or (table) text with a check mark per derivative."""
    from ..printing import sstr

    def shown(v):
        return fmt(v, digits) if point is not None else sstr(v)

    by_name = check.by_name() if check is not None else {}
    if fmt_name == "json":
        return json.dumps({
            "equation": source.strip(), "dependent": result.dependent, "point": point,
            "residual": result.residual,
            "implicit": {k: (v if point is not None else sstr(v))
                         for k, v in result.derivatives.items()},
            "check": None if check is None else {
                "method": check.method, "status": check.status, "reason": check.reason,
                "partials": {p.name: {"status": p.status, "value": p.reference,
                                      "symbolic": p.symbolic} for p in check.partials}},
        }, ensure_ascii=False, indent=2)
    lines = []
    if fmt_name == "table":
        lines.append(f"equation {source.strip()}   (solved for {result.dependent} near the "
                     "point)" if point is not None else f"equation {source.strip()}")
        if point is not None:
            lines.append("at       " + ", ".join(f"{k} = {fmt(v)}" for k, v in point.items()))
    for name, value in result.derivatives.items():
        line = f"{name} = {shown(value)}"
        p = by_name.get(name)
        if fmt_name == "table" and p is not None:
            mark = _MARKS[p.status][0]
            line += f"   {mark} SymPy idiff: {p.symbolic}"
        lines.append(line)
    return "\n".join(lines)
