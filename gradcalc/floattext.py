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


def table(k_min: int, k_max: int) -> bytes:
    """For k = k_min .. k_max, g = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1 (a 126-bit
    integer just above the scaled power of ten) as its high and low 63-bit halves, native
    uint64 each."""
    words = []
    for k in range(k_min, k_max + 1):
        if k <= 0:
            p = 10 ** -k
            e = p.bit_length() - 1                    # floor(log2 10^-k)
            g = (p << (125 - e) if e <= 125 else p >> (e - 125)) + 1
        else:
            p = 10 ** k
            e = -p.bit_length()                       # floor(log2 10^-k): 10^k is no power of 2
            g = (1 << (125 - e)) // p + 1
        words += [g >> 63, g & ((1 << 63) - 1)]
    return b"".join(w.to_bytes(8, sys.byteorder) for w in words)


def powers(e_min: int, e_max: int) -> bytes:
    """For q = e_min .. e_max, floor(10^q 2^(127 - floor(log2 10^q))) (the power of ten's first
    128 bits, rounded down) as its high and low 64-bit halves, native uint64 each."""
    words = []
    for q in range(e_min, e_max + 1):
        if q >= 0:
            p = 10 ** q
            e = p.bit_length() - 1                    # floor(log2 10^q)
            t = p << (127 - e) if e <= 127 else p >> (e - 127)
        else:
            p = 10 ** -q
            e = -p.bit_length()                       # 10^-q is no power of 2
            t = (1 << (127 - e)) // p
        words += [t >> 64, t & ((1 << 64) - 1)]
    return b"".join(w.to_bytes(8, sys.byteorder) for w in words)


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
