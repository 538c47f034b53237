"""One run's findings, whatever was asked: the object every output format renders.

A ``Request`` says what to compute (the command line's options, or an API caller's arguments);
the builders here compute it into a ``Report``; ``gradcalc.formats`` renders a report by format
name. The command line only turns options into a request and a report into an exit code.

    >>> from gradcalc import Function
    >>> from gradcalc.report import Request, point_report
    >>> r = point_report(Function("z*(x+y)"), {"x": -2, "y": 5, "z": -4}, Request())
    >>> r.result.gradient, r.check.status, r.exit_code()
    ({'x': -4.0, 'y': -4.0, 'z': 3.0}, 'agree', 0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from .errors import UsageError
from .records import field, record


@record(frozen=True)
class Request:
    """What to compute besides the value and gradient. ``timeout`` is the cross-check's time
    (None: no check at all, and SymPy is never imported)."""

    wrt: list[str] | None = None
    output: str | None = None
    timeout: float | None = 5.0
    steps: bool = False              # the backprop walkthrough, shown
    walk: bool = False               # the walkthrough, for a picture (--graph, --tree)
    formulas: bool = False           # with the local gradients' formulas (--steps, --graph)
    exact: dict | None = None        # the point as SymPy numbers: --exact
    precision: int | None = None     # mpmath digits: --precision (with ``exact`` as the point)
    direction: dict | None = None    # --direction
    verdicts: list | None = None     # --expect, already decided
    jacobian: bool = False           # an array output's Jacobian (tensor programs)

    @property
    def limits(self) -> float:
        """The time the 0·∞ limits may take (0: difference quotients only)."""
        return 0.0 if self.timeout is None else self.timeout


@record
class Report:
    """Everything one run found. ``kind`` says which parts are filled in:

    - point: result, check (and exact, walk, forward, verdicts, symbolic for LaTeX);
    - symbolic: symbolic (printed), symbolic_raw (SymPy), check, verdicts;
    - points: batches (many points, computed as they are read);
    - higher: result, check, hessian or partials, higher_check, gradient_program;
    - outputs: jacobian;
    - symbolic_higher: order, entries (multi-index -> SymPy), entry_checks (-> status);
    - implicit: implicit, point, check;
    - tensor: result (a tensor.TensorResult: each partial of its input's shape), tensor_check.
    """

    kind: str
    source: str
    output: str
    title: str = ""                  # the program as a header shows it (a file: its name)
    result: Any = None               # function.Result
    check: Any = None                # check.Check (check.SKIPPED without a cross-check)
    exact: Any = None                # SymbolicResult of exact or --precision values
    walk: Any = None                 # steps.Walkthrough
    steps: bool = False              # show the walkthrough
    forward: Any = None              # render.higher.Directional
    verdicts: list | None = None     # expect.Verdict, one per --expect answer
    symbolic: Any = None             # SymbolicResult printed as strings
    symbolic_raw: Any = None         # SymbolicResult of SymPy expressions
    hessian: Any = None              # derivatives.Hessian
    partials: Any = None             # derivatives.Partials (--order N)
    higher_check: Any = None         # check.Check of the higher partials
    gradient_program: dict | None = None   # --hessian --steps: the gradient's statements
    order: int | None = None         # symbolic_higher: the order of the partials
    entries: dict | None = None      # symbolic_higher: multi-index -> SymPy expression
    entry_checks: dict | None = None   # symbolic_higher: multi-index -> check status
    jacobian: Any = None             # render.higher.Jacobian
    implicit: Any = None             # derivatives.Implicit
    point: dict | None = None        # the point of an implicit report
    batches: Batches | None = None
    tensor_check: Any = None         # tensor_sympy.TensorCheck (arrays: SymPy's or numerical)
    warnings: list[str] = field(default_factory=list)

    def failed(self) -> bool:
        """Whether the answer failed: a check disagreed, a partial is undetermined, a
        directional derivative disagrees, an --expect answer is wrong."""
        checks = [c for c in (self.check, self.higher_check) if c is not None]
        if self.jacobian is not None:
            return self.jacobian.failed
        if self.tensor_check is not None and not self.tensor_check.passed:
            return True
        if self.entry_checks is not None:
            return "disagree" in self.entry_checks.values()
        if any(c.failed for c in checks):
            return True
        if self.result is not None and getattr(self.result, "undetermined", None):
            return True
        derivs = self.hessian or self.partials
        if derivs is not None and any(v is None for v in derivs.partials):
            return True
        if self.forward is not None and self.forward.status == "disagree":
            return True
        return self.verdicts is not None and any(v.ok is False for v in self.verdicts)

    def exit_code(self) -> int:
        if self.batches is not None:
            return self.batches.exit_code()
        return 1 if self.failed() else 0


# --- one point ---------------------------------------------------------------------------------

def point_report(fn, point: dict, request: Request, title: str = "") -> Report:
    """Value, gradient and the cross-check at one point, with whatever else ``request`` asks."""
    result = fn.gradient(point, wrt=request.wrt, output=request.output, limits=request.limits)
    report = Report("point", fn.source, result.output, title or fn.source, result=result,
                    check=_check(fn, result, request.timeout), verdicts=request.verdicts,
                    steps=request.steps, warnings=list(result.warnings))
    if request.exact is not None:
        if request.precision:
            from .function import precise

            report.exact = precise(fn, request.exact, request.precision, request.wrt,
                                   request.output)
        else:
            report.exact = fn.symbolic(request.exact, wrt=request.wrt, output=request.output)
    if request.direction is not None:
        report.forward = directional(fn, result, request.direction, request.output)
    if request.steps or request.walk:
        from .steps import walkthrough

        report.walk = walkthrough(fn, result, formulas=request.steps or request.formulas)
    return report


def tensor_report(fn, point: dict, request: Request, title: str = "") -> Report:
    """Value and gradient of a program over arrays; each partial has its input's shape. The
    check (tensor_sympy.py) is SymPy's, entry by entry, when the point's inputs have at most
    MAX_ENTRIES entries in all and SymPy finishes within the check's time; else numerical
    (central differences, CS231n's rel_error). The check says which method decided, and why."""
    from . import tensor, tensor_sympy

    result = tensor.gradient(fn, point, request.output, request.wrt, request.jacobian)
    report = Report("tensor", fn.source, result.output, title or fn.source, result=result,
                    warnings=list(result.warnings))
    if request.timeout is None:
        return report
    n = tensor_sympy.entries(result)
    if tensor.shape_of(result.value):
        report.tensor_check = tensor_sympy.numerical(
            fn, result, "a Jacobian is checked by central differences, column by column")
    elif n > tensor_sympy.MAX_ENTRIES:
        report.tensor_check = tensor_sympy.numerical(
            fn, result, f"{n} entries in all, more than the {tensor_sympy.MAX_ENTRIES} SymPy "
                        "checks one by one")
    else:
        report.tensor_check = tensor_sympy.sympy_check(fn, result, request.timeout)
    return report


def _check(fn, result, timeout: float | None):
    if timeout is None:
        from .verdicts import SKIPPED  # (not from check: --no-check never imports it)

        return SKIPPED
    from .check import check_point

    return check_point(fn, result, timeout)


def directional(fn, result, direction: dict, output):
    """Forward mode along ``direction``, checked against the gradient's dot product."""
    from .derivatives import directional as forward
    from .render.higher import Directional

    value, d, rows = forward(fn, result.point, direction, output)
    if any(g is None for g in result.gradient.values()):
        status, dot = "skipped", None
    else:
        dot = math.fsum(result.gradient.get(k, 0.0) * float(t) for k, t in direction.items())
        scale = math.fsum(abs(result.gradient.get(k, 0.0) * float(t))
                          for k, t in direction.items())
        status = "agree" if abs(d - dot) <= 1e-12 * max(1.0, scale) else "disagree"
    return Directional(result.output, {k: float(t) for k, t in direction.items()}, d, dot,
                       status, rows, fn)


# --- no point: the symbolic gradient -------------------------------------------------------------

def symbolic_report(fn, request: Request, title: str = "", pretty: bool = False,
                    result=None) -> Report:
    """The gradient as formulas, checked against sympy.diff. SymPy works on trees: a graph with
    shared nodes can print as an exponentially long expression, and a deep one exceeds Python's
    recursion limit; both are bounded (an error saying so, exit 2). With ``result`` (a point's
    numbers) the same partials in the same order, for a LaTeX write-up at a point."""
    from .check import SKIPPED, check_symbolic
    from .deadline import Timeout, deadline
    from .printing import sstr, tidy

    timeout = 5.0 if request.timeout is None else request.timeout
    wrt = list(result.gradient) if result is not None else request.wrt
    try:
        with deadline(max(timeout, 1.0) * 2):
            sym = fn.symbolic(wrt=wrt, output=request.output)
            check = SKIPPED if request.timeout is None or result is not None else \
                check_symbolic(fn, sym, timeout)
            show = _pretty if pretty else sstr
            printed = type(sym)(sym.output, sstr(sym.expression),
                                {k: show(tidy(v)) for k, v in sym.gradient.items()},
                                sym.warnings)
    except (Timeout, RecursionError, MemoryError, ArithmeticError) as exc:
        why = ("is too deep for SymPy" if isinstance(exc, RecursionError)
               else "did not finish in time" if isinstance(exc, Timeout)
               else f"is beyond SymPy ({type(exc).__name__})")
        raise UsageError(f"the symbolic gradient {why}",
                         hint="give a point with --at to get numbers") from None
    return Report("symbolic", fn.source, sym.output, title or fn.source, check=check,
                  symbolic=printed, symbolic_raw=sym, verdicts=request.verdicts,
                  warnings=list(sym.warnings))


def _pretty(expr) -> str:
    """SymPy's pretty printer for a table cell when it fits, else gradcalc's notation."""
    import sympy

    from .printing import sstr

    art = sympy.pretty(expr, use_unicode=True)
    return art if max(len(line) for line in art.splitlines()) <= 40 else sstr(expr)


# --- higher derivatives ------------------------------------------------------------------------

def higher_report(fn, point: dict, request: Request, order: int | None,
                  title: str = "", program: bool = False) -> Report:
    """The Hessian (``order`` None) or every partial of ``order`` at a point, checked against
    sympy.diff; with ``program`` the gradient's own statements (how the second pass works)."""
    from .check import SKIPPED
    from .derivatives import partials

    result = fn.gradient(point, output=request.output, limits=request.limits)
    report = Report("higher", fn.source, result.output, title or fn.source, result=result,
                    check=SKIPPED, warnings=list(result.warnings))
    if order is None:
        report.hessian = fn.hessian(result.point, output=request.output)
    else:
        report.partials = partials(fn, order, result.point, request.output, request.limits)
    if request.timeout is not None:
        from .check import check_partials, check_point

        report.check = check_point(fn, result, request.timeout)
        report.higher_check = check_partials(fn, report.hessian or report.partials,
                                             result.point, request.timeout)
    if program:
        report.gradient_program = gradient_statements(fn, result)
    return report


def gradient_statements(fn, result) -> dict:
    """The gradient's program, statement by statement, as formulas: what the second pass of
    reverse mode differentiates."""
    from .derivatives import differentiate
    from .printing import sstr

    out = result.output
    grad_fn, names = differentiate(fn, {out: out}, result.point, tuple(result.point))
    return {names[(out, x)]: sstr(grad_fn.symbolic(wrt=[], output=names[(out, x)]).expression)
            for x in result.point}


def hessian_walk(fn, result):
    """The walkthrough of ∂f/∂x (x the first variable): its forward values and its gradient,
    a row of the Hessian, for --graph with --hessian."""
    from .derivatives import differentiate
    from .steps import walkthrough

    out = result.output
    grad_fn, names = differentiate(fn, {out: out}, result.point, tuple(result.point))
    first = names[(out, next(iter(result.point)))]
    r = grad_fn.gradient(result.point, output=first, limits=0)
    return walkthrough(grad_fn, r, formulas=False)


def symbolic_higher(fn, output: str, hessian: bool, order: int | None) -> Report:
    """The Hessian or the order-N partials as formulas, each checked against sympy.diff."""
    from .derivatives import partials, symbolic_hessian

    entries: dict[tuple[str, ...], Any]   # multi-index -> SymPy expression
    if hessian:
        variables, rows = symbolic_hessian(fn, output)
        entries = {(x, y): rows[i][j] for i, x in enumerate(variables)
                   for j, y in enumerate(variables)}
    else:
        assert order is not None   # not the Hessian: partials of a given order
        entries = {p.wrt: p.symbolic for p in partials(fn, order, None, output).partials}
    return Report("symbolic_higher", fn.source, output, fn.source,
                  order=2 if hessian else order, entries=entries,
                  entry_checks=_symbolic_verdicts(fn, output, entries))


def _symbolic_verdicts(fn, out, entries) -> dict:
    """Each symbolic higher partial against sympy.diff of the SymPy expression, as statuses."""
    import sympy

    from .check import same_function
    from .deadline import Timeout, deadline
    from .domains import sympy_domain
    from .function import symbols_for

    verdicts = dict.fromkeys(entries, "skipped")
    symbols = symbols_for(fn.variables)
    try:
        with deadline(10.0):
            tape, *_ = fn.resolve(symbols, out, wrt=(), numeric=False)
            f_expr = tape.forward(sympy_domain(), symbols)[tape.out]
            for k, ours in entries.items():
                theirs = sympy.diff(f_expr, *(symbols[x] for x in k))
                verdicts[k] = same_function(ours, theirs, list(symbols.values()),
                                            f_expr).status
    except (Timeout, RecursionError):
        pass
    return verdicts


# --- several outputs, implicit functions -------------------------------------------------------

def outputs_report(fn, outputs: list[str], point: dict | None, request: Request,
                   jacobian: bool) -> Report:
    """A gradient per output (-o u,v), or their Jacobian and its determinant."""
    from .render.higher import Jacobian

    report = Report("outputs", fn.source, ",".join(outputs), fn.source)
    checks: dict = {}
    if point is None:
        sym = {o: fn.symbolic(wrt=request.wrt, output=o) for o in outputs}
        if request.timeout is not None:
            from .check import check_symbolic

            checks = {o: check_symbolic(fn, sym[o], request.timeout) for o in outputs}
        report.jacobian = Jacobian.symbolic(outputs, sym, jacobian, checks)
        return report
    results = {o: fn.gradient(point, wrt=request.wrt, output=o, limits=request.limits)
               for o in outputs}
    if request.timeout is not None:
        from .check import check_point

        checks = {o: check_point(fn, r, request.timeout) for o, r in results.items()}
    report.jacobian = Jacobian.at_point(outputs, results, checks, jacobian)
    report.result = results   # per output, for their warnings
    return report


def implicit_report(F, y: str, point: dict | None, order: int, request: Request) -> Report:
    """dy/dx (and d²y/dx²) of Y defined by the equation F = 0, checked against SymPy's idiff."""
    from .derivatives import implicit

    if point is not None:
        point = F.resolve(point, wrt=()).point
    result = implicit(F, point, y, order)
    report = Report("implicit", F.source, y, F.source, implicit=result, point=point)
    if request.timeout is not None:
        from .check import check_implicit

        report.check = check_implicit(result, point, request.timeout)
    if point is not None and result.residual is not None:
        from .numfmt import fmt

        scale = max(1.0, abs(F(dict(point, **{y: point[y]}))))
        if abs(result.residual) > 1e-9 * scale:
            report.warnings.append(
                f"the point is not on the curve: left - right = {fmt(result.residual)} there "
                "(the derivatives are those of the level curve through the point)")
    return report


# --- many points -------------------------------------------------------------------------------

@record
class Batches:
    """Many points, computed chunk by chunk as they are iterated (memory bounded by a chunk, not
    the file); the tallies fill in as they go, for the diagnostics after the rows."""

    fn: Any
    chunks: Any                      # iterable of points.Chunk
    names: list[str]                 # the point's variables, in column order
    wrt: Sequence[str]
    output: str
    fixed: dict = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)
    timeout: float | None = None     # the cross-check of a sample of rows (None: none)
    notes: Sequence[str] = ()
    progress: Any = None             # progress(rows done), for a big file
    stop: Any = None                 # stop(): the progress bar is done
    failed: list[int] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)
    kinks: dict[str, list[int]] = field(default_factory=dict)
    checks: list = field(default_factory=list)   # (row, Check)
    total: int = 0
    fast_math: bool = False          # vector.gradient_many's fast_math

    def __iter__(self) -> Iterator:
        from .render.rows import Rows

        for chunk in self.chunks:
            columns = {**chunk.columns, **{k: [x] * chunk.size for k, x in self.fixed.items()}}
            batch = _compute(self.fn, columns, self.wrt, self.output, chunk.invalid,
                             self.fast_math)
            rows = Rows(chunk.start, {k: columns[k] for k in self.names}, _list(batch.value),
                        {w: _list(c) for w, c in batch.gradient.items()}, batch.errors,
                        {e: chunk.extras[e] for e in self.extras}, texts=chunk.texts)
            if self.timeout is not None and not self.checks:
                rows.checks = _check_sample(self.fn, rows, self.wrt, self.output, self.timeout)
                self.checks.extend((chunk.start + k, c) for k, c in rows.checks.items())
            self.failed += [chunk.start + k for k in batch.errors if k not in chunk.invalid]
            self.malformed += [chunk.start + k for k in chunk.invalid]
            for message, where in batch.kinks:
                self.kinks.setdefault(message, []).extend(chunk.start + k for k in where)
                for k in where:
                    rows.warnings.setdefault(k, []).append(message)
            self.total += chunk.size
            if self.progress is not None:
                self.progress(self.total)
            yield rows

    def finish(self) -> None:
        """Every row is computed: end the progress bar (once)."""
        if self.stop is not None:
            self.stop()
            self.stop = None

    def disagree(self) -> list:
        return [(k, c) for k, c in self.checks if c.status == "disagree"]

    def exit_code(self) -> int:
        """2 if a row of the file is malformed (the other rows are still written), 1 if some
        point failed or the check disagreed, else 0."""
        return 2 if self.malformed else (1 if self.failed or self.disagree() else 0)


def _compute(fn, columns, wrt, output, invalid, fast_math: bool = False):
    """A chunk's values and gradients: NumPy for many points, plain floats for a few (exact:
    fast math is for the many)."""
    from .vector import gradient_few, gradient_many

    size = len(next(iter(columns.values()), ()))
    if size <= 64:
        return gradient_few(fn, columns, wrt, output, invalid)
    return gradient_many(fn, columns, wrt, output, invalid, fast_math)


def _list(column):
    """A batch's column for the rows: NumPy's array kept as it is (points.Floats: a list of
    floats is made only if a format asks for one), a list as a list."""
    if hasattr(column, "tolist"):
        from .points import Floats

        return Floats(column)
    return list(column)


def _check_sample(fn, rows, wrt, output, timeout, count: int = 5) -> dict:
    """The cross-check at up to ``count`` computed points spread over the chunk (SymPy's own
    derivative evaluated there, or central differences past the deadline), within ``timeout``
    seconds in all."""
    import time

    from .check import check_point

    ok = [k for k in range(len(rows)) if k not in rows.errors]
    if not ok:
        return {}
    m = min(count, len(ok))
    picks = sorted({ok[round(j * (len(ok) - 1) / max(1, m - 1))] for j in range(m)})
    started = time.monotonic()
    checks = {}
    for k in picks:
        left = timeout - (time.monotonic() - started)
        result = fn.gradient({v: c[k] for v, c in rows.points.items()}, wrt=wrt, output=output)
        checks[k] = check_point(fn, result, max(left, 0.0))
    return checks
