"""Many points at once: the tape run over NumPy arrays, one element per point.

The rules are the registry's, run in the NumPy domain (``domains.numpy_domain``); nothing here
knows a derivative. Undefined points do not stop the batch: the arrays carry inf or NaN there, and
afterwards each such point is run again alone in the float domain, which computes it or explains
why it cannot (the same message a single-point run gives). The float domain stays the reference:
every number of a batch is the number a single-point run prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from .domains import FLOAT
from .errors import EvaluationError, UsageError
from .lazy import numpy
from .ops import REGISTRY

BLOCK = 65_536     # most points per block: a block's arrays stay in cache
SPLIT = 8_192      # fewest points per block worth a thread of its own
THREADS = min(4, os.cpu_count() or 1)

@dataclass
class Batch:
    """Values and partials at many points: float64 arrays, NaN where a point failed.

    ``errors`` maps the index of each failed point to the reason (the message a single-point
    run gives); ``kinks`` lists (warning, indices) for non-differentiable points passed through."""

    output: str
    value: Any                          # ndarray (a list, from gradient_few)
    gradient: dict[str, Any]            # name -> ndarray (or list)
    errors: dict[int, str] = field(default_factory=dict)
    kinks: list[tuple[str, list[int]]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    redone: int = 0                     # points computed again, one at a time

    def __len__(self) -> int:
        return len(self.value)

    @property
    def ok(self):
        """A boolean array: True where the point was computed."""
        np = numpy()
        mask = np.ones(len(self.value), dtype=bool)
        mask[list(self.errors)] = False
        return mask


def gradient_many(fn, columns: dict, wrt=None, output=None, invalid: dict | None = None) -> Batch:
    """Value and gradient of ``fn`` at every point given as ``columns`` (name -> 1-D array).

    ``invalid`` maps point indices to a reason they cannot be computed (a malformed number in a
    file); those points are skipped and reported as errors."""
    np = numpy()
    point, n = _arrays(columns)
    errors = dict(invalid or {})
    probe = {k: 0.0 for k in point}
    tape, out_name, _p, wrt, notes = fn.resolve(probe, output, wrt)
    point = _set_aside(point, errors, n)
    swept = _sweep(tape, point, probe, wrt, n)
    swept.bad[list(errors)] = False
    redone = np.flatnonzero(swept.bad).tolist()
    _redo(fn, point, redone, wrt, output, swept, errors)
    if errors:
        failed = list(errors)
        swept.value[failed] = np.nan
        for w in wrt:
            swept.grad[w][failed] = np.nan
    kinks = [(_kink_message(fn, tape, point, k, rows), sorted(rows))
             for k, rows in sorted(swept.hits.items()) if rows]
    return Batch(out_name, swept.value, swept.grad, dict(sorted(errors.items())), kinks,
                 tuple(notes), len(redone))


def _arrays(columns: dict) -> tuple[dict, int]:
    """The columns as float64 arrays of one length (-0.0 made 0.0), and that length."""
    np = numpy()
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise UsageError("the variables have different numbers of points: "
                         + ", ".join(f"{k}: {len(c)}" for k, c in columns.items()))
    n = lengths.pop() if lengths else 1
    point = {}
    for name, column in columns.items():
        try:
            point[name] = np.asarray(column, dtype=np.float64) + 0.0   # -0.0 becomes 0.0
        except (TypeError, ValueError):
            raise UsageError(f"the values of {name} are not numbers") from None
        if point[name].ndim != 1:
            raise UsageError(f"the values of {name} must be a 1-D array, not "
                             f"{point[name].ndim}-D")
    return point, n


def _set_aside(point: dict, errors: dict[int, str], n: int) -> dict:
    """Add the points with a value not finite to ``errors``; return the columns with every point
    in ``errors`` set to 0, so that it does not poison shared work (it is reported anyway)."""
    np = numpy()
    for name, column in point.items():
        for i in np.flatnonzero(~np.isfinite(column)).tolist():
            errors.setdefault(i, f"the value of {name} must be finite, not {column[i]}")
    if not errors:
        return point
    skip = np.zeros(n, dtype=bool)
    skip[list(errors)] = True
    return {k: np.where(skip, 0.0, c) for k, c in point.items()}


@dataclass
class _Swept:
    """What a sweep over the points fills in, point by point."""

    value: Any                       # ndarray: the output's value
    grad: dict[str, Any]             # name -> ndarray: the partials
    bad: Any                         # bool ndarray: something not finite, for the float path
    hits: dict[int, list[int]]       # kink node -> points


def _sweep(tape, point: dict, probe: dict, wrt, n: int) -> _Swept:
    """The tape over every point, in blocks (in parallel threads when there are many)."""
    np = numpy()
    from .domains import numpy_domain

    D = numpy_domain()
    # The part no variable reaches is the same at every point: compute it once, in floats, where
    # an error (1/0) is an error of the program itself.
    fixed = [s for s in tape.forward_steps if not tape.needs[s[0]]]
    base = tape.forward(FLOAT, probe, steps=fixed)
    varying = [s for s in tape.forward_steps if tape.needs[s[0]]]
    targets = [tape.graph.index_of(w) for w in wrt]
    out = _Swept(np.empty(n), {w: np.empty(n) for w in wrt}, np.zeros(n, dtype=bool), {})
    size = _block_size(n)

    def block(start):
        stop = min(start + size, n)
        v = list(base)
        for name, column in point.items():
            if tape.keeps(tape.graph.inputs[name]):
                v[tape.graph.inputs[name]] = column[start:stop]
        with np.errstate(all="ignore"):   # per thread: NumPy's error state is thread-local
            out.bad[start:stop] = _evaluate(tape, D, v, varying, stop - start)
            out.value[start:stop] = v[tape.out]
            g = tape._backprop(D, v)
        for w, k in zip(wrt, targets, strict=True):
            out.grad[w][start:stop] = g[k] if k < len(g) and g[k] is not None else 0.0
            out.bad[start:stop] |= ~np.isfinite(out.grad[w][start:stop])
        for i, rows in _kinks(tape, v, g, stop - start):
            out.hits.setdefault(i, []).extend((rows + start).tolist())

    starts = range(0, n, size)
    if len(starts) > 1:   # NumPy releases the GIL inside its loops: blocks run in parallel
        list(_pool().map(block, starts))
    else:
        block(0)
    return out


def _redo(fn, point: dict, redone: list[int], wrt, output, swept: _Swept,
          errors: dict[int, str]) -> None:
    """The rare points where something is not finite: the float path decides, computing each
    (into ``swept``) or saying why it cannot (into ``errors``). Their kinks, and those of the
    points in ``errors``, are the float path's to find."""
    if redone or errors:
        skip = set(redone) | set(errors)
        swept.hits = {k: [r for r in rows if r not in skip] for k, rows in swept.hits.items()}
    for i in redone:
        try:
            r = fn.gradient(_row(point, i), wrt=wrt, output=output, limits=0)
        except EvaluationError as exc:
            errors[i] = exc.message
            continue
        if r.undetermined:
            errors[i] = undetermined_message(r)
            continue
        swept.value[i] = r.value
        for w in wrt:
            swept.grad[w][i] = r.gradient[w]
        for k in r.kinks:
            swept.hits.setdefault(k, []).append(i)


def gradient_few(fn, columns: dict, wrt=None, output=None, invalid=None) -> Batch:
    """As ``gradient_many``, for a handful of points: one float pass each, no NumPy (whose import
    alone costs more than a few dozen points). The numbers are the same either way."""
    n = len(next(iter(columns.values()), ()))
    names = list(columns)
    tape, out_name, _p, wrt, notes = fn.resolve(dict.fromkeys(names, 0.0), output, wrt)
    errors = dict(invalid or {})
    value = [math.nan] * n
    grad = {w: [math.nan] * n for w in wrt}
    hits: dict[str, list[int]] = {}
    for i in range(n):
        if i in errors:
            continue
        try:
            r = fn.gradient({k: columns[k][i] for k in names}, wrt=wrt, output=output, limits=0)
        except (EvaluationError, UsageError) as exc:
            errors[i] = exc.message
            continue
        if r.undetermined:
            errors[i] = undetermined_message(r)
            continue
        value[i] = r.value
        for w in wrt:
            grad[w][i] = r.gradient[w]
        for message in r.warnings[len(notes):]:
            hits.setdefault(message, []).append(i)
    return Batch(out_name, value, grad, dict(sorted(errors.items())), list(hits.items()),
                 tuple(notes), n)


def undetermined_message(result) -> str:
    """A point's error text when some partial could not be determined (see limits.py)."""
    return "; ".join(f"∂{result.output}/∂{k} is undetermined here: {note}"
                     for k, note in result.undetermined.items())


def _block_size(n: int) -> int:
    """Points per block: at most BLOCK (a block's arrays stay in cache), and enough blocks of
    equal size to keep every thread busy once there are points enough to be worth it."""
    blocks = -(-n // BLOCK)
    if THREADS > 1 and n >= 2 * SPLIT:
        blocks = -(-max(blocks, THREADS) // THREADS) * THREADS
    return max(1, -(-n // max(1, blocks)))


_POOL: list = []   # the ThreadPoolExecutor, once made


def _pool():
    """One thread pool for the process (starting threads for every call costs more than a
    small batch)."""
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(THREADS, thread_name_prefix="gradcalc"))
    return _POOL[0]


def _row(point: dict, i: int) -> dict:
    return {k: float(c[i]) for k, c in point.items()}


def _kink_message(fn, tape, point, k, rows) -> str:
    """The single-point warning for kink node ``k`` at its first point, and how many share it."""
    first = min(rows)
    v = tape.forward(FLOAT, _row(point, first))
    g = tape.backward(FLOAT, v)
    return dict(tape.kinks_hit(v, g)).get(k, f"{tape.graph.snippet(k)} is at a kink")


def _evaluate(tape, D, v, steps, n):
    """The forward pass over one block; returns the mask of points with a value not finite."""
    np = numpy()
    tape._run(D, v, steps)
    bad = np.zeros(n, dtype=bool)
    for s in steps:
        x = v[s[0]]
        if not np.isfinite(x).all():
            bad |= ~np.isfinite(x)
    return bad


def _kinks(tape, v, g, n):
    """(node, point indices) for each op the gradient passed through at a non-differentiable
    point: the registry's kink tests, run element by element on the arrays, where a variable
    reaches the node through edges that are not structural zeros (as ``Tape.kinks_hit``)."""
    np = numpy()
    found = []
    down = None
    nodes = tape.graph.nodes
    for i, args, kink, _singular in tape.kinks:
        if kink is None:
            continue
        hit = kink(*(v[j] for j in args)) & (np.asarray(g[i]) != 0)
        if not np.any(hit):
            continue
        if down is None:
            down = _down(tape, v)
        live = np.zeros(n, dtype=bool)
        for k, j in enumerate(nodes[i].args):
            if j in down:
                live |= down[j] & ~_flat(tape, v, i, k)
        hit = hit & live
        if np.any(hit):
            found.append((i, np.flatnonzero(np.broadcast_to(hit, (n,)))))
    return found


def _flat(tape, v, i, k):
    """Op i's structural zero in its k-th argument, element by element."""
    node = tape.graph.nodes[i]
    flat = REGISTRY[node.op].flat
    if flat is None:
        return numpy().asarray(False)
    xs = tuple(v[j] for j in node.args)
    return numpy().asarray(flat(k, xs, v[i], tuple(tape.needs[j] for j in node.args)),
                           dtype=bool)


def _down(tape, v) -> dict:
    """Tape.masks' ``down`` over arrays: node -> whether a variable reaches it, per point,
    through edges that are not structural zeros."""
    np = numpy()
    nodes = tape.graph.nodes
    down: dict = {}
    for i in tape.order:
        if i in tape.seeds:
            down[i] = np.asarray(True)
        elif nodes[i].args and tape.needs[i]:
            acc = np.asarray(False)
            for k, j in enumerate(nodes[i].args):
                if j in down:
                    acc = acc | (down[j] & ~_flat(tape, v, i, k))
            down[i] = acc
    return down
