"""--steps and --graph for arrays (issue 15): the forward pass with each node's shape, the backward
pass with each edge's VJP in student notation, its dimension analysis and the shape check, the
broadcast sums; the numbers against NumPy; the tables at 60 columns; the picture's labels."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

import gradcalc
from gradcalc import tensor
from gradcalc.cli import main
from gradcalc.render.dot import to_dot
from gradcalc.render.tensor_steps import compact, steps_tables
from gradcalc.tensor_steps import FORMULAS, Edge, broadcast_axes, formula, walkthrough

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")

NET = "h = W @ x + b; f = sum(relu(h))"
W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
X = np.array([1.0, -1.0, 2.0])
B = np.array([0.5, -30.0])     # h = [5.5, -19]: the second unit is off
AT = "W=[[1,2,3],[4,5,6]],x=[1,-1,2],b=[0.5,-30]"

BATCH = "H = X @ W + b; f = mean(relu(H))"
XB = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]])
WB = np.array([[1.0, -1.0], [2.0, 0.0]])
BB = np.array([0.5, -3.0])
AT_BATCH = "X=[[1,2],[0,1],[1,1]],W=[[1,-1],[2,0]],b=[0.5,-3]"


def walk(src, **point):
    fn = gradcalc.parse(src)
    return walkthrough(fn, tensor.gradient(fn, {k: np.asarray(v, dtype=float) if isinstance(
        v, list) else v for k, v in point.items()}))


def rows(w):
    return {s.edge: s for s in w.backward}


def run(args, width=200):
    return CliRunner(env={"COLUMNS": str(width)}).invoke(main, args)


# --- the walk -----------------------------------------------------------------------------------

def test_the_forward_pass_names_shapes_and_values_as_numpy_computes_them():
    w = walk(NET, W=W, x=X, b=B)
    assert [(s.step, s.node, s.definition, s.op, s.shape) for s in w.forward] == [
        (1, "W", "input", "input", (2, 3)), (2, "x", "input", "input", (3,)),
        (3, "t1", "W @ x", "matmul", (2,)), (4, "b", "input", "input", (2,)),
        (5, "h", "t1 + b", "add", (2,)), (6, "t2", "relu(h)", "relu", (2,)),
        (7, "f", "sum(t2)", "sum", ())]
    values = {s.node: s.value for s in w.forward}
    h = W @ X + B
    assert np.array_equal(values["t1"], W @ X) and np.array_equal(values["h"], h)
    assert np.array_equal(values["t2"], np.maximum(h, 0)) and values["f"] == 5.5


def test_the_backward_formulas_name_w_x_b_with_their_shapes_and_checks():
    w = walk(NET, W=W, x=X, b=B)
    got = [(s.edge, s.formula, s.dims, s.shape, s.target_shape, s.shapes_match, s.summed)
           for s in w.backward]
    assert got == [
        ("f → t2", "∂f/∂t2 = ∂f/∂f · ones(2)", "scalar → 2", (2,), (2,), True, ()),
        ("t2 → h", "∂f/∂h = ∂f/∂t2 ⊙ 1(h > 0)", "2", (2,), (2,), True, ()),
        ("h → t1", "∂f/∂t1 = ∂f/∂h", "2", (2,), (2,), True, ()),
        ("h → b", "∂f/∂b = ∂f/∂h", "2", (2,), (2,), True, ()),     # same shapes: no sum
        ("t1 → W", "∂f/∂W = ∂f/∂t1 · xᵀ", "(2×1)·(1×3) = 2×3", (2, 3), (2, 3), True, ()),
        ("t1 → x", "∂f/∂x = Wᵀ · ∂f/∂t1", "(3×2)·(2) = 3", (3,), (3,), True, ()),
    ]
    assert all(s.broadcast == "" and s.paths == 1 and s.last for s in w.backward)


def test_the_gradients_sent_are_numpys_closed_forms():
    w = walk(NET, W=W, x=X, b=B)
    mask = (W @ X + B > 0).astype(float)   # ∂f/∂h
    r = rows(w)
    assert np.array_equal(r["t2 → h"].downstream, mask)
    assert np.array_equal(r["h → b"].downstream, mask)
    assert np.array_equal(r["t1 → W"].downstream, np.outer(mask, X))
    assert np.array_equal(r["t1 → x"].downstream, W.T @ mask)
    for name, g in w.gradient.items():
        assert np.array_equal(next(s.total for s in w.backward if s.target == name and s.last), g)


def test_a_bias_broadcast_over_a_batch_is_summed_over_the_rows():
    w = walk(BATCH, X=XB, W=WB, b=BB)
    s = rows(w)["H → b"]
    assert s.formula == "∂f/∂b = Σ_rows ∂f/∂H"
    assert s.dims == "Σ_rows (3×2) = 2" and s.summed == (0,)
    assert s.broadcast == "summed over the rows (axis 0): b (2) was broadcast to each of the 3 rows"
    assert s.shape == s.target_shape == (2,) and s.shapes_match
    upstream = rows(w)["t2 → H"].downstream
    assert np.array_equal(s.downstream, upstream.sum(axis=0))
    assert rows(w)["t1 → W"].formula == "∂f/∂W = Xᵀ · ∂f/∂t1"
    assert rows(w)["t1 → W"].dims == "(2×3)·(3×2) = 2×2"
    assert rows(w)["t1 → X"].formula == "∂f/∂X = ∂f/∂t1 · Wᵀ"
    assert rows(w)["f → t2"].formula == "∂f/∂t2 = ∂f/∂f · ones(3×2) / 6"


def test_a_scalar_times_an_array_sums_every_entry_and_a_column_bias_the_columns():
    w = walk("f = sum(c*x)", c=2.0, x=[1.0, 2.0, 3.0])
    s = rows(w)["t1 → c"]
    assert s.formula == "∂f/∂c = Σ_all (∂f/∂t1 ⊙ x)" and s.shape == () and s.summed == (0,)
    assert "summed over every entry" in s.broadcast and s.downstream == 6.0
    w = walk("f = sum(A + v)", A=np.ones((2, 3)), v=np.ones((2, 1)))
    s = rows(w)["t1 → v"]
    assert s.formula == "∂f/∂v = Σ_cols ∂f/∂t1" and s.summed == (1,) and s.shape == (2, 1)


@pytest.mark.parametrize("src, point, edge, text", [
    ("sum(x.T)", {"x": np.ones((2, 3))}, "t1 → x", "∂f/∂x = (∂f/∂t1)ᵀ"),
    ("sum([a, b])", {"a": 1.0, "b": 2.0}, "t1 → b", "∂f/∂b = (∂f/∂t1)[1]"),
    ("sum(x - y)", {"x": np.ones(2), "y": np.ones(2)}, "t1 → y", "∂f/∂y = −∂f/∂t1"),
    ("sum(x * y)", {"x": np.ones(2), "y": np.ones(2)}, "t1 → x", "∂f/∂x = ∂f/∂t1 ⊙ y"),
    ("sum(c * x)", {"c": 2.0, "x": np.ones(2)}, "t1 → x", "∂f/∂x = ∂f/∂t1 · c"),
    ("sum(x / y)", {"x": np.ones(2), "y": np.ones(2)}, "t1 → y", "∂f/∂y = −∂f/∂t1 ⊙ x / y²"),
    ("sum(x^3)", {"x": np.ones(2)}, "t1 → x", "∂f/∂x = ∂f/∂t1 ⊙ 3·x^2"),
    ("sum(x^y)", {"x": np.ones(2), "y": np.ones(2)}, "t1 → y", "∂f/∂y = ∂f/∂t1 ⊙ t1 ⊙ ln x"),
    ("sum(-x)", {"x": np.ones(2)}, "t1 → x", "∂f/∂x = −∂f/∂t1"),
    ("sum(sinh(x))", {"x": np.ones(2)}, "t1 → x", "∂f/∂x = ∂f/∂t1 ⊙ sinh'(x)"),
    ("sum(max(x, y))", {"x": np.ones(2), "y": np.zeros(2)}, "t1 → y",
     "∂f/∂y = ∂f/∂t1 ⊙ ∂t1/∂y"),
    ("x @ y", {"x": np.ones(3), "y": np.ones(3)}, "f → x", "∂f/∂x = ∂f/∂f · y"),
    ("sum(x @ M)", {"x": np.ones(2), "M": np.ones((2, 3))}, "t1 → M", "∂f/∂M = x · (∂f/∂t1)ᵀ"),
])
def test_each_ops_formula(src, point, edge, text):
    w = walk(src, **point)
    s = rows(w)[edge]
    assert s.formula == text and s.shapes_match


def test_an_op_without_an_entry_still_renders():
    e = Edge("softmax_of_the_future", 0, "∂f/∂p", "p", ("z",), ((3,),), (3,), (None,))
    assert formula(e)[0] == "the VJP of softmax_of_the_future applied to ∂f/∂p"
    assert {"matmul", "transpose", "sum", "mean", "stack", "add", "sub", "mul", "div",
            "pow"} <= set(FORMULAS)


def test_broadcast_axes():
    assert broadcast_axes((2,), (4, 2)) == (0,)
    assert broadcast_axes((4, 1), (4, 2)) == (1,)
    assert broadcast_axes((), (4, 2)) == (0, 1)
    assert broadcast_axes((1, 2), (4, 2)) == (0,)


@pytest.mark.parametrize("src, point", [
    (NET, {"W": W, "x": X, "b": B}),
    (BATCH, {"X": XB, "W": WB, "b": BB}),
    ("a = x*x; f = sum(a*y) + mean(a)", {"x": np.array([1.0, -2.0]), "y": 3.0}),
])
def test_every_edge_sends_its_targets_shape_and_the_totals_are_the_gradient(src, point):
    w = walk(src, **point)
    assert all(s.shapes_match for s in w.backward)
    for name, g in w.gradient.items():
        last = [s for s in w.backward if s.target == name][-1]
        assert last.last and np.allclose(last.total, g, rtol=1e-15, atol=0)


def test_values_are_shown_whole_when_small_else_as_min_and_max():
    assert compact(np.array([[1.0, 2.0], [3.0, 4.5]]), 6) == "[[1, 2], [3, 4.5]]"
    assert compact(np.arange(7.0), 6) == "min 0, max 6"
    assert compact(np.full(8, 0.125), 6) == "every entry 0.125"
    assert compact(np.float64(2.5), 6) == "2.5"


# --- the command line ---------------------------------------------------------------------------

def test_steps_prints_the_walkthrough_after_the_result():
    r = run([NET, "--at", AT, "--steps"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.index("✓ SymPy agrees, entry by entry") < out.index("Forward pass")
    lines = out.splitlines()
    assert "   3   t1     W @ x        2        [5, 11]" in [x.rstrip() for x in lines]
    w_row = next(x for x in lines if "t1 → W" in x)
    assert "∂f/∂W = ∂f/∂t1 · xᵀ" in w_row and "(2×1)·(1×3) = 2×3 ✓" in w_row
    assert "[[ 1, -1,  2]," in w_row
    assert re.search(r"t1 → x +∂f/∂x = Wᵀ · ∂f/∂t1 +\(3×2\)·\(2\) = 3 ✓ +\[1, 2, 3\]", out)
    assert "Gradient shapes (the dimension check)" in out


def test_steps_at_60_columns_cut_nothing():
    from gradcalc.render.tensor_steps import cell

    for src, at, point in ((NET, AT, {"W": W, "x": X, "b": B}),
                           (BATCH, AT_BATCH, {"X": XB, "W": WB, "b": BB})):
        r = run([src, "--at", at, "--steps"], width=60)
        assert r.exit_code == 0, r.output
        text = r.stdout[r.stdout.index("Forward pass"):]
        assert "…" not in text
        assert max(len(line.rstrip()) for line in text.splitlines()) <= 60
        w = walk(src, **point)
        for value in [s.value for s in w.forward] + [s.downstream for s in w.backward]:
            for line in cell(value, 6).splitlines():   # each value whole, row by row
                assert line in text
    narrow = run([BATCH, "--at", AT_BATCH, "--steps"], width=60).stdout
    assert "summed over the rows (axis 0)" in " ".join(narrow.split())


def test_the_tables_keep_every_number_at_every_width():
    w = walk(BATCH, X=XB, W=WB, b=BB)
    for width in (40, 60, 80, 200):
        c = Console(width=width, record=True, color_system=None)
        steps_tables(c, w, 6)
        text = c.export_text()
        assert "…" not in text
        for s in w.backward:
            for x in np.ravel(s.downstream) if np.size(s.downstream) <= 6 else ():
                assert re.search(rf"(?<![\d.]){re.escape(format(float(x), '.6g'))}(?![\d.])",
                                 text)


def test_steps_json_holds_to_the_schema_and_carries_every_value():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[1] / "docs" / "schema.json").read_text())
    r = run([BATCH, "--at", AT_BATCH, "--steps", "--format", "json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    jsonschema.validate(obj, schema)
    steps = obj["steps"]
    assert [s["shape"] for s in steps["forward"]] == [[3, 2], [2, 2], [3, 2], [2], [3, 2],
                                                      [3, 2], []]
    bias = next(s for s in steps["backward"] if s["edge"] == "H → b")
    assert bias["summed_axes"] == [0] and bias["formula"] == "∂f/∂b = Σ_rows ∂f/∂H"
    assert bias["shapes_match"] and bias["shape"] == bias["target_shape"] == [2]
    assert bias["downstream"] == obj["gradient"]["b"]
    t1 = next(s for s in steps["forward"] if s["node"] == "t1")
    assert t1["value"] == (XB @ WB).tolist()


def test_steps_plain():
    r = run([NET, "--at", AT, "--steps", "--format", "plain"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "3. t1 = W @ x (2) = [5, 11]" in lines
    assert ("5. t1 → W: ∂f/∂W = ∂f/∂t1 · xᵀ; shapes (2×1)·(1×3) = 2×3 ✓ = "
            "[[1, -1, 2], [0, 0, 0]]") in lines


def test_tree_is_still_refused_for_arrays():
    r = run(["sum(x)", "--at", "x=[1,2]", "--tree"])
    assert r.exit_code == 2 and "without --tree" in r.stderr


# --- the picture --------------------------------------------------------------------------------

def test_the_dot_labels_carry_shapes_and_vjps(tmp_path):
    path = tmp_path / "net.dot"
    r = run([NET, "--at", AT, "--graph", str(path)])
    assert r.exit_code == 0, r.output
    assert f"wrote the graph to {path}" in r.stderr
    text = path.read_text(encoding="utf-8")
    assert '<font point-size="14">2×3: [[1, 2, 3], [4, 5, 6]]</font>' in text
    assert "<b>t1</b> = W @ x<br/>" in text and "2: [5, 11]" in text
    assert "scalar: 5.5" in text
    assert "∂f/∂W = ∂f/∂t1 · xᵀ   [(2×1)·(1×3) = 2×3 ✓]" in text
    assert "∂f/∂h = ∂f/∂t2 ⊙ 1(h &gt; 0)" in text
    assert text.count("->") == 6
    assert to_dot(walk(NET, W=W, x=X, b=B)) == text


@needs_dot
def test_the_svg_shows_the_shapes(tmp_path):
    import xml.etree.ElementTree as ET

    path = tmp_path / "net.svg"
    r = run([BATCH, "--at", AT_BATCH, "--graph", str(path), "--steps"])
    assert r.exit_code == 0, r.output
    texts = ["".join(t.itertext()) for t in ET.parse(path).getroot().iter(
        "{http://www.w3.org/2000/svg}text")]
    assert any(t.startswith("3×2: ") for t in texts)
    assert any("Σ_rows ∂f/∂H" in t for t in texts)
    assert "Forward pass" in r.stdout
