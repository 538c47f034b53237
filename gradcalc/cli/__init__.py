"""The command line: a click group of commands, one module each.

    gradcalc PROGRAM [options]       the gradient (gradient.py), the default command
    gradcalc check FILE.toml         a problem set, scored (check.py)
    gradcalc descend PROGRAM ...     gradient descent from a point (descend.py)
    gradcalc fit PROGRAM ...         mini-batch training on a data file (fit.py)

The first argument chooses: a command's name runs that command; anything else (a program, an
option) runs the gradient command with every argument. A program that is itself named like a
command goes behind '--': ``gradcalc -- check --at check=1``.
"""

from __future__ import annotations

import os
import sys

import click

from .app import _Guarded
from .gradient import gradient_command

__all__ = ["main", "entry"]

DEFAULT = "gradient"
OTHERS = ("check", "descend", "fit")   # imported when named (start-up time: issue 18)


def _command(name: str) -> click.Command:
    if name == "check":
        from .check import check_command

        return check_command
    if name == "descend":
        from .descend import descend_command

        return descend_command
    from .fit import fit_command

    return fit_command


class _Group(_Guarded, click.Group):
    """The commands, with the gradient command as the default (chosen by the first argument
    alone: no option names are looked for in the rest). The others are imported only when
    named: the gradient command does not pay for them."""

    def parse_args(self, ctx, args):
        if args[:1] == ["--"] and len(args) > 1:
            # gradcalc -- check --at check=1: the program goes behind '--', its options before
            args = [DEFAULT, *args[2:], "--", args[1]]
        elif not args or args[0] not in OTHERS:
            args = [DEFAULT, *args]
        return super().parse_args(ctx, args)

    def get_command(self, ctx, cmd_name):
        if cmd_name in OTHERS and cmd_name not in self.commands:
            self.add_command(_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        return [DEFAULT, *OTHERS]


main = _Group(commands={DEFAULT: gradient_command}, context_settings={"help_option_names": []})


def entry() -> None:
    """The console script and ``python -m gradcalc``: run, flush, and leave at once.

    Leaving with os._exit skips the interpreter's teardown, which with SymPy loaded costs more
    than the whole cross-check (~100 ms freeing its caches). Nothing of ours needs atexit
    handlers."""
    try:
        main.main(prog_name="gradcalc", obj={"own_process": True})
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
