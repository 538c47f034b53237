"""The table of a point's gradient, what it holds (used by ``render/table.py``, which draws it
with rich), and the same table as plain text when that is all rich would print: standard output
is not a terminal (no colour, no styles), every line fits the width rich would use, and every
character is one rich measures as one column. That case (a script, a pipe, a benchmark) then
never imports rich, which is a third of gradcalc's start-up time (issue 18). Anything else is
left to rich: ``write_point`` returns False.

Content lives here once, as text with style names ("pieces": (text, style) pairs), so that rich
and the plain path cannot drift apart; tests/test_plain_table.py compares the two outputs.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import Literal, NamedTuple

from ..errors import printable
from ..numfmt import fmt

CUT = 160        # characters of a formula shown in a cell; --format json has every one

_MARKS = {"agree": ("✓", "green"), "disagree": ("✗", "bold red"),
          "kink": ("~", "yellow"), "ill-conditioned": ("≈", "yellow"),
          "undetermined": ("!", "bold red"), "skipped": ("?", "yellow")}

# Characters the plain path prints as they are: rich gives each one column and changes none (no
# markup, [ and :emoji: codes aside, which it does not take: see _plain_cell).
_ONE_COLUMN = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("∂✓✗—…≈·∞π─")


class Col(NamedTuple):
    """A column: ``text`` is a formula (folds anywhere, cut past CUT characters); any other cell
    (a number, a check mark with its note) wraps only at spaces, so no number splits; a
    ``whole`` one (a name, an edge "f → q") never wraps; ``prose`` (a note) wraps as early as a
    formula folds."""

    header: str
    justify: Literal["default", "left", "center", "right", "full"] = "left"   # rich's
    style: str | None = None
    text: bool = False
    whole: bool = False
    prose: bool = False


def shown(source: str, limit: int = 400) -> str:
    """The program on one line, cut to ``limit`` characters (a big one would fill the screen)."""
    text = printable(" ".join(source[:limit * 4].split()))
    if len(text) <= limit and len(source) <= limit * 4:
        return text
    return f"{text[:limit - 1]}… ({len(source):,} characters)"


def program_lines(source: str) -> list[list[tuple[str, str]]]:
    """The program as the header prints it, a line of pieces each: a short program of several
    lines (a file: its name, then its statements) keeps its lines."""
    rows = [printable(line.rstrip()) for line in source.splitlines() if line.strip()]
    if 1 < len(rows) <= 9 and all(len(row) <= 100 for row in rows):
        return [[("program ", "dim"), (rows[0].strip(), "bold")],
                *([("        ", ""), (row, "bold")] for row in rows[1:])]
    return [[("program ", "dim"), (shown(source), "bold")]]


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


def mark_pieces(p, digits) -> list[tuple[str, str]]:
    """A partial's check mark and what it says, as pieces."""
    mark, style = _MARKS[p.status]
    pieces = [(mark, style)]
    if p.status in ("disagree", "kink", "ill-conditioned") and p.reference is not None:
        pieces.append((f" (checker: {fmt(p.reference, digits)})", style))
    if p.status == "kink":
        pieces.append((" not differentiable here", "dim"))
    if p.status == "ill-conditioned":
        pieces.append((" ill-conditioned: float64 can do no better here", "dim"))
    if p.status == "undetermined":
        pieces.append((" undetermined:", style))
    if p.note and p.status in ("skipped", "undetermined", "agree"):
        pieces.append((f" {p.note}", "dim"))
    return pieces


def method_pieces(check) -> list[tuple[str, str]]:
    """The line under a table saying which check ran and what it found, as pieces."""
    if check.method == "none":
        return [("not cross-checked (--no-check)", "dim")]
    mark, style, words = summary(check)
    who = "SymPy" if check.method == "sympy" else "central differences"
    if words == "agrees" and who != "SymPy":
        words = "agree"
    if check.status == "disagree":
        words = ("DISAGREES" if who == "SymPy" else "DISAGREE") + (
            f" ({words})" if words not in ("agrees", "could not check") else "")
    elif words not in ("agrees", "agree", "could not check"):
        words = f"check: {words}"
    how = ("sympy.diff of the expression built from the graph" if check.method == "sympy"
           else f"fallback: {check.reason}")
    if check.method == "sympy" and check.reason:
        how += f"; {check.reason}"
    return [(f"{mark} {who} {words}", style), (f"  ({how}; {check.seconds:.2f} s)", "dim")]


def point_head(result, digits: int, exact=None, exact_text=None) -> list[tuple]:
    """The (label, value) lines under the program: the point, exactly as used, and the value
    (pieces each)."""
    if exact is None:
        where = ", ".join(f"{k} = {fmt(v)}" for k, v in result.point.items())
        value = fmt(result.value, digits)
    else:
        where = ", ".join(f"{k} = {exact_text(exact.point[k], v)}"
                          for k, v in result.point.items())
        value = exact_text(exact.expression, result.value)
    return ([(("at      ", "dim"), where)] if where else []) + [
        ((f"{result.output} = ", "bold"), (value, "bold cyan"))]


def point_rows(result, check, digits: int, symbolic: bool = True, exact=None,
               exact_text=None) -> tuple[list[Col], list[list]]:
    """The columns and rows of a point's table: a cell is a string, or a list of pieces (the
    check mark). ``exact_text(expr, value)`` prints an exact value (--exact, --precision)."""
    out = result.output
    sympy_ran = check.method == "sympy"
    cols = [Col("variable", whole=True), Col("value", "right"),
            Col(f"∂{out}/∂var", "right", "cyan")]
    formulas = check.method != "none" and (symbolic or not sympy_ran)
    if formulas:
        cols.append(Col(f"SymPy ∂{out}/∂var", text=True) if sympy_ran
                    else Col("central difference", "right"))
    if check.method != "none":
        cols.append(Col("check", prose=True))
    by_name = check.by_name()
    rows = []
    for name, d in result.gradient.items():
        value = result.point.get(name, result.intermediates.get(name))
        text = "—" if value is None else fmt(value, digits)
        if exact is not None and name in exact.point:
            text = exact_text(exact.point[name], value)
        partial = fmt(d, digits) if exact is None else exact_text(exact.gradient[name], d)
        row: list = [name, text, partial]
        p = by_name.get(name)
        if p is not None and formulas:
            row.append((p.symbolic if sympy_ran else (
                fmt(p.reference, digits) if p.reference is not None else None)) or "—")
        elif formulas:
            row.append("—")
        if check.method != "none":
            row.append(mark_pieces(p, digits) if p is not None else [])
        rows.append(row)
    return cols, rows


# --- the plain path ----------------------------------------------------------------------------

def plain_width() -> int | None:
    """The width rich's Console (as ``cli.app.Settings.console`` makes it) would use for
    standard output, when it would print no colour or style there; else None. Mirrors rich's
    Console.__init__, is_terminal and size (13 to 15), leaving the rarer cases to rich."""
    if sys.platform == "win32" or sys.stdout is None or hasattr(builtins, "get_ipython"):
        return None   # (legacy Windows consoles, Jupyter: rich's business)
    file = getattr(sys.stdout, "rich_proxied_file", sys.stdout)
    if not (getattr(file, "encoding", None) or "utf-8").lower().startswith("utf"):
        return None   # rich draws ASCII boxes then
    env = os.environ
    if env.get("TTY_COMPATIBLE") or "FORCE_COLOR" in env:
        return None   # they may make rich treat the file as a terminal
    isatty = getattr(file, "isatty", None)
    try:
        if isatty is not None and isatty():
            return None
    except ValueError:   # a closed file: rich says "not a terminal" too
        pass
    columns = env.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) if columns.isascii() else None
    for fd in _std_fds():
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):
            continue
        return width or 80
    return 80


def _std_fds() -> list[int]:
    """The file descriptors of the process's own stdin, stdout and stderr (rich's _STD_STREAMS)."""
    fds = []
    for stream, default in ((sys.__stdin__, 0), (sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            fds.append(stream.fileno())   # type: ignore[union-attr]
        except Exception:   # noqa: BLE001 (as rich: None, or no file behind it)
            fds.append(default)
    return fds


def _plain_cell(cell) -> str | None:
    """A cell's text, if rich would print it unchanged in one column per character."""
    if isinstance(cell, list):   # pieces: a rich Text, never parsed as markup
        text = "".join(t for t, _style in cell)
    else:
        text = str(cell)
        if "[" in text or ":" in text:   # rich parses a string cell for markup and :emoji:
            return None
    return text if _ONE_COLUMN.issuperset(text) else None


def point_text(source: str, result, check, digits: int, symbolic: bool,
               width: int) -> str | None:
    """``render.table.point_table``'s output (without --exact) as rich prints it to a file of
    ``width`` columns, or None when it would wrap, fold, cut or measure something itself."""
    lines = ["".join(t for t, _s in pieces) for pieces in program_lines(source)]
    for label, value in point_head(result, digits):   # render.table.say, when on one line
        lines.append((label[0] + (value if isinstance(value, str) else value[0])).rstrip())
    method = "".join(t for t, _s in method_pieces(check))
    if not result.gradient:
        lines += ["(no variables: nothing to differentiate)", method]
    else:
        cols, rows = point_rows(result, check, digits, symbolic)
        maybe = [[_plain_cell(c.header) for c in cols], *([_plain_cell(c) for c in row]
                                                            for row in rows)]
        if any(None in row for row in maybe):
            return None
        headers, *cells = [[c or "" for c in row] for row in maybe]
        if any(c.text and len(row[k]) > CUT for row in cells for k, c in enumerate(cols)):
            return None   # cut: rich's path says so
        widths = [max(len(x) for x in [h, *(row[k] for row in cells)])
                  for k, h in enumerate(headers)]
        if sum(widths) + 3 * (len(cols) - 1) > width or any(
                c.justify not in ("left", "right") for c in cols):
            return None   # the table folds or wraps: rich's path does that

        def line(texts):
            return "   ".join(t.ljust(w) if c.justify == "left" else t.rjust(w)
                              for t, w, c in zip(texts, widths, cols, strict=True))

        lines += ["", line(headers), "─" * (sum(widths) + 3 * (len(cols) - 1)),
                  *map(line, cells), method]
    if any(len(x) > width or not _ONE_COLUMN.issuperset(x) for x in lines):
        return None
    return "".join(x + "\n" for x in lines)


def write_point(source: str, result, check, digits: int, symbolic: bool) -> bool:
    """Print the point's table as plain text to standard output, as rich would; False (nothing
    printed) when that is not certain."""
    width = plain_width()
    if width is None:
        return False
    text = point_text(source, result, check, digits, symbolic, width)
    if text is None:
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:   # as cli.app's console does: exit 0, and no second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise
    return True
