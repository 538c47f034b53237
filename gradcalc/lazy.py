"""Heavy libraries imported on first use, the way gradcalc needs them configured. Below every
module that computes with them (domains, vector, autodiff, derivatives, optimize)."""

from __future__ import annotations

import os
import sys

# NumPy's SIMD versions of exp, log, tanh, pow, ... differ from the C library's (which Python's
# math uses) in the last bit for a few per cent of arguments. Importing NumPy without those
# dispatch targets makes a batch give the very numbers of single-point runs; the price measured
# here is about 40% on transcendental-heavy programs. Names NumPy does not know are ignored; none
# of these is ever part of NumPy's x86-64 baseline.
_SIMD_TARGETS = ("X86_V3 X86_V4 AVX512_ICL AVX512_SPR AVX2 FMA3 AVX512F AVX512CD AVX512_KNL "
                 "AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL")


def numpy():
    """NumPy, imported on first use only (it costs ~100 ms of start-up), with the C library's
    rounding for its math functions when gradcalc is the one importing it."""
    if "numpy" not in sys.modules and "NPY_DISABLE_CPU_FEATURES" not in os.environ:
        os.environ["NPY_DISABLE_CPU_FEATURES"] = _SIMD_TARGETS
        try:
            import numpy as np
        finally:
            del os.environ["NPY_DISABLE_CPU_FEATURES"]
    import numpy as np

    return np
