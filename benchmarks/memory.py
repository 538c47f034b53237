"""Memory: peak resident set size of parse + value + gradient, one fresh process per measurement.

    python -m benchmarks.memory --worker TOOL N   (prints one JSON line)

The worker imports the tool and makes the program (gradcalc: its text; a peer: the generator's
structure), collects garbage and reads its resident set size: the baseline. It then resets the
kernel's high-water mark (``/proc/self/clear_refs``), does the work once (gradcalc: parse, then
value and gradient; a peer: build the graph, then backward) and reads the high-water mark: the
peak. Per node is (peak - baseline) / op nodes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading

from . import dags


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def worker(tool: str, n: int) -> None:
    sys.setrecursionlimit(10**7)
    threading.stack_size(512 * 1024 * 1024)
    pt = dags.point()
    stmts = dags.structure(n)
    out = {"tool": tool, "n": dags.op_nodes(stmts), "status": "ok"}
    if tool == "gradcalc":
        import gradcalc  # noqa: F401  (imported before the baseline)

        src = dags.source(stmts)
        del stmts

        def work():
            f = dags.parse(src)
            r = f.gradient(pt)
            return f, r
    else:
        from . import peers

        make = {"torch": peers.torch_scalar, "micrograd": peers.micrograd_dag}[tool]
        if tool == "torch":
            peers.torch_scalar(dags.structure(50, seed=99), pt)()   # torch's lazy init
        run = make(stmts, pt)
        work = run
    gc.collect()
    out["baseline_kib"] = _status_kib("VmRSS")
    out["reset"] = _reset_peak()
    box = {}

    def body():
        try:
            box["result"] = work()   # kept alive until the peak is read
        except BaseException as exc:
            box["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if "error" in box:
        out.update(status="error", error=box["error"])
    hwm = _status_kib("VmHWM") if out["reset"] else None
    out["peak_kib"] = hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["rss_after_kib"] = _status_kib("VmRSS")
    print(json.dumps(out), flush=True)
    os._exit(0)


def measure(tool: str, n: int, timeout: float) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p)}   # a --snapshot copy first
    cmd = [sys.executable, "-m", "benchmarks.memory", "--worker", tool, str(n)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=root,
                           env=env)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "n": n, "status": "timeout", "note": f"over {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"tool": tool, "n": n, "status": "crash", "returncode": p.returncode,
                "error": " | ".join(p.stderr.strip().splitlines()[-3:])[-400:]}
    return json.loads(lines[-1])


def run(sizes, tools, timeout, log=print) -> dict:
    results: dict = {}
    for tool in tools:
        for n in sizes:
            res = measure(tool, n, timeout)
            results.setdefault(tool, {})[n] = res
            if res["status"] == "ok":
                per = (res["peak_kib"] - res["baseline_kib"]) * 1024 / res["n"]
                log(f"  {tool:<10} n={res['n']:>9,}  peak {res['peak_kib'] / 1024:,.0f} MiB, "
                    f"baseline {res['baseline_kib'] / 1024:,.0f} MiB, {per:,.0f} B/node")
            else:
                log(f"  {tool:<10} n={n:>9,}  {res['status']} {res.get('error', '')}")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "N"), required=True)
    args = ap.parse_args(argv)
    worker(args.worker[0], int(args.worker[1]))


if __name__ == "__main__":
    main()
