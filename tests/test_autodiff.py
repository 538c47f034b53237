"""The tape: what compile keeps, forward with an override, backward sums, and the float and SymPy
domains running the same rules."""

import math

import pytest

from gradcalc.autodiff import Tape
from gradcalc.domains import FLOAT, sympy_domain
from gradcalc.errors import EvaluationError
from gradcalc.syntax import parse_graph


def compile_(src, variables, output=None, extra=()):
    g = parse_graph(src)
    return g, Tape.compile(g, g.names[output or g.output], variables, extra)


def test_compile_keeps_only_the_outputs_ancestors():
    g, tape = compile_("a = x*2; b = y + 1; c = a*3", ("x", "y"), output="c")
    kept = {g.snippet(i) for i in tape.order}
    assert kept == {"x", "2", "x*2", "3", "a*3"}
    assert not tape.keeps(g.names["b"])
    assert tape.keeps(g.names["a"])


def test_arguments_without_variables_get_no_rule():
    g, tape = compile_("x^3", ("x",))
    (_i, _a, _b, rule_base, rule_exponent), = tape.backward_steps
    assert rule_base is not None and rule_exponent is None


def test_forward_backward_on_floats():
    _g, tape = compile_("q = x + y; f = z*q", ("x", "y", "z"))
    v = tape.forward(FLOAT, {"x": -2.0, "y": 5.0, "z": -4.0})
    assert v[tape.out] == -12.0
    g = tape.backward(FLOAT, v)
    assert [g[i] for i in range(3)] == [-4.0, -4.0, -4.0]   # x, y, q


def test_forward_with_override_replaces_one_node():
    g, tape = compile_("q = x + y; f = z*q", ("x", "y", "z"))
    v = tape.forward(FLOAT, {"x": -2.0, "y": 5.0, "z": -4.0}, override=(g.names["q"], 10.0))
    assert v[tape.out] == -40.0


def test_same_rules_in_the_sympy_domain():
    import sympy

    D = sympy_domain()
    x, y = sympy.symbols("x y", real=True)
    _g, tape = compile_("sin(x)*exp(y) + log(x, 2)", ("x", "y"))
    v = tape.forward(D, {"x": x, "y": y})
    g = tape.backward(D, v)
    f = v[tape.out]
    assert sympy.simplify(f - (sympy.sin(x) * sympy.exp(y) + sympy.log(x) / sympy.log(2))) == 0
    assert sympy.simplify(g[0] - sympy.diff(f, x)) == 0


def test_literals_are_exact_in_sympy():
    import sympy

    _g, tape = compile_("0.1*x", ("x",))
    x = sympy.Symbol("x", real=True)
    v = tape.forward(sympy_domain(), {"x": x})
    assert v[tape.out] == x / 10


def test_backward_sums_contributions_of_a_node_used_many_times():
    src = "a = x\n" + "\n".join("a = a + a" for _ in range(30))
    _g, tape = compile_(src, ("x",))
    v = tape.forward(FLOAT, {"x": 1.0})
    g = tape.backward(FLOAT, v)
    assert v[tape.out] == 2.0**30
    assert g[0] == 2.0**30


def test_first_failing_node_is_named():
    _g, tape = compile_("a = log(x); b = sqrt(x); a + b", ("x",))
    with pytest.raises(EvaluationError) as info:
        tape.forward(FLOAT, {"x": -1.0})
    assert info.value.message.startswith("log(x) is undefined")


def test_overflow_without_exception_is_caught():
    _g, tape = compile_("y = x*x; z = 1/y", ("x",))
    with pytest.raises(EvaluationError, match="x\\*x overflows"):
        tape.forward(FLOAT, {"x": 1e200})


def test_infinite_local_derivative_is_named():
    _g, tape = compile_("2*cbrt(x)", ("x",))
    v = tape.forward(FLOAT, {"x": 0.0})
    with pytest.raises(EvaluationError) as info:
        tape.backward(FLOAT, v)
    assert "the derivative of cbrt(x) with respect to x is not finite" in info.value.message


def test_kinks_hit_only_when_gradient_flows():
    _g, tape = compile_("relu(x)*0 + y", ("x", "y"))
    v = tape.forward(FLOAT, {"x": 0.0, "y": 1.0})
    assert tape.kinks_hit(v, tape.backward(FLOAT, v)) == []
    _g, tape = compile_("relu(x) + y", ("x", "y"))
    v = tape.forward(FLOAT, {"x": 0.0, "y": 1.0})
    assert len(tape.kinks_hit(v, tape.backward(FLOAT, v))) == 1


def test_float_domain_stability():
    assert FLOAT.sigmoid(-800.0) == pytest.approx(math.exp(-800.0))
    assert FLOAT.softplus(800.0) == 800.0
    assert FLOAT.cbrt(-8.0) == -2.0
