"""Parse only: CPU time per op node of ``gradcalc.parse(text, gradcalc.NO_LIMITS)`` on the
benchmark DAGs (``dags.py``), each size in a fresh process.

    python -m benchmarks.parse [--sizes 1000,10000,100000,1000000] [--form statements,expression]
                               [--repeat 3] [--memory]

Two forms of the same generated structure:

- ``statements``: ``dags.source``, one statement per line (``v12 = sin(v11)``), as the single-point
  benchmark parses it;
- ``expression``: one long expression, the chain of the same ops nested, each statement's random
  earlier value replaced by an input (one expression cannot share a node), so it has the same op
  nodes: ``exp(sin((x0 + x1)*0.5) - 1)...``. It nests about one group per statement, so it also
  shows the explicit stacks at depth.

Times are the best of ``--repeat`` runs in CPU time of the process (the garbage collector on, as
users run it, with a full collection before each run). ``--memory`` also reports the peak resident
set size of one parse (the kernel's high-water mark, reset after the text is made) and the
baseline before it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

from . import dags
from .memory import _reset_peak, _status_kib

FORMS = ("statements", "expression")


def expression(stmts) -> str:
    """The structure's chain as one expression (see the module's docstring)."""
    parts: list[str] = []   # built as prefix pieces + the innermost + suffix pieces
    prefix: list[str] = []
    suffix: list[str] = []
    inputs = len(dags.INPUTS)
    for kind, _a, b in stmts:
        other = dags.INPUTS[b % inputs] if b >= 0 else ""
        if kind == "add":
            prefix.append("(")
            suffix.append(f" + {other})*0.5")
        elif kind == "mul":
            prefix.append("1 - (")
            suffix.append(f")*{other}")
        elif kind == "square":
            prefix.append("(")
            suffix.append(")^2")
        elif kind == "relu":
            prefix.append("relu(")
            suffix.append(" - 0.1)")
        elif kind == "sin":
            prefix.append("sin(")
            suffix.append(")")
        else:
            prefix.append("exp(")
            suffix.append(" - 1)")
    parts.extend(reversed(prefix))
    parts.append(dags.INPUTS[0])
    parts.extend(suffix)
    return "".join(parts)


def text(form: str, n: int, seed: int = 0) -> tuple[str, int]:
    stmts = dags.structure(n, seed)
    src = dags.source(stmts) if form == "statements" else expression(stmts)
    return src, dags.op_nodes(stmts)


def worker(form: str, n: int, repeat: int, memory: bool) -> None:
    import gradcalc

    src, ops = text(form, n)
    out: dict = {"form": form, "n": ops, "chars": len(src)}
    if memory:
        gc.collect()
        out["baseline_kib"] = _status_kib("VmRSS")
        _reset_peak()
        f = gradcalc.parse(src, gradcalc.NO_LIMITS)
        out["peak_kib"] = _status_kib("VmHWM")
        out["tape_nodes"] = len(f.graph.nodes)
        del f
    best = float("inf")
    for _ in range(repeat):
        f = None
        gc.collect()
        c = time.process_time()
        f = gradcalc.parse(src, gradcalc.NO_LIMITS)
        best = min(best, time.process_time() - c)
        out["tape_nodes"] = len(f.graph.nodes)
    out["parse_s"] = best
    out["us_per_op_node"] = best / ops * 1e6
    print(json.dumps(out), flush=True)
    os._exit(0)   # skip tearing down a million-node graph


def run(form: str, n: int, repeat: int, memory: bool) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p)}
    cmd = [sys.executable, "-m", "benchmarks.parse", "--worker", form, str(n), "--repeat",
           str(repeat)] + (["--memory"] if memory else [])
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"form": form, "n": n, "error": p.stderr.strip()[-400:]}
    return json.loads(lines[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=2, metavar=("FORM", "N"))
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--form", default=",".join(FORMS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.repeat, args.memory)
        return
    for form in args.form.split(","):
        for n in map(int, args.sizes.split(",")):
            r = run(form, n, args.repeat, args.memory)
            if "error" in r:
                print(f"{form:<10} n={n:>9,}  error: {r['error']}")
                continue
            line = (f"{form:<10} n={r['n']:>9,}  {r['us_per_op_node']:.2f} µs/op node "
                    f"({r['parse_s']:.3f} s, {r['tape_nodes']:,} tape nodes)")
            if args.memory:
                line += (f"  peak RSS {r['peak_kib'] / 1024:,.0f} MiB (baseline "
                         f"{r['baseline_kib'] / 1024:,.0f} MiB)")
            print(line, flush=True)


if __name__ == "__main__":
    main()
