"""Per-call overhead of a parsed program used again and again (issue 18): ``f.gradient(point)``
in a loop, as ``descend``, ``fit`` and Python callers use it.

    python -m benchmarks.overhead [--repeat 15]      # about 30 seconds

For 10-node programs (parsed once: parse time is left out), in CPU time, best of ``--repeat``:

- **first call**: the first ``f.gradient(point)`` of a freshly parsed program (the tape is
  compiled and the point's names checked);
- **later calls**: ``f.gradient(point)`` again with new values for the same names;
- **bare tape**: ``tape.forward`` + ``tape.backward`` alone, with the point already checked;
- **overhead** = later − bare; also the value alone, ``f(point)``, on later calls.

Then the time of one step of ``descend`` (Adam) and of scalar ``fit`` (SGD, mini-batches of 8
rows) on small programs. Rounds are short and many: on a shared machine the best of them is one
that no other process interrupted.

Target (issue 18): later calls ≤ 5 µs of overhead for a 10-node program.
Runs against whichever gradcalc is importable: ``PYTHONPATH=/path/to/other/checkout python
benchmarks/overhead.py`` times another version with the same code.
"""

from __future__ import annotations

import argparse
import random
import time

import gradcalc
from gradcalc.domains import FLOAT

# (name, program, variables): each has 10 op nodes (the neuron's relu, the loss's exp, ...)
PROGRAMS = [
    ("neuron relu(w·x + b)·s", "relu(w1*x1 + w2*x2 + w3*x3 + w4*x4 + b) * s",
     ["w1", "x1", "w2", "x2", "w3", "x3", "w4", "x4", "b", "s"]),
    ("logistic loss", "(1/(1 + exp(-(w0*x0 + w1*x1 + w2))) - y)^2",
     ["w0", "x0", "w1", "x1", "w2", "y"]),
    ("transcendental", "sin(x)*cos(y) + log(1 + x^2) + sqrt(y)*z", ["x", "y", "z"]),
    ("statements", "q = x + y; r = q*z; s = r - x*y; t = s*s; u = t/(1 + q*q); f = u + 2*r",
     ["x", "y", "z"]),
]


def _points(names, count, seed):
    rng = random.Random(seed)
    return [{n: rng.uniform(0.2, 0.9) for n in names} for _ in range(count)]


def _best(run, repeat: int) -> float:
    """Seconds per item of ``run()`` (which returns how many items it did), best of repeat."""
    return _interleaved([run], repeat)[0]


def _interleaved(runs, repeat: int) -> list[float]:
    """As ``_best`` for several runs, taken in turn (so that a busy moment of a shared machine
    hits all of them, not one)."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for k, run in enumerate(runs):
            t = time.process_time()
            n = run()
            best[k] = min(best[k], (time.process_time() - t) / n)
    return best


def calls(source: str, names, repeat: int) -> dict[str, float]:
    """µs per call: first, later, bare tape, overhead, value alone."""
    points = _points(names, 200, 1)

    def first():
        fresh = gradcalc.parse(source)   # (not timed)
        t = time.process_time()
        fresh.gradient(points[0])
        return time.process_time() - t

    first_call = min(first() for _ in range(repeat * 20))
    f = gradcalc.parse(source)
    f.gradient(points[0])

    def later():
        for p in points:
            f.gradient(p)
        return len(points)

    def value():
        for p in points:
            f(p)
        return len(points)

    tape = f.resolve(points[0]).tape

    def bare():
        for p in points:
            tape.backward(FLOAT, tape.forward(FLOAT, p))
        return len(points)

    nodes = sum(1 for n in f.graph.nodes if n.args)
    # short rounds, many of them: the best is then one no other process interrupted
    later_s, bare_s, value_s = _interleaved([later, bare, value], 20 * repeat)
    return {"nodes": nodes, "first": first_call * 1e6, "later": later_s * 1e6,
            "bare": bare_s * 1e6, "overhead": (later_s - bare_s) * 1e6, "value": value_s * 1e6}


def descend_step(repeat: int) -> float:
    """µs per step of descend (Adam) on a 10-node program of 3 variables: (a run of 60 steps
    − a run of none) / 60, so that what a run does once is left out."""
    from gradcalc.optimize import Optimizer, descend

    f = gradcalc.parse("(x - 3)^2 + (y + 1)^2 + 0.1*(x*y - z)^2 + z^2")

    def run(steps):
        def go():
            for _ in descend(f, {"x": 0.0, "y": 0.0, "z": 0.0}, None, Optimizer("adam", 0.01),
                             steps, 0.0):
                pass
            return 1
        return go

    long, short = _interleaved([run(60), run(0)], 10 * repeat)
    return (long - short) / 60 * 1e6


def fit_step(repeat: int) -> float:
    """µs per optimizer step of scalar fit (SGD, batches of 8 rows of 64: one gradient per row),
    as (6 epochs − 1 epoch) / 40 steps, leaving out the loss over all the data at either end."""
    from gradcalc.optimize import Optimizer, fit

    f = gradcalc.parse("(w*x + b - y)^2")
    rng = random.Random(2)
    xs = [rng.uniform(-1, 1) for _ in range(64)]
    data = {"x": xs, "y": [2 * x + 1 + rng.gauss(0, 0.1) for x in xs]}

    def run(epochs):
        def go():
            for _ in fit(f, data, {"w": 0.0, "b": 0.0}, Optimizer("sgd", 0.1), epochs=epochs,
                         batch_size=8):
                pass
            return 1
        return go

    long, short = _interleaved([run(6), run(1)], 2 * repeat)
    return (long - short) / 40 * 1e6


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    print(f"{'program (op nodes)':<30} {'first':>8} {'later':>8} {'bare':>8} {'overhead':>9} "
          f"{'value':>8}   µs per call, CPU, best of {args.repeat}")
    for label, source, names in PROGRAMS:
        r = calls(source, names, args.repeat)
        print(f"{label + ' (' + str(r['nodes']) + ')':<30} {r['first']:>8.1f} {r['later']:>8.1f} "
              f"{r['bare']:>8.1f} {r['overhead']:>9.1f} {r['value']:>8.1f}")
    print("\ntarget: overhead (later − bare) ≤ 5 µs")
    print(f"descend (Adam), per step:        {descend_step(args.repeat):8.1f} µs")
    print(f"fit (scalar, SGD, batch 8), per step: {fit_step(args.repeat):8.1f} µs")


if __name__ == "__main__":
    main()
