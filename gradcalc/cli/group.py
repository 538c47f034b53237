"""The click group of commands, with the gradient command as the default (see cli/__init__)."""

from __future__ import annotations

import click

from .click_base import _Guarded
from .gradient import gradient_command
from .quick import OTHER_COMMANDS

DEFAULT = "gradient"
OTHERS = OTHER_COMMANDS   # imported when named (start-up time: issue 18)


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
