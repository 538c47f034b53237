"""Checking a student's answers: --expect f=-12,q=3,df/dz=3,df/dx=2*x*z.

An answer is a number, compared with a tolerance (by default a decimal is as precise as the digits
written: -0.1966 is right for -0.19661193; an integer or 1/3 must be exact), or an expression with
variables, checked for mathematical
equivalence with the correct symbolic answer by SymPy (simplify, else random points; a wrong one
comes with a point where the two differ). Answers go through gradcalc's own parser, never SymPy's.
"""

from __future__ import annotations

import math
import re

from .errors import GradcalcError, UsageError
from .function import Function
from .numfmt import simple
from .records import record
from .syntax import split_top_level

_PARTIAL = re.compile(r"^d(?P<of>[^\W\d_]\w*)?/d(?P<wrt>[^\W\d_]\w*)$")
# d2f/dx2, d^2f/dxdy, d3f/dx2dy, ∂²f/∂x∂y (the denominator is split once the variables are
# known), and f'' (one variable)
_HIGHER = re.compile(r"^d\^?(?P<n>\d+)(?P<of>[^\W\d_]\w*)?/(?P<rest>d.+)$")
_PRIMES = re.compile(r"^(?P<of>[^\W\d_]\w*)(?P<primes>'+)$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


@record(frozen=True)
class Expectation:
    """One answer to check: the value of ``of`` (wrt None) or ∂of/∂wrt."""

    label: str           # as the user wrote it: "df/dz"
    answer: str          # "-3", "2*x*z"
    of: str
    wrt: str | None
    source: str = ""     # the whole --expect text, and where the answer starts in it (for carets)
    at: int = 0
    higher: str | None = None   # a partial of order 2 or more, as written (d2f/dxdy, f'')
    option: str = "--expect"    # where the answer was typed, for messages: --expect, or expect


@record(frozen=True)
class Verdict:
    """The decision on one answer. A wrong expression comes with a point where it differs from
    the correct one, as a sentence (``counterexample``) and as numbers (``differs_at``, and the
    two values there) for JSON and tables; all four are None otherwise."""

    expectation: Expectation
    ok: bool | None      # None: could not be decided
    correct: str         # the correct answer, as a number or an expression
    how: str             # "within 5e-05", "simplify", "random points", ...
    counterexample: str | None = None         # "differs at x = 0.07"
    differs_at: dict[str, float] | None = None   # that point: variable -> value
    yours_there: float | None = None          # the answer's value there (None: not a real number)
    correct_there: float | None = None        # the correct answer's value there

    def difference(self, digits: int | None = None) -> str | None:
        """Where a wrong expression differs, with both values: 'differs at x = 0.07: yours
        3.5, right 4' (the sentence alone when the values are not real numbers)."""
        if self.counterexample is None:
            return None
        if self.yours_there is None or self.correct_there is None:
            return self.counterexample
        from .numfmt import fmt

        return (f"{self.counterexample}: yours {fmt(self.yours_there, digits)}, right "
                f"{fmt(self.correct_there, digits)}")


def split_answers(text: str, output: str, option: str = "--expect") -> list[Expectation]:
    """'q=-3,f=-12,df/dz=-3' -> expectations (commas inside parentheses belong to the answer).
    ``option`` is where the text was typed (--expect, or a problem file's expect), for the
    messages here and in check_answers."""
    found = []
    for piece, offset in split_top_level(text):
        if "=" not in piece:
            raise UsageError(f"{option} needs name=answer, not {piece.strip()!r}", text,
                             (offset, offset + max(1, len(piece))),
                             hint=_example(option))
        left, right = piece.split("=", 1)
        label, answer = left.strip(), right.strip()
        if not answer:
            raise UsageError(f"no answer for {label}", text, (offset, offset + len(piece)))
        at = offset + len(left) + 1 + (len(right) - len(right.lstrip()))
        m = _PARTIAL.match(label.replace(" ", ""))
        higher = _normal(label)
        h = _HIGHER.match(higher) or _PRIMES.match(higher)
        if m:
            found.append(Expectation(label, answer, m["of"] or output, m["wrt"], text, at,
                                     option=option))
        elif h:
            found.append(Expectation(label, answer, h["of"] or output, None, text, at,
                                     higher, option))
        elif label.isidentifier():
            found.append(Expectation(label, answer, label, None, text, at, option=option))
        else:
            raise UsageError(f"{option}: {label!r} is neither a name nor a partial like df/dx",
                             text, (offset, offset + len(piece.split("=", 1)[0])))
    return found


def _example(option: str) -> str:
    if option.startswith("-"):
        return f"write {option} f=-12,df/dx=-4"
    return f'write {option} = ["f = -12", "df/dx = -4"]'   # a problem file's key, in TOML


def _normal(label: str) -> str:
    return (label.replace(" ", "").replace("∂", "d").replace("²", "^2").replace("³", "^3")
            .replace("′", "'").replace("″", "''"))


def higher_wrt(e: Expectation, fn: Function) -> tuple[str, ...]:
    """The variables a higher partial is taken with respect to, in order: d2f/dxdy -> (x, y);
    d3f/dx2dy -> (x, x, y); f with three primes -> (x, x, x) for the one variable x."""
    text = e.higher or ""
    m = _PRIMES.match(text)
    if m:
        if len(fn.variables) != 1:
            raise UsageError(f"{e.option} {e.label}: primes mean the derivative in the one "
                             f"variable, but the program has {len(fn.variables)}",
                             hint="write d2f/dxdy instead")
        return (fn.variables[0],) * len(m["primes"])
    m = _HIGHER.match(text)
    assert m is not None   # e.higher matched _HIGHER or _PRIMES when the label was read
    n, rest, wrt = int(m["n"]), m["rest"], []
    names = sorted(fn.variables, key=len, reverse=True)
    while rest:
        found = next((v for v in names if rest.startswith("d" + v)), None)
        if found is None:
            raise UsageError(f"{e.option} {e.label}: {rest!r} does not start with d and a "
                             "variable of the program",
                             hint=f"variables: {', '.join(fn.variables)}")
        rest = rest[1 + len(found):]
        power = re.match(r"^\^?(\d+)", rest)
        wrt += [found] * (int(power[1]) if power else 1)
        rest = rest[power.end():] if power else rest
    if len(wrt) != n or n < 2:
        raise UsageError(f"{e.option} {e.label}: the order ({n}) and the variables below "
                         f"({len(wrt)}) do not match")
    return tuple(wrt)


def _higher(fn, e, point):
    """The correct higher partial: a number at ``point``, else an expression."""
    from .derivatives import partials

    wrt = higher_wrt(e, fn)
    order = {v: k for k, v in enumerate(tuple(point) if point else fn.variables)}
    key = tuple(sorted(wrt, key=order.__getitem__))
    p = partials(fn, len(wrt), point, e.of).by_wrt()[key]
    return p.symbolic if point is None else p.value


def parse_tol(text: str, usage: str) -> tuple[float, float]:
    """'1e-3' or '1e-3,1e-6' -> (relative, absolute); ``usage`` says how to write it."""
    try:
        parts = [float(t) for t in str(text).split(",")]
        if len(parts) > 2 or not all(0 <= t < math.inf for t in parts):
            raise ValueError
    except ValueError:
        raise UsageError(f"{usage}, not {str(text)!r}") from None
    return parts[0], parts[1] if len(parts) > 1 else 0.0


def _tolerance(answer: str, tol: tuple[float, float] | None) -> tuple[float, str]:
    """(absolute tolerance, how it was chosen) for a numeric answer against a correct value."""
    if tol is not None:
        return -1.0, f"within rel {tol[0]:g}, abs {tol[1]:g}"
    if _NUMBER.match(answer) and ("." in answer or "e" in answer.lower()):
        # A decimal is as precise as its digits: -0.1966 is right for -0.19661193..., 2e-3
        # for 0.0024 (as 0.002 is).
        mantissa, _, exponent = answer.lower().lstrip("+-").partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
        return half_unit * (1 + 1e-9), f"to ±{half_unit:g}, the digits written"
    return 0.0, "exactly (to 1e-9)"   # an integer or an expression (1/3, sqrt(2)/2) is exact


def check_answers(fn: Function, expectations, point: dict | None,
                  tol: tuple[float, float] | None = None,
                  point_option: str | None = None) -> list[Verdict]:
    """Decide each expectation at ``point`` (numbers) or symbolically (without a point, or when
    the answer has variables). With ``point_option`` (a problem file's at) and no point, a
    number for something that depends on the variables is an error naming that option: it
    cannot be checked. Without it (the command line) such a number is compared as a function,
    and is wrong unless the correct answer is that constant."""
    verdicts = []
    for e in expectations:
        if e.higher is not None and e.of in fn.graph.names:
            higher_wrt(e, fn)   # a malformed label is a usage error before anything runs
        known = (e.of in fn.graph.names) and (e.wrt is None or e.wrt in fn.graph.names
                                              or e.wrt in fn.graph.inputs)
        if not known:
            raise UsageError(f"{e.option} {e.label}: the program has no "
                             f"{'statement ' + e.of if e.of not in fn.graph.names else e.wrt}",
                             hint=f"statements: {', '.join(fn.graph.names)}; "
                                  f"variables: {', '.join(fn.variables)}")
        try:
            answer = Function(e.answer)
        except GradcalcError as exc:
            if exc.span is None:
                raise
            raise UsageError(f"{e.option} {e.label}: {exc.message}", e.source or e.answer,
                             (exc.span[0] + e.at, exc.span[1] + e.at), exc.hint) from None
        strange = [v for v in answer.variables
                   if v not in fn.variables and v not in fn.graph.names]
        if strange:
            raise UsageError(f"{e.option} {e.label}={e.answer}: the answer uses "
                             f"{', '.join(strange)}, which the program does not have")
        if point is not None and not answer.variables:
            verdicts.append(_numeric(fn, e, answer(), point, tol))
        else:
            verdicts.append(_symbolic(fn, e, answer, point, point_option))
    return verdicts


def _numeric(fn, e, given: float, point, tol) -> Verdict:
    wrt = [e.wrt] if e.wrt else []
    if e.higher is not None:
        correct = _higher(fn, e, point)
        if correct is None:
            return Verdict(e, None, "undetermined", "the derivative is undetermined here")
        return _compare(e, given, correct, tol)
    r = fn.gradient(point, wrt=wrt, output=e.of)
    correct = r.gradient[e.wrt] if e.wrt else r.value
    if correct is None:
        return Verdict(e, None, "undetermined", f"the derivative is undetermined here: "
                                                f"{r.undetermined[e.wrt]}")
    return _compare(e, given, correct, tol)


def _compare(e, given: float, correct: float, tol) -> Verdict:
    absolute, how = _tolerance(e.answer, tol)
    if absolute < 0:   # --tol rel,abs
        ok = abs(given - correct) <= max(tol[0] * abs(correct), tol[1])
    elif absolute == 0:
        ok = math.isclose(given, correct, rel_tol=1e-9, abs_tol=1e-12)
    else:
        ok = abs(given - correct) <= absolute
    return Verdict(e, ok, simple(correct), how)


def _symbolic(fn, e, answer: Function, point: dict | None, point_option=None) -> Verdict:
    """An answer with variables (or any answer without a point): the same function as the
    correct one, where the program's output is defined, and at the point if there is one."""
    import sympy

    from .check import same_function
    from .function import symbols_for
    from .printing import sstr

    wrt = [e.wrt] if e.wrt else []
    if e.higher is not None:
        correct = _higher(fn, e, None)
    else:
        sym = fn.symbolic(wrt=wrt, output=e.of)
        correct = sym.gradient[e.wrt] if e.wrt else sym.expression
    if point is None and point_option and not answer.variables and correct.free_symbols:
        _needs_point(fn, e, point_option)
    given = answer.symbolic(wrt=[]).expression
    # An answer may name the program's statements (df/dz = q): put their expressions in.
    named = {sympy.Symbol(n, real=True): fn.symbolic(wrt=[], output=n).expression
             for n in answer.variables if n in fn.graph.names and n not in fn.variables}
    given = given.xreplace(named)
    symbols = symbols_for(fn.variables)
    points = [{symbols[k]: sympy.Rational(v) for k, v in point.items()}] if point else []
    domain = fn.symbolic(wrt=[], output=e.of).expression
    same = same_function(given, correct, list(symbols.values()), domain, points)
    ok = {"agree": True, "disagree": False}.get(same.status)
    if ok is not False or same.point is None:
        return Verdict(e, ok, sstr(correct), same.method)
    at = {symbols[k]: sympy.Rational(v) for k, v in same.point.items()}   # the floats shown
    return Verdict(e, ok, sstr(correct), same.method, same.note, dict(same.point),
                   _real(given.xreplace(at)), _real(correct.xreplace(at)))


def _real(expr) -> float | None:
    """A SymPy expression at a point as a float, or None if it is not a finite real there."""
    try:
        z = complex(expr.evalf(20))
    except (TypeError, ValueError):
        return None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)) or not math.isfinite(z.real):
        return None
    return z.real


def _needs_point(fn, e, option: str):
    """A number answer with no point to take the correct one at: say which, and how to fix."""
    from .points import typed

    names = ", ".join(fn.variables)
    example = ", ".join(f"{v}=1" for v in fn.variables)
    raise UsageError(f"{e.option} {e.label} = {e.answer}: a number needs a point, and there is "
                     f"no {option}", e.source or None,
                     (e.at, e.at + len(e.answer)) if e.source else None,
                     hint=f"add {typed(option, example)}, or answer with an expression in "
                          f"{names}")
