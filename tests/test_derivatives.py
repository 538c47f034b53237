"""Derivatives of derivatives (issue 13): the rules closed under the registry, the graph and dual
domains, Hessians, order-N partials and directional derivatives, each against hand calculations
and SymPy (whose sympy.diff never sees our rules)."""

from __future__ import annotations

import json
import math

import pytest
import sympy
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcalc import EvaluationError, Function, GradcalcError
from gradcalc.cli import main
from gradcalc.derivatives import DUAL, GraphDomain, directional
from gradcalc.domains import FLOAT, mpmath_domain, numpy_domain, sympy_domain
from gradcalc.graph import Graph, program_text
from gradcalc.ops import OPS, REGISTRY, VARIADIC


# --- the rules are closed under the registry --------------------------------------------------
class Probe:
    """A stand-in value: arithmetic and comparisons work, so any rule can run on it."""

    def __init__(self, *_):
        pass

    def _op(self, *_):
        return Probe()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _op
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _op

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True

    __hash__ = object.__hash__


class Recorder:
    """A domain that records every function a rule asks it for."""

    CONSTANTS = ("zero", "one", "pi", "e")

    def __init__(self):
        self.used = set()

    def __getattr__(self, name):
        self.used.add(name)
        if name in self.CONSTANTS:
            return Probe()
        if name == "where":
            return lambda cond, then, otherwise: then()
        return lambda *args: Probe()


def used_names() -> set[str]:
    rec = Recorder()
    for op in OPS:
        n = 3 if op.arity == VARIADIC else op.arity
        xs = tuple(Probe() for _ in range(n))
        op.value(rec, *xs)
        if op.arity == VARIADIC:
            for k in range(n):
                op.partials[0](rec, k, xs, Probe())
        else:
            for rule in op.partials:
                rule(rec, *xs, Probe())
    return rec.used


CONTROL = {"zero", "one", "pi", "e", "literal", "where"}


def test_every_function_a_rule_uses_is_an_op():
    names = used_names()
    assert names - CONTROL <= set(REGISTRY), names - CONTROL - set(REGISTRY)
    assert {"sign", "step", "maxshare", "minshare", "sech"} <= names   # what rules are made of


@pytest.mark.parametrize("domain", ["float", "numpy", "sympy", "mpmath", "graph", "dual"])
def test_every_domain_has_every_function_the_rules_use(domain):
    D = {"float": lambda: FLOAT, "numpy": numpy_domain, "sympy": sympy_domain,
         "mpmath": lambda: mpmath_domain(30), "graph": lambda: GraphDomain(Graph("")),
         "dual": lambda: DUAL}[domain]()
    missing = [n for n in sorted(used_names() | {"literal", "where"}) if not hasattr(D, n)]
    assert missing == []


def test_a_missing_function_is_an_error_not_a_silent_fallback():
    with pytest.raises(AttributeError, match="not an op"):
        GraphDomain(Graph("")).tanh_slope   # noqa: B018


# --- the gradient as a program ------------------------------------------------------------------
def test_the_gradient_program_parses_back_and_gives_the_gradient():
    fn = Function("q = x + y; f = z*q + sin(x*y)")
    g = fn.gradient_program()
    point = {"x": 0.3, "y": -1.2, "z": 2.0}
    r = fn.gradient(point)
    for x in "xyz":
        text = program_text(g.graph, g.graph.names[f"df/d{x}"])
        again = Function(text)
        assert again({k: v for k, v in point.items() if k in again.variables}) == \
            pytest.approx(r.gradient[x], rel=1e-15, abs=1e-15)


def test_structural_zeros_fold_away_in_the_program():
    g = Function("relu(x) + 0*y").gradient_program()
    node = g.graph.nodes[g.graph.names["df/dy"]]
    assert (node.op, node.value) == ("const", 0.0)
    assert program_text(g.graph, g.graph.names["df/dy"]).endswith("result = 0.0")


# --- Hessians -----------------------------------------------------------------------------------
def test_rosenbrock_hessian_at_its_minimum():
    h = Function("(1-x)^2 + 100(y-x^2)^2").hessian(x=1, y=1)
    assert h.matrix == [[802.0, -400.0], [-400.0, 200.0]]
    # eigenvalues of [[802, -400], [-400, 200]]: 501 ± sqrt(301² + 400²)
    r = math.sqrt(301**2 + 400**2)
    assert h.eigenvalues == pytest.approx([501 - r, 501 + r], rel=1e-14)
    assert (h.definiteness, h.critical_point) == ("positive definite", "minimum")


@pytest.mark.parametrize("at, verdict", [({"x": 1, "y": 0}, "minimum"),
                                         ({"x": -1, "y": 0}, "saddle"),
                                         ({"x": 0.5, "y": 0}, None)])
def test_second_derivative_test(at, verdict):
    h = Function("x^3 - 3x + y^2").hessian(at)
    assert h.matrix == [[6.0 * at["x"], 0.0], [0.0, 2.0]]
    assert h.critical_point == verdict


def test_maximum_and_inconclusive():
    assert Function("-(x^2) - y^2").hessian(x=0, y=0).critical_point == "maximum"
    h = Function("x^4 + y^2").hessian(x=0, y=0)   # Hessian [[0, 0], [0, 2]]: the test says nothing
    assert h.matrix == [[0.0, 0.0], [0.0, 2.0]] and h.critical_point == "inconclusive"


def test_hessian_keeps_the_points_structural_zeros():
    # relu(x)·x is 0 for x < 0 and x² for x > 0
    assert Function("relu(x)*x").hessian(x=-1).matrix == [[0.0]]
    assert Function("relu(x)*x").hessian(x=2).matrix == [[2.0]]
    assert Function("sqrt(relu(x))").hessian(x=-1).matrix == [[0.0]]


def test_hessian_through_the_command_line():
    r = CliRunner().invoke(main, ["(1-x)^2 + 100(y-x^2)^2", "--at", "x=1,y=1", "--hessian",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["hessian"] == {"x": {"x": 802.0, "y": -400.0}, "y": {"x": -400.0, "y": 200.0}}
    assert out["critical_point"] == "minimum"
    assert out["higher_check"]["status"] == "agree"
    assert out["higher_check"]["counts"] == {"agree": 4}
    table = CliRunner().invoke(main, ["x^3 - 3x + y^2", "--at", "x=-1,y=0", "--hessian"]).stdout
    assert "a saddle point" in table and "indefinite" in table
    plain = CliRunner().invoke(main, ["x^3 - 3x + y^2", "--at", "x=1,y=0", "--hessian",
                                      "--format", "plain"]).stdout
    assert "d2f/dx2 = 6\nd2f/dxdy = 0\nd2f/dy2 = 2" in plain and "critical point = minimum" in plain


def test_symbolic_hessian_equals_sympys():
    x, y = sympy.symbols("x y", real=True)
    variables, rows = Function("x^2*y^3 + exp(x*y)").hessian()
    expected = sympy.hessian(x**2 * y**3 + sympy.exp(x * y), (x, y))
    assert variables == ("x", "y")
    for i in range(2):
        for j in range(2):
            assert sympy.simplify(rows[i][j] - expected[i, j]) == 0
    r = CliRunner().invoke(main, ["x^2*y^3", "--hessian"])
    assert r.exit_code == 0 and "∂²f/∂x∂y = 6*x*y^2   ✓" in r.stdout


# --- order N ----------------------------------------------------------------------------------
def test_third_derivative_of_sin_times_exp():
    d = Function("sin(x)*exp(x)").derivative(x=0, order=3)
    assert [(p.wrt, p.value) for p in d.partials] == [(("x", "x", "x"), 2.0)]
    r = CliRunner().invoke(main, ["sin(x)*exp(x)", "--at", "x=0", "--order", "3"])
    assert r.exit_code == 0 and "f'''(x) = 2" in r.stdout


def test_mixed_partials_by_multi_index():
    d = Function("x^2*y^3").derivative(x=1.5, y=2, order=3)
    assert {p.label: p.value for p in d.partials} == {
        "∂³f/∂x³": 0.0, "∂³f/∂x²∂y": 24.0, "∂³f/∂x∂y²": 36.0, "∂³f/∂y³": 13.5}
    r = CliRunner().invoke(main, ["x^2*y^3", "--at", "x=1.5,y=2", "--order", "3",
                                  "--format", "json"])
    out = json.loads(r.stdout)
    assert out["order"] == 3
    assert out["partials"][1]["wrt"] == ["x", "x", "y"] and out["partials"][1]["value"] == 24.0
    assert out["higher_check"]["status"] == "agree"


@pytest.mark.parametrize("args, message", [
    (["x^2", "--at", "x=1", "--order", "0"], "--order must be 1 or more"),
    (["x*y*z*w*v*u", "--at", "x=1,y=1,z=1,w=1,v=1,u=1", "--order", "9"], "distinct partials"),
    (["x^2", "--at", "x=1", "--hessian", "--order", "2"], "choose --hessian or --order"),
    (["x^2", "--at", "x=1", "--at", "x=2", "--hessian"], "one point"),
    (["x^2", "--at", "x=1", "--direction", "y=1"], "--direction names y"),
])
def test_bad_requests_are_usage_errors(args, message):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output


def test_a_second_derivative_at_a_kink_follows_the_kink_convention_and_says_so():
    h = Function("x*abs(x)").hessian(x=0)   # 2|x|'s slope: -2 from the left, 2 from the right
    assert h.matrix == [[0.0]]   # sign'(0) = 0 and abs'(0) = 0, as PyTorch's double backward
    assert any("not differentiable at (0)" in note for note in h.notes)


# --- forward mode -------------------------------------------------------------------------------
def test_directional_derivative_by_forward_mode():
    value, d, _rows = directional(Function("z*(x+y)"), {"x": -2.0, "y": 5.0, "z": -4.0},
                                  {"x": 1, "y": 2})
    assert (value, d) == (-12.0, -12.0)   # ∇f = (-4, -4, 3): -4 - 8
    r = CliRunner().invoke(main, ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4",
                                  "--direction", "x=1,y=2", "--steps"])
    assert r.exit_code == 0
    assert "Forward mode" in r.stdout and "∇f·v = -12" in r.stdout


# --- properties: random programs ---------------------------------------------------------------
SMOOTH = ["sin(A)", "cos(A)", "exp(A/3)", "A*B", "A + B", "A - B", "A^2", "A^3", "tanh(A)",
          "sigmoid(A)", "atan(A)", "sqrt(1 + A^2)", "log(2 + A^2)", "A/(1 + B^2)", "softplus(A)",
          "sinh(A/2)", "erf(A)", "cbrt(2 + A^2)", "asinh(A)", "sech(A)"]


@st.composite
def programs(draw):
    leaves = ["x", "y", "z", "0.5", "2"]
    exprs = list(leaves)
    for _ in range(draw(st.integers(2, 6))):
        template = draw(st.sampled_from(SMOOTH))
        a, b = draw(st.sampled_from(exprs)), draw(st.sampled_from(exprs))
        exprs.append(template.replace("A", f"({a})").replace("B", f"({b})"))
    return exprs[-1]


points = st.fixed_dictionaries({v: st.floats(-1.5, 1.5).map(lambda t: round(t, 3))
                                for v in "xyz"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), points)
def test_hessian_equals_sympys_and_is_symmetric(src, point):
    fn = Function(src)
    assume(fn.variables)
    at = {k: point[k] for k in fn.variables}
    try:
        h = fn.hessian(at)
    except GradcalcError:
        assume(False)
    symbols = {k: sympy.Symbol(k, real=True) for k in fn.variables}
    tape, *_ = fn.resolve(symbols, numeric=False, wrt=())
    expr = tape.forward(sympy_domain(), symbols)[tape.out]
    subs = {symbols[k]: sympy.Rational(v) for k, v in at.items()}
    for i, a in enumerate(fn.variables):
        for j, b in enumerate(fn.variables):
            ref = float(sympy.diff(expr, symbols[a], symbols[b]).xreplace(subs).evalf(30))
            ours = h.matrix[i][j]
            assert ours == pytest.approx(ref, rel=1e-9, abs=1e-9), (src, a, b)
            assert ours == pytest.approx(h.matrix[j][i], rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), points, st.fixed_dictionaries({v: st.integers(-3, 3) for v in "xyz"}))
def test_directional_equals_gradient_dot_direction(src, point, v):
    fn = Function(src)
    assume(fn.variables)
    at = {k: point[k] for k in fn.variables}
    try:
        r = fn.gradient(at)
        _value, d, _rows = directional(fn, at, {k: v[k] for k in fn.variables})
    except (GradcalcError, EvaluationError):
        assume(False)
    dot = sum(r.gradient[k] * v[k] for k in fn.variables)
    assert d == pytest.approx(dot, rel=1e-12, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), points)
def test_differentiating_the_gradient_program_gives_the_hessians_rows(src, point):
    fn = Function(src)
    assume(fn.variables)
    at = {k: point[k] for k in fn.variables}
    try:
        h = fn.hessian(at)
        g = fn.gradient_program()
        rows = [g.gradient(at, output=f"df/d{a}").gradient for a in fn.variables]
    except GradcalcError:
        assume(False)
    for i, _a in enumerate(fn.variables):
        for j, b in enumerate(fn.variables):
            assert rows[i][b] == pytest.approx(h.matrix[i][j], rel=1e-12, abs=1e-12)


# --- several outputs and the Jacobian ---------------------------------------------------------
def test_polar_map_jacobian_and_its_determinant():
    fn = Function("u = r*cos(t); v = r*sin(t)")
    j = fn.jacobian(r=2.0, t=0.5, outputs=["u", "v"])
    assert j.matrix == [[math.cos(0.5), -2 * math.sin(0.5)], [math.sin(0.5), 2 * math.cos(0.5)]]
    assert j.determinant == pytest.approx(2.0, rel=1e-15)   # r
    r, t = sympy.symbols("r t", real=True)
    assert fn.jacobian(outputs=["u", "v"]).determinant == r
    out = json.loads(CliRunner().invoke(main, ["u = r*cos(t); v = r*sin(t)", "-o", "u,v",
                                               "--jacobian", "--at", "r=2,t=0.5", "--format",
                                               "json"]).stdout)
    assert out["jacobian"]["v"] == {"r": math.sin(0.5), "t": 2 * math.cos(0.5)}
    assert out["determinant"] == pytest.approx(2.0, rel=1e-15)
    assert {c["status"] for c in out["checks"].values()} == {"agree"}


def test_several_outputs_without_jacobian_give_one_gradient_each():
    out = json.loads(CliRunner().invoke(main, ["q = x*y; f = q + x", "-o", "q,f", "--at",
                                               "x=2,y=3", "--format", "json"]).stdout)
    assert out["gradients"] == {"q": {"x": 3.0, "y": 2.0}, "f": {"x": 4.0, "y": 2.0}}
    assert "determinant" not in out


def test_jacobian_needs_outputs():
    r = CliRunner().invoke(main, ["x*y", "--at", "x=1,y=2", "--jacobian"])
    assert r.exit_code == 2 and "-o u,v" in r.stderr


def test_directional_api():
    assert Function("x^2*y").directional(x=1.0, y=3.0, direction={"x": 1, "y": -1}) == (3.0, 5.0)


# --- --expect and problem sets understand higher derivatives ----------------------------------
@pytest.mark.parametrize("answers, point", [
    ("d2f/dx2=24,d2f/dxdy=12,d^2f/dy^2=2,d3f/dx2dy=24,∂²f/∂x∂y=12", "x=1,y=2"),
    ("d2f/dxdy=6*x^2*y,d2f/dx2=6*x*y^2", None),
])
def test_expect_higher_derivatives(answers, point):
    args = ["x^3*y^2", "--expect", answers, "--format", "json"]
    if point:
        args += ["--at", point]
    out = json.loads(CliRunner().invoke(main, args).stdout)
    assert [a["ok"] for a in out["expect"]] == [True] * len(answers.split(","))


def test_expect_primes_and_wrong_higher_answers():
    r = CliRunner().invoke(main, ["sin(x)*exp(x)", "--at", "x=0", "--expect", "f'''=2,f''=3"])
    assert r.exit_code == 1 and "1 of 2 right" in r.stdout
    r = CliRunner().invoke(main, ["x*y", "--at", "x=1,y=1", "--expect", "f''=0"])
    assert r.exit_code == 2 and "primes mean" in r.stderr
    r = CliRunner().invoke(main, ["x*y", "--at", "x=1,y=1", "--expect", "d2f/dxdz=0"])
    assert r.exit_code == 2 and "'dz' does not start with d and a variable" in r.stderr


def test_problem_set_with_second_derivatives():
    r = CliRunner().invoke(main, ["check", "examples/homework.toml", "--format", "json"])
    out = json.loads(r.stdout)
    last = out["problems"][-1]
    assert [a["name"] for a in last["answers"]] == ["d2f/dx2", "d2f/dxdy", "d2f/dy2", "d3f/dx3"]
    assert all(a["ok"] for a in last["answers"]) and last["right"] == 4


# --- Newton's method ----------------------------------------------------------------------------
def test_newton_finds_a_quadratics_minimum_in_one_step():
    # (x-3)² + 2(y+1)² + xy: ∇ = (2(x-3) + y, 4(y+1) + x) = 0 at (4, -2), f = -5
    r = CliRunner().invoke(main, ["descend", "(x-3)^2 + 2*(y+1)^2 + x*y", "--from", "x=0,y=0",
                                  "--optimizer", "newton", "--format", "json"])
    out = json.loads(r.stdout)
    assert out["point"] == {"x": 4.0, "y": -2.0} and out["value"] == -5.0
    assert out["steps"] == 1 and out["converged"]
    assert out["optimizer"] == {"name": "newton", "lr": 1.0, "damping": [0.0]}


def test_newton_damps_where_the_hessian_is_not_positive_definite():
    r = CliRunner().invoke(main, ["descend", "x^3 - 3*x + y^2", "--from", "x=-0.5,y=1",
                                  "--optimizer", "newton", "--steps", "50", "--format", "json"])
    out = json.loads(r.stdout)
    assert out["converged"] and out["point"]["x"] == pytest.approx(1.0, abs=1e-8)
    # at x = -0.5 the Hessian is diag(-3, 2): λ = 3 + 1e-3·3 lifts it to positive definite
    assert out["optimizer"]["damping"][0] == pytest.approx(3.003, rel=1e-12)
    table = CliRunner().invoke(main, ["descend", "x^3 - 3*x + y^2", "--from", "x=-0.5,y=1",
                                      "--optimizer", "newton", "--steps", "50"]).stdout
    assert "damped Newton steps" in table


def test_fit_refuses_newton():
    r = CliRunner().invoke(main, ["fit", "(w*x - y)^2", "--data", "examples/line.csv",
                                  "--params", "w=0", "--optimizer", "newton"])
    assert r.exit_code == 2 and "newton is for descend" in r.stderr


# --- implicit differentiation -------------------------------------------------------------------
def test_implicit_circle():
    out = json.loads(CliRunner().invoke(main, ["x^2 + y^2 = 25", "--implicit", "y", "--at",
                                               "x=3,y=4", "--order", "2", "--format",
                                               "json"]).stdout)
    # dy/dx = -x/y = -3/4; d²y/dx² = -(x² + y²)/y³ = -25/64
    assert out["implicit"] == {"dy/dx": -0.75, "d2y/dx2": -25 / 64}
    assert out["residual"] == 0.0 and out["check"]["status"] == "agree"
    assert out["check"]["partials"]["dy/dx"]["symbolic"] == "-x/y"


def test_implicit_symbolic_and_with_statements():
    r = CliRunner().invoke(main, ["r2 = x^2 + y^2; r2 = 25", "--implicit", "y"])
    assert r.exit_code == 0 and "dy/dx = -x/y   ✓" in r.stdout


@pytest.mark.parametrize("args, code, message", [
    (["x^2 + y^2 = 25", "--implicit", "y", "--at", "x=5,y=0"], 2, "∂F/∂y = 0"),
    (["x^2 + y^2", "--implicit", "y", "--at", "x=3,y=4"], 2, "needs an equation"),
    (["x^2 + y^2 = 25", "--implicit", "z", "--at", "x=3,y=4"], 2, "z is not a variable"),
    (["x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=5"], 0, "not on the curve: left - "
                                                                 "right = 9"),
])
def test_implicit_bad_input(args, code, message):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == code and message in r.stderr


def test_the_readme_examples_of_higher_derivatives_run_as_written():
    import doctest
    import pathlib

    text = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    section = text[text.index("## Higher derivatives"):text.index("## Python API")]
    start = section.index("```python\n>>>") + len("```python\n")
    block = section[start:section.index("```", start)]
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


# --- the one backward loop: an op that supplies only a VJP -------------------------------------
def test_an_op_with_only_a_vjp_runs_in_every_domain(monkeypatch):
    from gradcalc import ops

    # hypot(x, y) = sqrt(x² + y²), given only as a VJP: upstream·(x, y)/out
    hypot = ops.Op("hypot", 2, lambda D, x, y: D.sqrt(x * x + y * y), (), ("x", "y"),
                   calls=("hypot",),
                   vjp=lambda D, g, xs, out: (g * xs[0] / out, g * xs[1] / out))
    monkeypatch.setitem(ops.REGISTRY, "hypot", hypot)
    monkeypatch.setitem(ops.FUNCTIONS, "hypot", {2: hypot})
    fn = Function("hypot(x, y) + x")
    r = fn.gradient(x=3.0, y=4.0, limits=0)
    assert (r.value, r.gradient) == (8.0, {"x": 1.6, "y": 0.8})
    import numpy as np

    b = fn.gradient({"x": np.array([3.0, 6.0]), "y": np.array([4.0, 8.0])})
    assert list(b.gradient["x"]) == [1.6, 1.6] and list(b.gradient["y"]) == [0.8, 0.8]
    x, y = sympy.symbols("x y", real=True)
    sym = fn.symbolic().gradient
    assert sympy.simplify(sym["x"] - (x / sympy.sqrt(x**2 + y**2) + 1)) == 0
    h = fn.hessian(x=3.0, y=4.0).matrix   # (I - uuᵀ)/r, u = (3, 4)/5, r = 5
    assert h[0] + h[1] == pytest.approx([16 / 125, -12 / 125, -12 / 125, 9 / 125], rel=1e-14)


def test_steps_and_graph_explain_the_second_pass(tmp_path):
    dot = tmp_path / "h.dot"
    r = CliRunner().invoke(main, ["(1-x)^2 + 100(y-x^2)^2", "--at", "x=1,y=1", "--hessian",
                                  "--steps", "--graph", str(dot), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    x, y = sympy.symbols("x y", real=True)
    f = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    for name, v in (("df/dx", x), ("df/dy", y)):
        ours = Function(out["gradient_program"][name].replace("^", "**").replace("**", "^"))
        symbols = {s: sympy.Symbol(s, real=True) for s in ours.variables}
        expr = ours.symbolic().expression.xreplace({symbols[s]: {"x": x, "y": y}[s]
                                                    for s in symbols})
        assert sympy.simplify(expr - sympy.diff(f, v)) == 0
    text = dot.read_text()
    assert text.startswith("digraph gradcalc") and "802" in text   # ∂(df/dx)/∂x = 802


def test_a_subexpression_sympy_finds_constant_sends_nothing_back():
    # found by the property tests: cbrt(x - x) is cbrt(0); cbrt's rule there is 1/0
    x, y = sympy.symbols("x y", real=True)
    assert Function("cbrt(x-x)*y + x^2").symbolic().gradient == {"x": 2 * x, "y": 0}


def test_the_domain_protocol_lists_every_function_the_rules_use():
    from gradcalc.domains import FUNCTIONS, Domain

    assert set(FUNCTIONS) == used_names() - CONTROL
    for D in (FLOAT, numpy_domain(), sympy_domain(), mpmath_domain(30), GraphDomain(Graph("")),
              DUAL):
        assert isinstance(D, Domain) and all(hasattr(D, f) for f in FUNCTIONS), D


def test_implicit_check_falls_back_to_difference_quotients():
    out = json.loads(CliRunner().invoke(main, ["sin(x*y) + y^3 = 2", "--implicit", "y", "--at",
                                               "x=0.5,y=1.1", "--check-timeout", "0",
                                               "--format", "json"]).stdout)
    assert out["check"]["method"] == "finite-difference"
    assert out["check"]["partials"]["dy/dx"]["status"] == "agree"
    x, y = 0.5, 1.1   # dy/dx = -y cos(xy) / (x cos(xy) + 3y²)
    assert out["implicit"]["dy/dx"] == pytest.approx(
        -y * math.cos(x * y) / (x * math.cos(x * y) + 3 * y * y), rel=1e-14)
