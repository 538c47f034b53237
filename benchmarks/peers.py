"""The peers, each building its own graph from the generator's structure (``dags.structure``).

Peers are never runtime dependencies of gradcalc: each is imported inside the function that uses
it, and ``version(name)`` says whether it is installed (a missing peer is skipped with a note).

Single point: ``torch_scalar``, ``micrograd_dag`` and ``sympy_dag`` each return a ``run()`` that
builds the graph at the point (forward), differentiates it and returns (value, [∂f/∂x0 ..
∂f/∂x9]), as floats. Many points: ``torch_vector`` and ``sympy_lambdify``.
"""

from __future__ import annotations

import math
from importlib import metadata

from .dags import INPUTS

DISTRIBUTIONS = {"gradcalc": "gradcalc", "torch": "torch", "micrograd": "micrograd",
                 "sympy": "sympy", "numpy": "numpy", "matplotlib": "matplotlib",
                 "psutil": "psutil"}


def version(name: str) -> str | None:
    """The installed version of a peer's distribution, or None if it is not installed."""
    try:
        return metadata.version(DISTRIBUTIONS.get(name, name))
    except metadata.PackageNotFoundError:
        return None


# --- single point, scalar graphs ---------------------------------------------------------------
def torch_scalar(stmts, pt):
    """PyTorch autograd on 0-dim float64 tensors: one tensor (and one autograd node) per op."""
    import torch

    xs0 = [pt[x] for x in INPUTS]

    def run():
        xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs0]
        v = list(xs)
        append = v.append
        relu, sin, exp = torch.relu, torch.sin, torch.exp
        for kind, a, b in stmts:
            x = v[a]
            if kind == "add":
                append((x + v[b]) * 0.5)
            elif kind == "mul":
                append(1 - x * v[b])
            elif kind == "square":
                append(x ** 2)
            elif kind == "relu":
                append(relu(x - 0.1))
            elif kind == "sin":
                append(sin(x))
            else:
                append(exp(x - 1))
        out = v[-1]
        grads = torch.autograd.grad(out, xs)
        return out.item(), [g.item() for g in grads]

    return run


def micrograd_dag(stmts, pt):
    """micrograd's Value, with sin and exp added in micrograd's own style (it has neither).

    micrograd's ``backward`` sorts the graph with a recursive ``build_topo``, one Python frame per
    level of depth; the caller raises the recursion limit and runs this in a thread with a large
    stack (``single.py``), and reports a crash as one."""
    from micrograd.engine import Value

    def vsin(x):
        out = Value(math.sin(x.data), (x,), "sin")

        def _backward():
            x.grad += math.cos(x.data) * out.grad
        out._backward = _backward
        return out

    def vexp(x):
        out = Value(math.exp(x.data), (x,), "exp")

        def _backward():
            x.grad += out.data * out.grad
        out._backward = _backward
        return out

    xs0 = [pt[x] for x in INPUTS]

    def run():
        xs = [Value(x) for x in xs0]
        v = list(xs)
        append = v.append
        for kind, a, b in stmts:
            x = v[a]
            if kind == "add":
                append((x + v[b]) * 0.5)
            elif kind == "mul":
                append(1 - x * v[b])
            elif kind == "square":
                append(x ** 2)
            elif kind == "relu":
                append((x - 0.1).relu())
            elif kind == "sin":
                append(vsin(x))
            else:
                append(vexp(x - 1))
        out = v[-1]
        out.backward()
        return float(out.data), [float(x.grad) for x in xs]

    return run


def sympy_dag(stmts, pt, phases: dict | None = None):
    """SymPy: the expression built from the structure (shared subexpressions are shared objects),
    ``sympy.diff`` with respect to each input, then evaluated at the point. ``phases`` receives
    the seconds spent building, differentiating and evaluating."""
    import time

    import sympy

    syms = [sympy.Symbol(x, real=True) for x in INPUTS]
    half, tenth = sympy.Float(0.5), sympy.Float(0.1)
    one, two = sympy.Integer(1), sympy.Integer(2)
    at = {s: sympy.Float(pt[x]) for s, x in zip(syms, INPUTS, strict=True)}

    def run():
        t0 = time.perf_counter()
        v = list(syms)
        append = v.append
        for kind, a, b in stmts:
            x = v[a]
            if kind == "add":
                append((x + v[b]) * half)
            elif kind == "mul":
                append(one - x * v[b])
            elif kind == "square":
                append(x ** two)
            elif kind == "relu":
                append(sympy.Max(x - tenth, 0))
            elif kind == "sin":
                append(sympy.sin(x))
            else:
                append(sympy.exp(x - one))
        f = v[-1]
        t1 = time.perf_counter()
        derivatives = [sympy.diff(f, s) for s in syms]
        t2 = time.perf_counter()
        value = float(f.xreplace(at))
        grads = [float(d.xreplace(at)) for d in derivatives]
        t3 = time.perf_counter()
        if phases is not None:
            phases.update(build=t1 - t0, diff=t2 - t1, evaluate=t3 - t2)
        return value, grads

    return run


# --- many points -----------------------------------------------------------------------------
MANY = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"


def torch_vector(xs, ys, zs):
    """PyTorch on float64 tensors with requires_grad: value and the three partials."""
    import torch

    def run():
        x, y, z = (torch.from_numpy(c).requires_grad_() for c in (xs, ys, zs))
        f = (torch.sin(x * y) + torch.exp(-z ** 2) * torch.log(1 + x ** 2)
             + torch.tanh(x + y * z) * torch.sqrt(1 + y ** 2))
        gx, gy, gz = torch.autograd.grad(f.sum(), (x, y, z))
        return f.detach().numpy(), gx.numpy(), gy.numpy(), gz.numpy()

    return run


def sympy_lambdify(phases: dict | None = None):
    """The symbolic gradient by ``sympy.diff``, compiled once by ``lambdify`` to NumPy code.
    Returns fn(xs, ys, zs) -> (value, ∂x, ∂y, ∂z); ``phases`` gets the one-off seconds."""
    import time

    import sympy

    t0 = time.perf_counter()
    x, y, z = sympy.symbols("x y z", real=True)
    f = (sympy.sin(x * y) + sympy.exp(-z ** 2) * sympy.log(1 + x ** 2)
         + sympy.tanh(x + y * z) * sympy.sqrt(1 + y ** 2))
    exprs = [f, sympy.diff(f, x), sympy.diff(f, y), sympy.diff(f, z)]
    t1 = time.perf_counter()
    fn = sympy.lambdify((x, y, z), exprs, "numpy")
    t2 = time.perf_counter()
    if phases is not None:
        phases.update(diff=t1 - t0, lambdify=t2 - t1)
    return fn
