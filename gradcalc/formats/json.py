"""--format json: one object (an array of objects for several points), every float at full
precision, keys stable (docs/schema.json describes them; the tests hold the output to it)."""

from __future__ import annotations

KINDS = {"point", "symbolic", "points", "higher", "symbolic_higher", "outputs", "implicit",
         "tensor"}


def dumps(obj) -> str:
    """Strict JSON: a number JSON cannot write (an infinite local derivative where 0·∞ was met,
    in --steps) is the string "Infinity", "-Infinity" or "NaN", never a bare Infinity that
    JSON.parse and jq refuse."""
    import json  # here, not at the top: a run in another format need not import it

    text = json.dumps(obj, ensure_ascii=False, indent=2)
    if "Infinity" not in text and "NaN" not in text:
        return text
    return json.dumps(json.loads(text, parse_constant=str), ensure_ascii=False, indent=2)


def render(report, out) -> None:
    if report.kind == "points":
        from . import _rows

        _rows.write("json", report, out)
        return
    out.echo(_KINDS[report.kind](report))


def error(message: str, code: int) -> str:
    """A run that ended in an error, as the object a script reads instead of nothing."""
    return dumps({"output": None, "error": message, "exit_code": code, "warnings": []})


def _point(report) -> str:
    import json

    from ..render.formats import point_json
    from ..render.steps import steps_json

    text = point_json(report.result, report.check,
                      steps_json(report.walk) if report.steps else None, report.verdicts,
                      report.exact)
    obj = json.loads(text)
    if report.forward is not None:
        obj.update(report.forward.as_json(report.steps))
    obj["error"] = None
    return dumps(obj)


def _symbolic(report) -> str:
    import json

    from ..render.formats import symbolic_json

    obj = json.loads(symbolic_json(report.symbolic, report.check, report.verdicts))
    obj["error"] = None
    return dumps(obj)


def _higher(report) -> str:
    import json

    from ..render.higher import higher_json

    obj = json.loads(higher_json(report.result, report.hessian, report.partials,
                                 report.higher_check))
    if report.gradient_program is not None:
        obj["gradient_program"] = report.gradient_program
    return dumps(obj)


def _symbolic_higher(report) -> str:
    from ..printing import sstr

    return dumps({"output": report.output, "point": None, "order": report.order,
                  "partials": [{"wrt": list(k), "symbolic": sstr(v),
                                "check": report.entry_checks[k]}
                               for k, v in report.entries.items()]})


def _outputs(report) -> str:
    return report.jacobian.json()


def _implicit(report) -> str:
    from ..render.higher import implicit_output

    return implicit_output(report.source, report.implicit, report.point, report.check, "json",
                           None)


def _tensor(report) -> str:
    from ..render.arrays import tensor_json

    return dumps(tensor_json(report))


_KINDS = {"point": _point, "symbolic": _symbolic, "higher": _higher,
          "symbolic_higher": _symbolic_higher, "outputs": _outputs, "implicit": _implicit,
          "tensor": _tensor}
