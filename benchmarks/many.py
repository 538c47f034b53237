"""Many points: one 20-node expression at 10^3 … 10^7 points, value and the three partials.

gradcalc's batches run the registry's rules over NumPy arrays with NumPy's SIMD math dispatch
off (gradcalc imports NumPy itself, so a batch gives the very floats of single-point runs): the
caller must call ``gradcalc.vector.numpy()`` before anything else imports NumPy (torch and
matplotlib do). gradcalc (with its thread pool, with one thread, and op by op), and PyTorch
(with its default threads and with one thread) run in this process, in turns. SymPy's
``lambdify`` runs in a fresh subprocess with NumPy as users get it (SIMD on), and so does, for
comparison only, a gradcalc batch with SIMD on (NumPy imported before gradcalc).

    python -m benchmarks.many --sizes 100000,1000000 [--repeat 5]   (this comparison alone)
    python -m benchmarks.many --worker SIZES   (the subprocess; prints one JSON line)
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time

from .peers import MANY, sympy_lambdify, torch_vector, version

SAMPLE = 1000   # points compared with the subprocess's results, evenly spaced


def points(n: int, seed: int = 0):
    """x, y, z uniform in [-2, 2] (every point is in the expression's domain)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xs, ys, zs = rng.uniform(-2.0, 2.0, (3, n))
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys), np.ascontiguousarray(zs)


def best_of(fn, repeat, cap):
    """({"seconds": best wall-clock, "cpu": best CPU time of the process, all threads}, the
    last result), over up to ``repeat`` runs, fewer once they add up to ``cap`` seconds."""
    wall = cpu = math.inf
    total, runs, result = 0.0, 0, None
    while runs < repeat:
        result = None
        gc.collect()
        c = time.process_time()
        t = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t
        wall, cpu = min(wall, dt), min(cpu, time.process_time() - c)
        total, runs = total + dt, runs + 1
        if total + wall > cap:
            break
    return {"seconds": wall, "cpu": cpu}, result


def _gradcalc(f, fast_math: bool = False):
    def run(xs, ys, zs):
        b = f.gradient({"x": xs, "y": ys, "z": zs}, fast_math=fast_math)
        return b.value, b.gradient["x"], b.gradient["y"], b.gradient["z"]
    return run


def compare(ref, res) -> dict:
    """Largest difference of each array relative to that array's largest magnitude, and the
    share of numbers bit-identical to gradcalc's."""
    import numpy as np

    rel, same, total = 0.0, 0, 0
    for a, b in zip(ref, res, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        scale = float(np.max(np.abs(a))) or 1.0
        rel = max(rel, float(np.max(np.abs(a - b))) / scale)
        same += int(np.count_nonzero(a == b))
        total += a.size
    return {"rel": rel, "identical": same / total,
            "status": "identical" if same == total else "agree" if rel <= 1e-12 else
            "DISAGREE"}


def sample_of(n):
    import numpy as np

    return np.linspace(0, n - 1, min(n, SAMPLE)).astype(int)


SIMD_OPS = {   # NumPy ufunc, math function, range of the random arguments
    "exp": ("exp", "exp", (-700, 700)), "log": ("log", "log", (1e-3, 1e3)),
    "log2": ("log2", "log2", (1e-3, 1e3)), "log10": ("log10", "log10", (1e-3, 1e3)),
    "sqrt": ("sqrt", "sqrt", (0, 1e6)), "cbrt": ("cbrt", "cbrt", (-50, 50)),
    "sin": ("sin", "sin", (-100, 100)), "cos": ("cos", "cos", (-100, 100)),
    "tan": ("tan", "tan", (-10, 10)), "asin": ("arcsin", "asin", (-1, 1)),
    "acos": ("arccos", "acos", (-1, 1)), "atan": ("arctan", "atan", (-50, 50)),
    "sinh": ("sinh", "sinh", (-20, 20)), "cosh": ("cosh", "cosh", (-20, 20)),
    "tanh": ("tanh", "tanh", (-20, 20)), "tanh, |x| < 1": ("tanh", "tanh", (-1, 1)),
    "asinh": ("arcsinh", "asinh", (-50, 50)),
    "acosh": ("arccosh", "acosh", (1, 50)), "atanh": ("arctanh", "atanh", (-1, 1)),
    "log1p": ("log1p", "log1p", (-0.9, 50)), "expm1": ("expm1", "expm1", (-50, 50)),
}


def simd_ulps(points: int = 200_000) -> dict:
    """In this process's NumPy (run it with SIMD on: NumPy imported before gradcalc): for each
    function, the share of random arguments where NumPy's result differs from the C library's
    (Python's math) and the largest difference in units in the last place."""
    import numpy as np

    rng = np.random.default_rng(2)
    out = {}
    for name, (ufunc, fn, (lo, hi)) in SIMD_OPS.items():
        x = rng.uniform(lo, hi, points)
        got = getattr(np, ufunc)(x)
        want = np.array([getattr(math, fn)(t) for t in x.tolist()])
        ulps = np.abs(got.view(np.int64) - want.view(np.int64))
        out[name] = {"differ": float(np.mean(got != want)), "max_ulp": int(ulps.max())}
    return out


def worker(sizes, repeat, cap):
    """In a fresh interpreter: NumPy first (SIMD on), then SymPy lambdify and gradcalc."""
    import numpy as np

    import gradcalc

    phases: dict = {}
    fn = sympy_lambdify(phases)
    f = gradcalc.parse(MANY)
    batch = _gradcalc(f)
    out = {"phases": phases, "sympy": {}, "gradcalc_simd": {}}
    for n in sizes:
        xs, ys, zs = points(n)
        idx = sample_of(n)
        s, res = best_of(lambda xs=xs, ys=ys, zs=zs: fn(xs, ys, zs), repeat, cap)
        out["sympy"][n] = {**s, "sample": [np.asarray(r)[idx].tolist() for r in res]}
        s, res = best_of(lambda xs=xs, ys=ys, zs=zs: batch(xs, ys, zs), repeat, cap)
        out["gradcalc_simd"][n] = {**s, "sample": [np.asarray(r)[idx].tolist() for r in res]}
        del res
    print(json.dumps(out), flush=True)


def interleaved(fns: dict, repeat: int, cap: float) -> tuple[dict, dict]:
    """Each of ``fns`` (name -> fn) once per round, the rounds repeated up to ``repeat`` times
    (fewer once they add up to ``cap`` seconds): on a shared machine, load that comes and goes
    falls on every tool alike. ({name: {"seconds": best wall, "cpu": best CPU}}, {name: the
    last result})."""
    best = {k: {"seconds": math.inf, "cpu": math.inf} for k in fns}
    results: dict = {}
    total = 0.0
    for _ in range(repeat):
        for name, fn in fns.items():
            results[name] = None
            gc.collect()
            c = time.process_time()
            t = time.perf_counter()
            results[name] = fn()
            dt = time.perf_counter() - t
            best[name]["seconds"] = min(best[name]["seconds"], dt)
            best[name]["cpu"] = min(best[name]["cpu"], time.process_time() - c)
            total += dt
        if total * 2 > cap:   # another round would pass the cap
            break
    return best, results


def _threads(vector, k: int, fn):
    """fn run with gradcalc's batch thread pool limited to ``k`` threads."""
    def run():
        saved = vector.THREADS
        vector.THREADS = k
        try:
            return fn()
        finally:
            vector.THREADS = saved
    return run


def _op_by_op(vector, fn):
    """fn run with the compiled plans off: each op of the tape a NumPy call of its own."""
    def run():
        vector.FAST = False
        try:
            return fn()
        finally:
            vector.FAST = True
    return run


def _torch_threads(torch, k: int, fn):
    def run():
        saved = torch.get_num_threads()
        torch.set_num_threads(k)
        try:
            return fn()
        finally:
            torch.set_num_threads(saved)
    return run


def run(sizes, repeat, cap, log=print, worker: bool = True, op_by_op: int = 10**6) -> dict:
    """Rows of figures per number of points: gradcalc with its thread pool ("gradcalc") and
    with one thread ("gradcalc_1"), the same with --fast-math ("gradcalc_fast",
    "gradcalc_fast_1", where the kernels run here), op by op up to ``op_by_op`` points
    ("gradcalc_ops", the engine before compiled plans), PyTorch with its default threads
    ("torch") and one ("torch_1"), all run in turns; SymPy and gradcalc with SIMD on from the
    subprocess."""
    from gradcalc.lazy import numpy

    np = numpy()   # gradcalc's import of NumPy (SIMD dispatch off), before torch's
    import gradcalc
    import gradcalc.vector as vector
    from gradcalc.fastmath import available

    f = gradcalc.parse(MANY)
    batch = _gradcalc(f)
    fast = _gradcalc(f, fast_math=True) if available() else None
    have_torch = version("torch") is not None
    if have_torch:
        import torch

        default_threads = torch.get_num_threads()
    results: dict = {"expression": MANY, "tape_nodes": len(f.graph.nodes),
                     "op_nodes": sum(1 for nd in f.graph.nodes if nd.op not in ("input",
                                                                                 "const")),
                     "rows": {}, "notes": []}
    results["gradcalc_threads"] = getattr(vector, "THREADS", None)
    results["gradcalc_block"] = getattr(vector, "CHUNK", None)
    if have_torch:
        results["torch_threads"] = default_threads
    else:
        results["notes"].append("PyTorch is not installed: its rows are skipped")
    worker_out = _run_worker(sizes, repeat, cap) if worker else {"error": "not run"}
    if "error" in worker_out:
        if worker:
            results["notes"].append(f"the SymPy lambdify subprocess failed: "
                                    f"{worker_out['error']}")
    else:
        results["sympy_phases"] = worker_out["phases"]
    for n in sizes:
        xs, ys, zs = points(n)
        one = lambda xs=xs, ys=ys, zs=zs: batch(xs, ys, zs)   # noqa: E731
        fns = {"gradcalc": one, "gradcalc_1": _threads(vector, 1, one)}
        if fast is not None:   # --fast-math: gradcalc's vector kernels (fastmath.py)
            quick = lambda xs=xs, ys=ys, zs=zs: fast(xs, ys, zs)   # noqa: E731
            fns["gradcalc_fast"] = quick
            fns["gradcalc_fast_1"] = _threads(vector, 1, quick)
        if n <= op_by_op:
            fns["gradcalc_ops"] = _op_by_op(vector, one)
        if have_torch:
            run_t = torch_vector(xs, ys, zs)
            run_t()   # warm up
            fns["torch"] = _torch_threads(torch, default_threads, run_t)
            fns["torch_1"] = _torch_threads(torch, 1, run_t)
        times, res = interleaved(fns, repeat, cap)
        ref = res.pop("gradcalc")
        row = {"gradcalc": times["gradcalc"]}
        for key, got in res.items():
            row[key] = {**times[key], "agreement": compare(ref, got)}
        del res, fns
        if n == sizes[0]:   # bit for bit the single-point floats, at a few points
            picks = np.random.default_rng(1).integers(0, n, 20)
            equal = 0
            for i in picks.tolist():
                r = f.gradient(x=float(xs[i]), y=float(ys[i]), z=float(zs[i]))
                equal += [r.value, r.gradient["x"], r.gradient["y"], r.gradient["z"]] == [
                    float(a[i]) for a in ref]
            results["single_point_check"] = {"points": len(picks), "identical": equal}
        idx = sample_of(n)
        for key in ("sympy", "gradcalc_simd"):
            got = worker_out.get(key, {}).get(str(n))
            if got:
                row[key] = {"seconds": got["seconds"], "cpu": got.get("cpu"),
                            "agreement": compare([np.asarray(r)[idx] for r in ref],
                                                 [np.asarray(r) for r in got["sample"]])}
        results["rows"][n] = row
        log(f"  {n:>10,} points: " + ", ".join(f"{k} {v['seconds']:.3g} s"
                                               for k, v in row.items()))
        del ref
    return results


def table(results: dict) -> str:
    """The rows as text: wall and CPU time per tool, and each tool's ratio to gradcalc."""
    lines = []
    for n, row in results["rows"].items():
        ref = row["gradcalc"]
        for key, t in row.items():
            agree = t.get("agreement", {}).get("status", "")
            lines.append(f"{int(n):>10,}  {key:14s} wall {t['seconds'] * 1e3:9.1f} ms "
                         f"({t['seconds'] / ref['seconds']:4.2f}x)  cpu "
                         f"{(t.get('cpu') or math.nan) * 1e3:9.1f} ms  {agree}")
    return "\n".join(lines)


def _run_worker(sizes, repeat, cap) -> dict:
    if version("sympy") is None:
        return {"error": "SymPy is not installed"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p)}   # a --snapshot copy first
    env.pop("NPY_DISABLE_CPU_FEATURES", None)
    cmd = [sys.executable, "-m", "benchmarks.many", "--worker", ",".join(map(str, sizes)),
           "--repeat", str(repeat), "--cap", str(cap)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env,
                           timeout=60 + 4 * cap * len(sizes))
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": " | ".join(p.stderr.strip().splitlines()[-3:])[-400:]}
    return json.loads(lines[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", metavar="SIZES")
    ap.add_argument("--sizes", metavar="SIZES", help="run the comparison alone at these sizes "
                    "(e.g. 100000,1000000) and print its table, without the subprocess")
    ap.add_argument("--simd-ulps", action="store_true", help="in a process with NumPy's SIMD "
                    "math on, how far each function is from the C library's (run it alone: "
                    "python -m benchmarks.many --simd-ulps)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cap", type=float, default=10.0)
    args = ap.parse_args(argv)
    if args.simd_ulps:
        import numpy as np

        print(f"NumPy {np.__version__}, SIMD targets found: "
              + " ".join(k for k, v in np._core._multiarray_umath.__cpu_features__.items()
                         if v and k.startswith(("AVX", "FMA", "X86"))))
        for name, r in simd_ulps().items():
            print(f"{name:12s} differs from math's at {r['differ']:7.2%} of the points, by up "
                  f"to {r['max_ulp']} ulp")
        return
    if args.sizes:
        res = run([int(s) for s in args.sizes.split(",")], args.repeat, args.cap,
                  log=lambda *_: None, worker=False)
        print(table(res))
        return
    if not args.worker:
        ap.error("--worker SIZES or --sizes SIZES is required (python -m benchmarks runs the "
                 "whole suite)")
    worker([int(s) for s in args.worker.split(",")], args.repeat, args.cap)


if __name__ == "__main__":
    main()
