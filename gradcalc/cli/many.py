"""Many points: several --at, or a points file, computed in chunks and written as they come;
the diagnostics after the rows, on standard error."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import click

from .. import formats
from ..errors import UsageError
from ..function import Function
from ..points import CHUNK, Chunk, PointsFile, parse_point
from ..report import Batches
from .app import Settings
from .options import Options


def many(o: Options, settings: Settings) -> int:
    """Exit 0 if every point was computed (and the check agrees), 1 if some point failed or the
    check disagreed, 2 if a row of the file is malformed (the other rows are still written)."""
    _validate(o)
    renderer = formats.renderer(o.fmt, "points")
    fn = Function(settings.read_program(o.program, o.file), settings.limits)
    stream = table = None
    if o.points_file is None:
        fixed, extras = {}, []
        names, chunks = _at_points(o.at)
    else:
        fixed = parse_point(o.at[0]) if o.at else {}
        stream = open_points(o.points_file)
        where = "standard input" if o.points_file == "-" else o.points_file
        table = PointsFile(stream, where, fn.variables, fixed, o.chunk_size or CHUNK)
        names = [*table.variables, *fixed]
        extras = table.extras if o.keep_columns else []
        chunks = table.chunks()
    _tape, out_name, _p, wrt, notes = fn.resolve(dict.fromkeys(names, 0.0), o.output, o.wrt_names)
    batches = Batches(fn, chunks, names, wrt, out_name, fixed, extras, o.timeout, notes)
    bar = _progress(settings, o.points_file, table)
    if bar is not None and table is not None:   # (no table, no bar)
        batches.progress = lambda total: bar.advance(table.bytes_read, total)
        batches.stop = bar.stop
    report = _report(fn, batches)
    try:
        renderer.render(report, o.out(settings))
    finally:
        batches.finish()
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
    _summary(settings, batches)
    return report.exit_code()


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


def _at_points(at) -> tuple[list[str], Iterable[Chunk]]:
    points = [parse_point(text) for text in at]
    for k, p in enumerate(points[1:], start=2):
        if set(p) != set(points[0]):
            raise UsageError(f"--at number {k} gives {', '.join(p) or 'nothing'}, but the "
                             f"first gives {', '.join(points[0]) or 'nothing'}",
                             hint="every point gives the same variables")
    names = list(points[0])
    return names, [Chunk(0, len(points), {k: [p[k] for p in points] for k in names}, {})]


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
        size = os.path.getsize(points_file) if points_file != "-" else None
    except OSError:
        size = None
    if size is not None and size < 4 * 1024 * 1024:
        return None
    from ..render.progress import Bar

    return Bar(size, settings.console(stderr=True))


def _summary(settings: Settings, b: Batches) -> None:
    """Diagnostics after the rows (standard error)."""
    for w in b.notes:
        settings.note(f"warning: {w}")
    for message, where in b.kinks.items():
        settings.note(f"warning: {message} ({_at_rows(where)})")
    if b.checks:
        methods = sorted({c.method for _k, c in b.checks})
        reasons = sorted({c.reason for _k, c in b.checks if c.reason})
        verdict = "disagrees" if b.disagree() else "agrees"
        settings.note(f"check: {' and '.join(methods)} {verdict} at {len(b.checks)} sampled "
                      f"point{'s' * (len(b.checks) != 1)} of {b.total} (rows "
                      f"{', '.join(str(k + 1) for k, _c in b.checks)})"
                      + (f"; {'; '.join(reasons)}" if reasons else ""))
    for k, c in b.disagree():
        bad = [p.name for p in c.partials if p.status == "disagree"] or ["the value"]
        click.echo(f"error: the cross-check disagrees at row {k + 1} on {', '.join(bad)}",
                   err=True)
    if b.failed:
        click.echo(f"error: {len(b.failed)} of {b.total} points could not be computed "
                   f"({_at_rows(b.failed)}); their rows say why", err=True)
    if b.malformed:
        n = len(b.malformed)
        click.echo(f"error: {n} row{'s' * (n != 1)} of the points file "
                   f"{'are' if n != 1 else 'is'} malformed ({_at_rows(b.malformed)}); their "
                   "rows say why", err=True)


def _at_rows(rows, show: int = 8) -> str:
    rows = sorted(rows)
    shown = ", ".join(str(r + 1) for r in rows[:show])
    more = f", … ({len(rows)} in all)" if len(rows) > show else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more}"
