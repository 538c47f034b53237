"""The public objects: a parsed program (``Function``) and what evaluating it gives (``Result``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .autodiff import Tape
from .domains import FLOAT
from .errors import EvaluationError, UsageError, describe
from .graph import Graph
from .records import field, record
from .syntax import CONSTANTS, DEFAULT_LIMITS, Limits, parse_graph


@record(frozen=True)
class Result:
    """The output's value and its partial derivatives at one point."""

    output: str
    value: float
    gradient: dict[str, float]
    point: dict[str, float]
    warnings: tuple[str, ...] = ()
    intermediates: dict[str, float] = field(default_factory=dict)  # values of named nodes in wrt
    kinks: tuple[int, ...] = ()      # nodes at a non-differentiable point the gradient went through
    determined: dict = field(default_factory=dict)   # name -> limits.Determination, for partials
    #                                  reverse mode could not give (0·∞); gradient[name] is then
    #                                  its value, or None when undetermined

    @property
    def undetermined(self) -> dict[str, str]:
        """Partials no method could determine, with why."""
        return {k: d.note for k, d in self.determined.items() if d.value is None}


@record(frozen=True)
class SymbolicResult:
    """The output and its gradient as SymPy expressions (our reverse pass run on symbols)."""

    output: str
    expression: Any                  # SymPy (or mpmath, for precise) values: untyped
    gradient: dict[str, Any]
    warnings: tuple[str, ...] = ()
    point: dict | None = None        # the exact point, when one was given
    digits: int | None = None        # significant digits, for a --precision result


class Resolved(NamedTuple):
    """What ``Function.resolve`` checked and compiled: still unpacks as a 5-tuple."""

    tape: Tape                   # compiled for the output and the variables given
    output: str                  # the output's name
    point: dict[str, Any]        # the values by name: floats, or (numeric=False) as given
    wrt: tuple[str, ...]         # the names to differentiate with respect to
    notes: list[str]             # the program's warnings, and notes on the point


@record
class Function:
    """A parsed program: parse once, evaluate at as many points as you like."""

    source: str
    limits: Limits = field(default=DEFAULT_LIMITS, repr=False)   # see syntax.Limits
    graph: Graph = field(init=False, repr=False)
    _tapes: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        self.graph = parse_graph(self.source, self.limits)

    @classmethod
    def from_graph(cls, graph, limits: Limits = DEFAULT_LIMITS) -> Function:
        """A Function over a graph built in code (a derivative's program), not parsed."""
        fn = cls.__new__(cls)
        fn.source, fn.limits, fn.graph, fn._tapes = graph.source, limits, graph, {}
        return fn

    def hessian(self, point=None, /, *, output: str | None = None, **values):
        """The Hessian at a point (``derivatives.Hessian``: matrix, eigenvalues, what they say),
        or, without a point, as SymPy expressions (variables, rows)."""
        from .derivatives import hessian, symbolic_hessian

        point = {**(point or {}), **values}
        if not point:
            return symbolic_hessian(self, output)
        _tape, _name, clean, _wrt, _notes = self.resolve(point, output, wrt=())
        return hessian(self, clean, output)

    def derivative(self, point=None, /, *, order: int = 1, output: str | None = None,
                   **values):
        """Every distinct partial of ``order`` at a point, or symbolically without one
        (``derivatives.Derivatives``: partials by multi-index)."""
        from .derivatives import partials

        point = {**(point or {}), **values}
        if point:
            _tape, _name, point, _wrt, _notes = self.resolve(point, output, wrt=())
        return partials(self, order, point or None, output)

    partials = derivative

    def jacobian(self, point=None, /, *, outputs, **values):
        """∂(outputs)/∂(variables) at a point, or symbolically without one
        (``derivatives.JacobianMatrix``: rows, and the determinant when square)."""
        from .derivatives import jacobian

        return jacobian(self, {**(point or {}), **values}, outputs)

    def directional(self, point=None, /, *, direction, output: str | None = None, **values):
        """∇f·v at a point by one forward pass of tangents (forward mode): (value, ∇f·v)."""
        from .derivatives import directional

        value, d, _rows = directional(self, {**(point or {}), **values}, direction, output)
        return value, d

    def gradient_program(self, wrt=None, output: str | None = None) -> Function:
        """The gradient as a program (a Function whose statements ``df/dx``... are the partials),
        which can be printed (``graph.program_text``), evaluated and differentiated again."""
        from .derivatives import differentiate

        out = output or self.output
        fn, _names = differentiate(self, {out: out}, None, wrt or self.variables)
        return fn

    # --- what the program has -----------------------------------------------------------------
    @property
    def output(self) -> str:
        return self.graph.output

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every free name, constants (pi, e) included, in order of first use."""
        return tuple(self.graph.inputs)

    @property
    def variables(self) -> tuple[str, ...]:
        """Free names that need a value (the constants pi and e do not)."""
        return tuple(n for n in self.graph.inputs if n not in CONSTANTS)

    @property
    def names(self) -> tuple[str, ...]:
        """Names the program assigns."""
        return tuple(self.graph.names)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.graph.warnings)

    # --- evaluation ---------------------------------------------------------------------------
    def resolve(self, point: Mapping[str, Any] | None = None, output: str | None = None,
                wrt=None, numeric: bool = True, tensor: bool = False) -> Resolved:
        """Check names and values; return (tape, output name, point, wrt names, notes). With
        ``tensor`` the values may be arrays and the tape is compiled for them (tensor.py)."""
        g = self.graph
        if g.tensor and not tensor:
            # NOTE: only the value and gradient at a point handle arrays so far (docs/tensors.md);
            # every other use of the tape (SymPy, mpmath, Hessians, batches) comes through here
            raise UsageError("this program uses arrays, which gradcalc differentiates only at "
                             "a point so far (value and gradient)",
                             hint='e.g. gradcalc "sum(W@x)" --at "W=[[1,2],[3,4]],x=[1,0]"')
        point = dict(point or {})
        notes = list(g.warnings)
        out_name = output or g.output
        if out_name not in g.names:
            if out_name in g.inputs:
                raise UsageError(f"{out_name} is an input, not a statement",
                                 hint=f"statements: {', '.join(g.names)}")
            raise UsageError(f"no statement is named {out_name!r}",
                             hint=f"statements: {', '.join(g.names)}")
        unknown = [k for k in point if k not in g.inputs]
        if unknown:
            computed = [k for k in unknown if k in g.names]
            if computed:
                raise UsageError(f"{', '.join(computed)} is computed by the program and cannot be "
                                 "given a value")
            raise UsageError(f"the program has no variable named "
                             f"{', '.join(map(describe, unknown))}",
                             hint=f"its variables: "
                                  f"{', '.join(map(describe, self.variables)) or 'none'}")
        missing = [v for v in self.variables if v not in point]
        if missing:
            raise UsageError(f"no value for {', '.join(missing)}",
                             hint="give every variable a value, e.g. --at "
                             + ",".join(f"{v}=1" for v in missing))
        clean = _clean_values(point, numeric, tensor, notes)
        variables = tuple(clean)   # the caller's order: --at x=..,y=.. lists x first
        if wrt is None:
            wrt = variables
        elif isinstance(wrt, str):
            raise UsageError(f"wrt must be a list of names, not the string {wrt!r}",
                             hint=f"wrt={wrt.split(',')!r}")
        else:
            wrt = tuple(wrt)
            bad = [w for w in wrt if w not in g.names and w not in clean]
            if bad:
                raise UsageError(f"cannot differentiate with respect to {', '.join(bad)}",
                                 hint="choose among: " + ", ".join((*variables, *g.names)))
        out = g.names[out_name]
        extra = tuple(sorted({g.index_of(w) for w in wrt} - {g.inputs[v] for v in variables}))
        key = (out, variables, extra, tensor)
        tape = self._tapes.get(key)
        if tape is None:
            tape = self._tapes[key] = Tape.compile(g, out, variables, extra, tensor)
        return Resolved(tape, out_name, clean, wrt, notes)

    def gradient(self, point=None, /, *, wrt=None, output: str | None = None, variables=None,
                 errors: str = "raise", limits: float = 5.0, fast_math: bool = False,
                 **values):
        """Value and partial derivatives (reverse mode) at one point, or at many at once.

        ``f.gradient(x=1, y=2)`` or ``f.gradient({"x": 1, "y": 2}, wrt=["x", "q"])`` give a
        ``Result``. Arrays give a ``Batch`` of NumPy arrays, one element per point:
        ``f.gradient({"x": xs, "y": ys})``, or a 2-D array with one row per point and
        ``variables`` naming its columns: ``f.gradient(table, variables=["x", "y"])``. A point
        where the program is undefined raises, naming the point; with ``errors="report"`` its
        entries are NaN instead and ``batch.errors`` says why. ``fast_math=True`` computes a
        batch's sin, cos, exp, expm1 and log with gradcalc's vector kernels: several times faster,
        each within 2 ulp, not always the float of a single-point run (gradcalc/fastmath.py).

        Where reverse mode meets 0·∞ (cbrt(x)^3 at 0) the partial is determined from difference
        quotients and, within ``limits`` seconds (0: never), SymPy's limit of the derivative:
        ``result.determined`` says how; a partial nothing determines is None.
        """
        given = point if not values else values if point is None else None
        if type(given) is dict and variables is None and (wrt is None or type(wrt) is list
                                                          or type(wrt) is tuple):
            try:   # a plain point: the plan made for its names (see _plan_key), if there is one
                plan = self._tapes.get((_PLAN, tuple(given), output,
                                        None if wrt is None else tuple(wrt)))
            except TypeError:   # an output or wrt of lists: the full path explains
                plan = None
            if plan is not None:
                result = plan.gradient(given)
                if result is not None:
                    return result   # else something needs the full path below: it says what
        key = _plan_key(given, output, wrt) if variables is None else None
        if self.graph.tensor:
            return self.tensor_gradient(point, wrt=wrt, output=output, **values)
        if variables is not None or _many(point, values):
            return self._gradient_many(point, values, wrt, output, variables, errors,
                                       fast_math)
        tape, out_name, point, wrt, notes = self.resolve({**(point or {}), **values}, output,
                                                         wrt)
        if key is not None:
            self._remember(key, tape, out_name, wrt, notes)
        v = tape.forward(FLOAT, point)
        g = tape.backward(FLOAT, v)
        index_of = self.graph.index_of
        grad = {w: _adjoint(g, index_of(w)) for w in wrt}
        determined = {}
        unresolved = tape.unresolved(v, g)
        if tape.edges and any(test(*[v[j] for j in args]) for _i, args, test in tape.edges):
            from .limits import isolated

            for w, note in isolated(tape, point, wrt).items():
                determined[w] = note
                grad[w] = None
        if unresolved:
            from .limits import determine

            for w in wrt:
                k = index_of(w)
                if k in unresolved and w not in determined:
                    d = determined[w] = determine(tape, point, w, k, unresolved[k], limits)
                    grad[w] = d.value
        kinks = tape.kinks_hit(v, g)
        notes += [message for _i, message in kinks]
        named = {w: v[index_of(w)] for w in wrt
                 if w not in point and tape.keeps(index_of(w))}   # values on the tape only
        return Result(out_name, v[tape.out], grad, point, tuple(notes), named,
                      tuple(i for i, _message in kinks), determined)

    def tensor_gradient(self, point=None, /, *, wrt=None, output: str | None = None,
                        jacobian: bool = False, **values):
        """Value and gradient with values that are arrays (NumPy arrays or nested lists):
        ``f.tensor_gradient(W=[[1, 2], [3, 4]], x=[1, 0])`` gives a ``tensor.TensorResult``
        whose ``gradient[name]`` has the shape of that input. (A program with array syntax,
        [..], @, .T, sum or mean, takes this path from ``gradient`` too.) With ``jacobian`` the
        output may be an array: each entry of ``gradient`` is then its Jacobian, of the
        output's shape followed by the input's."""
        from .tensor import gradient

        return gradient(self, {**(point or {}), **values}, output, wrt, jacobian)

    def _gradient_many(self, point, values, wrt, output, variables, errors, fast_math=False):
        from .vector import gradient_many, numpy

        if errors not in ("raise", "report"):
            raise UsageError(f"errors must be 'raise' or 'report', not {errors!r}")
        if variables is not None:
            if isinstance(variables, str) or isinstance(point, Mapping) or values:
                raise UsageError("variables names the columns of a 2-D array of points",
                                 hint='f.gradient(table, variables=["x", "y"])')
            table = numpy().asarray(point, dtype=float)
            if table.ndim != 2 or table.shape[1] != len(variables):
                raise UsageError(f"a table of points needs one column per variable "
                                 f"({len(variables)}), not shape {table.shape}")
            columns = {name: table[:, k] for k, name in enumerate(variables)}
        else:
            columns = {**(point or {}), **values}
            n = max(len(c) for c in columns.values() if _is_array(c))
            columns = {k: c if _is_array(c) else [c] * n for k, c in columns.items()}
        batch = gradient_many(self, columns, wrt, output, fast_math=fast_math)
        if errors == "raise" and batch.errors:
            k, why = next(iter(batch.errors.items()))
            at = ", ".join(f"{name}={float(c[k])!r}" for name, c in columns.items())
            raise EvaluationError(f"at point {k} ({at}): {why}")
        return batch

    def __call__(self, point: Mapping[str, float] | None = None, /, **values: float) -> float:
        """The output's value at a point (forward pass only)."""
        given = point if not values else values if point is None else None
        key = _plan_key(given, _VALUE, ())
        if key is not None:
            plan = self._tapes.get(key)
            if plan is not None:
                value = plan.value(given)
                if value is not None:
                    return value
        if self.graph.tensor:
            from .tensor import evaluate

            return evaluate(self, {**(point or {}), **values})
        tape, out_name, at, wrt, notes = self.resolve({**(point or {}), **values}, wrt=())
        if key is not None:
            self._remember(key, tape, out_name, wrt, notes)
        return tape.forward(FLOAT, at)[tape.out]

    def _remember(self, key: tuple, tape: Tape, out_name: str, wrt: tuple, notes: list) -> None:
        """Make the plan for a point's names (``key``) the second time they come, so that the
        next point with those names takes the fast path (a single call, as the command line's,
        does not pay for a plan). A few hundred at most: names in new orders make new keys."""
        if key in self._tapes:   # seen once (None): now make it
            self._tapes[key] = _Plan(tape, out_name, key[1], wrt, tuple(notes))
        elif len(self._tapes) < _MOST_PLANS:
            self._tapes[key] = None

    def symbolic(self, point=None, /, *, wrt=None, output: str | None = None) -> SymbolicResult:
        """The gradient as SymPy expressions: our reverse pass run in the SymPy domain. With a
        point of exact SymPy numbers ({"x": Rational(1, 3)}), the exact value and gradient."""
        from .domains import sympy_domain

        D = sympy_domain(digits=self.limits.digits)
        symbols = symbols_for(self.variables) if point is None else dict(point)
        tape, out_name, _point, wrt, notes = self.resolve(symbols, output, wrt, numeric=False)
        tape.check_constants()
        index_of = self.graph.index_of
        skip, limits = (None, {}) if point is None else _exact_partials(tape, point, wrt,
                                                                         index_of)
        try:
            v = tape.forward(D, symbols)
            if point is None:   # a node SymPy finds constant (x - x) sends nothing back: its
                # derivative is 0 whatever its rule says at that constant (cbrt's at 0 is zoo)
                nodes = self.graph.nodes
                skip = {(i, k) for i, *_ in tape.backward_steps
                        if getattr(v[i], "is_number", False)
                        for k in range(len(nodes[i].args))} or None
            g = tape.backward(D, v, skip)
            grad = {w: _adjoint(g, index_of(w), D.zero) for w in wrt}
            grad.update(limits)   # 0·∞ partials: the exact limit, or None
            tape.check_undefined(v, {k: d for k, d in grad.items() if d is not None})
            if point is None:
                _refuse_infinities(self.graph, tape, v[tape.out], grad)
        except (MemoryError, OverflowError, RecursionError) as exc:
            # SymPy evaluating e^3^(10^105) on its way (its assumptions call evalf), or deciding
            # a comparison of such things by recursion (u + 0^-u^c >= 0^st: found by fuzz_parser)
            why = "too deep for SymPy" if isinstance(exc, RecursionError) else \
                f"beyond SymPy ({type(exc).__name__})"
            raise EvaluationError(f"the symbolic gradient is {why}", self.graph.source,
                                  self.graph.nodes[tape.out].span,
                                  hint="give a point with --at to get numbers") from None
        return SymbolicResult(out_name, v[tape.out], grad, tuple(notes), point)


_PLAN = "plan"         # first item of a plan's key among a Function's tapes
_VALUE = object()      # the output slot of the key of a plan for __call__ (the value alone)
_MOST_PLANS = 256      # tapes, plans and names seen once kept by one Function, at most


def _plan_key(point, output, wrt) -> tuple | None:
    """The key of the plan for a point given as a plain dict (its names in their order, the
    output, wrt as a tuple), or None when the call is not one a plan serves."""
    if type(point) is not dict:
        return None
    if wrt is not None:
        if type(wrt) is not list and type(wrt) is not tuple:
            return None
        wrt = tuple(wrt)
    key = (_PLAN, tuple(point), output, wrt)
    try:
        hash(key)
    except TypeError:   # an output or wrt of lists: the full path explains
        return None
    return key


class _Plan:
    """The fast path of ``Function.gradient`` (and ``__call__``) for one set of names: what
    ``resolve`` checked and everything derived from the tape, made once, so that a later point
    with the same names (in the same order) pays for little more than the tape's two passes.

    It serves only the common case and gives up (returns None) on anything else: a value that
    is not a finite plain number, a failure or a non-finite number in either pass, an op at the
    edge of its domain or at a kink or singular point. The full path then runs from the start,
    so every result, warning and error is the full path's own."""

    __slots__ = ("tape", "output", "names", "wrt", "notes", "template", "fill", "kinks",
                 "edges", "adjoints", "named")

    def __init__(self, tape: Tape, output: str, names: tuple, wrt: tuple, notes: tuple):
        self.tape, self.output, self.names, self.wrt, self.notes = tape, output, names, wrt, notes
        template, slots = tape.float_template()
        position = {name: k for k, name in enumerate(names)}
        self.template = template
        self.fill = [(i, position[name]) for i, name in slots if name in position]
        # resolve made sure every other input is a constant (pi, e), set in the template
        index_of = tape.graph.index_of
        beyond = tape.out + 1   # a node after the output gets 0: an entry appended there
        self.adjoints = [(w, min(index_of(w), beyond)) for w in wrt]   # (name, its entry)
        self.named = [(w, index_of(w)) for w in wrt
                      if w not in position and tape.keeps(index_of(w))]
        # (i, the argument of a one-argument op or None, args, kink test, singular test)
        self.kinks = [(i, args[0] if len(args) == 1 else None, args, kink, singular)
                      for i, args, kink, singular in tape.kinks]
        # (the arguments of a two-argument op or None, args, edge test)
        self.edges = [(args if len(args) == 2 else None, args, test)
                      for _i, args, test in tape.edges]

    def _values(self, point: dict) -> tuple[list, dict] | None:
        """The point's values as ``_clean_values`` makes them, as a list and as the point
        (None: leave it to the full path)."""
        clean = list(point.values())
        for x in clean:
            if type(x) is not float or x - x != 0.0:   # not a float, or inf or nan
                break
        else:
            if 0.0 not in clean:   # (-0.0 == 0.0) the values are the point's own
                return clean, point.copy()
        clean = []
        for x in point.values():
            if type(x) is not float:
                if _is_array(x):
                    return None
                try:
                    x = float(x)
                except Exception:   # noqa: BLE001 (the full path raises what it should)
                    return None
            if x - x != 0.0:
                return None
            clean.append(x + 0.0)   # -0.0 becomes 0.0
        return clean, dict(zip(self.names, clean, strict=True))

    def _forward(self, clean: list) -> list | None:
        """The forward pass as ``Tape.forward`` makes it, or None where that one would fail or
        look further (a value that is not finite)."""
        tape = self.tape
        v = self.template.copy()
        for i, k in self.fill:
            v[i] = clean[k]
        try:
            tape._run(FLOAT, v, tape.forward_steps)
        except Exception:   # noqa: BLE001
            return None
        return v if math.isfinite(sum(map(v.__getitem__, tape.step_nodes))) else None

    def value(self, point: dict) -> float | None:
        """The output's value, as ``Function.__call__`` gives it, or None."""
        values = self._values(point)
        v = None if values is None else self._forward(values[0])
        return None if v is None else v[self.tape.out]

    def gradient(self, point: dict) -> Result | None:
        """The Result ``Function.gradient`` gives, or None."""
        values = self._values(point)
        if values is None:
            return None
        clean, given = values
        tape = self.tape
        v = self.template.copy()   # (as _forward, inline: this is the hot path)
        for i, k in self.fill:
            v[i] = clean[k]
        try:
            tape._run(FLOAT, v, tape.forward_steps)
            if not math.isfinite(sum(map(v.__getitem__, tape.step_nodes))):
                return None   # Tape.forward would explain
            g = tape.float_backprop(v)
        except Exception:   # noqa: BLE001
            return None
        # the sum Tape.backward tests, over the same entries in the same order, plus zeros
        if not math.isfinite(sum(g)):
            return None   # Tape.backward would take its careful path
        for two, args, test in self.edges:   # an op at the edge of its domain (sqrt at 0)
            if test(v[two[0]], v[two[1]]) if two is not None else test(*[v[j] for j in args]):
                return None   # limits.isolated would look at it
        for i, a, args, kink, singular in self.kinks:   # where kinks_hit or unresolved look
            test = kink if g[i] != 0 else singular
            if test is not None and (test(v[a]) if a is not None else
                                     test(*[v[j] for j in args])):
                return None
        g.append(0.0)
        r = _new(Result)
        r.__dict__.update(output=self.output, value=v[tape.out],
                          gradient={w: g[i] for w, i in self.adjoints}, point=given,
                          warnings=self.notes,
                          intermediates={w: v[i] for w, i in self.named} if self.named else {},
                          kinks=(), determined={})   # as Result(...) makes it, but faster
        return r


_new = object.__new__


def _clean_values(point: dict, numeric: bool, tensor: bool, notes: list) -> dict[str, Any]:
    """The point's values as the passes take them: finite floats (-0.0 made 0.0), arrays on
    the tensor path, or as given (``numeric`` False: symbols, exact numbers)."""
    clean: dict[str, Any] = {}
    for k, x in point.items():
        if not numeric:
            clean[k] = x
            continue
        if tensor:
            from .tensor import array_value

            clean[k] = array_value(k, x)
            continue
        try:
            x = float(x)
        except (TypeError, ValueError, OverflowError):
            raise UsageError(f"the value of {k} is not a number: {x!r}") from None
        if not math.isfinite(x):
            raise UsageError(f"the value of {k} must be finite, not {x}")
        clean[k] = x + 0.0   # -0.0 becomes 0.0: atan2(-0.0, -1) would be -pi
        if k in CONSTANTS:
            notes.append(f"{k} is given a value, so here it is a variable, "
                         f"not the constant {k}")
    return clean


def _refuse_infinities(graph, tape, value, gradient) -> None:
    """A symbolic answer never shows complex infinity or NaN: y/0^x is zoo^x·y, defined only at
    x = 0. (Inside a Piecewise they mark a branch where the program is undefined, which is fine:
    1/relu(x) is 1/x for x > 0.)"""
    import sympy

    bad = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
    for what, expr in (("its value", value), *((f"∂/∂{k}", d) for k, d in gradient.items())):
        pieces = expr.atoms(sympy.Piecewise)
        try:
            core = expr.xreplace({p: sympy.Integer(0) for p in pieces}) if pieces else expr
        except (TypeError, ValueError):   # max(x, csc(0)): SymPy cannot even compare zoo
            core = sympy.zoo
        if core.has(*bad):
            raise EvaluationError(f"the program is undefined almost everywhere: SymPy makes "
                                  f"{what} {str(expr)[:80]}", graph.source,
                                  graph.nodes[tape.out].span,
                                  hint="give a point with --at to get numbers where it is "
                                       "defined")


def precise(fn: Function, point: dict, digits: int, wrt=None, output=None) -> SymbolicResult:
    """Value and gradient in mpmath at ``digits`` significant digits. ``point`` holds exact
    SymPy numbers (from --at), evaluated to the working precision."""
    from .domains import mpmath_domain

    D = mpmath_domain(digits)
    at = {k: D.context.mpf(str(v.evalf(digits + 10))) for k, v in point.items()}
    tape, out_name, _p, wrt, notes = fn.resolve(at, output, wrt, numeric=False)
    index_of = fn.graph.index_of
    skip, limits = _exact_partials(tape, point, wrt, index_of)
    v = tape.forward(D, at)
    g = tape.backward(D, v, skip)
    grad = {w: _adjoint(g, index_of(w), D.zero) for w in wrt}
    for w, lim in limits.items():   # 0·∞ partials: the exact limit to these digits, or None
        grad[w] = None if lim is None else D.context.mpf(str(lim.evalf(digits + 10)))
    return SymbolicResult(out_name, v[tape.out], grad, tuple(notes), at, digits)


def _exact_partials(tape, point, wrt, index_of):
    from .limits import exact_partials

    return exact_partials(tape, point, wrt, index_of)


def symbols_for(names):
    """Real SymPy symbols for the given variable names."""
    import sympy

    return {n: sympy.Symbol(n, real=True) for n in names}


def _is_array(x) -> bool:
    return isinstance(x, (list, tuple)) or getattr(x, "ndim", 0) >= 1


def _many(point, values) -> bool:
    """Whether the arguments give many points (some variable has a sequence of values)."""
    given = list(values.values())
    if isinstance(point, Mapping):
        given += list(point.values())
    elif point is not None:
        return True   # not a mapping: a table of points
    return any(_is_array(x) for x in given)


def _adjoint(g, index, zero=0.0):
    # A node after the output (or not on any path to it) does not affect it.
    return g[index] if index < len(g) and g[index] is not None else zero
