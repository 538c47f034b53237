"""Whole-process time of the main job, against Python's own start-up and `import sympy`.

    python -m benchmarks.startup [--repeat 15]

Targets (issue 18, after issue 2's 120 ms and 100 ms): `gradcalc "z*(x+y)" --at x=-2,y=5,z=-4
--no-check` ≤ 80 ms (median); the default run (SymPy cross-check included) no more than 50 ms
above `python -c "import sympy"`. Wall time, and the CPU time of the process (user + system,
steadier on a shared machine). Uses the `gradcalc` console script installed next to this Python;
`python -X importtime -m gradcalc ...` shows what a run imports (tests/test_imports.py holds
what a --no-check run must not).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def timed(cmd, repeat, cpu=None):
    """(min, median) wall ms of ``repeat`` runs; with a list ``cpu``, each run's CPU ms (user +
    system of the child) is appended to it. As users run it: with Python's bytecode cache (an
    environment that sets PYTHONDONTWRITEBYTECODE would compile every module on every run,
    which pip's installs never do), after one run that fills it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env)
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       env=env)
        times.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                       * 1000)
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
    print(f"{'command':<42} {'min ms':>8} {'median ms':>10} {'CPU median':>11}")
    for label, cmd in rows:
        cpu: list[float] = []
        results[label] = (*timed(cmd, args.repeat, cpu), statistics.median(cpu))
        print(f"{label:<42} {results[label][0]:>8.0f} {results[label][1]:>10.0f} "
              f"{results[label][2]:>11.0f}")
    over = results["gradcalc seed (default: table + SymPy)"][1] - results[
        "python -c 'import sympy'"][1]
    print(f"\ndefault run minus `import sympy` (medians): {over:.0f} ms (target ≤ 50)")
    print(f"--no-check run (median): {results['gradcalc seed --no-check (table)'][1]:.0f} ms "
          "(target ≤ 80)")


if __name__ == "__main__":
    main()
