"""The gradient command's common command lines, read without click (start-up time: issue 18).

Importing click (with ``inspect``, ``uuid``, ``datetime``...) costs about a fifth of a plain
``--no-check`` run. Most runs, in scripts and homework checks alike, use a few options, so
``read`` reads a command line made only of the options below into the Options click would make,
and the run goes on without click. Anything else gives None and the whole command line goes to
click, which reads it and reports its errors as before: help, any other option, another
command, '--', a short option with its value attached, a program or value starting with '-', a
value click would refuse or convert (``--digits 99``, ``--format yaml``, ``--points DIR``).
tests/cli/test_quick.py holds the two readings equal on generated command lines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..records import replace
from .options import DEFAULTS, Options

# option as typed -> (Options field, how its value is read)
#   flag: no value; text: one value; texts: repeatable (a tuple); format: one of formats.names();
#   digits: 1..17; rows: 1..10,000,000; path: a file name or '-' (not a directory)
_FLAGS = ("--no-check", "--no-symbolic", "--steps", "--tree", "--exact", "--hessian",
          "--jacobian", "--keep-columns", "--no-color", "--fast-math")
OPTIONS: dict[str, tuple[str, str]] = {
    **{name: (name[2:].replace("-", "_"), "flag") for name in _FLAGS},
    "-q": ("quiet", "flag"), "--quiet": ("quiet", "flag"),
    "--at": ("at", "texts"), "--expect": ("expect", "texts"),
    "--wrt": ("wrt", "text"), "-o": ("output", "text"), "--output": ("output", "text"),
    "--direction": ("direction", "text"), "--implicit": ("implicit", "text"),
    "--tol": ("tol", "text"), "--graph": ("graph_file", "text"), "--html": ("html_file", "text"),
    "--save-points": ("save_points", "text"), "--save-gradients": ("save_gradients", "text"),
    "--format": ("fmt", "format"), "--digits": ("digits", "digits"),
    "--chunk-size": ("chunk_size", "rows"), "--points": ("points_file", "path"),
}
_RANGES = {"digits": (1, 17), "rows": (1, 10_000_000)}
OTHER_COMMANDS = ("check", "descend", "fit")


def read(args: Sequence[str], environ: Mapping[str, str]) -> Options | None:
    """The options of the gradient command given by ``args`` (the command line after
    'gradcalc'), or None when click must read them (see the module's docstring)."""
    if not args or args[0] in OTHER_COMMANDS or "_GRADCALC_COMPLETE" in environ:
        return None
    no_check = environ.get("GRADCALC_NO_CHECK")
    if no_check not in (None, "1"):   # click's reading of other values changed across versions
        return None
    values: dict = {"no_check": no_check == "1"}
    texts: dict[str, list[str]] = {}
    program = None
    k = 0
    while k < len(args):
        arg = args[k]
        k += 1
        if arg == "-" or not arg.startswith("-"):
            if program is not None:   # a second program: click's error
                return None
            program = arg
            continue
        name, eq, value = arg.partition("=")
        spec = OPTIONS.get(name)
        if spec is None or (eq and not name.startswith("--")):
            return None
        field, kind = spec
        if kind == "flag":
            if eq:
                return None
            values[field] = True
            continue
        if not eq:
            if k == len(args):   # the value is missing: click's error
                return None
            value = args[k]
            k += 1
        if value.startswith("-"):
            return None
        converted = _convert(kind, value)
        if converted is None:
            return None
        if kind == "texts":
            texts.setdefault(field, []).append(value)
        else:
            values[field] = converted
    values.update({field: tuple(given) for field, given in texts.items()})
    return replace(DEFAULTS, program=program, **values)


def _convert(kind: str, value: str):
    """The value as click's type for ``kind`` gives it, or None where click must judge it."""
    if kind in ("text", "texts"):
        return value
    if kind == "format":
        from .. import formats

        return value if value in formats.names() else None
    if kind == "path":
        if value != "-" and os.path.exists(value) and (
                os.path.isdir(value) or not os.access(value, os.R_OK)):
            return None
        return value
    if not (value.isascii() and value.isdigit()):
        return None
    low, high = _RANGES[kind]
    number = int(value)
    return number if low <= number <= high else None
