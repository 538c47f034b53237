"""Fused plans (vector._Fused, _vmath.run_plan): a compiled plan run in C tile by tile must give
the floats of the same plan run as NumPy calls, bit for bit, errors and kinks included; with
fast math, the floats of the unfused fast-math plan. (tests/test_vector_plan.py already holds
the plans, fused where they can be, to the single-point numbers.)"""

import sys
import zlib
from pathlib import Path

import pytest

import gradcalc.vector as vector
from gradcalc import fastmath
from gradcalc.function import Function
from gradcalc.ops import OPS
from gradcalc.vector import gradient_many, numpy

sys.path.insert(0, str(Path(__file__).parent))
from test_vector import grid, program_for  # noqa: E402
from test_vector_plan import identical  # noqa: E402

np = numpy()
VM = fastmath.native()
pytestmark = pytest.mark.skipif(VM is None, reason="the _vmath extension is not built here, "
                                "or this CPU lacks AVX2/FMA")
MANY = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"
PROGRAMS = [
    MANY,
    "b = x + x; c = b*b; f = c/y + z*y",
    "sqrt(x)*0 + y",
    "1/(1/x) + log(y*y + 1) + atan(z)",
    "x^2 + x^3 + y^-1 + exp(x - y)",
    "pi*x + exp(y)*e - z + log2(x*x + 1) + cbrt(y) + asinh(z)",
    "tan(x) + sinh(y) + cosh(z) + log(1 + x*x) + tanh(y)",
    "1/exp(x) + y",   # exp(700) overflows in the grid: the block goes through NumPy, checked
    "-(x*y) + z*z - x/y",
]


def plan(fn, columns, fast=False):
    gradient_many(fn, columns, fast_math=fast)
    tape = fn.resolve(dict.fromkeys(fn.variables, 0.0))[0]
    key = next(k for k in tape._vector_plans if (k[-1] == "fast math") == fast)
    return tape._vector_plans[key]


def both(fn, columns, monkeypatch, fast=False):
    fused = gradient_many(fn, columns, fast_math=fast)
    with monkeypatch.context() as m:
        m.setattr(vector, "FUSE", False)
        plain = gradient_many(fn, columns, fast_math=fast)
    return fused, plain


@pytest.mark.parametrize("source", PROGRAMS)
@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast-math"])
def test_fused_plans_give_the_numpy_plans_floats(source, fast, monkeypatch):
    if fast and not fastmath.available():
        pytest.skip("no kernels")
    monkeypatch.setattr(vector, "CHUNK", 700)   # several blocks, a short last one
    fn = Function(source)
    columns = {k: np.array(c) for k, c in grid(3001, zlib.crc32(source.encode())).items()
               if k in fn.variables}
    assert plan(fn, {k: c[:5] for k, c in columns.items()}, fast).fused is not None
    fused, plain = both(fn, columns, monkeypatch, fast)
    identical(fused, plain)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_op_fused_or_not_gives_the_same_floats(op, monkeypatch):
    fn = Function(program_for(op))
    columns = {k: np.array(c) for k, c in grid(777, zlib.crc32(op.name.encode())).items()
               if k in fn.variables}
    fused, plain = both(fn, columns, monkeypatch)
    identical(fused, plain)


def test_the_common_programs_run_fused():
    """The ops of typical programs are all fusable (a plan with where, comparisons or kink tests
    runs as NumPy calls instead)."""
    for source in PROGRAMS:
        fn = Function(source)
        p = plan(fn, {k: np.array([0.5, 0.25]) for k in fn.variables})
        assert p.fused is not None, source
    relu = Function("relu(x - 0.1)*y")
    assert plan(relu, {"x": np.array([0.5]), "y": np.array([1.0])}).fused is None


def test_strided_columns_and_threads(monkeypatch):
    fn = Function(MANY)
    table = np.random.default_rng(5).uniform(-2, 2, (20_000, 3))
    columns = {k: table[:, j] for j, k in enumerate("xyz")}   # strided views
    assert not columns["x"].flags.c_contiguous
    fused, plain = both(fn, columns, monkeypatch)
    identical(fused, plain)
    monkeypatch.setattr(vector, "THREADS", 1)
    identical(gradient_many(fn, columns), fused)


def test_run_plan_refuses_a_bad_program():
    out = np.empty(4)
    x = np.ones(4)
    good = np.array([0, 0, 1 << 32, 1 << 32, 2], dtype=np.int64)   # r0 = in0 + in0
    assert VM.run_plan(good, np.zeros(1), 1, (x,), ((out, 0, False),))
    assert list(out) == [2.0] * 4
    for code in ([99, 0, 0, 0, 1], [0, 5, 0, 0, 2], [0, 0, 7 << 32, 0, 1], [0, 0, 0, 0, 3]):
        with pytest.raises(ValueError):
            VM.run_plan(np.array(code, dtype=np.int64), np.zeros(1), 1, (x,), ((out, 0, False),))
    with pytest.raises(ValueError):   # an output shorter than the inputs
        VM.run_plan(good, np.zeros(1), 1, (x,), ((np.empty(3), 0, False),))
    with pytest.raises(ValueError):   # an output operand out of range
        VM.run_plan(good, np.zeros(1), 1, (x,), ((out, 3 << 32, False),))
    overflow = np.array([3, 0, 1 << 32, 2 << 32, 2], dtype=np.int64)   # r0 = in0 / 0.0
    assert not VM.run_plan(overflow, np.zeros(1), 1, (x,), ((out, 0, False),))
