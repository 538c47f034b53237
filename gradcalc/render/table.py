"""The rich table people read: value, then one row per variable with the reverse-mode partial,
SymPy's own derivative, and a check mark.

Every table here and in steps.py, higher.py goes through ``fit``: one style, and a layout that
never cuts or splits a number at any terminal width (formulas fold first; when even the numbers
cannot fit side by side, each row becomes a block of "name: value" lines)."""

from __future__ import annotations

import re

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..numfmt import fmt
from .plain_table import (  # noqa: F401 (_MARKS, summary, _shown: render.higher's too)
    _MARKS,
    CUT,
    Col,
    mark_pieces,
    method_pieces,
    point_head,
    point_rows,
    program_lines,
    summary,
)
from .plain_table import shown as _shown  # noqa: F401

GAPS = (3, 2)    # between two columns: a blank of padding each side of the (blank) rule, or
                 # on one side only when that makes the table fit
TEXT_MIN = 10    # a formula folded narrower than this (or than its longest word, up to
TEXT_WORD = 20   # TEXT_WORD) is harder to read than the same formula in a block of lines
INDENT = 2       # of the "name: value" lines under a row's name in the vertical layout


def new_table(gap: int = 3) -> Table:
    """The one style of every table for people (titles are printed above, as a line)."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                 padding=(0, 1) if gap == 3 else (0, 0, 0, 1))


def say(console: Console, text: Text | str, indent: int = 0) -> None:
    """Print ``text`` wrapped at spaces only: a word longer than the terminal (a number at
    --precision 60 on 40 columns) stays whole on one line, for the terminal to fold, never cut."""
    text = Text(text) if isinstance(text, str) else text
    width = max(console.width - indent, 1)
    for line in text.split("\n"):
        start, offsets = 0, []
        for word in re.finditer(r"\S+", line.plain):
            if word.end() - start > width and word.start() > start:
                offsets.append(word.start())
                start = word.start()
        for piece in line.divide(offsets):
            piece.rstrip()
            console.print(Text(" " * indent) + piece, overflow="ignore", no_wrap=True,
                          crop=False)


def _plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _longest(cell, words: bool) -> int:
    """The widest line of a cell, or with ``words`` its widest word (a multi-line cell, SymPy's
    pretty printing, is drawn: its lines are its words)."""
    lines = _plain(cell).splitlines() or [""]
    if words and len(lines) == 1:
        lines = lines[0].split() or [""]
    return max(cell_len(x) for x in lines)


_NUMBER = re.compile(r"[-+]?[0-9]+(?:[./][0-9]+)?(?:e[-+]?[0-9]+)?")


def _cut(cell: str | Text) -> tuple[str | Text, bool]:
    """A formula cell cut to CUT characters (at a space when there is one near), and whether it
    was cut."""
    text = _plain(cell)
    if len(text) <= CUT or "\n" in text or _NUMBER.fullmatch(text):   # a number is never cut
        return cell, False
    end = text.rfind(" ", CUT - 40, CUT)
    end = end if end > 0 else CUT
    style = cell.style if isinstance(cell, Text) else ""
    return Text(text[:end].rstrip() + " …", style=style), True


def _widths(cols, rows, width: int, gap: int) -> list[int] | None:
    """Column widths that fit ``width``, folding formulas before wrapping other cells at their
    spaces; None when even that leaves a number without room."""
    natural, need = [], []
    for k, col in enumerate(cols):
        cells = [row[k] for row in rows]
        most = max(_longest(c, False) for c in [col.header, *cells])
        rigid = max(_longest(c, not col.whole or c is col.header) for c in [col.header, *cells]
                    if not col.text or "\n" in _plain(c) or c is col.header)
        if col.text:
            words = max(_longest(c, True) for c in cells) if cells else 0
            rigid = max(rigid, min(most, max(TEXT_MIN, min(TEXT_WORD, words))))
        natural.append(most)
        need.append(rigid)
    room = width - gap * (len(cols) - 1)
    if sum(need) > room:
        return None
    widths = list(natural)
    for shrinkable in ([c.text or c.prose for c in cols], [True] * len(cols)):
        while sum(widths) > room:
            slack = [(w - n if ok else 0)
                     for w, n, ok in zip(widths, need, shrinkable, strict=True)]
            if max(slack) <= 0:
                break
            k = max(range(len(cols)), key=lambda i: (slack[i] > 0, widths[i]))
            widths[k] -= 1
    return widths


def fit(console: Console, cols: list[Col], rows: list[list], title: str | None = None,
        head: int = 1, name=None) -> None:
    """Print a table that fits the terminal (see the module's docstring). In the vertical
    layout a row is named by its first ``head`` cells, or by ``name(row)``."""
    cut = False
    for k, col in enumerate(cols):
        if col.text:
            for row in rows:
                row[k], was = _cut(row[k])
                cut = cut or was
    if title:
        console.print(Text(title, style="bold"))
    gap, widths = next(((g, ws) for g in GAPS if (ws := _widths(cols, rows, console.width, g))),
                       (0, None))
    if widths is None:
        _vertical(console, cols, rows, head, name)
    else:
        table = new_table(gap)
        for col, w in zip(cols, widths, strict=True):
            table.add_column(col.header, justify=col.justify, style=col.style, width=w,
                             overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    if cut:
        console.print(Text(f"(formulas longer than {CUT} characters are cut at …; "
                           "--format json prints them in full)", style="dim"))


def _vertical(console: Console, cols, rows, head: int, name=None) -> None:
    """Each row as its name, then one "header: value" line per cell."""
    labels = [f"{' '.join(c.header.split())}:" for c in cols[head:]]
    lw = max(cell_len(x) for x in labels) if labels else 0
    room = console.width - INDENT - lw - 1
    for row in rows:
        title = Text(name(row)) if name else Text("  ").join(
            c if isinstance(c, Text) else Text(str(c)) for c in row[:head])
        title.stylize("bold")
        say(console, title)
        for col, label, cell in zip(cols[head:], labels, row[head:], strict=True):
            if not _plain(cell):
                continue
            value = cell if isinstance(cell, Text) else Text(str(cell))
            if col.style:
                value = Text.assemble(value, style=col.style)
            multi = "\n" in value.plain
            if _longest(value, not multi) <= room:
                grid = Table.grid(padding=(0, 1, 0, 0))
                grid.add_column(width=lw, no_wrap=True)
                grid.add_column(max_width=room, overflow="fold")
                grid.add_row(Text(label, style="dim"), value)
                console.print(Padding(grid, (0, 0, 0, INDENT), expand=False))
            else:
                say(console, Text(label, style="dim"), INDENT)
                if col.text and not multi:
                    console.print(Padding(Text.assemble(value, overflow="fold"),
                                          (0, 0, 0, 2 * INDENT), expand=False))
                else:   # at the left edge when even the indented line is too long
                    say(console, value, 2 * INDENT if _longest(value, False) <= room else 0)


def _mark(p, digits) -> Text:
    return Text.assemble(*mark_pieces(p, digits))


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
    return Text.assemble(*method_pieces(check))


def _top(console: Console, source: str, lines) -> None:
    """The program, then ``(label, value)`` lines whose values (numbers) are never split. A
    short program of several lines (a file: its name, then its statements) keeps its lines."""
    for pieces in program_lines(source):
        console.print(Text.assemble(*pieces))
    for label, value in lines:
        say(console, Text.assemble(label, value))


def point_table(console: Console, source: str, result, check, digits: int,
                exact=None, symbolic: bool = True) -> None:
    """The value and gradient at a point, each partial beside its check; ``symbolic=False``
    leaves out SymPy's formulas (the check marks stay). (What it holds is plain_table's.)"""

    def exact_text(expr, value):
        return _exact_text(expr, value, digits, exact.digits)

    _top(console, source, point_head(result, digits, exact, exact_text))
    if not result.gradient:
        console.print(Text("(no variables: nothing to differentiate)", style="dim"))
        console.print(_method_line(check))
        return
    cols, rows = point_rows(result, check, digits, symbolic, exact, exact_text)
    console.print()
    fit(console, cols, [[Text.assemble(*c) if isinstance(c, list) else c for c in row]
                        for row in rows])
    console.print(_method_line(check))


def symbolic_table(console: Console, source: str, sym, check, symbolic: bool = True) -> None:
    """The symbolic gradient; ``sym`` holds printed expressions (strings). ``symbolic=False``
    leaves out sympy.diff's own formulas (the check marks stay)."""
    out = sym.output
    expression, cut = _cut(str(sym.expression))
    _top(console, source, [((f"{out} = ", "bold"), Text.assemble(expression, style="bold cyan"))])
    if cut:
        console.print(Text(f"(cut at {CUT} characters; --format json prints it in full)",
                           style="dim"))
    if not sym.gradient:
        console.print(Text("(no variables: nothing to differentiate)", style="dim"))
        return
    checked = check.method != "none"
    cols = [Col("variable", whole=True),
            Col(f"∂{out}/∂var (reverse mode)", style="cyan", text=True)]
    if checked and symbolic:
        cols.append(Col("sympy.diff", text=True))
    if checked:
        cols.append(Col("check", prose=True))
    by_name = check.by_name()
    rows = []
    for name, expr in sym.gradient.items():
        row = [name, str(expr)]
        p = by_name.get(name)
        if checked and symbolic:
            row.append((p.symbolic if p else None) or "—")
        if checked:
            row.append(_mark(p, None) if p else Text(""))
        rows.append(row)
    console.print()
    fit(console, cols, rows)
    console.print(_method_line(check))


def _correct(verdict, digits: int | None) -> str:
    """The correct answer at the main table's digits, or at as many as the student wrote when
    that is more (so a wrong 7th digit shows); an expression as it is."""
    try:
        value = float(verdict.correct)
    except ValueError:
        return verdict.correct
    if digits is None:
        return verdict.correct
    written = len(re.sub(r"^[-+]?0*\.?0*|e.*$|\.", "",
                         verdict.expectation.answer.strip().lower()))
    return fmt(value, max(digits, written))


def answers_table(console: Console, verdicts, digits: int | None = None) -> None:
    """The student's answers, each ✓ or ✗ with the correct one (at ``digits``, the main
    table's)."""
    correct = [_correct(v, digits) for v in verdicts]
    numeric = all(re.fullmatch(r"[-+0-9.e]+|inf|nan|undetermined", c) for c in correct)
    cols = [Col(""), Col("answer", whole=True), Col("yours", text=True),
            Col("correct", text=not numeric), Col("how it was decided", style="dim", prose=True)]
    rows = []
    for v, right in zip(verdicts, correct, strict=True):
        mark = {True: Text("✓", "green"), False: Text("✗", "bold red"),
                None: Text("?", "yellow")}[v.ok]
        how = v.how + (f"; {v.difference(digits)}" if v.counterexample else "")
        rows.append([mark, v.expectation.label, v.expectation.answer, right, how])
    console.print()
    fit(console, cols, rows, title="Your answers", head=2)
    wrong = sum(1 for v in verdicts if v.ok is False)
    got = sum(1 for v in verdicts if v.ok)
    console.print(Text(f"{got} of {len(verdicts)} right", style="green" if not wrong
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
