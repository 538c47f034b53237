"""Fast math for batches: sin, cos, exp, expm1 and log from gradcalc's own vector kernels.

A batch spends most of its time in the C library's sin, cos, exp, expm1 and log, one number at
a time (NumPy, on a machine without AVX-512, calls them). ``gradcalc/_vmath.c`` computes four at
once (AVX2 and FMA), 2.8-5.6× faster here, each result within 1 ulp of the exact one by design
and held to 2 ulp by tests/test_fastmath.py (against mpmath). That is not always the C
library's float, so a batch under fast math is no longer the single-point run bit for bit: it is
an option (``--fast-math``, ``gradient(..., fast_math=True)``), never the default.

Where the kernels are not built (the C extension is optional: no compiler at install) or the CPU
lacks AVX2 or FMA, ``kernels()`` is None and fast math changes nothing.
"""

from __future__ import annotations

from typing import Any

from .lazy import numpy

NAMES = ("sin", "cos", "exp", "expm1", "log")
ULPS = 2   # the documented bound: each kernel's result is within 2 ulp of the exact one

_KERNELS: list = []   # the name -> Kernel map (or None), once known
_NATIVE: list = []    # the _vmath module (or None), once known


class Kernel:
    """One kernel with a NumPy ufunc's calling shape, ``f(x, out=buffer)``, as the compiled
    plans call ufuncs. Anything but a contiguous float64 array and buffer of one length goes to
    the ufunc itself (exact). ``raising``: FloatingPointError where a result is not finite, as
    NumPy raises under ``errstate(raise)`` (the unchecked plan runs); ``quiet`` is the same
    kernel without (the checked runs)."""

    __slots__ = ("__name__", "apply", "index", "quiet", "raising", "ufunc")

    def __init__(self, name: str, index: int, raising: bool, apply):
        self.__name__ = name
        self.index = index
        self.raising = raising
        self.apply = apply   # _vmath.apply
        self.ufunc = getattr(numpy(), name)
        self.quiet: Any = self if not raising else Kernel(name, index, False, apply)

    def __call__(self, x, out=None):
        np = numpy()
        if (out is not None and type(x) is np.ndarray and type(out) is np.ndarray
                and x.dtype == np.float64 and out.dtype == np.float64 and x.ndim == 1
                and x.shape == out.shape and x.flags.c_contiguous and out.flags.c_contiguous
                and out.flags.writeable):
            return self.apply(self.index, x, out, self.raising)
        return self.ufunc(x) if out is None else self.ufunc(x, out=out)

    def __repr__(self) -> str:
        return f"<gradcalc fast-math kernel {self.__name__}>"


def native():
    """The C extension module ``gradcalc._vmath`` where it is built and this CPU runs it (AVX2
    and FMA), else None."""
    if not _NATIVE:
        try:
            import gradcalc._vmath as vm
        except ImportError:
            vm = None
        _NATIVE.append(vm if vm is not None and vm.available() else None)
    return _NATIVE[0]


def kernels() -> dict[str, Kernel] | None:
    """name -> Kernel, or None where the kernels cannot run here."""
    if not _KERNELS:
        vm = native()
        _KERNELS.append(None if vm is None else
                        {name: Kernel(name, vm.NAMES.index(name), True, vm.apply)
                         for name in NAMES})
    return _KERNELS[0]


def available() -> bool:
    """Whether ``--fast-math`` makes a difference here."""
    return kernels() is not None
