"""The computational graph as a flat tape.

Nodes sit in a list in topological order: a node's arguments are always earlier indices. Every pass
over the graph is therefore a plain loop up or down the list; nothing recurses, so a 100,000-deep
chain costs what a 3-node one does per node.
"""

from __future__ import annotations

from typing import Any

from .records import field, record


class Node:
    """One tape entry: an op from the registry (or 'input' / 'const') applied to earlier nodes.

    Treat it as immutable. Written by hand, not a record: the parser makes one per node, and a
    plain __init__ on slots is the fastest to build."""

    __slots__ = ("op", "args", "value", "text", "span")

    def __init__(self, op: str, args: tuple[int, ...] = (), value: Any = None,
                 text: str | None = None, span: tuple[int, int] = (0, 0)):
        self.op = op
        self.args = args
        # a constant's value; the default of a named constant (pi, e); the parameter of an op
        # with a static one (an axis, an index: ops.Op.static)
        self.value = value
        self.text = text     # a literal as typed ("0.5"), or an input's name
        self.span = span

    def _fields(self) -> tuple:
        return (self.op, self.args, self.value, self.text, self.span)

    def __eq__(self, other):
        if other.__class__ is not Node:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None   # type: ignore[assignment]   # compared by value, and mutable

    def __repr__(self) -> str:
        return ("Node(op={!r}, args={!r}, value={!r}, text={!r}, span={!r})"
                .format(*self._fields()))


@record
class Graph:
    """The tape plus what the program named: its inputs, its assignments and its output."""

    source: str
    nodes: list[Node] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)   # free names, in order of first use
    names: dict[str, int] = field(default_factory=dict)    # assigned names -> their final node
    output: str = "f"
    warnings: list[str] = field(default_factory=list)
    tensor: bool = False   # a node only arrays have (docs/tensors.md): [..], @, .T, sum, mean

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def snippet(self, index: int, limit: int = 60) -> str:
        """The source text a node came from (cut to ``limit`` characters), for messages."""
        node = self.nodes[index]
        if node.op == "input":
            return node.text or "?"
        start, end = node.span
        text = " ".join(self.source[start:min(end, start + 4 * limit)].split())
        return text if len(text) <= limit else text[:limit - 1] + "…"

    def label(self, index: int) -> str:
        """A node's name if the program gave it one, else its source text."""
        for name, i in self.names.items():
            if i == index:
                return name
        return self.snippet(index)

    def index_of(self, name: str) -> int:
        """The node a name means. An input comes first: in 'c = 2*c', ∂f/∂c is for the input c."""
        if name in self.inputs:
            return self.inputs[name]
        return self.names[name]


def program_text(graph: Graph, out: int | None = None) -> str:
    """The graph as a program again, one statement per operation (``node_7 = sin(node_3)``),
    ending with the output: parsing it gives the same graph, node for node. (Used to check the
    parser both ways.)"""
    from .ops import REGISTRY

    out = graph.names[graph.output] if out is None else out
    names: dict[int, str] = {}
    lines = []
    for i, node in enumerate(graph.nodes[:out + 1]):
        if node.op == "input":
            assert node.text is not None   # an input's text is its name
            names[i] = node.text
            continue
        if node.op == "const":
            text = node.text if node.text is not None else repr(node.value)
            names[i] = f"({text})" if text.startswith("-") else text
            continue
        args = [names[j] for j in node.args]
        op = REGISTRY[node.op]
        if node.op == "stack":
            rhs = f"[{', '.join(args)}]"
        elif op.infix and len(args) == 2:
            rhs = f"({args[0]} {op.infix} {args[1]})"
        elif op.infix:
            rhs = f"(-{args[0]})"
        else:
            rhs = f"{op.calls[0]}({', '.join(args)})"
        names[i] = f"node_{i}"
        lines.append(f"node_{i} = {rhs}")
    lines.append(f"result = {names[out]}")
    return "\n".join(lines)
