"""The independent cross-check of every partial derivative.

SymPy gets an expression built by running the *forward* pass in the SymPy domain and
differentiates it with ``sympy.diff``, which knows nothing of our derivative rules. Symbolic
differentiation can blow up on graphs with shared nodes, so it runs under a deadline; past it (or
past SymPy's recursion limit on deep graphs) the check falls back to central differences and says
so.
"""

from __future__ import annotations

import math
import random
import threading
import time

from .deadline import GAVE_UP, SYMPY_FAILURES, Timeout, deadline, gave_up, with_sympy
from .domains import FLOAT, sympy_domain
from .function import Function, Result, SymbolicResult, symbols_for
from .printing import sstr
from .records import record, replace
from .verdicts import SKIPPED, STATUSES, Check, PartialCheck  # noqa: F401 (check.SKIPPED...)


def _agree(ours: float, ref: float, tol: float = 1e-8) -> bool:
    return abs(ours - ref) <= tol * max(abs(ours), abs(ref)) + 1e-12


def _to_float(value) -> float | None:
    """A SymPy number as a float, or None if it is not a finite real."""
    try:
        z = complex(value)
    except (TypeError, ValueError):
        return None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)) or not math.isfinite(z.real):
        return None
    return z.real


def check_point(fn: Function, result: Result, timeout: float = 5.0) -> Check:
    """Check a Result against SymPy (within ``timeout`` seconds), else by central differences."""
    start = time.perf_counter()
    tape, *_ = fn.resolve(result.point, result.output, result.gradient)
    check, reason = with_sympy(lambda: _sympy_check(fn, result, tape), timeout,
                               len(tape.order))
    if check is not None:
        return _timed(check, start)
    return _timed(replace(_finite_difference_check(fn, result, tape), reason=reason), start)


def _timed(check: Check, start: float) -> Check:
    return replace(check, seconds=time.perf_counter() - start)


def _overall(partials, value_ok=True) -> str:
    statuses = {p.status for p in partials}
    if "disagree" in statuses or not value_ok:
        return "disagree"
    if "undetermined" in statuses:
        return "undetermined"
    if partials and statuses == {"skipped"}:
        return "skipped"
    return "agree"


def _verdict(ours, ref, kink: bool) -> str:
    if ref is None:
        return "skipped"
    if _agree(ours, ref):
        return "agree"
    return "kink" if kink else "disagree"


def _determined(name: str, d, tape, point: dict, timeout: float) -> PartialCheck:
    """The verdict on a partial that reverse mode could not give (limits.py): its two methods,
    the limit of SymPy's derivative and the extrapolated difference quotients, must agree."""
    if d.value is None:
        return PartialCheck(name, None, d.limit if d.limit is not None else d.estimate, None,
                            "undetermined", d.note, "limit" if d.limit is not None else None)
    if d.method == "limit":
        ref, how = d.estimate, "difference quotient"
        tol = 4 * (d.error or 0.0)
    else:
        ref, how, tol = d.limit, "limit", 4 * (d.error or 0.0)
        if ref is None and name in point and timeout > 0:
            from .limits import _sympy_limits

            sides = ["right", "left"] if d.side == "both" else [d.side]
            found = _sympy_limits(tape, point, name, sides, timeout)
            ref = found.get(sides[0])
    if ref is None or not math.isfinite(ref):
        return PartialCheck(name, d.value, None, None, "skipped",
                            f"{how}: nothing to compare with", how)
    ok = abs(d.value - ref) <= tol + 1e-8 * max(1.0, abs(d.value), abs(ref))
    return PartialCheck(name, d.value, ref, None, "agree" if ok else "disagree",
                        f"found by {d.text}, checked by {how}", how)


def _sympy_check(fn: Function, result: Result, tape) -> Check:

    check = _sympy_check_in(fn, result, tape, sympy_domain())
    if check.status == "disagree" or "ill-conditioned" in (check.value_status, *check.counts()):
        # Literals are exact decimals for SymPy (0.3 is 3/10) but binary in float64; near a pole
        # that alone can disagree. Ask again with the float64 values of the literals.
        again = _sympy_check_in(fn, result, tape, sympy_domain(binary_literals=True))
        if again.value_status == "agree" and not {"disagree", "ill-conditioned"} & set(
                again.counts()):
            return replace(again, reason="agrees once literals are taken as their float64 "
                                         "values (the point is close to a pole)")
        if check.status == "disagree" and again.status != "disagree":
            return replace(again, reason="literals taken as their float64 values")
    return check


def _sympy_check_in(fn: Function, result: Result, tape, D) -> Check:
    import sympy

    symbols = symbols_for(tape.variables)
    subs = {symbols[k]: sympy.Rational(result.point[k]) for k in tape.variables}
    float_values = tape.forward(FLOAT, result.point)
    f_expr = tape.forward(D, symbols)[tape.out]
    value_ref = _to_float(f_expr.xreplace(subs).evalf(30))
    partials = []
    for name, ours in result.gradient.items():
        d, at = _sympy_partial(fn, tape, D, symbols, f_expr, name)
        if name in result.determined:
            partials.append(replace(_determined(name, result.determined[name], tape,
                                                result.point, 2.0), symbolic=sstr(d)))
            continue
        if at is not None:   # an intermediate: its own value, as the point gives it
            at = {**subs, at[0]: sympy.Rational(float_values[at[1]])}
        ref = _to_float(d.xreplace(at or subs).evalf(30))
        status = _verdict(ours, ref, _kinked(fn, tape, result, name))
        note = None
        if status == "disagree" and at is None and _ill_conditioned(d, subs, ours, ref):
            status = "ill-conditioned"
            note = ("SymPy's exact derivative moves by more than the difference when the point "
                    "moves by a few ulps: float64 cannot do better here")
        if ref is None:
            status, note = _neighbours(fn, tape, result, name, d, subs)
        partials.append(PartialCheck(name, ours, ref, sstr(d), status, note))
    value_status = "skipped" if value_ref is None else "agree"
    if value_ref is not None and not _agree(result.value, value_ref):
        value_status = ("ill-conditioned" if _ill_conditioned(f_expr, subs, result.value,
                                                              value_ref) else "disagree")
    return Check("sympy", _overall(partials, value_status != "disagree"), tuple(partials),
                 value_ref, expression=sstr(f_expr), value_status=value_status)


def _ill_conditioned(expr, subs: dict, ours: float, ref: float | None) -> bool:
    """Whether ``ours`` is as good as float64 allows for the exact ``expr`` at this point: when
    moving one coordinate of the point by 1, 2 or 4 ulps changes the exact answer by at least
    half the difference between ours and it, no float64 computation can be trusted to do better
    (tan(sinh(22)): one ulp of 22 moves sinh(22) by 6e-6)."""
    if ref is None:
        return False
    gap = abs(ours - ref)
    for symbol, value in subs.items():
        for direction in (math.inf, -math.inf):
            y = float(value)
            for k in range(1, 5):
                y = math.nextafter(y, direction)
                if k == 3:
                    continue
                there = _to_float(expr.xreplace({**subs, symbol: _sympy_rational(y)}).evalf(30))
                if there is not None and abs(there - ref) >= gap / 2:
                    return True
    return False


def _sympy_rational(x: float):
    import sympy

    return sympy.Rational(x)


def _neighbours(fn, tape, result, name, d, subs) -> tuple[str, str]:
    """A partial whose SymPy derivative has no real value at the point (Abs of a Piecewise that
    is 0/0 there): check it against the limit of that derivative, else against the
    extrapolated central difference quotients of the function itself."""
    import sympy

    from .limits import _settled, quotients

    ours = result.gradient[name]
    if name in subs_names(subs):
        x = next(s for s in subs if str(s) == name)
        try:
            with deadline(2.0):
                lim = sympy.limit(d.xreplace({k: v for k, v in subs.items() if k != x}), x,
                                  subs[x])
            ref = _to_float(lim.evalf(30)) if lim.is_number else None
        except (Timeout, NotImplementedError, RecursionError, *SYMPY_FAILURES):
            ref = None
        if ref is not None:
            return ("agree" if _agree(ours, ref) else "disagree",
                    f"SymPy's derivative has no value here; its limit is {ref:.10g}")
    from .limits import _along

    f = _along(tape, result.point, name, fn.graph.index_of(name))
    x0 = result.point.get(name)
    if x0 is None:
        return "skipped", "SymPy's derivative has no real value here"
    right, left = quotients(f, x0, 1), quotients(f, x0, -1)
    if not (_settled(right) and _settled(left)):
        return "skipped", "SymPy's derivative has no real value here"
    assert right.value is not None and left.value is not None   # settled
    if not _agree(right.value, left.value, 1e-7):
        return "skipped", (f"SymPy's derivative has no real value here, and the slopes from the "
                           f"left ({left.value:.6g}) and the right ({right.value:.6g}) differ")
    status = "agree" if _agree(ours, right.value, 1e-7) else (
        "kink" if _kinked(fn, tape, result, name) else "disagree")
    return status, ("SymPy's derivative has no value here; the difference quotients from both "
                    f"sides give {right.value:.10g}")


def subs_names(subs) -> set[str]:
    return {str(s) for s in subs}


def _kinked(fn: Function, tape, result: Result, name: str) -> bool:
    """Whether a non-differentiable point the gradient went through lies between the output and
    ``name``: only then may a checker's convention differ from ours."""
    if not result.kinks:
        return False
    reach = tape.reach(fn.graph.index_of(name))
    return any(reach[k] for k in result.kinks)


def _sympy_partial(fn: Function, tape, D, symbols: dict, f_expr, name: str):
    """sympy.diff of the output with respect to a variable, or to an intermediate node (the
    node replaced by a fresh symbol Q). Returns (derivative, None) or (derivative, (Q, node))."""
    import sympy

    if name in symbols:
        return sympy.diff(f_expr, symbols[name]), None
    k = fn.graph.index_of(name)
    if not tape.keeps(k):
        return sympy.Integer(0), None       # the output does not depend on it
    q = sympy.Symbol(name, real=True)
    expr = tape.forward(D, symbols, override=(k, q))[tape.out]
    return sympy.diff(expr, q), (q, k)


def _finite_difference_check(fn: Function, result: Result, tape) -> Check:
    """Central difference quotients extrapolated to h → 0 (Richardson), compared within their
    own error estimate (truncation and rounding both show in it)."""
    from .limits import _along, central

    graph = fn.graph
    base = tape.forward(FLOAT, result.point)
    partials = []
    for name, ours in result.gradient.items():
        k = graph.index_of(name)
        if name in result.determined:
            partials.append(_determined(name, result.determined[name], tape, result.point, 0))
            continue
        if name not in result.point and not tape.keeps(k):
            partials.append(PartialCheck(name, ours, 0.0, None, _verdict(ours, 0.0, False)))
            continue
        x0 = result.point[name] if name in result.point else base[k]
        q = central(_along(tape, result.point, name, k), x0)
        if not q.defined:
            partials.append(PartialCheck(name, ours, None, None, "skipped",
                                         "the function is undefined right next to the point"))
            continue
        assert q.value is not None and q.error is not None   # defined
        tol = 4 * q.error + 1e-9 * max(1.0, abs(ours), abs(q.value))
        if abs(ours - q.value) <= tol:
            status, note = "agree", f"within the estimate's error, ±{q.error:.1g}"
        elif q.error > 1e-6 * max(1.0, abs(q.value)):
            status, note = "skipped", (f"the difference quotients do not settle (about "
                                       f"{q.value:.6g} ± {q.error:.1g})")
        else:
            status, note = ("kink" if _kinked(fn, tape, result, name) else "disagree"), None
        partials.append(PartialCheck(name, ours, q.value, None, status, note))
    return Check("finite-difference", _overall(partials), tuple(partials), result.value)


def check_symbolic(fn: Function, sym: SymbolicResult, timeout: float = 5.0) -> Check:
    """Confirm our symbolic gradient equals sympy.diff's: exactly if SymPy can show it,
    else numerically at random points."""

    start = time.perf_counter()
    symbols = symbols_for(fn.variables)
    partials = []
    try:
        with deadline(timeout):
            tape, *_ = fn.resolve(symbols, sym.output, sym.gradient, numeric=False)
            values = tape.forward(sympy_domain(), symbols)
            for name, ours in sym.gradient.items():
                theirs, node = _sympy_partial(fn, tape, sympy_domain(), symbols,
                                              sym.expression, name)
                if node is not None:   # put the intermediate's own expression back
                    theirs = theirs.xreplace({node[0]: values[node[1]]})
                same = same_function(ours, theirs, list(symbols.values()))
                partials.append(PartialCheck(name, ours, None, sstr(theirs), same.check_status,
                                             same.note))
    except GAVE_UP as exc:
        return Check("sympy", "skipped", tuple(partials), seconds=time.perf_counter() - start,
                     reason=gave_up(exc, timeout))
    return Check("sympy", _overall(partials), tuple(partials),
                 seconds=time.perf_counter() - start, expression=sstr(sym.expression))


@record(frozen=True)
class Equivalence:
    """Whether two expressions are the same function, and what decided it."""

    status: str                        # agree | disagree | unchecked
    method: str                        # identical | simplify | random points
    point: dict | None = None          # where they differ (disagree), names -> values
    note: str | None = None

    @property
    def check_status(self) -> str:
        """The status of a partial's check: 'unchecked' (no random point where both are
        defined) is a check that could not run, 'skipped'."""
        return "skipped" if self.status == "unchecked" else self.status


def same_function(ours, theirs, symbols, domain=None, points=()) -> Equivalence:
    """Exactly if SymPy's simplify shows the difference is 0, else by comparing values at
    ``points`` and then at random rational points (small and large: relu(x - 50) differs from 0
    only past 50) where both, and ``domain`` (the function itself), are defined."""
    import sympy

    difference = ours - theirs
    if difference == 0 and not points:
        return Equivalence("agree", "identical")
    for at in points:   # the user's own point first: a wrong answer must not pass there
        a, b = _to_float(ours.xreplace(at).evalf(20)), _to_float(theirs.xreplace(at).evalf(20))
        if a is not None and b is not None and not _agree(a, b, 1e-12):
            point = {str(s): float(v) for s, v in at.items()}
            where = ", ".join(f"{s} = {v:g}" for s, v in point.items())
            return Equivalence("disagree", "the point", point, f"differs at {where}")
    if difference == 0:
        return Equivalence("agree", "identical")
    try:
        with deadline(1.0):
            if sympy.simplify(difference) == 0:
                return Equivalence("agree", "simplify")
    except Timeout:
        pass
    rng = random.Random(1)
    tried = compared = 0
    while tried < 120 and compared < 20:
        tried += 1
        # both signs and every decade from 0.01 to 10,000 in turn
        bucket = tried % 12
        at = {s: sympy.Rational((-1) ** bucket * round(10 ** rng.uniform(bucket // 2 - 2,
                                                                       bucket // 2 - 1) * 100),
                                100) for s in symbols}
        if domain is not None and _to_float(domain.xreplace(at).evalf(20)) is None:
            continue   # the function itself is undefined here: nothing to compare
        a, b = _to_float(ours.xreplace(at).evalf(20)), _to_float(theirs.xreplace(at).evalf(20))
        if a is None or b is None:
            continue
        compared += 1
        if not _agree(a, b, 1e-12):
            point = {str(s): float(v) for s, v in at.items()}
            where = ", ".join(f"{s} = {v:g}" for s, v in point.items())
            return Equivalence("disagree", "random points", point, f"differs at {where}")
    if compared == 0:
        return Equivalence("unchecked", "random points",
                           note="no random point where both are defined")
    return Equivalence("agree", "random points", note=f"equal at {compared} random points")


def check_partials(fn: Function, derivs, point: dict, timeout: float = 5.0) -> Check:
    """Higher partials (``derivatives.Derivatives``, or a Hessian's entries as one) against
    ``sympy.diff(f, x, y, ...)`` at the point; past the deadline, central differences of our
    own partials of one order less, saying so."""
    start = time.perf_counter()
    out = derivs.output
    tape, *_ = fn.resolve(point, out, wrt=())
    reason = None
    if timeout > 0 and threading.current_thread() is threading.main_thread():
        import sympy

        try:
            with deadline(timeout):
                symbols = symbols_for(tape.variables)
                subs = {symbols[k]: sympy.Rational(v) for k, v in point.items()}
                f_expr = tape.forward(sympy_domain(), symbols)[tape.out]
                checks = []
                for p in derivs.partials:
                    d = sympy.diff(f_expr, *(symbols[x] for x in p.wrt))
                    ref = _to_float(d.xreplace(subs).evalf(30))
                    if p.value is None:
                        status, note = "undetermined", p.note
                    elif ref is None:
                        status, note = "skipped", "SymPy's derivative has no real value here"
                    elif _agree(p.value, ref):
                        status, note = "agree", None
                    elif _ill_conditioned(d, subs, p.value, ref):
                        status, note = "ill-conditioned", "float64 can do no better here"
                    else:
                        status, note = "disagree", None
                    checks.append(PartialCheck(",".join(p.wrt), p.value, ref, sstr(d), status,
                                               note))
            return Check("sympy", _overall(checks), tuple(checks),
                         seconds=time.perf_counter() - start)
        except GAVE_UP as exc:
            reason = gave_up(exc, timeout)
    else:
        reason = "no time was allowed for SymPy"
    return replace(_partials_by_differences(derivs, point), reason=reason,
                   seconds=time.perf_counter() - start)


def _partials_by_differences(derivs, point: dict) -> Check:
    """Each partial ∂/∂x of its lower-order partial, by extrapolated central differences of our
    own derivative program (an independent computation of this order's numbers)."""
    from .limits import central

    checks = []
    program, names = derivs.program, derivs.names
    for p in derivs.partials:
        lower, x = p.wrt[:-1], p.wrt[-1]
        tape, *_ = program.resolve(point, names[lower], wrt=())

        def f(t, tape=tape, x=x):
            return tape.forward(FLOAT, {**point, x: t})[tape.out]

        q = central(f, point[x])
        if p.value is None:
            checks.append(PartialCheck(",".join(p.wrt), None, q.value if q.defined else None,
                                       None, "undetermined", p.note))
            continue
        if not q.defined:
            checks.append(PartialCheck(",".join(p.wrt), p.value, None, None, "skipped",
                                       "undefined right next to the point"))
            continue
        assert q.value is not None and q.error is not None   # defined
        ok = abs(p.value - q.value) <= 4 * q.error + 1e-9 * max(1.0, abs(p.value), abs(q.value))
        status = "agree" if ok else (
            "skipped" if q.error > 1e-6 * max(1.0, abs(q.value)) else "disagree")
        checks.append(PartialCheck(",".join(p.wrt), p.value, q.value, None, status,
                                   f"±{q.error:.1g}" if ok else None))
    return Check("finite-difference", _overall(checks), tuple(checks))


def check_implicit(result, point: dict | None, timeout: float = 5.0) -> Check:
    """Implicit derivatives against SymPy's ``idiff`` (which differentiates F itself)."""
    import sympy

    start = time.perf_counter()
    F = result.F
    y = result.dependent
    checks = []
    if timeout <= 0 and point is not None:
        checks = _implicit_by_differences(result, point)
        return Check("finite-difference", _overall(checks), tuple(checks),
                     reason="no time was allowed for SymPy")
    try:
        with deadline(timeout):
            symbols = symbols_for(F.variables)
            tape, *_ = F.resolve(symbols, wrt=(), numeric=False)
            f_expr = tape.forward(sympy_domain(), symbols)[tape.out]
            for name, ours in result.derivatives.items():
                order = 2 if name.startswith("d2") else 1
                x = name.split("/d", 1)[1].rstrip("2") if order == 2 else name.split("/d", 1)[1]
                theirs = sympy.idiff(f_expr, symbols[y], symbols[x], order)
                if point is None:
                    same = same_function(ours, theirs, list(symbols.values()))
                    checks.append(PartialCheck(name, ours, None, sstr(theirs),
                                               same.check_status, same.note))
                    continue
                subs = {symbols[k]: sympy.Rational(v) for k, v in point.items()}
                ref = _to_float(theirs.xreplace(subs).evalf(30))
                status = ("skipped" if ref is None or ours is None else
                          "agree" if _agree(ours, ref) else "disagree")
                checks.append(PartialCheck(name, ours, ref, sstr(theirs), status))
    except GAVE_UP as exc:
        reason = gave_up(exc, timeout)
        if point is None:
            return Check("sympy idiff", "skipped", tuple(checks), reason=reason,
                         seconds=time.perf_counter() - start)
        checks = _implicit_by_differences(result, point)
        return Check("finite-difference", _overall(checks), tuple(checks), reason=reason,
                     seconds=time.perf_counter() - start)
    return Check("sympy idiff", _overall(checks), tuple(checks),
                 seconds=time.perf_counter() - start)


def _implicit_by_differences(result, point: dict) -> list:
    """dy/dx = -F_x/F_y with F_x and F_y from extrapolated central differences of F itself
    (second derivatives are left unchecked)."""
    from .limits import _along, central

    F, y = result.F, result.dependent
    tape, *_ = F.resolve(point, wrt=())
    slopes = {k: central(_along(tape, point, k, -1), point[k]) for k in point}
    fy = slopes[y]
    checks = []
    for name, ours in result.derivatives.items():
        x = name.split("/d", 1)[1]
        if name.startswith("d2") or ours is None or not (fy.defined and slopes[x].defined):
            checks.append(PartialCheck(name, ours, None, None, "skipped",
                                       "no finite-difference check of this one"))
            continue
        fx = slopes[x]
        assert fx.value is not None and fx.error is not None   # defined
        assert fy.value is not None and fy.error is not None
        ref = -fx.value / fy.value
        err = abs(ref) * (fx.error / max(abs(fx.value), 1e-300) + fy.error / abs(fy.value))
        ok = abs(ours - ref) <= 4 * err + 1e-9 * max(1.0, abs(ref))
        checks.append(PartialCheck(name, ours, ref, None, "agree" if ok else "disagree"))
    return checks
