"""The Python API and the engine behind it: values and gradients checked by hand."""

import math
import re

import pytest

import gradcalc
from gradcalc import EvaluationError, UsageError


def test_the_seed_example():
    r = gradcalc.gradient("z*(x+y)", x=-2, y=5, z=-4)
    assert r.value == -12.0
    assert r.gradient == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert r.output == "f"
    assert r.point == {"x": -2.0, "y": 5.0, "z": -4.0}


def test_parse_once_evaluate_many():
    f = gradcalc.parse("q = x + y; f = z*q")
    r = f.gradient(x=-2, y=5, z=-4)
    assert (r.value, r.gradient) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})
    r = f.gradient({"x": 1, "y": 2, "z": 3})
    assert (r.value, r.gradient) == (9.0, {"x": 3.0, "y": 3.0, "z": 3.0})
    assert f(x=1, y=1, z=1) == 2.0


def test_sigmoid_neuron_matches_hand_calculation():
    # CS231n's example: w = [2, -3, -3], x = [-1, -2]; f = 0.73, dw = [-0.2, -0.39, 0.2].
    r = gradcalc.gradient("1/(1+exp(-(w0*x0 + w1*x1 + w2)))",
                          w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
    s = 1 / (1 + math.exp(-1.0))
    local = s * (1 - s)
    assert r.value == pytest.approx(s, rel=1e-15)
    assert r.gradient == pytest.approx({"w0": -1 * local, "x0": 2 * local, "w1": -2 * local,
                                        "x1": -3 * local, "w2": local}, rel=1e-14)


def test_shared_node_receives_every_contribution():
    assert gradcalc.gradient("a = x; b = a + a; c = b + b", x=1).gradient == {"x": 4.0}
    # x is used three times: d(x*x*x)/dx = 3x^2
    assert gradcalc.gradient("x*x*x", x=2).gradient == {"x": 12.0}
    # two paths that meet: f = (x+y)*(x-y) -> df/dx = 2x, df/dy = -2y
    assert gradcalc.gradient("a = x + y; b = x - y; a*b", x=3, y=2).gradient == {
        "x": 6.0, "y": -4.0}


def test_gradient_with_respect_to_intermediates():
    f = gradcalc.parse("q = x + y; f = z*q")
    r = f.gradient(x=-2, y=5, z=-4, wrt=["q", "x", "z"])
    assert r.gradient == {"q": -4.0, "x": -4.0, "z": 3.0}


def test_intermediate_that_depends_on_no_variable():
    # n is a constant statement, but df/dn = x^n ln x still exists.
    r = gradcalc.gradient("n = 3; f = x^n", x=2, wrt=["x", "n"])
    assert r.gradient == pytest.approx({"x": 12.0, "n": 8 * math.log(2)})


def test_power_with_constant_exponent_at_negative_base():
    assert gradcalc.gradient("x^3", x=-2).gradient == {"x": 12.0}
    assert gradcalc.gradient("n = 3; x^n", x=-2).gradient == {"x": 12.0}


def test_output_picks_a_named_statement():
    f = gradcalc.parse("a = x*y; b = a + log(x)")
    r = f.gradient(x=2, y=3, output="a")
    assert (r.output, r.value, r.gradient) == ("a", 6.0, {"x": 3.0, "y": 2.0})
    # statements after the output are not evaluated, so their domain does not matter
    g = gradcalc.parse("a = x*y; b = log(-x)")
    assert g.gradient(x=2, y=3, output="a").value == 6.0


def test_missing_values_lists_every_name():
    with pytest.raises(UsageError) as info:
        gradcalc.gradient("a*b + c", b=1)
    assert info.value.message == "no value for a, c"


def test_unknown_names_are_errors():
    with pytest.raises(UsageError, match="no variable named w"):
        gradcalc.gradient("x + 1", x=1, w=2)
    with pytest.raises(UsageError, match="cannot differentiate with respect to nope"):
        gradcalc.gradient("x + 1", x=1, wrt=["nope"])
    with pytest.raises(UsageError, match="no statement is named 'g'"):
        gradcalc.gradient("x + 1", x=1, output="g")
    with pytest.raises(UsageError, match="computed by the program"):
        gradcalc.gradient("q = x + 1; q*2", x=1, q=3)


def test_constants_and_shadowing():
    r = gradcalc.gradient("pi*x^2", x=2)
    assert r.value == pytest.approx(4 * math.pi)
    assert r.gradient == {"x": pytest.approx(4 * math.pi)}
    r = gradcalc.gradient("pi*x^2", x=2, pi=3)
    assert r.value == 12.0
    assert r.gradient == {"x": 12.0, "pi": 4.0}
    assert any("pi is given a value" in w for w in r.warnings)


@pytest.mark.parametrize("src, point, grad, warning", [
    ("relu(x)", {"x": 0}, {"x": 0.0}, "relu'(0) = 0"),
    ("abs(x)", {"x": 0}, {"x": 0.0}, "abs'(0) = 0"),
    ("max(x, y)", {"x": 1, "y": 1}, {"x": 0.5, "y": 0.5}, "even split"),
    ("min(x, y, z)", {"x": 1, "y": 1, "z": 2}, {"x": 0.5, "y": 0.5, "z": 0.0}, "even split"),
])
def test_non_differentiable_points_follow_pytorch_and_warn(src, point, grad, warning):
    r = gradcalc.gradient(src, **point)
    assert r.gradient == grad
    assert any(warning in w for w in r.warnings)


def test_no_warning_away_from_kinks():
    assert gradcalc.gradient("relu(x) + abs(y) + max(x, y)", x=1, y=-2).warnings == ()


@pytest.mark.parametrize("src, point, message", [
    ("log(x)", {"x": -1}, "log(x) is undefined: it needs x > 0, but x = -1"),
    ("1/x", {"x": 0}, "1/x is undefined: it needs a nonzero denominator, but x = 0"),
    ("asin(2)", {}, "asin(2) is undefined: it needs -1 ≤ 2 ≤ 1"),
    ("sqrt(x-1)", {"x": 0}, "sqrt(x-1) is undefined: it needs x-1 ≥ 0, but x-1 = -1"),
    ("exp(x)", {"x": 1000}, "exp(x) overflows"),
    ("x*x*x", {"x": 1e200}, "x*x overflows"),
    ("(-8)^(1/3)", {}, "an integer exponent when the base is negative"),
    ("sqrt(x)", {"x": 0}, "the derivative of sqrt(x) with respect to x is not finite"),
    ("acosh(x)", {"x": 1}, "the derivative of acosh(x) with respect to x is not finite"),
    ("log(x, 1)", {"x": 2}, "it needs a base ≠ 1, but x = 2, base = 1"),
    ("1/0", {}, "1/0 is undefined: it needs a nonzero denominator, but denominator = 0"),
    ("x^0", {"x": 0}, None),
    ("x^y", {"x": -2, "y": 3}, "the derivative of x^y with respect to y is not a real number"),
    ("atanh(1)", {}, "it needs -1 < 1 < 1"),
])
def test_domain_errors_name_the_subexpression(src, point, message):
    if message is None:   # not an error: d(x^0)/dx = 0 everywhere, 0 included
        assert gradcalc.gradient(src, **point).gradient == {"x": 0.0}
        return
    with pytest.raises(EvaluationError) as info:
        gradcalc.gradient(src, **point)
    assert message in info.value.message


def test_domain_error_span_points_at_the_subexpression():
    with pytest.raises(EvaluationError) as info:
        gradcalc.gradient("y = 2*log(x+1)", x=-3)
    start, end = info.value.span
    assert info.value.source[start:end] == "log(x+1)"


def test_zero_upstream_gradient_skips_undefined_local_derivative():
    # f = 0*sqrt(x) is identically 0: its derivative at 0 is 0, not 0*inf.
    assert gradcalc.gradient("0*sqrt(x)", x=0).gradient == {"x": 0.0}


def test_no_nan_is_ever_returned():
    with pytest.raises(EvaluationError):
        gradcalc.gradient("x*x - x*x", x=1e200)   # inf - inf


def test_symbolic_gradient():
    s = gradcalc.parse("x^2*sin(y)").symbolic()
    import sympy

    x, y = sympy.symbols("x y", real=True)
    assert sympy.simplify(s.gradient["x"] - 2 * x * sympy.sin(y)) == 0
    assert sympy.simplify(s.gradient["y"] - x**2 * sympy.cos(y)) == 0


def test_symbolic_gradient_of_intermediate():
    s = gradcalc.parse("q = x + y; f = z*q").symbolic(wrt=["q", "z"])
    assert str(s.gradient["q"]) == "z"
    assert str(s.gradient["z"]) == "x + y"


def test_reassigned_input_name_means_the_input():
    # c is an input and then a statement: the partial is for the input, f = 4c^2 -> 8c
    assert gradcalc.gradient("c = 2*c; f = c*c", c=1).gradient == {"c": 8.0}
    assert gradcalc.gradient("x *= 3; f = x^2", x=1).gradient == {"x": 18.0}


def test_bare_output_does_not_shadow_an_input_named_f():
    r = gradcalc.gradient("2*f", f=3)
    assert (r.output, r.value, r.gradient) == ("out", 6.0, {"f": 2.0})


def test_api_rejects_bad_arguments():
    with pytest.raises(UsageError, match="wrt must be a list of names"):
        gradcalc.gradient("x*y", x=1, y=2, wrt="xy")
    with pytest.raises(UsageError, match="not a number"):
        gradcalc.gradient("x^2", x=10**400)


@pytest.mark.parametrize("src, message", [
    ("relu(sqrt(-x^2-1))", "SymPy cannot evaluate relu(sqrt(-x^2-1)): Invalid comparison"),
    ("max(sqrt(-x^2-1), 0)", "SymPy cannot evaluate max(sqrt(-x^2-1), 0)"),
    ("9^9^9^9*x", "its exact value would have about 3.7e+08 digits"),
    ("(-2)^y", "the derivative with respect to y is not a real number anywhere"),
    ("x/0", "x/0 is undefined for every real value of its variables"),
    ("1/0 + x", "1/0 is undefined"),
])
def test_symbolic_mode_never_returns_undefined_values(src, message):
    with pytest.raises(EvaluationError, match=re.escape(message)):
        gradcalc.parse(src).symbolic()


def test_symbolic_mode_keeps_exact_big_constants():
    import sympy

    s = gradcalc.parse("exp(1000)*x").symbolic()
    assert s.gradient["x"] == sympy.exp(1000)


def test_intermediate_values_only_for_nodes_on_the_tape():
    r = gradcalc.gradient("a = 2*x; b = y; f = b", x=1, y=2, wrt=["y", "a"])
    assert r.gradient == {"y": 1.0, "a": 0.0}
    assert r.intermediates == {}


def test_derivative_hints_for_powers():
    with pytest.raises(EvaluationError) as info:
        gradcalc.gradient("x^0.5", x=0)
    assert "is not finite" in info.value.message and "vertical slope" in info.value.hint


@pytest.mark.parametrize("src, grad, how", [
    ("sec(cbrt(x))", None, "undetermined"),   # a cusp: the slope is infinite on both sides
    ("x*sqrt(x)", 0.0, "limit from the right"),   # 1.5·sqrt(x) -> 0
    ("relu(-1 + 0*sqrt(x))", 0.0, None),   # 0*sqrt(x) is a structural zero: nothing to decide
])
def test_zero_times_infinite_local_derivative_is_decided_another_way(src, grad, how):
    r = gradcalc.Function(src).gradient(x=0)
    assert r.gradient == {"x": grad}
    assert (r.determined["x"].text if r.determined else None) == how
