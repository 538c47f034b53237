"""Partials that reverse mode cannot give, determined another way.

At a singular point reverse mode can meet 0·∞: cbrt(x)^3 at x = 0 multiplies pow's local
derivative 3·cbrt(x)² = 0 by cbrt's, which is infinite, yet the function is x and its derivative 1.
No rule of the registry decides such a product, so the partial is found from the function itself:

- one-sided difference quotients (f(x ± h) - f(x)) / ±h for h = h0, h0/2, ..., extrapolated to
  h → 0 (Richardson), with the error estimate the extrapolation gives; a side where the function
  is undefined is left out, and quotients that grow without bound say the slope is infinite;
- with SymPy (bounded in time), the limit of sympy.diff's derivative from each side.

By the mean value theorem the one-sided limit of f' is f's one-sided derivative wherever f is
continuous there, which the quotients confirm. The two methods are independent, so each checks the
other. Where neither decides, or the sides differ, the partial is undetermined: never a guess.
"""

from __future__ import annotations

import math

from .domains import FLOAT
from .errors import GradcalcError
from .records import record

HALVINGS = 14        # step sizes h0 ... h0/2^13
SETTLED = 1e-8       # an extrapolation error below this (relative to max(1, |value|)) settles it


@record(frozen=True)
class Determination:
    """How a partial that reverse mode could not give was found, or why it was not."""

    value: float | None              # the partial; None when undetermined
    method: str                      # "limit" | "difference quotient" | "undetermined"
    side: str                        # "both" | "right" | "left" | "none": where f is defined
    estimate: float | None = None    # the extrapolated difference quotient
    error: float | None = None       # its error estimate
    limit: float | None = None       # SymPy's limit of the derivative, when it found one
    why: str = ""                    # why reverse mode could not (0·∞ at sqrt(x) ...)
    note: str = ""                   # undetermined: why nothing else could either

    @property
    def text(self) -> str:
        """'limit from the right', 'difference quotient', 'undetermined'."""
        if self.value is None:
            return "undetermined"
        one_side = {"right": " from the right", "left": " from the left"}.get(self.side, "")
        return self.method + one_side

    def as_json(self) -> dict:
        return {"method": self.method, "side": self.side, "estimate": self.estimate,
                "error": self.error, "limit": self.limit, "why": self.why,
                "note": self.note or None}


@record(frozen=True)
class Quotients:
    """Difference quotients on one side of the point."""

    defined: bool                    # f is defined on this side, close to the point
    value: float | None = None       # the extrapolated slope
    error: float | None = None       # its error estimate
    unbounded: bool = False          # the quotients grow without bound: an infinite slope or a jump
    last: float | None = None        # the quotient at the smallest step


def quotients(f, x0: float, side: int) -> Quotients:
    """Richardson extrapolation of one-sided difference quotients. ``f`` raises GradcalcError
    where the function is undefined."""
    scale = max(1.0, abs(x0))
    try:
        f0 = f(x0)
    except GradcalcError:
        return Quotients(False)
    # NOTE: a side is defined when f is, at the steps used, down to 2^-12 of the scale: closer,
    # float rounding can make f look defined where it is not (acosh(cos(h)) is acosh(1) for
    # h < 1e-8, though cos(h) < 1 exactly), and the function would seem to have a side.
    h0 = scale * 2.0 ** -4
    rows = []
    while True:
        try:
            f(x0 + side * h0)
            break
        except GradcalcError:
            h0 /= 2
            if h0 < scale * 2.0 ** -12:
                return Quotients(False)
    for k in range(HALVINGS):
        h = h0 / 2 ** k
        try:
            rows.append((f(x0 + side * h) - f0) / (side * h))
        except (GradcalcError, ZeroDivisionError, OverflowError):
            return Quotients(True, unbounded=True)
    if not all(map(math.isfinite, rows)) or all(
            abs(b) > 1.2 * abs(a) > 0 for a, b in zip(rows[-8:], rows[-7:], strict=False)):
        return Quotients(True, unbounded=True, last=rows[-1])
    value, error = min((_extrapolate(rows, p) for p in (1.0, 0.5, 1 / 3)), key=lambda t: t[1])
    if abs(value) <= error:
        value = 0.0   # x*sqrt(x) at 0: 8e-17 ± 8e-17 cannot be told from 0
    return Quotients(True, value, error, last=rows[-1])


def central(f, x0: float) -> Quotients:
    """Richardson extrapolation of central difference quotients (f(x+h) - f(x-h)) / 2h, whose
    error is a series in h², h⁴, ...: the finite-difference check's reference, with its error
    estimate. Two runs of steps, 2^-6 and 2^-12 of the scale down, for functions that change
    fast (a pole close by); the one with the smaller error estimate is kept."""
    scale = max(1.0, abs(x0))
    best = Quotients(False)
    for first in (6, 12):
        rows = []
        for k in range(HALVINGS):
            h = scale * 2.0 ** -(first + k)
            try:
                rows.append((f(x0 + h) - f(x0 - h)) / (2 * h))
            except (GradcalcError, ZeroDivisionError, OverflowError):
                rows = []   # undefined close by: start again from the smaller steps
        if len(rows) < 4:
            continue
        value, error = _extrapolate(rows, 2.0)
        if best.error is None or error < best.error:   # (None until one is defined)
            best = Quotients(True, value, error, last=rows[-1])
    return best


def _extrapolate(rows: list[float], p: float) -> tuple[float, float]:
    """Richardson's tableau for quotients whose error is a series in h^p, h^2p, ... (p = 1 for
    smooth functions; 1/2 and 1/3 where a square or cube root sits at the point): the value with
    the smallest error estimate, and that estimate."""
    table: list[list[float]] = []
    best, error = rows[-1], math.inf
    for k, d in enumerate(rows):
        row = [d]
        for m in range(1, k + 1):
            row.append(row[m - 1] + (row[m - 1] - table[k - 1][m - 1]) / (2.0 ** (m * p) - 1.0))
            err = max(abs(row[m] - row[m - 1]), abs(row[m] - table[k - 1][m - 1]))
            if err <= error:
                best, error = row[m], err
        table.append(row)
    return best, error


def _settled(q: Quotients) -> bool:
    return (q.value is not None and math.isfinite(q.value) and q.error is not None
            and q.error <= SETTLED * max(1.0, abs(q.value)))


def _along(tape, point: dict, name: str, node: int):
    """f as a function of one coordinate: a variable, or an intermediate node's value."""
    if name in point:
        return lambda t: tape.forward(FLOAT, {**point, name: t})[tape.out]
    return lambda t: tape.forward(FLOAT, point, override=(node, t))[tape.out]


def determine(tape, point: dict, name: str, node: int, why: str,
              timeout: float = 0.0) -> Determination:
    """The partial ∂out/∂name at ``point`` where reverse mode met 0·∞ (``why``). With a
    ``timeout`` > 0 SymPy's limit is asked too (variables only, not intermediates)."""
    f = _along(tape, point, name, node)
    x0 = point[name] if name in point else tape.forward(FLOAT, point)[node]
    sides = {"right": quotients(f, x0, 1), "left": quotients(f, x0, -1)}
    defined = [s for s, q in sides.items() if q.defined]
    if not defined:
        return Determination(None, "undetermined", "none", why=why,
                             note="the function is undefined on both sides of the point")
    limits: dict[str, float | None] = {}
    if timeout > 0 and name in point:   # (deadline(0) would switch off an outer deadline)
        limits = _sympy_limits(tape, point, name, defined, timeout)
    found: dict[str, tuple[float, str, Quotients]] = {}
    for s in defined:
        q, lim = sides[s], limits.get(s)
        if q.unbounded:
            return Determination(None, "undetermined", _side(defined), why=why,
                                 note=f"the difference quotients from the {s} grow without "
                                      "bound: an infinite slope, or a jump")
        if lim is not None and math.isinf(lim):
            return Determination(None, "undetermined", _side(defined), why=why,
                                 note=f"the slope from the {s} is infinite (SymPy's limit is "
                                      f"{'+' if lim > 0 else '-'}∞)")
        if lim is not None and q.last is not None and abs(q.last - lim) <= 0.1 * max(1, abs(lim)):
            found[s] = (lim, "limit", q)
        elif _settled(q):
            assert q.value is not None   # settled: a finite value
            found[s] = (q.value, "difference quotient", q)
        else:
            shown = "" if q.value is None else f" (about {q.value:.6g} ± {q.error:.1g})"
            return Determination(None, "undetermined", _side(defined), q.value, q.error,
                                 lim, why, f"the difference quotients from the {s} do not "
                                           f"settle{shown}, and SymPy found no limit")
    values = {s: v for s, (v, _m, _q) in found.items()}
    if len(values) == 2:
        (vr, mr, qr), (vl, ml, ql) = found["right"], found["left"]
        tol = max(qr.error or 0.0, ql.error or 0.0, 1e-12) * 4 + SETTLED * max(1, abs(vr))
        if abs(vr - vl) > tol and not (mr == ml == "limit" and vr == vl):
            return Determination(None, "undetermined", "both", why=why,
                                 note=f"the slopes from the left ({vl:.6g}) and from the right "
                                      f"({vr:.6g}) differ: not differentiable here")
    s = "right" if "right" in found else "left"
    value, method, q = found[s]
    both = len(found) == 2
    lim = limits.get(s)
    return Determination(value, method, "both" if both else s, q.value, q.error,
                         lim if lim is not None else None, why)


def _side(defined) -> str:
    return "both" if len(defined) == 2 else defined[0]


def _sympy_limits(tape, point: dict, name: str, sides, timeout: float) -> dict:
    """SymPy's limit of the derivative from each side (a float, ±inf) or nothing."""
    import sympy  # outside the deadline: an import cut short would break later ones

    from .deadline import GAVE_UP, deadline
    from .domains import sympy_domain
    from .function import symbols_for

    found = {}
    try:
        with deadline(timeout):
            symbols = symbols_for(tape.variables)
            expr = tape.forward(sympy_domain(), symbols)[tape.out]
            x = symbols[name]
            d = sympy.diff(expr, x).xreplace(
                {symbols[k]: sympy.Rational(v) for k, v in point.items() if k != name})
            for s in sides:
                lim = sympy.limit(d, x, sympy.Rational(point[name]), "+" if s == "right" else "-")
                if lim in (sympy.oo, -sympy.oo):
                    found[s] = float(lim)
                elif lim.is_number and not lim.has(sympy.nan, sympy.zoo, sympy.AccumBounds):
                    z = complex(lim.evalf(30))
                    if z.imag == 0 and math.isfinite(z.real):
                        found[s] = z.real
    except (NotImplementedError, *GAVE_UP):
        pass
    return found


def exact_partials(tape, point: dict, wrt, index_of) -> tuple[set | None, dict]:
    """For a point of exact SymPy numbers: the edges structural zeros mask there, and the partials
    reverse mode cannot give, each as SymPy's exact limit of its derivative (None where there is
    none, or where the partial is undetermined). Both are found at the point's float values."""
    floats = {k: float(x) for k, x in point.items()}
    try:
        v = tape.forward(FLOAT, floats)
        skip = tape.masked(v)
        g = tape.backward(FLOAT, v)
    except (GradcalcError, OverflowError, ValueError, TypeError):
        return None, {}
    unresolved = tape.unresolved(v, g)
    if unresolved:   # leave out the infinite local derivatives: their partials are limits
        for i, *_ in tape.backward_steps:
            for k, j in enumerate(tape.graph.nodes[i].args):
                if tape.needs[j] and (i, k) not in skip and not _finite_local(tape, v, i, k):
                    skip.add((i, k))
    found = {}
    for name in wrt:
        node = index_of(name)
        if node not in unresolved:
            continue
        d = determine(tape, floats, name, node, unresolved[node]) if name in floats else None
        found[name] = None if d is None or d.value is None else _exact_limit(
            tape, point, name, d.side)
    return skip, found


def _exact_limit(tape, point: dict, name: str, side: str):
    import sympy

    from .domains import sympy_domain
    from .function import symbols_for

    symbols = symbols_for(tape.variables)
    expr = tape.forward(sympy_domain(), symbols)[tape.out]
    x = symbols[name]
    d = sympy.diff(expr, x).xreplace({symbols[k]: v for k, v in point.items() if k != name})
    try:
        lim = sympy.limit(d, x, point[name], {"right": "+", "left": "-", "both": "+-"}[side])
    except (NotImplementedError, ValueError, TypeError, ArithmeticError):
        return None
    if lim.is_number and lim.is_real and lim.is_finite:
        return lim
    return None


def _finite_local(tape, v, i, k) -> bool:
    try:
        return math.isfinite(tape.local(FLOAT, v, i, k))
    except (ArithmeticError, ValueError):
        return False


def isolated(tape, point: dict, wrt) -> dict:
    """At a point where an op sits on the edge of its domain (0^1.5, sqrt(0), acosh(1)): the
    variables along which the program is defined at the point alone (ln(cos(y)^3)^1.5 at y = 0,
    whose base is negative on both sides). No derivative exists along them, whatever reverse
    mode's rules give (here 1.5·0^0.5·... = 0)."""
    found = {}
    for name in wrt:
        if name not in point:
            continue
        f = _along(tape, point, name, -1)
        if not quotients(f, point[name], 1).defined and not quotients(f, point[name], -1).defined:
            found[name] = Determination(
                None, "undetermined", "none",
                why="an op is at the edge of its domain here",
                note=f"the function is defined at this point alone along {name} (undefined on "
                     "both sides)")
    return found
