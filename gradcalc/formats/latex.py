"""--format latex: the function and its partials as an align* block a student can paste into a
write-up (with the values at the point when there is one: --digits, --exact, --precision), the
--steps walkthrough as tables of the forward and backward passes, --expect verdicts as TeX
comments."""

from __future__ import annotations

KINDS = {"point", "symbolic"}


def render(report, out) -> None:
    from ..render.latex import latex_point, latex_steps

    out.echo(latex_point(report.symbolic_raw, report.result, out.digits, report.exact))
    if report.steps:
        out.echo(latex_steps(report.walk, out.digits))
    if report.verdicts:
        from ..render.formats import answers_plain

        out.echo("\n".join(f"% {line}" for line in answers_plain(report.verdicts).splitlines()))
