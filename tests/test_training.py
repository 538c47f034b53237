"""What descend and fit show: the tables at 60 columns, the loss curve, the live progress."""

import io
import math

import pytest
from rich.console import Console

from gradcalc.function import Function
from gradcalc.optimize import FitOutcome, Optimizer, Outcome, Step, descend, fit, fit_batches
from gradcalc.render.training import Live, descend_table, fit_table, sparkline


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


def test_fit_progress_moves_per_batch_with_a_time_remaining():
    data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [2.0, 4.0, 6.0, 8.0, 10.0]}
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=100, color_system=None)
    live = Live(console, fit_batches(5, 2, 3), "fit", eta=True)
    items = list(fit(Function("(w*x - y)^2"), data, {"w": 0.0}, Optimizer("sgd", lr=0.01),
                     epochs=3, batch_size=2, shuffle=False))
    for item in items[:-1]:
        live.follow_fit(item)
    live.stop()
    assert isinstance(items[-1], FitOutcome)
    last = items[-2]
    assert last.number == 3
    # the last refresh: 9 of 9 batches, no time left, the loss of the last finished epoch
    assert f"9/9 0:00:00 epoch 3/3  loss {last.loss:.6g} (epoch 3)" in terminal.getvalue()


# --- the loss curve ---------------------------------------------------------------------------

@pytest.mark.parametrize("values, curve", [
    ([3.0, 2.0, 1.0], "█▅▁"),                              # within a factor of 100: linear
    ([100.0, 1.0, 0.01], "█▅▁"),                           # four decades: log, one step each
    ([100.0, 1.0, 0.01, 0.0], "█▅▁▁"),                     # exactly 0 sits at the bottom
    ([0.0, 1.0, 100.0, 1e4], "▁▁▅█"),                      # ... at the start too
    ([10.0, 1e-5, 1e-20, 1e-30], "█▅▁▁"),                  # below 1e-12 of the top: noise
    ([1.0, 1e20, 1e40], "▁▅█"),                            # a growing loss keeps its start
    ([-1.0, 5.0, 100.0], "▁▁█"),                           # a negative value: linear
    ([100.0, 0.0, 1.0], "█▁▁"),                            # positives within 100: linear
    ([5.0], "▁"),                                          # a single epoch
    ([0.0], "▁"),
    ([0.0, 0.0], "▁▁"),
    ([math.nan, math.inf, 2.0, 1.0], "█▁"),                # only the finite values
    ([math.nan], ""),
])
def test_sparkline_scales(values, curve):
    assert sparkline(values) == curve


def test_sparkline_samples_a_long_run_evenly():
    assert sparkline([float(k) for k in range(1000)], width=8) == "▁▂▃▄▅▆▇█"
    # samples 1, 1e-3, 1e-6, 1e-9, 1e-12: 12 decades on bars 0..7, a step of 1.75 bars
    assert sparkline([10.0 ** -k for k in range(13)], width=5) == "█▆▅▃▁"


# --- the tables at 60 columns -----------------------------------------------------------------

def test_fit_table_shows_the_growth_warning():
    # one row x = 2, y = 0 and lr 1: w ← -7w, the loss 4·49^epoch (see test_optimize)
    opt = Optimizer("sgd", lr=1.0)
    out = list(fit(Function("(w*x - y)^2"), {"x": [2.0], "y": [0.0]}, {"w": 1.0}, opt,
                   epochs=3))[-1]
    assert shown(fit_table, "f", out, opt, 6) == [
        "fit: sgd, lr 1",
        "parameter   fitted",
        "──────────────────",
        "w             -343",
        "mean loss over all the data 470596   epochs 3   steps 3",
        "stopped: ran 3 epochs",
        "warning: the loss grew from 4 to 4.706e+05: the learning",
        "rate is probably too large; try --lr 0.1",
        "loss per epoch: ▁▄█  4 → 9604",
    ]


def test_descend_table_shows_the_growth_warning():
    # lr 1.5 on x^2: x ← -2x, so f = 4^step, finite after 10 steps (see test_optimize)
    opt = Optimizer("sgd", lr=1.5)
    out = list(descend(Function("x^2"), {"x": 1.0}, optimizer=opt, steps=10))[-1]
    assert shown(descend_table, "f", {"x": 1.0}, out, opt, 6) == [
        "descend: sgd, lr 1.5",
        "variable   start   reached   ∂f/∂var",
        "────────────────────────────────────",
        "x              1      1024      2048",
        "f = 1.04858e+06   |∇| = 2048   steps 10",
        "stopped: reached --steps 10",
        "warning: f grew from 1 to 1.049e+06: the learning rate is",
        "probably too large; try --lr 0.15",
        "f: ▁▂▂▃▄▅▅▆▇▇█  1 → 1.049e+06",
    ]


def test_fit_table_of_a_single_epoch_has_no_curve():
    opt = Optimizer("sgd", lr=0.1)
    out = list(fit(Function("(w*x - y)^2"), {"x": [2.0], "y": [0.0]}, {"w": 1.0}, opt,
                   epochs=1))[-1]
    lines = shown(fit_table, "f", out, opt, 6)
    assert lines[-1] == "stopped: ran 1 epochs" and out.history == [4.0]


LONG = -1.2345678901234567e-100     # 24 characters at --digits 17


def test_tables_never_cut_a_number_at_60_columns():
    point = {"a_rather_long_variable_name": LONG, "y": LONG}
    last = Step(12345, point, LONG, dict(point))
    out = Outcome(last, "reached --steps 12345", False, history=[1.0, LONG])
    opt = Optimizer("adam", lr=0.123456789)
    lines = shown(descend_table, "a_long_output_name", point, out, opt, 17)
    assert lines[0] == "descend: adam, lr 0.123456789"
    assert not any("…" in line for line in lines)
    assert max(map(len, lines)) <= 60
    # too wide for 60 columns: a block of "name: value" lines per row, every number whole
    assert lines[1:5] == [
        "a_rather_long_variable_name",
        "  start:                    -1.2345678901234567e-100",
        "  reached:                  -1.2345678901234567e-100",
        "  ∂a_long_output_name/∂var: -1.2345678901234567e-100",
    ]
    fitted = FitOutcome({"a_rather_long_parameter_name_here": LONG, "b": LONG}, LONG, 100, 1000,
                        "ran 100 epochs")
    lines = shown(fit_table, "loss", fitted, opt, 17)
    assert not any("…" in line for line in lines) and max(map(len, lines)) <= 60
    assert lines[3:5] == [
        "a_rather_long_parameter_name_here   -1.2345678901234567e-100",
        "b                                   -1.2345678901234567e-100",
    ]
