"""The graph picture for a projector (--graph): its direction, its size on a 16:9 screen, the local
gradients' formulas on the edges, constants beside their consumer, and exact zeros printed as 0.

The DOT text is checked as text; what Graphviz makes of it is checked by reading the SVG it writes
(texts, font sizes, positions) and the PNG's size."""

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import gradcalc
from gradcalc.render import dot as dotmod
from gradcalc.render.dot import to_dot, write_graph
from gradcalc.steps import walkthrough

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"
XOR = (Path(__file__).parent.parent / "examples" / "xor.gc").read_text(encoding="utf-8")
XOR_POINT = dict(x1=1, x2=0, y=1, w11=0.5, w12=-0.5, b1=0, w21=-0.5, w22=0.5, b2=0, v1=1,
                 v2=1, c=0)
SIGMOID = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
SIGMOID_POINT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)


def walk(src, formulas=True, **point):
    """The walkthrough as the command line builds it for --steps and --graph."""
    f = gradcalc.parse(src)
    return walkthrough(f, f.gradient(**point), formulas=formulas)


def edge_labels(text):
    return [html_text(m) for m in re.findall(r"label=<&#160;(.*?)&#160;&#160;>", text)]


def html_text(s):
    return re.sub(r"<[^>]*>", "", s).replace("&#x27;", "'")


def rankdir(text):
    return re.search(r"rankdir=(\w+)", text).group(1)


def render(text, tmp_path, fmt="svg", *args):
    out = tmp_path / f"g.{fmt}"
    subprocess.run(["dot", f"-T{fmt}", *args, "-o", str(out)], input=text.encode("utf-8"),
                   check=True, timeout=60)
    return out


def svg_texts(path):
    """Each text of the SVG with its font size in points as drawn (after the graph's scale)."""
    root = ET.parse(path).getroot()
    scale = re.search(r"scale\(([\d.]+)", root.find(SVG + "g").get("transform"))
    k = float(scale.group(1)) if scale else 1.0
    return [("".join(t.itertext()).strip(), float(t.get("font-size")) * k)
            for t in root.iter(SVG + "text")]


def svg_inches(path):
    root = ET.parse(path).getroot()
    return tuple(float(root.get(a).removesuffix("pt")) / 72 for a in ("width", "height"))


# --- the DOT text ------------------------------------------------------------------------------

def test_edges_show_the_local_gradient_formula_and_value():
    text = to_dot(walk("q = x + y; f = z*q", x=-2, y=5, z=-4))
    assert sorted(edge_labels(text)) == ["∂f/∂q = z = -4", "∂f/∂z = q = 3", "∂q/∂x = 1",
                                         "∂q/∂y = 1"]
    assert "<b>q</b> = x + y = 3" in text and "∂f/∂q = -4</font>" in text


def test_edge_formulas_are_the_walkthroughs():
    w = walk(SIGMOID, **SIGMOID_POINT)
    labels = edge_labels(to_dot(w))
    assert "∂t6/∂t5 = exp(t5) = 0.3679" in labels
    assert "∂f/∂t7 = -1/t7^2 = -0.5344" in labels
    assert "∂t5/∂t4 = -1" in labels            # a constant rule is shown once, as its value
    formulas = {s.local_formula.partition(" = ")[2] for s in w.backward}
    assert {"exp(t5)", "-1/t7^2", "x0", "w0"} <= formulas


def test_without_formulas_the_edges_show_values():
    labels = edge_labels(to_dot(walk("x*y", formulas=False, x=1, y=2)))
    assert sorted(labels) == ["∂f/∂x = 2", "∂f/∂y = 1"]


def test_a_long_fraction_is_left_out():
    labels = edge_labels(to_dot(walk("x*1e-30 + x/3", x=1)))
    assert "∂t1/∂x = 1e-30" in labels and "∂t2/∂x = 1/3 = 0.3333" in labels


ZERO_SPELLINGS = re.compile(r"-0(?![.\d])|(?<![\d.])0\.0(?!\d)|e[+-]00")


@pytest.mark.parametrize("src, point", [
    ("x*y", dict(x=-0.0, y=0)),                          # value -0.0, gradient ∂f/∂y = -0.0
    ("relu(x) + 0*y - x*1.0", dict(x=-0.0, y=-0.0)),
    ("2*x - x - x", dict(x=-0.0)),
])
def test_exact_zeros_are_printed_as_0(src, point):
    shown = html_text(to_dot(walk(src, **point)))
    assert re.search(r"= 0\b", shown)
    assert not ZERO_SPELLINGS.search(shown), ZERO_SPELLINGS.search(shown)


def test_constants_the_program_did_not_type_are_plain_numbers():
    g = gradcalc.parse(SIGMOID.replace("w0*x0 + w1*x1 + w2", "x")).gradient_program()
    r = g.gradient(x=0.5, output="df/dx")
    text = to_dot(walkthrough(g, r, formulas=False))
    consts = re.findall(r"label=<([^<>]*)>, shape=plaintext", text)
    assert consts and all(not c.endswith(".0") for c in consts), consts


def test_constants_sit_in_their_consumers_rank():
    text = to_dot(walk("2*x + y^3", x=1, y=2))
    clusters = re.findall(r"subgraph cluster_(n\d+) \{ graph \[style=invis[^{]*"
                          r"\{rank=same; ([^}]*)\} \}", text)
    assert len(clusters) == 2
    for consumer, members in clusters:
        const, head = members.split("; ")
        assert head == consumer and f"{const} -> {consumer} " in text


@pytest.mark.parametrize("src, point, expected", [
    ("q = x + y; f = z*q", dict(x=-2, y=5, z=-4), "LR"),    # small: left to right, as in books
    (SIGMOID, SIGMOID_POINT, "TB"),                         # a deep chain: top to bottom
    (XOR, XOR_POINT, "TB"),
    ("max(" + ", ".join("abcdefghijkl") + ")", {c: 1 for c in "abcdefghijkl"}, "LR"),  # wide
])
def test_auto_direction(src, point, expected):
    w = walk(src, **point)
    assert rankdir(to_dot(w)) == expected
    assert rankdir(to_dot(w, rankdir="auto")) == expected
    for forced in ("LR", "TB"):
        assert rankdir(to_dot(w, rankdir=forced)) == forced


def test_unknown_direction():
    with pytest.raises(ValueError, match="rankdir must be one of auto, LR, TB"):
        to_dot(walk("x", x=1), rankdir="RL")


def test_small_graphs_fit_the_screen_and_big_ones_keep_their_size():
    assert 'size="12.6,7"' in to_dot(walk(XOR, **XOR_POINT))
    src = "v0 = x\n" + "\n".join(f"v{k} = sin(v{k-1}) + 0.5*x" for k in range(1, 100))
    text = to_dot(walk(src, x=0.3))
    assert " size=" not in text and rankdir(text) == "LR"


# --- what Graphviz draws -----------------------------------------------------------------------

@needs_dot
@pytest.mark.parametrize("src, point", [
    ("q = x + y; f = z*q", dict(x=-2, y=5, z=-4)),
    (SIGMOID, SIGMOID_POINT),
    (XOR, XOR_POINT),
    ("a*b + c*d + e*f + g*h + i*j + k*l", {c: 1 for c in "abcdefghijkl"}),
    ("max(" + ", ".join("abcdefghijkl") + ")", {c: 1 for c in "abcdefghijkl"}),
    ("sin(cos(exp(x)))", dict(x=1)),
])
def test_auto_direction_is_the_one_that_shows_it_bigger(src, point, tmp_path):
    """Lay the graph out both ways, unscaled, and measure: the direction "auto" chose must fit
    the 16:9 screen at least as well as the other (or fit it unshrunk)."""
    w = walk(src, **point)
    fit = {}
    for d in ("LR", "TB"):
        text = re.sub(r' size="[^"]*",', "", to_dot(w, rankdir=d))
        width, height = svg_inches(render(text, tmp_path))
        fit[d] = min(12.8 / width, 7.2 / height)
    chosen = rankdir(to_dot(w))
    other = "TB" if chosen == "LR" else "LR"
    assert fit[chosen] >= min(1.0, 0.95 * fit[other]), fit


def png_size(path):
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@needs_dot
@pytest.mark.parametrize("src, point, px", [(XOR, XOR_POINT, 18), (SIGMOID, SIGMOID_POINT, 24)])
def test_png_is_legible_on_a_1080p_projector(src, point, px, tmp_path):
    """The PNG fills a 1920×1080 screen at most, so it is shown at its own size, and its
    smallest text is at least ``px`` pixels (it was 10 before, shrunk from 3915×928)."""
    w = walk(src, **point)
    png = tmp_path / "g.png"
    assert write_graph(w, str(png)) == "png"
    width, height = png_size(png)
    assert width <= 1920 and height <= 1080 and (width >= 1900 or height >= 1060)
    svg = render(to_dot(w), tmp_path)
    sizes = [size * dotmod.DPI / 72 for _, size in svg_texts(svg)]
    assert min(sizes) >= px, min(sizes)


@needs_dot
def test_svg_of_the_sigmoid_neuron(tmp_path):
    w = walk(SIGMOID, **SIGMOID_POINT)
    out = tmp_path / "g.svg"
    write_graph(w, str(out))
    texts = [t for t, _ in svg_texts(out)]
    for expected in ["w0", "= 2", "∂f/∂w0 = -0.1966", "t6", "= exp(t5) = 0.3679",
                     "∂t6/∂t5 = exp(t5) = 0.3679", "∂t2/∂x1 = w1 = -3", "f", "= 1 / t7 = 0.7311",
                     "∂f/∂f = 1"]:
        assert expected in texts, expected
    assert texts.count("1") == 2                     # the two constants


@needs_dot
def test_constants_are_drawn_beside_their_consumer(tmp_path):
    """In the SVG the constant 2 of 2*x is level with its consumer and just beside it, not in
    the inputs' row."""
    text = to_dot(walk("y*y + 2*x", x=1, y=3), rankdir="TB")
    out = subprocess.run(["dot", "-Tplain"], input=text.encode("utf-8"), capture_output=True,
                         check=True).stdout.decode("utf-8")
    pos = {}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "node":
            pos[parts[1]] = (float(parts[2]), float(parts[3]), float(parts[4]))
    const = next(n for n in pos if "_" in n)
    consumer = re.search(rf"{const} -> (n\d+)", text).group(1)
    inputs = [n for n in pos if n not in (const, consumer) and pos[n][1] == max(
        p[1] for p in pos.values())]
    assert inputs and all(pos[n][1] != pos[const][1] for n in inputs)
    assert pos[const][1] == pytest.approx(pos[consumer][1])
    gap = abs(pos[const][0] - pos[consumer][0]) - pos[consumer][2] / 2
    assert gap < 0.5


@needs_dot
def test_zeros_in_the_svg(tmp_path):
    out = tmp_path / "g.svg"
    write_graph(walk("x*y", x=-0.0, y=0), str(out))
    texts = [t for t, _ in svg_texts(out)]
    assert "∂f/∂y = 0" in texts and "∂f/∂x = y = 0" in texts and "∂f/∂y = x = 0" in texts
    assert not [t for t in texts if ZERO_SPELLINGS.search(t)]
