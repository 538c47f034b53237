"""Optional compiled kernels (everything in pyproject.toml; this only lists the C extensions).

Each extension is optional: where no C compiler is found, or the build fails, the package installs
without it and gradcalc runs the same pure-Python/NumPy code paths it always has (the kernels
only ever make a path faster, and each is tested against the path it replaces)."""

from setuptools import Extension, setup

EXTENSIONS = [
    # -ffp-contract=off: the kernels' FMAs are the ones written (their error analysis counts
    # on every other operation rounding on its own)
    Extension("gradcalc._vmath", ["gradcalc/_vmath.c"], libraries=["m"], optional=True,
              extra_compile_args=["-ffp-contract=off"]),
    # the parser's fast path (syntax._fast_program's twin)
    Extension("gradcalc._fastparse", ["gradcalc/_fastparse.c"], optional=True),
    # repr's text of many floats, for big CSV outputs (floattext.py)
    Extension("gradcalc._floattext", ["gradcalc/_floattext.c"], optional=True),
]

setup(ext_modules=EXTENSIONS)
