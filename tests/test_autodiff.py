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


@pytest.mark.parametrize("seed", range(25))
def test_the_float_backward_loop_is_the_one_loop_number_for_number(seed):
    """Tape.float_backprop (issue 18: + - * without calling their rules) against _backprop in
    floats, on random programs and points: the same adjoints bit for bit (NaN and infinities
    included), or the same exception."""
    import random

    from tests.test_fast_path import _program, _value

    rng = random.Random(seed)
    compared = 0
    for _ in range(30):
        source, names = _program(rng)
        graph = parse_graph(source)
        names = [n for n in names if n in graph.inputs]
        tape = Tape.compile(graph, graph.names[graph.output], names)
        point = {n: rng.choice([rng.uniform(-3, 3), _value(rng)]) for n in names}
        if not all(type(x) is float for x in point.values()):
            continue
        try:
            v = tape.forward(FLOAT, point)
        except EvaluationError:
            continue
        try:
            tape.float_backprop(v)   # its first pass is the one loop's; the next ones its own
        except Exception:  # noqa: BLE001
            pass
        assert tape._float_steps is True
        outcome = []
        for run in (tape.float_backprop, lambda v, t=tape: t._backprop(FLOAT, v)):
            try:
                outcome.append(repr(run(v)))
            except Exception as exc:  # noqa: BLE001
                outcome.append(type(exc).__name__)
        assert outcome[0] == outcome[1], (source, point)
        compared += 1
    assert compared >= 10


def test_the_float_backward_loop_by_hand():
    _g, tape = compile_("a = x - y; b = -a; c = a*b + x*x; f = c - (y + 2)*x", ("x", "y"))
    x, y = 3.0, 5.0
    v = tape.forward(FLOAT, {"x": x, "y": y})
    assert tape.float_backprop(v) == tape.float_backprop(v)   # the one loop's pass, then its own
    assert isinstance(tape._float_steps, list)
    g = tape.float_backprop(v)
    # f = -(x-y)^2 + x^2 - (y+2)x: df/dx = -2(x-y) + 2x - (y+2), df/dy = 2(x-y) - x
    assert [g[i] for i in (0, 1)] == [-2 * (x - y) + 2 * x - (y + 2), 2 * (x - y) - x]
    assert g == tape._backprop(FLOAT, v)
