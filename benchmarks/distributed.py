"""Many points from Parquet: one process against a Dask LocalCluster (issue 18, "Beyond one
machine").

    python -m benchmarks.distributed [--rows 1000000] [--files 8] [--workers 2] [--repeat 3]

The many-points benchmark expression (benchmarks/many.py), value and three partials, for ROWS
points in FILES Parquet files (row groups of 25,000 rows), through the command line, each run a
fresh `gradcalc` process writing Parquet:

- one process: `--points 'DIR/*.parquet' --save-points out.parquet`;
- the cluster, warm: `--scheduler tcp://...` on a LocalCluster of WORKERS processes (one thread
  each) that the benchmark started before (its start is not counted);
- the cluster, cold: `--scheduler local` (gradcalc starts and stops the cluster: counted);

and, to tell throughput from start-up (a fresh process imports pyarrow, and Dask for the
cluster, which on a shared 2-core machine takes seconds), the same two paths in this process:
the points file read, computed and written by the command line's own functions, and
`gradcalc.distributed.run_files` on the warm cluster (after one run that warms its workers).

Every result is compared with the one-process file, every bit. Wall-clock seconds, best of
REPEAT (cold: one run). Needs `pip install -e '.[distributed]'`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .many import points

SOURCE = "sin(x*y) + exp(-z^2)*log(1 + x^2) + tanh(x + y*z)*sqrt(1 + y^2)"
EXE = os.path.join(os.path.dirname(sys.executable), "gradcalc")


def write_dataset(root: str, rows: int, files: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    xs, ys, zs = points(rows)
    step = rows // files
    for i in range(files):
        part = slice(i * step, rows if i == files - 1 else (i + 1) * step)
        pq.write_table(pa.table({"x": xs[part], "y": ys[part], "z": zs[part]}),
                       os.path.join(root, f"p{i:03d}.parquet"), row_group_size=25_000)


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run([EXE, SOURCE, *args, "--no-check", "-q"], capture_output=True,
                       text=True)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"gradcalc failed ({p.returncode}): {p.stderr}")
    return seconds


def same(one: str, directory: str) -> str:
    """'identical' when the parts, in order, are the one-process file's rows bit for bit."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = sorted(n for n in os.listdir(directory) if n.endswith(".parquet"))
    parts = pa.concat_tables([pq.read_table(os.path.join(directory, n)) for n in names])
    return "identical" if parts.equals(pq.read_table(one)) else "DIFFERENT"


def in_process(glob: str, out: str, scheduler: str | None, repeat: int) -> float:
    """Best wall-clock of the command line's pipeline run here: one process (scheduler None)
    or the cluster at ``scheduler``."""
    import glob as globbing

    from gradcalc import distributed
    from gradcalc.cli import many
    from gradcalc.columnar import ColumnarFiles
    from gradcalc.function import Function
    from gradcalc.report import Batches
    from gradcalc.syntax import DEFAULT_LIMITS

    fn = Function(SOURCE)
    names = ["x", "y", "z"]
    best = float("inf")
    for k in range(repeat + (scheduler is not None)):
        target = f"{out}{k}"
        t = time.perf_counter()
        files = ColumnarFiles(sorted(globbing.glob(glob)), fn.variables)
        if scheduler is None:
            batches = Batches(fn, files.chunks(), names, names, "f")
            many._save(target + ".parquet", batches, files)
        else:
            os.mkdir(target)
            job = distributed.Job(SOURCE, DEFAULT_LIMITS, tuple(names), (), tuple(names), None,
                                  "f", provenance=True)
            distributed.run_files(files, job, target, scheduler)
        if k or scheduler is None:   # the cluster's first run warms its workers
            best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from gradcalc.lazy import numpy

    numpy()   # gradcalc's NumPy (no SIMD math) before pyarrow or dask import theirs
    from distributed import Client

    from gradcalc import distributed

    print(f"{args.rows:,} rows in {args.files} Parquet files; {os.cpu_count()} cores; "
          f"{SOURCE}")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        write_dataset(data, args.rows, args.files)
        glob = os.path.join(data, "*.parquet")
        one = os.path.join(tmp, "one.parquet")
        single = min(timed(["--points", glob, "--save-points", one])
                     for _ in range(args.repeat))
        results = [("one process", single, "reference")]
        t = time.perf_counter()
        cluster = distributed.local_cluster(args.workers)
        started = time.perf_counter() - t
        with Client(cluster) as client:
            client.run(lambda: __import__("gradcalc.distributed"))
            steady_one = in_process(glob, os.path.join(tmp, "steady"), None, args.repeat)
            steady = in_process(glob, os.path.join(tmp, "steady-cluster"),
                                cluster.scheduler_address, args.repeat)
            warm = []
            for k in range(args.repeat):
                out = os.path.join(tmp, f"warm{k}")
                warm.append(timed(["--points", glob, "--scheduler", cluster.scheduler_address,
                                   "--save-points", out]))
            results.append((f"cluster of {args.workers}, warm", min(warm), same(one, out)))
        cluster.close()
        out = os.path.join(tmp, "cold")
        cold = timed(["--points", glob, "--scheduler", "local", "--save-points", out])
        results.append((f"--scheduler local ({os.cpu_count()} workers), cold", cold,
                        same(one, out)))
        shutil.rmtree(data)
    print(f"(a LocalCluster of {args.workers} took {started:.1f} s to start)")
    print(f"{'gradcalc process, end to end':<40} {'seconds':>8} {'rows/s':>12} {'vs one':>7}  "
          "result")
    for name, seconds, verdict in results:
        print(f"{name:<40} {seconds:>8.2f} {args.rows / seconds:>12,.0f} "
              f"{single / seconds:>6.2f}×  {verdict}")
    print("in this process (no start-up):")
    for name, seconds in (("one process", steady_one),
                          (f"cluster of {args.workers}, warm", steady)):
        print(f"{name:<40} {seconds:>8.2f} {args.rows / seconds:>12,.0f} "
              f"{steady_one / seconds:>6.2f}×")


if __name__ == "__main__":
    main()
