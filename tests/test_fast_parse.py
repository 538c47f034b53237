"""The fast path of the parser (``syntax._fast_program``, with its hand-over to ``_Parser``) against
the full parser alone, on random programs: the same graph node for node (op, arguments, value,
text, span), the same inputs, names, output, warnings and tensor flag, or the same error (message,
span, hint). Each test runs with the Python fast path and with the C one (``gradcalc._fastparse``,
when it is built; tests/test_native_parse.py compares the two directly)."""

from __future__ import annotations

import random

import pytest

from benchmarks import dags
from benchmarks.parse import expression
from gradcalc import syntax
from gradcalc.errors import ParseError
from gradcalc.syntax import (
    DEFAULT_LIMITS,
    NO_LIMITS,
    Limits,
    _fast_program,
    _Parser,
    _Resume,
    parse_graph,
)


@pytest.fixture(autouse=True, params=["python", "native"])
def fast_path(request, monkeypatch):
    """Every test with either fast path: the Python one, and the C one when it is built."""
    if request.param == "native" and syntax._native_program is None:
        pytest.skip("the C extension gradcalc._fastparse is not built")
    monkeypatch.setattr(syntax, "NATIVE", request.param == "native")


def fast_program(source: str, limits: Limits):
    """The fast path parse_graph runs."""
    native = syntax._native_program
    return native(source, limits) if syntax.NATIVE and native else _fast_program(source, limits)


def outcome(parse, source: str, limits: Limits):
    try:
        g = parse(source, limits)
    except ParseError as exc:
        return ("error", exc.message, exc.span, exc.hint)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return ("exception", type(exc).__name__, str(exc))
    return ("graph", [(n.op, n.args, repr(n.value), n.text, n.span) for n in g.nodes],
            list(g.inputs.items()), list(g.names.items()), g.output, g.warnings, g.tensor)


def slow(source: str, limits: Limits):
    return _Parser(source, limits).program()


def same(source: str, limits: Limits = DEFAULT_LIMITS):
    fast, full = outcome(parse_graph, source, limits), outcome(slow, source, limits)
    assert fast == full, source[:300]
    return fast


# --- random programs ------------------------------------------------------------------------------
NAMES = ["x", "y", "z", "x1", "w_2", "rate", "pi", "e", "f", "g", "out", "axis", "T", "X", "θ",
         "xy", "clamp", "sin", "d", "dx", "foo", "_a", "v0"]
NUMBERS = ["0", "1", "2", "0.5", ".5", "3.", "1e3", "2.5E-3", "007", "1" * 30, "0.1", "1e999",
           "1" * 400, "9" * 309]
CALLS = ["sin", "exp", "relu", "log", "max", "min", "atan2", "clamp", "sum", "softmax",
         "reshape", "abs", "sqrt", "foo", "pow", "mean", "dot"]
BINARY = ["+", "-", "*", "/", "^", "**", " + ", " - ", " * ", "/", "<", ">=", "==", "!=", "@",
          " ", "·", "×", "−", "÷"]
SEPARATORS = ["\n", ";", "\n\n", "; ", " \\\n", "  # a comment\n", "\r\n", "\n  \t"]


CLEAN = {  # what the fast path reads itself
    "names": ["x", "y", "z", "x1", "w_2", "rate", "pi", "e", "v0", "Xy"],
    "calls": [("sin", 1), ("exp", 1), ("relu", 1), ("log", 1), ("max", 2), ("min", 3),
              ("atan2", 2), ("abs", 1), ("sqrt", 1), ("pow", 2)],
    "binary": ["+", "-", "*", "/", "^", "**", " + ", " - ", " * ", " / ", " ^ "],
}


def expr(rng: random.Random, depth: int, clean: bool) -> str:
    r = rng.random()
    names = CLEAN["names"] if clean else NAMES
    if depth <= 0 or r < 0.3:
        if rng.random() < 0.6:
            return rng.choice(names)
        return rng.choice(NUMBERS[:-3] if clean else NUMBERS)
    if r < 0.6:
        op = rng.choice(CLEAN["binary"] if clean else BINARY)
        return expr(rng, depth - 1, clean) + op + expr(rng, depth - 1, clean)
    if r < 0.68:
        return rng.choice(["-", "+", "--", "- "]) + expr(rng, depth - 1, clean)
    if r < 0.8:
        return "(" + expr(rng, depth - 1, clean) + ")"
    if r < 0.93 or clean:
        if clean:
            name, n = rng.choice(CLEAN["calls"])
        else:
            name, n = rng.choice(CALLS), rng.choice([1, 1, 1, 2, 2, 3, 0])
        args = [expr(rng, depth - 1, clean) for _ in range(n)]
        if not clean and rng.random() < 0.1:
            args.append("axis=0")
        return name + rng.choice(["(", "(", " ("]) + ", ".join(args) + ")"
    return rng.choice(["|x - 1|", "[x, 1]", "X.T", "x[0]", "sin^2(x)", "sin^-1(x)", "2x",
                       "x(x + 1)", "d/dx(x^3)", "x^-1/2", "1/2x", "e^-x^2/2", "X'",
                       "sum(X, 0)", "sum(X, axis=1)", "clamp(x, 0, 1)", "x\n+ 1", "(x\n+ 1)"])


def program(rng: random.Random) -> str:
    clean = rng.random() < 0.5
    parts = []
    count = rng.randint(1, 6)
    for k in range(count):
        body = expr(rng, rng.randint(0, 4), clean)
        if rng.random() < 0.6 or (clean and k < count - 1):
            name = rng.choice(CLEAN["names"] if clean else NAMES)
            stmt = f"{name}{rng.choice([' = ', '=', ' += ', '-=', ' *= ', '/='])}{body}"
        else:
            stmt = body
        parts.append(stmt)
        parts.append(rng.choice(SEPARATORS))
    src = "".join(parts[:-1] if rng.random() < 0.7 else parts)
    if rng.random() < (0.05 if clean else 0.3):   # a random edit
        k = rng.randrange(len(src) + 1)
        edit = rng.choice(["", "(", ")", ",", "=", "_", "²", "\u00a0", "$", "\\", "#", "\n",
                           ";", "x", "1", " ", "é", "\x1f", "٣", "\ufeff"])
        src = src[:k] + edit + src[k + rng.choice([0, 1]):]
    return src


def test_random_programs_parse_as_the_full_parser_does():
    rng = random.Random(20261130)
    kinds = {"graph": 0, "error": 0, "fast": 0}
    for _ in range(4000):
        src = program(rng)
        limits = rng.choice([DEFAULT_LIMITS, DEFAULT_LIMITS, DEFAULT_LIMITS, NO_LIMITS,
                             Limits(nodes=6), Limits(depth=2), Limits(size=40)])
        kinds[same(src, limits)[0]] += 1
        if limits.size is None or len(src) <= limits.size:
            kinds["fast"] += not isinstance(fast_program(src, limits), _Resume)
    # each kind well exercised: graphs, errors, and programs the fast path reads alone
    assert kinds["graph"] > 1000 and kinds["error"] > 1000 and kinds["fast"] > 800, kinds


def test_the_fast_path_reads_the_benchmark_programs_itself():
    stmts = dags.structure(3000, seed=5)
    for src in (dags.source(stmts), expression(stmts)):
        assert not isinstance(fast_program(src, NO_LIMITS), _Resume)
        same(src, NO_LIMITS)


@pytest.mark.parametrize("tail", ["w = 2x", "w = |x|", "w = x + ", "x y", "w = sin^2(x)",
                                  "w = x^-1/2", "w = θ", "sum(X, axis=0)", "w = (x"])
def test_hand_over_late_in_a_long_program(tail):
    """The full parser takes over past its first 65,536 tokens (where it lets earlier tokens
    go), with names the fast path bound before."""
    src = dags.source(dags.structure(16_000, seed=2)) + "\n" + tail + "\nq = w + v3"
    assert isinstance(fast_program(src, NO_LIMITS), _Resume)
    same(src, NO_LIMITS)


@pytest.mark.parametrize("src", [
    "x = 1\ny = x + ", "x = 1; 2*x\n y = 3", "f = 1\n\n", "", "  \n# only a comment\n",
    "a = 1\na += b\nb", "x += 1", "sin = 2", "clamp = 2; clamp", "e = 2; f = e*x", "pi",
    "x = 1 +\\\n 2", "x = (1\n+ 2)", "x = 1\\\r\n+ 2", "-(-3)", "--3", "-(3)", "2^-1", "-x^2",
    "x = 1e999", "x = .5.5", "x = sin(1, 2)", "x = max(1)", "x = reshape(y)", "y = max(1, 2, 3)",
    "x\t=\t1;;;y=x", "x = 1 # c\n", "a=1\nb=2\na*b\n\n", "a=1\na\nb=2", "x ==1", "x = y =",
    "softmax(X)", "x = atan2(1, y) - pow(y, 2)", "f(x)", "x = ()", "x = )", "x,y", "(((x)))",
    "x = 1 2", "x = 2 (1)", "x\u00a0+ 1", "x +\x1f1", "x =\n1", "1 = x",
])
def test_corner_cases(src):
    for limits in (DEFAULT_LIMITS, Limits(nodes=2), Limits(depth=1)):
        same(src, limits)


def test_deep_nesting_fast():
    depth = 50_000
    same("(" * depth + "x" + ")" * depth, NO_LIMITS)
    same("sin(" * 3000 + "x" + ")" * 3000, NO_LIMITS)
    same("-" * 5000 + "x", NO_LIMITS)
    same("x^" * 5000 + "2", NO_LIMITS)
    same("(" * 200 + "x" + ")" * 200, Limits(depth=199))


def test_a_big_parse_leaves_the_garbage_collector_as_it_was():
    import gc

    src = dags.source(dags.structure(8000, seed=3))   # over 10,000 nodes: young objects promoted
    assert gc.isenabled()
    assert len(parse_graph(src, NO_LIMITS).nodes) > 10_000
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        parse_graph(src, NO_LIMITS)
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()   # objects a program froze stay frozen
    try:
        frozen = gc.get_freeze_count()
        parse_graph(src, NO_LIMITS)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
