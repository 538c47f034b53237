"""Engine speed: parse, and value + full gradient at one point, per node, at growing sizes.

    python -m benchmarks.engine [--sizes 1000,10000,100000] [--repeat 5]

Targets (issue 2): value + gradient ≤ 1 µs per primitive node after parsing; parsing ≤ 5 µs per
node; both linear in size. For scale, the same run times a minimal flat tape (a bare loop over
tuples with the derivative rules inlined: the CPython floor) on the same program.
"""

from __future__ import annotations

import argparse
import gc
import time

import gradcalc
from gradcalc.domains import FLOAT

from .workload import point, program


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def minimal_tape(graph):
    """The floor: the same graph as (op code, a, b) tuples, forward and backward inlined."""
    code = {"add": 0, "sub": 1, "mul": 2, "relu": 3}
    steps = []
    for i, node in enumerate(graph.nodes):
        if node.op in code:
            a, b = (node.args + (0,))[:2]
            steps.append((i, code[node.op], a, b))
    return steps


def run_minimal(steps, values, out):
    v = list(values)
    for i, op, a, b in steps:
        if op == 0:
            v[i] = v[a] + v[b]
        elif op == 1:
            v[i] = v[a] - v[b]
        elif op == 2:
            v[i] = v[a] * v[b]
        else:
            v[i] = v[a] if v[a] > 0 else 0.0
    g = [0.0] * len(v)
    g[out] = 1.0
    for i, op, a, b in reversed(steps):
        gi = g[i]
        if op == 0:
            g[a] += gi
            g[b] += gi
        elif op == 1:
            g[a] += gi
            g[b] -= gi
        elif op == 2:
            g[a] += gi * v[b]
            g[b] += gi * v[a]
        elif v[a] > 0:
            g[a] += gi
    return v[out], g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    pt = point()
    print(f"{'statements':>10} {'nodes':>8} {'op nodes':>8} {'parse µs/node':>14} "
          f"{'grad µs/op-node':>16} {'floor µs/op-node':>17} {'ratio':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        src = program(n)
        parse_s = best_of(args.repeat, lambda src=src: gradcalc.parse(src))
        f = gradcalc.parse(src)
        nodes = len(f.graph.nodes)
        op_nodes = sum(1 for nd in f.graph.nodes if nd.op not in ("input", "const"))
        tape, *_ = f.resolve(pt)
        grad_s = best_of(args.repeat, lambda t=tape: t.backward(FLOAT, t.forward(FLOAT, pt)))
        r = f.gradient(pt)
        # the floor, on the same nodes and leaf values
        leaves = tape.forward(FLOAT, pt)
        values = [x if x is not None else 0.0 for x in leaves]
        steps = minimal_tape(f.graph)
        floor_s = best_of(args.repeat, lambda s=steps, v=values, o=tape.out: run_minimal(s, v, o))
        value, g = run_minimal(steps, values, tape.out)
        assert value == r.value and g[f.graph.inputs["x3"]] == r.gradient["x3"]
        print(f"{n:>10} {nodes:>8} {op_nodes:>8} {parse_s / nodes * 1e6:>14.2f} "
              f"{grad_s / op_nodes * 1e6:>16.3f} {floor_s / op_nodes * 1e6:>17.3f} "
              f"{grad_s / floor_s:>6.2f}")


if __name__ == "__main__":
    main()
