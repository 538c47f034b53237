"""The backprop walkthrough (--steps), the picture (--graph) and the terminal tree (--tree)."""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from rich.console import Console

import gradcalc
from gradcalc.cli import main
from gradcalc.render.dot import to_dot
from gradcalc.render.tree import graph_tree
from gradcalc.steps import walkthrough

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


def walk(src, **point):
    f = gradcalc.parse(src)
    return walkthrough(f, f.gradient(**point))


def test_seed_walkthrough_numbers():
    w = walk("q = x + y; f = z*q", x=-2, y=5, z=-4)
    assert [(s.node, s.definition, s.value) for s in w.forward] == [
        ("x", "input", -2.0), ("y", "input", 5.0), ("q", "x + y", 3.0), ("z", "input", -4.0),
        ("f", "z·q", -12.0)]
    rows = [(s.edge, s.upstream, s.local_formula, s.local, s.downstream, s.total)
            for s in w.backward]
    assert rows == [
        ("f → z", 1.0, "∂(z·q)/∂z = q", 3.0, 3.0, 3.0),
        ("f → q", 1.0, "∂(z·q)/∂q = z", -4.0, -4.0, -4.0),
        ("q → x", -4.0, "∂(x+y)/∂x = 1", 1.0, -4.0, -4.0),
        ("q → y", -4.0, "∂(x+y)/∂y = 1", 1.0, -4.0, -4.0),
    ]
    assert w.gradient == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_shared_node_rows_add_up():
    w = walk("b = a + a; c = b + b", a=1)
    to_a = [s for s in w.backward if s.target == "a"]
    to_b = [s for s in w.backward if s.target == "b"]
    assert [s.downstream for s in to_b] == [1.0, 1.0]
    assert [s.total for s in to_b] == [1.0, 2.0]
    assert [s.upstream for s in to_a] == [2.0, 2.0]
    assert [s.total for s in to_a] == [2.0, 4.0]
    assert all(s.paths == 2 for s in to_a + to_b)
    assert w.gradient == {"a": 4.0}


@pytest.mark.parametrize("src, point", [
    ("x*y + sin(x)*exp(y)", {"x": 0.3, "y": -1.2}),
    ("a = x*x; b = a*y; c = sigmoid(b) + a; max(c, y)", {"x": 0.5, "y": 2.0}),
    ("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}),
])
def test_last_total_per_input_is_the_gradient(src, point):
    w = walk(src, **point)
    last = {}
    for s in w.backward:
        last[s.target] = s.total
        assert s.downstream == pytest.approx(s.upstream * s.local)
    for name, value in w.gradient.items():
        assert last.get(name, 0.0) == pytest.approx(value, rel=1e-15)


def test_unnamed_nodes_get_readable_labels():
    w = walk("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
    defs = {s.node: s.definition for s in w.forward}
    assert defs["t1"] == "w0·x0" and defs["t6"] == "exp(t5)" and defs["f"] == "1 / t7"
    formulas = {s.edge: s.local_formula for s in w.backward}
    assert formulas["f → t7"] == "∂(1/t7)/∂t7 = -1/t7^2"
    assert formulas["t6 → t5"] == "∂(exp(t5))/∂t5 = exp(t5)"


def test_labels_avoid_the_programs_own_names():
    w = walk("t1 = x*2; t1 + sin(x)", x=1)
    assert sorted(s.node for s in w.forward) == ["f", "t1", "t2", "x"]


def test_steps_json_and_plain():
    r = CliRunner().invoke(main, ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--steps",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    steps = json.loads(r.stdout)["steps"]
    assert [s["node"] for s in steps["forward"]] == ["x", "y", "q", "z", "f"]
    assert steps["backward"][1] == {
        "step": 2, "edge": "f → q", "from": "f", "to": "q", "upstream": 1.0,
        "local_formula": "∂(z·q)/∂q = z", "local": -4.0, "downstream": -4.0, "total": -4.0,
        "paths": 1}
    r = CliRunner().invoke(main, ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--steps",
                                  "--format", "plain", "--no-check"])
    assert "3. q = x + y = 3" in r.stdout
    assert ("2. f → q: upstream 1 × local -4 (∂(z·q)/∂q = z) = -4; total at q = -4"
            in r.stdout)


def test_steps_table():
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["b = a + a; c = b + b", "--at", "a=1",
                                                         "--steps"])
    assert r.exit_code == 0
    assert "Forward pass" in r.stdout and "Backward pass" in r.stdout
    assert "4 (sum of 2 paths)" in r.stdout


def test_steps_need_a_point():
    r = CliRunner().invoke(main, ["x^2", "--steps"])
    assert r.exit_code == 2
    assert "--steps needs a point" in r.stderr


def test_tree():
    w = walk("a = x*y; f = a + sin(a)", x=2, y=3)
    console = Console(width=100, record=True, color_system=None)
    console.print(graph_tree(w))
    text = console.export_text()
    assert "f = a + t1 = 5.72058" in text
    assert "a = x·y = 6, ∂f/∂a = 1.96017" in text
    assert "(shared: expanded above)" in text


def test_big_tree_is_cut_and_says_so():
    src = "v0 = x\n" + "\n".join(f"v{k} = v{k-1}*0.5 + x" for k in range(1, 300))
    w = walk(src, x=1)
    console = Console(width=1000, record=True, color_system=None)
    console.print(graph_tree(w, max_lines=50))
    text = console.export_text()
    assert "cut at 50 lines" in text
    assert len(text.splitlines()) <= 52


# --- the picture ----------------------------------------------------------------------------

def test_dot_text_has_values_gradients_and_local_labels():
    text = to_dot(walk("q = x + y; f = z*q", x=-2, y=5, z=-4))
    assert "<b>q</b> = x + y = 3" in text and "∂f/∂q = -4" in text
    assert text.count("->") == 4
    assert "∂f/∂q = z = -4" in text


def test_dot_escapes_every_label():
    w = walk("q = x + y; f = z*q", x=-2, y=5, z=-4)
    w.labels[0] = 'a<b&"c">θ'
    text = to_dot(w)
    assert "a&lt;b&amp;&quot;c&quot;&gt;θ" in text
    assert 'a<b&"c">' not in text


def svg_texts(path):
    root = ET.parse(path).getroot()
    return [("".join(t.itertext())).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


@needs_dot
def test_svg_of_the_seed_graph(tmp_path):
    out = tmp_path / "g.svg"
    r = CliRunner().invoke(main, ["q = x + y; f = z*q", "--at", "x=-2,y=5,z=-4", "--graph",
                                  str(out), "--no-check"])
    assert r.exit_code == 0, r.output
    texts = svg_texts(out)
    # (the edges' formulas, "∂f/∂q = z = -4", need a walkthrough with formulas: tests/test_dot.py)
    for expected in ["x", "y", "z", "q", "f", "= x + y = 3", "= z·q = -12", "∂f/∂q = -4",
                     "∂f/∂z = 3", "∂f/∂x = -4", "∂q/∂x = 1", "∂q/∂y = 1"]:
        assert expected in texts, expected


@needs_dot
def test_svg_with_awkward_labels(tmp_path):
    w = walk("θ = x*2; f = θ + 1", x=1.5)
    w.labels[0] = 'a<b&"c"'
    (tmp_path / "g.dot").write_text(to_dot(w), encoding="utf-8")
    subprocess.run(["dot", "-Tsvg", "-o", str(tmp_path / "g.svg"), str(tmp_path / "g.dot")],
                   check=True)
    texts = svg_texts(tmp_path / "g.svg")
    assert 'a<b&"c"' in texts
    assert "θ" in texts and "∂f/∂θ = 1" in texts


@needs_dot
def test_svg_of_a_300_node_program(tmp_path):
    src = "v0 = x\n" + "\n".join(f"v{k} = sin(v{k-1}) + 0.5*x" for k in range(1, 100))
    f = gradcalc.parse(src)
    w = walkthrough(f, f.gradient(x=0.3))
    assert len(w.tape.order) >= 300
    out = tmp_path / "big.svg"
    r = CliRunner().invoke(main, [src, "--at", "x=0.3", "--graph", str(out), "--no-check"])
    assert r.exit_code == 0, r.output
    texts = svg_texts(out)
    assert "v99" in texts and "v98" in texts and "x" in texts
    assert sum(1 for t in texts if t.startswith("∂v99/∂")) >= 200


@needs_dot
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf(tmp_path, ext, magic):
    out = tmp_path / f"g.{ext}"
    r = CliRunner().invoke(main, ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--graph", str(out),
                                  "--no-check"])
    assert r.exit_code == 0
    assert out.read_bytes()[:4] == magic


def test_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    r = CliRunner().invoke(main, ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--graph",
                                  str(tmp_path / "g.svg")])
    assert r.exit_code == 2
    assert "needs Graphviz's dot program" in r.stderr
    assert "apt-get install graphviz" in r.stderr
    r = CliRunner().invoke(main, ["z*(x+y)", "--at", "x=-2,y=5,z=-4", "--graph",
                                  str(tmp_path / "g.dot"), "--no-check"])
    assert r.exit_code == 0
    assert "digraph" in (tmp_path / "g.dot").read_text(encoding="utf-8")


def test_unknown_picture_format(tmp_path):
    r = CliRunner().invoke(main, ["x", "--at", "x=1", "--graph", str(tmp_path / "g.gif")])
    assert r.exit_code == 2
    assert "unknown picture format 'gif'" in r.stderr


def test_reassigned_names_get_distinct_labels():
    w = walk("c = c + 1; f = c*c", c=2)
    assert [s.node for s in w.forward] == ["c", "c'", "f"]
    rows = [(s.edge, s.total, s.paths, s.last) for s in w.backward]
    assert rows == [("f → c'", 3.0, 2, False), ("f → c'", 6.0, 2, True), ("c' → c", 6.0, 1, True)]
    assert w.gradient == {"c": 6.0}


def test_picture_needs_no_formulas():
    f = gradcalc.parse("x*y")
    w = walkthrough(f, f.gradient(x=1, y=2), formulas=False)
    assert all(s.local_formula == "" for s in w.backward)
    assert "∂f/∂x = 2" in to_dot(w)      # the local gradient's value, without its formula


def test_graph_into_a_missing_directory(tmp_path):
    r = CliRunner().invoke(main, ["x", "--at", "x=1", "--graph", str(tmp_path / "no" / "g.dot")])
    assert r.exit_code == 2
    assert "no/g.dot: No such file or directory" in r.stderr
