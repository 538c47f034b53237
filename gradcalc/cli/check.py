"""gradcalc check FILE.toml: every answer of a problem set decided, with a score."""

from __future__ import annotations

import click

from .app import Settings, echo, guarded, settings_of
from .click_base import Command, own_process


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

    settings = settings_of(own_process(ctx), quiet, no_color)
    return guarded(lambda: _report(run(load(problem_file)), fmt, settings), settings)


def _report(reports, fmt: str, settings: Settings) -> int:
    from ..problems import score

    total = score(reports)
    {"json": _json, "plain": _plain}.get(fmt, _table)(reports, total, settings)
    if total.could_not_run:
        return 2
    return 1 if total.right < total.total else 0


def _json(reports, total, settings: Settings) -> None:
    import json

    from ..render.formats import answers_json

    echo(json.dumps({
        "problems": [{"name": r.name, "program": r.program, "at": r.at,
                      "answers": answers_json(r.verdicts), "right": r.right,
                      "total": r.answers, "error": r.error} for r in reports],
        "right": total.right, "total": total.total, "could_not_run": total.could_not_run,
        "not_checked": total.not_checked, "score": total.sentence},
        ensure_ascii=False, indent=2))


def _plain(reports, total, settings: Settings) -> None:
    from ..render.formats import answers_plain

    for k, r in enumerate(reports, start=1):
        head = "could not run" if r.error else f"{r.right} of {len(r.verdicts)} right"
        echo(f"# {k}. {r.name}: {head}")
        echo(f"# program: {' '.join(r.program.split())}")
        echo(f"# at: {r.at}" if r.at else "# at: no point (answers checked symbolically)")
        echo(r.error if r.error else answers_plain(r.verdicts))
    echo(f"score: {total.sentence}")


def _table(reports, total, settings: Settings) -> None:
    from rich.text import Text

    from ..render.table import answers_table

    console = settings.console()
    for k, r in enumerate(reports, start=1):
        console.print(Text(f"{k}. {r.name}", style="bold"))
        console.print(Text.assemble(("program ", "dim"), " ".join(r.program.split())))
        console.print(Text.assemble(("at      ", "dim"), r.at) if r.at else
                      Text("no point: answers checked symbolically", style="dim"))
        if r.error:
            console.print(Text(r.error, style="red"))
        else:
            answers_table(console, r.verdicts, 6)
        console.print()
    style = "bold green" if total.right == total.total else "bold red"
    console.print(Text(f"score: {total.sentence}", style=style))
