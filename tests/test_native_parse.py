"""The parser's fast path in C (``gradcalc._fastparse``, gradcalc/_fastparse.c) against the Python
one it copies (``syntax._fast_program``): on every input the same outcome, the complete Graph
(nodes: op, arguments, value, text, span; inputs, names, output, warnings, tensor flag, in order)
or the same ``_Resume`` (that graph, where the full parser takes over, the last name, the span of
an unnamed statement); and through ``parse_graph``, the same graph or error with either path.

Skipped when the extension is not built (``python setup.py build_ext --inplace``)."""

from __future__ import annotations

import gc
import random
import sys

import pytest

from benchmarks import dags
from benchmarks.parse import expression
from gradcalc import syntax
from gradcalc.graph import Graph, Node
from gradcalc.syntax import (
    CONSTANTS,
    DEFAULT_LIMITS,
    NO_LIMITS,
    Limits,
    _fast_program,
    _Resume,
    parse_graph,
)
from tests.hostile.test_corpus import CASES
from tests.test_fast_parse import NAMES, NUMBERS, expr, outcome, program

native = pytest.importorskip("gradcalc._fastparse",
                             reason="the C extension is not built (python setup.py build_ext "
                                    "--inplace)")
native_program = native.fast_program


def fast_outcome(fast, source: str, limits: Limits):
    """What one fast path returns, as plain values (or the exception it raises)."""
    try:
        r = fast(source, limits)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return ("exception", type(exc).__name__, str(exc))
    g = r if isinstance(r, Graph) else r.graph
    assert type(g) is Graph and g.source is source
    for n in g.nodes:   # genuine nodes, every slot set, of the types the Python path makes
        assert type(n) is Node and type(n.args) is tuple and type(n.span) is tuple
        assert all(type(a) is int for a in (*n.args, *n.span))
        assert type(n.op) is str and (n.text is None or type(n.text) is str)
    graph = ([(n.op, n.args, type(n.value).__name__, repr(n.value), n.text, n.span)
              for n in g.nodes], list(g.inputs.items()), list(g.names.items()), g.output,
             g.warnings, g.tensor)
    if isinstance(r, Graph):
        return ("graph", graph)
    assert type(r) is _Resume
    return ("resume", graph, r.begin, r.last, r.bare)


def same_fast(source: str, limits: Limits = DEFAULT_LIMITS):
    c, py = fast_outcome(native_program, source, limits), fast_outcome(_fast_program, source,
                                                                       limits)
    assert c == py, (source[:300], limits)
    return c


def same_parse(source: str, limits: Limits = DEFAULT_LIMITS, monkeypatch=None):
    """parse_graph with the C fast path, then the Python one: the same graph or error."""
    assert syntax.NATIVE
    with_c = outcome(parse_graph, source, limits)
    syntax.NATIVE = False
    try:
        with_python = outcome(parse_graph, source, limits)
    finally:
        syntax.NATIVE = True
    assert with_c == with_python, (source[:300], limits)
    return with_c


def same(source: str, limits: Limits = DEFAULT_LIMITS):
    same_parse(source, limits)
    return same_fast(source, limits)


LIMITS = [DEFAULT_LIMITS, NO_LIMITS, Limits(nodes=6), Limits(depth=2), Limits(nodes=0),
          Limits(depth=0), Limits(nodes=1, depth=1)]


def test_parse_graph_takes_the_c_path():
    """parse_graph runs the C version when it is built (with the Python one broken, it still
    parses), and the Python one with NATIVE off."""
    assert syntax.NATIVE and syntax._native_program is native_program
    assert native.direct_nodes()   # Node is the plain __slots__ class the C code writes into


def test_parse_graph_takes_the_c_path_only(monkeypatch):
    def broken(*_args):
        raise AssertionError("the Python fast path ran")

    monkeypatch.setattr(syntax, "_fast_program", broken)
    g = parse_graph("a = 2*x + sin(y)\nb = a^2", NO_LIMITS)
    assert [n.op for n in g.nodes] == ["const", "input", "mul", "input", "sin", "add", "const",
                                       "pow"]
    monkeypatch.setattr(syntax, "NATIVE", False)
    with pytest.raises(AssertionError, match="the Python fast path ran"):
        parse_graph("x", NO_LIMITS)


def test_nodes_made_by_calling_the_class():
    """Where Node is not the plain __slots__ class the C code writes into, it calls the class:
    the same outcome."""
    assert native.direct_nodes(False) is False
    try:
        rng = random.Random(4)
        for _ in range(800):
            same_fast(program(rng), rng.choice(LIMITS))
        for src in CORNERS:
            same_fast(src, DEFAULT_LIMITS)
        stmts = dags.structure(2000, seed=9)
        for src in (dags.source(stmts), expression(stmts)):
            same_fast(src, NO_LIMITS)
    finally:
        assert native.direct_nodes(True) is True


def test_random_programs():
    rng = random.Random(20261130)
    kinds = {"graph": 0, "resume": 0}
    for _ in range(4000):
        src = program(rng)
        limits = rng.choice(LIMITS)
        kinds[same_fast(src, limits)[0]] += 1
        if rng.random() < 0.25:
            same_parse(src, limits)
    assert kinds["graph"] > 800 and kinds["resume"] > 1000, kinds


def test_random_expressions_at_their_limits():
    """The node and depth limits hit exactly: at the count the fast path reaches, and one less."""
    rng = random.Random(7)
    for _ in range(600):
        src = "; ".join(f"{rng.choice(NAMES[:7])} = {expr(rng, rng.randint(0, 5), True)}"
                        for _ in range(rng.randint(1, 3)))
        full = _fast_program(src, NO_LIMITS)
        if not isinstance(full, Graph):
            continue
        count = len(full.nodes)
        for nodes in {count, count - 1, count + 1, max(count - 3, 0), 1}:
            same(src, Limits(nodes=nodes))
        for depth in range(0, 8):
            same(src, Limits(depth=depth))


def test_limits_that_are_floats_or_huge():
    src = "a = sin((x + 1)*2)\nb = a - -3"
    for limits in (Limits(nodes=4.5), Limits(nodes=5.0), Limits(nodes=-0.5),  # type: ignore
                   Limits(depth=1.5), Limits(nodes=float("inf")),  # type: ignore
                   Limits(nodes=float("nan"), depth=float("-inf")),  # type: ignore
                   Limits(nodes=10**30, depth=-10**30), Limits(nodes=True)):  # type: ignore
        same(src, limits)
    # a limit of another type: the C path hands everything to the full parser, which decides
    for limits in (Limits(nodes="9"), Limits(depth=[])):  # type: ignore[arg-type]
        r = native_program(src, limits)
        assert isinstance(r, _Resume) and (r.begin, r.last, r.bare, r.graph.nodes) == (
            0, None, None, [])
        same_parse(src, limits)


def test_the_benchmark_programs():
    for n in (3000, 20_000):
        stmts = dags.structure(n, seed=5)
        for src in (dags.source(stmts), expression(stmts)):
            assert same(src, NO_LIMITS)[0] == "graph"


@pytest.mark.parametrize("tail", ["w = 2x", "w = |x|", "w = x + ", "x y", "w = sin^2(x)",
                                  "w = x^-1/2", "w = θ", "sum(X, axis=0)", "w = (x", "w = 1e999",
                                  "w = clamp(x, 0, 1)", "w = reshape(x, 2)", "2*g\nf = x"])
def test_hand_over_late_in_a_long_program(tail):
    src = dags.source(dags.structure(16_000, seed=2)) + "\n" + tail + "\nq = w + v3"
    assert same(src, NO_LIMITS)[0] in ("resume", "graph")
    assert isinstance(native_program(src, NO_LIMITS), _Resume)


CORNERS = [
    "", " ", "\n", "\n\n\n", ";", "  \n# only a comment\n", "# c", "#", "\\\n", "x\\\n", "x \\",
    "x = 1\ny = x + ", "x = 1; 2*x\n y = 3", "f = 1\n\n", "a = 1\na += b\nb", "x += 1",
    "x -= 1; x *= 2; x /= y", "x += x", "x+=1", "x + = 1", "x **= 2", "x ^= 2", "x //= 2",
    "sin = 2", "clamp = 2; clamp", "e = 2; f = e*x", "pi", "pi += 1", "f", "f + 1", "out = f",
    "x = 1 +\\\n 2", "x = (1\n+ 2)", "x = 1\\\r\n+ 2", "x = 1\\\r+ 2", "-(-3)", "--3", "-(3)",
    "+3", "+-3", "-+3", "- 3", "-3.", "--3e5", "-0", "-0.0", "2^-1", "-x^2", "x^-1/2",
    "-x^2/3", "x^2^3", "x**2**-1", "x = 1e999", "x = 1e308 * 10", "1E999", "9" * 309,
    "1" * 400, "0." + "0" * 400 + "1", "1e-999", ".5e+3", "5.e-3", "1.5.5", "1..5", "1e", "1e+",
    "2e+x", "x = .5.5", "x = sin(1, 2)", "x = max(1)", "x = max(1, 2, 3, 4)", "min(x, y, z)",
    "x = reshape(y)", "y = max(1, 2, 3)", "atan2(y, x)", "pow(x, 2)", "x\t=\t1;;;y=x",
    "x = 1 # c\n", "a=1\nb=2\na*b\n\n", "a=1\na\nb=2", "x ==1", "x = y =", "x = = 1",
    "softmax(X)", "sum(X)", "x = atan2(1, y) - pow(y, 2)", "f(x)", "g(x)", "x = ()", "x = )",
    "x,y", "(x, y)", "sin(x,)", "sin(,x)", "sin()", "(((x)))", "x = 1 2", "x = 2 (1)",
    "x\u00a0+ 1", "x +\x1f1", "x =\n1", "1 = x", "x\r\n+ y", "(x\r\n+ y)", "x = 1\r\ny = 2\r\n",
    "x\v+\fy", "x = 1;", "x = 1;\n", "x = 1\n;", "x;y", "x\ny", "x = 1\n\n\ny = x",
    "θ = 1", "x = θ", "xé", "é", "x·y", "x×y", "x−y", "x÷y", "2x", "x(x + 1)", "sin^2(x)",
    "|x|", "[1, 2]", "X.T", "X'", "x[0]", "x @ y", "x < y", "x != y", "d/dx(x^3)", "clamp(x, 0, 1)",
    "sum(X, axis=0)", "x = 1 # é ∂ \U0001f600\ny = x", "a\u202eb", "\ufeffx", "x\x00",
    "_x", "x_", "x__y = 1", "w_2 = 1; w_2 * 2", "A1b2 = 3", "x" * 5000 + " = 1",
    "v = " + "x" * 100_000, "\U0001f600", "x = \U0001f600", "x # \U0001f600", "x\t\t\t",
    "x = 1   \t ", "  x = 1", "\tx", "\n\nx = 1\n\n", "x = (\n1\n)", "x = sin(\n1\n)",
    "x = sin(1\n, 2)", "x = max(1,\n2)", "x = 2 *\\\n 3", "x = (1 +\\\n 2)", "x\\\n= 1",
    "x = 1\\\ny = 2", "f = 1\nf + 1", "x + f\nf = 2", "f\nout", "x = f; f", "f = f + 1",
    "out = 1; out", "x\n\n# c\n\n", "x = 1 # c", "x = 1 #", "x = sin (1)", "x = sin\t(1)",
    "x = sin \\\n(1)", "relu(x - 0.1)", "exp(x - 1)", "x = 1 - y*z", "(x + y)*0.5",
    "e", "e = e", "e += 1", "pi = 3; pi", "x = pi*e", "x\ud800", "x = 1 # \udfff\ny = x",
    "x\x85y", "x\u2028y", "x = 1\x1c", "x = ٣", "x = 1٣", "x = 5e-324",
    "x = 2.4703282292062328e-324", "x = 1.7976931348623157e308", "x = 1.7976931348623159e308",
    "x = 0x10", "x = 1_000",
]


@pytest.mark.parametrize("src", CORNERS, ids=range(len(CORNERS)))
def test_corner_cases(src):
    for limits in LIMITS + [Limits(nodes=2), Limits(depth=1), Limits(nodes=3, depth=2)]:
        same(src, limits)


def _hostile_texts():
    """Every program, file and standard input of the hostile-input corpus, as text."""
    out = []
    for case in CASES:
        data = [case.stdin, *case.files.values()]
        for item in data:
            item = item() if callable(item) else item
            if isinstance(item, bytes) and len(item) <= 2_100_000:
                out.append((case.name, item.decode("utf-8", errors="replace")))
        if case.argv and not case.argv[0].startswith("-"):
            out.append((case.name, case.argv[0]))
        out.extend((case.name, a) for a in case.argv[1:] if not a.startswith("-"))
    return out


def test_hostile_inputs():
    texts = _hostile_texts()
    assert len(texts) > 100
    for _name, text in texts:
        for limits in (DEFAULT_LIMITS, NO_LIMITS, Limits(nodes=8), Limits(depth=3)):
            if len(text) < 100_000:
                same(text, limits)
            elif limits is DEFAULT_LIMITS or len(text) < 500_000:
                same_fast(text, limits)   # (the full parser on the big ones: a minute)


def test_deep_nesting():
    for src in ["(" * 50_000 + "x" + ")" * 50_000, "sin(" * 3000 + "x" + ")" * 3000,
                "-" * 5000 + "x", "x^" * 5000 + "2", "-" * 5000 + "3", "(" * 200 + "x",
                "x" + ")" * 200, "max(" * 2000 + "x" + ", 1)" * 2000, "(-" * 3000 + "1" +
                ")" * 3000]:
        for limits in (NO_LIMITS, DEFAULT_LIMITS, Limits(depth=2999), Limits(depth=3000),
                       Limits(nodes=4999), Limits(nodes=5000)):
            same(src, limits)


def test_unicode_sources():
    """The source's characters read at their positions whatever the str's width (1, 2 or 4
    bytes a character): spans count characters."""
    rng = random.Random(3)
    for wide in ("é", "θ", "\u2603", "\U0001f600"):
        for _ in range(150):
            src = program(rng)
            k = rng.randrange(len(src) + 1)
            comment = f" # {wide}\n"
            for variant in (src + comment, comment + src, src[:k] + wide + src[k:],
                            src.replace("\n", comment)):
                same_fast(variant, rng.choice(LIMITS))


def test_many_names_and_literals():
    rng = random.Random(11)
    names = [f"n{i}" for i in range(3000)] + ["pi", "e", "f", "out"]
    lines = []
    for i in range(3000):
        a, b = rng.choice(names), rng.choice(NUMBERS[:-3])
        lines.append(f"{rng.choice(names)} {rng.choice(['=', '+=', '*='])} {a} * {b} - {i}")
    same("\n".join(lines), NO_LIMITS)
    same("\n".join(lines) + "\n" + "f", NO_LIMITS)


def test_no_references_are_lost_or_kept():
    """Parsing again and again leaves the shared objects' reference counts and the count of
    allocated memory blocks where they were: nothing leaks (one block kept a parse would show
    as thousands), and nothing the parser did not own is released."""
    base = dags.source(dags.structure(20, seed=1))
    programs = [base + tail for tail in (
        "", "\nw = 2x", "\nw = 1e999", "\nw = x +", "\nw = sin(1, 2)", "\nw = -3 + -x",
        "\nw = (x", "\nx += 2\nf", "\n1/x", "\nw = max(x, 2, y) - 0.5", "\nw = reshape(x, 2)",
        "\nw = softmax(x)", "\n2*x\ny = 1", "\nsin = 1", "\nw = x^-1/2")] + ["", "# c", "-3"]
    watched = [Node, Graph, _Resume, CONSTANTS["pi"], "const", "add", "sin", "f", "out", None,
               True, False, ()]
    for limits in (NO_LIMITS, Limits(nodes=50), Limits(depth=1), Limits(nodes="x")):  # type: ignore
        for _ in range(20):   # (caches and free lists warmed)
            for src in programs:
                native_program(src, limits)
        gc.collect()
        refs, blocks = [sys.getrefcount(o) for o in watched], sys.getallocatedblocks()
        for _ in range(200):
            for src in programs:
                native_program(src, limits)
        gc.collect()
        assert sys.getallocatedblocks() - blocks < 200, limits
        # (None's and the bools' counts move with anything the interpreter does: a reference
        # kept or dropped a parse would move them by thousands)
        assert all(abs(sys.getrefcount(o) - r) < 50 for o, r in zip(watched, refs, strict=True)),\
            limits


def test_errors_from_the_limits_object_propagate():
    class Broken:
        @property
        def nodes(self):
            raise ZeroDivisionError("nodes")

    with pytest.raises(ZeroDivisionError):
        native_program("x", Broken())
    with pytest.raises(TypeError):
        native_program(b"x", NO_LIMITS)
