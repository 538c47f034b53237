"""Points in Parquet and Arrow IPC (Feather) files: --points FILE.parquet read a batch at a time,
--save-points FILE.parquet written a chunk at a time.

pyarrow is an optional extra (``pip install 'gradcalc[data]'``), imported here only, and only once
such a file is named. A columnar file is data, never code: only the columns gradcalc needs are
decoded, and each must be numeric (integers, floats, booleans, all read as float64); a column of
text, binary bytes (a pickled Python object is such bytes), categories (dictionary encoding),
nested values (lists, structs, maps) or an extension type is refused by name before any value is
read. Nothing is ever unpickled, and no Python object is made from a file's metadata.

Rows keep the CSV path's reporting: a missing (null) or non-finite value spoils its own row only
(the row says why; the exit code is 2), and rows are numbered from 1, data rows only, in the file.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator

from .errors import UsageError
from .lazy import numpy
from .points import CHUNK, Chunk
from .records import record

PARQUET = (".parquet", ".pq")
ARROW = (".arrow", ".feather", ".ipc")
HINT = "pip install 'gradcalc[data]'"
MIN_PYARROW = 14     # 14.0.1 stopped unpickling the extension type that could run code


def kind(name: str) -> str | None:
    """'parquet', 'arrow' or None (a CSV/TSV file), from the name's extension."""
    lower = name.lower().rstrip("/")
    if lower.endswith(PARQUET):
        return "parquet"
    if lower.endswith(ARROW):
        return "arrow"
    return None


def is_columnar(name: str) -> bool:
    """Whether --points NAME names Parquet/Arrow data: such a file or a glob of them."""
    return name != "-" and kind(name) is not None


def expand(name: str) -> list[str]:
    """The files --points NAME stands for: the file itself, or a glob's matches in name
    order (the shell need not expand it: quoted, it also reaches a Dask cluster's workers as
    written)."""
    if os.path.exists(name) or not glob.has_magic(name):
        return [name]
    found = sorted(glob.glob(name))
    if not found:
        raise UsageError(f"no file matches {name}")
    odd = [f for f in found if kind(f) is None]
    if odd:
        raise UsageError(f"{name} matches {odd[0]}, which is not a .parquet, .arrow or "
                         ".feather file", hint="a glob of --points names Parquet or Arrow files")
    return found


def pyarrow(what: str):
    """pyarrow, imported now (after gradcalc's own NumPy, whose math gives the very floats of
    single-point runs); without it, a message saying how to install it."""
    numpy()
    try:
        import pyarrow as pa
        import pyarrow.ipc  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UsageError(f"{what} needs pyarrow, which is not installed", hint=HINT) from None
    if int(pa.__version__.split(".")[0]) < MIN_PYARROW:
        raise UsageError(f"{what} needs pyarrow {MIN_PYARROW} or newer (this is "
                         f"{pa.__version__})", hint=HINT)
    return pa


# --- reading ----------------------------------------------------------------------------------

def _refusal(t, pa) -> str | None:
    """Why a column of Arrow type ``t`` is not read (None: it is numeric)."""
    types = pa.types
    if isinstance(t, pa.ExtensionType) or t.id == getattr(pa.lib, "Type_EXTENSION", -1):
        return f"values of the extension type {getattr(t, 'extension_name', t)}"
    if types.is_integer(t) or types.is_floating(t) or types.is_boolean(t):
        return None
    if types.is_dictionary(t):
        return "dictionary-encoded values (categories)"
    if (types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t)
            or types.is_struct(t) or types.is_map(t) or types.is_union(t)
            or getattr(types, "is_list_view", lambda _t: False)(t)):
        return f"nested values ({t})"
    if types.is_string(t) or types.is_large_string(t) or getattr(types, "is_string_view",
                                                                   lambda _t: False)(t):
        return "text"
    if types.is_binary(t) or types.is_large_binary(t) or types.is_fixed_size_binary(t) or \
            getattr(types, "is_binary_view", lambda _t: False)(t):
        return "binary data (bytes, such as pickled Python objects)"
    if types.is_decimal(t):
        return f"decimal numbers ({t}); cast the column to float64 first"
    if types.is_null(t):
        return "no values at all (its type is null)"
    return f"values of type {t}"


@record(frozen=True)
class Part:
    """Consecutive rows of one file, read and computed as one piece (a Dask partition): the
    file's row groups (Parquet) or record batches (Arrow) [first, stop), whose first row is the
    file's row ``row`` (0-based)."""

    path: str
    first: int
    stop: int
    row: int
    rows: int


class Source:
    """One Parquet or Arrow IPC file opened for reading: its schema, then batches of rows of the
    columns asked for. Nothing but the footer (Parquet) or the schema (Arrow) is read here."""

    def __init__(self, path: str):
        self.path = path
        self.kind = kind(path) or "parquet"
        pa = pyarrow(f"reading {path}")
        self._pa = pa
        try:
            if self.kind == "parquet":
                self._file = pa.parquet.ParquetFile(path)
                meta = self._file.metadata
                self.pieces = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
                self.schema = self._file.schema_arrow
            else:
                self._file = _open_ipc(pa, path)
                self.pieces = [self._file.get_batch(i).num_rows
                               for i in range(self._file.num_record_batches)]
                self.schema = self._file.schema
        except FileNotFoundError:
            raise UsageError(f"cannot read {path}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"cannot read {path}: it is a directory") from None
        except PermissionError:
            raise UsageError(f"cannot read {path}: permission denied") from None
        except (pa.ArrowException, OSError) as exc:
            what = "Parquet" if self.kind == "parquet" else "Arrow IPC (Feather)"
            raise UsageError(f"{path} is not a {what} file ({_short(exc)})") from None
        self.names = list(self.schema.names)
        self.rows = sum(self.pieces)

    def check(self, columns) -> None:
        """Refuse the file if a column gradcalc would read is not numeric (by name, before any
        value is read)."""
        for name in columns:
            field = self.schema.field(name)
            tag = (field.metadata or {}).get(b"ARROW:extension:name")
            # an extension type pyarrow does not know arrives as its storage, tagged: refused too
            why = (f"values of the extension type {tag.decode('utf-8', 'replace')[:100]}"
                   if tag is not None else _refusal(field.type, self._pa))
            if why is not None:
                raise UsageError(f"{self.path}: the column {name} holds {why}; gradcalc reads "
                                 "only numeric columns (integers, floats, booleans)",
                                 hint="a points file's variables are numbers, one row per point")

    def parts(self, rows: int) -> list[Part]:
        """The file as pieces of about ``rows`` rows at most, cut between row groups (a row
        group bigger than that is a piece of its own); an empty file is one empty piece."""
        parts, first, row, size = [], 0, 0, 0
        for i, n in enumerate(self.pieces):
            if size and size + n > rows:
                parts.append(Part(self.path, first, i, row, size))
                first, row, size = i, row + size, 0
            size += n
        parts.append(Part(self.path, first, len(self.pieces), row, size))
        return parts

    def batches(self, columns: list[str], size: int, first: int = 0,
                stop: int | None = None) -> Iterator:
        """Record batches of at most ``size`` rows of ``columns``, from row group (or record
        batch) ``first`` to ``stop``, streamed: one row group in memory at a time."""
        stop = len(self.pieces) if stop is None else stop
        if first >= stop:
            return
        pa = self._pa
        try:
            if self.kind == "parquet":
                yield from self._file.iter_batches(batch_size=size,
                                                   row_groups=range(first, stop),
                                                   columns=columns, use_threads=False)
                return
            for i in range(first, stop):
                batch = self._file.get_batch(i).select(columns)
                for at in range(0, batch.num_rows, size):
                    yield batch.slice(at, size)
        except (pa.ArrowException, OSError) as exc:
            raise UsageError(f"{self.path} cannot be read ({_short(exc)})") from None


def _open_ipc(pa, path: str):
    """An Arrow IPC file (Feather v2); a stream-format file is read whole as one batch."""
    source = pa.memory_map(path)
    try:
        return pa.ipc.open_file(source)
    except pa.ArrowInvalid:
        source = pa.memory_map(path)
        return _Stream(pa.ipc.open_stream(source).read_all())


class _Stream:
    """The Arrow IPC stream format behind the file format's interface (one batch per table
    chunk)."""

    def __init__(self, table):
        self.schema = table.schema
        self._batches = table.to_batches()
        self.num_record_batches = len(self._batches)

    def get_batch(self, i):
        return self._batches[i]


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def numbers(name: str, array, invalid: dict[int, str]):
    """A numeric Arrow array as float64 (a null or non-finite value noted in ``invalid``, as the
    CSV path notes a malformed cell: the first reason of a row stays)."""
    np = numpy()
    nulls = None
    if array.null_count:
        nulls = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        array = array.fill_null(False if array.type.id == _bool_id() else 0)
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    if nulls is not None:   # a missing value is no number (as an empty CSV cell)
        values = values.copy() if not values.flags.writeable else values
        values[nulls] = np.nan
        for k in np.flatnonzero(nulls).tolist():
            invalid.setdefault(k, f"no value for {name}")
    finite = np.isfinite(values)
    if not finite.all():
        for k in np.flatnonzero(~finite).tolist():
            if nulls is None or not nulls[k]:
                invalid.setdefault(k, f"the value of {name} must be finite, not {values[k]}")
    return values


def _bool_id():
    import pyarrow as pa

    return pa.bool_().id


class ColumnarFiles:
    """Parquet or Arrow files read as one points file (PointsFile's interface): the first file's
    columns name the variables, every file must have them, and rows are numbered across the
    files in order (``locate`` turns such a number back into a file and its own row)."""

    def __init__(self, paths: list[str], variables, fixed=(), chunk: int = CHUNK,
                 keep: bool = False, fixed_by: str = "--at"):
        self.paths = paths
        self.where = paths[0] if len(paths) == 1 else f"{paths[0]} (and {len(paths) - 1} more)"
        self.chunk = chunk
        self.sources = [Source(p) for p in paths]
        for s in self.sources:
            _header(s.path, s.names, variables, fixed, fixed_by)
        names = self.sources[0].names
        self.names = names
        self.variables = [n for n in names if n in variables]
        self.extras = [n for n in names if n not in variables]
        self.keep = keep               # the extras are read too (--keep-columns)
        read = [*self.variables, *(self.extras if keep else [])]
        for s in self.sources:
            missing = [c for c in read if c not in s.names]
            if missing:
                raise UsageError(f"{s.path} has no column {', '.join(missing)} (the first file "
                                 f"{paths[0]} has)",
                                 hint="every file of --points gives the same columns")
            s.check(read)
        self.starts = []               # the first row of each file, in rows overall
        total = 0
        for s in self.sources:
            self.starts.append(total)
            total += s.rows
        self.total = total
        self.bytes_read = 0
        self._sizes = [os.path.getsize(p) for p in paths]

    def chunks(self) -> Iterator[Chunk]:
        columns = [*self.variables, *(self.extras if self.keep else [])]
        start = 0
        for n, s in enumerate(self.sources):
            done = 0
            for batch in s.batches(columns, self.chunk):
                yield _chunk(batch, start, self.variables, self.extras if self.keep else [])
                start += batch.num_rows
                done += batch.num_rows
                self.bytes_read = sum(self._sizes[:n]) + self._sizes[n] * done // max(1, s.rows)

    def locate(self, row: int) -> tuple[str, int]:
        """Row ``row`` overall (0-based) as (its file, its row in that file, 0-based)."""
        import bisect

        n = bisect.bisect_right(self.starts, row) - 1
        return self.paths[n], row - self.starts[n]


def _header(path: str, names: list[str], variables, fixed, fixed_by: str) -> None:
    """PointsFile's checks of a header, for a columnar file's column names."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise UsageError(f"{path}: the column {n} appears twice")
        seen.add(n)
    both = [n for n in names if n in fixed]
    if both:
        raise UsageError(f"{', '.join(both)} is given both by {fixed_by} and by a column of "
                         f"{path}", hint="drop one of them")
    missing = [v for v in variables if v not in seen and v not in fixed]
    if missing:
        raise UsageError(f"{path} has no column for {', '.join(missing)}",
                         hint=f"its columns: {', '.join(names) or '(none)'}; give a fixed value "
                              f"with {fixed_by} {missing[0]}=1")


def _chunk(batch, start: int, variables: list[str], extras: list[str]) -> Chunk:
    """A record batch as a points Chunk: the variables as floats, kept columns as the text a
    CSV cell would hold (the shortest repr; empty for a missing value)."""
    invalid: dict[int, str] = {}
    columns = {v: numbers(v, batch.column(v), invalid).tolist() for v in variables}
    kept = {}
    for e in extras:
        values = numbers(e, batch.column(e), {}).tolist()
        present = batch.column(e).is_valid().to_pylist() if batch.column(e).null_count else None
        kept[e] = [repr(x) if present is None or present[k] else ""
                   for k, x in enumerate(values)]
    return Chunk(start, batch.num_rows, columns, kept, dict(sorted(invalid.items())))


# --- writing ----------------------------------------------------------------------------------

@record
class Writer:
    """Rows (render.rows.Rows) written to a Parquet or Arrow IPC file a chunk at a time, with the
    CSV output's columns: the variables, kept columns, ``value``, ``d<out>/d<w>``..., ``error``.
    Numbers are float64 (bit for bit what was computed); a failed row's results, and a cell that
    was not a number, are null; ``error`` is null where the point was computed. Kept columns are
    float64 when they came from a numeric column (``numeric``), else text."""

    path: str
    variables: list[str]
    extras: list[str]
    output: str
    wrt: list[str]
    numeric: frozenset[str] = frozenset()
    count: int = 0

    def __post_init__(self):
        pa = self._pa = pyarrow(f"writing {self.path}")
        self.schema = schema(pa, self.variables, self.extras, self.numeric, self.output,
                             self.wrt)
        try:
            if kind(self.path) == "arrow":
                self._sink = pa.OSFile(self.path, "wb")
                self._writer = pa.ipc.new_file(self._sink, self.schema)
            else:
                self._sink = None
                self._writer = pa.parquet.ParquetWriter(self.path, self.schema)
        except (pa.ArrowException, OSError) as exc:
            raise UsageError(f"cannot write {self.path}: {_short(exc)}") from None

    def write(self, rows) -> None:
        self.write_table(self.table(rows))
        self.count += len(rows)

    def table(self, rows):
        """Rows as an Arrow table of this writer's schema."""
        pa = self._pa
        n = len(rows)
        errors = [None] * n
        for k, why in rows.errors.items():
            errors[k] = why
        data = [*(_floats(pa, rows.points[v]) for v in self.variables),
                *(_kept(pa, rows.extras[e], e in self.numeric) for e in self.extras),
                _floats(pa, rows.value), *(_floats(pa, rows.gradient[w]) for w in self.wrt),
                pa.array(errors, pa.string())]
        return pa.Table.from_arrays(data, schema=self.schema)

    def write_table(self, table) -> None:
        if kind(self.path) == "arrow":
            self._writer.write_table(table)
        else:
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def close(self) -> None:
        self._writer.close()
        if self._sink is not None:
            self._sink.close()


def schema(pa, variables, extras, numeric, output: str, wrt):
    """The output's columns and types (as the CSV output's columns)."""
    f64 = pa.float64()
    fields = [*((v, f64) for v in variables),
              *((e, f64 if e in numeric else pa.string()) for e in extras),
              ("value", f64), *((f"d{output}/d{w}", f64) for w in wrt), ("error", pa.string())]
    names = [n for n, _t in fields]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"the output would have two columns named {dup}",
                         hint="rename the input column, or drop --keep-columns")
    return pa.schema(fields)


def _floats(pa, column):
    """float64 values, NaN (a failed row, a cell that was no number) as null."""
    return pa.array(numpy().asarray(column, dtype=numpy().float64), pa.float64(),
                    from_pandas=True)


def _kept(pa, cells, numeric: bool):
    if not numeric:
        return pa.array(list(cells), pa.string())
    return pa.array([float(c) if c else None for c in cells], pa.float64())


def save_name(name: str) -> str:
    """--save-points NAME's format: parquet, arrow, csv or tsv."""
    k = kind(name)
    if k is not None:
        return k
    lower = name.lower()
    for ext in ("csv", "tsv"):
        if lower.endswith("." + ext):
            return ext
    raise UsageError(f"--save-points {name}: the name says which format to write",
                     hint="end it with .parquet, .arrow (.feather), .csv or .tsv")
