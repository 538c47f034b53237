"""The array functions of the tensor domain (docs/tensors.md, ``domains.tensor_domain``): what
array ops and their VJPs need beyond NumPy's elementwise functions. This module imports NumPy
at once: only the tensor path loads it."""

from __future__ import annotations

import numpy as np

from .ops import ValueRefused


def sum_to(g, shape):
    """g summed over the axes broadcasting added (leading) or stretched (size 1 in shape)."""
    if np.shape(g) == shape:
        return g
    if shape == ():
        return np.sum(g)
    lead = np.ndim(g) - len(shape)
    g = np.sum(g, axis=tuple(range(lead))) if lead else g
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    return np.sum(g, axis=stretched, keepdims=True) if stretched else g


def stack(xs):
    return np.stack([np.asarray(x, dtype=np.float64) for x in xs])


def put(g, shape, key):
    """The VJP of x[key]: g where the entries were taken, 0 elsewhere."""
    z = np.zeros(shape)
    z[key] = g
    return z


def logsumexp(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def log_softmax(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    return x - top - np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))


def labels_of(y, shape):
    """Class labels as integers in 0..C-1 (C the last axis of the scores), or refused."""
    y = np.asarray(y)
    classes = shape[-1]
    bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= classes))
    if bad.size:
        k = int(bad[0])
        value = float(y.flat[k])
        at = f"[{k}]" if y.ndim else ""
        raise ValueRefused(f"{{1}}{at} = {value:g} is not a class label: the scores {{0}} "
                           f"have {classes} classes, labelled 0 to {classes - 1}", arg=1)
    return y.astype(np.intp)


def cross_entropy(s, y):
    labels = labels_of(y, np.shape(s))
    if np.ndim(s) == 1:
        return logsumexp(s, -1) - s[labels]
    rows = np.arange(s.shape[0])
    return np.mean(logsumexp(s, -1) - s[rows, labels])


def onehot(y, shape):
    z = np.zeros(shape)
    labels = labels_of(y, shape)
    if len(shape) == 1:
        z[labels] = 1.0
    else:
        z[np.arange(shape[0]), labels] = 1.0
    return z


def inv(a):
    if np.linalg.cond(a) > 1e15:
        raise ValueRefused("{0} is singular (or nearly: its condition number is past "
                           "1e15), so it has no inverse", arg=0)
    return np.linalg.inv(a)


def adjugate(a):
    """adj(A), with det(A)·A⁻¹ = adj(A) where A is invertible, and defined where it is not:
    from A = U Σ Vᵀ, adj(A) = det(U)·det(V) · V adj(Σ) Uᵀ, adj(Σ)_ii the product of the
    other singular values."""
    u, s, vt = np.linalg.svd(a)
    others = np.array([np.prod(np.delete(s, i)) for i in range(s.size)])
    return np.linalg.det(u) * np.linalg.det(vt) * (vt.T * others) @ u.T


def diag_vjp(g, shape):
    if len(shape) == 1:
        return np.diagonal(g).copy()
    z = np.zeros(shape)
    k = np.arange(min(shape))
    z[k, k] = g
    return z
