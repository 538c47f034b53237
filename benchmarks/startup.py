"""Whole-process time of the main job, against Python's own start-up and `import sympy`.

    python -m benchmarks.startup [--repeat 15]

Targets (issue 2): `gradcalc "z*(x+y)" --at x=-2,y=5,z=-4 --no-check` ≤ 120 ms; the default run
(SymPy cross-check included) no more than 100 ms above `python -c "import sympy"`.
Uses the `gradcalc` console script installed next to this Python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(cmd, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return min(times) * 1000, statistics.median(times) * 1000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    exe = os.path.join(os.path.dirname(sys.executable), "gradcalc")
    seed = [exe, "z*(x+y)", "--at", "x=-2,y=5,z=-4"]
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -c 'import sympy'", [sys.executable, "-c", "import sympy"]),
        ("gradcalc seed --no-check (table)", seed + ["--no-check"]),
        ("gradcalc seed --no-check --format plain", seed + ["--no-check", "--format", "plain"]),
        ("gradcalc seed (default: table + SymPy)", seed),
        ("gradcalc seed --format json (SymPy)", seed + ["--format", "json"]),
    ]
    results = {}
    print(f"{'command':<42} {'min ms':>8} {'median ms':>10}")
    for label, cmd in rows:
        results[label] = timed(cmd, args.repeat)
        print(f"{label:<42} {results[label][0]:>8.0f} {results[label][1]:>10.0f}")
    over = results["gradcalc seed (default: table + SymPy)"][1] - results[
        "python -c 'import sympy'"][1]
    print(f"\ndefault run minus `import sympy` (medians): {over:.0f} ms (target ≤ 100)")
    print(f"--no-check run (median): {results['gradcalc seed --no-check (table)'][1]:.0f} ms "
          "(target ≤ 120)")


if __name__ == "__main__":
    main()
