"""Arrays on the tape (issue 15, docs/tensors.md): the language, shapes checked before
arithmetic, and gradients against closed forms worked by hand with NumPy and against central
differences."""

import random

import numpy as np
import pytest

from gradcalc import Function
from gradcalc.errors import GradcalcError
from gradcalc.ops import TENSOR_OPS
from gradcalc.points import parse_point
from gradcalc.syntax import parse_graph, split_top_level


def ops_of(src):
    return [n.op for n in parse_graph(src).nodes if n.args]


def error_of(call) -> str:
    with pytest.raises(GradcalcError) as info:
        call()
    return info.value.render()


# --- the language -----------------------------------------------------------------------------
def test_array_literals_are_stack_nodes_of_their_entries():
    g = parse_graph("[[1, 2], [3, 4]]")
    assert [n.op for n in g.nodes] == ["const", "const", "stack", "const", "const", "stack",
                                       "stack"]
    assert g.nodes[-1].args == (2, 5) and g.tensor
    assert ops_of("[x, y, 2x]") == ["mul", "stack"]
    assert ops_of("[x,\n y]") == ["stack"]   # a line break inside brackets continues


def test_matmul_binds_like_times_and_transpose_tighter_than_any_operator():
    assert ops_of("a*B@c") == ["mul", "matmul"]          # (a*B) @ c, as Python
    assert ops_of("W@x + b") == ["matmul", "add"]
    assert ops_of("W.T@x") == ["transpose", "matmul"]
    assert ops_of("-X.T") == ["transpose", "neg"]
    assert ops_of("x^W.T") == ["transpose", "pow"]
    assert ops_of("(A + B).T") == ["add", "transpose"]
    assert ops_of("transpose(X)") == ["transpose"]
    assert ops_of("sum(x) + mean(x)") == ["sum", "mean", "add"]


def test_scalar_programs_are_not_tensor_programs():
    for src in ("z*(x+y)", "q = x + y; f = z*q", "max(x, 2)^2", "|x| + 2x y", ".5x"):
        assert not parse_graph(src).tensor, src
    for src in ("[x]", "W@x", "X.T", "sum(x)", "mean(x)", "transpose(x)"):
        assert parse_graph(src).tensor, src


@pytest.mark.parametrize("src, message, caret", [
    ("[1, 2", "'[' is never closed", "^"),
    ("[]", "an array needs at least one entry", "^^"),
    ("[1, 2,]", "expected an entry after ','", "     ^^"),
    ("[1, 2)", "unmatched ')'", "     ^"),
    ("(1, 2]", "',' outside a function call", "  ^"),
    ("x]", "unmatched ']'", " ^"),
    ("X.U", "'.U' is not something gradcalc knows: only X.T (the transpose)", " ^^"),
])
def test_bad_array_syntax_has_a_message_and_a_caret(src, message, caret):
    text = error_of(lambda: parse_graph(src))
    assert text.splitlines()[0] == f"error: {message}"
    assert text.splitlines()[2] == "  " + caret


def test_points_split_at_commas_outside_brackets():
    assert [p for p, _ in split_top_level("x=[1,2,3],W=[[1,2],[3,4]],b=max(1,2)")] == \
        ["x=[1,2,3]", "W=[[1,2],[3,4]]", "b=max(1,2)"]


def test_points_take_array_literals():
    point = parse_point("x=[1,2,3],W=[[1,2],[3,4]],b=0.5,v=[2*pi, -1]", arrays=True)
    assert point["x"].tolist() == [1.0, 2.0, 3.0] and point["x"].dtype == np.float64
    assert point["W"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert point["b"] == 0.5
    assert point["v"].tolist() == [2 * np.pi, -1.0]


def test_a_ragged_literal_is_an_error_under_the_entry():
    text = error_of(lambda: parse_point("x=[[1,2],[3]]", arrays=True))
    assert text.splitlines() == [
        "error: a ragged array: [3] (1) does not match the first entry, [1,2] (2)",
        "  x=[[1,2],[3]]",
        "           ^^^"]


# --- shapes, checked before arithmetic --------------------------------------------------------
def test_a_product_of_mismatched_shapes_names_both():
    text = error_of(lambda: Function("sum(W @ x + b)").gradient(
        W=np.ones((3, 4)), x=np.ones(3), b=np.ones(3)))
    assert text.splitlines() == ["error: cannot multiply W (3×4) by x (3): 4 ≠ 3",
                                 "  sum(W @ x + b)", "      ^^^^^"]


def test_broadcasting_mismatch_and_matmul_of_a_scalar():
    text = error_of(lambda: Function("sum(x + y)").gradient(x=np.ones(2), y=np.ones(3)))
    assert text.splitlines()[0] == \
        "error: cannot add x (2) and y (3): shapes that do not broadcast (2 ≠ 3)"
    text = error_of(lambda: Function("sum(a @ x)").gradient(a=2.0, x=np.ones(3)))
    assert text.splitlines()[0] == \
        "error: @ multiplies vectors and matrices, and a (scalar) is not one (use * for a scalar)"


def test_a_non_scalar_output_is_refused_with_a_hint():
    text = error_of(lambda: Function("W @ x").gradient(W=np.ones((2, 3)), x=np.ones(3)))
    assert text.splitlines() == [
        "error: f is not a scalar but a 2 array: its gradient is not one array per input",
        "  W @ x", "  ^^^^^",
        "hint: reduce it, e.g. sum(W @ x) or mean(...), or ask for --jacobian"]


def test_an_undefined_entry_is_named():
    text = error_of(lambda: Function("sum(log(x))").gradient(x=np.array([1.0, -1.0])))
    assert text.splitlines()[0] == \
        "error: log(x) is undefined at entry [1]: it needs x > 0, but x[1] = -1"


def test_ragged_and_empty_values_from_python():
    assert "ragged" in error_of(lambda: Function("sum(x)").gradient(x=[[1, 2], [3]]))
    assert "empty" in error_of(lambda: Function("sum(x)").gradient(x=[]))


# --- gradients against closed forms -----------------------------------------------------------
RNG = np.random.default_rng(15)
W, X = RNG.normal(size=(3, 4)), RNG.normal(size=(5, 4))
x, b, w, y = RNG.normal(size=4), RNG.normal(size=3), RNG.normal(size=4), RNG.normal(size=5)


def close(a, b):
    return np.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_squared_affine_map():
    r = Function("sum((W@x + b)^2)").gradient(W=W, x=x, b=b)
    h = W @ x + b
    assert r.value == pytest.approx(h @ h, rel=1e-14)
    assert close(r.gradient["W"], 2 * np.outer(h, x))
    assert close(r.gradient["b"], 2 * h)
    assert close(r.gradient["x"], 2 * W.T @ h)
    assert {k: v.shape for k, v in r.gradient.items()} == {"W": (3, 4), "x": (4,), "b": (3,)}


def test_mean_of_relu_of_affine_map():
    h = W @ x + b
    assert (h > 0).any() and (h < 0).any()   # both sides of the kink are exercised
    r = Function("mean(relu(W@x + b))").gradient(W=W, x=x, b=b)
    mask = (h > 0) / 3.0
    assert r.value == pytest.approx(np.maximum(h, 0).mean(), rel=1e-14)
    assert close(r.gradient["W"], np.outer(mask, x))
    assert close(r.gradient["b"], mask)
    assert close(r.gradient["x"], W.T @ mask)


def test_linear_regression_normal_equation_gradient():
    r = Function("mean((X@w - y)^2)").gradient(X=X, w=w, y=y)
    res = X @ w - y
    assert r.value == pytest.approx(res @ res / 5, rel=1e-14)
    assert close(r.gradient["w"], 2 * X.T @ res / 5)
    assert close(r.gradient["y"], -2 * res / 5)
    assert close(r.gradient["X"], 2 * np.outer(res, w) / 5)


def test_matrix_product_with_a_broadcast_row_bias():
    # H = X Wᵀ + b: b (3) is added to each of the 5 rows, so it gets the column sums
    r = Function("sum((X @ W.T + b)^2)").gradient(X=X, W=W, b=b)
    H = X @ W.T + b
    assert close(r.gradient["b"], (2 * H).sum(axis=0))
    assert close(r.gradient["W"], (2 * H).T @ X)
    assert close(r.gradient["X"], 2 * H @ W)


def test_vector_products_and_scalars_in_array_programs():
    r = Function("x @ v + sum(a*x)").gradient(x=x, v=w, a=2.5)
    assert r.value == pytest.approx(x @ w + 2.5 * x.sum(), rel=1e-14)
    assert close(r.gradient["x"], w + 2.5)
    assert close(r.gradient["v"], x)
    assert r.gradient["a"] == pytest.approx(x.sum(), rel=1e-14)
    assert isinstance(r.gradient["a"], float)
    r = Function("sum(v @ W)").gradient(v=b, W=W)   # vector @ matrix
    assert close(r.gradient["v"], W.sum(axis=1))
    assert close(r.gradient["W"], np.outer(b, np.ones(4)))


def test_literals_built_from_scalars_are_differentiable():
    r = Function("sum([p, q, 2*p]^2)").gradient(p=3.0, q=-1.0)
    assert r.value == 9 + 1 + 36
    assert r.gradient == {"p": 2 * 3 + 2 * 6 * 2, "q": -2.0}
    r = Function("sum([[1, 2], [3, 4]] @ v)").gradient(v=[1.0, 1.0])
    assert r.value == 10.0 and r.gradient["v"].tolist() == [4.0, 6.0]


def test_an_input_the_output_does_not_use_gets_zeros_of_its_shape():
    r = Function("q = sum(y); f = sum(x^2)").gradient(x=x, y=y)
    assert close(r.gradient["x"], 2 * x)
    assert r.gradient["y"].tolist() == [0.0] * 5


def test_scalar_programs_take_arrays_on_the_tensor_path_only_when_asked():
    f = Function("exp(x)*y")
    many = f.gradient(x=[0.0, 1.0], y=[1.0, 1.0])   # many points, as before
    assert many.gradient["x"].tolist() == [1.0, np.e]
    assert "not a scalar but a 2 array" in error_of(
        lambda: f.tensor_gradient(x=[0.0, 1.0], y=2.0))
    r = Function("exp(x)*y").tensor_gradient(x=0.5, y=2.0)   # scalars: the scalar answer
    assert r.gradient == pytest.approx({"x": 2 * np.exp(0.5), "y": np.exp(0.5)}, rel=1e-15)


# --- random programs against central differences ----------------------------------------------
SHAPES = {"A": (2, 3), "B": (3, 2), "u": (3,), "v": (2,), "s": ()}
UNARY = ("exp", "tanh", "sin", "sigmoid", "softplus", "relu")


def random_program(rng: random.Random, size: int = 6) -> str:
    """A random array program: terms with known shapes, each new one built on the latest
    (elementwise with broadcasting, by @, .T, or an array literal of two terms of one shape;
    indexed, reduced along an axis, through softmax or logsumexp), the last two reduced to a
    scalar."""
    terms = [(name, shape) for name, shape in SHAPES.items()]
    rng.shuffle(terms)
    for _ in range(size):
        kind = rng.choice(("unary", "binary", "binary", "matmul", "transpose", "literal",
                           "array"))
        a, sa = terms[-1] if rng.random() < 0.7 else rng.choice(terms)
        if kind == "unary":
            terms.append((f"{rng.choice(UNARY)}({a})", sa))
            continue
        if kind == "array":
            if sa:
                terms.append(array_term(rng, a, sa))
            continue
        if kind == "transpose":
            terms.append((f"({a}).T", sa[::-1]))
            continue
        fits = [(t, st) for t, st in terms if
                (kind == "matmul" and sa and st and sa[-1] == st[0]) or
                (kind == "literal" and st == sa and len(sa) < 2) or
                (kind == "binary" and (not sa or not st or sa == st or
                                       (len(sa) == 2 and sa[1:] == st)))]
        if not fits:
            continue
        c, sc = rng.choice(fits)
        if kind == "matmul":
            terms.append((f"({a}) @ ({c})", sa[:-1] + sc[1:]))
        elif kind == "literal":
            terms.append((f"[{a}, {c}]", (2, *sa)))
        else:
            op = rng.choice(("+", "-", "*", "/"))
            rhs = f"(1 + ({c})^2)" if op == "/" else f"({c})"
            terms.append((f"({a}) {op} {rhs}", sa if len(sa) >= len(sc) else sc))
    return " + ".join(f"{rng.choice(('sum', 'mean'))}({t})" for t, _ in terms[-2:])


def array_term(rng: random.Random, a: str, sa: tuple) -> tuple[str, tuple]:
    """An array op on term a (of shape sa, not a scalar): an index, a slice, an axis sum or
    mean, softmax or log_softmax or logsumexp along an axis, or a reshape."""
    axis = rng.randrange(len(sa))
    kind = rng.choice(("index", "slice", "reduce", "softmax", "logsumexp", "reshape"))
    if kind == "index":
        k = rng.randrange(-sa[0], sa[0])
        return f"({a})[{k}]", sa[1:]
    if kind == "slice":
        return f"({a})[1:]" if sa[0] > 1 else f"({a})[::-1]", (max(1, sa[0] - 1), *sa[1:])
    if kind == "reduce":
        return f"{rng.choice(('sum', 'mean'))}({a}, {axis})", sa[:axis] + sa[axis + 1:]
    if kind == "softmax":
        return f"{rng.choice(('softmax', 'log_softmax'))}({a}, {axis})", sa
    if kind == "logsumexp":
        return f"logsumexp({a}, {axis})", sa[:axis] + sa[axis + 1:]
    size = 1
    for n in sa:
        size *= n
    return f"reshape({a}, {size})", (size,)


def rel_error(a, b):
    """CS231n's relative error, entry by entry, the largest."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, point, name, h=1e-6):
    x = np.array(point[name], dtype=float)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        hi, lo = x.copy(), x.copy()
        hi[idx] += h
        lo[idx] -= h
        grad[idx] = (f({**point, name: hi}) - f({**point, name: lo})) / (2 * h)
    return grad


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_agree_with_central_differences(seed):
    rng = random.Random(seed)
    src = random_program(rng)
    f = Function(src)
    nrng = np.random.default_rng(seed)
    point = {k: nrng.normal(size=s) if s else float(nrng.normal()) for k, s in SHAPES.items()}
    point = {k: point[k] for k in f.variables}
    r = f.gradient(point)
    assert r.value == pytest.approx(f(point), rel=1e-15)
    for name in f.variables:
        assert np.shape(r.gradient[name]) == SHAPES[name], (src, name)
        fd = numerical_gradient(f, point, name)
        assert rel_error(r.gradient[name], fd) < 1e-5 or \
            np.max(np.abs(r.gradient[name] - fd)) < 1e-8, (src, name, r.gradient[name], fd)


def test_every_array_op_is_tested_here():
    text = open(__file__, encoding="utf-8").read()
    spelt = {"matmul": "@", "transpose": ".T", "sum": "sum(", "mean": "mean(", "stack": "[x,"}
    assert set(spelt) <= {op.name for op in TENSOR_OPS}   # the rest: tests/test_tensor_ops.py
    assert all(s in text for s in spelt.values())


def test_numerical_check_passes_a_right_gradient_and_fails_a_wrong_one():
    from gradcalc.records import replace
    from gradcalc.tensor import numerical_check

    f = Function("mean((X@w - y)^2)")
    r = f.gradient(X=X, w=w, y=y)
    check = numerical_check(f, r)
    assert check.passed and set(check.errors) == {"X", "w", "y"}
    assert check.entries == 20 + 4 + 5 and max(check.errors.values()) < 1e-7
    wrong = replace(r, gradient={**r.gradient, "w": r.gradient["w"] * 1.01})
    bad = numerical_check(f, wrong)
    assert not bad.passed and bad.errors["w"] == pytest.approx(0.01 / 2.01, rel=1e-3)
    big = Function("sum(tanh(W @ v))")   # 60 entries: a sample of 40
    assert numerical_check(big, big.gradient(W=np.ones((6, 10)) / 10, v=np.ones(10))).entries \
        == 40 + 10


def test_the_console_script_computes_arrays_and_refuses_the_rest_cleanly():
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True,
                              text=True, timeout=60)

    ok = run("sum(W@x)", "--at", "W=[[1,2],[3,4]],x=[1,1]", "--no-check", "--format", "plain")
    assert (ok.returncode, ok.stdout) == (0, "f = 10\ndf/dW = [[1, 1], [1, 1]]\n"
                                             "df/dx = [4, 6]\n")
    refused = run("sum([x, 2*y])", "--at", "x=1,y=2", "--hessian")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: this program uses arrays")
