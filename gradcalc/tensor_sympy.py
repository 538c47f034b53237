"""The independent check of an array program's gradient (issue 15, docs/tensors.md).

Small arrays (at most ``MAX_ENTRIES`` entries in all the point's inputs) are checked by SymPy, entry
by entry: the same compiled tape runs forward in an *object-array domain* (``sympy_tensor_domain``:
NumPy arrays whose entries are SymPy expressions; elementwise functions are the SymPy domain's,
applied entry by entry; ``matmul``, ``sum``, ... are NumPy's on object arrays), with every entry
of each input a symbol of its own (``W[0,1]``). The scalar output becomes one SymPy expression of
the entries; ``sympy.diff`` differentiates it by each entry's symbol, knowing nothing of the
registry's VJPs, and the derivative at the point (exact rationals of the floats) is compared with
reverse mode's, entry by entry, with the scalar check's tolerance (``check._agree``).

At a point where the program is not differentiable (relu at exactly 0, a tie in max, abs at 0)
SymPy's derivative holds a Piecewise condition, a Heaviside or a sign at its boundary: both
sides are evaluated and, when they differ, the entry is ``undetermined``, never ``agree``.

Larger arrays, or SymPy not finishing within the check's time (``deadline.py``), fall back to the
numerical check (``tensor.numerical_check``: central differences); the result says which method
decided and why.
"""

from __future__ import annotations

import itertools
import math
import time
from types import SimpleNamespace
from typing import Any

from .deadline import with_sympy
from .domains import FUNCTIONS, sympy_domain
from .records import record, replace

MAX_ENTRIES = 36      # entries of the point's inputs, in all, that SymPy checks one by one
TOLERANCE = 1e-8      # the scalar check's: |ours - SymPy's| ≤ 1e-8·max(|ours|, |SymPy's|) + 1e-12
_FLOOR = 1e-4         # ... which is error(ours, SymPy's) ≤ TOLERANCE with this floor (see error)
_MAX_JUMPS = 6        # kinks met at once in one entry's derivative: past it, undetermined


# --- the verdicts --------------------------------------------------------------------------------

@record(frozen=True)
class EntryCheck:
    """One entry of one partial that a method did not confirm (agreeing entries are counted)."""

    index: tuple[int, ...]
    ours: float
    reference: float | None          # the method's value (None: it has none)
    status: str                      # disagree | undetermined
    note: str | None = None          # why undetermined
    kink: str | None = None          # the expression of the entries that is 0 at the point,
    #                                  where the derivative jumps (relu's argument, a - b in
    #                                  max(a, b))


@record(frozen=True)
class InputCheck:
    """The verdict on one partial (an input's, or an intermediate's with --wrt)."""

    name: str
    status: str                      # agree | disagree | undetermined
    entries: int                     # entries compared
    error: float                     # the largest relative error among them (SymPy: among
    #                                  those it determined)
    problems: tuple[EntryCheck, ...] = ()


@record(frozen=True)
class TensorCheck:
    """How an array program's gradient was checked and what came of it."""

    method: str                      # sympy | numerical
    status: str                      # agree | disagree | undetermined
    inputs: dict[str, InputCheck]
    threshold: float                 # an entry agrees when its error is at most this
    entries: int                     # entries compared, in all
    directions: int = 0              # numerical: random directions compared per input
    value: float | None = None       # sympy: the output's value
    value_status: str = "skipped"    # sympy: agree | disagree | skipped (no real value)
    seconds: float = 0.0
    reason: str | None = None        # why the method is not sympy, or a note on how it agreed

    @property
    def passed(self) -> bool:
        return self.status == "agree"

    @property
    def errors(self) -> dict[str, float]:
        """name -> the largest relative error (as NumericalCheck.errors)."""
        return {k: c.error for k, c in self.inputs.items()}

    def problem(self) -> str:
        """What failed, in words, for the error line: '' when the check passed."""
        said = []
        for status, words in (("disagree", "disagrees on"), ("undetermined",
                                                             "cannot decide")):
            names = [k for k, c in self.inputs.items() if c.status == status]
            if names:
                said.append(f"{words} {', '.join(names)}")
        if self.value_status == "disagree":
            said.append("disagrees on the value")
        how = "SymPy's entry-by-entry check" if self.method == "sympy" else \
            "the numerical gradient check"
        return f"{how} {' and '.join(said)}" if said else ""


def error(ours: float, ref: float) -> float:
    """|ours - ref| / (max(|ours|, |ref|) + 1e-4): at most TOLERANCE exactly when the scalar check
    (``check._agree``) calls the two equal, so one relative figure tells how close they are."""
    return abs(ours - ref) / (max(abs(ours), abs(ref)) + _FLOOR)


def _overall(statuses) -> str:
    statuses = set(statuses)
    for s in ("disagree", "undetermined"):
        if s in statuses:
            return s
    return "agree"


def entries(result) -> int:
    """Entries of the point's inputs and of the intermediates differentiated (--wrt q), in all:
    what decides between SymPy and the numerical check."""
    from .lazy import numpy

    np = numpy()
    counted = {name: int(np.size(x)) for name, x in result.point.items()}
    for name, g in result.gradient.items():
        counted.setdefault(name, int(np.size(g)))
    return sum(counted.values())


# --- the object-array domain ---------------------------------------------------------------------

_DOMAINS: dict[bool, SimpleNamespace] = {}


def sympy_tensor_domain(binary_literals: bool = False) -> SimpleNamespace:
    """The tensor domain's functions on NumPy object arrays of SymPy expressions (a scalar stays a
    SymPy expression): elementwise ones are the SymPy domain's, entry by entry, with NumPy's
    broadcasting; the array functions of ``domains.TENSOR_FUNCTIONS`` are NumPy's on object
    arrays, or written here with SymPy (reductions, softmax, det, ...), exact and without the
    numerical tricks of arraymath.py (softmax is not shifted by the max: that would put max's
    kink into SymPy's derivative). tests/test_tensor_sympy.py checks that it has every name
    ``tensor_domain()`` has."""
    if binary_literals in _DOMAINS:
        return _DOMAINS[binary_literals]
    import sympy

    np = _np()
    S = sympy_domain(binary_literals=binary_literals)

    def where(cond, then, otherwise):
        if np.ndim(cond) == 0:
            return S.where(_scalar(cond), then, otherwise)
        return _objects(np.where(np.asarray(cond, dtype=bool), then(), otherwise))

    ns = SimpleNamespace(**vars(S))
    ns.name = "sympy-tensor"
    for fn in FUNCTIONS:
        setattr(ns, fn, _entrywise(getattr(S, fn)))
    ns.where = where
    ns.matmul = lambda a, b: _result(np.matmul(_objects(a), _objects(b)))
    ns.transpose = lambda x: _result(np.transpose(_objects(x)))
    ns.outer = lambda a, b: np.outer(_objects(a), _objects(b))
    ns.sum = _sum
    ns.mean = _mean
    ns.size = np.size
    ns.shape = np.shape
    ns.ndim = np.ndim
    ns.broadcast_to = lambda x, shape: _result(np.broadcast_to(_objects(x), shape))
    ns.expand_dims = lambda x, axis: np.expand_dims(_objects(x), axis)
    ns.stack = lambda xs: np.stack([_objects(x) for x in xs])
    ns.sum_to = _sum_to
    ns.amax = lambda x, axis=None, keepdims=False: _reduce(sympy.Max, x, axis, keepdims)
    ns.amin = lambda x, axis=None, keepdims=False: _reduce(sympy.Min, x, axis, keepdims)
    ns.equal = _entrywise(lambda a, b: sympy.Piecewise((1, sympy.Eq(a, b)), (0, True)))
    ns.take = lambda x, key: _result(_objects(x)[key])
    ns.put = _put
    ns.softmax = _softmax
    ns.log_softmax = lambda x, axis: x - ns.log(_sum(ns.exp(x), axis, keepdims=True))
    ns.logsumexp = lambda x, axis: ns.log(_sum(ns.exp(x), axis))
    ns.cross_entropy = _cross_entropy
    ns.onehot = _onehot
    ns.trace = lambda x: sympy.Add(*np.diagonal(_objects(x)))
    ns.eye = _eye
    ns.det = lambda x: _matrix(x).det(method="berkowitz")
    ns.adjugate = lambda x: _array(_matrix(x).adjugate(method="berkowitz"))
    ns.inv = _inv
    ns.diag = _diag
    ns.diag_vjp = _diag_vjp
    ns.reshape = lambda x, dims: _result(np.reshape(_objects(x), dims))
    ns.argmax = _argmax
    ns.zeros_like = lambda x: _result(np.full(np.shape(x), sympy.S.Zero, dtype=object))
    _DOMAINS[binary_literals] = ns
    return ns


def _argmax(x, axis):
    """A position is not an expression of the entries: the numerical check decides (TypeError is
    one of the failures the check falls back on, saying so)."""
    raise TypeError("argmax has no SymPy form")


def _np():
    from .lazy import numpy

    return numpy()


def _reduce(fn, x, axis=None, keepdims=False):
    """fn(*entries) along ``axis`` (an axis, a tuple of them, or None: every entry), with
    NumPy's shapes: the axes dropped, or kept of size 1 with ``keepdims``."""
    np = _np()
    x = _objects(x)
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = tuple(sorted(a % x.ndim for a in axes)) if x.ndim else ()
    kept = tuple(n for k, n in enumerate(x.shape) if k not in axes)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    rows = moved.reshape((*kept, -1))
    out = np.empty(kept, dtype=object)
    for at in np.ndindex(*kept):
        out[at] = fn(*rows[at])
    if keepdims:
        out = out.reshape(tuple(1 if k in axes else n for k, n in enumerate(x.shape)))
    return _result(out)


def _sum(x, axis=None, keepdims=False):
    import sympy

    return _reduce(sympy.Add, x, axis, keepdims)


def _mean(x, axis=None, keepdims=False):
    import sympy

    np = _np()
    shape = np.shape(x)
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    n = 1
    for a in axes:
        n *= shape[a]
    return _sum(x, axis, keepdims) / sympy.Integer(n)


def _sum_to(g, shape):
    """g summed over the axes broadcasting added (leading) or stretched (size 1 in shape)."""
    np = _np()
    shape = tuple(shape)
    if np.shape(g) == shape:
        return g
    if shape == ():
        return _sum(g)
    lead = np.ndim(g) - len(shape)
    g = _sum(g, axis=tuple(range(lead))) if lead else g
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and np.shape(g)[k] != 1)
    return _sum(g, axis=stretched, keepdims=True) if stretched else g


def _zeros(shape):
    import sympy

    return _np().full(shape, sympy.Integer(0), dtype=object)


def _put(g, shape, key):
    """The VJP of x[key]: g where the entries were taken, 0 elsewhere."""
    z = _zeros(shape)
    z[key] = g
    return z


def _softmax(x, axis):
    import sympy

    e = _entrywise(sympy.exp)(x)
    return e / _sum(e, axis, keepdims=True)


def _labels(y) -> list[int]:
    """Class labels (exact integers at the point: the float pass has vetted them)."""
    np = _np()
    return [int(v) for v in np.ravel(_objects(y))]


def _cross_entropy(s, y):
    import sympy

    np = _np()
    s = _objects(s)
    labels = _labels(y)
    if s.ndim == 1:
        return sympy.log(_sum(_entrywise(sympy.exp)(s))) - s[labels[0]]
    rows = [sympy.log(_sum(_entrywise(sympy.exp)(s[r]))) - s[r, k]
            for r, k in enumerate(labels)]
    return sympy.Add(*rows) / sympy.Integer(np.shape(s)[0])


def _onehot(y, shape):
    import sympy

    z = _zeros(shape)
    for r, k in enumerate(_labels(y)):
        z[(k,) if len(shape) == 1 else (r, k)] = sympy.Integer(1)
    return z


def _eye(n):
    import sympy

    z = _zeros((n, n))
    for k in range(n):
        z[k, k] = sympy.Integer(1)
    return z


def _matrix(x):
    import sympy

    return sympy.Matrix(_objects(x).tolist())


def _array(m):
    np = _np()
    out = np.empty(m.shape, dtype=object)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[i, j] = m[i, j]
    return out


def _inv(x):
    """adj(A)/det(A), both without division (Berkowitz): entries SymPy differentiates simply."""
    m = _matrix(x)
    return _array(m.adjugate(method="berkowitz") / m.det(method="berkowitz"))


def _diag(x):
    np = _np()
    x = _objects(x)
    if x.ndim == 2:
        return np.diagonal(x).copy()
    z = _zeros((x.shape[0], x.shape[0]))
    for k in range(x.shape[0]):
        z[k, k] = x[k]
    return z


def _diag_vjp(g, shape):
    np = _np()
    g = _objects(g)
    if len(shape) == 1:
        return np.diagonal(g).copy()
    z = _zeros(shape)
    for k in range(min(shape)):
        z[k, k] = g[k]
    return z


def _objects(x):
    """x as a NumPy object array (0-d for a scalar)."""
    from .lazy import numpy

    np = numpy()
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    if isinstance(x, np.ndarray):
        return x.astype(object)
    a = np.empty((), dtype=object)
    a[()] = x
    return a


def _scalar(x):
    """A 0-d array's entry; anything else as it is."""
    from .lazy import numpy

    return x[()] if isinstance(x, numpy().ndarray) and x.ndim == 0 else x


def _expression(x):
    """The output as a SymPy expression (a constant output may come back a plain number); never
    through sympify, which can evaluate text."""
    import sympy

    x = _scalar(x)
    if isinstance(x, sympy.Basic):
        return x
    if float(x).is_integer() and abs(x) < 2**53:
        return sympy.Integer(int(x))
    return sympy.Float(float(x))


def _result(x):
    """An array op's result: an object array, or its one entry when it has no axes (a scalar
    stays a SymPy expression, as a float stays a float in the tensor domain)."""
    return _scalar(x)


def _entrywise(fn):
    """fn of SymPy scalars applied entry by entry, with NumPy's broadcasting."""
    from .lazy import numpy

    np = numpy()

    def apply(*xs):
        if all(np.ndim(x) == 0 for x in xs):
            return fn(*(_scalar(x) for x in xs))
        arrays = np.broadcast_arrays(*(_objects(x) for x in xs))
        out = np.empty(arrays[0].shape, dtype=object)
        for at in np.ndindex(*out.shape):
            out[at] = fn(*(a[at] for a in arrays))
        return out
    return apply


# --- choosing the method -------------------------------------------------------------------------

def sympy_check(fn, result, timeout: float) -> TensorCheck:
    """SymPy, entry by entry, within ``timeout`` seconds; the numerical check if SymPy gives no
    answer in time (or cannot run under a deadline), saying why."""
    start = time.perf_counter()
    tape = fn.resolve(result.point, result.output, list(result.gradient), tensor=True)[0]
    found, reason = with_sympy(lambda: _with_literals(fn, result), timeout, len(tape.order))
    if found is not None:
        return replace(found, seconds=time.perf_counter() - start)
    check = numerical(fn, result, reason)
    return replace(check, seconds=time.perf_counter() - start)


def numerical(fn, result, reason: str | None) -> TensorCheck:
    """The numerical check (tensor.numerical_check) as a TensorCheck; ``reason``: why not SymPy."""
    from .lazy import numpy
    from .tensor import numerical_check

    np = numpy()
    start = time.perf_counter()
    found = numerical_check(fn, result)
    inputs = {}
    for name, e in found.errors.items():
        n = min(int(np.size(result.point[name])), 40)
        inputs[name] = InputCheck(name, "agree" if e <= found.threshold else "disagree", n, e)
    return TensorCheck("numerical", _overall(c.status for c in inputs.values()), inputs,
                       found.threshold, found.entries, found.directions,
                       seconds=time.perf_counter() - start, reason=reason)


def _with_literals(fn, result) -> TensorCheck:
    """As the scalar check: literals are the exact decimals typed (0.1 is 1/10); if that
    disagrees, again with their float64 values, which reverse mode computed with."""
    check = _sympy_check(fn, result, sympy_tensor_domain())
    if check.status != "disagree":
        return check
    again = _sympy_check(fn, result, sympy_tensor_domain(binary_literals=True))
    if again.status != "disagree":
        return replace(again, reason="agrees once literals are taken as their float64 values"
                       if again.status == "agree" else "literals taken as their float64 values")
    return check


# --- SymPy, entry by entry -----------------------------------------------------------------------

def _sympy_check(fn, result, D) -> TensorCheck:
    """Run the tape forward on symbols, differentiate the output by each entry, compare."""
    f, subs, parts = _expressions(fn, result, D)
    value = _number(f.xreplace(subs))
    value_status = "skipped" if value is None else (
        "agree" if error(result.value, value) <= TOLERANCE else "disagree")
    checks = {w: _compare(w, fw, symbols, at, result.gradient[w])
              for w, (fw, symbols, at) in parts.items()}
    statuses = [c.status for c in checks.values()]
    if value_status == "disagree":
        statuses.append("disagree")
    return TensorCheck("sympy", _overall(statuses), checks, TOLERANCE,
                       sum(c.entries for c in checks.values()), value=value,
                       value_status=value_status)


def sympy_gradient(fn, result, binary_literals: bool = False) -> dict[str, Any]:
    """SymPy's own partials at the point, entry by entry, each of its input's shape (a float for
    a scalar): NaN where the derivative has no one value (a kink). Independent of reverse mode:
    what the check compares ``result.gradient`` with."""
    import sympy

    from .lazy import numpy

    np = numpy()
    _f, _subs, parts = _expressions(fn, result, sympy_tensor_domain(binary_literals))
    out: dict[str, Any] = {}
    for w, (fw, symbols, at) in parts.items():
        values = np.full(np.shape(symbols), np.nan)
        for i, s in _entries(symbols):
            ref = _at_point(sympy.diff(fw, s), at)[0]
            values[i] = np.nan if ref is None else ref
        out[w] = values if values.ndim else float(values)
    return out


def _expressions(fn, result, D) -> tuple[Any, dict, dict[str, tuple[Any, Any, dict]]]:
    """(f, subs, parts): the output as one SymPy expression of the entries of the inputs
    differentiated, subs their values at the point, and for each name of result.gradient,
    (the expression to differentiate, its symbols, their values): f itself for an input; for an
    intermediate (--wrt q), the output with q's own symbols in place of q and the inputs exact."""

    from .lazy import numpy

    np = numpy()
    tape, _name, clean, wrt, _notes = fn.resolve(result.point, result.output,
                                                 list(result.gradient), tensor=True)
    exact = {name: _exact(x) for name, x in clean.items()}
    inputs = [w for w in wrt if w in clean]
    symbols = {w: _symbols(w, np.shape(clean[w])) for w in inputs}
    point = {name: symbols.get(name, value) for name, value in exact.items()}
    f = _expression(_run(tape, D, point))
    subs = {s: exact[w][at] if at else exact[w]
            for w in inputs for at, s in _entries(symbols[w])}
    parts = {w: (f, symbols[w], subs) for w in inputs}
    values = None
    for w in wrt:
        if w in clean:
            continue
        k = tape.graph.index_of(w)
        if values is None:
            values = tape.leaves(D, exact)
            tape._run(D, values, tape.forward_steps)
        shape = np.shape(result.gradient[w])
        q = _symbols(w, shape)
        here = values[k] if tape.keeps(k) else np.zeros(shape, dtype=object)
        fq = _expression(_run(tape, D, exact, (k, q)))
        parts[w] = (fq, q, {s: (_objects(here)[i] if i else _scalar(here))
                            for i, s in _entries(q)})
    return f, subs, {w: parts[w] for w in wrt}


def _run(tape, D, point: dict, override: tuple[int, Any] | None = None):
    """The output's value in domain D; ``override`` = (node, value) replaces a node's value.
    (Not Tape.forward: its errors are the user's; here SymPy failing is the check's, which
    falls back on central differences.)"""
    v = tape.leaves(D, point)
    steps = tape.forward_steps
    if override is None or not tape.keeps(override[0]):
        tape._run(D, v, steps)
    else:
        k, value = override
        cut = next((s for s, step in enumerate(steps) if step[0] > k), len(steps))
        tape._run(D, v, steps[:cut])
        v[k] = value
        tape._run(D, v, steps[cut:])
    return v[tape.out]


def _exact(x):
    """A point's value as exact rationals (the float64 values themselves): an object array, or
    one SymPy Rational."""
    import sympy

    from .lazy import numpy

    np = numpy()
    if np.ndim(x) == 0:
        return sympy.Rational(float(x))
    out = np.empty(np.shape(x), dtype=object)
    for at in np.ndindex(*out.shape):
        out[at] = sympy.Rational(float(x[at]))
    return out


def _symbols(name: str, shape: tuple[int, ...]):
    """One real symbol per entry, named by its index (W[0,1]: no program name has brackets, so
    no two can clash); a scalar's is its name."""
    import sympy

    from .lazy import numpy

    np = numpy()
    if not shape:
        return sympy.Symbol(name, real=True)
    out = np.empty(shape, dtype=object)
    for at in np.ndindex(*shape):
        out[at] = sympy.Symbol(f"{name}[{','.join(map(str, at))}]", real=True)
    return out


def _entries(symbols):
    """(index, symbol) for each entry: index () for a scalar."""
    from .lazy import numpy

    np = numpy()
    if np.ndim(symbols) == 0:
        return [((), symbols)]
    return [(at, symbols[at]) for at in np.ndindex(*symbols.shape)]


def _compare(name: str, f, symbols, subs: dict, ours) -> InputCheck:
    """Each entry's partial: sympy.diff of f by its symbol, at the point, against ours."""
    import sympy

    from .lazy import numpy

    np = numpy()
    ours = np.asarray(ours, dtype=np.float64)
    problems, worst, n = [], 0.0, 0
    for at, s in _entries(symbols):
        d = sympy.diff(f, s)
        mine = float(ours[at])
        ref, note, kink = _at_point(d, subs)
        n += 1
        if ref is None:
            problems.append(EntryCheck(at, mine, None, "undetermined", note, kink))
            continue
        e = error(mine, ref)
        worst = max(worst, e)
        if e > TOLERANCE:
            problems.append(EntryCheck(at, mine, ref, "disagree", note))
    return InputCheck(name, _overall(p.status for p in problems), n, worst, tuple(problems))


def _at_point(d, subs: dict) -> tuple[float | None, str | None, str | None]:
    """SymPy's derivative d at the point, as a float, or None with why (and the kink, an
    expression of the entries that is 0 here) when it has no one value there: it jumps (a
    Piecewise condition, Heaviside or sign at its boundary, with different values on either
    side), is infinite (DiracDelta at 0) or is not a real number."""
    import sympy
    from sympy.core.relational import Relational

    jumps: list[tuple[Any, tuple]] = []
    kink = None
    for atom in d.atoms(Relational, sympy.Heaviside, sympy.sign, sympy.DiracDelta):
        arg = atom.lhs - atom.rhs if isinstance(atom, Relational) else atom.args[0]
        if not _at_zero(arg.xreplace(subs)):
            continue
        kink = _kink_text(arg)
        if isinstance(atom, sympy.DiracDelta):
            return None, "SymPy's derivative is infinite here", kink
        sides = ((sympy.true, sympy.false) if isinstance(atom, Relational) else
                 (sympy.Integer(0), sympy.Integer(1)) if isinstance(atom, sympy.Heaviside) else
                 (sympy.Integer(-1), sympy.Integer(1)))
        jumps.append((atom, sides))
    if not jumps:
        ref = _number(d.xreplace(subs))
        return ref, None if ref is not None else "SymPy's derivative has no real value here", None
    if len(jumps) > _MAX_JUMPS:
        return None, f"{len(jumps)} kinks meet here", kink
    values = []
    for choice in itertools.product(*(sides for _atom, sides in jumps)):
        side = dict(zip((atom for atom, _sides in jumps), choice, strict=True))
        values.append(_number(d.xreplace(side).xreplace(subs)))
    found = [v for v in values if v is not None]
    if len(found) < len(values) or any(error(v, found[0]) > TOLERANCE for v in found):
        shown = sorted({"no value" if v is None else f"{v:.6g}" for v in values})
        said = (f"{shown[0]} on one side, {shown[1]} on the other" if len(shown) == 2 else
                f"{', '.join(shown)} on its sides")
        return None, f"the derivative jumps here: {said}", kink
    return found[0], None, None


def _kink_text(arg) -> str:
    """'W[0,0]*x[0] + W[0,1]*x[1] + b[0]': the expression at its kink, short enough to read."""
    from .printing import sstr

    text = sstr(arg)
    return text if len(text) <= 60 else text[:57] + "..."


def _at_zero(x) -> bool:
    """Whether an expression without symbols is zero (or too close to tell at 50 digits)."""
    if x == 0 or x.is_zero:
        return True
    if x.free_symbols:
        return True   # cannot be evaluated here: taken as a kink, never as a confirmation
    try:
        z = complex(x.evalf(50))
    except (TypeError, ValueError):
        return False
    return abs(z) < 1e-40


def _number(x) -> float | None:
    """A SymPy expression without symbols as a float at 30 digits, or None when it is not a
    finite real number."""
    try:
        z = complex(x.evalf(30))
    except (TypeError, ValueError):
        return None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)) or not math.isfinite(z.real):
        return None
    return z.real
