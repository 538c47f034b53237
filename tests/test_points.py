"""points.py on its own: the points file reader (header, chunks, malformed rows) and parse_point
(every message with its caret), without going through the command line."""

import io
import math

import pytest
import sympy

from gradcalc.errors import UsageError
from gradcalc.points import Chunk, PointsFile, parse_point


def opened(data, variables=("x", "y"), **kw) -> PointsFile:
    raw = data.encode() if isinstance(data, str) else data
    return PointsFile(io.BytesIO(raw), "p.csv", variables, **kw)


def rows(data, variables=("x", "y"), **kw) -> list[Chunk]:
    return list(opened(data, variables, **kw).chunks())


def failure(call) -> str:
    with pytest.raises(UsageError) as info:
        call()
    return info.value.render()


# --- the header -------------------------------------------------------------------------------

def test_header_splits_variables_from_other_columns():
    t = opened("label,y,x\n")
    assert (t.names, t.variables, t.extras, t.delimiter) == (
        ["label", "y", "x"], ["y", "x"], ["label"], ",")


def test_a_tab_in_the_header_makes_it_tsv_and_a_bom_is_not_part_of_a_name():
    t = opened("\ufeffx\ty\n1\t2\n")
    assert (t.names, t.delimiter) == (["x", "y"], "\t")
    assert rows("\ufeffx\ty\n1\t2\n")[0].columns == {"x": [1.0], "y": [2.0]}


def test_blank_lines_before_the_header_are_skipped():
    assert opened("\n\n x , y \n1,2\n").names == ["x", "y"]


@pytest.mark.parametrize("data, message", [
    ("", "error: p.csv is empty: it needs a header row naming the variables\n"
         "hint: e.g. x,y then one point per line: 1,2"),
    ("\n\n", "error: p.csv is empty: it needs a header row naming the variables\n"
             "hint: e.g. x,y then one point per line: 1,2"),
    ("x,,y\n", "error: p.csv: the header has an empty column name"),
    ("x,x,y\n", "error: p.csv: the column x appears twice"),
    ("x,z\n", "error: p.csv has no column for y\n"
              "hint: its columns: x, z; give a fixed value with --at y=1"),
    (b"\xff,y\n", "error: p.csv is not UTF-8 text (it holds the byte b'\\xff')"),
])
def test_bad_headers(data, message):
    assert failure(lambda: opened(data)) == message


# --- fixed values (--at next to --points, or fit's --params) -------------------------------------

def test_a_fixed_variable_needs_no_column():
    t = opened("y\n1\n2\n", fixed={"x": 3.0})
    assert (t.variables, t.extras) == (["y"], [])
    assert rows("y\n1\n2\n", fixed={"x": 3.0})[0].columns == {"y": [1.0, 2.0]}


def test_a_fixed_variable_may_not_have_a_column_too_and_fixed_by_names_the_option():
    assert failure(lambda: opened("x,y\n", fixed={"x": 1.0})) == (
        "error: x is given both by --at and by a column of p.csv\nhint: drop one of them")
    assert failure(lambda: opened("x,y\n", fixed={"x": 1.0}, fixed_by="--params")) == (
        "error: x is given both by --params and by a column of p.csv\nhint: drop one of them")
    assert failure(lambda: opened("y\n", ("x", "y", "z"), fixed={"z": 1.0},
                                  fixed_by="--params")) == (
        "error: p.csv has no column for x\n"
        "hint: its columns: y; give a fixed value with --params x=1")


# --- chunks -----------------------------------------------------------------------------------

def test_chunks_split_the_rows_and_carry_extras_and_texts():
    got = rows("x,y,label\n1,2,a\n3,4.50,b\n5,6,c\n", chunk=2)
    assert got == [
        Chunk(0, 2, {"x": [1.0, 3.0], "y": [2.0, 4.5]}, {"label": ["a", "b"]}, {},
              {"x": ["1", "3"], "y": ["2", "4.50"]}),
        Chunk(2, 1, {"x": [5.0], "y": [6.0]}, {"label": ["c"]}, {}, {"x": ["5"], "y": ["6"]}),
    ]


def test_rows_are_counted_without_blank_lines_and_a_blank_chunk_yields_nothing():
    got = rows("x,y\n1,2\n\n\n\n3,4\n", chunk=2)
    assert [(c.start, c.size, c.columns) for c in got] == [
        (0, 1, {"x": [1.0], "y": [2.0]}), (1, 1, {"x": [3.0], "y": [4.0]})]


def test_a_quoted_field_across_a_chunk_boundary_is_read_whole():
    got = rows('x,y,note\n1,2,"two\nlines"\n3,4,plain\n', chunk=1)
    assert [(c.start, c.extras["note"]) for c in got] == [(0, ["two\nlines"]), (1, ["plain"])]
    assert [c.columns for c in got] == [{"x": [1.0], "y": [2.0]}, {"x": [3.0], "y": [4.0]}]


def test_quoted_cells_and_crlf_line_ends():
    got = rows('x,y\r\n"1","2e-3"\r\n" 3 ",4\r\n')
    assert got[0].columns == {"x": [1.0, 3.0], "y": [0.002, 4.0]}
    assert got[0].texts == {"x": ["1", " 3 "], "y": ["2e-3", "4"]}
    assert got[0].invalid == {}


def test_bytes_read_follows_the_reading():
    t = opened("x,y\n1,2\n")
    list(t.chunks())
    assert t.bytes_read == len("x,y\n1,2\n")


# --- malformed rows: each spoils only its own row ------------------------------------------------

def test_malformed_rows_and_their_reasons():
    (c,) = rows("x,y\n1,abc\n2\n3,4,5\n,4\n1,inf\n7,8\n-1e999,0\n")
    assert c.invalid == {
        0: "the value of y is not a number: 'abc'",
        1: "the row has 1 field; the header has 2",
        2: "the row has 3 fields; the header has 2",
        3: "no value for x",
        4: "the value of y must be finite, not inf",
        6: "the value of x must be finite, not -inf",
    }
    assert c.size == 7
    assert c.columns["x"][5] == 7.0 and c.columns["y"][5] == 8.0
    assert math.isnan(c.columns["x"][3]) and math.isnan(c.columns["y"][0])
    assert c.columns["x"][2] == 3.0 and c.columns["y"][2] == 4.0   # cut to the header's width


def test_a_row_reports_its_first_problem_only():
    (c,) = rows("x,y\nfoo,bar\n")
    assert c.invalid == {0: "the value of x is not a number: 'foo'"}


def test_a_field_over_the_csv_limit_is_an_error_with_its_line():
    import csv

    long = "1" * (csv.field_size_limit() + 1)
    assert failure(lambda: rows(f'x,y\n1,2\n"{long}",3\n')) == (
        "error: p.csv, line 3: field larger than field limit (131072)")


def test_the_line_of_a_reading_error_counts_from_the_top_of_the_file():
    """Past the first chunk, and after blank lines before the header (line 3 + 2,500 rows)."""
    import csv

    long = "1" * (csv.field_size_limit() + 1)
    text = "\n\nx,y\n" + "1,2\n" * 2_500 + f'"{long}",3\n'
    assert failure(lambda: rows(text, chunk=1_000)) == (
        "error: p.csv, line 2504: field larger than field limit (131072)")


# --- parse_point -------------------------------------------------------------------------------

def test_a_point_of_numbers_and_constant_expressions():
    assert parse_point(" x = 1 , y=-2e-3") == {"x": 1.0, "y": -0.002}
    assert parse_point("x=max(1,2),y=pi/4,z=sqrt(2)/2") == {
        "x": 2.0, "y": math.pi / 4, "z": math.sqrt(2) / 2}


def test_exact_keeps_fractions_and_constants_exact():
    got = parse_point("x=1/3,y=pi/4", exact=True)
    assert got == {"x": sympy.Rational(1, 3), "y": sympy.pi / 4}
    assert parse_point("x=1/3") == {"x": 1 / 3}


@pytest.mark.parametrize("text, message", [
    ("x=1;y=2", "error: --at entries are separated by commas\n  x=1;y=2\n     ^\n"
                "hint: write --at x=1,y=2"),
    ("x=1 y=2", "error: --at entries are separated by commas\n  x=1 y=2\n     ^\n"
                "hint: write --at x=1,y=2"),
    ("x=1\ny=2", "error: --at entries are separated by commas\n  line 1: x=1\n             ^\n"
                 "hint: write --at x=1,y=2"),
    ("x=1,,y=2", "error: empty entry in --at\n  x=1,,y=2\n      ^\nhint: write --at x=1,y=2"),
    ("x=1,", "error: empty entry in --at\n  x=1,\n      ^\nhint: write --at x=1,y=2"),
    ("x", "error: --at needs name=value, not 'x'\n  x\n  ^\nhint: write --at x=1,y=2"),
    ("2x=1", "error: '2x' is not a variable name\n  2x=1\n  ^^"),
    ("x=1,x=2", "error: x is given twice\n  x=1,x=2\n      ^^^"),
    ("x=", "error: no value for x\n  x=\n  ^^\nhint: write --at x=1"),
    ("x=nan", "error: the value of x must be a finite number\n  x=nan\n    ^^^"),
    ("y=2,x=-inf", "error: the value of x must be a finite number\n  y=2,x=-inf\n        ^^^^"),
    ("x=y+1", "error: the value of x may not use variables (y)\n  x=y+1\n    ^^^"),
    ("x=1,y=2*(", "error: expected a number, a name or '(' but found the end of the input\n"
                  "  x=1,y=2*(\n           ^"),
    ("x=log(-1)", "error: log(-1) is undefined: it needs -1 > 0\n  x=log(-1)\n    ^^^^^^^"),
    ("x=1e400", "error: the number 1e400 is too large for float64\n  x=1e400\n    ^^^^^"),
])
def test_every_parse_point_message_with_its_caret(text, message):
    assert failure(lambda: parse_point(text)) == message


@pytest.mark.parametrize("option, hint", [
    ("--from", "hint: write --from x=1,y=2"),
    ("at", 'hint: write at = "x=1,y=2"'),   # a problem file's key, as it is written in TOML
])
def test_option_names_what_was_typed(option, hint):
    assert failure(lambda: parse_point("x=1;y=2", option=option)) == (
        f"error: {option} entries are separated by commas\n  x=1;y=2\n     ^\n{hint}")
    assert failure(lambda: parse_point("x", option=option)).splitlines()[0] == (
        f"error: {option} needs name=value, not 'x'")
    assert failure(lambda: parse_point("x=", option="at")).splitlines()[-1] == (
        'hint: write at = "x=1"')
