"""The array ops of the language (issue 15): each against NumPy's value and central
differences, the homework of a backprop course against its closed form worked with NumPy, and
every refusal with the names, the shapes and the caret."""

import numpy as np
import pytest

from gradcalc import Function
from gradcalc.errors import GradcalcError
from gradcalc.syntax import parse_graph
from gradcalc.tensor import numerical_check

RNG = np.random.default_rng(15)
A = RNG.normal(size=(3, 3))
M = RNG.normal(size=(2, 3))
U = RNG.normal(size=3)
V = RNG.normal(size=4)
POINT = {"A": A, "M": M, "u": U, "v": V, "c": np.array([2.0, 0.0])}


def logsumexp(s, axis=-1):
    top = np.max(s, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(s - top), axis=axis))


def softmax(s, axis=-1):
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# (program, NumPy's value of it): each op once, reduced to a scalar where it is not one
CASES = [
    ("sum(M[:, 1] * u[1:])", np.sum(M[:, 1] * U[1:])),
    ("M[-1, -1] * u[0]", M[-1, -1] * U[0]),
    ("sum(v[::-1] * v)", np.sum(V[::-1] * V)),
    ("sum(A[0:2, ::2]^2)", np.sum(A[0:2, ::2] ** 2)),
    ("sum(sum(M, 0)^2) + sum(mean(M, 1)^3)",
     np.sum(np.sum(M, 0) ** 2) + np.sum(np.mean(M, 1) ** 3)),
    ("sum(sum(M, -1) * [1, 2])", np.sum(np.sum(M, -1) * [1, 2])),
    ("max(u * v[1:]) + min(M)", np.max(U * V[1:]) + np.min(M)),
    ("norm(M) + norm(u)", np.linalg.norm(M) + np.linalg.norm(U)),
    ("sum(softmax(M) * M)", np.sum(softmax(M) * M)),
    ("sum(softmax(M, 0) * M)", np.sum(softmax(M, 0) * M)),
    ("sum(log_softmax(M) * M)", np.sum(np.log(softmax(M)) * M)),
    ("sum(logsumexp(M)) + logsumexp(u) + sum(logsumexp(M, 0))",
     np.sum(logsumexp(M)) + logsumexp(U) + np.sum(logsumexp(M, 0))),
    ("cross_entropy(M, c) + cross_entropy(u, 1)",
     np.mean(logsumexp(M) - M[[0, 1], [2, 0]]) + logsumexp(U) - U[1]),
    ("sum(argmax(M) * [1, 2]) + sum(argmax(M, 0) * u)",
     np.sum(np.argmax(M, -1) * [1, 2]) + np.sum(np.argmax(M, 0) * U)),
    ("mse(M, M^2)", np.mean((M - M ** 2) ** 2)),
    ("dot(u, u^3)", np.dot(U, U ** 3)),
    ("sum(outer(u, v) * outer(u, v))", np.sum(np.outer(U, V) ** 2)),
    ("tr(A @ A) + trace(A)", np.trace(A @ A) + np.trace(A)),
    ("det(A) + det(A.T @ A)", np.linalg.det(A) + np.linalg.det(A.T @ A)),
    ("sum(inv(A) @ u)", np.sum(np.linalg.inv(A) @ U)),
    ("sum(diag(u) @ A) + sum(diag(A) * u) + sum(diag(M))",
     np.sum(np.diag(U) @ A) + np.sum(np.diag(A) * U) + np.sum(np.diag(M))),
    ("sum(reshape(M, 3, 2) @ [1, -2])", np.sum(M.reshape(3, 2) @ [1, -2])),
    ("sum(reshape(M, -1) * [1, 2, 3, 4, 5, 6])", np.sum(M.reshape(-1) * np.arange(1, 7))),
    ("sum(M' @ M)", np.sum(M.T @ M)),
    ("sum(clamp(v, -0.5, 0.5)^2)", np.sum(np.clip(V, -0.5, 0.5) ** 2)),
]


@pytest.mark.parametrize("src, want", CASES, ids=[c[0] for c in CASES])
def test_each_op_gives_numpys_value_and_a_gradient_central_differences_agree_with(src, want):
    f = Function(src)
    point = {k: POINT[k] for k in f.variables}
    r = f.gradient(point)
    assert r.value == pytest.approx(want, rel=1e-12, abs=1e-14)
    for name in r.gradient:
        assert np.shape(r.gradient[name]) == np.shape(point[name])
    check = numerical_check(f, r)
    assert check.passed, check.errors
    assert max(check.errors.values()) < 1e-7


def test_every_array_op_of_the_registry_has_a_case_here():
    from gradcalc.ops import TENSOR_OPS

    spelt = {"index": "[", "amax": "max(", "amin": "min(", "matmul": "@", "stack": "[1, 2]",
             "transpose": "'"}
    text = " ".join(src for src, _ in CASES)
    for op in TENSOR_OPS:
        assert spelt.get(op.name, op.name + "(") in text, op.name


def test_indices_are_static_parameters_of_one_index_node():
    g = parse_graph("W[:, 1] + x[-1] + X[1:3, ::2]")
    keys = [n.value for n in g.nodes if n.op == "index"]
    assert keys == [(slice(None, None), 1), (-1,), (slice(1, 3), slice(None, None, 2))]
    assert [n.value for n in parse_graph("sum(X, 0) + reshape(x, 2, -1)").nodes
            if n.op in ("sum", "reshape")] == [0, (2, -1)]
    assert [n.op for n in parse_graph("clamp(x, 0, 1)").nodes if n.args] == ["max", "min"]
    assert not parse_graph("clamp(x, 0, 1)").tensor   # a scalar program stays one
    assert Function("clamp(x, 0, 1)").gradient(x=0.5).gradient == {"x": 1.0}
    r = Function("clamp^2(x, 0, 1)").gradient(x=0.25)   # the power of its value, as sin^2(x)
    assert (r.value, r.gradient) == (0.0625, {"x": 0.5})


def test_softmax_and_friends_do_not_overflow():
    r = Function("sum(softmax(s) * [0, 1]) + sum(log_softmax(s)) + logsumexp(s)").gradient(
        s=np.array([1000.0, 0.0]))
    assert r.value == pytest.approx(0 + (0 - 1000) + 1000, abs=1e-12)
    assert np.isfinite(r.gradient["s"]).all()


def test_max_of_an_array_shares_its_gradient_at_a_tie():
    r = Function("max(x)").gradient(x=np.array([1.0, 3.0, 3.0]))
    assert r.gradient["x"].tolist() == [0.0, 0.5, 0.5]


def test_det_of_a_singular_matrix_has_the_adjugate_as_its_gradient():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    r = Function("det(A)").gradient(A=a)
    assert r.value == pytest.approx(0.0, abs=1e-15)
    # d det / dA = adj(A)ᵀ, for 2×2 [[d, -c], [-b, a]]
    np.testing.assert_allclose(r.gradient["A"], [[4.0, -2.0], [-2.0, 1.0]], atol=1e-14)


# --- the homework of a backprop course, against the closed forms ------------------------------
N, D, C = 6, 4, 3
X = RNG.normal(size=(N, D))
W = RNG.normal(size=(D, C)) * 0.1
LABELS = np.array([0, 2, 1, 2, 0, 1])
ONEHOT = np.eye(C)[LABELS]
REG = 0.05


def test_softmax_loss_and_its_dw_is_xt_p_minus_y_over_n():
    f = Function(f"cross_entropy(X @ W, y) + {REG}*sum(W*W)")
    r = f.gradient(X=X, W=W, y=LABELS.astype(float), wrt=["W"])
    p = softmax(X @ W)
    loss = np.mean(-np.log(p[np.arange(N), LABELS])) + REG * np.sum(W * W)
    assert r.value == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(r.gradient["W"], X.T @ (p - ONEHOT) / N + 2 * REG * W,
                               rtol=1e-12, atol=1e-15)
    # the same loss written out: log-sum-exp less the correct class's score
    g = Function("S = X @ W; L = mean(logsumexp(S) - sum(S*Y, 1)) + 0.05*sum(W*W)")
    r2 = g.gradient(X=X, W=W, Y=ONEHOT, wrt=["W"])
    assert r2.value == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(r2.gradient["W"], r.gradient["W"], rtol=1e-12, atol=1e-15)


def test_the_labels_get_no_gradient_and_cannot_be_asked_for():
    f = Function("cross_entropy(S, y)")
    r = f.gradient(S=X @ W, y=LABELS.astype(float))
    assert set(r.gradient) == {"S"}
    p = softmax(X @ W)
    np.testing.assert_allclose(r.gradient["S"], (p - ONEHOT) / N, rtol=1e-12, atol=1e-16)
    with pytest.raises(GradcalcError, match="y holds class labels"):
        f.gradient(S=X @ W, y=LABELS.astype(float), wrt=["S", "y"])


def test_multiclass_svm_loss_and_its_dw():
    f = Function("S = X @ W; margins = max(S - (S*Y) @ J + 1, 0) * (1 - Y); "
                 f"L = sum(margins)/{N} + {REG}*sum(W*W)")
    r = f.gradient(X=X, W=W, Y=ONEHOT, J=np.ones((C, C)), wrt=["W"])
    s = X @ W
    margins = np.maximum(0, s - s[np.arange(N), LABELS][:, None] + 1)
    margins[np.arange(N), LABELS] = 0
    dw = np.zeros_like(W)
    for i in range(N):
        for j in range(C):
            if j != LABELS[i] and margins[i, j] > 0:
                dw[:, j] += X[i]
                dw[:, LABELS[i]] -= X[i]
    assert r.value == pytest.approx(margins.sum() / N + REG * np.sum(W * W), rel=1e-14)
    np.testing.assert_allclose(r.gradient["W"], dw / N + 2 * REG * W, rtol=1e-12, atol=1e-15)


def test_a_two_layer_network_s_four_gradients_by_hand_backprop():
    H = 5
    w1, b1 = RNG.normal(size=(D, H)), RNG.normal(size=H)
    w2, b2 = RNG.normal(size=(H, C)), RNG.normal(size=C)
    f = Function("h = relu(X @ W1 + b1); scores = h @ W2 + b2; L = cross_entropy(scores, y)")
    r = f.gradient(X=X, W1=w1, b1=b1, W2=w2, b2=b2, y=LABELS.astype(float),
                   wrt=["W1", "b1", "W2", "b2"])
    h = np.maximum(X @ w1 + b1, 0)
    p = softmax(h @ w2 + b2)
    ds = (p - ONEHOT) / N
    dh = ds @ w2.T * (h > 0)
    assert r.value == pytest.approx(np.mean(-np.log(p[np.arange(N), LABELS])), rel=1e-14)
    for name, want in (("W2", h.T @ ds), ("b2", ds.sum(0)), ("W1", X.T @ dh),
                       ("b1", dh.sum(0))):
        np.testing.assert_allclose(r.gradient[name], want, rtol=1e-12, atol=1e-15,
                                   err_msg=name)


def test_linear_regression_gradient_is_the_normal_equations():
    y = RNG.normal(size=N)
    w = RNG.normal(size=D)
    want = 2 / N * X.T @ (X @ w - y)
    for src in ("mean((X @ w - y)^2)", "mse(X @ w, y)"):
        r = Function(src).gradient(X=X, w=w, y=y, wrt=["w"])
        assert r.value == pytest.approx(np.mean((X @ w - y) ** 2), rel=1e-14)
        np.testing.assert_allclose(r.gradient["w"], want, rtol=1e-12)


# --- refusals: names, shapes, caret ------------------------------------------------------------
def error_of(src, **point) -> str:
    with pytest.raises(GradcalcError) as info:
        Function(src).gradient(**{k: np.asarray(v, dtype=float) for k, v in point.items()})
    return info.value.render()


@pytest.mark.parametrize("src, point, message, caret", [
    ("x[5]", {"x": [1, 2, 3]}, "index 5 is out of range for x (3): it has 3 entries",
     "x[5]\n  ^^^^"),
    ("sum(X[1:1, :])", {"X": [[1, 2], [3, 4]]},
     "the slice 1:1 selects nothing from X (2×2) along axis 0", "^^^^^^^^^"),
    ("x[0, 0]", {"x": [1, 2]}, "too many indices: x (2) has 1 axis, and 2 are given", None),
    ("sum(X, 2)", {"X": [[1, 2]]}, "cannot reduce along axis 2: X (1×2) has axes 0 to 1",
     None),
    ("sum(reshape(x, 4))", {"x": [1, 2, 3]}, "cannot reshape x (3) to 4: 3 entries, not 4",
     None),
    ("cross_entropy(S, y)", {"S": [[1, 2], [3, 4]], "y": [0, 2]},
     "y[1] = 2 is not a class label: the scores S have 2 classes, labelled 0 to 1",
     "cross_entropy(S, y)\n                   ^"),
    ("cross_entropy(S, y)", {"S": [[1, 2], [3, 4]], "y": [0, 0.5]},
     "y[1] = 0.5 is not a class label", None),
    ("cross_entropy(S, y)", {"S": [[1, 2], [3, 4]], "y": [0]},
     "cross_entropy needs one class label per row of S (2×2), so labels of shape 2, and y (1) "
     "is not", None),
    ("sum(inv(A))", {"A": [[1, 2], [2, 4]]},
     "A is singular (or nearly: its condition number is past 1e15), so it has no inverse",
     "sum(inv(A))\n          ^"),
    ("det(x)", {"x": [1, 2]}, "det needs a square matrix, and x (2) is not", None),
    ("dot(x, y)", {"x": [1, 2], "y": [1, 2, 3]}, "cannot take dot of x (2) and y (3): 2 ≠ 3",
     None),
    ("sum(softmax(x, 1))", {"x": [1, 2]},
     "cannot take softmax along axis 1: x (2) has axes 0 to 0", None),
    ("mse(x, y)", {"x": [1, 2], "y": [1, 2, 3]},
     "mse needs two arrays of one shape, and x (2) and y (3) differ", None),
    ("softmax(x)", {"x": [1, 2]}, "is not a scalar but a 2 array", None),
])
def test_refusals_name_the_operands_and_their_shapes(src, point, message, caret):
    text = error_of(src, **point)
    assert message in text
    if caret is not None:
        assert caret in text


@pytest.mark.parametrize("src, message", [
    ("x[i]", "an index is a whole number or a slice such as 1:3, written in the program"),
    ("x[]", "expected an index"),
    ("x[1:2:3:4]", "a slice is start:stop or start:stop:step"),
    ("x[::0]", "a slice is start:stop or start:stop:step, with a step that is not 0"),
    ("sum(X, a)", "an axis of sum() is a whole number written in the program"),
    ("sum(X, 0, 1)", "sum() takes an array and at most one axis"),
    ("reshape(x, 1.5)", "a size of reshape() is a whole number written in the program"),
    ("clamp(x, 1)", "clamp() takes 3 arguments, not 2"),
    ("reshape(x)", "reshape() needs the new sizes after the array"),   # found by fuzz_parser
    ("(x)clamp()", "clamp() needs 3 arguments"),   # found by fuzz_parser
    ("x[1", "'[' is never closed"),
])
def test_bad_index_and_static_arguments_are_parse_errors(src, message):
    with pytest.raises(GradcalcError) as info:
        parse_graph(src)
    assert message in info.value.render()


# --- metrics: comparisons and argmax (issue 16's acc = mean(argmax(S, 1) == y)) --------------
@pytest.mark.parametrize("sym, want", [
    ("<", [1.0, 0.0, 0.0]), (">", [0.0, 1.0, 0.0]), ("<=", [1.0, 0.0, 1.0]),
    (">=", [0.0, 1.0, 1.0]), ("==", [0.0, 0.0, 1.0]), ("!=", [1.0, 1.0, 0.0])])
def test_comparisons_are_one_or_zero_with_zero_gradient(sym, want):
    f = Function(f"x {sym} y")
    assert [f(x=a, y=b) for a, b in ((1, 2), (2, 1), (2, 2))] == want
    assert f.gradient(x=1.0, y=2.0).gradient == {"x": 0.0, "y": 0.0}
    r = f.gradient(x=np.array([1.0, 2.0, 2.0]), y=np.array([2.0, 1.0, 2.0]))
    assert r.value.tolist() == want   # (a scalar program at many points)


def test_comparisons_bind_below_arithmetic_and_are_steps_underneath():
    assert Function("x + 1 < 2*y")(x=1, y=1.5) == 1.0   # (x + 1) < (2*y)
    assert [n.op for n in parse_graph("a < b").nodes if n.args] == ["sub", "step"]
    with pytest.raises(GradcalcError, match="unexpected character '!'"):
        parse_graph("!x")


def test_accuracy_by_argmax_and_labels_get_no_gradient_wherever_they_appear():
    s = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 0.0], [0.0, 5.0, 1.0]])
    y = np.array([2.0, 1.0, 1.0])
    f = Function("acc = mean(argmax(S, 1) == y); L = cross_entropy(S, y) + 0*acc")
    assert f.gradient(S=s, y=y, output="acc").value == pytest.approx(2 / 3)
    assert Function("argmax(S)").gradient(S=s, jacobian=True).value.tolist() == [2.0, 0.0, 1.0]
    r = f.gradient(S=s, y=y)
    assert set(r.gradient) == {"S"}   # y is labels (cross_entropy's), though == uses it too
    np.testing.assert_allclose(r.gradient["S"], (np.exp(s) / np.exp(s).sum(1, keepdims=True)
                                                 - np.eye(3)[y.astype(int)]) / 3, rtol=1e-12)
    assert r.warnings == ()


def test_an_array_at_a_kink_is_warned_once_per_node_with_the_convention():
    r = Function("sum(relu(W@x))").gradient(W=np.array([[1.0, 1.0], [2.0, 0.0]]),
                                            x=np.array([1.0, -1.0]))
    assert r.warnings == ("relu(W@x) is not differentiable at entry [0]: gradcalc uses "
                          "relu'(0) = 0, as PyTorch does",)
    r = Function("sum(x == y)").gradient(x=np.array([1.0, 2.0]), y=np.array([1.0, 2.0]))
    assert r.warnings == ("x == y is not differentiable at entry [0] (and 1 more): gradcalc uses "
                          "step'(0) = 0, as PyTorch does",)


def test_matmul_computes_only_the_gradients_asked_for(monkeypatch):
    """X @ W with X data (not in wrt): X's gradient, a big product, is never computed."""
    from gradcalc import domains

    calls = []
    D = domains.tensor_domain()
    real = D.matmul
    monkeypatch.setattr(D, "matmul", lambda a, b: calls.append((np.shape(a), np.shape(b)))
                        or real(a, b))
    x, w = RNG.normal(size=(5, 4)), RNG.normal(size=(4, 3))
    r = Function("sum((X @ W)^2)").gradient(X=x, W=w, wrt=["W"])
    np.testing.assert_allclose(r.gradient["W"], 2 * x.T @ (x @ w), rtol=1e-13)
    assert calls == [((5, 4), (4, 3)), ((4, 5), (5, 3))]   # forward, and Xᵀ·g for W only


# --- keyword arguments: an axis, clamp's bounds ---------------------------------------------------
@pytest.mark.parametrize("src, want", [
    ("sum(max(M, axis=0))", np.sum(np.max(M, 0))),
    ("sum(min(M, axis=1) * [1, 2])", np.sum(np.min(M, 1) * [1, 2])),
    ("sum(M, axis=1) @ [1, 2]", np.sum(M, 1) @ [1, 2]),
    ("sum(softmax(M, axis=0) * M)", np.sum(softmax(M, 0) * M)),
    ("sum(logsumexp(M, axis=0))", np.sum(logsumexp(M, 0))),
    ("sum(clamp(M, min=0))", np.sum(np.clip(M, 0, None))),
    ("sum(clamp(M, max=0.5)^2)", np.sum(np.clip(M, None, 0.5) ** 2)),
    ("sum(clamp(M, min=-0.5, max=0.5)^2)", np.sum(np.clip(M, -0.5, 0.5) ** 2)),
])
def test_keyword_arguments_as_numpy_and_pytorch_spell_them(src, want):
    f = Function(src)
    r = f.gradient(M=M)
    assert r.value == pytest.approx(want, rel=1e-12)
    assert numerical_check(f, r).passed
    assert parse_graph(src).nodes[-1].op != "input"


def test_max_along_an_axis_shares_a_tie_within_its_row():
    r = Function("sum(max(X, axis=1))").gradient(X=np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]))
    assert r.gradient["X"].tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    assert Function("max(x, 0)").gradient(x=np.array([-1.0, 2.0])).value.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("src, message, caret", [
    ("sum(X, axs=0)", "sum() takes no keyword axs", "^^^"),
    ("sin(x=1)", "sin() takes no keyword x", None),
    ("sum(X, axis=0, axis=1)", "axis is given twice", None),
    ("sum(axis=0, X)", "a positional argument after a keyword argument", None),
    ("clamp(x, min=0, 1)", "a positional argument after a keyword argument", None),
    ("sum(X, axis=a)", "an axis of sum() is a whole number written in the program", None),
])
def test_bad_keywords_are_parse_errors(src, message, caret):
    with pytest.raises(GradcalcError) as info:
        parse_graph(src)
    assert message in info.value.render()
    if caret:
        assert caret in info.value.render()


def test_sympy_recursing_on_a_comparison_is_an_error_not_a_recursion_error():
    # fuzz/findings F5
    with pytest.raises(GradcalcError, match="the symbolic gradient is too deep for SymPy"):
        Function("u+ 0^ -u ^c>= + 0^ + st").symbolic()


def test_a_comparison_at_a_tie_is_warned_in_its_own_words():
    r = Function("x < 1").gradient(x=1.0)
    assert (r.value, r.gradient) == (0.0, {"x": 0.0})
    assert r.warnings == ("x < 1 is not differentiable where its two sides are equal: gradcalc "
                          "uses step'(0) = 0, as PyTorch does",)
