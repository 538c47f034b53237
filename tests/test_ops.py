"""Every op in the registry: value and each local derivative, against SymPy's own functions and
derivatives (written here independently of gradcalc's SymPy domain) and against central
differences."""

import math

import pytest
import sympy as sp

from gradcalc.domains import FLOAT
from gradcalc.ops import OPS, REGISTRY, VARIADIC

x, y, z = sp.symbols("x y z", real=True)

# name -> (SymPy expression of the arguments, points inside the domain away from kinks)
REFERENCE = {
    "add": (lambda a, b: a + b, [(1.5, -2.0)]),
    "sub": (lambda a, b: a - b, [(1.5, -2.0)]),
    "mul": (lambda a, b: a * b, [(1.5, -2.0)]),
    "div": (lambda a, b: a / b, [(1.5, -2.0), (-3.0, 0.25)]),
    "neg": (lambda a: -a, [(2.5,)]),
    "pow": (lambda a, b: a**b, [(1.5, 2.0), (2.0, -1.5), (0.7, 0.3)]),
    "exp": (sp.exp, [(0.3,), (-2.0,)]),
    "log": (sp.log, [(0.3,), (5.0,)]),
    "logb": (lambda a, b: sp.log(a) / sp.log(b), [(8.0, 2.0), (0.5, 10.0)]),
    "log2": (lambda a: sp.log(a, 2), [(8.0,), (0.3,)]),
    "log10": (lambda a: sp.log(a, 10), [(1000.0,), (0.3,)]),
    "sqrt": (sp.sqrt, [(4.0,), (0.3,)]),
    "cbrt": (lambda a: sp.sign(a) * sp.Abs(a) ** sp.Rational(1, 3), [(8.0,), (-27.0,), (0.5,)]),
    "abs": (sp.Abs, [(-2.0,), (3.0,)]),
    "relu": (lambda a: sp.Max(a, 0), [(-2.0,), (3.0,)]),
    "max": (sp.Max, [(1.0, 2.0), (3.0, -1.0, 2.0)]),
    "min": (sp.Min, [(1.0, 2.0), (3.0, -1.0, 2.0)]),
    "sin": (sp.sin, [(0.5,), (-2.0,)]),
    "cos": (sp.cos, [(0.5,), (-2.0,)]),
    "tan": (sp.tan, [(0.5,), (-1.0,)]),
    "sec": (sp.sec, [(0.5,), (-1.0,)]),
    "csc": (sp.csc, [(0.5,), (-1.0,)]),
    "cot": (sp.cot, [(0.5,), (-1.0,)]),
    "asin": (sp.asin, [(0.5,), (-0.9,)]),
    "acos": (sp.acos, [(0.5,), (-0.9,)]),
    "atan": (sp.atan, [(0.5,), (-3.0,)]),
    "atan2": (sp.atan2, [(1.0, 2.0), (-1.0, -2.0), (2.0, -0.5)]),
    "sinh": (sp.sinh, [(0.5,), (-2.0,)]),
    "cosh": (sp.cosh, [(0.5,), (-2.0,)]),
    "tanh": (sp.tanh, [(0.5,), (-2.0,)]),
    "asinh": (sp.asinh, [(0.5,), (-2.0,)]),
    "acosh": (sp.acosh, [(1.5,), (4.0,)]),
    "atanh": (sp.atanh, [(0.5,), (-0.9,)]),
    "sigmoid": (lambda a: 1 / (1 + sp.exp(-a)), [(0.5,), (-3.0,), (40.0,)]),
    "softplus": (lambda a: sp.log(1 + sp.exp(a)), [(0.5,), (-3.0,), (30.0,)]),
    "erf": (sp.erf, [(0.5,), (-1.2,)]),
    "sech": (sp.sech, [(0.5,), (-3.0,), (40.0,)]),
    "sign": (sp.sign, [(-2.0,), (3.0,)]),
    "step": (lambda a: sp.Heaviside(a, 0), [(-2.0,), (3.0,)]),
    "maxshare": (lambda a, *bs: sp.Heaviside(a - sp.Max(*bs), sp.Rational(1, 2)),
                 [(1.0, 2.0), (3.0, -1.0, 2.0)]),
    "minshare": (lambda a, *bs: sp.Heaviside(sp.Min(*bs) - a, sp.Rational(1, 2)),
                 [(1.0, 2.0), (-3.0, -1.0, 2.0)]),
}

CASES = [(name, pt) for name, (_f, pts) in REFERENCE.items() for pt in pts]


def test_every_op_is_tested_here():
    # (the array ops, TENSOR_OPS, are tested in test_tensors.py)
    assert set(REFERENCE) == {op.name for op in OPS}


def _ours(op, pt):
    out = op.value(FLOAT, *pt)
    if op.arity == VARIADIC:
        parts = [op.partials[0](FLOAT, k, pt, out) for k in range(len(pt))]
    else:
        parts = [rule(FLOAT, *pt, out) for rule in op.partials]
    return out, parts


@pytest.mark.parametrize("name, pt", CASES)
def test_value_and_partials_match_sympy(name, pt):
    op = REGISTRY[name]
    f, _ = REFERENCE[name]
    syms = sp.symbols(f"a0:{len(pt)}", real=True)
    expr = f(*syms)
    at = {s: sp.Float(v, 40) for s, v in zip(syms, pt, strict=True)}
    out, parts = _ours(op, pt)
    assert out == pytest.approx(float(expr.subs(at).evalf(30)), rel=1e-12, abs=1e-300)
    for s, ours in zip(syms, parts, strict=True):
        theirs = float(sp.diff(expr, s).subs(at).evalf(30))
        assert float(ours) == pytest.approx(theirs, rel=1e-10, abs=1e-14), (name, pt, s)


@pytest.mark.parametrize("name, pt", CASES)
def test_partials_match_central_differences(name, pt):
    op = REGISTRY[name]
    _out, parts = _ours(op, pt)
    for k, ours in enumerate(parts):
        h = 1e-6 * max(1.0, abs(pt[k]))
        hi = list(pt)
        lo = list(pt)
        hi[k] += h
        lo[k] -= h
        fd = (op.value(FLOAT, *hi) - op.value(FLOAT, *lo)) / (2 * h)
        assert float(ours) == pytest.approx(fd, rel=1e-5, abs=1e-6), (name, pt, k)


def test_stable_forms_do_not_overflow():
    sig, soft = REGISTRY["sigmoid"], REGISTRY["softplus"]
    assert sig.value(FLOAT, -1000.0) == 0.0
    assert sig.value(FLOAT, 1000.0) == 1.0
    assert soft.value(FLOAT, 1000.0) == 1000.0
    assert soft.value(FLOAT, -1000.0) == 0.0
    assert soft.value(FLOAT, 0.0) == pytest.approx(math.log(2))


def test_conventions_at_non_differentiable_points():
    # PyTorch: relu'(0) = 0, abs'(0) = 0, ties split evenly.
    assert _ours(REGISTRY["relu"], (0.0,))[1] == [0.0]
    assert _ours(REGISTRY["abs"], (0.0,))[1] == [0.0]
    assert _ours(REGISTRY["max"], (1.0, 1.0))[1] == [0.5, 0.5]
    assert _ours(REGISTRY["min"], (2.0, 2.0, 2.0))[1] == pytest.approx([1 / 3] * 3)
    assert _ours(REGISTRY["max"], (2.0, 1.0, 2.0))[1] == [0.5, 0.0, 0.5]
    assert REGISTRY["relu"].kink[0](0.0) and not REGISTRY["relu"].kink[0](0.1)


def test_every_op_has_a_doc_and_partial_per_argument():
    for op in OPS:
        assert op.doc, op.name
        assert len(op.partials) == (1 if op.arity == VARIADIC else op.arity), op.name


def test_readme_documents_every_function():
    from pathlib import Path

    from gradcalc.ops import FUNCTIONS

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Functions"):readme.index("## Python API")]
    missing = [name for name in FUNCTIONS if name not in table]
    assert missing == []


@pytest.mark.parametrize("name, x", [("tanh", 20.0), ("tanh", -30.0), ("tanh", 300.0),
                                     ("sigmoid", 30.0), ("sigmoid", -30.0), ("sigmoid", 700.0)])
def test_saturating_slopes_keep_their_digits(name, x):
    """Found by fuzzing (F4): 1 - tanh² and σ(1 - σ) lose every digit where the functions
    saturate; the slopes must stay accurate relative to their own size."""
    op = REGISTRY[name]
    ours = op.partials[0](FLOAT, x, op.value(FLOAT, x))
    ref = {"tanh": sp.sech(sp.Float(x, 50)) ** 2,
           "sigmoid": sp.exp(-sp.Float(x, 50)) / (1 + sp.exp(-sp.Float(x, 50))) ** 2}[name]
    assert ours == pytest.approx(float(ref), rel=1e-14)
    assert ours > 0
