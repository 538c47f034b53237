"""--format jsonl: one JSON object per point per line."""

from __future__ import annotations

from . import _rows

KINDS = _rows.KINDS
render = _rows.renderer("jsonl")
