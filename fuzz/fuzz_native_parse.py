"""Atheris target: the parser's fast path in C against the Python one it copies (differential).

``gradcalc._fastparse.fast_program`` (gradcalc/_fastparse.c) must return what
``syntax._fast_program`` returns on every input: the same Graph (nodes: op, arguments, value,
text, span; inputs, names, output, warnings, tensor flag, in order), or the same ``_Resume``
(that graph, where the full parser takes over, the last name, the span of an unnamed statement).
A finding is any difference, an exception from either (the fast paths raise none: errors are the
full parser's), or a node that is not a genuine ``graph.Node``.

The first byte chooses the limits (the defaults, none, or small node and depth limits, so that
the hand-over at a limit is exercised); the rest is the program, decoded as UTF-8 with errors
replaced. Needs the extension built (``python setup.py build_ext --inplace``).

Run: ``python fuzz/fuzz_native_parse.py fuzz/corpus/native_parse fuzz/seeds -max_total_time=60``
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gradcalc"]):
    from gradcalc.graph import Graph, Node
    from gradcalc.syntax import DEFAULT_LIMITS, NO_LIMITS, Limits, _fast_program

from gradcalc._fastparse import fast_program as native_program  # noqa: E402  (C: not instrumented)

LIMITS = (DEFAULT_LIMITS, NO_LIMITS, Limits(nodes=8), Limits(depth=3), Limits(nodes=2, depth=1))


def result(fast, text: str, limits):
    r = fast(text, limits)
    g = r if isinstance(r, Graph) else r.graph
    for n in g.nodes:
        if type(n) is not Node:
            raise AssertionError(f"not a Node: {n!r}")
    graph = ([(n.op, n.args, type(n.value).__name__, repr(n.value), n.text, n.span)
              for n in g.nodes], list(g.inputs.items()), list(g.names.items()), g.output,
             g.warnings, g.tensor)
    if isinstance(r, Graph):
        return ("graph", graph)
    return ("resume", graph, r.begin, r.last, r.bare)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    limits = LIMITS[data[0] % len(LIMITS)]
    text = data[1:].decode("utf-8", errors="replace")
    c, python = result(native_program, text, limits), result(_fast_program, text, limits)
    if c != python:
        raise AssertionError(f"the two fast paths differ on {text!r} ({limits}):\n{c}\n{python}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
