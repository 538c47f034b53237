"""The computational graph as a picture, drawn like the figures in backprop notes: inputs on the
left, the output on the right, each node with its value and (in orange) its gradient, each edge
labelled with its local gradient.

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

GRADIENT_COLOUR = "#e8710a"   # orange, as in textbook figures
LOCAL_COLOUR = "#1a5fb4"      # local gradients on the edges, set apart from node gradients
FORMATS = ("dot", "svg", "png", "pdf")


def _h(text: str) -> str:
    return html.escape(text, quote=True)


# Above this many nodes an input used several times is drawn once per use: edges from one input
# to far-apart consumers make Graphviz's layout take minutes (0.1 s instead of >100 s at 400 nodes).
SPLIT_INPUTS_ABOVE = 100


def to_dot(w, digits: int = 4) -> str:
    """DOT text for a walkthrough (gradcalc.steps.Walkthrough)."""
    graph = w.tape.graph
    out = w.output
    uses: dict[int, int] = {}
    for i in w.tape.order:
        for j in graph.nodes[i].args:
            uses[j] = uses.get(j, 0) + 1
    split = {j for j, n in uses.items() if n > 1 and graph.nodes[j].op == "input"} \
        if len(w.tape.order) > SPLIT_INPUTS_ABOVE else set()
    lines = [
        "digraph gradcalc {",
        '  graph [rankdir=LR, fontname="Helvetica", nodesep=0.35, ranksep=0.6];',
        '  node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
        'fillcolor="#f7f7f7", color="#888888"];',
        '  edge [fontname="Helvetica", fontsize=10, color="#666666", fontcolor="#444444"];',
    ]
    for i in w.tape.order:
        node = graph.nodes[i]
        label = w.labels[i]
        if node.op == "const":
            lines.append(f'  n{i} [label=<{_h(label)}>, shape=plaintext, style="", '
                         'fontcolor="#777777"];')
            continue
        rows = [f"<b>{_h(label)}</b>"]
        if node.op != "input":
            rows.append(f'<font point-size="10">{_h(w.definitions[i])}</font>')
        rows.append(f"= {_h(fmt(w.values[i], digits))}")
        grad = w.grads.get(i, 0.0)
        if w.tape.needs[i]:
            rows.append(f'<font color="{GRADIENT_COLOUR}">∂{_h(out)}/∂{_h(label)} = '
                        f"{_h(fmt(grad, digits))}</font>")
        fill = "#e8f0fe" if node.op == "input" else (
            "#fff4e5" if i == w.tape.out else "#f7f7f7")
        body = "<br/>".join(rows)
        if i in split:
            body += f'<br/><font point-size="9">(drawn at each of its {uses[i]} uses)</font>'
            copies = [f"n{i}_{c}" for c in range(uses[i])]
        else:
            copies = [f"n{i}"]
        for name in copies:
            lines.append(f'  {name} [label=<{body}>, fillcolor="{fill}"];')
    local = {(e.source, e.arg): e.local for e in w.edges}
    used = dict.fromkeys(split, 0)
    for i in w.tape.order:
        for k, j in enumerate(graph.nodes[i].args):
            tail = f"n{j}"
            if j in split:
                tail = f"n{j}_{used[j]}"
                used[j] += 1
            if (i, k) in local:
                text = f"local {fmt(local[(i, k)], digits)}"
                lines.append(f'  {tail} -> n{i} [label=<<font color="{LOCAL_COLOUR}">'
                             f"{_h(text)}</font>>];")
            else:
                lines.append(f"  {tail} -> n{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(w, path: str, digits: int = 4) -> str:
    """Write the picture to ``path``; the format follows its extension. Returns the format."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(f"--graph {path}: unknown picture format {ext or '(none)'!r}",
                         hint="use a .dot, .svg, .png or .pdf file name")
    text = to_dot(w, digits)
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
        sharp = ["-Gdpi=150"] if ext == "png" else []   # the default 72-96 dpi looks blurry
        done = subprocess.run([dot, f"-T{ext}", *sharp, "-o", path], input=text.encode("utf-8"),
                              capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"--graph {path}: Graphviz could not lay out this graph in 2 minutes",
                         hint="write a .dot file instead, and lay it out yourself") from None
    if done.returncode != 0:
        raise UsageError(f"--graph {path}: Graphviz could not write it: "
                         f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return ext
