"""The click side of every command: usage errors in gradcalc's own format, and the whole run
under ``app.guarded``. The gradient command's common runs do without click (``quick.py``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from .app import echo, guarded


def own_process(ctx: click.Context) -> bool:
    """Whether gradcalc runs in a process of its own (``entry``), not inside a caller's."""
    return bool((ctx.find_root().obj or {}).get("own_process"))


class _Guarded(click.Command):
    """Mixin for click commands and groups: usage errors in gradcalc's 'error: ...' format
    (exit 2), and the whole run under ``guarded`` (a bug is exit 3, never a traceback).
    (A click.Command itself only so that its ``main`` is checked against click's.)"""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> NoReturn:
        """click's main, always as if ``standalone_mode`` were False, then exit."""

        def run():
            try:
                rv = super(_Guarded, self).main(args, prog_name, complete_var,
                                                standalone_mode=False, **extra)
            except click.ClickException as exc:
                echo(f"error: {exc.format_message()}", err=True)
                echo(f"hint: {prog_name or 'gradcalc'} --help lists the options", err=True)
                return exc.exit_code
            except click.Abort:
                return 130
            return rv if isinstance(rv, int) else 0

        sys.exit(guarded(run))


class Command(_Guarded, click.Command):
    """A gradcalc command."""
