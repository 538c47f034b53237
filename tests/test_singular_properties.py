"""Property tests at singular points: random programs put exactly on a point where a local
derivative is infinite, or behind a structural zero (relu's flat side, an argument max/min did not
select, x^0), judged by mpmath at 50 digits.

A program is outer(core(inner)): ``inner`` is x - a (or a - x, or a multiple) so that the core's
argument is exactly 0 at x = a; the core has a singular local derivative at 0; ``outer`` is smooth
and may read a second variable y. Each piece is written twice, as gradcalc text and as an mpmath
function, so the reference never goes through gradcalc. The reference derivative is mpmath's own
numerical differentiation at 50 digits from each side where the function is defined (``mp.diff``
with ``direction``); the two sides must agree for the derivative to exist.

The property: gradcalc never gives a number that differs from the reference; where the reference
exists, gradcalc gives it (not an error); where it does not, gradcalc says undetermined or refuses.
"""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcalc import EvaluationError, Function

mp = mpmath.MPContext()
mp.dps = 50

# (gradcalc text with U for the argument, mpmath function of u)
CORES = [
    ("cbrt(U)^3", lambda u: mp.cbrt(u) ** 3 if u >= 0 else -(mp.cbrt(-u) ** 3)),
    ("sqrt(U)^2", lambda u: mp.sqrt(u) ** 2),
    ("sqrt(U)*sqrt(U)", lambda u: mp.sqrt(u) * mp.sqrt(u)),
    ("sin(sqrt(U))^2", lambda u: mp.sin(mp.sqrt(u)) ** 2),
    ("cosh(sqrt(U))", lambda u: mp.cosh(mp.sqrt(u))),
    ("1 - cos(sqrt(U))", lambda u: 1 - mp.cos(mp.sqrt(u))),
    ("U*sqrt(U)", lambda u: u * mp.sqrt(u)),
    ("acosh(1 + U)^2", lambda u: mp.acosh(1 + u) ** 2),
    ("asin(1 - U) + acos(1 - U)", lambda u: mp.asin(1 - u) + mp.acos(1 - u)),
    ("sqrt(relu(U - 1))", lambda u: mp.sqrt(max(u - 1, 0))),
    ("acosh(max(U + 0.5, 1))", lambda u: mp.acosh(max(u + mp.mpf("0.5"), 1))),
    ("asin(min(U + 2, 1))", lambda u: mp.asin(min(u + 2, 1))),
    ("asin((U + 2)^0)", lambda u: mp.asin((u + 2) ** 0)),
    ("sqrt(U)", lambda u: mp.sqrt(u)),                      # an infinite slope
    ("sqrt(U^2)", lambda u: mp.sqrt(u ** 2)),                # |U|: a corner
    ("abs(sqrt(U))", lambda u: abs(mp.sqrt(u))),
    ("sec(cbrt(U))", lambda u: mp.sec(mp.cbrt(u) if u >= 0 else -mp.cbrt(-u))),   # a cusp
]
OUTERS = [
    ("C", lambda c, y: c),
    ("sin(C)", lambda c, y: mp.sin(c)),
    ("exp(C)*y", lambda c, y: mp.exp(c) * y),
    ("C*C + 3*C", lambda c, y: c * c + 3 * c),
    ("tanh(C) + y^2", lambda c, y: mp.tanh(c) + y ** 2),
    ("2 - C*y", lambda c, y: 2 - c * y),
]
INNERS = [
    ("(x - A)", lambda x, a: x - a),
    ("(A - x)", lambda x, a: a - x),
    ("(2*x - 2*A)", lambda x, a: 2 * x - 2 * a),
]
POINTS = [0.0, 0.5, -1.25, 2.0, 3.0]


def _real(z):
    """mpmath value as a real mpf, or None when complex (outside the domain) or not finite."""
    if isinstance(z, mpmath.mpc) or not isinstance(z, mpmath.mpf):
        if isinstance(z, (int, float)):
            return mp.mpf(z)
        if abs(mp.im(z)) > mp.mpf(10) ** -40:
            return None
        z = mp.re(z)
    return z if mp.isfinite(z) else None


def one_sided(f, x0, direction):
    """f's derivative at x0 from one side (mpmath, 50 digits), None where f is undefined on that
    side, or 'inf' when the slope grows without bound."""
    try:
        if _real(f(x0 + direction * mp.mpf(10) ** -30)) is None:
            return None
        d1 = mp.diff(f, x0, direction=direction, h=mp.mpf(10) ** -20)
        d2 = mp.diff(f, x0, direction=direction, h=mp.mpf(10) ** -24)
    except (ValueError, ZeroDivisionError):
        return None
    d1, d2 = _real(d1), _real(d2)
    if d1 is None or d2 is None:
        return None
    if abs(d2) > 1e6 and abs(d2) > 10 * abs(d1):
        return "inf"
    return d2


def reference(f, x0):
    """The true derivative (a float), or None when it does not exist."""
    right, left = one_sided(f, x0, 1), one_sided(f, x0, -1)
    sides = [d for d in (right, left) if d is not None]
    if not sides or "inf" in sides:
        return None
    if len(sides) == 2 and abs(sides[0] - sides[1]) > 1e-6 * max(1, abs(sides[0])):
        return None
    return float(sides[0])


@st.composite
def programs(draw):
    core = draw(st.sampled_from(CORES))
    outer = draw(st.sampled_from(OUTERS))
    inner = draw(st.sampled_from(INNERS))
    a = draw(st.sampled_from(POINTS))
    y = draw(st.sampled_from([1.0, -0.5, 2.0]))
    text = outer[0].replace("C", f"({core[0].replace('U', inner[0])})").replace("A", repr(a))

    def f(x):
        return outer[1](core[1](inner[1](x, mp.mpf(a))), mp.mpf(y))

    return text, a, y, f


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.booleans())
def test_singular_points_never_give_a_wrong_number(case, with_sympy):
    text, a, y, f = case
    fn = Function(text)
    point = {"x": a, "y": y} if "y" in fn.variables else {"x": a}
    truth = reference(f, mp.mpf(a))
    try:
        r = fn.gradient(point, limits=2.0 if with_sympy else 0)
    except EvaluationError as exc:
        assert truth is None, f"{text} at x={a}: refused ({exc.message}), true ∂/∂x = {truth}"
        return
    ours = r.gradient["x"]
    if truth is None:
        assert ours is None, f"{text} at x={a}: gave {ours}, the derivative does not exist"
        return
    assert ours is not None, f"{text} at x={a}: undetermined ({r.undetermined}), true {truth}"
    assert abs(ours - truth) <= 1e-8 * max(1.0, abs(truth)), (text, a, ours, truth)


@pytest.mark.parametrize("core", [c[0] for c in CORES])
def test_every_core_at_its_singular_point(core):
    """Each core once, at x = 0 (both methods), so none is left to chance."""
    fn = Function(core.replace("U", "x"))
    f = dict(CORES)[core]
    truth = reference(f, mp.mpf(0))
    for limits in (0, 2.0):
        try:
            ours = fn.gradient(x=0.0, limits=limits).gradient["x"]
        except EvaluationError:
            ours = None
        if truth is None:
            assert ours is None, (core, ours)
        else:
            assert ours is not None and abs(ours - truth) <= 1e-8 * max(1, abs(truth)), (
                core, limits, ours, truth)
