"""Using the gradients: the optimizers against the textbook formulas worked by hand, descend and
fit on problems whose answers are known."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from gradcalc.errors import EvaluationError, UsageError
from gradcalc.function import Function
from gradcalc.optimize import (
    Batch,
    Optimizer,
    Outcome,
    apart,
    batch_loss,
    descend,
    fit,
    fit_batches,
    growth_warning,
    initial_params,
    load_params,
    start_params,
)
from gradcalc.render.training import sparkline

EXAMPLES = Path(__file__).parent.parent / "examples"


# --- the optimizers, one and two steps by hand ------------------------------------------------

def test_sgd_step():
    opt = Optimizer("sgd", lr=0.1)
    assert opt.step({"p": 1.0}, {"p": 2.0}) == {"p": 1.0 - 0.1 * 2.0}


def test_momentum_steps():
    opt = Optimizer("momentum", lr=0.1, momentum=0.9)
    p1 = opt.step({"p": 1.0}, {"p": 2.0})["p"]
    assert p1 == pytest.approx(1.0 - 0.1 * 2.0)               # v1 = g1 = 2
    p2 = opt.step({"p": p1}, {"p": 1.0})["p"]
    assert p2 == pytest.approx(p1 - 0.1 * (0.9 * 2.0 + 1.0))  # v2 = 0.9·2 + 1 = 2.8


def test_adam_bias_correction():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = Optimizer("adam", lr=lr, beta1=b1, beta2=b2, eps=eps)
    # step 1, g = 2: m = 0.2, v = 0.004; corrected m̂ = 2, v̂ = 4: the step is lr·2/(2+ε) ≈ lr
    p1 = opt.step({"p": 1.0}, {"p": 2.0})["p"]
    assert p1 == pytest.approx(1.0 - lr * 2.0 / (2.0 + eps), rel=1e-15)
    # step 2, g = 1: m = 0.9·0.2 + 0.1·1 = 0.28, v = 0.999·0.004 + 0.001·1 = 0.004996
    m_hat = 0.28 / (1 - 0.9 ** 2)
    v_hat = 0.004996 / (1 - 0.999 ** 2)
    p2 = opt.step({"p": p1}, {"p": 1.0})["p"]
    assert p2 == pytest.approx(p1 - lr * m_hat / (math.sqrt(v_hat) + eps), rel=1e-14)


def test_default_learning_rates_and_bad_hyper_parameters():
    assert Optimizer("sgd").lr == 0.01 and Optimizer("adam").lr == 0.001
    for bad in ({"lr": -1.0}, {"lr": math.nan}, {"beta1": 1.0}):
        with pytest.raises(UsageError):
            Optimizer("adam", **bad)
    with pytest.raises(UsageError, match="unknown optimizer"):
        Optimizer("rmsprop")


# --- descend ------------------------------------------------------------------------------------

def run_descend(source, start, **kw):
    items = list(descend(Function(source), start, **kw))
    assert isinstance(items[-1], Outcome)
    return items[:-1], items[-1]


def test_descend_finds_the_minimum_of_a_quadratic():
    steps, out = run_descend("(x-3)^2 + (y+1)^2", {"x": 0.0, "y": 0.0},
                             optimizer=Optimizer("sgd", lr=0.1))
    assert out.converged and not out.diverged
    assert out.last.point == pytest.approx({"x": 3.0, "y": -1.0}, abs=1e-8)
    # by hand: x_k - 3 = -3·0.8^k, so |∇| = 2·0.8^k·√10 < 1e-8 first at k = 91
    assert out.last.number == 91 == len(steps) - 1
    assert steps[1].point == pytest.approx({"x": 0.6, "y": -0.2})


def test_the_gradient_norm_message_never_rounds_to_the_tolerance():
    # 2x = 9.9999999e-09 is below 1e-08, but shows as "1e-08" at 3 to 7 significant digits
    _steps, out = run_descend("x^2", {"x": 4.99999995e-9}, tol=1e-8)
    assert out.converged and out.tol == 1e-8
    assert out.reason == "the gradient norm 9.9999999e-09 is below --tol 1e-08"
    assert apart(9.6e-9, 1e-8) == 3 and apart(0.99999, 1.0) == 5
    assert apart(1 - 2 ** -53, 1.0) == 16 and apart(0.5, 1.0, least=6) == 6


def test_descend_moves_only_wrt():
    _steps, out = run_descend("(x - a)^2", {"x": 0.0, "a": 2.0}, wrt=["x"],
                              optimizer=Optimizer("sgd", lr=0.25))
    assert out.last.point["a"] == 2.0 and out.last.point["x"] == pytest.approx(2.0)
    assert list(out.last.gradient) == ["x"]


def test_descend_stops_at_max_steps():
    steps, out = run_descend("x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=0.1), steps=5)
    assert not out.converged and out.reason == "reached --steps 5"
    assert [s.point["x"] for s in steps] == pytest.approx([0.8 ** k for k in range(6)])


def test_descend_divergence_keeps_the_last_good_point():
    _steps, out = run_descend("x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=1.5))
    assert out.diverged and "diverged at step" in out.reason
    assert math.isfinite(out.last.value) and abs(out.last.point["x"]) < 1e100
    _steps, out = run_descend("log(x)", {"x": 1.0}, optimizer=Optimizer("sgd", lr=1.0))
    assert out.diverged and out.last.number == 0
    assert "log(x) is undefined: it needs x > 0, but x = 0" in out.reason


def test_descend_warns_when_the_value_grows_a_hundredfold():
    # lr 1.5 on x^2: x ← x - 1.5·2x = -2x, so f = 4^k: 1 → 1048576 in 10 steps, still finite
    _steps, out = run_descend("x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=1.5), steps=10)
    assert not out.diverged and out.last.value == 4.0 ** 10
    assert out.warnings == ["f grew from 1 to 1.049e+06: the learning rate is probably too "
                            "large; try --lr 0.15"]
    _steps, out = run_descend("x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=1.5))
    assert out.diverged and out.warnings == [
        "f grew from 1 to 3.5e+100: the learning rate is probably too large; try --lr 0.15"]
    _steps, out = run_descend("x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=0.1))
    assert out.converged and out.warnings == []
    _steps, out = run_descend("-x^2", {"x": 1.0}, optimizer=Optimizer("sgd", lr=0.5), steps=10)
    assert out.last.value == -(2.0 ** 20) and out.warnings == []    # falling: what descent is for


def test_growth_warning():
    lr = 0.05
    tail = ": the learning rate is probably too large; try --lr 0.005"
    assert growth_warning("the loss", 2.0, [3.0, 201.0], lr) == f"the loss grew from 2 to 201{tail}"
    assert growth_warning("the loss", 2.0, [3.0, 200.0], lr) is None      # 100× is not more
    assert growth_warning("the loss", 2.0, [500.0, 1e4, 0.5], lr) == (
        f"the loss rose from 2 to 1e+04, then fell to 0.5{tail}")
    assert growth_warning("f", -1.0, [-500.0, -1e9], lr) is None           # falling
    assert growth_warning("f", -1.0, [150.0], lr) == f"f grew from -1 to 150{tail}"
    assert growth_warning("f", 1.0, [math.inf], lr) == f"f grew from 1 to inf{tail}"
    assert growth_warning("f", 1.0, [1e3, math.nan], lr) == (
        f"f grew from 1 to 1000{tail}")                                    # NaN is skipped
    assert growth_warning("f", 0.0, [0.0, 0.0], lr) is None


def test_descend_from_an_undefined_point_is_an_error():
    with pytest.raises(EvaluationError):
        list(descend(Function("log(x)"), {"x": -1.0}))


# --- fit ----------------------------------------------------------------------------------------

def line_data(n=100):
    import random

    rng = random.Random(3)
    xs = [rng.uniform(-2, 2) for _ in range(n)]
    return {"x": xs, "y": [2.5 * x - 1.0 for x in xs]}


def test_batch_loss_is_the_mean_of_single_point_losses_and_gradients():
    import numpy as np

    fn = Function("(w*x + b - y)^2")
    data = {"x": np.array([1.0, 2.0, -1.0]), "y": np.array([0.0, 1.0, 1.0])}
    loss, grads = batch_loss(fn, data, np.arange(3), {"w": 0.5, "b": 0.25})
    singles = [fn.gradient(x=x, y=y, w=0.5, b=0.25)
               for x, y in zip(data["x"], data["y"], strict=True)]
    assert loss == pytest.approx(sum(r.value for r in singles) / 3)
    # by hand: residuals 0.75, 0.25, -1.25; d/dw = mean(2·r·x), d/db = mean(2·r)
    assert grads["w"] == pytest.approx((2 * 0.75 * 1 + 2 * 0.25 * 2 + 2 * -1.25 * -1) / 3)
    assert grads["b"] == pytest.approx((2 * 0.75 + 2 * 0.25 + 2 * -1.25) / 3)


def test_fit_recovers_a_line():
    items = list(fit(Function("(w*x + b - y)^2"), line_data(), {"w": 0.0, "b": 0.0},
                     Optimizer("sgd", lr=0.05), epochs=60, batch_size=10, seed=0))
    out = items[-1]
    assert not out.diverged and out.epochs == 60 and out.steps == 600
    assert out.params == pytest.approx({"w": 2.5, "b": -1.0}, abs=1e-6)
    assert out.loss < 1e-12
    assert len(out.history) == 60 and out.history[0] > out.history[-1]


def test_fit_warns_when_the_loss_grows_a_hundredfold():
    # one row x = 2, y = 0: loss 4w², gradient 8w, so lr 1 gives w ← -7w and loss 4·49^epoch
    fn, data = Function("(w*x - y)^2"), {"x": [2.0], "y": [0.0]}
    out = list(fit(fn, data, {"w": 1.0}, Optimizer("sgd", lr=1.0), epochs=3))[-1]
    assert not out.diverged and out.params == {"w": -343.0}
    assert (out.initial_loss, out.history, out.loss) == (4.0, [4.0, 196.0, 9604.0], 470596.0)
    assert out.warnings == ["the loss grew from 4 to 4.706e+05: the learning rate is probably "
                            "too large; try --lr 0.1"]
    out = list(fit(fn, data, {"w": 1.0}, Optimizer("sgd", lr=1.0), epochs=100))[-1]
    assert out.diverged and out.reason == "diverged in epoch 60: the loss is 2.11e+100"
    assert out.last_loss == pytest.approx(4.0 * 49.0 ** 59, rel=1e-12)
    assert out.warnings == ["the loss grew from 4 to 2.107e+100: the learning rate is probably "
                            "too large; try --lr 0.1"]
    out = list(fit(fn, data, {"w": 1.0}, Optimizer("sgd", lr=0.1), epochs=3))[-1]
    assert out.warnings == [] and out.loss == pytest.approx(4 * 0.2 ** 6)   # w ← 0.2w


def test_fit_reports_every_batch_then_the_epoch():
    # rows x = 1..5, y = 2x, batches of 2 in order: [1, 2], [3, 4], [5]; at w = 0 the loss of a
    # row is x²·(w - 2)² = 4x², so the first batch's is (4 + 16)/2
    data = {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [2.0, 4.0, 6.0, 8.0, 10.0]}
    items = list(fit(Function("(w*x - y)^2"), data, {"w": 0.0}, Optimizer("sgd", lr=0.01),
                     epochs=2, batch_size=2, shuffle=False))
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["Batch"] * 3 + ["Epoch"] + ["Batch"] * 3 + ["Epoch", "FitOutcome"]
    batches = [item for item in items if isinstance(item, Batch)]
    assert [(b.epoch, b.number, b.done, b.total) for b in batches] == [
        (1, 1, 1, 6), (1, 2, 2, 6), (1, 3, 3, 6), (2, 1, 4, 6), (2, 2, 5, 6), (2, 3, 6, 6)]
    assert batches[0].loss == 10.0 and batches[0].batches == 3 and batches[0].epochs == 2
    assert items[3].loss == sum(b.loss for b in batches[:3]) / 3       # the epoch's mean
    assert fit_batches(5, 2, 2) == 6 == items[-1].steps
    assert fit_batches(5, 32, 4) == 4 and fit_batches(64, 32, 1) == 2


def test_fit_is_reproducible_with_a_seed():
    runs = [list(fit(Function("(w*x + b - y)^2"), line_data(), {"w": 0.0, "b": 0.0},
                     Optimizer("adam", lr=0.1), epochs=5, batch_size=7, seed=s))[-1].params
            for s in (4, 4, 5)]
    assert runs[0] == runs[1] != runs[2]


def test_fit_stops_where_the_loss_is_undefined():
    out = list(fit(Function("log(w*x)"), {"x": [1.0, -1.0]}, {"w": 1.0}, epochs=3,
                   batch_size=2))[-1]
    assert out.diverged and out.loss is None
    assert out.reason.startswith("the loss is undefined at data row 2: log(w*x) is undefined")


def test_initial_params_are_seeded_normals():
    a = initial_params({"w": ("~", 1.0), "b": 0.5, "c": ("~", 0.0)}, seed=1)
    assert a == initial_params({"w": ("~", 1.0), "b": 0.5, "c": ("~", 0.0)}, seed=1)
    assert a["b"] == 0.5 and a["c"] == 0.0 and a["w"] != 0.0
    assert initial_params({"w": ("~", 1.0)}, seed=2)["w"] != a["w"]


# --- fit --init: starting from saved parameters --------------------------------------------------

def test_load_params_reads_what_save_writes(tmp_path):
    out = list(fit(Function("(w*x + b - y)^2"), line_data(), {"w": 0.0, "b": 0.0},
                   Optimizer("sgd", lr=0.05), epochs=2, batch_size=10))[-1]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"params": out.params, "loss": out.loss}, indent=2) + "\n")
    assert load_params(str(path), ("w", "x", "b", "y")) == out.params


@pytest.mark.parametrize("text, message", [
    (None, "cannot read {path}: No such file or directory"),
    ("w = 1", "{path} is not JSON: Expecting value at line 1, column 1"),
    ('{"params": {"w": 1,}}', "{path} is not JSON: Expecting property name enclosed in double "
                              "quotes at line 1, column 20"),
    ("[1, 2]", '{path} holds no saved parameters: expected {{"params": {{"w": 1.5, ...}}}}'),
    ('{"w": 1.5}', '{path} holds no saved parameters: expected {{"params": {{"w": 1.5, ...}}}}'),
    ('{"params": {}}', '{path} holds no saved parameters: expected {{"params": {{"w": 1.5, '
                       '...}}}}'),
    ('{"params": {"w": "1.5"}}', 'in {path}, w is "1.5", not a finite number'),
    ('{"params": {"w": true}}', "in {path}, w is true, not a finite number"),
    ('{"params": {"w": NaN}}', "in {path}, w is NaN, not a finite number"),
    ('{"params": {"w": 1e999}}', "in {path}, w is Infinity, not a finite number"),
    ('{"params": {"w": [1]}}', "in {path}, w is [1], not a finite number"),
    ('{"params": {"w": 1, "q": 2, "r": 3}}', "{path} gives q, r, which the program does not have"),
    ('{"params": {"\\u0445": 1}}', "{path} gives х (U+0445 CYRILLIC SMALL LETTER HA), which the "
                                   "program does not have"),
])
def test_load_params_explains_a_bad_file(tmp_path, text, message):
    path = tmp_path / "p.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_params(str(path), ("w", "x"))
    assert caught.value.message == message.format(path=path)


def test_load_params_hints(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"params": {"v": 1}}')
    with pytest.raises(UsageError) as caught:
        load_params(str(path), ("w", "x"))
    assert caught.value.hint == "its variables: w, x"
    path.write_text('{"p": 1}')
    with pytest.raises(UsageError) as caught:
        load_params(str(path), ("w", "x"))
    assert caught.value.hint == "write one with gradcalc fit ... --save FILE.json"


def test_load_params_refuses_a_file_that_is_not_text(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(UsageError, match="is not JSON: it is not UTF-8 text"):
        load_params(str(path), ("w",))


def test_start_params_lets_params_override_init(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"params": {"w": 2.5, "b": -1.0}, "loss": 0.01}')
    variables = ("w", "b", "c", "x", "y")
    assert start_params(None, 0, str(path), variables) == {"w": 2.5, "b": -1.0}
    assert start_params({"b": 0.5, "c": 3.0}, 0, str(path), variables) == {
        "w": 2.5, "b": 0.5, "c": 3.0}
    drawn = start_params({"w": ("~", 1.0)}, 7, str(path), variables)
    assert drawn == {"w": initial_params({"w": ("~", 1.0)}, 7)["w"], "b": -1.0}
    assert start_params({"w": 1.0}, 0) == {"w": 1.0}
    with pytest.raises(UsageError) as caught:
        start_params(None, 0)
    assert caught.value.message == "fit needs starting parameters"
    assert caught.value.hint == "give --params w=0,b=0, or --init FILE.json written by --save"


def test_sparkline():
    assert sparkline([3, 2, 1]) == "█▅▁"
    assert sparkline([1, 1]) == "▁▁"
    assert len(sparkline(list(range(1000)), width=40)) == 40
    assert sparkline([100.0, 1.0, 0.01]) == "█▅▁"          # log scale past a factor of 100


# --- the commands -------------------------------------------------------------------------------

def gradcalc(*args, env=None):
    import os

    p = subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                       timeout=300, env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def test_descend_command_json_and_trajectory(tmp_path):
    code, out, err = gradcalc("descend", "(x-3)^2 + (y+1)^2", "--from", "x=0,y=0", "--lr",
                              "0.1", "--format", "json", "--trajectory",
                              str(tmp_path / "t.csv"))
    assert code == 0, err
    d = json.loads(out)
    assert d["converged"] and d["steps"] == 91
    assert d["point"] == pytest.approx({"x": 3.0, "y": -1.0})
    assert d["optimizer"] == {"name": "sgd", "lr": 0.1}
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "step,x,y,f,df/dx,df/dy,norm"
    assert rows[1] == f"0,0.0,0.0,10.0,-6.0,2.0,{math.sqrt(40)!r}"
    assert len(rows) == 93


def test_descend_command_divergence_exits_1():
    code, out, err = gradcalc("descend", "x^2", "--from", "x=1", "--lr", "1.5")
    assert code == 1
    assert "error: diverged at step" in err and "the last good point is step" in err
    assert "stopped: diverged" in out


def test_fit_command_on_the_examples(tmp_path):
    code, out, err = gradcalc("fit", "-f", f"{EXAMPLES}/line.gc", "--data", f"{EXAMPLES}/line.csv",
                              "--params", "w=0,b=0", "--lr", "0.05", "--epochs", "50",
                              "--format", "json", "--save", str(tmp_path / "p.json"))
    assert code == 0, err
    d = json.loads(out)
    assert d["params"] == pytest.approx({"w": 2.5, "b": -1.0}, abs=0.02)
    assert d["rows"] == 200 and d["epochs"] == 50
    saved = json.loads((tmp_path / "p.json").read_text())
    assert saved["params"] == d["params"] and saved["loss"] == d["loss"]


def test_xor_learns_with_the_documented_seed():
    code, out, err = gradcalc("fit", "-f", f"{EXAMPLES}/xor.gc", "--data", f"{EXAMPLES}/xor.csv",
                              "--params", "w11=~,w12=~,b1=~,w21=~,w22=~,b2=~,v1=~,v2=~,c=~",
                              "--optimizer", "adam", "--lr", "0.05", "--epochs", "2000",
                              "--batch-size", "4", "--seed", "1", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["loss"] < 0.01


@pytest.mark.parametrize("args, message", [
    (["fit", "w*x", "--data", f"{EXAMPLES}/line.csv", "--params", "q=1"],
     "the program has no variable named q"),
    (["fit", "w*x*z", "--data", f"{EXAMPLES}/line.csv", "--params", "w=1"],
     "has no column for z"),
    (["fit", "w*x", "--data", f"{EXAMPLES}/line.csv", "--params", "w=1,x=2"],
     "x is given both by --params and by a column"),
    (["fit", "w*x", "--data", f"{EXAMPLES}/line.csv", "--params", "w=/x"],
     "expected a number"),
    (["descend", "x*y", "--from", "x=1,y=1", "--wrt", "z"], "--wrt names z"),
    (["descend", "x*y", "--from", "x=1"], "no value for y"),
])
def test_training_usage_errors(args, message):
    code, out, err = gradcalc(*args)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_tilde_eaten_by_the_shell_is_explained():
    code, _out, err = gradcalc("fit", "w*x", "--data", f"{EXAMPLES}/line.csv", "--params",
                               "w=/home/ann", env={"HOME": "/home/ann"})
    assert code == 2
    assert "your shell replaced ~ by your home directory" in err
    assert 'hint: quote the option: --params "w=~,b=~"' in err


@pytest.mark.parametrize("args, message", [
    (["descend", "x^2", "--from", "x=1", "--lr", "-1"], "--lr must be a finite number ≥ 0"),
    (["descend", "x^2", "--from", "x=1", "--optimizer", "adam", "--beta1", "1"],
     "the Adam betas must be below 1"),
    (["fit", "w*x", "--data", "-", "--params", "w=1", "--lr", "nan"], "--lr must be"),
])
def test_bad_hyper_parameters_are_usage_errors(args, message):
    code, out, err = gradcalc(*args)
    assert (code, out) == (2, "") and message in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("args, seen", [
    (["descend", "(x-3)^2", "--from", "x=0", "--lr", "0.001", "--steps", "3000"], b"/3000"),
    (["fit", "(w*x + b - y)^2", "--data", f"{EXAMPLES}/line.csv", "--params", "w=0,b=0",
      "--epochs", "300"], b"/300"),
])
def test_live_progress_goes_to_a_terminal_only(args, seen):
    from tests.terminal import run_with_terminal_stderr

    code, out, shown = run_with_terminal_stderr([sys.executable, "-m", "gradcalc", *args])
    assert code == 0
    assert seen in shown and seen not in out     # the bar's "step/total" counter


def test_a_small_batch_gives_the_numbers_of_its_arrays():
    # batch_loss hands a small batch (≤ 64 rows) to gradient_few as Python floats, so that each
    # row takes Function.gradient's fast path (issue 18): the same numbers as the arrays give
    import numpy as np

    from gradcalc.vector import gradient_few

    fn = Function("loss = (sigmoid(w*x + b) - y)^2 + log(1 + exp(-w*x))")
    rng = np.random.default_rng(3)
    data = {"x": rng.normal(size=50), "y": rng.uniform(size=50)}
    params = {"w": 0.75, "b": -0.125}
    for idx in (np.arange(50), rng.permutation(50)[:7], np.array([3])):
        loss, grads = batch_loss(fn, data, idx, params)
        arrays = {k: c[idx] for k, c in data.items()}
        arrays.update({k: np.full(len(idx), v) for k, v in params.items()})
        expected = gradient_few(fn, arrays, ["w", "b"])
        assert loss == float(np.mean(expected.value))
        assert grads == {w: float(np.mean(expected.gradient[w])) for w in ("w", "b")}
