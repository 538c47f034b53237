"""--format plain: ``name = value`` lines, easy to read and to grep."""

from __future__ import annotations

from ..numfmt import fmt

KINDS = {"point", "symbolic", "points", "higher", "symbolic_higher", "outputs", "implicit",
         "tensor"}


def render(report, out) -> None:
    _KINDS[report.kind](report, out)


def _point(report, out) -> None:
    from ..render.formats import answers_plain, point_plain

    out.echo(point_plain(report.result, out.digits, report.exact))
    if report.forward is not None:
        out.echo(f"D_v {report.output} = {fmt(report.forward.value, out.digits)}")
    if report.steps:
        from ..render.steps import steps_plain

        out.echo(steps_plain(report.walk, out.digits))
    if report.verdicts:
        out.echo(answers_plain(report.verdicts))


def _symbolic(report, out) -> None:
    from ..render.formats import answers_plain, symbolic_plain

    out.echo(symbolic_plain(report.symbolic))
    if report.verdicts:
        out.echo(answers_plain(report.verdicts))


def _points(report, out) -> None:
    from . import _rows

    _rows.write("plain", report, out)


def _higher(report, out) -> None:
    from ..render.formats import point_plain
    from ..render.higher import higher_plain

    out.echo(point_plain(report.result, out.digits))
    out.echo(higher_plain(report.output, report.hessian, report.partials, out.digits))


def _symbolic_higher(report, out) -> None:
    from ..derivatives import label
    from ..printing import sstr

    marks = {"agree": "✓", "disagree": "✗"}
    for k, v in report.entries.items():
        out.echo(f"{label(k, report.output)} = {sstr(v)}   "
                 f"{marks.get(report.entry_checks[k], '?')}")


def _outputs(report, out) -> None:
    out.echo(report.jacobian.plain(out.digits))


def _implicit(report, out) -> None:
    from ..render.higher import implicit_output

    out.echo(implicit_output(report.source, report.implicit, report.point, report.check,
                             "plain", out.digits))


def _tensor(report, out) -> None:
    from ..render.arrays import tensor_plain

    out.echo(tensor_plain(report, out.digits))


_KINDS = {"point": _point, "symbolic": _symbolic, "points": _points, "higher": _higher,
          "symbolic_higher": _symbolic_higher, "outputs": _outputs, "implicit": _implicit,
          "tensor": _tensor}
