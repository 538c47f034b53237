"""Atheris target: the parser's fast path against the full parser alone (differential).

``parse_graph`` reads the common part of the language in one regex pass and hands the rest of
a program to the full parser at the first statement it cannot read (gradcalc/syntax.py). The two
must agree on every input: the same nodes (op, arguments, value, text, span), inputs, names,
output, warnings and tensor flag, or the same error (message, span, hint). A finding is any
difference, or an exception other than ParseError from either.

The first byte chooses the limits (the defaults, or small node and depth limits, so that the
hand-over at a limit is exercised); the rest is the program, decoded as UTF-8 with errors
replaced.

Run: ``python fuzz/fuzz_parse_paths.py fuzz/corpus/parse_paths fuzz/seeds -max_total_time=60``
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gradcalc"]):
    from gradcalc.errors import ParseError
    from gradcalc.syntax import DEFAULT_LIMITS, Limits, _Parser, parse_graph

LIMITS = (DEFAULT_LIMITS, Limits(nodes=8), Limits(depth=3))


def outcome(parse, text: str, limits):
    try:
        g = parse(text, limits)
    except ParseError as exc:
        return ("error", exc.message, exc.span, exc.hint)
    return ("graph", [(n.op, n.args, repr(n.value), n.text, n.span) for n in g.nodes],
            list(g.inputs.items()), list(g.names.items()), g.output, g.warnings, g.tensor)


def full(text: str, limits):
    return _Parser(text, limits).program()


def test_one_input(data: bytes) -> None:
    if not data:
        return
    limits = LIMITS[data[0] % len(LIMITS)]
    text = data[1:].decode("utf-8", errors="replace")
    fast, slow = outcome(parse_graph, text, limits), outcome(full, text, limits)
    if fast != slow:
        raise AssertionError(f"the two parsers differ on {text!r}:\n{fast}\n{slow}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
