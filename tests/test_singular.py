"""Singular points: never a wrong number with a ✓ (issue 12).

Each row of the issue is a test of value, status and exit code, through the command line (click's
runner) and the API. The true derivatives are by hand: cbrt(x)^3 = x; sqrt(x)^2 = x (x ≥ 0);
sin(sqrt(x))^2 = x - x²/3 + ...; cosh(sqrt(x)) = 1 + x/2 + ...; 1 - cos(sqrt(x)) = x/2 - ...;
acosh(1 + h)² = 2h - h²/3 + ...; and each masked function is constant near its point.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from gradcalc import EvaluationError, Function
from gradcalc.check import check_point
from gradcalc.cli import main


def run_json(program: str, at: str, *extra: str):
    r = CliRunner().invoke(main, [program, "--at", at, "--format", "json", *extra])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout), r.stderr


# --- 1. 0·∞ that is not structural: decided another way ---------------------------------------
ZERO_TIMES_INFINITY = [
    # program, point, true derivative, how it is decided (with SymPy's limit)
    ("cbrt(x)^3", "x=0", 1.0, "limit"),                       # defined on both sides
    ("sqrt(x)^2", "x=0", 1.0, "limit from the right"),
    ("sqrt(x)*sqrt(x)", "x=0", 1.0, "limit from the right"),
    ("sin(sqrt(x))^2", "x=0", 1.0, "limit from the right"),
    ("cosh(sqrt(x))", "x=0", 0.5, "limit from the right"),
    ("1 - cos(sqrt(x))", "x=0", 0.5, "limit from the right"),
    ("acosh(x)^2", "x=1", 2.0, "limit from the right"),
    ("x*sqrt(x) + x", "x=0", 1.0, "limit from the right"),     # x^1.5: quotients settle slowly
    ("asin(x) + acos(x)", "x=1", 0.0, "limit from the left"),  # π/2, defined for x ≤ 1
]


@pytest.mark.parametrize("program, at, true, how", ZERO_TIMES_INFINITY)
def test_zero_times_infinity_gives_the_true_derivative(program, at, true, how):
    code, out, err = run_json(program, at)
    assert code == 0, err
    assert out["gradient"]["x"] == true
    assert out["methods"]["x"] == how
    partial = out["check"]["partials"]["x"]
    assert partial["status"] == "agree"
    assert partial["method"] == "difference quotient"   # the second, independent method
    assert abs(partial["value"] - true) <= 1e-9
    assert out["check"]["status"] == "agree"
    assert "0·∞" in out["determined"]["x"]["why"] or "∞·0" in out["determined"]["x"]["why"]
    assert f"found by the {how}" in err


@pytest.mark.parametrize("program, at, true, how", ZERO_TIMES_INFINITY)
def test_without_sympy_the_difference_quotients_decide(program, at, true, how):
    point = dict(kv.split("=") for kv in at.split(","))
    r = Function(program).gradient({k: float(v) for k, v in point.items()}, limits=0)
    d = r.determined["x"]
    assert d.method == "difference quotient"
    assert d.side == how.removeprefix("limit").replace(" from the ", "").strip() or "both"
    assert abs(r.gradient["x"] - true) <= max(4 * d.error, 1e-12)
    assert d.error <= 1e-8


def test_no_check_says_difference_quotient_and_never_imports_sympy():
    import subprocess
    import sys

    # sympy made unimportable: any attempt to import it would fail the run
    code = ("import sys; sys.modules['sympy'] = None; from gradcalc.cli import entry; "
            "sys.argv = ['gradcalc', 'cbrt(x)^3', '--at', 'x=0', '--no-check', '--format', "
            "'json']; entry()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["methods"]["x"] == "difference quotient"
    assert abs(out["gradient"]["x"] - 1) <= 1e-12


@pytest.mark.parametrize("program, at, note", [
    ("sqrt(x^2)", "x=0", "the slopes from the left (-1) and from the right (1) differ"),
    ("sec(cbrt(x))", "x=0", "grow without bound"),     # a cusp: infinite slopes
    ("abs(sqrt(x))", "x=0", "grow without bound"),     # abs'(0) = 0 meets sqrt'(0) = ∞
    ("atan2(y, x)", "x=0,y=0", "grow without bound"),  # the value jumps at the origin
])
def test_undetermined_is_null_with_a_reason_and_exit_1(program, at, note):
    code, out, err = run_json(program, at)
    assert code == 1
    assert out["gradient"]["x"] is None
    assert out["methods"]["x"] == "undetermined"
    assert note in out["determined"]["x"]["note"]
    assert out["check"]["partials"]["x"]["status"] == "undetermined"
    assert out["check"]["status"] == "undetermined"
    assert "undetermined" in err


def test_undetermined_in_the_table_plain_and_csv():
    r = CliRunner().invoke(main, ["sqrt(x^2) + y", "--at", "x=0,y=2"])
    assert r.exit_code == 1
    assert "undetermined" in r.stdout and "agrees" not in r.stdout
    assert "1 agree, 1 undetermined" in r.stdout
    r = CliRunner().invoke(main, ["sqrt(x^2) + y", "--at", "x=0,y=2", "--format", "plain"])
    assert r.stdout.splitlines()[1:] == ["df/dx = undetermined", "df/dy = 1"]
    r = CliRunner().invoke(main, ["sqrt(x^2) + y", "--at", "x=0,y=2", "--format", "csv"])
    header, row = r.stdout.splitlines()
    assert row.startswith("0.0,2.0,,,,") and "∂f/∂x is undetermined" in row


# --- 2. structural zeros mask what flows through them -------------------------------------------
@pytest.mark.parametrize("program, at", [
    ("sqrt(relu(x))", "x=-1"),
    ("acosh(max(x, 1))", "x=0.5"),
    ("asin(min(x, 1))", "x=2"),
    ("asin(x^0)", "x=2"),
    ("x^relu(y)", "x=-2,y=-1"),
    ("abs(asin(relu(x)))", "x=-0.25"),
    ("sqrt(relu(x)) + 0*sqrt(x + 1)", "x=-1"),   # 0*sqrt(u) is flat in u
])
def test_a_structural_zero_masks_an_infinite_or_undefined_local_derivative(program, at):
    code, out, err = run_json(program, at)
    assert code == 0, err
    assert all(v == 0 for v in out["gradient"].values())
    assert set(out["methods"].values()) == {"reverse mode"}
    assert out["check"]["status"] == "agree"
    assert "not differentiable" not in err and "0·∞" not in err


def test_a_surviving_infinite_slope_is_still_an_error():
    with pytest.raises(EvaluationError, match="not finite"):
        Function("sqrt(x)").gradient(x=0)
    # relu'(0) = 0 is a convention, not a flat side: ∞·0 is undecided, and the quotients show
    # slopes 0 on the left and ∞ on the right
    r = Function("sqrt(relu(x))").gradient(x=0)
    assert r.gradient == {"x": None} and "grow without bound" in r.undetermined["x"]
    r = CliRunner().invoke(main, ["sqrt(max(x, y))", "--at", "x=0,y=-1"])
    assert r.exit_code == 2 and "not finite" in r.stderr   # x is the one selected


def test_a_zero_that_is_not_structural_does_not_mask():
    # relu(y)*sqrt(x) at y = -1: relu(y) = 0 multiplies sqrt'(0) = ∞; not a constant of the
    # program, so the partial is decided from the function: 0 (it is 0 for every x ≥ 0)
    r = Function("relu(y)*sqrt(x)").gradient(x=0.0, y=-1.0)
    assert r.gradient == {"x": 0.0, "y": 0.0}
    assert r.determined["x"].text == "limit from the right"


# --- 3. messages and signs ------------------------------------------------------------------------
def test_the_message_names_the_rule_that_fails():
    with pytest.raises(EvaluationError) as info:
        Function("x^-2.5").gradient(x=0)
    assert "an exponent ≥ 0 when the base is 0" in info.value.message
    assert "integer exponent" not in info.value.message
    with pytest.raises(EvaluationError) as info:
        Function("x^-2.5").gradient(x=-1)
    assert "an integer exponent when the base is negative" in info.value.message


def test_zeros_carry_no_sign():
    inside = Function("atan2(-y, x)").gradient(y=0.0, x=-1.0)
    given = Function("atan2(y, x)").gradient(y=-0.0, x=-1.0)
    assert inside.value == given.value == math.pi
    assert Function("atan2(y*(-1), x)")(y=0.0, x=-1.0) == math.pi
    code, out, err = run_json("atan2(-y, x)", "y=0,x=-1")
    assert code == 0 and out["value"] == math.pi and out["check"]["value_status"] == "agree"
    assert "jumps by 2π" in err   # the branch cut is a kink, not a ✓ on a slope


def test_signed_zero_rule_holds_for_many_points():
    import numpy as np

    batch = Function("atan2(-y, x)").gradient({"y": np.array([0.0, -0.0]),
                                               "x": np.array([-1.0, -1.0])})
    assert list(batch.value) == [math.pi, math.pi]


# --- 4. the check: no false alarms, no false comfort ----------------------------------------------
@pytest.mark.parametrize("program, at", [
    ("tan(sinh(x))", "x=22"),
    ("(sin(x) - 0.8414709848078965)^1.5", "x=1"),
])
def test_ill_conditioned_points_are_told_apart(program, at):
    code, out, err = run_json(program, at)
    assert code == 0
    assert out["check"]["partials"]["x"]["status"] == "ill-conditioned"
    assert out["check"]["status"] == "agree"
    assert "ill-conditioned" in err
    table = CliRunner().invoke(main, [program, "--at", at]).stdout
    assert "1 ill-conditioned" in table and "agrees" not in table


def test_a_wrong_rule_is_not_excused_as_ill_conditioned(monkeypatch):
    from gradcalc import ops

    sin = ops.REGISTRY["sin"]
    broken = type(sin)(**{**sin.__dict__, "partials": (lambda D, x, out: D.cos(x) * 1.001,)})
    monkeypatch.setitem(ops.REGISTRY, "sin", broken)
    fn = Function("sin(x)")
    r = fn.gradient(x=0.5)
    c = check_point(fn, r)
    assert c.by_name()["x"].status == "disagree" and c.status == "disagree"


def test_finite_difference_fallback_compares_within_its_error_estimate():
    program = "log10(abs(sec(tan(csc(x)))))"
    fn = Function(program)
    r = fn.gradient(x=2.4269)
    c = check_point(fn, r, timeout=0)   # no time for SymPy: difference quotients
    assert c.method == "finite-difference"
    p = c.by_name()["x"]
    assert p.status == "agree", p
    import sympy

    x = sympy.Symbol("x", real=True)
    exact = sympy.diff(sympy.log(sympy.Abs(sympy.sec(sympy.tan(sympy.csc(x))))) / sympy.log(10),
                       x).subs(x, sympy.Rational(2.4269)).evalf(30)
    assert abs(p.reference - float(exact)) <= 1e-9 * abs(float(exact))
    assert abs(r.gradient["x"] - float(exact)) <= 1e-12 * abs(float(exact))


def test_a_skip_checks_what_can_be_checked():
    fn = Function("abs(asin(relu(u)))")
    r = fn.gradient(u=-0.25)
    assert r.gradient == {"u": 0.0} and r.kinks == ()   # constant near -0.25: no kink to warn of
    p = check_point(fn, r).by_name()["u"]
    assert p.status == "agree" and "difference quotients from both sides" in p.note


def test_the_summary_line_counts_every_status():
    r = CliRunner().invoke(main, ["sqrt(x^2) + z + tan(sinh(y))", "--at", "x=0,y=22,z=1"])
    assert r.exit_code == 1
    line = " ".join(r.stdout.strip().splitlines()[-2:])
    assert "1 agree, 1 ill-conditioned, 1 undetermined" in line and "agrees" not in line


@pytest.mark.parametrize("program, at, exact", [
    ("cbrt(x)^3*y", "x=0,y=3", {"x": "3", "y": "0"}),
    ("acosh(x)^2", "x=1", {"x": "2"}),
    ("sqrt(relu(x))", "x=-1", {"x": "0"}),           # masked in exact arithmetic too
    ("sqrt(x^2) + y", "x=0,y=1", {"x": "undetermined", "y": "1"}),
])
def test_exact_and_high_precision_values_follow_the_same_rules(program, at, exact):
    code, out, _err = run_json(program, at, "--exact")
    assert out["exact"]["gradient"] == exact
    code, out, _err = run_json(program, at, "--precision", "30")
    assert out["precision"]["gradient"] == exact


@pytest.mark.parametrize("program, at", [
    ("(acosh(cos(1.5 - z)))^2", {"z": 1.5}),   # cos(1.5 - z) < 1 on both sides: defined at
    ("acos(-exp(z*z))", {"z": 0.0}),           # the point alone (found by benchmarks/singular)
])
def test_a_function_defined_at_the_point_alone_has_no_derivative(program, at):
    # float rounding makes f look defined very close by (cos(1e-9) is 1.0): not a side
    for limits in (0, 5.0):
        r = Function(program).gradient(at, limits=limits)
        assert r.gradient == {"z": None}
        assert "undefined on both sides" in r.undetermined["z"]


def test_a_zero_deadline_does_not_switch_off_an_outer_one():
    import time

    from gradcalc.deadline import Timeout, deadline

    started = time.monotonic()
    with pytest.raises(Timeout):
        with deadline(0.3):
            try:
                with deadline(0):
                    pass
            except Timeout:
                pass   # no time at all for the inner block
            while time.monotonic() - started < 5:
                pass
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("program, at", [
    ("ln(pow(cos(y), 3.0))^1.5", {"y": 0.0}),   # 0^1.5 at the edge; a negative base either side
    ("sqrt(-x^2)", {"x": 0.0}),
])
def test_an_isolated_point_of_the_domain_has_no_derivative(program, at):
    # reverse mode's rules give 0 here (1.5·0^0.5·...); found by benchmarks/singular.py
    r = Function(program).gradient(at)
    name = next(iter(at))
    assert r.gradient == {name: None}
    assert "defined at this point alone" in r.undetermined[name]
    assert Function("x^1.5").gradient(x=0.0).gradient == {"x": 0.0}   # one side: a slope
