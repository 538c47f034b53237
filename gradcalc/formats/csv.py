"""--format csv: a header row, then a row per point (comma-separated)."""

from __future__ import annotations

from . import _rows

KINDS = _rows.KINDS
render = _rows.renderer("csv")
