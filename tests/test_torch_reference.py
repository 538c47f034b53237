"""The seed network of issue 15, cross_entropy(relu(X @ W1 + b1) @ W2 + b2, y), against two
references: a backward pass written by hand in NumPy (always run) and PyTorch's float64
autograd (run where torch is installed: CI installs '.[test]' only, which has no torch).

The value and the gradients with respect to W1, b1, W2 and b2 must agree to 1e-10 relative, at a
small shape (X 8×50, W1 50×16) and at the issue's (X 64×3072, W1 3072×100: a gradient takes
~10 ms there; the case skips itself on a machine where its first call takes over 5 s).
"""

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

from gradcalc import Function

CROSS_ENTROPY = "cross_entropy(relu(X @ W1 + b1) @ W2 + b2, y)"
SQUARE = "sum((relu(X @ W1 + b1) @ W2 + b2)^2)/{rows}"
PARAMS = ("W1", "b1", "W2", "b2")
SMALL = (8, 50, 16, 10)      # rows, features, hidden units, classes
FULL = (64, 3072, 100, 10)
RTOL = 1e-10


def network_point(rows, features, hidden, classes, seed=15):
    """He-scaled weights (about half of the hidden units active), labels as floats."""
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((rows, features)),
            "W1": rng.standard_normal((features, hidden)) * (2.0 / features) ** 0.5,
            "b1": 0.1 * rng.standard_normal(hidden),
            "W2": rng.standard_normal((hidden, classes)) * (2.0 / hidden) ** 0.5,
            "b2": 0.1 * rng.standard_normal(classes),
            "y": rng.integers(0, classes, rows).astype(np.float64)}


def numpy_backprop(p, cross_entropy=True):
    """Forward and backward by hand: (value, {name: gradient}) for W1, b1, W2, b2 and X."""
    X, W1, b1, W2, b2 = (p[k] for k in ("X", *PARAMS))
    n = X.shape[0]
    z = X @ W1 + b1
    h = np.maximum(z, 0.0)
    s = h @ W2 + b2
    if cross_entropy:
        top = s.max(axis=1, keepdims=True)
        e = np.exp(s - top)
        total = e.sum(axis=1, keepdims=True)
        rows, labels = np.arange(n), p["y"].astype(int)
        value = np.mean(np.log(total[:, 0]) + top[:, 0] - s[rows, labels])
        ds = e / total
        ds[rows, labels] -= 1.0
        ds /= n
    else:
        value = np.sum(s * s) / n
        ds = 2.0 * s / n
    dz = (ds @ W2.T) * (z > 0)
    return value, {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ ds, "b2": ds.sum(axis=0),
                   "X": dz @ W1.T}


def torch_backprop(torch, p, cross_entropy=True):
    X = torch.from_numpy(p["X"])
    params = [torch.from_numpy(p[k]).requires_grad_() for k in PARAMS]
    W1, b1, W2, b2 = params
    s = torch.relu(X @ W1 + b1) @ W2 + b2
    if cross_entropy:
        loss = torch.nn.functional.cross_entropy(s, torch.from_numpy(p["y"]).long())
    else:
        loss = (s ** 2).sum() / X.shape[0]
    grads = torch.autograd.grad(loss, params)
    return loss.item(), {k: g.numpy() for k, g in zip(PARAMS, grads, strict=True)}


def gradcalc_network(p, cross_entropy=True, wrt=PARAMS):
    if cross_entropy:
        return Function(CROSS_ENTROPY).tensor_gradient(p, wrt=wrt)
    point = {k: x for k, x in p.items() if k != "y"}
    return Function(SQUARE.format(rows=p["X"].shape[0])).tensor_gradient(point, wrt=wrt)


def assert_agree(result, value, grads, names=PARAMS):
    """1e-10 relative, entry by entry; an entry that cancels to far below its array's largest
    (1e-7 of it, in a sum over 64 rows) is held to 1e-10 of that largest, since NumPy's BLAS and
    PyTorch add in different orders."""
    assert_allclose(result.value, value, rtol=RTOL)
    for k in names:
        assert result.gradient[k].shape == grads[k].shape, k
        assert_allclose(result.gradient[k], grads[k], rtol=RTOL,
                        atol=RTOL * np.abs(grads[k]).max(), err_msg=k)


def full_shape_point():
    """The issue's shape, or a skip where one gradient there takes over 5 s (a slow machine)."""
    p = network_point(*FULL)
    t = time.perf_counter()
    gradcalc_network(p)
    if time.perf_counter() - t > 5.0:
        pytest.skip("one gradient at 64×3072 takes over 5 s here")
    return p


# --- NumPy by hand: runs everywhere -----------------------------------------------------
@pytest.mark.parametrize("cross_entropy", [True, False], ids=["cross_entropy", "square"])
def test_small_network_agrees_with_numpy_backprop(cross_entropy):
    p = network_point(*SMALL)
    z = p["X"] @ p["W1"] + p["b1"]
    assert (z > 0).any() and (z < 0).any()   # relu's both sides are exercised
    value, grads = numpy_backprop(p, cross_entropy)
    assert_agree(gradcalc_network(p, cross_entropy), value, grads)


def test_full_network_agrees_with_numpy_backprop():
    p = full_shape_point()
    value, grads = numpy_backprop(p)
    assert_agree(gradcalc_network(p), value, grads)


def test_every_gradient_by_default_labels_aside():
    # without wrt: W1, b1, W2, b2 and the data X (y holds labels: no gradient)
    p = network_point(*SMALL)
    r = Function(CROSS_ENTROPY).tensor_gradient(p)
    value, grads = numpy_backprop(p)
    assert set(r.gradient) == {"X", *PARAMS}
    assert_agree(r, value, grads, ("X", *PARAMS))


def test_the_point_arrays_are_read_never_written():
    p = network_point(*SMALL)
    p["b1"][3] = -0.0
    before = {k: x.copy() for k, x in p.items()}
    r = gradcalc_network(p)
    for k, x in p.items():   # bit for bit, -0.0 included
        assert x.tobytes() == before[k].tobytes(), k
    assert np.signbit(p["b1"][3]) and not np.signbit(r.point["b1"][3])   # -0.0 made 0.0
    r.gradient["W1"][:] = 0.0   # each gradient is the caller's own array
    assert not (gradcalc_network(p).gradient["W1"] == 0).all()


# --- PyTorch float64 autograd: where torch is installed -----------------------------------
@pytest.mark.parametrize("cross_entropy", [True, False], ids=["cross_entropy", "square"])
def test_small_network_agrees_with_torch(cross_entropy):
    torch = pytest.importorskip("torch")
    p = network_point(*SMALL)
    value, grads = torch_backprop(torch, p, cross_entropy)
    assert_agree(gradcalc_network(p, cross_entropy), value, grads)


def test_full_network_agrees_with_torch():
    torch = pytest.importorskip("torch")
    p = full_shape_point()
    value, grads = torch_backprop(torch, p)
    assert_agree(gradcalc_network(p), value, grads)
