"""Number domains the op rules run in.

Every rule in ``ops.py`` is written against a namespace ``D`` (``D.sin``, ``D.exp``, ...), never
against ``math`` or ``sympy`` directly, so the same rules compute floats for answers and SymPy
expressions for the symbolic gradient. Only the float domain is imported eagerly: SymPy is heavy and
``--no-check`` must not load it.
"""

from __future__ import annotations

import math
import operator
from types import SimpleNamespace
from typing import Any, Protocol, runtime_checkable

# The functions a domain provides: one per op the value and derivative rules call (the graph
# and dual domains of derivatives.py make them from the registry itself).
FUNCTIONS = ("exp", "log", "log2", "log10", "sqrt", "cbrt", "abs", "sign", "step", "pow",
             "sin", "cos", "tan", "sec", "csc", "cot", "asin", "acos", "atan", "atan2", "sinh",
             "cosh", "tanh", "sech", "asinh", "acosh", "atanh", "erf", "sigmoid", "softplus",
             "relu", "max", "min", "maxshare", "minshare")


@runtime_checkable
class Domain(Protocol):
    """What every number domain has: constants, literals, ``where`` (a rule's branch: decided by
    value for numbers, structurally for symbols), and each function of FUNCTIONS (tests/
    test_derivatives.py checks the float, NumPy, SymPy, mpmath, graph and dual domains, and
    that FUNCTIONS is every function a rule uses)."""

    name: str
    zero: Any
    one: Any
    pi: Any
    e: Any

    def literal(self, value: float, text: str | None) -> Any: ...

    def where(self, cond: Any, then: Any, otherwise: Any) -> Any: ...


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sech(x: float) -> float:
    # 2/(e^x + e^-x) as 2t/(1 + t²), t = e^-|x|: every digit kept, never an overflow.
    t = math.exp(-abs(x))
    return 2.0 * t / (1.0 + t * t)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact for large |x|, never overflows.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _pow(x: float, y: float) -> float:
    # x^2 as x*x, which is correctly rounded; the C library's pow(x, 2) is not always (and NumPy
    # squares, so both domains agree to the bit). math.pow raises rather than return a complex.
    if y == 2.0:
        return x * x
    if y == 1.0:
        return x
    return math.pow(x, y)


def _cbrt(x: float) -> float:
    return math.copysign(abs(x) ** (1.0 / 3.0), x)


def _where(cond, then, otherwise):
    """``then()`` if cond else ``otherwise``: a rule's branch, taken only when needed (a float
    rule must not compute ln 0). The NumPy domain computes both and picks per element."""
    return then() if cond else otherwise


def _maxshare(x, *others) -> float:
    # NOTE: at a tie the gradient is split evenly among the tied arguments (PyTorch's convention).
    if any(o > x for o in others):
        return 0.0
    return 1.0 / (1 + sum(1 for o in others if o == x))


def _minshare(x, *others) -> float:
    if any(o < x for o in others):
        return 0.0
    return 1.0 / (1 + sum(1 for o in others if o == x))


FLOAT = SimpleNamespace(
    name="float",
    zero=0.0,
    one=1.0,
    pi=math.pi,
    e=math.e,
    literal=lambda value, text: value,
    exp=math.exp,
    log=math.log,
    log2=math.log2,
    log10=math.log10,
    sqrt=math.sqrt,
    cbrt=getattr(math, "cbrt", _cbrt),
    abs=abs,
    sign=_sign,
    pow=_pow,
    sin=math.sin,
    cos=math.cos,
    tan=math.tan,
    sec=lambda x: 1.0 / math.cos(x),
    csc=lambda x: 1.0 / math.sin(x),
    cot=lambda x: math.cos(x) / math.sin(x),
    asin=math.asin,
    acos=math.acos,
    atan=math.atan,
    # NOTE: zeros carry no sign in gradcalc: -0.0 + 0.0 is 0.0, so atan2(-y, -1) at y = 0 is π,
    # as atan2(0, -1) is, whichever way the zero was computed.
    atan2=lambda y, x: math.atan2(y + 0.0, x + 0.0),
    sinh=math.sinh,
    cosh=math.cosh,
    tanh=math.tanh,
    asinh=math.asinh,
    acosh=math.acosh,
    atanh=math.atanh,
    erf=math.erf,
    sigmoid=_sigmoid,
    sech=_sech,
    softplus=_softplus,
    relu=lambda x: x if x > 0 else 0.0,
    # NOTE: relu'(0) = 0, PyTorch's convention; the op marks x = 0 as a non-differentiable point.
    step=lambda x: 1.0 if x > 0 else 0.0,
    max=max,
    min=min,
    maxshare=_maxshare,
    minshare=_minshare,
    where=_where,
)


_SYMPY: dict[tuple, SimpleNamespace] = {}


def sympy_domain(binary_literals: bool = False, digits: int | None = 100_000) -> SimpleNamespace:
    """The SymPy domain: the same rules build exact symbolic expressions. A literal is the exact
    decimal the user typed ("0.1" is 1/10, so x*0.5 prints as x/2), or with ``binary_literals``
    the exact value of its float64. An exact power of more than ``digits`` digits is refused
    (None: no bound)."""
    key = (binary_literals, digits)
    if key in _SYMPY:
        return _SYMPY[key]
    import sympy as sp

    def literal(value, text):
        if text is not None and not binary_literals:
            return sp.Rational(text)
        return sp.Rational(value)

    def power(x, y):
        # NOTE: SymPy computes 9^(9^9) exactly, in C, for minutes, deaf to any deadline.
        # Refuse an exact rational power with more than ``digits`` digits before it starts.
        if digits is not None and x.is_Rational and y.is_Integer and abs(y) > 1000:
            per = max(math.log10(abs(x.p)) if x.p else 0.0, math.log10(x.q))   # digits of x
            size = math.log10(abs(int(y))) + math.log10(per) if per > 0 else 0.0   # log10 digits
            if size > math.log10(digits):
                shown = (f"about {10 ** size:.1e}" if size < 300 else f"about 10^{size:,.0f}")
                raise ValueError(f"its exact value would have {shown} digits (the limit is "
                                 f"{digits:,}: --max-digits)")
        return sp.Pow(x, y)

    def positive(x, then, otherwise):
        # A number is decided by its exact sign: Piecewise's "x > 0" compares at low precision
        # and calls log(1 + 10^-12) not positive.
        if x.is_number and x.is_positive is not None:
            return then if x.is_positive else otherwise
        return sp.Piecewise((then, x > 0), (otherwise, True))

    def maxshare(x, *others):
        # sympy.diff(Max(a, b), a) is Heaviside(a - b) with Heaviside(0) = 1/2; same form here.
        return sp.Heaviside(x - (others[0] if len(others) == 1 else sp.Max(*others)))

    def minshare(x, *others):
        return sp.Heaviside((others[0] if len(others) == 1 else sp.Min(*others)) - x)

    _SYMPY[key] = SimpleNamespace(
        name="sympy",
        zero=sp.Integer(0),
        one=sp.Integer(1),
        pi=sp.pi,
        e=sp.E,
        literal=literal,
        exp=sp.exp,
        log=sp.log,
        log2=lambda x: sp.log(x) / sp.log(2),
        log10=lambda x: sp.log(x) / sp.log(10),
        sqrt=sp.sqrt,
        # The real cube root (sympy's cbrt is the principal, complex one for x < 0).
        cbrt=lambda x: sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3),
        abs=sp.Abs,
        sign=sp.sign,
        pow=power,
        sin=sp.sin,
        cos=sp.cos,
        tan=sp.tan,
        sec=sp.sec,
        csc=sp.csc,
        cot=sp.cot,
        asin=sp.asin,
        acos=sp.acos,
        atan=sp.atan,
        atan2=sp.atan2,
        sinh=sp.sinh,
        cosh=sp.cosh,
        tanh=sp.tanh,
        asinh=sp.asinh,
        acosh=sp.acosh,
        atanh=sp.atanh,
        erf=sp.erf,
        sigmoid=lambda x: 1 / (1 + sp.exp(-x)),
        sech=sp.sech,
        softplus=lambda x: sp.log(1 + sp.exp(x)),
        relu=lambda x: positive(x, x, sp.Integer(0)),
        step=lambda x: positive(x, sp.Integer(1), sp.Integer(0)),
        max=sp.Max,
        min=sp.Min,
        maxshare=maxshare,
        minshare=minshare,
        where=_where,   # a condition on symbols is structural: x != 0 holds for the symbol x
    )
    return _SYMPY[key]


def mpmath_domain(digits: int) -> SimpleNamespace:
    """The mpmath domain: the same rules at ``digits`` significant digits (--precision). The
    float pass runs first and vets the domain, so these functions only meet real arguments."""
    import mpmath

    mp = mpmath.MPContext()   # a context of our own: the global one is SymPy's too
    mp.dps = digits + 5       # guard digits; results are shown at ``digits``

    def cbrt(x):
        return mp.sign(x) * mp.cbrt(abs(x))

    def power(x, y):
        if x < 0 and y != mp.floor(y):
            raise ValueError("a negative base needs an integer exponent")
        return mp.power(x, y)

    def sigmoid(x):
        return 1 / (1 + mp.exp(-x))

    return SimpleNamespace(
        name="mpmath", zero=mp.mpf(0), one=mp.mpf(1), pi=+mp.pi, e=+mp.e,
        literal=lambda value, text: mp.mpf(text) if text is not None else mp.mpf(value),
        exp=mp.exp, log=mp.log, log2=lambda x: mp.log(x, 2), log10=mp.log10, sqrt=mp.sqrt,
        cbrt=cbrt, abs=abs, sign=mp.sign, pow=power, sin=mp.sin, cos=mp.cos, tan=mp.tan,
        sec=mp.sec, csc=mp.csc, cot=mp.cot, asin=mp.asin, acos=mp.acos, atan=mp.atan,
        atan2=mp.atan2, sinh=mp.sinh, cosh=mp.cosh, tanh=mp.tanh, asinh=mp.asinh,
        acosh=mp.acosh, atanh=mp.atanh, erf=mp.erf, sigmoid=sigmoid, sech=mp.sech,
        softplus=lambda x: mp.log(1 + mp.exp(x)),
        relu=lambda x: x if x > 0 else mp.mpf(0), step=lambda x: mp.mpf(1 if x > 0 else 0),
        max=max, min=min, maxshare=_maxshare, minshare=_minshare, where=_where, context=mp,
    )


_NUMPY: list[SimpleNamespace] = []


def numpy_domain() -> SimpleNamespace:
    """The NumPy domain: the same rules on float64 arrays, one element per point. A value that
    no variable reaches stays a Python float and broadcasts. Undefined results become inf or NaN
    here (the caller runs under ``errstate(all="ignore")`` and re-runs those points one at a time
    in the float domain, which explains them), so each function only has to agree with the float
    domain where the float domain gives a finite number."""
    if _NUMPY:
        return _NUMPY[0]
    from .lazy import numpy

    _NUMPY.append(SimpleNamespace(**numpy_functions(numpy())))
    return _NUMPY[0]


# Long, and complex by count: it builds a table of the domain's functions, and each small helper
# nested in it (a few lines, one or two branches) adds to its score. Read it as that table.
def numpy_functions(N) -> dict:  # noqa: C901
    """The NumPy domain's table, its functions made of ``N``'s: NumPy itself, or the recorder
    of vector.py, which runs these very functions once on placeholders to compile a batch into
    NumPy calls (so ``N`` is used only through its ufuncs by name, ``where``, ``ndim``,
    ``shape``, ``full`` and ``frompyfunc``)."""

    def sigmoid(x):
        return N.where(x >= 0, 1.0 / (1.0 + N.exp(-x)), _exp_ratio(N.exp(x)))

    def _exp_ratio(z):
        return z / (1.0 + z)

    def sech(x):   # as the float domain, element by element
        t = N.exp(-N.abs(x))
        return 2.0 * t / (1.0 + t * t)

    def power(x, y):
        # As the float domain: x*x and x for the exponents 2 and 1, else the C library's pow.
        # (NumPy's own shortcuts for other scalar exponents, sqrt for 0.5, round differently.)
        if N.ndim(y) == 0:
            if y == 2.0:
                return x * x
            if y == 1.0:
                return x
            if N.ndim(x):
                y = N.full(N.shape(x), y)
            return N.power(x, y)
        return N.where(y == 2.0, x * x, N.where(y == 1.0, x, N.power(x, y)))

    def where(cond, then, otherwise):
        if N.ndim(cond) == 0:
            return then() if cond else otherwise
        return N.where(cond, then(), otherwise)

    def maxshare(x, *others):
        top = reduce(N.maximum)(*others) if len(others) > 1 else others[0]
        ties = 1.0 + sum((o == x) * 1.0 for o in others)
        return N.where(x >= top, 1.0 / ties, 0.0)

    def minshare(x, *others):
        low = reduce(N.minimum)(*others) if len(others) > 1 else others[0]
        ties = 1.0 + sum((o == x) * 1.0 for o in others)
        return N.where(x <= low, 1.0 / ties, 0.0)

    def reduce(fn):
        def many(*xs):
            acc = xs[0]
            for x in xs[1:]:
                acc = fn(acc, x)
            return acc
        return many

    erf = N.frompyfunc(math.erf, 1, 1)   # NumPy has no erf; math's, element by element

    return dict(
        name="numpy", zero=0.0, one=1.0, pi=math.pi, e=math.e,
        literal=lambda value, text: value,
        exp=N.exp, log=N.log, log2=N.log2, log10=N.log10, sqrt=N.sqrt, cbrt=N.cbrt,
        abs=N.abs, sign=lambda x: N.sign(x) + 0.0, pow=power,
        sin=N.sin, cos=N.cos, tan=N.tan,
        sec=lambda x: 1.0 / N.cos(x), csc=lambda x: 1.0 / N.sin(x),
        cot=lambda x: N.cos(x) / N.sin(x),
        asin=N.arcsin, acos=N.arccos, atan=N.arctan,
        atan2=lambda y, x: N.arctan2(y + 0.0, x + 0.0),   # no signed zeros, as in floats
        sinh=N.sinh, cosh=N.cosh, tanh=N.tanh,
        asinh=N.arcsinh, acosh=N.arccosh, atanh=N.arctanh,
        erf=lambda x: erf(x).astype(N.float64) if N.ndim(x) else math.erf(x),
        sigmoid=sigmoid,
        sech=sech,
        softplus=lambda x: N.maximum(x, 0.0) + N.log1p(N.exp(-N.abs(x))),
        relu=lambda x: N.where(x > 0, x, 0.0), step=lambda x: N.where(x > 0, 1.0, 0.0),
        max=reduce(N.maximum), min=reduce(N.minimum),
        maxshare=maxshare, minshare=minshare, where=where,
    )


_TENSOR: list[SimpleNamespace] = []


def tensor_domain() -> SimpleNamespace:
    """The domain of the tensor path (docs/tensors.md): a node's value is a float64 array (or a
    float for a scalar). The NumPy domain's functions, which are elementwise, plus what array
    ops and un-broadcasting need (``TENSOR_FUNCTIONS``)."""
    if _TENSOR:
        return _TENSOR[0]
    from . import arraymath as am
    from .lazy import numpy

    np = numpy()
    ndarray = np.ndarray

    # np.transpose, np.size, np.shape and np.ndim, read off an array directly: VJPs ask them on
    # every step (matmul's five times), and NumPy's functions cost ~0.6 µs a call to say it
    def transpose(x):
        return x.T if type(x) is ndarray else np.transpose(x)

    def size(x):
        return x.size if type(x) is ndarray else np.size(x)

    def shape(x):
        return x.shape if type(x) is ndarray else np.shape(x)

    def ndim(x):
        return x.ndim if type(x) is ndarray else np.ndim(x)

    ns = SimpleNamespace(**vars(numpy_domain()))
    ns.name = "tensor"
    ns.matmul = operator.matmul   # a @ b: np.matmul through the operator, ~0.7 µs sooner
    ns.transpose = transpose
    ns.outer = np.outer
    ns.sum = np.sum
    ns.mean = np.mean
    ns.size = size
    ns.shape = shape
    ns.ndim = ndim
    ns.broadcast_to = np.broadcast_to
    ns.expand_dims = np.expand_dims
    ns.stack = am.stack
    ns.sum_to = am.sum_to
    ns.amax = np.max
    ns.amin = np.min
    ns.equal = lambda x, y: (x == y) * 1.0
    ns.take = lambda x, key: x[key]
    ns.put = am.put
    ns.softmax = lambda x, axis: np.exp(am.log_softmax(x, axis))
    ns.log_softmax = am.log_softmax
    ns.logsumexp = am.logsumexp
    ns.cross_entropy = am.cross_entropy
    ns.onehot = am.onehot
    ns.trace = np.trace
    ns.eye = np.eye
    ns.det = np.linalg.det
    ns.adjugate = am.adjugate
    ns.inv = am.inv
    ns.diag = np.diag
    ns.diag_vjp = am.diag_vjp
    ns.reshape = np.reshape
    ns.argmax = lambda x, axis: np.argmax(x, axis=axis).astype(np.float64)
    ns.zeros_like = lambda x: np.zeros(np.shape(x))
    _TENSOR.append(ns)
    return ns


TENSOR_FUNCTIONS = ("matmul", "transpose", "outer", "sum", "mean", "size", "shape", "ndim",
                    "broadcast_to", "expand_dims", "stack", "sum_to", "amax", "amin", "equal",
                    "take", "put", "softmax", "log_softmax", "logsumexp", "cross_entropy",
                    "onehot", "trace", "eye", "det", "adjugate", "inv", "diag", "diag_vjp",
                    "reshape", "argmax", "zeros_like")
