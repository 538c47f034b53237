"""gradcalc check FILE.toml: every answer of a problem set decided, with a score."""

from __future__ import annotations

import click

from .app import Command, Settings, guarded, settings_of


@click.command("check", cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("problem_file", metavar="FILE.toml")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "plain"]),
              default="table", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No warnings or notes.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
@click.pass_context
def check_command(ctx, problem_file, fmt, quiet, no_color):
    """Check every answer of a problem set (see examples/homework.toml); print a report and a
    score. Exit 0 if all are right, 1 if any is wrong, 2 if a problem cannot be run."""
    from ..problems import load, run

    settings = settings_of(ctx, quiet, no_color)
    return guarded(lambda: _report(run(load(problem_file)), fmt, settings), settings)


def _report(reports, fmt: str, settings: Settings) -> int:
    right = sum(r.right for r in reports)
    total = sum(len(r.verdicts) for r in reports)
    if fmt == "json":
        import json

        from ..render.formats import answers_json

        click.echo(json.dumps({
            "problems": [{"name": r.name, "answers": answers_json(r.verdicts), "right": r.right,
                          "total": len(r.verdicts), "error": r.error} for r in reports],
            "right": right, "total": total}, ensure_ascii=False, indent=2))
    elif fmt == "plain":
        from ..render.formats import answers_plain

        for k, r in enumerate(reports, start=1):
            click.echo(f"# {k}. {r.name}: {r.right} of {len(r.verdicts)} right")
            click.echo(r.error if r.error else answers_plain(r.verdicts))
        click.echo(f"score: {right} of {total}")
    else:
        from rich.text import Text

        from ..render.table import answers_table

        console = settings.console()
        for k, r in enumerate(reports, start=1):
            console.print(Text(f"{k}. {r.name}", style="bold"))
            if r.error:
                console.print(Text(r.error, style="red"))
            else:
                answers_table(console, r.verdicts)
            console.print()
        console.print(Text(f"score: {right} of {total}", style="bold"))
    if any(r.error for r in reports):
        return 2
    return 1 if right < total else 0
