"""The report: machine, tables, targets (markdown) and a log-log plot (PNG)."""

from __future__ import annotations

import datetime
import math
import os
import platform

from .peers import version

LABELS = {"gradcalc": "gradcalc", "floor": "bare flat tape", "torch": "PyTorch scalar",
          "micrograd": "micrograd", "sympy": "SymPy diff + eval"}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "commit": _git(),
        "gradcalc_file": __import__("gradcalc").__file__,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "versions": {name: version(name) for name in
                     ("gradcalc", "torch", "micrograd", "sympy", "numpy", "matplotlib",
                      "psutil")},
        "load": load,
    }


def _git() -> str | None:
    """The commit measured, the tracked files of gradcalc/ changed since (if any), and a hash
    of those changes (to tell whether the code changed during a run)."""
    import hashlib
    import subprocess

    if os.environ.get("GRADCALC_BENCH_SNAPSHOT"):
        return os.environ["GRADCALC_BENCH_SNAPSHOT"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("diff", "--name-only", "HEAD", "--", "gradcalc").split()
        diff = git("diff", "HEAD", "--", "gradcalc")
    except (OSError, subprocess.SubprocessError):
        return None
    if not head:
        return None
    text = head + (f" with uncommitted changes to {', '.join(changed)}" if changed else "")
    return text + (f" [{hashlib.sha1(diff.encode()).hexdigest()[:8]}]" if changed else "")


def code_state() -> str | None:
    """What ``machine()['commit']`` records, now: compare it after a run."""
    return _git()


def slope(points) -> float | None:
    """Least-squares slope of log(time) against log(n)."""
    pts = [(math.log(n), math.log(t)) for n, t in points if t and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def _us(seconds, n):
    return seconds / n * 1e6


def _fmt_us(x):
    return f"{x:.2f}" if x < 100 else f"{x:,.0f}"


def _ratio(x):
    return f"{x:.1f}×" if x < 100 else f"{x:,.0f}×"


def _cell_time(res, ref_s, key="grad"):
    """'12.3 (17×)': µs per node and the ratio to gradcalc's value + gradient."""
    st = res.get("status")
    if st == "ok":
        s = res[key]
        text = _fmt_us(_us(s, res["n"]))
        return text + (f" ({_ratio(s / ref_s)})" if ref_s else "")
    if st == "timeout":
        return f"> {res['budget']:.0f} s budget"
    if st == "skipped":
        return "skipped"
    return st


def _cell_agree(res):
    a = res.get("agreement") or {}
    if res.get("status") != "ok":
        return {"timeout": "—", "skipped": "—"}.get(res.get("status"), res.get("status", "—"))
    if a.get("status") == "identical":
        return "identical"
    if a.get("status") in ("agree", "DISAGREE"):
        return f"{a['status'].lower() if a['status'] == 'agree' else a['status']} " \
               f"({a['rel']:.1e})"
    return "—"


def single_tables(single: dict, sizes, repeat: int, cap: float) -> list[str]:
    g = single.get("gradcalc", {})
    peers = [t for t in ("torch", "micrograd", "sympy") if t in single]
    head = ["op nodes n", "gradcalc parse", "gradcalc first call", "gradcalc value + gradient",
            "bare flat tape"] + [LABELS[t] for t in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for n in sizes:
        r = g.get(n, {})
        if r.get("status") != "ok":
            lines.append(f"| {n:,} | " + " | ".join([r.get("status", "—")] * (len(head) - 1))
                         + " |")
            continue
        ref = r["grad"]
        cells = [f"{r['n']:,}", _fmt_us(_us(r["parse"], r["n"])),
                 _fmt_us(_us(r["first"], r["n"])), _fmt_us(_us(ref, r["n"])),
                 _cell_time({**r, "grad": r["floor"]}, ref)]
        cells += [_cell_time(single[t].get(n, {}), ref) for t in peers]
        lines.append("| " + " | ".join(cells) + " |")
    few = []
    for tool, key, label in (("gradcalc", "parse_runs", "gradcalc parse"),
                             ("gradcalc", "grad_runs", "gradcalc value + gradient"),
                             *((t, "grad_runs", LABELS[t]) for t in peers)):
        got = [(r["n"], r[key]) for r in single.get(tool, {}).values()
               if r.get("status") == "ok" and r.get(key, repeat) < repeat]
        if got:
            few.append(f"{label} " + ", ".join(f"{k} at {n:,}" for n, k in got))
    out = [f"CPU time per op node in µs, best of {repeat} runs (fewer where the runs add up to "
           f"{cap:.0f} s: " + ("; ".join(few) if few else "none") + "); in parentheses, the "
           "time relative to gradcalc's value + gradient (higher is slower than gradcalc).",
           ""] + lines
    out += ["", "The same runs in wall-clock time (best of the runs; µs per op node), which on "
            "this shared machine also counts the waits for a core:", ""]
    head = ["op nodes n", "gradcalc parse", "gradcalc value + gradient", "bare flat tape"] + [
        LABELS[t] for t in peers]
    out += ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for n in sizes:
        r = g.get(n, {})
        if r.get("status") != "ok":
            continue
        cells = [f"{r['n']:,}"] + [_fmt_us(_us(r[k + "_wall"], r["n"]))
                                   for k in ("parse", "grad", "floor")]
        for t in peers:
            p = single[t].get(n, {})
            cells.append(_fmt_us(_us(p["grad_wall"], p["n"])) if p.get("status") == "ok"
                         else _cell_time(p, None))
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Agreement of each tool's value and ten partials with gradcalc's (largest "
            "difference relative to the largest partial; `identical` means every bit):", ""]
    head = ["op nodes n", "bare flat tape"] + [LABELS[t] for t in peers]
    out += ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for n in sizes:
        r = g.get(n, {})
        if r.get("status") != "ok":
            continue
        cells = [f"{r['n']:,}", _cell_agree({"status": "ok",
                                             "agreement": r.get("floor_agreement")})]
        cells += [_cell_agree(single[t].get(n, {})) for t in peers]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Fitted slope of log(time) against log(n), over the sizes each tool finished "
            "(1 is linear):", ""]
    slopes = []
    for name, key, tool in (("gradcalc value + gradient", "grad", "gradcalc"),
                            ("gradcalc parse", "parse", "gradcalc"),
                            ("bare flat tape", "floor", "gradcalc"),
                            *((LABELS[t], "grad", t) for t in peers)):
        pts = [(r["n"], r[key]) for r in single.get(tool, {}).values()
               if r.get("status") == "ok"]
        s = slope(pts)
        if s is not None:
            slopes.append(f"{name} {s:.2f} ({len(pts)} sizes)")
    out.append("; ".join(slopes) + ".")
    return out


def ratio_table(single: dict, sizes) -> list[str]:
    g = single.get("gradcalc", {})
    lines = ["| op nodes n | value only `f(point)`, µs/node | value + gradient "
             "`f.gradient(point)`, µs/node | ratio | tape forward, µs/node | tape forward + "
             "backward, µs/node | ratio | `kinks_hit`, µs/node |", "|" + " ---: |" * 8]
    for n in sizes:
        r = g.get(n, {})
        if r.get("status") != "ok":
            continue
        m = r["n"]
        lines.append(
            f"| {m:,} | {_us(r['forward'], m):.3f} | {_us(r['grad'], m):.3f} | "
            f"{r['grad'] / r['forward']:.2f} | {_us(r['tape_forward'], m):.3f} | "
            f"{_us(r['tape_fb'], m):.3f} | {r['tape_fb'] / r['tape_forward']:.2f} | "
            f"{_us(r['kinks_hit'], m):.3f} |")
    return lines


def many_table(many: dict, key: str = "seconds", agreement: bool = True) -> list[str]:
    """Times of each tool at each number of points (``key``: "seconds" for wall-clock time,
    "cpu" for CPU time of all threads), with ratios to gradcalc."""
    rows = many.get("rows", {})
    threads = many.get("torch_threads")
    cols = [("gradcalc", "gradcalc (NumPy, SIMD off)"), ("gradcalc_1", "gradcalc, 1 thread"),
            ("gradcalc_fast", "gradcalc --fast-math"),
            ("gradcalc_fast_1", "gradcalc --fast-math, 1 thread"),
            ("gradcalc_ops", "gradcalc op by op (the engine before issue 18)"),
            ("torch", f"PyTorch ({threads} threads)"), ("torch_1", "PyTorch (1 thread)"),
            ("sympy", "SymPy lambdify"), ("gradcalc_simd", "gradcalc, SIMD on (comparison)")]
    cols = [(k, label) for k, label in cols if any(k in r for r in rows.values())]
    lines = ["| points | " + " | ".join(label for _k, label in cols) + " |",
             "|" + " ---: |" * (len(cols) + 1)]
    for n, row in rows.items():
        n = int(n)
        ref = row["gradcalc"].get(key)
        cells = []
        for k, _label in cols:
            s = row.get(k, {}).get(key)
            if s is None:
                cells.append("—")
                continue
            text = f"{_fmt_time(s)} ({s / n * 1e9:,.0f} ns/pt)"
            if k != "gradcalc" and ref:
                text += f", {_ratio(s / ref)}"
            cells.append(text)
        lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
    if not agreement:
        return lines
    agree = []
    for k, label in cols[1:]:
        found = [(int(n), row[k]["agreement"]) for n, row in rows.items()
                 if k in row and "agreement" in row[k]]
        if found:
            worst = max(a["rel"] for _n, a in found)
            same = min(a["identical"] for _n, a in found)
            bad = [n for n, a in found if a["status"] == "DISAGREE"]
            agree.append(f"- {label}: largest difference {worst:.1e} relative to each array's "
                         f"largest magnitude; at least {same:.1%} of the numbers bit-identical"
                         + (f"; DISAGREES at {', '.join(f'{n:,}' for n in bad)} points"
                            if bad else ""))
    return lines + [""] + agree


def _fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def memory_table(memory: dict) -> list[str]:
    lines = ["| tool | op nodes n | baseline RSS | peak RSS | peak − baseline | per node |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for tool, by_n in memory.items():
        for n, r in by_n.items():
            if r.get("status") != "ok":
                lines.append(f"| {LABELS.get(tool, tool)} | {int(n):,} | {r['status']} | | | |")
                continue
            extra = r["peak_kib"] - r["baseline_kib"]
            lines.append(f"| {LABELS.get(tool, tool)} | {r['n']:,} | "
                         f"{r['baseline_kib'] / 1024:,.0f} MiB | {r['peak_kib'] / 1024:,.0f} MiB | "
                         f"{extra / 1024:,.0f} MiB | {extra * 1024 / r['n']:,.0f} B |")
    return lines


def startup_table(startup: dict) -> list[str]:
    lines = ["| command | min | median |", "| --- | ---: | ---: |"]
    for label, (lo, med) in startup.get("rows", {}).items():
        lines.append(f"| `{label}` | {lo:.0f} ms | {med:.0f} ms |")
    return lines


def targets(res: dict) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for the issue's targets that this run measured."""
    out = []
    single = res.get("single", {})
    g = {n: r for n, r in single.get("gradcalc", {}).items() if r.get("status") == "ok"}

    def at(n_target):
        if not g:
            return None
        n = min(g, key=lambda k: abs(math.log(k / n_target)))
        return g[n] if abs(math.log(n / n_target)) < 0.5 else None

    r5 = at(10**5)
    if r5:
        us = _us(r5["grad"], r5["n"])
        out.append(("value + gradient ≤ 1 µs/node at 10^5 nodes",
                    f"{us:.2f} µs/node CPU time ({_us(r5['grad_wall'], r5['n']):.2f} wall-clock)",
                    "met" if us <= 1 else "missed"))
    for tool, factor in (("torch", 10), ("micrograd", 5)):
        ratios = [(n, single[tool][n]["grad"] / r["grad"]) for n, r in g.items()
                  if tool in single and single[tool].get(n, {}).get("status") == "ok"]
        if ratios:
            text = ", ".join(f"{x:.1f}× at {n:,}" for n, x in ratios)
            met = [n for n, x in ratios if x >= factor]
            missed = [n for n, x in ratios if x < factor]
            verdict = "met" if not missed else "missed" if not met else (
                "met at n = " + ", ".join(f"{n:,}" for n in met) + "; missed at n = "
                + ", ".join(f"{n:,}" for n in missed))
            out.append((f"≥ {factor}× faster than {LABELS[tool]}", text, verdict))
    s = slope([(r["n"], r["grad"]) for r in g.values()])
    if s is not None:
        out.append(("value + gradient linear in n (log-log slope ≤ 1.1)", f"slope {s:.2f}",
                    "met" if s <= 1.1 else "missed"))
    if g:
        worst = max(_us(r["parse"], r["n"]) for r in g.values())
        per = ", ".join(f"{_us(r['parse'], r['n']):.1f} ({_us(r['parse'], r['tape_nodes']):.1f})"
                        f" at {r['n']:,}" for r in g.values())
        big = [r for r in g.values() if r["n"] >= 10**5]
        worst_big = max((_us(r["parse"], r["n"]) for r in big), default=worst)
        out.append(("parse ≤ 2.5 µs per op node at 10^5 and 10^6 nodes (issue 18; 5 before)",
                    per + " µs per op node (per tape node, literals and inputs included)",
                    "met" if worst_big <= 2.5 else "missed" + (
                        " (met the earlier ≤ 5)" if worst_big <= 5 else "")))
        worst = max(r["grad"] / r["forward"] for r in g.values())
        per = ", ".join(f"{r['grad'] / r['forward']:.1f} at {r['n']:,}" for r in g.values())
        out.append(("cheap gradient: time(value + gradient) / time(value) ≤ 3", per,
                    "met" if worst <= 3 else "missed"))
    out += _targets_18(res)
    mem = res.get("memory", {}).get("gradcalc", {})
    big = [r for r in mem.values() if r.get("status") == "ok"]
    if big:
        r = max(big, key=lambda r: r["n"])
        per = (r["peak_kib"] - r["baseline_kib"]) * 1024 / r["n"]
        out.append((f"peak memory ≤ 1 KiB/node at {r['n']:,} nodes",
                    f"{per:,.0f} B/node above the baseline ({r['peak_kib'] * 1024 / r['n']:,.0f}"
                    " B/node of the whole process)", "met" if per <= 1024 else "missed"))
    return out


def _targets_18(res: dict) -> list[tuple[str, str, str]]:
    """Issue 18's targets beyond parse: points file, batches, start-up, per-call overhead."""
    out = []
    pts = res.get("points", {}).get("rows", {})
    if pts:
        n = max(pts)
        r = pts[n]
        out.append(("CSV points file through the CLI ≤ 1.5 s at 10^6 rows",
                    f"{r['seconds']:.2f} s wall ({r['cpu']:.2f} s CPU) at {n:,} rows, peak RSS "
                    f"{r['rss'] / 2**20:.0f} MiB", "met" if n >= 10**6 and r["seconds"] <= 1.5
                    else "missed" if n >= 10**6 else "not measured at 10^6"))
    rows = res.get("many", {}).get("rows", {})
    for key, what in (("gradcalc", "exact (the default)"), ("gradcalc_fast", "`--fast-math`")):
        ratios = []
        for n, row in rows.items():
            torch = [row[k]["seconds"] for k in ("torch", "torch_1") if k in row]
            if torch and int(n) >= 10**5 and key in row:
                ratios.append((int(n), row[key]["seconds"] / min(torch)))
        if ratios:
            missed = [n for n, x in ratios if x > 1.0]
            out.append((f"batches ≤ 1.0× PyTorch's best of 1 and all threads at 10^5 … 10^7 "
                        f"points, {what}",
                        ", ".join(f"{x:.2f}× at {n:,}" for n, x in ratios) + " (wall-clock)",
                        "met" if not missed else
                        "missed at " + ", ".join(f"{n:,}" for n in missed)))
    st = res.get("startup", {}).get("rows", {})
    plain = next((v for k, v in st.items() if k.endswith("--no-check")), None)
    full = next((v for k, v in st.items() if k.startswith("gradcalc") and
                 not k.endswith("--no-check")), None)
    sym = st.get('python -c "import sympy"')
    if plain:
        out.append(("start-up: `--no-check` ≤ 80 ms median", f"{plain[1]:.0f} ms median",
                    "met" if plain[1] <= 80 else "missed"))
    if full and sym:
        gap = full[1] - sym[1]
        out.append(("start-up: the default run within 50 ms of `import sympy`",
                    f"{gap:+.0f} ms (medians {full[1]:.0f} and {sym[1]:.0f} ms)",
                    "met" if gap <= 50 else "missed"))
    ov = res.get("overhead", {}).get("programs", {})
    if ov:
        worst = max(r["overhead"] for r in ov.values())
        out.append(("per-call overhead ≤ 5 µs for a 10-node program (later calls)",
                    ", ".join(f"{r['overhead']:.1f} µs ({label}, {r['later']:.1f} µs a call)"
                              for label, r in ov.items()), "met" if worst <= 5 else "missed"))
    return out


def overhead_table(ov: dict) -> list[str]:
    lines = ["| program (op nodes) | first call | later call | bare tape | overhead | value "
             "alone |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, r in ov.get("programs", {}).items():
        lines.append(f"| {label} ({r['nodes']}) | {r['first']:.1f} | {r['later']:.1f} | "
                     f"{r['bare']:.1f} | {r['overhead']:.1f} | {r['value']:.1f} |")
    lines += ["", f"One step of `descend` (Adam, 3 variables): {ov['descend']:.1f} µs; of scalar "
              f"`fit` (SGD, batches of 8 rows): {ov['fit']:.1f} µs."]
    return lines


def _bounds(single: dict) -> str:
    """What the run checked about the values: finite, and their range."""
    rows = [r for r in single.get("gradcalc", {}).values() if r.get("status") == "ok"]
    if not rows:
        return "not checked in this run"
    finite = all(r["all_finite"] for r in rows)
    lo = min(r["value_range"][0] for r in rows)
    hi = max(r["value_range"][1] for r in rows)
    return (f"checked in this run: every node's value and gradient "
            f"{'finite' if finite else 'NOT finite'} at every size; node values, intermediate "
            f"nodes such as a + b included, in [{lo:.3g}, {hi:.3g}]")


def markdown(res: dict, png_name: str | None) -> str:
    m = res["machine"]
    cfg = res["config"]
    v = m["versions"]
    out = ["# Benchmarks", "",
           f"Generated by `python -m benchmarks{' --quick' if cfg['quick'] else ''}` on "
           f"{m['date']} (gradcalc at commit {m.get('commit') or 'unknown'}) in "
           f"{res.get('elapsed', 0) / 60:.1f} minutes. Machine: {m['cpu']}, "
           f"{m['cores']} cores, {m['system']}, Python {m['python']}. Versions: "
           + ", ".join(f"{k} {v[k] or 'not installed'}" for k in v) + "."]
    if m.get("load"):
        end = res.get("load_end")
        out[-1] += (f" The machine is shared (load average {m['load'][0]:.1f} when the run "
                    "started" + (f", {end[0]:.1f} when it ended" if end else "")
                    + ", on 2 cores), so expect ±20% or more between runs; every figure is a "
                    "best-of or a median.")
    out += ["", "## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in targets(res)]
    if "single" in res:
        sizes = cfg["sizes"]
        out += ["", "## Single point, growing graphs", "",
                "Random DAGs with shared nodes over 10 inputs (`benchmarks/dags.py`): each "
                "statement reads the previous value and, for `+` and `×`, a uniformly random "
                "earlier value or input; the ops are `(a + b)*0.5`, `1 - a*b`, `a^2`, "
                "`relu(a - 0.1)`, `sin(a)`, `exp(a - 1)`, so every value stays in [0, 1] "
                f"({_bounds(res['single'])}). n counts primitive "
                "op nodes (the same nodes in every tool; literals and inputs are not counted). "
                "Every peer builds its graph from the generator's structure, never from "
                "gradcalc's tape; the bare flat tape (the CPython floor) reads gradcalc's "
                "parsed graph, as `benchmarks/engine.py` does, and has the seven rules inlined.",
                "",
                "- gradcalc parse: `gradcalc.parse(text, gradcalc.NO_LIMITS)` (the largest "
                "programs pass the default limits on size). First call: the first "
                "`f.gradient(point)`, which also compiles the tape for that output and those "
                "variables (then cached). Value + gradient: later `f.gradient(point)` calls.",
                "- PyTorch: 0-dim float64 tensors with `requires_grad`, forward then "
                "`torch.autograd.grad`; micrograd: its `Value` (with `sin` and `exp` added in "
                "its own style), forward then `backward()`, run with a recursion limit of 10^7 "
                "in a thread with a 512 MiB stack; SymPy: expression built from the structure, "
                "`sympy.diff` for each input, evaluated by substituting the point. Each tool "
                f"and size runs in a fresh process with a {cfg['budget']:.0f} s budget for its "
                "first run; a peer over budget is not run at larger sizes.",
                ""]
        out += single_tables(res["single"], sizes, cfg["repeat"], cfg["cap"])
        g = res["single"].get("gradcalc", {})
        nz = [f"{r['nonzero_adjoints']:.0%} at {r['n']:,}" for r in g.values()
              if r.get("status") == "ok"]
        if nz:
            out += ["", "Share of nodes with a nonzero gradient (a `relu` at its flat side cuts "
                    "the chain; gradcalc skips nodes no gradient reaches, the other tools do "
                    "not): " + ", ".join(nz) + "."]
        out += ["", "## Cheap-gradient ratio", "",
                "time(value + gradient) / time(value) for gradcalc, in CPU time, on the same "
                "graphs: through the public API (`f.gradient(point)` against `f(point)`), and "
                "on the compiled tape alone (`tape.backward(tape.forward(...))` against "
                "`tape.forward(...)`). The API's gradient also runs `tape.kinks_hit` (the "
                "warnings for non-differentiable points), timed alone in the last column.", ""]
        out += ratio_table(res["single"], sizes)
    if "many" in res:
        mn = res["many"]
        out += ["", "## Many points", "",
                f"`{mn['expression']}` ({mn['op_nodes']} op nodes, {mn['tape_nodes']} tape "
                "nodes), value and three partials at x, y, z uniform in [-2, 2]; best of up to "
                "5 runs. gradcalc: `Function(src).gradient({\"x\": xs, \"y\": ys, \"z\": zs})` "
                "(NumPy imported by gradcalc with SIMD math off, so a batch gives the "
                "single-point floats; the points are split into blocks"
                + (f" of at most {mn['gradcalc_block']:,}" if mn.get("gradcalc_block") else "")
                + " run on a thread pool"
                + (f" of {mn['gradcalc_threads']}" if mn.get("gradcalc_threads") else "")
                + "; where gradcalc's C extension is built, a block of this program runs in C, "
                "256 points at a time, the same floats). `--fast-math`: the same call with "
                "`fast_math=True` (sin, cos, exp, expm1 and log from gradcalc's vector kernels, "
                "each within 2 ulp, not bit for bit). PyTorch: "
                "float64 tensors with `requires_grad`, `autograd.grad(f.sum(), ...)`. SymPy: "
                "`lambdify` of the value and `sympy.diff` partials, called on the arrays, in a "
                "fresh process with NumPy as users get it (SIMD on); the last column is "
                "gradcalc in that process, for comparison only. Ratios are to gradcalc."]
        if mn.get("sympy_phases"):
            p = mn["sympy_phases"]
            out[-1] += (f" SymPy's one-off cost (not in the table): diff {p['diff']:.2f} s, "
                        f"lambdify {p['lambdify']:.2f} s.")
        chk = mn.get("single_point_check")
        if chk:
            out[-1] += (f" gradcalc's batch equals its single-point results bit for bit at "
                        f"{chk['identical']} of {chk['points']} random points.")
        out += ["", "Wall-clock time, best of the runs:", ""] + many_table(mn)
        rows = {int(n): r for n, r in mn.get("rows", {}).items()}
        odd = [n for n, r in rows.items() if "torch" in r and "torch_1" in r
               and r["torch"]["seconds"] > 3 * r["torch_1"]["seconds"]]
        if odd:
            out += ["", f"- PyTorch with {mn.get('torch_threads')} threads took over 3× its "
                    f"one-thread time at {', '.join(f'{n:,}' for n in odd)} points in this run "
                    "(likely its threads waiting for a core held by the machine's other work); its "
                    "one-thread figures are the steadier comparison."]
        serial = [n for n, r in rows.items() if r["gradcalc"].get("cpu")
                  and r["gradcalc"]["cpu"] < 1.2 * r["gradcalc"]["seconds"]
                  and n >= 10**6]
        if serial and (mn.get("gradcalc_threads") or 1) > 1:
            out += [f"- gradcalc's CPU time was within 20% of its wall-clock time at "
                    f"{', '.join(f'{n:,}' for n in serial)} points: its "
                    f"{mn['gradcalc_threads']} threads did not run in parallel in this run."]
        if any("cpu" in r.get("gradcalc", {}) for r in mn.get("rows", {}).values()):
            out += ["", "CPU time of the process (all its threads added up), best of the same "
                    "runs: what the work costs the machine, and on a loaded machine the steadier "
                    "measure of a one-thread run:", ""] + many_table(mn, "cpu", False)
        for note in mn.get("notes", []):
            out.append(f"- {note}")
    if "startup" in res:
        st = res["startup"]
        out += ["", "## Start-up", "",
                f"Whole-process time, {st['repeat']} runs each (`benchmarks/startup.py`'s "
                "timer), of the benchmark environment's `gradcalc` installed as `pip install .` "
                "installs it (an editable install's import finder costs every run ~25 ms more: "
                "`benchmarks/startup.py`'s `plain_install`).", ""]
        out += startup_table(st)
    if "memory" in res:
        out += ["", "## Memory", "",
                "Peak resident set size of one parse + value + gradient (a peer: building its "
                "graph and its backward pass), each in a fresh process (`benchmarks/memory.py`). "
                "Baseline: the process after imports and after making the program (gradcalc: its "
                "text; a peer: the generator's structure); the kernel's high-water mark is reset "
                "there, so the peak is that of the work.", ""]
        out += memory_table(res["memory"])
    if "overhead" in res:
        out += ["", "## Per-call overhead", "",
                "A 10-node program parsed once and called again and again (`benchmarks/"
                "overhead.py`), µs per call, CPU time, best of many short rounds: the first "
                "`f.gradient(point)` of a fresh parse, later calls with new values for the same "
                "names, the bare tape (`tape.forward` + `tape.backward`, the point already "
                "checked), overhead = later − bare, and `f(point)` alone.", ""]
        out += overhead_table(res["overhead"])
    if "points" in res:
        pts = res["points"]
        out += ["", "## A points file through the command line", "",
                f"`gradcalc \"{pts['expression']}\" --points FILE.csv --format csv --no-check "
                "> out.csv` in a fresh process (`benchmarks/points_io.py`), best of the runs; "
                "every value written as Python's shortest repr, as before.", "",
                "| rows | wall | CPU | µs per row | peak RSS |",
                "| ---: | ---: | ---: | ---: | ---: |"]
        for n, r in pts["rows"].items():
            out.append(f"| {int(n):,} | {r['seconds']:.2f} s | {r['cpu']:.2f} s | "
                       f"{r['seconds'] / int(n) * 1e6:.2f} | {r['rss'] / 2**20:.0f} MiB |")
    if png_name:
        out += ["", "## Plot", "", f"![time against size, log-log]({png_name})"]
    for note in res.get("notes", []):
        out.append(f"- {note}")
    return "\n".join(out) + "\n"


def plot(res: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    ax = axes[0]
    single = res.get("single", {})
    series = [("gradcalc", "grad", "gradcalc value + gradient", "o-"),
              ("gradcalc", "parse", "gradcalc parse", "o--"),
              ("gradcalc", "floor", "bare flat tape (CPython floor)", "s:"),
              ("torch", "grad", "PyTorch scalar autograd", "^-"),
              ("micrograd", "grad", "micrograd", "v-"),
              ("sympy", "grad", "SymPy diff + evaluation", "d-")]
    for tool, key, label, style in series:
        rows = [r for r in single.get(tool, {}).values() if r.get("status") == "ok"]
        if rows:
            ax.loglog([r["n"] for r in rows], [r[key] for r in rows], style, label=label)
        over = [r for r in single.get(tool, {}).values() if r.get("status") == "timeout"]
        if over and key == "grad":
            r = over[0]
            ax.loglog([r["n"]], [r["budget"]], "x", color="black", markersize=9)
            ax.annotate(f"{LABELS[tool]}: > {r['budget']:.0f} s", (r["n"], r["budget"]),
                        textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xlabel("op nodes n")
    ax.set_ylabel("seconds of CPU time (one point)")
    ax.set_title("Single point: value + gradient of a random DAG")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    rows = res.get("many", {}).get("rows", {})
    threads = res.get("many", {}).get("torch_threads")
    for key, label, style in (("gradcalc", "gradcalc vectorized", "o-"),
                              ("torch", f"PyTorch ({threads} threads)", "^-"),
                              ("torch_1", "PyTorch (1 thread)", "^--"),
                              ("sympy", "SymPy lambdify", "d-")):
        pts = [(int(n), r[key]["seconds"]) for n, r in rows.items() if key in r]
        if pts:
            ax.loglog([n for n, _ in pts], [s for _, s in pts], style, label=label)
    ax.set_xlabel("points")
    ax.set_ylabel("seconds, wall-clock (value + 3 partials)")
    ax.set_title(f"Many points: a {res.get('many', {}).get('op_nodes', '?')}-op expression")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    m = res["machine"]
    fig.suptitle(f"gradcalc {m['versions']['gradcalc']} — {m['cpu']}, {m['cores']} cores, "
                 f"Python {m['python']}, {m['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
