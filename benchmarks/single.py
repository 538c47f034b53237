"""Single point, growing graphs: each tool at each size in a fresh subprocess, under a time budget.

    python -m benchmarks.single --worker TOOL N [--seed S --repeat R --budget B --cap C]

runs one measurement and prints one JSON line; ``run()`` drives the workers for the whole table.
A worker runs its tool in a thread with a 512 MiB stack and a recursion limit of 10^7
(micrograd's ``backward`` recurses once per level of depth). If the first complete run does not
finish within the budget, the worker reports a timeout and exits; a worker that dies (a crash,
a recursion error) is reported as such, with the end of its error output. Timings are the best
of up to R runs, stopping early once the runs add up to C seconds, in CPU time of the process
(every tool here computes on one thread, and on a shared machine wall-clock time also counts the
waits for a core) and, recorded beside it, in wall-clock time. The garbage collector stays on
(as users run these tools), with a full collection before each run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time

from . import dags

TOOLS = ("gradcalc", "torch", "micrograd", "sympy")
PEERS = {"torch": "torch", "micrograd": "micrograd", "sympy": "sympy"}


def measure(out: dict, key: str, fn, repeat: int, cap: float, first=None):
    """Run ``fn`` up to ``repeat`` times (fewer once the runs add up to ``cap`` seconds) and
    record the best CPU time of the process as ``out[key]`` and the best wall-clock time as
    ``out[key + "_wall"]``; return the last result. ``first`` is called after the first run."""
    best_cpu = best_wall = math.inf
    total, runs, result = 0.0, 0, None
    while runs < max(1, repeat):
        result = None
        gc.collect()
        c = time.process_time()
        t = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t
        cpu = time.process_time() - c
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
        total, runs = total + wall, runs + 1
        if first is not None and runs == 1:
            first()
        if total + best_wall > cap:
            break
    out[key], out[key + "_wall"], out[key + "_runs"] = best_cpu, best_wall, runs
    return result


def _gradcalc(stmts, pt, repeat, cap, started):
    from gradcalc.domains import FLOAT

    src = dags.source(stmts)
    out: dict = {}
    f = measure(out, "parse", lambda: dags.parse(src), repeat, cap)
    measure(out, "first", lambda: f.gradient(pt), 1, cap)   # also compiles the tape (cached)
    started()
    r = measure(out, "grad", lambda: f.gradient(pt), repeat, cap)
    f(pt)
    value = measure(out, "forward", lambda: f(pt), repeat, cap)
    assert value == r.value
    tape, *_ = f.resolve(pt)
    v = measure(out, "tape_forward", lambda: tape.forward(FLOAT, pt), repeat, cap)
    g = measure(out, "tape_fb", lambda: tape.backward(FLOAT, tape.forward(FLOAT, pt)), repeat,
                cap)
    measure(out, "kinks_hit", lambda: tape.kinks_hit(v, g), repeat, cap)
    values = [x if x is not None else 0.0 for x in tape.leaves(FLOAT, pt)]
    steps = dags.minimal_tape(f.graph)
    fv, fg = measure(out, "floor", lambda: dags.run_minimal(steps, values, tape.out), repeat,
                     cap)
    graph = f.graph
    finite = all(math.isfinite(v[i]) and math.isfinite(g[i]) for i in tape.order)
    return {
        **out, "tape_nodes": len(graph.nodes), "value": r.value,
        "gradient": [r.gradient[x] for x in dags.INPUTS],
        "floor_value": fv, "floor_gradient": [fg[graph.inputs[x]] for x in dags.INPUTS],
        "all_finite": finite, "gradcalc_file": sys.modules["gradcalc"].__file__,
        "nonzero_adjoints": sum(1 for i in tape.order if g[i] != 0) / len(tape.order),
        "value_range": [min(v[s[0]] for s in tape.forward_steps),
                        max(v[s[0]] for s in tape.forward_steps)],
    }


def _peer(tool, stmts, pt, repeat, cap, started):
    from . import peers

    phases: dict = {}
    if tool == "torch":
        run = peers.torch_scalar(stmts, pt)
        peers.torch_scalar(dags.structure(50, seed=99), pt)()   # warm up torch's lazy init
    elif tool == "micrograd":
        run = peers.micrograd_dag(stmts, pt)
    else:
        run = peers.sympy_dag(stmts, pt, phases)
    out: dict = {}
    value, gradient = measure(out, "grad", run, repeat, cap, first=started)
    return {**out, "value": value, "gradient": gradient, "phases": phases}


def worker(tool, n, seed, repeat, budget, cap):
    """One measurement, printed as one JSON line."""
    sys.setrecursionlimit(10**7)
    threading.stack_size(512 * 1024 * 1024)
    pt = dags.point()
    stmts = dags.structure(n, seed)
    out = {"tool": tool, "n": dags.op_nodes(stmts), "statements": len(stmts), "status": "ok"}
    done = threading.Event()
    box = {}

    def body():
        try:
            if tool == "gradcalc":
                box.update(_gradcalc(stmts, pt, repeat, cap, done.set))
            else:
                box.update(_peer(tool, stmts, pt, repeat, cap, done.set))
        except BaseException as exc:   # reported, not hidden: e.g. micrograd's RecursionError
            box["status"] = "error"
            box["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        finally:
            done.set()

    thread = threading.Thread(target=body, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    if not done.wait(budget):
        out.update(status="timeout", budget=budget, seconds=time.perf_counter() - t0)
        print(json.dumps(out), flush=True)
        os._exit(0)   # the thread cannot be stopped; leave without waiting for it
    thread.join()
    out.update(box)
    out["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out), flush=True)
    os._exit(0)   # skip tearing down a million-node graph


def run_worker(tool, n, seed, repeat, budget, cap) -> dict:
    """Run one worker in a fresh interpreter; its JSON, or a record of how it failed."""
    cmd = [sys.executable, "-m", "benchmarks.single", "--worker", tool, str(n), "--seed",
           str(seed), "--repeat", str(repeat), "--budget", str(budget), "--cap", str(cap)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p)}   # a --snapshot copy first
    hard = budget + cap + 180
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=hard, cwd=root, env=env)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "n": n, "status": "timeout", "budget": budget,
                "note": f"killed after {hard:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode == 0 and lines:
        return json.loads(lines[-1])
    tail = " | ".join(p.stderr.strip().splitlines()[-3:])
    return {"tool": tool, "n": n, "status": "crash", "returncode": p.returncode,
            "error": tail[-400:], "seconds": time.perf_counter() - t}


def agreement(ref: dict, res: dict) -> dict:
    """How a tool's value and gradient compare with gradcalc's: identical, or the largest
    difference relative to the largest partial (and to the value)."""
    if res.get("status") != "ok" or ref.get("status") != "ok":
        return {"status": "n/a"}
    g0, g1 = ref["gradient"], res["gradient"]
    if res["value"] == ref["value"] and g0 == g1:
        return {"status": "identical", "rel": 0.0}
    scale = max(abs(x) for x in g0) or 1.0
    rel_g = max(abs(a - b) for a, b in zip(g0, g1, strict=True)) / scale
    rel_v = abs(res["value"] - ref["value"]) / max(abs(ref["value"]), 1e-300)
    rel = max(rel_g, rel_v)
    ok = all(math.isfinite(x) for x in g1) and rel <= 1e-9
    return {"status": "agree" if ok else "DISAGREE", "rel": rel}


def run(sizes, tools, budget, repeat, cap, seed=0, log=print) -> dict:
    """Every tool at every size; a peer that exceeds the budget is not run at larger sizes."""
    from . import peers

    results: dict[str, dict[int, dict]] = {t: {} for t in tools}
    stopped: dict[str, str] = {}
    for tool in tools:
        if tool in PEERS and peers.version(PEERS[tool]) is None:
            stopped[tool] = f"{tool} is not installed"
    for n in sizes:
        for tool in tools:
            if tool in stopped:
                results[tool][n] = {"tool": tool, "n": n, "status": "skipped",
                                    "note": stopped[tool]}
                continue
            res = run_worker(tool, n, seed, repeat, budget, cap)
            results[tool][n] = res
            if res["status"] == "ok":
                log(f"  {tool:<10} n={res['n']:>9,}  {res['grad']:.3g} s"
                    + (f"  (parse {res['parse']:.3g} s)" if tool == "gradcalc" else ""))
            else:
                why = res.get("error") or (f"first run over {budget:.0f} s"
                                           if res["status"] == "timeout" else "")
                log(f"  {tool:<10} n={n:>9,}  {res['status']}: {why}")
            if res["status"] == "timeout":
                stopped[tool] = f"over the {budget:.0f} s budget at n = {n:,}"
            elif res["status"] in ("crash", "error"):
                stopped[tool] = f"failed at n = {n:,}"
    for tool in tools:
        for n in sizes:
            res = results[tool][n]
            ref = results.get("gradcalc", {}).get(n, {})
            res["agreement"] = agreement(ref, res) if tool != "gradcalc" else {"status": "-"}
    for n in sizes:   # the floor, against gradcalc in the same process
        res = results.get("gradcalc", {}).get(n)
        if res and res["status"] == "ok":
            floor = {"status": "ok", "value": res["floor_value"],
                     "gradient": res["floor_gradient"]}
            res["floor_agreement"] = agreement(res, floor)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "N"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--cap", type=float, default=20.0)
    args = ap.parse_args(argv)
    if args.worker:
        tool, n = args.worker
        worker(tool, int(n), args.seed, args.repeat, args.budget, args.cap)
    else:
        ap.error("--worker TOOL N is required (python -m benchmarks runs the whole suite)")


if __name__ == "__main__":
    main()
