"""Scripting: machine formats, many points (repeated --at, --points FILE or stdin), streaming in
chunks, exit codes, stdout/stderr discipline, colour, shell completion. Through the real console
script in a subprocess, as a shell script would run it."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradcalc.function import Function

EXE = shutil.which("gradcalc", path=str(Path(sys.executable).parent)) or shutil.which("gradcalc")
SOURCE = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"


def run(*args, stdin: str | bytes | None = None, env=None, cwd=None):
    if isinstance(stdin, str):
        stdin = stdin.encode()
    base = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "GRADCALC_DEBUG")}
    p = subprocess.run([EXE, *args], input=stdin, capture_output=True, env={**base, **(env or {})},
                       cwd=cwd, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write_points(path: Path, n: int, seed: int = 0, sep: str = ",") -> list[dict]:
    rng = random.Random(seed)
    points = [{k: rng.uniform(-2, 2) for k in "xyz"} for _ in range(n)]
    with open(path, "w") as f:
        f.write(sep.join("xyz") + "\n")
        f.writelines(sep.join(repr(p[k]) for k in "xyz") + "\n" for p in points)
    return points


def test_console_script_is_installed():
    assert EXE, "the gradcalc console script is not installed"


# --- acceptance: a 100,000-row file gives the single-point numbers, row by row ---------------

def test_100000_rows_give_the_single_point_numbers_row_by_row(tmp_path):
    points = write_points(tmp_path / "p.csv", 100_000)
    code, out, err = run(SOURCE, "--points", str(tmp_path / "p.csv"), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 100_000
    assert list(rows[0]) == ["x", "y", "z", "value", "df/dx", "df/dy", "df/dz", "error"]
    fn = Function(SOURCE)
    for p, row in zip(points, rows, strict=True):
        r = fn.gradient(p)        # the single-point path: Python floats, no NumPy
        assert float(row["value"]) == r.value
        assert [float(row[f"df/d{k}"]) for k in "xyz"] == [r.gradient[k] for k in "xyz"]
        assert row["error"] == ""
    assert "check: sympy agrees at 5 sampled points of 100000" in err


def test_rows_match_separate_single_point_runs_of_the_console_script(tmp_path):
    points = write_points(tmp_path / "p.csv", 300, seed=5)
    code, out, _err = run(SOURCE, "--points", str(tmp_path / "p.csv"), "--format", "jsonl",
                          "--no-check")
    assert code == 0
    lines = out.splitlines()
    for k in (0, 1, 150, 299):
        at = ",".join(f"{v}={points[k][v]!r}" for v in "xyz")
        c1, single, _ = run(SOURCE, "--at", at, "--format", "json", "--no-check")
        assert c1 == 0
        one, many = json.loads(single), json.loads(lines[k])
        assert (many["value"], many["gradient"]) == (one["value"], one["gradient"])


# --- formats ----------------------------------------------------------------------------------

MANY = ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--at", "x=1,y=2,z=3", "--at", "x=0.1,y=0.2,z=3"]


def test_csv_round_trips_through_pythons_csv_module():
    code, out, err = run(*MANY, "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["x", "y", "z", "value", "df/dx", "df/dy", "df/dz", "error"]
    assert [[float(c) for c in r[:7]] for r in rows[1:]] == [
        [-2, 5, -4, -12, -4, -4, 3], [1, 2, 3, 9, 3, 3, 3],
        [0.1, 0.2, 3, (0.1 + 0.2) * 3, 3, 3, 0.1 + 0.2]]
    assert rows[3][3] == repr((0.1 + 0.2) * 3)     # full precision, shortest round-trip repr
    assert err.startswith("check: sympy agrees at 3 sampled points of 3")


def test_tsv_has_tabs():
    code, out, _ = run(*MANY, "--format", "tsv", "--no-check")
    assert code == 0
    assert out.splitlines()[0] == "x\ty\tz\tvalue\tdf/dx\tdf/dy\tdf/dz\terror"
    assert out.splitlines()[1] == "-2.0\t5.0\t-4.0\t-12.0\t-4.0\t-4.0\t3.0\t"


def test_jsonl_lines_each_parse():
    code, out, _ = run(*MANY, "--format", "jsonl")
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["value"] for o in objs] == [-12.0, 9.0, (0.1 + 0.2) * 3]
    assert objs[0] == {"output": "f", "point": {"x": -2.0, "y": 5.0, "z": -4.0},
                       "value": -12.0, "gradient": {"x": -4.0, "y": -4.0, "z": 3.0},
                       "error": None, "check": objs[0]["check"], "warnings": []}
    assert objs[0]["check"]["method"] == "sympy" and objs[0]["check"]["status"] == "agree"


def test_json_is_an_array_for_several_points_and_an_object_for_one():
    code, out, _ = run(*MANY, "--format", "json", "--no-check")
    assert code == 0
    arr = json.loads(out)
    assert isinstance(arr, list) and len(arr) == 3
    assert arr[1]["gradient"] == {"x": 3.0, "y": 3.0, "z": 3.0} and arr[1]["check"] is None
    code, out, _ = run("z*(x+y)", "--at", "x=-2,y=5,z=-4", "--format", "json")
    assert isinstance(json.loads(out), dict)


def test_one_point_in_a_machine_format_is_one_row():
    code, out, _ = run("z*(x+y)", "--at", "x=-2,y=5,z=-4", "--format", "csv", "--no-check")
    assert (code, out) == (0, "x,y,z,value,df/dx,df/dy,df/dz,error\n"
                              "-2.0,5.0,-4.0,-12.0,-4.0,-4.0,3.0,\n")
    code, out, _ = run("z*(x+y)", "--at", "x=-2,y=5,z=-4", "--format", "jsonl")
    obj = json.loads(out)
    assert obj["gradient"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert obj["check"]["status"] == "agree"


def test_plain_and_table_for_several_points():
    code, out, _ = run(*MANY, "--format", "plain", "--no-check")
    assert code == 0
    assert out.split("\n\n")[0] == ("# 1: x=-2, y=5, z=-4\nf = -12\ndf/dx = -4\ndf/dy = -4\n"
                                    "df/dz = 3")
    code, out, _ = run(*MANY, "--no-check")
    assert code == 0
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert ["1", "-2", "5", "-4", "-12", "-4", "-4", "3"] in lines
    assert ["2", "1", "2", "3", "9", "3", "3", "3"] in lines


def test_wrt_and_output_with_many_points():
    code, out, _ = run("q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--at", "x=1,y=1,z=1",
                       "--wrt", "x,q", "--format", "csv", "--no-check")
    assert code == 0
    assert out.splitlines() == ["x,y,z,value,df/dx,df/dq,error", "-2.0,5.0,-4.0,-12.0,-4.0,-4.0,",
                                "1.0,1.0,1.0,2.0,1.0,1.0,"]


# --- failing points, exit codes, stdout and stderr --------------------------------------------

def test_an_undefined_point_does_not_abort_the_batch():
    code, out, err = run("log(x)*y", "--at", "x=1,y=2", "--at", "x=-1,y=2", "--at", "x=3,y=1",
                         "--format", "csv", "--no-check")
    assert code == 1
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[2] == ["-1.0", "2.0", "", "", "", "log(x) is undefined: it needs x > 0, but x = -1"]
    assert float(rows[3][2]) == Function("log(x)*y")(x=3, y=1)
    assert "error: 1 of 3 points could not be computed (row 2); their rows say why" in err


def test_a_malformed_row_is_reported_and_exits_2(tmp_path):
    (tmp_path / "p.csv").write_text("x,y\n1,2\nfoo,1\n3\n\n4,5\n")
    code, out, err = run("x*y", "--points", str(tmp_path / "p.csv"), "--format", "csv",
                         "--no-check")
    assert code == 2
    assert out.splitlines() == [
        "x,y,value,df/dx,df/dy,error", "1,2,2.0,2.0,1.0,",
        "foo,1,,,,the value of x is not a number: 'foo'",
        "3,,,,,the row has 1 field; the header has 2", "4,5,20.0,5.0,4.0,"]
    assert "error: 2 rows of the points file are malformed (rows 2, 3)" in err


def test_results_on_stdout_and_diagnostics_on_stderr():
    code, out, err = run("relu(x)*y", "--at", "x=0,y=2", "--at", "x=1,y=2", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1:] == ["0.0,2.0,0.0,0.0,0.0,", "1.0,2.0,2.0,2.0,1.0,"]
    assert "warning: relu(x) is not differentiable at (0)" in err and "(row 1)" in err
    assert "warning" not in out


def test_quiet_silences_warnings_but_not_errors():
    code, out, err = run("relu(x)*y", "--at", "x=0,y=2", "--at", "x=1,y=2", "--format", "csv",
                         "--quiet")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 3
    code, _out, err = run("log(x)", "--at", "x=-1", "--at", "x=1", "-q", "--format", "csv")
    assert code == 1 and "error: 1 of 2 points could not be computed" in err


# --- points from files and standard input -----------------------------------------------------

def test_points_from_stdin_with_the_program_from_a_file(tmp_path):
    (tmp_path / "prog.gc").write_text("q = x + y\nf = z*q\n")
    code, out, _ = run("-f", str(tmp_path / "prog.gc"), "--points", "-", "--format", "csv",
                       "--no-check", stdin="x,y,z\n-2,5,-4\n1,2,3\n")
    assert code == 0
    assert out.splitlines()[1:] == ["-2,5,-4,-12.0,-4.0,-4.0,3.0,", "1,2,3,9.0,3.0,3.0,3.0,"]


def test_tsv_file_with_a_bom_and_crlf(tmp_path):
    (tmp_path / "p.tsv").write_bytes(b"\xef\xbb\xbfx\ty\r\n1\t2\r\n3\t4\r\n")
    code, out, _ = run("x*y", "--points", str(tmp_path / "p.tsv"), "--format", "jsonl",
                       "--no-check")
    assert code == 0
    assert [json.loads(line)["value"] for line in out.splitlines()] == [2.0, 12.0]


def test_extra_columns_are_dropped_or_kept(tmp_path):
    (tmp_path / "p.csv").write_text('id,x,note,y\n7,1,"a, b",2\n8,3,c,4\n')
    code, out, _ = run("x*y", "--points", str(tmp_path / "p.csv"), "--format", "csv",
                       "--no-check")
    assert out.splitlines() == ["x,y,value,df/dx,df/dy,error", "1,2,2.0,2.0,1.0,",
                                "3,4,12.0,4.0,3.0,"]
    code, out, _ = run("x*y", "--points", str(tmp_path / "p.csv"), "--format", "csv",
                       "--no-check", "--keep-columns")
    assert list(csv.reader(io.StringIO(out))) == [
        ["x", "y", "id", "note", "value", "df/dx", "df/dy", "error"],
        ["1", "2", "7", "a, b", "2.0", "2.0", "1.0", ""],
        ["3", "4", "8", "c", "12.0", "4.0", "3.0", ""]]
    code, out, _ = run("x*y", "--points", str(tmp_path / "p.csv"), "--format", "jsonl",
                       "--no-check", "--keep-columns")
    assert json.loads(out.splitlines()[0])["columns"] == {"id": "7", "note": "a, b"}


def test_at_gives_fixed_values_for_every_row(tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    code, out, _ = run("w*x + b", "--points", str(tmp_path / "p.csv"), "--at", "w=0.5,b=1",
                       "--format", "csv", "--no-check")
    assert code == 0
    assert out.splitlines() == ["x,w,b,value,df/dx,df/dw,df/db,error",
                                "1,0.5,1.0,1.5,0.5,1.0,1.0,", "2,0.5,1.0,2.0,0.5,2.0,1.0,"]


def test_chunks_give_the_same_output_as_one_pass(tmp_path):
    write_points(tmp_path / "p.csv", 1000, seed=2)
    outs = [run(SOURCE, "--points", str(tmp_path / "p.csv"), "--format", "csv", "--no-check",
                *extra)[1] for extra in ([], ["--chunk-size", "7"], ["--chunk-size", "1000"])]
    assert outs[0] == outs[1] == outs[2]
    assert len(outs[0].splitlines()) == 1001


@pytest.mark.parametrize("args, content, message", [
    (["x*y"], "x\n1\n", "has no column for y"),
    (["x*y"], "", "is empty: it needs a header row"),
    (["x*y"], "x,x,y\n1,2,3\n", "the column x appears twice"),
    (["x*y", "--at", "y=1"], "x,y\n1,2\n", "y is given both by --at and by a column"),
    (["x*y", "--at", "x=1", "--at", "x=2"], "x,y\n1,2\n", "give it once"),
    (["x*y", "--exact"], "x,y\n1,2\n", "--exact takes one point"),
    (["x*y", "--format", "latex"], "x,y\n1,2\n", "--format latex does not carry several points"),
])
def test_points_file_usage_errors(tmp_path, args, content, message):
    (tmp_path / "p.csv").write_text(content)
    code, out, err = run(*args, "--points", str(tmp_path / "p.csv"))
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_missing_points_file_and_invalid_utf8(tmp_path):
    code, _out, err = run("x", "--points", str(tmp_path / "nope.csv"))
    assert code == 2 and "cannot read" in err
    (tmp_path / "p.csv").write_bytes(b"x\n1\n\xff\n")
    code, _out, err = run("x", "--points", str(tmp_path / "p.csv"))
    assert code == 2 and "is not UTF-8 text" in err


def test_repeated_at_must_give_the_same_variables():
    code, _out, err = run("x*y", "--at", "x=1,y=2", "--at", "x=1")
    assert code == 2 and "--at number 2 gives x, but the first gives x, y" in err


def test_machine_formats_need_a_point():
    code, _out, err = run("x*y", "--format", "csv")
    assert code == 2 and "--format csv needs a point" in err


# --- colour and completion --------------------------------------------------------------------

COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7])(?:;[0-9]+)*m")   # SGR foreground


def test_colour_only_when_asked_for_and_never_with_no_color():
    forced = {"FORCE_COLOR": "1", "COLUMNS": "100"}
    args = ["log(x)", "--at", "x=1", "--at", "x=-1", "--no-check"]   # the error cell is red
    _c, out, _e = run(*args, env=forced)
    assert COLOUR.search(out)
    for env, extra in ((forced, ["--no-color"]), ({**forced, "NO_COLOR": "1"}, [])):
        _c, out, _e = run(*args, *extra, env=env)
        assert not COLOUR.search(out) and "log(x) is undefined" in out
    _c, out, _e = run(*args)                      # a pipe: plain text
    assert "\x1b[" not in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts(shell):
    code, out, _ = run(env={"_GRADCALC_COMPLETE": f"{shell}_source"})
    assert code == 0 and "_GRADCALC_COMPLETE" in out


def test_bash_completion_completes_options_and_formats():
    env = {"_GRADCALC_COMPLETE": "bash_complete", "COMP_WORDS": "gradcalc x --form",
           "COMP_CWORD": "2"}
    assert run(env=env)[1].split() == ["plain,--format"]
    env = {**env, "COMP_WORDS": "gradcalc x --format j", "COMP_CWORD": "3"}
    assert run(env=env)[1].split() == ["plain,json", "plain,jsonl"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_completion_installs_in_bash(tmp_path):
    script = ('eval "$(_GRADCALC_COMPLETE=bash_source gradcalc)"; '
              "COMP_WORDS=(gradcalc x --for); COMP_CWORD=2; _gradcalc_completion gradcalc; "
              'echo "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                       env={**os.environ, "PATH": f"{Path(EXE).parent}:{os.environ['PATH']}"})
    assert p.stdout.split() == ["--format"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal_only(tmp_path):
    from tests.terminal import run_with_terminal_stderr

    write_points(tmp_path / "p.csv", 80_000)          # over the 4 MB threshold
    assert (tmp_path / "p.csv").stat().st_size > 4 * 2**20
    code, out, seen = run_with_terminal_stderr(
        [EXE, "x*y + z", "--points", str(tmp_path / "p.csv"), "--format", "csv", "--no-check"])
    assert code == 0
    assert len(out.splitlines()) == 80_001 and b"points" not in out
    assert b"points" in seen and b"MB" in seen           # the bar went to the terminal
    code, _out, err = run("x*y + z", "--points", str(tmp_path / "p.csv"), "--format", "csv",
                          "--no-check")
    assert code == 0 and err == ""                        # and not to a pipe


def test_quoted_fields_with_newlines_across_chunks(tmp_path):
    (tmp_path / "p.csv").write_text('x,note\n1,"two\nlines"\n2,plain\n"3",x\n')
    for chunk in ("1", "2", "100"):
        code, out, err = run("x^2", "--points", str(tmp_path / "p.csv"), "--format", "jsonl",
                             "--no-check", "--keep-columns", "--chunk-size", chunk)
        assert code == 0, err
        objs = [json.loads(line) for line in out.splitlines()]
        assert [(o["point"]["x"], o["columns"]["note"], o["value"]) for o in objs] == [
            (1.0, "two\nlines", 1.0), (2.0, "plain", 4.0), (3.0, "x", 9.0)]


def test_fast_math_through_the_cli(tmp_path):
    """--fast-math: the same rows, each number within a few ulp of the exact run's (exactly it
    where the kernels are not built); an error row stays an error row; one point ignores it.
    (With --scheduler: tests/test_dask.py.)"""
    from gradcalc import fastmath

    points = tmp_path / "p.csv"
    write_points(points, 3000, seed=5)
    with open(points, "a") as f:
        f.write("-1,0.5,800\n")   # exp(-z^2) underflows; log(1 + x^2) fine: computed
        f.write("oops,1,2\n")     # malformed
    code, exact, _ = run(SOURCE, "--points", str(points), "--format", "csv", "--no-check")
    code_f, fast, err = run(SOURCE, "--points", str(points), "--format", "csv", "--no-check",
                            "--fast-math")
    assert code == code_f == 2 and "malformed" in err
    a = list(csv.reader(io.StringIO(exact)))
    b = list(csv.reader(io.StringIO(fast)))
    assert len(a) == len(b) == 3003 and a[0] == b[0] and a[-1] == b[-1]
    differ = 0
    for ra, rb in zip(a[1:-1], b[1:-1], strict=True):
        assert ra[:3] == rb[:3] and ra[-1] == rb[-1] == ""
        for u, v in zip(ra[3:7], rb[3:7], strict=True):
            assert abs(float(u) - float(v)) <= 1e-13 * max(1.0, abs(float(u)))
            differ += u != v
    assert (differ > 0) == fastmath.available()
    one = run(SOURCE, "--at", "x=1,y=2,z=0.5", "--no-check", "--format", "json")
    assert run(SOURCE, "--at", "x=1,y=2,z=0.5", "--no-check", "--format", "json",
               "--fast-math") == one
