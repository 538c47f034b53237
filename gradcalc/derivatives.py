"""Derivatives of derivatives: the backward pass run in a graph domain.

Every derivative rule of the registry is written with ops of the registry (``D.sin``, ``D.step``,
``D.maxshare``, the arithmetic operators), so running the backward pass with a ``D`` whose
functions *append nodes to a graph* turns the gradient into a program: printable
(``graph.program_text``), evaluable, and differentiable again. Second derivatives are reverse mode
run over the gradient's program (reverse over reverse); order N repeats that.

A program differentiated at a point keeps that point's structural zeros (relu's flat side, the
argument max did not select): they hold in a neighbourhood, so the derivative program is right
near the point, as the first derivative is. Without a point the program is the generic one.
"""

from __future__ import annotations

import itertools
import math

from .domains import FLOAT
from .errors import UsageError
from .graph import Graph, Node
from .ops import REGISTRY
from .records import field, record

MAX_PARTIALS = 500    # distinct partials --order N may list


class _Operators:
    """Python's arithmetic operators as ops of the registry, applied by the value's domain (the
    graph domain appends nodes, the dual domain carries tangents)."""

    __slots__ = ()

    def _apply(self, op, *args):
        raise NotImplementedError

    def __add__(self, o):
        return self._apply("add", self, o)

    def __radd__(self, o):
        return self._apply("add", o, self)

    def __sub__(self, o):
        return self._apply("sub", self, o)

    def __rsub__(self, o):
        return self._apply("sub", o, self)

    def __mul__(self, o):
        return self._apply("mul", self, o)

    def __rmul__(self, o):
        return self._apply("mul", o, self)

    def __truediv__(self, o):
        return self._apply("div", self, o)

    def __rtruediv__(self, o):
        return self._apply("div", o, self)

    def __pow__(self, o):
        return self._apply("pow", self, o)

    def __rpow__(self, o):
        return self._apply("pow", o, self)

    def __neg__(self):
        return self._apply("neg", self)


class Ref(_Operators):
    """A node of the graph being built: what values are in the graph domain."""

    __slots__ = ("d", "i", "value")

    def __init__(self, d: GraphDomain, i: int, value: float | None = None):
        self.d, self.i, self.value = d, i, value   # value: a constant's, else None

    def _apply(self, op, *args):
        return self.d.apply(op, *args)

    # NOTE: a rule's condition (D.where) on a node that is not a constant is structural, as for
    # a SymPy symbol: x != 0 holds, x == 0 does not.
    def __eq__(self, o):
        other = o.value if isinstance(o, Ref) else o
        return self.value is not None and other is not None and self.value == other

    def __ne__(self, o):
        return not self.__eq__(o)

    __hash__ = object.__hash__


class GraphDomain:
    """The graph domain: each function appends a node (folding constants and the identities
    x+0, x·1, x·0, x^1) to ``graph`` and returns its Ref. Identical nodes are made once."""

    name = "graph"

    def __init__(self, graph: Graph):
        self.graph = graph
        self.span = (0, 0)            # the source span new nodes carry (the rule's node)
        self._made: dict[tuple, int] = {}
        self._consts: dict[tuple[float, float, str | None], int] = {}   # (value, sign, text)

    def ref(self, i: int) -> Ref:
        node = self.graph.nodes[i]
        return Ref(self, i, node.value if node.op == "const" else None)

    def const(self, value: float, text: str | None = None) -> Ref:
        value = float(value)
        key = (value, math.copysign(1.0, value), text)
        if key not in self._consts:
            self._consts[key] = self.graph.add(Node("const", (), value, text, self.span))
        return Ref(self, self._consts[key], value)

    @property
    def zero(self):
        return self.const(0.0)

    @property
    def one(self):
        return self.const(1.0)

    @property
    def pi(self):
        return self.const(math.pi)

    @property
    def e(self):
        return self.const(math.e)

    def literal(self, value, text):
        return self.const(value, text)

    @staticmethod
    def where(cond, then, otherwise):
        return then() if cond else otherwise

    def __getattr__(self, name):
        if name in REGISTRY:
            return lambda *args: self.apply(name, *args)
        raise AttributeError(f"the graph domain has no function {name!r}: not an op")

    def apply(self, op: str, *args) -> Ref:
        refs = [a if isinstance(a, Ref) else self.const(a) for a in args]
        values = [r.value for r in refs]
        if all(v is not None for v in values):
            try:
                value = REGISTRY[op].value(FLOAT, *values)
                if math.isfinite(value):
                    return self.const(value)
            except (ArithmeticError, ValueError):
                pass   # left as a node: evaluating it explains the failure
        simpler = _identity(op, refs, values)
        if simpler is not None:
            return simpler if isinstance(simpler, Ref) else self.const(simpler)
        key = (op, tuple(r.i for r in refs))
        if key not in self._made:
            self._made[key] = self.graph.add(Node(op, key[1], None, None, self.span))
        return Ref(self, self._made[key])


def _identity(op, refs, values):
    """x+0, 0+x, x-0, x·1, 1·x, x/1, x^1 -> x; x·0, 0·x -> 0 (a structural zero: it masks, as in
    the backward pass); x^0 -> 1; 0-x -> -x; --x -> x. None when nothing applies."""
    rule = _IDENTITIES.get(op)
    return rule(refs, values) if rule is not None else None


def _add_identity(refs, values):
    if values[1] == 0:
        return refs[0]
    if values[0] == 0:
        return refs[1]
    return None


def _sub_identity(refs, values):
    if values[1] == 0:
        return refs[0]
    if values[0] == 0:
        return refs[0].d.apply("neg", refs[1])
    return None


def _mul_identity(refs, values):
    if 0 in (values[0], values[1]) and None in values:
        return 0.0
    if values[1] == 1:
        return refs[0]
    if values[0] == 1:
        return refs[1]
    return None


def _div_identity(refs, values):
    return refs[0] if values[1] == 1 else None


def _pow_identity(refs, values):
    if values[1] == 1:
        return refs[0]
    if values[1] == 0:
        return 1.0
    return None


def _neg_identity(refs, values):
    node = refs[0].d.graph.nodes[refs[0].i]
    return refs[0].d.ref(node.args[0]) if node.op == "neg" else None


# op -> its rule: (argument refs, their constant values or None) -> a simpler Ref or number
_IDENTITIES = {"add": _add_identity, "sub": _sub_identity, "mul": _mul_identity,
               "div": _div_identity, "pow": _pow_identity, "neg": _neg_identity}


def differentiate(fn, outputs: dict[str, str], point: dict | None = None,
                  variables=None):
    """A Function whose graph is ``fn``'s plus the nodes of each output's gradient:
    ``outputs`` maps a statement of ``fn`` to the name prefix of its partials (``"f"`` gives
    ``df/dx``, ``df/dy``...). With a ``point``, the structural zeros there are kept."""
    from .function import Function

    g = fn.graph
    new = Graph(g.source, list(g.nodes), dict(g.inputs), dict(g.names), g.output,
                list(g.warnings))
    D = GraphDomain(new)
    variables = tuple(variables or fn.variables)
    names = {}
    for output, prefix in outputs.items():
        tape, *_ = fn.resolve(dict.fromkeys(variables, 0.0) if point is None else point, output,
                              wrt=())
        skip = None
        if point is not None:
            v = tape.forward(FLOAT, point)
            skip = tape.masked(v)
        refs = [D.ref(i) if i <= tape.out else None for i in range(tape.out + 1)]
        g_refs = _backward(tape, D, refs, skip)
        for x in variables:
            node = g.inputs.get(x)
            d = g_refs[node] if node is not None and node <= tape.out else None
            d = d if d is not None else D.zero
            name = _name(prefix, x)
            new.names[name] = d.i
            names[(output, x)] = name
    f = Function.from_graph(new, fn.limits)
    return f, names


def _backward(tape, D, v, skip):
    """The tape's own backward loop in the graph domain, each new node carrying the source span
    of the node whose rule made it (its rules wrapped to say where they run)."""
    steps = tape.backward_steps if skip is None else tape._masked_steps(skip)
    nodes = tape.graph.nodes
    return tape._backprop(D, v, [(i, a, b, _at(D, nodes[i].span, ra), _at(D, nodes[i].span, rb))
                                 for i, a, b, ra, rb in steps])


def _at(D, span, rule):
    if rule is None:
        return None

    def located(*args):
        D.span = span
        return rule(*args)
    return located


def _name(prefix: str, x: str) -> str:
    """'f' -> 'df/dx'; 'df/dx' -> 'd2f/dxdx'; 'd2f/dxdy' -> 'd3f/dxdydz'."""
    if not prefix.startswith("d") or "/" not in prefix:
        return f"d{prefix}/d{x}"
    top, bottom = prefix.split("/", 1)
    order = top[1:].split(next((c for c in top[1:] if not c.isdigit()), " "), 1)[0]
    n = int(order) if order else 1
    return f"d{n + 1}{top[1 + len(order):]}/{bottom}d{x}"


@record(frozen=True)
class Partial:
    """One partial derivative of order N: with respect to ``wrt`` (in order), at the point."""

    wrt: tuple[str, ...]
    value: float | None = None
    symbolic: object = None
    how: str = "reverse mode"       # or a limits.Determination's text
    note: str = ""

    @property
    def label(self) -> str:
        """∂³f/∂x²∂y as people write it."""
        return label(self.wrt)


def label(wrt, output: str = "f") -> str:
    n = len(wrt)
    if n == 1:
        return f"∂{output}/∂{wrt[0]}"
    parts = []
    for x, group in itertools.groupby(wrt):
        k = len(list(group))
        parts.append(f"∂{x}" + (_SUPERSCRIPT[k] if k > 1 else ""))
    return f"∂{_SUPERSCRIPT[n]}{output}/" + "".join(parts)


_SUPERSCRIPT = {k: "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(k)) for k in range(1, 100)}


@record
class Derivatives:
    """Every distinct partial of ``order`` at a point (or symbolically)."""

    output: str
    order: int
    variables: tuple[str, ...]
    partials: list[Partial] = field(default_factory=list)
    program: object = field(default=None, repr=False)   # the Function of the order N-1 partials
    names: dict = field(default_factory=dict, repr=False)   # multi-index of order N-1 -> name

    def by_wrt(self) -> dict[tuple, Partial]:
        return {p.wrt: p for p in self.partials}


def multi_indices(variables, order: int):
    """Distinct partials of ``order``: sorted multisets of variables (x,x,y but not x,y,x)."""
    return list(itertools.combinations_with_replacement(variables, order))


def count_partials(n: int, order: int) -> int:
    return math.comb(n + order - 1, order)


def partials(fn, order: int, point: dict | None = None, output: str | None = None,
             limits: float = 5.0) -> Derivatives:
    """Every distinct partial of order N: reverse mode over the program of the partials of order
    N - 1 (built by ``differentiate`` N - 1 times). At a point, numbers; without one, SymPy
    expressions (the derivative program run in the SymPy domain)."""
    if order < 1:
        raise UsageError(f"--order must be 1 or more, not {order}")
    out = output or fn.output
    variables = tuple(point) if point is not None else fn.variables
    total = count_partials(len(variables), order)
    if total > MAX_PARTIALS:
        raise UsageError(f"order {order} in {len(variables)} variables has {total:,} distinct "
                         f"partials, more than the {MAX_PARTIALS} gradcalc lists",
                         hint="lower --order, or fix some variables with --wrt")
    current = fn
    names: dict[tuple[str, ...], str] = {(): out}   # multi-index -> its statement
    for _ in range(order - 1):
        wanted = {names[m]: names[m] for m in names}
        current, made = differentiate(current, wanted, point, variables)
        names = {m + (x,): made[(names[m], x)] for m in names for x in variables
                 if not m or x >= m[-1]}
        _check_size(current, fn)
    result = Derivatives(out, order, variables, program=current, names=names)
    for m in multi_indices(variables, order):
        prev = m[:-1]
        name = names[prev]
        if point is None:
            result.partials.append(Partial(m, symbolic=_symbolic(current, name, m[-1])))
            continue
        r = current.gradient(point, wrt=[m[-1]], output=name, limits=limits)
        d = r.determined.get(m[-1])
        result.partials.append(Partial(m, r.gradient[m[-1]], None,
                                       d.text if d else "reverse mode", d.note if d else ""))
    return result


def _symbolic(fn, output: str, x: str):
    return fn.symbolic(wrt=[x], output=output).gradient[x]


def _check_size(current, original) -> None:
    limit = original.limits.nodes
    if limit and len(current.graph.nodes) > limit:
        raise UsageError(f"the derivative programs grew to {len(current.graph.nodes):,} nodes, "
                         f"past the limit of {limit:,} (--max-nodes)", hint="lower --order")


@record(frozen=True)
class Hessian:
    """The matrix of second partials at a point, what its eigenvalues say, and the gradient."""

    variables: tuple[str, ...]
    matrix: list[list[float | None]]
    gradient: dict[str, float | None]
    eigenvalues: list[float] | None
    definiteness: str | None          # positive definite | negative definite | indefinite | ...
    critical_point: str | None        # minimum | maximum | saddle | inconclusive | None
    notes: tuple[str, ...] = ()
    program: object = field(default=None, repr=False)   # the gradient's program
    names: dict = field(default_factory=dict, repr=False)
    output: str = "f"

    @property
    def partials(self) -> list[Partial]:
        """Every entry (both orders of a mixed pair: their equality is the symmetry check)."""
        return [Partial((a, b), self.matrix[i][j]) for i, a in enumerate(self.variables)
                for j, b in enumerate(self.variables)]

    def as_dict(self) -> dict:
        return {a: {b: self.matrix[i][j] for j, b in enumerate(self.variables)}
                for i, a in enumerate(self.variables)}


def hessian(fn, point: dict, output: str | None = None, limits: float = 5.0) -> Hessian:
    """The Hessian at a point: reverse mode over the gradient's program, one row per variable."""
    out = output or fn.output
    variables = tuple(point)
    if not variables:
        raise UsageError("--hessian needs variables: the program has none")
    grad_fn, names = differentiate(fn, {out: out}, point, variables)
    rows, gradient, notes = [], {}, []
    for x in variables:
        r = grad_fn.gradient(point, output=names[(out, x)], limits=limits)
        gradient[x] = r.value
        rows.append([r.gradient[y] for y in variables])
        notes += [f"∂²{out}/∂{x}∂{y}: {d.text}" + (f" ({d.note})" if d.note else "")
                  for y, d in r.determined.items()]
        notes += [f"∂{out}/∂{x}: {w}" for w in r.warnings if "not differentiable" in w]
    return _classify(variables, rows, gradient, tuple(notes), grad_fn,
                     {(x,): names[(out, x)] for x in variables} | {(): out}, out)


def _classify(variables, rows, gradient, notes, program, names, output) -> Hessian:
    if any(v is None for row in rows for v in row):
        return Hessian(variables, rows, gradient, None, None, None, notes, program, names,
                       output)
    from .lazy import numpy

    np = numpy()
    m = np.array(rows, dtype=float)
    sym = (m + m.T) / 2
    eig = [float(e) for e in np.linalg.eigvalsh(sym)]
    scale = max([abs(e) for e in eig] + [1e-300])
    zero = 1e-10 * scale
    pos = sum(e > zero for e in eig)
    neg = sum(e < -zero for e in eig)
    n = len(eig)
    if pos == n:
        kind = "positive definite"
    elif neg == n:
        kind = "negative definite"
    elif pos and neg:
        kind = "indefinite"
    elif pos:
        kind = "positive semidefinite"
    elif neg:
        kind = "negative semidefinite"
    else:
        kind = "zero"
    critical = None
    gscale = max(1.0, float(np.max(np.abs(m))))
    if all(g is not None and abs(g) <= 1e-10 * gscale for g in gradient.values()):
        critical = {"positive definite": "minimum", "negative definite": "maximum",
                    "indefinite": "saddle"}.get(kind, "inconclusive")
    return Hessian(variables, rows, gradient, eig, kind, critical, notes, program, names,
                   output)


def symbolic_hessian(fn, output: str | None = None):
    """The Hessian as SymPy expressions: the gradient's program differentiated symbolically."""
    out = output or fn.output
    variables = fn.variables
    grad_fn, names = differentiate(fn, {out: out}, None, variables)
    return variables, [[grad_fn.symbolic(wrt=[y], output=names[(out, x)]).gradient[y]
                        for y in variables] for x in variables]


class Dual(_Operators):
    """A value and its tangent (forward mode): what values are in the dual domain."""

    __slots__ = ("v", "t")

    def __init__(self, v: float, t: float = 0.0):
        self.v, self.t = v, t

    def _apply(self, op, *args):
        return DUAL.apply(op, *args)


class DualDomain:
    """Forward mode through the registry's own rules: an op's value is its value rule on the
    values, its tangent the sum of each argument's tangent times the op's local derivative. An
    argument whose tangent is 0 sends nothing (no 0·∞ from a derivative nobody needs)."""

    name = "dual"
    zero, one, pi, e = Dual(0.0), Dual(1.0), Dual(math.pi), Dual(math.e)

    @staticmethod
    def literal(value, text):
        return Dual(float(value))

    @staticmethod
    def where(cond, then, otherwise):
        return then() if cond else otherwise

    def __getattr__(self, name):
        if name in REGISTRY:
            return lambda *args: self.apply(name, *args)
        raise AttributeError(f"the dual domain has no function {name!r}: not an op")

    @staticmethod
    def apply(op: str, *args) -> Dual:
        duals = [a if isinstance(a, Dual) else Dual(float(a)) for a in args]
        xs = tuple(d.v for d in duals)
        rule = REGISTRY[op]
        value = rule.value(FLOAT, *xs)
        tangent = 0.0
        for k, d in enumerate(duals):
            if d.t != 0:
                local = (rule.partials[0](FLOAT, k, xs, value) if len(rule.partials) == 1
                         and rule.arity < 0 else rule.partials[k](FLOAT, *xs, value))
                tangent += d.t * local
        return Dual(value, tangent)


DUAL = DualDomain()


def directional(fn, point: dict, direction: dict, output: str | None = None):
    """∇f·v by one forward pass of tangents (no backward pass): (value, derivative, the
    tangent of every node on the tape, in order)."""
    tape, _name, point, _wrt, _notes = fn.resolve(point, output, wrt=())
    unknown = [k for k in direction if k not in point]
    if unknown:
        raise UsageError(f"--direction names {', '.join(unknown)}, which is not a variable",
                         hint=f"the variables: {', '.join(point)}")
    duals = {k: Dual(x, float(direction.get(k, 0.0))) for k, x in point.items()}
    try:
        v = tape.forward(DUAL, duals)
    except Exception as exc:   # noqa: BLE001  (an infinite local derivative met a tangent)
        from .errors import EvaluationError

        if isinstance(exc, EvaluationError):
            raise EvaluationError("forward mode cannot carry the tangent through this point: "
                                  "a local derivative on its way is infinite or undefined",
                                  fn.graph.source, fn.graph.nodes[tape.out].span) from None
        raise
    out = v[tape.out]
    if not math.isfinite(out.t):
        from .errors import EvaluationError

        raise EvaluationError("the directional derivative is not finite here", fn.graph.source,
                              fn.graph.nodes[tape.out].span)
    return out.v, out.t, [(i, v[i].v, v[i].t) for i in tape.order]


@record(frozen=True)
class JacobianMatrix:
    """∂(outputs)/∂(variables): one row per output, and the determinant when square."""

    outputs: tuple[str, ...]
    variables: tuple[str, ...]
    matrix: list                     # rows of floats (or SymPy expressions, symbolically)
    determinant: object = None


def jacobian(fn, point: dict | None, outputs) -> JacobianMatrix:
    """Reverse mode once per output (a row each); the determinant by LU (NumPy), or SymPy's
    simplified determinant symbolically."""
    outputs = tuple(outputs)
    if not outputs:
        raise UsageError("a Jacobian needs outputs", hint='outputs=["u", "v"]')
    if point:
        rows = [fn.gradient(point, output=o).gradient for o in outputs]
    else:
        rows = [fn.symbolic(output=o).gradient for o in outputs]
    variables = tuple(rows[0])
    matrix = [[r[v] for v in variables] for r in rows]
    det = None
    if len(outputs) == len(variables) and all(x is not None for r in matrix for x in r):
        if point:
            from .lazy import numpy

            det = float(numpy().linalg.det(numpy().array(matrix, dtype=float)))
        else:
            import sympy

            det = sympy.simplify(sympy.Matrix(matrix).det())
    return JacobianMatrix(outputs, variables, matrix, det)


@record(frozen=True)
class Implicit:
    """dy/dx (and d²y/dx²) of y defined by F(x, y) = 0 near a point on the curve."""

    dependent: str
    derivatives: dict                # "dy/dx" -> value (or a SymPy expression symbolically)
    residual: float | None           # F at the point (0 on the curve)
    F: object                        # the Function of F = left - right


def equation_function(source: str, limits=None):
    """The Function of F = left - (right) for a program whose last statement is an equation
    ``left = right`` (earlier statements are assignments, as usual)."""
    from .function import Function
    from .syntax import DEFAULT_LIMITS

    text = source.rstrip().rstrip(";")
    cut = max(text.rfind(";"), text.rfind("\n"))
    head, last = text[:cut + 1], text[cut + 1:]
    if last.count("=") != 1:
        raise UsageError("--implicit needs an equation: its last statement must be "
                         "left = right", hint='e.g. "x^2 + y^2 = 25" --implicit y')
    left, right = last.split("=")
    if not left.strip() or not right.strip():
        raise UsageError("--implicit needs an equation with two sides, left = right")
    return Function(f"{head} implicit_F = ({left}) - ({right})", limits or DEFAULT_LIMITS)


def implicit(F, point: dict | None, y: str, order: int = 1) -> Implicit:
    """dy/dx = -F_x/F_y for every other variable x; with ``order`` 2 and one other variable,
    d²y/dx² = -(F_xx F_y² - 2 F_xy F_x F_y + F_yy F_x²) / F_y³ (from the Hessian of F)."""
    from .errors import EvaluationError

    if y not in F.variables:
        raise UsageError(f"--implicit {y}: {y} is not a variable of the equation",
                         hint=f"its variables: {', '.join(F.variables)}")
    others = [x for x in F.variables if x != y]
    if not others:
        raise UsageError(f"--implicit {y}: the equation has no other variable to differentiate "
                         "with respect to")
    if order not in (1, 2):
        raise UsageError("--implicit gives first and second derivatives (--order 1 or 2)")
    if order == 2 and len(others) != 1:
        raise UsageError("--implicit with --order 2 needs exactly one other variable")
    if point is None:
        return _implicit_symbolic(F, y, others, order)
    r = F.gradient(point, limits=0)
    fy = r.gradient[y]
    if fy is None or fy == 0:
        raise EvaluationError(f"∂F/∂{y} = 0 at this point: the equation does not define {y} as "
                              f"a function of {', '.join(others)} here (the implicit function "
                              f"theorem needs ∂F/∂{y} ≠ 0)", F.graph.source)
    found = {}
    for x in others:
        fx = r.gradient[x]
        found[f"d{y}/d{x}"] = None if fx is None else -fx / fy
    if order == 2:
        x = others[0]
        h = F.hessian(point)
        i, j = h.variables.index(x), h.variables.index(y)
        fxx, fxy, fyy = h.matrix[i][i], h.matrix[i][j], h.matrix[j][j]
        fx = r.gradient[x]
        found[f"d2{y}/d{x}2"] = None if None in (fxx, fxy, fyy, fx) else -(
            fxx * fy * fy - 2 * fxy * fx * fy + fyy * fx * fx) / fy ** 3
    return Implicit(y, found, r.value, F)


def _implicit_symbolic(F, y, others, order):
    import sympy

    sym = F.symbolic()
    fy = sym.gradient[y]
    found = {f"d{y}/d{x}": sympy.simplify(-sym.gradient[x] / fy) for x in others}
    if order == 2:
        x = others[0]
        symbols = {n: sympy.Symbol(n, real=True) for n in F.variables}
        first = -sym.gradient[x] / fy
        # d/dx of dy/dx with y = y(x): ∂/∂x + ∂/∂y · dy/dx
        second = sympy.diff(first, symbols[x]) + sympy.diff(first, symbols[y]) * first
        found[f"d2{y}/d{x}2"] = sympy.simplify(second)
    return Implicit(y, found, None, F)
