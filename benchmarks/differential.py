"""Differential test: gradcalc's gradient against SymPy and PyTorch on random programs.

Generates random well-formed programs over every op of ``gradcalc.ops.OPS`` (nesting, constants,
shared subexpressions through multi-statement programs ``u = ...; v = ...; f = ...``), picks a
random point and compares gradcalc's value and gradient with

* SymPy: the expression is built here from the generator's tree (not through gradcalc's SymPy
  domain, not by parsing text), differentiated with ``sympy.diff`` and evaluated with
  ``evalf(30)`` at the exact binary value of the point (constants, pi and e included: they are
  the float64 numbers gradcalc computes with);
* PyTorch float64 autograd (when ``import torch`` works), the graph built from the same tree.

Points where the function is not smooth are skipped and counted by reason: at or within 1e-9 of a
kink (abs, relu, a max/min tie, atan2's branch cut), outside an op's domain, near a pole (or a
point where a derivative is infinite), or an overflow. Whether a point is smooth is decided by
evaluating the tree here with mpmath at 40 digits. At a smooth point abs, relu, max, min and cbrt
equal one smooth branch near the point; the SymPy expression uses that branch (abs(u) -> u or -u),
so the reference is a plain derivative, not SymPy's Heaviside/sign bookkeeping.

Besides, a share of the programs that use kinked ops is evaluated exactly at a kink (variables
equal, or zero) and compared with PyTorch only, whose conventions gradcalc documents:
relu'(0) = 0, abs'(0) = 0, ties of max/min split the gradient evenly (``torch.amax``/``amin``).

Agreement: |ours - ref| <= 1e-8 * max(|ours|, |ref|) + 1e-8 * M, where M is the largest magnitude
among the value and the reference partials at that point (an absolute floor that scales with them).
A difference beyond that is counted as "ill-conditioned", not as a disagreement, when moving one
coordinate of the point by 4 ulps changes the exact answer by at least half the difference: no
float64 computation can be expected to do better there (e.g. cot(cosh(sinh(4))), whose argument
is 2e12, where one ulp is 2e-4). And it is counted as "float64-limited" when PyTorch float64
is at least half as far from SymPy in every entry that differs: the error is then the rounding
of the formula itself in float64 (log(tanh(x)) for x > 10, where tanh(x) rounds to a neighbour
of 1), shared by any float64 implementation, not a wrong derivative. Conversely, a PyTorch
difference where SymPy agrees with gradcalc is counted as "PyTorch off" (log10(y/y): PyTorch's
d/dy is -5.6e-17, the exact one and gradcalc's 0). Without
PyTorch these stay disagreements. Both kinds are counted and shown, never hidden.

Points: 55% in (0.05, 2.5), 35% in (-2.5, 2.5), 10% "wide", |v| in (5, 40), where exp, tanh
and sigmoid saturate. sin, cos, tan, ... of an argument beyond 1e12 are skipped (one ulp of the
argument is then 1e-4 rad or more).

    python benchmarks/differential.py                 # 10,000 programs, SymPy and PyTorch
    python benchmarks/differential.py --quick         # 300 programs
    python benchmarks/differential.py --count 2000 --seed 7 --no-torch
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import mpmath
import sympy

from gradcalc.deadline import Timeout, deadline
from gradcalc.errors import GradcalcError
from gradcalc.function import Function
from gradcalc.ops import OPS

REL = 1e-8
NEAR = 1e-9           # "within 1e-9 of a kink / a pole / a domain edge"
OVERFLOW = 1e300
HUGE_ANGLE = 1e12     # one ulp of the argument is 1e-4 rad and more: sin, cos, ... meaningless
VARIABLES = ("x", "y", "z")
STATEMENT_NAMES = ("u", "v", "w", "q")
KINKED = {"abs", "relu", "max", "min"}
mpmath.mp.dps = 40


# --- programs --------------------------------------------------------------------------------
@dataclass
class Node:
    kind: str                        # "var", "const", "named" (pi, e), "ref" (a statement), "op"
    name: str = ""                   # variable, constant or statement name; op name
    value: float = 0.0               # for "const"
    args: list = field(default_factory=list)
    spelling: str = ""               # how an op is written (infix symbol or function name)


@dataclass
class Program:
    statements: list                 # [(name, Node)], the last one is the output
    text: str
    variables: tuple                 # the variables the program uses, in order
    live: frozenset = frozenset()    # the statements the output depends on (gradcalc evaluates
    #                                  only those: an unused statement is never computed)


# The ops derivative rules are made of (sign, step, maxshare, minshare are piecewise constant;
# sech is tanh's slope) are left out of the random programs: tests/test_ops.py and the
# higher-derivative property tests cover them.
PIECES = {"sign", "step", "maxshare", "minshare", "sech"}
OP_BY_NAME = {op.name: op for op in OPS if op.name not in PIECES}
OP_NAMES = tuple(OP_BY_NAME)


def _const(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.4:
        return float(rng.randint(1, 4))
    if r < 0.6:
        return rng.choice((0.5, 1.5, 0.25, 2.5, 0.1, 3.0))
    return round(rng.uniform(-3, 3), rng.randint(1, 4)) or 1.0


def _leaf(rng: random.Random, refs: list) -> Node:
    r = rng.random()
    if refs and r < 0.35:
        return Node("ref", rng.choice(refs))
    if r < 0.75:
        return Node("var", rng.choice(VARIABLES))
    if r < 0.8:
        return Node("named", rng.choice(("pi", "e")))
    return Node("const", value=_const(rng))


def _expr(rng: random.Random, depth: int, refs: list, want: str | None = None) -> Node:
    if want is None and (depth <= 0 or rng.random() < 0.25):
        return _leaf(rng, refs)
    name = want or rng.choice(OP_NAMES)
    op = OP_BY_NAME[name]
    n = op.arity if op.arity > 0 else rng.randint(2, 4)
    if name == "pow":
        r = rng.random()
        if r < 0.5:
            exponent = Node("const", value=float(rng.randint(-2, 4)))
        elif r < 0.7:
            exponent = Node("const", value=rng.choice((0.5, 1.5, -0.5, 2.5)))
        else:
            exponent = _expr(rng, depth - 1, refs)
        args = [_expr(rng, depth - 1, refs), exponent]
    else:
        args = [_expr(rng, depth - 1, refs) for _ in range(n)]
    spellings = list(op.calls)
    if op.infix:
        spellings += [op.infix] * (2 if op.calls else 1)
    return Node("op", name, args=args, spelling=rng.choice(spellings))


def render(node: Node) -> str:
    if node.kind in ("var", "named", "ref"):
        return node.name
    if node.kind == "const":
        text = repr(node.value)
        return f"({text})" if node.value < 0 else text
    args = [render(a) for a in node.args]
    if node.spelling == OP_BY_NAME[node.name].infix:
        if len(args) == 1:
            return f"({node.spelling}{args[0]})"
        return f"({args[0]} {node.spelling} {args[1]})"
    return f"{node.spelling}({', '.join(args)})"


def _refs(node: Node, out: set) -> None:
    if node.kind == "ref":
        out.add(node.name)
    for a in node.args:
        _refs(a, out)


def _live(statements: list) -> frozenset:
    live = {statements[-1][0]}
    for name, node in reversed(statements):
        if name in live:
            _refs(node, live)
    return frozenset(live)


def _uses(node: Node, out: list) -> None:
    if node.kind == "var" and node.name not in out:
        out.append(node.name)
    for a in node.args:
        _uses(a, out)


def generate(rng: random.Random, want: str | None = None) -> Program:
    """A random program; ``want`` forces the output's top op (so every op is covered)."""
    n_statements = rng.choice((1, 1, 2, 3, 4))
    statements, refs = [], []
    for i in range(n_statements):
        last = i == n_statements - 1
        name = "f" if last else STATEMENT_NAMES[i]
        node = _expr(rng, rng.randint(1, 4), refs, want if last else None)
        statements.append((name, node))
        refs.append(name)
    used: list = []
    for _name, node in statements:
        _uses(node, used)
    text = "; ".join(f"{name} = {render(node)}" for name, node in statements)
    if len(statements) == 1 and rng.random() < 0.5:
        text = render(statements[0][1])        # a bare expression, no assignment
    return Program(statements, text, tuple(used), _live(statements))


# --- smoothness, with mpmath -----------------------------------------------------------------
class NotSmooth(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _near(a, b=0) -> bool:
    return abs(a - b) <= NEAR * max(1, abs(a), abs(b))


def _is_const(node: Node, env_kinds: dict) -> bool:
    if node.kind == "var":
        return False
    if node.kind == "ref":
        return env_kinds[node.name]
    return all(_is_const(a, env_kinds) for a in node.args)


def mp_value(name: str, a: list, const_args: list):
    """Value of op ``name`` at mpmath arguments ``a``; raises NotSmooth(reason) where the
    function is not smooth. Returns (value, branch) where branch picks the smooth piece for
    abs/relu/max/min/cbrt (for the SymPy expression)."""
    m = mpmath
    x = a[0] if a else None
    branch = None

    def need(ok, reason="domain"):
        if not ok:
            raise NotSmooth(reason)

    if name == "add":
        v = a[0] + a[1]
    elif name == "sub":
        v = a[0] - a[1]
    elif name == "mul":
        v = a[0] * a[1]
    elif name == "div":
        need(not _near(a[1]), "pole")
        v = a[0] / a[1]
    elif name == "neg":
        v = -x
    elif name == "pow":
        base, ex = a
        integer = ex == m.floor(ex)
        if const_args[1]:
            need(base >= 0 or integer, "domain")
            need(not (base == 0 and ex < 0), "pole")
            need(not _near(base) or ex >= 1 or ex == 0, "pole")   # (x^p)' infinite at 0, p < 1
        else:   # the exponent varies: d/d(exponent) needs log(base)
            need(base >= 0, "domain")
            need(not _near(base), "pole")
        v = base ** ex if base != 0 else (m.mpf(0) if ex > 0 else m.mpf(1))
    elif name == "exp":
        need(x < 690, "overflow")
        v = m.exp(x)
    elif name in ("log", "log2", "log10"):
        need(x > 0)
        need(not _near(x), "pole")
        v = m.log(x) / {"log": 1, "log2": m.log(2), "log10": m.log(10)}[name]
    elif name == "logb":
        need(x > 0 and a[1] > 0)
        need(not _near(x) and not _near(a[1]) and not _near(a[1], 1), "pole")
        v = m.log(x) / m.log(a[1])
    elif name == "sqrt":
        need(x >= 0)
        need(not _near(x), "pole")
        v = m.sqrt(x)
    elif name == "cbrt":
        need(not _near(x), "pole")
        branch = x > 0
        v = m.cbrt(x) if x > 0 else -m.cbrt(-x)
    elif name == "abs":
        need(not _near(x), "kink")
        branch = x > 0
        v = abs(x)
    elif name == "relu":
        need(not _near(x), "kink")
        branch = x > 0
        v = max(x, 0)
    elif name in ("max", "min"):
        k = max(range(len(a)), key=lambda i: a[i] if name == "max" else -a[i])
        need(all(i == k or not _near(a[i], a[k]) for i in range(len(a))), "kink")
        branch = k
        v = a[k]
    elif name in ("sin", "cos", "tan", "sec", "csc", "cot") and abs(x) > HUGE_ANGLE:
        raise NotSmooth("trig of a huge argument (float64 cannot place it in its period)")
    elif name in ("sin", "cos"):
        v = getattr(m, name)(x)
    elif name in ("tan", "sec"):
        need(not _near(m.cos(x)), "pole")
        v = m.tan(x) if name == "tan" else m.sec(x)
    elif name in ("csc", "cot"):
        need(not _near(m.sin(x)), "pole")
        v = m.csc(x) if name == "csc" else m.cot(x)
    elif name in ("asin", "acos"):
        need(-1 <= x <= 1)
        need(not _near(abs(x), 1), "pole")
        v = getattr(m, name)(x)
    elif name == "atan":
        v = m.atan(x)
    elif name == "atan2":
        y_, x_ = a
        need(not (_near(y_) and _near(x_)), "pole")
        need(not (x_ < 0 and _near(y_)), "kink")      # the branch cut along the negative x axis
        v = m.atan2(y_, x_)
    elif name in ("sinh", "cosh"):
        need(abs(x) < 690, "overflow")
        v = getattr(m, name)(x)
    elif name in ("tanh", "asinh", "atan", "erf"):
        v = getattr(m, name)(x)
    elif name == "acosh":
        need(x >= 1)
        need(not _near(x, 1), "pole")
        v = m.acosh(x)
    elif name == "atanh":
        need(-1 < x < 1)
        need(not _near(abs(x), 1), "pole")
        v = m.atanh(x)
    elif name == "sigmoid":
        v = 1 / (1 + m.exp(-x))
    elif name == "softplus":
        need(x < 690, "overflow")
        v = m.log1p(m.exp(x))
    else:
        raise KeyError(f"the differential test does not know op {name!r}: add it")
    if not m.isfinite(v) or abs(v) > OVERFLOW:
        raise NotSmooth("overflow")
    return v, branch


def analyse(program: Program, point: dict, at_kink: bool = False):
    """Evaluate the program with mpmath. Returns (value, branches, magnitudes) where branches maps
    id(node) to its smooth piece; raises NotSmooth. With at_kink, kinks are allowed (not an error):
    the branch is then None and only domain/pole/overflow raise."""
    env = {n: mpmath.mpf(v) for n, v in point.items()}
    env.update(pi=mpmath.pi, e=mpmath.e)
    env_const: dict = {}
    branches: dict = {}
    kinks = [0]

    def ev(node: Node):
        if node.kind in ("var", "named", "ref"):
            return env[node.name]
        if node.kind == "const":
            return mpmath.mpf(node.value)
        args = [ev(a) for a in node.args]
        const_args = [_is_const(a, env_const) for a in node.args]
        try:
            v, branch = mp_value(node.name, args, const_args)
        except NotSmooth as exc:
            if not (at_kink and exc.reason == "kink"):
                raise
            kinks[0] += 1
            v, branch = _kink_value(node.name, args), None
        branches[id(node)] = branch
        return v

    for name, node in program.statements:
        env_const[name] = _is_const(node, env_const)
        if name in program.live:
            env[name] = ev(node)
    return env[program.statements[-1][0]], branches, kinks[0]


def _kink_value(name, a):
    if name == "abs":
        return abs(a[0])
    if name == "relu":
        return max(a[0], 0)
    if name == "max":
        return max(a)
    if name == "min":
        return min(a)
    return mpmath.atan2(a[0], a[1])   # atan2 on its cut: its value is still defined


# --- references ------------------------------------------------------------------------------
def sympy_expr(program: Program, branches: dict, symbols: dict):
    S = sympy
    env = dict(symbols)
    # pi and e as the float64 numbers gradcalc computes with, like the point and the constants
    # (exact pi would make tan(pi) exactly 0, where any float64 program gives -1.2e-16)
    env.update(pi=S.Rational(math.pi), e=S.Rational(math.e))

    def build(node: Node):
        if node.kind in ("var", "named", "ref"):
            return env[node.name]
        if node.kind == "const":
            return S.Rational(node.value)   # the exact binary value gradcalc parses
        a = [build(x) for x in node.args]
        x = a[0]
        name, br = node.name, branches[id(node)]
        simple = {"exp": S.exp, "log": S.log, "sqrt": S.sqrt, "sin": S.sin, "cos": S.cos,
                  "tan": S.tan, "sec": S.sec, "csc": S.csc, "cot": S.cot, "asin": S.asin,
                  "acos": S.acos, "atan": S.atan, "sinh": S.sinh, "cosh": S.cosh,
                  "tanh": S.tanh, "asinh": S.asinh, "acosh": S.acosh, "atanh": S.atanh,
                  "erf": S.erf}
        if name in simple:
            return simple[name](x)
        if name == "add":
            return a[0] + a[1]
        if name == "sub":
            return a[0] - a[1]
        if name == "mul":
            return a[0] * a[1]
        if name == "div":
            return a[0] / a[1]
        if name == "neg":
            return -x
        if name == "pow":
            return a[0] ** a[1]
        if name == "logb":
            return S.log(a[0]) / S.log(a[1])
        if name == "log2":
            return S.log(x) / S.log(2)
        if name == "log10":
            return S.log(x) / S.log(10)
        if name == "cbrt":
            return x ** S.Rational(1, 3) if br else -((-x) ** S.Rational(1, 3))
        if name == "abs":
            return x if br else -x
        if name == "relu":
            return x if br else S.Integer(0)
        if name in ("max", "min"):
            return a[br]
        if name == "atan2":
            return S.atan2(a[0], a[1])
        if name == "sigmoid":
            return 1 / (1 + S.exp(-x))
        if name == "softplus":
            return S.log(1 + S.exp(x))
        raise KeyError(name)

    for name, node in program.statements:
        if name in program.live:
            env[name] = build(node)
    return env[program.statements[-1][0]]


class ComplexResult(Exception):
    pass


def _real(value) -> float:
    """A float from an evalf result; evalf may leave a spurious imaginary part of order
    10^-30 (e.g. atan2 of exact constants): it is dropped, a real one raises."""
    z = complex(value)
    if abs(z.imag) > 1e-20 * max(1.0, abs(z.real)):
        raise ComplexResult(str(value))
    return z.real


def sympy_reference(program: Program, point: dict, branches: dict, timeout: float):
    symbols = {n: sympy.Symbol(n, real=True) for n in program.variables}
    subs = {symbols[n]: sympy.Rational(point[n]) for n in program.variables}
    with deadline(timeout):
        f = sympy_expr(program, branches, symbols)
        value = _real(f.evalf(30, subs=subs))
        grad = {n: _real(sympy.diff(f, symbols[n]).evalf(30, subs=subs))
                for n in program.variables}
    return value, grad


def torch_reference(torch, program: Program, point: dict):
    t = torch
    F = t.nn.functional
    leaves = {n: t.tensor(point[n], dtype=t.float64, requires_grad=True)
              for n in program.variables}
    env = dict(leaves)
    env.update(pi=t.tensor(math.pi, dtype=t.float64), e=t.tensor(math.e, dtype=t.float64))
    one = t.tensor(1.0, dtype=t.float64)

    def build(node: Node):
        if node.kind in ("var", "named", "ref"):
            return env[node.name]
        if node.kind == "const":
            return t.tensor(node.value, dtype=t.float64)
        a = [build(x) for x in node.args]
        x = a[0]
        name = node.name
        simple = {"exp": t.exp, "log": t.log, "log2": t.log2, "log10": t.log10,
                  "sqrt": t.sqrt, "abs": t.abs, "relu": t.relu, "sin": t.sin, "cos": t.cos,
                  "tan": t.tan, "asin": t.asin, "acos": t.acos, "atan": t.atan,
                  "sinh": t.sinh, "cosh": t.cosh, "tanh": t.tanh, "asinh": t.asinh,
                  "acosh": t.acosh, "atanh": t.atanh, "sigmoid": t.sigmoid, "erf": t.erf,
                  "neg": t.neg}
        if name in simple:
            return simple[name](x)
        if name == "add":
            return a[0] + a[1]
        if name == "sub":
            return a[0] - a[1]
        if name == "mul":
            return a[0] * a[1]
        if name == "div":
            return a[0] / a[1]
        if name == "pow":
            return t.pow(a[0], a[1])
        if name == "logb":
            return t.log(a[0]) / t.log(a[1])
        if name == "cbrt":
            return t.sign(x) * t.abs(x).pow(1 / 3)
        if name == "max":
            return t.amax(t.stack(a))      # amax splits the gradient evenly among ties
        if name == "min":
            return t.amin(t.stack(a))
        if name == "sec":
            return one / t.cos(x)
        if name == "csc":
            return one / t.sin(x)
        if name == "cot":
            return t.cos(x) / t.sin(x)
        if name == "atan2":
            return t.atan2(a[0], a[1])
        if name == "softplus":
            return F.softplus(x, beta=1.0, threshold=1000.0)
        raise KeyError(name)

    for name, node in program.statements:
        if name in program.live:
            env[name] = build(node)
    out = env[program.statements[-1][0]]
    inputs = [leaves[n] for n in program.variables]
    if inputs and out.requires_grad:
        grads = t.autograd.grad(out, inputs, allow_unused=True)
    else:
        grads = [None] * len(inputs)
    return out.item(), {n: (0.0 if g is None else g.item())
                        for n, g in zip(program.variables, grads, strict=True)}


# --- comparison ------------------------------------------------------------------------------
def agree(ours: float, ref: float, scale: float) -> bool:
    if not (math.isfinite(ours) and math.isfinite(ref)):
        return False
    return abs(ours - ref) <= REL * max(abs(ours), abs(ref)) + REL * scale + 1e-300


def compare(ours_value, ours_grad, ref_value, ref_grad) -> list:
    """The names (and "value") where ours and the reference differ."""
    scale = max([abs(ref_value), *(abs(g) for g in ref_grad.values())])
    bad = [] if agree(ours_value, ref_value, scale) else ["value"]
    bad += [n for n, g in ref_grad.items() if not agree(ours_grad.get(n, 0.0), g, scale)]
    return bad


ULPS = 4   # how far the point is moved to measure how well float64 can determine the answer


def spread(program: Program, point: dict, branches: dict, timeout: float, ref) -> dict:
    """How much the exact value and partials move when one coordinate of the point moves by
    ULPS units in the last place (each way): an answer computed in float64 cannot be expected
    to be closer to the exact one than this. Keys: "value" and the variables."""
    ref_value, ref_grad = ref
    out = dict.fromkeys(("value", *ref_grad), 0.0)
    for n in program.variables:
        for sign in (-1, 1):
            moved = dict(point)
            moved[n] = point[n] + sign * ULPS * math.ulp(point[n])
            try:
                value, grad = sympy_reference(program, moved, branches, timeout)
            except (Timeout, ComplexResult):
                continue
            out["value"] = max(out["value"], abs(value - ref_value))
            for k, g in grad.items():
                out[k] = max(out[k], abs(g - ref_grad[k]))
    return out


def ill_conditioned(bad: list, ours, ref, moved: dict) -> bool:
    """Whether every difference is within what a few ulps of the point explain."""
    ours_value, ours_grad = ours
    ref_value, ref_grad = ref
    for k in bad:
        o, r = (ours_value, ref_value) if k == "value" else (ours_grad.get(k, 0.0), ref_grad[k])
        if not (math.isfinite(o) and abs(o - r) <= 2 * moved[k] + REL * max(abs(o), abs(r))):
            return False
    return True


def _as_far(bad: list, ours, theirs, ref) -> bool:
    """Whether PyTorch float64 is at least half as far from the exact answer as gradcalc, in
    every entry where gradcalc is beyond the tolerance: the formula's float64 rounding, shared."""
    def get(answer, k):
        return answer[0] if k == "value" else answer[1].get(k, 0.0)
    return all(abs(get(theirs, k) - get(ref, k)) >= 0.5 * abs(get(ours, k) - get(ref, k))
               for k in bad)


def random_point(rng: random.Random, program: Program, at_kink: bool) -> dict:
    if at_kink:   # variables equal to each other or zero: ties and kinks are hit exactly
        base = rng.choice((0.0, round(rng.uniform(-2, 2), 1)))
        return {n: (base if rng.random() < 0.8 else 0.0) for n in program.variables}
    r = rng.random()
    if r < 0.55:
        return {n: rng.uniform(0.05, 2.5) for n in program.variables}
    if r < 0.9:
        return {n: rng.uniform(-2.5, 2.5) for n in program.variables}
    # wide: where exp, tanh and sigmoid saturate and float64 formulas lose precision
    return {n: rng.choice((-1, 1)) * rng.uniform(5, 40) for n in program.variables}


@dataclass
class Tally:
    generated: int = 0
    compared: int = 0
    agree: int = 0
    disagree: int = 0
    torch_compared: int = 0
    torch_agree: int = 0
    torch_disagree: int = 0
    ill: int = 0                          # SymPy disagreements explained by conditioning
    float64: int = 0                      # ... or shared by PyTorch float64
    float64_examples: list = field(default_factory=list)
    torch_ill: int = 0
    torch_off: int = 0                    # PyTorch differs, SymPy agrees with gradcalc
    torch_off_examples: list = field(default_factory=list)
    kink_compared: int = 0
    kink_agree: int = 0
    kink_disagree: int = 0
    skipped: Counter = field(default_factory=Counter)
    refused: int = 0                      # gradcalc raised at a point we consider smooth
    domain_checked: int = 0               # points outside a domain given to gradcalc anyway
    answered_outside: int = 0             # ... where it answered instead of raising
    ops: Counter = field(default_factory=Counter)
    examples: list = field(default_factory=list)
    ill_examples: list = field(default_factory=list)

    def note(self, kind: str, program: Program, point: dict, ours, ref, names=()) -> None:
        if len(self.examples) < 10:
            self.examples.append((kind, program.text, point, ours, ref, names))


def _count_ops(node: Node, ops: Counter) -> None:
    if node.kind == "op":
        ops[node.name] += 1
    for a in node.args:
        _count_ops(a, ops)


def run_one(rng: random.Random, tally: Tally, torch, index: int, timeout: float) -> None:
    want = OP_NAMES[index % len(OP_NAMES)] if index % 2 == 0 else None
    program = generate(rng, want)
    tally.generated += 1
    for _name, node in program.statements:
        _count_ops(node, tally.ops)
    fn = Function(program.text)   # a well-formed program must parse: an error here is a bug
    kinked = any(tally_name in program.text for tally_name in KINKED)
    at_kink = torch is not None and kinked and rng.random() < 0.3
    point = random_point(rng, program, at_kink)
    try:
        _value, branches, kinks_hit = analyse(program, point, at_kink)
    except NotSmooth as exc:
        tally.skipped[exc.reason] += 1
        if exc.reason == "domain":   # strictly outside an op's domain: gradcalc must refuse
            tally.domain_checked += 1
            try:
                result = fn.gradient(point)
            except GradcalcError:
                return
            tally.answered_outside += 1
            tally.note("gradcalc answered outside the domain", program, point,
                       (result.value, result.gradient), None)
        return
    try:
        result = fn.gradient(point)
    except GradcalcError as exc:
        tally.refused += 1
        tally.note("gradcalc refused a smooth point", program, point, str(exc), None)
        return
    ours_value, ours_grad = result.value, result.gradient

    if at_kink and kinks_hit:   # PyTorch only: SymPy has no convention at a kink
        tally.skipped["kink (compared with PyTorch only)"] += 1
        ref_value, ref_grad = torch_reference(torch, program, point)
        tally.kink_compared += 1
        bad = compare(ours_value, ours_grad, ref_value, ref_grad)
        if bad:
            tally.kink_disagree += 1
            tally.note("PyTorch at a kink", program, point, (ours_value, ours_grad),
                       (ref_value, ref_grad), bad)
        else:
            tally.kink_agree += 1
        return

    try:
        ref_value, ref_grad = sympy_reference(program, point, branches, timeout)
    except Timeout:
        tally.skipped["SymPy timed out"] += 1
        return
    except ComplexResult as exc:   # never at a point found smooth: show it
        tally.skipped["SymPy gave a complex number"] += 1
        tally.note("SymPy gave a complex number", program, point, (ours_value, ours_grad),
                   str(exc))
        return
    tally.compared += 1
    ours, ref = (ours_value, ours_grad), (ref_value, ref_grad)
    moved = theirs = None
    bad = compare(ours_value, ours_grad, ref_value, ref_grad)
    if bad:
        moved = spread(program, point, branches, timeout, ref)
        theirs = torch_reference(torch, program, point) if torch is not None else None
        if ill_conditioned(bad, ours, ref, moved):
            tally.ill += 1
            if len(tally.ill_examples) < 3:
                tally.ill_examples.append((program.text, point, ours, ref, moved))
        elif theirs is not None and _as_far(bad, ours, theirs, ref):
            tally.float64 += 1   # PyTorch float64 is off in the same way: the formula's rounding
            if len(tally.float64_examples) < 3:
                tally.float64_examples.append((program.text, point, ours, ref, theirs))
        else:
            tally.disagree += 1
            tally.note("SymPy", program, point, ours, ref, bad)
    else:
        tally.agree += 1
    if torch is not None:
        theirs = theirs or torch_reference(torch, program, point)
        tally.torch_compared += 1
        sympy_bad = set(compare(ours_value, ours_grad, ref_value, ref_grad))
        bad = compare(ours_value, ours_grad, *theirs)
        if bad:
            moved = moved or spread(program, point, branches, timeout, ref)
            if ill_conditioned(bad, ours, theirs, moved):
                tally.torch_ill += 1
            elif not sympy_bad & set(bad):   # SymPy sides with gradcalc: PyTorch's rounding
                tally.torch_off += 1
                if len(tally.torch_off_examples) < 3:
                    tally.torch_off_examples.append((program.text, point, ours, ref, theirs))
            else:
                tally.torch_disagree += 1
                tally.note("PyTorch", program, point, ours, theirs, bad)
        else:
            tally.torch_agree += 1


def report(tally: Tally, seconds: float, torch) -> None:
    p = print
    p(f"generated   {tally.generated}")
    p(f"compared    {tally.compared} with SymPy (evalf 30 digits): agree {tally.agree}, "
      f"disagree {tally.disagree}, ill-conditioned {tally.ill}, float64-limited {tally.float64}")
    if torch is not None:
        p(f"            {tally.torch_compared} with PyTorch {torch.__version__} float64: "
          f"agree {tally.torch_agree}, disagree {tally.torch_disagree}, "
          f"ill-conditioned {tally.torch_ill}, PyTorch off (SymPy sides with gradcalc) "
          f"{tally.torch_off}")
        p(f"            {tally.kink_compared} exactly at a kink, with PyTorch only: "
          f"agree {tally.kink_agree}, disagree {tally.kink_disagree}")
    else:
        p("            PyTorch: not used")
    p(f"refused     {tally.refused} (gradcalc raised at a point found smooth here)")
    p(f"domain      {tally.domain_checked} points outside an op's domain: gradcalc raised at "
      f"{tally.domain_checked - tally.answered_outside}, answered at {tally.answered_outside}")
    skipped = sum(tally.skipped.values())
    p(f"skipped     {skipped}" + "".join(f"\n  {n:>7}  {r}"
                                          for r, n in tally.skipped.most_common()))
    missing = [n for n in OP_NAMES if not tally.ops[n]]
    p(f"ops         {len(OP_NAMES) - len(missing)} of {len(OP_NAMES)} used"
      + (f" (missing: {', '.join(missing)})" if missing else "")
      + f"; fewest uses: {min(tally.ops[n] for n in OP_NAMES)}")
    p(f"            (ill-conditioned: the answers differ by more than the tolerance, but by less "
      f"than twice what moving the point {ULPS} ulps changes the exact answer)")
    p("            (float64-limited: beyond the tolerance from SymPy, but PyTorch float64 is at "
      "least half as far off: the formula's rounding, e.g. log(tanh(x)) for x > 10)")
    p(f"time        {seconds:.1f} s")
    for i, (kind, text, point, ours, ref, names) in enumerate(tally.examples, 1):
        p(f"\n[{i}] {kind}" + (f": differs in {', '.join(names)}" if names else ""))
        p(f"  program    {text}")
        p(f"  point      {', '.join(f'{k}={v!r}' for k, v in point.items())}")
        p(f"  gradcalc   {ours}")
        p(f"  reference  {ref}")
    shown = [("float64-limited", e) for e in tally.float64_examples]
    shown += [("PyTorch off, SymPy sides with gradcalc", e) for e in tally.torch_off_examples]
    for kind, (text, point, ours, ref, theirs) in shown:
        p(f"\n[{kind}]")
        p(f"  program    {text}")
        p(f"  point      {', '.join(f'{k}={v!r}' for k, v in point.items())}")
        p(f"  gradcalc   {ours}")
        p(f"  SymPy      {ref}")
        p(f"  PyTorch    {theirs}")
    for text, point, ours, ref, moved in tally.ill_examples:
        p("\n[ill-conditioned] SymPy")
        p(f"  program    {text}")
        p(f"  point      {', '.join(f'{k}={v!r}' for k, v in point.items())}")
        p(f"  gradcalc   {ours}")
        p(f"  reference  {ref}")
        p(f"  {ULPS} ulps move the exact answer by {moved}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10000, help="programs to generate (10000)")
    ap.add_argument("--quick", action="store_true", help="300 programs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true", help="compare with SymPy only")
    ap.add_argument("--sympy-timeout", type=float, default=10.0, metavar="SECONDS")
    args = ap.parse_args(argv)
    count = 300 if args.quick else args.count
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("note: PyTorch is not installed; comparing with SymPy only", file=sys.stderr)
    rng = random.Random(args.seed)
    tally = Tally()
    start = time.perf_counter()
    for i in range(count):
        run_one(rng, tally, torch, i, args.sympy_timeout)
    report(tally, time.perf_counter() - start, torch)
    bad = (tally.disagree, tally.torch_disagree, tally.kink_disagree, tally.refused,
           tally.answered_outside)
    return 1 if any(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
