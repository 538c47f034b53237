"""gradcalc descend: minimize a program's output by gradient descent from a start point."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..points import every_variable, parse_point
from .app import Settings, echo
from .click_base import Command
from .training import live as live_progress
from .training import optimizer_json, optimizer_options, run_training


@click.command("descend", cls=Command, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100},
               epilog="""
\b
Examples:
  gradcalc descend "(x-3)^2 + (y+1)^2" --from x=0,y=0 --lr 0.1
  gradcalc descend "(1-x)^2 + 100*(y-x^2)^2" --from x=-1,y=1 --optimizer adam --lr 0.02 \\
      --steps 5000 --trajectory path.csv
\b
Exit codes: 0 stopped normally (converged, or --steps reached), 1 diverged, 2 bad input.
""")
@click.argument("program", required=False)
@click.option("--from", "start", metavar="POINT", required=True,
              help="The start point: x=0,y=0 (every variable; the ones not in --wrt stay fixed).")
@click.option("--wrt", metavar="NAMES", help="Move only these variables (default: all).")
@click.option("--steps", type=click.IntRange(0), default=1000, show_default=True,
              help="Most iterations.")
@click.option("--tol", type=click.FloatRange(0), default=1e-8, show_default=True,
              help="Stop when the gradient's norm falls below this.")
@click.option("--trajectory", metavar="FILE.csv", help="Write every step to FILE.csv.")
@optimizer_options
def descend_command(ctx, **options):
    """Minimize PROGRAM's output by gradient descent from a start point."""
    return run_training(ctx, options, _descend)


def _descend(o, opt, settings: Settings) -> int:
    from ..function import Function
    from ..optimize import Outcome, descend

    program, file, start, wrt, steps, output = o.program, o.file, o.start, o.wrt, o.steps, o.output

    fn = Function(settings.read_program(program, file), settings.limits)
    point = parse_point(start, option="--from")
    every_variable(fn.variables, point, start, "--from")
    names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else list(point)
    bad = [w for w in names if w not in point]
    if bad:
        raise UsageError(f"--wrt names {', '.join(bad)}, which --from does not give",
                         hint="--wrt chooses among the variables of --from")
    writer = _trajectory(o.trajectory, fn, point, names, output)
    live = live_progress(settings, steps, "descend")
    outcome = None
    try:
        for item in descend(fn, point, names, opt, steps, o.tol, output):
            if isinstance(item, Outcome):
                outcome = item
                break
            if writer is not None:
                writer(item)
            if live is not None:
                live.update(item.number, f"{fn.output if output is None else output} = "
                                         f"{item.value:.6g}  |∇| = {item.norm:.3g}")
    finally:
        if live is not None:
            live.stop()
        if writer is not None:
            writer(None)
    assert outcome is not None   # descend's last item is always its Outcome
    out = output or fn.output
    if o.fmt == "json":
        import json

        last = outcome.last
        echo(json.dumps({
            "output": out, "optimizer": optimizer_json(opt), "start": point,
            "point": last.point, "value": last.value, "gradient": last.gradient,
            "gradient_norm": last.norm, "steps": last.number, "converged": outcome.converged,
            "diverged": outcome.diverged, "reason": outcome.reason,
            "warnings": outcome.warnings, "history": outcome.history},
            ensure_ascii=False, indent=2))
    else:
        from ..render.training import descend_table

        descend_table(settings.console(), out, point, outcome, opt, o.digits)
    if outcome.diverged:
        echo(f"error: {outcome.reason}; the last good point is step "
                   f"{outcome.last.number}", err=True)
    return 1 if outcome.diverged else 0


def _trajectory(path, fn, point, names, output):
    """A function writing each step as a CSV row to ``path`` (None closes it), or None."""
    if not path:
        return None
    import csv

    try:
        fh = open(path, "w", newline="", encoding="utf-8")   # noqa: SIM115 (closed on None)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    out = output or fn.output
    writer = csv.writer(fh)
    writer.writerow(["step", *point, out, *(f"d{out}/d{w}" for w in names), "norm"])

    def write(step):
        if step is None:
            fh.close()
            return
        writer.writerow([step.number, *map(repr, step.point.values()), repr(step.value),
                         *(repr(step.gradient[w]) for w in names), repr(step.norm)])

    return write
