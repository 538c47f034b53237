"""Machine formats: JSON (full float precision, stable keys) and plain ``name = value`` lines."""

from __future__ import annotations

import json
from typing import Any

from ..numfmt import fmt


def _check_dict(check, symbolic: bool) -> dict:
    partials = {}
    for p in check.partials:
        entry = {"status": p.status, "symbolic": p.symbolic}
        if not symbolic:
            entry["value"] = p.reference
        if p.method:
            entry["method"] = p.method
        if p.note:
            entry["note"] = p.note
        partials[p.name] = entry
    out = {"method": check.method, "status": check.status, "seconds": round(check.seconds, 4),
           "reason": check.reason, "partials": partials}
    if not symbolic:
        out["value"] = check.value_reference
        out["value_status"] = check.value_status
        out["counts"] = check.counts()
    return out


def answers_json(verdicts) -> list:
    return [{"name": v.expectation.label, "answer": v.expectation.answer, "correct": v.correct,
             "ok": v.ok, "how": v.how, "counterexample": v.counterexample,
             "differs_at": v.differs_at, "yours_there": v.yours_there,
             "correct_there": v.correct_there} for v in verdicts]


def answers_plain(verdicts) -> str:
    marks = {True: "right", False: "WRONG", None: "undecided"}
    return "\n".join(
        f"{marks[v.ok]}: {v.expectation.label} = {v.expectation.answer}"
        + (f" (correct: {v.correct})" if v.ok is not True else "")
        + (f"; {v.difference()}" if v.counterexample else "") for v in verdicts)


def point_json(result, check, steps: dict | None = None, verdicts=None, exact=None) -> str:
    extra: dict[str, Any] = {"steps": steps} if steps is not None else {}
    if exact is not None:
        from .table import printed

        key = "exact" if exact.digits is None else "precision"
        extra[key] = {"value": printed(exact.expression, exact.digits),
                      "gradient": {k: printed(v, exact.digits) for k, v in exact.gradient.items()}}
        if exact.digits is not None:
            extra[key]["digits"] = exact.digits
    if verdicts is not None:
        extra["expect"] = answers_json(verdicts)
    return json.dumps({
        "output": result.output,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "methods": {k: result.determined[k].text if k in result.determined else "reverse mode"
                    for k in result.gradient},
        **({"determined": {k: d.as_json() for k, d in result.determined.items()}}
           if result.determined else {}),
        "check": _check_dict(check, False),
        "warnings": list(result.warnings),
        **extra,
    }, ensure_ascii=False, indent=2)


def symbolic_json(sym, check, verdicts=None) -> str:
    extra = {"expect": answers_json(verdicts)} if verdicts is not None else {}
    return json.dumps({
        "output": sym.output,
        "point": None,
        "value": None,
        "expression": str(sym.expression),
        "gradient": {k: str(v) for k, v in sym.gradient.items()},
        "check": _check_dict(check, True),
        "warnings": list(sym.warnings),
        **extra,
    }, ensure_ascii=False, indent=2)


def point_plain(result, digits=None, exact=None) -> str:
    """f = -12 then df/dx = -4 lines; with ``exact``, exact values (f = 1/3)."""
    out = result.output
    if exact is not None:
        from .table import printed

        lines = [f"{out} = {printed(exact.expression, exact.digits)}"]
        lines += [f"d{out}/d{k} = {printed(v, exact.digits)}" for k, v in exact.gradient.items()]
        return "\n".join(lines)
    lines = [f"{out} = {fmt(result.value, digits)}"]
    lines += [f"d{out}/d{k} = {fmt(v, digits)}" for k, v in result.gradient.items()]
    return "\n".join(lines)


def symbolic_plain(sym) -> str:
    out = sym.output
    lines = [f"{out} = {sym.expression}"]
    lines += [f"d{out}/d{k} = {v}" for k, v in sym.gradient.items()]
    return "\n".join(lines)
