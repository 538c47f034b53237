"""Hostile input through the real command line, in a subprocess.

The contract: no Python traceback ever reaches a user. Bad input of any kind (parse errors, unknown
functions and names, domain errors, overflow, bad options, unreadable files) exits 2 with a message
on stderr that starts with "error:", with the input line and a caret under the offending spot where
there is one. Exit 1 only when the cross-check disagrees. NaN and inf are never printed as answers.

Tests marked ``xfail(strict=True)`` pin down bugs that are still open: each one fails today, and
will turn into an XPASS failure (so the marker gets removed) once the bug is fixed.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

GRADCALC = [sys.executable, "-m", "gradcalc"]


@dataclass
class Proc:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return strict_json(self.out)


def _env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GRADCALC_DEBUG", "FORCE_COLOR", "NO_COLOR", "PYTHONIOENCODING")}
    env.update(extra or {})
    return env


def run(*args, stdin: str | bytes | None = None, env=None, cmd=None, timeout=60) -> Proc:
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    p = subprocess.run([*(cmd or GRADCALC), *args], input=stdin, capture_output=True,
                       env=_env(env), timeout=timeout)
    return Proc(p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def strict_json(text: str):
    """json.loads that refuses NaN / Infinity (they are not JSON and never valid answers)."""
    return json.loads(text, parse_constant=_reject_constant)


def assert_no_crash(p: Proc):
    assert "Traceback" not in p.err, p.err
    assert "internal error" not in p.err, p.err
    assert "Exception ignored" not in p.err, p.err


def assert_error(p: Proc, message: str | None = None) -> list[str]:
    """Exit 2, nothing on stdout, stderr opens with 'error:' (and contains ``message``)."""
    assert_no_crash(p)
    assert p.code == 2, (p.code, p.out, p.err)
    assert p.out == ""
    assert p.err.startswith("error:"), p.err
    if message is not None:
        assert message in p.err.splitlines()[0], p.err
    return p.err.splitlines()


def caret(p: Proc) -> tuple[str, int, int]:
    """(the excerpt line, caret column, caret width) of an error message."""
    lines = p.err.splitlines()
    k = next(k for k, line in enumerate(lines) if line.strip() and set(line.strip()) == {"^"})
    col = lines[k].index("^")
    return lines[k - 1], col, lines[k].count("^")


def under_caret(p: Proc) -> str:
    """The text of the excerpt that the carets mark."""
    line, col, width = caret(p)
    return line[col:col + width]


def ok_json(*args, **kw):
    p = run(*args, "--format", "json", **kw)
    assert_no_crash(p)
    assert p.code == 0, (p.code, p.err)
    out = p.json
    for v in [out["value"], *out["gradient"].values()]:
        assert isinstance(v, float) and math.isfinite(v)
    return out


# --- parse errors: message and caret ----------------------------------------------------------

@pytest.mark.parametrize("program, message, marked", [
    ("(x+1", "'(' is never closed", "("),
    ("x+1)", "unmatched ')'", ")"),
    ("|x", "'|' is never closed", "|"),
    ("x+", "found the end of the input", None),
    ("x^", "found the end of the input", None),
    ("maximum(x)", "maximum is not a function gradcalc knows", "maximum"),
    ("xy z", "missing operator between xy and z", "z"),
    ("foo(x)", "foo is not a function", "foo"),
    ("atan2(x)", "atan2() takes two arguments, not 1", "atan2(x)"),
    ("sum(x, y)", "an axis of sum() is a whole number written in the program", "y"),
    ("max()", "max() needs one argument or two or more arguments", "max()"),
    ("sin(,x)", "expected a number, a name or '(' but found ','", ","),
    ("sin x", "sin is a function", "sin"),
    ("x²", "unexpected character '²'", "²"),
    ("_x", "unexpected character '_'", "_"),
    ("x ? 1", "unexpected character '?'", "?"),
    ("a = b = 1", "unexpected '='", "="),
    ("sin = 3", "sin is a function and cannot be assigned", "sin"),
    ("x; y", "an expression without a name must be the last statement", "x"),
    ("1e999*x", "too large for float64", "1e999"),
])
def test_parse_errors_point_at_the_offending_text(program, message, marked):
    p = run(program, "--at", "x=1,y=2", "--no-check")
    assert_error(p, message)
    line, col, width = caret(p)
    assert line.strip() == program
    if marked is not None:
        assert under_caret(p) == marked
    else:   # at the end of the input: one caret just past the last character
        assert (col, width) == (2 + len(program), 1)


def test_exact_caret_columns():
    assert caret(run("x+1)", "--at", "x=1")) == ("  x+1)", 5, 1)
    assert caret(run("z*(x+foo(y))", "--at", "x=1")) == ("  z*(x+foo(y))", 7, 3)
    assert caret(run("x^2 + y²", "--at", "x=1")) == ("  x^2 + y²", 9, 1)
    p = run("log(x) + 1", "--at", "x=-1", "--no-check")
    assert caret(p) == ("  log(x) + 1", 2, 6)


def test_superscript_gets_a_hint():
    p = run("x²", "--at", "x=3")
    assert_error(p)
    assert "hint: write powers with ^" in p.err


@pytest.mark.parametrize("program", ["", "# only a comment", "   \n\n  \t", ";;", "\n;\n# c\n"])
def test_empty_programs(program):
    assert_error(run(program, "--at", "x=1"), "the program is empty")
    assert_error(run("-", "--at", "x=1", stdin=program), "the program is empty")


def test_stray_semicolons_and_blank_lines_are_fine():
    out = ok_json(";;\n\nx^2;;\n;", "--at", "x=3", "--no-check")
    assert (out["value"], out["gradient"]) == (9.0, {"x": 6.0})


def test_no_program_and_both_program_and_file(tmp_path):
    assert_error(run(), "no program given")
    f = tmp_path / "p.gc"
    f.write_text("x", encoding="utf-8")
    assert_error(run("x", "-f", str(f), "--at", "x=1"), "not both")


# --- unicode -----------------------------------------------------------------------------------

def test_unicode_names_and_friendly_operators():
    out = ok_json("sin(θ)*θ", "--at", "θ=0", "--no-check")
    assert out["point"] == {"θ": 0.0}
    assert (out["value"], out["gradient"]) == (0.0, {"θ": 0.0})
    out = ok_json("−x^2 × 2 − 1", "--at", "x=3", "--no-check")       # U+2212 and U+00D7
    assert (out["value"], out["gradient"]) == (-19.0, {"x": -12.0})
    out = ok_json("x·y ÷ 4", "--at", "x=2,y=6", "--no-check")
    assert (out["value"], out["gradient"]) == (3.0, {"x": 1.5, "y": 0.5})
    out = ok_json("x + 1", "--at", "x=−2", "--no-check")              # unicode minus in --at
    assert out["value"] == -1.0


# --- long lines, files, stdin ------------------------------------------------------------------

def test_long_line_is_windowed_around_the_caret():
    program = "x+" * 100 + "foo(x)" + "+x" * 100
    p = run(program, "--at", "x=1")
    assert_error(p, "foo is not a function")
    line, col, width = caret(p)
    assert len(line) < 120 and "…" in line
    assert under_caret(p) == "foo"
    program = "x+" * 100 + "?"
    p = run(program, "--at", "x=1")
    assert_error(p, "unexpected character '?'")
    assert under_caret(p) == "?"
    assert caret(p)[0].endswith("x+?")


def test_error_on_line_3_of_a_file(tmp_path):
    f = tmp_path / "model.gc"
    f.write_text("a = x + 1\nb = a * 2  # fine\nc = b + foo(a)\nc\n", encoding="utf-8")
    p = run("-f", str(f), "--at", "x=1")
    assert_error(p, "foo is not a function")
    line, col, width = caret(p)
    assert line == "  line 3: c = b + foo(a)"
    assert (col, width) == (len("  line 3: c = b + "), 3)


def test_evaluation_error_on_line_3_of_a_crlf_file(tmp_path):
    f = tmp_path / "model.gc"
    f.write_bytes(b"a = x + 1\r\nb = a * 2\r\nc = log(b - 10)\r\n")
    p = run("-f", str(f), "--at", "x=1", "--no-check")
    assert_error(p, "log(b - 10) is undefined: it needs b - 10 > 0, but b - 10 = -6")
    line, col, width = caret(p)
    assert line.startswith("  line 3: c = log(b - 10)")
    assert under_caret(p) == "log(b - 10)"


def test_program_from_stdin():
    out = ok_json("-", "--at", "x=pi/4", stdin="sin(x)^2\n")
    assert out["value"] == pytest.approx(0.5, rel=1e-15)
    assert out["gradient"]["x"] == pytest.approx(1.0, rel=1e-15)
    assert out["check"]["status"] == "agree"
    p = run("-", "--at", "x=1", stdin="a = x*2\n\nb = a +\n")
    assert_error(p, "found the end of the line")
    assert caret(p)[0] == "  line 3: b = a +"


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.gc", tmp_path):
        p = run("-f", str(path), "--at", "x=1")
        assert_no_crash(p)
        assert p.code == 2
        assert str(path) in p.err


# --- size and depth ----------------------------------------------------------------------------

def test_100000_term_sum_is_fast(tmp_path):
    f = tmp_path / "sum.gc"
    f.write_text("+".join(["x"] * 100_000), encoding="utf-8")
    out = ok_json("-f", str(f), "--at", "x=2", "--no-check")   # (its time: benchmarks/engine.py)
    assert (out["value"], out["gradient"]) == (200_000.0, {"x": 100_000.0})
    out = ok_json("-f", str(f), "--at", "x=2", "--check-timeout", "0")
    assert out["check"]["method"] == "finite-difference"
    assert out["check"]["status"] == "agree"


def test_100000_statement_program(tmp_path):
    lines = ["v0 = x*1.00001"] + [f"v{k} = v{k - 1}*1.00001" for k in range(1, 100_000)]
    f = tmp_path / "chain.gc"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = ok_json("-f", str(f), "--at", "x=1", "--no-check")
    c = 1.00001 ** 100_000                     # ≈ e^0.999995
    assert out["output"] == "v99999"
    assert out["value"] == pytest.approx(c, rel=1e-9)
    assert out["gradient"]["x"] == pytest.approx(c, rel=1e-9)


def test_5000_deep_parentheses():
    program = "(" * 5000 + "x" + ")" * 5000
    out = ok_json(program, "--at", "x=2")
    assert (out["value"], out["gradient"]) == (2.0, {"x": 1.0})
    assert out["check"]["status"] == "agree"
    p = run(program, "--format", "plain", "--no-check")     # symbolic mode
    assert (p.code, p.out) == (0, "f = x\ndf/dx = 1\n")


def test_5000_deep_unclosed_parenthesis():
    p = run("(" * 5000 + "x", "--at", "x=1")
    assert_error(p, "'(' is never closed")
    assert under_caret(p) == "("
    assert caret(p)[0].endswith("((x")        # the innermost one, at the end of the line


def test_5000_deep_function_calls(tmp_path):
    f = tmp_path / "deep.gc"
    f.write_text("sin(" * 5000 + "x" + ")" * 5000, encoding="utf-8")
    v, d = 2.0, 1.0
    for _ in range(5000):
        v, d = math.sin(v), d * math.cos(v)
    out = ok_json("-f", str(f), "--at", "x=2", "--check-timeout", "2")
    assert out["value"] == pytest.approx(v, rel=1e-12)
    assert out["gradient"]["x"] == pytest.approx(d, rel=1e-9)
    assert out["check"]["status"] == "agree"
    p = run("-f", str(f), "--format", "plain")            # symbolic: too deep for SymPy
    assert_no_crash(p)
    assert p.code in (0, 2)
    if p.code == 2:
        assert p.err.startswith("error:")


def test_deep_error_inside_deep_calls():
    program = "sin(" * 5000 + "log(x)" + ")" * 5000
    p = run(program, "--at", "x=-1")
    assert_error(p, "log(x) is undefined")
    assert under_caret(p) == "log(x)"


# --- --at --------------------------------------------------------------------------------------

@pytest.mark.parametrize("at, message, marked", [
    ("x", "--at needs name=value, not 'x'", "x"),
    ("=3", "is not a variable name", None),
    ("1x=2", "'1x' is not a variable name", "1x"),
    ("x=abc", "the value of x may not use variables (abc)", "abc"),
    ("x=1,,y=2", "empty entry in --at", ","),
    ("x=1e999", "the number 1e999 is too large for float64", "1e999"),
    ("x=nan", "the value of x must be a finite number", "nan"),
    ("x=inf", "the value of x must be a finite number", "inf"),
    ("x=(1", "'(' is never closed", "("),
    ("x=1/0", "is undefined", "1/0"),
    ("x=log(-1)", "is undefined", "log(-1)"),
    ("x=exp(1000)", "overflows", "exp(1000)"),
    ("x==1", "found '='", "="),
    ("x=1;y=2", None, None),
])
def test_malformed_at(at, message, marked):
    p = run("x^2", "--at", at, "--no-check")
    assert_error(p, message)
    if marked is not None:
        assert caret(p)[0].strip() == at
        assert under_caret(p) == marked


def test_at_unknown_or_computed_variable():
    assert_error(run("x^2", "--at", "x=1,y=2"), "the program has no variable named y")
    assert_error(run("a = x*2; a + 1", "--at", "x=1,a=2"), "a is computed by the program")
    assert_error(run("a*b + c", "--at", "b=1"), "no value for a, c")


def test_at_values_are_constant_expressions():
    out = ok_json("x^2", "--at", " x = pi/4 ", "--no-check")
    assert out["value"] == pytest.approx((math.pi / 4) ** 2, rel=1e-15)
    out = ok_json("x*y", "--at", "x=max(1,2),y=--3", "--no-check")
    assert (out["value"], out["gradient"]) == (6.0, {"x": 3.0, "y": 2.0})


def test_empty_at_value_names_the_variable():
    lines = assert_error(run("x^2", "--at", "x=", "--no-check"))
    assert "program" not in lines[0] and "x" in lines[0]


def test_duplicate_at_name_is_rejected():
    assert_error(run("x^2", "--at", "x=1,x=2", "--no-check"))


# --- --wrt, --output ---------------------------------------------------------------------------

def test_wrt_and_output_unknown_names():
    prog = "q = x + y; f = z*q"
    at = ("--at", "x=-2,y=5,z=-4")
    p = run(prog, *at, "--wrt", "w")
    assert_error(p, "cannot differentiate with respect to w")
    assert "hint: choose among: x, y, z, q, f" in p.err
    assert_error(run(prog, *at, "--wrt", "x y"), "cannot differentiate with respect to x y")
    assert_error(run(prog, "--wrt", "w"), "cannot differentiate with respect to w")
    assert_error(run(prog, *at, "--output", "nope"), "no statement is named 'nope'")
    assert_error(run(prog, *at, "--output", "x"), "x is an input, not a statement")
    out = ok_json(prog, *at, "--wrt", "x,q", "--no-check")
    assert out["gradient"] == {"x": -4.0, "q": -4.0}
    out = ok_json(prog, *at, "--output", "q", "--wrt", "z", "--no-check")
    assert (out["output"], out["value"], out["gradient"]) == ("q", 3.0, {"z": 0.0})


def test_wrt_with_only_commas_is_an_error():
    assert_error(run("x*y", "--at", "x=1,y=2", "--wrt", ",,", "--no-check"))


# --- options -----------------------------------------------------------------------------------

BAD_OPTIONS = [
    ["--digits", "0"],
    ["--digits", "18"],
    ["--digits", "abc"],
    ["--check-timeout", "-1"],
    ["--format", "bogus"],
    ["--at"],
]


@pytest.mark.parametrize("extra", BAD_OPTIONS)
def test_bad_options_exit_2_without_traceback(extra):
    p = run("x", *(["--at", "x=1"] if extra != ["--at"] else []), *extra)
    assert_no_crash(p)
    assert (p.code, p.out) == (2, "")
    assert extra[0] in p.err


@pytest.mark.parametrize("extra", BAD_OPTIONS[::2])
def test_bad_options_use_the_error_format(extra):
    p = run("x", *(["--at", "x=1"] if extra != ["--at"] else []), *extra)
    assert_error(p)


def test_misspelt_option_is_reported_as_such():
    p = run("x^2", "--at", "x=1", "--formt", "json")
    assert p.code == 2
    assert "no such option" in p.err.lower() and "--formt" in p.err


@pytest.mark.parametrize("seconds", ["inf", "1e300"])
def test_huge_check_timeout(seconds):
    p = run("x^2", "--at", "x=3", "--check-timeout", seconds, "--format", "json")
    assert_no_crash(p)
    assert p.code in (0, 2)
    if p.code == 0:
        assert p.json["gradient"] == {"x": 6.0}


def test_nan_check_timeout_is_rejected():
    assert_error(run("x^2", "--at", "x=3", "--check-timeout", "nan"))


def test_leading_minus_program_without_double_dash():
    for args, grad in ((["-x^2", "--at", "x=3"], -6.0),
                       (["--at", "x=3", "--no-check", "-x^2"], -6.0),
                       (["--at=x=3", "--no-check", "-x^2"], -6.0),
                       (["-x^2", "--no-check", "--at=x=-3"], 6.0)):
        out = ok_json(*args)
        assert (out["value"], out["gradient"]) == (-9.0, {"x": grad})
    p = run("-x", "--at", "x=1", "--format", "plain", "--no-check")
    assert (p.code, p.out) == (0, "f = -1\ndf/dx = -1\n")


def test_console_script_executable():
    exe = shutil.which("gradcalc", path=str(Path(sys.executable).parent)) or shutil.which(
        "gradcalc")
    assert exe, "the gradcalc console script is not installed"
    p = run("-x^2", "--at", "x=3", "--format", "json", "--no-check", cmd=[exe])
    assert p.code == 0
    assert (p.json["value"], p.json["gradient"]) == (-9.0, {"x": -6.0})
    p = run("log(x)", "--at", "x=-1", cmd=[exe])
    assert_error(p, "log(x) is undefined: it needs x > 0, but x = -1")
    assert caret(p) == ("  log(x)", 2, 6)
    p = run("--help", cmd=[exe])
    assert p.code == 0 and p.out.startswith("Usage:")


def test_help_and_version_are_not_programs():
    p = run("-h")
    assert p.code == 0 and "Usage:" in p.out and "Exit codes" in p.out
    p = run("--version")
    assert p.code == 0 and "gradcalc" in p.out


# --- domain errors and overflow at the point ---------------------------------------------------

@pytest.mark.parametrize("program, at, message, marked", [
    ("log(x)", "x=-1", "log(x) is undefined: it needs x > 0, but x = -1", "log(x)"),
    ("1 + 1/x", "x=0", "1/x is undefined: it needs a nonzero denominator, but x = 0", "1/x"),
    ("asin(x)", "x=2", "asin(x) is undefined: it needs -1 ≤ x ≤ 1, but x = 2", "asin(x)"),
    ("asin(2)*x", "x=1", "asin(2) is undefined", "asin(2)"),
    ("sqrt(x)", "x=-1", "sqrt(x) is undefined: it needs x ≥ 0, but x = -1", "sqrt(x)"),
    ("exp(x)", "x=1000", "exp(x) overflows", "exp(x)"),
    ("x*x*x", "x=1e200", "x*x overflows", "x*x"),
    ("sqrt(x)", "x=0", "the derivative of sqrt(x) with respect to x is not finite", "sqrt(x)"),
    ("(-8)^(1/3) + x", "x=1", "(-8)^(1/3) is undefined", "(-8)^(1/3)"),
    ("x^(1/3)", "x=-8", "x^(1/3) is undefined", "x^(1/3)"),
    ("a = x*y; a + a", "x=1e-300,y=1e308", "the derivative of x*y", "x*y"),
])
def test_domain_errors_at_the_point(program, at, message, marked):
    p = run(program, "--at", at, "--no-check")
    assert_error(p, message)
    assert under_caret(p) == marked


def test_domain_errors_with_the_cross_check_on():
    for program, at in (("log(x)", "x=-1"), ("sqrt(x)", "x=0"), ("x*x*x", "x=1e200")):
        assert_error(run(program, "--at", at, "--check-timeout", "2"))


def test_numbers_near_the_edges_are_fine():
    out = ok_json("cbrt(x)", "--at", "x=-8", "--no-check")
    assert out["value"] == -2.0
    assert out["gradient"]["x"] == pytest.approx(1 / 12, rel=1e-15)
    out = ok_json("exp(x)", "--at", "x=709.78", "--no-check")
    assert out["value"] == pytest.approx(math.exp(709.78), rel=1e-15)
    out = ok_json("x^2", "--at", "x=1e154", "--no-check")
    assert (out["value"], out["gradient"]["x"]) == (1e308, 2e154)
    out = ok_json("softplus(x) + sigmoid(-x)", "--at", "x=1000", "--no-check")
    assert (out["value"], out["gradient"]["x"]) == (1000.0, 1.0)


def test_kink_warns_but_succeeds():
    p = run("abs(x) + max(x, y)", "--at", "x=0,y=0", "--format", "json")
    assert_no_crash(p)
    assert p.code == 0
    assert p.json["gradient"] == {"x": 0.5, "y": 0.5}
    assert "warning: abs(x) is not differentiable" in p.err


@pytest.mark.parametrize("program, at, value, grad", [
    ("x + 0", "x=1e308", 1e308, 1.0),
    ("x*1", "x=1e308", 1e308, 1.0),
    ("(x*1)*1e308", "x=1", 1e308, 1e308),
    ("x*1e308 - x*1e308", "x=1", 0.0, 0.0),
])
def test_large_but_finite_values(program, at, value, grad):
    out = ok_json(program, "--at", at, "--no-check")
    assert (out["value"], out["gradient"]["x"]) == (value, grad)


def test_infinite_gradient_is_never_printed():
    for fmt in ("plain", "json"):
        p = run("sin(y*x) + sin(y*x)", "--at", "x=0,y=1e308", "--format", fmt, "--no-check")
        assert_no_crash(p)
        assert "inf" not in p.out.lower()
        assert p.code == 2 and p.err.startswith("error:")


def test_power_zero_at_zero():
    out = ok_json("x^0", "--at", "x=0", "--no-check")
    assert (out["value"], out["gradient"]) == (1.0, {"x": 0.0})


# --- symbolic mode: no NaN, zoo or complex answers ---------------------------------------------

@pytest.mark.parametrize("program", ["1/0", "0/0", "log(-1)", "x + 1/0", "x/0"])
def test_symbolic_mode_rejects_undefined_constants(program):
    p = run(program, "--format", "plain")
    assert_no_crash(p)
    for bad in ("nan", "zoo", "oo", "I"):
        assert not re.search(rf"\b{bad}\b", p.out), p.out
    assert p.code == 2 and p.err.startswith("error:")


# --- tokenizer edge cases ----------------------------------------------------------------------

def test_stray_backslash_is_an_error():
    p = run("2\\x", "--at", "x=3", "--no-check")
    assert_error(p, "unexpected character")
    assert under_caret(p) == "\\"


def test_backslash_newline_continues_the_line():
    out = ok_json("x +\\\n 1", "--at", "x=3", "--no-check")
    assert (out["value"], out["gradient"]) == (4.0, {"x": 1.0})


def test_caret_after_a_tab_lines_up():
    p = run("x +\t?", "--at", "x=1")
    assert_error(p, "unexpected character '?'")
    line, col, _ = caret(p)
    caret_line = p.err.splitlines()[p.err.splitlines().index(line) + 1]
    assert line.expandtabs().index("?") == caret_line.expandtabs().index("^")


# --- unreadable input --------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"\xff\xfe x+1", b"x + 1\n\x80\x81\n",
                                     bytes(range(256))])
def test_file_that_is_not_utf8(tmp_path, content):
    f = tmp_path / "bin.gc"
    f.write_bytes(content)
    assert_error(run("-f", str(f), "--at", "x=1"))


def test_stdin_that_is_not_utf8():
    p = run("-", "--at", "x=1", stdin=b"x+\xff", env={"PYTHONIOENCODING": "utf-8"})
    assert_error(p)


# --- output plumbing ---------------------------------------------------------------------------

def _head(args, n=10):
    """Run gradcalc with stdout into a pipe that is closed after n bytes, like `| head -c n`."""
    p = subprocess.Popen([*GRADCALC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=_env())
    head = p.stdout.read(n)
    p.stdout.close()
    err = p.stderr.read().decode("utf-8", "replace")
    code = p.wait(timeout=60)
    p.stderr.close()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err, err
    return head, code


def test_json_piped_into_head(tmp_path):
    n = 8000                                                    # JSON output over 250 kB
    f = tmp_path / "many.gc"
    f.write_text("+".join(f"x{k}" for k in range(n)), encoding="utf-8")
    at = ",".join(f"x{k}={k}" for k in range(n))
    for fmt in ("json", "plain"):
        head, code = _head(["-f", str(f), "--at", at, "--no-check", "--format", fmt])
        assert head.startswith(b"{" if fmt == "json" else b"f = ")
        assert code in (0, 141, -13)


def test_table_piped_into_head(tmp_path):
    f = tmp_path / "sum.gc"
    f.write_text("+".join(["x"] * 100_000), encoding="utf-8")     # a table over 200 kB
    head, code = _head(["-f", str(f), "--at", "x=1", "--no-check"])
    assert head.startswith(b"program")
    assert code in (0, 141, -13)


_COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])(;[0-9]+)*m")


def test_no_color():
    args = ("x^2", "--at", "x=3", "--no-check")
    coloured = run(*args, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert coloured.code == 0 and _COLOUR.search(coloured.out)      # the test can see colour
    plain = run(*args, env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"})
    assert plain.code == 0 and "f = " in plain.out
    assert not _COLOUR.search(plain.out)
    piped = run(*args)
    assert "\x1b[" not in piped.out


def test_warnings_stay_bounded():
    program = "max(" * 300 + "x" + ",x)" * 300
    p = run(program, "--at", "x=1", "--no-check", "--format", "json")
    assert p.code == 0
    assert p.json["gradient"]["x"] == 1.0
    assert len(p.err) < 64_000


# --- limits: size, nodes, depth, exact digits -------------------------------------------------

@pytest.mark.parametrize("args, message, hint", [
    (["x+x+x+x", "--at", "x=1", "--max-nodes", "3"], "the program has more than 3 nodes",
     "--max-nodes"),
    (["x+x+x+x", "--at", "x=1", "--max-size", "5"], "the program is 7 characters long; the "
     "limit is 5", "--max-size"),
    (["(((x)))", "--at", "x=1", "--max-depth", "2"], "nests parentheses, calls or |bars| more "
     "than 2 deep", "--max-depth"),
    (["x^2000", "--at", "x=1/3", "--exact", "--max-digits", "100"],
     "its exact value would have about 9.5e+02 digits (the limit is 100: --max-digits)", None),
])
def test_limits_are_clear_errors(args, message, hint):
    p = run(*args)
    lines = assert_error(p, message)
    if hint:
        assert any(line.startswith("hint: raise the limit with " + hint) for line in lines)


def test_limits_can_be_raised_or_lifted():
    p = run("(((x)))", "--at", "x=2", "--max-depth", "0", "--format", "plain", "--no-check")
    assert (p.code, p.out) == (0, "f = 2\ndf/dx = 1\n")
    p = run("x+x+x+x", "--at", "x=1", "--max-nodes", "5", "--format", "plain", "--no-check")
    assert (p.code, p.out) == (0, "f = 4\ndf/dx = 4\n")


def test_ten_megabytes_of_x_plus_is_refused_at_once(tmp_path):
    (tmp_path / "big.gc").write_text("x+" * 5_000_000 + "x")
    started = time.monotonic()
    p = run("-f", str(tmp_path / "big.gc"), "--at", "x=1")
    assert_error(p, "holds more than 5,000,000 characters; the limit is 5,000,000")
    assert time.monotonic() - started < 30


# --- found by fuzzing (fuzz/findings/README.md) --------------------------------------------------

def test_an_exponential_tower_in_symbolic_mode_never_exits_3():
    p = run("exp(x^exp(x^5))*acosh(y)", timeout=120)
    assert_no_crash(p)
    assert p.code in (0, 2), (p.code, p.err)
    if p.code == 0:
        assert "SymPy" in p.out


def test_complex_infinity_is_never_a_symbolic_answer():
    p = run("y/0^x")
    assert_error(p, "the program is undefined almost everywhere: SymPy makes its value zoo")
    # defined only at x = 0 (0^x is 1 there, 0 for x > 0): no derivative in x exists
    p = run("y/0^x", "--at", "x=0,y=2", "--format", "plain", "--no-check")
    assert_error(p, "the derivative of 0^x with respect to x is not a real number here")


def test_an_infinity_sympy_cannot_compare_is_refused_not_a_crash():
    """max(x, csc(relu(y))): taking relu's Piecewise away leaves Max(x, zoo), which SymPy
    refuses to build (found by tests/test_properties.py's hypothesis run): the same refusal as
    x + csc(relu(y)), exit 2, and numbers at a point."""
    for source in ("max(x, csc(relu(y)))", "min(csc(relu(y)), x)"):
        p = run(source)
        assert_error(p, "the program is undefined almost everywhere")
    p = run("max(x, csc(relu(y)))", "--at", "x=1,y=0.5", "--format", "plain", "--no-check")
    assert p.code == 0, p.err
    c = 1 / math.sin(0.5)   # f = csc(0.5), df/dy = -csc(0.5) cot(0.5) (to an ulp or two)
    words = p.out.split()
    assert words[:7] == ["f", "=", repr(c), "df/dx", "=", "0", "df/dy"]
    assert math.isclose(float(words[8]), -c / math.tan(0.5), rel_tol=5e-16)


def test_memory_is_capped_by_max_memory(tmp_path):
    (tmp_path / "big.gc").write_text("x" + "+x" * 400_000)
    p = run("-f", str(tmp_path / "big.gc"), "--at", "x=1", "--no-check", "--max-memory", "100")
    assert_no_crash(p)
    assert p.code == 2 and "error: out of memory (the limit is 100 MB: --max-memory)" in p.err
