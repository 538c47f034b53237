"""Atheris target: the parser, the reverse pass and the SymPy domain on arbitrary text.

Each input is decoded as UTF-8 (errors="replace") and given to ``Function``. If it parses, the
gradient is taken at a point whose values are derived from the input bytes (so a crash replays
exactly), then the symbolic gradient is built under a one-second deadline.

A finding is any exception other than ``GradcalcError`` (and ``deadline.Timeout``), or a value or
partial derivative that comes back NaN or infinite without an error (the command line promises
never to print those as answers).

The SymPy deadline and atheris's own alarm both use SIGALRM: see watchdog.py for how they are
kept apart (atheris's alarm is off while an input runs; HANG_SECONDS is the watchdog instead).

Run: ``python fuzz/fuzz_parser.py fuzz/corpus/parser fuzz/seeds -max_total_time=60``
(see fuzz/README.md). Replay one input: ``python fuzz/fuzz_parser.py path/to/crash-file``.
"""

from __future__ import annotations

import math
import os
import sys
import zlib

import atheris
from watchdog import one_input

# SymPy is imported up front, outside any deadline: a deadline that fires in the middle of
# `import sympy` leaves a half-imported SymPy behind, and every later input in the process then
# fails (finding F3 in findings/README.md). FUZZ_COLD_SYMPY=1 leaves the import to gradcalc.
if not os.environ.get("FUZZ_COLD_SYMPY"):
    import sympy  # noqa: F401

with atheris.instrument_imports(include=["gradcalc"]):
    from gradcalc.deadline import Timeout, deadline
    from gradcalc.errors import GradcalcError
    from gradcalc.function import Function

# Values a variable may take: the awkward ones first (kinks, domain edges, poles, extremes).
SPECIAL = (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, math.pi, -math.pi, math.pi / 2, 1e-300,
           -1e-300, 1e-8, 1e300, -1e300, 5e-324, 709.0, 710.0, 1e16, 0.1, 10.0, -0.0, 100.0)

SYMBOLIC_MAX_CHARS = 400   # longer programs skip the SymPy step (it only costs time there)


def value_for(data: bytes, name: str) -> float:
    """A value for ``name`` derived from the input bytes: the same input gives the same point."""
    h = zlib.crc32(name.encode("utf-8", "surrogatepass"), zlib.crc32(data))
    if h & 1:
        return SPECIAL[(h >> 1) % len(SPECIAL)]
    # otherwise a moderate number with a few significant bits: -8 .. 8 in steps of 1/16
    return ((h >> 1) % 257 - 128) / 16.0


def _finite(x) -> bool:
    if getattr(x, "ndim", 0):   # an array's gradient (a program of arrays): every entry
        import numpy

        return bool(numpy.isfinite(x).all())
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return True   # not a float (a batch, a SymPy number): not this check's business


# Exception types already recorded as findings, to let a long run go on past them:
# FUZZ_IGNORE=MemoryError,RecursionError (class names, comma-separated).
IGNORE = tuple(n for n in os.environ.get("FUZZ_IGNORE", "").split(",") if n)


def check_ignoring(data: bytes) -> None:
    try:
        check_one(data)
    except Exception as exc:
        if type(exc).__name__ in IGNORE:
            return
        raise


def check_one(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        fn = Function(text)
    except GradcalcError:
        return
    point = {name: value_for(data, name) for name in fn.variables}
    try:
        result = fn.gradient(point)
    except GradcalcError:
        result = None
    if result is not None:
        bad = [k for k, v in result.gradient.items() if not _finite(v)]
        if not _finite(result.value) or bad:
            raise AssertionError(f"non-finite answer without an error: value={result.value!r} "
                                 f"gradient={result.gradient!r} program={text!r} point={point!r}")
    if len(text) > SYMBOLIC_MAX_CHARS:
        return
    try:
        with deadline(1.0):
            fn.symbolic()
    except (GradcalcError, Timeout):
        pass


HANG_SECONDS = 30.0
TestOneInput = one_input(check_ignoring, HANG_SECONDS)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
