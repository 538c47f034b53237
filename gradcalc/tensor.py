"""The tensor path (docs/tensors.md): values that are arrays, on the same tape.

A program with array syntax ([..], @, .T, sum, mean), or a point with an array value, runs here:
``shapes`` infers every node's shape in one pass up the tape and refuses a mismatch before any
arithmetic, naming the operands and their shapes; the forward pass is the tape's loop in the
tensor domain (NumPy, elementwise); the backward pass is the tape's one backward loop, each step
the op's array VJP (``Op.array_vjp``), so each adjoint has its node's shape. Scalar programs never
come here: their path is unchanged.
"""

from __future__ import annotations

import functools
import math
from operator import itemgetter
from typing import Any

from .autodiff import Tape
from .errors import EvaluationError, UsageError
from .ops import REGISTRY, VARIADIC, ShapeError, ValueRefused
from .records import field, record

Shape = tuple[int, ...]


@record(frozen=True)
class TensorResult:
    """The scalar output's value and its gradient, each partial of its input's shape."""

    output: str
    value: Any                       # a float; an array for a Jacobian's output
    gradient: dict[str, Any]         # name -> a float64 array of the input's shape (a float for
    #                                  a scalar input); a Jacobian: the output's shape, then it
    point: dict[str, Any]
    shapes: dict[str, Shape] = field(default_factory=dict)   # every input's and wrt's shape
    warnings: tuple[str, ...] = ()


def shape_of(x) -> Shape:
    """A value's shape: () for a float."""
    return tuple(getattr(x, "shape", ()))


def shape_text(shape: Shape) -> str:
    """'scalar', '3' (a vector), '3×4' (a matrix)."""
    return "×".join(map(str, shape)) if shape else "scalar"


def array_value(name: str, x) -> Any:
    """A point's value on the tensor path: a float, or a float64 array (from nested lists, a
    NumPy array); refused when ragged, not numbers, empty or not finite."""
    from .lazy import numpy

    np = numpy()
    if not isinstance(x, (list, tuple)) and getattr(x, "ndim", 0) == 0:
        try:
            value = float(x)
        except (TypeError, ValueError):
            raise UsageError(f"the value of {name} is not a number: {x!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"the value of {name} must be finite, not {value}")
        return value + 0.0
    try:
        array = np.asarray(x, dtype=np.float64)   # a float64 array is used as it is, not copied
    except (TypeError, ValueError):
        raise UsageError(f"the value of {name} is not an array of numbers (a ragged array, or "
                         "entries that are not numbers)") from None
    if array.size == 0:
        raise UsageError(f"the value of {name} is an empty array")
    # the entries are finite if their sum is (one pass, no temporary array); tested one by one
    # only when it is not (an entry that is not finite, or a sum beyond the float64 range)
    with np.errstate(over="ignore", invalid="ignore"):
        total = array.sum()
    if not math.isfinite(total) and not np.isfinite(array).all():
        raise UsageError(f"every entry of {name} must be finite")
    # -0.0 becomes 0.0, as for scalars, in a copy made only when there is one: -0.0 is the one
    # float64 whose bits, read as an int64, are the smallest int64 (one pass, no temporary)
    if array.view(np.int64).min() == -2**63:
        return array + 0.0
    return array   # NOTE: the caller's own array when it was float64; the passes only read it


def shapes(tape: Tape, point: dict) -> list:
    """Every kept node's shape, in one pass up the tape; a mismatch raises EvaluationError with
    the names and shapes of the operands and the caret under the node."""
    from .lazy import numpy

    np = numpy()
    graph = tape.graph
    nodes = graph.nodes
    shape: list = [None] * (tape.out + 1)
    for i in tape.order:
        node = nodes[i]
        if not node.args:
            shape[i] = np.shape(point[node.text]) if node.op == "input" and node.text in point \
                else ()
            continue
        shapes_in = tuple(shape[j] for j in node.args)
        op = REGISTRY[node.op]
        try:
            names = _Names(graph, node.args, shapes_in)
            if op.shape is not None:
                shape[i] = tuple(op.shape(shapes_in, names, p=node.value) if op.static
                                 else op.shape(shapes_in, names))
            else:
                shape[i] = _broadcast(shapes_in, names, op.infix or op.name)
        except ShapeError as exc:
            span = node.span if exc.arg is None else nodes[node.args[exc.arg]].span
            raise EvaluationError(str(exc), graph.source, span) from None
    return shape


class _Names:
    """names[k]: 'W (3×4)', argument k's text and shape, made only when a message needs it."""

    def __init__(self, graph, args, shapes_in):
        self.graph, self.args, self.shapes = graph, args, shapes_in

    def __getitem__(self, k: int) -> str:
        return f"{self.graph.snippet(self.args[k], 30)} ({shape_text(self.shapes[k])})"


def _broadcast(shapes_in, names, what: str) -> Shape:
    """NumPy's broadcasting: shapes aligned at their last axis, each axis equal or 1."""
    ndim = max(len(s) for s in shapes_in)
    out = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for s in shapes_in if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            a, b = (k for k, s in enumerate(shapes_in) if len(s) >= -axis and s[axis] != 1)
            verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}.get(what)
            doing = f"cannot {verb}" if verb else f"cannot apply {what} to"
            raise ShapeError(f"{doing} {names[a]} and {names[b]}: shapes that do not "
                             f"broadcast ({shapes_in[a][axis]} ≠ {shapes_in[b][axis]})")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def compile_tape(fn, point: dict, output: str | None = None, wrt=None):
    """Names checked, values made arrays, the tape compiled for arrays: fn.resolve's Resolved.
    Its seeds are the names in ``wrt`` alone (an input no partial is asked for, such as the
    data X of a network, gets no backward step)."""
    resolved = fn.resolve(point, output, wrt, tensor=True)
    tape, _name, clean, wrt, _notes = resolved
    graph = fn.graph
    variables = tuple(w for w in wrt if w in graph.inputs and w in clean)
    if variables == tape.variables:
        return resolved
    extra = tuple(sorted({graph.index_of(w) for w in wrt} - {graph.inputs[v] for v in variables}))
    key = (tape.out, variables, extra, True)   # as fn.resolve keys the tapes it compiles
    narrow = fn._tapes.get(key)
    if narrow is None:
        narrow = fn._tapes[key] = Tape.compile(graph, tape.out, variables, extra, tensor=True)
    return resolved._replace(tape=narrow)


@record(frozen=True)
class _Plan:
    """A tape specialised to the names and shapes of a point (made once per shape signature and
    kept with the Function's tapes): every node's shape from the shapes pass, the value list
    with literals set, the backward steps with each elementwise VJP reduced to what the tape
    needs, and the nodes of array ops."""

    shape: list                      # node -> its shape (None: not on the tape)
    leaves: list                     # literals (and pi, e) as NumPy scalars, inputs None
    inputs: list                     # (node, name) of each input the point gives
    steps: list                      # one function per backward step, output first
    array_nodes: list                # forward nodes whose op is an array op (matmul, sum, ...)


def _plan(fn, tape: Tape, point: dict) -> _Plan:
    """The tape's plan for the shapes of this point (shapes checked on first use)."""
    from .domains import tensor_domain
    from .lazy import numpy

    np = numpy()
    key = ("tensor plan", id(tape), tuple((k, np.shape(x)) for k, x in point.items()))
    plan = fn._tapes.get(key)
    if plan is None:
        shape = shapes(tape, point)
        nodes = tape.graph.nodes
        # NumPy scalars, not Python floats: 1/0 between scalars of an array program must give
        # inf (explained in forward, as for arrays), not raise ZeroDivisionError
        leaves = [np.float64(x) if type(x) in (int, float) else x
                  for x in tape.leaves(tensor_domain(), {})]
        inputs = [(i, nodes[i].text) for i in tape.order
                  if nodes[i].op == "input" and nodes[i].text in point]
        steps = [_backward_step(step, REGISTRY[nodes[step[0]].op], shape, tape.needs)
                 for step in tape.backward_steps]
        array_nodes = [i for i in tape.step_nodes if REGISTRY[nodes[i].op].shape is not None]
        plan = fn._tapes[key] = _Plan(shape, leaves, inputs, steps, array_nodes)
    return plan


def _backward_step(step: tuple, op, shape: list, needs: list):
    """The tape's backward step for node i as one function of the pass's state, step(D, g,
    owned, v): it sends node i's adjoint to its arguments (``_backward`` says how adjoints add
    up). An array op runs its own VJP; an elementwise op does only what these shapes need: no
    partial for an argument that depends on no seed (a literal), no multiplication by a local
    derivative of exactly one, no un-broadcasting where the argument has the node's shape, and
    otherwise the same arithmetic as ``Op.array_vjp``."""
    from .domains import tensor_domain

    i, args, _kind, array_vjp, _ = step
    D = tensor_domain()
    zero, one = D.zero, D.one
    values = itemgetter(*args, i)   # v -> (v[args[0]], ..., v[i]), a tuple made in C
    # (an op whose array VJP is not the one derived from its partials keeps it: correct, slower)
    derived = getattr(op.array_vjp, "__qualname__", "").startswith("_broadcast_vjp")
    if op.shape is not None or not op.partials or op.static is not None or not derived:
        array_vjp = _selective(op, array_vjp, args, needs)

        def array_step(D, g, owned, v):
            upstream = g[i]
            if upstream is None:
                upstream = zero
            given = values(v)   # the arguments' values and the output's
            downstream = array_vjp(D, upstream, given[:-1], given[-1])
            for j, d in zip(args, downstream, strict=True):
                if d is not None and needs[j]:
                    _add(g, owned, j, d, _fresh(d, downstream, given, upstream))
        return array_step

    def partial(k):
        if op.arity != VARIADIC:
            return op.partials[k]
        rule = op.partials[0]
        return lambda D, *xs: rule(D, k, xs[:-1], xs[-1])

    todo = tuple((j, partial(k), None if shape[j] == shape[i] else shape[j])
                 for k, j in enumerate(args) if needs[j])

    def elementwise_step(D, g, owned, v):
        upstream = g[i]
        if upstream is None:
            upstream = zero
        xs = values(v)
        for j, rule, to in todo:
            local = rule(D, *xs)
            if local is one:
                d, fresh = upstream, False
            else:
                d, fresh = upstream * local, True
            if to is not None:
                d, fresh = D.sum_to(d, to), True
            _add(g, owned, j, d, fresh)
    return elementwise_step


def _selective(op, array_vjp, args, needs):
    """The VJP asked for only the gradients some seed needs, when the op can skip the others
    (Op.selective: not X's in X @ W, a big product for data)."""
    if op.selective:
        return functools.partial(array_vjp, need=tuple(needs[j] for j in args))
    return array_vjp


def _add(g: list, owned: list, j: int, d, fresh: bool) -> None:
    """Add a contribution d to node j's adjoint (see ``_backward``); ``fresh``: d is a new array
    no one else holds, which the adjoint may own."""
    if g[j] is None:
        g[j], owned[j] = d, fresh
    elif owned[j]:
        g[j] += d
    else:
        g[j] = g[j] + d
        owned[j] = True


def _fresh(d, downstream, given, upstream) -> bool:
    """Whether a VJP's result d is a new array: it owns its memory and is none of the arrays the
    VJP was given (upstream, and ``given``: the arguments and the output) nor another of its
    results."""
    if getattr(d, "base", True) is not None or d is upstream:
        return False
    for x in given:
        if x is d:
            return False
    return [e is d for e in downstream].count(True) == 1


def forward(tape: Tape, point: dict, plan: _Plan | None = None) -> list:
    """Every kept node's value (shapes checked first, unless a plan of this point's shapes is
    given)."""
    from .domains import tensor_domain
    from .lazy import numpy

    np = numpy()
    D = tensor_domain()
    if plan is None:
        shapes(tape, point)
        v = [np.float64(x) if type(x) in (int, float) else x for x in tape.leaves(D, point)]
        nodes = tape.graph.nodes
        array_nodes = [i for i in tape.step_nodes if REGISTRY[nodes[i].op].shape is not None]
    else:
        v = plan.leaves.copy()
        for i, name in plan.inputs:
            x = point[name]
            v[i] = np.float64(x) if type(x) is float else x
        array_nodes = plan.array_nodes
    flagged: list = []
    # NOTE: an elementwise op is NumPy's arithmetic and math functions, which raise an IEEE flag
    # whenever finite operands give a non-finite result: NumPy reports it to ``flagged``, and
    # only then (or when an array op's value, matmul's from BLAS threads that may not report, or
    # the output is not finite) are the nodes scanned one by one for the first culprit. A flag
    # from a branch np.where discards (sigmoid's e^-x) costs the scan and finds nothing.
    with np.errstate(over="call", divide="call", invalid="call", under="ignore",
                     call=lambda *_: flagged.append(True)):
        try:
            tape._run(D, v, tape.forward_steps)
        except ValueRefused as exc:   # a singular matrix, a label out of range
            i = next(s[0] for s in tape.forward_steps if v[s[0]] is None)
            graph = tape.graph
            args = graph.nodes[i].args
            span = graph.nodes[i if exc.arg is None else args[exc.arg]].span
            raise EvaluationError(str(exc).format(*(graph.snippet(j) for j in args)),
                                  graph.source, span) from None
    if flagged or not _finite(np, v[tape.out]) or \
            not all(_finite(np, v[i]) for i in array_nodes):
        for i in tape.step_nodes:
            if not _finite(np, v[i]):
                raise _value_error(tape, v, i)
    return v


def _backward(plan: _Plan, v: list, out: int, seed=None) -> tuple[list, list]:
    """(adjoints, owned): the backward pass of Tape._backprop's VJP branch, with the adjoints'
    memory managed. A node's first contribution is kept as it is: owned if it is a new array,
    else borrowed (the upstream adjoint itself, a view); a later one adds in place into an owned
    adjoint, and makes a borrowed one a new, owned sum. So nothing is copied along a chain (the
    shared loop starts every adjoint at 0.0, whose first sum copies each array), and a gradient
    is copied for the caller only when it is borrowed."""
    from .domains import tensor_domain

    D = tensor_domain()
    g: list = [None] * (out + 1)
    owned = [False] * (out + 1)
    g[out] = D.one if seed is None else seed   # (seed: an array output's one-hot entry)
    for step in plan.steps:
        step(D, g, owned, v)
    return g, owned


def _finite(np, x) -> bool:
    """Whether every entry of x is finite: x·x is when they are (an infinite or NaN entry makes
    it infinite or NaN); only when x·x overflows are the entries tested one by one."""
    if type(x) is not np.ndarray:
        return math.isfinite(x)
    flat = x.ravel()
    return math.isfinite(flat @ flat) or bool(np.isfinite(flat).all())


def evaluate(fn, point: dict | None = None, output: str | None = None):
    """The output's value, of any shape (an array literal's value, for --at)."""
    tape, _name, clean, _wrt, _notes = compile_tape(fn, point or {}, output, wrt=())
    value = forward(tape, clean, _plan(fn, tape, clean))[tape.out]
    return float(value) if value.ndim == 0 else value


JACOBIAN_ENTRIES = 1000   # output entries of a Jacobian: one backward pass each


def gradient(fn, point: dict | None = None, output: str | None = None, wrt=None,
             jacobian: bool = False) -> TensorResult:
    """Value and gradient of a scalar output; each partial has its input's shape. With
    ``jacobian`` the output may be an array: each partial then has the output's shape followed
    by its input's (entry [i, j] of ∂f/∂x for f and x vectors is ∂f_i/∂x_j)."""
    from .lazy import numpy

    np = numpy()
    asked = wrt
    tape, out_name, clean, wrt, notes = compile_tape(fn, point or {}, output, wrt)
    graph = tape.graph
    labels = fn._tapes.get(("labels", id(tape)))
    if labels is None:
        labels = fn._tapes[("labels", id(tape))] = label_inputs(tape)
    if asked is None:
        wrt = tuple(w for w in wrt if w not in labels)
    elif labels & set(wrt):
        name = sorted(labels & set(wrt))[0]
        raise UsageError(f"{name} holds class labels, whole numbers: the output has no "
                         f"derivative with respect to them", hint="leave it out of --wrt")
    plan = _plan(fn, tape, clean)
    shape = plan.shape
    out_shape = shape[tape.out]
    if out_shape != () and not jacobian:
        node = graph.nodes[tape.out]
        raise EvaluationError(f"{out_name} is not a scalar but a {shape_text(out_shape)} "
                              f"array: its gradient is not one array per input", graph.source,
                              node.span, hint=f"reduce it, e.g. sum({graph.snippet(tape.out)}) "
                                              f"or mean(...), or ask for --jacobian")
    size = math.prod(out_shape)
    if size > JACOBIAN_ENTRIES:
        raise UsageError(f"{out_name} has {size:,} entries: a Jacobian is one backward pass "
                         f"per entry, and gradcalc takes at most {JACOBIAN_ENTRIES:,}",
                         hint="reduce it to a scalar, e.g. sum(...)")
    v = forward(tape, clean, plan)
    with np.errstate(all="ignore"):
        if out_shape == ():
            rows = [_backward(plan, v, tape.out)]
            if tape.kinks:   # (an adjoint no step reached is None here: nothing flows there)
                g = [0.0 if d is None else d for d in rows[0][0]]
                notes = list(dict.fromkeys([*notes, *kinks_hit(tape, v, g)]))
        else:   # one backward pass per output entry: its row of the Jacobian
            rows = []
            for k in range(size):
                seed = np.zeros(size)
                seed[k] = 1.0
                rows.append(_backward(plan, v, tape.out, seed.reshape(out_shape)))
    gradient, shapes_of = {}, {}
    for w in wrt:
        k = graph.index_of(w)
        s = shape[k] if k <= tape.out and shape[k] is not None else np.shape(clean.get(w, 0.0))
        d: Any
        if out_shape == ():
            g, owned = rows[0]
            d = g[k] if k <= tape.out and g[k] is not None else 0.0
            if not s:
                d = float(d)
            elif k > tape.out or not owned[k] or d.shape != s:   # borrowed (a view, another
                #                                    node's adjoint): the caller gets its own copy
                d = np.array(d) if np.shape(d) == s else \
                    np.broadcast_to(np.asarray(d, dtype=np.float64), s).copy()
        else:
            d = np.stack([np.broadcast_to(np.asarray(g[k] if k <= tape.out and g[k] is not None
                                                     else 0.0, dtype=np.float64), s)
                          for g, _owned in rows])
            s = out_shape + s   # (a Jacobian: the output's axes, then the input's)
            d = d.reshape(s)
        if not _finite(np, d):
            raise EvaluationError(f"the derivative with respect to {w} is not finite here (a "
                                  f"local derivative is infinite on the way)", graph.source,
                                  graph.nodes[tape.out].span)
        gradient[w], shapes_of[w] = d, s
    for name, x in clean.items():
        shapes_of.setdefault(name, np.shape(x))
    value = v[tape.out]
    return TensorResult(out_name, float(value) if out_shape == () else np.asarray(value),
                        gradient, clean, shapes_of, tuple(notes))


def kinks_hit(tape: Tape, v: list, g: list) -> list[str]:
    """A warning for each node at a point where its op is not differentiable (relu at 0, a tie
    of max, a comparison's two sides equal) at some entry a gradient flows through."""
    from .lazy import numpy

    np = numpy()
    found = []
    for i, args, kink, _singular in tape.kinks:
        if kink is None:
            continue
        at_kink = kink(*[v[j] for j in args])
        if not np.count_nonzero(at_kink):   # the usual case, found in ~0.3 µs
            continue
        shape = np.shape(v[i])
        hit = np.broadcast_to(np.asarray(at_kink, dtype=bool), shape) & (
            np.broadcast_to(np.asarray(g[i]), shape) != 0)
        if hit.any():
            at = tuple(int(k) for k in np.argwhere(hit)[0])
            where = f" at entry [{', '.join(map(str, at))}]" if at else ""
            more = f" (and {int(hit.sum()) - 1} more)" if hit.sum() > 1 else ""
            convention = (REGISTRY[tape.graph.nodes[i].op].kink or (None, "a one-sided slope"))[1]
            found.append(f"{tape.graph.snippet(i)} is not differentiable{where}{more}: gradcalc "
                         f"uses {convention}, as PyTorch does")
    return found


def label_inputs(tape: Tape) -> set[str]:
    """Inputs used as class labels (cross_entropy's y): whole numbers, not variables to
    differentiate, wherever else they appear (acc = mean(argmax(S, 1) == y))."""
    nodes = tape.graph.nodes
    labels: set[str] = set()
    for i in tape.order:
        node = nodes[i]
        if node.args:
            for k in REGISTRY[node.op].labels:
                if nodes[node.args[k]].op == "input":
                    labels.add(str(nodes[node.args[k]].text))
    return labels


def _value_error(tape: Tape, v: list, i: int) -> EvaluationError:
    """Why node i holds a non-finite entry: the op's rules, tested on that entry's scalars."""
    from .lazy import numpy

    np = numpy()
    graph = tape.graph
    node = graph.nodes[i]
    op = REGISTRY[node.op]
    value = np.asarray(v[i])
    at = tuple(int(k) for k in np.argwhere(~np.isfinite(value))[0])
    where = f" at entry [{', '.join(map(str, at))}]" if at else ""
    message = f"{graph.snippet(i)} overflows{where}: beyond the float64 range (±1.8e308)"
    if op.shape is None:   # elementwise: the entry's arguments are scalars
        xs = [float(np.broadcast_to(v[j], value.shape)[at]) for j in node.args]
        names = dict(zip(op.params, (graph.snippet(j) for j in node.args), strict=False))
        for test, rule in op.requires:
            if not test(*xs):
                shown = ", ".join(
                    f"{graph.snippet(j)}{_index(v[j], at)} = {x:g}"
                    for j, x in zip(node.args, xs, strict=True)
                    if graph.nodes[j].op != "const")
                message = (f"{graph.snippet(i)} is undefined{where}: it needs "
                           f"{rule.format(**names)}" + (f", but {shown}" if shown else ""))
                break
    return EvaluationError(message, graph.source, node.span)


def _index(x, at) -> str:
    """'[1]' for the entry of x that broadcasts to position ``at`` of the result ('' if x is a
    scalar)."""
    from .lazy import numpy

    shape = numpy().shape(x)
    if not shape:
        return ""
    own = at[len(at) - len(shape):]
    return "[" + ", ".join(str(k if n > 1 else 0) for k, n in zip(own, shape, strict=True)) + "]"


@record(frozen=True)
class NumericalCheck:
    """The gradient against central differences: the largest relative error (CS231n's
    rel_error, |a - b| / max(1e-8, |a| + |b|)) per input, over single entries and directions."""

    errors: dict[str, float]         # name -> largest relative error found
    threshold: float
    entries: int                     # single entries compared, in all
    directions: int                  # random directions compared, per input

    @property
    def passed(self) -> bool:
        return all(e <= self.threshold for e in self.errors.values())


def rel_error(a: float, b: float) -> float:
    """CS231n's relative error; 0 when both are tiny (below 1e-8 in sum, compared absolutely)."""
    return abs(a - b) / max(1e-8, abs(a) + abs(b))


def _compare(grad: float, up: float, down: float, h: float, threshold: float) -> float:
    """rel_error of a gradient entry against the central difference (up - down)/2h; past the
    threshold, less what rounding alone may put in that difference (64 ulps of the values, over
    2h): where the value is large and the entry tiny, that noise is not a disagreement."""
    fd = (up - down) / (2 * h)
    scale = max(1e-8, abs(grad) + abs(fd))
    error = abs(grad - fd) / scale
    if error <= threshold:
        return error
    noise = 64 * 2.2e-16 * (abs(up) + abs(down)) / (2 * h)
    return max(threshold, abs(grad - fd) - noise) / scale if abs(grad - fd) > noise \
        else threshold


def numerical_check(fn, result: TensorResult, *, threshold: float = 1e-6, max_entries: int = 40,
                    directions: int = 3, h: float = 1e-5, seed: int = 0) -> NumericalCheck:
    """Central differences of the value at up to ``max_entries`` entries of each input (all of
    them when there are fewer; else a seeded sample) and along ``directions`` random unit
    directions, each compared with the gradient by ``rel_error``."""
    from .lazy import numpy

    np = numpy()
    rng = np.random.default_rng(seed)
    point = dict(result.point)

    def value(name, x):   # the output's entries, flat (one for a scalar output)
        return np.ravel(evaluate(fn, {**point, name: x}, result.output))

    def worst_of(column, up, down, step):
        return max(_compare(float(a), float(u), float(d), step, threshold)
                   for a, u, d in zip(column, up, down, strict=True))

    out_size = int(np.size(result.value))
    errors, entries = {}, 0
    for name, grad in result.gradient.items():
        if name not in point:   # an intermediate (--wrt q): no value of its own to move
            continue
        x = np.asarray(point[name], dtype=np.float64)
        # rows: the output's entries; columns: the input's (a gradient is one row)
        g = np.asarray(grad, dtype=np.float64).reshape(out_size, x.size)
        worst = 0.0
        flat = np.arange(x.size)
        picked = flat if x.size <= max_entries else rng.choice(flat, max_entries, replace=False)
        for k in picked:
            step = np.zeros(x.size)
            step[k] = h * max(1.0, abs(float(x.flat[k])))
            step = step.reshape(x.shape)
            worst = max(worst, worst_of(g[:, k], value(name, x + step), value(name, x - step),
                                        float(step.flat[k])))
            entries += 1
        for _ in range(directions if x.size > 1 else 0):
            d = rng.normal(size=x.shape)
            d /= np.linalg.norm(d)
            worst = max(worst, worst_of(g @ d.ravel(), value(name, x + h * d),
                                        value(name, x - h * d), h))
        errors[name] = worst
    return NumericalCheck(errors, threshold, entries, directions)
