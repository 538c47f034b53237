"""--html FILE (issue 17): one self-contained page that walks through the backprop in a browser.

The first half needs no browser: the page embeds exactly the JSON of --format json --steps,
escapes whatever the program says, fetches nothing, and is refused where it does not apply. The
second half drives the page in Debian's headless Chromium with Playwright (skipped, with the
reason, where either is missing): every step by keyboard against the JSON, a node's chain rule,
the gradient check and the descent step, no console messages, no network, screenshots.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcalc import Function
from gradcalc.cli import main
from gradcalc.numfmt import fmt
from gradcalc.render import html as page_html
from gradcalc.report import Request, point_report

CHROMIUM = "/usr/bin/chromium"
README = ("z*(x+y)", "x=-2,y=5,z=-4")            # the README's --graph example
CS231N = ("q = x + y; f = z*q", "x=-2,y=5,z=-4")  # the CS231n notes' first example
SHARED = ("b = a*a; c = b + sin(a)", "a=2")       # a feeds three edges: paths meet


def run(*args, code=0):
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == code, r.output
    return r


def block(text: str, name: str):
    """A JSON data block of the page, as a script reading it would get it."""
    found = re.findall(rf'<script type="application/json" id="{name}">(.*?)</script>', text,
                       re.S)
    assert len(found) == 1
    return json.loads(found[0])


def write_page(tmp_path, program, at, *extra, name="walk.html", code=0):
    path = tmp_path / name
    run(program, "--at", at, "--html", str(path), *extra, code=code)
    return path


def report_of(program, at, check=True):
    point = {k: float(v) for k, v in (kv.split("=") for kv in at.split(","))}
    return point_report(Function(program), point,
                        Request(timeout=5.0 if check else None, steps=True))


# --- the page, without a browser -----------------------------------------------------------

@pytest.mark.parametrize("program", [README, CS231N, SHARED])
def test_the_embedded_json_is_format_json_steps(tmp_path, program):
    path = write_page(tmp_path, *program, "--no-check")
    printed = json.loads(run(*program[:1], "--at", program[1], "--no-check", "--steps",
                             "--format", "json").stdout)
    assert block(path.read_text(encoding="utf-8"), "gradcalc-data") == printed


def test_the_embedded_json_with_the_check_and_answers():
    r = report_of(*SHARED)
    from gradcalc.expect import check_answers, split_answers

    fn = Function(SHARED[0])
    r.verdicts = check_answers(fn, split_answers("c=4.909297426825682,dc/da=3", "c"),
                               r.result.point, None)
    page = page_html.build(r)
    data = block(page.text, "gradcalc-data")
    assert data == json.loads(page_html.json_text(r))
    assert data["check"]["status"] == "agree"
    assert [v["ok"] for v in data["expect"]] == [True, False]
    assert len(data["steps"]["backward"]) == 5


def test_the_page_data_matches_the_walkthrough():
    r = report_of(*SHARED, check=False)
    text = page_html.build(r).text
    data, page = block(text, "gradcalc-data"), block(text, "gradcalc-page")
    labels = [n["label"] for n in page["nodes"]]
    assert labels == [s["node"] for s in data["steps"]["forward"]] == ["a", "b", "t1", "c"]
    assert [[labels[a], labels[b]] for a, b in page["edges"]] == \
        [[s["from"], s["to"]] for s in data["steps"]["backward"]]
    assert page["nodes"][1]["args"] == [0, 0]      # b = a·a reads a twice


HOSTILE = ('x_lt = 2*x  # </script><script>alert("pwned")</script><!-- <b>bold</b> & \n'
           'f = x_lt*y + x')


def test_program_text_is_escaped_everywhere(tmp_path):
    name = tmp_path / '<script>alert(2)<\\script><b>x.gc'
    name.write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "walk.html"
    run("-f", str(name), "--at", "x=1,y=2", "--html", str(out), "--expect",
        "f=5,df/dx=2*y+1")
    text = out.read_text(encoding="utf-8")
    assert len(re.findall(r"<script", text, re.I)) == 3        # the page's own three
    assert len(re.findall(r"</script", text, re.I)) == 3
    assert "<script>alert" not in text and "<b>" not in text and "<!--" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;pwned&quot;)" in text   # shown, escaped
    assert "&lt;!-- &lt;b&gt;bold&lt;/b&gt; &amp;" in text
    assert block(text, "gradcalc-page")["title"].startswith(f"{name}\n")   # intact
    assert block(text, "gradcalc-data")["expect"][1]["answer"] == "2*y+1"


def test_script_json_cannot_close_a_script_element():
    text = json.dumps({"a": "</script><!--<script>", "b": "&\u2028"}, ensure_ascii=False)
    safe = page_html.script_json(text)
    assert "<" not in safe and ">" not in safe and "&" not in safe
    assert json.loads(safe) == json.loads(text)


def test_nothing_is_fetched(tmp_path):
    text = write_page(tmp_path, *CS231N).read_text(encoding="utf-8")
    assert not re.search(r"""\b(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:)?//""", text,
                         re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|<link|<img|<iframe", text, re.I)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert "default-src &#x27;none&#x27;" in csp and "unsafe-inline" not in csp


def test_the_csp_admits_exactly_the_page_script_and_style(tmp_path):
    import base64
    import hashlib
    import html

    text = write_page(tmp_path, *README, "--no-check").read_text(encoding="utf-8")
    csp = html.unescape(re.search(r'Content-Security-Policy" content="([^"]*)"', text).group(1))
    script = re.findall(r"<script>(.*?)</script>", text, re.S)
    style = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(script) == len(style) == 1

    def digest(s):
        return base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    assert f"script-src 'sha256-{digest(script[0])}'" in csp
    assert f"style-src 'sha256-{digest(style[0])}'" in csp


@pytest.mark.parametrize("path", ["missing-dir/walk.html", "afile/walk.html", "."])
def test_an_unwritable_path_is_exit_2(tmp_path, path):
    (tmp_path / "afile").write_text("x")
    r = run(*CS231N[:1], "--at", CS231N[1], "--html", str(tmp_path / path), "--no-check",
            code=2)
    assert "error: --html" in r.stderr and "cannot write it" in r.stderr
    assert r.stdout == ""        # nothing printed before the error


@pytest.mark.parametrize(("args", "words"), [
    (["x*y", "--at", "x=1,y=2", "--at", "x=2,y=3"], "one point"),
    (["x*y", "--points", "p.csv"], "one point"),
    (["x*y"], "--html needs a point"),
    (["W@x", "--at", "W=[[1,2],[3,4]],x=[1,2]", "--jacobian"], "--jacobian"),
    (["x^2*y", "--at", "x=1,y=2", "--order", "2"], "--order"),
    (["u = x*y; v = x + y", "--at", "x=1,y=2", "-o", "u,v"], "several outputs"),
    (["x^2 + y^2 = 1", "--at", "x=0.6,y=0.8", "--implicit", "y"], "--implicit"),
])
def test_html_is_refused_where_it_does_not_apply(tmp_path, args, words):
    (tmp_path / "p.csv").write_text("x,y\n1,2\n")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = run(*args, "--html", "walk.html", "--no-check", code=2)
    finally:
        os.chdir(old)
    assert words in r.stderr
    assert not (tmp_path / "walk.html").exists()


HESSIAN = ("x^2*y + sin(z)*x", "x=1,y=2,z=0.5")


def test_the_hessian_section_is_what_format_json_hessian_prints(tmp_path):
    path = tmp_path / "h.html"
    r = run(HESSIAN[0], "--at", HESSIAN[1], "--hessian", "--html", str(path))
    assert "with the Hessian" in r.stderr and "Hessian" in r.stdout
    text = path.read_text(encoding="utf-8")
    section = block(text, "gradcalc-page")["hessian"]
    words = section.pop("words")
    printed = json.loads(run(*HESSIAN[:1], "--at", HESSIAN[1], "--hessian", "--format",
                             "json").stdout)
    for timed in (section, printed):   # the check's seconds differ from run to run
        timed["higher_check"].pop("seconds")
    assert section == printed
    # by hand: f = x²y + x sin z; f_xx = 2y = 4, f_xy = 2x = 2, f_xz = cos z, f_zz = -x sin z
    h = section["hessian"]
    assert (h["x"]["x"], h["x"]["y"], h["y"]["y"]) == (4.0, 2.0, 0.0)
    assert abs(h["z"]["z"] + math.sin(0.5)) < 1e-15 and abs(h["x"]["z"] - math.cos(0.5)) < 1e-15
    assert words == {"verdict": "not a critical point: the gradient is not 0 here", "notes": []}
    # the walkthrough is the gradient's, as without --hessian
    assert block(text, "gradcalc-data")["steps"] == json.loads(run(
        *HESSIAN[:1], "--at", HESSIAN[1], "--steps", "--no-check", "--format", "json").stdout
    )["steps"]


def test_the_hessian_at_a_minimum_says_so(tmp_path):
    path = tmp_path / "m.html"
    run("(x-1)^2 + 2*(y+1)^2 + x*y/2", "--at", "x=1.2,y=-1.15", "--hessian", "--no-check",
        "--html", str(path))
    section = block(path.read_text(encoding="utf-8"), "gradcalc-page")["hessian"]
    # ∇f = (2(x-1) + y/2, 4(y+1) + x/2) = (0.4 - 0.575, -0.6 + 0.6): not 0, so no verdict of a
    # minimum; the Hessian [[2, 1/2], [1/2, 4]] is positive definite all the same
    assert section["hessian"] == {"x": {"x": 2.0, "y": 0.5}, "y": {"x": 0.5, "y": 4.0}}
    assert section["definiteness"] == "positive definite"


def test_the_command_line_says_where_it_wrote_and_how(tmp_path):
    path = tmp_path / "walk.html"
    r = run(*CS231N[:1], "--at", CS231N[1], "--html", str(path), "--no-check")
    assert "f = -12" in r.stdout          # the usual output too
    assert f"wrote the walkthrough page to {path} (5 nodes" in r.stderr
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_without_graphviz_the_page_lays_the_graph_out_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = tmp_path / "walk.html"
    r = run(*SHARED[:1], "--at", SHARED[1], "--html", str(path), "--no-check")
    assert "its own layout: Graphviz's dot program is not installed" in r.stderr
    page = block(path.read_text(encoding="utf-8"), "gradcalc-page")
    assert page["layout"]["engine"] == "own"
    assert "not installed" in page["layout"]["note"]


def test_own_layout_places_every_node_without_overlap():
    r = report_of("h = relu(w1*x + b1); s = w2*h + b2; L = (s - y)^2",
                  "w1=0.5,x=2,b1=-0.3,w2=1.5,b2=0.1,y=1", check=False)
    page = page_html.build(r, layout="own")
    data = block(page.text, "gradcalc-page")
    layout = data["layout"]
    assert page.layout == "own" and layout["engine"] == "own"
    assert {b[0] for b in layout["boxes"]} == set(range(len(data["nodes"])))
    boxes = layout["boxes"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1] or a[2] + a[4] <= b[2]
                     or b[2] + b[4] <= a[2])
            assert apart, (a, b)
    keys = {e[2] for e in layout["edges"]}
    assert {f"{a}-{b}" for a, b in data["edges"]} <= keys


def label_rects(layout):
    """Each edge label's rectangle as the page draws it: 12 px text from its baseline."""
    rects = {}
    for key, (text, x, y, anchor) in layout["labels"].items():
        w = len(text) * 12 * 0.6
        left = {"start": x, "end": x - w, "middle": x - w / 2}[anchor]
        rects[key] = (left, y - 12, left + w, y + 3)
    return rects


def overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.mark.parametrize(("program", "at", "rankdir"), [
    ("a = x*y + z; b = sin(a)*x; c = a*b - y*z; d = exp(-c^2) + b*a; f = d*c + x*y*z",
     "x=0.5,y=-1.2,z=0.7", "auto"),
    ("a = x*y + z; b = sin(a)*x; c = a*b - y*z; d = exp(-c^2) + b*a; f = d*c + x*y*z",
     "x=0.5,y=-1.2,z=0.7", "LR"),
    ("h = relu(w1*x + b1); s = w2*h + b2; L = (s - y)^2", "w1=0.5,x=2,b1=-0.3,w2=1.5,b2=0.1,y=1",
     "TB"),
    ("u = x*y*z*w; f = u + x*u + y*u + z*u + w*u", "x=1,y=2,z=3,w=4", "auto"),
])
def test_own_layout_edge_labels_overlap_no_box_and_no_other_label(program, at, rankdir):
    r = report_of(program, at, check=False)
    data = block(page_html.build(r, layout="own", rankdir=rankdir).text, "gradcalc-page")
    layout = data["layout"]
    assert layout["lr"] == (rankdir == "LR") or rankdir == "auto"
    rects = label_rects(layout)
    assert len(rects) == len(data["edges"])            # every walked edge keeps its label
    boxes = [(b[1], b[2], b[1] + b[3], b[2] + b[4]) for b in layout["boxes"]]
    keys = list(rects)
    for i, k in enumerate(keys):
        assert not any(overlap(rects[k], box) for box in boxes), k
        assert not any(overlap(rects[k], rects[j]) for j in keys[i + 1:]), k


def test_a_big_graph_draws_repeated_inputs_once_per_use():
    program = "\n".join(f"v{k} = sin(v{k - 1} + x*{k})" if k else "v0 = sin(x)"
                        for k in range(60))
    page = page_html.build(report_of(program, "x=0.1", check=False), layout="own")
    data = block(page.text, "gradcalc-page")
    assert page.nodes == len(data["nodes"]) > page_html.SPLIT_INPUTS_ABOVE
    uses = sum(n["args"].count(0) for n in data["nodes"])
    assert data["nodes"][0]["label"] == "x" and uses == 60
    assert len([b for b in data["layout"]["boxes"] if b[0] == 0]) == uses


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_graphviz_picture_is_annotated_for_the_script():
    r = report_of(*SHARED, check=False)
    page = page_html.build(r)
    assert page.layout == "graphviz" and page.note == ""
    data = block(page.text, "gradcalc-page")
    for k in range(len(data["nodes"])):
        assert f'data-n="{k}"' in page.text
    for a, b in data["edges"]:
        assert f'data-e="{a}-{b}"' in page.text
    assert page.text.count('class="gc-gv"') == 4     # every node's gradient, held back
    assert "<?xml" not in page.text and "<!DOCTYPE svg" not in page.text


def test_a_graph_too_big_for_graphviz_gets_its_own_layout_and_a_note():
    program = "\n".join(f"v{k} = v{k - 1}*0.5 + sin(x)" if k else "v0 = x" for k in range(250))
    page = page_html.build(report_of(program, "x=0.3", check=False))
    assert page.layout == "own"
    assert f"more than the {page_html.DOT_MAX_NODES}" in page.note


def test_the_gradient_check_and_the_step_are_computed_by_gradcalc():
    r = report_of("log(x)*y + x^3", "x=0.05,y=2", check=False)
    page = block(page_html.build(r).text, "gradcalc-page")
    fn = Function("log(x)*y + x^3")
    rows = page["gradcheck"]["rows"]
    small = rows["x"][page["gradcheck"]["h"].index(1e-5)]
    assert small["estimate"] == pytest.approx(r.result.gradient["x"], rel=1e-6)
    assert small["plus"] == fn(x=0.05 + 1e-5, y=2)
    big = rows["x"][page["gradcheck"]["h"].index(0.1)]
    assert big["estimate"] is None and "log(x) is undefined" in big["error"]
    step = page["descent"]["rows"][page["descent"]["rates"].index(0.001)]
    g = r.result.gradient
    assert step["point"] == {"x": 0.05 - 0.001 * g["x"], "y": 2 - 0.001 * g["y"]}
    assert step["value"] == fn(step["point"])


# --- the page in a browser -------------------------------------------------------------------

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no browser: {CHROMIUM} is missing (Debian: apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="gradcalc-chromium-")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1400, "height": 900})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    path = tmp_path_factory.mktemp("screenshots")
    yield path
    print(f"\nscreenshots of the --html pages: {path}")


class Opened:
    """A page loaded from a file with every network request refused and every console message,
    page error, dialog and request recorded."""

    def __init__(self, context, path: Path):
        self.url = path.resolve().as_uri()
        self.page = context.new_page()
        self.messages: list[str] = []
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.messages.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.messages.append(f"dialog: {d.message}"),
                                          d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.route("**/*", self._route)
        started = time.perf_counter()
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready]")
        self.seconds = time.perf_counter() - started
        self.data = self.page.evaluate(
            "JSON.parse(document.getElementById('gradcalc-data').textContent)")

    def _route(self, route):
        if route.request.url == self.url:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def check_clean(self):
        assert self.messages == []
        assert self.refused == []
        assert set(self.requests) <= {self.url}

    def close(self):
        self.page.close()


@pytest.fixture
def opened(browser):
    pages = []

    def open_(path):
        pages.append(Opened(browser, path))
        return pages[-1]

    yield open_
    for p in pages:
        p.close()


def f6(x) -> str:
    """A number as the page shows it: as gradcalc's tables print it (6 significant digits)."""
    return fmt(float(x), 6)


def paths_text(backward, b):
    s = backward[b]
    if s["paths"] <= 1:
        return ""
    last = all(t["to"] != s["to"] for t in backward[b + 1:])
    return f"(sum of {s['paths']} paths)" if last else "(+ more)"


def check_every_step(o: Opened, shots: Path, name: str):
    """Press → through every step, checking the panel against the JSON (numbers as gradcalc's
    tables print them), then ← back to the start."""
    forward, backward = o.data["steps"]["forward"], o.data["steps"]["backward"]
    o.page.locator("#graph").focus()
    for s in forward:
        o.page.keyboard.press("ArrowRight")
        assert o.text("#step-count") == f"Forward pass: step {s['step']} of {len(forward)}"
        assert o.text("#cur-node") == s["node"]
        assert o.text("#cur-def") == s["definition"]
        assert o.text("#cur-value") == f6(s["value"])
        assert float(o.page.get_attribute("#cur-value", "data-value")) == s["value"]
        node = o.page.locator(f'#gc-svg [data-n="{s["step"] - 1}"]').first
        assert "gc-fwd" in node.get_attribute("class").split()
    for b, s in enumerate(backward):
        o.page.keyboard.press("ArrowRight")
        assert o.text("#step-count").startswith(
            f"Backward pass: step {s['step']} of {len(backward)} (edge {s['edge']})")
        assert o.text("#cur-edge") == s["edge"]
        assert o.text("#cur-up") == f6(s["upstream"])
        assert o.text("#cur-formula") == s["local_formula"]
        assert o.text("#cur-local") == f6(s["local"])
        assert o.text("#cur-down") == f6(s["downstream"])
        assert o.text("#cur-total") == f6(s["total"])
        assert o.page.locator("#cur-paths").inner_text() == paths_text(backward, b)
        if b == len(backward) // 2:
            o.page.screenshot(path=str(shots / f"{name}-mid-backward.png"))
    o.page.keyboard.press("ArrowRight")              # past the end: stays there
    assert o.text("#cur-edge") == backward[-1]["edge"]
    total = len(forward) + len(backward)
    for _ in range(total):
        o.page.keyboard.press("ArrowLeft")
    assert o.text("#step-count").startswith("Start:")
    assert o.page.locator("#gc-svg .gc-fwd").count() == 0


def test_every_step_of_the_readme_example(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *README))
    check_every_step(o, shots, "readme")
    o.page.keyboard.press("End")
    assert o.page.locator("#gc-svg .gc-fwd").count() == 5
    assert o.page.locator("#gc-svg .gc-bwd").count() == 5     # every gradient, final
    o.page.keyboard.press("Home")
    assert o.page.locator("#gc-svg .gc-fwd, #gc-svg .gc-bwd").count() == 0
    o.check_clean()


def test_every_step_where_paths_meet(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *SHARED))
    check_every_step(o, shots, "shared")
    o.check_clean()


def test_every_step_in_the_own_layout(tmp_path, opened, shots):
    path = tmp_path / "own.html"
    path.write_text(page_html.build(report_of(*SHARED), layout="own").text, encoding="utf-8")
    o = opened(path)
    assert "gradcalc's own" in o.text("#layout-note")
    check_every_step(o, shots, "own-layout")
    o.check_clean()


def test_a_node_clicked_shows_its_chain_rule(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *SHARED))
    backward = o.data["steps"]["backward"]
    o.page.locator('#gc-svg [data-n="0"]').first.click()
    assert o.text("#node-name") == "a"
    into = [s for s in backward if s["to"] == "a"]
    rows = o.page.locator("#node-expansion li")
    assert rows.count() == len(into) == 3
    for k, s in enumerate(into):
        row = rows.nth(k)
        assert row.locator(".x-via").inner_text() == s["from"]
        assert row.locator(".x-formula").inner_text() == s["local_formula"]
        assert row.locator(".x-up").inner_text() == f6(s["upstream"])
        assert row.locator(".x-local").inner_text() == f6(s["local"])
        assert row.locator(".x-down").inner_text() == f6(s["downstream"])
    total = o.data["gradient"]["a"]
    assert o.text("#node-sum").endswith(f"= {f6(total)} (sum of 3 paths)")
    assert o.text("#node-grad") == f6(total)
    assert o.page.locator("#node-chain math").count() == 1      # the rule, in MathML
    assert "✓ agrees" in o.text("#node-check")
    assert "2*a + cos(a)" in o.text("#node-check")
    o.page.screenshot(path=str(shots / "shared-node-a.png"))
    # by keyboard: Tab to a node, Enter
    o.page.locator('#gc-svg [data-n="1"]').first.focus()
    o.page.keyboard.press("Enter")
    assert o.text("#node-name") == "b"
    assert o.text("#node-def") == "b = a·a"
    o.check_clean()


def test_results_checks_answers_and_the_try_it_buttons(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *SHARED, "--expect", "c=4.909297426825682,dc/da=3",
                          code=1))     # a wrong answer: exit 1, and the page says which
    assert o.text("#value") == f"c = {f6(o.data['value'])}"
    assert o.text('#gradient-table tr[data-name="a"]').split("\t")[:3] == \
        ["a", "2", f6(o.data["gradient"]["a"])]
    assert o.text("#verdict").startswith("✓ SymPy agrees")
    answers = o.page.locator("#expect-list li")
    assert answers.nth(0).inner_text().startswith("✓ right: c = ")
    assert answers.nth(1).inner_text().startswith("✗ WRONG: dc/da = 3 (correct: ")
    o.page.select_option("#gc-h", label="1e-05")
    o.page.click("#gc-run")
    estimate = float(o.page.get_attribute("#gc-estimate .num", "data-value"))
    assert estimate == pytest.approx(o.data["gradient"]["a"], rel=1e-8)
    assert "they agree" in o.text("#gc-out")
    o.page.select_option("#gd-rate", label="0.1")
    o.page.click("#gd-run")
    new = float(o.page.get_attribute("#gd-value .num", "data-value"))
    a = 2 - 0.1 * o.data["gradient"]["a"]
    assert new == Function(SHARED[0])(a=a)
    o.page.screenshot(path=str(shots / "shared-results.png"), full_page=True)
    o.check_clean()


def test_the_hessian_section_in_the_browser(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *HESSIAN, "--hessian"))
    section = o.page.evaluate(
        "JSON.parse(document.getElementById('gradcalc-page').textContent).hessian")
    for r, row in section["hessian"].items():
        cells = o.text(f'#hessian-table tr[data-name="{r}"]').split("\t")
        assert cells == [r, *(f"{f6(v)} ✓" for v in row.values())]
    assert o.text("#hessian-eigen") == "eigenvalues " + ", ".join(
        f6(e) for e in section["eigenvalues"]) + " indefinite"
    assert o.text("#hessian-test") == "not a critical point: the gradient is not 0 here"
    assert o.text("#hessian-verdict").startswith("✓ SymPy (sympy.diff twice) agrees")
    o.page.screenshot(path=str(shots / "hessian.png"), full_page=True)
    o.check_clean()


def test_play_and_the_printable_list(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *CS231N, "--no-check"))
    o.page.evaluate("s => { s.value = '8'; s.dispatchEvent(new Event('input')); }",
                    o.page.locator("#speed").element_handle())
    o.page.locator("#graph").focus()
    o.page.keyboard.press(" ")
    assert o.page.get_attribute("#play", "aria-pressed") == "true"
    deadline = time.monotonic() + 10
    while o.page.get_attribute("#play", "aria-pressed") == "true":   # it stops at the end
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert o.text("#step-count").startswith("Backward pass: step 4 of 4")
    o.page.keyboard.press("l")
    assert o.page.locator("#forward-table tbody tr").count() == 5
    assert o.page.locator("#backward-table tbody tr").count() == 4
    assert o.page.locator("#backward-table tbody tr").nth(2).inner_text().split("\t") == \
        ["3", "q → x", "-4", "∂(x+y)/∂x = 1", "1", "-4", "-4"]
    o.page.emulate_media(media="print")
    assert not o.page.locator("#controls").is_visible()
    assert o.page.locator("#all-steps").is_visible()
    o.page.screenshot(path=str(shots / "cs231n-print.png"), full_page=True)
    o.check_clean()


@pytest.mark.parametrize(("program", "at", "extra", "code", "shown"), [
    ("relu(x)*y", "x=0,y=2", [], 0, ("#warnings", "⚠ warning: relu(x) is not differentiable")),
    ("max(x, y)", "x=1,y=1", [], 0, ("#warnings", "even split")),
    ("sqrt(x^2)", "x=0", [], 1, ("#gradient", "undetermined")),       # an infinite local
    ("cbrt(x)^3", "x=0", [], 0, ("#gradient", "1 (limit)")),
    ("q = x + y; f = z*q", "x=-2,y=5,z=-4", ["--direction", "x=1,y=0,z=0"], 0,
     ("#extras", "∇f·v = -4")),
    ("x^2*y", "x=1/3,y=3", ["--exact"], 0, ("#extras", "∂f/∂y = 1/9")),
    ("q = x + y; f = z*q", "x=-2,y=5,z=-4", ["--wrt", "x,q"], 0, ("#gradient", "q\t3\t-4")),
    ("x", "x=3", [], 0, ("#gradient", "x\t3\t1")),                   # no edge to walk
    ("log(x)", "x=0.05", [], 0, ("#gradient", "20")),
])
def test_edge_cases_open_cleanly(tmp_path, opened, program, at, extra, code, shown):
    o = opened(write_page(tmp_path, program, at, *extra, code=code))
    o.page.locator("#graph").focus()
    for key in ("End", "i", "l", "Home", "ArrowRight"):
        o.page.keyboard.press(key)
    for button in ("#gc-run", "#gd-run"):
        if o.page.is_enabled(button):
            o.page.click(button)
    assert shown[1] in o.text(shown[0])
    o.check_clean()


@pytest.mark.parametrize(("program", "at", "pick"), [
    ("relu(x)*y", "x=0,y=2", "x"),
    ("f = sum(relu(W@x))", "W=[[1,0],[0,1]],x=[0,1]", "W[0, 1]"),
])
def test_the_gradient_check_at_a_kink_says_why_they_differ(tmp_path, opened, program, at, pick):
    o = opened(write_page(tmp_path, program, at, "--no-check"))
    o.page.select_option("#gc-input", label=pick)
    o.page.select_option("#gc-h", label="1e-05")
    o.page.click("#gc-run")
    # relu at 0: the central difference is (slope left + slope right) / 2 = half the slope;
    # backprop takes relu'(0) = 0
    estimate = float(o.page.get_attribute("#gc-estimate .num", "data-value"))
    assert float(o.page.get_attribute("#gc-backprop .num", "data-value")) == 0.0
    assert estimate == pytest.approx(1.0 if pick == "x" else 0.5, rel=1e-9)
    assert "the program has a kink here" in o.text("#gc-verdict")
    o.check_clean()


def test_a_number_json_cannot_write_becomes_a_string():
    r = report_of("sqrt(x^2)", "x=0", check=False)

    def refuse(name):
        raise ValueError(f"a bare {name}: not JSON")

    data = json.loads(page_html.json_text(r), parse_constant=refuse)   # strict JSON
    assert data["steps"]["backward"][0]["local"] == "Infinity"
    assert data["gradient"] == {"x": None}


def test_program_text_cannot_inject_anything(tmp_path, opened):
    source = tmp_path / "hostile.gc"
    source.write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "walk.html"
    run("-f", str(source), "--at", "x=1,y=2", "--html", str(out), "--no-check")
    o = opened(out)
    assert o.page.evaluate("document.scripts.length") == 3
    assert o.page.evaluate("document.querySelectorAll('b').length") == 0
    assert "</script><script>alert(\"pwned\")</script>" in o.text("#program")
    o.page.keyboard.press("End")
    o.check_clean()                    # no dialog, no error


def test_a_5000_node_page_opens_and_steps(tmp_path, opened, shots):
    """The time to open is reported (benchmarks/html.py measures it), not asserted."""
    program = "\n".join(
        f"v{k} = " + ("x0*x1" if k == 0 else f"sin(v{k - 1})*0.9 + v{k // 2}*0.05")
        for k in range(1700))
    r = point_report(Function(program), {"x0": 0.3, "x1": 0.7}, Request(timeout=None,
                                                                        steps=True))
    path = tmp_path / "big.html"
    page = page_html.build(r)
    path.write_text(page.text, encoding="utf-8")
    assert page.nodes >= 5000 and page.layout == "own"
    o = opened(path)
    print(f"\n{page.nodes} nodes, {len(page.text) / 1e6:.1f} MB: open in {o.seconds:.2f} s")
    o.page.locator("#graph").focus()
    for _ in range(3):
        o.page.keyboard.press("ArrowRight")
    o.page.keyboard.press("End")
    assert o.text("#cur-edge") == o.data["steps"]["backward"][-1]["edge"]
    o.page.keyboard.press("ArrowLeft")
    o.page.screenshot(path=str(shots / "big.png"))
    o.page.keyboard.press("Home")
    o.check_clean()


# --- programs over arrays ------------------------------------------------------------------

NET = ("h = relu(W@x + b); f = sum(h*h)", "W=[[1,2],[3,-4]],x=[1,-1],b=[0.5,0.5]")
BATCH = ("H = relu(X@W + b); f = mean(H*H)",
         "X=[[1,2],[-1,0.5],[0.3,-2]],W=[[0.5,-1],[1,0.25]],b=[0.1,-0.2]")
BIG = ("f = sum(tanh(X@w))", "X=randn(40,3),w=[1,-2,0.5]")   # 120 entries: summaries


def test_an_array_page_embeds_format_json_steps(tmp_path):
    path = write_page(tmp_path, *NET, "--no-check")
    printed = json.loads(run(NET[0], "--at", NET[1], "--no-check", "--steps", "--format",
                             "json").stdout)
    text = path.read_text(encoding="utf-8")
    assert block(text, "gradcalc-data") == printed
    page = block(text, "gradcalc-page")
    forward = printed["steps"]["forward"]
    assert page["tensor"] is True
    assert [n["label"] for n in page["nodes"]] == [s["node"] for s in forward]
    assert page["shapes"] == ["×".join(map(str, s["shape"])) or "scalar" for s in forward]
    # by hand: W@x = [-1, 7]; + b = [-0.5, 7.5]; h = relu = [0, 7.5]; f = 0 + 56.25;
    # ∂f/∂h = 2h = [0, 15] over the 2 paths of h*h, 7.5 each; ∂f/∂W = outer(∂f/∂t1, x)
    assert printed["value"] == 56.25
    into_h = [s for s in printed["steps"]["backward"] if s["to"] == "h"]
    assert [s["downstream"] for s in into_h] == [[0.0, 7.5], [0.0, 7.5]]
    assert [s["total"] for s in into_h] == [[0.0, 7.5], [0.0, 15.0]]
    assert printed["gradient"] == {"W": [[0.0, 0.0], [15.0, -15.0]], "x": [45.0, -60.0],
                                   "b": [0.0, 15.0]}
    assert "W = 2×2 [[1, 2], [3, -4]], x = 2 [1, -1]" in text   # the header, escaped as text


def test_the_array_gradient_check_and_step_are_computed_by_gradcalc(tmp_path):
    np = pytest.importorskip("numpy")
    page = block(write_page(tmp_path, *NET, "--no-check").read_text(encoding="utf-8"),
                 "gradcalc-page")
    check = page["gradcheck"]
    # the entries with the largest partials first: |∂f/∂W| = [[0, 0], [15, 15]]
    assert list(check["rows"]) == ["W[1, 0]", "W[1, 1]", "W[0, 0]", "x[1]", "x[0]", "b[1]",
                                   "b[0]"]
    h5 = check["h"].index(1e-5)
    for label, rows in check["rows"].items():
        r = rows[h5]
        assert r["estimate"] == pytest.approx(r["backprop"], rel=1e-6, abs=1e-6), label
    assert check["rows"]["x[1]"][h5]["backprop"] == -60.0
    W, x, b = np.array([[1, 2], [3, -4.0]]), np.array([1, -1.0]), np.array([0.5, 0.5])
    gW, gx, gb = np.array([[0, 0], [15, -15.0]]), np.array([45, -60.0]), np.array([0, 15.0])
    for r in page["descent"]["rows"]:
        lr = r["lr"]
        hidden = np.maximum((W - lr * gW) @ (x - lr * gx) + (b - lr * gb), 0)
        assert r["value"] == pytest.approx(float(np.sum(hidden * hidden)), rel=1e-14)
        assert r["predicted"] == pytest.approx(56.25 - lr * 6300)   # |∇f|² = 450 + 5625 + 225
        assert r["point"]["x"] == pytest.approx((x - lr * gx).tolist())


def test_an_array_walkthrough_too_big_for_a_page_is_refused(tmp_path):
    path = tmp_path / "w.html"
    r = run("f = sum(W@x)", "--at", "W=zeros(400,400),x=ones(400)", "--no-check", "--html",
            str(path), code=2)
    # forward: W, x, W@x, f; backward: the gradient sent and the running sum of each edge
    count = (160_000 + 400 + 400 + 1) + 2 * (400 + 160_000 + 400)
    assert "a page takes at most 250,000" in r.stderr and f"holds {count:,} numbers" in r.stderr
    assert r.stdout == "" and not path.exists()


def test_an_array_page_in_its_own_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = write_page(tmp_path, *BATCH, "--no-check")
    page = block(path.read_text(encoding="utf-8"), "gradcalc-page")
    assert page["layout"]["engine"] == "own"
    first = {b[0] for b in page["layout"]["boxes"]}
    assert first == set(range(len(page["nodes"])))
    # each edge keeps its VJP and dimension check as its label
    assert any("∂f/∂W = Xᵀ · ∂f/∂t1" in label[0] for label in page["layout"]["labels"].values())


def nums(o: Opened, selector: str) -> list[float]:
    """The exact values of the numbers shown inside an element (a number or a matrix)."""
    return [float(v) for v in o.page.eval_on_selector_all(
        f"{selector} .num, {selector}.num", "els => els.map(e => e.getAttribute('data-value'))")]


def flat(x) -> list[float]:
    if isinstance(x, list):
        return [v for item in x for v in flat(item)]
    return [float(x)]


def shown(o: Opened, selector: str, x) -> None:
    """What the page shows for a value: every entry of a small one (exact), else its shape and
    range as the walkthrough tables write them."""
    from gradcalc.render.tensor_steps import compact

    np = pytest.importorskip("numpy")
    arr = np.asarray(x, dtype=float)
    if arr.size <= 36 and arr.ndim <= 2:
        assert nums(o, selector) == flat(x)
    else:
        shape = "×".join(map(str, arr.shape))
        assert o.text(selector) == f"{shape}: {compact(arr, 6)}"


def check_every_array_step(o: Opened, shots: Path, name: str):
    forward, backward = o.data["steps"]["forward"], o.data["steps"]["backward"]
    o.page.locator("#graph").focus()
    for s in forward:
        o.page.keyboard.press("ArrowRight")
        assert o.text("#step-count") == f"Forward pass: step {s['step']} of {len(forward)}"
        assert o.text("#cur-node") == s["node"] and o.text("#cur-def") == s["definition"]
        assert o.text("#cur-shape") == f"({'×'.join(map(str, s['shape'])) or 'scalar'})"
        shown(o, "#cur-value", s["value"])
    for b, s in enumerate(backward):
        o.page.keyboard.press("ArrowRight")
        assert o.text("#cur-edge") == s["edge"]
        assert o.text("#cur-formula") == s["formula"]
        assert o.text("#cur-dims") == f"{s['dims']} ✓"
        shown(o, "#cur-down", s["downstream"])
        shown(o, "#cur-total", s["total"])
        assert o.page.locator("#cur-paths").inner_text() == paths_text(backward, b)
        if s["broadcast"]:
            assert o.text("#cur-broadcast") == s["broadcast"]
        if b == len(backward) // 2:
            o.page.screenshot(path=str(shots / f"{name}-mid-backward.png"))
    for _ in range(len(forward) + len(backward)):
        o.page.keyboard.press("ArrowLeft")
    assert o.text("#step-count").startswith("Start:")


@pytest.mark.parametrize("program", [NET, BATCH, BIG])
def test_every_step_of_an_array_program(tmp_path, opened, shots, program):
    o = opened(write_page(tmp_path, *program, "--seed", "1"))
    check_every_array_step(o, shots, "arrays-" + program[0].split("=")[0].strip())
    o.check_clean()


def test_every_array_step_in_the_own_layout(tmp_path, opened, shots, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    o = opened(write_page(tmp_path, *BATCH, "--no-check"))
    assert "gradcalc's own" in o.text("#layout-note")
    check_every_array_step(o, shots, "arrays-own")
    o.page.keyboard.press("End")
    box = o.page.locator('#gc-svg [data-n="1"]').first      # W, 2×2: its gradient, summarised
    assert "∂f/∂W = [[" in box.text_content()
    o.check_clean()


def test_an_array_node_results_and_tools_in_the_browser(tmp_path, opened, shots):
    o = opened(write_page(tmp_path, *NET))
    data = o.data
    o.page.keyboard.press("End")
    o.page.locator('#gc-svg [data-n="5"]').first.click()       # h: two paths meet
    assert o.text("#node-name") == "h" and o.text("#node-shape") == "2"
    assert nums(o, "#node-value") == [0.0, 7.5] and nums(o, "#node-grad") == [0.0, 15.0]
    rows = o.page.locator("#node-expansion li")
    assert rows.count() == 2
    assert rows.nth(0).locator(".x-formula").inner_text() == "∂f/∂h = ∂f/∂t3 ⊙ h"
    assert "the sum of 2 paths" in o.text("#node-sum")
    o.page.locator('#gc-svg [data-n="0"]').first.click()       # W: its check
    assert o.text("#node-check").endswith(
        "✓ agrees — SymPy, entry by entry: 4 entries, largest relative error 0")
    assert o.text("#verdict").startswith("✓ SymPy agrees, entry by entry (8 entries")
    assert o.text("#value") == "f = 56.25"
    row = o.page.locator('#gradient-table tr[data-name="W"]')
    assert nums(o, '#gradient-table tr[data-name="W"]') == [1, 2, 3, -4, 0, 0, 15, -15]
    assert "2×2" in row.inner_text() and "✓ agrees" in row.inner_text()
    o.page.select_option("#gc-input", label="x[1]")
    o.page.select_option("#gc-h", label="1e-05")
    o.page.click("#gc-run")
    assert float(o.page.get_attribute("#gc-backprop .num", "data-value")) == -60.0
    assert float(o.page.get_attribute("#gc-estimate .num", "data-value")) == \
        pytest.approx(-60.0, rel=1e-8)
    o.page.select_option("#gd-rate", label="0.01")
    o.page.click("#gd-run")
    assert float(o.page.get_attribute("#gd-value .num", "data-value")) == \
        pytest.approx(12.0168, abs=1e-4)
    o.page.keyboard.press("l")
    assert o.page.locator("#forward-table > tbody > tr").count() == len(data["steps"]["forward"])
    assert o.page.locator("#backward-table > tbody > tr").count() == len(data["steps"]["backward"])
    o.page.screenshot(path=str(shots / "arrays-results.png"), full_page=True)
    o.check_clean()
