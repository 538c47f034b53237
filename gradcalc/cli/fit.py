"""gradcalc fit: fit a program's parameters to a data file by mini-batch gradient descent."""

from __future__ import annotations

import math
import os
import sys

import click

from ..errors import UsageError, describe
from ..points import parse_point
from ..syntax import split_top_level
from .app import Settings, echo
from .click_base import Command
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
  gradcalc fit -f examples/digits_mlp.gc --data examples/digits_train.npz \\
      --params "W1=randn(64,32)*0.1, b1=zeros(32), W2=randn(32,10)*0.1, b2=zeros(10)" \\
      --lr 0.1 --batch-size 64 --epochs 30 --validate examples/digits_test.npz --report acc
\b
A program of scalars is the loss of one data row (a batch's loss is its mean over the rows); a
program of arrays is the loss of a whole mini-batch, its data arrays sliced along their first
axis (the examples).
\b
Exit codes: 0 done, 1 diverged or the loss is undefined at some row, 2 bad input.
""")
@click.argument("program", required=False)
@click.option("--data", "data_file", metavar="FILE", required=True, multiple=True,
              help="Training data: a CSV/TSV file whose header names the data variables "
                   "(columns X[0], X[1], ... or X.0, X.1, ... make a matrix X), an .npz archive "
                   "(its arrays named after the program's data), or NAME=FILE.npy; repeatable.")
@click.option("--validate", metavar="FILE", multiple=True,
              help="Validation data, as --data (arrays): its loss and --report figures each "
                   "epoch.")
@click.option("--init", metavar="FILE", type=click.Path(dir_okay=False),
              help="Start from saved parameters (the file --save writes: .json, or .npz for "
                   "arrays); --params then overrides the names it gives.")
@click.option("--params", "params_spec", metavar="NAME=VALUE,...",
              help="The parameters and their initial values; NAME=~ draws from N(0, 1) "
                   "(NAME=~0.1: standard deviation 0.1), seeded by --seed; arrays as --at "
                   "takes them: W=randn(64,32)*0.1, b=zeros(32), W=@w.npy.")
@click.option("--report", metavar="NAME,...",
              help="Named statements to report each epoch, on the training and validation "
                   "data (arrays), e.g. --report acc.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--shuffle/--no-shuffle", default=True, show_default=True,
              help="Shuffle the rows before each epoch (numpy.random.default_rng(--seed)).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for shuffling and for random initial values (NAME=~, randn).")
@click.option("--weight-decay", type=float, default=0.0, show_default=True, metavar="λ",
              help="L2 weight decay as torch.optim's: g ← g + λ·p before each step.")
@click.option("--lr-step", type=click.IntRange(1), default=None, metavar="N",
              help="Multiply the learning rate by --lr-gamma every N epochs (torch's StepLR).")
@click.option("--lr-gamma", type=float, default=0.1, show_default=True, metavar="γ",
              help="The factor of --lr-step.")
@click.option("--save", metavar="FILE", help="Write the fitted parameters to FILE (.json; .npz "
                                              "for arrays).")
@click.option("--plot", metavar="FILE.png|svg",
              help="Plot the loss per epoch (and the validation and --report figures) to FILE; "
                   "needs matplotlib (pip install 'gradcalc[plot]').")
@optimizer_options
def fit_command(ctx, **options):
    """Fit the parameters of PROGRAM by mini-batch gradient descent: the loss of a batch is the
    mean of PROGRAM's output over its rows, or for a program of arrays its output on the batch."""
    return run_training(ctx, options, _fit)


def parse_params(text: str, arrays: bool = False, seed: int = 0) -> dict:
    """--params w=0,b=~,c=~0.1: a number (or constant expression) or ('~', standard deviation);
    with ``arrays`` also an array (a literal, W=randn(3,4)*0.1 drawn with ``seed``, W=@w.npy)."""
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
        values = parse_point(",".join(plain), option="--params", arrays=arrays, seed=seed)
        spec.update({k: v for k, v in values.items()})
    return spec


def _fit(o, opt, settings: Settings) -> int:
    from ..function import Function
    from ..optimize import start_params

    if opt.kind == "newton":
        raise UsageError("fit trains with sgd, momentum or adam; newton is for descend",
                         hint="gradcalc descend PROGRAM --from ... --optimizer newton")
    fn = Function(settings.read_program(o.program, o.file), settings.limits)
    if _on_arrays(fn, o):
        return _fit_arrays(fn, o, opt, settings)
    if len(o.data_file) > 1:
        raise UsageError("a program of scalars takes one --data file, a CSV whose header names "
                         "its columns", hint="arrays of data (NAME=FILE.npy, .npz) need a "
                                             "program of arrays, e.g. cross_entropy(X @ W, y)")
    for given, option in ((o.validate, "--validate"), (o.report, "--report")):
        if given:
            raise UsageError(f"{option} is for programs of arrays (the loss of a mini-batch); "
                             "this program is the loss of one row",
                             hint="write it with arrays, e.g. mean((X @ w + b - y)^2)")
    if o.plot:
        from ..render.training import plot_check

        plot_check(o.plot)
    o.data_file = o.data_file[0]
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

        echo(json.dumps({
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
    if o.plot:
        from ..render.training import plot_curves

        plot_curves(o.plot, {"training": outcome.history}, {}, o.output or fn.output)
    return _finish(outcome, o, settings)


def _finish(outcome, o, settings: Settings) -> int:
    """What a fit says last, on stderr, and its exit code: 1 when it diverged."""
    if outcome.diverged:
        echo(f"error: {outcome.reason}; the parameters shown are the last good ones",
                   err=True)
    elif o.save:
        settings.note(f"wrote the parameters to {o.save}")
    if o.plot:
        settings.note(f"wrote the plot to {o.plot}")
    return 1 if outcome.diverged else 0


def _on_arrays(fn, o) -> bool:
    """Whether this is a fit on arrays: a program of arrays, data as arrays (.npz, .npy,
    NAME=FILE, a CSV with columns X[0], ...), a parameter given as an array, or --init .npz."""
    from ..arrays_io import special
    from ..syntax import split_top_level
    from ..train_arrays import array_data

    if fn.graph.tensor or any(array_data(spec) for spec in o.data_file):
        return True
    if o.params_spec and any(special(p.partition("=")[2]) or "[" in p
                             for p, _at in split_top_level(o.params_spec)):
        return True
    return bool(o.init) and array_data(o.init)


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
    from ..optimize import Epoch, FitOutcome, fit, fit_batches

    rows = len(next(iter(data.values())))
    live = live_progress(settings, fit_batches(rows, o.batch_size, o.epochs), "fit", eta=True)
    outcome = None
    try:
        for item in fit(fn, data, params, opt, epochs=o.epochs, batch_size=o.batch_size,
                        shuffle=o.shuffle, seed=o.seed, output=o.output):
            if isinstance(item, FitOutcome):
                outcome = item
                continue
            if isinstance(item, Epoch):
                opt.epoch_done(item.number)   # --lr-step: the next epoch's learning rate
            if live is not None:
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


# --- fit on arrays (issue 16; the loop is train_arrays.py) ------------------------------------

def _fit_arrays(fn, o, opt, settings: Settings) -> int:
    """Everything checked before the first step (names, shapes, labels, data, where the
    results go), then the loop with live progress, then the table or JSON and the plot."""
    from ..optimize import Schedule
    from ..train_arrays import prepare, read_data, save_params

    if o.plot:
        from ..render.training import plot_check

        plot_check(o.plot)
    if o.save:
        _check_save(o.save)
    data = read_data(o.data_file)
    validation = read_data(o.validate, "--validate") if o.validate else None
    params = _start_arrays(fn, o, data)
    report = [r.strip() for r in (o.report or "").split(",") if r.strip()]
    model = prepare(fn, o.output, data, params, report, o.batch_size, validation)
    for name in model.idle:
        settings.note(f"warning: {model.output} does not depend on {name}: it stays as it is")
    schedule = Schedule(o.epochs, o.batch_size, o.shuffle, o.seed)
    outcome = _run_arrays(model, data, params, opt, schedule, validation, settings)
    if o.save and not outcome.diverged:
        save_params(o.save, outcome.params)
    if o.fmt == "json":
        import json

        echo(json.dumps(_arrays_json(model, data, validation, outcome, opt, o),
                              ensure_ascii=False, indent=2))
    else:
        from ..render.training import array_fit_table

        array_fit_table(settings.console(), model, outcome, opt, o.digits)
    if o.plot:
        from ..render.training import plot_curves

        series = {"training": outcome.history}
        if outcome.figures and outcome.figures[0].validation is not None:
            series["validation"] = [f.validation[model.output] for f in outcome.figures
                                    if f.validation is not None]
        extra = {name: {"training": [f.train[name] for f in outcome.figures],
                        **({"validation": [f.validation[name] for f in outcome.figures
                                           if f.validation is not None]}
                           if validation is not None else {})}
                 for name in model.report[1:]}
        plot_curves(o.plot, series, extra, model.output)
    return _finish(outcome, o, settings)


def _check_save(path: str) -> None:
    """--save on arrays writes .npz: refuse a .json name, or a folder that is not there, before
    any training."""
    if path.lower().endswith(".json"):
        raise UsageError(f"--save {path}: the parameters of a program of arrays are saved as an "
                         ".npz archive", hint=f"--save {path[:-5]}.npz")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {path}: no folder {folder}")


def _start_arrays(fn, o, data) -> dict:
    """The starting parameters: --init's, then --params over them; float64 arrays the run
    owns (a scalar is a 0-d array)."""
    import numpy as np

    from ..optimize import initial_params
    from ..train_arrays import load_init

    if not o.params_spec and not o.init:
        raise UsageError("fit needs starting parameters",
                         hint='give --params "W=0.1*randn(3,4),b=zeros(4)", or --init '
                              "FILE.npz written by --save")
    params = load_init(o.init, fn.variables) if o.init else {}
    spec = parse_params(o.params_spec, arrays=True, seed=o.seed) if o.params_spec else {}
    drawn = initial_params({k: v for k, v in spec.items() if isinstance(v, tuple)}, o.seed)
    params.update({k: drawn.get(k, v) for k, v in spec.items()})
    missing = [v for v in fn.variables if v not in data.arrays and v not in params]
    if missing and o.init:
        raise UsageError(f"{o.init} has no {', '.join(missing)}: its parameters are "
                         f"{', '.join(params) or 'none'}",
                         hint=f"give it with --params, e.g. --params \"{missing[0]}=...\"")
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


def _run_arrays(model, data, params, opt, schedule, validation, settings: Settings):
    from ..optimize import fit_batches
    from ..train_arrays import ArrayOutcome, train

    live = live_progress(settings, fit_batches(data.rows, schedule.batch_size,
                                               schedule.epochs), "fit", eta=True)
    outcome = None
    try:
        for item in train(model, data, params, opt, schedule, validation):
            if isinstance(item, ArrayOutcome):
                outcome = item
            elif live is not None:
                live.follow_fit(item)
    finally:
        if live is not None:
            live.stop()
    assert outcome is not None   # train's last item is always its ArrayOutcome
    return outcome


def _arrays_json(model, data, validation, outcome, opt, o) -> dict:
    from ..train_arrays import param_norms

    norms = param_norms(outcome.params)
    return {
        "output": model.output, "optimizer": optimizer_json(opt),
        "data": {"rows": data.rows, "shapes": {k: list(a.shape) for k, a in data.arrays.items()}},
        "validation_data": None if validation is None else {
            "rows": validation.rows,
            "shapes": {k: list(a.shape) for k, a in validation.arrays.items()}},
        "batch_size": outcome.batch_size, "shuffle": o.shuffle, "seed": o.seed,
        "report": model.report,
        "params": {k: {"shape": list(model.shapes[k]), "norm": norms[k],
                       **({"value": float(outcome.params[k])} if model.shapes[k] == () else {})}
                   for k in model.params},
        "initial_loss": outcome.initial_loss, "loss": outcome.loss,
        "validation": outcome.validation,
        "epochs": outcome.epochs, "steps": outcome.steps, "seconds": outcome.seconds,
        "diverged": outcome.diverged, "reason": outcome.reason, "warnings": outcome.warnings,
        "history": [{"epoch": f.number, "lr": f.lr, "seconds": f.seconds, "steps": f.steps,
                     "train": f.train, "validation": f.validation, "grad_norms": f.grad_norms}
                    for f in outcome.figures],
        "saved": o.save if o.save and not outcome.diverged else None,
    }
