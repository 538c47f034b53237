"""The plain table (render/plain_table.py, issue 18): a point's table printed without rich when
stdout is not a terminal must be exactly what rich prints, character for character; and where it
cannot be sure, rich prints it."""

import io
import os
import random
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len
from rich.console import Console

from gradcalc.function import Result
from gradcalc.render import plain_table
from gradcalc.render.table import point_table
from gradcalc.verdicts import Check, PartialCheck

NAMES = ["x", "y", "z", "w1", "bias", "learning_rate_of_layer", "q", "α", "x_2"]
FORMULAS = ["2*x*sin(y)", "x + y", "z", "-1", "Piecewise((1, x > 0), (0, True))", "exp(x)/2",
            "x[1]", "a:b", "0", "sqrt(x)*log(y) + " * 12 + "1", "Heaviside(x)"]
NOTES = [None, "not differentiable here", "central differences", "SymPy gave up: 5 s"]
SOURCES = ["z*(x+y)", "q = x + y; f = z*q", "loss.gc\nq = x + y\nf = z*q", "x\t+ y",
           "relu(w1*x + bias)", "x" * 300, "  f = x + y  ", "a = 1\n" * 12 + "f = x"]


def _number(rng):
    return rng.choice([0.0, -0.0, 1.0, -2.0, 3.5, 1e-9, -123456.789, 2.0**60, 1 / 3,
                       rng.uniform(-100, 100), float(rng.randint(-9, 9)), 1e300, -4e-300])


def _case(rng):
    names = rng.sample(NAMES, rng.randint(0, 4))
    point = {n: _number(rng) for n in names}
    gradient = {n: rng.choice([_number(rng), None]) if rng.random() < 0.1 else _number(rng)
                for n in names}
    if names and rng.random() < 0.2:
        gradient["q"] = _number(rng)   # an intermediate, with or without its value
    result = Result(rng.choice(["f", "loss", "f"]), _number(rng), gradient, point,
                    intermediates={"q": 2.5} if rng.random() < 0.5 else {})
    method = rng.choice(["none", "none", "sympy", "finite-difference"])
    partials = tuple(
        PartialCheck(n, d, rng.choice([None, _number(rng)]), rng.choice(FORMULAS),
                     rng.choice(["agree", "agree", "kink", "ill-conditioned", "undetermined",
                                 "disagree", "skipped"]), rng.choice(NOTES))
        for n, d in gradient.items() if rng.random() < 0.9)
    status = "skipped" if method == "none" else rng.choice(["agree", "disagree",
                                                            "undetermined"])
    check = Check(method, status, partials if method != "none" else (),
                  value_status=rng.choice(["agree", "skipped", "ill-conditioned"]),
                  seconds=rng.uniform(0, 3), reason=rng.choice([None, "SymPy timed out"]))
    return rng.choice(SOURCES), result, check, rng.choice([6, 6, 3, 17]), rng.random() < 0.8


def _rich(source, result, check, digits, symbolic, width):
    """What the rich path prints to a file that is not a terminal (as Settings.console)."""
    file = io.StringIO()
    console = Console(file=file, width=width, highlight=False, force_terminal=False)
    point_table(console, source, result, check, digits, symbolic=symbolic)
    return file.getvalue()


@pytest.mark.parametrize("seed", range(30))
def test_the_plain_table_is_what_rich_prints(seed):
    rng = random.Random(seed)
    plain = 0
    for _ in range(40):
        case = _case(rng)
        width = rng.choice([80, 80, 120, 40, 60, 200, 25])
        text = plain_table.point_text(*case, width)
        if text is not None:
            plain += 1
            assert text == _rich(*case, width), case
    assert plain >= 5   # the plain path is taken, not always refused


@pytest.mark.parametrize("width", range(20, 50))
def test_at_every_width_near_the_table(width):
    rng = random.Random(width)
    for _ in range(10):
        source, result, check, digits, symbolic = _case(rng)
        text = plain_table.point_text(source, result, check, digits, symbolic, width)
        if text is not None:
            assert text == _rich(source, result, check, digits, symbolic, width)


def test_the_seed_example_by_hand():
    result = Result("f", -12.0, {"x": -4.0, "y": -4.0, "z": 3.0}, {"x": -2.0, "y": 5.0,
                                                                  "z": -4.0})
    check = Check("none", "skipped", reason="--no-check", value_status="skipped")
    assert plain_table.point_text("z*(x+y)", result, check, 6, True, 80) == (
        "program z*(x+y)\n"
        "at      x = -2, y = 5, z = -4\n"
        "f = -12\n"
        "\n"
        "variable   value   ∂f/∂var\n"
        "──────────────────────────\n"
        "x             -2        -4\n"
        "y              5        -4\n"
        "z             -4         3\n"
        "not cross-checked (--no-check)\n")
    # narrower than the table: rich folds it, so the plain path does not print
    assert plain_table.point_text("z*(x+y)", result, check, 6, True, 25) is None


def test_its_characters_are_one_column_each_for_rich():
    assert all(cell_len(ch) == 1 for ch in plain_table._ONE_COLUMN)


def test_the_width_is_richs(monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    for columns in ("100", "37", "0"):
        monkeypatch.setenv("COLUMNS", columns)
        assert plain_table.plain_width() == Console(highlight=False).width == int(columns)
    monkeypatch.delenv("COLUMNS")
    assert plain_table.plain_width() == Console(highlight=False).width
    for name, value in (("FORCE_COLOR", ""), ("FORCE_COLOR", "1"), ("TTY_COMPATIBLE", "1")):
        monkeypatch.setenv(name, value)
        assert plain_table.plain_width() is None   # rich's own business
        monkeypatch.delenv(name)


def _cli(args, env):
    r = subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True,
                       text=True, env={**os.environ, **env}, check=False)
    # the check's time differs from run to run
    return r.returncode, re.sub(r"\d+\.\d\d s\)", "0.00 s)", r.stdout), r.stderr


@pytest.mark.parametrize("args", [
    ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--no-check"],
    ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--wrt", "x,q", "--no-check",
     "--digits", "3"],
    ["relu(x) + abs(y)", "--at", "x=0,y=0", "--no-check"],
    ["x^2*sin(y)", "--at", "x=1.5,y=0.3", "--check-timeout", "0"],
    ["q = x + y\nf = z*q", "--at", "x=-2,y=5,z=-4", "--no-check"],
])
def test_the_command_prints_the_same_either_way(args):
    # FORCE_COLOR set but empty: rich prints without colour (not a terminal) and the plain path
    # leaves it to rich; so the two runs differ only in which path printed
    for columns in ("80", "30"):
        plain = _cli(args, {"COLUMNS": columns})
        assert plain == _cli(args, {"COLUMNS": columns, "FORCE_COLOR": ""})
        assert plain[1].startswith("program ")
