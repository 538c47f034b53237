"""Many points: several --at, or a points file, computed in chunks and written as they come;
the diagnostics after the rows, on standard error."""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterable, Iterator

from .. import formats
from ..errors import UsageError
from ..function import Function
from ..points import CHUNK, Chunk, PointsFile, parse_point
from ..report import Batches
from .app import Settings, echo
from .options import Options


def many(o: Options, settings: Settings) -> int:
    """Exit 0 if every point was computed (and the check agrees), 1 if some point failed or the
    check disagreed, 2 if a row of the file is malformed (the other rows are still written)."""
    _validate(o)
    renderer = formats.renderer(o.fmt, "points") if o.save_points is None else None
    fn = Function(settings.read_program(o.program, o.file), settings.limits)
    stream = table = ahead = None
    extras: list[str] = []
    if o.points_file is None:
        fixed = {}
        names, chunks = _at_points(o.at)
    else:
        fixed = parse_point(o.at[0]) if o.at else {}
        table = _columnar(o, fn, fixed)
        if table is None:
            stream = open_points(o.points_file)
            where = "standard input" if o.points_file == "-" else o.points_file
            table = PointsFile(stream, where, fn.variables, fixed, o.chunk_size or CHUNK)
        names = [*table.variables, *fixed]
        extras = table.extras if o.keep_columns else []
        if stream is not None:
            chunks = ahead = _Ahead(table.chunks())
        else:
            chunks = table.chunks()
    _tape, out_name, _p, wrt, notes = fn.resolve(dict.fromkeys(names, 0.0), o.output, o.wrt_names)
    batches = Batches(fn, chunks, names, wrt, out_name, fixed, extras, o.timeout, notes,
                      fast_math=o.fast_math)
    if o.scheduler is not None:
        return _distributed(o, settings, fn, table, batches)
    bar = _progress(settings, o.points_file, table)
    if bar is not None and table is not None:   # (no table, no bar)
        batches.progress = lambda total: bar.advance(table.bytes_read, total)
        batches.stop = bar.stop
    report = _report(fn, batches)
    try:
        if renderer is not None:
            renderer.render(report, o.out(settings))
        else:
            _save(str(o.save_points), batches, table)
    finally:
        batches.finish()
        if ahead is not None:
            ahead.close()
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
    _summary(settings, batches, _locate(table))
    if o.save_points is not None:
        settings.note(f"wrote {batches.total:,} row{'s' * (batches.total != 1)} to "
                      f"{o.save_points}")
    return report.exit_code()


def _columnar(o: Options, fn, fixed):
    """Parquet or Arrow points (columnar.py), or None for a CSV/TSV file."""
    from .. import columnar

    name = str(o.points_file)
    if not columnar.is_columnar(name):
        return None
    return columnar.ColumnarFiles(columnar.expand(name), fn.variables, fixed,
                                  o.chunk_size or CHUNK, keep=o.keep_columns)


def _save(name: str, batches: Batches, table) -> None:
    """--save-points FILE: every row to FILE, in the format its name says."""
    from .. import columnar
    from ..render.rows import Columns, RowWriter

    kind = columnar.save_name(name)
    if kind in ("parquet", "arrow"):
        numeric = frozenset(batches.extras) if isinstance(table, columnar.ColumnarFiles) \
            else frozenset()
        sink = columnar.Writer(name, list(batches.names), list(batches.extras), batches.output,
                               list(batches.wrt), numeric)
        try:
            for rows in batches:
                sink.write(rows)
        finally:
            sink.close()
        return
    try:
        out = open(name, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
    with out:
        def echo(text: str, nl: bool = True) -> None:
            out.write(text + "\n" * nl)

        writer = RowWriter(kind, echo, Columns(batches.output, batches.names, batches.wrt,
                                               batches.extras))
        for rows in batches:
            writer.write(rows)
        writer.close()


def _distributed(o: Options, settings: Settings, fn, table, batches: Batches) -> int:
    """--scheduler: the rows computed on a Dask cluster (distributed.py), written as a directory
    of parts; the same diagnostics as one process gives, the rows located in their files."""
    from .. import distributed

    job = distributed.Job(fn.source, settings.limits, tuple(table.variables),
                          tuple(batches.fixed.items()), tuple(batches.wrt), o.output,
                          batches.output, tuple(batches.extras), provenance=True,
                          fast_math=o.fast_math)
    outcome = distributed.run_files(table, job, str(o.save_points), str(o.scheduler))
    for worker in outcome.simd[:1]:
        settings.note(f"warning: the NumPy of {len(outcome.simd)} worker(s) ({worker}, ...) runs "
                      "its SIMD math, whose last bit can differ from single-point runs; start "
                      "the workers with NPY_DISABLE_CPU_FEATURES set as gradcalc.lazy does")
    if batches.timeout is not None:   # the cross-check, here, on the first chunk's sample
        for _rows in batches:
            break
    batches.total, batches.failed = outcome.total, sorted(outcome.failed)
    batches.malformed, batches.kinks = sorted(outcome.malformed), outcome.kinks
    _summary(settings, batches, _locate(table))
    settings.note(f"wrote {outcome.total:,} row{'s' * (outcome.total != 1)} to {o.save_points} "
                  f"({outcome.parts} part{'s' * (outcome.parts != 1)})")
    return batches.exit_code()


def _report(fn, batches):
    from ..report import Report

    return Report("points", fn.source, batches.output, fn.source, batches=batches)


def _validate(o: Options) -> None:
    one = o.given("steps", "graph_file", "tree", "exact", "precision", "expect", "tol",
                  "direction")
    if one:
        raise UsageError(f"{', '.join(one)} take{'s' * (len(one) == 1)} one point",
                         hint="give a single --at")
    if o.points_file is not None and len(o.at) > 1:
        raise UsageError("with --points, --at gives values for every row: give it once",
                         hint="--points data.csv --at w=0.5,b=1")
    if o.keep_columns and o.points_file is None:
        raise UsageError("--keep-columns needs --points")
    if o.points_file == "-" and (o.program == "-" and o.file is None):
        raise UsageError("the program and the points cannot both come from standard input",
                         hint="put the program in a file: -f prog.gc --points -")
    _validate_saving(o)


def _validate_saving(o: Options) -> None:
    """--save-points and --scheduler: which go together."""
    from .. import columnar

    if o.save_points is not None and o.fmt != "table":
        raise UsageError("--save-points writes the rows in the format its name says; --format "
                         "is for standard output", hint="drop --format, or --save-points")
    if o.scheduler is None:
        if o.save_points is not None and (o.save_points.endswith(("/", os.sep))
                                          or os.path.isdir(o.save_points)):
            raise UsageError(f"--save-points {o.save_points} is a directory: a directory of "
                             "parts is written with --scheduler",
                             hint="give a file: --save-points out.parquet")
        if o.save_points is not None:
            columnar.save_name(o.save_points)
        return
    if o.points_file is None or not columnar.is_columnar(o.points_file):
        raise UsageError("--scheduler computes points from Parquet or Arrow files",
                         hint="--points 'data/*.parquet' --scheduler local --save-points out/")
    if o.save_points is None:
        raise UsageError("--scheduler writes its results to a directory of parts",
                         hint="add --save-points out/")
    if os.path.exists(o.save_points) and (not os.path.isdir(o.save_points)
                                          or os.listdir(o.save_points)):
        raise UsageError(f"--save-points {o.save_points} must be a new or empty directory",
                         hint="gradcalc writes part.NNNNN.parquet files there and never "
                              "deletes a file of yours")
    try:
        os.makedirs(o.save_points, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the directory {o.save_points}: "
                         f"{exc.strerror or exc}") from None


def _at_points(at) -> tuple[list[str], Iterable[Chunk]]:
    points = [parse_point(text) for text in at]
    for k, p in enumerate(points[1:], start=2):
        if set(p) != set(points[0]):
            raise UsageError(f"--at number {k} gives {', '.join(p) or 'nothing'}, but the "
                             f"first gives {', '.join(points[0]) or 'nothing'}",
                             hint="every point gives the same variables")
    names = list(points[0])
    return names, [Chunk(0, len(points), {k: [p[k] for p in points] for k in names}, {})]


class _Ahead:
    """A big CSV/TSV file's chunks read by a thread of their own, one chunk ahead of the one
    being computed: the same chunks in the same order, a reading error raised where it was met.
    A file whose first chunk is small is read as it is needed, in this thread."""

    def __init__(self, chunks: Iterator[Chunk]):
        self._chunks = chunks
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[Chunk]:
        from ..points import BULK

        first = next(self._chunks, None)
        if first is None:
            return
        yield first
        if first.size < BULK:
            yield from self._chunks
            return
        self._thread = threading.Thread(target=self._read, name="gradcalc-points", daemon=True)
        self._thread.start()
        while True:
            kind, item = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    def _read(self) -> None:
        try:
            for chunk in self._chunks:
                if not self._put(("chunk", chunk)):
                    return
        except BaseException as exc:   # noqa: BLE001 (raised again in the reading thread)
            self._put(("error", exc))
        else:
            self._put(("end", None))

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Stop reading (before the file is closed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def open_points(name: str):
    """A points or data file opened for reading in bytes; "-" is standard input."""
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")   # noqa: SIM115 (closed by the caller, after the last chunk)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def _progress(settings: Settings, points_file, table):
    """A progress bar on standard error for a big points file, when that is a terminal."""
    if table is None or settings.quiet or not sys.stderr.isatty():
        return None
    try:
        paths = getattr(table, "paths", [points_file])
        size = sum(map(os.path.getsize, paths)) if points_file != "-" else None
    except OSError:
        size = None
    if size is not None and size < 4 * 1024 * 1024:
        return None
    from ..render.progress import Bar

    return Bar(size, settings.console(stderr=True))


def _summary(settings: Settings, b: Batches, locate=None) -> None:
    """Diagnostics after the rows (standard error). ``locate`` turns a row number into (file,
    row in that file) when the points came from several files."""
    def at(rows):
        return _at_rows(rows, locate=locate)

    for w in b.notes:
        settings.note(f"warning: {w}")
    for message, where in b.kinks.items():
        settings.note(f"warning: {message} ({at(where)})")
    if b.checks:
        methods = sorted({c.method for _k, c in b.checks})
        reasons = sorted({c.reason for _k, c in b.checks if c.reason})
        verdict = "disagrees" if b.disagree() else "agrees"
        settings.note(f"check: {' and '.join(methods)} {verdict} at {len(b.checks)} sampled "
                      f"point{'s' * (len(b.checks) != 1)} of {b.total} ("
                      + (f"rows {', '.join(str(k + 1) for k, _c in b.checks)}" if locate is None
                         else at([k for k, _c in b.checks]))
                      + ")" + (f"; {'; '.join(reasons)}" if reasons else ""))
    for k, c in b.disagree():
        bad = [p.name for p in c.partials if p.status == "disagree"] or ["the value"]
        echo(f"error: the cross-check disagrees at {at([k])} on {', '.join(bad)}",
                   err=True)
    if b.failed:
        echo(f"error: {len(b.failed)} of {b.total} points could not be computed "
                   f"({at(b.failed)}); their rows say why", err=True)
    if b.malformed:
        n = len(b.malformed)
        echo(f"error: {n} row{'s' * (n != 1)} of the points file "
                   f"{'are' if n != 1 else 'is'} malformed ({at(b.malformed)}); their "
                   "rows say why", err=True)


def _locate(table):
    """Rows numbered across several points files are said as a file and its row."""
    return table.locate if len(getattr(table, "paths", ())) > 1 else None


def _at_rows(rows, show: int = 8, locate=None) -> str:
    """'row 2', 'rows 1, 5, … (12 in all)', or with ``locate`` the rows in their files:
    'a.parquet row 3; b.parquet rows 1, 9'."""
    rows = sorted(rows)
    more = f", … ({len(rows)} in all)" if len(rows) > show else ""
    if locate is None:
        shown = ", ".join(str(r + 1) for r in rows[:show])
        return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more}"
    groups: dict[str, list[int]] = {}
    for r in rows[:show]:
        name, k = locate(r)
        groups.setdefault(name, []).append(k + 1)
    return "; ".join(f"{name} {'row' if len(ks) == 1 else 'rows'} {', '.join(map(str, ks))}"
                     for name, ks in groups.items()) + more
