"""The table format for many points (issue 14): one table however many rows and chunks, all rows
when they fit a screen, else the first and last with a summary; numbers never cut to "…"; memory
bounded by the screen, not the file."""

from __future__ import annotations

import io
import math
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gradcalc.numfmt import fmt
from gradcalc.render.rows import Columns, Rows, RowWriter

EXE = shutil.which("gradcalc", path=str(Path(sys.executable).parent)) or shutil.which("gradcalc")
HINT = "every row: run again with --format csv (or tsv, json, jsonl)"


def rows_of(start: int, xs, ys, errors=None, extras=None) -> Rows:
    """A chunk of f = x*y: value x*y, gradient (y, x)."""
    return Rows(start, {"x": list(xs), "y": list(ys)}, [x * y for x, y in zip(xs, ys, strict=True)],
                {"x": list(ys), "y": list(xs)}, errors or {}, extras or {})


def table(chunks, width: int = 80, extras=(), **options) -> str:
    """What the table format prints for these chunks on a console this wide (not a terminal)."""
    console = Console(width=width, record=True, file=io.StringIO())
    writer = RowWriter("table", None, Columns("f", ["x", "y"], ["x", "y"], extras),
                       options.pop("digits", None), console, title="f = x*y", **options)
    for rows in chunks:
        writer.write(rows)
    writer.close()
    return console.export_text()


def chunked(n: int, size: int, seed: int = 0, errors=()):
    """n random points of f = x*y in chunks of ``size``; ``errors``: 0-based rows that failed."""
    rng = random.Random(seed)
    xs = [rng.uniform(-2, 2) for _ in range(n)]
    ys = [rng.uniform(-2, 2) for _ in range(n)]
    chunks = []
    for start in range(0, n, size):
        stop = min(n, start + size)
        failed = {k - start: f"failed at row {k + 1}" for k in errors if start <= k < stop}
        chunks.append(rows_of(start, xs[start:stop], ys[start:stop], failed))
    return xs, ys, chunks


def test_rows_that_fit_are_all_shown_in_one_table_with_their_errors():
    out = table([rows_of(0, [-2.0, 1.5, 0.25], [5.0, 2.0, -4.0], {2: "made up: x, y"})])
    assert out == ("f = x*y\n"
                   "#     x   y    f  ∂f/∂x  ∂f/∂y  error\n"
                   + "─" * 45 + "\n"
                   "1    -2   5  -10      5     -2\n"
                   "2   1.5   2    3      2    1.5\n"
                   "3  0.25  -4                     made up: x, y\n")


def test_many_chunks_make_one_table_of_first_and_last_rows_with_a_summary():
    xs, ys, chunks = chunked(1_000, 97)
    lines = table(chunks, width=120).splitlines()
    assert lines[0] == "f = x*y"
    assert sum(line.split()[:1] == ["#"] for line in lines) == 1   # one header, one table
    numbers = [line.split()[0] for line in lines[3:24]]
    assert numbers == [*map(str, range(1, 11)), "⋮", *map(str, range(991, 1001))]
    assert lines[13].split() == ["⋮", "980", "rows", "not", "shown"]
    assert lines[3].split() == ["1", fmt(xs[0], 6), fmt(ys[0], 6), fmt(xs[0] * ys[0], 6),
                                fmt(ys[0], 6), fmt(xs[0], 6)]
    values = [x * y for x, y in zip(xs, ys, strict=True)]
    assert lines[25].split() == ["min", *(fmt(min(c), 6) for c in (xs, ys, values, ys, xs))]
    assert lines[26].split() == ["max", *(fmt(max(c), 6) for c in (xs, ys, values, ys, xs))]
    assert lines[27:] == ["1,000 rows, all computed", HINT]


def test_the_screen_decides_how_many_rows_are_all_shown():
    _, _, chunks = chunked(30, 7)
    assert "rows not shown" not in table(chunks, screen=30)
    _, _, chunks = chunked(31, 7)
    assert "⋮  11 rows not shown" in table(chunks, screen=30)
    _, _, chunks = chunked(41, 7)
    assert "⋮  21 rows not shown" in table(chunks)   # off a terminal: 40 rows
    terminal = Console(width=80, height=50, force_terminal=True, file=io.StringIO())
    writer = RowWriter("table", None, Columns("f", ["x"], ["x"]), console=terminal)
    assert writer._shown.limit == 46                 # the height less title, header, prompt


def test_failed_rows_are_counted_listed_and_left_out_of_min_and_max():
    xs, ys, chunks = chunked(500, 64, errors=[1, 3, 250, 260, 300, 497, 498])
    for rows in chunks:   # a failed row's numbers are not results (NaN or garbage)
        for k in rows.errors:
            rows.value[k] = 1e300
            rows.gradient["x"][k] = math.nan
    chunks[0].points["x"][5] = math.nan                  # a cell that was not a number
    chunks[0].errors[5] = "the value of x is not a number: 'foo'"
    lines = table(chunks, width=100).splitlines()
    assert lines[3 + 1].split()[3:] == ["error"]         # row 2: the word, no error column
    assert lines[3 + 5].split()[1:] == [fmt(ys[5], 6), "error"]   # row 6: no x
    assert "error" not in lines[1].split()
    good = [k for k in range(500) if k not in (1, 3, 5, 250, 260, 300, 497, 498)]
    values = [xs[k] * ys[k] for k in good]
    x_ok = [x for k, x in enumerate(xs) if k != 5]
    assert lines[-9].split()[:4] == ["min", fmt(min(x_ok), 6), fmt(min(ys), 6),
                                      fmt(min(values), 6)]
    assert lines[-8].split()[3:5] == [fmt(max(values), 6), fmt(max(ys[k] for k in good), 6)]
    assert lines[-7:] == ["500 rows, 8 with errors; the first 5:",
                          "  row 2: failed at row 2", "  row 4: failed at row 4",
                          "  row 6: the value of x is not a number: 'foo'",
                          "  row 251: failed at row 251", "  row 261: failed at row 261", HINT]


@pytest.mark.parametrize("width", [60, 80])
def test_numbers_are_never_cut_the_columns_continue_below(width):
    xs = [-1.2345678901234567e-300, 123456789.12345679, -0.1]
    ys = [9.87654321e300, -2.5e-17, 1.0]
    _, _, chunks = chunked(200, 50)
    chunks[0] = rows_of(0, xs + chunks[0].points["x"][3:], ys + chunks[0].points["y"][3:],
                        {2: "a reason long enough to wrap " * 4})
    out = table(chunks, width=width, digits=17)
    assert "…" not in out
    assert max(map(len, out.splitlines())) <= width
    cells = out.split()
    for x, y in zip(xs[:2], ys[:2], strict=True):
        assert {fmt(x, 17), fmt(y, 17), fmt(x * y, 17)} <= set(cells)
    headers = [line for line in out.splitlines() if line.split()[:1] == ["#"]]
    assert len(headers) == out.count("⋮  180 rows not shown") >= 2   # blocks of columns


def test_an_error_column_wraps_within_the_width_and_kept_columns_show():
    chunk = rows_of(0, [1.0, -1.0], [2.0, 3.0], {1: "log(x) is undefined: it needs x > 0, "
                                                    "but x = -1"}, {"id": ["first", "second"]})
    lines = table([chunk], width=60, extras=["id"]).splitlines()
    assert lines[1].split() == ["#", "x", "y", "id", "f", "∂f/∂x", "∂f/∂y", "error"]
    assert lines[3].split() == ["1", "1", "2", "first", "2", "2", "1"]
    assert lines[4].split()[:4] == ["2", "-1", "3", "second"]
    reason = " ".join(" ".join(line.split()) for line in lines[4:])
    assert reason.endswith("log(x) is undefined: it needs x > 0, but x = -1")
    assert len(lines) > 5 and max(map(len, lines)) <= 60


def test_memory_is_bounded_by_the_screen_not_the_rows():
    console = Console(width=80, record=True, file=io.StringIO())
    writer = RowWriter("table", None, Columns("f", ["x", "y"], ["x", "y"]), console=console)
    _, _, chunks = chunked(20_000, 1_000, errors=range(0, 20_000, 3))
    for rows in chunks:
        writer.write(rows)
    shown = writer._shown
    assert (len(shown.head), len(shown.tail), len(shown.first_errors)) == (40, 10, 5)
    assert shown.count == 20_000 and shown.errors == 6_667


def test_the_command_line_prints_one_table_at_60_columns(tmp_path):
    rng = random.Random(1)
    lines = [f"{rng.uniform(-2, 2)!r},{rng.uniform(-2, 2)!r},{rng.uniform(-2, 2)!r}"
             for _ in range(500)]
    (tmp_path / "p.csv").write_text("x,y,z\n" + "\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "LINES")}
    p = subprocess.run([EXE, "x*y*z", "--points", str(tmp_path / "p.csv"), "--no-check",
                        "--chunk-size", "64"], capture_output=True, text=True,
                       env={**env, "COLUMNS": "60"}, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "f = x*y*z" and out.count("f = x*y*z") == 1
    assert "…" not in p.stdout and max(map(len, out)) <= 60
    assert out[-2:] == ["500 rows, all computed", HINT]
    assert sum("⋮  480 rows not shown" in line for line in out) >= 1
