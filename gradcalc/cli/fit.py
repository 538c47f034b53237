"""gradcalc fit: fit a program's parameters to a data file by mini-batch gradient descent."""

from __future__ import annotations

import math
import os
import sys

import click

from ..errors import UsageError, describe
from ..points import parse_point
from ..syntax import split_top_level
from .app import Command, Settings
from .many import open_points
from .training import live as live_progress
from .training import optimizer_json, optimizer_options, run_training


@click.command("fit", cls=Command, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100},
               epilog="""
\b
Examples:
  gradcalc fit "(w*x + b - y)^2" --data examples/line.csv --params w=0,b=0 --lr 0.05
  gradcalc fit -f examples/xor.gc --data examples/xor.csv --params w11=~,w12=~,... \\
      --optimizer adam --lr 0.05 --epochs 2000 --batch-size 4 --seed 1
\b
Exit codes: 0 done, 1 diverged or the loss is undefined at some row, 2 bad input.
""")
@click.argument("program", required=False)
@click.option("--data", "data_file", metavar="FILE.csv", required=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Training data: a CSV/TSV file whose header names the data variables.")
@click.option("--init", metavar="FILE.json", type=click.Path(dir_okay=False),
              help="Start from saved parameters (the file --save writes); --params then "
                   "overrides the names it gives.")
@click.option("--params", "params_spec", metavar="NAME=VALUE,...",
              help="The parameters and their initial values; NAME=~ draws from N(0, 1) "
                   "(NAME=~0.1: standard deviation 0.1), seeded by --seed.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--shuffle/--no-shuffle", default=True, show_default=True,
              help="Shuffle the rows before each epoch.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for shuffling and for NAME=~ initial values.")
@click.option("--save", metavar="FILE.json", help="Write the fitted parameters to FILE.json.")
@optimizer_options
def fit_command(ctx, **options):
    """Fit the parameters of PROGRAM, a loss per data row, by mini-batch gradient descent: the
    loss of a batch is the mean of PROGRAM's output over its rows."""
    return run_training(ctx, options, _fit)


def parse_params(text: str) -> dict:
    """--params w=0,b=~,c=~0.1: a number (or constant expression) or ('~', standard deviation)."""
    # name -> a number, or ('~', sd); None keeps a plain value's place (the order given) until
    # parse_point reads them all
    spec: dict[str, float | tuple[str, float] | None] = {}
    plain = []
    for piece, offset in split_top_level(text):
        name, _, value = piece.partition("=")
        value = value.strip()
        home = os.path.expanduser("~")
        if home not in ("~", "/") and value.startswith(home):
            raise UsageError(f"the value of {name.strip()} is {value!r}: your shell replaced ~ "
                             "by your home directory", text, (offset, offset + len(piece)),
                             hint='quote the option: --params "w=~,b=~"')
        if value.startswith("~"):
            sd = value[1:].strip() or "1"
            try:
                spread = float(sd)
            except ValueError:
                raise UsageError(f"~{sd} is not a standard deviation", text,
                                 (offset, offset + len(piece)),
                                 hint="write w=~ or w=~0.1") from None
            if not (math.isfinite(spread) and spread >= 0):
                raise UsageError(f"the standard deviation of {name.strip()} must be ≥ 0", text,
                                 (offset, offset + len(piece)))
            spec[name.strip()] = ("~", spread)
        elif "=" not in piece and piece.strip().endswith(".json"):
            raise UsageError(f"--params takes name=value pairs, not the file {piece.strip()}",
                             text, (offset, offset + len(piece)),
                             hint=f"to start from parameters --save wrote: --init "
                                  f"{piece.strip()}")
        else:
            plain.append(piece)
            spec[name.strip()] = None
    if plain:
        values = parse_point(",".join(plain), option="--params")
        spec.update({k: v for k, v in values.items()})
    return spec


def _fit(o, opt, settings: Settings) -> int:
    from ..function import Function
    from ..optimize import start_params

    if opt.kind == "newton":
        raise UsageError("fit trains with sgd, momentum or adam; newton is for descend",
                         hint="gradcalc descend PROGRAM --from ... --optimizer newton")
    fn = Function(settings.read_program(o.program, o.file), settings.limits)
    spec = parse_params(o.params_spec) if o.params_spec else None
    params = start_params(spec, o.seed, o.init, fn.variables)
    unknown = [p for p in params if p not in fn.variables]
    if unknown:
        raise UsageError(f"the program has no variable named {', '.join(unknown)}",
                         hint=f"its variables: {', '.join(map(describe, fn.variables))}")
    data = _read_data(o.data_file, [v for v in fn.variables if v not in params], params)
    rows = len(next(iter(data.values()))) if data else 0
    if rows == 0:
        raise UsageError("the data has no rows")
    outcome = _run(fn, data, params, opt, o, settings)
    if o.save and outcome.loss is not None:
        _save(o.save, outcome)
    if o.fmt == "json":
        import json

        click.echo(json.dumps({
            "output": o.output or fn.output, "optimizer": optimizer_json(opt),
            "initial": params, "params": outcome.params, "loss": outcome.loss,
            "rows": rows, "epochs": outcome.epochs, "steps": outcome.steps,
            "batch_size": min(o.batch_size, rows), "diverged": outcome.diverged,
            "reason": outcome.reason, "initial_loss": outcome.initial_loss,
            "warnings": outcome.warnings, "history": outcome.history}, ensure_ascii=False,
            indent=2))
    else:
        from ..render.training import fit_table

        fit_table(settings.console(), o.output or fn.output, outcome, opt, o.digits)
    if outcome.diverged:
        click.echo(f"error: {outcome.reason}; the parameters shown are the last good ones",
                   err=True)
    elif o.save:
        settings.note(f"wrote the parameters to {o.save}")
    return 1 if outcome.diverged else 0


def _read_data(data_file: str, data_vars: list[str], params: dict) -> dict[str, list[float]]:
    """The columns of --data (standard input for '-') the program's data variables name."""
    from ..points import PointsFile

    stream = open_points(data_file)
    try:
        table = PointsFile(stream, "standard input" if data_file == "-" else data_file,
                           data_vars, params, fixed_by="--params")
        data: dict[str, list[float]] = {v: [] for v in data_vars}
        for chunk in table.chunks():
            if chunk.invalid:
                k, why = next(iter(chunk.invalid.items()))
                raise UsageError(f"row {chunk.start + k + 1} of the data is malformed: {why}")
            for v in data_vars:
                data[v].extend(chunk.columns[v])
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return data


def _run(fn, data: dict, params: dict[str, float], opt, o, settings: Settings):
    """Run fit to its outcome, with live progress per mini-batch."""
    from ..optimize import FitOutcome, fit, fit_batches

    rows = len(next(iter(data.values())))
    live = live_progress(settings, fit_batches(rows, o.batch_size, o.epochs), "fit", eta=True)
    outcome = None
    try:
        for item in fit(fn, data, params, opt, epochs=o.epochs, batch_size=o.batch_size,
                        shuffle=o.shuffle, seed=o.seed, output=o.output):
            if isinstance(item, FitOutcome):
                outcome = item
            elif live is not None:
                live.follow_fit(item)
    finally:
        if live is not None:
            live.stop()
    assert outcome is not None   # fit's last item is always its FitOutcome
    return outcome


def _save(path: str, outcome) -> None:
    """--save: the fitted parameters and their loss, as JSON (what --init reads)."""
    import json

    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"params": outcome.params, "loss": outcome.loss}, fh, indent=2)
            fh.write("\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
