"""gradcalc: gradients of expressions people type, by reverse-mode automatic differentiation.

    >>> import gradcalc
    >>> f = gradcalc.parse("q = x + y; f = z*q")
    >>> f.gradient(x=-2, y=5, z=-4).gradient
    {'x': -4.0, 'y': -4.0, 'z': 3.0}
"""

from __future__ import annotations

from .errors import EvaluationError, GradcalcError, ParseError, UsageError
from .function import Function, Result, SymbolicResult
from .syntax import DEFAULT_LIMITS, NO_LIMITS, Limits

__version__ = "0.1.0"
__all__ = ["parse", "gradient", "Function", "Result", "SymbolicResult", "GradcalcError",
           "ParseError", "EvaluationError", "UsageError", "Limits", "NO_LIMITS", "__version__"]


def parse(source: str, limits: Limits = DEFAULT_LIMITS) -> Function:
    """Parse a program once; evaluate it with ``.gradient(...)`` as often as you like.
    ``limits`` bounds its size, node count, nesting and exact digits (``NO_LIMITS``: none)."""
    return Function(source, limits)


def gradient(source: str, point=None, /, *, wrt=None, output=None, **values) -> Result:
    """Parse and differentiate in one call: ``gradient("z*(x+y)", x=-2, y=5, z=-4)``."""
    return Function(source).gradient(point, wrt=wrt, output=output, **values)
