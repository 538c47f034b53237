"""Forward and reverse mode over the tape, in any domain.

``Tape`` is a graph compiled for one output and one set of variables: only the output's
ancestors are kept, each step is a tuple the loops unpack without lookups, and an argument that
does not depend on any variable gets no derivative rule (x^3 at x = -2 never asks for ln(-2)).
Forward is one loop up the list, backward one loop down it; a node used by several consumers
receives the sum of their contributions. Failures are rare, so they are explained after the fact:
the hot loops only catch the exception or test one sum for finiteness, then a slow path finds the
culprit.

Singular points (the ``flat`` and ``singular`` entries of the registry): a zero that comes from the
program's structure (relu's flat side, the argument max did not select, x^0) masks whatever would
flow through it, infinite or not, as PyTorch's ``where``-based rules do. Any other 0·∞ (cbrt(x)^3
at 0: pow's local 3·cbrt(x)² is 0 there, cbrt's is ∞) is something reverse mode cannot decide:
``unresolved`` names the partials it touches and ``limits.py`` determines them another way.
"""

from __future__ import annotations

import math
from functools import partial

from .domains import FLOAT
from .errors import EvaluationError
from .graph import Graph
from .numfmt import fmt
from .ops import REGISTRY, VARIADIC
from .records import field, record

_UNARY, _VARIADIC, _VJP = -1, -2, -3   # the `b` slot of a step: one, many arguments, a VJP
_LINEAR, _MUL = 1, 2   # float_backprop's steps of + and - (partials ±1), and of * (y and x)
# The registry's own rules that float_backprop applies without calling them: a step whose rules
# are others (a test may put a wrong rule in the registry) goes through the one loop.
_LINEAR_RULES = frozenset(r for name in ("add", "sub") for r in REGISTRY[name].partials)
_MUL_RULES = REGISTRY["mul"].partials
_FAILURES = (ValueError, ZeroDivisionError, OverflowError)


@record(frozen=True)
class Edge:
    """One step of the backward pass: node ``source`` sends gradient to its argument ``target``."""

    source: int
    arg: int             # which argument of source the target is
    target: int
    upstream: float      # ∂out/∂source
    local: float         # ∂source/∂target
    downstream: float    # upstream × local, this edge's contribution
    total: float         # ∂out/∂target accumulated so far


@record
class Tape:
    """A graph compiled for evaluating one output with respect to given variables."""

    graph: Graph
    out: int
    variables: tuple[str, ...]
    order: list[int]            # the output's ancestors, in topological order
    kept: list[bool]            # kept[i]: node i is one of them
    forward_steps: list[tuple]  # (i, value rule, a, b)
    backward_steps: list[tuple]  # (i, a, b, rule for a, rule for b), output first
    needs: list[bool]           # needs[i]: node i depends on a variable
    kinks: list[tuple]          # (i, args, kink test, singular test) for each node depending on
    #                             a variable whose op has a non-differentiable or singular point
    step_nodes: list[int] = field(default_factory=list)   # forward_steps' nodes, in order
    seeds: frozenset = frozenset()   # the nodes partials are taken with respect to
    edges: list = field(default_factory=list)   # (i, args, test): ops at their domain's edge
    _float_leaves: tuple | None = field(default=None, repr=False)   # (template, input slots)
    _float_steps: list | bool = field(default=False, repr=False)    # see float_backprop

    @classmethod
    def compile(cls, graph: Graph, out: int, variables, extra=(), tensor: bool = False) -> Tape:
        """Keep the output's ancestors; give rules only to arguments that depend on a variable
        (or on a node in ``extra``, an intermediate the caller wants ∂out/∂node for). With
        ``tensor`` (values are arrays, docs/tensors.md) every backward step is the op's array
        VJP, which un-broadcasts."""
        nodes = graph.nodes
        n = len(nodes)
        keep = [False] * n
        keep[out] = True
        for i in range(out, -1, -1):
            if keep[i]:
                for j in nodes[i].args:
                    keep[j] = True
        seeds = {graph.inputs[v] for v in variables} | set(extra)
        needs = [False] * n
        order, fwd, bwd, kinks, edges = [], [], [], [], []
        for i in range(out + 1):
            if not keep[i]:
                continue
            order.append(i)
            node = nodes[i]
            args = node.args
            needs[i] = i in seeds or any(needs[j] for j in args)
            if not args:
                continue
            op = REGISTRY[node.op]
            if (op.kink is not None or op.singular is not None) and needs[i]:
                kinks.append((i, args, op.kink[0] if op.kink else None, op.singular))
            if op.edge is not None and needs[i]:
                edges.append((i, args, op.edge))
            if tensor or not op.partials:   # an op with only a VJP, or on arrays
                value, vjp = op.value, op.array_vjp if tensor else op.vjp
                if op.static is not None and vjp is not None:   # its parameter, fixed in the
                    #                                               text (docs/tensors.md)
                    value, vjp = partial(value, p=node.value), partial(vjp, p=node.value)
                fwd.append((i, value, args, _VARIADIC) if len(args) != 1 else
                           (i, value, args[0], _UNARY))
                step: tuple = (i, args, _VJP, vjp, None)
            elif op.arity == VARIADIC:
                fwd.append((i, op.value, args, _VARIADIC))
                step = (i, args, _VARIADIC, op.partials[0], None)
            elif len(args) == 1:
                fwd.append((i, op.value, args[0], _UNARY))
                step = (i, args[0], _UNARY, op.partials[0], None)
            else:
                a, b = args
                fwd.append((i, op.value, a, b))
                step = (i, a, b, op.partials[0] if needs[a] else None,
                        op.partials[1] if needs[b] else None)
            if any(needs[j] for j in args):
                bwd.append(step)
        bwd.reverse()
        return cls(graph, out, tuple(variables), order, keep, fwd, bwd, needs, kinks,
                   [s[0] for s in fwd], seeds=frozenset(seeds), edges=edges)

    # --- forward ------------------------------------------------------------------------------
    def leaves(self, D, point: dict) -> list:
        """A value list with inputs (from the point, or a constant's default) and literals set.
        For floats, a template made once is copied and the inputs filled in."""
        if D is FLOAT:
            template, slots = self.float_template()
            v = template.copy()
            for i, name in slots:
                x = point.get(name, v)
                if x is not v:
                    v[i] = x
                elif v[i] is None:   # callers check for missing values first
                    raise KeyError(name)
            return v
        return self._leaves(D, point)

    def float_template(self) -> tuple[list, list[tuple[int, str]]]:
        """(template, slots): the float value list with literals and constants set, made once,
        and (node, name) of each input to fill in."""
        if self._float_leaves is None:
            slots = [(i, self.graph.nodes[i].text) for i in self.order
                     if self.graph.nodes[i].op == "input"]
            self._float_leaves = (self._leaves(FLOAT, {}), slots)
        return self._float_leaves

    def _leaves(self, D, point: dict) -> list:
        v = [None] * (self.out + 1)
        nodes = self.graph.nodes
        for i in self.order:
            node = nodes[i]
            if node.op == "const":
                v[i] = D.literal(node.value, node.text)
            elif node.op == "input":
                if node.text in point:
                    v[i] = point[node.text]
                elif node.text == "pi":
                    v[i] = D.pi
                elif node.text == "e":
                    v[i] = D.e
                elif point:  # callers check for missing values first
                    raise KeyError(node.text)
        return v

    def forward(self, D, point: dict, override: tuple[int, object] | None = None,
                steps: list | None = None) -> list:
        """Every kept node's value. ``override`` = (node, value) replaces one node's value;
        ``steps`` limits the pass to some of the forward steps."""
        v = self.leaves(D, point)
        steps = self.forward_steps if steps is None else steps
        try:
            if override is None:
                self._run(D, v, steps)
            else:
                k, value = override
                cut = next((s for s, step in enumerate(steps) if step[0] > k), len(steps))
                self._run(D, v, steps[:cut])
                v[k] = value
                self._run(D, v, steps[cut:])
        except (*_FAILURES, TypeError) as exc:
            i = next(s[0] for s in steps if v[s[0]] is None)
            if D is not FLOAT:   # SymPy refusing: a non-real comparison, an enormous number
                raise EvaluationError(f"SymPy cannot evaluate {self.graph.snippet(i)}: {exc}",
                                      self.graph.source, self.graph.nodes[i].span) from None
            raise self._value_error(i, v, exc) from None
        if D is FLOAT and not math.isfinite(
                sum(map(v.__getitem__, self.step_nodes if steps is self.forward_steps
                        else [s[0] for s in steps]))):
            # (the sum itself may overflow while every value is finite)
            bad = next((s[0] for s in steps if not math.isfinite(v[s[0]])), None)
            if bad is not None:
                raise self._value_error(bad, v, None)
        return v

    def check_constants(self) -> None:
        """Evaluate in floats the part of the graph that no variable reaches: an error there
        (1/0, log(-1)) is an error at every point, so symbolic mode reports it as one."""
        steps = [s for s in self.forward_steps if not self.needs[s[0]]]
        try:
            self.forward(FLOAT, dict.fromkeys(self.variables, 0.0), steps=steps)
        except EvaluationError as exc:
            if not exc.overflow:   # exp(1000) is fine for SymPy; 1/0 is not
                raise

    def check_undefined(self, v, gradient: dict) -> None:
        """In the SymPy domain: raise if the output or a partial is undefined for every real
        point (x/0 is zoo·x, (-2)^y has an imaginary derivative), naming the first culprit."""
        import sympy

        bad = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)
        if not v[self.out].has(*bad) and not any(d.has(*bad) for d in gradient.values()):
            return
        for s in self.forward_steps:
            if v[s[0]].has(*bad) and _nowhere_real(v[s[0]]):
                raise EvaluationError(
                    f"{self.graph.snippet(s[0])} is undefined for every real value of its "
                    f"variables (SymPy makes it {v[s[0]]})", self.graph.source,
                    self.graph.nodes[s[0]].span)
        for name, d in gradient.items():
            if d.has(*bad) and _nowhere_real(d):
                raise EvaluationError(f"the derivative with respect to {name} is not a real "
                                      f"number anywhere (SymPy makes it {d})", self.graph.source,
                                      self.graph.nodes[self.out].span)

    @staticmethod
    def _run(D, v, steps):
        for i, fn, a, b in steps:
            if b >= 0:
                v[i] = fn(D, v[a], v[b])
            elif b == _UNARY:
                v[i] = fn(D, v[a])
            else:
                v[i] = fn(D, *[v[j] for j in a])

    # --- backward -----------------------------------------------------------------------------
    def backward(self, D, v: list, skip: set | None = None) -> list:
        """Adjoints ∂out/∂node for every kept node (zero where the output does not depend on it).
        In floats, an adjoint reverse mode cannot decide (∞·0, ∞ - ∞ on a path that is not
        masked) is NaN; one that is infinite raises, naming the edge. ``skip``: edges (node,
        argument) to leave out, the structural zeros found by ``masked`` (exact and mpmath
        values, which have no infinities to carry)."""
        try:
            g = self.float_backprop(v) if D is FLOAT and skip is None else \
                self._backprop(D, v, None if skip is None else self._masked_steps(skip))
        except (*_FAILURES, TypeError) as exc:
            if D is not FLOAT:   # SymPy refusing, e.g. comparing a non-real number
                raise EvaluationError(f"SymPy cannot differentiate this program: it is not real "
                                      f"({exc})", self.graph.source,
                                      self.graph.nodes[self.out].span) from None
            return self._careful(v)
        if D is FLOAT and not math.isfinite(sum(map(g.__getitem__, self.order))):
            return self._careful(v)
        return g

    def _backprop(self, D, v, steps=None, seed=None, g=None):
        """The one backward loop, for every domain: floats, NumPy arrays (many points: no node
        is skipped, since an array's upstream is zero only at some points; += then adds in
        place into the array a node's first contribution made), SymPy, mpmath and the graph
        domain. Scalar steps apply the local partials directly (the VJP's scalar case, without
        building a tuple); an op with only a VJP goes through it. ``seed``: the output's
        adjoint (an array output's one-hot entry, for a row of its Jacobian), else 1. ``g``:
        adjoints to go on from (float_backprop's, for one step)."""
        if g is None:
            g = [D.zero] * (self.out + 1)
            g[self.out] = D.one if seed is None else seed
        needs = self.needs
        skip_zero = D.name not in ("numpy", "tensor")   # (an array is never tested for 0)
        for i, a, b, ra, rb in self.backward_steps if steps is None else steps:
            gi = g[i]
            if skip_zero and gi == 0:
                continue   # nothing flows through this node (and its rules may be undefined here)
            out = v[i]
            if b >= 0:
                x, y = v[a], v[b]
                if ra is not None:
                    g[a] += gi * ra(D, x, y, out)
                if rb is not None:
                    g[b] += gi * rb(D, x, y, out)
            elif b == _UNARY:
                g[a] += gi * ra(D, v[a], out)
            elif b == _VARIADIC:
                xs = tuple(v[j] for j in a)
                for k, j in enumerate(a):
                    if needs[j]:
                        g[j] += gi * ra(D, k, xs, out)
            else:   # _VJP: ra(D, upstream, args, out) -> downstream per argument
                xs = tuple(v[j] for j in a)
                for j, d in zip(a, ra(D, gi, xs, out), strict=True):
                    if d is not None and needs[j]:
                        g[j] += d
        return g

    def float_backprop(self, v: list) -> list:
        """``_backprop(FLOAT, v)``, number for number, faster: a step of + or - multiplies by
        its constant partials (1, -1) without calling its rules, and one of * by the other
        argument, which is what its rules return; every other step is the one loop's. (The
        first pass of a tape is the one loop's: making these steps costs more than it saves
        once.)"""
        steps = self._float_steps
        if steps is False:
            self._float_steps = True
            return self._backprop(FLOAT, v)
        if steps is True:
            steps = self._float_steps = self._float_backward_steps()
        g = [0.0] * (self.out + 1)
        g[self.out] = 1.0
        D = FLOAT
        for i, a, b, ra, rb, kind in steps:
            gi = g[i]
            if gi == 0:
                continue   # nothing flows through this node (and its rules may be undefined here)
            if kind == _MUL:
                if ra is not None:
                    g[a] += gi * v[b]
                if rb is not None:
                    g[b] += gi * v[a]
            elif kind == _LINEAR:   # ra, rb: the partials themselves, 1.0 or -1.0
                if ra is not None:
                    g[a] += gi * ra
                if rb is not None:
                    g[b] += gi * rb
            elif b >= 0:
                out = v[i]
                x, y = v[a], v[b]
                if ra is not None:
                    g[a] += gi * ra(D, x, y, out)
                if rb is not None:
                    g[b] += gi * rb(D, x, y, out)
            elif b == _UNARY:
                g[a] += gi * ra(D, v[a], v[i])
            else:   # several arguments, or a VJP: as _backprop does them
                self._backprop(D, v, [(i, a, b, ra, rb)], g=g)
        return g

    def _float_backward_steps(self) -> list:
        """The backward steps as float_backprop takes them: a kind each, and for + and - the
        constant partials in place of their rules."""
        steps = []
        for i, a, b, ra, rb in self.backward_steps:
            if b >= 0 and (ra is None or ra in _LINEAR_RULES) and (
                    rb is None or rb in _LINEAR_RULES):   # + and -: partials 1 and ±1 anywhere
                steps.append((i, a, b, None if ra is None else ra(FLOAT, 1.0, 1.0, 2.0),
                              None if rb is None else rb(FLOAT, 1.0, 1.0, 2.0), _LINEAR))
            else:
                mul = b >= 0 and ra in (None, _MUL_RULES[0]) and rb in (None, _MUL_RULES[1])
                steps.append((i, a, b, ra, rb, _MUL if mul else 0))
        return steps

    def _masked_steps(self, skip) -> list:
        """The backward steps without the edges in ``skip`` (structural zeros at a point)."""
        steps = []
        nodes = self.graph.nodes
        for step in self.backward_steps:
            i, a, b, ra, rb = step
            masked = [(i, k) in skip for k in range(len(nodes[i].args))]
            if not any(masked):
                steps.append(step)
            elif b >= 0:
                steps.append((i, a, b, None if masked[0] else ra, None if masked[1] else rb))
            elif b == _VARIADIC or b == _VJP:
                op = REGISTRY[nodes[i].op]
                steps.append((i, tuple(nodes[i].args), _VJP, _without(op.vjp, masked), None))
            # a masked unary step is left out
        return steps

    def masked(self, v) -> set[tuple[int, int]]:
        """The edges (node, argument) that structural zeros mask at the float values ``v``."""
        up, down = self.masks(v)
        nodes = self.graph.nodes
        return {(i, k) for i, *_ in self.backward_steps for k, j in enumerate(nodes[i].args)
                if not up[i] or not down[j] or self.flat(v, i, k)}

    def _careful(self, v) -> list:
        """The float backward pass again, slowly: structural zeros mask their edges, every local
        derivative is checked, and an infinite one is carried as a signed infinity (so that
        ∞·0 and ∞ - ∞ become NaN, undecided, while ∞ alone raises)."""
        up, down = self.masks(v)
        g = [0.0] * (self.out + 1)
        g[self.out] = 1.0
        nodes = self.graph.nodes
        singular = []   # (node, argument) of each edge whose contribution was not finite
        for i, *_ in self.backward_steps:
            gi = g[i]
            if gi == 0 or not up[i]:
                continue
            args = nodes[i].args
            for k, j in enumerate(args):
                if not down[j] or self.flat(v, i, k):
                    continue
                try:
                    local = self.local(FLOAT, v, i, k)
                except (ZeroDivisionError, OverflowError):
                    local = self._signed_local(v, i, k)
                except ValueError:
                    raise self._derivative_error(i, k, [v[a] for a in args], False) from None
                contribution = gi * local
                before = g[j]
                g[j] = before + contribution
                if not math.isfinite(contribution):
                    singular.append((i, k))
                elif math.isfinite(before) and not math.isfinite(g[j]):
                    raise EvaluationError(
                        f"the gradient with respect to {self.graph.label(j)} overflows: its "
                        "paths add up beyond the float64 range (±1.8e308)", self.graph.source,
                        nodes[j].span)
        for s in self.seeds:
            if s <= self.out and math.isinf(g[s]):
                i, k = next(((i, k) for i, k in singular
                             if self.reach(s)[nodes[i].args[k]]), singular[0])
                raise self._derivative_error(i, k, [v[a] for a in nodes[i].args])
        return g

    def _signed_local(self, v, i, k) -> float:
        """A local derivative that float arithmetic refused (1/0) as IEEE arithmetic gives it:
        ±inf, or NaN for 0/0. Rare, so NumPy (which has that arithmetic) is imported here."""
        from .domains import numpy_domain
        from .lazy import numpy

        np = numpy()
        w = list(v)
        for a in (*self.graph.nodes[i].args, i):
            w[a] = np.float64(v[a])
        with np.errstate(all="ignore"):
            try:
                return float(self.local(numpy_domain(), w, i, k))
            except _FAILURES:
                return math.nan

    def flat(self, v, i, k) -> bool:
        """Whether node i is constant in its k-th argument near this point (a structural zero)."""
        node = self.graph.nodes[i]
        flat = REGISTRY[node.op].flat
        if flat is None:
            return False
        xs = tuple(v[j] for j in node.args)
        return bool(flat(k, xs, v[i], tuple(self.needs[j] for j in node.args)))

    def masks(self, v) -> tuple[list[bool], list[bool]]:
        """(up, down): up[i], the output reaches node i through edges that are not structural
        zeros; down[i], node i reaches a seed (a variable) through such edges. An edge i → j
        matters only when up[i] and down[j] hold and it is not itself flat."""
        nodes = self.graph.nodes
        n = self.out + 1
        down = [False] * n
        for i in self.order:
            if i in self.seeds:
                down[i] = True
            elif nodes[i].args and self.needs[i]:
                down[i] = any(down[j] and not self.flat(v, i, k)
                              for k, j in enumerate(nodes[i].args))
        up = [False] * n
        up[self.out] = True
        for i in reversed(self.order):
            if up[i] and nodes[i].args:
                for k, j in enumerate(nodes[i].args):
                    if not up[j] and not self.flat(v, i, k):
                        up[j] = True
        return up, down

    def local(self, D, v, i, k):
        """The local gradient ∂node_i/∂(its k-th argument), at the values v."""
        node = self.graph.nodes[i]
        return REGISTRY[node.op].local(D, k, tuple(v[j] for j in node.args), v[i])

    def trace(self, v, g) -> list[Edge]:
        """The backward pass edge by edge, output first, for people to follow: each edge's upstream
        gradient, local gradient, the downstream gradient it sends, and the running total at its
        target (gradients add where paths meet). Replays the float pass; ``g`` is its result."""
        total = [0.0] * len(g)
        total[self.out] = 1.0
        edges = []
        up, down = self.masks(v)
        for i, *_ in self.backward_steps:
            if g[i] == 0 or not up[i]:
                continue   # as in the pass itself: nothing flows through this node
            for k, j in enumerate(self.graph.nodes[i].args):
                if self.needs[j] and down[j] and not self.flat(v, i, k):
                    try:
                        local = self.local(FLOAT, v, i, k)
                    except (ZeroDivisionError, OverflowError):
                        local = self._signed_local(v, i, k)
                    total[j] += g[i] * local
                    edges.append(Edge(i, k, j, g[i], local, g[i] * local, total[j]))
        return edges

    def keeps(self, index: int) -> bool:
        """Whether the output depends on node ``index`` (is it on the tape?)."""
        return index < len(self.kept) and self.kept[index]

    def reach(self, node: int, down: bool = False) -> list[bool]:
        """reach[i]: node i depends on ``node`` (one pass up the tape); with ``down``, node
        ``node`` depends on node i (one pass down it)."""
        reach = [False] * len(self.kept)
        if node < len(reach):
            reach[node] = True
            nodes = self.graph.nodes
            if down:
                for i in reversed(self.order):
                    if reach[i]:
                        for j in nodes[i].args:
                            reach[j] = True
                return reach
            for i in self.order:
                if i > node and any(reach[j] for j in nodes[i].args):
                    reach[i] = True
        return reach

    def kinks_hit(self, v, g) -> list[tuple[int, str]]:
        """(node, warning) for each non-differentiable point the gradient passed through (and that
        a variable reaches through edges that are not structural zeros)."""
        found = []
        down = None
        for i, args, kink, _singular in self.kinks:
            if g[i] == 0 or kink is None or not kink(*[v[j] for j in args]):
                continue
            if down is None:
                down = self.masks(v)[1]
            node = self.graph.nodes[i]
            if not any(down[j] and not self.flat(v, i, k) for k, j in enumerate(args)):
                continue   # constant near here: relu(x) < 0 inside abs(asin(relu(x)))
            op = REGISTRY[node.op]
            assert op.kink is not None   # kink came from it
            text = self.graph.snippet(i)
            where = "where its two sides are equal" if node.op == "step" and not \
                text.startswith("step") else f"at ({self._at(v, args)})"   # a comparison
            found.append((i, f"{text} is not differentiable {where}: gradcalc uses "
                              f"{op.kink[1]}, as PyTorch does"))
        return found

    def unresolved(self, v, g) -> dict[int, str]:
        """The seeds (variables) whose partial reverse mode cannot give here, each with why: an
        infinite local derivative met a zero that is not structural (0·∞), or infinities
        cancelled (NaN in ``g``). Empty, after one short loop, at ordinary points."""
        found: dict[int, str] = {}
        nan = [s for s in self.seeds if s <= self.out and g[s] != g[s]]
        if nan:
            singular = next((i for i, args, _k, test in self.kinks
                             if test is not None and test(*[v[j] for j in args])), None)
            why = ("reverse mode meets ∞·0 or ∞ - ∞" if singular is None else
                   f"the infinite derivative of {self.graph.snippet(singular)} at "
                   f"({self._at(v, self.graph.nodes[singular].args)}) meets a zero or another "
                   "infinity (∞·0, ∞ - ∞)")
            found.update(dict.fromkeys(nan, why))
        masks = None
        for i, args, _kink, singular in self.kinks:
            if g[i] != 0 or singular is None or not singular(*[v[j] for j in args]):
                continue
            if masks is None:
                masks = self.masks(v)
            up, down = masks
            if not up[i]:
                continue   # every path from the output to here passes a structural zero
            why = (f"an infinite derivative of {self.graph.snippet(i)} at "
                   f"({self._at(v, args)}) meets an upstream gradient of 0 (0·∞)")
            reach = [False] * (self.out + 1)
            for k, j in enumerate(args):
                reach[j] = down[j] and not self.flat(v, i, k)
            nodes = self.graph.nodes
            for n in reversed(self.order):   # down the tape, through edges that are not flat
                if reach[n] and n < i:
                    for k, j in enumerate(nodes[n].args):
                        if down[j] and not self.flat(v, n, k):
                            reach[j] = True
            for seed in self.seeds:
                if seed <= self.out and reach[seed]:
                    found.setdefault(seed, why)
        return found

    @staticmethod
    def _at(v, args) -> str:
        return ", ".join(fmt(v[j]) for j in args)

    # --- explanations -------------------------------------------------------------------------
    def _args_text(self, i, xs, params=None, rule=""):
        """'x-1 = 0': each argument's text and value. A literal is named by its parameter
        ('base = 1') when the broken ``rule`` speaks of that parameter, else left out (its text
        is its value)."""
        shown = []
        for k, (j, x) in enumerate(zip(self.graph.nodes[i].args, xs, strict=True)):
            text, value = self.graph.snippet(j), fmt(x)
            if text != value:
                shown.append(f"{text} = {value}")
            elif params is not None and k < len(params) and params[k] in rule:
                shown.append(f"{params[k]} = {value}")
        return ", ".join(dict.fromkeys(shown))

    def _value_error(self, i, v, exc) -> EvaluationError:
        g = self.graph
        node = g.nodes[i]
        op = REGISTRY[node.op]
        xs = [v[j] for j in node.args]
        snippet = g.snippet(i)
        # variadic ops name only their first two arguments
        names = dict(zip(op.params, (g.snippet(j) for j in node.args), strict=False))
        message, broken = None, ""
        for test, rule in op.requires:
            if not test(*xs):
                broken = rule.format(**names)
                message = f"{snippet} is undefined: it needs {broken}"
                break
        overflow = message is None
        if message is None:
            message = f"{snippet} overflows: its value is beyond the float64 range (±1.8e308)"
        args = self._args_text(i, xs, op.params if len(xs) > 1 else None, broken)
        if args:
            message += f", but {args}" if "needs" in message else f" ({args})"
        error = EvaluationError(message, g.source, node.span)
        error.overflow = overflow
        return error

    def _derivative_error(self, i, k, xs, real=True) -> EvaluationError:
        g = self.graph
        node = g.nodes[i]
        wrt = g.label(node.args[k])
        args = self._args_text(i, xs)
        if node.op == "pow":   # math.pow(0, negative) raises ValueError: that one is infinite
            real = k == 0
        what = "is not finite" if real else "is not a real number"
        message = (f"the derivative of {g.snippet(i)} with respect to {wrt} {what} here"
                   + (f" ({args})" if args else ""))
        hint = ("the function has a vertical slope or a pole at this point" if real else
                "d(x^y)/dy = x^y·ln(x) needs x > 0" if node.op == "pow" else None)
        return EvaluationError(message, g.source, node.span, hint=hint)


def _without(vjp, masked):
    """A VJP that sends nothing along the masked arguments."""
    def masked_vjp(D, upstream, xs, out):
        return tuple(None if m else d for m, d in zip(masked, vjp(D, upstream, xs, out),
                                                        strict=True))
    return masked_vjp


def _nowhere_real(expr, tries: int = 12) -> bool:
    """True if a SymPy expression has no finite real value at any of a few random points (zoo*x,
    sqrt(-x^2-1)); False as soon as one point gives one (Piecewise((1/x, x > 0), (zoo, True)))."""
    import random

    import sympy

    symbols = sorted(expr.free_symbols, key=str)
    rng = random.Random(0)
    for _ in range(tries if symbols else 1):
        at = {s: sympy.Rational(rng.randint(-300, 300), 100) for s in symbols}
        try:
            z = complex(expr.xreplace(at).evalf(15))
        except (TypeError, ValueError):
            continue
        if math.isfinite(z.real) and abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)):
            return False
    return True
