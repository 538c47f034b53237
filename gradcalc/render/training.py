"""What descend and fit show: live progress on standard error, then a table and a loss curve."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..numfmt import fmt
from ..optimize import apart

if TYPE_CHECKING:
    from ..optimize import Batch, Epoch

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
                                  transient=True)
        self._task = self._progress.add_task(label, total=total, info="")
        self._batch: Batch | None = None     # fit's last Batch
        self._epoch: Epoch | None = None     # and last finished Epoch
        self._progress.start()

    def update(self, completed: int, info: str) -> None:
        self._progress.update(self._task, completed=completed, info=info)

    def follow_fit(self, item) -> None:
        """Show one of fit's items: a Batch moves the bar (total: fit_batches), and the mean loss
        of the last finished Epoch stays shown beside it."""
        from ..optimize import Batch, Epoch

        if isinstance(item, Batch):
            self._batch = item
        elif isinstance(item, Epoch):
            self._epoch = item
        if self._batch is not None:
            b, e = self._batch, self._epoch
            loss = "" if e is None else f"  loss {e.loss:.6g} (epoch {e.number})"
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
