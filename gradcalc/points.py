"""Points from a CSV or TSV file (--points), read in chunks so memory stays bounded.

The header row names the columns; a column named after a variable gives its values, any other
column is carried along (to be copied to the output or dropped). A malformed cell spoils only its
own row: the row is reported, the others are computed.

A big file (issue 18) is read a block of text at a time, and a chunk of plain numbers (digits,
. e E + - and the delimiter only, every row full) is split and converted in bulk, by gradcalc's
C extension (floattext.py) or, where it is not built, by pyarrow's CSV reader when pyarrow is
installed: the same floats, cells and rows as cell by cell (tests/test_points_bulk.py). Its
columns stay float64 arrays (``Floats``), its cells the text of the chunk (``TextColumn``), until
something asks for lists. Any other chunk, or every chunk with neither, is read cell by cell by
the csv module's rules.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from . import floattext
from .errors import GradcalcError, UsageError
from .records import field, record

CHUNK = 25_000   # rows per chunk: about 75 MB of memory at most, whatever the size of the file
BULK = 4_096     # a chunk of this many lines or more is read in bulk by pyarrow, when installed,
WORTH = 20_000   # once the file is that big (a chunk that long or full): the import costs 0.2 s
# The characters of a chunk read in bulk, by delimiter: plain numbers only (no quotes, spaces,
# inf/nan or underscores), where pyarrow's parser and Python's float() accept the same cells and
# give the same float (both round correctly); any other chunk is read cell by cell.
PLAIN = {",": b"0123456789.eE+-,\n", "\t": b"0123456789.eE+-\t\n"}


@record
class Chunk:
    """Consecutive rows of a points file: values per variable, other columns as text."""

    start: int                                  # index of the first row (0-based, data rows)
    size: int
    columns: dict[str, Sequence[float]]   # (points.Floats when read in bulk)
    extras: Mapping[str, Sequence[str]]        # (points.TextColumn when read in bulk)
    invalid: dict[int, str] = field(default_factory=dict)   # row within the chunk -> reason
    texts: Mapping[str, Sequence[str]] | None = None   # the variables' cells as written


class TextColumn(Sequence[str]):
    """Column ``index`` of a chunk read in bulk, its cells as written: the CSV writer copies
    them as they are in the chunk's text (or joins them as a pyarrow array); a list of str is
    made only if something asks for the cells."""

    def __init__(self, block: _Block, position: int):
        self.block = block
        self.position = position           # the column's place in the file
        self._cells: list[str] | None = None

    @property
    def arrow(self):
        return self.block.column(self.position)

    def cells(self) -> list[str]:
        if self._cells is None:
            self._cells = self.block.cells(self.position)
        return self._cells

    def __len__(self) -> int:
        return self.block.rows

    def __getitem__(self, k):
        if self._cells is None and isinstance(k, int):   # one cell (a row written otherwise)
            return self.block.cell(k, self.position)
        return self.cells()[k]

    def __iter__(self):
        return iter(self.cells())


class Floats(Sequence[float]):
    """A column of floats kept as the float64 array it is (a chunk read in bulk, a batch's
    values and partials): NumPy takes the array as it is (``__array__``), and a list of Python
    floats is made only if something asks for every cell (one cell is ``array.item``: a Python
    float, never a NumPy scalar, whose repr is not the float's)."""

    __slots__ = ("array", "_cells")

    def __init__(self, array):
        self.array = array
        self._cells: list[float] | None = None

    def cells(self) -> list[float]:
        if self._cells is None:
            self._cells = self.array.tolist()
        return self._cells

    def __array__(self, dtype=None, copy=None):
        x = self.array if dtype is None else self.array.astype(dtype, copy=False)
        return x.copy() if copy else x

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, k):
        if self._cells is None and isinstance(k, int):
            return self.array.item(k)
        return self.cells()[k]

    def __iter__(self):
        return iter(self.cells())

    def tolist(self) -> list[float]:
        return list(self.cells())

    def __eq__(self, other):
        if isinstance(other, Floats):
            other = other.cells()
        return self.cells() == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.cells())


class PointsFile:
    """A points file opened for reading: its header, then its rows chunk by chunk."""

    def __init__(self, stream, where: str, variables, fixed=(), chunk: int = CHUNK,
                 fixed_by: str = "--at"):
        """``stream`` is binary; ``variables`` are the names the program needs, ``fixed`` those
        given a value for every row by --at (a column may not give them too)."""
        self.where = where
        self.chunk = chunk
        self._raw = stream
        self._checked = _Checked(stream)
        checked: Any = self._checked
        self._text = io.TextIOWrapper(checked, encoding="utf-8-sig",
                                      errors="surrogateescape", newline="")
        with _reading(where):
            header = self._text.readline()
            self._consumed = _encoded(header)
            self._lines = 1   # lines read so far (blank ones, then the header): for messages
            while header and not header.strip():
                header = self._text.readline()
                self._consumed += _encoded(header)
                self._lines += 1
        self._utf8()
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
        """The rows, ``chunk`` lines at a time. Whole columns are converted at once; a column
        with a malformed cell is converted again cell by cell to find it."""
        width = len(self.names)
        where = [self.names.index(v) for v in self.variables]
        keep = [self.names.index(e) for e in self.extras]
        text = _Text(self._text)
        start = 0
        while True:
            with _reading(self.where):
                block, count = text.take(self.chunk)
                newlines = text.newlines
                if '"' in block and block.count('"') % 2:   # a quoted field goes on
                    block += text.close_quote()
                    newlines = None
            if not block:
                return
            before, self._lines = self._lines, self._lines + _count_lines(block)
            self._consumed += _encoded(block)
            self._utf8()
            worth = count >= min(self.chunk, WORTH) or bool(_ARROW and _ARROW[0])
            bulk = self._bulk(block, start, newlines) if count >= BULK and worth else None
            if bulk is not None:
                yield bulk
                start += bulk.size
                continue
            lines = _lines(block)
            invalid: dict[int, str] = {}   # row within the chunk -> reason
            long_line = max(map(len, lines)) > csv.field_size_limit()
            cells = None if long_line else _split(lines, width, self.delimiter)
            if cells is None:   # quotes, blank lines or ragged rows: the csv module decides
                rows = _parse(lines, width, self.delimiter, self.where, invalid, before)
                if not rows:
                    continue
                cells = [list(c) for c in zip(*rows, strict=True)]
            size = len(cells[0])
            columns: dict[str, Sequence[float]] = {
                v: _numbers(v, cells[j], invalid)
                for v, j in zip(self.variables, where, strict=True)}
            extras = {e: list(cells[j]) for e, j in zip(self.extras, keep, strict=True)}
            texts = {v: cells[j] for v, j in zip(self.variables, where, strict=True)}
            yield Chunk(start, size, columns, extras, dict(sorted(invalid.items())), texts)
            start += size

    def _utf8(self) -> None:
        """A byte that is not UTF-8 said as ours when the reading has come to it, as a strict
        TextIOWrapper says it: decoding CHUNK_SIZE bytes at a time, from the first, so the rows
        before it are computed as ever (the file is read further ahead than that, in bulk)."""
        bad = self._checked.bad
        if bad is None:
            return
        block = getattr(self._text, "_CHUNK_SIZE", 8192)
        if bad[0] // block <= (self._checked.bom + self._consumed - 1) // block:
            raise UsageError(f"{self.where} is not UTF-8 text (it holds the byte {bad[1]!r})")

    def _bulk(self, text: str, start: int, newlines=None) -> Chunk | None:
        """A chunk whose every cell is a plain number and every row full (the common big file),
        split and converted by the C extension (floattext.py) or else pyarrow's CSV reader (both
        give float()'s own floats); else None, and the chunk is read as before, cell by cell, a
        bad cell or row reported as ever. Row numbers stay those of the lines. ``newlines``:
        where the text's \n are, when the caller has found them."""
        if floattext.native() is None and arrow() is None:
            return None   # (pyarrow is imported only where the C extension is not built)
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            newlines = None
            if "\r" in text:
                return None
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError:
            return None
        if data.translate(None, PLAIN[self.delimiter]) or len(data) >= 2 ** 31 - 2:
            return None   # a character that is no number's, or past pyarrow's 2 GiB of text
        block = _Block.read(data, self.names, self.variables, self.delimiter,
                            csv.field_size_limit(), newlines)
        if block is None:
            return None
        np = _numpy()
        invalid: dict[int, str] = {}
        columns: dict[str, Sequence[float]] = {}
        for v in self.variables:
            x = block.floats[v]
            columns[v] = values = Floats(x)
            if not np.isfinite(x).all():   # inf (1e400): its row is malformed
                for k in np.flatnonzero(~np.isfinite(x)).tolist():
                    invalid.setdefault(k, f"the value of {v} must be finite, not {values[k]}")
        return Chunk(start, block.rows, columns,
                     {e: TextColumn(block, self.names.index(e)) for e in self.extras},
                     dict(sorted(invalid.items())),
                     {v: TextColumn(block, self.names.index(v)) for v in self.variables})


class _Block:
    """A chunk of plain-number rows (ASCII, no quotes, \n line ends, every row full), read by
    the C extension of floattext.py or by pyarrow's CSV reader: the variables' columns as
    float64 arrays; the cells as written (a string array a column) only if something asks for
    them."""

    def __init__(self, data: bytes, newlines, names: list[str], delimiter: str, floats: dict,
                 spans):
        self.data = data
        self.newlines = newlines          # where each row's \n is (the last may have none)
        self.names = names
        self.delimiter = delimiter
        self.width = len(names)
        self.rows = len(newlines) + (not data.endswith(b"\n"))
        self.floats = floats              # variable -> float64 array
        self._spans = spans               # where each row starts and ends: (int64, int64)
        self._strings: Any = None   # every column as text, read when first asked for

    @classmethod
    def read(cls, data: bytes, names: list[str], variables: list[str], delimiter: str,
             limit: int, newlines=None):
        """The rows of ``data`` (plain-number characters only, \n line ends), or None unless
        every row has as many cells as the header names, every variable's cell is a number, no
        line is blank (the csv module skips those) and none is longer than ``limit`` (or
        neither the C extension nor pyarrow is there to read them)."""
        np = _numpy()
        if newlines is None:
            newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
        tail = not data.endswith(b"\n")   # the file's last line, with no \n
        edges = np.empty(len(newlines) + 1 + tail, np.int64)
        edges[0] = -1
        edges[1:len(newlines) + 1] = newlines
        if tail:
            edges[-1] = len(data)
        lengths = np.diff(edges)   # each line with its \n
        if not len(lengths) or lengths.min() <= 1 or lengths.max() > limit:
            return None   # a blank line, or the csv module's limit decides
        spans = edges[:-1] + 1, edges[1:]
        ft = floattext.native()
        if ft is not None:   # float()'s floats, by C
            floats = {v: np.empty(len(lengths)) for v in variables}
            if not ft.parse(data, *spans, ord(delimiter), len(names),
                            [names.index(v) for v in variables], list(floats.values())):
                return None
            return cls(data, newlines, names, delimiter, floats, spans)
        a = arrow()
        if a is None:
            return None
        table = a.csv(data, names, variables, delimiter)
        if table is None or table.num_rows != len(lengths):
            return None
        floats = {}
        for v in variables:
            column = table.column(v)
            column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            if column.null_count:
                return None
            floats[v] = a.numbers(column)
        return cls(data, newlines, names, delimiter, floats, spans)

    def cell(self, k: int, j: int) -> str:
        """The cell of row ``k``, column ``j``, as written."""
        if not -self.rows <= k < self.rows:
            raise IndexError(k)
        k %= self.rows
        begin = int(self.newlines[k - 1]) + 1 if k else 0
        end = int(self.newlines[k]) if k < len(self.newlines) else len(self.data)
        return self.data[begin:end].decode("ascii").split(self.delimiter)[j]

    def cells(self, j: int) -> list[str]:
        """Column ``j``'s cells as written, as a list."""
        text = self.data.decode("ascii")
        lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
        return [line.split(self.delimiter)[j] for line in lines]

    def column(self, j: int):
        """Column ``j``'s cells as written, as a pyarrow string array (pyarrow installed)."""
        if self._strings is None:
            self._strings = _pyarrow().csv(self.data, self.names, [], self.delimiter)
        column = self._strings.column(j)
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()

    def spans(self):
        """Where each row starts and ends (before its line end) in ``data``: int64 arrays."""
        return self._spans

    def lines(self):
        """Each row as written (without its line end), as a pyarrow string array: what the CSV
        output's row starts with when it keeps every column of the file, in order."""
        pa, np = _pyarrow().pa, _numpy()
        data = self.data.replace(b"\n", b"")
        offsets = np.empty(self.rows + 1, np.int32)
        offsets[0], offsets[1:len(self.newlines) + 1] = 0, self.newlines - np.arange(
            len(self.newlines))
        offsets[-1] = len(data)   # (the last line may have no \n)
        return pa.StringArray.from_buffers(self.rows, pa.py_buffer(offsets), pa.py_buffer(data))


class _Checked:
    """A binary stream read through, its bytes checked as UTF-8 on the way: the first one that is
    not is noted (its offset and the byte), for PointsFile to say when its reading gets there.
    (The text is decoded with surrogateescape, so the read-ahead never raises.)"""

    def __init__(self, stream):
        self._stream = stream
        self._read = getattr(stream, "read1", stream.read)
        self._kept = b""       # the start of a character cut by the end of a read
        self.offset = 0        # bytes read so far
        self.bom = 0           # 3 when the file starts with a UTF-8 byte order mark
        self.bad: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def close(self) -> None:
        self._stream.close()

    def flush(self) -> None:
        pass

    def read1(self, size: int = -1) -> bytes:
        data = self._read(size)
        if self.offset == 0:
            self.bom = 3 * data.startswith(codecs.BOM_UTF8)
        if self.bad is None and not (data.isascii() and not self._kept):
            whole = self._kept + data
            try:
                _text, used = codecs.utf_8_decode(whole, "strict", not data)
                self._kept = whole[used:]
            except UnicodeDecodeError as exc:
                self.bad = (self.offset - len(self._kept) + exc.start,
                            whole[exc.start:exc.start + 1])
        self.offset += len(data)
        return data

    read = read1


def _encoded(text: str) -> int:
    """How many bytes ``text`` was in the file (a byte not UTF-8 was one surrogate)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


class _Text:
    """The rest of a points file (after its header) read a block at a time and handed out a
    number of lines at a time: a line ends at \n, \r\n or a lone \r, as io's universal newlines
    end it (the stream is a TextIOWrapper with newline="")."""

    BLOCK = 1 << 20   # characters read at once, then up to the end of the line

    def __init__(self, stream):
        self._stream = stream
        self._pending = ""    # whole lines read ahead (at the end of the file, maybe not whole)
        self._count = 0       # how many lines _pending holds, each counted at its end
        self._end = False
        self._ends: list | None = []   # where _pending's \n are, piece by piece (None: unknown)
        self.newlines = None  # where the \n of the text last taken are, when known

    def take(self, n: int) -> tuple[str, int]:
        """The next ``n`` lines (all that are left, if fewer) as one text, and how many."""
        while self._count < n and not self._end:
            more = self._stream.read(self.BLOCK)
            if more:
                more += self._stream.readline()
            else:
                self._end = True
            ends = _newlines(more) if self._ends is not None else None
            if ends is None or self._ends is None:
                self._ends = None
                self._count += _count_lines(more)
            else:   # each piece looked at once, as it comes (each line ends at a \n)
                self._ends = [*self._ends, ends + len(self._pending)]
                self._count += len(ends)
            self._pending += more
        pending = self._pending
        found = None
        if self._ends is not None:
            np = _numpy()
            found = self._ends[0] if len(self._ends) == 1 else \
                np.concatenate(self._ends) if self._ends else np.empty(0, np.int64)
        self.newlines = None
        if self._count < n:
            text, self._pending, self._count, self._ends = pending, "", 0, []
            self.newlines = found
            return text, _count_lines(text) + (bool(text) and text[-1] not in "\r\n")
        if found is not None:   # where the n-th line ends (at a \n), found by NumPy
            cut = int(found[n - 1]) + 1
            text, self._pending = pending[:cut], pending[cut:]
            self.newlines, self._ends = found[:n], [found[n:] - cut]
        else:
            if "\r" in pending and pending.count("\r") != pending.count("\r\n"):   # a lone \r
                lines = _lines(pending)
                text, self._pending = "".join(lines[:n]), "".join(lines[n:])
            else:
                rest = pending.split("\n", n)[n]
                text, self._pending = pending[:len(pending) - len(rest)], rest
            ends = _newlines(self._pending)
            self._ends = None if ends is None else [ends]
        self._count -= n
        return text, n

    def close_quote(self, limit: int = 1000) -> str:
        """The lines up to the one that closes an open quoted field (at most ``limit`` more)."""
        lines = _lines(self.take(limit)[0])
        for k, line in enumerate(lines):
            if line.count('"') % 2:
                rest = "".join(lines[k + 1:])
                self._pending = rest + self._pending
                self._ends = None
                self._count += _count_lines(rest)
                return "".join(lines[:k + 1])
        return "".join(lines)


def _newlines(text: str):
    """Where the \n of ``text`` are (a NumPy array), or None unless it is ASCII with no lone
    \r (a line may end at \r\n)."""
    if not text.isascii() or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    np = _numpy()
    return np.flatnonzero(np.frombuffer(text.encode("ascii"), np.uint8) == 10)


def _count_lines(text: str) -> int:
    """How many line ends ``text`` holds (\n, \r\n or a lone \r)."""
    if "\r" not in text:
        return text.count("\n")
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _lines(text: str) -> list[str]:
    """``text`` cut into lines as io's universal newlines cut them, each with its end."""
    return io.StringIO(text, newline="").readlines()


def _numpy():
    from .lazy import numpy

    return numpy()


class Arrow:
    """pyarrow (its compute functions) and NumPy, for reading and writing big CSV/TSV files in
    bulk. Arrays are made from NumPy buffers here, never by pa.array or pa.scalar, which import
    pandas when it is installed (half a second)."""

    def __init__(self, pa, pc, np):
        self.pa, self.pc, self.np = pa, pc, np

    def floats(self, x):
        """A float64 array over NumPy's ``x`` (no copy)."""
        x = self.np.ascontiguousarray(x, dtype=self.np.float64)
        return self.pa.Array.from_buffers(self.pa.float64(), len(x), [None, self.pa.py_buffer(x)])

    def numbers(self, array):
        """NumPy's view of a float64 array with no nulls."""
        return self.np.frombuffer(array.buffers()[1], self.np.float64, len(array), array.offset * 8)

    def mask(self, x):
        """A boolean array from NumPy's ``x``."""
        bits = self.np.packbits(x, bitorder="little")
        return self.pa.Array.from_buffers(self.pa.bool_(), len(x), [None, self.pa.py_buffer(bits)])

    def csv(self, data: bytes, names: list[str], floats: list[str], delimiter: str):
        """``data`` (no header, no quotes) read by pyarrow's CSV reader, in this thread: the
        columns ``floats`` as float64 (no cell may be empty or no number), the others as text;
        None if a row has more or fewer cells than ``names``, or a float's cell is no number."""
        from pyarrow import csv as pcsv

        pa = self.pa
        read = pcsv.ReadOptions(column_names=names, use_threads=False,
                                block_size=max(1 << 20, len(data) + 1))
        parse = pcsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                  escape_char=False, newlines_in_values=False,
                                  ignore_empty_lines=False)
        convert = pcsv.ConvertOptions(
            column_types={n: pa.float64() if n in floats else pa.string() for n in names},
            null_values=[], true_values=[], false_values=[], strings_can_be_null=False,
            quoted_strings_can_be_null=False, check_utf8=False)
        try:
            return pcsv.read_csv(pa.py_buffer(data), read, parse, convert)
        except pa.ArrowInvalid:
            return None

    def strings(self, texts: list[str]):
        """A string array of ``texts``."""
        data = [t.encode("utf-8", "surrogateescape") for t in texts]
        offsets = self.np.zeros(len(data) + 1, self.np.int64)
        self.np.cumsum(list(map(len, data)), out=offsets[1:])
        return self.pa.StringArray.from_buffers(len(data), self.pa.py_buffer(
            offsets.astype(self.np.int32)), self.pa.py_buffer(b"".join(data)))

    def text(self, text: str):
        """A string scalar."""
        return self.strings([text])[0]

    def spans(self, strings):
        """A string array's data buffer, and where each string starts and ends in it (int64)."""
        offsets = self.np.frombuffer(strings.buffers()[1], self.np.int32)[
            strings.offset:strings.offset + len(strings) + 1].astype(self.np.int64)
        return strings.buffers()[2] or b"", offsets[:-1], offsets[1:]


def _pyarrow() -> Arrow:
    """arrow(), where the caller has made sure it is there."""
    a = arrow()
    if a is None:
        raise RuntimeError("pyarrow is not installed")
    return a


def arrow() -> Arrow | None:
    """pyarrow for reading and writing big CSV/TSV files in bulk, or None when pyarrow (the
    optional 'data' extra) is not installed or older than 14: the files are then read and written
    cell by cell, to the same effect. Imported after gradcalc's own NumPy (lazy.py), whose math
    gives the very floats of single-point runs."""
    if not _ARROW:
        np = _numpy()
        try:
            import pyarrow as pa
            from pyarrow import _compute
        except ImportError:
            _ARROW.append(None)
        else:
            new = int(pa.__version__.split(".")[0]) >= 14
            _ARROW.append(Arrow(pa, _Compute(_compute), np) if new else None)
    return _ARROW[0]


class _Compute:
    """The few pyarrow compute functions used here, called by name through pyarrow's own
    function registry (``pyarrow._compute``): importing ``pyarrow.compute``, which makes a
    Python wrapper for each of its hundreds of functions, costs 60 ms of start-up."""

    def __init__(self, compute):
        self._compute = compute

    def cast(self, array, target):
        return self._compute.call_function("cast", [array], self._compute.CastOptions(target))

    def binary_join_element_wise(self, *strings):
        return self._compute.call_function("binary_join_element_wise", list(strings))

    def replace_with_mask(self, array, mask, replacements):
        return self._compute.call_function("replace_with_mask", [array, mask, replacements])


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


def _parse(lines: list[str], width: int, sep: str, where: str, invalid: dict,
           before: int = 0) -> list[list[str]]:
    """Rows by the csv module: quoted fields, blank lines dropped, short and long rows noted in
    ``invalid`` and padded or cut to the header's width. ``before``: the file's lines before
    ``lines`` (for the line number of a reading error)."""
    reader = csv.reader(lines, delimiter=sep)
    with _reading(where, reader, before):
        rows = [r for r in reader if r and (len(r) > 1 or r[0].strip())]
    for k, r in enumerate(rows):
        if len(r) != width:
            invalid[k] = f"the row has {len(r)} field{'s' * (len(r) != 1)}; the header has {width}"
            rows[k] = (r + [""] * width)[:width]
    return rows


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
def _reading(where: str, reader=None, before: int = 0):
    """Reading errors (not UTF-8, a NUL byte, a field over 128 KiB) said as ours; with the csv
    ``reader``, at its line (after ``before`` lines of the file)."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (it holds the byte "
                         f"{exc.object[exc.start:exc.start + 1]!r})") from None
    except csv.Error as exc:
        line = f", line {before + reader.line_num}" if reader is not None else ""
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
