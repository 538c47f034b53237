"""What descend and fit show: the tables at 60 columns, the loss curve, the live progress."""

import io

from rich.console import Console

from gradcalc.function import Function
from gradcalc.optimize import Optimizer, descend
from gradcalc.render.training import descend_table


def shown(draw, *args, width=60) -> list[str]:
    """The lines a table-drawing function prints on a console ``width`` columns wide."""
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    draw(console, *args)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_a_converged_norm_is_shown_below_the_tolerance():
    opt = Optimizer("sgd", lr=0.1)
    out = list(descend(Function("x^2"), {"x": 4.99999995e-9}, optimizer=opt, tol=1e-8))[-1]
    lines = shown(descend_table, "f", {"x": 4.99999995e-9}, out, opt, 6)
    assert "f = 2.5e-17   |∇| = 9.9999999e-09   steps 0" in lines
    assert lines[-2:] == ["stopped: the gradient norm 9.9999999e-09 is below --tol",
                          "1e-08"]                       # wrapped at 60 columns
