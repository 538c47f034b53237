"""Big CSV/TSV points files in bulk (issue 18): chunks of plain numbers split by NumPy and read by
pyarrow (points.PointsFile._bulk), rows joined by pyarrow with the numbers in repr's own text
(render.rows.RowWriter._bulk, render.rows._digits), or by the C extension (floattext.py). Every
test compares the bulk path with the cell-by-cell path (pyarrow switched off) or with repr itself:
the same chunks, the same bytes out, the same malformed rows with the same numbers and reasons."""

from __future__ import annotations

import io
import itertools
import math
import random
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gradcalc import floattext, points
from gradcalc.cli import main
from gradcalc.points import PointsFile, _lines, _Text
from gradcalc.render import rows as rows_module

pytest.importorskip("pyarrow")

SOURCE = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"
SMALL = 70   # bulk from 70 lines a chunk in these tests (4096 in use)


def bulk(on: bool):
    """A context in which chunks of SMALL lines or more go the bulk way (on), or in which
    neither pyarrow nor the C extension is there and every chunk goes cell by cell (off)."""
    mp = pytest.MonkeyPatch()
    if on:
        mp.setattr(points, "BULK", SMALL)
        mp.setattr(points, "WORTH", SMALL)
        mp.setattr(rows_module, "BULK", SMALL)
    else:
        mp.setattr(points, "_ARROW", [None])
        mp.setattr(floattext, "_NATIVE", [None])
    return mp


def both(call):
    """call() the bulk way, then cell by cell: (bulk, cells). The bulk way runs three times,
    with the outcome the same: the C extension (floattext.py) and pyarrow, pyarrow alone, the
    C extension alone (pyarrow not installed)."""
    out = []
    for mode in ("both", "pyarrow", "C", "cells"):
        mp = bulk(mode != "cells")
        if mode == "pyarrow":
            mp.setattr(floattext, "_NATIVE", [None])
        if mode == "C":
            mp.setattr(points, "_ARROW", [None])
        try:
            out.append(call())
        finally:
            mp.undo()
    assert out[0] == out[1] == out[2]
    return out[0], out[3]


# --- _digits: repr's text -------------------------------------------------------------------------

def _edges() -> list[float]:
    import numpy as np

    marks = [1e-9, 1e-6, 1e-5, 1e-4, 1e10, 1e15, 1e16, 5e-324, 2.2250738585072014e-308,
             1.7976931348623157e308, 1.0, 0.1, 1e22, 1e23, 2.0 ** 53, 2.0 ** 63]
    x = np.array(marks)
    steps = (x.view(np.int64)[:, None] + np.arange(-40, 41)[None, :]).ravel().view(np.float64)
    steps = steps[np.isfinite(steps)]
    powers = [2.0 ** k for k in range(-1074, 1024)] + [10.0 ** k for k in range(-323, 309)]
    special = [0.0, -0.0, float("inf"), -float("inf"), float("nan"), 1e-05, 1.5e-07, 1e16,
               1e15, 123456789.125, 0.30000000000000004, 2.675, 9007199254740993.0, 1e-320]
    values = [*special, *steps.tolist(), *powers]
    return values + [-v for v in values]


def _random(seed: int, n: int) -> list[float]:
    import numpy as np

    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2 ** 64, n, dtype=np.uint64).view(np.float64)
    spread = 10.0 ** rng.uniform(-12, 20, n) * rng.choice([-1.0, 1.0], n)
    decimals = [float(f"{v:.{d}f}") for v, d in zip(rng.uniform(-100, 100, n).tolist(),
                                                    rng.integers(0, 7, n).tolist(), strict=True)]
    scaled = rng.integers(-2 ** 53, 2 ** 53, n).astype(np.float64) * 2.0 ** rng.integers(-60, 60,
                                                                                       n)
    return [*bits.tolist(), *rng.uniform(-2, 2, n).tolist(), *spread.tolist(), *decimals,
            *scaled.tolist()]


def test_where_pyarrows_own_text_is_taken_it_is_repr():
    """The floats whose text _digits takes from pyarrow's cast as it is (the writer without the
    C extension; the others are written by repr): repr's text, for many of every kind."""
    import numpy as np

    x = np.array(_random(2, 30_000) + _edges())
    text, same = rows_module._digits(points.arrow(), x)
    assert same.sum() > 50_000 and (~same).sum() > 5_000
    taken = np.flatnonzero(same).tolist()
    assert text.take(taken).to_pylist() == [repr(v) for v in x[same].tolist()]


def test_pyarrow_reads_plain_numbers_as_float_does():
    """Every cell the bulk reader lets through is made only of digits . e E + -: pyarrow takes
    such a cell exactly when float() does, and to the same float (both round correctly)."""
    a = points.arrow()
    rng = random.Random(3)
    cells = ["", "+", "-", ".", "e", "E", "1e", "1e+", "e5", ".e5", "1.2.3", "1e5.5", "--1",
             "+-1", "1-", "1+1", "1e++5", "1ee5", "+.5", "-.5e-3", "5.", "00012", "1E5", "-0",
             "+0.0e+00", "1e400", "-1e400", "1e-400", "1e-320", "-.", "+.", "0e0", "1.e5",
             ".1e-5", "1e5e5", "1.5E+0005", "0000.000", "1e+-5", "9" * 400, "0." + "0" * 500 + "1",
             "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623158e308",
             "1.7976931348623159e308", "0.1000000000000000055511151231257827"]
    cells += ["".join(rng.choice("0123456789.eE+-") for _ in range(rng.randint(1, 6)))
              for _ in range(3000)]
    cells += [f"{rng.choice('+-')}{rng.randint(0, 10 ** rng.randint(1, 30))}."
              f"{rng.randint(0, 10 ** 25)}e{rng.randint(-330, 310)}" for _ in range(3000)]
    for cell in cells:
        try:
            want = repr(float(cell))
        except ValueError:
            want = "no number"
        try:
            got = repr(a.numbers(a.pc.cast(a.strings([cell]), a.pa.float64()))[0].item())
        except a.pa.ArrowInvalid:
            got = "no number"
        assert got == want, cell


def test_pyarrows_csv_reader_reads_plain_numbers_as_float_does():
    """The bulk reader's CSV reader (points.Arrow.csv) takes a plain cell exactly when float()
    does, and to the same float: cell by cell, and all at once in one column."""
    a = points.arrow()
    rng = random.Random(4)
    cells = ["", "+", "-", ".", "e", "1e", "1e+", "e5", "1.2.3", "1e5.5", "--1", "+-1", "1-",
             "1+1", "1ee5", "+.5", "-.5e-3", "5.", "00012", "1E5", "-0", "+0.0e+00", "1e400",
             "-1e400", "1e-400", "1e-320", "0e0", "1.e5", ".1e-5", "9" * 400,
             "0." + "0" * 500 + "1", "2.4703282292062327e-324", "2.4703282292062328e-324",
             "1.7976931348623158e308", "1.7976931348623159e308",
             "0.1000000000000000055511151231257827"]
    cells += ["".join(rng.choice("0123456789.eE+-") for _ in range(rng.randint(1, 6)))
              for _ in range(2000)]
    cells += [f"{rng.choice('+-')}{rng.randint(0, 10 ** rng.randint(1, 30))}."
              f"{rng.randint(0, 10 ** 25)}e{rng.randint(-330, 310)}" for _ in range(3000)]
    good = []
    for cell in cells:
        try:
            want = repr(float(cell))
            good.append(cell)
        except ValueError:
            want = "no number"
        table = a.csv(cell.encode() + b"\n", ["x"], ["x"], ",")
        got = "no number" if table is None else repr(table.column("x").to_pylist()[0])
        assert got == want, cell
    table = a.csv("\n".join(good).encode(), ["x"], ["x"], ",")
    assert [repr(v) for v in table.column("x").to_pylist()] == [repr(float(c)) for c in good]


def test_float_columns_are_lists_of_python_floats_on_demand():
    """points.Floats (a chunk's column, a batch's values): the floats of a list, cell by cell
    and whole, never NumPy scalars (whose repr is not the float's)."""
    import numpy as np

    x = np.array([0.1, -2.5, 1e-05, 3.0, float("inf")])
    column = points.Floats(x)
    assert type(column[1]) is float and repr(column[2]) == "1e-05" and column[-1] == math.inf
    assert list(column) == [0.1, -2.5, 1e-05, 3.0, math.inf] == column
    assert all(type(v) is float for v in column) and column[1:3] == [-2.5, 1e-05]
    assert len(column) == 5 and np.asarray(column) is x


@pytest.mark.parametrize("with_pyarrow", [True, False])
def test_a_cell_read_in_bulk_one_at_a_time_is_the_cell_as_written(with_pyarrow):
    """A column's cells as a list (pyarrow's, or the chunk's text split where pyarrow is not
    installed) and one cell at a time: the same."""
    if not with_pyarrow and floattext.native() is None:
        pytest.skip("without pyarrow, only the C extension reads in bulk")
    data = _file("id,x,w,y", _numbers(random.Random(16), 250, 4), last=False)
    mp = bulk(True)
    if not with_pyarrow:
        mp.setattr(points, "_ARROW", [None])
    try:
        chunks = list(PointsFile(io.BytesIO(data), "p.csv", ("x", "y"), chunk=100).chunks())
    finally:
        mp.undo()
    columns = [column for c in chunks for column in [*c.extras.values(), *c.texts.values()]
               if isinstance(column, points.TextColumn)]
    assert len(columns) == 8   # two chunks of 100 read in bulk (the last, of 50, cell by cell)
    for column in columns:
        one = [column[k] for k in range(len(column))] + [column[-1], column[-100]]
        assert one == [*column.cells(), column.cells()[-1], column.cells()[0]]
        with pytest.raises(IndexError):
            points.TextColumn(column.block, column.position)[100]


# --- reading: the same chunks -----------------------------------------------------------------

def _chunks(data: bytes, variables, chunk: int):
    out = []
    for c in PointsFile(io.BytesIO(data), "p.csv", variables, chunk=chunk).chunks():
        out.append((c.start, c.size, {k: list(map(repr, v)) for k, v in c.columns.items()},
                    {k: list(v) for k, v in c.extras.items()}, c.invalid,
                    {k: list(v) for k, v in (c.texts or {}).items()}))
    return out


def _numbers(rng: random.Random, n: int, width: int) -> list[list[str]]:
    spellings = [lambda: repr(rng.uniform(-3, 3)), lambda: str(rng.randint(-5, 5)),
                 lambda: f"{rng.uniform(-1, 1):.3e}", lambda: f"{rng.uniform(0, 9):.2f}",
                 lambda: repr(rng.uniform(-1, 1) * 1e-7), lambda: "1.", lambda: ".5",
                 lambda: "+1", lambda: "-0", lambda: "1E5", lambda: "1e-320", lambda: "00012",
                 lambda: "123456789012345678901234567890", lambda: "-.5e-3"]
    return [[rng.choice(spellings)() for _ in range(width)] for _ in range(n)]


def _file(header: str, rows: list[list[str]], sep: str = ",", end: str = "\n",
          last: bool = True, bom: bool = False) -> bytes:
    text = header + end + end.join(sep.join(r) for r in rows) + (end if last else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def _plain(n=300, seed=0):
    rng = random.Random(seed)
    return _file("x,y,z", _numbers(rng, n, 3))


PLAIN_FILES = {
    "plain": (_plain(), ("x", "y", "z")),
    "crlf-bom-no-last-newline": (_file("x,y,z", _numbers(random.Random(1), 250, 3), end="\r\n",
                                       last=False, bom=True), ("x", "y", "z")),
    "tsv": (_file("x\ty", _numbers(random.Random(2), 230, 2), sep="\t"), ("x", "y")),
    "kept-columns-between": (_file("id,x,w,y", _numbers(random.Random(3), 260, 4)), ("x", "y")),
    "extras-not-numbers": (_file("x,tag,y", [[r[0], "1-2", r[1]]
                                             for r in _numbers(random.Random(4), 200, 2)]),
                           ("x", "y")),
    "infinite": (_file("x,y", [["1e400" if k % 37 == 5 else r[0],
                                "-1e999" if k % 53 == 7 else r[1]]
                               for k, r in enumerate(_numbers(random.Random(5), 240, 2))]),
                 ("x", "y")),
    "one-column": (_file("x", _numbers(random.Random(6), 250, 1)), ("x",)),
}


@pytest.mark.parametrize("name", list(PLAIN_FILES))
def test_plain_number_chunks_go_the_bulk_way_and_read_the_same(name):
    data, variables = PLAIN_FILES[name]
    fast, slow = both(lambda: _chunks(data, variables, 100))
    assert fast == slow

    taken = _bulk_taken(data, variables, 100)
    assert taken[0] and taken[1]   # (the last chunk may be under SMALL lines)


def _spoiled(bad: str, line: int = 150) -> bytes:
    rows = _numbers(random.Random(7), 300, 3)
    body = [",".join(r) for r in rows]
    body[line] = bad
    return ("x,y,z\n" + "\n".join(body) + "\n").encode()


SPOILED = {
    "empty cell": "1,,3", "text": "1,abc,3", "space": "1, 2,3", "underscore": "1,2_0,3",
    "nan": "nan,1,2", "inf": "1,inf,2", "short row": "1,2", "long row": "1,2,3,4",
    "blank line": "", "two blank lines": "\n", "two short rows": "1,2\n3",
    "short then long": "1,2\n3,4,5,6", "quoted": '1,"2",3', "quoted comma": '1,"2,5",3',
    "hex": "0x1,2,3",
    "non-ascii": "1,2,3\u00a0", "only commas": ",,",
}


@pytest.mark.parametrize("name", list(SPOILED))
def test_a_chunk_with_a_malformed_row_is_read_cell_by_cell_as_before(name):
    data = _spoiled(SPOILED[name])
    fast, slow = both(lambda: _chunks(data, ("x", "y", "z"), 100))
    assert fast == slow
    assert not fast[0][4]
    taken = _bulk_taken(data, ("x", "y", "z"), 100)
    assert taken[0] and not taken[1] and taken[2]


def _bulk_taken(data: bytes, variables, chunk: int) -> list[bool]:
    """Which chunks went the bulk way."""
    mp = bulk(True)
    try:
        return [isinstance(next(iter(c.columns.values())), points.Floats)
                for c in PointsFile(io.BytesIO(data), "p.csv", variables, chunk=chunk).chunks()]
    finally:
        mp.undo()


@pytest.mark.parametrize("bad", ["5\n6", "\n", "5\n6\n7\n8", "5,6,7\n8"])
def test_short_rows_are_never_joined_into_one(bad):
    """Two short rows in a row have a full row's cells: each is still malformed (a kept column
    is text, so no number check would notice)."""
    rows = [",".join(r) for r in _numbers(random.Random(14), 300, 2)]
    rows[150] = bad
    data = ("x,label\n" + "\n".join(rows) + "\n").encode()
    fast, slow = both(lambda: _chunks(data, ("x",), 100))
    assert fast == slow
    assert any(c[4] for c in fast) == bool(bad.strip())   # (blank lines are skipped)
    assert sum(c[1] for c in fast) == 299 + bad.strip().count("\n") + bool(bad.strip())


@pytest.mark.parametrize("header, variables", [("label", ()), ("x", ("x",))])
def test_blank_lines_of_a_one_column_file_are_skipped(header, variables):
    rows = [r[0] for r in _numbers(random.Random(15), 300, 1)]
    rows[120] = rows[130] = ""
    data = (header + "\n" + "\n".join(rows) + "\n").encode()
    fast, slow = both(lambda: _chunks(data, variables, 100))
    assert fast == slow and sum(c[1] for c in fast) == 298


def test_lone_carriage_returns_and_a_byte_order_mark():
    rows = _numbers(random.Random(8), 200, 2)
    data = b"\xef\xbb\xbf" + ("x,y\r" + "\r".join(",".join(r) for r in rows) + "\r").encode()
    fast, slow = both(lambda: _chunks(data, ("x", "y"), 80))
    assert fast == slow and sum(c[1] for c in fast) == 200


def test_a_quoted_field_across_chunks_in_a_big_file():
    rows = [",".join(r) for r in _numbers(random.Random(9), 400, 2)]
    rows[99] = '1,"2'
    rows[100] = '3"'
    data = ("x,y\n" + "\n".join(rows) + "\n").encode()
    fast, slow = both(lambda: _chunks(data, ("x", "y"), 100))
    assert fast == slow


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_the_text_reader_cuts_lines_as_universal_newlines_do(block, monkeypatch):
    monkeypatch.setattr(_Text, "BLOCK", block)
    rng = random.Random(block)
    pieces = ["1,2", "3", "", '"a', 'b"', "\u00e9", "x" * 20]
    text = "".join(rng.choice(pieces) + rng.choice(["\n", "\r\n", "\r", "\n\n", "\r\r\n"])
                   for _ in range(400)) + "tail"
    data = text.encode()
    for n in (1, 2, 5, 33, 1000):
        wrapper = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
        reader = _Text(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""))
        while True:
            want = list(itertools.islice(wrapper, n))
            got, count = reader.take(n)
            assert _lines(got) == want and count == len(want)
            if reader.newlines is not None:   # where its \n are, when the reader knows
                assert reader.newlines.tolist() == [k for k, c in enumerate(got) if c == "\n"]
            if not want:
                break


# --- not UTF-8: said where it was said -------------------------------------------------------

@pytest.mark.parametrize("line, chunk, outcome", [
    # what the reader gave before the bulk path (a strict decoder, 8 KiB at a time)
    (100, 1000, "init"), (1020, 1000, "init"), (1023, 1000, "init"), (1024, 1000, 1000),
    (1025, 1000, 1000), (2047, 1000, 1000), (2048, 1000, 2000), (3000, 1000, 2000),
    (4095, 1000, 3000), (4096, 1000, 4000), (4097, 1000, 4000), (1024, 1023, 1023),
    (2047, 1023, 1023), (2048, 1023, 2046), (4095, 1023, 3069), (4096, 1023, 4092),
])
def test_a_byte_not_utf8_stops_the_reading_where_it_did(line, chunk, outcome):
    body = bytearray(b"x,y\n" + b"1.5,2.5\n" * 5000)
    body[4 + 8 * line] = 0xFF

    def run():
        try:
            table = PointsFile(io.BytesIO(bytes(body)), "p.csv", ("x", "y"), chunk=chunk)
        except points.UsageError as exc:
            return "init", exc.message
        done = 0
        try:
            for c in table.chunks():
                done += c.size
        except points.UsageError as exc:
            return done, exc.message
        return done, None

    for on in (True, False):
        mp = bulk(on)
        try:
            got = run()
        finally:
            mp.undo()
        assert got == (outcome, "p.csv is not UTF-8 text (it holds the byte b'\\xff')")


def test_a_cut_multibyte_character_and_a_bom_count_their_bytes():
    text = "x,label\n" + "".join(f"{k},caf\u00e9\n" for k in range(3000))
    body = bytearray(b"\xef\xbb\xbf" + text.encode())
    body[-1000] = 0xC3   # a lead byte where a continuation or ASCII should be
    fast, slow = both(lambda: _outcome(bytes(body)))
    assert fast == slow and fast[0] > 0


def _outcome(data: bytes):
    done = 0
    try:
        for c in PointsFile(io.BytesIO(data), "p.csv", ("x",), chunk=500).chunks():
            done += c.size
    except points.UsageError as exc:
        return done, exc.message
    return done, None


# --- the command line: the same bytes out ----------------------------------------------------

def _cli(tmp_path, data: bytes, *args: str):
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    result = CliRunner().invoke(main, [SOURCE, "--points", str(path), *args])
    return result.exit_code, result.stdout_bytes, result.stderr_bytes


@pytest.mark.parametrize("args", [
    ("--format", "csv", "--no-check"),
    ("--format", "tsv", "--no-check"),
    ("--format", "csv"),
    ("--format", "csv", "--no-check", "--keep-columns"),
    ("--format", "jsonl", "--no-check", "--keep-columns"),
    ("--format", "csv", "--no-check", "--wrt", "y"),
    ("--format", "table", "--no-check", "--keep-columns"),
    ("--format", "json", "--no-check"),
    ("--format", "plain", "--no-check"),
])
@pytest.mark.parametrize("name", ["plain", "crlf", "kept", "infinite", "spoiled", "fixed"])
def test_the_command_line_writes_the_same_bytes(tmp_path, name, args):
    rng = random.Random(10)
    data = {
        "plain": _file("x,y,z", _numbers(rng, 300, 3)),
        "crlf": _file("z,y,x", _numbers(rng, 300, 3), end="\r\n", last=False, bom=True),
        "kept": _file("id,x,y,w,z", _numbers(rng, 300, 5)),
        "infinite": _file("x,y,z", [["1e400" if k % 41 == 3 else a, b, c]
                                    for k, (a, b, c) in enumerate(_numbers(rng, 300, 3))]),
        "spoiled": _spoiled("1,abc,3", 120),
        "fixed": _file("x,y", _numbers(rng, 300, 2)),
    }[name]
    extra = ("--at", "z=0.25") if name == "fixed" else ()
    fast, slow = both(lambda: _cli(tmp_path, data, *args, *extra))
    assert fast == slow
    if "csv" in args or "tsv" in args:
        assert fast[1].count(b"\n") == 301


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_many_chunks_written_by_threads_come_out_in_order(tmp_path, fmt):
    """Chunks made into text by the writing threads, several at a time: the same bytes as cell
    by cell, with domain errors, malformed rows and numbers pyarrow writes otherwise than repr
    (integers, 1e-05, 1e+16...) in many chunks."""
    rng = random.Random(17)
    special = ["0", "1", "2", "-3", "1e-3", "3e-4", "1e8", "1e5", "2.5e-5", "1e-12", "-1"]
    rows = [[rng.choice(special) if rng.random() < 0.3 else repr(rng.uniform(-2, 2))
             for _ in range(2)] for _ in range(2000)]
    rows[777] = ["1", "abc"]
    data = _file("x,y", rows)

    def run():
        path = tmp_path / "p.csv"
        path.write_bytes(data)
        result = CliRunner().invoke(main, ["x*y + log(x) + 1e16*y", "--points", str(path),
                                           "--format", fmt, "--no-check", "--chunk-size",
                                           "100"])
        return result.exit_code, result.stdout_bytes, result.stderr_bytes

    fast, slow = both(run)
    assert fast == slow
    code, out, err = fast
    assert code == 2 and out.count(b"\n") == 2001
    lines = out.decode().splitlines()
    assert any("1e-05" in line or "e+16" in line for line in lines)
    assert "row 778" in err.decode()


def test_domain_errors_keep_their_rows_and_reasons(tmp_path):
    rows = [[repr(0.5 + k / 1000), repr(1.0 + k / 1000)] for k in range(300)]
    for k in (3, 150, 299):
        rows[k][0] = "-1"   # log(x) at x = -1
    path = tmp_path / "p.csv"
    path.write_bytes(_file("x,y", rows))

    def run():
        result = CliRunner().invoke(main, ["log(x)*y", "--points", str(path), "--format", "csv",
                                           "--no-check"])
        return result.exit_code, result.stdout_bytes, result.stderr_bytes

    fast, slow = both(run)
    assert fast == slow
    code, out, err = fast
    lines = out.decode().splitlines()
    assert code == 1 and lines[0] == "x,y,value,df/dx,df/dy,error"
    x, y = 0.504, 1.004
    assert lines[5] == f"{x!r},{y!r},{math.log(x) * y!r},{y / x!r},{math.log(x)!r},"
    assert lines[4].startswith("-1,1.003,,,,") and len(lines[4]) > len("-1,1.003,,,,")
    assert "rows 4, 151, 300" in err.decode()


def test_malformed_rows_are_numbered_as_before(tmp_path):
    data = _spoiled("1,abc,3", 120)
    fast, slow = both(lambda: _cli(tmp_path, data, "--format", "csv", "--no-check"))
    assert fast == slow
    code, out, err = fast
    assert code == 2
    assert out.decode().splitlines()[121].endswith(",,,,,the value of y is not a number: 'abc'")
    assert "1 row of the points file is malformed (row 121)" in err.decode()


@pytest.mark.parametrize("where", [0, 150, 450])
def test_an_error_while_reading_ahead_comes_where_it_came(tmp_path, where):
    """Chunks are read one ahead by a thread of their own: a field over the csv module's limit
    (or any reading error) still stops the output after the rows before its chunk."""
    rows = [",".join(r) for r in _numbers(random.Random(12), 600, 3)]
    rows[where] = '1,"' + "9" * 200_000 + '",3'
    data = ("x,y,z\n" + "\n".join(rows) + "\n").encode()
    fast, slow = both(lambda: _cli(tmp_path, data, "--format", "csv", "--no-check",
                                   "--chunk-size", "100"))
    assert fast == slow
    code, out, err = fast
    assert code == 2 and out.count(b"\n") == 1 + where // 100 * 100
    assert b"field larger than field limit" in err


def test_rows_written_through_an_echo_of_text(tmp_path):
    """--save-points FILE.csv writes text (no click.echo): the same file either way."""
    data = _file("x,y,z", _numbers(random.Random(11), 300, 3))

    def run():
        out = tmp_path / "out.csv"
        code, _o, _e = _cli(tmp_path, data, "--save-points", str(out), "--no-check")
        return code, out.read_bytes()

    fast, slow = both(run)
    assert fast == slow and fast[1].count(b"\n") == 301


def test_fit_reads_the_same_data(tmp_path):
    rng = random.Random(13)
    rows = [[repr(x), repr(2.5 * x - 1 + rng.gauss(0, 0.1))]
            for x in (rng.uniform(-2, 2) for _ in range(500))]
    path = tmp_path / "line.csv"
    path.write_bytes(_file("x,y", rows))

    def run():
        result = CliRunner().invoke(main, ["fit", "(w*x + b - y)^2", "--data", str(path),
                                           "--params", "w=0,b=0", "--lr", "0.05", "--epochs",
                                           "3", "--format", "json"])
        return result.exit_code, result.stdout_bytes

    fast, slow = both(run)
    assert fast == slow and fast[0] == 0


@pytest.mark.parametrize("rows, kept, imported", [
    (300, False, "False"), (19_999, False, "False"),
    (25_000, False, "False" if floattext.native() else "True"),   # C alone: no pyarrow
    (25_000, True, "True")])   # a column of the file left out: rows joined by pyarrow
def test_pyarrow_only_where_it_is_used_and_never_pandas(tmp_path, rows, kept, imported):
    """pyarrow (0.2 s to import) from 20,000 rows, and only where the C extension cannot do
    without it; pa.array and pa.scalar, which import pandas when it is installed (half a
    second), are never used."""
    path = tmp_path / "p.csv"
    rng = random.Random(0)
    path.write_bytes(_file("id,x,y,z", [[str(k), *r] for k, r in enumerate(
        _numbers(rng, rows, 3))]) if kept else _plain(rows))
    code = ("import sys, contextlib, io\n"
            "from gradcalc import points\n"
            "from gradcalc.cli import main\n"
            f"sys.argv = ['gradcalc', {SOURCE!r}, '--points', {str(path)!r}, '--format', 'csv',"
            " '--no-check']\n"
            "try:\n"
            "    main.main(prog_name='gradcalc')\n"
            "except SystemExit:\n"
            "    pass\n"
            "sys.stdout.flush()\n"
            "print('pyarrow' in sys.modules, 'pandas' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.split() == [imported, "False"]
    assert done.stdout.count("\n") == rows + 1
