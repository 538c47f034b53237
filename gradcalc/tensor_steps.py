"""The backprop walkthrough for arrays (issue 15): the forward pass node by node with each node's
shape, and the backward pass edge by edge with each edge's VJP written the way a student writes
it (∂f/∂W = ∂f/∂h · xᵀ), its dimension analysis ((2×1)·(1×3) = 2×3) and the check courses teach:
the gradient sent to an argument has that argument's shape.

The numbers are the tensor path's own: the forward pass of ``tensor.forward`` and, edge by edge,
the very VJPs (``Op.array_vjp``) the backward loop applies, so the walkthrough's totals are the
gradient. The formulas live in one table, ``FORMULAS``, keyed by op name; an elementwise op
without an entry is written generically (∂f/∂x = ∂f/∂out ⊙ op'(x)), any other op as "the VJP of
op", so an op added to the registry later still shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .ops import REGISTRY, slice_text
from .records import record
from .steps import node_labels
from .tensor import Shape, shape_text


@record(frozen=True)
class TensorForwardStep:
    step: int
    node: str            # label: the program's name, an input's name, or t1, t2, ...
    definition: str      # "W @ x", "input"
    op: str              # the registry's name: "matmul", "input"
    shape: Shape
    value: Any           # a float, or a float64 array


@record(frozen=True)
class TensorBackwardStep:
    step: int
    source: str          # the consumer's label (the edge runs source → target)
    target: str
    op: str              # the consumer's op
    formula: str         # "∂f/∂W = ∂f/∂t1 · xᵀ"
    dims: str            # the dimension analysis: "(2×1)·(1×3) = 2×3"
    summed: tuple[int, ...]   # axes of the consumer's output summed away (broadcasting)
    broadcast: str       # what the sum means, in words ('' when nothing is summed)
    shape: Shape         # the shape of the gradient this edge sends
    target_shape: Shape  # the target's own shape: the check is shape == target_shape
    downstream: Any      # the gradient this edge sends
    total: Any           # ∂out/∂target so far
    paths: int           # how many edges reach the target in all
    last: bool           # the target's last row: total is its gradient

    @property
    def edge(self) -> str:
        return f"{self.source} → {self.target}"

    @property
    def shapes_match(self) -> bool:
        return self.shape == self.target_shape


@record(frozen=True)
class TensorWalkthrough:
    output: str
    forward: tuple[TensorForwardStep, ...]
    backward: tuple[TensorBackwardStep, ...]
    gradient: dict[str, Any]
    labels: dict[int, str]
    definitions: dict[int, str]
    values: dict[int, Any]
    grads: dict[int, Any]
    shapes: dict[int, Shape]
    edges: tuple[tuple[int, int, int], ...]   # (source, argument, target) of each backward row
    tape: Any


# --- the formulas ---------------------------------------------------------------------------------

@record(frozen=True)
class Edge:
    """What a formula is written from: the names (labels) and shapes around one edge."""

    op: str
    k: int                        # which argument the gradient goes to
    g: str                        # the upstream gradient's name, "∂f/∂h"
    out: str                      # the consumer's label
    args: tuple[str, ...]         # its arguments' labels (a literal as typed)
    shapes: tuple[Shape, ...]     # its arguments' shapes
    out_shape: Shape
    consts: tuple[float | None, ...]   # each argument's value when it is a literal, else None
    param: Any = None             # the op's static parameter: an axis, an index, sizes

    @property
    def x(self) -> str:
        return self.args[0]

    @property
    def y(self) -> str:
        return self.args[1] if len(self.args) > 1 else ""


Formula = Callable[[Edge], tuple[str, str | None]]   # -> (right-hand side, dims or None)


def _t(name: str) -> str:
    """A name transposed: xᵀ, (∂f/∂h)ᵀ."""
    return f"{name}ᵀ" if _atom(name) else f"({name})ᵀ"


def _atom(name: str) -> bool:
    return re.fullmatch(r"[\w.']+", name) is not None


def _p(name: str) -> str:
    """A name as a factor: parenthesised unless it is a single name or number."""
    return name if _atom(name) else f"({name})"


def _s(shape: Shape) -> str:
    return shape_text(shape)


def _matmul(e: Edge) -> tuple[str, str]:
    """∂f/∂A and ∂f/∂B of A @ B, by the operands' dimensions (a vector is a column)."""
    a, b = e.shapes
    A, B, g = e.x, e.y, e.g
    if len(a) == 2 and len(b) == 2:    # (m×n)(n×p)
        m, n, p = a[0], a[1], b[1]
        if e.k == 0:
            return f"{g} · {_t(B)}", f"({m}×{p})·({p}×{n}) = {m}×{n}"
        return f"{_t(A)} · {g}", f"({n}×{m})·({m}×{p}) = {n}×{p}"
    if len(a) == 2:                    # (m×n)(n): matrix times vector
        m, n = a
        if e.k == 0:
            return f"{g} · {_t(B)}", f"({m}×1)·(1×{n}) = {m}×{n}"
        return f"{_t(A)} · {g}", f"({n}×{m})·({m}) = {n}"
    if len(b) == 2:                    # (n)(n×p): vector times matrix
        n, p = b
        if e.k == 0:
            return f"{g} · {_t(B)}", f"({p})·({p}×{n}) = {n}"
        return f"{A} · {_t(g)}", f"({n}×1)·(1×{p}) = {n}×{p}"
    (n,) = a                           # (n)(n): the dot product, a scalar
    return (f"{g} · {B}", f"scalar·({n}) = {n}") if e.k == 0 else \
        (f"{g} · {A}", f"scalar·({n}) = {n}")


def _pow(e: Edge) -> tuple[str, None]:
    x, y = _p(e.x), _p(e.y)
    if e.k == 1:
        return f"{e.g} ⊙ {_p(e.out)} ⊙ ln {x}", None
    c = e.consts[1]
    if c is not None:                  # a literal exponent: 2·h, 3·h^2
        less = c - 1
        power = "" if less == 1 else f"^{_num(less)}" if less >= 0 else f"^({_num(less)})"
        return f"{e.g} ⊙ {_num(c)}·{x}{power}", None
    return f"{e.g} ⊙ {y}·{x}^({e.y} − 1)", None


def _mul(e: Edge) -> tuple[str, None]:
    """g ⊙ y elementwise; g · c when the other factor is a scalar (c·x, W·2)."""
    other = 1 - e.k
    dot = "·" if not e.shapes[other] else "⊙"
    return f"{e.g} {dot} {_p(e.args[other])}", None


def _num(c: float) -> str:
    from .numfmt import fmt

    return fmt(float(c))


def _sum(e: Edge) -> tuple[str, str]:
    if e.param is not None:   # along one axis: copied back along it
        return (f"{e.g} copied along axis {e.param}",
                f"{_s(e.out_shape)} → {_s(e.shapes[0])}")
    return f"{e.g} · ones({_s(e.shapes[0])})", f"scalar → {_s(e.shapes[0])}"


def _mean(e: Edge) -> tuple[str, str]:
    if e.param is not None:
        n = e.shapes[0][e.param]
        return (f"{e.g} copied along axis {e.param} / {n}",
                f"{_s(e.out_shape)} → {_s(e.shapes[0])}")
    n = 1
    for d in e.shapes[0]:
        n *= d
    return f"{e.g} · ones({_s(e.shapes[0])}) / {n}", f"scalar → {_s(e.shapes[0])}"


def _index(e: Edge) -> tuple[str, str]:
    from .ops import slice_text

    key = ", ".join(str(k) if isinstance(k, int) else slice_text(k) for k in e.param)
    return (f"{e.g} put at [{key}] in zeros({_s(e.shapes[0])})",
            f"{_s(e.out_shape)} → {_s(e.shapes[0])}")


def _cross_entropy(e: Edge) -> tuple[str, str]:
    s = e.shapes[0]
    n = s[0] if len(s) == 2 else 1
    onehot = f"onehot({e.y})"
    return (f"{e.g} · (softmax({e.x}) − {onehot})" + (f" / {n}" if n > 1 else ""),
            f"scalar → {_s(s)}")


def _outer(e: Edge) -> tuple[str, str]:
    m, n = e.out_shape
    if e.k == 0:
        return f"{e.g} · {e.y}", f"({m}×{n})·({n}) = {m}"
    return f"{_t(e.g)} · {e.x}", f"({n}×{m})·({m}) = {n}"


def _stack(e: Edge) -> tuple[str, str]:
    return f"({e.g})[{e.k}]", f"{_s(e.out_shape)} → {_s(e.shapes[e.k])}"


def _rule(*templates: str) -> Formula:
    """A formula per argument from templates: {g} (upstream), {x} {y} (arguments, as factors),
    {out} (the consumer); the last template serves any further argument."""
    def formula(e: Edge) -> tuple[str, None]:
        t = templates[min(e.k, len(templates) - 1)]
        return t.format(g=e.g, x=_p(e.x), y=_p(e.y), out=_p(e.out)), None
    return formula


# One entry per op, keyed by the registry's name. An elementwise op missing here is written
# generically (∂f/∂out ⊙ op'(x)); any other op as "the VJP of op" (see ``formula``).
FORMULAS: dict[str, Formula] = {
    # elementwise operators (broadcasting's sums are added around them by ``formula``)
    "add": _rule("{g}", "{g}"),
    "sub": _rule("{g}", "−{g}"),
    "mul": _mul,
    "div": _rule("{g} / {y}", "−{g} ⊙ {x} / {y}²"),
    "neg": _rule("−{g}"),
    "pow": _pow,
    # elementwise functions a course meets first; the others: ∂f/∂out ⊙ op'(x)
    "relu": _rule("{g} ⊙ 1({x} > 0)"),
    "exp": _rule("{g} ⊙ exp({x})"),
    "log": _rule("{g} / {x}"),
    "sqrt": _rule("{g} / (2·sqrt({x}))"),
    "abs": _rule("{g} ⊙ sign({x})"),
    "sigmoid": _rule("{g} ⊙ σ({x}) ⊙ (1 − σ({x}))"),
    "tanh": _rule("{g} ⊙ (1 − tanh²({x}))"),
    "sin": _rule("{g} ⊙ cos({x})"),
    "cos": _rule("−{g} ⊙ sin({x})"),
    "softplus": _rule("{g} ⊙ σ({x})"),
    # array ops
    "matmul": _matmul,
    "transpose": lambda e: (_t(e.g), f"({_s(e.out_shape)})ᵀ = {_s(e.shapes[0])}"),
    "sum": _sum,
    "mean": _mean,
    "stack": _stack,
    "index": _index,
    "amax": _rule("{g} ⊙ 1({x} = max {x}) / ties"),
    "amin": _rule("{g} ⊙ 1({x} = min {x}) / ties"),
    "norm": _rule("{g} · {x} / ‖{x}‖"),
    "softmax": _rule("{out} ⊙ ({g} − Σ({g} ⊙ {out}))"),
    "log_softmax": _rule("{g} − softmax({x}) · Σ{g}"),
    "logsumexp": _rule("{g} · softmax({x})"),
    "cross_entropy": _cross_entropy,
    "mse": _rule("{g} · 2({x} − {y}) / n", "−{g} · 2({x} − {y}) / n"),
    "dot": _rule("{g} · {y}", "{g} · {x}"),
    "outer": _outer,
    "tr": _rule("{g} · I"),
    "det": _rule("{g} · adj({x})ᵀ  (= {g} · det({x}) · {x}⁻ᵀ)"),
    "inv": _rule("−{out}ᵀ · {g} · {out}ᵀ"),
    "diag": _rule("diag({g})"),
    "reshape": _rule("reshape({g}, shape of {x})"),
}


def formula(e: Edge) -> tuple[str, str | None, tuple[int, ...], str]:
    """(right-hand side, dims, summed axes, what the sum means) for one edge. An elementwise
    op's gradient is summed over the axes broadcasting added or stretched: Σ_rows ∂f/∂h."""
    op = REGISTRY.get(e.op)
    rule = FORMULAS.get(e.op)
    elementwise = op is not None and op.shape is None and bool(op.partials)
    if rule is not None:
        text, dims = rule(e)
    elif elementwise and len(e.args) == 1:
        text, dims = f"{e.g} ⊙ {e.op}'({e.x})", None
    elif elementwise:
        text, dims = f"{e.g} ⊙ ∂{_p(e.out)}/∂{_p(e.args[e.k])}", None
    else:
        text, dims = f"the VJP of {e.op} applied to {e.g}", None
    summed: tuple[int, ...] = ()
    words = ""
    if elementwise and e.shapes[e.k] != e.out_shape:
        summed = broadcast_axes(e.shapes[e.k], e.out_shape)
        sigma, words = _sum_words(summed, e.out_shape, f"{e.args[e.k]} ({_s(e.shapes[e.k])})")
        text = f"{sigma} {text}" if _atom(text.replace("∂", "").replace("/", "")) \
            else f"{sigma} ({text})"
        dims = f"{sigma} ({_s(e.out_shape)}) = {_s(e.shapes[e.k])}"
    return text, dims, summed, words


def broadcast_axes(shape: Shape, out: Shape) -> tuple[int, ...]:
    """The axes of ``out`` that broadcasting added (leading) or stretched (size 1 in shape):
    the ones the gradient is summed over on its way back (domains' sum_to)."""
    lead = len(out) - len(shape)
    return tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape)
                                      if n == 1 and out[lead + k] != 1)


def _sum_words(axes: tuple[int, ...], out: Shape, name: str) -> tuple[str, str]:
    """('Σ_rows', 'summed over the rows (axis 0): b (2) was broadcast to each of the 4 rows')
    for a sum over ``axes`` of ``out``; ``name`` is the argument with its shape."""
    if len(axes) == len(out):
        return "Σ_all", (f"summed over every entry: {name} was used at each of the "
                         f"{_s(out)} entries")
    if len(out) == 2 and axes == (0,):
        return "Σ_rows", (f"summed over the rows (axis 0): {name} was broadcast to each of "
                          f"the {out[0]} rows")
    if len(out) == 2 and axes == (1,):
        return "Σ_cols", (f"summed over the columns (axis 1): {name} was broadcast to each of "
                          f"the {out[1]} columns")
    listed = ", ".join(map(str, axes))
    return f"Σ_axes({listed})", f"summed over axes {listed}, which {name} was broadcast along"


# --- the walk ---------------------------------------------------------------------------------

def definition(tape, labels: dict[int, str], shapes, i: int) -> str:
    """How a node is computed from its arguments' labels: 'W @ x', 'hᵀ', '[a, b]', 'x ⊙ y'."""
    from .steps import definition as scalar_definition

    node = tape.graph.nodes[i]
    if node.op in ("input", "const"):
        return "input" if node.op == "input" else "constant"
    args = [labels[j] for j in node.args]
    if node.op == "stack":
        return f"[{', '.join(args)}]"
    if node.op == "transpose":
        return _t(args[0])
    if node.op == "index":
        key = ", ".join(str(k) if isinstance(k, int) else slice_text(k) for k in node.value)
        return f"{_p(args[0])}[{key}]"
    if node.op in ("amax", "amin"):
        return f"{node.op[1:]}({args[0]})"
    if REGISTRY[node.op].static and node.value is not None:   # sum(X, 0), reshape(x, 2, 3)
        extra = node.value if isinstance(node.value, tuple) else (node.value,)
        return f"{REGISTRY[node.op].calls[0]}({', '.join([args[0], *map(str, extra)])})"
    if node.op == "mul":
        both = all(shapes[j] for j in node.args)
        return f"{_p(args[0])} {'⊙' if both else '·'} {_p(args[1])}"
    try:
        return scalar_definition(tape, labels, i)
    except (IndexError, KeyError):   # an op with neither a spelling nor a call name
        return f"{node.op}({', '.join(args)})"


def walkthrough(fn, result) -> TensorWalkthrough:
    """The forward and backward steps of a tensor result (``tensor.gradient``'s): reruns its
    passes, and each backward edge through the op's own array VJP."""
    from . import tensor
    from .domains import tensor_domain
    from .lazy import numpy

    np = numpy()
    tape, out_name, clean, _wrt, _notes = tensor.compile_tape(fn, dict(result.point),
                                                              result.output,
                                                              list(result.gradient))
    shape_list = tensor.shapes(tape, clean)
    v = tensor.forward(tape, clean)
    graph = tape.graph
    nodes = graph.nodes
    labels = node_labels(tape)
    shapes = {i: tuple(shape_list[i]) for i in tape.order}
    definitions = {i: definition(tape, labels, shapes, i) for i in tape.order}
    forward = tuple(
        TensorForwardStep(s, labels[i], definitions[i], nodes[i].op, shapes[i], v[i])
        for s, i in enumerate((i for i in tape.order if nodes[i].op != "const"), start=1))

    D = tensor_domain()
    g: dict[int, Any] = {tape.out: np.float64(1.0)}
    rows = []   # (source, k, target, downstream, total)
    with np.errstate(all="ignore"):
        for i, args, _b, vjp, _ in tape.backward_steps:
            gi = g.get(i)
            if gi is None:
                continue
            xs = tuple(v[j] for j in args)
            for k, (j, d) in enumerate(zip(args, vjp(D, gi, xs, v[i]), strict=True)):
                if d is None or not tape.needs[j]:
                    continue
                g[j] = d if j not in g else g[j] + d   # never in place: rows keep their values
                rows.append((i, k, j, d, g[j]))
    paths: dict[int, int] = {}
    last: dict[int, int] = {}
    for n, row in enumerate(rows):
        j = row[2]
        paths[j] = paths.get(j, 0) + 1
        last[j] = n
    backward = []
    for n, (i, k, j, d, total) in enumerate(rows):
        node = nodes[i]
        e = Edge(node.op, k, f"∂{out_name}/∂{labels[i]}", labels[i],
                 tuple(labels[a] for a in node.args), tuple(shapes[a] for a in node.args),
                 shapes[i], tuple(nodes[a].value if nodes[a].op == "const" else None
                                  for a in node.args), node.value)
        text, dims, summed, words = formula(e)
        shape = tuple(np.shape(d))
        backward.append(TensorBackwardStep(
            n + 1, labels[i], labels[j], node.op, f"∂{out_name}/∂{_p(labels[j])} = {text}",
            dims or _s(shape), summed, words, shape, shapes[j], d, total, paths[j],
            last[j] == n))
    return TensorWalkthrough(out_name, forward, tuple(backward), dict(result.gradient), labels,
                             definitions, {i: v[i] for i in tape.order}, g, shapes,
                             tuple(row[:3] for row in rows), tape)
