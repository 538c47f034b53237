"""A points file through the command line: read N CSV rows, compute, write the CSV result.

    python -m benchmarks.points_io [--rows 1000000] [--chunk-size N] [--repeat 3]

Target (issue 4): 10^6 rows read and written in a few seconds, memory bounded by the chunk size
(so the same peak for 10^6 and 10^7 rows); issue 18: 10^6 rows in 1.5 s. Runs the `gradcalc`
console script installed next to this Python, in a subprocess, and reports the best of
``--repeat`` runs: wall time, CPU time (user + system, every thread) and peak RSS. Big files are
read and written in bulk by gradcalc's C extension, or pyarrow (points.py, render/rows.py).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

SOURCE = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"


def write_points(path: str, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("x,y,z\n")
        for _ in range(rows // 10_000):
            f.write("".join(f"{rng.uniform(-2, 2)!r},{rng.uniform(-2, 2)!r},"
                            f"{rng.uniform(-2, 2)!r}\n" for _ in range(10_000)))


def run_once(points: str, out: str, extra: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in bytes) of one gradcalc run in a fresh process."""
    exe = os.path.join(os.path.dirname(sys.executable), "gradcalc")
    cmd = [exe, SOURCE, "--points", points, "--format", "csv", "--no-check", *extra]
    code = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            f"subprocess.run({cmd!r}, stdout=open({out!r}, 'w'), check=True)\n"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss)\n")
    # as users run it, with Python's bytecode cache (see benchmarks/startup.py)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    seconds, cpu, kib = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True, env=env).stdout.split()
    return float(seconds), float(cpu), int(kib) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (the best shown)")
    args = parser.parse_args()
    extra = ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
    print(f"gradcalc {SOURCE!r} --points FILE --format csv --no-check {' '.join(extra)}")
    print(f"{'rows':>12} {'file MB':>8} {'seconds':>8} {'CPU s':>7} {'µs/row':>7} "
          f"{'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            points = os.path.join(tmp, f"p{rows}.csv")
            t = time.perf_counter()
            write_points(points, rows)
            made = time.perf_counter() - t
            runs = [run_once(points, os.path.join(tmp, "out.csv"), extra)
                    for _ in range(max(1, args.repeat))]
            seconds, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            rss = max(r[2] for r in runs)
            size = os.path.getsize(points) / 1e6
            print(f"{rows:>12,} {size:>8.1f} {seconds:>8.2f} {cpu:>7.2f} "
                  f"{seconds / rows * 1e6:>7.2f} {rss / 2**20:>12.0f}   "
                  f"(file written in {made:.1f} s)")
            os.remove(points)


if __name__ == "__main__":
    main()
