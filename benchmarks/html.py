"""The --html page: how long gradcalc takes to write it, how big it is, how fast it opens.

    pip install playwright                  # and Debian's chromium: apt-get install chromium
    python -m benchmarks.html               # 200, 1,000, 5,000 and 10,000 op nodes
    python -m benchmarks.html --sizes 5000 --repeat 5
    python -m benchmarks.html --screenshot docs/walkthrough.png   # the README's picture
    python -m benchmarks.html --sizes --batches 8 64   # array programs only

The programs are benchmarks/dags.py's random DAGs (shared nodes, 10 inputs). Each page is opened
in Debian's headless Chromium (/usr/bin/chromium, driven by Playwright, never a downloaded
browser) with every network request refused; "open" is from the navigation's start to the end of
the page's script (the page marks it on <html data-ready>), "wall" the whole goto as Playwright
sees it, "End" the time to jump to the last step (every node and edge painted). Medians of
--repeat openings, each in a new tab. The array programs are a Linear → ReLU → Linear network
with cross-entropy (64 → 32 → 10, the digits example's sizes) on a batch of B rows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gradcalc import Function
from gradcalc.render import html as page_html
from gradcalc.report import Request, point_report

from .dags import op_nodes, point, source, structure

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CS231N = ("q = x + y; f = z*q", {"x": -2.0, "y": 5.0, "z": -4.0})


def build(n: int, folder: Path) -> tuple[Path, dict]:
    stmts = structure(n)
    fn = Function(source(stmts))
    t = time.perf_counter()
    report = point_report(fn, point(), Request(timeout=None, steps=True))
    walk = time.perf_counter() - t
    t = time.perf_counter()
    page = page_html.build(report)
    built = time.perf_counter() - t
    path = folder / f"dag{n}.html"
    path.write_text(page.text, encoding="utf-8")
    return path, {"op nodes": op_nodes(stmts), "page nodes": page.nodes,
                  "steps": len(report.walk.forward) + len(report.walk.backward),
                  "layout": page.layout, "MB": len(page.text.encode()) / 1e6,
                  "walkthrough s": walk, "page s": built}


MLP = "H = relu(X@W1 + b1); S = H@W2 + b2; L = cross_entropy(S, y)"


def build_arrays(batch: int, folder: Path) -> tuple[Path, dict]:
    from gradcalc.lazy import numpy
    from gradcalc.report import tensor_report
    from gradcalc.tensor_steps import walkthrough

    np = numpy()
    rng = np.random.default_rng(0)
    at = {"X": rng.standard_normal((batch, 64)), "W1": rng.standard_normal((64, 32)) * 0.1,
          "b1": np.zeros(32), "W2": rng.standard_normal((32, 10)) * 0.1, "b2": np.zeros(10),
          "y": rng.integers(0, 10, batch).astype(np.float64)}
    fn = Function(MLP)
    t = time.perf_counter()
    report = tensor_report(fn, at, Request(timeout=None, wrt=["W1", "b1", "W2", "b2"]))
    walk = walkthrough(fn, report.result)
    walked = time.perf_counter() - t
    t = time.perf_counter()
    page = page_html.build(report, walk=walk)
    built = time.perf_counter() - t
    path = folder / f"mlp{batch}.html"
    path.write_text(page.text, encoding="utf-8")
    numbers = sum(np.size(s.value) for s in walk.forward) + sum(
        np.size(s.downstream) + np.size(s.total) for s in walk.backward)
    return path, {"batch": batch, "page nodes": page.nodes, "numbers": int(numbers),
                  "steps": len(walk.forward) + len(walk.backward), "layout": page.layout,
                  "MB": len(page.text.encode()) / 1e6, "walkthrough s": walked, "page s": built}


def open_once(context, path: Path) -> dict:
    page = context.new_page()
    url = path.resolve().as_uri()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
    t = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("html[data-ready]")
    wall = time.perf_counter() - t
    ready = float(page.get_attribute("html", "data-ready")) / 1000
    page.locator("#graph").focus()
    t = time.perf_counter()
    page.keyboard.press("End")
    page.locator("#step-count").inner_text()
    end = time.perf_counter() - t
    page.close()
    if errors:
        raise RuntimeError(f"{path.name}: {errors[:3]}")
    return {"open s": ready, "wall s": wall, "End s": end}


def opened(context, path: Path, row: dict, repeat: int) -> None:
    """The medians of ``repeat`` openings of the page, into ``row``."""
    runs = [open_once(context, path) for _ in range(repeat)]
    for key in ("open s", "wall s", "End s"):
        row[key] = statistics.median(r[key] for r in runs)


def screenshot(context, target: Path, folder: Path) -> None:
    """The CS231n example mid-backward-pass (after step 2 of 4): the graph, the step, and the
    chain rule of q, clicked."""
    program, at = CS231N
    report = point_report(Function(program), at, Request(steps=True))
    path = folder / "cs231n.html"
    path.write_text(page_html.build(report).text, encoding="utf-8")
    page = context.new_page()
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("html[data-ready]")
    page.locator('#gc-svg [data-n="2"]').first.click()      # q: its chain rule in the panel
    page.locator("#graph").focus()
    for _ in range(len(report.walk.forward) + 2):
        page.keyboard.press("ArrowRight")
    page.locator("#graph").evaluate("g => g.blur()")
    box = page.locator("#stage").bounding_box()
    page.screenshot(path=str(target), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1200, "height": box["y"] + box["height"] + 8})
    page.close()
    print(f"wrote {target}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[200, 1000, 5000, 10000])
    ap.add_argument("--batches", type=int, nargs="*", default=[8, 64],
                    help="batch sizes of the array program (a Linear-ReLU-Linear network)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, help="write the CS231n picture here and stop")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="gradcalc-html-"))
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(folder / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1400, "height": 900})
        if args.screenshot:
            screenshot(context, args.screenshot, folder)
            context.close()
            return
        print("| op nodes | page nodes | steps | layout | page MB | walkthrough s | page s "
              "| open s | wall s | End s |")
        print("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in args.sizes:
            path, row = build(n, folder)
            opened(context, path, row, args.repeat)
            print(f"| {row['op nodes']:,} | {row['page nodes']:,} | {row['steps']:,} | "
                  f"{row['layout']} | {row['MB']:.1f} | {row['walkthrough s']:.2f} | "
                  f"{row['page s']:.2f} | {row['open s']:.2f} | {row['wall s']:.2f} | "
                  f"{row['End s']:.2f} |", flush=True)
        if args.batches:
            print("\n| batch | page nodes | numbers | steps | layout | page MB | walkthrough s "
                  "| page s | open s | wall s | End s |")
            print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for b in args.batches:
            path, row = build_arrays(b, folder)
            opened(context, path, row, args.repeat)
            print(f"| {b} | {row['page nodes']} | {row['numbers']:,} | {row['steps']} | "
                  f"{row['layout']} | {row['MB']:.2f} | {row['walkthrough s']:.2f} | "
                  f"{row['page s']:.2f} | {row['open s']:.2f} | {row['wall s']:.2f} | "
                  f"{row['End s']:.2f} |", flush=True)
        context.close()
    print(f"(pages in {folder})")


if __name__ == "__main__":
    main()
