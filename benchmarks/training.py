"""fit on arrays against PyTorch (issue 16): the same numbers, and the time of a step.

    pip install -e '.[bench]'          # torch==2.13.0 (CPU), never a runtime dependency
    python -m benchmarks.training      # about a minute; --threads N (default 1)

Three parts, printed as Markdown (docs/benchmarks.md, "fit on arrays"):

1. **Agreement.** The digits network of examples/digits_mlp.gc (64 → 32 → 10, ReLU,
   cross-entropy) from one set of initial parameters, written to an .npz and given to
   ``gradcalc fit --init ... --no-shuffle --epochs E`` (the command line, in a subprocess), and
   to ``torch.nn.Sequential(Linear(64, 32), ReLU(), Linear(32, 10))`` in float64 (Linear keeps
   its weight as out×in: W1ᵀ) trained by ``torch.optim`` on the same mini-batches in the same
   order (rows 0-63, 64-127, ...; the last batch shorter). After the run every parameter of the
   two is compared: the largest ‖a − b‖ / ‖b‖ over the four parameters. SGD, momentum and
   Adam one epoch each, and Adam with weight decay and StepLR over three epochs.
2. **One mini-batch step** (forward, backward, update: what fit does per batch, its progress
   and checks included) of the digits network and of the notes' shape (batch 64, 3072 → 100 →
   10), gradcalc's loop (train_arrays, in this process) against PyTorch CPU float64 eager
   (zero_grad, forward, loss, backward, SGD step) on the same number of threads: NumPy's BLAS
   and torch both at ``--threads`` (set before NumPy is imported: the script restarts itself
   with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set). Median of several rounds.
3. **The 30-epoch digits run** of the README, timed end to end (a subprocess: start-up, loading,
   the checks, 30 epochs with the validation figures every epoch, saving), with its test
   accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PARAMS = "W1=randn(64,32)*0.1, b1=zeros(32), W2=randn(32,10)*0.1, b2=zeros(10)"
README_RUN = ["-f", str(EXAMPLES / "digits_mlp.gc"), "--data", str(EXAMPLES / "digits_train.npz"),
              "--params", PARAMS, "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "64",
              "--epochs", "30", "--seed", "0", "--validate", str(EXAMPLES / "digits_test.npz")]
RUNS = [   # (label, gradcalc options, epochs)
    ("SGD, lr 0.1", ["--optimizer", "sgd", "--lr", "0.1"], 1),
    ("momentum 0.9, lr 0.05", ["--optimizer", "momentum", "--lr", "0.05"], 1),
    ("Adam, lr 0.01", ["--optimizer", "adam", "--lr", "0.01"], 1),
    ("Adam, lr 0.01, weight decay 0.01, StepLR 1 epoch γ 0.5",
     ["--optimizer", "adam", "--lr", "0.01", "--weight-decay", "0.01", "--lr-step", "1",
      "--lr-gamma", "0.5"], 3),
]


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", "fit", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def initial(seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((64, 32)) * 0.1, "b1": rng.standard_normal(32) * 0.01,
            "W2": rng.standard_normal((32, 10)) * 0.1, "b2": rng.standard_normal(10) * 0.01}


def torch_fit(start: dict, X, y, options: list[str], epochs: int, batch: int = 64) -> dict:
    """PyTorch's loop on the same batches: Sequential(Linear, ReLU, Linear), float64."""
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10)).double()
    with torch.no_grad():   # Linear computes x Wᵀ + b: its weight is our W transposed
        model[0].weight.copy_(torch.from_numpy(start["W1"].T))
        model[0].bias.copy_(torch.from_numpy(start["b1"]))
        model[2].weight.copy_(torch.from_numpy(start["W2"].T))
        model[2].bias.copy_(torch.from_numpy(start["b2"]))
    o = dict(zip(options[::2], options[1::2], strict=True))
    lr, wd = float(o["--lr"]), float(o.get("--weight-decay", 0))
    if o["--optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wd)
    elif o["--optimizer"] == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    schedule = (torch.optim.lr_scheduler.StepLR(opt, int(o["--lr-step"]),
                                                float(o["--lr-gamma"]))
                if "--lr-step" in o else None)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    for _ in range(epochs):
        for first in range(0, len(y), batch):
            opt.zero_grad()
            loss = loss_fn(model(Xt[first:first + batch]), yt[first:first + batch])
            loss.backward()
            opt.step()
        if schedule is not None:
            schedule.step()
    return {"W1": model[0].weight.detach().numpy().T, "b1": model[0].bias.detach().numpy(),
            "W2": model[2].weight.detach().numpy().T, "b2": model[2].bias.detach().numpy()}


def agreement() -> list[tuple[str, int, float, float]]:
    """(run, epochs, largest relative difference of a parameter, largest relative move)."""
    import numpy as np

    data = np.load(EXAMPLES / "digits_train.npz")
    X, y = data["X"], data["y"]
    start = initial()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        init, out = Path(tmp) / "init.npz", Path(tmp) / "out.npz"
        np.savez(init, **start)
        for label, options, epochs in RUNS:
            r = gradcalc("-f", str(EXAMPLES / "digits_mlp.gc"), "--data",
                         str(EXAMPLES / "digits_train.npz"), "--init", str(init), "--no-shuffle",
                         "--batch-size", "64", "--epochs", str(epochs), "--save", str(out),
                         "--format", "json", *options)
            if r.returncode != 0:
                raise SystemExit(f"gradcalc fit failed: {r.stderr}")
            ours = dict(np.load(out))
            theirs = torch_fit(start, X, y, options, epochs)
            worst = max(float(np.linalg.norm(ours[k] - theirs[k]) / np.linalg.norm(theirs[k]))
                        for k in start)
            moved = max(float(np.linalg.norm(theirs[k] - start[k]) / np.linalg.norm(start[k]))
                        for k in start)
            rows.append((label, epochs, worst, moved))
    return rows


def step_times(batch: int, sizes: tuple[int, int, int], rounds: int) -> tuple[float, float]:
    """Median seconds of one mini-batch step: gradcalc's train_arrays loop, PyTorch eager."""
    import math

    import numpy as np
    import torch

    from gradcalc.function import Function
    from gradcalc.optimize import Schedule
    from gradcalc.train_arrays import Data, TrainingOptimizer, prepare, train

    n_in, n_hidden, n_out = sizes
    rng = np.random.default_rng(0)
    steps = max(20, min(200, int(2e8 / (batch * n_in * n_hidden * 6))))
    rows = batch * steps
    X = rng.random((rows, n_in))
    y = rng.integers(0, n_out, rows).astype(np.float64)
    params = {"W1": rng.standard_normal((n_in, n_hidden)) / math.sqrt(n_in),
              "b1": np.zeros(n_hidden),
              "W2": rng.standard_normal((n_hidden, n_out)) / math.sqrt(n_hidden),
              "b2": np.zeros(n_out)}
    fn = Function((EXAMPLES / "digits_mlp.gc").read_text())
    data = Data({"X": X, "y": y}, {"X": "random", "y": "random"}, rows)
    model = prepare(fn, None, data, params, (), batch)

    def ours_steps() -> float:
        # train() evaluates the loss over all the data before and after the epoch: time the
        # steps alone, from the first Batch to the epoch's end (steps - 1 of them)
        opt = TrainingOptimizer("sgd", 0.01)
        began = ended = None
        for item in train(model, data, {k: v.copy() for k, v in params.items()}, opt,
                          Schedule(1, batch, True, 0)):
            kind = type(item).__name__
            if kind == "Batch" and began is None:
                began = time.perf_counter()
            elif kind == "EpochFigures":
                ended = time.perf_counter()
        assert began is not None and ended is not None
        return (ended - began) / (steps - 1)

    net = torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden), torch.nn.ReLU(),
                              torch.nn.Linear(n_hidden, n_out)).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    order = torch.from_numpy(rng.permutation(rows))

    def theirs() -> float:
        began = time.perf_counter()
        for first in range(0, rows, batch):
            idx = order[first:first + batch]
            opt.zero_grad()
            loss = loss_fn(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()   # as a loop that prints or checks its loss
        return (time.perf_counter() - began) / steps

    ours_steps()
    theirs()
    mine, peer = [], []
    for _ in range(rounds):   # alternately, so that the machine's load hits both alike
        mine.append(ours_steps())
        peer.append(theirs())
    return statistics.median(mine), statistics.median(peer)


def readme_run() -> tuple[float, float, float, float]:
    """(wall seconds, training seconds, test accuracy, test loss) of the README's command."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        r = gradcalc(*README_RUN, "--report", "acc", "--save", str(Path(tmp) / "p.npz"),
                     "--format", "json")
        wall = time.perf_counter() - began
    if r.returncode != 0:
        raise SystemExit(f"gradcalc fit failed: {r.stderr}")
    out = json.loads(r.stdout)
    return wall, out["seconds"], out["validation"]["acc"], out["validation"]["loss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and torch threads, the same for both (default 1)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the step timing")
    args = parser.parse_args()
    threads = str(args.threads)
    if os.environ.get("OPENBLAS_NUM_THREADS") != threads:   # before NumPy is imported
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads}
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.training", *sys.argv[1:]],
                  env)
    from gradcalc.lazy import numpy

    numpy()   # gradcalc's NumPy first (as the command line imports it), then torch
    import torch

    torch.set_num_threads(args.threads)
    from .peers import version

    load = os.getloadavg()[0]
    print(f"# fit on arrays against PyTorch\n\ngradcalc {version('gradcalc')}, torch "
          f"{torch.__version__}, numpy {numpy().__version__}; {os.cpu_count()} cores, load "
          f"average {load:.1f}; {args.threads} thread(s) for NumPy's BLAS and for torch.\n")
    print("## The same numbers\n")
    print("| run | epochs | largest ‖ours − torch‖ / ‖torch‖ of a parameter | how far the "
          "parameters moved (largest ‖Δp‖ / ‖p₀‖) |\n| --- | ---: | ---: | ---: |")
    for label, epochs, worst, moved in agreement():
        print(f"| {label} | {epochs} | {worst:.1e} | {moved:.2f} |")
    print("\n## One mini-batch step (forward, backward, update), batch 64\n")
    print("| network | gradcalc fit | PyTorch eager | ratio |\n| --- | ---: | ---: | ---: |")
    for label, sizes in (("digits, 64 → 32 → 10", (64, 32, 10)),
                         ("the notes' shape, 3072 → 100 → 10", (3072, 100, 10))):
        ours, theirs = step_times(64, sizes, args.rounds)
        print(f"| {label} | {ours * 1e6:,.0f} µs | {theirs * 1e6:,.0f} µs | "
              f"{ours / theirs:.2f}× |")
    wall, seconds, acc, loss = readme_run()
    print(f"\n## The README's 30-epoch digits run\n\n{wall:.2f} s end to end ({seconds:.2f} s "
          f"in the 30 epochs, validation figures included); test accuracy {acc:.4f}, test loss "
          f"{loss:.4f}. Load average now {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
