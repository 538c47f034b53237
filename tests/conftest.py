"""Test settings: on CI (CI=true), hypothesis runs a fixed, derandomized set of examples so that a
run is reproducible; locally it explores new random examples each time."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
