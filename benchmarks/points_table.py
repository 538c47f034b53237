"""The table format of a points file against csv: the same rows, the same computation.

    python -m benchmarks.points_table [--rows 100000] [--repeat 3]

Target (issue 14): a 100,000-row file in the default table format takes no more than twice the
csv time, since the table shows a screenful of rows and a summary, not every row. Runs the
`gradcalc` console script installed next to this Python in a subprocess (start-up included, as a
user waits for it) and reports the best wall time of --repeat runs of each format.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

SOURCE = "x*y*z"


def write_points(path: str, rows: int, seed: int = 0) -> None:
    """rows random x,y,z points, written 10,000 at a time (one line per join, not per row)."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("x,y,z\n")
        for start in range(0, rows, 10_000):
            f.write("".join(f"{rng.uniform(-2, 2)!r},{rng.uniform(-2, 2)!r},"
                            f"{rng.uniform(-2, 2)!r}\n" for _ in range(min(10_000, rows - start))))


def best_time(cmd: list[str], repeat: int) -> float:
    """The fastest of ``repeat`` runs: the others lost time to the machine's other jobs."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    exe = os.path.join(os.path.dirname(sys.executable), "gradcalc")
    with tempfile.TemporaryDirectory() as tmp:
        points = os.path.join(tmp, "points.csv")
        write_points(points, args.rows)
        times = {}
        for fmt in ("csv", "table"):
            cmd = [exe, SOURCE, "--points", points, "--no-check", "--format", fmt]
            times[fmt] = best_time(cmd, args.repeat)
            print(f"gradcalc {SOURCE!r} --points FILE --no-check --format {fmt:<5}  "
                  f"{args.rows:,} rows: {times[fmt]:6.2f} s (best of {args.repeat})")
    ratio = times["table"] / times["csv"]
    print(f"table / csv = {ratio:.2f} (target: at most 2)")
    sys.exit(0 if ratio <= 2 else 1)


if __name__ == "__main__":
    main()
