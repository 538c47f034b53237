"""A progress bar on standard error while a big points file streams through."""

from __future__ import annotations


class Bar:
    """Bytes of the file read so far (or rows, when the size is unknown: standard input)."""

    def __init__(self, size: int | None, console):
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn("points"), BarColumn(), DownloadColumn(), TimeRemainingColumn()]
        if size is None:
            columns = [TextColumn("points: {task.fields[rows]:,} rows")]
        # standard output carries the rows: written to it directly, never through the bar
        self._progress = Progress(*columns, console=console, transient=True,
                                  redirect_stdout=False)
        self._task = self._progress.add_task("points", total=size, rows=0)
        self._progress.start()

    def advance(self, done_bytes: int, rows: int) -> None:
        self._progress.update(self._task, completed=done_bytes, rows=rows)

    def stop(self) -> None:
        self._progress.stop()
