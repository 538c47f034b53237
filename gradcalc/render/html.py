"""--html FILE: one self-contained page that walks through a point's backprop in a browser.

The page steps through the forward pass node by node and the backward pass edge by edge, exactly
as ``--steps`` prints them (it embeds the very JSON of ``--format json --steps``, in
``<script type="application/json" id="gradcalc-data">``), over the graph drawn by Graphviz (the
SVG of ``--graph``, inline) or, where Graphviz is missing, too slow or the graph too big, by a
layered layout of its own. Everything is inline: styles, script, data, picture; the page's
Content-Security-Policy forbids it any network access, so it works from a USB stick.

What the page computes beyond the report is computed here, by gradcalc, when the page is built:
the "gradient check" (f at x ± h for a few h, on the same tape) and the "step" (one step of
gradient descent for a few learning rates, and the new f). The page itself evaluates nothing.

The script and the styles are files beside this module (``page/walk.js``, ``page/walk.css``,
``page/walk.html``), read with ``Path(__file__).parent``. Every text that comes from the program
(names, comments, literals, --expect answers, a file name) reaches the page escaped: as HTML text
here, as XML text in the SVG, as ``\\u003c``-escaped JSON in the data blocks, and through
``textContent`` in the script, never as markup.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import html
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

from .. import __version__
from ..domains import FLOAT
from ..errors import GradcalcError, UsageError
from ..numfmt import fmt
from ..records import record, replace
from .dot import GRADIENT_COLOUR, SPLIT_INPUTS_ABOVE

PAGE = Path(__file__).parent / "page"
DOT_MAX_NODES = 600        # above this many nodes Graphviz takes seconds (6 s at 1,000): own layout
DOT_TIMEOUT = 10.0         # seconds Graphviz may take before the page falls back to its own layout
NUDGES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)   # the gradient check's h
RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)             # the step's learning rates
EVAL_BUDGET = 5_000_000    # node evaluations the precomputed checks may take (about 2 s)

SVG_NS = "http://www.w3.org/2000/svg"
_G = f"{{{SVG_NS}}}g"
_TEXT = f"{{{SVG_NS}}}text"
_TITLE = f"{{{SVG_NS}}}title"
_TSPAN = f"{{{SVG_NS}}}tspan"


@record(frozen=True)
class Page:
    """A built page: its text, and which layout drew the graph (with why, for the user)."""

    text: str
    layout: str          # "graphviz" or "own"
    note: str            # why the own layout, when it is ("" for Graphviz)
    nodes: int


def write(report, path: str, digits: int = 6, picture_digits: int = 4,
          rankdir: str = "auto", hessian=None, walk=None) -> Page:
    """Build the page for a point report (made with its walkthrough's formulas:
    ``Request(steps=True)`` or ``walk=True, formulas=True``), or for an array program's report
    with its walkthrough ``walk`` (``tensor_steps.walkthrough``), and write it to ``path``.
    ``hessian``: the report of ``--hessian`` at the same point, shown in its own section."""
    page = build(report, digits, picture_digits, rankdir, hessian=hessian, walk=walk)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(page.text)
    except OSError as exc:
        raise UsageError(f"--html {path}: cannot write it: {exc.strerror or exc}",
                         hint="choose a file in a directory you can write to") from None
    return page


def build(report, digits: int = 6, picture_digits: int = 4, rankdir: str = "auto",
          layout: str = "auto", hessian=None, walk=None) -> Page:
    """The page's text. ``layout``: "auto" (Graphviz when it is installed and the graph is at
    most DOT_MAX_NODES nodes, within DOT_TIMEOUT seconds), "graphviz" (the same, never refused
    for size) or "own"."""
    tensor = report.kind == "tensor"
    w = walk if tensor else report.walk
    if report.kind not in ("point", "tensor") or w is None:
        raise ValueError("an HTML walkthrough needs a point report with its walkthrough")
    if not tensor and w.backward and not w.backward[0].local_formula:
        raise ValueError("the walkthrough was made without its formulas (Request(steps=True))")
    if tensor:
        _fits(w)
    order = [i for i in w.tape.order if w.tape.graph.nodes[i].op != "const"]
    index = {i: p for p, i in enumerate(order)}
    assert [s.node for s in w.forward] == [w.labels[i] for i in order]
    svg, engine, note, drawn = None, "own", "", None
    if layout == "auto" and len(order) > DOT_MAX_NODES:
        note = (f"{len(order):,} nodes: more than the {DOT_MAX_NODES} Graphviz lays out in a "
                "few seconds")
    elif layout in ("auto", "graphviz"):
        from .dot import svg_text

        raw, note = svg_text(w, picture_digits, rankdir, DOT_TIMEOUT)
        if raw is not None:
            try:
                svg, engine = _annotate(raw, w, index), "graphviz"
            except (ET.ParseError, ValueError) as exc:   # pragma: no cover - a Graphviz oddity
                note = f"Graphviz's SVG could not be read ({exc})"
    if svg is None:
        drawn = own_layout(w, order, index, picture_digits, rankdir)
        svg = OWN_SVG
    data = json_text(report, w if tensor else None)
    page = _page_data(report, w, order, index, digits, picture_digits, engine, note)
    if drawn is not None:
        page["layout"].update(drawn)
    if hessian is not None:
        page["hessian"] = hessian_data(hessian)
    text = _assemble(report, svg, data, page)
    return Page(text, engine, note, len(order))


# --- the data ----------------------------------------------------------------------------------

def json_text(report, walk=None) -> str:
    """What ``--format json --steps`` prints for this report, by the JSON renderer itself, made
    strict JSON: a number JSON cannot write (an infinite local derivative where 0·∞ was met,
    which Python's json prints as a bare Infinity) becomes the string "Infinity", "-Infinity"
    or "NaN", so that a browser's JSON.parse reads it. Otherwise the text is unchanged. An
    array program's report comes with its walkthrough ``walk``."""
    from ..formats import Out, get

    if report.kind == "tensor":
        from ..formats.json import dumps
        from .tensor_steps import json_object

        return dumps(json_object(report, walk))

    chunks: list[str] = []
    get("json").render(replace(report, steps=True),
                       Out(lambda text, nl=True: chunks.append(text), None))
    return "".join(chunks)   # (strict JSON: formats.json.dumps)


def script_json(text: str) -> str:
    """JSON text safe inside a <script> element: no '<', '>' or '&' (they occur only in strings,
    where their \\u escapes mean the same), so nothing in it can close the element."""
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _page_data(report, w, order, index, digits, picture_digits, engine, note) -> dict:
    """What the page needs beside the JSON: the graph's structure, by forward step (node k is
    forward step k + 1), each backward step's ends, the layout, the precomputed checks."""
    graph = w.tape.graph
    nodes = []
    for i in order:
        node = graph.nodes[i]
        kind = "output" if i == w.tape.out else ("input" if node.op == "input" else "op")
        nodes.append({"label": w.labels[i], "kind": kind,
                      "args": [index[j] for j in node.args if j in index],
                      "consts": [w.labels[j] for j in node.args if j not in index],
                      "grad": bool(w.tape.needs[i])})
    tensor = report.kind == "tensor"
    data = {
        "version": __version__,
        "title": report.title,
        "digits": digits,
        "picture_digits": picture_digits,
        "tensor": tensor,
        "nodes": nodes,
        "edges": [[index[a], index[b]] for a, b in _edge_ends(w)],
        "layout": {"engine": engine, "note": note},
    }
    if tensor:
        from .arrays import verdict

        data["verdict"] = verdict(report.tensor_check)
        data["shapes"] = [_shape(w.shapes[i]) for i in order]
        data.update(precomputed_arrays(report, w))
    else:
        data.update(precomputed(report, len(order)))
    return data


def _edge_ends(w) -> list[tuple[int, int]]:
    """(consumer, argument) tape indices of each backward step, for either walkthrough."""
    if hasattr(w, "shapes"):          # an array program's: (source, argument k, target)
        return [(i, j) for i, _k, j in w.edges]
    return [(e.source, e.target) for e in w.edges]


def _shape(shape) -> str:
    from .arrays import shape_text

    return shape_text(tuple(shape))


# An array walkthrough's numbers all go into the page (each node's value, each edge's gradient
# sent and running sum): past this many, the page would be tens of megabytes.
MAX_ARRAY_ENTRIES = 250_000


def _fits(w) -> None:
    """Refuse (exit 2) an array walkthrough whose numbers would make the page too big."""
    from ..lazy import numpy

    np = numpy()
    count = sum(int(np.size(s.value)) for s in w.forward) + sum(
        int(np.size(s.downstream)) + int(np.size(s.total)) for s in w.backward)
    if count > MAX_ARRAY_ENTRIES:
        raise UsageError(f"--html: this walkthrough holds {count:,} numbers (every node's value "
                         "and every gradient sent); a page takes at most "
                         f"{MAX_ARRAY_ENTRIES:,}", hint="try smaller arrays (a few rows of the "
                         "batch), or --steps --format json for every number")


def hessian_data(report) -> dict:
    """The Hessian's section: what ``--format json --hessian`` prints, as it prints it, with the
    second-derivative test in the table's words and the notes the table shows."""
    from .higher import VERDICTS

    obj = json.loads(json_text(report))
    h = report.hessian
    verdict = VERDICTS.get(h.critical_point or "", "") if h.critical_point is not None else \
        ("not a critical point: the gradient is not 0 here" if h.eigenvalues is not None else "")
    obj["words"] = {"verdict": verdict, "notes": list(h.notes)}
    return obj


def precomputed(report, size: int) -> dict:
    """The "gradient check" (central differences at each h of NUDGES, beside backprop's value)
    and the "step" (one step of gradient descent at each rate of RATES, and the new f), computed
    by the same tape's forward pass. Within EVAL_BUDGET node evaluations: past it, the check
    covers the first inputs only (and says so)."""
    result = report.result
    tape = report.walk.tape
    point = dict(result.point)
    names = [k for k in point if result.gradient.get(k) is not None]
    per_input = 2 * len(NUDGES)
    room = max(1, (EVAL_BUDGET // max(size, 1) - len(RATES)) // per_input)
    checked = names[:room]

    def value(at: dict) -> tuple[float | None, str | None]:
        try:
            return _finite(tape.forward(FLOAT, at)[tape.out]), None
        except GradcalcError as exc:
            return None, exc.message

    rows: dict[str, list] = {}
    for name in checked:
        rows[name] = []
        for h in NUDGES:
            plus, why_plus = value({**point, name: point[name] + h})
            minus, why_minus = value({**point, name: point[name] - h})
            estimate = None if plus is None or minus is None else \
                _finite((plus - minus) / (2 * h))
            rows[name].append({"h": h, "plus": plus, "minus": minus, "estimate": estimate,
                               "error": why_plus or why_minus})
    steps = []
    norm2 = sum(result.gradient[k] ** 2 for k in names)
    for lr in RATES:
        at = {**point, **{k: point[k] - lr * result.gradient[k] for k in names}}
        new, why = value(at)
        steps.append({"lr": lr, "point": {k: _finite(at[k]) for k in names}, "value": new,
                      "predicted": _finite(result.value - lr * norm2), "error": why})
    skipped = len(names) - len(checked)
    return {"gradcheck": {"h": list(NUDGES), "rows": rows,
                          "note": (f"precomputed for the first {len(checked)} of {len(names)} "
                                   "inputs only (a big graph)") if skipped else ""},
            "descent": {"rates": list(RATES), "moved": names, "rows": steps}}


CHECKED_ENTRIES = 3   # entries of each array input the gradient check is precomputed for
SHOWN_ENTRIES = 36    # a moved input's new value is in the page up to this many entries


def precomputed_arrays(report, w) -> dict:
    """The "gradient check" and the "step" of an array program, as ``precomputed``: f at x ± h
    for the CHECKED_ENTRIES entries of each input with the largest partials (ties: the first),
    and f after one step of gradient descent on every input at each rate; by the same tape's
    forward pass (tensor.forward), within EVAL_BUDGET entry evaluations."""
    from .. import tensor
    from ..lazy import numpy
    from .tensor_steps import compact

    np = numpy()
    result, tape = report.result, w.tape
    point = {k: np.asarray(v, dtype=np.float64) for k, v in result.point.items()}
    grads = {k: np.asarray(g, dtype=np.float64) for k, g in result.gradient.items()
             if g is not None}
    size = max(1, sum(int(np.size(v)) for v in w.values.values()))

    def value(at: dict) -> tuple[float | None, str | None]:
        try:
            with np.errstate(all="ignore"):
                out = tensor.forward(tape, at)[tape.out]
            return _finite(out), None if math.isfinite(float(out)) else "the value is not finite"
        except GradcalcError as exc:
            return None, exc.message

    picks = []
    for name, g in grads.items():
        flat = np.abs(g).ravel()
        for k in np.argsort(-flat, kind="stable")[:CHECKED_ENTRIES]:
            picks.append((name, tuple(int(i) for i in np.unravel_index(int(k), g.shape))))
    room = max(1, (EVAL_BUDGET // size - len(RATES)) // (2 * len(NUDGES)))
    rows: dict[str, list] = {}
    for name, idx in picks[:room]:
        label = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        back = float(grads[name][idx])
        rows[label] = []
        for h in NUDGES:
            ends = []
            for sign in (1, -1):
                moved = point[name].copy()
                moved[idx] += sign * h
                ends.append(value({**point, name: moved}))
            (plus, why_plus), (minus, why_minus) = ends
            estimate = None if plus is None or minus is None else \
                _finite((plus - minus) / (2 * h))
            rows[label].append({"h": h, "plus": plus, "minus": minus, "estimate": estimate,
                                "error": why_plus or why_minus, "backprop": back})
    norm2 = float(sum(float(np.sum(g * g)) for g in grads.values()))
    steps = []
    for lr in RATES:
        at = {**point, **{k: point[k] - lr * g for k, g in grads.items()}}
        new, why = value(at)
        predicted = _finite(float(result.value) - lr * norm2)
        steps.append({"lr": lr, "value": new, "predicted": predicted, "error": why,
                      "point": {k: (at[k].tolist() if at[k].size <= SHOWN_ENTRIES
                                    and np.isfinite(at[k]).all()
                                    else f"{_shape(at[k].shape)}: {compact(at[k], 6)}")
                                for k in grads}})
    skipped = len(picks) - min(len(picks), room)
    return {"gradcheck": {"h": list(NUDGES), "rows": rows,
                          "note": (f"precomputed for the first {room} of {len(picks)} entries "
                                   "only (big arrays)") if skipped else ""},
            "descent": {"rates": list(RATES), "moved": list(grads), "rows": steps}}


def _finite(x) -> float | None:
    """A float for the page's data, None where it is not finite (JSON has no inf)."""
    x = float(x)
    return x if math.isfinite(x) else None


# --- the picture: Graphviz's SVG, annotated -----------------------------------------------------

def _annotate(svg: str, w, index) -> str:
    """Graphviz's SVG with what the page's script needs: each node's group ``data-n`` (its
    forward step - 1), each edge's ``data-e`` (consumer-argument), and the value and gradient
    of a node split off into spans the page shows once the walkthrough has reached them."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    for key in ("width", "height"):
        root.attrib.pop(key, None)
    root.set("id", "gc-svg")
    root.set("role", "img")
    root.set("aria-label", "the computational graph")
    for g in root.iter(_G):
        title = g.find(_TITLE)
        cls = g.get("class")
        if title is None or title.text is None or cls not in ("node", "edge"):
            continue
        if cls == "node":
            _annotate_node(g, title, w, index)
        else:
            tail, _, head = title.text.partition("->")
            j, i = _tape_index(tail), _tape_index(head)
            if i in index and j in index:
                g.set("data-e", f"{index[i]}-{index[j]}")
                g.set("class", "edge gc-edge")
                for text in g.iter(_TEXT):
                    text.set("class", "gc-local")
            title.text = f"{w.labels.get(j, '?')} → {w.labels.get(i, '?')}"
    return ET.tostring(root, encoding="unicode")


def _tape_index(name: str) -> int:
    """n12 or n12_3 (a copy) -> 12."""
    return int(name.strip().lstrip("n").split("_")[0])


def _annotate_node(g, title, w, index) -> None:
    i = _tape_index(title.text)
    if i not in index:          # a constant
        g.set("class", "node gc-const")
        return
    g.set("data-n", str(index[i]))
    g.set("class", "node gc-node")
    title.text = f"{w.labels[i]} = {w.definitions[i]}"
    label = None
    shape = f"{_shape(w.shapes[i])}: " if hasattr(w, "shapes") else None
    for text in list(g.iter(_TEXT)):
        words = text.text or ""
        if text.get("font-weight") == "bold" and label is None:
            label = text
        elif text.get("fill") == GRADIENT_COLOUR and " = " in words:
            head, _, value = words.rpartition(" = ")
            _split(text, head, value, "gc-g")
        elif shape is not None:     # an array's line 'shape: value' ('2×2: [[1, 2], [3, 4]]')
            if words.startswith(shape):
                _split(text, shape.rstrip(), words[len(shape):], "gc-v", sep=" ")
        elif " = " in words and text.get("fill") is None and label is not None:
            # one text with the label: the browser's font is not the one Graphviz measured, so
            # the two pieces flow together rather than sit where Graphviz put the second
            head, _, value = words.rpartition(" = ")
            g.remove(text)
            del label.attrib["font-weight"]
            name = ET.Element(_TSPAN, {"class": "gc-lbl", "font-weight": "bold"})
            name.text, label.text = label.text, None
            _split(label, head, value, "gc-v", name)


def _split(text, head: str, value: str, cls: str, first=None, sep: str = " = ") -> None:
    """'∂f/∂q = -4' becomes '∂f/∂q' and the spans ' = -4' (known), ' = ?' (not yet) and a
    running sum (filled in by the script). ``first``: a span before the head (the label);
    ``sep``: what joins the head to the value."""
    if first is None:
        text.text = head
    else:
        text.append(first)
        first.tail = head
    text.set("class", f"{cls}line")
    for suffix, shown in (("v", f"{sep}{value}"), ("q", f"{sep}?"), ("p", "")):
        span = ET.SubElement(text, _TSPAN)
        span.set("class", f"{cls}{suffix}")
        span.text = shown


# --- the picture: a layered layout of its own ---------------------------------------------------

# The own layout's picture: the page's script fills it with what is on screen.
OWN_SVG = (f'<svg id="gc-svg" class="gc-own" xmlns="{SVG_NS}" role="img" '
           'aria-label="the computational graph" viewBox="0 0 100 100">'
           '<defs><marker id="gc-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
           'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
           '<path d="M0,0L10,5L0,10z"/></marker></defs>'
           '<g class="gc-edges"></g><g class="gc-nodes"></g></svg>')
FONT = 14          # pixels
LINE = 18          # pixels per text line
PAD = 8            # pixels inside a box
GAP = 18           # pixels between boxes of a rank
RANK_GAP = 50      # pixels between ranks (more where edge labels need it)


@record
class _Box:
    node: int                  # page index (forward step - 1)
    rank: int
    lines: list[str]
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0


def _width(text: str) -> float:
    return len(text) * FONT * 0.6 + 2 * PAD


def _ranks(w, order, index) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """Each node's rank as dot would about place it (one past its deepest argument; an input
    just before its nearest consumer), its arguments and its consumers (page indices)."""
    graph = w.tape.graph
    n = len(order)
    args = [[index[j] for j in graph.nodes[i].args if j in index] for i in order]
    consumers: list[list[int]] = [[] for _ in range(n)]
    for p in range(n):
        for q in args[p]:
            consumers[q].append(p)
    is_input = [graph.nodes[i].op == "input" for i in order]
    rank = [0] * n
    for p in range(n):
        if not is_input[p]:
            rank[p] = 1 + max((rank[q] for q in args[p] if not is_input[q]), default=-1)
    for p in range(n):
        if is_input[p]:
            rank[p] = min((rank[c] for c in consumers[p]), default=1) - 1
    low = min(rank, default=0)
    return [r - low for r in rank], args, consumers


def _box_lines(w, i, picture_digits) -> list[str]:
    """A box's lines as the page's script writes them (boxLines in walk.js): their lengths
    size the box."""
    label, value = w.labels[i], _shown(w, w.values[i], picture_digits)
    definition = "" if w.tape.graph.nodes[i].op == "input" else f" = {w.definitions[i]}"
    if hasattr(w, "shapes"):        # an array: its shape too
        definition += f" ({_shape(w.shapes[i])})"
    lines = [f"{label}{definition} = {value}"]
    if w.tape.needs[i]:
        lines.append(f"∂{w.output}/∂{label} = {_shown(w, w.grads.get(i, 0.0), picture_digits)}")
    return lines


def _shown(w, x, digits: int) -> str:
    """A value on one line: a number, or an array as tensor_steps.compact writes it."""
    if not hasattr(w, "shapes"):
        return fmt(x, digits)
    from .tensor_steps import compact

    return compact(x, digits)


def _order_ranks(boxes, edges, depth) -> list[list[int]]:
    """Boxes by rank, ordered to cross fewer edges: two sweeps of barycentres (down by the
    boxes each one reads, up by those reading it)."""
    ranks: list[list[int]] = [[] for _ in range(depth)]
    for b, box in enumerate(boxes):
        ranks[box.rank].append(b)
    preds: list[list[int]] = [[] for _ in boxes]
    succs: list[list[int]] = [[] for _ in boxes]
    for a, b, _key, _label in edges:
        preds[b].append(a)
        succs[a].append(b)
    pos = [0.0] * len(boxes)
    for members in ranks:
        for k, b in enumerate(members):
            pos[b] = k
    for sweep in (range(depth), range(depth - 1, -1, -1)):
        down = sweep.step == 1
        for r in sweep:
            near = preds if down else succs

            def centre(b, near=near):
                return sum(pos[a] for a in near[b]) / len(near[b]) if near[b] else pos[b]

            ranks[r].sort(key=centre)
            for k, b in enumerate(ranks[r]):
                pos[b] = k
    return ranks


def own_layout(w, order, index, picture_digits: int, rankdir: str = "auto") -> dict:
    """The graph laid out here, as data the page's script draws (only what is on screen, so a
    5,000-node page opens at once): ranks from the inputs to the output (left to right, or top
    to bottom: whichever fits a 16:9 screen better, as --graph chooses), nodes of a rank in the
    order that crosses fewer edges. Above SPLIT_INPUTS_ABOVE nodes an input used several times
    is drawn once per use, as --graph does. Each edge keeps its local gradient's label."""
    rank, args, consumers = _ranks(w, order, index)
    graph = w.tape.graph
    split = len(order) > SPLIT_INPUTS_ABOVE
    texts = _edge_texts(w, index, picture_digits)
    boxes: list[_Box] = []
    home: dict[int, int] = {}       # node -> its (first) box
    for p, i in enumerate(order):
        if split and graph.nodes[i].op == "input" and len(consumers[p]) > 1:
            continue                # drawn at each use, below
        home[p] = len(boxes)
        boxes.append(_Box(p, rank[p], _box_lines(w, i, picture_digits)))
    edges = []                      # (from box, to box, key, label)
    for p in range(len(order)):
        for q in args[p]:
            if q in home:
                src = home[q]
            else:                   # an input drawn once per use
                src = len(boxes)
                boxes.append(_Box(q, max(rank[p] - 1, 0), _box_lines(w, order[q], picture_digits)))
            edges.append((src, home[p], f"{p}-{q}", texts.get((p, q), "")))
    paths: dict[int, int] = {}
    for _i, j in _edge_ends(w):
        paths[j] = paths.get(j, 0) + 1
    for box in boxes:
        if paths.get(order[box.node], 0) > 1:   # room for a running sum: '= -0.4161 + …'
            box.lines = [box.lines[0], box.lines[-1] + " + …"]
        box.width = max(_width(t) for t in box.lines)
        box.height = LINE * len(box.lines) + PAD
    depth = max((b.rank for b in boxes), default=0) + 1
    ranks = _order_ranks(boxes, edges, depth)
    gaps: list[float] = [float(RANK_GAP)] * depth
    for _a, b, _key, label in edges:
        if label:
            gaps[boxes[b].rank] = max(gaps[boxes[b].rank], len(label) * 12 * 0.6 + 24)
    lr = _direction(boxes, ranks, gaps, rankdir) == "LR"
    if not lr:
        gaps = [float(RANK_GAP)] * depth
    width, height, places = _place_with_labels(boxes, ranks, edges, gaps, lr)
    return {"lr": lr, "size": [round(width, 1), round(height, 1)],
            "boxes": [[b.node, round(b.x, 1), round(b.y, 1), round(b.width, 1),
                       round(b.height, 1)] for b in boxes],
            "edges": [[a, b, key] for a, b, key, _label in edges],
            "labels": {key: [label, *places[key]] for _a, _b, key, label in edges if label}}


def _place_with_labels(boxes, ranks, edges, gaps, lr: bool):
    """Place the boxes and the edge labels; widen the gaps where labels found no free place,
    while that helps: up to a few rounds past the last improvement (for a big graph, where a
    round takes about 0.05 s per thousand boxes, three rounds in all); then the best round's
    gaps. Returns the drawing's width and height, and the labels' places."""
    big = len(boxes) > 1000
    patience, rounds = (1, 3) if big else (3, LABEL_ROUNDS)
    best: tuple[float, list[float]] = (math.inf, gaps)
    stale = 0
    for _round in range(rounds):
        width, height = _place(boxes, ranks, gaps, lr)
        places, crowded = _label_places(boxes, edges, lr, _starts(boxes, ranks, lr))
        failed = sum(crowded.values())
        if failed < best[0]:
            best, stale = (failed, list(gaps)), 0
        else:
            stale += 1
        if not crowded or stale >= patience:
            break
        for r, count in crowded.items():   # a line (or a column) per label without a place
            gaps[r] += count * (LABEL_H + 4) if not lr else min(count, 4) * 120
    if failed > best[0]:                   # (labels crossing the boxes of long edges, say)
        gaps = best[1]
        width, height = _place(boxes, ranks, gaps, lr)
        places, _crowded = _label_places(boxes, edges, lr, _starts(boxes, ranks, lr))
    return width, height, places


LABEL_H = 15            # pixels: an edge label's line (12 px text)
LABEL_ROUNDS = 10       # times the gaps may widen for labels that found no free place
# where on its edge a label may sit, best first
_ALONG = (0.5, 0.35, 0.65, 0.2, 0.8, 0.42, 0.58, 0.27, 0.73, 0.1, 0.9, 0.15, 0.85)
_CELL = 120.0           # pixels: the grid that finds what a label could overlap


def _curve(a: _Box, b: _Box, lr: bool, t: float) -> tuple[float, float, float, float]:
    """The edge from box a to box b as the page draws it (walk.js: ends, drawEdge: a cubic
    Bézier leaving and entering along the ranks' direction): its point at t, and x1 - x0."""
    if lr:
        x0, y0, x1, y1 = a.x + a.width, a.y + a.height / 2, b.x, b.y + b.height / 2
        c = max((x1 - x0) / 2, 20)
        p1, p2 = (x0 + c, y0), (x1 - c, y1)
    else:
        x0, y0, x1, y1 = a.x + a.width / 2, a.y + a.height, b.x + b.width / 2, b.y
        c = max((y1 - y0) / 2, 20)
        p1, p2 = (x0, y0 + c), (x1, y1 - c)
    u = 1 - t
    x = u ** 3 * x0 + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * x1
    y = u ** 3 * y0 + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * y1
    return x, y, x1 - x0, y1 - y0


def _candidates(a: _Box, b: _Box, lr: bool, w: float):
    """The places a label of width w may take on the edge a → b, best first: middle first,
    then further along; left to right above the curve, then below it; top to bottom beside
    it on the side it leans to, then on the other. Each: ([x, y, anchor], its rectangle)."""
    for t in _ALONG:
        x, y, dx, _dy = _curve(a, b, lr, t)
        if lr:
            yield [x, y - 4, "middle"], (x - w / 2, y - 16, x + w / 2, y - 1)
            yield [x, y + 15, "middle"], (x - w / 2, y + 3, x + w / 2, y + 18)
            continue
        sides = (1, -1) if dx >= 0 else (-1, 1)
        for side in sides:
            if side > 0:
                yield [x + 6, y + 4, "start"], (x + 6, y - 8, x + 6 + w, y + 7)
            else:
                yield [x - 6, y + 4, "end"], (x - 6 - w, y - 8, x - 6, y + 7)


def _gap_at(starts: list[float], along: float) -> int:
    """The rank whose gap in front holds (or is nearest) a point this far along the ranks."""
    return max(1, min(bisect.bisect_left(starts, along), len(starts) - 1))


def _label_places(boxes, edges, lr: bool, starts: list[float]) -> tuple[dict[str, list],
                                                                         dict[int, int]]:
    """Where each edge label goes, as [x, y, anchor] for the page's script: the first place
    along its edge (middle first) that overlaps no box and no label placed before it; and the
    ranks whose gap in front had labels with no free place, with how many (each goes to the
    middle of its edge anyway)."""
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def cells(r):
        for gx in range(int(r[0] // _CELL), int(r[2] // _CELL) + 1):
            for gy in range(int(r[1] // _CELL), int(r[3] // _CELL) + 1):
                yield gx, gy

    def free(r) -> bool:
        return not any(r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3]
                       for c in cells(r) for o in grid.get(c, ()))

    def take(r) -> None:
        for c in cells(r):
            grid.setdefault(c, []).append(r)

    for box in boxes:
        take((box.x, box.y, box.x + box.width, box.y + box.height))
    places: dict[str, list] = {}
    crowded: dict[int, int] = {}
    for a, b, key, label in sorted(edges, key=lambda e: (boxes[e[1]].rank, e[2])):
        if not label:
            continue
        w = len(label) * 12 * 0.6
        found = next((o for o in _candidates(boxes[a], boxes[b], lr, w) if free(o[1])), None)
        if found is None:   # no free place: the middle of its edge all the same
            found = next(_candidates(boxes[a], boxes[b], lr, w))
            r = found[1]
            gap = _gap_at(starts, (r[0] + r[2]) / 2 if lr else (r[1] + r[3]) / 2)
            crowded[gap] = crowded.get(gap, 0) + 1
        place, r = found
        take(r)
        places[key] = [round(place[0], 1), round(place[1], 1), place[2]]
    return places, crowded


def _edge_texts(w, index, picture_digits) -> dict[tuple[int, int], str]:
    from .dot import _edge_labels

    return {(index[i], index[j]): text
            for (i, k), text in _edge_labels(w, picture_digits).items()
            for j in [w.tape.graph.nodes[i].args[k]] if j in index}


def _starts(boxes, ranks, lr: bool) -> list[float]:
    """Where each rank begins along the ranks' direction (as placed)."""
    return [min(((boxes[b].x if lr else boxes[b].y) for b in members), default=0.0)
            for members in ranks]


def _extent(boxes, ranks, gaps, lr: bool) -> tuple[float, float]:
    along = [max((boxes[b].width if lr else boxes[b].height) for b in members) if members else 0
             for members in ranks]
    across = [sum((boxes[b].height if lr else boxes[b].width) + GAP for b in members)
              for members in ranks]
    length = sum(along) + sum(gaps[1:len(ranks)])
    return (length, max(across, default=0)) if lr else (max(across, default=0), length)


def _direction(boxes, ranks, gaps, rankdir: str) -> str:
    if rankdir in ("LR", "TB"):
        return rankdir
    fit = {}
    for d in ("LR", "TB"):   # the label-wide gaps left to right; top to bottom, RANK_GAP
        width, height = _extent(boxes, ranks, gaps if d == "LR" else
                                [float(RANK_GAP)] * len(ranks), d == "LR")
        fit[d] = min(1600 / max(width, 1), 900 / max(height, 1))
    return "LR" if fit["LR"] >= min(1.0, fit["TB"]) else "TB"


def _place(boxes, ranks, gaps, lr: bool) -> tuple[float, float]:
    """Coordinates for every box; the drawing's width and height."""
    width, height = _extent(boxes, ranks, gaps, lr)
    along = 0.0
    for r, members in enumerate(ranks):
        if r:
            along += gaps[r]
        thick = max(((boxes[b].width if lr else boxes[b].height) for b in members), default=0)
        total = sum((boxes[b].height if lr else boxes[b].width) + GAP for b in members) - GAP
        across = ((height if lr else width) - total) / 2
        for b in members:
            box = boxes[b]
            if lr:
                box.x, box.y = along + (thick - box.width) / 2, across
                across += box.height + GAP
            else:
                box.x, box.y = across, along + (thick - box.height) / 2
                across += box.width + GAP
        along += thick
    return width, height


# --- the page ----------------------------------------------------------------------------------

def _asset(name: str) -> str:
    return (PAGE / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() \
        + "'"


def _assemble(report, svg: str, data: str, page: dict) -> str:
    script, style = _asset("walk.js"), _asset("walk.css")
    for name, text in (("walk.js", script), ("walk.css", style)):
        if "</" in text.lower().replace("<\\/", ""):   # pragma: no cover - a packaging mistake
            raise ValueError(f"page/{name} must not contain '</'")
    # No network, ever: nothing may be fetched, connected to or submitted; only this script and
    # this stylesheet run (an injected <script> or <style> would not).
    csp = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    point = ", ".join(f"{k} = {_point_value(v)}" for k, v in report.result.point.items())
    fields = {
        "CSP": html.escape(csp, quote=True),
        "TITLE": html.escape(f"{_short(report.title)} — gradcalc walkthrough"),
        "PROGRAM": html.escape(report.source),
        "POINT": html.escape(point),
        "STYLE": style,
        "SCRIPT": script,
        "SVG": svg,
        "DATA": script_json(data),
        "PAGE": script_json(json.dumps(page, ensure_ascii=False, allow_nan=False)),
    }
    text = _asset("walk.html")
    pieces = text.split("{{")
    out = [pieces[0]]
    for piece in pieces[1:]:      # one pass: a field's text is never read as a placeholder
        name, _, rest = piece.partition("}}")
        out.append(fields[name] + rest)
    return "".join(out)


def _point_value(x) -> str:
    """An input's value in the page's header: a number, or an array by its shape and, when it
    is small, its entries."""
    shape = getattr(x, "shape", ())
    if not shape:
        return fmt(float(x))
    from .tensor_steps import compact

    return f"{_shape(shape)} {compact(x, 6)}"


def _short(title: str, limit: int = 80) -> str:
    line = " ".join(title.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
