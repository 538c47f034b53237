"""Many points out: one row per point, written chunk by chunk as the points are computed.

Machine formats carry every float at full precision (the shortest repr that reads back to the same
float) and a failed point's reason in place of its numbers:

- csv / tsv: a header (the point's variables, any kept columns, ``value``, ``d<out>/d<var>``...,
  ``error``), then one row per point;
- jsonl: one object per line: ``{"point", "value", "gradient", "error", "check"}`` (and
  ``"columns"`` for kept columns);
- json: the same objects in one array.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field

from ..numfmt import fmt


@dataclass
class Rows:
    """A chunk of computed points, as plain lists (indices are local to the chunk)."""

    start: int                          # index of the first point overall (0-based)
    points: dict[str, list[float]]
    value: list[float]
    gradient: dict[str, list[float]]
    errors: dict[int, str] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[int, object] = field(default_factory=dict)   # sampled points -> Check
    texts: dict[str, list[str]] | None = None   # the points as written in a file, for csv

    def __len__(self) -> int:
        return len(self.value)


def _check_json(check) -> dict:
    return {"method": check.method, "status": check.status,
            "partials": {p.name: {"status": p.status, "value": p.reference}
                         for p in check.partials}}


class RowWriter:
    """Writes chunks of rows in one format through ``echo`` (click.echo's signature)."""

    def __init__(self, fmt_name: str, echo, output: str, variables, extras, wrt,
                 digits: int | None = None, console=None, title: str = ""):
        self.format = fmt_name
        self.echo = echo
        self.output = output
        self.variables = list(variables)
        self.extras = list(extras)
        self.wrt = list(wrt)
        self.digits = digits
        self.console = console
        self.title = title
        self.count = 0
        if fmt_name in ("csv", "tsv"):
            self._line = _LineWriter("," if fmt_name == "csv" else "\t")
            echo(self._line([*self.variables, *self.extras, "value",
                             *(f"d{output}/d{w}" for w in self.wrt), "error"]))
        elif fmt_name == "json":
            echo("[", nl=False)

    def write(self, rows: Rows) -> None:
        getattr(self, f"_{self.format}")(rows)
        self.count += len(rows)

    def close(self) -> None:
        if self.format == "json":
            self.echo("\n]")

    # --- formats ------------------------------------------------------------------------------
    def _csv(self, rows: Rows) -> None:
        # Column by column: numbers never need quoting, so most lines are a plain join; a row
        # with an error or a text cell that needs quotes goes through the csv module.
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
            cells = [texts[v][k] if v in texts else _cell(rows.points[v][k])
                     for v in self.variables]
            cells += [rows.extras[e][k] for e in self.extras]
            error = rows.errors.get(k)
            if error is None:
                cells += [repr(rows.value[k]), *(repr(rows.gradient[w][k]) for w in self.wrt),
                          ""]
            else:
                cells += [""] * (1 + len(self.wrt)) + [error]
            lines[k] = self._line(cells)
        self.echo("\n".join(lines))

    _tsv = _csv

    def _objects(self, rows: Rows):
        for k in range(len(rows)):
            error = rows.errors.get(k)
            obj = {"point": {v: _number(rows.points[v][k]) for v in self.variables}}
            if self.extras:
                obj["columns"] = {e: rows.extras[e][k] for e in self.extras}
            obj["value"] = None if error else rows.value[k]
            obj["gradient"] = None if error else {w: rows.gradient[w][k] for w in self.wrt}
            obj["error"] = error
            check = rows.checks.get(k)
            obj["check"] = _check_json(check) if check is not None else None
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
        from rich import box
        from rich.table import Table

        digits = self.digits or 6
        first, last = rows.start + 1, rows.start + len(rows)
        title = self.title if (first, last) == (1, len(rows)) and not self.count else (
            f"{self.title}, points {first}–{last}")
        table = Table(box=box.SIMPLE_HEAVY, title=title, title_justify="left")
        table.add_column("#", justify="right", style="dim")
        for v in self.variables:
            table.add_column(v, justify="right")
        for e in self.extras:
            table.add_column(e)
        table.add_column(self.output, justify="right", style="bold")
        for w in self.wrt:
            table.add_column(f"∂{self.output}/∂{w}", justify="right")
        if rows.errors:
            table.add_column("error", style="red")
        for k in range(len(rows)):
            cells = [str(rows.start + k + 1), *(_cell(rows.points[v][k], digits)
                                                for v in self.variables),
                     *(rows.extras[e][k] for e in self.extras)]
            error = rows.errors.get(k)
            if error:
                cells += [""] * (1 + len(self.wrt)) + [error]
            else:
                cells.append(fmt(rows.value[k], digits))
                cells += [fmt(rows.gradient[w][k], digits) for w in self.wrt]
            table.add_row(*cells)
        self.console.print(table)


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
