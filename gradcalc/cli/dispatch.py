"""What the gradient command's options ask for, run: one module per kind of run, imported only
when chosen. Both readings of the command line (click's, gradient.py; and quick.py's, without
click) end here with the same Options."""

from __future__ import annotations

import sys

from .. import formats
from ..errors import GradcalcError, UsageError
from ..syntax import Limits
from .app import Settings, echo, guarded, settings_of
from .options import Options


def start(o: Options, own_process: bool) -> int:
    """The gradient command run with these options: its exit code."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # exact numbers print whole (--max-digits bounds them)
    limits = Limits(*(n or None for n in (o.max_size, o.max_nodes, o.max_depth, o.max_digits)))
    settings = settings_of(own_process, o.quiet, o.no_color, limits, o.max_memory or None)
    return guarded(lambda: run(o, settings), settings)


def run(o: Options, settings: Settings) -> int:
    """Choose what to compute from the options; with --format json an error is a JSON object on
    standard output too, so a script always has one to read."""
    try:
        return _dispatch(o, settings)
    except GradcalcError as exc:
        if o.fmt != "json":
            raise
        echo(exc.render(), err=True)
        echo(formats.get("json").error(exc.message, 2))
        return 2


def _html_applies(o: Options) -> None:
    """--html walks through the gradient at one point; refuse it where there is none."""
    if o.points_file is not None or len(o.at) > 1:
        raise UsageError("--html walks through one point; it takes a single --at",
                         hint="write one page per point")
    other = o.given("implicit", "order", "jacobian")
    if o.output and "," in o.output:
        other.append("-o with several outputs")
    if other:
        raise UsageError(f"--html walks through the gradient at one point; it does not combine "
                         f"with {', '.join(other)}",
                         hint="drop those options, or use --steps and --graph for them")


def _dispatch(o: Options, settings: Settings) -> int:
    if o.save_gradients is not None and (
            o.implicit is not None or o.jacobian or (o.output and "," in o.output) or o.hessian
            or o.order is not None or o.points_file is not None or len(o.at) > 1):
        raise UsageError("--save-gradients writes the gradient of an array program at one "
                         "point", hint='e.g. gradcalc "sum(W@x)" --at "W=@w.npy,x=[1,2]" '
                                       "--save-gradients grads")
    if o.html_file is not None:
        _html_applies(o)
    if o.points_file is None and len(o.at) < 2 and (o.save_points is not None
                                                     or o.scheduler is not None):
        raise UsageError(f"{o.given('save_points', 'scheduler')[0]} works with many points "
                         "(--points FILE, or --at given more than once)",
                         hint="e.g. gradcalc \"z*(x+y)\" --points points.parquet "
                              "--save-points out.parquet")
    # each kind of run imports its own module (start-up time: issue 18)
    if o.implicit is not None or (o.output and "," in o.output) or o.hessian or \
            o.order is not None:
        from . import higher

        if o.implicit is not None:
            return higher.implicit(o, settings)
        if o.output and "," in o.output:
            return higher.outputs(o, settings)
        return higher.higher(o, settings)
    if o.points_file is not None or len(o.at) > 1:
        from . import many

        return many.many(o, settings)
    from . import point

    return point.point(o, settings)
