"""What people and scripts read: number formatting, carets, JSON and plain lines."""

import json

from gradcalc import gradient
from gradcalc.check import SKIPPED
from gradcalc.errors import GradcalcError
from gradcalc.numfmt import fmt
from gradcalc.render.formats import point_json, point_plain


def test_numbers():
    assert fmt(-12.0) == "-12"
    assert fmt(-0.0) == "0"
    assert fmt(0.1) == "0.1"
    assert fmt(1 / 3) == "0.3333333333333333"
    assert fmt(1 / 3, 6) == "0.333333"
    assert fmt(1e20) == "1e+20"
    assert fmt(2.5e-7, 3) == "2.5e-07"
    assert fmt(123.0, 3) == "123"
    assert fmt(123456789.0, 3) == "1.23e+08"       # --digits applies to integers too
    assert fmt(123456789.0) == "123456789"


def test_caret_excerpt():
    err = GradcalcError("bad", "a = 1\nb = log(x)\n", (10, 16))
    assert err.render() == "error: bad\n  line 2: b = log(x)\n              ^^^^^^"


def test_caret_on_a_long_line_is_windowed():
    src = "x + " * 100 + "log(y) + " + "x + " * 100 + "1"
    start = src.index("log(y)")
    err = GradcalcError("bad", src, (start, start + 6))
    line, carets = err.excerpt().splitlines()
    assert len(line) < 140
    assert line[carets.index("^"):carets.index("^") + 6] == "log(y)"


def test_json_round_trips_full_precision():
    r = gradient("sin(x)*y", x=0.1, y=3)
    out = json.loads(point_json(r, SKIPPED))
    assert out["value"] == r.value
    assert out["gradient"] == r.gradient
    assert set(out) >= {"output", "point", "value", "gradient", "check", "warnings"}


def test_plain_lines():
    r = gradient("q = x*y; q + 1", x=2, y=0.5, wrt=["x", "q"])
    assert point_plain(r) == "f = 2\ndf/dx = 0.5\ndf/dq = 1"


def test_one_line_with_a_trailing_newline_has_no_line_number():
    err = GradcalcError("bad", "x(y+1)\n", (0, 2))
    assert err.excerpt() == "  x(y+1)\n  ^^"


def test_simple_numbers():
    from gradcalc.numfmt import simple

    assert simple(0.9999999999999998) == "1"
    assert simple(0.1 + 0.2) == "0.3"
    assert simple(1 / 3) == "0.3333333333333333"
    assert simple(-0.19661193324148188) == "-0.19661193324148188"


def test_tidy_keeps_exp_and_shortens():
    import sympy

    from gradcalc.printing import tidy

    x = sympy.Symbol("x", real=True)
    # (a generous deadline: what is tested is the choice of form, not SymPy's speed under load)
    assert tidy((x**2 - 1) / (x - 1), seconds=60) == x + 1
    sig = 1 / (1 + sympy.exp(-x))
    assert not tidy(sig * (1 - sig), seconds=60).has(sympy.cosh)
