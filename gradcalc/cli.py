"""The command line: options in, one call into the API, one renderer out.

Exit codes: 0 ok; 1 the cross-check disagreed; 2 bad input or usage; 3 a bug in gradcalc.
"""

from __future__ import annotations

import json
import math
import os
import sys
from types import SimpleNamespace

import click

from . import __version__
from .errors import GradcalcError, UsageError, describe
from .numfmt import fmt as fmt_number
from .points import parse_point
from .syntax import DEFAULT_LIMITS, Limits, split_top_level

EXAMPLES = """
\b
Examples:
  gradcalc "z*(x+y)" --at x=-2,y=5,z=-4
  gradcalc "q = x + y; f = z*q" --at x=-2,y=5,z=-4 --wrt x,q
  gradcalc "1/(1+exp(-(w0*x0 + w1*x1 + w2)))" --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3
  gradcalc "x^2*sin(y)"                  # no point: the symbolic gradient
  gradcalc "-x^2" --at x=3 --format json
  gradcalc -f model.gc --at x=1 --output loss
  echo "sin(x)^2" | gradcalc - --at x=pi/4
  gradcalc "q = x + y; f = z*q" --at x=-2,y=5,z=-4 --steps --graph graph.svg
  gradcalc "sin(x^2)" --expect "df/dx=2*x*cos(x^2)"
  gradcalc "x^2*y" --at x=1/3,y=3 --exact
  gradcalc check examples/homework.toml        # a whole problem set, with a score
  gradcalc "z*(x+y)" --at x=-2,y=5,z=-4 --at x=1,y=2,z=3 --format csv
  gradcalc "w*x + b" --points data.csv --at w=0.5,b=1 --format jsonl
  producer | gradcalc -f model.gc --points - --format csv > gradients.csv
  gradcalc descend "(x-3)^2 + (y+1)^2" --from x=0,y=0 --lr 0.1   # see gradcalc descend -h
  gradcalc fit -f examples/line.gc --data examples/line.csv --params w=0,b=0   # gradcalc fit -h

\b
Exit codes: 0 ok, 1 the cross-check disagreed, an answer is wrong or some of many
points could not be computed, 2 bad input, 3 internal error.
"""


# --quiet, --no-color and the --max-* limits: for this run
SETTINGS = SimpleNamespace(quiet=False, color=True, limits=DEFAULT_LIMITS, memory=None,
                           cap_memory=False)


class _Base(click.Command):
    """A click command that reports usage errors in gradcalc's 'error: ...' format (exit 2)."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            click.echo("hint: gradcalc --help lists the options", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


class _Command(_Base):
    """The main command; a program may start with '-' ("-x^2") without needing '--', and
    `gradcalc check FILE.toml` runs a problem set."""

    def main(self, args=None, prog_name=None, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        commands = {"check": check_command, "descend": descend_command, "fit": fit_command}
        if argv[:1] and argv[0] in commands and "--at" not in argv:
            return commands[argv[0]].main(argv[1:], f"{prog_name or 'gradcalc'} {argv[0]}",
                                          **extra)
        return super().main(args, prog_name, **extra)

    def parse_args(self, ctx, args):
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {n for p in options for n in p.opts}
        takes_value = {n for p in options if not p.is_flag for n in p.opts}

        def is_option(arg):
            # --at=x=1 and -fprog.gc are options too, but -omega^2 and -f*x are programs
            return (arg in known or arg.split("=", 1)[0] in known
                    or (arg[:2] in takes_value and not arg.startswith("--")
                        and not any(ch in arg[2:] for ch in "^*+-/()|, ")))

        if "--" not in args:
            for k, arg in enumerate(args):
                # '--anything' is always an option (a misspelt one is click's to report)
                if (arg.startswith("-") and len(arg) > 1 and not arg.startswith("--")
                        and not is_option(arg) and (k == 0 or args[k - 1] not in takes_value)):
                    # A program such as "-x^2": move it behind '--' so click reads it as one.
                    args = args[:k] + args[k + 1:] + ["--", arg]
                    break
        return super().parse_args(ctx, args)


def _read_program(program, file):
    if file is not None and program is not None:
        raise UsageError("give the program either as an argument or with -f, not both")
    if file is not None:
        return _decode(_read_bounded(file, file.name), file.name)
    if program is None:
        raise UsageError("no program given", hint='try: gradcalc "z*(x+y)" --at x=-2,y=5,z=-4')
    if program == "-":
        return _decode(_read_bounded(sys.stdin.buffer, "standard input"), "standard input")
    return program


def _read_bounded(stream, where: str) -> bytes:
    """All of a program file, or an error as soon as it is longer than --max-size allows (it
    may be /dev/zero)."""
    size = SETTINGS.limits.size
    if size is None:
        return stream.read()
    data = stream.read(4 * size + 1)   # a character is at most 4 bytes of UTF-8
    if len(data) > 4 * size or len(data.decode("utf-8", "replace")) > size:
        raise UsageError(f"{where} holds more than {size:,} characters; the limit is {size:,}",
                         hint="raise the limit with --max-size N")
    return data


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (byte {exc.start}: "
                         f"{data[exc.start:exc.start + 1]!r})") from None


@click.command(cls=_Command, epilog=EXAMPLES, context_settings={
    "help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("program", required=False)
@click.option("-f", "--file", type=click.File("rb"),
              help="Read the program from FILE.")
@click.option("--at", "at", metavar="POINT", multiple=True,
              help="The point: x=-2,y=5 (values may be constant expressions: x=pi/4). "
                   "Repeat it for several points. Without it (and --points), print the "
                   "symbolic gradient.")
@click.option("--points", "points_file", metavar="FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Read points from a CSV or TSV file whose header names the variables "
                   "('-': standard input), one point per row. With --at, the values it gives "
                   "hold for every row.")
@click.option("--keep-columns", is_flag=True,
              help="Copy the points file's other columns to the output (default: drop them).")
@click.option("--chunk-size", type=click.IntRange(1, 10_000_000), default=None, metavar="ROWS",
              help="Rows of a points file computed at a time (default 25000): memory stays "
                   "bounded by this, not by the file.")
@click.option("--wrt", metavar="NAMES",
              help="Differentiate with respect to these (inputs or named statements); "
                   "default: every input.")
@click.option("-o", "--output", "output", metavar="NAME",
              help="Differentiate this named statement instead of the last one; several "
                   "(u,v) give one gradient each, or with --jacobian their Jacobian matrix.")
@click.option("--jacobian", is_flag=True,
              help="With -o u,v: the matrix ∂(outputs)/∂(variables), and its determinant when "
                   "square.")
@click.option("--format", "fmt",
              type=click.Choice(["table", "json", "jsonl", "csv", "tsv", "plain", "latex"]),
              default="table", show_default=True,
              help="Output format. json: one object (an array for several points); jsonl: an "
                   "object per point per line; csv/tsv: a header row, then a row per point.")
@click.option("--digits", type=click.IntRange(1, 17), default=None,
              help="Significant digits shown (default: 6 in tables, full precision otherwise).")
@click.option("--check-timeout", type=click.FloatRange(0, 86400), default=5.0,
              show_default=True,
              metavar="SECONDS", help="Time allowed for SymPy before falling back to central "
                                      "differences.")
@click.option("--no-check", is_flag=True, help="Skip the cross-check (and never import SymPy).")
@click.option("--steps", is_flag=True,
              help="Show the backprop walkthrough: the forward pass node by node, the backward "
                   "pass edge by edge (upstream × local = downstream).")
@click.option("--graph", "graph_file", metavar="FILE",
              help="Draw the computational graph with values and gradients to FILE (.dot, or "
                   ".svg/.png/.pdf with Graphviz).")
@click.option("--tree", is_flag=True, help="Show the graph as a tree in the terminal.")
@click.option("--hessian", is_flag=True,
              help="Second partials: the Hessian at the point, its eigenvalues and the "
                   "second-derivative test (minimum, maximum, saddle); symbolic without --at.")
@click.option("--direction", metavar="x=1,y=2",
              help="The directional derivative ∇f·v along v, by one forward pass of tangents "
                   "(forward mode); with --steps, the forward-mode walkthrough.")
@click.option("--implicit", metavar="Y",
              help="The program is an equation F(x, y) = 0 (left = right): dy/dx = -F_x/F_y "
                   "at the point, or symbolically (with --order 2, d²y/dx² too).")
@click.option("--order", type=int, default=None, metavar="N",
              help="Every distinct partial of order N (2: the Hessian's upper triangle), at the "
                   "point or symbolically.")
@click.option("--expect", "expect", metavar="ANSWERS", multiple=True,
              help="Check answers: f=-12,q=3,df/dz=3 (numbers, or expressions such as "
                   "df/dx=2*x*z, checked for equivalence). Exit 1 if any is wrong.")
@click.option("--exact", is_flag=True,
              help="Also compute the value and gradient exactly (x=1/3 stays 1/3) with SymPy.")
@click.option("--precision", type=click.IntRange(1, 10_000), metavar="DIGITS",
              help="Also compute the value and gradient with mpmath at DIGITS significant digits.")
@click.option("--tol", metavar="REL[,ABS]",
              help="Tolerance for numeric answers (default: as precise as the digits written).")
@click.option("--max-size", type=click.IntRange(0), default=5_000_000, show_default=True,
              metavar="CHARS", help="Longest program accepted (0: no limit).")
@click.option("--max-nodes", type=click.IntRange(0), default=1_000_000, show_default=True,
              metavar="N", help="Most graph nodes a program may have (0: no limit).")
@click.option("--max-depth", type=click.IntRange(0), default=100_000, show_default=True,
              metavar="N", help="Deepest nesting of parentheses and calls (0: no limit).")
@click.option("--max-digits", type=click.IntRange(0), default=100_000, show_default=True,
              metavar="N", help="Most digits of one exact number with --exact (0: no limit).")
@click.option("--max-memory", type=click.IntRange(0), default=4096, show_default=True,
              metavar="MB", help="Most memory the process may take (0: no limit).")
@click.option("-q", "--quiet", is_flag=True, help="Silence warnings and notes (errors still "
                                                  "go to standard error).")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal (as NO_COLOR=1).")
@click.version_option(__version__, "--version", prog_name="gradcalc")
def main(program, file, at, points_file, keep_columns, chunk_size, wrt, output, fmt, digits,
         jacobian, check_timeout, no_check, steps, graph_file, tree, hessian, direction, implicit,
         order, expect, exact,
         precision, tol, max_size, max_nodes, max_depth, max_digits, max_memory, quiet,
         no_color):
    """Gradient of PROGRAM by reverse-mode automatic differentiation, cross-checked by SymPy.

    PROGRAM is an expression such as "z*(x+y)", or statements "q = x + y; f = z*q" separated by
    ';' or newlines. Use '-' to read it from standard input.
    """
    SETTINGS.quiet, SETTINGS.color = quiet, not no_color
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # exact numbers print whole (--max-digits bounds them)
    SETTINGS.limits = Limits(*(n or None for n in (max_size, max_nodes, max_depth, max_digits)))
    SETTINGS.memory = max_memory or None
    if SETTINGS.cap_memory and max_memory:
        _cap_memory(max_memory)
    if implicit is not None:
        sys.exit(_guarded(lambda: _run_implicit(
            program, file, at, points_file, implicit, order, fmt, digits, check_timeout,
            no_check, steps or graph_file or tree or exact or precision or expect or hessian
            or direction or jacobian or output or wrt)))
    if jacobian or (output and "," in output):
        sys.exit(_guarded(lambda: _run_outputs(
            program, file, at, points_file, wrt, output, fmt, digits, check_timeout, no_check,
            jacobian, steps or graph_file or tree or exact or precision or expect or hessian
            or order is not None or direction)))
    if hessian or order is not None:
        sys.exit(_guarded(lambda: _run_higher(
            program, file, at, points_file, wrt, output, fmt, digits, check_timeout, no_check,
            hessian, order, tree or exact or precision or expect, steps, graph_file)))
    if points_file is not None or len(at) > 1:
        sys.exit(_guarded(lambda: _run_many(
            program, file, at, points_file, keep_columns, chunk_size, wrt, output, fmt, digits,
            check_timeout, no_check, steps or graph_file or tree or exact or precision, expect,
            tol)))
    if direction is not None and (points_file is not None or len(at) != 1):
        sys.exit(_guarded(lambda: _usage("--direction needs one point (--at)")))
    sys.exit(_guarded(lambda: _run(program, file, at, wrt, output, fmt, digits, check_timeout,
                                   no_check, steps, graph_file, tree, expect, tol, exact,
                                   precision, direction)))


def _usage(message: str) -> int:
    raise UsageError(message)


def _guarded(run) -> int:
    """Run a command; its errors become exit codes: bad input 2 (its message and caret on
    standard error), a closed pipe 0, a bug 3 (said plainly; GRADCALC_DEBUG=1 shows the
    traceback). No traceback ever reaches the user."""
    try:
        return run()
    except GradcalcError as exc:
        click.echo(exc.render(), err=True)
        return 2
    except BrokenPipeError:
        return 0
    except MemoryError:
        limit = SETTINGS.memory
        click.echo("error: out of memory" + (f" (the limit is {limit:,} MB: --max-memory)"
                                             if limit else ""), err=True)
        return 2
    except OSError as exc:   # e.g. writing to a full disk
        click.echo(f"error: {exc.strerror or exc}", err=True)
        return 2
    except Exception as exc:  # a bug
        if os.environ.get("GRADCALC_DEBUG"):
            raise
        click.echo(f"error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                   "gradcalc; please report it with the command you ran. "
                   "GRADCALC_DEBUG=1 shows the details.", err=True)
        return 3


def _cap_memory(megabytes: int) -> None:
    """Bound the process's address space: SymPy can build an integer of many gigabytes in one
    C call (e^3^(10^105) at a point) that no deadline interrupts; past the bound it raises
    MemoryError, which ends the run with a message instead of the machine's OOM killer."""
    try:
        import resource
    except ImportError:   # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        except (ValueError, OSError):
            pass


def entry() -> None:
    """The console script and ``python -m gradcalc``: run, flush, and leave at once.

    Leaving with os._exit skips the interpreter's teardown, which with SymPy loaded costs more than
    the whole cross-check (~100 ms freeing its caches). Nothing of ours needs atexit handlers."""
    SETTINGS.cap_memory = True   # a process of its own: --max-memory may bound it
    try:
        main(prog_name="gradcalc")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


def _run(program, file, at, wrt, output, fmt, digits, check_timeout, no_check,
         steps=False, graph_file=None, tree=False, expect=(), tol=None, exact=False,
         precision=None, direction=None) -> int:
    from .function import Function

    if check_timeout != check_timeout:
        raise UsageError("--check-timeout must be a number of seconds, not nan")
    if tol is not None and not expect:
        raise UsageError("--tol is the tolerance of --expect answers", hint="give --expect too")
    at = at[0] if at else None
    source = _read_program(program, file)
    fn = Function(source, SETTINGS.limits)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    if wrt and not wrt_names:
        raise UsageError(f"--wrt {wrt!r} names nothing", hint="write --wrt x,y")
    point = parse_point(at) if at is not None else None
    verdicts = _answers(fn, expect, tol, point, output) if expect else None
    if fmt in ("csv", "tsv", "jsonl"):
        if at is None:
            raise UsageError(f"--format {fmt} needs a point (--at or --points)",
                             hint="without a point, use --format json for the symbolic gradient")
        if steps or expect or exact or precision or tree:
            raise UsageError(f"--format {fmt} carries values and gradients only",
                             hint="use --format json with --steps, --tree, --expect, --exact "
                                  "or --precision")
    if at is None:
        if steps or graph_file or tree or exact or precision:
            raise UsageError("--steps, --graph, --tree, --exact and --precision need a point",
                             hint="add --at, e.g. --at x=1,y=2")
        code = _symbolic(fn, source, wrt_names, output, fmt, check_timeout, no_check, verdicts)
        return code or (1 if verdicts and _wrong(verdicts) else 0)
    if exact and precision:
        raise UsageError("choose --exact or --precision, not both")
    result = fn.gradient(point, wrt=wrt_names, output=output,
                         limits=0 if no_check else check_timeout)
    exact_result = None
    if exact:
        exact_result = fn.symbolic(parse_point(at, exact=True), wrt=wrt_names, output=output)
    elif precision:
        from .function import precise

        exact_result = precise(fn, parse_point(at, exact=True), precision, wrt_names, output)
    if no_check:
        from .check import SKIPPED as check
    else:
        from .check import check_point

        check = check_point(fn, result, check_timeout)
    forward = None
    if direction is not None:
        forward = _directional(fn, result, parse_point(direction), output)
    walk = None
    if steps or graph_file or tree:
        from .steps import walkthrough

        walk = walkthrough(fn, result, formulas=steps)
    if graph_file:   # before printing anything: a missing Graphviz is an error (exit 2)
        from .render.dot import write_graph

        write_graph(walk, graph_file, digits or 4)
    _warn(result.warnings, check, result)
    if tree and fmt != "table":
        _note("warning: --tree is drawn only with --format table")
    if fmt in ("csv", "tsv", "jsonl"):
        from .render.rows import Rows, RowWriter
        from .vector import undetermined_message

        writer = RowWriter(fmt, click.echo, result.output, result.point, (), result.gradient)
        writer.write(Rows(0, {k: [x] for k, x in result.point.items()}, [result.value],
                          {k: [x] for k, x in result.gradient.items()},
                          {0: undetermined_message(result)} if result.undetermined else {},
                          checks={0: check} if check.status != "skipped" else {}))
        writer.close()
    elif fmt == "latex":
        click.echo(_bounded_symbolic(fn, wrt_names, output, check_timeout, latex=True,
                                     result=result)[0])
        _latex_answers(verdicts)
    elif fmt == "json":
        from .render.formats import point_json
        from .render.steps import steps_json

        text = point_json(result, check, steps_json(walk) if steps else None, verdicts,
                          exact_result)
        if forward is not None:
            obj = json.loads(text)
            obj.update(forward.as_json(steps))
            text = json.dumps(obj, ensure_ascii=False, indent=2)
        click.echo(text)
    elif fmt == "plain":
        from .render.formats import answers_plain, point_plain
        from .render.steps import steps_plain

        click.echo(point_plain(result, digits, exact_result))
        if forward is not None:
            click.echo(f"D_v {result.output} = {fmt_number(forward.value, digits)}")
        if steps:
            click.echo(steps_plain(walk, digits))
        if verdicts:
            click.echo(answers_plain(verdicts))
    else:
        from .render.table import point_table

        console = _console()
        point_table(console, source, result, check, digits or 6, exact_result)
        if forward is not None:
            forward.print(console, digits or 6, steps)
        if steps:
            from .render.steps import steps_tables

            steps_tables(console, walk, digits or 6)
        if tree:
            from .render.tree import graph_tree

            console.print()
            console.print(graph_tree(walk, digits or 6))
        if verdicts:
            from .render.table import answers_table

            answers_table(console, verdicts)
    if graph_file:
        _note(f"wrote the graph to {graph_file}")
    failed = check.failed or bool(result.undetermined) or (
        forward is not None and forward.status == "disagree")
    return 1 if failed or (verdicts and _wrong(verdicts)) else 0


def _run_implicit(program, file, at, points_file, y, order, fmt, digits, check_timeout,
                  no_check, other) -> int:
    """--implicit Y: derivatives of Y defined by the equation, checked against SymPy's idiff."""
    from .derivatives import equation_function, implicit
    from .render.higher import implicit_output

    if points_file is not None or len(at) > 1 or other:
        raise UsageError("--implicit works at one point or symbolically, with --order 1 or 2 "
                         "and no other derivative option")
    if fmt not in ("table", "json", "plain"):
        raise UsageError(f"--implicit prints as table, json or plain, not {fmt}")
    source = _read_program(program, file)
    F = equation_function(source, SETTINGS.limits)
    point = parse_point(at[0]) if at else None
    if point is not None:
        point = F.resolve(point, wrt=())[2]
    result = implicit(F, point, y, order or 1)
    check = None
    if not no_check:
        from .check import check_implicit

        check = check_implicit(result, point, check_timeout)
    if point is not None and result.residual is not None:
        scale = max(1.0, abs(F(dict(point, **{y: point[y]}))))
        if abs(result.residual) > 1e-9 * scale:
            _note(f"warning: the point is not on the curve: left - right = "
                  f"{fmt_number(result.residual)} there (the derivatives are those of the level "
                  "curve through the point)")
    click.echo(implicit_output(source, result, point, check, fmt, digits))
    return 1 if check is not None and check.failed else 0


def _run_outputs(program, file, at, points_file, wrt, output, fmt, digits, check_timeout,
                 no_check, jacobian, other) -> int:
    """Several outputs (-o u,v): a gradient each, or their Jacobian and its determinant."""
    from .function import Function
    from .render.higher import Jacobian

    outputs = [o.strip() for o in (output or "").split(",") if o.strip()]
    if jacobian and not outputs:
        raise UsageError("--jacobian needs the outputs it differentiates",
                         hint="name them with -o, e.g. -o u,v")
    if points_file is not None or len(at) > 1 or other:
        raise UsageError("several outputs (-o u,v) and --jacobian work at one point or "
                         "symbolically, without --steps, --graph, --tree, --exact, --precision, "
                         "--expect, --hessian, --order or --direction")
    if fmt not in ("table", "json", "plain"):
        raise UsageError(f"several outputs print as table, json or plain, not {fmt}")
    fn = Function(_read_program(program, file), SETTINGS.limits)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    if not at:
        sym = {o: fn.symbolic(wrt=wrt_names, output=o) for o in outputs}
        checks = {}
        if not no_check:
            from .check import check_symbolic

            checks = {o: check_symbolic(fn, sym[o], check_timeout) for o in outputs}
        j = Jacobian.symbolic(outputs, sym, jacobian, checks)
    else:
        point = parse_point(at[0])
        results = {o: fn.gradient(point, wrt=wrt_names, output=o,
                                   limits=0 if no_check else check_timeout) for o in outputs}
        checks = {}
        if not no_check:
            from .check import check_point

            checks = {o: check_point(fn, r, check_timeout) for o, r in results.items()}
        for o, r in results.items():
            _warn(r.warnings, checks.get(o, _no_check()), r)
        j = Jacobian.at_point(outputs, results, checks, jacobian)
    if fmt == "json":
        click.echo(j.json())
    elif fmt == "plain":
        click.echo(j.plain(digits))
    else:
        j.print(_console(), fn.source, digits or 6)
    return 1 if j.failed else 0


def _directional(fn, result, direction: dict, output):
    """Forward mode along ``direction``, checked against the gradient's dot product."""
    from .derivatives import directional
    from .render.higher import Directional

    value, d, rows = directional(fn, result.point, direction, output)
    if any(g is None for g in result.gradient.values()):
        status, dot = "skipped", None
    else:
        dot = math.fsum(result.gradient.get(k, 0.0) * float(t) for k, t in direction.items())
        scale = math.fsum(abs(result.gradient.get(k, 0.0) * float(t))
                          for k, t in direction.items())
        status = "agree" if abs(d - dot) <= 1e-12 * max(1.0, scale) else "disagree"
    return Directional(result.output, {k: float(t) for k, t in direction.items()}, d, dot,
                       status, rows, fn)


def _run_higher(program, file, at, points_file, wrt, output, fmt, digits, check_timeout,
                no_check, hessian, order, other, steps=False, graph_file=None) -> int:
    """--hessian and --order N: at one point (numbers, checked against sympy.diff) or symbolic."""
    from .derivatives import partials
    from .function import Function

    if hessian and order is not None:
        raise UsageError("choose --hessian or --order N, not both",
                         hint="--order 2 lists the Hessian's distinct entries")
    if order is not None and order < 1:
        raise UsageError(f"--order must be 1 or more, not {order}")
    if points_file is not None or len(at) > 1:
        raise UsageError("--hessian and --order work at one point (--at) or symbolically")
    if wrt or other:
        raise UsageError("--hessian and --order take every variable of the program; they do "
                         "not combine with --wrt, --tree, --exact, --precision or --expect yet")
    if (steps or graph_file) and not (hessian or order == 2):
        raise UsageError("--steps and --graph explain second derivatives (--hessian or "
                         "--order 2)")
    if fmt not in ("table", "json", "plain"):
        raise UsageError(f"--hessian and --order print as table, json or plain, not {fmt}")
    fn = Function(_read_program(program, file), SETTINGS.limits)
    out = output or fn.output
    if not at:
        return _higher_symbolic(fn, out, fmt, hessian, order)
    point = parse_point(at[0])
    result = fn.gradient(point, output=output, limits=0 if no_check else check_timeout)
    h = d = None
    if hessian:
        h = fn.hessian(result.point, output=output)
    else:
        d = partials(fn, order, result.point, output, 0 if no_check else check_timeout)
    check, first = None, _no_check()
    if not no_check:
        from .check import check_partials, check_point

        first = check_point(fn, result, check_timeout)
        check = check_partials(fn, h or d, result.point, check_timeout)
    _warn(result.warnings, first, result)
    from .render import higher

    program_lines = None
    if steps or graph_file:
        program_lines = _second_pass(fn, result, out, graph_file, digits)
    if fmt == "json":
        text = higher.higher_json(result, h, d, check)
        if program_lines is not None:
            obj = json.loads(text)
            obj["gradient_program"] = program_lines
            text = json.dumps(obj, ensure_ascii=False, indent=2)
        click.echo(text)
    elif fmt == "plain":
        from .render.formats import point_plain

        click.echo(point_plain(result, digits))
        click.echo(higher.higher_plain(out, h, d, digits))
    else:
        from .render.table import point_table

        console = _console()
        point_table(console, fn.source, result, first, digits or 6)
        if h is not None:
            higher.hessian_table(console, out, h, check, digits or 6)
        else:
            higher.partials_table(console, out, d, check, digits or 6)
        if program_lines is not None:
            from rich.text import Text

            console.print()
            console.print(Text("The second pass: reverse mode over the gradient's program, whose "
                               "statements are", style="bold"))
            for name, formula in program_lines.items():
                console.print(Text.assemble((f"  {name} = ", "bold"), formula))
            console.print(Text("Row x of the Hessian is the gradient of d" + out + "/dx: each "
                               "statement differentiated by the same backward pass as f.",
                               style="dim"))
    if graph_file:
        _note(f"wrote the graph of the gradient's program (d{out}/d{fn.variables[0]}, its "
              f"values and its gradient: a row of the Hessian) to {graph_file}")
    failed = (check is not None and check.failed) or first.failed
    undetermined = any(v is None for v in (h.partials if h else d.partials)) or bool(
        result.undetermined)
    return 1 if failed or undetermined else 0


def _second_pass(fn, result, out, graph_file, digits) -> dict:
    """The gradient's program, statement by statement (as formulas), and with --graph its picture
    for the first variable: the forward values of ∂f/∂x and their gradient, a Hessian row."""
    from .printing import sstr
    from .derivatives import differentiate

    grad_fn, names = differentiate(fn, {out: out}, result.point, tuple(result.point))
    lines = {}
    for x in result.point:
        expr = grad_fn.symbolic(wrt=[], output=names[(out, x)]).expression
        lines[names[(out, x)]] = sstr(expr)
    if graph_file:
        from .render.dot import write_graph
        from .steps import walkthrough

        first = names[(out, next(iter(result.point)))]
        r = grad_fn.gradient(result.point, output=first, limits=0)
        write_graph(walkthrough(grad_fn, r, formulas=False), graph_file, digits or 4)
    return lines


def _no_check():
    from .check import SKIPPED

    return SKIPPED


def _higher_symbolic(fn, out, fmt, hessian, order) -> int:
    from .printing import sstr
    from .derivatives import label, partials, symbolic_hessian

    if hessian:
        variables, rows = symbolic_hessian(fn, out)
        entries = {(x, y): rows[i][j] for i, x in enumerate(variables)
                   for j, y in enumerate(variables)}
    else:
        d = partials(fn, order, None, out)
        entries = {p.wrt: p.symbolic for p in d.partials}
    shown = {k: sstr(v) for k, v in entries.items()}
    verdicts = _symbolic_verdicts(fn, out, entries)
    if fmt == "json":
        click.echo(json.dumps({"output": out, "point": None, "order": 2 if hessian else order,
                               "partials": [{"wrt": list(k), "symbolic": v,
                                             "check": verdicts[k]}
                                            for k, v in shown.items()]},
                              ensure_ascii=False, indent=2))
    else:
        marks = {"agree": "✓", "disagree": "✗"}
        for k, v in shown.items():
            click.echo(f"{label(k, out)} = {v}   {marks.get(verdicts[k], '?')}")
    return 1 if "disagree" in verdicts.values() else 0


def _symbolic_verdicts(fn, out, entries) -> dict:
    """Each symbolic partial against sympy.diff of the output's expression (simplify, else
    random points), within the check's deadline."""
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


def _run_many(program, file, at, points_file, keep_columns, chunk_size, wrt, output, fmt,
              digits, check_timeout, no_check, one_point_only, expect, tol=None) -> int:
    """Several --at points, or a points file: computed in chunks, written as they come.
    Exit 0 if every point was computed (and the check agrees), 1 if some point failed or the
    check disagreed, 2 if a row of the file is malformed (the other rows are still written)."""
    from .function import Function
    from .points import CHUNK, Chunk, PointsFile
    from .render.rows import Rows, RowWriter

    if one_point_only or expect or tol:
        raise UsageError("--steps, --graph, --tree, --exact, --precision, --expect and --tol "
                         "take one point", hint="give a single --at")
    if fmt == "latex":
        raise UsageError("--format latex takes one point", hint="use --format csv or json")
    if points_file is not None and len(at) > 1:
        raise UsageError("with --points, --at gives values for every row: give it once",
                         hint="--points data.csv --at w=0.5,b=1")
    if keep_columns and points_file is None:
        raise UsageError("--keep-columns needs --points")
    if check_timeout != check_timeout:
        raise UsageError("--check-timeout must be a number of seconds, not nan")
    if points_file == "-" and (program == "-" and file is None):
        raise UsageError("the program and the points cannot both come from standard input",
                         hint="put the program in a file: -f prog.gc --points -")
    source = _read_program(program, file)
    fn = Function(source, SETTINGS.limits)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    if wrt and not wrt_names:
        raise UsageError(f"--wrt {wrt!r} names nothing", hint="write --wrt x,y")

    stream = progress = None
    if points_file is None:
        points = [parse_point(text) for text in at]
        for k, p in enumerate(points[1:], start=2):
            if set(p) != set(points[0]):
                raise UsageError(f"--at number {k} gives {', '.join(p) or 'nothing'}, but the "
                                 f"first gives {', '.join(points[0]) or 'nothing'}",
                                 hint="every point gives the same variables")
        names = list(points[0])
        fixed = {}
        chunks = [Chunk(0, len(points), {k: [p[k] for p in points] for k in names}, {})]
        extras = []
    else:
        fixed = parse_point(at[0]) if at else {}
        stream = _open_points(points_file)
        table = PointsFile(stream, "standard input" if points_file == "-" else points_file,
                           fn.variables, fixed, chunk_size or CHUNK)
        names = [*table.variables, *fixed]
        extras = table.extras if keep_columns else []
        chunks = table.chunks()
        progress = _progress(points_file, table)
    _tape, out_name, _p, wrt_names, notes = fn.resolve(dict.fromkeys(names, 0.0), output,
                                                       wrt_names)
    console = _console() if fmt == "table" else None
    writer = RowWriter(fmt, _echo, out_name, names, extras, wrt_names, digits, console,
                       title=f"{out_name} = {' '.join(source.split())[:60]}")
    failed, malformed, kinks, checks, total = [], [], {}, [], 0
    try:
        for chunk in chunks:
            columns = {**chunk.columns, **{k: [x] * chunk.size for k, x in fixed.items()}}
            batch = _compute(fn, columns, wrt_names, output, chunk.invalid)
            rows = Rows(chunk.start, {k: columns[k] for k in names}, _list(batch.value),
                        {w: _list(c) for w, c in batch.gradient.items()}, batch.errors,
                        {e: chunk.extras[e] for e in extras}, texts=chunk.texts)
            if not no_check and not checks:
                rows.checks = _check_sample(fn, rows, wrt_names, output, check_timeout)
                checks.extend((chunk.start + k, c) for k, c in rows.checks.items())
            writer.write(rows)
            failed += [chunk.start + k for k in batch.errors if k not in chunk.invalid]
            malformed += [chunk.start + k for k in chunk.invalid]
            for message, where in batch.kinks:
                kinks.setdefault(message, []).extend(chunk.start + k for k in where)
            total += chunk.size
            if progress is not None:
                progress.advance(table.bytes_read, total)
        writer.close()
    finally:
        if progress is not None:
            progress.stop()
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
    return _many_summary(notes, kinks, failed, malformed, checks, total)


def _compute(fn, columns, wrt, output, invalid):
    """A chunk's values and gradients: NumPy for many points, plain floats for a few."""
    from .vector import gradient_few, gradient_many

    size = len(next(iter(columns.values()), ()))
    if size <= 64:
        return gradient_few(fn, columns, wrt, output, invalid)
    return gradient_many(fn, columns, wrt, output, invalid)


def _list(column) -> list:
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _echo(text: str, nl: bool = True) -> None:
    click.echo(text, nl=nl)


def _open_points(name: str):
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")   # noqa: SIM115 (closed by the caller, after the last chunk)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


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


def _many_summary(notes, kinks, failed, malformed, checks, total) -> int:
    """Diagnostics after the rows (standard error), and the exit code."""
    for w in notes:
        _note(f"warning: {w}")
    for message, where in kinks.items():
        _note(f"warning: {message} ({_at_rows(where, total)})")
    disagree = [(k, c) for k, c in checks if c.status == "disagree"]
    if checks:
        methods = sorted({c.method for _k, c in checks})
        reasons = sorted({c.reason for _k, c in checks if c.reason})
        verdict = "disagrees" if disagree else "agrees"
        _note(f"check: {' and '.join(methods)} {verdict} at {len(checks)} sampled point"
              f"{'s' * (len(checks) != 1)} of {total} (rows "
              f"{', '.join(str(k + 1) for k, _c in checks)})"
              + (f"; {'; '.join(reasons)}" if reasons else ""))
    for k, c in disagree:
        bad = [p.name for p in c.partials if p.status == "disagree"] or ["the value"]
        click.echo(f"error: the cross-check disagrees at row {k + 1} on {', '.join(bad)}",
                   err=True)
    if failed:
        click.echo(f"error: {len(failed)} of {total} points could not be computed "
                   f"({_at_rows(failed, total)}); their rows say why", err=True)
    if malformed:
        click.echo(f"error: {len(malformed)} row{'s' * (len(malformed) != 1)} of the points "
                   f"file {'are' if len(malformed) != 1 else 'is'} malformed "
                   f"({_at_rows(malformed, total)}); their rows say why", err=True)
    return 2 if malformed else (1 if failed or disagree else 0)


def _at_rows(rows, total, show: int = 8) -> str:
    rows = sorted(rows)
    shown = ", ".join(str(r + 1) for r in rows[:show])
    more = f", … ({len(rows)} in all)" if len(rows) > show else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more}"


def _progress(points_file, table):
    """A progress bar on standard error for a big points file, when that is a terminal."""
    if SETTINGS.quiet or not sys.stderr.isatty():
        return None
    try:
        size = os.path.getsize(points_file) if points_file != "-" else None
    except OSError:
        size = None
    if size is not None and size < 4 * 1024 * 1024:
        return None
    from .render.progress import Bar

    return Bar(size, _console(stderr=True))


def _answers(fn, expect, tol, point, output):
    from .expect import check_answers, parse_tol, split_answers

    if tol is not None:
        tol = parse_tol(tol, "--tol takes REL or REL,ABS, e.g. --tol 1e-3,1e-6")
    expectations = [e for text in expect for e in split_answers(text, output or fn.output)]
    return check_answers(fn, expectations, point, tol)


def _latex_answers(verdicts) -> None:
    """--expect in a LaTeX write-up: the verdicts as TeX comments after the block."""
    if verdicts:
        from .render.formats import answers_plain

        click.echo("\n".join(f"% {line}" for line in answers_plain(verdicts).splitlines()))


def _wrong(verdicts) -> bool:
    return any(v.ok is False for v in verdicts)


def _bounded_symbolic(fn, wrt, output, timeout, check=False, latex=False, result=None,
                      pretty=False):
    """The symbolic gradient, printed: (SymbolicResult of strings, Check), or with ``latex`` a
    LaTeX write-up (with the values of ``result``). SymPy works on trees: a graph with shared
    nodes can print as an exponentially long expression, and a deep one exceeds Python's
    recursion limit. Bound both."""
    from .check import SKIPPED, check_symbolic
    from .deadline import Timeout, deadline
    from .printing import sstr, tidy

    if result is not None:
        wrt = list(result.gradient)   # the same partials, in the same order, as the numbers
    try:
        with deadline(max(timeout, 1.0) * 2):
            sym = fn.symbolic(wrt=wrt, output=output)
            verdict = check_symbolic(fn, sym, timeout) if check else SKIPPED
            if latex:
                from .render.formats import latex_document

                return latex_document(sym, result), verdict, sym
            show = _pretty if pretty else sstr
            printed = type(sym)(sym.output, sstr(sym.expression),
                                {k: show(tidy(v)) for k, v in sym.gradient.items()},
                                sym.warnings)
            return printed, verdict, sym
    except (Timeout, RecursionError, MemoryError, ArithmeticError) as exc:
        why = ("is too deep for SymPy" if isinstance(exc, RecursionError)
               else "did not finish in time" if isinstance(exc, Timeout)
               else f"is beyond SymPy ({type(exc).__name__})")
        raise UsageError(f"the symbolic gradient {why}",
                         hint="give a point with --at to get numbers") from None


def _pretty(expr) -> str:
    """SymPy's pretty printer for a table cell when it fits, else gradcalc's notation."""
    import sympy

    from .printing import sstr

    art = sympy.pretty(expr, use_unicode=True)
    return art if max(len(line) for line in art.splitlines()) <= 40 else sstr(expr)


def _symbolic(fn, source, wrt, output, fmt, timeout, no_check, verdicts=None) -> int:
    sym, check, raw = _bounded_symbolic(fn, wrt, output, timeout, check=not no_check,
                                        latex=fmt == "latex", pretty=fmt == "table")
    _warn(raw.warnings, check)
    if fmt == "latex":
        click.echo(sym)
        _latex_answers(verdicts)
    elif fmt == "json":
        from .render.formats import symbolic_json

        click.echo(symbolic_json(sym, check, verdicts))
    elif fmt == "plain":
        from .render.formats import answers_plain, symbolic_plain

        click.echo(symbolic_plain(sym))
        if verdicts:
            click.echo(answers_plain(verdicts))
    else:
        from .render.table import answers_table, symbolic_table

        console = _console()
        symbolic_table(console, source, sym, check)
        if verdicts:
            answers_table(console, verdicts)
    return 1 if check.status == "disagree" else 0


def _note(text: str) -> None:
    """A warning or note on standard error, unless --quiet."""
    if not SETTINGS.quiet:
        click.echo(text, err=True)


def _console(stderr: bool = False):
    from rich.console import Console

    # rich honours NO_COLOR and colours only terminals
    console = Console(highlight=False, no_color=not SETTINGS.color or None, stderr=stderr)

    def broken_pipe():
        # rich's default exits 1, which here would mean "the check disagreed"
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise BrokenPipeError

    console.on_broken_pipe = broken_pipe
    return console


def _warn(warnings, check, result=None) -> None:
    for w in warnings:
        _note(f"warning: {w}")
    out = result.output if result is not None else "f"
    for name, d in (result.determined.items() if result is not None else ()):
        if d.value is None:
            _note(f"warning: ∂{out}/∂{name} is undetermined here: {d.note} ({d.why})")
        else:
            _note(f"note: ∂{out}/∂{name} is found by the {d.text}: {d.why}")
    for p in check.partials:
        if p.status == "ill-conditioned":
            _note(f"warning: ∂{out}/∂{p.name} is ill-conditioned here: {p.note}")
    if check.value_status == "ill-conditioned":
        _note(f"warning: the value of {out} is ill-conditioned here: SymPy's exact value moves "
              "by more than the difference when the point moves by a few ulps")
    if check.status == "disagree":
        bad = [p.name for p in check.partials if p.status == "disagree"] or ["the value"]
        click.echo(f"error: the cross-check disagrees on {', '.join(bad)}", err=True)


@click.command(cls=_Base, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("problem_file", metavar="FILE.toml")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "plain"]),
              default="table", show_default=True)
def check_command(problem_file, fmt):
    """Check every answer of a problem set (see examples/homework.toml); print a report and a
    score. Exit 0 if all are right, 1 if any is wrong, 2 if a problem cannot be run."""
    from .problems import load, run

    try:
        reports = run(load(problem_file))
    except GradcalcError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(2)
    right = sum(r.right for r in reports)
    total = sum(len(r.verdicts) for r in reports)
    if fmt == "json":
        import json

        from .render.formats import answers_json

        click.echo(json.dumps({
            "problems": [{"name": r.name, "answers": answers_json(r.verdicts), "right": r.right,
                          "total": len(r.verdicts), "error": r.error} for r in reports],
            "right": right, "total": total}, ensure_ascii=False, indent=2))
    elif fmt == "plain":
        from .render.formats import answers_plain

        for k, r in enumerate(reports, start=1):
            click.echo(f"# {k}. {r.name}: {r.right} of {len(r.verdicts)} right")
            click.echo(r.error if r.error else answers_plain(r.verdicts))
        click.echo(f"score: {right} of {total}")
    else:
        from rich.text import Text

        from .render.table import answers_table

        console = _console()
        for k, r in enumerate(reports, start=1):
            console.print(Text(f"{k}. {r.name}", style="bold"))
            if r.error:
                console.print(Text(r.error, style="red"))
            else:
                answers_table(console, r.verdicts)
            console.print()
        console.print(Text(f"score: {right} of {total}", style="bold"))
    if any(r.error for r in reports):
        sys.exit(2)
    sys.exit(1 if right < total else 0)


# --- using the gradients: descend and fit ---------------------------------------------------------

def _optimizer_options(f):
    """The options every training command shares: the optimizer and its hyper-parameters."""
    options = [
        click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "newton"]),
                     default="sgd", show_default=True,
                     help="How each step moves (newton: descend only; it uses the Hessian)."),
        click.option("--lr", type=float, default=None, metavar="RATE",
                     help="Learning rate (default 0.01 for sgd and momentum, 0.001 for adam, "
                          "1 (a full step) for newton)."),
        click.option("--momentum", type=float, default=0.9, show_default=True,
                     help="Momentum μ (v ← μ·v + g)."),
        click.option("--beta1", type=float, default=0.9, show_default=True, help="Adam β1."),
        click.option("--beta2", type=float, default=0.999, show_default=True, help="Adam β2."),
        click.option("--eps", type=float, default=1e-8, show_default=True, help="Adam ε."),
        click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                     show_default=True),
        click.option("--digits", type=click.IntRange(1, 17), default=6, show_default=True,
                     help="Significant digits in the table."),
        click.option("-o", "--output", "output", metavar="NAME",
                     help="Minimize this named statement instead of the last one."),
        click.option("-f", "--file", type=click.File("rb"), help="Read the program from FILE."),
        click.option("-q", "--quiet", is_flag=True, help="No progress, warnings or notes."),
        click.option("--no-color", is_flag=True, help="No colour, even on a terminal."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _make_optimizer(optimizer, lr, momentum, beta1, beta2, eps):
    from .optimize import Optimizer

    return Optimizer(optimizer, lr, momentum, beta1, beta2, eps)


def _live(total: int, label: str):
    if SETTINGS.quiet or not sys.stderr.isatty():
        return None
    from .render.training import Live

    return Live(_console(stderr=True), total, label)


@click.command(cls=_Base, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100},
               epilog="""
\b
Examples:
  gradcalc descend "(x-3)^2 + (y+1)^2" --from x=0,y=0 --lr 0.1
  gradcalc descend "(1-x)^2 + 100*(y-x^2)^2" --from x=-1,y=1 --optimizer adam --lr 0.02 \\
      --steps 5000 --trajectory path.csv
\b
Exit codes: 0 stopped normally (converged, or --steps reached), 1 diverged, 2 bad input.
""")
@click.argument("program", required=False)
@click.option("--from", "start", metavar="POINT", required=True,
              help="The start point: x=0,y=0 (every variable; the ones not in --wrt stay fixed).")
@click.option("--wrt", metavar="NAMES", help="Move only these variables (default: all).")
@click.option("--steps", type=click.IntRange(0), default=1000, show_default=True,
              help="Most iterations.")
@click.option("--tol", type=click.FloatRange(0), default=1e-8, show_default=True,
              help="Stop when the gradient's norm falls below this.")
@click.option("--trajectory", metavar="FILE.csv", help="Write every step to FILE.csv.")
@_optimizer_options
def descend_command(program, start, wrt, steps, tol, trajectory, optimizer, lr, momentum, beta1,
                    beta2, eps, fmt, digits, output, file, quiet, no_color):
    """Minimize PROGRAM's output by gradient descent from a start point."""
    SETTINGS.quiet, SETTINGS.color = quiet, not no_color
    def run():
        opt = _make_optimizer(optimizer, lr, momentum, beta1, beta2, eps)
        return _descend(program, file, start, wrt, steps, tol, trajectory, opt, fmt, digits,
                        output)

    sys.exit(_guarded(run))


def _descend(program, file, start, wrt, steps, tol, trajectory, opt, fmt, digits, output) -> int:
    from .function import Function
    from .optimize import Outcome, descend

    fn = Function(_read_program(program, file), SETTINGS.limits)
    point = parse_point(start)
    names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else list(point)
    bad = [w for w in names if w not in point]
    if bad:
        raise UsageError(f"--wrt names {', '.join(bad)}, which --from does not give",
                         hint="--wrt chooses among the variables of --from")
    writer = _trajectory(trajectory, fn, point, names, output)
    live = _live(steps, "descend")
    outcome = None
    try:
        for item in descend(fn, point, names, opt, steps, tol, output):
            if isinstance(item, Outcome):
                outcome = item
                break
            if writer is not None:
                writer(item)
            if live is not None:
                live.update(item.number, f"{fn.output if output is None else output} = "
                                         f"{item.value:.6g}  |∇| = {item.norm:.3g}")
    finally:
        if live is not None:
            live.stop()
        if writer is not None:
            writer(None)
    out = output or fn.output
    if fmt == "json":
        import json

        last = outcome.last
        click.echo(json.dumps({
            "output": out, "optimizer": _optimizer_json(opt), "start": point,
            "point": last.point, "value": last.value, "gradient": last.gradient,
            "gradient_norm": last.norm, "steps": last.number, "converged": outcome.converged,
            "diverged": outcome.diverged, "reason": outcome.reason,
            "history": outcome.history}, ensure_ascii=False, indent=2))
    else:
        from .render.training import descend_table

        descend_table(_console(), out, point, outcome, opt, digits)
    if outcome.diverged:
        click.echo(f"error: {outcome.reason}; the last good point is step "
                   f"{outcome.last.number}", err=True)
    return 1 if outcome.diverged else 0


def _optimizer_json(opt) -> dict:
    extra = {"momentum": opt.momentum} if opt.kind == "momentum" else (
        {"beta1": opt.beta1, "beta2": opt.beta2, "eps": opt.eps} if opt.kind == "adam" else {})
    if opt.kind == "newton":
        extra = {"damping": opt.state.get("damping", [])}
    return {"name": opt.kind, "lr": opt.lr, **extra}


def _trajectory(path, fn, point, names, output):
    """A function writing each step as a CSV row to ``path`` (None closes it), or None."""
    if not path:
        return None
    import csv

    try:
        fh = open(path, "w", newline="", encoding="utf-8")   # noqa: SIM115 (closed on None)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    out = output or fn.output
    writer = csv.writer(fh)
    writer.writerow(["step", *point, out, *(f"d{out}/d{w}" for w in names), "norm"])

    def write(step):
        if step is None:
            fh.close()
            return
        writer.writerow([step.number, *map(repr, step.point.values()), repr(step.value),
                         *(repr(step.gradient[w]) for w in names), repr(step.norm)])

    return write


@click.command(cls=_Base, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100},
               epilog="""
\b
Examples:
  gradcalc fit "(w*x + b - y)^2" --data examples/line.csv --params w=0,b=0 --lr 0.05
  gradcalc fit -f examples/xor.gc --data examples/xor.csv --params w11=~,w12=~,... \\
      --optimizer adam --lr 0.05 --epochs 2000 --batch-size 4 --seed 1
\b
Exit codes: 0 done, 1 diverged or the loss is undefined at some row, 2 bad input.
""")
@click.argument("program", required=False)
@click.option("--data", "data_file", metavar="FILE.csv", required=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Training data: a CSV/TSV file whose header names the data variables.")
@click.option("--params", "params_spec", metavar="NAME=VALUE,...", required=True,
              help="The parameters and their initial values; NAME=~ draws from N(0, 1) "
                   "(NAME=~0.1: standard deviation 0.1), seeded by --seed.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--shuffle/--no-shuffle", default=True, show_default=True,
              help="Shuffle the rows before each epoch.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for shuffling and for NAME=~ initial values.")
@click.option("--save", metavar="FILE.json", help="Write the fitted parameters to FILE.json.")
@_optimizer_options
def fit_command(program, data_file, params_spec, epochs, batch_size, shuffle, seed, save,
                optimizer, lr, momentum, beta1, beta2, eps, fmt, digits, output, file, quiet,
                no_color):
    """Fit the parameters of PROGRAM, a loss per data row, by mini-batch gradient descent: the
    loss of a batch is the mean of PROGRAM's output over its rows."""
    SETTINGS.quiet, SETTINGS.color = quiet, not no_color
    def run():
        opt = _make_optimizer(optimizer, lr, momentum, beta1, beta2, eps)
        return _fit(program, file, data_file, params_spec, epochs, batch_size, shuffle, seed,
                    save, opt, fmt, digits, output)

    sys.exit(_guarded(run))


def parse_params(text: str) -> dict:
    """--params w=0,b=~,c=~0.1: a number (or constant expression) or ('~', standard deviation)."""
    spec, plain = {}, []
    for piece, offset in split_top_level(text):
        name, _, value = piece.partition("=")
        value = value.strip()
        home = os.path.expanduser("~")
        if home not in ("~", "/") and value.startswith(home):
            raise UsageError(f"the value of {name.strip()} is {value!r}: your shell replaced ~ "
                             "by your home directory", text, (offset, offset + len(piece)),
                             hint='quote the option: --params "w=~,b=~"')
        if value.startswith("~"):
            sd = value[1:].strip() or "1"
            try:
                spread = float(sd)
            except ValueError:
                raise UsageError(f"~{sd} is not a standard deviation", text,
                                 (offset, offset + len(piece)),
                                 hint="write w=~ or w=~0.1") from None
            if not (math.isfinite(spread) and spread >= 0):
                raise UsageError(f"the standard deviation of {name.strip()} must be ≥ 0", text,
                                 (offset, offset + len(piece)))
            spec[name.strip()] = ("~", spread)
        else:
            plain.append(piece)
            spec[name.strip()] = None
    if plain:
        values = parse_point(",".join(plain))
        spec.update({k: v for k, v in values.items()})
    return spec


def _fit(program, file, data_file, params_spec, epochs, batch_size, shuffle, seed, save, opt,
         fmt, digits, output) -> int:
    from .function import Function
    from .optimize import Epoch, FitOutcome, fit, initial_params
    from .points import PointsFile

    if opt.kind == "newton":
        raise UsageError("fit trains with sgd, momentum or adam; newton is for descend",
                         hint="gradcalc descend PROGRAM --from ... --optimizer newton")
    fn = Function(_read_program(program, file), SETTINGS.limits)
    spec = parse_params(params_spec)
    params = initial_params(spec, seed)
    unknown = [p for p in params if p not in fn.variables]
    if unknown:
        raise UsageError(f"the program has no variable named {', '.join(unknown)}",
                         hint=f"its variables: {', '.join(map(describe, fn.variables))}")
    data_vars = [v for v in fn.variables if v not in params]
    stream = _open_points(data_file)
    try:
        table = PointsFile(stream, "standard input" if data_file == "-" else data_file,
                           data_vars, params, fixed_by="--params")
        data = {v: [] for v in data_vars}
        for chunk in table.chunks():
            if chunk.invalid:
                k, why = next(iter(chunk.invalid.items()))
                raise UsageError(f"row {chunk.start + k + 1} of the data is malformed: {why}")
            for v in data_vars:
                data[v].extend(chunk.columns[v])
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    rows = len(next(iter(data.values()))) if data else 0
    if rows == 0:
        raise UsageError("the data has no rows")
    live = _live(epochs, "epoch")
    outcome = None
    try:
        for item in fit(fn, data, params, opt, epochs, batch_size, shuffle, seed, output):
            if isinstance(item, FitOutcome):
                outcome = item
            elif isinstance(item, Epoch) and live is not None:
                live.update(item.number, f"loss {item.loss:.6g}")
    finally:
        if live is not None:
            live.stop()
    if save and outcome.loss is not None:
        import json

        try:
            with open(save, "w", encoding="utf-8") as fh:
                json.dump({"params": outcome.params, "loss": outcome.loss}, fh, indent=2)
                fh.write("\n")
        except OSError as exc:
            raise UsageError(f"cannot write {save}: {exc.strerror or exc}") from None
    if fmt == "json":
        import json

        click.echo(json.dumps({
            "output": output or fn.output, "optimizer": _optimizer_json(opt),
            "initial": params, "params": outcome.params, "loss": outcome.loss,
            "rows": rows, "epochs": outcome.epochs, "steps": outcome.steps,
            "batch_size": min(batch_size, rows), "diverged": outcome.diverged,
            "reason": outcome.reason, "history": outcome.history}, ensure_ascii=False,
            indent=2))
    else:
        from .render.training import fit_table

        fit_table(_console(), output or fn.output, outcome, opt, digits)
    if outcome.diverged:
        click.echo(f"error: {outcome.reason}; the parameters shown are the last good ones",
                   err=True)
    elif save:
        _note(f"wrote the parameters to {save}")
    return 1 if outcome.diverged else 0
