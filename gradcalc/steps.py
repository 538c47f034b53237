"""The backprop walkthrough: the forward pass node by node and the backward pass edge by edge, with
the names a student would write on the graph.

Every node gets a label: the program's name for it, an input's name, a literal as typed, or t1, t2,
... for an unnamed subexpression. Local gradients are shown both as numbers (from the float pass)
and as formulas: the op's own derivative rule from the registry, run on SymPy symbols named after
the labels, so the formula is exactly the rule that produced the number.
"""

from __future__ import annotations

from dataclasses import dataclass

from .autodiff import Tape
from .domains import FLOAT
from .function import Function, Result
from .ops import REGISTRY

_INFIX = {"add": "+", "sub": "-", "mul": "·", "div": "/", "pow": "^"}


@dataclass(frozen=True)
class ForwardStep:
    step: int
    node: str            # label
    definition: str      # "x + y", "input", "constant"
    value: float


@dataclass(frozen=True)
class BackwardStep:
    step: int
    source: str          # the consumer's label (the edge runs source → target)
    target: str
    upstream: float      # ∂out/∂source
    local_formula: str   # "∂(z·q)/∂q = z"
    local: float
    downstream: float    # upstream × local
    total: float         # ∂out/∂target so far
    paths: int           # how many edges reach the target in all

    @property
    def edge(self) -> str:
        return f"{self.source} → {self.target}"


@dataclass(frozen=True)
class Walkthrough:
    output: str
    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]
    gradient: dict[str, float]
    labels: dict[int, str]
    definitions: dict[int, str]
    values: dict[int, float]
    grads: dict[int, float]
    edges: tuple                     # the raw autodiff.Edge records
    tape: Tape


def node_labels(tape: Tape) -> dict[int, str]:
    """A label for every node on the tape."""
    graph = tape.graph
    named: dict[int, str] = {}
    for name, i in graph.names.items():
        named.setdefault(i, name)
    taken = set(graph.names) | set(graph.inputs)
    labels, counter = {}, 0
    for i in tape.order:
        node = graph.nodes[i]
        if node.op == "input":
            labels[i] = node.text
        elif node.op == "const":
            labels[i] = node.text if node.text is not None else repr(node.value)
        elif i in named:
            labels[i] = named[i]
        else:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            labels[i] = f"t{counter}"
    return labels


def definition(tape: Tape, labels: dict[int, str], i: int) -> str:
    """How a node is computed from its arguments' labels: 'x + y', 'sin(t1)'."""
    node = tape.graph.nodes[i]
    if node.op == "input":
        return "input"
    if node.op == "const":
        return "constant"

    def arg(j):
        text = labels[j]
        return f"({text})" if text.startswith("-") else text

    args = [arg(j) for j in node.args]
    if node.op in _INFIX:
        return f"{args[0]} {_INFIX[node.op]} {args[1]}" if node.op != "mul" else "·".join(args)
    if node.op == "neg":
        return f"-{args[0]}"
    name = "log" if node.op == "logb" else node.op
    return f"{name}({', '.join(args)})"


def local_formula(tape: Tape, labels, definitions, i: int, k: int) -> str:
    """'∂(z·q)/∂q = z': the registry's rule for this edge, printed over the labels."""
    import sympy

    from .check import sstr
    from .domains import sympy_domain

    D = sympy_domain()
    node = tape.graph.nodes[i]
    op = REGISTRY[node.op]
    xs = []
    for j in node.args:
        arg = tape.graph.nodes[j]
        xs.append(D.literal(arg.value, arg.text) if arg.op == "const"
                  else sympy.Symbol(labels[j], real=True))
    xs = tuple(xs)
    # Functions show their output by name (sigmoid' = sigmoid(t)*(1 - sigmoid(t))); operators
    # by value (d(x/y)/dy = -x/y^2).
    out = op.value(D, *xs) if node.op in _INFIX or node.op == "neg" else sympy.Symbol(
        definitions[i].replace(" ", ""), real=True)
    try:
        rule = op.partials[0](D, k, xs, out) if op.arity < 0 else op.partials[k](D, *xs, out)
        text = sstr(rule)
    except (TypeError, ValueError, ZeroDivisionError):   # pragma: no cover - defensive
        text = "?"
    wrt = labels[node.args[k]]
    return f"∂({definitions[i].replace(' ', '')})/∂{wrt} = {text}"


def walkthrough(fn: Function, result: Result) -> Walkthrough:
    """Forward and backward steps for a result (reruns the passes it came from)."""
    tape, *_ = fn.resolve(result.point, result.output, result.gradient)
    v = tape.forward(FLOAT, result.point)
    g = tape.backward(FLOAT, v)
    labels = node_labels(tape)
    definitions = {i: definition(tape, labels, i) for i in tape.order}
    forward = tuple(
        ForwardStep(s, labels[i], definitions[i], v[i])
        for s, i in enumerate((i for i in tape.order
                               if tape.graph.nodes[i].op != "const"), start=1))
    edges = tape.trace(v, g)
    paths: dict[int, int] = {}
    for e in edges:
        paths[e.target] = paths.get(e.target, 0) + 1
    backward = tuple(
        BackwardStep(s, labels[e.source], labels[e.target], e.upstream,
                     local_formula(tape, labels, definitions, e.source, e.arg), e.local,
                     e.downstream, e.total, paths[e.target])
        for s, e in enumerate(edges, start=1))
    return Walkthrough(result.output, forward, backward, dict(result.gradient), labels,
                       definitions, {i: v[i] for i in tape.order},
                       {i: g[i] for i in tape.order}, tuple(edges), tape)
