"""What the row formats share: a report's points written row by row (render.rows.RowWriter),
a single point as a one-row file."""

from __future__ import annotations

import sys


def write(name: str, report, out) -> None:
    """Every row of a many-points report, as the chunks come."""
    from ..cli.app import echo
    from ..render.rows import Columns, RowWriter

    b = report.batches
    console = out.console() if name == "table" else None
    writer = RowWriter(name, out.echo, Columns(b.output, b.names, b.wrt, b.extras), out.digits,
                       console, title=f"{b.output} = {' '.join(report.source.split())[:60]}",
                       stdout=out.echo is echo and _binary(sys.stdout))
    try:
        for rows in b:
            writer.write(rows)
    finally:   # the rows computed are all written, whatever stopped the others
        writer.drain()
    b.finish()   # the progress bar goes before the table (printed on close) comes
    writer.close()


def _binary(stream) -> bool:
    """Whether echo can write bytes to ``stream`` (through its binary buffer)."""
    return getattr(stream, "buffer", None) is not None


def write_point(name: str, report, out) -> None:
    """One point as a file of one row: the same header and columns as many points."""
    from ..render.rows import Columns, Rows, RowWriter
    from ..vector import undetermined_message

    r, check = report.result, report.check
    writer = RowWriter(name, out.echo, Columns(r.output, tuple(r.point), tuple(r.gradient)))
    writer.write(Rows(0, {k: [x] for k, x in r.point.items()}, [r.value],
                      {k: [x] for k, x in r.gradient.items()},
                      {0: undetermined_message(r)} if r.undetermined else {},
                      checks={0: check} if check.status != "skipped" else {}))
    writer.close()


KINDS = {"point", "points"}


def renderer(name: str):
    """The render function of a row format: many points, or one point as a row."""
    def render(report, out) -> None:
        if report.kind == "points":
            write(name, report, out)
        else:
            write_point(name, report, out)

    return render
