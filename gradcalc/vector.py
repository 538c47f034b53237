"""Many points at once: the tape run over NumPy arrays, one element per point.

The rules are the registry's, run in the NumPy domain (``domains.numpy_domain``); nothing here
knows a derivative. They are run once on placeholders, which records the NumPy calls a pass makes
(``_Plan``): the points are then cut into blocks of at most CHUNK, dealt to a thread pool, and
each block makes those calls into buffers of its thread's own, reused as values die (no array is
allocated, no input copied), or, where gradcalc's C extension runs, makes the same calls in C,
256 points at a time, with the GIL released (``_Fused``: the same floats). Undefined points do
not stop the batch: the arrays carry inf or NaN there, and afterwards each such point is run
again alone in the float domain, which computes it or explains why it cannot (the same message
a single-point run gives). The float domain stays
the reference: every number of a batch is the number a single-point run prints.

NumPy is imported with its SIMD math off (``lazy.numpy``): its SIMD loops round differently
from the C library's. On an AVX2 machine only tanh has one (NumPy's AVX-512 builds add exp,
log, sin, cos, ...), up to 3 ulp from the C library's at |x| < 1 (``python -m benchmarks.many
--simd-ulps``), for about a tenth of a transcendental-heavy batch's time. What gives up the
last bit for speed is an option instead: ``fast_math`` (``--fast-math``) records gradcalc's own
vector kernels of sin, cos, exp, expm1 and log in the plan in place of NumPy's (fastmath.py),
each within 2 ulp of the exact result.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

from .domains import FLOAT
from .errors import EvaluationError, UsageError
from .lazy import numpy
from .ops import REGISTRY
from .records import field, record

BLOCK = 65_536     # most points per block of the op-by-op path
SPLIT = 8_192      # fewest points per block worth a thread of its own (op-by-op path)
CHUNK = 32_768     # most points per block of a compiled plan (_block_size)
THREADS = min(4, os.cpu_count() or 1)
FAST = True        # run compiled plans (tests turn it off to compare with the op-by-op path)
FUSE = True        # run them in C, tile by tile, where _vmath runs (tests compare both ways)
TANH = True        # compiled plans take tanh from expm1 where that is this C library's tanh

@record
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


def gradient_many(fn, columns: dict, wrt=None, output=None, invalid: dict | None = None,
                  fast_math: bool = False) -> Batch:
    """Value and gradient of ``fn`` at every point given as ``columns`` (name -> 1-D array).

    ``invalid`` maps point indices to a reason they cannot be computed (a malformed number in a
    file); those points are skipped and reported as errors. ``fast_math``: sin, cos, exp, expm1
    and log from gradcalc's vector kernels (fastmath.py: each within 2 ulp, not always the C
    library's float), where the batch runs a compiled plan."""
    np = numpy()
    point, n = _arrays(columns)
    errors = dict(invalid or {})
    probe = {k: 0.0 for k in point}
    tape, out_name, _p, wrt, notes = fn.resolve(probe, output, wrt)
    if errors:   # the caller's: set aside before the sweep
        point = _set_aside(point, errors, n)
    swept = _sweep(tape, point, probe, wrt, n, check=not errors, fast=fast_math)
    if swept.skipped:   # blocks with an input not finite: those points set aside, then again
        point = _set_aside(point, errors, n)
        _sweep(tape, point, probe, wrt, n, out=swept, only=sorted(swept.skipped), fast=fast_math)
    swept.bad[list(errors)] = False
    redone = np.flatnonzero(swept.bad).tolist() if swept.marked else []
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
    """The columns as float64 arrays of one length (the caller's own arrays where they are
    float64: never copied; each block makes -0.0 0.0 as it reads them), and that length."""
    np = numpy()
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise UsageError("the variables have different numbers of points: "
                         + ", ".join(f"{k}: {len(c)}" for k, c in columns.items()))
    n = lengths.pop() if lengths else 1
    point = {}
    for name, column in columns.items():
        try:
            point[name] = np.asarray(column, dtype=np.float64)
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
        with np.errstate(all="ignore"):
            if math.isfinite(np.sum(column)):   # one pass, no array made: all finite (an
                continue                         # infinite sum of finite ones looks below)
        for i in np.flatnonzero(~np.isfinite(column)).tolist():
            errors.setdefault(i, f"the value of {name} must be finite, not {column[i]}")
    if not errors:
        return point
    skip = np.zeros(n, dtype=bool)
    skip[list(errors)] = True
    return {k: np.where(skip, 0.0, c) for k, c in point.items()}


@record
class _Swept:
    """What a sweep over the points fills in, point by point."""

    value: Any                       # ndarray: the output's value
    grad: dict[str, Any]             # name -> ndarray: the partials
    bad: Any                         # bool ndarray: something not finite, for the float path
    hits: dict[int, list[int]]       # kink node -> points
    skipped: list[int] = field(default_factory=list)   # blocks (start) with an input not finite
    marked: bool = False             # some block may have marked points bad (none ran unchecked)


def _sweep(tape, point: dict, probe: dict, wrt, n: int, out: _Swept | None = None,  # noqa: PLR0913
           only: list[int] | None = None, check: bool = False, fast: bool = False) -> _Swept:
    # (the last four: options of the two calls in gradient_many)
    """The tape over every point, in blocks run on a thread pool (into ``out``, the blocks
    starting at ``only``, if given). A block runs the compiled plan (``_Plan``) when the tape
    has one (again with every number checked when a float exception shows that some number in
    the block is not finite), else the tape itself, op by op (``_generic``). With ``check``, a
    block first adds up each of its columns, and one with a value not finite (or a sum that
    overflows) is not run but listed in ``out.skipped``, for ``_set_aside`` (this makes that
    pass over the columns in parallel, and on the numbers the block is about to read)."""
    np = numpy()
    from .domains import numpy_domain

    D = numpy_domain()
    # The part no variable reaches is the same at every point: compute it once, in floats, where
    # an error (1/0) is an error of the program itself.
    fixed = [s for s in tape.forward_steps if not tape.needs[s[0]]]
    base = tape.forward(FLOAT, probe, steps=fixed)
    varying = [s for s in tape.forward_steps if tape.needs[s[0]]]
    targets = [tape.graph.index_of(w) for w in wrt]
    if out is None:
        out = _Swept(np.empty(n), {w: np.empty(n) for w in wrt}, np.zeros(n, dtype=bool), {})
    plan = _plan_of(tape, base, varying, targets, fast) if FAST else None
    size = _block_size(n, plan)
    columns = [(tape.graph.inputs[name], column) for name, column in point.items()
               if tape.keeps(tape.graph.inputs[name])]
    job = _Job(tape, D, base, varying, columns, out, wrt, targets)
    every = list(point.values())   # a column the tape does not read must be finite too

    def block(start):
        stop = min(start + size, n)
        if check:
            with np.errstate(all="ignore"):
                if not all(math.isfinite(np.add.reduce(c[start:stop])) for c in every):
                    out.skipped.append(start)
                    return
        if plan is not None:
            try:
                v, g = plan.run(columns, start, stop, out, wrt)
            except FloatingPointError:   # an inf or NaN somewhere in the block: again, checked
                out.marked = True
                v, g = plan.run(columns, start, stop, out, wrt, checked=True)
        else:
            out.marked = True
            v, g = _generic(job, start, stop)
        if v is not None:
            for i, rows in _kinks(tape, v, g, stop - start):
                out.hits.setdefault(i, []).extend((rows + start).tolist())

    starts = range(0, n, size) if only is None else only
    if len(starts) > 1 and THREADS > 1:   # NumPy releases the GIL in its loops: in parallel
        _deal(block, starts)
    else:
        for start in starts:
            block(start)
    return out


def _deal(block, starts) -> None:
    """``block(start)`` for every start, by this thread and THREADS - 1 of the pool's, each
    taking the next block as it comes free (this one starts at once: no waiting for a pool
    thread to wake up)."""
    todo = iter(starts)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                start = next(todo, None)
            if start is None:
                return
            block(start)

    from concurrent.futures import wait

    helpers = [_pool().submit(work) for _ in range(min(THREADS, len(starts)) - 1)]
    try:
        work()
    finally:
        wait(helpers)   # no block left running behind the caller's back
    for helper in helpers:
        helper.result()


@record
class _Job:
    """What every block of a sweep shares."""

    tape: Any
    D: Any                     # the NumPy domain
    base: list                 # the values no variable reaches
    varying: list              # the forward steps a variable reaches
    columns: list              # (input node, column)
    out: _Swept
    wrt: list
    targets: list              # the nodes of wrt


def _generic(job: _Job, start: int, stop: int):
    """One block, op by op through the tape in the NumPy domain, every number checked."""
    np = numpy()
    tape, D, out = job.tape, job.D, job.out
    v = list(job.base)
    for i, column in job.columns:
        v[i] = column[start:stop] + 0.0   # -0.0 becomes 0.0 (atan2(-0.0, -1) would be -pi)
    with np.errstate(all="ignore"):   # per thread: NumPy's error state is thread-local
        out.bad[start:stop] = _evaluate(tape, D, v, job.varying, stop - start)
        out.value[start:stop] = v[tape.out]
        try:
            g = tape._backprop(D, v)
        except (ArithmeticError, ValueError):   # a rule failing on constants (x/0: 1/0), as
            out.bad[start:stop] = True          # at every point: the float path says why
            return None, None
    for w, k in zip(job.wrt, job.targets, strict=True):
        out.grad[w][start:stop] = g[k] if k < len(g) and g[k] is not None else 0.0
        out.bad[start:stop] |= ~np.isfinite(out.grad[w][start:stop])
    return v, g


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


def _block_size(n: int, plan=None) -> int:
    """Points per block: at most CHUNK for a plan (its buffers stay in cache, and each NumPy
    call is long enough that two threads taking turns at the GIL between calls cost little),
    BLOCK op by op; and enough blocks of equal size to keep every thread busy once there are
    points enough to be worth it."""
    blocks = -(-n // (CHUNK if plan is not None else BLOCK))
    if THREADS > 1 and n >= 2 * SPLIT:
        blocks = -(-max(blocks, THREADS) // THREADS) * THREADS
    return max(1, -(-n // max(1, blocks)))


_POOL: list = []   # the ThreadPoolExecutor, once made


def _pool():
    """One thread pool for the process (starting threads for every call costs more than a
    small batch): THREADS - 1 threads, the caller's being the other."""
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(max(1, THREADS - 1), thread_name_prefix="gradcalc"))
    return _POOL[0]


def _row(point: dict, i: int) -> dict:
    return {k: float(c[i]) + 0.0 for k, c in point.items()}   # -0.0 becomes 0.0


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


# --- compiled plans ---------------------------------------------------------------------------
# The registry's rules, run once on placeholders (``_Rec``) instead of arrays, leave the list of
# NumPy calls a block makes: the forward pass and the backward one, with x·1 dropped (exact),
# x·(-1) a negation (exact), -|x| a copysign(x, -1) (exact), a ufunc called again with the same
# arguments (|u| in tanh(u) and in its slope) made once, a node's first contribution to an
# adjoint taken as it is, not added to 0 (which only turns -0 into +0: the partials get their
# + 0.0 at the end), and tanh made from expm1 as fdlibm makes it (``_tanh_steps``: one C library
# call instead of two, used only where it gives math.tanh at every probe point). Each float
# result goes into a buffer allocated once per thread and reused once its value is dead, so a
# block runs with no allocation; each thread binds the calls to its buffers once per block size
# (``_Plan._bound``). The same floats from the same operations: the numbers are the op-by-op
# path's, bit for bit. Nothing is checked for finiteness on the way:
# NumPy raises FloatingPointError at the first overflow, division by zero or invalid operation
# (the only ways an inf or a NaN can arise from finite inputs), and the block is then run again
# with every result checked (``_Plan.run``'s ``checked``).

_ARITH = {"add", "subtract", "multiply", "true_divide", "negative"}
_BOOL = {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "bitwise_and",
         "bitwise_or", "bitwise_xor", "invert"}


class _Rec:
    """A value of the recorded program: slot ``k``; ``kind`` "f" (float64), "b" (bool), "?"."""

    __slots__ = ("kind", "rec", "slot")
    __array_ufunc__ = None   # NumPy scalars defer to the methods below
    __hash__ = object.__hash__

    def __init__(self, rec, slot: int, kind: str):
        self.rec, self.slot, self.kind = rec, slot, kind

    def __bool__(self):
        raise TypeError("a branch on a value that differs from point to point")

    def __add__(self, o):
        return self.rec.ufunc("add", self, o)

    def __radd__(self, o):
        return self.rec.ufunc("add", o, self)

    def __sub__(self, o):
        return self.rec.ufunc("subtract", self, o)

    def __rsub__(self, o):
        return self.rec.ufunc("subtract", o, self)

    def __mul__(self, o):
        return self.rec.ufunc("multiply", self, o)

    def __rmul__(self, o):
        return self.rec.ufunc("multiply", o, self)

    def __truediv__(self, o):
        return self.rec.ufunc("true_divide", self, o)

    def __rtruediv__(self, o):
        return self.rec.ufunc("true_divide", o, self)

    def __neg__(self):
        return self.rec.ufunc("negative", self)

    def __abs__(self):
        return self.rec.ufunc("absolute", self)

    def __lt__(self, o):
        return self.rec.ufunc("less", self, o)

    def __le__(self, o):
        return self.rec.ufunc("less_equal", self, o)

    def __gt__(self, o):
        return self.rec.ufunc("greater", self, o)

    def __ge__(self, o):
        return self.rec.ufunc("greater_equal", self, o)

    def __eq__(self, o):
        return self.rec.ufunc("equal", self, o)

    def __ne__(self, o):
        return self.rec.ufunc("not_equal", self, o)

    def __and__(self, o):
        return self.rec.ufunc("bitwise_and", self, o)

    def __rand__(self, o):
        return self.rec.ufunc("bitwise_and", o, self)

    def __or__(self, o):
        return self.rec.ufunc("bitwise_or", self, o)

    def __ror__(self, o):
        return self.rec.ufunc("bitwise_or", o, self)

    def __xor__(self, o):
        return self.rec.ufunc("bitwise_xor", self, o)

    def __rxor__(self, o):
        return self.rec.ufunc("bitwise_xor", o, self)

    def __invert__(self):
        return self.rec.ufunc("invert", self)

    def astype(self, dtype):
        return self.rec.call(_astype, self, dtype)


def _tanh_steps(N, x):
    """tanh(x) made of ``N``'s ufuncs as fdlibm's tanh makes it (glibc's, and that of the C
    libraries derived from fdlibm): with a = |x| and t = expm1(-2a), -t/(t+2) for a < 1; with
    t = expm1(2a), 1 - 2/(t+2) for 1 <= a < 22; 1 beyond (the formula gives 1 there too, so a
    is clamped at 22, where 2a is far from expm1's overflow); then x's sign. One C library call
    per point instead of two (tanh calls expm1), the same float from the same operations.

    Branch-free: the sign of a - 1 picks the argument of expm1, and of the two quotients the
    right one is the larger: for a < 1, -t/(t+2) >= 0 >= 1 - 2/(t+2) (t <= 0); for a >= 1,
    1 - 2/(t+2) > 0 > -t/(t+2) (t > 6). Used only where it gives the float path's tanh, bit
    for bit, at every point of ``_tanh_probe`` (``_tanh_matches``)."""
    a = N.absolute(x)
    c = N.minimum(a, 22.0)
    t = N.expm1(N.copysign(N.add(c, c), N.subtract(a, 1.0)))
    nd = N.subtract(-2.0, t)   # -(t+2), exactly: t/nd is -t/(t+2), 1 + 2/nd is 1 - 2/(t+2)
    z = N.maximum(N.true_divide(t, nd), N.add(1.0, N.true_divide(2.0, nd)))
    return N.copysign(z, x)


_TANH_OK: list = []   # whether _tanh_steps is the float path's tanh here, once known


def _tanh_probe():
    """Arguments where a tanh computed some other way would show it: every range of fdlibm's
    (tiny, below 1, from 1 to 22, beyond), spread evenly (a golden-ratio sequence), the edges
    and their neighbours, subnormals and zeros of both signs."""
    np = numpy()
    edges = np.array([0.0, 2.0 ** -55, 2.0 ** -54, 2.0 ** -28, 0.5, 1.0, 2.0, 22.0, 44.0,
                      354.0, 710.0, 1e300, 5e-324, 2.2250738585072014e-308])
    near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    u = np.arange(1, 1025) * 0.6180339887498949 % 1.0   # in [0, 1), evenly spread
    x = np.concatenate([edges, near, u, 4.0 * u, 25.0 * u, 10.0 ** (323.0 * u - 320.0),
                        0.99 + 0.02 * u, 21.9 + 0.2 * u])
    return np.concatenate([x, -x])


def _tanh_matches() -> bool:
    """Whether _tanh_steps over NumPy gives math.tanh (the float path's) at every probe point,
    the sign of zero included; checked once per process (about a millisecond)."""
    if not _TANH_OK:
        np = numpy()
        with np.errstate(all="ignore"):   # (subnormal probes underflow)
            x = _tanh_probe()
            got = _tanh_steps(np, x)
        want = np.array([math.tanh(v) for v in x.tolist()])
        _TANH_OK.append(bool(np.array_equal(got.view(np.int64), want.view(np.int64))))
    return _TANH_OK[0]


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class _Recorder:
    """Collects the calls: (function, arguments (a _Rec or a constant), result, buffered).

    A ufunc called again with the same arguments gives the result of the first call (a pure
    function of values that never change: |u| in tanh(u) and in its slope is one call)."""

    def __init__(self, kernels: dict | None = None):
        self.kernels = kernels or {}   # fast math: ufunc name -> fastmath.Kernel
        self.calls: list[tuple] = []
        self.slots = 0
        self.made: dict = {}     # (ufunc name, its arguments) -> its result
        self.abs_of: dict = {}   # slot of |x| -> x

    def new(self, kind: str) -> _Rec:
        self.slots += 1
        return _Rec(self, self.slots - 1, kind)

    def ufunc(self, name: str, *args):
        np = numpy()
        if name == "multiply":   # x·1 is x and x·(-1) is -x, bit for bit
            a, b = args
            for const, other in ((a, b), (b, a)):
                if _number(const) and isinstance(other, _Rec) and other.kind == "f":
                    if const == 1:
                        return other
                    if const == -1:
                        return self.ufunc("negative", other)
        recs = [a for a in args if isinstance(a, _Rec)]
        floats = all(r.kind == "f" for r in recs) and all(
            _number(a) for a in args if not isinstance(a, _Rec))
        if floats and len(recs) == 1 == len(args):
            if name == "tanh" and TANH and _tanh_matches():   # the C library's, from expm1
                return _tanh_steps(_RecordingNumPy(self), args[0])
            if name == "negative" and args[0].slot in self.abs_of:   # -|x|: copysign(x, -1)
                return self.ufunc("copysign", self.abs_of[args[0].slot], -1.0)
        key = None
        if all(isinstance(a, _Rec) or type(a) in (int, float, bool) for a in args):
            key = (name, tuple(a.slot if isinstance(a, _Rec) else (type(a), repr(a))
                               for a in args))
            if key in self.made:
                return self.made[key]
        kind = "b" if name in _BOOL else ("f" if floats else "?")
        buffered = floats and (name in _ARITH or name not in _BOOL)
        out = self.new(kind)
        fn = self.kernels.get(name) if floats and len(recs) == 1 == len(args) else None
        self.calls.append((fn or getattr(np, name), args, out, buffered))
        if key is not None:
            self.made[key] = out
        if name == "absolute" and floats and len(recs) == 1 == len(args):
            self.abs_of[out.slot] = args[0]
        return out

    def call(self, fn, *args, kind: str = "f"):
        """A function of the NumPy domain, as it is: its result is a new array (or one of its
        arguments), never a buffer."""
        if not any(isinstance(a, _Rec) for a in args):
            return fn(*args)
        out = self.new(kind)
        self.calls.append((fn, args, out, False))
        return out


class _RecordingNumPy:
    """NumPy as ``domains.numpy_functions`` uses it, recording: a ufunc given a placeholder
    becomes a call of the plan, as does ``where``; ``ndim`` of a placeholder is 1."""

    def __init__(self, rec: _Recorder):
        self._rec = rec
        self.float64 = numpy().float64

    def __getattr__(self, name: str):
        np = numpy()
        fn = getattr(np, name)
        if not isinstance(fn, np.ufunc):
            raise AttributeError(name)
        rec = self._rec

        def ufunc(*args):
            if any(isinstance(a, _Rec) for a in args):
                return rec.ufunc(fn.__name__, *args)
            return fn(*args)
        return ufunc

    def where(self, cond, then, otherwise):
        return self._rec.call(numpy().where, cond, then, otherwise)

    def ndim(self, x):
        return 1 if isinstance(x, _Rec) else numpy().ndim(x)

    def shape(self, x):
        return (_SHAPE_OF, x) if isinstance(x, _Rec) else numpy().shape(x)

    def full(self, shape, value):
        if isinstance(shape, tuple) and shape and shape[0] is _SHAPE_OF:
            return self._rec.call(_full_like, shape[1], value)
        return numpy().full(shape, value)

    def frompyfunc(self, fn, nin: int, nout: int):
        real = numpy().frompyfunc(fn, nin, nout)
        return lambda *args: self._rec.call(real, *args, kind="?")


_SHAPE_OF = object()   # _RecordingNumPy.shape of a placeholder: (_SHAPE_OF, placeholder)


def _full_like(x, value):
    np = numpy()
    return np.full(np.shape(x), value)


def _astype(x, dtype):
    return x.astype(dtype)


def _recording_domain(rec: _Recorder):
    """The NumPy domain (``domains.numpy_functions``), its NumPy calls recorded into ``rec``."""
    from types import SimpleNamespace

    from .domains import numpy_functions

    return SimpleNamespace(**numpy_functions(_RecordingNumPy(rec)))


class _Plan:
    """A tape's forward and backward passes as a list of NumPy calls over block buffers."""

    def __init__(self, tape, base: list, varying: list, targets: list, kernels=None):
        from .autodiff import _UNARY, _VARIADIC

        rec = _Recorder(kernels)
        D = _recording_domain(rec)
        v = list(base)
        self.inputs = {}
        for name, i in tape.graph.inputs.items():
            if name in tape.variables and tape.keeps(i):
                column = rec.new("f")
                self.inputs[i] = column.slot
                v[i] = column + 0.0   # -0.0 becomes 0.0, into a buffer of the block's own
        tape._run(D, v, varying)
        # The backward pass of Tape._backprop, the first contribution to an adjoint kept as is.
        g: list = [None] * (tape.out + 1)
        g[tape.out] = 1.0

        def add(j, d):
            g[j] = d if g[j] is None else g[j] + d

        needs = tape.needs
        for i, a, b, ra, rb in tape.backward_steps:
            gi, out = g[i], v[i]
            if gi is None:
                continue
            if b >= 0:
                if ra is not None:
                    add(a, gi * ra(D, v[a], v[b], out))
                if rb is not None:
                    add(b, gi * rb(D, v[a], v[b], out))
            elif b == _UNARY:
                add(a, gi * ra(D, v[a], out))
            elif b == _VARIADIC:
                xs = tuple(v[j] for j in a)
                for k, j in enumerate(a):
                    if needs[j]:
                        add(j, gi * ra(D, k, xs, out))
            else:
                xs = tuple(v[j] for j in a)
                for j, d in zip(a, ra(D, gi, xs, out), strict=True):
                    if d is not None and needs[j]:
                        add(j, d)
        self.value = v[tape.out]
        self.grads = [g[k] if k < len(g) else None for k in targets]
        # The kink tests (run afterwards on the arrays) need every node's value and the
        # adjoints of the nodes they test.
        self.kinked = any(k[2] is not None for k in tape.kinks)
        self.nodes = list(v) if self.kinked else []
        self.adjoints = {k[0]: g[k[0]] for k in tape.kinks} if self.kinked else {}
        self.base = base
        self._compile(rec, [self.value, *self.grads, *self.nodes, *self.adjoints.values()])
        self._local = threading.local()
        self.fused = _fused(self)

    def _compile(self, rec: _Recorder, kept: list) -> None:
        """The calls ``kept`` needs, with slots for their constants (``init``), and buffers
        given out by liveness (``prog``)."""
        init: list = [None] * rec.slots
        calls = []
        for fn, args, out, buffered in rec.calls:
            slots = []
            for a in args:
                if isinstance(a, _Rec):
                    slots.append(a.slot)
                else:
                    init.append(a)
                    slots.append(len(init) - 1)
            calls.append((fn, tuple(slots), out.slot, buffered, out.kind == "f"))
        keep = {x.slot for x in kept if isinstance(x, _Rec)}
        calls = _needed(calls, keep)
        end = _last_uses(calls, keep)
        free: list[int] = []
        owner: dict[int, int] = {}
        self.buffers = 0
        self.numbers: list[int] = []   # the calls whose result is a float array
        prog = []
        for t, (fn, used, o, buffered, number) in enumerate(calls):
            for j in set(used):
                if j in owner and end[j] == t:
                    free.append(owner.pop(j))
            b = -1
            if buffered:
                if free:
                    b = free.pop()
                else:
                    b, self.buffers = self.buffers, self.buffers + 1
                if end.get(o, -1) <= t:   # a value nobody reads
                    free.append(b)
                else:
                    owner[o] = b
            prog.append((fn, used, o, b))
            if number:
                self.numbers.append(t)
        self.init = init
        self.prog = prog
        self.slots = rec.slots   # the slots past these hold constants

    def _buffers(self, m: int) -> list:
        """This thread's buffers (``m`` points long)."""
        have = getattr(self._local, "bufs", None)
        if have is None or (have and len(have[0]) < m):
            np = numpy()
            have = [np.empty(max(m, CHUNK)) for _ in range(self.buffers)]
            self._local.bufs = have
            self._local.bound = {}
        return [b[:m] for b in have] if have and len(have[0]) != m else have

    def _bound(self, m: int) -> tuple[list, dict]:
        """This thread's program for blocks of ``m`` points, made once per size: each call
        with its arguments and its buffer in place, as (function, arguments, the (position,
        slot) of the arguments known only as the block runs (the block's columns, the results
        of calls into no buffer), its buffer or None (then the slot for its result)); and
        slot -> value for the values known beforehand (constants, buffers)."""
        bound = getattr(self._local, "bound", None)
        if bound is not None and m in bound:
            return bound[m]
        bufs = self._buffers(m)   # (made larger, they leave every binding behind)
        bound = self._local.bound
        if m not in bound:
            known = {j: x for j, x in enumerate(self.init) if j >= self.slots}
            steps = []
            for fn, slots, o, b in self.prog:
                args = tuple(known.get(j) for j in slots)
                late = tuple((p, j) for p, j in enumerate(slots) if j not in known)
                if b >= 0:
                    known[o] = bufs[b]
                steps.append((fn, args, late, bufs[b] if b >= 0 else None, o))
            if len(bound) > 3:   # a block size seen once (a last, shorter block) goes
                bound.clear()
            bound[m] = steps, known
        return bound[m]

    def run(self, columns, start: int, stop: int, out: _Swept, wrt, checked: bool = False):
        """One block: values and partials into ``out``; (v, g) for the kink tests, or Nones.
        Raises FloatingPointError where some number is not finite, unless ``checked``: then
        every float result is added up, point by point, and the points whose sum is not finite
        (some number was not, or the sum overflowed) are marked in ``out.bad`` for the float
        path, as the op-by-op path marks those with a value or partial not finite (and a few
        more: the float path gives those their single-point numbers all the same)."""
        if not checked:
            if self.fused is not None and FUSE:
                return self.fused.run(columns, start, stop, out, wrt)
            return self._run(columns, start, stop, out, wrt)
        np = numpy()
        bufs = self._buffers(stop - start)
        vals = self._values(columns, start, stop)
        numbers = set(self.numbers)
        total = np.zeros(stop - start)
        with np.errstate(all="ignore"):
            for t, (fn, slots, o, b) in enumerate(self.prog):
                fn = getattr(fn, "quiet", fn)   # a fast-math kernel: no FloatingPointError
                if b >= 0:
                    vals[o] = fn(*[vals[j] for j in slots], out=bufs[b])
                else:
                    vals[o] = fn(*[vals[j] for j in slots])
                if t in numbers:
                    np.add(total, vals[o], out=total)
        out.bad[start:stop] = ~np.isfinite(total)
        return self._finish(lambda x: vals[x.slot] if isinstance(x, _Rec) else x, out, start,
                            stop, wrt)

    def _run(self, columns, start: int, stop: int, out: _Swept, wrt):
        """``run`` unchecked: the calls of ``_bound``, float exceptions raised."""
        np = numpy()
        steps, known = self._bound(stop - start)
        vals = self._values(columns, start, stop)
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            for fn, args, late, buf, o in steps:
                if late:
                    args = list(args)
                    for p, j in late:
                        args[p] = vals[j]
                if buf is None:
                    vals[o] = fn(*args)
                else:
                    fn(*args, out=buf)

        def get(x):
            if not isinstance(x, _Rec):
                return x
            return known[x.slot] if x.slot in known else vals[x.slot]

        return self._finish(get, out, start, stop, wrt)

    def _values(self, columns, start: int, stop: int) -> list:
        """The slots' starting values: the constants, and the block of each input's column."""
        vals = list(self.init)
        for i, column in columns:
            k = self.inputs.get(i)
            if k is not None:
                vals[k] = column[start:stop]
        return vals

    def _finish(self, get, out: _Swept, start: int, stop: int, wrt):
        """The block's value and partials into ``out`` (``get`` gives a recorded slot's
        numbers); the nodes' values and adjoints for the kink tests, or Nones."""
        np = numpy()
        out.value[start:stop] = get(self.value)
        for w, d in zip(wrt, self.grads, strict=True):
            # + 0.0: the single-point adjoint starts at 0, so a -0 partial is +0 there
            np.add(0.0 if d is None else get(d), 0.0, out=out.grad[w][start:stop])
        if not self.kinked:
            return None, None
        v = [get(x) for x in self.nodes]
        g = [0.0] * len(v)
        for i, d in self.adjoints.items():
            g[i] = 0.0 if d is None else get(d)
        return v, g


# --- fused plans --------------------------------------------------------------------------------
# A plan whose calls are all among FUSED_OPS, and that keeps no values for kink tests, also runs
# in C (``_vmath.run_plan``): the same operations in the same order, each rounded as NumPy rounds
# it, tile by tile (every intermediate in cache, the GIL released for the whole block: blocks on
# two threads really run at once). Where NumPy would raise FloatingPointError, run_plan reports
# failure and the block runs again through NumPy, checked, as an unfused plan's does. The tests
# of compiled plans (tests/test_vector_plan.py) run fused, and compare with FUSE off.

FUSED_OPS = ("add", "subtract", "multiply", "divide", "negative", "absolute", "copysign",
             "minimum", "maximum", "sqrt", "power", "sin", "cos", "tan", "exp", "expm1", "log",
             "log1p", "arctan", "sinh", "cosh", "tanh", "log2", "log10", "cbrt", "arcsin",
             "arccos", "arcsinh", "arccosh", "arctanh")   # _vmath.c's opcodes, in order
_FAST_OPS = ("sin", "cos", "exp", "expm1", "log")   # then its fast-math kernels'
_REG, _INPUT, _CONST = 0, 1 << 32, 2 << 32   # an operand: where it is | its index


@record
class _Fused:
    """A plan as _vmath.run_plan's program."""

    run_plan: Any      # _vmath.run_plan
    code: Any          # int64 array: the instructions
    consts: Any        # float64 array
    registers: int
    inputs: list       # the input nodes, in the order run_plan gets their columns
    outputs: list      # (operand, plus zero) of the value, then of each partial

    def run(self, columns, start: int, stop: int, out: _Swept, wrt):
        """One block, as _Plan.run unchecked: FloatingPointError where NumPy would raise."""
        given = dict(columns)
        inputs = tuple(given[i][start:stop] for i in self.inputs)
        if not all(c.flags.c_contiguous for c in inputs):   # a strided column of the caller's
            inputs = tuple(numpy().ascontiguousarray(c) for c in inputs)
        arrays = [out.value] + [out.grad[w] for w in wrt]
        outputs = tuple((a[start:stop], where, plus_zero)
                        for a, (where, plus_zero) in zip(arrays, self.outputs, strict=True))
        if not self.run_plan(self.code, self.consts, self.registers, inputs, outputs):
            raise FloatingPointError("an overflow, a division by zero or an invalid operation")
        return None, None


def _fused(plan: _Plan) -> _Fused | None:
    """``plan`` as a _Fused, or None where it cannot be (see above)."""
    from .fastmath import Kernel, native

    vm = native()
    if plan.kinked or vm is None:
        return None
    np = numpy()
    where = {plan.inputs[i]: _INPUT | k for k, i in enumerate(plan.inputs)}
    consts: list[float] = []

    def constant(x) -> int:
        consts.append(float(x))
        return _CONST | (len(consts) - 1)

    def operand(j):
        if j in where:
            return where[j]
        x = plan.init[j] if j >= plan.slots else None
        return constant(x) if _number(x) or isinstance(x, np.floating) else None

    code: list[int] = []
    for fn, slots, o, b in plan.prog:
        if fn is _full_like:   # a value the same at every point, spread (for power): kept whole
            value = operand(slots[1])
            if value is None:
                return None
            where[o] = value
            continue
        if isinstance(fn, Kernel):
            op = len(FUSED_OPS) + _FAST_OPS.index(fn.__name__)
        elif isinstance(fn, np.ufunc) and fn.__name__ in FUSED_OPS and fn.nin == len(slots):
            op = FUSED_OPS.index(fn.__name__)
        else:
            return None
        args = [operand(j) for j in slots]
        if b < 0 or None in args:
            return None
        code += [op, b, args[0], args[-1], len(args)]
        where[o] = _REG | b
    outputs = []
    for x, plus_zero in [(plan.value, False)] + [(d, True) for d in plan.grads]:
        if isinstance(x, _Rec):
            packed = where.get(x.slot)
        elif x is None or _number(x):   # no partial (0), or one the same at every point
            packed = constant(0.0 if x is None else x)
        else:
            return None
        if packed is None:
            return None
        outputs.append((packed, plus_zero))
    return _Fused(vm.run_plan, np.array(code, dtype=np.int64), np.array(consts + [0.0]),
                  max(1, plan.buffers), list(plan.inputs), outputs)


def _needed(calls: list, keep: set) -> list:
    """The calls the slots in ``keep`` need (not the adjoints of variables outside wrt)."""
    wanted = set(keep)
    needed = []
    for call in reversed(calls):
        if call[2] in wanted:
            needed.append(call)
            wanted.update(call[1])
    return needed[::-1]


def _last_uses(calls: list, keep: set) -> dict:
    """Slot -> the index of the last call reading it (past the end for the slots kept)."""
    end = dict.fromkeys(keep, len(calls))
    for t in range(len(calls) - 1, -1, -1):
        _fn, used, o, buffered, _number = calls[t]
        for j in used:
            # a result that may be one of its arguments keeps them alive as long as itself
            end[j] = max(end.get(j, -1), t if buffered else max(t, end.get(o, t)))
    return end


def _plan_of(tape, base: list, varying: list, targets: list, fast: bool = False):
    """The tape's plan for these partials (made once, kept on the tape; with ``fast``, its
    fast-math plan), or None where a rule cannot be recorded (it branches on a value that
    differs from point to point)."""
    kernels = None
    if fast:
        from .fastmath import kernels as fast_kernels

        kernels = fast_kernels()
    key: tuple = tuple(targets) if kernels is None else (tuple(targets), "fast math")
    plans = tape.__dict__.setdefault("_vector_plans", {})
    if key not in plans:
        try:
            plans[key] = _Plan(tape, base, varying, targets, kernels)
        except (TypeError, AttributeError, ValueError, ArithmeticError):
            plans[key] = None   # op by op (where a rule failing on constants is handled)
    return plans[key]
