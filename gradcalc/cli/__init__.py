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
from .check import check_command
from .descend import descend_command
from .fit import fit_command
from .gradient import gradient_command

__all__ = ["main", "entry"]

DEFAULT = "gradient"


class _Group(_Guarded, click.Group):
    """The commands, with the gradient command as the default (chosen by the first argument
    alone: no option names are looked for in the rest)."""

    def parse_args(self, ctx, args):
        if args[:1] == ["--"] and len(args) > 1:
            # gradcalc -- check --at check=1: the program goes behind '--', its options before
            args = [DEFAULT, *args[2:], "--", args[1]]
        elif not args or args[0] not in self.commands or args[0] == DEFAULT:
            args = [DEFAULT, *args]
        return super().parse_args(ctx, args)


main = _Group(commands={DEFAULT: gradient_command, "check": check_command,
                        "descend": descend_command, "fit": fit_command},
              context_settings={"help_option_names": []})


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
