"""--format table (the default): rich tables and text for people on a terminal."""

from __future__ import annotations

KINDS = {"point", "symbolic", "points", "higher", "symbolic_higher", "outputs", "implicit",
         "tensor"}


def render(report, out) -> None:
    _KINDS[report.kind](report, out)


def _point(report, out) -> None:
    if (report.forward is None and not report.steps and not out.tree and not report.verdicts
            and report.exact is None):
        from ..render.plain_table import write_point

        # the plain table, without importing rich, when rich would print just that
        if write_point(report.title, report.result, report.check, out.digits or 6,
                       out.symbolic):
            return
    from ..render.table import answers_table, point_table

    digits = out.digits or 6
    console = out.console()
    point_table(console, report.title, report.result, report.check, digits, report.exact,
                symbolic=out.symbolic)
    if report.forward is not None:
        report.forward.print(console, digits, report.steps)
    if report.steps:
        from ..render.steps import steps_tables

        steps_tables(console, report.walk, digits)
    if out.tree:
        from ..render.tree import graph_tree

        console.print()
        console.print(graph_tree(report.walk, digits))
    if report.verdicts:
        answers_table(console, report.verdicts, digits)


def _symbolic(report, out) -> None:
    from ..render.table import answers_table, symbolic_table

    console = out.console()
    symbolic_table(console, report.title, report.symbolic, report.check, out.symbolic)
    if report.verdicts:
        answers_table(console, report.verdicts)


def _points(report, out) -> None:
    from . import _rows

    _rows.write("table", report, out)


def _higher(report, out) -> None:
    from ..render import higher
    from ..render.table import point_table

    digits = out.digits or 6
    console = out.console()
    point_table(console, report.title, report.result, report.check, digits,
                symbolic=out.symbolic)
    if report.hessian is not None:
        higher.hessian_table(console, report.output, report.hessian, report.higher_check,
                             digits)
    else:
        higher.partials_table(console, report.output, report.partials, report.higher_check,
                              digits, symbolic=out.symbolic)
    if report.gradient_program is not None:
        from rich.text import Text

        console.print()
        console.print(Text("The second pass: reverse mode over the gradient's program, whose "
                           "statements are", style="bold"))
        for name, formula in report.gradient_program.items():
            console.print(Text.assemble((f"  {name} = ", "bold"), formula))
        console.print(Text(f"Row x of the Hessian is the gradient of d{report.output}/dx: "
                           "each statement differentiated by the same backward pass as f.",
                           style="dim"))


def _symbolic_higher(report, out) -> None:
    from . import plain

    plain.render(report, out)


def _outputs(report, out) -> None:
    report.jacobian.print(out.console(), report.title, out.digits or 6)


def _implicit(report, out) -> None:
    from ..render.higher import implicit_output

    out.echo(implicit_output(report.source, report.implicit, report.point, report.check,
                             "table", out.digits))


def _tensor(report, out) -> None:
    from ..render.arrays import tensor_table

    tensor_table(out.console(), report, out.digits or 6)


_KINDS = {"point": _point, "symbolic": _symbolic, "points": _points, "higher": _higher,
          "symbolic_higher": _symbolic_higher, "outputs": _outputs, "implicit": _implicit,
          "tensor": _tensor}
