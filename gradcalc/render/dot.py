"""The computational graph as a picture, drawn like the figures in backprop notes: each node with
its value and (in orange) its gradient, each edge labelled with its local gradient as ``--steps``
writes it (∂t/∂x = formula = value). Inputs start the flow (on the left, or at the top), the
output ends it. For an array program (a ``tensor_steps.TensorWalkthrough``) each node has a line
with its shape (and its value, when small), each edge its VJP in student notation and the
dimension check ([(2×1)·(1×3) = 2×3 ✓]).

The picture is made for a projector: it is laid out left to right or top to bottom, whichever
shows it bigger on a 16:9 screen, and a PNG is at most 1920×1080 pixels, so it is shown at its own
size, with text large enough to read from the back of a room.

The DOT text is written here (no graphviz Python package); every label is HTML-escaped, so names
and literals with any characters cannot break the file. Graphviz's ``dot`` turns it into SVG, PNG
or PDF when it is installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess

from ..errors import UsageError
from ..numfmt import fmt
from ..records import record
from .arrays import shape_text

GRADIENT_COLOUR = "#c2410c"   # orange, as in textbook figures (dark enough for a projector)
LOCAL_COLOUR = "#1a5fb4"      # local gradients on the edges, set apart from node gradients
FORMATS = ("dot", "svg", "png", "pdf")
RANKDIRS = ("auto", "LR", "TB")

# The screen the picture is made for: 16:9, 1920×1080 pixels in a PNG (DPI dots per inch).
SCREEN = (12.8, 7.2)          # inches
DPI = 150
FONT = 16                     # points: nodes' text (33 pixels in a PNG, before any shrinking)
SMALL = 14                    # edge labels and constants
NODESEP = 0.2                 # inches between nodes of a rank
RANKSEP = 0.3                 # inches between ranks
MARGIN = 0.1                  # inches around the drawing
MIN_FIT = 0.4                 # below this scale a graph is drawn at its own size, to be zoomed


def _h(text: str) -> str:
    return html.escape(text, quote=True)


# Above this many nodes an input used several times is drawn once per use: edges from one input
# to far-apart consumers make Graphviz's layout take minutes (0.1 s instead of >100 s at 400 nodes).
SPLIT_INPUTS_ABOVE = 100


@record
class _Box:
    """A node as drawn: its DOT names (one per copy), HTML label and plain lines (for sizing)."""

    names: list[str]
    html: str
    lines: list[tuple[str, int]]     # (text, point size)
    const: bool = False


def _uses(w) -> dict[int, int]:
    uses: dict[int, int] = {}
    for i in w.tape.order:
        for j in w.tape.graph.nodes[i].args:
            uses[j] = uses.get(j, 0) + 1
    return uses


def _boxes(w, digits: int) -> dict[int, _Box]:
    """Every node's label. Constants are small plain text, drawn once per use so that each copy
    can sit beside its consumer; inputs of big graphs are drawn once per use too (see above)."""
    graph = w.tape.graph
    uses = _uses(w)
    many = len(w.tape.order) > SPLIT_INPUTS_ABOVE
    shapes = getattr(w, "shapes", None)   # a tensor walkthrough's (gradcalc.tensor_steps)
    boxes = {}
    for i in w.tape.order:
        node = graph.nodes[i]
        copies = uses.get(i, 1)
        if node.op == "const":
            text = node.text if node.text is not None and node.value != 0 else \
                fmt(node.value, digits)   # a constant the program did not type: 1, not 1.0
            names = [f"n{i}_{c}" for c in range(copies)]
            boxes[i] = _Box(names, _h(text), [(text, SMALL)], const=True)
            continue
        label = w.labels[i]
        value = f"= {_value(w, w.values[i], digits)}"
        if node.op != "input":      # one line, 't1 = w0·x0 = -2', keeps the picture low
            value = f"= {w.definitions[i]} {value}"
        if shapes is not None:      # an array program: the shape on a line of its own
            value = f"= {w.definitions[i]}" if node.op != "input" else ""
        lines = [(f"{label} {value}".rstrip(), FONT)]
        rows = [f"<b>{_h(label)}</b> {_h(value)}".rstrip()]
        if shapes is not None:
            shown = f"{shape_text(shapes[i])}: {_value(w, w.values[i], digits)}"
            lines.append((shown, SMALL))
            rows.append(f'<font point-size="{SMALL}">{_h(shown)}</font>')
        if w.tape.needs[i]:
            grad = f"∂{w.output}/∂{label} = {_value(w, w.grads.get(i, 0.0), digits)}"
            lines.append((grad, FONT))
            rows.append(f'<font color="{GRADIENT_COLOUR}">{_h(grad)}</font>')
        split = many and node.op == "input" and copies > 1
        if split:
            note = f"(drawn at each of its {copies} uses)"
            lines.append((note, SMALL))
            rows.append(f'<font point-size="{SMALL}">{_h(note)}</font>')
        names = [f"n{i}_{c}" for c in range(copies)] if split else [f"n{i}"]
        boxes[i] = _Box(names, "<br/>".join(rows), lines)
    return boxes


def _edge_labels(w, digits: int) -> dict[tuple[int, int], str]:
    """The local gradient of every edge the backward pass used, keyed by (consumer, argument):
    '∂q/∂x = 1', or with the rule's formula '∂f/∂z = q = 3' (the formula is --steps' own, so the
    walkthrough and the picture agree; without formulas, the value alone)."""
    texts = {}
    if getattr(w, "shapes", None) is not None:   # arrays: the VJP and its dimension check
        for (i, k, _j), step in zip(w.edges, w.backward, strict=True):
            mark = "✓" if step.shapes_match else "✗"
            texts[(i, k)] = f"{step.formula}   [{step.dims} {mark}]"
        return texts
    for e, step in zip(w.edges, w.backward, strict=True):
        value = fmt(e.local, digits)
        formula = step.local_formula.partition(" = ")[2]
        if _says_more(formula):
            value = f"{formula} = {value}"
        texts[(e.source, e.arg)] = f"∂{w.labels[e.source]}/∂{w.labels[e.target]} = {value}"
    return texts


def _value(w, x, digits: int) -> str:
    """A node's value or gradient: a number, or for an array a small one whole, else its
    min and max."""
    if getattr(w, "shapes", None) is None:
        return fmt(x, digits)
    from .tensor_steps import compact

    return compact(x, digits)


def _says_more(formula: str) -> bool:
    """Whether a formula is worth showing beside its value: one naming a node or a function
    ('z', 'exp(t5)') or a short fraction ('1/3'), not a number ('1', '-1') or a long fraction
    ('1/1000000000000000000000000000000' from a literal 1e-30)."""
    if not formula or formula == "?":
        return False
    try:
        float(formula)
    except ValueError:
        return any(c.isalpha() for c in formula) or len(formula) <= 8
    return False


def _text_inches(text: str, points: int) -> float:
    return len(text) * 0.56 * points / 72     # Helvetica's mean character width is about 0.56 em


def _box_size(box: _Box) -> tuple[float, float]:
    """A node's width and height in inches, as Graphviz will about draw it."""
    if box.const:
        text, points = box.lines[0]
        return _text_inches(text, points) + 0.1, points * 1.3 / 72
    width = max(_text_inches(text, points) for text, points in box.lines) + 0.3
    height = sum(points * 1.2 for _, points in box.lines) / 72 + 0.1
    return max(width, 0.75), max(height, 0.5)


def _ranks(w) -> dict[int, int]:
    """Each non-constant node's rank (column in LR, row in TB) as dot will about place it: one
    past its deepest argument, and an input just before its nearest consumer."""
    graph = w.tape.graph
    rank: dict[int, int] = {}
    consumers: dict[int, list[int]] = {}
    for i in w.tape.order:
        node = graph.nodes[i]
        if node.op in ("const", "input"):
            continue
        args = [j for j in node.args if graph.nodes[j].op != "const"]
        for j in args:
            consumers.setdefault(j, []).append(i)
        rank[i] = 1 + max((rank.get(j, -1) for j in args), default=-1)
    for i in w.tape.order:
        if graph.nodes[i].op == "input":
            rank[i] = min((rank[c] for c in consumers.get(i, ())), default=1) - 1
    return rank


def _extent(w, boxes, labels, rankdir: str) -> tuple[float, float]:
    """The drawing's estimated width and height in inches when laid out along ``rankdir``. Each
    rank stacks its nodes (and the constants beside them) across the flow; an edge label sits
    between its consumer's rank and the one before, as dot's label ranks do."""
    across = 1 if rankdir == "LR" else 0      # which of (width, height) lies across the flow
    rank = _ranks(w)
    depth = max(rank.values(), default=0) - min(rank.values(), default=0) + 1
    along = [0.0] * depth
    stack = [0.0] * depth
    gap_along = [0.0] * depth
    gap_stack = [0.0] * depth
    low = min(rank.values(), default=0)
    for i, r in rank.items():
        size = _box_size(boxes[i])
        along[r - low] = max(along[r - low], size[1 - across])
        stack[r - low] += (size[across] + NODESEP) * len(boxes[i].names)
    graph = w.tape.graph
    for i, r in rank.items():
        for k, j in enumerate(graph.nodes[i].args):
            if j in boxes and boxes[j].const:      # beside its consumer, in the same rank
                size = _box_size(boxes[j])
                stack[r - low] += size[across] + NODESEP
            elif (i, k) in labels:
                text = labels[(i, k)]
                size = (_text_inches(text, SMALL), SMALL * 1.3 / 72)
                gap_along[r - low] = max(gap_along[r - low], size[1 - across])
                gap_stack[r - low] += size[across] + NODESEP
    length = sum(along) + sum(gap_along) + RANKSEP * (depth - 1)
    breadth = max(max(stack, default=0.0), max(gap_stack, default=0.0))
    return (length, breadth) if across == 1 else (breadth, length)


def _fit(extent: tuple[float, float]) -> float:
    """How much a drawing of this extent must be scaled to fit the screen (above 1: it fits)."""
    return min(SCREEN[0] / max(extent[0], 1e-9), SCREEN[1] / max(extent[1], 1e-9))


def _plan(w, boxes, labels, rankdir: str) -> tuple[str, bool]:
    """The direction to draw in, and whether to fit the picture to the 16:9 screen.

    "auto" weighs the graph's depth in ranks against its widest rank, in inches of text: left to
    right, as in textbook figures, when that fits the screen unshrunk; otherwise whichever needs
    less shrinking (a deep chain top to bottom, a wide and shallow graph left to right), so the
    text is as big as it can be. A graph that would have to shrink below MIN_FIT cannot be read
    on any screen: it keeps its natural size, to be zoomed and scrolled, and "auto" draws it left
    to right (a long strip; a square PNG of hundreds of nodes takes cairo minutes to paint).
    """
    fit = {d: _fit(_extent(w, boxes, labels, d)) for d in ("LR", "TB")}
    if rankdir == "auto":
        rankdir = "LR" if fit["LR"] >= min(1.0, fit["TB"]) or max(fit.values()) < MIN_FIT \
            else "TB"
    return rankdir, fit[rankdir] >= MIN_FIT


def _header(rankdir: str, fits: bool) -> list[str]:
    # the margin is added around the size: together they make the screen
    size = f' size="{SCREEN[0] - 2 * MARGIN:g},{SCREEN[1] - 2 * MARGIN:g}",' if fits else ""
    return [
        "digraph gradcalc {",
        f'  graph [rankdir={rankdir},{size} fontname="Helvetica", nodesep={NODESEP}, '
        f"ranksep={RANKSEP}, margin={MARGIN}];",
        f'  node [fontname="Helvetica", fontsize={FONT}, shape=box, style="rounded,filled", '
        'fillcolor="#f7f7f7", color="#888888", margin="0.1,0.04"];',
        f'  edge [fontname="Helvetica", fontsize={SMALL}, color="#555555", '
        f'fontcolor="{LOCAL_COLOUR}", arrowsize=0.7];',
    ]


def _node_lines(w, boxes) -> list[str]:
    lines = []
    for i in w.tape.order:
        box = boxes[i]
        op = w.tape.graph.nodes[i].op
        for name in box.names:
            if box.const:
                lines.append(f'  {name} [label=<{box.html}>, shape=plaintext, style="", '
                             f'fontsize={SMALL}, fontcolor="#555555", margin=0, width=0, '
                             "height=0];")
            else:
                fill = "#e8f0fe" if op == "input" else (
                    "#fff4e5" if i == w.tape.out else "#f7f7f7")
                lines.append(f'  {name} [label=<{box.html}>, fillcolor="{fill}"];')
    return lines


def _tails(w, boxes) -> dict[tuple[int, int], str]:
    """The DOT name each edge (consumer, argument) starts from: a node drawn once per use gives
    its copies out in order."""
    tails: dict[tuple[int, int], str] = {}
    used: dict[int, int] = {}   # node -> copies given out so far
    for i in w.tape.order:
        for k, j in enumerate(w.tape.graph.nodes[i].args):
            names = boxes[j].names
            tails[(i, k)] = names[used.get(j, 0) % len(names)]
            used[j] = used.get(j, 0) + 1
    return tails


def _edge_lines(w, boxes, labels, tails) -> list[str]:
    lines = []
    for i in w.tape.order:
        for k, j in enumerate(w.tape.graph.nodes[i].args):
            tail = tails[(i, k)]
            if boxes[j].const:    # see _beside
                lines.append(f'  {tail} -> n{i} [color="#999999", arrowsize=0.5];')
            elif (i, k) in labels:
                # the spaces keep a label off the next edge, which dot draws right beside it
                lines.append(f"  {tail} -> n{i} [label=<&#160;{_h(labels[(i, k)])}&#160;&#160;>];")
            else:                 # no gradient flows along it
                lines.append(f'  {tail} -> n{i} [color="#bbbbbb"];')
    return lines


def _beside(w, boxes, tails) -> list[str]:
    """Each node's constants drawn beside it: in its rank, and with it in an invisible cluster, so
    that nothing comes between them (dot would otherwise put a constant wherever its rank has
    room, or, as an ordinary source, in the inputs' rank, far from where it is used)."""
    lines = []
    for i in w.tape.order:
        args = w.tape.graph.nodes[i].args
        consts = [tails[(i, k)] for k, j in enumerate(args) if boxes[j].const]
        if consts:
            lines.append(f"  subgraph cluster_n{i} {{ graph [style=invis, margin=2]; "
                         f"{{rank=same; {'; '.join(consts)}; n{i}}} }}")
    return lines


def to_dot(w, digits: int = 4, rankdir: str = "auto") -> str:
    """DOT text for a walkthrough (gradcalc.steps.Walkthrough), laid out along ``rankdir``: "LR"
    (left to right), "TB" (top to bottom) or "auto" (whichever fits a 16:9 screen better)."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    boxes = _boxes(w, digits)
    labels = _edge_labels(w, digits)
    tails = _tails(w, boxes)
    rankdir, fits = _plan(w, boxes, labels, rankdir)
    lines = [*_header(rankdir, fits), *_node_lines(w, boxes), *_beside(w, boxes, tails),
             *_edge_lines(w, boxes, labels, tails), "}"]
    return "\n".join(lines) + "\n"


def write_graph(w, path: str, digits: int = 4, rankdir: str = "auto") -> str:
    """Write the picture to ``path``; the format follows its extension. Returns the format."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(f"--graph {path}: unknown picture format {ext or '(none)'!r}",
                         hint="use a .dot, .svg, .png or .pdf file name")
    text = to_dot(w, digits, rankdir)
    if ext == "dot":
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"--graph {path}: {exc.strerror}") from None
        return ext
    dot = shutil.which("dot")
    if dot is None:
        raise UsageError(f"--graph {path}: writing .{ext} needs Graphviz's dot program, which is "
                         "not installed",
                         hint="install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                              "install graphviz), or write a .dot file, which needs nothing")
    try:
        # SCREEN inches at DPI: a PNG of at most 1920×1080 pixels, shown at its own size
        sharp = [f"-Gdpi={DPI}"] if ext == "png" else []
        done = subprocess.run([dot, f"-T{ext}", *sharp, "-o", path], input=text.encode("utf-8"),
                              capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"--graph {path}: Graphviz could not lay out this graph in 2 minutes",
                         hint="write a .dot file instead, and lay it out yourself") from None
    if done.returncode != 0:
        raise UsageError(f"--graph {path}: Graphviz could not write it: "
                         f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return ext


def svg_text(w, digits: int = 4, rankdir: str = "auto",
             timeout: float = 10.0) -> tuple[str | None, str]:
    """The picture as SVG text for a page that embeds it (``render/html.py``): (svg, "") or,
    when Graphviz is not installed, fails or takes longer than ``timeout`` seconds, (None, why)."""
    dot = shutil.which("dot")
    if dot is None:
        return None, "Graphviz's dot program is not installed"
    text = to_dot(w, digits, rankdir)
    try:
        done = subprocess.run([dot, "-Tsvg"], input=text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"Graphviz did not lay the graph out within {timeout:g} s"
    if done.returncode != 0:
        return None, ("Graphviz could not lay it out: "
                      + done.stderr.decode("utf-8", "replace").strip()[:200])
    return done.stdout.decode("utf-8", "replace"), ""
