"""The rich table people read: value, then one row per variable with the reverse-mode partial,
SymPy's own derivative, and a check mark."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import printable
from ..numfmt import fmt

_MARKS = {"agree": ("✓", "green"), "disagree": ("✗", "bold red"),
          "kink": ("~", "yellow"), "ill-conditioned": ("≈", "yellow"),
          "undetermined": ("!", "bold red"), "skipped": ("?", "yellow")}


def _mark(p, digits) -> Text:
    mark, style = _MARKS[p.status]
    text = Text(mark, style=style)
    if p.status in ("disagree", "kink", "ill-conditioned") and p.reference is not None:
        text.append(f" (checker: {fmt(p.reference, digits)})", style=style)
    if p.status == "kink":
        text.append(" not differentiable here", style="dim")
    if p.status == "ill-conditioned":
        text.append(" ill-conditioned: float64 can do no better here", style="dim")
    if p.status == "undetermined":
        text.append(" undetermined:", style=style)
    if p.note and p.status in ("skipped", "undetermined", "agree"):
        text.append(f" {p.note}", style="dim")
    return text


def summary(check) -> tuple[str, str, str]:
    """(mark, style, words) for a check: 'agrees' only when every partial agrees, else each
    status counted: '1 agree, 1 ill-conditioned'."""
    counts = check.counts()
    if check.value_status not in ("agree", "skipped"):
        counts = {**counts, f"value {check.value_status}": 1}
    worst = next((s for s in ("disagree", "undetermined", "skipped", "kink", "ill-conditioned")
                  if any(k.endswith(s) for k in counts)), "agree")
    if check.status == "disagree":
        worst = "disagree"
    mark, style = _MARKS[worst]
    if worst == "agree":
        return mark, style, "agrees"
    if set(counts) == {"skipped"}:
        return mark, style, "could not check"
    return mark, style, ", ".join(f"{n} {s}" for s, n in counts.items())


def _exact_text(expr, value: float, digits: int, precision: int | None = None) -> str:
    """'2/3 ≈ 0.666667', or just '2' when the exact value is the decimal one; a --precision
    value with all its digits."""
    if expr is None:   # a 0·∞ partial with no exact limit
        return "undetermined" if value is None else f"≈ {fmt(value, digits)} (no exact value)"
    if precision is not None:
        return printed(expr, precision)
    from ..printing import sstr

    text = sstr(expr)
    shown = fmt(value, digits)
    return text if text == shown else f"{text} ≈ {shown}"


def _method_line(check) -> Text:
    if check.method == "none":
        return Text("not cross-checked (--no-check)", style="dim")
    mark, style, words = summary(check)
    who = "SymPy" if check.method == "sympy" else "central differences"
    if words == "agrees" and who != "SymPy":
        words = "agree"
    if check.status == "disagree":
        words = ("DISAGREES" if who == "SymPy" else "DISAGREE") + (
            f" ({words})" if words not in ("agrees", "could not check") else "")
    elif words not in ("agrees", "agree", "could not check"):
        words = f"check: {words}"
    line = Text(f"{mark} {who} {words}", style=style)
    how = ("sympy.diff of the expression built from the graph" if check.method == "sympy"
           else f"fallback: {check.reason}")
    if check.method == "sympy" and check.reason:
        how += f"; {check.reason}"
    line.append(f"  ({how}; {check.seconds:.2f} s)", style="dim")
    return line


def _shown(source: str, limit: int = 400) -> str:
    """The program on one line, cut to ``limit`` characters (a big one would fill the screen)."""
    text = printable(" ".join(source[:limit * 4].split()))
    if len(text) <= limit and len(source) <= limit * 4:
        return text
    return f"{text[:limit - 1]}… ({len(source):,} characters)"


def point_table(console: Console, source: str, result, check, digits: int,
                exact=None) -> None:
    out = result.output
    where = ", ".join(f"{k} = {fmt(v)}" for k, v in result.point.items())   # exactly as used
    if exact is not None:
        where = ", ".join(f"{k} = {_exact_text(exact.point[k], v, digits, exact.digits)}"
                          for k, v in result.point.items())
    console.print(Text.assemble(("program ", "dim"), (_shown(source), "bold")))
    if where:
        console.print(Text.assemble(("at      ", "dim"), where))
    value = fmt(result.value, digits)
    if exact is not None:
        value = _exact_text(exact.expression, result.value, digits,
                            exact.digits)
    console.print(Text.assemble((f"{out} = ", "bold"), (value, "bold cyan")))
    if not result.gradient:
        console.print(Text("(no variables: nothing to differentiate)", style="dim"))
        console.print(_method_line(check))
        return
    sympy_ran = check.method == "sympy"
    console.print()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("variable")
    table.add_column("value", justify="right")
    table.add_column(f"∂{out}/∂var", justify="right", style="cyan")
    if check.method != "none":
        table.add_column(f"SymPy ∂{out}/∂var" if sympy_ran else "central difference",
                         overflow="fold")
        table.add_column("check")
    by_name = check.by_name()
    for name, d in result.gradient.items():
        value = result.point.get(name, result.intermediates.get(name))
        shown = "—" if value is None else fmt(value, digits)
        if exact is not None and name in exact.point:
            shown = _exact_text(exact.point[name], value, digits, exact.digits)
        partial = fmt(d, digits) if exact is None else _exact_text(
            exact.gradient[name], d, digits, exact.digits)
        row = [name, shown, partial]
        p = by_name.get(name)
        if p is not None:
            ref = p.symbolic if sympy_ran else (
                fmt(p.reference, digits) if p.reference is not None else "—")
            row += [ref or "—", _mark(p, digits)]
        elif check.method != "none":
            row += ["—", Text("")]
        table.add_row(*row)
    console.print(table)
    console.print(_method_line(check))


def symbolic_table(console: Console, source: str, sym, check) -> None:
    """``sym`` holds printed expressions (strings)."""
    out = sym.output
    console.print(Text.assemble(("program ", "dim"), (_shown(source), "bold")))
    console.print(Text.assemble((f"{out} = ", "bold"), (str(sym.expression), "bold cyan")))
    if not sym.gradient:
        console.print(Text("(no variables: nothing to differentiate)", style="dim"))
        return
    console.print()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("variable")
    table.add_column(f"∂{out}/∂var (reverse mode)", style="cyan", overflow="fold")
    if check.method != "none":
        table.add_column("sympy.diff", overflow="fold")
        table.add_column("check")
    by_name = check.by_name()
    for name, expr in sym.gradient.items():
        row = [name, str(expr)]
        p = by_name.get(name)
        if check.method != "none":
            row += [p.symbolic or "—", _mark(p, None)] if p else ["—", Text("")]
        table.add_row(*row)
    console.print(table)
    console.print(_method_line(check))


def answers_table(console: Console, verdicts) -> None:
    """The student's answers, each ✓ or ✗ with the correct one."""
    table = Table(title="Your answers", title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in ("", "answer", "yours", "correct", "how it was decided"):
        table.add_column(name, overflow="fold")
    for v in verdicts:
        mark = {True: Text("✓", "green"), False: Text("✗", "bold red"),
                None: Text("?", "yellow")}[v.ok]
        how = v.how + (f"; {v.counterexample}" if v.counterexample else "")
        table.add_row(mark, v.expectation.label, v.expectation.answer, v.correct,
                      Text(how, style="dim"))
    console.print()
    console.print(table)
    wrong = sum(1 for v in verdicts if v.ok is False)
    right = sum(1 for v in verdicts if v.ok)
    console.print(Text(f"{right} of {len(verdicts)} right", style="green" if not wrong
                       else "bold red"))


def printed(value, digits: int | None = None) -> str:
    """An exact SymPy value as text, or an mpmath one with ``digits`` significant digits; None
    is a partial with no exact value."""
    if value is None:
        return "undetermined"
    if hasattr(value, "_mpf_"):
        import mpmath

        text = mpmath.nstr(value, digits or 15, strip_zeros=True)
        return text[:-2] if text.endswith(".0") else text
    from ..printing import sstr

    return sstr(value)
