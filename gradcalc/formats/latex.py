"""--format latex: the function and its partials as an align* block a student can paste into a
write-up (with the values at the point when there is one); --expect verdicts as TeX comments."""

from __future__ import annotations

KINDS = {"point", "symbolic"}


def render(report, out) -> None:
    from ..render.formats import latex_document

    out.echo(latex_document(report.symbolic_raw, report.result))
    if report.verdicts:
        from ..render.formats import answers_plain

        out.echo("\n".join(f"% {line}" for line in answers_plain(report.verdicts).splitlines()))
