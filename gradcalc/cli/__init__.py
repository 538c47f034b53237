"""The command line: a click group of commands, one module each.

    gradcalc PROGRAM [options]       the gradient (gradient.py), the default command
    gradcalc check FILE.toml         a problem set, scored (check.py)
    gradcalc descend PROGRAM ...     gradient descent from a point (descend.py)
    gradcalc fit PROGRAM ...         mini-batch training on a data file (fit.py)

The first argument chooses: a command's name runs that command; anything else (a program, an
option) runs the gradient command with every argument. A program that is itself named like a
command goes behind '--': ``gradcalc -- check --at check=1``.

The group is made of click commands (group.py); ``main`` is imported from it when first used.
The console script (``entry``) runs the gradient command's common command lines without
importing click at all (quick.py); click reads every other one.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main", "entry"]


def __getattr__(name: str):
    if name == "main":   # the click group, made when first asked for
        from .group import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def entry() -> None:
    """The console script and ``python -m gradcalc``: run, flush, and leave at once.

    Leaving with os._exit skips the interpreter's teardown, which with SymPy loaded costs more
    than the whole cross-check (~100 ms freeing its caches). Nothing of ours needs atexit
    handlers."""
    from .quick import read

    try:
        options = read(sys.argv[1:], os.environ)
        if options is not None:
            from .dispatch import start

            code = start(options, own_process=True)
        else:
            from .group import main

            main.main(prog_name="gradcalc", obj={"own_process": True})
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (KeyboardInterrupt, EOFError):   # Ctrl-C: a new line and 130, as click's Abort
        code = 130
        if sys.stderr is not None:
            sys.stderr.write("\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:   # None: started with the stream closed (>&-)
                stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)
