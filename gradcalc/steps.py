"""The backprop walkthrough: the forward pass node by node and the backward pass edge by edge, with
the names a student would write on the graph.

Every node gets a label: the program's name for it, an input's name, a literal as typed, or t1, t2,
... for an unnamed subexpression. Local gradients are shown both as numbers (from the float pass)
and as formulas: the op's own derivative rule from the registry, run on SymPy symbols named after
the labels, so the formula is exactly the rule that produced the number.
"""

from __future__ import annotations

from .autodiff import Tape
from .domains import FLOAT
from .function import Function, Result
from .ops import REGISTRY
from .records import record

_SHOWN = {"*": "·"}   # how an operator is shown in a definition, where it differs


@record(frozen=True)
class ForwardStep:
    step: int
    node: str            # label
    definition: str      # "x + y", "input", "constant"
    value: float


@record(frozen=True)
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
    last: bool           # the target's last row: total is its gradient

    @property
    def edge(self) -> str:
        return f"{self.source} → {self.target}"


@record(frozen=True)
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
    notes: tuple[str, ...] = ()      # where reverse mode could not decide a partial, and how it
    #                                  was decided instead


def node_labels(tape: Tape) -> dict[int, str]:
    """A label for every node on the tape."""
    graph = tape.graph
    named: dict[int, str] = {}
    for name, i in graph.names.items():
        named.setdefault(i, name)
    taken = set(graph.names) | set(graph.inputs)
    labels, used, counter = {}, set(), 0
    for i in tape.order:
        node = graph.nodes[i]
        if node.op == "const":
            labels[i] = node.text if node.text is not None else repr(node.value)
            continue
        if node.op == "input":
            assert node.text is not None   # an input's text is its name
            label = node.text
        elif i in named:
            label = named[i]
        else:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            label = f"t{counter}"
        while label in used:      # a name assigned again (c = c + 1): c, then c'
            label += "'"
        used.add(label)
        labels[i] = label
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
    op = REGISTRY[node.op]
    if op.infix and len(args) == 1:
        return f"{op.infix}{args[0]}"
    if op.infix:
        symbol = _SHOWN.get(op.infix, op.infix)
        return symbol.join(args) if symbol == "·" else f"{args[0]} {symbol} {args[1]}"
    return f"{op.calls[0]}({', '.join(args)})"


def local_formula(tape: Tape, labels, definitions, i: int, k: int) -> str:
    """'∂(z·q)/∂q = z': the registry's rule for this edge, printed over the labels."""
    import sympy

    from .domains import sympy_domain
    from .printing import sstr

    D = sympy_domain()
    node = tape.graph.nodes[i]
    op = REGISTRY[node.op]
    args = []
    for j in node.args:
        arg = tape.graph.nodes[j]
        args.append(D.literal(arg.value, arg.text) if arg.op == "const"
                    else sympy.Symbol(labels[j], real=True))
    xs = tuple(args)
    # Functions show their output by name (sigmoid' = sigmoid(t)*(1 - sigmoid(t))); operators
    # by value (d(x/y)/dy = -x/y^2).
    out = op.value(D, *xs) if op.infix else sympy.Symbol(definitions[i].replace(" ", ""),
                                                          real=True)
    try:
        rule = op.partials[0](D, k, xs, out) if op.arity < 0 else op.partials[k](D, *xs, out)
        text = sstr(rule)
    except (TypeError, ValueError, ZeroDivisionError):   # pragma: no cover - defensive
        text = "?"
    wrt = labels[node.args[k]]
    return f"∂({definitions[i].replace(' ', '')})/∂{wrt} = {text}"


def walkthrough(fn: Function, result: Result, formulas: bool = True) -> Walkthrough:
    """Forward and backward steps for a result (reruns the passes it came from). The local
    gradients' formulas need SymPy; ``formulas=False`` leaves them out (for the picture)."""
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
    last: dict[int, int] = {}
    for k, e in enumerate(edges):
        paths[e.target] = paths.get(e.target, 0) + 1
        last[e.target] = k
    backward = tuple(
        BackwardStep(k + 1, labels[e.source], labels[e.target], e.upstream,
                     local_formula(tape, labels, definitions, e.source, e.arg) if formulas
                     else "", e.local, e.downstream, e.total, paths[e.target],
                     last[e.target] == k)
        for k, e in enumerate(edges))
    notes = tuple(
        f"∂{result.output}/∂{name}: reverse mode cannot decide it: {d.why}; "
        + (f"found by the {d.text} instead" if d.value is not None else
           f"nothing else decides it either: {d.note}")
        for name, d in result.determined.items())
    return Walkthrough(result.output, forward, backward, dict(result.gradient), labels,
                       definitions, {i: v[i] for i in tape.order},
                       {i: g[i] for i in tape.order}, tuple(edges), tape, notes)
