"""gradcalc against its peers (PyTorch, micrograd, SymPy): scaling, start-up, memory, a plot.

    pip install -e '.[bench]'
    python -m benchmarks            # the full run (~20 minutes): docs/benchmarks.md and .png
    python -m benchmarks --quick    # small sizes only, under a minute; prints the report

Sections (``--only`` picks some): single (single point, random DAGs of 10^2 … 10^6 op nodes,
with the cheap-gradient ratio), many (one expression at 10^3 … 10^7 points), startup, memory,
overhead (per-call overhead of a program used again and again), points (a CSV points file
through the command line).
Peers are optional: a missing one is skipped with a note. Each measurement of the single-point
and memory sections runs in a fresh process (``single.py``, ``memory.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# gradcalc imports NumPy first, with SIMD math dispatch off (so its batches give the floats of
# single-point runs); torch and matplotlib import NumPy too, so they come later.
from gradcalc.lazy import numpy as _gradcalc_numpy

_gradcalc_numpy()

from . import many, memory, overhead, points_io, report, single  # noqa: E402
from .peers import version  # noqa: E402
from .startup import plain_install, timed  # noqa: E402

SECTIONS = ("single", "many", "startup", "memory", "overhead", "points")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FULL = {"sizes": [10**2, 10**3, 10**4, 10**5, 10**6], "budget": 60.0, "repeat": 5, "cap": 20.0,
        "many_sizes": [10**3, 10**4, 10**5, 10**6, 10**7], "many_cap": 10.0,
        "startup_repeat": 15, "memory_sizes": [10**5, 10**6],
        "memory_tools": ["gradcalc", "torch", "micrograd"], "memory_timeout": 600.0,
        "overhead_repeat": 15, "points_rows": [10**6], "points_repeat": 3}
QUICK = {"sizes": [10**2, 10**3, 10**4], "budget": 5.0, "repeat": 3, "cap": 2.0,
         "many_sizes": [10**3, 10**4, 10**5], "many_cap": 2.0,
         "startup_repeat": 3, "memory_sizes": [10**4, 10**5],
         "memory_tools": ["gradcalc"], "memory_timeout": 60.0,
         "overhead_repeat": 2, "points_rows": [10**5], "points_repeat": 1}


def startup(repeat: int, log) -> dict:
    with plain_install() as (python, exe):
        return _startup(python, exe, repeat, log)


def _startup(python: str, exe: str, repeat: int, log) -> dict:
    seed = [exe, "z*(x+y)", "--at", "x=-2,y=5,z=-4"]
    rows = [("python -c pass", [python, "-c", "pass"]),
            ('python -c "import sympy"', [python, "-c", "import sympy"])]
    notes = ["timed as a regular install runs (benchmarks/startup.py: plain_install)"]
    if os.path.exists(exe):
        rows += [('gradcalc "z*(x+y)" --at x=-2,y=5,z=-4 --no-check', seed + ["--no-check"]),
                 ('gradcalc "z*(x+y)" --at x=-2,y=5,z=-4', seed)]
    else:
        notes.append(f"no gradcalc console script next to {sys.executable}: its rows skipped")
    out = {"repeat": repeat, "rows": {}, "notes": notes}
    for label, cmd in rows:
        out["rows"][label] = timed(cmd, repeat)
        log(f"  {label:<52} min {out['rows'][label][0]:.0f} ms, "
            f"median {out['rows'][label][1]:.0f} ms")
    return out


def overheads(repeat: int, log) -> dict:
    out: dict = {"programs": {}}
    for label, source, names in overhead.PROGRAMS:
        out["programs"][label] = r = overhead.calls(source, names, repeat)
        log(f"  {label}: later call {r['later']:.1f} µs, overhead {r['overhead']:.1f} µs")
    out["descend"] = overhead.descend_step(repeat)
    out["fit"] = overhead.fit_step(repeat)
    return out


def points_file(sizes: list[int], repeat: int, log) -> dict:
    import tempfile

    out: dict = {"expression": points_io.SOURCE, "rows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            path = os.path.join(tmp, f"p{rows}.csv")
            points_io.write_points(path, rows)
            runs = [points_io.run_once(path, os.path.join(tmp, "out.csv"), [])
                    for _ in range(repeat)]
            out["rows"][rows] = {"seconds": min(r[0] for r in runs),
                                 "cpu": min(r[1] for r in runs),
                                 "rss": max(r[2] for r in runs)}
            log(f"  {rows:,} rows: {out['rows'][rows]['seconds']:.2f} s")
            os.remove(path)
    return out


def _snapshot(args) -> None:
    """Copy gradcalc/ as committed at HEAD and these benchmarks to a temporary directory, and
    run again from there (every worker and the console script import the copy)."""
    import io
    import shutil
    import subprocess
    import tarfile
    import tempfile

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    data = subprocess.run(["git", "archive", "--format=tar", "HEAD", "gradcalc"], cwd=ROOT,
                          check=True, capture_output=True).stdout
    tmp = tempfile.mkdtemp(prefix="gradcalc-bench-")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp, filter="data")
    shutil.copytree(os.path.join(ROOT, "benchmarks"), os.path.join(tmp, "benchmarks"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    argv = ["--only", args.only]
    if args.out or not args.quick:
        argv += ["--out", os.path.abspath(args.out or os.path.join(ROOT, "docs"))]
    if args.quick:
        argv.append("--quick")
    if args.budget:
        argv += ["--budget", str(args.budget)]
    if args.json:
        argv += ["--json", os.path.abspath(args.json)]
    old = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": tmp + (os.pathsep + old if old else ""),
           "GRADCALC_BENCH_SNAPSHOT": f"{head}, as committed, measured from a copy",
           "GRADCALC_BENCH_SNAPSHOT_DIR": tmp}
    print(f"measuring gradcalc/ at {head} from {tmp}", file=sys.stderr, flush=True)
    os.chdir(tmp)
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def _intkeys(obj):
    """JSON turns the sizes into strings; turn them back."""
    if isinstance(obj, dict):
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): _intkeys(v)
                for k, v in obj.items()}
    return obj


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("--quick", action="store_true", help="small sizes only (under a minute)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections, among {', '.join(SECTIONS)}")
    ap.add_argument("--out", help="directory for benchmarks.md and benchmarks.png "
                                  "(default: docs/ for a full run; a quick run only prints)")
    ap.add_argument("--budget", type=float, help="seconds per peer and size (default 60)")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--from-json", help="render the report from raw results; run nothing")
    ap.add_argument("--snapshot", action="store_true",
                    help="measure gradcalc/ as committed at HEAD, from a copy (git archive), so "
                         "that edits made during the run do not mix into it")
    args = ap.parse_args(argv)
    if args.snapshot and not args.from_json:
        _snapshot(args)
    cfg = dict(QUICK if args.quick else FULL, quick=args.quick)
    if args.budget:
        cfg["budget"] = args.budget

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.from_json:
        with open(args.from_json) as fh:
            res = _intkeys(json.load(fh))
    else:
        sections = [s.strip() for s in args.only.split(",") if s.strip()]
        bad = [s for s in sections if s not in SECTIONS]
        if bad:
            ap.error(f"unknown section {', '.join(bad)}; choose among {', '.join(SECTIONS)}")
        res = {"machine": report.machine(), "config": cfg, "notes": []}
        for peer in ("torch", "micrograd", "sympy", "matplotlib"):
            if version(peer) is None:
                res["notes"].append(f"{peer} is not installed: its parts are skipped "
                                    "(pip install -e '.[bench]')")
        t0 = time.perf_counter()
        if "single" in sections:
            log("single point, growing graphs")
            res["single"] = single.run(cfg["sizes"], single.TOOLS, cfg["budget"], cfg["repeat"],
                                       cfg["cap"], log=log)
        if "many" in sections:
            log("many points")
            res["many"] = many.run(cfg["many_sizes"], cfg["repeat"], cfg["many_cap"], log=log)
        if "startup" in sections:
            log("start-up")
            res["startup"] = startup(cfg["startup_repeat"], log)
        if "memory" in sections:
            log("memory")
            tools = [t for t in cfg["memory_tools"] if t == "gradcalc" or version(t)]
            res["memory"] = memory.run(cfg["memory_sizes"], tools, cfg["memory_timeout"],
                                       log=log)
        if "overhead" in sections:
            log("per-call overhead")
            res["overhead"] = overheads(cfg["overhead_repeat"], log)
        if "points" in sections:
            log("a points file through the command line")
            res["points"] = points_file(cfg["points_rows"], cfg["points_repeat"], log)
        res["elapsed"] = time.perf_counter() - t0
        res["load_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
        now = report.code_state()
        if now != res["machine"]["commit"]:
            res["notes"].append(f"gradcalc's code changed during this run: it was "
                                f"{res['machine']['commit']} at the start and {now} at the "
                                "end, so the figures mix the two")
            log("warning: " + res["notes"][-1])
        res = _intkeys(json.loads(json.dumps(res)))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(res, fh, indent=1)
    quick = res["config"]["quick"]
    out_dir = args.out or (None if quick else os.path.join(ROOT, "docs"))
    png = None
    if out_dir and version("matplotlib") is not None:
        os.makedirs(out_dir, exist_ok=True)
        png = "benchmarks.png"
        report.plot(res, os.path.join(out_dir, png))
    text = report.markdown(res, png)
    if out_dir:
        with open(os.path.join(out_dir, "benchmarks.md"), "w") as fh:
            fh.write(text)
        log(f"wrote {os.path.join(out_dir, 'benchmarks.md')}"
            + (f" and {png}" if png else ""))
    print(text)
    snapshot = os.environ.get("GRADCALC_BENCH_SNAPSHOT_DIR")
    if snapshot and os.path.basename(snapshot).startswith("gradcalc-bench-"):
        import shutil

        shutil.rmtree(snapshot, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
