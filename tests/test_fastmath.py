"""--fast-math: gradcalc's vector kernels (gradcalc/_vmath.c, gradcalc/fastmath.py).

Each kernel is held to the documented bound, 2 ulp of the exact result (mpmath at 130 bits), on
random arguments over its whole fast range and on the edges of its reductions; outside the fast
range it must give the C library's float exactly. A batch under fast math must agree with the
exact batch (and say the same about the points where the program is undefined), and fast math
must change nothing where the kernels cannot run."""

from __future__ import annotations

import math
import os
import platform
import shutil

import mpmath
import pytest

from gradcalc import fastmath, parse
from gradcalc.lazy import numpy

np = numpy()
KERNELS = fastmath.kernels()
needs_kernels = pytest.mark.skipif(KERNELS is None, reason="the _vmath kernels are not built "
                                   "here, or this CPU lacks AVX2/FMA")
MP = {"sin": mpmath.sin, "cos": mpmath.cos, "exp": mpmath.exp, "expm1": mpmath.expm1,
      "log": mpmath.log, "tanh": mpmath.tanh}


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def test_kernels_are_built_where_they_can_be():
    """On x86-64 Linux with a C compiler and AVX2+FMA, the install must have built the kernels
    (else every test below would skip and nothing would hold them)."""
    if (platform.machine() != "x86_64" or not shutil.which("cc")
            or not {"avx2", "fma"} <= _cpu_flags()):
        pytest.skip("not a machine the kernels are built for")
    assert fastmath.available()


def ulps(got: float, exact) -> float:
    """|got - exact| in units of the last place of the exact value (the smaller ulp of the two
    at a power of two)."""
    e = float(exact)
    if e == 0.0:
        return 0.0 if got == 0.0 else math.inf
    m, _ = math.frexp(abs(e))
    unit = max(math.ulp(abs(e)) / (2 if m == 0.5 else 1), 5e-324)
    return float(abs(mpmath.mpf(got) - exact) / unit)


def _apply(name, x):
    out = np.empty_like(x)
    KERNELS[name].quiet(x, out=out)
    return out


def _randoms(lo, hi, n, seed, log=False):
    rng = np.random.default_rng(seed)
    if log:
        return np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    return rng.uniform(lo, hi, n)


RANGES = [  # (kernel, lo, hi, log-uniform)
    ("sin", -4.0, 4.0, False), ("sin", -1e6, 1e6, False), ("sin", 1e-9, 1.0, True),
    ("cos", -4.0, 4.0, False), ("cos", -1e6, 1e6, False), ("cos", 1e-9, 1.0, True),
    ("exp", -707.0, 709.0, False), ("exp", -1.0, 1.0, False), ("exp", 1e-12, 1e-3, True),
    ("expm1", -36.0, 708.0, False), ("expm1", -1.5, 1.5, False), ("expm1", 1e-15, 1e-2, True),
    ("log", 1e-300, 1e300, True), ("log", 0.5, 2.0, False), ("log", 0.999, 1.001, False),
]


@needs_kernels
@pytest.mark.parametrize(("name", "lo", "hi", "log"), RANGES)
def test_kernels_within_two_ulps(name, lo, hi, log):
    mpmath.mp.prec = 130
    x = _randoms(lo, hi, 1500, seed=hash((name, lo)) % 2**32, log=log)
    if name in ("sin", "cos", "expm1") and lo > 0:
        x = np.concatenate([x, -x])
    y = _apply(name, x)
    worst = max(ulps(b, MP[name](mpmath.mpf(a)))
                for a, b in zip(x.tolist(), y.tolist(), strict=True))
    assert worst <= fastmath.ULPS, (name, worst)


def _edges():
    """Where the reductions change: near multiples of pi/2 and ln 2, the ends of the fast
    ranges, powers of two for log, and their neighbours."""
    pts = [k * math.pi / 2 for k in range(-40, 41)] + [k * math.log(2) for k in range(-60, 61)]
    pts += [0.25 * math.pi, 0.5 * math.log(2), math.sqrt(2), math.sqrt(0.5), 2.0 ** 20,
            -707.0, 709.0, -36.0, 708.0, 2.0 ** -26, 2.0 ** -54, 2.0 ** -1022]
    pts += [2.0 ** k for k in range(-60, 61, 7)]
    x = np.array(pts)
    return np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])


@needs_kernels
@pytest.mark.parametrize("name", fastmath.NAMES)
def test_kernels_at_the_edges_of_their_reductions(name):
    mpmath.mp.prec = 130
    x = _edges()
    if name == "log":
        x = np.abs(x[x != 0])
    if name == "exp":
        x = x[np.abs(x) < 700]
    y = _apply(name, x)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    for a, b, c in zip(x.tolist(), y.tolist(), want.tolist(), strict=True):
        if not math.isfinite(c):
            assert b == c
        else:
            assert ulps(b, MP[name](mpmath.mpf(a))) <= fastmath.ULPS, (name, a, b, c)


SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, -1e300, 2.0 ** 21, -2.0 ** 21,
           710.0, -710.0, -745.5, -800.0, 5e-324, -5e-324, 2.2250738585072014e-308 / 3,
           -1.0, -1e-300, 1e-320, 37.5, -37.5]


@needs_kernels
@pytest.mark.parametrize("name", fastmath.NAMES)
def test_outside_the_fast_range_the_c_librarys_float(name):
    """Zeros (with their sign), infinities, NaN, huge and subnormal arguments, and log's
    non-positive ones: exactly NumPy's (the C library's) result, bit for bit."""
    x = np.array(SPECIAL * 3)   # (and in every lane of a block of four)
    y = _apply(name, x)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    for a, b, c in zip(x.tolist(), y.tolist(), want.tolist(), strict=True):
        if math.isnan(c):
            assert math.isnan(b), (name, a)
        else:
            assert b == c and math.copysign(1, b) == math.copysign(1, c), (name, a, b, c)


@needs_kernels
@pytest.mark.parametrize("name", fastmath.NAMES)
def test_lengths_aliasing_and_layout(name):
    """Every tail length gives the numbers of the whole array; out may be x itself; a strided
    array (not the kernels' layout) takes NumPy's exact function."""
    x = _randoms(0.1, 3.0, 23, seed=1)
    whole = _apply(name, x)
    for m in range(0, 11):
        assert np.array_equal(_apply(name, x[:m].copy()), whole[:m])
    same = x.copy()
    KERNELS[name](same, out=same)
    assert np.array_equal(same, whole)
    strided = np.repeat(x, 2)[::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(KERNELS[name](strided), getattr(np, name)(strided))


@needs_kernels
def test_raising_and_quiet():
    """As NumPy under errstate(raise): a result not finite raises FloatingPointError (the plans'
    unchecked runs count on it); the quiet kernel writes the same numbers without."""
    x = np.array([1.0, 1000.0, 2.0, 3.0, 4.0])
    with pytest.raises(FloatingPointError):
        KERNELS["exp"](x, out=np.empty_like(x))
    out = np.empty_like(x)
    KERNELS["exp"].quiet(x, out=out)
    assert out[1] == math.inf and out[0] == _apply("exp", np.array([1.0]))[0]
    zero = np.array([0.0, 1.0])
    with pytest.raises(FloatingPointError):
        KERNELS["log"](zero, out=np.empty_like(zero))


MANY = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"


def _columns(n, seed=0):
    rng = np.random.default_rng(seed)
    return dict(zip("xyz", rng.uniform(-2.0, 2.0, (3, n)), strict=True))


def _agree(a, b, rel=1e-13):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(1.0, float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - b))) <= rel * scale


@needs_kernels
def test_a_fast_batch_agrees_with_the_exact_one():
    f = parse(MANY)
    cols = _columns(20_000)
    exact = f.gradient(cols)
    fast = f.gradient(cols, fast_math=True)
    assert _agree(exact.value, fast.value)
    for w in "xyz":
        assert _agree(exact.gradient[w], fast.gradient[w])
    differ = np.count_nonzero(exact.value != fast.value)
    assert differ > 0   # the kernels really ran (they are not the C library's everywhere)


@needs_kernels
def test_fast_tanh_within_the_bound():
    """tanh under fast math is made from the expm1 kernel (vector._tanh_steps): its value is held
    to the same 2 ulp."""
    mpmath.mp.prec = 130
    f = parse("tanh(x)")
    x = np.concatenate([_randoms(-3.0, 3.0, 2000, 7), _randoms(1e-9, 30.0, 1000, 8, log=True)])
    batch = f.gradient({"x": x}, fast_math=True)
    worst = max(ulps(b, mpmath.tanh(mpmath.mpf(a)))
                for a, b in zip(x.tolist(), batch.value.tolist(), strict=True))
    assert worst <= fastmath.ULPS


@needs_kernels
def test_undefined_points_are_reported_as_without_fast_math():
    f = parse("log(x)*sin(y) + exp(y)")
    x = np.array([1.0, -1.0, 0.0, 2.0, 3.0] * 40)
    y = np.array([0.5, 0.5, 800.0, 1.0, 1000.0] * 40)
    exact = f.gradient({"x": x, "y": y}, errors="report")
    fast = f.gradient({"x": x, "y": y}, errors="report", fast_math=True)
    assert fast.errors == exact.errors and len(fast.errors) == 120
    ok = fast.ok
    assert _agree(exact.value[ok], fast.value[ok])


def test_without_kernels_fast_math_changes_nothing(monkeypatch):
    f = parse(MANY)
    cols = _columns(5_000, seed=3)
    exact = f.gradient(cols)
    monkeypatch.setattr(fastmath, "_KERNELS", [None])
    fast = f.gradient(cols, fast_math=True)
    assert np.array_equal(exact.value, fast.value)
    for w in "xyz":
        assert np.array_equal(exact.gradient[w], fast.gradient[w])


def test_fast_math_off_is_the_single_point_run():
    f = parse(MANY)
    cols = _columns(3_000, seed=4)
    batch = f.gradient(cols, fast_math=False)
    for i in (0, 1234, 2999):
        r = f.gradient(**{k: float(c[i]) for k, c in cols.items()})
        assert batch.value[i] == r.value
        assert all(batch.gradient[w][i] == r.gradient[w] for w in "xyz")


@pytest.mark.skipif(os.name != "posix", reason="POSIX only")
def test_no_kernel_module_means_not_available(monkeypatch):
    import builtins

    real = builtins.__import__

    def refuse(name, globals=None, locals=None, fromlist=(), level=0):
        if name.endswith("_vmath") or (fromlist and "_vmath" in fromlist):
            raise ImportError("no _vmath")
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(fastmath, "_KERNELS", [])
    monkeypatch.setattr(fastmath, "_NATIVE", [])
    monkeypatch.setattr(builtins, "__import__", refuse)
    assert fastmath.kernels() is None and not fastmath.available()
    assert fastmath.native() is None
