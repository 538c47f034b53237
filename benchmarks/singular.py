"""Differential test at singular points: gradcalc's partials where an op's derivative is infinite,
where a function is defined on one side only, and behind structural masks, against the true
derivative computed with mpmath.

Programs are random but steered: each one holds one or two *singular cores* whose argument is hit
exactly, in float64 as in exact arithmetic, at the chosen point (sqrt(Z) with Z = 0, acosh(O)
with O = 1, asin at ±1, Z^0.5, atan2(Z, Z'), and compositions whose derivative nevertheless exists:
cbrt(Z)^3, sqrt(Z)^2, sqrt(Z)*sqrt(Z), sin(sqrt(Z))^2, cosh(sqrt(Z)), 1 - cos(sqrt(Z)),
acosh(O)^2, Z*sqrt(Z) ...), or a *mask* that makes a singular op constant near the point
(sqrt(relu(N)) with N < 0, acosh(max(L, 1)) with L < 1, asin(min(G, 1)) with G > 1, asin(x^0),
N^relu(N'), abs(asin(relu(N)))). Z, O, N ... are themselves random: a variable minus its value,
scaled, squared, multiplied by another zero, then passed through maps that keep 0 and 1 exact
(sin, tanh, atan, exp(Z), cos(Z), cosh(Z), Z*R, log(O), ...), sometimes named in an earlier
statement (``u = ...; f = ...``). Random sub-expressions (benchmarks.differential's generator)
are wrapped around the cores. Points are exact small floats (0, ±0.5, ±1, 1.5, ±2).

Reference, per variable, independent of gradcalc: the program is evaluated from the generator's
tree with mpmath (pi and e as their float64 values, like every literal). One-sided difference
quotients (f(a ± h) - f(a)) / ±h, as mpmath.diff(direction=±1) takes them, at h = 2^-50, 2^-100,
2^-150, 2^-200 on each side, computed with 430 bits (50 digits below the smallest step), then
again with twice as many bits until two runs give the same quotients (to 1e-30) and no small
step left f exactly unchanged where a larger one moved it (1 - x^9 at x = 2^-200 rounds to 1),
up to 16 times; else "reference unsure". A side is *finite* when its last two quotients agree
to 1e-10, *infinite* when they grow at least tenfold at each step (or by equal steps: a log h
term), *undefined* when f is undefined at every step, else unsure. Then: both sides finite and
equal, or one side undefined and the other finite -> the derivative exists (that value); a side
infinite, the sides different, f undefined at the point, or f defined at the point alone -> it
does not exist; anything else -> "reference unsure" (not judged, counted). A point where an
op's argument comes within 2^-215 of its edge without hitting it (cos(asin(1)) is 6e-17 in
float64, 0 exactly) is skipped as unreliable: float64 and mpmath both miss that edge, each its
own way. Limitation: a perturbation lost at every step at two precisions (x^20 and beyond)
looks flat.

Each partial is judged: agree (|ours - ref| <= 1e-8 max(1, |ref|)); a WRONG NUMBER (the
derivative exists and ours differs, or ours is a number where it does not exist, or the function
is undefined there); undetermined (None) where it does not exist (right) or where it exists
(over-cautious); gradcalc refused (an error) legitimately, collaterally (this partial exists but
another one at the point does not, and one error refuses them all) or falsely; a kink convention
(the two sides differ and ours lies between them: relu'(0) = 0, abs'(0) = 0, an even split at a
tie, as PyTorch does; not counted as wrong; nor is a number where the derivative does not exist
when the result reports a kink, sign'(0) = 0 at sign's jump: counted and shown apart). Every
--check-every-th program also goes through gradcalc.check.check_point (in a forked child killed
after --check-budget seconds), and so does every wrong number: a wrong number the check calls
"agree" is the worst kind of bug and is counted on its own. The check's own reference, where it
gives one and mpmath's derivative exists, is compared with mpmath's too (a sanity check of both).

    python -m benchmarks.singular                    # 10,000 programs
    python -m benchmarks.singular --quick            # 300 programs
    python -m benchmarks.singular --count 2000 --seed 3 --check-every 5 --limits 0

Exit status 1 when a wrong number, a crash or an answer where the function is undefined is found.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import pickle
import random
import select
import signal
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import mpmath

from benchmarks.differential import (
    OP_BY_NAME,
    OP_NAMES,
    VARIABLES,
    Node,
    Program,
    _expr,
    _live,
    _uses,
    render,
)
from gradcalc.errors import GradcalcError
from gradcalc.function import Function

try:   # the engine is changing: the harness must not depend on more than it needs
    from gradcalc.check import check_point
    from gradcalc.deadline import Timeout, deadline
except ImportError:   # pragma: no cover
    check_point = None

    class Timeout(BaseException):
        pass

    @contextmanager
    def deadline(seconds):
        yield

REL = 1e-8                    # agreement: |ours - ref| <= REL * max(1, |ref|)
DIGITS = 50                   # the reference's digits at the point
STEPS = (50, 100, 150, 200)   # h = 2^-k, each side
PREC = int(DIGITS * 3.33) + STEPS[-1] + 64   # working bits: 50 digits below the smallest step
CONVERGED = mpmath.mpf(10) ** -10   # the last two quotients: geometric rates, error < this
SIDES_EQUAL = mpmath.mpf(10) ** -9
STABLE = mpmath.mpf(10) ** -30   # quotients at p and 2p bits agree to this: p is enough
FLOAT_MAX = mpmath.mpf(sys.float_info.max)
HUGE_ANGLE = 1e12             # float64 cannot place sin(1e12) in its period: unreliable
POINT_VALUES = (0.0, 0.0, 0.0, 1.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1.5)


# --- the exact evaluator (values only: defined or not, never "smooth or not") ----------------
class Undefined(Exception):
    def __init__(self, reason: str):
        self.reason = reason


class Unreliable(Exception):
    """The point cannot be judged (a trig function of a huge argument)."""


def _near_miss(a, b=0) -> bool:
    """a is not b but closer than half the working precision: in exact arithmetic the point
    is probably on an op's edge (cos(asin(1)) is 0), where mpmath and float64 both miss it."""
    return a != b and abs(a - b) <= mpmath.ldexp(max(1, abs(b)), -(mpmath.mp.prec // 2))


EDGES = {   # op -> the arguments' values where it is singular, undefined or kinked
    "div": lambda a: _near_miss(a[1]),
    "pow": lambda a: _near_miss(a[0]) or (a[0] < 0 and _near_miss(a[1], mpmath.nint(a[1]))),
    "log": lambda a: _near_miss(a[0]), "log2": lambda a: _near_miss(a[0]),
    "log10": lambda a: _near_miss(a[0]), "sqrt": lambda a: _near_miss(a[0]),
    "cbrt": lambda a: _near_miss(a[0]), "abs": lambda a: _near_miss(a[0]),
    "relu": lambda a: _near_miss(a[0]),
    "logb": lambda a: _near_miss(a[0]) or _near_miss(a[1]) or _near_miss(a[1], 1),
    "max": lambda a: any(_near_miss(u, v) for u in a for v in a),
    "min": lambda a: any(_near_miss(u, v) for u in a for v in a),
    "tan": lambda a: _near_miss(mpmath.cos(a[0])), "sec": lambda a: _near_miss(mpmath.cos(a[0])),
    "csc": lambda a: _near_miss(mpmath.sin(a[0])), "cot": lambda a: _near_miss(mpmath.sin(a[0])),
    "asin": lambda a: _near_miss(abs(a[0]), 1), "acos": lambda a: _near_miss(abs(a[0]), 1),
    "atanh": lambda a: _near_miss(abs(a[0]), 1), "acosh": lambda a: _near_miss(a[0], 1),
    "atan2": lambda a: _near_miss(a[0]) or (_near_miss(a[1]) and a[0] == 0),
    "sign": lambda a: _near_miss(a[0]), "step": lambda a: _near_miss(a[0]),
    "maxshare": lambda a: any(_near_miss(u, v) for u in a for v in a),
    "minshare": lambda a: any(_near_miss(u, v) for u in a for v in a),
}
KNOWN = {"add", "sub", "mul", "div", "neg", "exp", "sigmoid", "softplus", "sinh", "cosh",
         "tanh", "asinh", "atan", "erf", "sin", "cos", "sec", "csc", "cot", "sech", *EDGES}


def mp_op(name: str, a: list, strict: bool = False):
    """Op ``name`` at mpmath arguments; raises Undefined where it is undefined (or beyond
    float64). With ``strict`` (at the point itself), raises Unreliable on a near miss of an
    edge, which float64 would miss differently."""
    m = mpmath
    x = a[0]
    if strict and name in EDGES and abs(x) <= HUGE_ANGLE and EDGES[name](a):
        raise Unreliable(f"{name} within 2^-{m.mp.prec // 2} of an edge, not on it")
    if name == "add":
        v = a[0] + a[1]
    elif name == "sub":
        v = a[0] - a[1]
    elif name == "mul":
        v = a[0] * a[1]
    elif name == "div":
        if a[1] == 0:
            raise Undefined("division by 0")
        v = a[0] / a[1]
    elif name == "neg":
        v = -x
    elif name == "pow":
        base, ex = a
        if base == 0:
            if ex < 0:
                raise Undefined("0 to a negative power")
            v = m.mpf(0) if ex > 0 else m.mpf(1)
        elif base < 0:
            if ex != m.floor(ex):
                raise Undefined("negative base, fractional exponent")
            if ex * m.log(-base) > 710:
                raise Undefined("overflow")
            v = base ** int(ex)
        else:
            if ex * m.log(base) > 710:
                raise Undefined("overflow")
            v = m.power(base, ex)
    elif name == "exp":
        if x > 710:
            raise Undefined("overflow")
        v = m.exp(x)
    elif name in ("log", "log2", "log10"):
        if x <= 0:
            raise Undefined("log of a number <= 0")
        v = m.log(x) / {"log": 1, "log2": m.log(2), "log10": m.log(10)}[name]
    elif name == "logb":
        if x <= 0 or a[1] <= 0 or a[1] == 1:
            raise Undefined("log outside its domain")
        v = m.log(x) / m.log(a[1])
    elif name == "sqrt":
        if x < 0:
            raise Undefined("sqrt of a negative number")
        v = m.sqrt(x)
    elif name == "cbrt":
        v = m.cbrt(x) if x >= 0 else -m.cbrt(-x)
    elif name == "abs":
        v = abs(x)
    elif name == "relu":
        v = x if x > 0 else m.mpf(0)
    elif name == "max":
        v = max(a)
    elif name == "min":
        v = min(a)
    elif name in ("sin", "cos", "tan", "sec", "csc", "cot"):
        if abs(x) > HUGE_ANGLE:
            raise Unreliable(f"{name} of {mpmath.nstr(x, 5)}")
        if name in ("csc", "cot") and m.sin(x) == 0:
            raise Undefined(f"{name} at a multiple of pi")
        if name in ("tan", "sec") and m.cos(x) == 0:
            raise Undefined(f"{name} at a pole")
        v = getattr(m, name)(x)
    elif name in ("asin", "acos"):
        if not -1 <= x <= 1:
            raise Undefined(f"{name} outside [-1, 1]")
        v = getattr(m, name)(x)
    elif name == "atan2":
        v = m.atan2(a[0], a[1])
    elif name in ("sinh", "cosh"):
        if abs(x) > 710:
            raise Undefined("overflow")
        v = getattr(m, name)(x)
    elif name in ("tanh", "asinh", "atan", "erf"):
        v = getattr(m, name)(x)
    elif name == "acosh":
        if x < 1:
            raise Undefined("acosh below 1")
        v = m.acosh(x)
    elif name == "atanh":
        if not -1 < x < 1:
            raise Undefined("atanh outside (-1, 1)")
        v = m.atanh(x)
    elif name == "sech":
        v = m.sech(x)
    elif name == "sign":
        v = m.mpf(m.sign(x))
    elif name == "step":
        v = m.mpf(1 if x > 0 else 0)
    elif name in ("maxshare", "minshare"):
        others = a[1:]
        top = x >= max(others) if name == "maxshare" else x <= min(others)
        v = m.mpf(1) / (1 + sum(o == x for o in others)) if top else m.mpf(0)
    elif name == "sigmoid":
        v = 1 / (1 + m.exp(-x))
    elif name == "softplus":
        v = x + m.log1p(m.exp(-x)) if x > 0 else m.log1p(m.exp(x))
    else:
        raise KeyError(f"the singular test does not know op {name!r}: add it")
    if not m.isfinite(v) or abs(v) > FLOAT_MAX:
        raise Undefined("overflow")
    return v


def mp_node(node: Node, env: dict, cache: dict, strict: bool = False):
    """Value of a tree; ``env`` maps variables, statements, pi and e to mpf (or an Undefined)."""
    if node.kind in ("var", "named", "ref"):
        v = env[node.name]
        if isinstance(v, Undefined):
            raise v
        return v
    if node.kind == "const":
        return mpmath.mpf(node.value)
    key = id(node)
    if key not in cache:
        try:
            cache[key] = mp_op(node.name, [mp_node(a, env, cache, strict) for a in node.args],
                               strict)
        except Undefined as exc:
            cache[key] = exc
    v = cache[key]
    if isinstance(v, Undefined):
        raise v
    return v


def base_env(point: dict) -> dict:
    env = {n: mpmath.mpf(v) for n, v in point.items()}
    env.update(pi=mpmath.mpf(math.pi), e=mpmath.mpf(math.e))   # the float64 constants
    return env


def mp_program(program: Program, point: dict, strict: bool = False):
    env = base_env(point)
    cache: dict = {}
    for name, node in program.statements:
        if name in program.live:
            try:
                env[name] = mp_node(node, env, cache, strict)
            except Undefined as exc:
                env[name] = exc
    out = env[program.statements[-1][0]]
    if isinstance(out, Undefined):
        raise out
    return out


# --- the reference derivative ------------------------------------------------------------------
@dataclass
class Side:
    kind: str                  # finite | infinite | undefined | unsure
    value: object = None       # mpf for finite, the last quotients for infinite / unsure


@dataclass
class Reference:
    kind: str                  # exists | dne | undefined | unsure
    value: float | None = None
    reason: str = ""
    sides: tuple = ()          # (right, left) finite values, when both are

    def text(self) -> str:
        if self.kind == "exists":
            return f"{self.value!r} ({self.reason})"
        return f"{self.kind}: {self.reason}"


def _samples(program: Program, point: dict, var: str, prec: int):
    """f at the point and at x0 ± h for each step, at ``prec`` bits: (f0, (right, left)) with
    None where f is undefined, or an Undefined when f is undefined at the point itself."""
    with mpmath.workprec(prec):
        def f(x, strict=False):
            return mp_program(program, {**point, var: x}, strict)

        x0 = mpmath.mpf(point[var])
        try:
            f0 = f(x0, strict=True)
        except Undefined as exc:
            return exc, ()
        sides = []
        for sign in (1, -1):
            row = []
            for k in STEPS:
                try:
                    row.append(f(x0 + sign * mpmath.ldexp(1, -k)))
                except Undefined:
                    row.append(None)
            sides.append(row)
    return f0, tuple(sides)


def _quotients(f0, row, sign):
    return [(v - f0) / (sign * mpmath.ldexp(1, -k)) for k, v in zip(STEPS, row, strict=True)]


def _stable(a, b) -> bool:
    """Whether two samplings (at p and 2p bits) give the same quotients."""
    (fa, sa), (fb, sb) = a, b
    if isinstance(fa, Undefined) or isinstance(fb, Undefined):
        return isinstance(fa, Undefined) and isinstance(fb, Undefined)
    for sign, ra, rb in zip((1, -1), sa, sb, strict=True):
        if [v is None for v in ra] != [v is None for v in rb]:
            return False
        if None in ra:
            continue
        for qa, qb in zip(_quotients(fa, ra, sign), _quotients(fb, rb, sign), strict=True):
            if abs(qa - qb) > STABLE * max(1, abs(qa)):
                return False
    return True


def _lost(sampling) -> bool:
    """Whether a small step left f exactly unchanged where a larger one changed it: the step
    was rounded away inside (1 - x^9 at x = 2^-200), not a flat function."""
    f0, sides = sampling
    if isinstance(f0, Undefined):
        return False
    for row in sides:
        if None in row:
            continue
        moved = [v != f0 for v in row]
        if any(moved[i] and not moved[j] for i in range(len(row)) for j in range(i + 1, len(row))):
            return True
    return False


def _side(f0, row, sign: int) -> Side:
    if all(v is None for v in row):
        return Side("undefined")
    if any(v is None for v in row):
        return Side("unsure", "defined at some steps only")
    q = _quotients(f0, row, sign)
    if abs(q[-1] - q[-2]) <= CONVERGED * max(1, abs(q[-1])):
        return Side("finite", q[-1])
    grows = all(abs(q[i + 1]) >= 10 * abs(q[i]) and q[i] * q[i + 1] > 0
                for i in range(1, len(q) - 1))
    d = [q[i + 1] - q[i] for i in range(len(q) - 1)]   # a log(h) term: equal steps
    logarithmic = all(abs(d[i] - d[0]) <= 0.01 * abs(d[0]) for i in range(1, len(d))) and \
        abs(d[0]) > 1e-6 * max(1, abs(q[-1]))
    if grows or logarithmic:
        return Side("infinite", q[-1])
    return Side("unsure", [mpmath.nstr(v, 6) for v in q])


def reference(program: Program, point: dict, var: str) -> Reference:
    """The true partial derivative with respect to ``var`` (see the module's docstring). The
    sampling is repeated at twice the precision until two agree, up to 16x."""
    previous = _samples(program, point, var, PREC)
    for prec in (2 * PREC, 4 * PREC, 8 * PREC, 16 * PREC):
        current = _samples(program, point, var, prec)
        if _stable(previous, current) and not _lost(current):
            break
        previous = current
    else:
        return Reference("unsure", reason=f"the quotients still change at {16 * PREC} bits")
    f0, sides = current
    if isinstance(f0, Undefined):
        return Reference("undefined", reason=f"the function is undefined ({f0.reason})")
    right, left = sides
    with mpmath.workprec(prec):
        right, left = _side(f0, right, 1), _side(f0, left, -1)
    defined = [s for s in (right, left) if s.kind != "undefined"]
    if not defined:
        return Reference("dne", reason="defined at the point alone")
    if any(s.kind == "infinite" for s in defined):
        which = [n for n, s in (("right", right), ("left", left)) if s.kind == "infinite"]
        return Reference("dne", reason=f"infinite ({', '.join(which)})")
    if any(s.kind == "unsure" for s in defined):
        quotients = [s.value for s in defined if s.kind == "unsure"]
        return Reference("unsure", reason=f"no convergence: {quotients[0]}")
    if len(defined) == 2:
        a, b = right.value, left.value
        if abs(a - b) > SIDES_EQUAL * max(1, abs(a), abs(b)):
            return Reference("dne", reason=f"sides differ: right {mpmath.nstr(a, 8)}, "
                                           f"left {mpmath.nstr(b, 8)}",
                             sides=(float(a), float(b)))
        return Reference("exists", float((a + b) / 2), "two-sided")
    one = "right" if right.kind == "finite" else "left"
    return Reference("exists", float(defined[0].value), f"{one} side only")


# --- the generator ----------------------------------------------------------------------------
def _num(v: float) -> Node:
    return Node("const", value=float(v))


WRAPS = tuple(n for n in OP_NAMES if n in KNOWN)
BENIGN_WRAPS = ("exp", "sin", "cos", "tanh", "atan", "add", "sub", "mul", "pow", "sigmoid",
                "softplus", "erf", "asinh", "sinh", "cosh", "max", "min", "neg", "div")


class Gen:
    """Builds one program around singular cores, for a point chosen first."""

    def __init__(self, rng: random.Random, point: dict):
        self.rng = rng
        self.point = point
        self.env = base_env(point)          # values of the statements so far (mpf, Undefined)
        self.named: dict = defaultdict(list)   # exact value -> statement names holding it
        self.refs: list = []
        self.families: list = []

    # --- small pieces
    def op(self, name: str, *args: Node) -> Node:
        o = OP_BY_NAME[name]
        spellings = list(o.calls)
        if o.infix:
            spellings += [o.infix] * (2 if o.calls else 1)
        return Node("op", name, args=list(args), spelling=self.rng.choice(spellings))

    def value(self, node: Node):
        if any(n.kind == "op" and n.name not in KNOWN for n in _walk(node)):
            return None   # an op gradcalc gained after this harness: not exercised
        with mpmath.workdps(30):
            try:
                return mp_node(node, self.env, {})
            except (Undefined, Unreliable):
                return None

    def random(self, depth: int | None = None) -> Node:
        """A random sub-expression with a finite, moderate value at the point (or a constant)."""
        for _ in range(6):
            node = _expr(self.rng, self.rng.randint(0, 2) if depth is None else depth, self.refs)
            v = self.value(node)
            if v is not None and abs(v) < 1e6:
                return node
        return _num(self.rng.choice((2.0, 0.5, 3.0, -1.5)))

    def _var_zero(self) -> Node:
        v = self.rng.choice(VARIABLES)
        p = self.point[v]
        var = Node("var", v)
        if p == 0:
            return var
        return self.op("sub", var, _num(p)) if self.rng.random() < 0.7 else \
            self.op("sub", _num(p), var)

    def zero_base(self) -> Node:
        r = self.rng.random()
        z = self._var_zero()
        if r < 0.6:
            return z
        if r < 0.75:
            return self.op("mul", _num(self.rng.choice((2.0, -1.0, 0.5, 3.0))), z)
        if r < 0.85:
            return self.op("mul", z, self._var_zero())
        if r < 0.95:
            return self.op("pow", z, _num(2.0)) if self.rng.random() < 0.5 else \
                self.op("mul", z, z)
        return self.op("pow", z, _num(3.0))

    def _named(self, target: float) -> Node | None:
        if self.named[target] and self.rng.random() < 0.35:
            return Node("ref", self.rng.choice(self.named[target]))
        return None

    def zero(self, depth: int = 2) -> Node:
        """An expression exactly 0 at the point, in float64 and in exact arithmetic."""
        ref = self._named(0.0)
        if ref is not None:
            return ref
        if depth <= 0 or self.rng.random() < 0.55:
            return self.zero_base()
        z = self.zero(depth - 1)
        pick = self.rng.randrange(13)
        if pick < 6:
            return self.op(("sin", "tanh", "sinh", "atan", "asinh", "erf")[pick], z)
        if pick == 6:
            return self.op("neg", z)
        if pick == 7:
            return self.op("mul", z, self.random()) if self.rng.random() < 0.5 else \
                self.op("mul", self.random(), z)
        if pick == 8:
            return self.op("div", z, _num(self.rng.choice((2.0, -4.0))))
        if pick == 9:
            return self.op("log", self.one(depth - 1))
        if pick == 10:
            return self.op("sub", self.one(depth - 1), _num(1.0))
        if pick == 11:
            return self.op("sub", self.op("exp", z), _num(1.0))
        return self.op(self.rng.choice(("relu", "abs", "cbrt", "tan")), z)

    def one(self, depth: int = 2) -> Node:
        """An expression exactly 1 at the point."""
        ref = self._named(1.0)
        if ref is not None:
            return ref
        pick = self.rng.randrange(10 if depth > 0 else 5)
        z = self.zero(depth - 1)
        if pick < 3:
            return self.op(("exp", "cos", "cosh")[pick], z)
        if pick == 3:
            return self.op("add", _num(1.0), z)
        if pick == 4:
            return self.op("sub", _num(1.0), z)
        o = self.one(depth - 1)
        if pick == 5:
            return self.op("pow", o, _num(self.rng.choice((2.0, 3.0, 0.5, -1.0))))
        if pick == 6:
            return self.op(self.rng.choice(("sqrt", "cbrt")), o)
        if pick == 7:
            return self.op("mul", o, self.one(depth - 1))
        if pick == 8:
            return self.op("abs", self.minus_one(depth - 1))
        return self.op("sub", _num(2.0), o)

    def minus_one(self, depth: int = 2) -> Node:
        ref = self._named(-1.0)
        if ref is not None:
            return ref
        pick = self.rng.randrange(3)
        if pick == 0:
            return self.op("neg", self.one(depth - 1))
        if pick == 1:
            return self.op("sub", self.zero(depth - 1), _num(1.0))
        return self.op("mul", _num(-1.0), self.one(depth - 1))

    def target(self, t: float, depth: int = 2) -> Node:
        if t == 0:
            return self.zero(depth)
        if t == 1:
            return self.one(depth)
        if t == -1:
            return self.minus_one(depth)
        z = self.zero(depth)
        return self.op("add", z, _num(t)) if self.rng.random() < 0.6 else \
            self.op("sub", _num(t), self.op("neg", z))

    def beyond(self, boundary: float, sign: int) -> Node:
        """An expression strictly on one side of ``boundary`` at the point (not within 1e-6):
        random when one is found quickly, else exact."""
        if self.rng.random() < 0.4:
            for _ in range(6):
                node = self.random(self.rng.randint(1, 2))
                v = self.value(node)
                if v is not None and sign * (v - boundary) > 1e-6 and abs(v) < 1e3 and \
                        any(n.kind == "var" for n in _walk(node)):
                    return node
        return self.target(boundary + sign * self.rng.choice((0.5, 1.0, 2.0)))

    # --- the singular cores: (family, builder)
    def core(self) -> Node:
        family = self.rng.choice(FAMILIES)
        self.families.append(family)
        return CORES[family](self)

    def wrap(self, node: Node) -> Node:
        name = self.rng.choice(BENIGN_WRAPS if self.rng.random() < 0.7 else WRAPS)
        o = OP_BY_NAME[name]
        if o.arity == 1:
            return self.op(name, node)
        if name == "pow":
            if self.rng.random() < 0.75:
                ex = _num(self.rng.choice((2.0, 3.0, 0.5, -1.0, 1.5, 4.0)))
                return self.op("pow", node, ex)
            return self.op("pow", self.random(), node)
        other = self.random()
        args = [node, other] if self.rng.random() < 0.5 else [other, node]
        return self.op(name, *args)

    def statement(self, name: str, node: Node) -> None:
        v = self.value(node)
        self.env[name] = v if v is not None else Undefined("undefined at the point")
        if v is not None and v in (0, 1, -1):
            self.named[float(v)].append(name)
        self.refs.append(name)


def _walk(node: Node):
    yield node
    for a in node.args:
        yield from _walk(a)


def _pick(g: Gen, *choices):
    return g.rng.choice(choices)


CORES = {
    # infinite local derivatives, hit exactly
    "sqrt(Z)": lambda g: g.op("sqrt", g.zero()),
    "cbrt(Z)": lambda g: g.op("cbrt", g.zero()),
    "acosh(O)": lambda g: g.op("acosh", g.one()),
    "asin(±1)": lambda g: g.op("asin", g.one() if g.rng.random() < 0.5 else g.minus_one()),
    "acos(±1)": lambda g: g.op("acos", g.one() if g.rng.random() < 0.5 else g.minus_one()),
    "Z^p, 0<p<1": lambda g: g.op("pow", g.zero(), _num(_pick(g, 0.5, 0.25, 0.75, 1 / 3, 0.2))),
    "Z^Y, Y in (0,1)": lambda g: g.op("pow", g.zero(), g.target(_pick(g, 0.5, 0.25, 0.75))),
    "Z^Z'": lambda g: g.op("pow", g.zero(), g.zero()),
    "atan2(Z, Z')": lambda g: g.op("atan2", g.zero(), g.zero()),
    "cbrt(Z)^2": lambda g: g.op("pow", g.op("cbrt", g.zero()), _num(2.0)),
    # compositions whose derivative exists (on one side at least)
    "cbrt(Z)^3": lambda g: g.op("pow", g.op("cbrt", g.zero()), _num(3.0)),
    "sqrt(Z)^2": lambda g: g.op("pow", g.op("sqrt", g.zero()), _num(2.0)),
    "sqrt(Z)*sqrt(Z)": lambda g: _twice(g, "sqrt", "mul"),
    "sin(sqrt(Z))^2": lambda g: g.op("pow", g.op("sin", g.op("sqrt", g.zero())), _num(2.0)),
    "cosh(sqrt(Z))": lambda g: g.op("cosh", g.op("sqrt", g.zero())),
    "1-cos(sqrt(Z))": lambda g: g.op("sub", _num(1.0), g.op("cos", g.op("sqrt", g.zero()))),
    "acosh(O)^2": lambda g: g.op("pow", g.op("acosh", g.one()), _num(2.0)),
    "acos(O)^2": lambda g: g.op("pow", g.op("acos", g.one()), _num(2.0)),
    "Z*sqrt(Z)": lambda g: _with_self(g, "sqrt"),
    "Z*cbrt(Z)": lambda g: _with_self(g, "cbrt"),
    "sqrt(Z)^3": lambda g: g.op("pow", g.op("sqrt", g.zero()), _num(_pick(g, 3.0, 4.0))),
    "sqrt(Z^2)": lambda g: g.op("sqrt", g.op("pow", g.zero(), _num(_pick(g, 2.0, 4.0)))),
    "cbrt(Z^3)": lambda g: g.op("cbrt", g.op("pow", g.zero(), _num(3.0))),
    "sqrt(Z)*sin(sqrt(Z))": lambda g: _sqrt_sin(g),
    "acosh(1+Z^2)": lambda g: g.op("acosh", g.op("add", _num(1.0),
                                                  g.op("pow", g.zero(), _num(2.0)))),
    "Z^p, p>1": lambda g: g.op("pow", g.zero(), _num(_pick(g, 1.5, 2.5, 1.25))),
    # masks: the singular op is constant near the point
    "sqrt(relu(N))": lambda g: g.op("sqrt", g.op("relu", g.beyond(0.0, -1))),
    "sqrt(max(N,0))": lambda g: g.op("sqrt", _either(g, "max", g.beyond(0.0, -1), _num(0.0))),
    "acosh(max(L,1))": lambda g: g.op("acosh", _either(g, "max", g.beyond(1.0, -1), _num(1.0))),
    "asin(min(G,1))": lambda g: g.op(_pick(g, "asin", "acos"),
                                     _either(g, "min", g.beyond(1.0, 1), _num(1.0))),
    "asin(V^0)": lambda g: g.op(_pick(g, "asin", "acos", "acosh"),
                                g.op("pow", _pick(g, Node("var", g.rng.choice(VARIABLES)),
                                                  g.random()), _num(0.0))),
    "N^relu(N')": lambda g: g.op("pow", g.beyond(0.0, -1), g.op("relu", g.beyond(0.0, -1))),
    "abs(asin(relu(N)))": lambda g: g.op("abs", g.op("asin", g.op("relu", g.beyond(0.0, -1)))),
    "sqrt(relu(Z))": lambda g: g.op("sqrt", g.op("relu", g.zero())),
    "0*core": lambda g: g.op("mul", _num(0.0), _simple_core(g)),
    "relu(N)*core": lambda g: g.op("mul", g.op("relu", g.beyond(0.0, -1)), _simple_core(g)),
}
FAMILIES = tuple(CORES)


def _twice(g: Gen, fn: str, combine: str) -> Node:
    z = g.zero()
    return g.op(combine, g.op(fn, z), g.op(fn, z))


def _with_self(g: Gen, fn: str) -> Node:
    z = g.zero()
    return g.op("mul", z, g.op(fn, z)) if g.rng.random() < 0.5 else g.op("mul", g.op(fn, z), z)


def _sqrt_sin(g: Gen) -> Node:
    z = g.zero()
    return g.op("mul", g.op("sqrt", z), g.op("sin", g.op("sqrt", z)))


def _either(g: Gen, name: str, a: Node, b: Node) -> Node:
    return g.op(name, a, b) if g.rng.random() < 0.5 else g.op(name, b, a)


def _simple_core(g: Gen) -> Node:
    name = g.rng.choice(("sqrt(Z)", "acosh(O)", "asin(±1)", "Z^p, 0<p<1", "cbrt(Z)"))
    return CORES[name](g)


def generate_singular(rng: random.Random) -> tuple[Program, dict, list]:
    """(program, point, core families) for one random steered program."""
    point = {v: rng.choice(POINT_VALUES) for v in VARIABLES}
    g = Gen(rng, point)
    statements = []
    names = iter(("u", "v", "w", "q"))
    for _ in range(rng.choice((0, 0, 1, 1, 2))):      # named atoms: u = <exactly 0 or 1>
        name = next(names)
        node = g.target(rng.choice((0.0, 0.0, 1.0, -1.0)))
        statements.append((name, node))
        g.statement(name, node)
    if rng.random() < 0.3:                             # a named core, used more than once
        name = next(names)
        node = g.core()
        statements.append((name, node))
        g.statement(name, node)
        ref = Node("ref", name)
        partner = ref if rng.random() < 0.6 else g.core()
        body = g.op(rng.choice(("mul", "add", "sub", "div", "pow")), ref, partner)
        if body.name == "pow":
            body.args[1] = _num(rng.choice((2.0, 3.0)))
    else:
        body = g.core()
        if rng.random() < 0.3:
            body = g.op(rng.choice(("add", "mul", "sub", "max")), body, g.core())
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        body = g.wrap(body)
    statements.append(("f", body))
    used: list = []
    for _name, node in statements:
        _uses(node, used)
    text = "; ".join(f"{name} = {render(node)}" for name, node in statements)
    if len(statements) == 1 and rng.random() < 0.5:
        text = render(body)
    program = Program(statements, text, tuple(used), _live(statements))
    return program, {v: point[v] for v in used}, g.families


# --- gradcalc, defensively ----------------------------------------------------------------------
def accepts_limits() -> bool:
    try:
        p = inspect.signature(Function.gradient).parameters.get("limits")
    except (TypeError, ValueError):
        return False
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)


@dataclass
class Outcome:
    result: object = None
    error: str | None = None        # a GradcalcError's message
    crash: str | None = None        # anything else
    timeout: bool = False


def run_gradcalc(fn, point: dict, kwargs: dict, seconds: float) -> Outcome:
    try:
        with deadline(seconds):
            return Outcome(fn.gradient(dict(point), **kwargs))
    except GradcalcError as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}")
    except Timeout:
        return Outcome(timeout=True)
    except Exception as exc:   # a bug in the engine: counted and shown
        return Outcome(crash=f"{type(exc).__name__}: {exc}")


# --- judging ----------------------------------------------------------------------------------
AGREE = "agree"
WRONG = "WRONG NUMBER: the derivative exists, ours differs"
WRONG_DNE = "WRONG NUMBER: a number where the derivative does not exist"
WRONG_UNDEF = "WRONG NUMBER: a number where the function is undefined"
WORST = "WRONG NUMBER with check status agree"
NONFINITE = "non-finite number (inf/nan) in the gradient"
KINK = "kink convention (sides differ, ours between them)"
KINK_REPORTED = "a number where the derivative does not exist, at a kink the result reports"
UNDET_OK = "undetermined, the derivative does not exist (correct)"
UNDET_BAD = "undetermined, the derivative exists (over-cautious)"
REFUSED_OK = "refused, legitimately (undefined / infinite / does not exist)"
REFUSED_BAD = "refused, the derivative exists (false refusal)"
REFUSED_COLLATERAL = "refused, this partial exists but another one does not (collateral)"
UNSURE = "reference unsure (not judged)"
CRASH = "gradcalc crashed (not a GradcalcError)"
TIMED_OUT = "gradcalc timed out"
ORDER = (AGREE, KINK, KINK_REPORTED, UNDET_OK, REFUSED_OK, REFUSED_COLLATERAL, WRONG, WRONG_DNE,
         WRONG_UNDEF, WORST, NONFINITE, UNDET_BAD, REFUSED_BAD, CRASH, TIMED_OUT, UNSURE)
BAD = (WRONG, WRONG_DNE, WRONG_UNDEF, WORST, NONFINITE, UNDET_BAD, REFUSED_BAD, CRASH, TIMED_OUT)
WRONGS = (WRONG, WRONG_DNE, WRONG_UNDEF)
REF_DIFFERS = "the check's reference differs from mpmath's (derivative exists)"
SHORT = {AGREE: "agree", KINK: "kink convention", KINK_REPORTED: "kink reported",
         UNDET_OK: "undetermined ok",
         REFUSED_OK: "refused ok", REFUSED_COLLATERAL: "refused collateral", WRONG: "WRONG",
         WRONG_DNE: "WRONG (does not exist)", WRONG_UNDEF: "WRONG (undefined)",
         WORST: "WRONG + check agree", NONFINITE: "non-finite", UNDET_BAD: "over-cautious",
         REFUSED_BAD: "false refusal", CRASH: "crash", TIMED_OUT: "timeout", UNSURE: "unsure"}


def judge(ours, ref: Reference) -> str:
    if ref.kind == "unsure":
        return UNSURE
    if ours is None:
        return UNDET_BAD if ref.kind == "exists" else UNDET_OK
    ours = float(ours)
    if not math.isfinite(ours):
        return NONFINITE
    if ref.kind == "exists":
        return AGREE if abs(ours - ref.value) <= REL * max(1.0, abs(ref.value)) else WRONG
    if ref.kind == "undefined":
        return WRONG_UNDEF
    if ref.sides:
        lo, hi = min(ref.sides), max(ref.sides)
        if lo - REL * max(1, abs(lo)) <= ours <= hi + REL * max(1, abs(hi)):
            return KINK
    return WRONG_DNE


@dataclass
class Tally:
    programs: int = 0
    points_unreliable: int = 0
    unreliable_why: Counter = field(default_factory=Counter)
    unreliable_examples: list = field(default_factory=list)
    partials: Counter = field(default_factory=Counter)
    why: Counter = field(default_factory=Counter)      # (judgement, the reference's reason)
    methods: Counter = field(default_factory=Counter)          # (method, judgement)
    families: dict = field(default_factory=lambda: defaultdict(Counter))
    checks: Counter = field(default_factory=Counter)           # check status, sampled programs
    check_cross: Counter = field(default_factory=Counter)      # (judgement, status), sampled
    wrong_checks: Counter = field(default_factory=Counter)     # check status of wrong numbers
    checked_programs: int = 0
    value_off: int = 0
    ref_compared: int = 0     # partials where the check's own reference is a number ...
    ref_differs: int = 0      # ... that differs from mpmath's: review these (either may err)
    examples: dict = field(default_factory=lambda: defaultdict(list))
    seconds: Counter = field(default_factory=Counter)
    slowest: dict = field(default_factory=dict)                # phase -> (seconds, text, point)

    def example(self, kind: str, limit: int, **info) -> None:
        if len(self.examples[kind]) < limit:
            self.examples[kind].append(info)


def _check_here(fn, result, timeout: float) -> dict:
    try:
        chk = check_point(fn, result, timeout=timeout)
    except Exception as exc:   # the check is being changed too: count, do not stop
        return dict.fromkeys(result.gradient, (f"check crashed ({type(exc).__name__})", None))
    out = {}
    for p in chk.partials:
        ref = getattr(p, "reference", None)
        out[p.name] = (str(p.status), float(ref) if isinstance(ref, (int, float)) else None)
    return out


def run_check(fn, result, timeout: float, budget: float) -> dict:
    """name -> (check status, or a note when the check fails or overruns; the check's own
    reference). The check runs in a forked child killed after ``budget`` seconds: its SIGALRM
    deadlines do not bound every SymPy call (a fallback can disarm them), so no in-process
    deadline would either."""
    if check_point is None:
        return {}
    if not hasattr(os, "fork"):   # pragma: no cover
        return _check_here(fn, result, timeout)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: check, send the answer, leave without cleanup
        os.close(read)
        try:
            data = pickle.dumps(_check_here(fn, result, timeout))
        except BaseException as exc:
            data = pickle.dumps(dict.fromkeys(result.gradient, (
                f"check crashed ({type(exc).__name__})", None)))
        with os.fdopen(write, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(write)
    chunks, ends = [], time.monotonic() + budget
    with os.fdopen(read, "rb", buffering=0) as f:
        while True:
            left = ends - time.monotonic()
            if left <= 0 or not select.select([f], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return dict.fromkeys(result.gradient, (f"check overran ({budget:g} s)", None))
            chunk = f.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:
        return dict.fromkeys(result.gradient, ("check crashed (no answer)", None))


def _methods(r) -> dict:
    """name -> how a partial was found, for those not from plain reverse mode: Result.methods,
    else the method of each Result.determined entry (the API is settling)."""
    if r is None:
        return {}
    methods = getattr(r, "methods", None)
    if methods:
        return dict(methods)
    return {name: getattr(d, "method", str(d))
            for name, d in (getattr(r, "determined", None) or {}).items()}


def _slow(tally: Tally, phase: str, seconds: float, text: str, point: dict) -> None:
    tally.seconds[phase] += seconds
    if seconds > tally.slowest.get(phase, (0.0,))[0]:
        tally.slowest[phase] = (seconds, text, point)


def run_one(rng: random.Random, tally: Tally, index: int, opts, kwargs: dict) -> None:
    program, point, families = generate_singular(rng)
    tally.programs += 1
    t0 = time.perf_counter()
    try:
        refs = {v: reference(program, point, v) for v in program.variables}
        with mpmath.workdps(DIGITS):
            value_ref = mp_program(program, point)
    except Unreliable as exc:
        tally.points_unreliable += 1
        tally.unreliable_why["an op's edge missed by a hair (an exact transcendental hit)"
                             if "edge" in str(exc) else "a trig function of a huge argument"] += 1
        if len(tally.unreliable_examples) < 3:
            tally.unreliable_examples.append((program.text, point, str(exc)))
        return
    except Undefined:
        value_ref = None
    t1 = time.perf_counter()
    _slow(tally, "reference (mpmath)", t1 - t0, program.text, point)
    try:
        fn = Function(program.text)
    except GradcalcError as exc:   # a generated program must parse: a harness or parser bug
        outcome = Outcome(crash=f"does not parse: {exc}")
    else:
        outcome = run_gradcalc(fn, point, kwargs, opts.gradient_timeout)
    t2 = time.perf_counter()
    _slow(tally, "gradcalc", t2 - t1, program.text, point)
    r = outcome.result
    methods = _methods(r)
    sampled = opts.check_every > 0 and index % opts.check_every == 0
    judgements = {}
    somewhere_dne = any(ref.kind in ("dne", "undefined") for ref in refs.values())
    somewhere_unsure = any(ref.kind == "unsure" for ref in refs.values())
    for var in program.variables:
        ref = refs[var]
        if outcome.crash or outcome.timeout:
            j = CRASH if outcome.crash else TIMED_OUT
            ours = outcome.crash or "timeout"
        elif outcome.error is not None:
            ours = outcome.error
            if ref.kind == "unsure":
                j = UNSURE
            elif ref.kind == "exists":   # refused for another partial?
                j = REFUSED_COLLATERAL if somewhere_dne else (
                    UNSURE if somewhere_unsure else REFUSED_BAD)
            else:
                j = REFUSED_OK
        else:
            ours = r.gradient.get(var, 0.0)
            j = judge(ours, ref)
            if j == WRONG_DNE and getattr(r, "kinks", ()) and \
                    ref.reason.startswith(("infinite", "sides differ")):
                j = KINK_REPORTED   # sign'(0) = 0 at sign's jump: a documented convention
        judgements[var] = (j, ours, ref)
    statuses = {}
    if r is not None and check_point is not None and (
            sampled or any(j in WRONGS for j, _o, _r in judgements.values())):
        statuses = run_check(fn, r, opts.timeout, opts.check_budget)
        if sampled:
            tally.checked_programs += 1
    _slow(tally, "check", time.perf_counter() - t2, program.text, point)
    if r is not None and value_ref is not None:
        v = float(r.value)
        if not (math.isfinite(v) and abs(v - float(value_ref)) <= REL * max(1, abs(value_ref))):
            tally.value_off += 1
            tally.example("value differs from mpmath", 3, program=program.text, point=point,
                          var="(value)", ours=r.value, ref=mpmath.nstr(value_ref, 17),
                          families=families, method="", status="")
    for var, (j, ours, ref) in judgements.items():
        status, theirs = statuses.get(var, ("", None))
        if ref.kind == "exists" and isinstance(theirs, (int, float)) and math.isfinite(theirs):
            tally.ref_compared += 1     # a sanity check of this harness's reference
            if abs(theirs - ref.value) > 1e-6 * max(1.0, abs(ref.value)):
                tally.ref_differs += 1
                tally.example(REF_DIFFERS, 3, program=program.text, point=point, var=var,
                              ours=f"check's reference {theirs!r}", ref=ref.text(),
                              families=families, method="", status=status)
        method = methods.get(var, "reverse mode") if r is not None else "-"
        tally.partials[j] += 1
        if j in (REFUSED_OK, UNDET_OK, WRONG_DNE):
            tally.why[(j, ref.reason.split(":")[0].split(" (")[0])] += 1
        tally.methods[(method, j)] += 1
        for fam in set(families):
            tally.families[fam][j] += 1
        if sampled and status:
            tally.checks[status] += 1
            tally.check_cross[(j, status)] += 1
        if j in WRONGS and status:
            tally.wrong_checks[status] += 1
        kinds = [j]
        if j in WRONGS and status == "agree":
            tally.partials[WORST] += 1
            kinds.append(WORST)
        for kind in kinds:
            if kind in BAD or kind == KINK_REPORTED:
                tally.example(kind, opts.examples, program=program.text, point=point, var=var,
                              ours=ours, ref=ref.text(), families=families, method=method,
                              status=status)


# --- report -----------------------------------------------------------------------------------
def report(tally: Tally, seconds: float, opts, limits_note: str) -> None:
    p = print
    n = tally.programs
    p(f"programs    {n} (seed {opts.seed}){limits_note}; {tally.points_unreliable} skipped as "
      f"unreliable" + "".join(f"\n  {c:>7}  {why}" for why, c in tally.unreliable_why.items()))
    for text, point, why in tally.unreliable_examples:
        p(f"           e.g. {text}  at {point}: {why}")
    total = sum(v for k, v in tally.partials.items() if k != WORST)
    judged = total - tally.partials[UNSURE]
    p(f"partials    {total}; judged against mpmath: {judged}; reference unsure: "
      f"{tally.partials[UNSURE]}")
    compared = sum(tally.partials[k] for k in (AGREE, WRONG, WRONG_DNE, WRONG_UNDEF, NONFINITE,
                                                KINK))
    p(f"compared    {compared} (gradcalc gave a number)")
    p("\ncount   outcome (per partial)")
    for kind in ORDER:
        mark = "  <-- bad" if kind in BAD and tally.partials[kind] else ""
        p(f"{tally.partials[kind]:>6}  {kind}{mark}")
    for kind in (REFUSED_OK, UNDET_OK, WRONG_DNE):
        reasons = [(why, c) for (j, why), c in tally.why.most_common() if j == kind]
        if reasons:
            p(f"  {kind.split(',')[0].split(':')[0].lower()}, the derivative does not exist "
              f"because: " + ", ".join(f"{why} {c}" for why, c in reasons))
    p(f"value       {tally.value_off} points where gradcalc's value differs from mpmath's")
    methods = sorted({m for m, _j in tally.methods} - {"-"})
    if methods != ["reverse mode"]:
        p("\nby method (Result.methods; reverse mode when absent):")
        for m in methods:
            p(f"  {m:<20} " + ", ".join(f"{SHORT[j]} {c}" for (mm, j), c in
                                         sorted(tally.methods.items(),
                                                key=lambda kv: ORDER.index(kv[0][1]))
                                         if mm == m))
    p(f"\ncheck       check_point (timeout {opts.timeout:g} s) on {tally.checked_programs} "
      f"sampled programs (every {opts.check_every}th) and on every wrong number")
    p("            sampled statuses: " + (", ".join(
        f"{s} {c}" for s, c in tally.checks.most_common()) or "none"))
    p(f"            the check's own reference where mpmath's derivative exists: "
      f"{tally.ref_compared} numbers, {tally.ref_differs} differ from mpmath's by > 1e-6")
    p("            statuses of wrong numbers: " + (", ".join(
        f"{s} {c}" for s, c in tally.wrong_checks.most_common()) or "none"))
    cross = [(j, s, c) for (j, s), c in tally.check_cross.items()
             if (j == AGREE and s != "agree") or j in BAD]
    if cross:
        p("            sampled, judgement x status (ours right but check not agree, or ours "
          "bad):")
        for j, s, c in sorted(cross, key=lambda t: -t[2]):
            p(f"              {c:>5}  {j}  /  check {s}")
    fams = sorted(tally.families.items(), key=lambda kv: -sum(kv[1][b] for b in BAD))
    rows = [(f, c) for f, c in fams if any(c[b] for b in BAD)]
    if rows:
        p("\nbad partials by core family (a program may hold two):")
        p(f"  {'family':<22} {'judged':>6} {'wrong':>6} {'undet':>6} {'refused':>7} "
          f"{'crash':>5}")
        for fam, c in rows[:15]:
            judged = sum(c.values()) - c[UNSURE]
            wrong = sum(c[k] for k in (*WRONGS, NONFINITE))
            p(f"  {fam:<22} {judged:>6} {wrong:>6} {c[UNDET_BAD]:>6} {c[REFUSED_BAD]:>7} "
              f"{c[CRASH] + c[TIMED_OUT]:>5}")
    per = 1000 * seconds / max(n, 1)
    p(f"\ntime        {seconds:.1f} s, {per:.1f} s per 1,000 programs ("
      + ", ".join(f"{k} {v:.1f} s" for k, v in tally.seconds.items()) + ")")
    for phase, (sec, text, point) in tally.slowest.items():
        if sec > 1:
            p(f"            slowest {phase}: {sec:.1f} s, {text[:120]} at {point}")
    unknown = [n for n in OP_NAMES if n not in KNOWN]
    if unknown:
        p(f"\nnote        gradcalc ops this harness does not evaluate (left out of the programs): "
          f"{', '.join(unknown)}")
    counts = {**tally.partials, "value differs from mpmath": tally.value_off,
              REF_DIFFERS: tally.ref_differs}
    for kind in (*BAD, KINK_REPORTED, "value differs from mpmath", REF_DIFFERS):
        shown = tally.examples.get(kind)
        if not shown:
            continue
        p(f"\n== {kind}: {counts[kind]} "
          f"(up to {len(shown)} shown)")
        for i, e in enumerate(shown, 1):
            at = ", ".join(f"{k}={v!r}" for k, v in e["point"].items())
            p(f"[{i}] {e['program']}")
            p(f"    at {at}; d/d{e['var']}; cores: {', '.join(e['families'])}")
            extra = f"; method {e['method']}" if e["method"] not in ("", "reverse mode") else ""
            extra += f"; check {e['status']}" if e["status"] else ""
            p(f"    gradcalc {e['ours']}{extra}")
            p(f"    mpmath   {e['ref']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10000, help="programs to generate (10000)")
    ap.add_argument("--quick", action="store_true", help="300 programs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                    help="check_point's SymPy timeout (2)")
    ap.add_argument("--check-budget", type=float, default=10.0, metavar="SECONDS",
                    help="kill one check_point call after this long (10): counted as overran")
    ap.add_argument("--check-every", type=int, default=10, metavar="N",
                    help="run check_point on every Nth program (10; 0: only on wrong numbers)")
    ap.add_argument("--limits", type=float, default=None, metavar="SECONDS",
                    help="pass limits=SECONDS to Function.gradient (0: no SymPy limit, "
                         "numerical method only), if its signature accepts it")
    ap.add_argument("--progress", action="store_true", help="a line on stderr every 100 programs")
    ap.add_argument("--gradient-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="give up on one gradcalc call after this long (30)")
    ap.add_argument("--examples", type=int, default=10, help="examples per bad category (10)")
    opts = ap.parse_args(argv)
    count = 300 if opts.quick else opts.count
    kwargs, limits_note = {}, ""
    if opts.limits is not None:
        if accepts_limits():
            kwargs["limits"] = opts.limits
            limits_note = f"; gradient(..., limits={opts.limits:g})"
        else:
            limits_note = "; --limits ignored: Function.gradient has no limits parameter"
    rng = random.Random(opts.seed)
    tally = Tally()
    start = time.perf_counter()
    for i in range(count):
        run_one(rng, tally, i, opts, kwargs)
        if opts.progress and (i + 1) % 100 == 0:
            print(f"{i + 1} programs, {time.perf_counter() - start:.0f} s, "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in tally.seconds.items()),
                  file=sys.stderr, flush=True)
    report(tally, time.perf_counter() - start, opts, limits_note)
    failing = (*WRONGS, WORST, NONFINITE, CRASH)
    return 1 if any(tally.partials[k] for k in failing) else 0


if __name__ == "__main__":
    sys.exit(main())
