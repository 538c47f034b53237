"""Test settings: on CI (CI=true), hypothesis runs a fixed, derandomized set of examples so that a
run is reproducible; locally it explores new random examples each time."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# NumPy imported by gradcalc itself (before anything else can) uses the C library's math
# functions, which the vectorised path's bit-for-bit tests rely on.
from gradcalc.lazy import numpy  # noqa: E402

numpy()
