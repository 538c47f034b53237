"""Single point, growing graphs: random DAGs with shared nodes, the same graph in every tool.

The generator makes a *structure* (a list of statements, each an op kind and the value ids it
reads); gradcalc gets it as program text, and each peer builds its own graph from the same
structure (``peers.py``), never from gradcalc's tape. Only the "bare flat tape" floor reads
gradcalc's parsed graph, as ``benchmarks/engine.py`` does.

Each statement reads the previous value (so every node is an ancestor of the output and the graph
is as deep as it is long) and, for the binary kinds, one uniformly random earlier value or input
(so nodes are shared: early values feed many consumers). The six ops, with the constants that keep
every value in [0, 1] when the inputs are in [0, 1] (a careless DAG of + and × overflows):

    add     v = (a + b)*0.5       add, mul          in [0, 1]
    mul     v = 1 - a*b           mul, sub          in [0, 1]
    square  v = a^2               pow               in [0, 1]
    relu    v = relu(a - 0.1)     sub, relu         in [0, 0.9]
    sin     v = sin(a)            sin               in [0, 0.85]
    exp     v = exp(a - 1)        sub, exp          in [0.37, 1]

``n`` counts primitive op nodes (inputs and literals excluded), the same nodes in every tool.
Every run checks that the value and all ten partials are finite.
"""

from __future__ import annotations

import random

from .workload import INPUTS, point

__all__ = ["INPUTS", "KINDS", "OPS_PER_KIND", "point", "structure", "source", "parse",
           "minimal_tape", "run_minimal", "op_nodes"]

KINDS = ("add", "mul", "square", "relu", "sin", "exp")
BINARY = ("add", "mul")
OPS_PER_KIND = {"add": 2, "mul": 2, "square": 1, "relu": 2, "sin": 1, "exp": 2}
_TEXT = {
    "add": "({a} + {b})*0.5",
    "mul": "1 - {a}*{b}",
    "square": "{a}^2",
    "relu": "relu({a} - 0.1)",
    "sin": "sin({a})",
    "exp": "exp({a} - 1)",
}


def structure(n: int, seed: int = 0) -> list[tuple[str, int, int]]:
    """Statements (kind, a, b) with about ``n`` primitive op nodes in all (at most one more).

    Value ids: 0..9 are the inputs x0..x9, 10 + k is statement k. ``a`` is always the previous
    value; ``b`` (binary kinds only, else -1) a random earlier value or input. The first nine
    statements are binary and read x1..x9 in turn, so every input is used."""
    rng = random.Random(seed)
    stmts: list[tuple[str, int, int]] = []
    ops = 0
    prev = 0
    while ops < n:
        k = len(stmts)
        if k < len(INPUTS) - 1:
            kind, other = rng.choice(BINARY), k + 1
        else:
            kind = rng.choice(KINDS)
            other = rng.randrange(len(INPUTS) + k) if kind in BINARY else -1
        stmts.append((kind, prev, other))
        ops += OPS_PER_KIND[kind]
        prev = len(INPUTS) + k
    return stmts


def op_nodes(stmts) -> int:
    return sum(OPS_PER_KIND[kind] for kind, _a, _b in stmts)


def _name(i: int) -> str:
    return INPUTS[i] if i < len(INPUTS) else f"v{i - len(INPUTS)}"


def source(stmts) -> str:
    """The program text gradcalc parses: one statement per line, the last one the output."""
    return "\n".join(f"v{k} = " + _TEXT[kind].format(a=_name(a), b=_name(b) if b >= 0 else "")
                     for k, (kind, a, b) in enumerate(stmts))


def parse(src: str):
    """``gradcalc.parse`` without its limits on program size (the largest programs here pass
    the defaults of 5,000,000 characters and 1,000,000 tape nodes)."""
    import gradcalc

    no_limits = getattr(gradcalc, "NO_LIMITS", None)
    return gradcalc.parse(src) if no_limits is None else gradcalc.parse(src, no_limits)


# --- the floor: a bare flat tape over gradcalc's parsed graph (as benchmarks/engine.py) ----------
_CODE = {"add": 0, "sub": 1, "mul": 2, "relu": 3, "pow": 4, "sin": 5, "exp": 6}


def minimal_tape(graph):
    """The same graph as (node, op code, a, b) tuples; pow appears only as x^2 here."""
    steps = []
    for i, node in enumerate(graph.nodes):
        if node.op in _CODE:
            if node.op == "pow":
                assert graph.nodes[node.args[1]].value == 2.0
            a, b = (node.args + (0,))[:2]
            steps.append((i, _CODE[node.op], a, b))
        elif node.op not in ("input", "const"):
            raise ValueError(f"the floor has no rule for {node.op}")
    return steps


def run_minimal(steps, values, out):
    """Forward and backward with the seven rules inlined: the CPython floor for this graph."""
    from math import cos, exp, sin

    v = list(values)
    for i, op, a, b in steps:
        if op == 0:
            v[i] = v[a] + v[b]
        elif op == 1:
            v[i] = v[a] - v[b]
        elif op == 2:
            v[i] = v[a] * v[b]
        elif op == 3:
            v[i] = v[a] if v[a] > 0 else 0.0
        elif op == 4:
            v[i] = v[a] * v[a]
        elif op == 5:
            v[i] = sin(v[a])
        else:
            v[i] = exp(v[a])
    g = [0.0] * len(v)
    g[out] = 1.0
    for i, op, a, b in reversed(steps):
        gi = g[i]
        if op == 0:
            g[a] += gi
            g[b] += gi
        elif op == 1:
            g[a] += gi
            g[b] -= gi
        elif op == 2:
            g[a] += gi * v[b]
            g[b] += gi * v[a]
        elif op == 3:
            if v[a] > 0:
                g[a] += gi
        elif op == 4:
            g[a] += gi * 2.0 * v[a]
        elif op == 5:
            g[a] += gi * cos(v[a])
        else:
            g[a] += gi * v[i]
    return v[out], g
