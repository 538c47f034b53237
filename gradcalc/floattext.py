"""repr's text of many floats at once: the optional C extension ``gradcalc._floattext``.

A big CSV output spends most of its time making text of its numbers (repr, or pyarrow's cast:
~150 ns a float). ``_floattext.rows`` writes each float's shortest round-trip digits, laid out
as repr lays them out, straight into the file's lines at a fraction of that (Schubfach's method;
see the C file). Its powers of ten are made here, exactly, by Python's integers, once.

Where the extension is not built (it is optional: no compiler at install), ``native()`` is None
and the writer makes the text as before (render/rows.py).
"""

from __future__ import annotations

import sys

_NATIVE: list = []   # the initialised module (or None), once known


def _scaled(q: int, bits: int) -> int:
    """floor(10^q 2^(bits - 1 - floor(log2 10^q))): 10^q's first ``bits`` bits, rounded down."""
    if q >= 0:
        p = 10 ** q
        shift = bits - p.bit_length()                # floor(log2 10^q) = bit_length - 1
        return p << shift if shift >= 0 else p >> -shift
    p = 10 ** -q                                     # floor(log2 10^q) = -bit_length (no power
    return (1 << (bits - 1 + p.bit_length())) // p   # of 2)


def _words(values: list[int], low_bits: int) -> bytes:
    """Each value as its high and low (``low_bits``) halves, native uint64 each."""
    mask = (1 << low_bits) - 1
    return b"".join(w.to_bytes(8, sys.byteorder) for v in values for w in (v >> low_bits, v & mask))


def table(k_min: int, k_max: int) -> bytes:
    """For k = k_min .. k_max, g = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1 (a 126-bit
    integer just above the scaled power of ten) as its high and low 63-bit halves."""
    return _words([_scaled(-k, 126) + 1 for k in range(k_min, k_max + 1)], 63)


def powers(e_min: int, e_max: int) -> bytes:
    """For q = e_min .. e_max, floor(10^q 2^(127 - floor(log2 10^q))) (the power of ten's first
    128 bits, rounded down) as its high and low 64-bit halves."""
    return _words([_scaled(q, 128) for q in range(e_min, e_max + 1)], 64)


def native():
    """The C extension, ready to use, or None where it is not built."""
    if not _NATIVE:
        try:
            import gradcalc._floattext as ft
        except ImportError:
            _NATIVE.append(None)
        else:
            ft.init(table(ft.K_MIN, ft.K_MAX), powers(ft.E_MIN, ft.E_MAX))
            _NATIVE.append(ft)
    return _NATIVE[0]
