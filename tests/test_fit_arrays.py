"""fit on arrays (issue 16): one step against NumPy by hand, the data formats, every bad input
refused before training, the JSON, a short digits run; PyTorch's numbers when torch is here."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradcalc.cli import main
from gradcalc.errors import EvaluationError, UsageError
from gradcalc.function import Function
from gradcalc.optimize import Optimizer, Schedule
from gradcalc.train_arrays import (
    ArrayOutcome,
    Data,
    EpochFigures,
    TrainingOptimizer,
    prepare,
    read_data,
    train,
)

EXAMPLES = Path(__file__).parent.parent / "examples"
MLP = "h = relu(X @ W1 + b1); s = h @ W2 + b2; acc = mean(argmax(s, 1) == y); " \
      "loss = cross_entropy(s, y)"
DIGITS = ["-f", str(EXAMPLES / "digits_mlp.gc"), "--data", str(EXAMPLES / "digits_train.npz")]
DIGITS_PARAMS = "W1=randn(64,32)*0.1, b1=zeros(32), W2=randn(32,10)*0.1, b2=zeros(10)"


def run(*args):
    return CliRunner().invoke(main, ["fit", *args])


def small(seed=0, rows=6):
    """A small classification problem: X rows×4, y labels 0..2; W1 4×5, b1 5, W2 5×3, b2 3."""
    rng = np.random.default_rng(seed)
    data = {"X": rng.standard_normal((rows, 4)), "y": rng.integers(0, 3, rows).astype(float)}
    params = {"W1": rng.standard_normal((4, 5)) * 0.5, "b1": rng.standard_normal(5) * 0.1,
              "W2": rng.standard_normal((5, 3)) * 0.5, "b2": rng.standard_normal(3) * 0.1}
    return data, params


def by_hand(X, y, p):
    """The loss and its gradients, backprop written out with NumPy."""
    n = len(y)
    t = X @ p["W1"] + p["b1"]
    h = np.maximum(t, 0)
    s = h @ p["W2"] + p["b2"]
    e = np.exp(s - s.max(1, keepdims=True))
    prob = e / e.sum(1, keepdims=True)
    labels = y.astype(int)
    loss = -np.mean(np.log(prob[np.arange(n), labels]))
    ds = prob.copy()
    ds[np.arange(n), labels] -= 1
    ds /= n
    dh = ds @ p["W2"].T * (t > 0)
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}


def fit_once(data, params, optimizer, epochs=1, batch=None, report=()):
    d = Data(data, dict.fromkeys(data, "test"), len(data["y"]))
    params = {k: v.copy() for k, v in params.items()}
    model = prepare(Function(MLP), None, d, params, report, batch or d.rows)
    items = list(train(model, d, params, optimizer, Schedule(epochs, batch or d.rows, False, 0)))
    outcome = items[-1]
    assert isinstance(outcome, ArrayOutcome) and not outcome.diverged, outcome.reason
    return outcome, items


# --- one step against the update by hand ------------------------------------------------------

def test_one_sgd_step_is_the_update_by_hand():
    data, params = small()
    loss, grads = by_hand(data["X"], data["y"], params)
    outcome, items = fit_once(data, params, TrainingOptimizer("sgd", 0.1))
    assert items[0].loss == pytest.approx(loss, rel=1e-13)          # the Batch's loss
    for k, p in params.items():
        np.testing.assert_allclose(outcome.params[k], p - 0.1 * grads[k], rtol=1e-13,
                                   atol=1e-15)


def test_one_adam_step_with_weight_decay_is_the_update_by_hand():
    data, params = small(1)
    _loss, grads = by_hand(data["X"], data["y"], params)
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.05
    outcome, _items = fit_once(data, params, TrainingOptimizer("adam", lr, weight_decay=wd))
    for k, p in params.items():
        g = grads[k] + wd * p                     # torch.optim.Adam's L2 in the gradient
        m, v = (1 - b1) * g, (1 - b2) * g * g
        want = p - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
        np.testing.assert_allclose(outcome.params[k], want, rtol=1e-12, atol=1e-15)


def test_two_momentum_steps_by_hand_over_two_batches():
    data, params = small(2, rows=8)
    p = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    for rows in (slice(0, 4), slice(4, 8)):       # --no-shuffle: rows 0-3, then 4-7
        _loss, grads = by_hand(data["X"][rows], data["y"][rows], p)
        for k in p:
            velocity[k] = 0.9 * velocity[k] + grads[k]
            p[k] = p[k] - 0.05 * velocity[k]
    outcome, _items = fit_once(data, params, TrainingOptimizer("momentum", 0.05), batch=4)
    for k in p:
        np.testing.assert_allclose(outcome.params[k], p[k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_the_array_rules_move_one_entry_bit_for_bit_as_the_scalar_optimizer(kind):
    rng = np.random.default_rng(3)
    scalar, arrays = Optimizer(kind, 0.03), TrainingOptimizer(kind, 0.03)
    p, q = {"w": 0.7}, {"w": np.array([0.7])}
    for _ in range(5):
        g = float(rng.standard_normal())
        p = scalar.step(p, {"w": g})
        arrays.step_arrays(q, {"w": np.array([g])})
        assert q["w"][0] == p["w"]


def test_step_lr_and_weight_decay_on_scalars_too():
    opt = TrainingOptimizer("sgd", 0.1, weight_decay=0.5, lr_step=2, lr_gamma=0.5)
    assert opt.step({"w": 2.0}, {"w": 1.0}) == {"w": 2.0 - 0.1 * (1.0 + 0.5 * 2.0)}
    rates = []
    for epoch in range(1, 6):
        rates.append(opt.rate)
        opt.epoch_done(epoch)
    assert rates == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert TrainingOptimizer("sgd", 0.1).step({"w": 2.0}, {"w": 1.0}) == \
        Optimizer("sgd", 0.1).step({"w": 2.0}, {"w": 1.0})


def test_reported_figures_are_weighted_means_over_the_batches():
    data, params = small(4, rows=10)
    outcome, items = fit_once(data, params, TrainingOptimizer("sgd", 0.0), epochs=1, batch=4,
                              report=["acc"])
    batches = [(0, 4), (4, 8), (8, 10)]           # lr 0: every batch sees the start
    accs = []
    for lo, hi in batches:
        X, y = data["X"][lo:hi], data["y"][lo:hi]
        s = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
        accs.append(np.mean(s.argmax(1) == y) * (hi - lo))
    epoch = next(i for i in items if isinstance(i, EpochFigures))
    assert epoch.train["acc"] == pytest.approx(sum(accs) / 10, rel=1e-15)
    assert epoch.loss == pytest.approx(by_hand(data["X"], data["y"], params)[0], rel=1e-13)


# --- data -------------------------------------------------------------------------------------

def test_npz_npy_and_csv_give_the_same_arrays(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((7, 3)), np.array([0, 1, 2, 0, 1, 2, 0], dtype=float)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    header = ",".join(f"X[{k}]" for k in range(3)) + ",y"
    rows = [",".join(repr(float(v)) for v in [*X[r], y[r]]) for r in range(7)]
    (tmp_path / "d.csv").write_text("\n".join([header, *rows]) + "\n")
    dotted = "\t".join(f"X.{k}" for k in (2, 0, 1)) + "\ty"   # any order, tabs
    (tmp_path / "d.tsv").write_text("\n".join(
        [dotted, *("\t".join(repr(float(v)) for v in [X[r, 2], X[r, 0], X[r, 1], y[r]])
                   for r in range(7))]) + "\n")
    for specs in ([f"{tmp_path}/d.npz"], [f"X={tmp_path}/X.npy", f"y={tmp_path}/y.npy"],
                  [f"{tmp_path}/d.csv"], [f"{tmp_path}/d.tsv"],
                  [f"X={tmp_path}/d.npz:X", f"y={tmp_path}/y.npy"]):
        data = read_data(specs)
        assert data.rows == 7 and set(data.arrays) == {"X", "y"}
        np.testing.assert_array_equal(data.arrays["X"], X)
        np.testing.assert_array_equal(data.arrays["y"], y)


def test_a_csv_trains_like_the_npz(tmp_path):
    d = np.load(EXAMPLES / "digits_train.npz")
    X, y = d["X"][:200], d["y"][:200]
    np.savez(tmp_path / "d.npz", X=X, y=y)
    header = ",".join(f"X[{k}]" for k in range(64)) + ",y"
    (tmp_path / "d.csv").write_text("\n".join(
        [header, *(",".join(repr(float(v)) for v in [*X[r], y[r]]) for r in range(200))]))
    outs = []
    for data in ("d.npz", "d.csv"):
        r = run("-f", str(EXAMPLES / "digits_mlp.gc"), "--data", str(tmp_path / data),
                "--params", DIGITS_PARAMS, "--epochs", "2", "--format", "json")
        assert r.exit_code == 0, r.output
        outs.append(json.loads(r.stdout))
    assert outs[0]["loss"] == outs[1]["loss"] and outs[0]["params"] == outs[1]["params"]


# --- bad input: exit 2, a clear message, nothing trained --------------------------------------

@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 4)), rng.integers(0, 3, 20).astype(float)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "y19.npy", y[:19])
    bad = y.copy()
    bad[7] = 3
    np.save(tmp_path / "ybad.npy", bad)
    Xn = X.copy()
    Xn[12, 2] = np.inf
    np.save(tmp_path / "Xnan.npy", Xn)
    np.savez(tmp_path / "extra.npz", X=X, y=y, Z=X)
    np.savez(tmp_path / "init.npz", W1=np.zeros((4, 5)), b1=np.zeros(5), W2=np.zeros((5, 3)))
    np.savez(tmp_path / "init_q.npz", W1=np.zeros((4, 5)), b1=np.zeros(5), W2=np.zeros((5, 3)),
             b2=np.zeros(3), Q=np.zeros(2))
    (tmp_path / "nan.csv").write_text("X[0],X[1],X[2],X[3],y\n1,2,3,4,0\n1,nan,3,4,1\n")
    (tmp_path / "gap.csv").write_text("X[0],X[2],y\n1,2,0\n")
    (tmp_path / "prog.gc").write_text(MLP)
    return tmp_path


PARAMS = "W1=randn(4,5)*0.1, b1=zeros(5), W2=randn(5,3)*0.1, b2=zeros(3)"


@pytest.mark.parametrize("args, message", [
    (["--data", "{d}/extra.npz"], "the data gives Z ({d}/extra.npz), but the program does not "
                                  "use it"),
    (["--data", "X={d}/X.npy"], "nothing gives y a value: neither the data nor the parameters"),
    (["--data", "{d}/X.npy"], "{d}/X.npy is a .npy file, which holds one array without a name"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y19.npy"],
     "the arrays of --data differ in their first axis, the examples: y has 19 ({d}/y19.npy), X "
     "has 20 ({d}/X.npy)"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/ybad.npy"],
     "y[7] is 3, at row 7 (counting from 0) of {d}/ybad.npy: not a class label; the scores have "
     "3 classes, labelled 0 to 2"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--validate", "X={d}/X.npy",
      "--validate", "y={d}/ybad.npy"], "y[7] is 3, at row 7 (counting from 0) of {d}/ybad.npy"),
    (["--data", "X={d}/Xnan.npy", "--data", "y={d}/y.npy"],
     "X[12, 2] is inf, at row 12 (counting from 0) of {d}/Xnan.npy: every value of the data "
     "must be finite"),
    (["--data", "{d}/nan.csv"], "row 2 of {d}/nan.csv (after its header) is malformed: the "
                                "value of X[1] must be finite, not nan"),
    (["--data", "{d}/gap.csv"], "{d}/gap.csv: the columns of X stop short: it has X[2] but no "
                                "column for entry 1"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--validate", "X={d}/X.npy"],
     "the validation data lacks y"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--report", "nope"],
     "--report nope: the program has no statement of that name"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--report", "h"],
     "h is not a scalar but a 20×5 array: a reported figure is one number for a mini-batch"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--save", "{d}/p.json"],
     "--save {d}/p.json: the parameters of a program of arrays are saved as an .npz archive"),
    (["--data", "X={d}/X.npy", "--data", "y={d}/y.npy", "--plot", "{d}/p.gif"],
     "--plot {d}/p.gif: the file's name says what to draw, .png, .svg or .pdf"),
    (["--data", "nope.npz"], "cannot read nope.npz: no such file"),
])
def test_bad_input_is_refused_before_training(files, args, message):
    args = [a.format(d=files) for a in args]
    r = run("-f", str(files / "prog.gc"), "--params", PARAMS, *args)
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.startswith(f"error: {message.format(d=files)}"), r.stderr


def test_a_parameter_of_the_wrong_shape_is_named_with_the_shapes(files):
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--params", PARAMS.replace("randn(4,5)", "randn(3,5)"),
            "--batch-size", "8")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: cannot multiply X (8×4) by W1 (3×5): 4 ≠ 3",
        "  h = relu(X @ W1 + b1); s = h @ W2 + b2; acc = mean(argmax(s, 1) == y); loss = "
        "cross_entropy(s, y)",
        "           ^^^^^^",
        "hint: a mini-batch of the data: X 8×4, y 8; the parameters: W1 3×5, b1 5, W2 5×3, b2 3"]


@pytest.mark.parametrize("init, message", [
    ("init.npz", "{d}/init.npz has no b2: its parameters are W1, b1, W2"),
    ("init_q.npz", "{d}/init_q.npz gives Q, which the program does not have"),
    ("missing.npz", "cannot read {d}/missing.npz: no such file"),
])
def test_init_files_missing_or_extra_parameters(files, init, message):
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--init", str(files / init))
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {message.format(d=files)}")


def test_labels_as_a_parameter_and_a_loss_that_is_not_a_scalar(files):
    r = run("cross_entropy(X @ W, y)", "--data", f"X={files}/X.npy", "--params",
            "W=zeros(4,3), y=zeros(20)")
    assert r.exit_code == 2 and "y holds class labels, whole numbers: it cannot be a " \
                                "parameter" in r.stderr
    r = run("X @ W", "--data", f"X={files}/X.npy", "--params", "W=zeros(4,3)")
    assert r.exit_code == 2 and r.stderr.startswith(
        "error: f is not a scalar but a 20×3 array: the loss fit minimizes is one number")


def test_save_then_init_resumes(files):
    base = ["-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--optimizer", "sgd", "--lr", "0.5", "--no-shuffle",
            "--batch-size", "5", "--format", "json"]
    r = run(*base, "--params", PARAMS, "--epochs", "4", "--save", str(files / "p4.npz"))
    assert r.exit_code == 0, r.output
    r2 = run(*base, "--params", PARAMS, "--epochs", "2", "--save", str(files / "p2.npz"))
    r3 = run(*base, "--init", str(files / "p2.npz"), "--epochs", "2")
    assert r2.exit_code == r3.exit_code == 0
    assert json.loads(r3.stdout)["params"] == json.loads(r.stdout)["params"]   # plain SGD
    saved = np.load(files / "p4.npz")
    assert sorted(saved.files) == ["W1", "W2", "b1", "b2"] and saved["W1"].shape == (4, 5)


# --- the JSON and the table -------------------------------------------------------------------

def test_json_has_every_epoch(files):
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--params", PARAMS, "--epochs", "3", "--batch-size", "8",
            "--validate", f"X={files}/X.npy", "--validate", f"y={files}/y.npy",
            "--report", "acc", "--optimizer", "adam", "--lr", "0.01", "--lr-step", "2",
            "--lr-gamma", "0.5", "--weight-decay", "0.1", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["optimizer"] == {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999,
                              "eps": 1e-08, "weight_decay": 0.1, "lr_step": 2, "lr_gamma": 0.5}
    assert d["data"] == {"rows": 20, "shapes": {"X": [20, 4], "y": [20]}}
    assert d["batch_size"] == 8 and d["steps"] == 9 and d["epochs"] == 3
    assert d["report"] == ["loss", "acc"] and not d["diverged"]
    assert d["params"]["W1"]["shape"] == [4, 5] and d["params"]["b2"]["shape"] == [3]
    assert [h["epoch"] for h in d["history"]] == [1, 2, 3]
    assert [h["lr"] for h in d["history"]] == [0.01, 0.01, 0.005]
    for h in d["history"]:
        assert set(h["train"]) == set(h["validation"]) == {"loss", "acc"}
        assert set(h["grad_norms"]) == {"W1", "b1", "W2", "b2"}
    # the training data as validation data: the last figures are the loss over all the data
    assert d["validation"]["loss"] == pytest.approx(d["loss"], rel=1e-12)
    assert d["history"][-1]["validation"] == d["validation"]


def test_the_table(files):
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--params", PARAMS, "--epochs", "2", "--report", "acc",
            "--validate", f"X={files}/X.npy", "--validate", f"y={files}/y.npy")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "fit: sgd, lr 0.01; 20 examples, batches of 20"
    assert lines[1].split() == ["epoch", "loss", "acc", "validation", "loss", "validation", "acc",
                                "seconds"]
    assert [line.split()[:2] for line in lines if line.split()[:1] in (["W1"], ["b2"])] == \
        [["W1", "4×5"], ["b2", "3"]]
    assert any(line.startswith("loss over the training data ") for line in lines)
    assert any(line.startswith("validation: loss ") and "acc" in line for line in lines)
    assert "stopped: ran 2 epochs" in lines


# --- divergence -------------------------------------------------------------------------------

def test_divergence_stops_and_names_the_parameter(files):
    r = run("mean((X @ w - t)^2)", "--data", f"X={files}/X.npy", "--data", f"t={files}/y.npy",
            "--params", "w=ones(4)", "--lr", "1e3", "--epochs", "50")
    assert r.exit_code == 1
    assert "error: diverged in epoch" in r.stderr
    assert "the gradient of w exploded" in r.stderr
    assert "the parameters shown are the last good ones" in r.stderr


def test_a_growing_loss_warns():
    data, params = small(5)
    d = Data(data, dict.fromkeys(data, "test"), 6)
    model = prepare(Function(MLP), None, d, params, (), 6)
    out = list(train(model, d, {k: v * 5 for k, v in params.items()},
                     TrainingOptimizer("sgd", 50.0), Schedule(3, 6, False, 0)))[-1]
    assert isinstance(out, ArrayOutcome)
    assert out.warnings and out.warnings[0].startswith("the loss grew from")


# --- a real run -------------------------------------------------------------------------------

def test_a_short_digits_run_reads_96_percent_of_the_test_digits(tmp_path):
    r = run(*DIGITS, "--params", DIGITS_PARAMS, "--optimizer", "adam", "--lr", "0.01",
            "--batch-size", "64", "--epochs", "5", "--validate",
            str(EXAMPLES / "digits_test.npz"), "--report", "acc", "--save",
            str(tmp_path / "p.npz"), "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["validation"]["acc"] >= 0.96      # 0.9666 (347 of 359) with --seed 0
    assert d["data"]["rows"] == 1438 and d["validation_data"]["rows"] == 359
    assert (tmp_path / "p.npz").exists()


def test_plot_needs_matplotlib(monkeypatch, tmp_path):
    import sys

    from gradcalc.render.training import plot_check

    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib: ImportError
    with pytest.raises(UsageError, match="--plot needs matplotlib, which is not installed") as e:
        plot_check(str(tmp_path / "loss.png"))
    assert e.value.hint == "pip install 'gradcalc[plot]' (or pip install matplotlib)"


def test_plot_draws_the_curves(files):
    pytest.importorskip("matplotlib")
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--params", PARAMS, "--epochs", "3", "--report", "acc",
            "--plot", str(files / "curves.svg"))
    assert r.exit_code == 0, r.output
    assert (files / "curves.svg").read_text().lstrip().startswith("<?xml")


def test_shapes_are_checked_before_any_arithmetic():
    data, params = small()
    d = Data(data, dict.fromkeys(data, "test"), 6)
    params["b1"] = np.zeros(4)
    with pytest.raises(EvaluationError, match=r"cannot add X @ W1 \(6×5\) and b1 \(4\)"):
        prepare(Function(MLP), None, d, params, (), 6)


# --- PyTorch's numbers (skipped without torch) ------------------------------------------------

def test_one_epoch_agrees_with_torch_to_1e_9(tmp_path):
    pytest.importorskip("torch")
    from benchmarks.training import initial, torch_fit

    start = initial()
    np.savez(tmp_path / "init.npz", **start)
    d = np.load(EXAMPLES / "digits_train.npz")
    for options in (["--optimizer", "sgd", "--lr", "0.1"],
                    ["--optimizer", "adam", "--lr", "0.01", "--weight-decay", "0.01"]):
        r = run(*DIGITS, "--init", str(tmp_path / "init.npz"), "--no-shuffle", "--batch-size",
                "64", "--epochs", "1", "--save", str(tmp_path / "out.npz"), *options)
        assert r.exit_code == 0, r.output
        ours = np.load(tmp_path / "out.npz")
        theirs = torch_fit(start, d["X"], d["y"], options, 1)
        for k in start:
            assert np.linalg.norm(ours[k] - theirs[k]) <= 1e-9 * np.linalg.norm(theirs[k])
            assert not np.allclose(ours[k], start[k])   # they did move
    assert math.isfinite(float(ours["W1"].sum()))


def test_progress_shows_the_validation_loss_on_a_terminal():
    import io

    from rich.console import Console

    from gradcalc.optimize import fit_batches
    from gradcalc.render.training import Live

    data, params = small(6, rows=10)
    d = Data(data, dict.fromkeys(data, "test"), 10)
    model = prepare(Function(MLP), None, d, params, (), 4, d)
    terminal = io.StringIO()
    live = Live(Console(file=terminal, force_terminal=True, width=100, color_system=None),
                fit_batches(10, 4, 2), "fit", eta=True)
    items = list(train(model, d, params, TrainingOptimizer("sgd", 0.1), Schedule(2, 4, True, 0),
                       d))
    for item in items[:-1]:
        live.follow_fit(item)
    live.stop()
    last = items[-2]
    assert isinstance(last, EpochFigures) and last.validation is not None
    assert (f"6/6 0:00:00 epoch 2/2  loss {last.loss:.4g}, val "
            f"{last.validation['loss']:.4g}") in terminal.getvalue()


def test_a_mean_over_the_batch_fits_as_the_loss_per_row_does():
    common = ["--data", str(EXAMPLES / "line.csv"), "--params", "w=0,b=0", "--lr", "0.05",
              "--epochs", "5", "--format", "json"]
    per_row = json.loads(run("(w*x + b - y)^2", *common).stdout)
    batch = json.loads(run("mean((w*x + b - y)^2)", *common).stdout)
    assert batch["data"]["shapes"] == {"x": [200], "y": [200]}   # plain columns: vectors
    for name in ("w", "b"):   # the same shuffled batches, the same steps
        assert batch["params"][name]["value"] == pytest.approx(per_row["params"][name],
                                                               rel=1e-12)
    assert batch["loss"] == pytest.approx(per_row["loss"], rel=1e-12)


def test_a_parameter_from_a_file(files):
    W1 = np.random.default_rng(1).standard_normal((4, 5))
    np.save(files / "w1.npy", W1)
    r = run("-f", str(files / "prog.gc"), "--data", f"X={files}/X.npy", "--data",
            f"y={files}/y.npy", "--params", f"W1=@{files}/w1.npy, b1=zeros(5), W2=zeros(5,3), "
            "b2=zeros(3)", "--lr", "0", "--epochs", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["params"]["W1"]["norm"] == pytest.approx(np.linalg.norm(W1))


def test_a_program_of_scalars_keeps_its_path_and_says_what_it_does_not_take():
    line = ["(w*x + b - y)^2", "--params", "w=0,b=0"]
    r = run(*line, "--data", str(EXAMPLES / "line.csv"), "--validate", str(EXAMPLES / "line.csv"))
    assert r.exit_code == 2 and r.stderr.startswith(
        "error: --validate is for programs of arrays (the loss of a mini-batch); this program "
        "is the loss of one row")
    r = run(*line, "--data", str(EXAMPLES / "line.csv"), "--data", str(EXAMPLES / "line.csv"))
    assert r.exit_code == 2 and "a program of scalars takes one --data file" in r.stderr
    r = run(*line, "--data", str(EXAMPLES / "line.csv"), "--lr", "0.05", "--epochs", "3",
            "--lr-step", "1", "--lr-gamma", "0.5", "--weight-decay", "0.1", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["optimizer"] == {"name": "sgd", "lr": 0.05, "weight_decay": 0.1,
                                                 "lr_step": 1, "lr_gamma": 0.5}


def test_parameters_sharing_one_adjoint_each_get_their_own_gradient(tmp_path):
    # a + b sends the same upstream array to a and to b: the weight decay added into one
    # gradient must not reach the other
    np.save(tmp_path / "x.npy", np.array([1.0, 3.0]))
    r = run("sum(a + b) * mean(x)", "--data", f"x={tmp_path}/x.npy", "--params",
            "a=[1, 2, 3], b=[10, 20, 30]", "--weight-decay", "0.5", "--lr", "0.1",
            "--epochs", "1", "--batch-size", "2", "--save", str(tmp_path / "p.npz"))
    assert r.exit_code == 0, r.output
    saved = np.load(tmp_path / "p.npz")
    for name, start in (("a", np.array([1.0, 2, 3])), ("b", np.array([10.0, 20, 30]))):
        np.testing.assert_allclose(saved[name], start - 0.1 * (2.0 + 0.5 * start), rtol=1e-15)
