"""Points from a CSV or TSV file (--points), read in chunks so memory stays bounded.

The header row names the columns; a column named after a variable gives its values, any other
column is carried along (to be copied to the output or dropped). A malformed cell spoils only its
own row: the row is reported, the others are computed.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import GradcalcError, UsageError

CHUNK = 25_000   # rows per chunk: about 75 MB of memory at most, whatever the size of the file
BULK = 4_096     # a chunk of this many lines or more is read in bulk by pyarrow, when installed
# The characters of a chunk read in bulk, by delimiter: plain numbers only (no quotes, spaces,
# inf/nan or underscores), where pyarrow's parser and Python's float() accept the same cells and
# give the same float (both round correctly); any other chunk is read cell by cell.
PLAIN = {",": b"0123456789.eE+-,\n", "\t": b"0123456789.eE+-\t\n"}


@dataclass
class Chunk:
    """Consecutive rows of a points file: values per variable, other columns as text."""

    start: int                                  # index of the first row (0-based, data rows)
    size: int
    columns: dict[str, list[float]]
    extras: Mapping[str, Sequence[str]]        # (points.TextColumn when read in bulk)
    invalid: dict[int, str] = field(default_factory=dict)   # row within the chunk -> reason
    texts: Mapping[str, Sequence[str]] | None = None   # the variables' cells as written


class TextColumn(Sequence[str]):
    """A column of cells as written, held by pyarrow (a chunk read in bulk): the CSV writer joins
    the Arrow array as it is; a list of str is made only if something asks for the cells."""

    def __init__(self, array):
        self.arrow = array
        self._cells: list[str] | None = None

    def cells(self) -> list[str]:
        if self._cells is None:
            self._cells = self.arrow.to_pylist()
        return self._cells

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, k):
        return self.cells()[k]

    def __iter__(self):
        return iter(self.cells())


class PointsFile:
    """A points file opened for reading: its header, then its rows chunk by chunk."""

    def __init__(self, stream, where: str, variables, fixed=(), chunk: int = CHUNK,
                 fixed_by: str = "--at"):
        """``stream`` is binary; ``variables`` are the names the program needs, ``fixed`` those
        given a value for every row by --at (a column may not give them too)."""
        self.where = where
        self.chunk = chunk
        self._raw = stream
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        with _reading(where):
            header = self._text.readline()
            while header and not header.strip():
                header = self._text.readline()
        if not header:
            raise UsageError(f"{where} is empty: it needs a header row naming the variables",
                             hint="e.g. x,y then one point per line: 1,2")
        self.delimiter = "\t" if "\t" in header else ","
        names = [n.strip() for n in next(csv.reader([header], delimiter=self.delimiter))]
        seen = set()
        for n in names:
            if not n:
                raise UsageError(f"{where}: the header has an empty column name",
                                 header.rstrip("\r\n"))
            if n in seen:
                raise UsageError(f"{where}: the column {n} appears twice", header.rstrip("\r\n"))
            seen.add(n)
        both = [n for n in names if n in fixed]
        if both:
            raise UsageError(f"{', '.join(both)} is given both by {fixed_by} and by a column of "
                             f"{where}", hint="drop one of them")
        missing = [v for v in variables if v not in seen and v not in fixed]
        if missing:
            raise UsageError(f"{where} has no column for {', '.join(missing)}",
                             header.rstrip("\r\n"),
                             hint=f"its columns: {', '.join(names)}; give a fixed value with "
                                  f"{fixed_by} {missing[0]}=1")
        self.names = names
        self.variables = [n for n in names if n in variables]
        self.extras = [n for n in names if n not in variables]

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has got (for a progress bar)."""
        try:
            return self._raw.tell()
        except OSError:
            return 0

    def chunks(self) -> Iterator[Chunk]:
        """The rows, ``chunk`` at a time. Whole columns are converted at once; a column with a
        malformed cell is converted again cell by cell to find it."""
        width = len(self.names)
        where = [self.names.index(v) for v in self.variables]
        keep = [self.names.index(e) for e in self.extras]
        start = 0
        while True:
            with _reading(self.where):
                lines = list(itertools.islice(self._text, self.chunk))
                if lines and "".join(lines).count('"') % 2:   # a quoted field goes on
                    lines += _close_quote(self._text)
            if not lines:
                return
            invalid: dict[int, str] = {}   # row within the chunk -> reason
            long_line = max(map(len, lines)) > csv.field_size_limit()
            bulk = None if long_line or len(lines) < BULK else self._bulk(lines, start)
            if bulk is not None:
                yield bulk
                start += bulk.size
                continue
            cells = None if long_line else _split(lines, width, self.delimiter)
            if cells is None:   # quotes, blank lines or ragged rows: the csv module decides
                rows = _parse(lines, width, self.delimiter, self.where, invalid)
                if not rows:
                    continue
                cells = [list(c) for c in zip(*rows, strict=True)]
            size = len(cells[0])
            columns = {v: _numbers(v, cells[j], invalid)
                       for v, j in zip(self.variables, where, strict=True)}
            extras = {e: list(cells[j]) for e, j in zip(self.extras, keep, strict=True)}
            texts = {v: cells[j] for v, j in zip(self.variables, where, strict=True)}
            yield Chunk(start, size, columns, extras, dict(sorted(invalid.items())), texts)
            start += size


    def _bulk(self, lines: list[str], start: int) -> Chunk | None:
        """The chunk read by pyarrow's CSV parser when every cell is a plain number and every
        row is full (the common big file), else None: the chunk is then read as before, cell by
        cell, and a bad cell or row is reported as ever. Row numbers stay those of the lines."""
        modules = arrow()
        if modules is None:
            return None
        from .lazy import numpy

        pa, pc, pcsv = modules
        text = "".join(lines)
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError:
            return None
        if data.translate(None, PLAIN[self.delimiter]):   # a character that is no number's
            return None
        try:
            table = pcsv.read_csv(
                pa.BufferReader(data),
                read_options=pcsv.ReadOptions(column_names=self.names, use_threads=False,
                                              block_size=len(data) + 1),
                parse_options=pcsv.ParseOptions(delimiter=self.delimiter, quote_char=False,
                                                ignore_empty_lines=False),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(self.names, pa.string()), null_values=[],
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
            if table.num_rows != len(lines):
                return None
            texts = {n: table.column(n).combine_chunks() for n in self.names}
            numbers = {v: pc.cast(texts[v], pa.float64()).to_numpy() for v in self.variables}
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):   # a row short or long, a cell
            return None                                              # no number: cell by cell
        invalid: dict[int, str] = {}
        columns = {}
        for v, x in numbers.items():
            columns[v] = values = x.tolist()
            if not numpy().isfinite(x).all():   # inf (1e400): its row is malformed
                for k in (k for k, y in enumerate(values) if not math.isfinite(y)):
                    invalid.setdefault(k, f"the value of {v} must be finite, not {values[k]}")
        return Chunk(start, len(lines), columns, {e: TextColumn(texts[e]) for e in self.extras},
                     dict(sorted(invalid.items())),
                     {v: TextColumn(texts[v]) for v in self.variables})


def arrow():
    """(pyarrow, pyarrow.compute, pyarrow.csv) for reading and writing big CSV/TSV files in bulk,
    or None when pyarrow (the optional 'data' extra) is not installed or older than 14: the files
    are then read and written cell by cell, to the same effect. Imported after gradcalc's own
    NumPy (lazy.py), whose math gives the very floats of single-point runs."""
    if not _ARROW:
        from .lazy import numpy

        numpy()
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.csv as pcsv
        except ImportError:
            _ARROW.append(None)
        else:
            _ARROW.append((pa, pc, pcsv) if int(pa.__version__.split(".")[0]) >= 14 else None)
    return _ARROW[0]


_ARROW: list = []


def _split(lines: list[str], width: int, sep: str) -> list[list[str]] | None:
    """The common case in one pass of str.split: no quotes, no blank lines, every row full.
    Columns are every width-th cell. None when the file needs the csv module. Each line's
    separators are counted: a short row next to a long one ('3' then '4,5,6') has the right
    total and would shift cells into the wrong rows."""
    text = "".join(lines)
    if width < 2 or '"' in text:
        return None
    if set(map(str.count, lines, itertools.repeat(sep))) != {width - 1}:
        return None
    text = text.replace("\r\n", "\n").removesuffix("\n")
    if "\r" in text:
        return None
    flat = text.replace("\n", sep).split(sep)
    if len(flat) != len(lines) * width:
        return None
    return [flat[j::width] for j in range(width)]


def _parse(lines: list[str], width: int, sep: str, where: str, invalid: dict) -> list[list[str]]:
    """Rows by the csv module: quoted fields, blank lines dropped, short and long rows noted in
    ``invalid`` and padded or cut to the header's width."""
    reader = csv.reader(lines, delimiter=sep)
    with _reading(where, reader):
        rows = [r for r in reader if r and (len(r) > 1 or r[0].strip())]
    for k, r in enumerate(rows):
        if len(r) != width:
            invalid[k] = f"the row has {len(r)} field{'s' * (len(r) != 1)}; the header has {width}"
            rows[k] = (r + [""] * width)[:width]
    return rows


def _close_quote(text, limit: int = 1000) -> list[str]:
    """Lines up to the one that closes an open quoted field (at most ``limit`` more)."""
    more = []
    for line in itertools.islice(text, limit):
        more.append(line)
        if line.count('"') % 2:
            break
    return more


def _numbers(name: str, texts, invalid: dict) -> list[float]:
    """A column's cells as floats; a malformed or infinite one is NaN, and its row is noted."""
    try:
        values = list(map(float, texts))
    except ValueError:
        values = []
        for k, text in enumerate(texts):
            try:
                values.append(float(text))
            except ValueError:
                values.append(math.nan)
                invalid.setdefault(k, f"the value of {name} is not a number: {text.strip()!r}"
                                   if text.strip() else f"no value for {name}")
    if not all(map(math.isfinite, values)):
        for k, x in enumerate(values):
            if not math.isfinite(x):
                invalid.setdefault(k, f"the value of {name} must be finite, not {x}")
    return values


@contextmanager
def _reading(where: str, reader=None):
    """Reading errors (not UTF-8, a NUL byte, a field over 128 KiB) said as ours."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (it holds the byte "
                         f"{exc.object[exc.start:exc.start + 1]!r})") from None
    except csv.Error as exc:
        line = f", line {reader.line_num + 1}" if reader is not None else ""
        raise UsageError(f"{where}{line}: {exc}") from None


def parse_point(text: str, exact: bool = False, option: str = "--at",
                arrays: bool = False, seed: int = 0, max_elements: int | None = None) -> dict:
    """--at x=-2,y=pi/4: each value is a number or a constant expression (a float, or with
    ``exact`` a SymPy number: 1/3 stays 1/3), or with ``arrays`` an array: a literal
    (x=[1,2],W=[[1,2],[3,4]]), a file (W=@w.npy) or a constructor (W=0.01*randn(3,4), drawn
    with ``seed``), a float64 array of at most ``max_elements`` entries (arrays_io.py,
    docs/tensors.md). ``option`` is what the user typed the point with (--at, --from, --params,
    or a problem file's key), for the messages."""
    from . import arrays_io
    from .syntax import split_top_level

    point: dict = {}
    draws = arrays_io.Draws(seed)
    if ";" in text or "\n" in text:
        at = text.index(";") if ";" in text else text.index("\n")
        raise UsageError(f"{option} entries are separated by commas", text, (at, at + 1),
                         hint=_write(option, "x=1,y=2"))
    for piece, offset in split_top_level(text):
        if not piece.strip():
            raise UsageError(f"empty entry in {option}", text, (offset, offset + 1),
                             hint=_write(option, "x=1,y=2"))
        if "=" not in piece:
            raise UsageError(f"{option} needs name=value, not {piece.strip()!r}", text,
                             (offset, offset + len(piece)), hint=_write(option, "x=1,y=2"))
        name, value = piece.split("=", 1)
        lead = len(name) + 1
        spaced = re.search(r"\s[A-Za-z_]\w*\s*=", value)
        if spaced:   # x=1 y=2: a space where a comma belongs
            at = offset + lead + spaced.start()
            raise UsageError(f"{option} entries are separated by commas", text, (at, at + 1),
                             hint=_write(option, "x=1,y=2"))
        name = name.strip()
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a variable name", text,
                             (offset, offset + lead - 1))
        if name in point:
            raise UsageError(f"{name} is given twice", text, (offset, offset + len(piece)))
        if not value.strip():
            raise UsageError(f"no value for {name}", text, (offset, offset + len(piece)),
                             hint=_write(option, f"{name}=1"))
        if value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
            raise UsageError(f"the value of {name} must be a finite number", text,
                             (offset + lead, offset + len(piece)))
        span = (offset + lead, offset + len(piece))
        try:
            point[name] = _value(name, value, text, span, exact, arrays, draws, max_elements)
        except GradcalcError as exc:
            if exc.source == value and exc.span is not None:
                span = (exc.span[0] + offset + lead, exc.span[1] + offset + lead)
                raise UsageError(exc.message, text, span, exc.hint) from None
            raise
    return point


def _value(name: str, value: str, text: str, span: tuple[int, int], exact: bool, arrays: bool,
           draws, max_elements: int | None):
    """One value of a point (``span`` is where it is in ``text``): a number (with ``exact`` a
    SymPy number), or with ``arrays`` an array: a literal, a file or a constructor."""
    from . import arrays_io
    from .function import Function

    if arrays_io.special(value):   # W=@w.npy, W=randn(3,4): made there, arrays only
        if not arrays or exact:
            raise _not_here(name, text, span, exact)
        return arrays_io.array_input(name, value, draws, max_elements)
    f = Function(value)
    if f.variables:
        raise UsageError(f"the value of {name} may not use variables "
                         f"({', '.join(f.variables)})", text, span)
    if f.graph.tensor and (exact or not arrays):
        raise _not_here(name, text, span, exact)
    if exact:
        return f.symbolic(wrt=[]).expression
    x = f()
    if f.graph.tensor:
        arrays_io.check_size(name, getattr(x, "shape", ()), max_elements, value)
    return x


def _not_here(name: str, text: str, span: tuple[int, int], exact: bool) -> UsageError:
    """An array where only numbers may go (exact values, several points, a problem file...)."""
    if exact:
        return UsageError(f"exact values are not available for arrays yet ({name})", text, span)
    return UsageError(f"{name} is an array: arrays work only for the value and gradient at one "
                      "point so far", text, span,
                      hint="arrays work in the gradient command at one --at point, with no "
                           "other derivative option")


def typed(option: str, example: str) -> str:
    """``example`` as the user types it with ``option``: --at x=1 on the command line,
    at = "x=1" as a problem file's key."""
    if option.startswith("-"):
        return f"{option} {example}"
    return f'{option} = "{example}"'


def every_variable(variables, point: dict, text: str, option: str = "--at") -> None:
    """A variable the point leaves out, said in the terms of the option that gave the point
    (--from, --at, a problem file's at)."""
    missing = [v for v in variables if v not in point]
    if missing and all(k in variables for k in point):   # an unknown name is the engine's to say
        example = ",".join([text.strip().rstrip(","), *(f"{v}=1" for v in missing)])
        if not option.startswith("-"):
            example = example.replace(",", ", ")
        raise UsageError(f"{option} gives no value for {', '.join(missing)}",
                         hint=f"give every variable a value, e.g. {typed(option, example)}")


def _write(option: str, example: str) -> str:
    return f"write {typed(option, example)}"
