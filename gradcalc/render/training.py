"""What descend and fit show: live progress on standard error, then a table and a loss curve."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..numfmt import fmt
from ..optimize import apart

if TYPE_CHECKING:
    from ..optimize import Batch, Epoch
    from ..train_arrays import EpochFigures

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values, width: int = 40) -> str:
    """A loss curve in one line of block characters: at most ``width`` samples, spread evenly
    over the run (first and last included). A log scale when no value is negative and the
    positive ones span more than a factor of 100, so that the descent from 10 to 0.01 stays
    visible next to the start. On it, values below 1e-12 of the largest (rounding noise, or
    exactly 0) are drawn as the bottom bar, unless the curve starts there (a growing loss)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return ""
    if len(values) > width:
        values = [values[round(k * (len(values) - 1) / (width - 1))] for k in range(width)]
    positive = [v for v in values if v > 0]
    if positive and min(values) >= 0 and max(positive) / min(positive) > 100:
        floor = max(min(positive), max(positive) * 1e-12)
        if values[0] > 0:
            floor = min(floor, values[0])
        values = [math.log10(max(v, floor)) for v in values]
    low, high = min(values), max(values)
    if high == low:
        return _BARS[0] * len(values)
    top = len(_BARS) - 1
    return "".join(_BARS[round((v - low) / (high - low) * top)] for v in values)


class Live:
    """A transient progress line on standard error (a terminal only): a bar and a few numbers;
    with ``eta``, rich's estimate of the time remaining (for fit, whose total is known; descend
    mostly stops long before --steps)."""

    def __init__(self, console, total: int, label: str, eta: bool = False):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
        if eta:
            columns.append(TimeRemainingColumn())
        self._progress = Progress(*columns, TextColumn("{task.fields[info]}"), console=console,
                                  transient=True, redirect_stdout=False)   # output: as written
        self._task = self._progress.add_task(label, total=total, info="")
        self._batch: Batch | None = None     # fit's last Batch
        self._epoch: Epoch | EpochFigures | None = None     # and last finished epoch
        self._progress.start()

    def update(self, completed: int, info: str) -> None:
        self._progress.update(self._task, completed=completed, info=info)

    def follow_fit(self, item) -> None:
        """Show one of fit's items: a Batch moves the bar (total: fit_batches), and the mean loss
        of the last finished Epoch stays shown beside it."""
        from ..optimize import Batch, Epoch
        from ..train_arrays import EpochFigures

        if isinstance(item, Batch):
            self._batch = item
        elif isinstance(item, (Epoch, EpochFigures)):
            self._epoch = item
        if self._batch is not None:
            b, e = self._batch, self._epoch
            loss = "" if e is None else f"  loss {e.loss:.6g} (epoch {e.number})"
            checked = getattr(e, "validation", None)
            if e is not None and checked:   # arrays: the last epoch's validation loss too,
                #                                 short enough to leave the bar room at 80
                loss = f"  loss {e.loss:.4g}, val {next(iter(checked.values())):.4g}"
            self.update(b.done, f"epoch {b.epoch}/{b.epochs}{loss}")

    def stop(self) -> None:
        self._progress.stop()


def descend_table(console, output: str, start: dict, outcome, optimizer, digits: int) -> None:
    from rich.text import Text

    from .table import Col, fit

    last = outcome.last
    cols = [Col("variable", whole=True), Col("start", "right"),
            Col("reached", "right", style="bold"), Col(f"∂{output}/∂var", "right")]
    rows = []
    for name, x in last.point.items():
        g = last.gradient.get(name)
        rows.append([name, fmt(start[name], digits), fmt(x, digits),
                     "fixed" if g is None else fmt(g, digits)])
    # the one table style; a number never cut (render/table.py's fit)
    fit(console, cols, rows, title=f"descend: {optimizer.kind}, lr {fmt(optimizer.lr)}")
    style = "green" if outcome.converged else ("red" if outcome.diverged else "yellow")
    shown = digits   # a converged norm keeps the digits that show it below --tol
    if outcome.converged and outcome.tol is not None:
        shown = max(digits, apart(last.norm, outcome.tol))
    console.print(Text.assemble((f"{output} = ", "dim"), (fmt(last.value, digits), "bold"),
                                ("   |∇| = ", "dim"), fmt(last.norm, shown),
                                ("   steps ", "dim"), str(last.number)))
    console.print(Text.assemble(("stopped: ", "dim"), (outcome.reason, style)))
    _warnings(console, outcome.warnings)
    damped = [(k + 1, lam) for k, lam in enumerate(optimizer.state.get("damping", ())) if lam]
    if damped:
        console.print(Text(
            "damped Newton steps (the Hessian was not positive definite; H + λI was used): "
            + ", ".join(f"step {k} λ = {fmt(lam, 3)}" for k, lam in damped[:8])
            + (f", … ({len(damped)} in all)" if len(damped) > 8 else ""), style="yellow"))
    curve = sparkline(outcome.history)
    if len(outcome.history) > 1 and curve:
        console.print(Text.assemble((f"{output}: ", "dim"), curve,
                                    (f"  {fmt(outcome.history[0], 4)} → "
                                     f"{fmt(outcome.history[-1], 4)}", "dim")))


def fit_table(console, output: str, outcome, optimizer, digits: int) -> None:
    from rich.text import Text

    from .table import Col, fit

    rows = [[name, fmt(x, digits)] for name, x in outcome.params.items()]
    fit(console, [Col("parameter", whole=True), Col("fitted", "right", style="bold")], rows,
        title=f"fit: {optimizer.kind}, lr {fmt(optimizer.lr)}")
    loss = "—" if outcome.loss is None else fmt(outcome.loss, digits)
    console.print(Text.assemble(("mean loss over all the data ", "dim"), (loss, "bold"),
                                ("   epochs ", "dim"), str(outcome.epochs),
                                ("   steps ", "dim"), str(outcome.steps)))
    style = "red" if outcome.diverged else "green"
    console.print(Text.assemble(("stopped: ", "dim"), (outcome.reason, style)))
    _warnings(console, outcome.warnings)
    curve = sparkline(outcome.history)
    if len(outcome.history) > 1 and curve:
        console.print(Text.assemble(("loss per epoch: ", "dim"), curve,
                                    (f"  {fmt(outcome.history[0], 4)} → "
                                     f"{fmt(outcome.history[-1], 4)}", "dim")))


def _warnings(console, warnings) -> None:
    from rich.text import Text

    for warning in warnings:
        console.print(Text.assemble(("warning: ", "bold yellow"), (warning, "yellow")))


# --- fit on arrays --------------------------------------------------------------------------

EPOCH_ROWS = 30   # epochs in the table; past that an even sample, first and last included


def array_fit_table(console, model, outcome, optimizer, digits: int) -> None:
    """Each epoch's figures (training, then validation), the parameters (shape, norm), the
    loss over all the data, how the run stopped, and the loss curves."""
    from rich.text import Text

    from ..tensor import shape_text
    from ..train_arrays import param_norms
    from .table import Col, fit

    figures = outcome.figures
    validated = bool(figures) and figures[0].validation is not None
    title = (f"fit: {optimizer.kind}, lr {fmt(optimizer.initial_lr)}"
             + (f", weight decay {fmt(optimizer.weight_decay)}" if optimizer.weight_decay else "")
             + (f", ×{fmt(optimizer.lr_gamma)} every {optimizer.lr_step} epochs"
                if optimizer.lr_step else "")
             + f"; {outcome.rows:,} examples, batches of {outcome.batch_size}")
    if figures:
        cols = [Col("epoch", "right", whole=True)]
        cols += [Col(name, "right") for name in model.report]
        if validated:
            cols += [Col(f"validation {name}", "right") for name in model.report]
        cols.append(Col("seconds", "right"))
        rows = []
        shown = figures if len(figures) <= EPOCH_ROWS else [
            figures[round(k * (len(figures) - 1) / (EPOCH_ROWS - 1))] for k in range(EPOCH_ROWS)]
        for f in shown:
            row = [str(f.number)] + [fmt(f.train[n], digits) for n in model.report]
            if validated:
                row += [fmt((f.validation or {}).get(n, math.nan), digits) for n in model.report]
            rows.append(row + [f"{f.seconds:.2f}"])
        fit(console, cols, rows, title=title)
        if len(figures) > EPOCH_ROWS:
            console.print(Text(f"({EPOCH_ROWS} of {len(figures)} epochs shown, evenly spaced; "
                               "--format json has every one)", style="dim"))
        console.print()
    else:
        console.print(Text(title, style="bold"))
    norms = param_norms(outcome.params)
    fit(console, [Col("parameter", whole=True), Col("shape", "right", whole=True),
                  Col("fitted", "right", style="bold")],
        [[name, shape_text(model.shapes[name]),
          fmt(float(outcome.params[name]), digits) if model.shapes[name] == () else
          f"‖{name}‖ = {fmt(norms[name], digits)}"] for name in model.params])
    loss = "—" if outcome.loss is None else fmt(outcome.loss, digits)
    console.print(Text.assemble(("loss over the training data ", "dim"),
                                (loss, "bold"), ("   epochs ", "dim"), str(outcome.epochs),
                                ("   steps ", "dim"), str(outcome.steps),
                                ("   ", "dim"), f"{outcome.seconds:.3g} s"))
    if outcome.validation:
        parts: list = [("validation: ", "dim")]
        for k, (name, value) in enumerate(outcome.validation.items()):
            parts += [("   " if k else "") + f"{name} ", (fmt(value, digits), "bold")]
        console.print(Text.assemble(*parts))
    style = "red" if outcome.diverged else "green"
    console.print(Text.assemble(("stopped: ", "dim"), (outcome.reason, style)))
    _warnings(console, outcome.warnings)
    curves = [("loss per epoch: ", outcome.history)]
    if validated:
        curves.append(("validation loss: ", [f.validation[model.output] for f in figures
                                             if f.validation is not None]))
    for label, values in curves:
        curve = sparkline(values)
        if len(values) > 1 and curve:
            console.print(Text.assemble((label, "dim"), curve,
                                        (f"  {fmt(values[0], 4)} → {fmt(values[-1], 4)}",
                                         "dim")))


PLOT_FORMATS = (".png", ".svg", ".pdf")


def plot_check(path: str) -> None:
    """Before any training: --plot's file type, and matplotlib there to draw it."""
    import os

    from ..errors import UsageError

    if not path.lower().endswith(PLOT_FORMATS):
        raise UsageError(f"--plot {path}: the file's name says what to draw, .png, .svg or .pdf",
                         hint="e.g. --plot loss.png")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {path}: no folder {folder}")
    try:   # (imported here, before training, only when --plot asks for it)
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'gradcalc[plot]' (or pip install matplotlib)") from None


def plot_curves(path: str, losses: dict[str, list[float]],
                figures: dict[str, dict[str, list[float]]], output: str) -> None:
    """The loss per epoch (training, validation) and each other figure's, to ``path``; on a
    log scale when the loss spans more than a factor of 100. matplotlib is imported here only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ..errors import UsageError

    panels = 1 + len(figures)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    for k, (title, series) in enumerate([(output, losses), *figures.items()]):
        ax = axes[0][k]
        for label, values in series.items():
            ax.plot(range(1, len(values) + 1), values, marker="." if len(values) < 60 else None,
                    label=label)
        finite = [v for values in series.values() for v in values if math.isfinite(v) and v > 0]
        if k == 0 and finite and max(finite) / min(finite) > 100:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
