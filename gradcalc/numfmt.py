"""How numbers look: integers without '.0', shortest round-trip repr, or N significant digits."""

from __future__ import annotations


def simple(value: float) -> str:
    """A float as people expect it: 1 rather than 0.9999999999999998 (within 1e-12 of a number
    with at most 10 significant digits), else the shortest exact repr."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    short = float(format(value, ".10g"))
    if abs(short - value) <= 1e-12 * max(1.0, abs(value)):
        return fmt(short)
    return fmt(value)


def fmt(value: float, digits: int | None = None) -> str:
    """Format a float for people: 3.0 -> '3', -0.0 -> '0', else repr or N significant digits.
    None is a partial no method could determine."""
    if value is None:
        return "undetermined"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < (1e16 if digits is None else 10.0**digits):
        return str(int(value))
    if digits is None:
        return repr(value)
    return format(value, f".{digits}g")
