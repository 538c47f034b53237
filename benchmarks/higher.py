"""Second derivatives: reverse over reverse against forward over reverse, and the cost of a
Hessian against the gradient's.

    python -m benchmarks.higher [--sizes 100,1000,10000] [--repeat 3]

Both methods start from the same gradient program (the backward pass run in the graph domain,
``derivatives.differentiate``). Reverse over reverse runs reverse mode over that program once per
variable (one row each: ``derivatives.hessian``); forward over reverse runs the program forward on
dual numbers once per variable (one column each, ``derivatives.DualDomain``). The workload is the
shared one (benchmarks/workload.py: n statements over 10 inputs). Both Hessians are compared entry
by entry before any time is reported.
"""

from __future__ import annotations

import argparse
import time

from gradcalc import Function
from gradcalc.derivatives import DUAL, Dual, differentiate, hessian

from .workload import point, program


def forward_over_reverse(fn, at: dict) -> list[list[float]]:
    out = fn.output
    variables = tuple(at)
    grad_fn, names = differentiate(fn, {out: out}, at, variables)
    tapes = [grad_fn.resolve(at, names[(out, x)], wrt=())[0] for x in variables]
    columns = []
    for y in variables:
        duals = {x: Dual(v, 1.0 if x == y else 0.0) for x, v in at.items()}
        columns.append([tape.forward(DUAL, duals)[tape.out].t for tape in tapes])
    return [[columns[j][i] for j in range(len(variables))] for i in range(len(variables))]


def best(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)
    return min(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'statements':>10} {'gradient ms':>12} {'rev/rev ms':>11} {'fwd/rev ms':>11} "
          f"{'rev/rev ÷ grad':>15} {'fwd/rev ÷ rev/rev':>18}")
    for n in (int(s) for s in args.sizes.split(",")):
        fn = Function(program(n))
        at = {k: v for k, v in point().items() if k in fn.variables}
        fn.gradient(at)   # compile the tape once, as a user's repeated calls would
        t_grad, _ = best(args.repeat, lambda fn=fn, at=at: fn.gradient(at, limits=0))
        t_rr, h = best(args.repeat, lambda fn=fn, at=at: hessian(fn, at, limits=0))
        t_fr, m = best(args.repeat, lambda fn=fn, at=at: forward_over_reverse(fn, at))
        worst = max(abs(a - b) / max(1.0, abs(a)) for ra, rb in zip(h.matrix, m, strict=True)
                    for a, b in zip(ra, rb, strict=True))
        assert worst <= 1e-12, f"the two Hessians differ by {worst:g}"
        print(f"{n:>10} {t_grad * 1e3:>12.2f} {t_rr * 1e3:>11.1f} {t_fr * 1e3:>11.1f} "
              f"{t_rr / t_grad:>15.0f} {t_fr / t_rr:>18.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
