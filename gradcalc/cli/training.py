"""What descend and fit share: the optimizer options and object, its JSON, live progress."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import click

from .app import Settings, guarded, settings_of
from .click_base import own_process


def optimizer_options(f):
    """The options every training command shares: the optimizer and its hyper-parameters."""
    options = [
        click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "newton"]),
                     default="sgd", show_default=True,
                     help="How each step moves (newton: descend only; it uses the Hessian)."),
        click.option("--lr", type=float, default=None, metavar="RATE",
                     help="Learning rate (default 0.01 for sgd and momentum, 0.001 for adam, "
                          "1 (a full step) for newton)."),
        click.option("--momentum", type=float, default=0.9, show_default=True,
                     help="Momentum μ (v ← μ·v + g)."),
        click.option("--beta1", type=float, default=0.9, show_default=True, help="Adam β1."),
        click.option("--beta2", type=float, default=0.999, show_default=True, help="Adam β2."),
        click.option("--eps", type=float, default=1e-8, show_default=True, help="Adam ε."),
        click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                     show_default=True),
        click.option("--digits", type=click.IntRange(1, 17), default=6, show_default=True,
                     help="Significant digits in the table."),
        click.option("-o", "--output", "output", metavar="NAME",
                     help="Minimize this named statement instead of the last one."),
        click.option("-f", "--file", type=click.File("rb"), help="Read the program from FILE."),
        click.option("-q", "--quiet", is_flag=True, help="No progress, warnings or notes."),
        click.option("--no-color", is_flag=True, help="No colour, even on a terminal."),
        click.pass_context,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def run_training(ctx, options: dict, body) -> int:
    """Run ``body(o, optimizer, settings)`` for a training command, under the guard."""
    o = SimpleNamespace(**options)
    settings = settings_of(own_process(ctx), o.quiet, o.no_color)

    def run():
        from ..optimize import Optimizer

        if "weight_decay" in options:   # fit: also weight decay and a step schedule
            from ..train_arrays import TrainingOptimizer

            opt = TrainingOptimizer(o.optimizer, o.lr, o.momentum, o.beta1, o.beta2, o.eps,
                                    weight_decay=o.weight_decay, lr_step=o.lr_step,
                                    lr_gamma=o.lr_gamma)
        else:
            opt = Optimizer(o.optimizer, o.lr, o.momentum, o.beta1, o.beta2, o.eps)
        return body(o, opt, settings)

    return guarded(run, settings)


def live(settings: Settings, total: int, label: str, eta: bool = False):
    """Progress on standard error, when that is a terminal and not --quiet."""
    if settings.quiet or not sys.stderr.isatty():
        return None
    from ..render.training import Live

    return Live(settings.console(stderr=True), total, label, eta)


def optimizer_json(opt) -> dict:
    extra = {"momentum": opt.momentum} if opt.kind == "momentum" else (
        {"beta1": opt.beta1, "beta2": opt.beta2, "eps": opt.eps} if opt.kind == "adam" else {})
    if opt.kind == "newton":
        extra = {"damping": opt.state.get("damping", [])}
    if getattr(opt, "weight_decay", 0):
        extra["weight_decay"] = opt.weight_decay
    if getattr(opt, "lr_step", None):
        extra.update(lr_step=opt.lr_step, lr_gamma=opt.lr_gamma)
    return {"name": opt.kind, "lr": getattr(opt, "initial_lr", opt.lr), **extra}
