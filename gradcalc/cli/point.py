"""The gradient at one point, or symbolically without one."""

from __future__ import annotations

from ..errors import UsageError
from ..function import Function
from ..points import parse_point
from ..report import Request, point_report, symbolic_report
from .app import Settings, echo, title, warn
from .options import Options

_EXTRAS = ("steps", "graph_file", "html_file", "tree", "exact", "precision")


def point(o: Options, settings: Settings) -> int:
    """One --at point (or none: the symbolic gradient), with whatever else was asked."""
    from .. import formats

    if o.tol is not None and not o.expect:
        raise UsageError("--tol is the tolerance of --expect answers", hint="give --expect too")
    if o.direction is not None and len(o.at) != 1:
        raise UsageError("--direction needs one point (--at)")
    at = o.at[0] if o.at else None
    renderer = formats.renderer(o.fmt, "point" if at is not None else "symbolic")
    if at is not None and o.fmt in ("csv", "tsv", "jsonl") and o.given(
            "steps", "expect", "exact", "precision", "tree"):
        raise UsageError(f"--format {o.fmt} carries values and gradients only",
                         hint="use --format json with --steps, --tree, --expect, --exact or "
                              "--precision")
    source = settings.read_program(o.program, o.file)
    fn = Function(source, settings.limits)
    point = parse_point(at, arrays=True, seed=o.seed, max_elements=o.max_elements or None) \
        if at is not None else None
    if fn.graph.tensor or any(getattr(x, "ndim", 0) for x in (point or {}).values()):
        return _tensor(fn, point, o, settings)
    if o.jacobian:   # of scalar outputs, named with -o
        from .higher import outputs

        return outputs(o, settings, fn)
    if o.save_gradients is not None:
        raise UsageError("--save-gradients writes the gradients of array inputs; this program "
                         "and point have none", hint="for numbers, use --format json or csv")
    verdicts = answers(fn, o, point) if o.expect else None
    if point is None:   # no --at
        extras = o.given(*_EXTRAS)
        if extras:
            raise UsageError(f"{', '.join(extras)} need{'s' * (len(extras) == 1)} a point",
                             hint="add --at, e.g. --at x=1,y=2")
        report = symbolic_report(fn, _request(o, verdicts), title(o.file, source),
                                 pretty=o.fmt == "table")
        warn(settings, report.warnings, report.check)
        renderer.render(report, o.out(settings))
        return report.exit_code()
    if o.exact and o.precision:
        raise UsageError("choose --exact or --precision, not both")
    request = _request(o, verdicts, point_text=at)
    report = point_report(fn, point, request, title(o.file, source))
    if o.fmt == "latex":
        report.symbolic_raw = symbolic_report(fn, request, result=report.result).symbolic_raw
    if o.graph_file:   # before printing anything: a missing Graphviz is an error (exit 2)
        from ..render.dot import write_graph

        write_graph(report.walk, o.graph_file, o.digits or 4, o.rankdir)
    page = _html(report, o)   # so is a page that cannot be written
    warn(settings, report.warnings, report.check, report.result)
    if o.tree and o.fmt != "table":
        settings.note("warning: --tree is drawn only with --format table")
    renderer.render(report, o.out(settings))
    if o.graph_file:
        settings.note(f"wrote the graph to {o.graph_file}")
    _wrote_page(page, o, settings)
    return report.exit_code()


def _html(report, o: Options):
    """--html FILE: the walkthrough page (render/html.py), or None without it."""
    if o.html_file is None:
        return None
    from ..render.html import write

    return write(report, o.html_file, o.digits or 6, o.digits or 4, o.rankdir)


def _tensor(fn, point, o: Options, settings: Settings) -> int:
    """A program over arrays (docs/tensors.md): at a point, with its check."""
    from .. import formats
    from ..report import tensor_report

    unsupported = o.given("tree", "exact", "precision", "expect", "direction")
    if o.jacobian:
        unsupported += o.given("steps", "graph_file", "save_gradients")
    if point is None and not fn.variables:
        point = {}   # an array program of constants: its value, and a gradient of nothing
    if point is None or unsupported:
        raise UsageError(f"arrays work at one point (--at) without {', '.join(unsupported)}"
                         if unsupported else "arrays need a point: their symbolic gradient is "
                         "not available yet", hint='e.g. --at "W=[[1,2],[3,4]],x=[1,-1]"')
    renderer = formats.renderer(o.fmt, "tensor")
    report = tensor_report(fn, point, Request(o.wrt_names, o.output, o.timeout,
                                              jacobian=o.jacobian), title(o.file, fn.source))
    written = None
    if o.save_gradients is not None:   # before printing: a directory in the way is exit 2
        from ..arrays_io import save_gradients

        written = save_gradients(report.result.gradient, o.save_gradients)
    walk = page = None
    if o.steps or o.graph_file or o.html_file:   # pictures before printing, as for scalars
        from ..tensor_steps import walkthrough

        walk = walkthrough(fn, report.result)
        if o.graph_file:
            from ..render.dot import write_graph

            write_graph(walk, o.graph_file, o.digits or 4, o.rankdir)
        if o.html_file:
            from ..render.html import write

            page = write(report, o.html_file, o.digits or 6, o.digits or 4, o.rankdir,
                         walk=walk)
    warn(settings, report.warnings)
    check = report.tensor_check
    if check is not None and not check.passed:
        echo(f"error: {check.problem()}", err=True)
    if o.steps:
        from ..render.tensor_steps import render

        render(report, walk, renderer, o.out(settings))
    else:
        renderer.render(report, o.out(settings))
    if written is not None:
        settings.note(f"wrote {len(written)} gradient{'s' * (len(written) != 1)} to "
                      f"{o.save_gradients}")
    if o.graph_file:
        settings.note(f"wrote the graph to {o.graph_file}")
    _wrote_page(page, o, settings)
    return report.exit_code()


def _wrote_page(page, o: Options, settings: Settings) -> None:
    if page is not None:
        laid = "Graphviz" if page.layout == "graphviz" else f"its own layout: {page.note}"
        settings.note(f"wrote the walkthrough page to {o.html_file} ({page.nodes} nodes; "
                      f"the graph laid out by {laid})")


def _request(o: Options, verdicts, point_text: str | None = None) -> Request:
    exact = None
    if point_text is not None and (o.exact or o.precision):
        exact = parse_point(point_text, exact=True)
    direction = parse_point(o.direction, option="--direction") if o.direction else None
    return Request(o.wrt_names, o.output, o.timeout, steps=o.steps,
                   walk=bool(o.graph_file or o.tree or o.html_file),
                   formulas=bool(o.graph_file or o.html_file), exact=exact,
                   precision=o.precision, direction=direction, verdicts=verdicts)


def answers(fn, o: Options, point):
    """The --expect answers, decided."""
    from ..expect import check_answers, parse_tol, split_answers

    tol = None
    if o.tol is not None:
        tol = parse_tol(o.tol, "--tol takes REL or REL,ABS, e.g. --tol 1e-3,1e-6")
    expectations = [e for text in o.expect for e in split_answers(text, o.output or fn.output)]
    return check_answers(fn, expectations, point, tol)
