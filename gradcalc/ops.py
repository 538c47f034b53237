"""The op registry: every operation gradcalc knows, defined once.

Each entry holds the op's value rule and, beside it, one local-derivative rule per argument,
both written against a domain namespace ``D`` (see ``domains.py``) so they run on floats and on
SymPy expressions alike. A derivative rule receives the arguments and the op's own output ``out``
(reusing it is cheaper: exp' = exp). The entry also says where the op is defined (``requires``,
used to explain a failure), where it is not differentiable (``kink``), and how it is spelled.

Each op's backward rule is a vector-Jacobian product, ``vjp(D, upstream, args, out)`` -> one
downstream gradient per argument (None where an argument gets nothing). A scalar op's VJP is
derived from its local partials (upstream × partial, which --steps prints edge by edge); an op
whose chain rule is not a scalar product (a matrix product) supplies only a VJP.

Adding a function means adding one entry here and its tests; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .records import record

Rule = Callable[..., Any]   # its result is the domain's: a float, a SymPy expression, a node...
VARIADIC = -1


@record(frozen=True)
class Op:
    """One operation: value rule, per-argument derivative rules, domain and spelling."""

    name: str
    arity: int                       # number of arguments, or VARIADIC (two or more)
    value: Rule                      # value(D, *args)
    partials: tuple[Rule, ...]       # partials[k](D, *args, out)
    #                                  variadic: one rule, partials[0](D, k, args, out)
    params: tuple[str, ...] = ("x",)  # argument names used in messages
    requires: tuple[tuple[Callable[..., bool], str], ...] = ()  # (predicate(*args), the rule)
    kink: tuple[Callable[..., bool], str] | None = None   # (non-differentiable?, convention used)
    #                                  kink and singular tests also run on arrays: use & not and
    infix: str | None = None         # operator spelling ('+'); None for functions called by name
    doc: str = ""
    calls: tuple[str, ...] = ()      # names that call it as a function: log(x), ln(x)
    singular: Callable[..., bool] | None = None   # where a local derivative is infinite
    flat: Callable[..., bool] | None = None   # flat(k, xs, out, varying): constant in argument k
    #                                  near this point (a structural zero: masks what flows in)
    edge: Callable[..., bool] | None = None   # at the edge of the op's domain (sqrt at 0): the
    #                                  program may be defined at the point alone, with no slope
    vjp: Rule | None = None          # vjp(D, upstream, args, out) -> downstream per argument;
    #                                  derived from ``partials`` when not given
    shape: Callable[..., tuple] | None = None   # shape(shapes, names) -> the output's shape, or
    #                                  ShapeError; None: elementwise, NumPy's broadcasting rules
    array_vjp: Rule | None = None    # the VJP on arrays (docs/tensors.md): an elementwise op's is
    #                                  its scalar VJP un-broadcast to each argument's shape
    static: str | None = None        # the op takes a parameter fixed in the text, not a node:
    #                                  "axis" (sum(X, 0)), "index" (x[1:3]), "dims" (reshape);
    #                                  it is the node's ``value``, passed to value, array_vjp and
    #                                  shape as the keyword p
    labels: tuple[int, ...] = ()     # arguments that are class labels: integers, no gradient
    selective: bool = False          # its array VJP takes need=(bool per argument) and skips the
    #                                  gradients not needed (X in X @ W: data, a big product)

    def __post_init__(self):
        if self.vjp is None:
            object.__setattr__(self, "vjp", _scalar_vjp(self))
        if self.array_vjp is None:
            object.__setattr__(self, "array_vjp", _broadcast_vjp(self) if self.partials
                               else self.vjp)

    def local(self, D, k: int, xs: tuple, out):
        """∂out/∂(argument k): the scalar partial (an op with only a VJP has none)."""
        if self.arity == VARIADIC:
            return self.partials[0](D, k, xs, out)
        return self.partials[k](D, *xs, out)


def _scalar_vjp(op: Op) -> Rule:
    """upstream × local partial, for each argument."""
    def vjp(D, upstream, xs, out):
        return tuple(upstream * op.local(D, k, xs, out) for k in range(len(xs)))
    return vjp


def _broadcast_vjp(op: Op) -> Rule:
    """upstream × local partial, elementwise, summed back to each argument's shape (the axes
    broadcasting added or stretched): b in W@x + b gets the sum over what b was added to."""
    def vjp(D, upstream, xs, out):
        return tuple(D.sum_to(upstream * op.local(D, k, xs, out), D.shape(x))
                     for k, x in enumerate(xs))
    return vjp


class ShapeError(ValueError):
    """Operands whose shapes an op cannot take; the message names them (tensor.shapes adds the
    caret: under argument ``arg`` when given, else under the whole op)."""

    def __init__(self, message: str, arg: int | None = None):
        super().__init__(message)
        self.arg = arg


# One row of the op table below: the four optional marks are keyword-only, so each is named
# where it is given (kink=..., singular=...), as Op's own fields.
def _unary(name, value, partial, doc, requires=(), *,  # noqa: PLR0913
           kink=None, aliases=(), singular=None, flat=None):
    # a unary op whose derivative is infinite somewhere has it at the edge of its domain
    return Op(name, 1, value, (partial,), ("x",), requires, kink, None, doc, (name, *aliases),
              singular, flat, edge=singular if requires else None)


_POS = ((lambda x: x > 0), "{x} > 0")
_NONNEG = ((lambda x: x >= 0), "{x} ≥ 0")
_UNIT = ((lambda x: -1 <= x <= 1), "-1 ≤ {x} ≤ 1")


def _pow_dbase(D, x, y, out):
    # d(x^y)/dx = y x^(y-1); for y = 0 it is 0, even at x = 0 where x^-1 is not finite.
    return D.where(y != 0, lambda: y * D.pow(x, y - D.one), D.zero)


def _pow_dexp(D, x, y, out):
    # d(x^y)/dy = x^y ln x. At x = 0 the product's limit is 0 (for y > 0), as PyTorch returns.
    # NOTE: not at x = y = 0, where 0^y jumps from 1 to 0: ln 0 refuses there.
    return D.where((x != 0) | (y == 0), lambda: out * D.log(x), D.zero)


def _first(k: int, xs: tuple) -> tuple:
    """The arguments with the k-th first: maxshare(x_k, the others...) is max's slope in x_k."""
    return (xs[k], *xs[:k], *xs[k + 1:])


def _square(x):
    return x * x


def _tied(*xs):
    """Whether two or more arguments share the largest value. Written with & and sums so that it
    runs on numbers and, element by element, on NumPy arrays (many points at once)."""
    count = 0
    for k, x in enumerate(xs):
        top = True
        for m, y in enumerate(xs):
            if m != k:
                top = top & (x >= y)
        count = count + top
    return count > 1


def _tied_low(*xs):
    return _tied(*(-x for x in xs))


OPS: tuple[Op, ...] = (
    # --- operators -------------------------------------------------------------------------
    Op("add", 2, lambda D, x, y: x + y,
       (lambda D, x, y, out: D.one, lambda D, x, y, out: D.one),
       ("x", "y"), infix="+", doc="x + y"),
    Op("sub", 2, lambda D, x, y: x - y,
       (lambda D, x, y, out: D.one, lambda D, x, y, out: -D.one),
       ("x", "y"), infix="-", doc="x - y"),
    Op("mul", 2, lambda D, x, y: x * y,
       (lambda D, x, y, out: y, lambda D, x, y, out: x),
       ("x", "y"), infix="*", doc="x * y (also implicit: 2x, 2(x+1), (x+1)(x-1))",
       flat=lambda k, xs, out, varying: not varying[1 - k] and xs[1 - k] == 0),   # 0*x
    Op("div", 2, lambda D, x, y: x / y,
       (lambda D, x, y, out: D.one / y, lambda D, x, y, out: -out / y),
       ("numerator", "denominator"),
       requires=(((lambda x, y: y != 0), "a nonzero denominator"),),
       infix="/", doc="x / y",
       flat=lambda k, xs, out, varying: k == 1 and not varying[0] and xs[0] == 0),   # 0/x
    Op("neg", 1, lambda D, x: -x, (lambda D, x, out: -D.one,), infix="-", doc="-x"),
    Op("pow", 2, lambda D, x, y: D.pow(x, y),
       (_pow_dbase, _pow_dexp),
       ("base", "exponent"),
       requires=(((lambda x, y: x >= 0 or float(y).is_integer()),
                  "an integer exponent when the base is negative"),
                 ((lambda x, y: x != 0 or y >= 0), "an exponent ≥ 0 when the base is 0")),
       infix="^", doc="x ^ y, x ** y, pow(x, y): right-associative, binds tighter than unary minus",
       calls=("pow",), singular=lambda x, y: (x == 0) & (y < 1) & (y != 0),
       edge=lambda x, y: (x == 0) & (y != 0) & (y != float(int(y)) if abs(y) < 1e15 else False),
       # x^0 is constant in x, 1^y in y (when that 0 or 1 is a constant of the program)
       flat=lambda k, xs, out, varying: not varying[1 - k] and xs[1 - k] == (0, 1)[k]),
    # --- exponentials and logarithms --------------------------------------------------------
    _unary("exp", lambda D, x: D.exp(x), lambda D, x, out: out, "e^x"),
    _unary("log", lambda D, x: D.log(x), lambda D, x, out: D.one / x, "natural logarithm",
           (_POS,), aliases=("ln",)),
    Op("logb", 2, lambda D, x, b: D.log(x) / D.log(b),
       (lambda D, x, b, out: D.one / (x * D.log(b)),
        lambda D, x, b, out: -out / (b * D.log(b))),
       ("x", "base"),
       requires=(((lambda x, b: x > 0), "{x} > 0"), ((lambda x, b: b > 0), "a base > 0"),
                 ((lambda x, b: b != 1), "a base ≠ 1")),
       doc="log(x, base): logarithm to a base", calls=("log",)),
    _unary("log2", lambda D, x: D.log2(x), lambda D, x, out: D.one / (x * D.log(2 * D.one)),
           "base-2 logarithm", (_POS,)),
    _unary("log10", lambda D, x: D.log10(x), lambda D, x, out: D.one / (x * D.log(10 * D.one)),
           "base-10 logarithm", (_POS,)),
    _unary("sqrt", lambda D, x: D.sqrt(x), lambda D, x, out: D.one / (2 * out),
           "square root (derivative infinite at 0)", (_NONNEG,), singular=lambda x: x == 0),
    _unary("cbrt", lambda D, x: D.cbrt(x), lambda D, x, out: D.one / (3 * out * out),
           "real cube root, defined for every x (derivative infinite at 0)",
           singular=lambda x: x == 0),
    # --- piecewise ----------------------------------------------------------------------------
    _unary("abs", lambda D, x: D.abs(x), lambda D, x, out: D.sign(x), "absolute value, also |x|",
           kink=((lambda x: x == 0), "abs'(0) = 0")),
    _unary("relu", lambda D, x: D.relu(x), lambda D, x, out: D.step(x), "max(x, 0)",
           kink=((lambda x: x == 0), "relu'(0) = 0"),
           flat=lambda k, xs, out, varying: xs[0] < 0),
    Op("max", VARIADIC, lambda D, *xs: D.max(*xs),
       (lambda D, k, xs, out: D.maxshare(*_first(k, xs)),), ("x", "y"),
       kink=(_tied,
             "an even split of the gradient among tied arguments"),
       doc="largest of two or more arguments", calls=("max",),
       flat=lambda k, xs, out, varying: xs[k] < out),   # an argument not selected
    Op("min", VARIADIC, lambda D, *xs: D.min(*xs),
       (lambda D, k, xs, out: D.minshare(*_first(k, xs)),), ("x", "y"),
       kink=(_tied_low,
             "an even split of the gradient among tied arguments"),
       doc="smallest of two or more arguments", calls=("min",),
       flat=lambda k, xs, out, varying: xs[k] > out),
    # --- trigonometric ------------------------------------------------------------------------
    _unary("sin", lambda D, x: D.sin(x), lambda D, x, out: D.cos(x), "sine (radians)"),
    _unary("cos", lambda D, x: D.cos(x), lambda D, x, out: -D.sin(x), "cosine"),
    _unary("tan", lambda D, x: D.tan(x), lambda D, x, out: D.one + out * out, "tangent"),
    _unary("sec", lambda D, x: D.sec(x), lambda D, x, out: out * D.tan(x), "1/cos(x)"),
    _unary("csc", lambda D, x: D.csc(x), lambda D, x, out: -out * D.cot(x), "1/sin(x)",
           (((lambda x: x != 0), "sin({x}) ≠ 0"),)),
    _unary("cot", lambda D, x: D.cot(x), lambda D, x, out: -(D.one + out * out), "cos(x)/sin(x)",
           (((lambda x: x != 0), "sin({x}) ≠ 0"),)),
    _unary("asin", lambda D, x: D.asin(x), lambda D, x, out: D.one / D.sqrt(D.one - x * x),
           "inverse sine (derivative infinite at ±1)", (_UNIT,), singular=lambda x: abs(x) == 1),
    _unary("acos", lambda D, x: D.acos(x), lambda D, x, out: -D.one / D.sqrt(D.one - x * x),
           "inverse cosine (derivative infinite at ±1)", (_UNIT,),
           singular=lambda x: abs(x) == 1),
    _unary("atan", lambda D, x: D.atan(x), lambda D, x, out: D.one / (D.one + x * x),
           "inverse tangent"),
    Op("atan2", 2, lambda D, y, x: D.atan2(y, x),
       (lambda D, y, x, out: x / (x * x + y * y), lambda D, y, x, out: -y / (x * x + y * y)),
       ("y", "x"), doc="angle of the point (x, y); atan2(y, x)", calls=("atan2",),
       singular=lambda y, x: (x == 0) & (y == 0),
       # NOTE: zeros carry no sign (atan2(0, -1) = π however the 0 came about), and the value
       # jumps by 2π across the negative x-axis, where the slope of either side is used.
       kink=((lambda y, x: (y == 0) & (x < 0)),
             "the slope of the branches on either side (atan2 jumps by 2π across the negative "
             "x-axis)")),
    # --- hyperbolic ---------------------------------------------------------------------------
    _unary("sinh", lambda D, x: D.sinh(x), lambda D, x, out: D.cosh(x), "hyperbolic sine"),
    _unary("cosh", lambda D, x: D.cosh(x), lambda D, x, out: D.sinh(x), "hyperbolic cosine"),
    _unary("tanh", lambda D, x: D.tanh(x), lambda D, x, out: _square(D.sech(x)),
           "hyperbolic tangent"),
    # NOTE: tanh' = 1 - tanh², but 1 - tanh(20)² is 0 in float64 where the slope is 1.7e-17;
    # sech² keeps every digit (sech is computed as 2t/(1+t²), t = e^-|x|: it never overflows).
    _unary("sech", lambda D, x: D.sech(x), lambda D, x, out: -out * D.tanh(x),
           "hyperbolic secant, 1/cosh(x)"),
    _unary("asinh", lambda D, x: D.asinh(x), lambda D, x, out: D.one / D.sqrt(x * x + D.one),
           "inverse hyperbolic sine"),
    _unary("acosh", lambda D, x: D.acosh(x), lambda D, x, out: D.one / D.sqrt(x * x - D.one),
           "inverse hyperbolic cosine (derivative infinite at 1)",
           (((lambda x: x >= 1), "{x} ≥ 1"),), singular=lambda x: x == 1),
    _unary("atanh", lambda D, x: D.atanh(x), lambda D, x, out: D.one / (D.one - x * x),
           "inverse hyperbolic tangent", (((lambda x: -1 < x < 1), "-1 < {x} < 1"),)),
    # --- machine learning and special ---------------------------------------------------------
    # NOTE: σ' = σ(1-σ), but 1 - σ(30) has lost its digits; σ(x)·σ(-x) keeps them.
    _unary("sigmoid", lambda D, x: D.sigmoid(x),
           lambda D, x, out: D.sigmoid(x) * D.sigmoid(-x), "1/(1 + e^-x)"),
    _unary("softplus", lambda D, x: D.softplus(x), lambda D, x, out: D.sigmoid(x),
           "log(1 + e^x), computed without overflow"),
    _unary("erf", lambda D, x: D.erf(x),
           lambda D, x, out: 2 * D.exp(-x * x) / D.sqrt(D.pi), "error function"),
    # --- the pieces derivative rules are made of (so that a derivative is itself a program) -------
    _unary("sign", lambda D, x: D.sign(x), lambda D, x, out: D.zero, "-1, 0 or 1",
           kink=((lambda x: x == 0), "sign'(0) = 0"), flat=lambda k, xs, out, varying: xs[0] != 0),
    _unary("step", lambda D, x: D.step(x), lambda D, x, out: D.zero,
           "1 if x > 0 else 0 (relu's slope)", kink=((lambda x: x == 0), "step'(0) = 0"),
           flat=lambda k, xs, out, varying: xs[0] != 0),
    Op("maxshare", VARIADIC, lambda D, *xs: D.maxshare(*xs),
       (lambda D, k, xs, out: D.zero,), ("x", "y"),
       doc="max's slope in its first argument: 1 if x is the largest, shared evenly at a tie, "
           "else 0", calls=("maxshare",), kink=(_tied, "a slope of 0"),
       flat=lambda k, xs, out, varying: _tied(*xs) ^ True),
    Op("minshare", VARIADIC, lambda D, *xs: D.minshare(*xs),
       (lambda D, k, xs, out: D.zero,), ("x", "y"),
       doc="min's slope in its first argument", calls=("minshare",),
       kink=(_tied_low, "a slope of 0"), flat=lambda k, xs, out, varying: _tied_low(*xs) ^ True),
)



# --- array ops (docs/tensors.md) -----------------------------------------------------------------
# Rules on values that are arrays: each has its shape rule and its own VJP (no scalar partials).
# shape(shapes, names): names[k] describes argument k for messages, e.g. "W (3×4)".

class ValueRefused(ValueError):
    """An array op refusing its values (a singular matrix, a class label out of range). The
    message may name arguments as {0}, {1}; the tensor path fills in their text and puts the
    caret under argument ``arg`` (or the whole op)."""

    def __init__(self, message: str, arg: int | None = None):
        super().__init__(message)
        self.arg = arg


def _need(test: bool, message: str, arg: int | None = 0):
    if not test:
        raise ShapeError(message, arg)


def _matmul_shape(shapes, names):
    a, b = shapes
    if not a or not b or len(a) > 2 or len(b) > 2:
        which = names[0] if not a or len(a) > 2 else names[1]
        raise ShapeError(f"@ multiplies vectors and matrices, and {which} is not one"
                         + (" (use * for a scalar)" if not a or not b else ""))
    if a[-1] != b[0]:
        raise ShapeError(f"cannot multiply {names[0]} by {names[1]}: {a[-1]} ≠ {b[0]}")
    return a[:-1] + b[1:]


def _matmul_vjp(D, g, xs, out, need=(True, True)):
    a, b = xs
    da = db = None
    if need[0]:
        da = D.outer(g, b) if D.ndim(a) == 2 and D.ndim(b) == 1 else (
            g * b if D.ndim(a) == 1 and D.ndim(b) == 1 else D.matmul(g, D.transpose(b)))
    if need[1]:
        db = D.outer(a, g) if D.ndim(a) == 1 and D.ndim(b) == 2 else (
            g * a if D.ndim(a) == 1 and D.ndim(b) == 1 else D.matmul(D.transpose(a), g))
    return da, db


def _stack_shape(shapes, names):
    for k, s in enumerate(shapes[1:], 1):
        if s != shapes[0]:
            raise ShapeError(f"a ragged array: {names[k]} does not match the first entry, "
                             f"{names[0]}", arg=k)
    return (len(shapes), *shapes[0])


def _axis(shape, p, names, what: str, default=None) -> int | None:
    """The axis p of an argument of ``shape`` (negative counts from the end), or ``default``."""
    if p is None:
        return default
    if not -len(shape) <= p < len(shape):
        raise ShapeError(f"{what} along axis {p}: {names[0]} has "
                         + (f"axes 0 to {len(shape) - 1}" if shape else "no axes"), None)
    return p % len(shape)


def _reduce_shape(shapes, names, p=None):
    shape = shapes[0]
    axis = _axis(shape, p, names, "cannot reduce")
    return () if axis is None else shape[:axis] + shape[axis + 1:]


def _reduce_vjp(D, g, xs, out, p=None, mean=False):
    """sum: g copied back over the axis it summed (everywhere for the whole array); mean: / n."""
    x = xs[0]
    shape = D.shape(x)
    if p is not None and shape:
        g = D.expand_dims(g, p)
    n = D.size(x) if p is None or not shape else shape[p]
    return (D.broadcast_to(g / n if mean else g, shape),)


def _extreme_vjp(D, g, xs, out, p=None):
    """max(X), min(X) of every entry (or along axis p): g to the entries equal to the result,
    shared at a tie."""
    if p is None:
        mask = D.equal(xs[0], out)
        return (g * mask / D.sum(mask),)
    mask = D.equal(xs[0], D.expand_dims(out, p))
    return (D.expand_dims(g, p) * mask / D.sum(mask, axis=p, keepdims=True),)


def _index_shape(shapes, names, p=()):
    shape, out = shapes[0], []
    if len(p) > len(shape):
        raise ShapeError(f"too many indices: {names[0]} has {len(shape)} ax"
                         f"{'i' if len(shape) == 1 else 'e'}s, and {len(p)} are given")
    for axis, item in enumerate(p):
        n = shape[axis]
        if isinstance(item, int):
            _need(-n <= item < n, f"index {item} is out of range for {names[0]}"
                  + (f" along axis {axis}" if len(shape) > 1 else "")
                  + f": it has {n} entr{'y' if n == 1 else 'ies'}", None)
        else:
            size = len(range(*item.indices(n)))
            _need(size > 0, f"the slice {slice_text(item)} selects nothing from {names[0]}"
                  + (f" along axis {axis}" if len(shape) > 1 else ""), None)
            out.append(size)
    return (*out, *shape[len(p):])


def slice_text(s) -> str:
    text = f"{'' if s.start is None else s.start}:{'' if s.stop is None else s.stop}"
    return text + (f":{s.step}" if s.step is not None else "")


def _softmax_vjp(D, g, xs, out, p=None):
    axis = -1 if p is None else p
    return (out * (g - D.sum(g * out, axis=axis, keepdims=True)),)


def _log_softmax_vjp(D, g, xs, out, p=None):
    axis = -1 if p is None else p
    return (g - D.exp(out) * D.sum(g, axis=axis, keepdims=True),)


def _logsumexp_vjp(D, g, xs, out, p=None):
    axis = -1 if p is None else p
    return (D.expand_dims(g, axis) * D.softmax(xs[0], axis),)


def _along_shape(shapes, names, p=None, what="softmax", reduce=False):
    shape = shapes[0]
    _need(len(shape) >= 1, f"{what} needs a vector or a matrix, not {names[0]}")
    axis = _axis(shape, p, names, f"cannot take {what}", default=len(shape) - 1)
    return shape[:axis] + shape[axis + 1:] if reduce else shape


def _cross_entropy_shape(shapes, names):
    scores, labels = shapes
    _need(len(scores) in (1, 2), f"cross_entropy needs scores of shape N×C (or C), and "
          f"{names[0]} is not", 0)
    want = scores[:1] if len(scores) == 2 else ()
    _need(labels == want, f"cross_entropy needs one class label per row of {names[0]}, so "
          f"labels of shape {_shape_text(want)}, and {names[1]} is not", 1)
    return ()


def _cross_entropy_vjp(D, g, xs, out):
    """(softmax(S) - onehot(y)) / N: the scores' gradient; labels get none."""
    scores, labels = xs
    n = D.shape(scores)[0] if D.ndim(scores) == 2 else 1
    return (g * (D.softmax(scores, -1) - D.onehot(labels, D.shape(scores))) / n, None)


def _same_shape(shapes, names, what):
    _need(shapes[0] == shapes[1], f"{what} needs two arrays of one shape, and {names[0]} and "
          f"{names[1]} differ", 1)
    return ()


def _mse_vjp(D, g, xs, out):
    d = g * 2 * (xs[0] - xs[1]) / D.size(xs[0])
    return d, -d


def _square_shape(shapes, names, what):
    s = shapes[0]
    _need(len(s) == 2 and s[0] == s[1], f"{what} needs a square matrix, and {names[0]} is not")
    return ()


def _inv_shape(shapes, names):
    _square_shape(shapes, names, "inv")
    return shapes[0]


def _vectors(shapes, names, what):
    for k in (0, 1):
        _need(len(shapes[k]) == 1, f"{what} takes two vectors, and {names[k]} is not one", k)


def _dot_shape(shapes, names):
    _vectors(shapes, names, "dot")
    _need(shapes[0] == shapes[1], f"cannot take dot of {names[0]} and {names[1]}: "
          f"{shapes[0][0]} ≠ {shapes[1][0]}", None)
    return ()


def _outer_shape(shapes, names):
    _vectors(shapes, names, "outer")
    return (shapes[0][0], shapes[1][0])


def _diag_shape(shapes, names):
    s = shapes[0]
    _need(len(s) in (1, 2), f"diag takes a vector (to make a diagonal matrix) or a matrix (to "
          f"take its diagonal), and {names[0]} is neither")
    return (s[0], s[0]) if len(s) == 1 else (min(s),)


def _reshape_shape(shapes, names, p=()):
    size = 1
    for n in shapes[0]:
        size *= n
    known = 1
    for n in p:
        known *= n if n != -1 else 1
    _need(p.count(-1) <= 1 and all(n > 0 or n == -1 for n in p),
          "reshape takes sizes that are positive (one of them may be -1: the rest)", None)
    dims = tuple(size // known if n == -1 else n for n in p)
    total = 1
    for n in dims:
        total *= n
    _need(total == size, f"cannot reshape {names[0]} to {_shape_text(p)}: {size} entries, not "
          f"{total}", None)
    return dims


def _shape_text(shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _outer_vjp(D, g, xs, out):
    return (D.matmul(g, xs[1]), D.matmul(D.transpose(g), xs[0]))


def _array(name, arity, value, doc, shape, vjp, *, calls=None, static=None,  # noqa: PLR0913
           labels=()):
    """One array op: its own shape rule and VJP (no scalar partials)."""
    params = ("x", "y")[:arity] if arity in (1, 2) else ("x",)
    return Op(name, arity, value, (), params, doc=doc,
              calls=(name,) if calls is None else calls, vjp=vjp, shape=shape, static=static,
              labels=labels)


TENSOR_OPS: tuple[Op, ...] = (
    Op("matmul", 2, lambda D, x, y: D.matmul(x, y), (), ("x", "y"), infix="@",
       doc="x @ y: matrix product (vector·vector, matrix·vector, vector·matrix, matrix·matrix)",
       vjp=_matmul_vjp, shape=_matmul_shape, selective=True),
    _array("transpose", 1, lambda D, x: D.transpose(x),
           "X.T, X', transpose(X): the axes reversed (a vector is its own transpose)",
           lambda shapes, names: shapes[0][::-1], lambda D, g, xs, out: (D.transpose(g),)),
    _array("sum", 1, lambda D, x, p=None: D.sum(x, axis=p),
           "sum of every entry; sum(X, 0) along axis 0 (down the columns)", _reduce_shape,
           _reduce_vjp, static="axis"),
    _array("mean", 1, lambda D, x, p=None: D.mean(x, axis=p),
           "mean of every entry; mean(X, 1) along axis 1 (across each row)", _reduce_shape,
           lambda D, g, xs, out, p=None: _reduce_vjp(D, g, xs, out, p, mean=True),
           static="axis"),
    _array("amax", 1, lambda D, x, p=None: D.amax(x, axis=p),
           "max(X): the largest entry; max(X, axis=0) along an axis (max(x, y) of two is "
           "elementwise)", _reduce_shape, _extreme_vjp, calls=("max",), static="axis"),
    _array("amin", 1, lambda D, x, p=None: D.amin(x, axis=p),
           "min(X): the smallest entry; min(X, axis=1) along an axis (min(x, y) of two is "
           "elementwise)", _reduce_shape, _extreme_vjp, calls=("min",), static="axis"),
    _array("norm", 1, lambda D, x: D.sqrt(D.sum(x * x)),
           "2-norm of a vector, Frobenius norm of a matrix",
           lambda shapes, names: (), lambda D, g, xs, out: (g * xs[0] / out,)),
    _array("index", 1, lambda D, x, p=(): D.take(x, p),
           "x[i], W[:, 1], X[1:3, :]: entries by position (0-based; negative from the end)",
           _index_shape, lambda D, g, xs, out, p=(): (D.put(g, D.shape(xs[0]), p),),
           calls=(), static="index"),
    _array("softmax", 1, lambda D, x, p=None: D.softmax(x, -1 if p is None else p),
           "softmax along the last axis (or softmax(X, axis)), computed without overflow",
           _along_shape, _softmax_vjp, static="axis"),
    _array("log_softmax", 1, lambda D, x, p=None: D.log_softmax(x, -1 if p is None else p),
           "log of softmax along the last axis (or an axis), computed without overflow",
           lambda shapes, names, p=None: _along_shape(shapes, names, p, "log_softmax"),
           _log_softmax_vjp, static="axis"),
    _array("logsumexp", 1, lambda D, x, p=None: D.logsumexp(x, -1 if p is None else p),
           "log(sum(exp(x))) along the last axis (or an axis), computed without overflow",
           lambda shapes, names, p=None: _along_shape(shapes, names, p, "logsumexp", True),
           _logsumexp_vjp, static="axis"),
    _array("argmax", 1, lambda D, x, p=None: D.argmax(x, -1 if p is None else p),
           "argmax(S): the position of the largest entry along the last axis (or an axis), "
           "0-based, the first at a tie; a step function: gradient 0",
           lambda shapes, names, p=None: _along_shape(shapes, names, p, "argmax", True),
           lambda D, g, xs, out, p=None: (D.zeros_like(xs[0]),), static="axis"),
    _array("cross_entropy", 2, lambda D, s, y: D.cross_entropy(s, y),
           "cross_entropy(S, y): softmax cross-entropy of scores S (N×C) against integer class "
           "labels y (N), the mean over the rows (as PyTorch's)", _cross_entropy_shape,
           _cross_entropy_vjp, labels=(1,)),
    _array("mse", 2, lambda D, p, t: D.mean((p - t) * (p - t)),
           "mse(pred, target): the mean of the squared differences",
           lambda shapes, names: _same_shape(shapes, names, "mse"), _mse_vjp),
    _array("dot", 2, lambda D, x, y: D.matmul(x, y), "dot(x, y): the dot product of vectors",
           _dot_shape, lambda D, g, xs, out: (g * xs[1], g * xs[0])),
    _array("outer", 2, lambda D, x, y: D.outer(x, y),
           "outer(x, y): the matrix of products x_i·y_j", _outer_shape, _outer_vjp),
    _array("tr", 1, lambda D, x: D.trace(x), "tr(A): the trace of a square matrix",
           lambda shapes, names: _square_shape(shapes, names, "tr"),
           lambda D, g, xs, out: (g * D.eye(D.shape(xs[0])[0]),), calls=("tr", "trace")),
    _array("det", 1, lambda D, x: D.det(x), "det(A): the determinant of a square matrix",
           lambda shapes, names: _square_shape(shapes, names, "det"),
           lambda D, g, xs, out: (g * D.transpose(D.adjugate(xs[0])),)),
    _array("inv", 1, lambda D, x: D.inv(x), "inv(A): the inverse of a square matrix",
           _inv_shape,
           lambda D, g, xs, out: (-D.matmul(D.matmul(D.transpose(out), g), D.transpose(out)),)),
    _array("diag", 1, lambda D, x: D.diag(x),
           "diag(v): the diagonal matrix of a vector; diag(A): a matrix's diagonal",
           _diag_shape, lambda D, g, xs, out: (D.diag_vjp(g, D.shape(xs[0])),)),
    _array("reshape", 1, lambda D, x, p=(): D.reshape(x, p),
           "reshape(x, m, n): the entries in another shape (row by row; one size may be -1)",
           _reshape_shape, lambda D, g, xs, out, p=(): (D.reshape(g, D.shape(xs[0])),),
           static="dims"),
    Op("stack", VARIADIC, lambda D, *xs: D.stack(xs), (),
       doc="[a, b, ...]: an array of its entries (each a scalar, or arrays of one shape)",
       vjp=lambda D, g, xs, out: tuple(g[k] for k in range(len(xs))), shape=_stack_shape),
)

TENSOR_NAMES = frozenset(op.name for op in TENSOR_OPS)

REGISTRY: dict[str, Op] = {op.name: op for op in (*OPS, *TENSOR_OPS)}

# Functions a user can call, by spelling and argument count (VARIADIC matches two or more).
FUNCTIONS: dict[str, dict[int, Op]] = {}
for _op in (*OPS, *TENSOR_OPS):
    for _spelling in _op.calls:
        FUNCTIONS.setdefault(_spelling, {})[_op.arity] = _op


def lookup_call(name: str, nargs: int) -> Op | None:
    """The op a call ``name(a, b, ...)`` means, or None if the count of arguments is wrong."""
    by_arity = FUNCTIONS[name]
    if nargs in by_arity:
        return by_arity[nargs]
    if VARIADIC in by_arity and nargs >= 2:
        return by_arity[VARIADIC]
    return None


def arity_text(name: str) -> str:
    counts = sorted(FUNCTIONS[name], key=lambda c: c if c != VARIADIC else 2)
    if counts == [VARIADIC]:
        return "two or more arguments"
    words = {1: "one argument", 2: "two arguments", VARIADIC: "two or more arguments"}
    return " or ".join(words.get(c, f"{c} arguments") for c in counts)
