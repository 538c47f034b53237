"""A terminal view of the graph (rich Tree): the output at the root, each node's arguments below
it, with value and gradient. Built with an explicit stack, and cut off past a size limit."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from ..numfmt import fmt

MAX_LINES = 200


def graph_tree(w, digits: int = 6, max_lines: int = MAX_LINES) -> Tree:
    graph = w.tape.graph
    out = w.output

    def line(i, seen):
        """'q = x + y = 3, ∂f/∂q = -4'; a constant is its own value: '2 (constant)'."""
        node = graph.nodes[i]
        if node.op == "const":
            return Text.assemble((w.labels[i], "bold"), (" (constant)", "dim"))
        text = Text(w.labels[i], style="bold")
        if node.op != "input":
            text.append(f" = {w.definitions[i]}", style="dim")
        text.append(f" = {fmt(w.values[i], digits)}")
        if w.tape.needs[i]:
            text.append(f", ∂{out}/∂{w.labels[i]} = {fmt(w.grads.get(i, 0.0), digits)}",
                        style="dark_orange")
        if seen:
            text.append(" (shared: expanded above)", style="dim italic")
        return text

    root = Tree(line(w.tape.out, False))
    expanded = {w.tape.out}
    stack = [(root, j) for j in reversed(graph.nodes[w.tape.out].args)]
    shown, cut = 1, False
    while stack:
        parent, i = stack.pop()
        if shown >= max_lines:
            cut = True
            break
        seen = i in expanded and bool(graph.nodes[i].args)
        branch = parent.add(line(i, seen))
        shown += 1
        if not seen:
            expanded.add(i)
            stack.extend((branch, j) for j in reversed(graph.nodes[i].args))
    if cut:
        root.add(Text(f"… cut at {max_lines} lines (the graph has {len(w.tape.order)} nodes; "
                      "--graph FILE draws all of it)", style="yellow"))
    return root
