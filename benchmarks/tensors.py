"""Arrays (issue 15): the seed network against PyTorch, and the cost per op node on small arrays.

    python -m benchmarks.tensors [--threads 1] [--repeat 30] [--sizes 100,1000] [--loss auto]

(a) The seed network at its real shape: X 64×3072, W1 3072×100, b1 100, W2 100×10, b2 10, labels
    y in 0..9. Value and gradient with respect to W1, b1, W2, b2 through gradcalc's Python API
    (``Function(src).tensor_gradient(point, wrt=...)``, parsed once) against PyTorch CPU float64
    autograd (leaf tensors made from the same NumPy arrays, forward, ``torch.autograd.grad``, the
    gradients as NumPy arrays), run alternately in one process on the same number of threads;
    a hand-written NumPy forward and backward pass is the floor. The loss is the issue's
    ``cross_entropy(relu(X @ W1 + b1) @ W2 + b2, y)`` when gradcalc has ``cross_entropy``, else
    ``sum((relu(X @ W1 + b1) @ W2 + b2)^2)/64`` (the same loss in every tool). Target: gradcalc
    within 1.2× of PyTorch.
(b) Small arrays: a chain of n statements over ten 10-entry vectors (``+ - *``, ``relu``) and over
    ten 3×3 matrices (the same and ``@``), output ``sum`` of the last. gradcalc's
    ``tensor_gradient`` per op node, against a hand-written NumPy tape on the same graph (the
    NumPy calls any engine must make: gradcalc's own functions for values, the bare VJPs).
    Target: ≤ 3 µs per op node above NumPy.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to ``--threads``
before NumPy is imported (by gradcalc, as its users get it), threadpoolctl limits the BLAS pools
too when it is installed, and ``torch.set_num_threads``. Every figure is a median of ``--repeat``
runs (wall clock); the machine this runs on may be shared, so the load average is printed.
The last line is the results as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time

SQUARE = "sum((relu(X @ W1 + b1) @ W2 + b2)^2)/64"
CROSS_ENTROPY = "cross_entropy(relu(X @ W1 + b1) @ W2 + b2, y)"
PARAMS = ("W1", "b1", "W2", "b2")
SHAPE = {"rows": 64, "features": 3072, "hidden": 100, "classes": 10}


# --- threads ------------------------------------------------------------------------------------
def limit_threads(n: int) -> dict:
    """The same number of threads everywhere: env before NumPy's import, threadpoolctl if
    installed, torch.set_num_threads. Returns what was done and what the libraries report."""
    done = {"requested": n, "env_before_numpy": "numpy" not in sys.modules}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    from gradcalc.lazy import numpy

    numpy()   # gradcalc imports NumPy, as for its users (its SIMD math dispatch off)
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        done["threadpoolctl"] = None
    else:
        threadpool_limits(n)
        done["threadpoolctl"] = [f"{p['internal_api']} {p['num_threads']}"
                                 for p in threadpool_info()]
    try:
        import torch
    except ImportError:
        done["torch"] = None
    else:
        torch.set_num_threads(n)
        done["torch"] = torch.get_num_threads()
    return done


def interleaved(fns: dict, repeat: int) -> dict[str, dict[str, float]]:
    """Each function's median and best seconds, wall clock and CPU time of the process, over
    ``repeat`` runs in turn (so the machine's load falls on all of them alike), after one
    warm-up call each. (CPU time is the steadier figure of a one-thread run on a loaded
    machine; with more threads it adds theirs up.)"""
    for fn in fns.values():
        fn()
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            fn()
            cpu[k].append(time.process_time() - c)
            wall[k].append(time.perf_counter() - t)
    return {k: {"median": statistics.median(wall[k]), "best": min(wall[k]),
                "cpu_median": statistics.median(cpu[k])} for k in fns}


# --- (a) the seed network -----------------------------------------------------------------------
def seed_point(seed: int = 0, rows: int = 64, features: int = 3072, hidden: int = 100,
               classes: int = 10) -> dict:
    """X, W1, b1, W2, b2 (He-scaled weights, so about half of the hidden units are active) and
    labels y in 0..classes-1 as a float array of integers."""
    from gradcalc.lazy import numpy

    np = numpy()
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((rows, features)),
            "W1": rng.standard_normal((features, hidden)) * (2.0 / features) ** 0.5,
            "b1": 0.1 * rng.standard_normal(hidden),
            "W2": rng.standard_normal((hidden, classes)) * (2.0 / hidden) ** 0.5,
            "b2": 0.1 * rng.standard_normal(classes),
            "y": rng.integers(0, classes, rows).astype(np.float64)}


def numpy_network(p: dict, cross_entropy: bool):
    """The hand-written floor: forward and backward by hand in NumPy. (value, {param: grad})."""
    from gradcalc.lazy import numpy

    np = numpy()
    X, W1, b1, W2, b2 = (p[k] for k in ("X", *PARAMS))
    n = X.shape[0]
    z = X @ W1 + b1
    h = np.maximum(z, 0.0)
    s = h @ W2 + b2
    if cross_entropy:
        m = s.max(axis=1, keepdims=True)
        e = np.exp(s - m)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        labels = p["y"].astype(np.intp)
        value = float(np.mean(np.log(total[:, 0]) + m[:, 0] - s[rows, labels]))
        ds = e / total
        ds[rows, labels] -= 1.0
        ds /= n
    else:
        value = float(np.sum(s * s) / n)
        ds = 2.0 * s / n
    dW2 = h.T @ ds
    db2 = ds.sum(axis=0)
    dz = (ds @ W2.T) * (z > 0)
    return value, {"W1": X.T @ dz, "b1": dz.sum(axis=0), "W2": dW2, "b2": db2}


def torch_network(p: dict, cross_entropy: bool):
    """PyTorch float64 autograd on the same arrays (X and y need no gradient): a run() giving
    (value, {param: grad as a NumPy array})."""
    import torch

    X = torch.from_numpy(p["X"])
    y = torch.from_numpy(p["y"]).long()
    arrays = [p[k] for k in PARAMS]

    def run():
        params = [torch.from_numpy(a).requires_grad_() for a in arrays]
        W1, b1, W2, b2 = params
        s = torch.relu(X @ W1 + b1) @ W2 + b2
        loss = (torch.nn.functional.cross_entropy(s, y) if cross_entropy
                else (s ** 2).sum() / X.shape[0])
        grads = torch.autograd.grad(loss, params)
        return loss.item(), {k: g.numpy() for k, g in zip(PARAMS, grads, strict=True)}

    return run


def has_cross_entropy() -> bool:
    from gradcalc.ops import FUNCTIONS

    return "cross_entropy" in FUNCTIONS


def worst_relative(a: dict, b: dict) -> float:
    """The largest |a - b| over the largest |b|, per gradient, over every gradient."""
    from gradcalc.lazy import numpy

    np = numpy()
    return max(float(np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(b[k])), 1e-300))
               for k in b)


def seed_network(repeat: int, loss: str, log) -> dict:
    from gradcalc import Function

    ce = has_cross_entropy() if loss == "auto" else loss == "cross_entropy"
    src = CROSS_ENTROPY if ce else SQUARE
    p = seed_point(**SHAPE)
    point = p if ce else {k: v for k, v in p.items() if k != "y"}
    t = time.perf_counter()
    f = Function(src)
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    first = f.tensor_gradient(point, wrt=PARAMS)
    first_s = time.perf_counter() - t
    fns = {"gradcalc": lambda: f.tensor_gradient(point, wrt=PARAMS),
           "numpy": lambda: numpy_network(p, ce)}
    value, grads = numpy_network(p, ce)
    agree = {"numpy": max(abs(first.value - value) / abs(value),
                          worst_relative(first.gradient, grads))}
    try:
        run_torch = torch_network(p, ce)
    except ImportError:
        log("  PyTorch is not installed: its column is skipped")
    else:
        fns["torch"] = run_torch
        value, grads = run_torch()
        agree["torch"] = max(abs(first.value - value) / abs(value),
                             worst_relative(first.gradient, grads))
    for peer, err in agree.items():
        assert err < 1e-10, f"gradcalc and {peer} disagree: {err:.1e}"
    times = interleaved(fns, repeat)
    out = {"program": src, "loss": "cross_entropy" if ce else "square", "value": first.value,
           "parse_ms": parse_s * 1e3, "first_call_ms": first_s * 1e3,
           "median_ms": {k: t["median"] * 1e3 for k, t in times.items()},
           "best_ms": {k: t["best"] * 1e3 for k, t in times.items()},
           "cpu_median_ms": {k: t["cpu_median"] * 1e3 for k, t in times.items()},
           "agreement": agree}
    for peer in ("torch", "numpy"):
        if peer in times:
            out[f"ratio_to_{peer}"] = times["gradcalc"]["median"] / times[peer]["median"]
            out[f"cpu_ratio_to_{peer}"] = (times["gradcalc"]["cpu_median"]
                                           / times[peer]["cpu_median"])
    return out


# --- (b) small arrays ---------------------------------------------------------------------------
def chain_program(n: int, matrix: bool, seed: int = 0) -> str:
    """n statements over ten inputs x0..x9, each reading the previous value and one random
    earlier value or input (benchmarks/workload.py's ops; a matrix chain has ``(P @ Q)*0.3``
    too), values in [0, 1]; the output is the sum of the last."""
    rng = random.Random(seed)
    names = [f"x{k}" for k in range(10)]
    lines, prev = [], "x0"
    for k in range(n):
        other = rng.choice(names)
        kind = rng.randrange(5 if matrix else 4)
        rhs = (f"({prev} + {other})*0.5", f"1 - {prev}*{other}", f"{prev}*{prev}",
               f"relu({prev} - 0.5)", f"({prev} @ {other})*0.3")[kind]
        lines.append(f"v{k} = {rhs}")
        names.append(f"v{k}")
        prev = f"v{k}"
    lines.append(f"f = sum({prev})")
    return "\n".join(lines)


def chain_point(shape: tuple, seed: int = 1) -> dict:
    from gradcalc.lazy import numpy

    rng = numpy().random.default_rng(seed)
    return {f"x{k}": rng.uniform(0.2, 0.9, shape) for k in range(10)}


_ADD, _SUB, _MUL, _RELU, _MATMUL, _SUM = range(6)
_CODES = {"add": _ADD, "sub": _SUB, "mul": _MUL, "relu": _RELU, "matmul": _MATMUL, "sum": _SUM}


def numpy_tape(graph, point: dict):
    """The floor for (b): gradcalc's parsed graph as (node, op code, a, b) steps and a run() of
    the forward and backward passes in bare NumPy (relu's value and slope by gradcalc's own
    functions, np.where; VJPs without un-broadcasting, which these chains never need)."""
    from gradcalc.lazy import numpy

    np = numpy()
    nodes = graph.nodes
    values: list = [None] * len(nodes)
    needs = [False] * len(nodes)
    steps = []
    for i, node in enumerate(nodes):
        if node.op == "input":
            values[i], needs[i] = point[node.text], True
        elif node.op == "const":
            values[i] = node.value
        else:
            a, b = (*node.args, -1)[:2]
            steps.append((i, _CODES[node.op], a, b))
            needs[i] = any(needs[j] for j in node.args)
    out = len(nodes) - 1
    where = np.where

    def run():
        v = list(values)
        for i, op, a, b in steps:
            if op == _ADD:
                v[i] = v[a] + v[b]
            elif op == _SUB:
                v[i] = v[a] - v[b]
            elif op == _MUL:
                v[i] = v[a] * v[b]
            elif op == _RELU:
                v[i] = where(v[a] > 0, v[a], 0.0)
            elif op == _MATMUL:
                v[i] = v[a] @ v[b]
            else:
                v[i] = np.sum(v[a])
        g: list = [None] * len(nodes)
        g[out] = 1.0

        def send(j, d):
            if needs[j]:
                g[j] = d if g[j] is None else g[j] + d

        for i, op, a, b in reversed(steps):
            gi = g[i]
            if gi is None:
                continue
            if op == _ADD:
                send(a, gi)
                send(b, gi)
            elif op == _SUB:
                send(a, gi)
                send(b, -gi)
            elif op == _MUL:
                send(a, gi * v[b])
                send(b, gi * v[a])
            elif op == _RELU:
                send(a, gi * where(v[a] > 0, 1.0, 0.0))
            elif op == _MATMUL:
                send(a, gi @ v[b].T)
                send(b, v[a].T @ gi)
            else:
                send(a, np.broadcast_to(gi, np.shape(v[a])))
        return v[out], {node.text: g[i] for i, node in enumerate(nodes) if node.op == "input"}

    return run


def small_arrays(sizes: list[int], repeat: int, log) -> list[dict]:
    from gradcalc import Function
    from gradcalc.lazy import numpy

    np = numpy()
    rows = []
    for label, shape, matrix in (("vector 10", (10,), False), ("matrix 3×3", (3, 3), True)):
        for n in sizes:
            f = Function(chain_program(n, matrix))
            pt = {k: x for k, x in chain_point(shape).items() if k in f.variables}
            op_nodes = sum(1 for nd in f.graph.nodes if nd.op not in ("input", "const"))
            floor = numpy_tape(f.graph, pt)
            r = f.tensor_gradient(pt)
            value, grads = floor()
            assert np.isclose(r.value, value, rtol=1e-12), (r.value, value)
            for k, d in grads.items():
                assert np.allclose(r.gradient[k], 0.0 if d is None else d, rtol=1e-12,
                                   atol=1e-300), k
            times = interleaved({"gradcalc": lambda f=f, pt=pt: f.tensor_gradient(pt),
                                 "numpy": floor}, repeat)
            g, fl = times["gradcalc"], times["numpy"]
            rows.append({"arrays": label, "statements": n, "op_nodes": op_nodes,
                         "gradcalc_us_per_op": g["median"] / op_nodes * 1e6,
                         "numpy_us_per_op": fl["median"] / op_nodes * 1e6,
                         "above_numpy_us_per_op": (g["median"] - fl["median"]) / op_nodes * 1e6,
                         "cpu_gradcalc_us_per_op": g["cpu_median"] / op_nodes * 1e6,
                         "cpu_numpy_us_per_op": fl["cpu_median"] / op_nodes * 1e6,
                         "cpu_above_numpy_us_per_op":
                             (g["cpu_median"] - fl["cpu_median"]) / op_nodes * 1e6})
            log(f"  {label} n={n} done")
    return rows


# --- report -------------------------------------------------------------------------------------
def versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("gradcalc", "numpy", "torch", "threadpoolctl"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for NumPy's BLAS and for PyTorch (default 1)")
    ap.add_argument("--repeat", type=int, default=30, help="runs per figure (median reported)")
    ap.add_argument("--sizes", default="100,1000", help="statements in the small-array chains")
    ap.add_argument("--loss", choices=("auto", "square", "cross_entropy"), default="auto",
                    help="auto: cross_entropy when gradcalc has it")
    ap.add_argument("--only", choices=("network", "small"), default=None)
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    threads = limit_threads(args.threads)
    load_before = os.getloadavg()
    out: dict = {"threads": threads, "repeat": args.repeat, "cpus": os.cpu_count(),
                 "versions": versions()}
    print(f"Threads: {args.threads} requested; env OMP/OPENBLAS/MKL_NUM_THREADS set "
          f"{'before' if threads['env_before_numpy'] else 'AFTER'} NumPy's import; "
          f"threadpoolctl: {', '.join(threads['threadpoolctl'] or ['not installed'])}; "
          f"torch: {threads['torch'] if threads['torch'] is not None else 'not installed'}. "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} at the start.")
    print(f"Versions: {', '.join(f'{k} {v}' for k, v in out['versions'].items() if v)}. "
          f"Medians of {args.repeat} runs, wall clock.")

    if args.only in (None, "network"):
        net = out["network"] = seed_network(args.repeat, args.loss, log)
        print()
        print(f"(a) Seed network, X {SHAPE['rows']}×{SHAPE['features']}, W1 "
              f"{SHAPE['features']}×{SHAPE['hidden']}, W2 {SHAPE['hidden']}×{SHAPE['classes']}: "
              f"{net['program']}")
        print(f"    value and gradient w.r.t. {', '.join(PARAMS)}; parse {net['parse_ms']:.2f} ms,"
              f" first call {net['first_call_ms']:.1f} ms")
        print(f"{'tool':>22} {'median ms':>10} {'best ms':>9} {'gradcalc ÷ tool':>16} "
              f"{'CPU median ms':>14} {'gradcalc ÷ tool':>16} {'agreement':>10}")
        names = {"gradcalc": "gradcalc", "torch": "PyTorch float64",
                 "numpy": "NumPy by hand (floor)"}
        wall, cpu = net["median_ms"], net["cpu_median_ms"]
        for k in wall:
            agree = f"{net['agreement'][k]:.1e}" if k in net["agreement"] else ""
            print(f"{names[k]:>22} {wall[k]:>10.2f} {net['best_ms'][k]:>9.2f} "
                  f"{wall['gradcalc'] / wall[k]:>15.2f}× {cpu[k]:>14.2f} "
                  f"{cpu['gradcalc'] / cpu[k]:>15.2f}× {agree:>10}")
        if "ratio_to_torch" in net:
            met = "met" if net["ratio_to_torch"] <= 1.2 else "NOT met"
            print(f"    target gradcalc ≤ 1.2× PyTorch: {net['ratio_to_torch']:.2f}× wall clock "
                  f"({met}); {net['cpu_ratio_to_torch']:.2f}× CPU time")

    if args.only in (None, "small"):
        rows = out["small"] = small_arrays([int(s) for s in args.sizes.split(",")],
                                           args.repeat, log)
        print()
        print("(b) Small arrays: a chain of n statements, value + gradient per op node (µs)")
        print(f"{'':>31} {'wall clock':-^34} {'CPU time':-^34}")
        print(f"{'arrays':>11} {'statements':>10} {'op nodes':>8} {'gradcalc':>9} "
              f"{'NumPy tape':>11} {'above NumPy':>12} {'gradcalc':>9} {'NumPy tape':>11} "
              f"{'above NumPy':>12}")
        for r in rows:
            print(f"{r['arrays']:>11} {r['statements']:>10} {r['op_nodes']:>8} "
                  f"{r['gradcalc_us_per_op']:>9.2f} {r['numpy_us_per_op']:>11.2f} "
                  f"{r['above_numpy_us_per_op']:>12.2f} {r['cpu_gradcalc_us_per_op']:>9.2f} "
                  f"{r['cpu_numpy_us_per_op']:>11.2f} {r['cpu_above_numpy_us_per_op']:>12.2f}")
        worst = max(r["above_numpy_us_per_op"] for r in rows)
        worst_cpu = max(r["cpu_above_numpy_us_per_op"] for r in rows)
        print(f"    target ≤ 3 µs per op node above NumPy: worst {worst:.2f} µs wall clock "
              f"({'met' if worst <= 3 else 'NOT met'}), {worst_cpu:.2f} µs CPU time")
    out["load_average"] = [load_before[0], os.getloadavg()[0]]
    print(f"Load average {out['load_average'][0]:.2f} at the start, "
          f"{out['load_average'][1]:.2f} at the end ({os.cpu_count()} CPUs; shared machine: "
          f"expect ±20%).")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
