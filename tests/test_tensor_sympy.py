"""SymPy's entry-by-entry check of array programs (issue 15, gradcalc/tensor_sympy.py): the
object-array domain against the tensor domain, SymPy's partials against closed forms, a wrong VJP
caught, kinks undetermined, and the choice of method shown in every format."""

import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from gradcalc import Function
from gradcalc.cli import main
from gradcalc.domains import tensor_domain
from gradcalc.ops import REGISTRY
from gradcalc.records import replace
from gradcalc.report import Request, tensor_report
from gradcalc.tensor import gradient
from gradcalc.tensor_sympy import (
    MAX_ENTRIES,
    TOLERANCE,
    entries,
    error,
    numerical,
    sympy_check,
    sympy_gradient,
    sympy_tensor_domain,
)

W = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0]])
X = np.array([1.0, -1.0, 0.25])
B = np.array([0.5, -0.25])
AT = "W=[[1,2,-1],[0.5,-3,2]],x=[1,-1,0.25],b=[0.5,-0.25]"


def run(args):
    return CliRunner().invoke(main, args)


def objects(a):
    """A float array as an object array of exact SymPy rationals."""
    out = np.empty(np.shape(a), dtype=object)
    for at in np.ndindex(*np.shape(a)):
        out[at] = sympy.Rational(float(np.asarray(a)[at]))
    return out


def floats(a):
    return np.vectorize(float, otypes=[float])(a) if np.ndim(a) else float(a)


# --- the domain -------------------------------------------------------------------------------
def test_the_domain_has_every_name_of_the_tensor_domain():
    # A new array op whose rules call a new tensor-domain function fails here until the SymPy
    # object-array domain has it too.
    missing = set(vars(tensor_domain())) - set(vars(sympy_tensor_domain()))
    assert not missing, f"tensor_sympy.sympy_tensor_domain lacks {sorted(missing)}"


def test_the_array_functions_on_exact_entries_agree_with_numpy_on_floats():
    T, S = tensor_domain(), sympy_tensor_domain()
    a, b, v = W, W.T @ W, X
    cases = [
        ("matmul", (a, v)), ("matmul", (v, b)), ("matmul", (a, b)), ("matmul", (v, v)),
        ("transpose", (a,)), ("outer", (B, v)), ("sum", (a,)), ("broadcast_to", (v, (2, 3))),
        ("sum_to", (a, (3,))), ("sum_to", (a, (2, 1))), ("sum_to", (a, ())),
        ("exp", (v,)), ("relu", (v,)), ("max", (a, v)), ("pow", (v, 2.0)), ("sigmoid", (v,)),
    ]
    for name, args in cases:
        exact = tuple(objects(x) if isinstance(x, np.ndarray) else
                      sympy.Rational(x) if isinstance(x, float) else x for x in args)
        got, want = getattr(S, name)(*exact), getattr(T, name)(*args)
        assert np.shape(got) == np.shape(want), name
        assert np.allclose(floats(got), want, rtol=1e-15, atol=0), name
    assert floats(S.stack([objects(v), objects(v)])).tolist() == [v.tolist()] * 2
    assert (S.size(objects(a)), S.shape(objects(a)), S.ndim(objects(a))) == (6, (2, 3), 2)


def test_the_functions_of_the_newer_array_ops_agree_with_numpy_on_floats():
    T, S = tensor_domain(), sympy_tensor_domain()
    rng = np.random.default_rng(3)
    a, m, v = rng.normal(size=(3, 3)), rng.normal(size=(2, 3)), rng.normal(size=3)
    y, key = np.array([2.0, 0.0]), (slice(None), 1)
    cases = [
        ("mean", (m,), {}), ("mean", (m,), {"axis": 0}), ("sum", (m,), {"axis": -1}),
        ("sum", (m,), {"axis": 1, "keepdims": True}), ("amax", (m,), {}), ("amin", (v,), {}),
        ("expand_dims", (v, 0), {}), ("equal", (v, v[0]), {}), ("take", (m, key), {}),
        ("put", (m[:, 1], (2, 3), key), {}), ("softmax", (m, 0), {}),
        ("log_softmax", (m, -1), {}), ("logsumexp", (m, 1), {}), ("logsumexp", (v, -1), {}),
        ("cross_entropy", (m, y), {}), ("cross_entropy", (v, 1.0), {}),
        ("onehot", (y, (2, 3)), {}), ("trace", (a,), {}), ("eye", (3,), {}), ("det", (a,), {}),
        ("adjugate", (a,), {}), ("inv", (a,), {}), ("diag", (v,), {}), ("diag", (m,), {}),
        ("diag_vjp", (v, (3, 3)), {}), ("diag_vjp", (a, (3,)), {}),
        ("reshape", (m, (3, 2)), {}), ("reshape", (m, (-1,)), {}),
    ]
    for name, args, kw in cases:
        exact = tuple(objects(x) if isinstance(x, np.ndarray) else
                      sympy.Rational(x) if isinstance(x, float) else x for x in args)
        got, want = getattr(S, name)(*exact, **kw), getattr(T, name)(*args, **kw)
        assert np.shape(got) == np.shape(want), name
        assert np.allclose(floats(got), want, rtol=1e-13, atol=1e-15), name


def test_elementwise_functions_keep_symbols_and_broadcast():
    S = sympy_tensor_domain()
    x, y = sympy.symbols("x y", real=True)
    out = S.max(np.array([x, y], dtype=object), sympy.Integer(0))
    assert out.tolist() == [sympy.Max(x, 0), sympy.Max(y, 0)]
    assert S.tanh(x) == sympy.tanh(x)   # a scalar stays a SymPy expression
    picked = S.where(np.array([True, False]), lambda: np.array([x, x], dtype=object), y)
    assert picked.tolist() == [x, y] and S.where(x != 0, lambda: x, y) == x


# --- SymPy's partials are right ---------------------------------------------------------------
def test_sympy_partials_of_a_small_matmul_program_equal_the_closed_form():
    f = Function("sum(tanh(W@x + b))")
    r = gradient(f, {"W": W, "x": X, "b": B})
    g = sympy_gradient(f, r)
    s = 1 / np.cosh(W @ X + B) ** 2   # tanh'(h), h = Wx + b (1 - tanh² loses digits)
    assert np.allclose(g["W"], np.outer(s, X), rtol=1e-14, atol=0)
    assert np.allclose(g["x"], W.T @ s, rtol=1e-14, atol=0)
    assert np.allclose(g["b"], s, rtol=1e-14, atol=0)
    check = sympy_check(f, r, 30)
    assert (check.method, check.status, check.entries) == ("sympy", "agree", 6 + 3 + 2)
    assert max(check.errors.values()) <= TOLERANCE and check.value_status == "agree"


def test_one_entry_is_sympys_exact_derivative():
    # ∂/∂W[0,1] of sum((W@x)^2) is 2·(W@x)[0]·x[1], with SymPy's own symbols
    from gradcalc.tensor_sympy import _expressions

    f = Function("sum((W@x)^2)")
    r = gradient(f, {"W": W, "x": X})
    expr, _subs, parts = _expressions(f, r, sympy_tensor_domain())
    w01, x1 = parts["W"][1][0, 1], parts["x"][1][1]
    row0 = sum(parts["W"][1][0, k] * parts["x"][1][k] for k in range(3))
    assert sympy.expand(sympy.diff(expr, w01) - 2 * row0 * x1) == 0
    assert str(w01) == "W[0,1]"


def test_scalars_literals_and_an_intermediate():
    f = Function("q = W@x; f = sum(0.1*q^2) + c*mean(x)")
    r = gradient(f, {"W": W, "x": X, "c": 3.0}, wrt=["W", "x", "c", "q"])
    check = sympy_check(f, r, 30)
    assert check.status == "agree" and set(check.inputs) == {"W", "x", "c", "q"}
    assert check.inputs["c"].entries == 1 and check.inputs["q"].entries == 2
    g = sympy_gradient(f, r)
    assert np.allclose(g["q"], 0.2 * (W @ X), rtol=1e-15, atol=0)
    assert g["c"] == pytest.approx(X.mean(), rel=1e-15)
    assert entries(r) == 6 + 3 + 1 + 2


def test_error_is_the_scalar_checks_tolerance():
    from gradcalc.check import _agree

    for a, b in [(1.0, 1.0 + 1e-9), (1.0, 1.0 + 2e-8), (0.0, 1e-12), (0.0, 3e-12),
                 (1e6, 1e6 + 0.009), (1e6, 1e6 + 0.02)]:
        assert (error(a, b) <= TOLERANCE) == _agree(a, b), (a, b)


# --- a wrong gradient is caught ---------------------------------------------------------------
@pytest.fixture
def wrong_matmul(monkeypatch):
    """matmul's VJP off by a factor 1.5 in its left argument (the registry's Op is frozen: the
    entry is replaced)."""
    op = REGISTRY["matmul"]

    def vjp(D, g, xs, out, need=(True, True)):
        da, db = op.array_vjp(D, g, xs, out, need)
        return da * 1.5 if da is not None else None, db
    monkeypatch.setitem(REGISTRY, "matmul", replace(op, array_vjp=vjp))


def test_a_wrong_vjp_is_caught_by_sympy(wrong_matmul):
    f = Function("sum(tanh(W@x + b))")
    r = gradient(f, {"W": W, "x": X, "b": B})
    check = sympy_check(f, r, 30)
    assert (check.method, check.status) == ("sympy", "disagree")
    assert check.inputs["W"].status == "disagree" and len(check.inputs["W"].problems) == 6
    assert check.inputs["x"].status == check.inputs["b"].status == "agree"
    p = check.inputs["W"].problems[0]
    assert p.ours == pytest.approx(1.5 * p.reference, rel=1e-14)
    assert check.problem() == "SymPy's entry-by-entry check disagrees on W"


def test_a_wrong_vjp_is_exit_1_through_the_command_line(wrong_matmul):
    r = run(["sum(tanh(W@x + b))", "--at", AT, "--format", "json"])
    assert r.exit_code == 1, r.output
    check = json.loads(r.stdout)["check"]
    assert (check["method"], check["status"]) == ("sympy", "disagree")
    assert check["inputs"]["W"]["status"] == "disagree"
    assert check["inputs"]["W"]["problems"][0]["index"] == [0, 0]
    table = run(["sum(tanh(W@x + b))", "--at", AT])
    assert table.exit_code == 1
    assert "✗ SymPy, entry by entry: 6 disagree of 6" in table.stdout
    assert "✗ SymPy DISAGREES at 6 of 11 entries" in table.stdout


# --- kinks: undetermined, never agree ---------------------------------------------------------
def test_relu_at_its_kink_is_undetermined_not_passed():
    f = Function("sum(relu(W@x + b))")
    point = {"W": W, "x": X, "b": np.array([-(W @ X)[0], 1.0])}   # the first unit at exactly 0
    r = gradient(f, point)
    check = sympy_check(f, r, 30)
    assert check.status == "undetermined" and not check.passed
    w = check.inputs["W"]
    assert w.status == "undetermined"
    assert [p.index for p in w.problems] == [(0, 0), (0, 1), (0, 2)]
    assert w.problems[0].kink == "W[0,0]*x[0] + W[0,1]*x[1] + W[0,2]*x[2] + b[0]"
    assert "jumps here: 0 on one side, 1 on the other" in w.problems[0].note
    g = sympy_gradient(f, r)
    assert np.isnan(g["W"][0]).all() and g["W"][1].tolist() == X.tolist()
    report = tensor_report(f, point, Request())
    assert report.exit_code() == 1
    assert report.tensor_check.problem() == \
        "SymPy's entry-by-entry check cannot decide W, x, b"


def test_a_kink_the_derivative_does_not_feel_agrees():
    # relu(x)^2 is differentiable at 0 (slope 0 on both sides): no reason to doubt it
    f = Function("sum(relu(x)^2)")
    check = sympy_check(f, gradient(f, {"x": [0.0, 1.0, -1.0]}), 30)
    assert check.status == "agree"


@pytest.mark.parametrize("src, at", [
    ("sum(abs(x))", {"x": [0.0, 1.0]}),
    ("sum(max(x, y))", {"x": [1.0, 2.0], "y": [1.0, 0.0]}),
])
def test_abs_at_0_and_a_tie_in_max_are_undetermined(src, at):
    f = Function(src)
    check = sympy_check(f, gradient(f, at), 30)
    assert check.status == "undetermined"
    assert check.inputs["x"].problems[0].index == (0,)


def test_a_kink_through_the_command_line_says_undetermined():
    at = "W=[[1,2],[3,4]],x=[1,-1],b=[1,0]"   # W@x + b = [0, -1]
    r = run(["sum(relu(W@x + b))", "--at", at, "--format", "json"])
    assert r.exit_code == 1
    check = json.loads(r.stdout)["check"]
    assert (check["method"], check["status"]) == ("sympy", "undetermined")
    assert check["inputs"]["b"]["problems"] == [{
        "index": [0], "ours": 0.0, "reference": None, "status": "undetermined",
        "note": "the derivative jumps here: 0 on one side, 1 on the other",
        "kink": "W[0,0]*x[0] + W[0,1]*x[1] + b[0]"}]
    table = run(["sum(relu(W@x + b))", "--at", at]).stdout
    assert "? SymPy cannot decide 5 of 8 entries" in table
    assert "kink: W[0,0]*x[0] + W[0,1]*x[1] + b[0] = 0 at this point" in table


# --- the choice of method ---------------------------------------------------------------------
def test_more_than_36_entries_are_checked_numerically():
    f = Function("sum(tanh(W@x))")
    small = {"W": np.ones((5, 6)) / 10, "x": np.ones(6)}     # 36 entries
    big = {"W": np.ones((5, 7)) / 10, "x": np.ones(7)}       # 42
    assert tensor_report(f, small, Request()).tensor_check.method == "sympy"
    check = tensor_report(f, big, Request()).tensor_check
    assert (check.method, check.status, check.entries) == ("numerical", "agree", 35 + 7)
    assert check.reason == "42 entries in all, more than the 36 SymPy checks one by one"
    assert MAX_ENTRIES == 36


def test_sympy_out_of_time_falls_back_to_the_numerical_check():
    # (a deadline shorter than the few microseconds between arming it and entering its block
    # would fire outside the block: deadline.py's, not this check's; 0.05 s is well clear of it)
    f = Function("sum((A@B)^2)")   # two 6×6 matrices: SymPy takes a second or two
    rng = np.random.default_rng(1)
    r = gradient(f, {"A": rng.normal(size=(6, 6)), "B": rng.normal(size=(6, 6))})
    late = sympy_check(f, r, 0.05)
    assert late.method == "numerical" and late.passed
    assert late.reason == "SymPy did not finish within 0.05 s"
    none = sympy_check(f, r, 0)
    assert (none.method, none.reason) == ("numerical", "no time was allowed for SymPy")
    assert numerical(f, r, None).inputs["A"].entries == 36


def test_the_method_in_table_plain_and_json():
    schema = json.loads((Path(__file__).parents[1] / "docs" / "schema.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    at_big = "x=[" + ",".join(str(k / 7) for k in range(40)) + "]"
    for args, method in ([["sum(tanh(W@x + b))", "--at", AT], "sympy"],
                         [["sum(x^2)", "--at", at_big], "numerical"]):
        out = json.loads(run([*args, "--format", "json"]).stdout)
        jsonschema.validate(out, schema)
        assert out["check"]["method"] == method and out["check"]["status"] == "agree"
        table, plain = run(args).stdout, run([*args, "--format", "plain"]).stdout
        if method == "sympy":
            assert "∂f/∂W (2×3)  ✓ SymPy, entry by entry (6 entries)" in table
            assert "✓ SymPy agrees, entry by entry (11 entries: sympy.diff" in table
            assert plain.endswith("\ncheck = SymPy agrees, entry by entry (11 entries)\n")
            assert out["check"]["value_status"] == "agree"
        else:
            assert "∂f/∂x (40)  ✓ numerical, rel error" in table
            assert "numerical gradient check agrees, rel_error" in table
            assert "not by SymPy: 40 entries in all, more than the 36" in " ".join(table.split())
            assert plain.splitlines()[-1].startswith("check = numerical gradient check agrees")
            assert out["check"]["directions"] == 3
    off = json.loads(run(["sum(x^2)", "--at", "x=[1,2]", "--no-check", "--format",
                          "json"]).stdout)
    assert off["check"] == {"method": "none", "status": "skipped"}
    constant = run(["sum([1, 2])"])   # nothing to differentiate: the value is still checked
    assert "✓ SymPy agrees on the value (no entries to differentiate)" in constant.stdout


# --- every array op ---------------------------------------------------------------------------
def _op_cases():
    from tests.test_tensor_ops import CASES

    return [src for src, _ in CASES if "argmax" not in src]   # (a position: no SymPy form)


@pytest.mark.parametrize("src", _op_cases())
def test_sympy_agrees_on_every_array_op(src):
    from tests.test_tensor_ops import POINT

    f = Function(src)
    r = gradient(f, {k: POINT[k] for k in f.variables})
    check = sympy_check(f, r, 60)
    assert (check.method, check.status) == ("sympy", "agree"), (src, check)
    assert check.value_status == "agree"


def test_argmax_has_no_sympy_form_and_the_numerical_check_says_so():
    f = Function("sum(argmax(S, 1) * [1, 2])")
    check = sympy_check(f, gradient(f, {"S": [[1.0, 3.0], [4.0, 2.0]]}), 30)
    assert (check.method, check.status) == ("numerical", "agree")
    assert check.reason == "SymPy failed (TypeError: argmax has no SymPy form)"


def test_a_tie_in_max_of_an_array_is_undetermined():
    f = Function("max(x)")
    check = sympy_check(f, gradient(f, {"x": [1.0, 3.0, 3.0]}), 30)
    assert check.status == "undetermined"
    assert [p.index for p in check.inputs["x"].problems] == [(1,), (2,)]


def test_class_labels_are_values_not_symbols():
    f = Function("cross_entropy(S, y)")
    r = gradient(f, {"S": [[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]], "y": [2.0, 0.0]})
    check = sympy_check(f, r, 30)
    assert check.status == "agree" and set(check.inputs) == {"S"}


# --- random programs --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_random_programs_agree_with_sympy(seed):
    import random

    from tests.test_tensors import SHAPES, random_program

    rng = random.Random(seed)
    src = random_program(rng)
    values = np.random.default_rng(seed)
    point = {k: values.uniform(-1, 1, size=s) if s else float(values.uniform(-1, 1))
             for k, s in SHAPES.items()}
    f = Function(src)
    r = gradient(f, {k: point[k] for k in f.variables})
    check = sympy_check(f, r, 60)
    assert (check.method, check.status) == ("sympy", "agree"), (src, check)
    assert check.entries == entries(r) == sum(max(1, np.size(point[k])) for k in f.variables)
