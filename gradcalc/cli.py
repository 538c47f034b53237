"""The command line: options in, one call into the API, one renderer out.

Exit codes: 0 ok; 1 the cross-check disagreed; 2 bad input or usage; 3 a bug in gradcalc.
"""

from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import GradcalcError, UsageError
from .syntax import split_top_level

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

\b
Exit codes: 0 ok, 1 the cross-check disagreed or an answer is wrong, 2 bad input,
3 internal error.
"""


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
        if argv[:1] == ["check"] and "--at" not in argv:
            return check_command.main(argv[1:], f"{prog_name or 'gradcalc'} check", **extra)
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


def parse_point(text: str, exact: bool = False) -> dict:
    """--at x=-2,y=pi/4: each value is a number or a constant expression (a float, or with
    ``exact`` a SymPy number: 1/3 stays 1/3)."""
    from .function import Function

    point = {}
    if ";" in text or "\n" in text:
        at = text.index(";") if ";" in text else text.index("\n")
        raise UsageError("--at entries are separated by commas", text, (at, at + 1),
                         hint="write --at x=1,y=2")
    for piece, offset in split_top_level(text):
        if not piece.strip():
            raise UsageError("empty entry in --at", text, (offset, offset + 1),
                             hint="write --at x=1,y=2")
        if "=" not in piece:
            raise UsageError(f"--at needs name=value, not {piece.strip()!r}", text,
                             (offset, offset + len(piece)), hint="write --at x=1,y=2")
        name, value = piece.split("=", 1)
        lead = len(name) + 1
        name = name.strip()
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a variable name", text,
                             (offset, offset + lead - 1))
        if name in point:
            raise UsageError(f"{name} is given twice", text, (offset, offset + len(piece)))
        if not value.strip():
            raise UsageError(f"no value for {name}", text, (offset, offset + len(piece)),
                             hint=f"write --at {name}=1")
        if value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
            raise UsageError(f"the value of {name} must be a finite number", text,
                             (offset + lead, offset + len(piece)))
        try:
            f = Function(value)
            if f.variables:
                raise UsageError(f"the value of {name} may not use variables "
                                 f"({', '.join(f.variables)})", text,
                                 (offset + lead, offset + len(piece)))
            point[name] = f.symbolic(wrt=[]).expression if exact else f()
        except GradcalcError as exc:
            if exc.source == value and exc.span is not None:
                span = (exc.span[0] + offset + lead, exc.span[1] + offset + lead)
                raise UsageError(exc.message, text, span, exc.hint) from None
            raise
    return point


def _read_program(program, file):
    if file is not None and program is not None:
        raise UsageError("give the program either as an argument or with -f, not both")
    if file is not None:
        return _decode(file.read(), file.name)
    if program is None:
        raise UsageError("no program given", hint='try: gradcalc "z*(x+y)" --at x=-2,y=5,z=-4')
    if program == "-":
        return _decode(sys.stdin.buffer.read(), "standard input")
    return program


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
                   "Without it, print the symbolic gradient.")
@click.option("--wrt", metavar="NAMES",
              help="Differentiate with respect to these (inputs or named statements); "
                   "default: every input.")
@click.option("-o", "--output", "output", metavar="NAME",
              help="Differentiate this named statement instead of the last one.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "plain", "latex"]),
              default="table", show_default=True, help="Output format.")
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
@click.option("--expect", "expect", metavar="ANSWERS", multiple=True,
              help="Check answers: f=-12,q=3,df/dz=3 (numbers, or expressions such as "
                   "df/dx=2*x*z, checked for equivalence). Exit 1 if any is wrong.")
@click.option("--exact", is_flag=True,
              help="Also compute the value and gradient exactly (x=1/3 stays 1/3) with SymPy.")
@click.option("--precision", type=click.IntRange(1, 10_000), metavar="DIGITS",
              help="Also compute the value and gradient with mpmath at DIGITS significant digits.")
@click.option("--tol", metavar="REL[,ABS]",
              help="Tolerance for numeric answers (default: as precise as the digits written).")
@click.version_option(__version__, "--version", prog_name="gradcalc")
def main(program, file, at, wrt, output, fmt, digits, check_timeout, no_check, steps,
         graph_file, tree, expect, exact, precision, tol):
    """Gradient of PROGRAM by reverse-mode automatic differentiation, cross-checked by SymPy.

    PROGRAM is an expression such as "z*(x+y)", or statements "q = x + y; f = z*q" separated by
    ';' or newlines. Use '-' to read it from standard input.
    """
    try:
        code = _run(program, file, at, wrt, output, fmt, digits, check_timeout, no_check,
                    steps, graph_file, tree, expect, tol, exact, precision)
    except GradcalcError as exc:
        click.echo(exc.render(), err=True)
        code = 2
    except BrokenPipeError:
        code = 0
    except OSError as exc:   # e.g. writing to a full disk
        click.echo(f"error: {exc.strerror or exc}", err=True)
        code = 2
    except Exception as exc:  # a bug: say so plainly; GRADCALC_DEBUG=1 shows the traceback
        if os.environ.get("GRADCALC_DEBUG"):
            raise
        click.echo(f"error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                   "gradcalc; please report it with the command you ran. "
                   "GRADCALC_DEBUG=1 shows the details.", err=True)
        code = 3
    sys.exit(code)


def entry() -> None:
    """The console script and ``python -m gradcalc``: run, flush, and leave at once.

    Leaving with os._exit skips the interpreter's teardown, which with SymPy loaded costs more than
    the whole cross-check (~100 ms freeing its caches). Nothing of ours needs atexit handlers."""
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
         precision=None) -> int:
    from .function import Function

    if check_timeout != check_timeout:
        raise UsageError("--check-timeout must be a number of seconds, not nan")
    if len(at) > 1:
        raise UsageError("--at is given more than once: one run evaluates one point",
                         hint="put every variable in one --at: --at x=1,y=2")
    at = at[0] if at else None
    source = _read_program(program, file)
    fn = Function(source)
    wrt_names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt else None
    if wrt and not wrt_names:
        raise UsageError(f"--wrt {wrt!r} names nothing", hint="write --wrt x,y")
    point = parse_point(at) if at is not None else None
    verdicts = _answers(fn, expect, tol, point, output) if expect else None
    if at is None:
        if steps or graph_file or tree or exact or precision:
            raise UsageError("--steps, --graph, --tree, --exact and --precision need a point",
                             hint="add --at, e.g. --at x=1,y=2")
        code = _symbolic(fn, source, wrt_names, output, fmt, check_timeout, no_check, verdicts)
        return code or (1 if verdicts and _wrong(verdicts) else 0)
    if exact and precision:
        raise UsageError("choose --exact or --precision, not both")
    result = fn.gradient(point, wrt=wrt_names, output=output)
    exact_result = None
    if (exact or precision) and hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # exact and high-precision numbers print every digit
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
    walk = None
    if steps or graph_file or tree:
        from .steps import walkthrough

        walk = walkthrough(fn, result, formulas=steps)
    if graph_file:   # before printing anything: a missing Graphviz is an error (exit 2)
        from .render.dot import write_graph

        write_graph(walk, graph_file, digits or 4)
    _warn(result.warnings, check)
    if tree and fmt != "table":
        click.echo("warning: --tree is drawn only with --format table", err=True)
    if fmt == "latex":
        click.echo(_bounded_symbolic(fn, wrt_names, output, check_timeout, latex=True,
                                     result=result)[0])
        _latex_answers(verdicts)
    elif fmt == "json":
        from .render.formats import point_json
        from .render.steps import steps_json

        click.echo(point_json(result, check, steps_json(walk) if steps else None, verdicts,
                              exact_result))
    elif fmt == "plain":
        from .render.formats import answers_plain, point_plain
        from .render.steps import steps_plain

        click.echo(point_plain(result, digits, exact_result))
        if steps:
            click.echo(steps_plain(walk, digits))
        if verdicts:
            click.echo(answers_plain(verdicts))
    else:
        from .render.table import point_table

        console = _console()
        point_table(console, source, result, check, digits or 6, exact_result)
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
        click.echo(f"wrote the graph to {graph_file}", err=True)
    return 1 if check.status == "disagree" or (verdicts and _wrong(verdicts)) else 0


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
    from .check import SKIPPED, Timeout, check_symbolic, deadline, sstr, tidy

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
    except (Timeout, RecursionError) as exc:
        why = ("is too deep for SymPy" if isinstance(exc, RecursionError)
               else "did not finish in time")
        raise UsageError(f"the symbolic gradient {why}",
                         hint="give a point with --at to get numbers") from None


def _pretty(expr) -> str:
    """SymPy's pretty printer for a table cell when it fits, else gradcalc's notation."""
    import sympy

    from .check import sstr

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


def _console():
    from rich.console import Console

    console = Console(highlight=False)   # rich honours NO_COLOR and colours only terminals

    def broken_pipe():
        # rich's default exits 1, which here would mean "the check disagreed"
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise BrokenPipeError

    console.on_broken_pipe = broken_pipe
    return console


def _warn(warnings, check) -> None:
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
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
