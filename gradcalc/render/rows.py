"""Many points out: one row per point, written chunk by chunk as the points are computed.

Machine formats carry every float at full precision (the shortest repr that reads back to the same
float) and a failed point's reason in place of its numbers:

- csv / tsv: a header (the point's variables, any kept columns, ``value``, ``d<out>/d<var>``...,
  ``error``), then one row per point (the rows of a chunk read in bulk, points.py, by two
  threads: each row's cells as read, then the numbers in repr's text, by the C extension of
  floattext.py, or joined by pyarrow, ``_joined``);
- jsonl: one object per line: ``{"output", "point", "value", "gradient", "error", "check",
  "warnings"}`` (and
  ``"columns"`` for kept columns);
- json: the same objects in one array.

The table (for people) is one table however many rows: all of them when they fit a screen, else
the first and last few, the min and max of each column, the rows that failed and why; its memory
is bounded by the screen, not the file, and it costs little next to computing the rows.
"""

from __future__ import annotations

import csv
import json
import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import floattext
from ..lazy import numpy
from ..numfmt import fmt
from ..records import field, record

if TYPE_CHECKING:
    from rich.text import Text


@record
class Rows:
    """A chunk of computed points, as sequences of floats (indices are local to the chunk)."""

    start: int                          # index of the first point overall (0-based)
    points: dict[str, Sequence[float]]   # (points.Floats: NumPy's arrays, lists on demand)
    value: Sequence[float]
    gradient: dict[str, Sequence[float]]
    errors: dict[int, str] = field(default_factory=dict)
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)
    checks: dict[int, object] = field(default_factory=dict)   # sampled points -> Check
    texts: Mapping[str, Sequence[str]] | None = None   # the points as written, for csv
    warnings: dict[int, list[str]] = field(default_factory=dict)   # row -> its own warnings

    def __len__(self) -> int:
        return len(self.value)


def _check_json(check) -> dict:
    return {"method": check.method, "status": check.status,
            "partials": {p.name: {"status": p.status, "value": p.reference}
                         for p in check.partials}}


@record(frozen=True)
class Columns:
    """What each row holds, in order: the point's variables, the file's kept columns (extras),
    then the output's value and its partials with respect to ``wrt``."""

    output: str
    variables: Sequence[str]
    wrt: Sequence[str]
    extras: Sequence[str] = ()


class RowWriter:
    """Writes chunks of rows in one format through ``echo`` (click.echo's signature)."""

    def __init__(self, fmt_name: str, echo, columns: Columns, digits: int | None = None,
                 console=None, title: str = "", screen: int | None = None,
                 stdout: bool = False):
        self.format = fmt_name
        self.echo = echo
        # ``stdout``: echo is click.echo to standard output, which takes bytes too (the rows of a
        # chunk read in bulk go as bytes), and big CSV/TSV chunks are made into text by threads
        # of their own (formats/_rows.py drains them before anything else is said)
        self.raw = self.background = stdout
        self._pool: Any = None
        self._writing: deque = deque()
        self._lock = threading.Lock()
        self.output = columns.output
        self.variables = list(columns.variables)
        self.extras = list(columns.extras)
        self.wrt = list(columns.wrt)
        self.digits = digits
        self.console = console
        self.title = title
        self.count = 0
        if fmt_name in ("csv", "tsv"):
            self._line = _LineWriter("," if fmt_name == "csv" else "\t")
            echo(self._line([*self.variables, *self.extras, "value",
                             *(f"d{self.output}/d{w}" for w in self.wrt), "error"]))
        elif fmt_name == "json":
            echo("[", nl=False)
        elif fmt_name == "table":
            self._shown = _Screenful(_screen_rows(console, screen), len(self.variables),
                                     len(self.variables) + 1 + len(self.wrt))

    def write(self, rows: Rows) -> None:
        if self._pool is None and self.background and len(rows) >= BULK \
                and self.format in ("csv", "tsv") and _read_in_bulk(rows):
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="gradcalc-rows")
        if self._pool is None:
            getattr(self, f"_{self.format}")(rows)
        else:   # chunks made into text by threads while the next are read and computed; the
            self.drain(keep=WRITERS)   # text echoed here, in order
            self._writing.append(self._pool.submit(self._csv_text, rows))
        self.count += len(rows)

    def drain(self, keep: int = 0) -> None:
        """Echo the text of the chunks made, in order, until at most ``keep`` are still being
        made (a writing error, such as a closed pipe, raised here)."""
        while len(self._writing) > keep:
            text, nl = self._writing.popleft().result()
            self.echo(text, nl=nl)
        if not keep and self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def close(self) -> None:
        self.drain()
        if self.format == "json":
            self.echo("\n]")
        elif self.format == "table":
            self._print_table()

    # --- formats ------------------------------------------------------------------------------
    def _csv(self, rows: Rows) -> None:
        text, nl = self._csv_text(rows)
        self.echo(text, nl=nl)

    def _csv_text(self, rows: Rows) -> tuple[str | bytes, bool]:
        """The rows' text, and whether echo is to end it with a newline.

        Column by column: numbers never need quoting, so most lines are a plain join; a row
        with an error or a text cell that needs quotes goes through the csv module."""
        if len(rows) >= BULK:
            text = self._bulk(rows)
            if text is not None:
                return text, False
        sep = self._line.delimiter
        texts = rows.texts or {}
        columns = [texts[v] if v in texts else list(map(repr, rows.points[v]))
                   for v in self.variables]
        columns += [rows.extras[e] for e in self.extras]
        columns.append(list(map(repr, rows.value)))
        columns += [list(map(repr, rows.gradient[w])) for w in self.wrt]
        columns.append([""] * len(rows))
        lines = list(map(sep.join, zip(*columns, strict=True)))
        redo = set(rows.errors)
        for e in [*self.extras, *texts]:
            cells = rows.extras[e] if e in rows.extras else texts[e]
            if _needs_quotes("".join(cells), sep):
                redo.update(k for k, cell in enumerate(cells) if _needs_quotes(cell, sep))
        for k in redo:
            lines[k] = self._row(rows, k)
        return "\n".join(lines), True

    def _row(self, rows: Rows, k: int) -> str:
        """Row ``k`` through the csv module: quoted where a cell needs it, a failed point's
        reason in place of its numbers. (Called by the writing threads too: one line at a
        time.)"""
        texts = rows.texts or {}
        cells = [texts[v][k] if v in texts else _cell(rows.points[v][k]) for v in self.variables]
        cells += [rows.extras[e][k] for e in self.extras]
        error = rows.errors.get(k)
        if error is None:
            cells += [repr(rows.value[k]), *(repr(rows.gradient[w][k]) for w in self.wrt), ""]
        else:
            cells += [""] * (1 + len(self.wrt)) + [error]
        with self._lock:
            return self._line(cells)

    def _bulk(self, rows: Rows) -> str | bytes | None:
        """The rows of a chunk read in bulk (points.TextColumn cells), as bytes when ``raw``;
        None when the rows are not such a chunk's. Such cells are plain numbers: none needs
        quotes. Each row starts with its cells as written; the numbers in repr's text follow,
        written by the C extension (``_native``) or, without it, by pyarrow (``_joined``). A
        row with an error is written by ``_row``."""
        from ..points import arrow

        texts = rows.texts or {}
        cells: list[Any] = [*(texts.get(v) for v in self.variables),
                            *(rows.extras[e] for e in self.extras)]
        if not _read_in_bulk(rows) or not all(hasattr(c, "block") for c in cells
                                             if c is not None):
            return None
        ft = floattext.native()
        arrays = [_floats(numpy(), x) for x in [rows.value, *(rows.gradient[w] for w in self.wrt)]]
        if any(x is None for x in arrays):
            return None   # (a chunk this big is computed by NumPy: float64 arrays)
        sep = self._line.delimiter
        block: Any = getattr(cells[0], "block", None)
        whole = (block is not None and len(cells) == block.width and block.delimiter == sep
                 and all(getattr(c, "block", None) is block and c.position == j
                         for j, c in enumerate(cells)))
        if ft is not None and whole:   # every column of the file, in order, as written
            starts, ends = block.spans()
            return self._native(ft, rows, block.data, starts, ends, arrays)
        a = arrow()   # (imported only now: other columns, or in another order, joined by it)
        if a is None:
            return None
        columns = [block.lines()] if whole else self._kept(a, rows, cells)
        if columns is None:
            return None
        try:
            if ft is not None:   # the kept columns joined by pyarrow, the numbers by C
                start = a.pc.binary_join_element_wise(*columns, a.text(sep))
                data, starts, ends = a.spans(start)
                return self._native(ft, rows, data, starts, ends, arrays)
            return self._joined(a, rows, columns, arrays)
        except (a.pa.ArrowInvalid, a.pa.ArrowCapacityError):   # e.g. past 2 GiB in a chunk
            return None

    def _kept(self, a, rows: Rows, cells: list) -> list | None:
        """The text columns a row starts with, as pyarrow strings: each variable's cells as
        written (or its value given by --at), then the kept columns'; None if a variable not
        read from the file differs between rows."""
        columns: list = []
        for v, c in zip(self.variables, cells, strict=False):
            if c is not None:
                columns.append(c.arrow)
                continue
            x = rows.points[v]   # a value given by --at, the same in every row
            if x.count(x[0]) != len(x):
                return None
            columns.append(a.text(repr(x[0])))
        return columns + [c.arrow for c in cells[len(self.variables):]]

    def _joined(self, a, rows: Rows, columns: list, arrays: list) -> str | bytes:
        """The rows joined by pyarrow, the numbers in pyarrow's text where it is repr's
        (``_digits``); a row with an error, or with a number pyarrow writes otherwise than
        repr (a few in 10^4), is written by ``_row`` instead, spliced into the joined text."""
        np, sep = a.np, self._line.delimiter
        numbers = []
        redo = np.zeros(len(rows), dtype=bool)
        for x in arrays:
            text, same = _digits(a, x)
            numbers.append(text)
            redo |= ~same
        # (the error column is empty: the line ends with the delimiter)
        lines = a.pc.binary_join_element_wise(*columns, *numbers, a.text("\n"), a.text(sep))
        if rows.errors:
            redo[list(rows.errors)] = True
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
            lines.offset:lines.offset + len(lines) + 1]
        text = memoryview(lines.buffers()[2])
        pieces: list[Any] = []
        at = int(offsets[0])
        for k in np.flatnonzero(redo).tolist():   # the rows written otherwise, in place
            pieces += [text[at:offsets[k]], (self._row(rows, k) + "\n").encode()]
            at = int(offsets[k + 1])
        pieces.append(text[at:offsets[-1]])
        data = b"".join(pieces)
        return data if self.raw else str(data, "utf-8")

    def _native(self, ft, rows: Rows, data, starts, ends, arrays) -> str | bytes:
        """Row k: ``data[starts[k]:ends[k]]`` (its cells as written), then each number's repr,
        by the C extension (floattext.py); a row with an error written by ``_row``."""
        sep = self._line.delimiter.encode()
        lines = {k: (self._row(rows, k) + "\n").encode() for k in rows.errors}
        arrays = [numpy().ascontiguousarray(x) for x in arrays]
        text = ft.rows(data, starts, ends, arrays, sep, sep + b"\n", lines)
        return text if self.raw else str(text, "utf-8")

    _tsv = _csv

    def _objects(self, rows: Rows):
        for k in range(len(rows)):
            error = rows.errors.get(k)
            obj: dict[str, object] = {
                "output": self.output,
                "point": {v: _number(rows.points[v][k]) for v in self.variables}}
            if self.extras:
                obj["columns"] = {e: rows.extras[e][k] for e in self.extras}
            obj["value"] = None if error else rows.value[k]
            obj["gradient"] = None if error else {w: rows.gradient[w][k] for w in self.wrt}
            obj["error"] = error
            check = rows.checks.get(k)
            obj["check"] = _check_json(check) if check is not None else None
            obj["warnings"] = rows.warnings.get(k, [])
            yield json.dumps(obj, ensure_ascii=False)

    def _jsonl(self, rows: Rows) -> None:
        self.echo("\n".join(self._objects(rows)))

    def _json(self, rows: Rows) -> None:
        lead = ",\n" if self.count else "\n"
        self.echo(lead + ",\n".join(f"  {o}" for o in self._objects(rows)), nl=False)

    def _plain(self, rows: Rows) -> None:
        blocks = []
        for k in range(len(rows)):
            head = ", ".join(f"{v}={fmt(rows.points[v][k])}" for v in self.variables)
            lines = [f"# {rows.start + k + 1}: {head}"]
            error = rows.errors.get(k)
            if error:
                lines.append(f"error: {error}")
            else:
                lines.append(f"{self.output} = {fmt(rows.value[k], self.digits)}")
                lines += [f"d{self.output}/d{w} = {fmt(rows.gradient[w][k], self.digits)}"
                          for w in self.wrt]
            blocks.append("\n".join(lines))
        self.echo(("\n" if self.count else "") + "\n\n".join(blocks))

    def _table(self, rows: Rows) -> None:
        numbers = [*(rows.points[v] for v in self.variables), rows.value,
                   *(rows.gradient[w] for w in self.wrt)]
        self._shown.add(rows, numbers, [rows.extras[e] for e in self.extras])

    def _print_table(self) -> None:
        """The one table, printed when the last row is in: it needs the count and the ranges."""
        from rich.text import Text

        shown = self._shown
        if not shown.count:
            return
        digits = self.digits or 6
        nvars = len(self.variables)
        columns = [_Column("#", True, "dim"), *(_Column(v, True) for v in self.variables),
                   *(_Column(e, False) for e in self.extras), _Column(self.output, True, "bold"),
                   *(_Column(f"∂{self.output}/∂{w}", True) for w in self.wrt)]
        elided = shown.count > shown.limit
        rows = [*shown.head[:HEAD], *shown.tail] if elided else shown.head
        # every row shown: the reasons in a column; else the summary lists the first ones
        with_error = not elided and any(row[3] for row in rows)
        if with_error:
            columns.append(_Column("error", False, "red"))
        body: list = [_row_cells(row, digits, nvars, with_error) for row in rows]
        if elided:
            body.insert(HEAD, shown.count - HEAD - len(shown.tail))   # the rows not shown
            body.append(None)                                         # a rule
            seen = [lo <= hi for lo, hi in zip(shown.lo, shown.hi, strict=True)]
            for label, ends in (("min", shown.lo), ("max", shown.hi)):
                cells = [_cell(x, digits) if ok else "" for x, ok in zip(ends, seen, strict=True)]
                body.append([label, *cells[:nvars], *([""] * len(self.extras)),
                             *cells[nvars:], *([""] * with_error)])
        width = self.console.width
        lines = [Text(self.title, style="italic")] if self.title else []
        for k, block in enumerate(_blocks(columns, body, width)):
            lines += [Text("")] * bool(k) + _block_lines(columns, block, body, width,
                                                          self.console)
        self.console.print(Text("\n").join(lines), soft_wrap=True)
        if elided:
            self._print_summary()

    def _print_summary(self) -> None:
        """Past a screenful: how many rows, which failed and why, and how to see them all."""
        from rich.text import Text

        console, shown = self.console, self._shown
        line = f"{shown.count:,} rows"
        if shown.errors:
            first = len(shown.first_errors)
            line += (f", {shown.errors:,} with errors" +
                     (f"; the first {first}:" if first < shown.errors else ":"))
        else:
            line += ", all computed"
        console.print(Text(line))
        for number, reason in shown.first_errors:   # wrapped with a hanging indent
            wrapped = Text(f"row {number}: {reason}").wrap(console, max(console.width - 4, 20))
            console.print(Text("\n").join(Text(("  " if n == 0 else "    ") + part.plain.rstrip())
                                          for n, part in enumerate(wrapped)), soft_wrap=True)
        console.print(Text("every row: run again with --format csv (or tsv, json, jsonl)",
                           style="dim"))


BULK = 4_096        # at least this many rows of a chunk read in bulk are written in bulk
WRITERS = 2         # threads making such chunks into text (pyarrow's work runs without the GIL)
HEAD = 10           # rows shown before "⋮ N rows not shown"
TAIL = 10           # and after it
SCREEN = 40         # at most this many rows are all shown (off a terminal)
FIRST_ERRORS = 5    # error rows listed under a table that does not show every row
GAP = "  "          # between columns
TEXT_MIN = 20       # a text column (kept columns, errors) wraps, but not narrower than this


def _screen_rows(console, screen: int | None) -> int:
    """How many rows are all shown: the terminal's height less the title, header and prompt,
    else SCREEN; never fewer than the elided view's HEAD + TAIL + 1 lines."""
    if screen is None:
        screen = console.height - 4 if console is not None and console.is_terminal else SCREEN
    return max(screen, HEAD + TAIL + 1)


class _Screenful:
    """What the table shows of any number of rows, in memory bounded by the screen: the first
    rows (all of them while they fit), the last TAIL in a ring buffer, running min/max per
    numeric column and the error count, so a 10^7-row file costs no more to show than 40 rows.
    A row is (number, numbers, kept cells, error or None)."""

    def __init__(self, limit: int, nvars: int, ncolumns: int):
        self.limit = limit
        self.nvars = nvars                 # numbers[:nvars] are the point, the rest results
        self.head: list[tuple] = []
        self.tail: deque[tuple] = deque(maxlen=TAIL)
        self.count = 0
        self.lo = [math.inf] * ncolumns      # lo > hi: no number in the column yet
        self.hi = [-math.inf] * ncolumns
        self.errors = 0
        self.first_errors: list[tuple[int, str]] = []

    def add(self, rows: Rows, numbers: list[Sequence[float]], extras: list[Sequence[str]]) -> None:
        size = len(rows)

        def row(k):
            return (rows.start + k + 1, [c[k] for c in numbers], [e[k] for e in extras],
                    rows.errors.get(k))

        self.head += map(row, range(min(size, max(0, self.limit - self.count))))
        self.tail.extend(map(row, range(max(0, size - TAIL), size)))
        self.count += size
        self.errors += len(rows.errors)
        if rows.errors and len(self.first_errors) < FIRST_ERRORS:   # no sort once listed
            for k in sorted(rows.errors)[:FIRST_ERRORS - len(self.first_errors)]:
                self.first_errors.append((rows.start + k + 1, rows.errors[k]))
        self._ranges(numbers, rows.errors)

    def _ranges(self, numbers: list[Sequence[float]], errors: dict[int, str]) -> None:
        """Min and max over the cells that are numbers: a bad cell is NaN, and a failed row's
        results are not results."""
        for i, column in enumerate(numbers):
            if errors and i >= self.nvars:
                column = [x for k, x in enumerate(column) if k not in errors]
            column = [x for x in column if x == x]
            if column:
                self.lo[i] = min(self.lo[i], min(column))
                self.hi[i] = max(self.hi[i], max(column))


@record
class _Column:
    header: str
    numeric: bool        # numbers are right-aligned and never wrapped or cut
    style: str = ""


class _Marked(str):
    """A cell drawn in red: "error" where a failed row's value would be."""


def _row_cells(row: tuple, digits: int, nvars: int, with_error: bool) -> list[str]:
    """A row's cells; a failed row has no results, only its reason (or, without an error
    column, the word "error")."""
    number, numbers, kept, error = row
    point = [_cell(x, digits) for x in numbers[:nvars]]
    results = [fmt(x, digits) for x in numbers[nvars:]]
    if error:
        results = [""] * len(results)
        if not with_error:
            results[0] = _Marked("error")
    return [str(number), *point, *kept, *results, *([error or ""] * with_error)]


def _widths(columns: list[_Column], body: list) -> list[int]:
    """Each column's natural width: its widest cell or header."""
    from rich.cells import cell_len

    widths = [cell_len(c.header) for c in columns]
    for cells in body:
        if isinstance(cells, list):
            widths = [max(w, cell_len(x)) for w, x in zip(widths, cells, strict=True)]
    return widths


def _blocks(columns: list[_Column], body: list, width: int) -> list[list[int]]:
    """The columns in blocks that fit the width, each led by "#": numbers are never cut, so a
    table wider than the terminal continues below (as pandas wraps a wide frame)."""
    widths = _widths(columns, body)
    need = [w if c.numeric else min(w, TEXT_MIN) for c, w in zip(columns, widths, strict=True)]
    blocks, block, used = [], [0], need[0]
    for i in range(1, len(columns)):
        if len(block) > 1 and used + len(GAP) + need[i] > width:
            blocks.append(block)
            block, used = [0], need[0]
        block.append(i)
        used += len(GAP) + need[i]
    return [*blocks, block]


def _block_lines(columns: list[_Column], block: list[int], body: list, width: int,
                 console) -> list[Text]:
    """One block of columns: header, rule, rows (text cells wrapped within their width), the
    "⋮" row and, under a second rule, min and max."""
    from rich.text import Text

    natural = _widths(columns, body)
    fixed = sum(natural[i] for i in block if columns[i].numeric) + len(GAP) * (len(block) - 1)
    texts = [i for i in block if not columns[i].numeric]
    share = max(TEXT_MIN, (width - fixed) // len(texts)) if texts else 0
    widths = {i: natural[i] if columns[i].numeric else min(natural[i], share) for i in block}
    total = sum(widths.values()) + len(GAP) * (len(block) - 1)
    rule = Text("─" * total)
    lines = [*_physical(columns, block, widths, [c.header for c in columns], console, "bold"),
             rule]
    for cells in body:
        if cells is None:
            lines.append(rule)
        elif isinstance(cells, int):
            lines.append(Text("⋮".rjust(widths[0]) + GAP + f"{cells:,} rows not shown",
                              style="dim"))
        else:
            lines += _physical(columns, block, widths, cells, console)
    return lines


def _physical(columns, block, widths, cells, console, style: str = "") -> list[Text]:
    """One row as lines of text: numbers right-aligned, text wrapped to its column."""
    from rich.cells import cell_len
    from rich.text import Text

    parts = {}
    for i in block:
        if columns[i].numeric:
            parts[i] = [cells[i]]
        else:
            wrapped = Text(cells[i]).wrap(console, widths[i], overflow="fold")
            parts[i] = [line.plain.rstrip() for line in wrapped] or [""]
    lines = []
    for n in range(max(map(len, parts.values()))):
        line = Text()
        for j, i in enumerate(block):
            cell = parts[i][n] if n < len(parts[i]) else ""
            pad = " " * (widths[i] - cell_len(cell))
            line.append(GAP if j else "")
            line.append(pad if columns[i].numeric else "")
            styles = (columns[i].style, style, "red" if isinstance(cell, _Marked) else "")
            line.append(cell, style=" ".join(filter(None, styles)) or None)
            line.append("" if columns[i].numeric else pad)
        line.rstrip()
        lines.append(line)
    return lines


class _LineWriter:
    """One delimited line, quoted as the csv module quotes (a message may hold a comma)."""

    def __init__(self, delimiter: str):
        self.delimiter = delimiter
        self._buffer = _Buffer()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="")

    def __call__(self, cells) -> str:
        self._writer.writerow(cells)
        return self._buffer.take()


class _Buffer:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text = text

    def take(self) -> str:
        text, self.text = self.text, ""
        return text


def _read_in_bulk(rows: Rows) -> bool:
    """Whether the rows come from a chunk read in bulk (their cells are points.TextColumn)."""
    return any(hasattr(c, "block") for c in (*(rows.texts or {}).values(),
                                             *rows.extras.values()))


def _digits(a, x):
    """pyarrow's text of each float of the array ``x``, and where that text is ``repr``'s, at a
    fraction of repr's cost: pyarrow's shortest round-trip digits are Python's (both give the
    shortest digits that read back to the same float, the nearest when several do: the digits
    are unique, as no double lies exactly halfway between two such candidates), and the two
    write them alike for 1e-4 <= |x| < 1e10 not an integer (both 0.015625), |x| >= 1e16 (both
    1.5e+16) and 0 < |x| < 1e-9 (both 1.5e-10). Not elsewhere: integers (pyarrow writes 3 for
    3.0), 1e10 <= |x| < 1e16 (1.5e+10 for 15000000000.0), 1e-9 <= |x| < 1e-4 (1.5e-7 for
    1.5e-07, 0.00001 for 1e-05), zeros, inf and nan: those are the caller's to repr."""
    np = a.np
    m = np.abs(x)
    with np.errstate(invalid="ignore"):
        same = (((m >= 1e-4) & (m < 1e10) & (np.floor(x) != x))
                | ((m >= 1e16) & (m < np.inf)) | ((m < 1e-9) & (m > 0)))
    return a.pc.cast(a.floats(x), a.pa.string()), same


def _floats(np, values):
    """``values`` as a float64 array (a column of points.Floats as it is, a list whose items
    are all floats converted), or None."""
    array = getattr(values, "array", None)
    if array is not None and getattr(array, "dtype", None) == np.float64:
        return array
    if isinstance(values, list) and all(type(v) is float for v in values):
        return np.fromiter(values, np.float64, len(values))
    return None


def _needs_quotes(cell: str, sep: str) -> bool:
    return sep in cell or '"' in cell or "\n" in cell or "\r" in cell


def _cell(x: float, digits: int | None = None) -> str:
    if x != x:   # a cell that was not a number (its row carries the error)
        return ""
    return repr(x) if digits is None else fmt(x, digits)


def _number(x: float):
    """A point's value in JSON: null where the file's cell was not a finite number (its row
    carries the error; JSON has no NaN or Infinity)."""
    return x if math.isfinite(x) else None
