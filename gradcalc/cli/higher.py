"""Beyond one gradient: second and higher partials (--hessian, --order N), several outputs
(-o u,v, --jacobian) and implicit derivatives (--implicit Y)."""

from __future__ import annotations

from .. import formats
from ..errors import UsageError
from ..function import Function
from ..points import parse_point
from ..report import (
    Request,
    hessian_walk,
    higher_report,
    implicit_report,
    outputs_report,
    symbolic_higher,
)
from .app import Settings, title, warn
from .options import Options


def higher(o: Options, settings: Settings) -> int:
    """--hessian and --order N: at one point (numbers, checked against sympy.diff) or
    symbolically."""
    if o.hessian and o.order is not None:
        raise UsageError("choose --hessian or --order N, not both",
                         hint="--order 2 lists the Hessian's distinct entries")
    if o.order is not None and o.order < 1:
        raise UsageError(f"--order must be 1 or more, not {o.order}")
    if o.points_file is not None or len(o.at) > 1:
        raise UsageError("--hessian and --order work at one point (--at) or symbolically")
    if o.given("wrt", "tree", "exact", "precision", "expect"):
        raise UsageError("--hessian and --order take every variable of the program; they do "
                         "not combine with --wrt, --tree, --exact, --precision or --expect yet")
    if (o.steps or o.graph_file) and not (o.hessian or o.order == 2):
        raise UsageError("--steps and --graph explain second derivatives (--hessian or "
                         "--order 2)")
    renderer = formats.renderer(o.fmt, "higher" if o.at else "symbolic_higher")
    fn = Function(settings.read_program(o.program, o.file), settings.limits)
    if not o.at:
        report = symbolic_higher(fn, o.output or fn.output, o.hessian, o.order)
        renderer.render(report, o.out(settings))
        return report.exit_code()
    request = Request(output=o.output, timeout=o.timeout)
    report = higher_report(fn, parse_point(o.at[0]), request, None if o.hessian else o.order,
                           title(o.file, fn.source), program=bool(o.steps or o.graph_file))
    if o.graph_file:
        from ..render.dot import write_graph

        write_graph(hessian_walk(fn, report.result), o.graph_file, o.digits or 4, o.rankdir)
    page = _html(fn, report, o)   # before printing: a page that cannot be written is exit 2
    warn(settings, report.warnings, report.check, report.result)
    renderer.render(report, o.out(settings))
    if page is not None:
        settings.note(f"wrote the walkthrough page to {o.html_file} ({page.nodes} nodes; "
                      "with the Hessian)")
    if o.graph_file:
        settings.note(f"wrote the graph of the gradient's program (d{report.output}/"
                      f"d{fn.variables[0]}, its values and its gradient: a row of the Hessian) "
                      f"to {o.graph_file}")
    return report.exit_code()


def _html(fn, report, o: Options):
    """--hessian --html FILE: the walkthrough of the gradient at the point (the backprop the
    Hessian's second pass differentiates), with the Hessian's section; None without --html."""
    if o.html_file is None:
        return None
    from ..render.html import write
    from ..report import point_report

    walk = point_report(fn, dict(report.result.point),
                        Request(output=o.output, timeout=None, walk=True, formulas=True),
                        report.title)
    walk.check = report.check   # the gradient's check, made once for both
    return write(walk, o.html_file, o.digits or 6, o.digits or 4, o.rankdir, hessian=report)


def outputs(o: Options, settings: Settings, fn: Function | None = None) -> int:
    """Several outputs (-o u,v): a gradient each, or their Jacobian and its determinant.
    ``fn``: the program, when the caller has read it already."""
    names = [n.strip() for n in (o.output or "").split(",") if n.strip()]
    if o.jacobian and not names:
        raise UsageError("--jacobian needs the outputs it differentiates",
                         hint="name them with -o, e.g. -o u,v")
    if o.points_file is not None or len(o.at) > 1 or o.given(
            "steps", "graph_file", "tree", "exact", "precision", "expect", "hessian", "order",
            "direction"):
        raise UsageError("several outputs (-o u,v) and --jacobian work at one point or "
                         "symbolically, without --steps, --graph, --tree, --exact, --precision, "
                         "--expect, --hessian, --order or --direction")
    renderer = formats.renderer(o.fmt, "outputs")
    if fn is None:
        fn = Function(settings.read_program(o.program, o.file), settings.limits)
    point = parse_point(o.at[0]) if o.at else None
    report = outputs_report(fn, names, point, Request(o.wrt_names, timeout=o.timeout),
                            o.jacobian)
    report.title = title(o.file, fn.source)
    for name, r in (report.result or {}).items():
        warn(settings, r.warnings, report.jacobian.checks.get(name), r)
    renderer.render(report, o.out(settings))
    return report.exit_code()


def implicit(o: Options, settings: Settings) -> int:
    """--implicit Y: derivatives of Y defined by the equation, checked against SymPy's idiff."""
    from ..derivatives import equation_function

    if o.points_file is not None or len(o.at) > 1 or o.given(
            "steps", "graph_file", "tree", "exact", "precision", "expect", "hessian",
            "direction", "jacobian", "output", "wrt"):
        raise UsageError("--implicit works at one point or symbolically, with --order 1 or 2 "
                         "and no other derivative option")
    renderer = formats.renderer(o.fmt, "implicit")
    F = equation_function(settings.read_program(o.program, o.file), settings.limits)
    point = parse_point(o.at[0]) if o.at else None
    assert o.implicit is not None   # (what brought us here)
    report = implicit_report(F, o.implicit, point, o.order or 1, Request(timeout=o.timeout))
    warn(settings, report.warnings)
    renderer.render(report, o.out(settings))
    return report.exit_code()
